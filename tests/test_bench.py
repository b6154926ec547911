"""hashbench.bench: warm-up, calibration, the timed scans and the figures made from them, on a simulated backend
whose scans take count / rate seconds of simulated time (rates are powers of two, so every figure is exact and
worked out by hand below). No test hashes or sleeps."""

from __future__ import annotations

import threading

import pytest

from hashbench.backends.base import Backend, ScanResult
from hashbench.bench import CALIBRATION_SECONDS, BenchResult, _Cursor, bench_backend
from hashbench.energy.reading import EnergyReading
from hashbench.errors import InputError
from hashbench.header import DIFF1_TARGET, NONCE_SPACE
from hashbench.samples import bench_header

MH = 1 << 20  # H/s of the simulated backend unless told


class Simulated(Backend):
    """Scans take count / rate simulated seconds; `rates` (one per scan, then `rate`) script a varying speed.
    `log` is what happened, in order: warm-up, and each scan's size and whether the energy window was open.
    `interrupt_at` makes that scan (0-based) come back interrupted after half its nonces, as Ctrl-C does.
    A bench asking for more than MAX_SCANS scans (none here needs a hundred) fails the test: a calibration or a
    sampling loop that never stops is a bug to report, not a test run to hang until CI kills it."""

    MAX_SCANS = 1000

    name = "simulated"

    def __init__(self, rate: float = MH, rates: tuple[float, ...] = (), interrupt_at: int | None = None) -> None:
        self.rate, self.rates, self.interrupt_at = rate, list(rates), interrupt_at
        self.log: list[tuple] = []
        self.window_open = False
        self.scans = 0

    def available(self) -> tuple[bool, str]:
        return True, ""

    def impls(self) -> list[str]:
        return ["fast", "slow"]

    def warm_up(self, impl: str) -> None:
        self.log.append(("warm-up", impl))

    def _scan_part(self, *args):  # pragma: no cover - scan() is overridden
        raise NotImplementedError

    def scan(self, job, start, count, *, impl=None, threads=1, max_found=0, stop=None) -> ScanResult:
        assert self.scans < self.MAX_SCANS, f"bench never stopped: {self.scans} scans, the last of {count} nonces"
        rate = self.rates.pop(0) if self.rates else self.rate
        self.log.append(("scan", count, self.window_open))
        interrupted = self.scans == self.interrupt_at
        self.scans += 1
        done = count // 2 if interrupted else count
        return ScanResult(self.name, impl, 1, start, done, done / rate, 0, [], interrupted)  # one batch, as a GPU


class Window:
    """An energy meter around the timed scans: 40 J over whatever it wrapped."""

    def __init__(self, backend: Simulated) -> None:
        self.backend = backend

    def __enter__(self) -> Window:
        self.backend.window_open = True
        return self

    def __exit__(self, *exc) -> None:
        self.backend.window_open = False

    def reading(self) -> EnergyReading:
        return EnergyReading("rapl", "cpu package", "energy counter", 5.0, 40.0)


CALIBRATION = [("scan", 1 << 10, False), ("scan", 1 << 12, False), ("scan", 1 << 14, False),
               ("scan", 1 << 16, False), ("scan", 1 << 18, False)]  # 2^18 / 2^20 H/s = 0.25 s >= 0.1 s: done


def test_warm_up_then_calibration_outside_the_window_then_ten_half_second_samples_inside():
    backend = Simulated()
    progress: list[tuple[float, float]] = []
    result = bench_backend(backend, impl="slow", threads=4, seconds=5.0, window=lambda: Window(backend),
                           on_sample=lambda done, rate: progress.append((done, rate)))
    # samples of max(0.05, 5.0 / 10) = 0.5 s at the calibrated 2^20 H/s: 2^19 nonces each, ten to fill 5 s
    assert backend.log == [("warm-up", "slow"), *CALIBRATION, *[("scan", 1 << 19, True)] * 10]
    assert (result.backend, result.impl, result.threads) == ("simulated", "slow", 1)  # the one batch it ran
    assert result.samples == [MH] * 10 and result.hashes == 10 << 19 and result.seconds == 5.0
    assert not result.interrupted
    assert result.energy.joules_gross == 40.0
    assert result.to_json()["joules_per_th"] == 40.0 / ((10 << 19) / 1e12)
    assert progress == [(i / 10, MH) for i in range(1, 11)]


def test_samples_last_a_second_at_most_and_a_twentieth_at_least():
    backend = Simulated()
    result = bench_backend(backend, seconds=40.0)
    assert result.impl == "fast" and len(result.samples) == 40 and result.hashes == 40 * MH  # 1 s samples
    backend = Simulated()
    # 0.2 / 10 is under 0.05: samples of int(0.05 * 2^20) = 52428 nonces, 0.04999924 s each, so five to pass 0.2 s
    result = bench_backend(backend, seconds=0.2)
    assert backend.log[-1] == ("scan", 52428, False)
    assert len(result.samples) == 5 and result.hashes == 5 * 52428


def test_at_least_three_samples_however_short_the_time_asked():
    progress: list[float] = []
    result = bench_backend(Simulated(), seconds=0.01, on_sample=lambda done, rate: progress.append(done))
    assert len(result.samples) == 3 and result.hashes == 3 * 52428
    assert progress == [1.0, 1.0, 1.0]  # past the time asked: progress stops at done


def test_calibration_stops_growing_at_two_to_the_thirty_and_a_sample_at_two_to_the_thirty_one():
    backend = Simulated(rate=float(1 << 34))  # 2^30 nonces in 1/16 s: still under 0.1 s
    result = bench_backend(backend, seconds=10.0)  # 1 s samples would be 2^34 nonces: capped at 2^31, 1/8 s each
    assert [e[1] for e in backend.log[1:12]] == [1 << k for k in range(10, 31, 2)]
    assert backend.log[12:] == [("scan", 1 << 31, False)] * 80
    assert result.hashes == 80 << 31 and result.seconds == 10.0


def test_calibration_stops_at_exactly_the_calibration_time():
    backend = Simulated(rate=float((1 << 12) / CALIBRATION_SECONDS))  # 4096 nonces take exactly 0.1 s
    bench_backend(backend, seconds=0.01)
    # calibrated at 40960 H/s: the samples that follow are int(40960 * 0.05) = 2048 nonces
    assert [e[1] for e in backend.log[1:]] == [1 << 10, 1 << 12, 2048, 2048, 2048]


def test_median_minimum_and_maximum_of_varying_samples():
    rates = (MH,) * 5 + (4 * MH, MH, 2 * MH)  # calibration, then the three samples of a short bench
    result = bench_backend(Simulated(rates=rates), seconds=0.01)
    assert result.samples == [4 * MH, MH, 2 * MH]
    fields = result.to_json()
    assert (fields["hashrate"], fields["hashrate_min"], fields["hashrate_max"]) == (2 * MH, MH, 4 * MH)


def test_interrupted_calibration_gives_no_samples_and_no_energy():
    backend = Simulated(interrupt_at=2)
    result = bench_backend(backend, seconds=5.0, window=lambda: Window(backend))
    assert result.interrupted and result.samples == [] and result.hashes == 0 and result.seconds == 0.0
    assert result.energy is None and result.hashrate == 0.0
    assert len(backend.log) == 4  # warm-up and three scans: nothing after the interrupted one


def test_interrupted_sample_is_dropped_and_the_finished_ones_kept_without_energy():
    backend = Simulated(interrupt_at=7)  # five calibration scans, two samples, then Ctrl-C
    result = bench_backend(backend, seconds=5.0, window=lambda: Window(backend))
    assert result.interrupted and result.samples == [MH, MH] and result.hashes == 2 << 19 and result.seconds == 1.0
    assert result.energy is None and len(backend.log) == 1 + 5 + 3


def test_a_set_stop_event_reaches_the_scans():
    seen = []

    class Stoppable(Simulated):
        def scan(self, job, start, count, *, impl=None, threads=1, max_found=0, stop=None) -> ScanResult:
            seen.append(stop)
            return super().scan(job, start, count, impl=impl, threads=threads, stop=stop)

    stop = threading.Event()
    bench_backend(Stoppable(), seconds=0.01, stop=stop)
    assert seen and all(s is stop for s in seen)


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan")])
def test_no_time_to_bench_is_refused(seconds):
    with pytest.raises(InputError) as info:
        bench_backend(Simulated(), seconds=seconds)
    assert str(info.value) == f"seconds must be > 0, got {seconds}"


def test_bad_threads_and_impl_are_refused_before_any_scan():
    backend = Simulated()
    with pytest.raises(InputError, match=r"^threads must be >= 1, got 0$"):
        bench_backend(backend, threads=0)
    with pytest.raises(InputError) as info:
        bench_backend(backend, impl="avx9")
    assert str(info.value) == "backend 'simulated' has no implementation 'avx9' on this machine (available: fast, slow)"
    assert backend.log == []


def test_cursor_walks_the_nonce_space_and_starts_over_past_its_end():
    cursor = _Cursor()
    assert (cursor.take(10), cursor.take(5), cursor.pos) == (0, 10, 15)
    cursor.pos = NONCE_SPACE - 4
    assert cursor.take(4) == NONCE_SPACE - 4  # fits exactly: no wrap
    assert cursor.take(1) == 0 and cursor.pos == 1
    cursor.pos = NONCE_SPACE - 4
    assert cursor.take(5) == 0 and cursor.pos == 5


def test_bench_result_json():
    result = BenchResult("cython", "avx2", 2, [3.0e6, 1.0e6, 2.0e6, 10.0e6], 16_000_000, 4.0)
    assert result.to_json() == {
        "backend": "cython", "impl": "avx2", "threads": 2, "hashrate": 2.5e6, "hashrate_min": 1.0e6,
        "hashrate_max": 10.0e6, "samples": [3.0e6, 1.0e6, 2.0e6, 10.0e6], "hashes": 16_000_000, "seconds": 4.0,
        "target": "00000000ffff0000000000000000000000000000000000000000000000000000"}
    assert f"{DIFF1_TARGET:064x}" == result.to_json()["target"]
    empty = BenchResult("cython", "avx2", 2, [], 0, 0.0, interrupted=True).to_json()
    assert (empty["hashrate"], empty["hashrate_min"], empty["hashrate_max"]) == (0.0, 0.0, 0.0)
    energy = EnergyReading("rapl", "cpu package", "energy counter", 4.0, 80.0)
    fields = BenchResult("cython", "avx2", 2, [4.0e6], 16_000_000, 4.0, energy=energy).to_json()
    assert fields["energy_j"] == 80.0 and fields["joules_per_th"] == 80.0 / 16e-6


class Recording(Simulated):
    """Also records the implementation and thread count each scan was handed, and what it was to scan."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple] = []

    def scan(self, job, start, count, *, impl=None, threads=1, max_found=0, stop=None) -> ScanResult:
        self.log.append(("asked", impl, threads))
        self.ranges.append((job.header, job.target, start, count))
        return super().scan(job, start, count, impl=impl, threads=threads, max_found=max_found, stop=stop)


def test_every_scan_runs_the_implementation_and_threads_asked_for():
    """`bench --impl slow --threads 4` must time that path on four threads, calibration included: a figure labelled
    with one implementation but measured on the default is a wrong number."""
    backend = Recording()
    bench_backend(backend, impl="slow", threads=4, seconds=0.2)
    asked = {entry for entry in backend.log if entry[0] == "asked"}
    assert asked == {("asked", "slow", 4)}
    # Defaults: the first implementation, one thread, 3 s of samples: int(0.3 * 2^20) = 314572 nonces, 0.2999992 s
    # each, so ten fall just short of 3 s and an eleventh passes it.
    backend = Recording()
    result = bench_backend(backend)
    assert {entry for entry in backend.log if entry[0] == "asked"} == {("asked", "fast", 1)}
    assert len(result.samples) == 11 and result.seconds == pytest.approx(11 * 314572 / MH)
    # Every scan, calibration included, hashes the bench header at the difficulty-1 share target, each range
    # starting where the one before ended.
    assert {(header, target) for header, target, _, _ in backend.ranges} == {(bench_header(), DIFF1_TARGET)}
    assert all(b[2] == a[2] + a[3] for a, b in zip(backend.ranges, backend.ranges[1:], strict=False))
