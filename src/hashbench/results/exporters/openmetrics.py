"""OpenMetrics text exposition of one run: gauges a Prometheus pushgateway or a textfile collector can take.

Every speed is a gauge family named by its unit (`hashbench_hashrate_hashes_per_second`, ...), one sample per
benchmark and statistic (median, min, max), labelled with the benchmark, its parameters and the machine
fingerprint. Energy and energy per operation follow with their source as a label; `hashbench_run_info` carries
the run's identity. Whether a benchmark's backend passed verification on real block headers is a series of its own,
`hashbench_benchmark_verification` (one sample per state: passed, failed, not_checked; 1 for the run's), with the
benchmark's labels: as a label on the speeds it started a new hashrate series on every dashboard whenever the
status changed or verification was added. A panel that must drop a wrong kernel's speed joins on it;
`hashbench_verification_passed` has each check's result; `hashbench_benchmark_cpus_shared` is 1 for a benchmark
measured while other work shared the CPUs (where its window's CPU load was recorded). No sample timestamps:
OpenMetrics wants seconds and the Prometheus text format milliseconds, so the start time is a gauge of its own and
the file reads the same in both parsers."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import UTC, datetime

from ... import __version__
from ..schema import NOT_CHECKED, VERIFY_FAILED, VERIFY_PASSED, Measurement, RunResult
from . import single

# unit -> (family name, OpenMetrics unit, help)
FAMILIES = {
    "H/s": ("hashbench_hashrate_hashes_per_second", "hashes_per_second",
            "SHA-256d hashrate at a difficulty-1 share target"),
    "tokens/s": ("hashbench_probe_tokens_per_second", "tokens_per_second", "Inference throughput of a probe"),
    "FLOP/s": ("hashbench_probe_flop_per_second", "flop_per_second", "Arithmetic throughput of a probe"),
    "B/s": ("hashbench_probe_bytes_per_second", "bytes_per_second", "Memory bandwidth of a probe"),
    "s": ("hashbench_timing_seconds", "seconds", "Seconds per operation of a benchmark"),
}
_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def _family(unit: str) -> tuple[str, str, str]:
    if unit in FAMILIES:
        return FAMILIES[unit]
    slug = _LABEL.sub("_", re.sub(r"/s$", "_per_second", unit).replace("/", "_per_")).strip("_").lower() or "value"
    return f"hashbench_probe_{slug}", slug, f"Probe measurement in {unit}"


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    """HELP text escaped for both readers: OpenMetrics takes \\ \\n \\" there, Prometheus' text format (promtool)
    only \\ and \\n, so a double quote (a unit's, say) becomes a single one."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', "'")


def _labels(pairs: dict) -> str:
    """Every series has labels (the fingerprint at least); their names are valid already (hashbench's own, and
    parameters through _param_label)."""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items() if v is not None) + "}"


def _number(v: float) -> str:
    return repr(float(v))


# Labels hashbench sets itself; a benchmark parameter of the same name must not replace one.
_OWN_LABELS = frozenset({"benchmark", "provenance", "fingerprint", "statistic", "source", "per", "state"})


def _param_label(name: object) -> str:
    """A parameter's label name: valid (no leading digit, no reserved `__`) and never one of hashbench's own."""
    label = _LABEL.sub("_", str(name))
    if not label or label[0].isdigit() or label.startswith("__") or label in _OWN_LABELS:
        label = "param_" + label.lstrip("_")
    return label


_STATES = (VERIFY_PASSED, VERIFY_FAILED, NOT_CHECKED)


def _base_labels(run: RunResult, m: Measurement) -> dict:
    """The labels that name a benchmark's series: the same from run to run, whatever its verification. Two
    parameters whose names become one label (`a-b` and `a_b`, `benchmark` and `param_benchmark`) keep both
    values: the later one takes a numbered name."""
    labels = {"benchmark": m.name}
    for key, value in m.params.items():
        label = base = _param_label(key)
        n = 1
        while label in labels:
            n += 1
            label = f"{base}_{n}"
        labels[label] = value
    return {**labels, "provenance": m.provenance, "fingerprint": run.fingerprint}


def export(runs: list[RunResult]) -> str:
    run = single(runs, "openmetrics")
    families: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for m in run.measurements:
        name, unit, help_ = _family(m.unit)
        labels = _base_labels(run, m)
        s = m.summary
        for stat, value in (("median", m.value), ("min", s.min), ("max", s.max)):
            if math.isfinite(value):
                families[(name, unit, help_)].append(f"{name}{_labels({**labels, 'statistic': stat})} {_number(value)}")
        if m.energy and m.energy.joules is not None:
            families[("hashbench_energy_joules", "joules", "Energy over the timed window of a benchmark")].append(
                f"hashbench_energy_joules{_labels({**labels, 'source': m.energy.source})} {_number(m.energy.joules)}")
        jpu = m.joules_per_unit
        if jpu is not None and math.isfinite(jpu):
            per = m.energy_per
            families[("hashbench_energy_per_operation_joules", "joules", "Energy per hash, token, ...")].append(
                f"hashbench_energy_per_operation_joules{_labels({**labels, 'per': per, 'source': m.energy_source})} "
                f"{_number(jpu)}")
        if verified := run.verified(m):  # "" where verification does not apply (a probe)
            families[("hashbench_benchmark_verification", "", "Verification of the benchmark's backend on real "
                      "block headers in this run: 1 for its state (passed, failed: wrong nonces, not_checked)")] += [
                f"hashbench_benchmark_verification{_labels({**labels, 'state': state.replace(' ', '_')})} "
                f"{int(state == verified)}" for state in _STATES]
        if (shared := m.cpus_shared) is not None:
            families[("hashbench_benchmark_cpus_shared", "", "1 when other work, a hypervisor or a CPU quota took CPU "
                      "time in the benchmark's window (its figure may be below what the machine does alone)")].append(
                f"hashbench_benchmark_cpus_shared{_labels(labels)} {int(shared)}")
    for c in run.checks:
        labels = {"backend": c.backend, "impl": c.impl, "fingerprint": run.fingerprint}
        families[("hashbench_verification_passed", "", "1 when the backend scanned real block headers back to their "
                  "nonces in this run, 0 when it gave wrong nonces")].append(
            f"hashbench_verification_passed{_labels(labels)} {int(c.passed)}")
    lines = []
    for (name, unit, help_), samples in families.items():
        lines += [f"# TYPE {name} gauge", *([f"# UNIT {name} {unit}"] if unit else []),
                  f"# HELP {name} {_help(help_)}",
                  *samples]
    info = {"run_id": run.run_id, "fingerprint": run.fingerprint, "machine": run.host.label,
            "commit": run.host.git_commit or "", "source": run.source, "version": __version__,
            "complete": str(run.complete).lower()}
    lines += ["# TYPE hashbench_run_info gauge", "# HELP hashbench_run_info The run these figures come from",
              f"hashbench_run_info{_labels(info)} 1"]
    try:
        moment = datetime.fromisoformat(run.started)
        # A time without an offset is UTC, as the history reads it (older pytest-benchmark wrote utcnow()), not
        # this machine's local time.
        started = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        started = None
    if started is not None:
        lines += ["# TYPE hashbench_run_start_timestamp_seconds gauge",
                  "# UNIT hashbench_run_start_timestamp_seconds seconds",
                  "# HELP hashbench_run_start_timestamp_seconds When the run started, Unix time",
                  f"hashbench_run_start_timestamp_seconds{_labels({'run_id': run.run_id})} {_number(started)}"]
    return "\n".join(lines + ["# EOF"]) + "\n"
