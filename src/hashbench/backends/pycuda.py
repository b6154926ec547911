"""The same CUDA kernel (kernels/sha256d.cu) launched through PyCUDA, where it is installed.

PyCUDA builds from source against a CUDA toolkit and compiles kernels with that toolkit's nvcc, so
it is never required: an optional second launcher (pip install "hashbench[pycuda]") for machines
with the toolkit, sharing the kernel, the precompute, the device selection (HASHBENCH_CUDA_DEVICES)
and the batch logic with the cuda backend.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping

from ..errors import BackendUnavailable
from .cuda_build import kernel_source
from .cuda_launch import CAPACITY, DeviceRunner, GpuBackend, launch_shape
from .cuda_precompute import KERNEL_NAME, KernelJob


def _drv():
    try:
        import pycuda.driver as drv
    except ImportError as exc:
        if "libcuda" in str(exc):
            # PyCUDA is there; its extension links the driver library, which a machine without a driver lacks.
            raise BackendUnavailable(f"no NVIDIA driver found (pycuda cannot load it: {exc})") from None
        if importlib.util.find_spec("pycuda") is not None:
            raise BackendUnavailable(f"pycuda is installed but does not import ({exc})") from None
        raise BackendUnavailable(
            f'pycuda is not installed ({exc}); pip install "hashbench[pycuda]" (it builds against a CUDA toolkit)'
        ) from None
    try:
        drv.init()
    except drv.Error as exc:
        raise BackendUnavailable(f"the NVIDIA driver cannot start ({exc})") from None
    return drv


class PycudaRunner(DeviceRunner):
    """One GPU through PyCUDA, in the device's primary context (shared with cuda.core, if both)."""

    def __init__(self, device_id: int, defines: Mapping[str, str]) -> None:
        import numpy as np
        from pycuda.compiler import SourceModule

        drv = _drv()
        self._drv, self._np = drv, np
        self.device = drv.Device(device_id)
        self.context = self.device.retain_primary_context()
        self.context.push()
        try:
            self.arch = "sm_{}{}".format(*self.device.compute_capability())
            self.name = self.device.name()
            self.sm_count = self.device.get_attribute(drv.device_attribute.MULTIPROCESSOR_COUNT)
            self.capacity = CAPACITY
            options = [f"-D{name}={value}" for name, value in sorted(defines.items())]
            module = SourceModule(kernel_source(), arch=self.arch, no_extern_c=True, options=options)
            self.kernel = module.get_function(KERNEL_NAME)
            self.stream = drv.Stream()
            self._nbytes = 8 + 4 * self.capacity  # u64 hit counter, then `capacity` u32 nonces
            self._hits = drv.mem_alloc(self._nbytes)
            self._host = drv.pagelocked_empty(self._nbytes, dtype=np.uint8)
            self._zero_counter = drv.pagelocked_zeros(8, dtype=np.uint8)
            self._begin, self._end = drv.Event(), drv.Event()
        finally:
            self.context.pop()

    def enqueue(self, job: KernelJob, start: int, count: int) -> None:
        drv, np = self._drv, self._np
        shape = launch_shape(count, self.sm_count)
        ptr = int(self._hits)
        args = [np.uintp(ptr), np.uintp(ptr + 8),
                *(np.uint32(v) for v in (self.capacity, start, count - 1, 1, *job.job_words()))]
        self.context.push()
        try:
            # Only the counter needs resetting: slots past it are never read.
            drv.memcpy_htod_async(self._hits, self._zero_counter, self.stream)
            self._begin.record(self.stream)
            self.kernel(*args, block=(shape.block, 1, 1), grid=(shape.grid, 1), stream=self.stream)
            self._end.record(self.stream)
            drv.memcpy_dtoh_async(self._host, self._hits, self.stream)
        finally:
            self.context.pop()

    def collect(self) -> tuple[int, list[int]]:
        self.context.push()
        try:
            self.stream.synchronize()
            self.last_gpu_seconds = self._end.time_since(self._begin) / 1000.0
        finally:
            self.context.pop()
        raw = self._host.tobytes()
        hits = int.from_bytes(raw[:8], "little")
        stored = min(hits, self.capacity)
        return hits, [int.from_bytes(raw[8 + 4 * i:12 + 4 * i], "little") for i in range(stored)]


class PycudaBackend(GpuBackend):
    name = "pycuda"
    impl_prefix = "nvcc"

    def gpu_count(self) -> int:
        if importlib.util.find_spec("pycuda") is None:
            raise BackendUnavailable('pycuda is not installed; pip install "hashbench[pycuda]" '
                                     "(it builds against a CUDA toolkit)")
        return int(_drv().Device.count())

    def _check_launcher(self) -> None:
        if shutil.which("nvcc") is None:  # SourceModule runs "nvcc" from PATH
            raise BackendUnavailable("nvcc is not on PATH: PyCUDA compiles kernels with the CUDA toolkit's nvcc")

    def _arch(self, device_id: int) -> str:
        return "sm_{}{}".format(*_drv().Device(device_id).compute_capability())

    def _make_runner(self, device_id: int, defines: Mapping[str, str]) -> DeviceRunner:
        return PycudaRunner(device_id, defines)
