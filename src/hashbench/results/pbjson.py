"""Result files: pytest-benchmark-compatible JSON out, any result layout hashbench knows in.

pytest-benchmark reports seconds per *operation*; a round (one sample) runs `iterations` operations. hashbench
defines, per unit of a rate:

    H/s       one operation = one nonce tried (one double SHA-256 of an 80-byte header)
    tokens/s  one operation = one token
    FLOP/s    one operation = 10^9 floating-point operations (a GFLOP: seconds per FLOP underflow the tables)
    B/s       one operation = 10^9 bytes moved

So a timed scan of N nonces at R H/s is a round of N iterations taking 1/R seconds per operation, and `ops`
(operations per second, 1/mean as pytest-benchmark defines it) is the hashrate's harmonic mean over the samples.
The medians people quote (H/s, tokens/s) stay in each benchmark's `extra_info`, together with the raw samples in
their own unit, the provenance, the energy and its source; the host fingerprint and the run's state (`complete`,
checks, skipped backends) sit at the top level beside pytest-benchmark's own keys, which its tools ignore.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from .. import __version__
from ..errors import InputError
from ..jsonfile import read_json, write_atomic
from .fingerprint import HostFingerprint, from_pytest_machine_info
from .schema import (
    HASHRATE,
    PROBE,
    RUN_KIND,
    SCHEMA_VERSION,
    TIMING,
    Check,
    Measurement,
    RunResult,
    Skipped,
    energy_from_fields,
    measurement_from_bench,
    measurement_from_probe,
)

OPERATIONS: dict[str, tuple[float, str]] = {
    "H/s": (1.0, "1 nonce (one double SHA-256 of an 80-byte header)"),
    "tokens/s": (1.0, "1 token"),
    "FLOP/s": (1e9, "1 GFLOP"),
    "B/s": (1e9, "1 GB moved"),
}
# extra_info keys hashbench itself writes; on reading, anything else there goes back to Measurement.extra.
_OWN_KEYS = {"kind", "unit", "operation", "value", "samples", "provenance", "hashrate", "hashrate_min", "hashrate_max",
             "energy_j", "energy_seconds", "watts", "power_source", "energy_provenance", "joules_per_unit", "per",
             "energy_layer"}


def operation(unit: str) -> tuple[float, str] | None:
    """(units per operation, what one operation is) for rates and times; None for what is not a speed."""
    if unit in OPERATIONS:
        return OPERATIONS[unit]
    if unit == "s":
        return 1.0, "1 call"
    if unit.endswith("/s"):
        return 1.0, f"1 {unit[:-2]}"
    return None


def seconds_per_operation(m: Measurement) -> list[float]:
    size, _ = operation(m.unit)
    samples = m.samples or (m.value,)
    if m.unit == "s":
        return [float(s) for s in samples]
    return [size / s for s in samples if s > 0]


def is_timeable(m: Measurement) -> bool:
    return operation(m.unit) is not None and any(s > 0 for s in (m.samples or (m.value or 0.0,)))


# --- writing ---------------------------------------------------------------------------------------------------------

def _pb_stats(data: list[float], iterations: int) -> dict:
    from .stats import summarize

    s = summarize(data)
    return {"min": s.min, "max": s.max, "mean": s.mean, "stddev": s.stddev, "rounds": s.n, "median": s.median,
            "iqr": s.iqr, "q1": s.q1, "q3": s.q3, "iqr_outliers": s.iqr_outliers,
            "stddev_outliers": s.stddev_outliers, "outliers": f"{s.stddev_outliers};{s.iqr_outliers}",
            "ld15iqr": s.ld15iqr, "hd15iqr": s.hd15iqr, "ops": s.n / s.total if s.total else 0.0, "total": s.total,
            "data": data, "iterations": iterations}


def extra_info(m: Measurement) -> dict:
    """hashbench's fields for one benchmark: flat, so readers of the older layout (runfile, dashboards) find the
    same keys (hashrate, backend, value, unit, energy_j, power_source...)."""
    s = m.summary
    info: dict = {**m.params, **m.extra, "kind": m.kind, "unit": m.unit, "value": m.value,
                  "samples": list(m.samples), "provenance": m.provenance}
    op = operation(m.unit)
    if op:
        info["operation"] = op[1]
    if m.unit == "H/s":
        info.update(hashrate=m.value, hashrate_min=s.min, hashrate_max=s.max)
    info["power_source"] = m.energy_source
    if m.energy:
        info.update(energy_j=m.energy.joules, energy_seconds=m.energy.seconds, watts=m.energy.watts,
                    energy_provenance=m.energy.provenance, energy_layer=m.energy.layer,
                    joules_per_unit=m.joules_per_unit, per=m.energy.per)
    return info


def benchmark_entry(m: Measurement) -> dict:
    group = "sha256d" if m.kind == HASHRATE else str(m.params.get("probe") or m.kind)
    param = "-".join(str(v) for v in m.params.values() if v not in (None, "")) or None
    return {"group": group, "name": m.name, "fullname": f"hashbench::{m.name}", "params": dict(m.params) or None,
            "param": param, "extra_info": extra_info(m),
            "options": {"timer": "perf_counter", "disable_gc": False, "min_rounds": 3, "warmup": True},
            "stats": _pb_stats(seconds_per_operation(m), m.iterations)}


def _machine_info(host: HostFingerprint) -> dict:
    system, _, release = host.system.partition(" ")
    return {"node": host.hostname, "processor": host.machine, "machine": host.machine,
            "python_implementation": "CPython", "python_version": host.python, "system": system, "release": release,
            "cpu": {"brand_raw": host.cpu_model, "count": host.logical_cpus, "arch": host.machine,
                    "flags": list(host.cpu_flags)},
            "fingerprint": host.fingerprint, "hashbench_host": host.to_json()}


def _commit_info(host: HostFingerprint) -> dict:
    return {"id": host.git_commit or "unversioned", "dirty": bool(host.git_dirty), "project": "hashbench",
            "branch": host.git_branch or "(unknown)"}


def to_pytest_benchmark(run: RunResult) -> dict:
    timed = [m for m in run.measurements if is_timeable(m)]
    return {
        "machine_info": _machine_info(run.host),
        "commit_info": _commit_info(run.host),
        "benchmarks": [benchmark_entry(m) for m in timed],
        "datetime": run.started,
        "version": f"hashbench {__version__}",
        # hashbench's own top-level fields (pytest-benchmark ignores keys it does not know)
        "schema_version": run.schema_version, "kind": RUN_KIND, "run_id": run.run_id, "source": run.source,
        "started": run.started, "finished": run.finished, "complete": run.complete,
        "fingerprint": run.fingerprint, "host": run.host.to_json(),
        "verify": [c.to_json() for c in run.checks], "skipped": [s.to_json() for s in run.skipped],
        "other_measurements": [m.to_json() for m in run.measurements if not is_timeable(m)],
    }


def write_result(run: RunResult, path: Path) -> None:
    """Atomic: readers (and a Ctrl-C) see the previous complete file or the new one, never half of one."""
    write_atomic(path, json.dumps(to_pytest_benchmark(run), indent=2) + "\n", "result file")


# --- reading ---------------------------------------------------------------------------------------------------------

def load_result(path: Path) -> RunResult:
    data = read_json(path, "result file")
    return parse_result(data, str(path))


def parse_result(data: object, origin: str) -> RunResult:
    """A RunResult from any layout: this schema's own JSON, hashbench's pytest-benchmark file, a plain
    pytest-benchmark file (benchmarks/ suite or anyone's), or the schema-1 `hashbench run` file."""
    if not isinstance(data, dict):
        raise InputError(f"{origin}: not a result file (expected a JSON object)")
    try:
        if "measurements" in data and data.get("kind") == RUN_KIND:
            run = RunResult.from_json(data)
        elif isinstance(data.get("machine_info"), dict) and isinstance(data.get("benchmarks"), list):
            run = _from_pytest_benchmark(data, origin)
        elif data.get("kind") == RUN_KIND and isinstance(data.get("benchmarks"), list):
            run = _from_schema1(data)
        else:
            raise InputError(f"{origin}: not a hashbench or pytest-benchmark result file")
        if not 0 < run.schema_version < 2**31:
            raise ValueError(f"schema_version {run.schema_version} is not a version number")
        for m in run.measurements:  # what compare, history and the exporters compute with
            if not isinstance(m.name, str) or not all(math.isfinite(v) for v in (*m.samples, m.value)):
                raise ValueError(f"benchmark {m.name!r}: a name must be text, its samples and value finite numbers")
    # ArithmeticError: a zero median time to divide by, an infinite count no integer holds (JSON allows 1e999)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise InputError(f"{origin}: malformed result file ({type(exc).__name__}: {exc})") from None
    return run


def _from_schema1(data: dict) -> RunResult:
    return RunResult(
        host=HostFingerprint.from_json(data.get("host") or {}), started=str(data.get("started") or ""),
        measurements=[measurement_from_bench(b) for b in data["benchmarks"]] +
                     [measurement_from_probe(p) for p in data.get("probes") or ()],
        finished=data.get("finished"), complete=bool(data.get("complete")),
        run_id=str(data.get("run_id") or _stable_id(data)),
        checks=[Check.from_json(v) for v in data.get("verify") or ()],
        skipped=[Skipped.from_json(s) for s in data.get("skipped") or ()], schema_version=1)


def _from_pytest_benchmark(data: dict, origin: str) -> RunResult:
    ours = data.get("kind") == RUN_KIND
    if ours and isinstance(data.get("host"), dict):
        host = HostFingerprint.from_json(data["host"])
    else:
        host = from_pytest_machine_info(data["machine_info"], data.get("commit_info"))
    names = Counter(b.get("name") for b in data["benchmarks"])
    measurements = []
    for bench in data["benchmarks"]:
        info = bench.get("extra_info") or {}
        if ours and "unit" in info and "kind" in info:
            measurements.append(_own_measurement(bench, info))
        else:
            name = bench["name"] if names[bench.get("name")] == 1 else bench.get("fullname", bench["name"])
            measurements.append(_foreign_measurement(name, bench, info))
    measurements += [Measurement.from_json(m) for m in data.get("other_measurements") or ()]
    started = str(data.get("started") or data.get("datetime") or "")
    return RunResult(host=host, started=started, measurements=measurements, finished=data.get("finished", started),
                     complete=bool(data.get("complete", True)), run_id=str(data.get("run_id") or _stable_id(data)),
                     source=str(data.get("source") or ("hashbench run" if ours else "pytest-benchmark")),
                     checks=[Check.from_json(v) for v in data.get("verify") or ()],
                     skipped=[Skipped.from_json(s) for s in data.get("skipped") or ()],
                     schema_version=int(data.get("schema_version", SCHEMA_VERSION)))  # a given 0 is refused


def _own_measurement(bench: dict, info: dict) -> Measurement:
    params = dict(bench.get("params") or {})
    energy = energy_from_fields(info) if info.get("power_source") not in (None, "", "none") else None
    extra = {k: v for k, v in info.items() if k not in _OWN_KEYS and k not in params}
    return Measurement(name=bench["name"], kind=str(info["kind"]), unit=str(info["unit"]),
                       samples=tuple(float(s) for s in info.get("samples") or ()), value=info.get("value"),
                       provenance=str(info.get("provenance") or "measured"), params=params, energy=energy,
                       iterations=int(bench["stats"].get("iterations") or 1), extra=extra)


def _foreign_measurement(name: str, bench: dict, info: dict) -> Measurement:
    stats = bench["stats"]
    iterations = int(stats.get("iterations") or 1)
    data = [float(t) for t in stats.get("data") or ()]
    nonces = info.get("nonces")
    if isinstance(nonces, int) and nonces > 0:
        # benchmarks/ suite: each call scans `nonces` nonces. pytest-benchmark's data are already seconds per call
        # (a round's duration divided by its iterations), so a sample's rate is nonces / t; the round behind it
        # scanned nonces * iterations.
        samples = tuple(nonces / t for t in data if t > 0)
        params = {k: info[k] for k in ("backend", "impl") if k in info}
        return Measurement(name=name, kind=HASHRATE, unit="H/s", samples=samples,
                           value=None if samples else nonces / stats["median"], params=params,
                           energy=energy_from_fields(info), iterations=nonces * iterations,
                           extra={k: v for k, v in info.items() if k not in params and k != "hashrate"})
    kind = PROBE if "probe" in info else TIMING
    if kind == PROBE:
        return measurement_from_probe(info)
    return Measurement(name=name, kind=kind, unit="s", samples=tuple(data),
                       value=None if data else float(stats["median"]),
                       params={k: v for k, v in (bench.get("params") or {}).items()
                               if isinstance(v, (str, int, float, bool)) or v is None},
                       energy=energy_from_fields(info), iterations=iterations, extra=dict(info))


def _stable_id(data: Mapping) -> str:
    """Files without a run id get one from their content, so storing the same file twice stores one run."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
