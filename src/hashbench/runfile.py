"""Measured figures out of a `hashbench run` result file: hashrate, tokens/s, and the energy behind them.

The result schema grows issue by issue (probes, energy per benchmark, pytest-benchmark's `extra_info`), so this
reads what is there and reports plainly what is not, rather than assuming one version."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .jsonfile import read_json

DECODE, PREFILL = "llm-decode", "llm-prefill"


def layer_note(power_source: str) -> str | None:
    """A board or package meter sees part of the machine: said beside every figure that rests on one. The run file
    labels sources "nvml (gpu board)", "rapl (cpu package)" (older files: the bare source name)."""
    source = power_source.lower()
    if "gpu board" in source or source == "nvml":
        return f"energy from {power_source} is the GPU board only: the node and the wall draw more"
    if "cpu package" in source or source == "rapl":
        return f"energy from {power_source} is the CPU package and DRAM only: the node and the wall draw more"
    return None


@dataclass(frozen=True)
class HashMeasurement:
    label: str  # "cython avx2 ×16"
    hashrate_hps: float
    watts: float | None  # mean power over the timed window, when the run metered energy
    power_source: str  # "nvml", "rapl", "declared 65 W", ... ("" when no energy)
    power_kind: str = "measured"  # "declared" when the run's energy came from a declared wattage (--watts)
    backend: str = ""
    verify_failed: bool = False  # its backend scanned real block headers to a wrong nonce in the same run
    cpu_note: str | None = None  # other work shared the CPUs in its window (cpuload.CpuLoad.note)


@dataclass(frozen=True)
class TokenMeasurement:
    probe: str  # llm-decode | llm-prefill
    device: str
    preset: str
    dtype: str
    batch: int | None
    tokens_per_second: float
    joules_per_token: float | None
    power_source: str
    power_kind: str = "measured"  # as HashMeasurement.power_kind
    idle_watts: float | None = None  # the same meter's idle power, measured before the window
    cpu_note: str | None = None  # as HashMeasurement.cpu_note

    @property
    def label(self) -> str:
        batch = f"batch {self.batch}" if self.batch is not None else ""
        return " ".join(part for part in (self.probe, self.preset, self.dtype, batch, "on", self.device) if part)

    @property
    def watts(self) -> float | None:
        return self.joules_per_token * self.tokens_per_second if self.joules_per_token is not None else None


@dataclass(frozen=True)
class RunMeasurements:
    path: str
    hashing: tuple[HashMeasurement, ...] = ()
    tokens: tuple[TokenMeasurement, ...] = ()
    notes: tuple[str, ...] = field(default=())
    complete: bool = True  # False: the run was stopped, and the benchmarks it never reached are missing

    @property
    def label(self) -> str:
        """The file's name as a figure's source names it: an interrupted run says so wherever its figures go."""
        return self.path if self.complete else f"{self.path} (incomplete run)"

    def best_hashing(self, need_energy: bool) -> HashMeasurement | None:
        """The fastest configuration (all cores, best kernel), among those with energy when energy is needed;
        never one whose backend failed verification (a fast wrong answer is worth nothing)."""
        pool = [h for h in self.hashing if not h.verify_failed and (h.watts is not None or not need_energy)]
        return max(pool, key=lambda h: h.hashrate_hps, default=None)

    def best_tokens(self, probe: str, preset: str | None = None) -> TokenMeasurement | None:
        pool = [t for t in self.tokens if t.probe == probe and (preset is None or t.preset == preset)]
        return max(pool, key=lambda t: t.tokens_per_second, default=None)

    def matching(self, probe: str, like: TokenMeasurement) -> TokenMeasurement | None:
        """The `probe` measurement on the same device, preset and dtype as `like` (prefill beside decode)."""
        pool = [t for t in self.tokens if t.probe == probe and (t.device, t.preset, t.dtype) ==
                (like.device, like.preset, like.dtype)]
        return max(pool, key=lambda t: t.tokens_per_second, default=None)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _flatten(entry: dict) -> dict:
    # pytest-benchmark layout keeps hashbench's own fields under extra_info; the plain layout has them on top.
    extra = entry.get("extra_info")
    return {**extra, **{k: v for k, v in entry.items() if k != "extra_info"}} if isinstance(extra, dict) else entry


def _energy(entry: dict) -> tuple[float | None, float | None, str]:
    """(joules, watts, source) from either flat keys or an `energy` object."""
    nested = entry.get("energy")
    if isinstance(nested, dict):
        joules = _num(nested.get("joules", nested.get("energy_j")))
        watts = _num(nested.get("watts", nested.get("mean_watts")))
        source = nested.get("source", nested.get("power_source", ""))
    else:
        joules = _num(entry.get("energy_j", nested))
        watts = _num(entry.get("watts"))
        source = entry.get("power_source", "")
    return joules, watts, str(source or "")


def _idle_watts(entry: dict) -> float | None:
    """The idle power the run's meter read before the window (an EnergyReading's `idle_watts`: under `energy` in the
    plain layout, `energy_reading` in pytest-benchmark's extra_info)."""
    for nested in (entry.get("energy"), entry.get("energy_reading")):
        if isinstance(nested, dict) and (idle := _num(nested.get("idle_watts"))) is not None and idle > 0:
            return idle
    return None


def _cpu_note(entry: dict) -> str | None:
    """The window's shared-CPU note, where the run recorded one (cpu_load in the entry's energy reading)."""
    for nested in (entry.get("energy"), entry.get("energy_reading")):
        load = nested.get("cpu_load") if isinstance(nested, dict) else None
        if isinstance(load, dict) and load.get("shared") and isinstance(load.get("note"), str):
            return load["note"]
    return None


def _power_kind(entry: dict) -> str:
    """"declared" when the energy behind an entry is a declared wattage, else "measured": a run made with
    --energy declared --watts W carries W, and a yield valued from it must not call W measured."""
    provenance = entry.get("energy_provenance")
    for nested in (entry.get("energy"), entry.get("energy_reading")):
        if provenance is None and isinstance(nested, dict):
            provenance = nested.get("provenance")
    if provenance is None:  # older results name the source only: "declared 65 W"
        provenance = "declared" if str(entry.get("power_source") or "").startswith("declared") else "measured"
    return "declared" if provenance == "declared" else "measured"


def _hash_measurement(entry: dict, failed: set[str]) -> HashMeasurement | None:
    entry = _flatten(entry)
    rate = _num(entry.get("hashrate"))
    if rate is None or rate <= 0:
        return None
    joules, watts, source = _energy(entry)
    # Energy per hash first: the run's joules belong to exactly the hashes it counted, while its hashrate is the
    # median of the samples. The window's mean power beside the median rate gives a J/TH the run never measured
    # (17 % off on a busy 2-core VM); the power at the median rate, J/hash × rate, keeps the run's own J/TH.
    # A declared wattage is the power by definition: 65 W declared stays 65 W, whatever the rate's spread.
    jph = _num(entry.get("joules_per_unit", entry.get("joules_per_hash")))
    hashes = _num(entry.get("hashes"))
    if not jph and joules and hashes:
        jph = joules / hashes
    kind = _power_kind(entry)
    if jph and jph > 0 and not (kind == "declared" and watts is not None and watts > 0):
        watts = jph * rate
    elif watts is None and joules is not None and joules > 0:
        seconds = _num(entry.get("seconds"))
        watts = joules / seconds if seconds else None  # mean power over the timed window
    if watts is not None and watts <= 0:
        watts = None
    threads = entry.get("threads")
    label = " ".join(str(p) for p in (entry.get("backend", "?"), entry.get("impl", "")) if p)
    if isinstance(threads, int):
        label += f" ×{threads}"
    backend = str(entry.get("backend", ""))
    return HashMeasurement(label=label, hashrate_hps=rate, watts=watts, power_source=source,
                           power_kind=kind, backend=backend, verify_failed=backend in failed,
                           cpu_note=_cpu_note(entry))


def _token_measurement(entry: dict) -> TokenMeasurement | None:
    entry = _flatten(entry)
    if entry.get("probe") not in (DECODE, PREFILL) or entry.get("unit") != "tokens/s":
        return None
    rate = _num(entry.get("value"))
    if rate is None or rate <= 0:
        return None
    jpt = _num(entry.get("joules_per_unit"))
    _, watts, _ = _energy(entry)
    kind = _power_kind(entry)
    if watts and watts > 0 and (jpt is None or kind == "declared"):
        jpt = watts / rate  # a declared wattage is the power at any rate (see _hash_measurement)
    batch = entry.get("batch")
    return TokenMeasurement(probe=entry["probe"], device=str(entry.get("device", "?")),
                            preset=str(entry.get("preset", "")), dtype=str(entry.get("dtype", "")),
                            batch=batch if isinstance(batch, int) and not isinstance(batch, bool) else None,
                            tokens_per_second=rate, joules_per_token=jpt if jpt and jpt > 0 else None,
                            power_source=str(entry.get("power_source", "") or ""), power_kind=kind,
                            idle_watts=_idle_watts(entry) if jpt else None, cpu_note=_cpu_note(entry))


def parse_run(data: object, origin: str) -> RunMeasurements:
    if not isinstance(data, dict):
        raise InputError(f"{origin}: not a hashbench run result (expected a JSON object)")
    benchmarks, probes = data.get("benchmarks", []), data.get("probes", [])
    if not isinstance(benchmarks, list) or not isinstance(probes, list):
        raise InputError(f"{origin}: 'benchmarks' and 'probes' must be lists")
    if "benchmarks" not in data and "probes" not in data:
        raise InputError(f"{origin}: not a hashbench run result (no 'benchmarks' or 'probes')")
    # Newer results may list probes among the benchmarks (one pytest-benchmark list): accept both places.
    entries = [e for e in benchmarks + probes if isinstance(e, dict)]
    failed = _failed_backends(data)
    hashing = tuple(h for e in entries if "probe" not in _flatten(e) and (h := _hash_measurement(e, failed)))
    tokens = tuple(t for e in entries if (t := _token_measurement(e)))
    complete = data.get("complete") is not False  # files that predate the field were written whole
    notes = []
    if not complete:
        notes.append(f"{origin} is an incomplete run (stopped before it finished): the benchmarks and probes it "
                     "never reached are missing, and its best hashrate may not be the machine's")
    for backend in sorted(failed):
        notes.append(f"{origin}: {backend} failed verification on real block headers (wrong nonces): its "
                     "hashrate is not used")
    if not hashing:
        notes.append(f"{origin} has no hashing benchmark with a hashrate")
    elif all(h.watts is None for h in hashing):
        notes.append(f"{origin} has no energy for its hashing benchmarks (no meter was available, or the run "
                     "predates energy metering)")
    if not any(t.probe == DECODE for t in tokens):
        notes.append(f"{origin} has no tokens/s (no llm-decode probe)")
    elif all(t.joules_per_token is None for t in tokens if t.probe == DECODE):
        notes.append(f"{origin} has no energy for its llm-decode probes")
    return RunMeasurements(path=origin, hashing=hashing, tokens=tokens, notes=tuple(notes), complete=complete)


def _failed_backends(data: dict) -> set[str]:
    """Backends whose verification failed in the run: the file's `verify` list (pytest-benchmark layout, schema 1)
    or `checks` (the schema's own JSON). The whole backend, not just the implementation verified: the midstate and
    per-range precomputation its kernels share are where a wrong answer usually comes from."""
    checks = data.get("verify", data.get("checks"))
    return {str(c.get("backend", "")) for c in checks if isinstance(c, dict) and c.get("passed") is False} \
        if isinstance(checks, list) else set()


def load_run(path: Path) -> RunMeasurements:
    data = read_json(path, "run file")
    return parse_run(data, str(path))
