"""Launch planning shared by the cuda and pycuda backends; pure Python, testable without a GPU.

- the grid shape for a batch (nonces per thread, block size, grid a multiple of the SM count);
- the lowest hits of a range when a batch found more than the device hit list holds: the kernel
  counts every hit but stores only `capacity` of them, in no particular order, so the range is
  halved (left half first) until each piece's hits fit, which yields the lowest ones exactly;
- one device's launch loop (`DeviceRunner`), implemented per launcher;
- the backend logic both launchers share (`GpuBackend`): device selection, per-job precompute,
  every batch spread over the selected GPUs.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import BackendUnavailable, InputError
from ..header import Header
from .base import Backend, ScanJob, ScanResult, check_threads, split_range
from .cuda_precompute import KernelJob, precompute

# Block of 256 threads with the kernel's __launch_bounds__(256, 4): at most 64 registers, so
# 4+ blocks (32+ warps) are resident per SM, enough to hide the ALU latency of one nonce chain.
BLOCK = 256
# The notes' 16-64: enough nonces per thread that the per-thread set-up is noise, few enough
# that a batch still spreads over many blocks (and SMs) evenly.
NONCES_PER_THREAD = 32
# Hit-list slots on the device. Real targets hit about once per 2^32 nonces; easy test targets
# can overflow it, which the host resolves by bisection (lowest_hits).
CAPACITY = 4096

DEVICES_ENV = "HASHBENCH_CUDA_DEVICES"
# Kernel build switches for measurements, e.g. "HB_ROT_ON_FMA=1,HB_SHR_ON_FMA=0" (see the .cu).
DEFINES_ENV = "HASHBENCH_CUDA_DEFINES"

# (hits counted, up to `capacity` of the hit nonces in any order) for start, count
LaunchFn = Callable[[int, int], tuple[int, list[int]]]


@dataclass(frozen=True)
class LaunchShape:
    grid: int
    block: int

    @property
    def threads(self) -> int:
        return self.grid * self.block


def launch_shape(count: int, sm_count: int, block: int = BLOCK,
                 nonces_per_thread: int = NONCES_PER_THREAD) -> LaunchShape:
    """Blocks so that each thread gets about `nonces_per_thread` nonces; for batches that fill the
    GPU, a whole multiple of the SM count so no SM idles through the last wave."""
    if count < 1:
        raise ValueError("count must be >= 1")
    threads = -(-count // nonces_per_thread)
    grid = -(-threads // block)
    if sm_count > 0 and grid >= sm_count:
        grid = -(-grid // sm_count) * sm_count
    return LaunchShape(grid=grid, block=block)


def lowest_hits(launch: LaunchFn, start: int, count: int, need: int, capacity: int,
                first: tuple[int, list[int]] | None = None) -> list[int]:
    """The `need` lowest hit nonces of start..start+count-1, ascending.

    `first` is the result of launching the whole range, when the caller already has it."""
    if need <= 0:
        return []
    hits, nonces = first if first is not None else launch(start, count)
    if hits <= capacity:
        return sorted(nonces)[:need]
    half = count // 2  # count >= 2 here: a single nonce has at most one hit
    found = lowest_hits(launch, start, half, need, capacity)
    if len(found) < need:
        found += lowest_hits(launch, start + half, count - half, need - len(found), capacity)
    return found


class DeviceRunner:
    """One GPU's launcher: a subclass enqueues a batch asynchronously and collects it later, so
    several GPUs run their sub-ranges at the same time with one synchronisation each."""

    name: str = ""
    arch: str = ""
    sm_count: int = 0
    capacity: int = CAPACITY
    last_gpu_seconds: float = 0.0  # kernel time of the latest batch, from CUDA events

    def enqueue(self, job: KernelJob, start: int, count: int) -> None:
        raise NotImplementedError

    def collect(self) -> tuple[int, list[int]]:
        """Waits for the enqueued batch: (hits counted, up to `capacity` hit nonces, any order)."""
        raise NotImplementedError

    def run(self, job: KernelJob, start: int, count: int) -> tuple[int, list[int]]:
        self.enqueue(job, start, count)
        return self.collect()


def scan_on_devices(runners: Sequence[DeviceRunner], job: KernelJob, start: int, count: int,
                    max_found: int) -> tuple[int, list[int]]:
    """Every device scans its own sub-range concurrently; (total hits, lowest max_found hits)."""
    parts = split_range(start, count, len(runners))  # fewer parts than GPUs when count is smaller: those idle
    for runner, (s, n) in zip(runners, parts, strict=False):
        runner.enqueue(job, s, n)
    firsts = [runner.collect() for runner, _ in zip(runners, parts, strict=False)]
    hits = sum(h for h, _ in firsts)
    found: list[int] = []
    for runner, (s, n), first in zip(runners, parts, firsts, strict=False):
        need = max_found - len(found)
        if need <= 0:
            break
        found += lowest_hits(lambda a, b, r=runner: r.run(job, a, b), s, n, need, runner.capacity, first)
    return hits, found


def parse_device_list(text: str, what: str = DEVICES_ENV) -> list[int]:
    try:
        ids = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise InputError(f"{what} must be comma-separated GPU indices, got {text!r}") from None
    if not ids or any(i < 0 for i in ids) or len(set(ids)) != len(ids):
        raise InputError(f"{what} must list distinct GPU indices >= 0, got {text!r}")
    return ids


def parse_defines(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = item.partition("=")
        if not name.isidentifier():
            raise InputError(f"kernel build switch {item!r} is not NAME or NAME=VALUE")
        out[name] = value or "1"
    return out


class GpuBackend(Backend):
    """What the cuda and pycuda backends share: device selection, per-job precompute, the batch
    spread over every selected GPU. A launcher supplies gpu_count(), a probe and its runner."""

    chunk = 1 << 30  # ~0.1 s on an H100: a stop request is still answered quickly
    threads_via_python = False  # the GPUs take the whole batch; `threads` does not apply
    scales_with_threads = False

    def __init__(self, devices: Sequence[int] | None = None, defines: Mapping[str, str] | None = None) -> None:
        self._devices_setting = list(devices) if devices is not None else None
        self._defines_setting = dict(defines) if defines is not None else None
        self._probe: tuple[bool, str] | None = None
        self._runners: list[DeviceRunner] | None = None
        self._job_key: ScanJob | None = None
        self._job: KernelJob | None = None

    @abstractmethod
    def gpu_count(self) -> int:
        """GPUs the driver sees; raises BackendUnavailable when the launcher cannot run."""

    @abstractmethod
    def _check_launcher(self) -> None:
        """Raises BackendUnavailable when the launcher lacks a piece (compiler, library)."""

    @abstractmethod
    def _make_runner(self, device_id: int, defines: Mapping[str, str]) -> DeviceRunner: ...

    @abstractmethod
    def _arch(self, device_id: int) -> str: ...

    def use_devices(self, ids: Sequence[int] | None) -> None:
        """Pick the GPUs (`--devices`); None: HASHBENCH_CUDA_DEVICES, else every GPU. Checked by available()."""
        self._devices_setting = list(ids) if ids is not None else None
        self._probe = None
        self._runners = None

    def devices(self) -> list[int]:
        """The GPU indices to use: the setting, else HASHBENCH_CUDA_DEVICES, else all."""
        count = self.gpu_count()
        if self._devices_setting is not None:
            ids = self._devices_setting
        elif os.environ.get(DEVICES_ENV, "").strip():
            ids = parse_device_list(os.environ[DEVICES_ENV])
        else:
            return list(range(count))
        missing = [i for i in ids if i >= count]
        if missing:
            raise InputError(f"no CUDA GPU {missing[0]} (this machine has {count})")
        return list(ids)

    def defines(self) -> dict[str, str]:
        if self._defines_setting is not None:
            return self._defines_setting
        return parse_defines(os.environ.get(DEFINES_ENV, ""))

    def available(self) -> tuple[bool, str]:
        if self._probe is None:
            try:
                if self.gpu_count() == 0:
                    self._probe = (False, "no CUDA GPU found")
                else:
                    self._check_launcher()
                    self.devices()
                    self.defines()
                    self._probe = (True, "")
            except (BackendUnavailable, InputError) as exc:
                self._probe = (False, str(exc))
        return self._probe

    def impls(self) -> list[str]:
        if not self.available()[0]:
            return []
        archs = sorted({self._arch(i) for i in self.devices()})
        return [f"{self.impl_prefix}-{'+'.join(archs)}"]

    impl_prefix = "gpu"

    def runners(self) -> list[DeviceRunner]:
        if self._runners is None:
            defines = self.defines()
            self._runners = [self._make_runner(i, defines) for i in self.devices()]
        return self._runners

    def warm_up(self, impl: str) -> None:
        """Compiles (or loads) the kernel on every GPU and runs it once."""
        job = self._kernel_job(ScanJob(Header(bytes(76)), 1))
        for runner in self.runners():
            runner.run(job, 0, 1)

    def _kernel_job(self, job: ScanJob) -> KernelJob:
        if self._job_key is not job:
            self._job = precompute(job.midstate, job.tail, job.target_words)
            self._job_key = job
        return self._job

    def scan(self, job: ScanJob, start: int, count: int, *, threads: int = 1, **kwargs) -> ScanResult:
        """The GPUs take the whole batch: a CPU thread count neither splits nor enlarges it, and is recorded as 1."""
        check_threads(threads)
        return super().scan(job, start, count, threads=1, **kwargs)

    def _scan_part(self, job: ScanJob, impl: str, start: int, count: int, max_found: int,
                   threads: int) -> tuple[int, list[int]]:
        return scan_on_devices(self.runners(), self._kernel_job(job), start, count, max_found)

    def gpu_seconds(self) -> list[float]:
        """Kernel time of the latest batch on each GPU, from CUDA events."""
        return [r.last_gpu_seconds for r in self._runners or []]
