"""Exporters, one format per module: github-action-benchmark, Bencher BMF, OpenMetrics text, CSV."""

from __future__ import annotations

from collections.abc import Callable

from ...errors import InputError
from ..schema import RunResult

FORMATS = ("github-action", "bencher", "openmetrics", "csv")


def exporter(fmt: str) -> Callable[[list[RunResult]], str]:
    """The function turning runs into the format's text. CSV takes any number of runs; the others one."""
    if fmt == "github-action":
        from .github_action import export
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
