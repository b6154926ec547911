"""Exporters, one format per module: github-action-benchmark (two directions), Bencher BMF, OpenMetrics text, CSV."""

from __future__ import annotations

from collections.abc import Callable

from ...errors import InputError
from ..schema import VERIFY_FAILED, RunResult, failed_backends

FORMATS = ("github-action", "github-action-smaller", "bencher", "openmetrics", "csv")
# How each format carries a benchmark whose backend failed verification in its run (wrong nonces): a dashboard that
# cannot label a point leaves it out, so no chart or alert threshold takes a wrong kernel's speed for a real one.
FAILED_VERIFY = {"github-action": "left out of the export", "github-action-smaller": "left out of the export",
                 "bencher": "left out of the export",
                 "openmetrics": 'flagged in hashbench_benchmark_verification{state="failed"}',
                 "csv": "marked failed in the verified column"}


def exporter(fmt: str) -> Callable[[list[RunResult]], str]:
    """The function turning runs into the format's text. CSV takes any number of runs; the others one."""
    if fmt == "github-action":
        from .github_action import export
    elif fmt == "github-action-smaller":
        from .github_action import export_smaller as export
    elif fmt == "bencher":
        from .bencher import export
    elif fmt == "openmetrics":
        from .openmetrics import export
    elif fmt == "csv":
        from .csv import export
    else:
        raise InputError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    return export


def single(runs: list[RunResult], fmt: str) -> RunResult:
    if len(runs) != 1:
        raise InputError(f"{fmt} takes one run (got {len(runs)}): give one result file or a history reference")
    return runs[0]


def kept(run: RunResult) -> list:
    """The run's measurements a dashboard format may plot: none whose backend failed verification. A run that had
    benchmarks and keeps none is an error, not an empty export."""
    measurements = [m for m in run.measurements if run.verified(m) != VERIFY_FAILED]
    if not measurements and run.measurements:
        raise InputError(f"nothing to export: every benchmark of run {run.run_id[:8]} is of a backend that failed "
                         f"verification ({run.verification})")
    return measurements


def notes(runs: list[RunResult], fmt: str) -> list[str]:
    """What the export of `runs` in `fmt` must say beside the data: a run stopped before it finished, a backend
    that failed verification and what became of its benchmarks, benchmarks measured on shared CPUs."""
    from ...cpuload import shared_note

    out = []
    for run in runs:
        name = f"run {run.run_id[:8]} ({run.started})"
        if shared := shared_note([(m.name, m.cpu_load) for m in run.measurements], "benchmarks"):
            out.append(f"{name}: {shared}")
        if not run.complete:
            out.append(f"{name} is an incomplete run (stopped before it finished): benchmarks it never reached are "
                       "missing")
        if failed := failed_backends(run.checks):
            out.append(f"{name}: {run.verification.removeprefix('FAILED: ')} failed verification on real block "
                       f"headers (wrong nonces): the {', '.join(sorted(failed))} benchmarks are {FAILED_VERIFY[fmt]}")
        if fmt.startswith("github-action"):
            from .github_action import TOOLS, describe_others, left_to_other, other_format

            if others := left_to_other(run, fmt):
                kind, units = describe_others(others, fmt)
                out.append(f"{name}: {len(others)} {kind}-is-better benchmark(s) ({units}) are not in this "
                           f"{TOOLS[fmt][0]} file: export them as {other_format(fmt)} for a second chart")
    return out
