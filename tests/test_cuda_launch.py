"""The CUDA kernel's own source, compiled for the CPU with g++ (tests/cuda_host/), driven through the
same launch planning, multi-GPU split and hit-list overflow handling as the cuda backend.

What this covers without a GPU: the parameter order host <-> kernel, the kernel's nonce loop (grid
stride, the top of the nonce space), the early reject, the 256-bit compare and the bounded hit list
with its counter. What it cannot cover: the NVRTC/SASS translation and the launch API (test_cuda.py,
on a GPU)."""

from __future__ import annotations

import ctypes
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import header_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashbench.backends.base import ScanJob
from hashbench.backends.cuda_build import kernel_source_path
from hashbench.backends.cuda_launch import (
    DEFINES_ENV,
    DEVICES_ENV,
    DeviceRunner,
    GpuBackend,
    launch_shape,
    lowest_hits,
    parse_defines,
)
from hashbench.backends.cuda_precompute import KernelJob
from hashbench.errors import InputError
from hashbench.header import NONCE_SPACE, Header, hash_int

HOST_DIR = Path(__file__).parent / "cuda_host"


def build_host_kernel(directory: Path, defines: tuple[str, ...] = ()):
    cxx = shutil.which("g++") or shutil.which("clang++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to build the kernel for the host")
    lib = directory / "hb_host_scan.so"
    cmd = [cxx, "-std=c++17", "-O2", "-shared", "-fPIC", "-Wno-unknown-pragmas", *(f"-D{d}" for d in defines),
           f"-I{kernel_source_path().parent}", f"-I{HOST_DIR}", str(HOST_DIR / "host_scan.cpp"), "-o", str(lib)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    fn = ctypes.CDLL(str(lib)).hb_host_scan
    fn.restype = None
    fn.argtypes = [ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
                   ctypes.c_uint32, ctypes.POINTER(ctypes.c_ulonglong), ctypes.POINTER(ctypes.c_uint32),
                   ctypes.c_uint32]
    return fn


@pytest.fixture(scope="session")
def host_kernel(tmp_path_factory):
    return build_host_kernel(tmp_path_factory.mktemp("cuda_host"))


class HostRunner(DeviceRunner):
    """A 'GPU' that runs the kernel source on the CPU, grid and all."""

    def __init__(self, fn, sm_count: int = 4, capacity: int = 64) -> None:
        self.fn, self.sm_count, self.capacity, self.arch = fn, sm_count, capacity, "host"
        self.launches: list[tuple[int, int]] = []
        self._result: tuple[int, list[int]] | None = None

    def enqueue(self, job: KernelJob, start: int, count: int) -> None:
        shape = launch_shape(count, self.sm_count)
        words = (ctypes.c_uint32 * 35)(*job.job_words())
        hits, found = ctypes.c_ulonglong(0), (ctypes.c_uint32 * self.capacity)()
        self.fn(words, start, count - 1, shape.grid, shape.block, ctypes.byref(hits), found, self.capacity)
        self.launches.append((start, count))
        self._result = (hits.value, list(found[: min(hits.value, self.capacity)]))

    def collect(self) -> tuple[int, list[int]]:
        return self._result


class HostKernelBackend(GpuBackend):
    """The cuda backend's logic (GpuBackend) with host 'GPUs' in place of cuda.core ones."""

    name = "cuda-host"
    impl_prefix = "host"

    def __init__(self, fn, gpus: int, devices=None, defines=None) -> None:
        super().__init__(devices, defines)
        self.fn, self.gpus, self.made = fn, gpus, {}

    def gpu_count(self) -> int:
        return self.gpus

    def _check_launcher(self) -> None:
        pass

    def _arch(self, device_id: int) -> str:
        return "sm_00"

    def _make_runner(self, device_id, defines):
        self.made[device_id] = HostRunner(self.fn)
        return self.made[device_id]


def reference(header: Header, target: int, start: int, count: int) -> list[int]:
    return [n for n in range(start, start + count) if hash_int(header, n) <= target]


@pytest.fixture(params=[1, 3], ids=["1gpu", "3gpus"])
def backend(request, host_kernel):
    return HostKernelBackend(host_kernel, request.param)


# ---------------------------------------------------------------- launch planning, pure


def test_launch_shape_gives_about_32_nonces_a_thread_on_a_whole_number_of_sms():
    shape = launch_shape(1 << 30, sm_count=132)
    assert shape.block == 256 and shape.grid % 132 == 0
    assert 31 <= (1 << 30) / shape.threads <= 32
    assert launch_shape(1, 132).grid == 1  # a tiny batch does not fill the GPU with idle blocks
    assert launch_shape(NONCE_SPACE, 132).threads * 32 >= NONCE_SPACE


def test_lowest_hits_bisects_an_overflowing_range():
    hits_at = set(random.Random(7).sample(range(10_000), 3_000))
    calls = []

    def launch(start, count):
        calls.append((start, count))
        inside = [n for n in range(start, start + count) if n in hits_at]
        return len(inside), random.Random(start).sample(inside, min(len(inside), 50))

    got = lowest_hits(launch, 0, 10_000, 120, capacity=50)
    assert got == sorted(hits_at)[:120]
    assert all(s < 5_000 for s, _ in calls[1:])  # the upper half is never needed here


# ---------------------------------------------------------------- the kernel source on the host


def test_real_nonces_found(backend, mainnet_rows, testnet_rows):
    rng = random.Random(2016)
    window = 3000
    for row in rng.sample(mainnet_rows, 6) + rng.sample(testnet_rows, 6):
        header = header_of(row)
        start = min(max(header.nonce - rng.randrange(window), 0), NONCE_SPACE - window)
        result = backend.scan(ScanJob(header, header.target), start, window)
        assert [(s.nonce, s.hash) for s in result.found] == [(header.nonce, row["block_hash"])], row["height"]
        assert result.hits == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.binary(min_size=76, max_size=76), start=st.integers(0, NONCE_SPACE - 1),
       count=st.integers(1, 400), top=st.sampled_from([0x00FFFFFF, 0x0FFFFFFF, 0x3FFFFFFF, 0xFFFFFFFF]),
       seed=st.integers(0, 2**32))
def test_easy_targets_agree_with_hashlib(backend, prefix, start, count, top, seed):
    count = min(count, NONCE_SPACE - start)
    header = Header(prefix)
    target = (top << 224) | random.Random(seed).getrandbits(224)
    result = backend.scan(ScanJob(header, target), start, count)
    expected = reference(header, target, start, count)
    assert [s.nonce for s in result.found] == expected and result.hits == len(expected)


@pytest.mark.parametrize("start, count", [(NONCE_SPACE - 300, 300), (NONCE_SPACE - 1, 1), (0, 1)])
def test_top_and_bottom_of_the_nonce_space(backend, start, count):
    header = Header(bytes(range(76)))
    target = (0x1FFFFFFF << 224) | 12345
    result = backend.scan(ScanJob(header, target), start, count)
    assert [s.nonce for s in result.found] == reference(header, target, start, count)


def test_more_hits_than_slots_are_counted_and_the_lowest_listed(backend):
    """Every nonce hits: the 64-slot device lists overflow, the counter still counts them all."""
    result = backend.scan(ScanJob(Header(bytes(76)), (1 << 256) - 1), 1000, 700, max_found=100)
    assert result.hits == 700
    assert [s.nonce for s in result.found] == list(range(1000, 1100))


def test_devices_get_disjoint_contiguous_sub_ranges(host_kernel):
    backend = HostKernelBackend(host_kernel, 3)
    backend.scan(ScanJob(Header(bytes(76)), 1), 10, 1000)
    assert [backend.made[i].launches for i in range(3)] == [[(10, 334)], [(344, 333)], [(677, 333)]]


def test_device_setting_and_environment_pick_gpus(host_kernel, monkeypatch):
    assert HostKernelBackend(host_kernel, 4).devices() == [0, 1, 2, 3]
    assert HostKernelBackend(host_kernel, 4, devices=[2]).devices() == [2]
    monkeypatch.setenv(DEVICES_ENV, "3, 1")
    backend = HostKernelBackend(host_kernel, 4)
    assert backend.devices() == [3, 1] and backend.impls() == ["host-sm_00"]
    backend.scan(ScanJob(Header(bytes(76)), 1), 0, 10)
    assert sorted(backend.made) == [1, 3]
    monkeypatch.setenv(DEVICES_ENV, "7")
    ok, why = HostKernelBackend(host_kernel, 4).available()
    assert not ok and "no CUDA GPU 7" in why
    monkeypatch.setenv(DEVICES_ENV, "0,0")
    with pytest.raises(InputError):
        HostKernelBackend(host_kernel, 4).devices()


def test_devices_option_picks_gpus_after_the_backend_was_used(host_kernel):
    """--devices applies to a backend already probed and run: runners and availability are made again."""
    from hashbench.backends import all_backends, select_gpus
    from hashbench.backends.cuda_launch import GpuBackend

    backend = HostKernelBackend(host_kernel, 4)
    backend.scan(ScanJob(Header(bytes(76)), 1), 0, 10)
    assert sorted(backend.made) == [0, 1, 2, 3]
    backend.made.clear()
    backend.use_devices([2])
    backend.scan(ScanJob(Header(bytes(76)), 1), 0, 10)
    assert sorted(backend.made) == [2] and backend.devices() == [2]
    backend.use_devices([7])
    ok, why = backend.available()
    assert not ok and "no CUDA GPU 7 (this machine has 4)" in why
    gpu_backends = [b for b in all_backends() if isinstance(b, GpuBackend)]
    assert {b.name for b in gpu_backends} == {"cuda", "pycuda"}
    try:
        assert select_gpus("1, 0") == [1, 0]
        assert all(b._devices_setting == [1, 0] for b in gpu_backends)
        with pytest.raises(InputError, match="--devices must list distinct"):
            select_gpus("1,1")
    finally:
        for b in gpu_backends:
            b.use_devices(None)


def test_defines_from_the_environment(host_kernel, monkeypatch):
    monkeypatch.setenv(DEFINES_ENV, "HB_ROT_ON_FMA=1, HB_SHR_ON_FMA=0")
    assert HostKernelBackend(host_kernel, 1).defines() == {"HB_ROT_ON_FMA": "1", "HB_SHR_ON_FMA": "0"}
    assert parse_defines("HB_SHR_ON_FMA") == {"HB_SHR_ON_FMA": "1"}
    with pytest.raises(InputError):
        parse_defines("-DX=1")


@pytest.mark.parametrize("defines", [("HB_SHR_ON_FMA=0",), ("HB_ROT_ON_FMA=1",),
                                     ("HB_SHR_ON_FMA=0", "HB_ROT_ON_FMA=1")])
def test_fma_build_switches_keep_the_arithmetic(tmp_path, defines, mainnet_rows):
    """The IMAD forms of shifts and rotates (build options for measurements) hash the same."""
    backend = HostKernelBackend(build_host_kernel(tmp_path, defines), 2)
    header = Header(bytes(range(76)))
    target = (0x1FFFFFFF << 224) | 99
    result = backend.scan(ScanJob(header, target), NONCE_SPACE - 400, 400)
    assert [s.nonce for s in result.found] == reference(header, target, NONCE_SPACE - 400, 400)
    real = header_of(mainnet_rows[-1])
    result = backend.scan(ScanJob(real, real.target), real.nonce - 1000, 2000)
    assert [s.nonce for s in result.found] == [real.nonce]
