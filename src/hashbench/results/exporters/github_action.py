"""github-action-benchmark's `customBiggerIsBetter` input: [{"name", "unit", "value", "range", "extra"}].

Only speeds go here (bigger is better); the action keeps its own history per commit and alerts on its own
threshold, so the spread and the provenance ride along in `range` and `extra` for whoever reads the chart. A
benchmark whose backend failed verification in the run is left out (the format has no flag a chart or an alert
would heed, and a wrong kernel's speed plotted as a point would move both); the CLI says so on stderr."""

from __future__ import annotations

import json

from ..schema import RunResult
from . import kept, single


def entries(run: RunResult) -> list[dict]:
    out = []
    measurements = kept(run)
    for m in measurements:
        if not m.higher_is_better:
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
        out.append({"name": m.name, "unit": m.unit, "value": m.value, "range": f"± {(s.max - s.min) / 2:.6g}",
                    "extra": "\n".join(extra)})
    return out


def export(runs: list[RunResult]) -> str:
    return json.dumps(entries(single(runs, "github-action")), indent=2) + "\n"
