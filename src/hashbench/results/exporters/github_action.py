"""github-action-benchmark's `customBiggerIsBetter` and `customSmallerIsBetter` inputs: [{"name", "unit", "value",
"range", "extra"}].

The action reads one direction per file: `github-action` exports the speeds (bigger is better),
`github-action-smaller` the timings (seconds: smaller is better) for a second chart; each says on stderr what it left
to the other, and one that would be empty while the run has benchmarks of the other kind is an error. The action
keeps its own history per commit and alerts on its own threshold, so the spread, the provenance and a shared-CPU note
ride along in `range` and `extra` for whoever reads the chart. A benchmark whose backend failed verification in the
run is left out (the format has no flag a chart or an alert would heed, and a wrong kernel's speed plotted as a point
would move both); the CLI says so on stderr."""

from __future__ import annotations

import json

from ...cpuload import CpuLoad
from ...errors import InputError
from ..schema import RunResult
from . import kept, single

# format -> (the action's tool name, whether it takes the bigger-is-better measurements)
TOOLS = {"github-action": ("customBiggerIsBetter", True), "github-action-smaller": ("customSmallerIsBetter", False)}


def other_format(fmt: str) -> str:
    return next(f for f in TOOLS if f != fmt)


def left_to_other(run: RunResult, fmt: str) -> list:
    """The run's exportable measurements that belong in the other direction's file."""
    return [m for m in kept(run) if m.higher_is_better != TOOLS[fmt][1]]


def describe_others(others: list, fmt: str) -> tuple[str, str]:
    """("smaller" or "bigger", their units) of the measurements `fmt` leaves to the other format."""
    return "smaller" if TOOLS[fmt][1] else "bigger", ", ".join(sorted({m.unit for m in others}))


def entries(run: RunResult, fmt: str) -> list[dict]:
    bigger = TOOLS[fmt][1]
    out = []
    measurements = kept(run)
    for m in measurements:
        if m.higher_is_better != bigger:
            continue
        s = m.summary
        spread = f"{len(m.samples)} samples, min {s.min:.6g}, max {s.max:.6g}" if m.samples else "a single value"
        extra = [m.provenance, spread, f"energy: {m.energy_source}"]
        if m.joules_per_unit is not None:
            extra.append(f"{m.joules_per_unit:.6g} J per {m.energy_per}")
        if run.host.git_commit:
            extra.append(f"commit {run.host.git_commit[:12]}")
        if not run.complete:
            extra.append("incomplete run (stopped before it finished)")
        if note := CpuLoad.from_json(m.cpu_load).note() if m.cpu_load else None:
            extra.append(note)
        out.append({"name": m.name, "unit": m.unit, "value": m.value, "range": f"± {(s.max - s.min) / 2:.6g}",
                    "extra": "\n".join(extra)})
    return out


def export_as(fmt: str, runs: list[RunResult]) -> str:
    run = single(runs, fmt)
    out = entries(run, fmt)
    if not out and (others := left_to_other(run, fmt)):
        kind, units = describe_others(others, fmt)
        raise InputError(f"nothing to export as {TOOLS[fmt][0]}: the {len(others)} benchmark(s) of run "
                         f"{run.run_id[:8]} are {kind}-is-better ({units}): export them as {other_format(fmt)}")
    return json.dumps(out, indent=2) + "\n"


def export(runs: list[RunResult]) -> str:
    return export_as("github-action", runs)


def export_smaller(runs: list[RunResult]) -> str:
    return export_as("github-action-smaller", runs)
