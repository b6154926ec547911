"""Cross-check energy sources over one shared window, under one steady load.

Every source readable for a device is opened at once — for a GPU, NVML's total-energy counter and NVML power sampled
at 20 Hz on the same boards; for a CPU, RAPL; for the node, IPMI and Redfish where configured — and all of them meter
the same seconds of hashing. Two sources of the same layer measure the same joules, so their difference is the error
of at least one of them: a site that prices J/TH on a counter checks it here against an independent reading first.
Sources of different layers (a board inside a node) are reported side by side, never judged against each other.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import combinations
from types import TracebackType
from typing import Self

from .config import EnergyConfig
from .ipmi import IpmiUnavailable
from .meter import EnergyMeter, is_gpu, open_source
from .nvml import STEADY_WINDOW_S, NvmlUnavailable, open_nvml
from .rapl import RaplUnavailable
from .reading import EnergyReading, EnergyUnavailable
from .redfish import RedfishUnavailable
from .source import EnergySource

DEFAULT_TOLERANCE = 0.05  # the NVML counter vs sampled power criterion
DEFAULT_SECONDS = STEADY_WINDOW_S
_UNAVAILABLE = (NvmlUnavailable, RaplUnavailable, IpmiUnavailable, RedfishUnavailable, EnergyUnavailable)


@dataclass(frozen=True)
class Opened:
    sources: list[EnergySource]
    missing: list[str]  # "kind: why" for every source that could not be opened

    def close(self) -> None:
        for source in self.sources:
            source.close()


def open_check_sources(config: EnergyConfig, device: str) -> Opened:
    """Every measured source for `device` (declared wattages are not measurements and are left out)."""
    sources: list[EnergySource] = []
    missing: list[str] = []

    def attempt(kind: str, opener: Callable[[], EnergySource]) -> None:
        try:
            sources.append(opener())
        except _UNAVAILABLE as exc:
            missing.append(f"{kind}: {exc}")

    if is_gpu(device):
        attempt("nvml counter", lambda: open_nvml(device, ("counter",)))
        attempt("nvml sampled power", lambda: open_nvml(device, ("power",)))
    else:
        attempt("rapl", lambda: open_source(config, "rapl", device))
    if config.redfish_url:
        attempt("redfish", lambda: open_source(config, "redfish", device))
    if config.ipmi_args or shutil.which(config.ipmitool):
        attempt("ipmi", lambda: open_source(config, "ipmi", device))
    return Opened(sources, missing)


def comparable_pairs(sources: list[EnergySource]) -> list[tuple[int, int]]:
    """Index pairs of sources on the same layer: they meter the same joules."""
    return [(i, j) for i, j in combinations(range(len(sources)), 2) if sources[i].layer == sources[j].layer]


def describe(source: EnergySource) -> str:
    """"nvml energy counter", "nvml sampled power", "redfish sampled power"."""
    return f"{source.name} {source.method}"


class MeterSet:
    """Meters every source over the same `with` block; the bench loop's `window` (reading() is the first's)."""

    def __init__(self, sources: list[EnergySource]) -> None:
        self.meters = [EnergyMeter(s, net=False) for s in sources]
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        for meter in self.meters:
            self._stack.enter_context(meter)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.__exit__(exc_type, exc, tb)

    def reading(self) -> EnergyReading:
        return self.meters[0].reading()

    def readings(self) -> list[EnergyReading]:
        return [m.reading() for m in self.meters]


@dataclass(frozen=True)
class PairVerdict:
    reference: str
    other: str
    layer: str
    relative_difference: float | None  # (other - reference) / reference, of mean power over each window
    tolerance: float

    @property
    def agree(self) -> bool | None:
        if self.relative_difference is None:
            return None
        return abs(self.relative_difference) <= self.tolerance

    def to_json(self) -> dict:
        return {"reference": self.reference, "other": self.other, "layer": self.layer,
                "relative_difference": self.relative_difference, "tolerance": self.tolerance, "agree": self.agree}


@dataclass
class CheckResult:
    device: str
    load: str  # "cuda (nvrtc-sm_90)" or "idle"
    seconds: float
    hashes: int
    hashrate: float | None
    names: list[str]
    readings: list[EnergyReading]
    verdicts: list[PairVerdict]
    missing: list[str]

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.agree for v in self.verdicts)

    def to_json(self) -> dict:
        sources = []
        for name, r in zip(self.names, self.readings, strict=True):
            per_th = r.per_unit(self.hashes / 1e12) if self.hashes else None
            sources.append({**r.to_json(), "name": name, "joules_per_th": per_th})
        return {"device": self.device, "load": self.load, "seconds": self.seconds, "hashes": self.hashes,
                "hashrate": self.hashrate, "sources": sources, "pairs": [v.to_json() for v in self.verdicts],
                "passed": self.passed, "not_opened": self.missing}


def verdicts(sources: list[EnergySource], readings: list[EnergyReading], tolerance: float) -> list[PairVerdict]:
    out = []
    for i, j in comparable_pairs(sources):
        # Mean power over each source's own window: the windows open and close one after another (each source's
        # first reading takes its time), so their lengths differ by up to a reading's latency.
        a, b = readings[i].watts, readings[j].watts
        diff = (b - a) / a if a and b is not None else None
        out.append(PairVerdict(describe(sources[i]), describe(sources[j]), sources[i].layer, diff, tolerance))
    return out


Load = Callable[[Callable[[], MeterSet]], tuple[str, int, float | None]]


def run_check(opened: Opened, device: str, tolerance: float, load: Load) -> CheckResult:
    """Meters `load` with every opened source at once. `load(window)` runs the workload with `window()` wrapped
    around its timed part and returns (what ran, hashes counted inside the window, hashrate)."""
    meter_sets: list[MeterSet] = []

    def window() -> MeterSet:
        meter_sets.append(MeterSet(opened.sources))
        return meter_sets[-1]

    what, hashes, rate = load(window)
    readings = meter_sets[-1].readings() if meter_sets else []
    # A name for each reading: a load that opened no window metered nothing, and its result (no sources, not passed)
    # must still print and serialise, which pair names with readings one to one.
    names = [describe(s) for s in opened.sources] if readings else []
    found = verdicts(opened.sources, readings, tolerance) if readings else []
    elapsed = readings[0].window_s if readings else 0.0
    return CheckResult(device, what, elapsed, hashes, rate, names, readings, found, opened.missing)


def idle_load(seconds: float) -> Load:
    """Nothing running for `seconds`: checks the sources at the device's idle power."""
    def load(window: Callable[[], MeterSet]) -> tuple[str, int, float | None]:
        with window():
            time.sleep(seconds)
        return "idle", 0, None
    return load


def hashing_load(backend: object, seconds: float, threads: int = 1) -> Load:
    """The backend hashing at a difficulty-1 target for `seconds` (warm-up and calibration outside the window)."""
    from ..bench import bench_backend

    def load(window: Callable[[], MeterSet]) -> tuple[str, int, float | None]:
        result = bench_backend(backend, threads=threads, seconds=seconds, window=window)
        return f"{result.backend} ({result.impl}, {result.threads} thread(s))", result.hashes, result.hashrate
    return load
