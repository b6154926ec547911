"""CSV: one row per measurement per run, every run given (a whole history, if asked), for spreadsheets.

`verified` says whether the row's backend passed verification on real block headers in its run (passed, failed,
not checked; empty for a probe), so a hashrate of a kernel that gave wrong nonces never reads as an ordinary
figure; `complete` is false for a run that was stopped before it finished; `cpus_shared` is true for a measurement
taken while other work, a hypervisor or a CPU quota took CPU time in its window (empty where that was not
recorded)."""

from __future__ import annotations

import csv
import io
import json

from ..schema import RunResult

COLUMNS = ("run_id", "started", "source", "fingerprint", "machine", "git_commit", "name", "kind", "unit", "value",
           "min", "max", "mean", "stddev", "n", "provenance", "energy_j", "energy_source", "joules_per_unit",
           "params", "complete", "verified", "cpus_shared")


def rows(runs: list[RunResult]):
    for run in runs:
        for m in run.measurements:
            s = m.summary
            yield {"run_id": run.run_id, "started": run.started, "source": run.source, "fingerprint": run.fingerprint,
                   "machine": run.host.label, "git_commit": run.host.git_commit or "", "name": m.name,
                   "kind": m.kind, "unit": m.unit, "value": repr(m.value), "min": repr(s.min), "max": repr(s.max),
                   "mean": repr(s.mean), "stddev": repr(s.stddev), "n": len(m.samples), "provenance": m.provenance,
                   "energy_j": "" if not m.energy or m.energy.joules is None else repr(m.energy.joules),
                   "energy_source": m.energy_source,
                   "joules_per_unit": "" if m.joules_per_unit is None else repr(m.joules_per_unit),
                   "params": json.dumps(m.params, sort_keys=True), "complete": str(run.complete).lower(),
                   "verified": run.verified(m),
                   "cpus_shared": "" if (shared := m.cpus_shared) is None else str(shared).lower()}


def export(runs: list[RunResult]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(runs))
    return buf.getvalue()
