"""The CUDA kernel's own source, compiled for the CPU with g++ (tests/cuda_host/), driven through the
same launch planning, multi-GPU split and hit-list overflow handling as the cuda backend.

What this covers without a GPU: the parameter order host <-> kernel, the kernel's nonce loop (grid
stride, the top of the nonce space), the early reject, the 256-bit compare and the bounded hit list
with its counter; and the cuda backend's CudaRunner against a host stand-in for cuda.core whose every
call is bound to the installed cuda.core's own signatures (allocation, fill, events, launch arguments,
copy back). What it cannot cover: the NVRTC/SASS translation and the driver itself (test_cuda.py, on a
GPU)."""

from __future__ import annotations

import ctypes
import random
import shutil
import subprocess
import sys
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
    LaunchShape,
    launch_shape,
    lowest_hits,
    parse_defines,
)
from hashbench.backends.cuda_precompute import KernelJob, precompute
from hashbench.errors import BackendUnavailable, InputError
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


def test_lowest_hits_launches_once_when_the_list_holds_every_hit_and_finds_a_single_one():
    calls = []

    def launch(start, count):
        calls.append((start, count))
        inside = [n for n in range(start, start + count) if n % 100 == 7]
        return len(inside), inside[::-1][:50]  # the device lists hits in any order

    assert lowest_hits(launch, 0, 5000, 10, capacity=50) == [7, 107, 207, 307, 407, 507, 607, 707, 807, 907]
    assert calls == [(0, 5000)]  # exactly 50 hits fill the list: complete, nothing to bisect
    calls.clear()
    assert lowest_hits(launch, 0, 5100, 1, capacity=50) == [7]  # one more hit than slots: the lower half is enough
    assert calls == [(0, 5100), (0, 2550)]


def test_launch_shape_without_a_known_sm_count_does_not_round_the_grid():
    assert launch_shape(1 << 20, sm_count=0) == launch_shape(1 << 20, sm_count=1) == LaunchShape(grid=128, block=256)
    assert launch_shape(1 << 20, sm_count=100).grid == 200


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


def test_one_hit_asked_for_is_found_in_whichever_gpus_part_it_lies(host_kernel, mainnet_rows):
    """`scan --max-found 1` on three GPUs: the first two parts have no hit, the third has the real nonce."""
    row = mainnet_rows[0]
    header = header_of(row)
    backend = HostKernelBackend(host_kernel, 3)
    result = backend.scan(ScanJob(header, header.target), header.nonce - 2500, 3000, max_found=1)
    assert [s.nonce for s in result.found] == [header.nonce] and result.hits == 1
    every = backend.scan(ScanJob(Header(bytes(76)), (1 << 256) - 1), 100, 3000, max_found=1)
    assert [s.nonce for s in every.found] == [100] and every.hits == 3000


def test_gpu_backend_without_gpus_or_with_several_architectures(host_kernel):
    assert HostKernelBackend(host_kernel, 0).available() == (False, "no CUDA GPU found")

    class Mixed(HostKernelBackend):
        def _arch(self, device_id):
            return ("sm_90", "sm_80", "sm_90")[device_id]

    assert Mixed(host_kernel, 3).impls() == ["host-sm_80+sm_90"]  # each architecture once, sorted


def test_the_build_switches_given_reach_every_gpus_runner(host_kernel, monkeypatch):
    monkeypatch.delenv(DEFINES_ENV, raising=False)
    assert HostKernelBackend(host_kernel, 1).defines() == {}  # none set: none passed
    seen = []

    class Recording(HostKernelBackend):
        def _make_runner(self, device_id, defines):
            seen.append((device_id, defines))
            return super()._make_runner(device_id, defines)

    backend = Recording(host_kernel, 2, defines={"HB_ROT_ON_FMA": "1"})
    assert backend.defines() == {"HB_ROT_ON_FMA": "1"}
    backend.runners()
    assert seen == [(0, {"HB_ROT_ON_FMA": "1"}), (1, {"HB_ROT_ON_FMA": "1"})]


def test_warm_up_runs_one_nonce_on_every_gpu_and_a_job_is_precomputed_once(host_kernel, monkeypatch):
    from hashbench.backends import cuda_launch

    backend = HostKernelBackend(host_kernel, 2)
    backend.warm_up("host-sm_00")
    assert [backend.made[i].launches for i in range(2)] == [[(0, 1)], [(0, 1)]]
    made = []
    monkeypatch.setattr(cuda_launch, "precompute", lambda *words: made.append(words) or precompute(*words))
    job = ScanJob(Header(bytes(range(76))), 1)
    backend.scan(job, 0, 100)
    backend.scan(job, 100, 100)
    assert len(made) == 1


def test_a_gpu_index_equal_to_the_count_is_refused(host_kernel):
    with pytest.raises(InputError, match=r"^no CUDA GPU 2 \(this machine has 2\)$"):
        HostKernelBackend(host_kernel, 2, devices=[1, 2]).devices()


@pytest.mark.parametrize("text", ["-1", ",", "", "0,-2"])
def test_a_device_list_without_an_index_or_with_a_negative_one_is_refused(text):
    from hashbench.backends.cuda_launch import parse_device_list

    with pytest.raises(InputError, match=f"^{DEVICES_ENV} must list distinct GPU indices >= 0, got {text!r}$"):
        parse_device_list(text)
    with pytest.raises(InputError, match="^--devices must be comma-separated GPU indices, got 'a,1'$"):
        parse_device_list("a,1", "--devices")
    with pytest.raises(InputError, match="^kernel build switch '-DX=1' is not NAME or NAME=VALUE$"):
        parse_defines("-DX=1")


def test_devices_get_disjoint_contiguous_sub_ranges(host_kernel):
    backend = HostKernelBackend(host_kernel, 3)
    backend.scan(ScanJob(Header(bytes(76)), 1), 10, 1000)
    assert [backend.made[i].launches for i in range(3)] == [[(10, 334)], [(344, 333)], [(677, 333)]]


def test_a_cpu_thread_count_neither_enlarges_a_gpu_batch_nor_is_recorded(host_kernel):
    backend = HostKernelBackend(host_kernel, 1)
    backend.chunk = 100
    result = backend.scan(ScanJob(Header(bytes(76)), 1), 0, 400, threads=4)
    assert backend.made[0].launches == [(0, 100), (100, 100), (200, 100), (300, 100)]
    assert result.threads == 1 and result.hashes == 400
    with pytest.raises(InputError):
        backend.scan(ScanJob(Header(bytes(76)), 1), 0, 400, threads=0)


def test_a_gpu_bench_records_the_one_batch_it_ran_not_the_cpu_threads_asked(host_kernel):
    """`hashbench bench --threads 4` over every backend: the GPU's row said ×4 though its scans ran as one batch."""
    from hashbench.bench import bench_backend

    result = bench_backend(HostKernelBackend(host_kernel, 1), threads=4, seconds=0.01)
    assert result.threads == 1 and result.to_json()["threads"] == 1


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


def test_devices_option_picks_gpus_after_the_backend_was_used(host_kernel, monkeypatch):
    """--devices applies to a backend already probed and run: runners and availability are made again."""
    from hashbench.backends import all_backends, select_gpus
    from hashbench.backends.cuda import CudaBackend
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
    monkeypatch.setattr(CudaBackend, "gpu_count", lambda self: 2)  # a machine with two GPUs
    try:
        assert select_gpus("1, 0") == [1, 0]
        assert all(b._devices_setting == [1, 0] for b in gpu_backends)
        with pytest.raises(InputError, match="--devices must list distinct"):
            select_gpus("1,1")
        with pytest.raises(InputError, match=r"^--devices 2: no CUDA GPU 2 \(this machine has 2\)$"):
            select_gpus("2")
        monkeypatch.setattr(CudaBackend, "gpu_count", lambda self: 0)
        with pytest.raises(InputError, match=r"^--devices 0: no CUDA GPU 0 \(this machine has 0\)$"):
            select_gpus("0")

        def no_driver(self):
            raise BackendUnavailable("no NVIDIA driver found")

        for b in gpu_backends:
            monkeypatch.setattr(type(b), "gpu_count", no_driver)
        with pytest.raises(InputError, match=r"^--devices 0: no CUDA GPU can be used here \(no NVIDIA driver found\)$"):
            select_gpus("0")
    finally:
        for b in gpu_backends:
            b.use_devices(None)


@pytest.mark.parametrize("command", [["bench", "--seconds", "0.01"], ["run", "--quick", "--no-probes", "--no-history"],
                                     ["scan", "--header", "ff" * 76, "--bits", "1d00ffff", "--count", "16"]],
                         ids=lambda c: c[0])
def test_a_devices_index_beyond_the_gpus_is_refused_not_a_skipped_backend(host_kernel, monkeypatch, capsys, tmp_path,
                                                                          command):
    """With no --backend, bench and run take every available backend: a GPU backend that --devices 99 made
    unavailable was left out without a word, and the CPU backends measured as if nothing had been asked."""
    from hashbench import backends, run
    from hashbench.bench import BenchResult
    from hashbench.cli import main

    gpu = HostKernelBackend(host_kernel, 1)
    # the GPU backend --devices applies to, in a copy of the registry: deleting pycuda from the real one would put it
    # back last when undone, and the registry's order is what later tests check
    registry = {name: gpu if name == "cuda" else b for name, b in backends._REGISTRY.items() if name != "pycuda"}
    monkeypatch.setattr(backends, "_REGISTRY", registry)
    ran = []

    def bench(backend, **_):
        ran.append(backend.name)
        return BenchResult(backend.name, "any", 1, [1.0], 1, 1.0)

    def execute(*_, **__):
        ran.append("run")
        raise SystemExit(0)

    monkeypatch.setattr("hashbench.cli.bench_backend", bench)
    monkeypatch.setattr(run, "execute", execute)
    monkeypatch.setattr(HostKernelBackend, "scan", lambda *_, **__: ran.append("scan"))
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(SystemExit) as exited:
            main([*command, "--devices", "0,99"])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and err == "hashbench: error: --devices 0,99: no CUDA GPU 99 (this machine " \
                                                 "has 1)\n"
        assert ran == []
        if command[0] == "bench":  # an index the machine has still picks the GPU
            with pytest.raises(SystemExit) as exited:
                main([*command, "--devices", "0"])
            assert exited.value.code == 0 and "cuda-host" in ran
    finally:
        gpu.use_devices(None)


def test_defines_from_the_environment(host_kernel, monkeypatch):
    monkeypatch.setenv(DEFINES_ENV, "HB_ROT_ON_FMA=1, HB_SHR_ON_FMA=0")
    assert HostKernelBackend(host_kernel, 1).defines() == {"HB_ROT_ON_FMA": "1", "HB_SHR_ON_FMA": "0"}
    assert parse_defines("HB_SHR_ON_FMA") == {"HB_SHR_ON_FMA": "1"}
    with pytest.raises(InputError):
        parse_defines("-DX=1")


def test_run_benches_a_gpu_once_not_again_per_cpu_core(host_kernel, monkeypatch):
    """`hashbench run` benches each CPU backend on one thread, then again on every core. The GPU launchers take
    the whole batch whatever the thread count: a second row would be the same GPU measured twice, labelled with
    the machine's core count."""
    import types

    from hashbench import run
    from hashbench.backends.cython import CythonBackend
    from hashbench.backends.python import PythonBackend

    gpu, cpu, python = HostKernelBackend(host_kernel, 1), CythonBackend(), PythonBackend()
    monkeypatch.setattr(run, "all_backends", lambda: [cpu, python, gpu])
    configs, skipped = run.plan(types.SimpleNamespace(usable_cpus=16))
    rows = [(c.backend, c.threads) for c in configs]
    assert skipped == [] and rows.count(("cuda-host", 1)) == 1 and ("cuda-host", 16) not in rows
    assert ("cython", 16) in rows and ("python", 16) not in rows  # the CPU kernels do scale; hashlib (GIL) not


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


# ---------------------------------------------------------------- the cuda backend's runner, cuda.core faked


def kernel_param_types() -> list[str]:
    """The kernel's parameter types in order, from its source: "u64*", "u32*" or "u32"."""
    import re

    source = kernel_source_path().read_text(encoding="utf-8")
    job = re.search(r"#define HB_JOB_PARAMS((?:.*\\\n)*.*)", source).group(1).replace("\\\n", " ")
    signature = re.search(r"hb_sha256d_scan\((.*?)\)\s*\{", source, re.DOTALL).group(1)
    signature = re.sub(r"/\*.*?\*/", "", signature.replace("HB_JOB_PARAMS", job), flags=re.DOTALL)
    return [kind + star for kind, star in re.findall(r"\b(u32|u64)\s*(\*?)\s*\w+", signature)]


def fake_cuda_core(host_fn):
    """The part of cuda.core that CudaRunner uses, on the host: every call is first bound to the signature of the
    installed cuda.core's own method (a renamed keyword or a missing stream fails here, not on a GPU), LaunchConfig
    and EventOptions are the real classes, the kernel arguments go through cuda.core's real argument packer, and
    the launch runs the kernel source (tests/cuda_host) on the memory the "device" buffers really are."""
    import inspect
    import types

    import numpy as np

    cc = pytest.importorskip("cuda.core", reason='cuda-core is not installed (pip install "hashbench[cuda]")')
    from cuda.core._kernel_arg_handler import ParamHolder
    from cuda.core._memory import Buffer

    def bound_to(real):
        signature = inspect.signature(real)

        def wrap(fn):
            def call(*args, **kwargs):
                signature.bind(*args, **kwargs)
                return fn(*args, **kwargs)
            return call
        return wrap

    state = types.SimpleNamespace(current=False, streams=[], launches=[], clock=0)
    types_in_order = kernel_param_types()

    class FakeBuffer:
        def __init__(self, size: int) -> None:
            self._memory = (ctypes.c_ubyte * size)(*([0xA5] * size))  # garbage, as fresh device memory is
            self.size, self.handle = size, ctypes.addressof(self._memory)

        @bound_to(Buffer.fill)
        def fill(self, value, *, stream):
            assert stream is state.streams[0]
            ctypes.memset(self.handle, value, self.size)

        @bound_to(Buffer.copy_to)
        def copy_to(self, dst=None, *, stream, options=None):
            assert stream is state.streams[0] and dst.size == self.size
            ctypes.memmove(dst.handle, self.handle, self.size)
            return dst

    class FakeEvent:
        def __init__(self, options) -> None:
            assert isinstance(options, cc.EventOptions) and options.timing_enabled
            state.clock += 1
            self.at = state.clock

        def __sub__(self, other: FakeEvent) -> float:  # cuda.core: later - earlier, in milliseconds
            return float(self.at - other.at)

    class FakeStream:
        @bound_to(cc.Stream.record)
        def record(self, event=None, options=None):
            return FakeEvent(options)

        @bound_to(cc.Stream.sync)
        def sync(self):
            pass

    class FakeDevice:
        compute_capability = (9, 0)
        name = "host"
        properties = types.SimpleNamespace(multiprocessor_count=3)

        def __init__(self, device_id: int) -> None:
            self.device_id = device_id

        @bound_to(cc.Device.set_current)
        def set_current(self, ctx=None):
            state.current = True

        @bound_to(cc.Device.create_stream)
        def create_stream(self, obj=None, options=None):
            assert state.current, "cuda.core needs set_current() before a stream"
            state.streams.append(FakeStream())
            return state.streams[-1]

        @bound_to(cc.Device.allocate)
        def allocate(self, size, *, stream):
            assert state.current, "cuda.core needs set_current() before an allocation"
            return FakeBuffer(size)

    class FakePinned:
        @bound_to(cc.LegacyPinnedMemoryResource.allocate)
        def allocate(self, size, *, stream=None):
            return FakeBuffer(size)

    class FakeCode:
        @staticmethod
        @bound_to(cc.ObjectCode.from_cubin)
        def from_cubin(module, *, name="", symbol_mapping=None):
            code = FakeCode()
            code.cubin = module
            return code

        def get_kernel(self, name):
            assert name.encode() in self.cubin, f"no {name} in the cubin"
            return name

    def launch(stream, config, kernel, *args):
        inspect.signature(cc.launch).bind(stream, config, kernel, *args)
        assert stream is state.streams[0] and isinstance(config, cc.LaunchConfig)
        ParamHolder(list(args))  # cuda.core packs these, or raises, as it would for the driver
        assert len(args) == len(types_in_order)
        for i, (kind, arg) in enumerate(zip(types_in_order, args, strict=True)):
            # cuda.core passes a Python int as a pointer (8 bytes) and a numpy.uint32 as 4 bytes.
            assert (type(arg) is int) if kind.endswith("*") else (type(arg) is np.uint32), (i, kind, type(arg))
        grid, block = config.grid[0], config.block[0]
        assert config.grid[1:] == (1, 1) and config.block[1:] == (1, 1)
        hit_count, found, capacity, start, last, one, *words = args
        assert one == 1
        state.launches.append((int(start), int(last) + 1))
        host_fn((ctypes.c_uint32 * len(words))(*(int(w) for w in words)), int(start), int(last), grid, block,
                ctypes.cast(hit_count, ctypes.POINTER(ctypes.c_ulonglong)),
                ctypes.cast(found, ctypes.POINTER(ctypes.c_uint32)), int(capacity))

    fake = types.SimpleNamespace(Device=FakeDevice, EventOptions=cc.EventOptions, LaunchConfig=cc.LaunchConfig,
                                 LegacyPinnedMemoryResource=FakePinned, ObjectCode=FakeCode, launch=launch)
    return fake, state


@pytest.fixture
def cuda_runner(host_kernel, monkeypatch, tmp_path):
    """A CudaRunner (hashbench.backends.cuda) whose cuda.core is fake_cuda_core; NVRTC compiles the real cubin."""
    from hashbench.backends import cuda
    from hashbench.backends.cuda_build import nvrtc_version
    from hashbench.errors import BackendUnavailable

    fake, state = fake_cuda_core(host_kernel)
    try:
        nvrtc_version()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("HASHBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cuda, "require_cuda_core", lambda: fake)
    monkeypatch.setattr(cuda, "driver_version", lambda: 13000)
    runner = cuda.CudaRunner(0, {})
    runner.capacity = 64  # small, so the overflow path runs on a few hundred nonces
    return runner, state


def test_cuda_runner_calls_cuda_core_as_its_signatures_say(cuda_runner, mainnet_rows):
    from hashbench.backends.cuda_launch import scan_on_devices

    runner, state = cuda_runner
    assert (runner.arch, runner.sm_count) == ("sm_90", 3)
    real = header_of(mainnet_rows[-1])
    job = ScanJob(real, real.target)
    kernel_job = precompute(job.midstate, job.tail, job.target_words)
    hits, found = scan_on_devices([runner], kernel_job, real.nonce - 500, 1000, 10)
    assert (hits, found) == (1, [real.nonce])
    assert runner.last_gpu_seconds > 0  # the end event minus the begin event, not the other way round
    # Every nonce hits: the 64-slot list overflows, the counter counts on, bisection finds the lowest.
    every = ScanJob(Header(bytes(76)), (1 << 256) - 1)
    kernel_job = precompute(every.midstate, every.tail, every.target_words)
    hits, found = scan_on_devices([runner], kernel_job, NONCE_SPACE - 300, 300, 100)
    assert hits == 300 and found == list(range(NONCE_SPACE - 300, NONCE_SPACE - 200))
    assert state.launches[-1][0] < NONCE_SPACE - 200 and len(state.launches) > 2
    # A batch without a hit after a full one: the counter was reset, nothing stale is read back.
    hits, found = scan_on_devices([runner], precompute(job.midstate, job.tail, job.target_words), 0, 50, 10)
    assert (hits, found) == (0, [])


def test_cuda_runner_recompiles_a_cached_cubin_the_driver_refuses(host_kernel, monkeypatch, tmp_path, mainnet_rows):
    """A cached file that starts like ELF but is damaged passes the cache's check; the driver's refusal to load it
    (CUDA_ERROR_INVALID_IMAGE; here the stand-in's) makes the runner compile once more and replace the file."""
    from hashbench.backends import cuda
    from hashbench.backends.cuda_build import nvrtc_version
    from hashbench.backends.cuda_launch import scan_on_devices

    fake, _ = fake_cuda_core(host_kernel)
    try:
        nvrtc_version()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("HASHBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cuda, "require_cuda_core", lambda: fake)
    monkeypatch.setattr(cuda, "driver_version", lambda: 13000)
    cuda.CudaRunner(0, {})  # compiles and caches
    (path,) = tmp_path.glob("cuda/*.cubin")
    good = path.read_bytes()
    path.write_bytes(good[:64])  # the ELF header survives, the kernel does not
    fresh, _ = fake_cuda_core(host_kernel)  # a new process's cuda.core: its own stream
    monkeypatch.setattr(cuda, "require_cuda_core", lambda: fresh)
    runner = cuda.CudaRunner(0, {})
    assert path.read_bytes() == good
    real = header_of(mainnet_rows[-1])
    job = ScanJob(real, real.target)
    kernel_job = precompute(job.midstate, job.tail, job.target_words)
    assert scan_on_devices([runner], kernel_job, real.nonce - 100, 200, 10) == (1, [real.nonce])


@pytest.mark.parametrize("driver_py, reason", [
    # What `import pycuda.driver` raises with PyCUDA 2026.1 installed on a machine without the NVIDIA driver.
    ('raise ImportError("libcuda.so.1: cannot open shared object file: No such file or directory")',
     "no NVIDIA driver found (pycuda cannot load it: libcuda.so.1: cannot open shared object file: No such file or "
     "directory)"),
    ('raise ImportError("numpy.core.multiarray failed to import")',
     "pycuda is installed but does not import (numpy.core.multiarray failed to import)"),
], ids=["no-driver", "broken"])
def test_pycuda_installed_without_a_driver_is_not_called_missing(tmp_path, monkeypatch, driver_py, reason):
    """PyCUDA's extension links libcuda.so.1: on a machine without the driver its import fails, and the backend said
    'pycuda is not installed ... pip install' to someone who had just installed it."""
    from hashbench.backends.pycuda import PycudaBackend

    package = tmp_path / "pycuda"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "driver.py").write_text(driver_py + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "pycuda" or m.startswith("pycuda.")]:
        monkeypatch.delitem(sys.modules, name)
    assert PycudaBackend().available() == (False, reason)


def test_pycuda_absent_is_called_missing_with_the_install_hint(monkeypatch):
    import importlib.util

    from hashbench.backends.pycuda import PycudaBackend

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pycuda" else
                        real_find_spec(name, *a))
    monkeypatch.setitem(sys.modules, "pycuda", None)  # import pycuda raises ImportError, as where it is absent
    ok, why = PycudaBackend().available()
    assert not ok and why == ('pycuda is not installed; pip install "hashbench[pycuda]" (it builds against a CUDA '
                              "toolkit)")
