"""Timed scans at a difficulty-1 share target, as pools hand out: warm-up, calibration, samples."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from .backends import Backend, ScanJob
from .errors import InputError
from .header import DIFF1_TARGET, NONCE_SPACE
from .samples import bench_header

CALIBRATION_SECONDS = 0.1


@dataclass
class BenchResult:
    backend: str
    impl: str
    threads: int
    samples: list[float]  # H/s of each timed scan
    hashes: int
    seconds: float
    interrupted: bool = False
    energy: object | None = None  # energy.EnergyReading over the timed scans only

    @property
    def hashrate(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0

    def to_json(self) -> dict:
        return {
            "backend": self.backend,
            "impl": self.impl,
            "threads": self.threads,
            "hashrate": self.hashrate,
            "hashrate_min": min(self.samples, default=0.0),
            "hashrate_max": max(self.samples, default=0.0),
            "samples": self.samples,
            "hashes": self.hashes,
            "seconds": self.seconds,
            "target": f"{DIFF1_TARGET:064x}",
            **self._energy_fields(),
        }

    def _energy_fields(self) -> dict:
        if self.energy is None:
            return {}
        from .energy.records import hash_energy_fields

        return hash_energy_fields(self.energy, self.hashes)


class _Cursor:
    """Walks the nonce space so consecutive samples hash different nonces."""

    def __init__(self) -> None:
        self.pos = 0

    def take(self, count: int) -> int:
        if self.pos + count > NONCE_SPACE:
            self.pos = 0
        start = self.pos
        self.pos += count
        return start


def bench_backend(backend: Backend, *, impl: str | None = None, threads: int = 1, seconds: float = 3.0,
                  on_sample: Callable[[float, float], None] | None = None,
                  stop: threading.Event | None = None,
                  window: Callable[[], AbstractContextManager] | None = None) -> BenchResult:
    """Median-of-samples hashrate over about `seconds` of timed scans (after warm-up).

    `window` makes the energy meter that wraps the timed scans alone (not warm-up or calibration),
    so its joules belong to exactly the hashes counted."""
    if not seconds > 0:
        raise InputError(f"seconds must be > 0, got {seconds}")
    backend.check_threads(threads)
    impl = backend.resolve_impl(impl)
    job = ScanJob(bench_header(), DIFF1_TARGET)
    cursor = _Cursor()
    backend.warm_up(impl)

    # Calibrate: grow the scan until it takes long enough to time, then size samples from it.
    count = 1 << 10
    while True:
        r = backend.scan(job, cursor.take(count), count, impl=impl, threads=threads, stop=stop)
        if r.interrupted or r.seconds >= CALIBRATION_SECONDS or count >= 1 << 30:
            break
        count = min(count * 4, 1 << 30)
    sample_seconds = min(1.0, max(0.05, seconds / 10))
    per_sample = max(threads, min(int(r.hashrate * sample_seconds), 1 << 31))

    samples: list[float] = []
    hashes, elapsed = 0, 0.0
    interrupted = r.interrupted
    with (window() if window else nullcontext()) as meter:
        while not interrupted and (elapsed < seconds or len(samples) < 3):
            r = backend.scan(job, cursor.take(per_sample), per_sample, impl=impl, threads=threads, stop=stop)
            if r.interrupted:
                interrupted = True
                break
            samples.append(r.hashrate)
            hashes += r.hashes
            elapsed += r.seconds
            if on_sample:
                on_sample(min(elapsed / seconds, 1.0), r.hashrate)
    energy = meter.reading() if meter is not None and not interrupted else None
    # The threads the scans ran (a GPU backend runs its batch as one, whatever was asked).
    return BenchResult(backend.name, impl, r.threads, samples, hashes, elapsed, interrupted, energy)
