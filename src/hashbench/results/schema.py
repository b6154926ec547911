"""One result schema: a run is a host fingerprint plus measurements, each with its samples, unit, provenance and
the energy behind it. Every file format (pytest-benchmark JSON, exporters) and the history database are views of
these records. Changes to the layout bump SCHEMA_VERSION and are written down in docs/schema-history.md."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..economics import DECLARED, ESTIMATED, KINDS, MEASURED, NAMEPLATE
from .fingerprint import HostFingerprint
from .stats import Summary, summarize

SCHEMA_VERSION = 2
RUN_KIND = "hashbench-run"
HASHRATE, PROBE, TIMING = "hashrate", "probe", "timing"  # measurement kinds
PROVENANCES = KINDS  # measured / estimated / nameplate / declared, the words every printed figure carries

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Energy:
    """Joules over a measurement's timed window and where they came from (a counter, a meter, a declaration)."""

    source: str  # "rapl", "nvml", "ipmi-dcmi", "redfish", "declared 65 W", ...
    joules: float | None = None
    seconds: float | None = None  # the window the joules cover
    provenance: str = MEASURED
    joules_per_unit: float | None = None  # J/hash, J/token, ...
    layer: str = ""  # gpu board | cpu package | node | declared: a board joule is not a node joule
    per: str = ""  # what joules_per_unit is per: hash, token, TFLOP, GB ("" = one unit of the measurement's rate)

    @property
    def watts(self) -> float | None:
        if self.joules is not None and self.seconds:
            return self.joules / self.seconds
        return None

    def to_json(self) -> dict:
        return {"source": self.source, "joules": self.joules, "seconds": self.seconds, "provenance": self.provenance,
                "joules_per_unit": self.joules_per_unit, "per": self.per, "layer": self.layer, "watts": self.watts}

    @classmethod
    def from_json(cls, data: Mapping) -> Energy:
        return cls(str(data.get("source", "")), _num(data.get("joules")), _num(data.get("seconds")),
                   _provenance(data.get("provenance"), str(data.get("source", ""))), _num(data.get("joules_per_unit")),
                   str(data.get("layer") or ""), str(data.get("per") or ""))


def higher_is_better(unit: str) -> bool:
    """Rates (H/s, tokens/s, FLOP/s, B/s) grow when things get better; times and energies shrink."""
    return unit.endswith("/s")


@dataclass(frozen=True)
class Measurement:
    """One benchmark's figure: its samples in `unit` (a rate such as H/s or tokens/s, or s for timings), the
    median as its value, and whether it was measured here or taken from a declaration, a nameplate or an estimate.

    `iterations` is how many operations one sample covered (nonces hashed per timed scan, say): pytest-benchmark
    reports time per operation, and this is how a rate sample becomes one."""

    name: str
    kind: str
    unit: str
    samples: tuple[float, ...] = ()
    value: float | None = None  # the median of the samples; required when there are none (a declared figure)
    provenance: str = MEASURED
    params: dict[str, Scalar] = field(default_factory=dict)
    energy: Energy | None = None
    iterations: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.provenance not in PROVENANCES:
            raise ValueError(f"provenance must be one of {PROVENANCES}, got {self.provenance!r}")
        if not self.samples and self.value is None:
            raise ValueError(f"measurement {self.name!r} has neither samples nor a value")
        if self.samples and self.value is None:
            object.__setattr__(self, "value", self.summary.median)

    @cached_property
    def summary(self) -> Summary:
        return summarize(self.samples if self.samples else (self.value,))

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.unit)

    @property
    def energy_source(self) -> str:
        return self.energy.source if self.energy else "none"

    @property
    def cpu_load(self) -> dict | None:
        """What else the CPUs did in the measurement's window (cpuload.CpuLoad's JSON), where it was recorded."""
        reading = self.extra.get("energy_reading")
        load = reading.get("cpu_load") if isinstance(reading, Mapping) else None
        return load if isinstance(load, Mapping) else None

    @property
    def cpus_shared(self) -> bool | None:
        """Whether other work, a hypervisor or a CPU quota took CPU time in its window (the verdict recorded with
        cpu_load); None where no load was recorded."""
        load = self.cpu_load
        return None if load is None else bool(load.get("shared"))

    @property
    def energy_per(self) -> str:
        """What joules_per_unit is per: "hash", "token", "TFLOP", ..."""
        return (self.energy.per if self.energy and self.energy.per else "") or unit_noun(self.unit)

    @property
    def joules_per_unit(self) -> float | None:
        """J per `energy_per`: as recorded, or mean power ÷ the rate (then per one unit of the rate)."""
        if self.energy is None:
            return None
        if self.energy.joules_per_unit is not None:
            return self.energy.joules_per_unit
        watts = self.energy.watts
        if watts is not None and self.higher_is_better and self.value:
            return watts / self.value
        return None

    def to_json(self) -> dict:
        s = self.summary
        return {"name": self.name, "kind": self.kind, "unit": self.unit, "value": self.value, "min": s.min,
                "max": s.max, "mean": s.mean, "stddev": s.stddev, "n": len(self.samples),
                "samples": list(self.samples), "provenance": self.provenance, "params": dict(self.params),
                "energy": self.energy.to_json() if self.energy else None, "iterations": self.iterations,
                "extra": dict(self.extra)}

    @classmethod
    def from_json(cls, data: Mapping) -> Measurement:
        energy = data.get("energy")
        return cls(name=str(data["name"]), kind=str(data.get("kind", TIMING)), unit=str(data["unit"]),
                   samples=tuple(float(v) for v in data.get("samples") or ()), value=_num(data.get("value")),
                   provenance=_provenance(data.get("provenance")), params=dict(data.get("params") or {}),
                   energy=Energy.from_json(energy) if isinstance(energy, Mapping) else None,
                   iterations=int(data.get("iterations") or 1), extra=dict(data.get("extra") or {}))


@dataclass(frozen=True)
class Check:
    """A correctness check that ran with the measurements (real block headers scanned back to their nonce)."""

    backend: str
    impl: str
    headers: int
    passed: bool
    failures: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"backend": self.backend, "impl": self.impl, "headers": self.headers, "passed": self.passed,
                "failures": list(self.failures)}

    @classmethod
    def from_json(cls, data: Mapping) -> Check:
        return cls(str(data.get("backend", "")), str(data.get("impl", "")), int(data.get("headers", 0)),
                   bool(data.get("passed")), tuple(str(f) for f in data.get("failures") or ()))


# What a benchmark's verification was in its run (the `verified` of a CSV row, an OpenMetrics label, ...).
VERIFY_PASSED, VERIFY_FAILED, NOT_CHECKED = "passed", "failed", "not checked"


def failed_backends(checks: Iterable[Check]) -> set[str]:
    """Backends that scanned real block headers to wrong nonces. The whole backend, not just the implementation
    verified: the midstate and per-range precomputation its kernels share are where a wrong answer usually comes
    from (as `yield --from-run` reads a run file)."""
    return {c.backend for c in checks if not c.passed}


def verification_summary(checks: Iterable[Check]) -> str:
    """A run's verification in a few words: "yes", "not checked", or "FAILED: cython (avx2), ..." naming each
    backend whose hashrates time a kernel that gives wrong answers."""
    checks = list(checks)
    failed = [f"{c.backend} ({c.impl})" for c in checks if not c.passed]
    if failed:
        return "FAILED: " + ", ".join(failed)
    return "yes" if checks else NOT_CHECKED


@dataclass(frozen=True)
class Skipped:
    what: str
    reason: str

    def to_json(self) -> dict:
        return {"backend": self.what, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping) -> Skipped:
        return cls(str(data.get("backend", data.get("what", ""))), str(data.get("reason", "")))


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass
class RunResult:
    """One run: where, when, which code, and every finished measurement. `complete` is False for a run that was
    stopped: what it holds was still measured in full."""

    host: HostFingerprint
    started: str
    measurements: list[Measurement] = field(default_factory=list)
    finished: str | None = None
    complete: bool = False
    run_id: str = field(default_factory=new_run_id)
    source: str = "hashbench run"  # or "pytest-benchmark" for files from benchmarks/
    checks: list[Check] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    @property
    def fingerprint(self) -> str:
        return self.host.fingerprint

    def measurement(self, name: str) -> Measurement | None:
        return next((m for m in self.measurements if m.name == name), None)

    @property
    def verification(self) -> str:
        return verification_summary(self.checks)

    def verified(self, m: Measurement) -> str:
        """VERIFY_FAILED when `m` times a backend that failed verification in this run, VERIFY_PASSED when that
        backend passed, NOT_CHECKED when it was not verified, "" when verification does not apply (a probe, a
        timing of no backend)."""
        backend = m.params.get("backend")
        if not backend:
            return ""
        mine = [c for c in self.checks if c.backend == backend]
        if not mine:
            return NOT_CHECKED
        return VERIFY_FAILED if any(not c.passed for c in mine) else VERIFY_PASSED

    def to_json(self) -> dict:
        return {"schema_version": self.schema_version, "kind": RUN_KIND, "run_id": self.run_id,
                "source": self.source, "started": self.started, "finished": self.finished,
                "complete": self.complete, "fingerprint": self.fingerprint, "host": self.host.to_json(),
                "measurements": [m.to_json() for m in self.measurements],
                "checks": [c.to_json() for c in self.checks], "skipped": [s.to_json() for s in self.skipped]}

    @classmethod
    def from_json(cls, data: Mapping) -> RunResult:
        return cls(host=HostFingerprint.from_json(data.get("host") or {}), started=str(data.get("started") or ""),
                   measurements=[Measurement.from_json(m) for m in data.get("measurements") or ()],
                   finished=data.get("finished"), complete=bool(data.get("complete")),
                   run_id=str(data.get("run_id") or new_run_id()), source=str(data.get("source") or "hashbench run"),
                   checks=[Check.from_json(c) for c in data.get("checks") or ()],
                   skipped=[Skipped.from_json(s) for s in data.get("skipped") or ()],
                   schema_version=int(data.get("schema_version") or SCHEMA_VERSION))


# --- converters from the records the measuring code produces ---------------------------------------------------------

_BENCH_KEYS = {"backend", "impl", "threads", "hashrate", "hashrate_min", "hashrate_max", "samples", "hashes",
               "seconds", "interrupted"}
_PROBE_KEYS = {"probe", "device", "preset", "dtype", "batch", "value", "unit", "samples", "provenance", "value_min",
               "value_max", "per"}
_ENERGY_KEYS = {"energy", "energy_j", "joules", "joules_per_unit", "joules_per_hash", "power_source", "watts",
                "energy_seconds", "energy_provenance", "energy_layer", "per"}


def hashrate_name(backend: str, impl: str, threads: int) -> str:
    return f"sha256d[{backend}-{impl}-x{threads}]"


def probe_name(params: Mapping[str, Scalar]) -> str:
    batch = params.get("batch")
    parts = [params.get("device"), params.get("preset"), params.get("dtype"),
             f"b{batch}" if batch is not None else None]
    return f"{params.get('probe')}[{'-'.join(str(p) for p in parts if p not in (None, ''))}]"


def energy_from_fields(data: Mapping, window_seconds: float | None = None, rate: float | None = None,
                       per: str = "") -> Energy | None:
    """Energy from the flat fields the measuring code writes (energy_j, power_source, joules_per_unit) or a nested
    `energy` object (an EnergyReading's JSON: source, layer, label, joules, window_s); None when nothing was
    metered (source "none" included: hashbench never invents a joule)."""
    nested = data.get("energy")
    if isinstance(nested, Mapping):
        source = str(nested.get("label") or nested.get("source") or nested.get("power_source") or "")
        joules = _num(nested.get("joules", nested.get("joules_gross", nested.get("energy_j"))))
        seconds = _num(nested.get("seconds", nested.get("window_s"))) or window_seconds
        jpu = _num(nested.get("joules_per_unit", data.get("joules_per_unit")))
        prov = nested.get("provenance", nested.get("kind"))
        layer = str(nested.get("layer") or "")
    else:
        source = str(data.get("power_source") or "")
        joules = _num(data.get("energy_j", data.get("joules")))
        seconds = _num(data.get("energy_seconds")) or window_seconds
        jpu = _num(data.get("joules_per_unit", data.get("joules_per_hash")))
        prov = data.get("energy_provenance")
        layer = str(data.get("energy_layer") or "")
    if joules is None and jpu is None:
        return None
    if jpu is None and joules is not None and seconds and rate:
        jpu = joules / seconds / rate  # mean power over the energy window ÷ the rate over the timed window
    return Energy(source or "unknown", joules, seconds, _provenance(prov, source), jpu, layer,
                  str(data.get("per") or per))


def measurement_from_bench(data: Mapping) -> Measurement:
    """A hashrate measurement from a BenchResult's JSON form (samples in H/s of each timed scan)."""
    samples = tuple(float(s) for s in data.get("samples") or ())
    hashes = int(data.get("hashes") or 0)
    seconds = _num(data.get("seconds"))
    threads = int(data.get("threads") or 1)
    params: dict[str, Scalar] = {"backend": str(data["backend"]), "impl": str(data["impl"]), "threads": threads}
    extra = _extra(data, _BENCH_KEYS)
    extra.update(hashes=hashes, seconds=seconds)
    return Measurement(
        name=hashrate_name(params["backend"], params["impl"], threads), kind=HASHRATE, unit="H/s", samples=samples,
        value=None if samples else _num(data.get("hashrate")), params=params,
        energy=energy_from_fields(data, seconds, hashes / seconds if seconds else None, "hash"),
        iterations=max(1, round(hashes / len(samples))) if samples else 1,
        extra=extra)


def measurement_from_probe(data: Mapping) -> Measurement:
    """A probe record ({"probe", "device", "preset", "dtype", "batch", "value", "unit", "roofline_fraction",
    "energy_j", "joules_per_unit", "power_source"}, optionally "samples" and "seconds") as a measurement."""
    params: dict[str, Scalar] = {k: data.get(k) for k in ("probe", "device", "preset", "dtype", "batch")
                                 if data.get(k) not in (None, "")}
    samples = tuple(float(s) for s in data.get("samples") or ())
    extra = _extra(data, _PROBE_KEYS)
    return Measurement(
        name=probe_name(params), kind=PROBE, unit=str(data.get("unit") or "1/s"), samples=samples,
        value=None if samples else _num(data.get("value")), provenance=_provenance(data.get("provenance")),
        params=params, energy=energy_from_fields(data, _num(data.get("seconds")),
                                                 per=unit_noun(str(data.get("unit") or ""))),
        extra=extra)


def _extra(data: Mapping, known: set[str]) -> dict:
    """Fields this schema has no slot for travel in `extra`; a full energy reading (idle power, net joules,
    sample count) is kept whole there."""
    extra = {k: v for k, v in data.items() if k not in known | _ENERGY_KEYS}
    if isinstance(data.get("energy"), Mapping):
        extra["energy_reading"] = dict(data["energy"])
    return extra


def unit_noun(unit: str) -> str:
    """What one unit of a rate counts: H/s -> hash, tokens/s -> token."""
    return {"H/s": "hash", "tokens/s": "token", "FLOP/s": "FLOP", "B/s": "byte"}.get(unit, unit.removesuffix("/s"))


def measurements_of(benchmarks: Iterable[Mapping], probes: Iterable[Mapping] = ()) -> list[Measurement]:
    return [measurement_from_bench(b) for b in benchmarks] + [measurement_from_probe(p) for p in probes]


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _provenance(value: object, source: str = "") -> str:
    if isinstance(value, str) and value in PROVENANCES:
        return value
    text = source.lower()
    for kind in (DECLARED, NAMEPLATE, ESTIMATED):
        if text.startswith(kind):
            return kind
    return MEASURED
