"""Energy over a time window from a source: counter differences, or power sampled on a thread and integrated.

Windows keep their own clock (time.perf_counter) so the joules cover exactly the time between start() and stop(),
not the time the readings happened to be taken."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from .source import CounterSource, DeclaredSource, EnergySource, PowerSource

clock = time.perf_counter


@dataclass(frozen=True)
class WindowResult:
    joules: float | None
    seconds: float
    samples: int
    interval_s: float | None = None  # mean time between power samples actually achieved
    failures: int = 0
    error: str = ""


def integrate(samples: Sequence[tuple[float, float]], t0: float, t1: float) -> float:
    """Joules in [t0, t1] from (time s, power W) samples: power is linear between samples and held flat before the
    first and after the last (the samplers take one before t0 and one after t1, so holding rarely matters)."""
    if t1 <= t0 or not samples:
        return 0.0
    pts = sorted(samples)
    total = 0.0
    first_t, first_w = pts[0]
    if t0 < first_t:
        total += first_w * (min(first_t, t1) - t0)
    last_t, last_w = pts[-1]
    if t1 > last_t:
        total += last_w * (t1 - max(last_t, t0))
    for (ta, wa), (tb, wb) in pairwise(pts):
        lo, hi = max(ta, t0), min(tb, t1)
        if hi <= lo:
            continue
        slope = (wb - wa) / (tb - ta)
        total += (wa + slope * (lo - ta) + wa + slope * (hi - ta)) / 2 * (hi - lo)
    return total


class Window:
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> WindowResult:
        raise NotImplementedError


class PowerWindow(Window):
    """Samples `read_watts` every `interval_s` on a daemon thread; one sample before the window opens and one after
    it closes, so the integral never extrapolates."""

    def __init__(self, read_watts: Callable[[], float], interval_s: float) -> None:
        self._read = read_watts
        self._interval = interval_s
        self._samples: list[tuple[float, float]] = []
        self._failures = 0
        self._error = ""
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hashbench-power-sampler", daemon=True)
        self._t0 = self._t1 = 0.0

    def _sample(self) -> None:
        before = clock()
        try:
            watts = float(self._read())
        except Exception as exc:  # noqa: BLE001 - a failed read is counted and reported, never fatal mid-window
            self._failures += 1
            self._error = f"{type(exc).__name__}: {exc}"
            return
        finally:
            self._first.set()
        # A slow reader (ipmitool takes ~0.1-1 s) saw the power somewhere during the call: stamp the midpoint.
        self._samples.append(((before + clock()) / 2, watts))

    def _loop(self) -> None:
        deadline = clock()
        while not self._stop.is_set():
            self._sample()
            # Fixed-rate schedule; after a slow read, go on from now rather than bursting to catch up.
            deadline = max(deadline + self._interval, clock())
            self._stop.wait(deadline - clock())
        self._sample()  # begun after stop() stamped the window's end: the integral never extrapolates past it

    def start(self) -> None:
        self._thread.start()
        self._first.wait()
        self._t0 = clock()

    def stop(self) -> WindowResult:
        self._t1 = clock()
        self._stop.set()
        self._thread.join()
        seconds = self._t1 - self._t0
        samples = list(self._samples)
        interval = (samples[-1][0] - samples[0][0]) / (len(samples) - 1) if len(samples) > 1 else None
        if not samples:
            return WindowResult(None, seconds, 0, None, self._failures, self._error or "no power reading succeeded")
        return WindowResult(integrate(samples, self._t0, self._t1), seconds, len(samples), interval,
                            self._failures, self._error)


class CounterWindow(Window):
    """Counter difference across the window, with reads on a thread in between so no wraparound is missed.

    A read that fails at either edge, or a counter reset inside, leaves the window without joules (and the reason):
    the workload it wraps still runs and keeps its own results."""

    def __init__(self, source: CounterSource) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._reads = 0
        self._failures = 0
        self._error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hashbench-counter-poller", daemon=True)
        self._j0: float | None = None
        self._t0 = 0.0
        self._resets = 0

    def _read(self) -> float | None:
        with self._lock:  # the source keeps wrap state: one reader at a time
            try:
                value = self._source.read_joules()
            except Exception as exc:  # noqa: BLE001 - counted and reported with the result, never fatal
                self._failures += 1
                self._error = f"{type(exc).__name__}: {exc}"
                return None
            self._reads += 1
            return value

    def _loop(self) -> None:
        while not self._stop.wait(self._source.poll_interval_s):
            self._read()

    def start(self) -> None:
        self._j0 = self._read()
        # Counted after the first read: a reset the source only sees now happened before the window (the counter is
        # read only while a window is open), and the window's own energy, j1 - j0, does not cross it.
        self._resets = self._source.resets
        self._t0 = clock()
        self._thread.start()

    def stop(self) -> WindowResult:
        t1 = clock()
        self._stop.set()
        self._thread.join()
        j1 = self._read()
        seconds = t1 - self._t0
        if self._source.resets != self._resets:
            return WindowResult(None, seconds, self._reads, None, self._failures + 1,
                                self._source.reset_why or "the counter was reset during the window")
        if self._j0 is None or j1 is None:
            return WindowResult(None, seconds, self._reads, None, self._failures, self._error)
        return WindowResult(j1 - self._j0, seconds, self._reads, None, self._failures, self._error)


class ConstantWindow(Window):
    def __init__(self, watts: float) -> None:
        self._watts = watts
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = clock()

    def stop(self) -> WindowResult:
        seconds = clock() - self._t0
        return WindowResult(self._watts * seconds, seconds, 0)


def open_window(source: EnergySource) -> Window:
    if isinstance(source, CounterSource):
        return CounterWindow(source)
    if isinstance(source, PowerSource):
        return PowerWindow(source.read_watts, source.interval_s)
    if isinstance(source, DeclaredSource):
        return ConstantWindow(source.watts)
    raise TypeError(f"unknown energy source type {type(source).__name__}")


def estimate_update_period(read: Callable[[], float], max_seconds: float = 0.6, poll_s: float = 0.002,
                           changes: int = 5) -> float | None:
    """How often a counter actually moves: poll it fast and take the median time between changes.

    NVML's energy counter moves every ~20-100 ms depending on the board; a window of a few periods is coarse."""
    times: list[float] = []
    last = read()
    end = clock() + max_seconds
    while clock() < end and len(times) < changes + 1:
        time.sleep(poll_s)
        value = read()
        if value != last:
            times.append(clock())
            last = value
    gaps = [b - a for a, b in pairwise(times)]
    return statistics.median(gaps) if gaps else None
