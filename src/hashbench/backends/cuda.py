"""The CUDA kernel (kernels/sha256d.cu) compiled with NVRTC and launched with cuda.core.

No CUDA toolkit is needed, only the driver and the cuda-python wheels (pip install
"hashbench[cuda]"). Every GPU is used by default, each scanning its own sub-range of every batch;
HASHBENCH_CUDA_DEVICES=0,2 (or CudaBackend(devices=[0, 2])) picks some. Per batch and GPU: one
memset, one launch between two timing events, one copy of the hit list, one synchronisation.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Mapping

from ..errors import BackendUnavailable
from .cuda_build import compiled_kernel, nvrtc_version, require_cuda_core
from .cuda_launch import CAPACITY, DeviceRunner, GpuBackend, launch_shape
from .cuda_precompute import KERNEL_NAME, KernelJob


def _driver():
    try:
        from cuda.bindings import driver
    except ImportError as exc:
        raise BackendUnavailable(f'cuda-bindings is not installed ({exc}); pip install "hashbench[cuda]"') from None
    return driver


def driver_version() -> int:
    """The driver's CUDA version as an int (13000 = 13.0); raises BackendUnavailable without one."""
    driver = _driver()
    try:
        err, version = driver.cuDriverGetVersion()
    except Exception as exc:  # the loader raises its own types when libcuda is absent
        raise BackendUnavailable(f"no NVIDIA driver found (libcuda cannot be loaded: {type(exc).__name__})") from None
    if err != driver.CUresult.CUDA_SUCCESS:
        raise BackendUnavailable(f"the NVIDIA driver reports {err.name}")
    return int(version)


def gpu_count() -> int:
    driver = _driver()
    driver_version()  # the clear message when there is no driver at all
    (err,) = driver.cuInit(0)
    if err == driver.CUresult.CUDA_ERROR_NO_DEVICE:
        return 0
    if err != driver.CUresult.CUDA_SUCCESS:
        raise BackendUnavailable(f"the NVIDIA driver cannot start ({err.name})")
    err, count = driver.cuDeviceGetCount()
    if err != driver.CUresult.CUDA_SUCCESS:
        raise BackendUnavailable(f"the NVIDIA driver cannot count GPUs ({err.name})")
    return int(count)


class CudaRunner(DeviceRunner):
    """One GPU through cuda.core: its cubin, stream, device hit list and a pinned copy of it."""

    def __init__(self, device_id: int, defines: Mapping[str, str]) -> None:
        import numpy  # a dependency of cuda-core

        cc = require_cuda_core()
        self._cc, self._uint32 = cc, numpy.uint32
        self.device = cc.Device(device_id)
        self.device.set_current()
        self.arch = "sm_{}{}".format(*self.device.compute_capability)
        self.name = self.device.name
        self.sm_count = self.device.properties.multiprocessor_count
        self.capacity = CAPACITY
        compiled = compiled_kernel(self.arch, defines=defines, driver_version=driver_version())
        try:
            self.kernel = cc.ObjectCode.from_cubin(compiled.cubin).get_kernel(KERNEL_NAME)
        except Exception:  # noqa: BLE001 - cuda.core raises its own CUDAError (CUDA_ERROR_INVALID_IMAGE, ...)
            if not compiled.from_cache:
                raise
            # A damaged cached cubin that still looks like ELF: compile again and replace it, once.
            compiled = compiled_kernel(self.arch, defines=defines, driver_version=driver_version(), refresh=True)
            self.kernel = cc.ObjectCode.from_cubin(compiled.cubin).get_kernel(KERNEL_NAME)
        self.stream = self.device.create_stream()
        self._timing = cc.EventOptions(timing_enabled=True)
        # The layout the kernel writes: a u64 hit counter, then `capacity` u32 nonces.
        self._nbytes = 8 + 4 * self.capacity
        self._hits = self.device.allocate(self._nbytes, stream=self.stream)
        self._host = cc.LegacyPinnedMemoryResource().allocate(self._nbytes)
        self._events = None

    def enqueue(self, job: KernelJob, start: int, count: int) -> None:
        cc, u32 = self._cc, self._uint32
        self.device.set_current()
        shape = launch_shape(count, self.sm_count)
        ptr = int(self._hits.handle)
        args = [ptr, ptr + 8, *(u32(v) for v in (self.capacity, start, count - 1, 1, *job.job_words()))]
        self._hits.fill(0, stream=self.stream)
        begin = self.stream.record(options=self._timing)
        cc.launch(self.stream, cc.LaunchConfig(grid=shape.grid, block=shape.block), self.kernel, *args)
        end = self.stream.record(options=self._timing)
        self._hits.copy_to(self._host, stream=self.stream)
        self._events = (begin, end)

    def collect(self) -> tuple[int, list[int]]:
        self.device.set_current()
        self.stream.sync()
        begin, end = self._events
        self.last_gpu_seconds = (end - begin) / 1000.0  # an Event difference is in ms
        raw = ctypes.string_at(int(self._host.handle), self._nbytes)
        hits = struct.unpack_from("<Q", raw)[0]
        return hits, list(struct.unpack_from(f"<{min(hits, self.capacity)}I", raw, 8))


class CudaBackend(GpuBackend):
    name = "cuda"
    impl_prefix = "nvrtc"

    def gpu_count(self) -> int:
        require_cuda_core()
        return gpu_count()

    def _check_launcher(self) -> None:
        nvrtc_version()

    def _arch(self, device_id: int) -> str:
        return "sm_{}{}".format(*require_cuda_core().Device(device_id).compute_capability)

    def _make_runner(self, device_id: int, defines: Mapping[str, str]) -> DeviceRunner:
        return CudaRunner(device_id, defines)
