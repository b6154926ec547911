"""`hashbench history | compare | ab | report | export`: parse, call one function in results/, print or emit JSON.

A RESULT argument is a file (a `hashbench run` result, a pytest-benchmark JSON, a schema JSON) or a reference into
the history database: @latest, @latest~1 (the run before it on the same machine, same kind of run), @RUN_ID."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from .cli_options import db_option
from .cli_table import Table
from .errors import InputError
from .jsonfile import write_atomic
from .results.exporters import FORMATS as EXPORT_FORMATS
from .units import format_rate

out = Console(highlight=False, soft_wrap=True)  # paths and notes stay on one line for grep and logs
err = Console(stderr=True, highlight=False, soft_wrap=True)

SPARK = "▁▂▃▄▅▆▇█"
VERDICT_STYLE = {"slower": "bold red", "slower?": "yellow", "faster": "green", "faster?": "cyan",
                 "too few samples": "yellow"}



def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        for name, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
            if abs(value) >= scale:
                return f"{value / scale:.3f} {name}"
        return f"{value:.3g} s"
    if unit.endswith("/s"):
        return format_rate(value, unit)
    return f"{value:.4g} {unit}"


def fmt_change(change: float | None) -> str:
    return "–" if change is None else f"{change * 100:+.1f}%"


def sparkline(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    if hi == lo:
        return SPARK[3] * len(values)
    return "".join(SPARK[round((v - lo) / (hi - lo) * (len(SPARK) - 1))] for v in values)


def load_any(ref: str, db: str | None):
    """A RunResult from a file or a history reference (@latest, @latest~N, @RUN_ID)."""
    from .results.pbjson import load_result

    if ref.startswith("@"):
        from .results.history import open_history

        history = open_history(db, readonly=True)
        try:
            return history.resolve(ref[1:])
        finally:
            history.close()
    if not Path(ref).exists():
        raise InputError(f"result file {ref!r} not found (history references start with @: @latest, @latest~1)")
    return load_result(Path(ref))


# --- history ---------------------------------------------------------------------------------------------------------

@click.command("history")
@click.option("--backend", default=None, help="Only this backend's benchmarks (cython, numba, ...; or a probe name).")
@click.option("--fingerprint", default=None, help="Only this machine (fingerprint from `history --runs`).")
@click.option("--runs", "list_runs", is_flag=True, help="List the stored runs instead of the trend.")
@click.option("--add", "add", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Store this result file first (repeatable): a hashbench run or a pytest-benchmark JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="With --runs: at most this many.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history_cmd(backend: str | None, fingerprint: str | None, list_runs: bool, add: tuple[Path, ...],
                limit: int | None, db: str | None, as_json: bool) -> None:
    """The trend of every benchmark per machine fingerprint, from the history database."""
    from .results.history import display_url, open_history
    from .results.pbjson import load_result

    runs_to_add = [load_result(p) for p in add]
    for path, run in zip(add, runs_to_add, strict=True):  # all checked before the database is opened or written
        if not run.measurements:
            raise InputError(f"{path}: no benchmarks in it; nothing to store")
    history = open_history(db, readonly=not runs_to_add)  # a read works on a read-only mount and creates nothing
    try:
        for run in runs_to_add:
            history.store(run)
        if runs_to_add and not as_json:
            err.print(f"stored {len(runs_to_add)} run(s) in {escape(display_url(history.url))}")
        if list_runs:
            runs = history.runs(fingerprint=fingerprint, limit=limit)
            if as_json:
                emit_json([r.to_json() for r in runs])
                return
            if not runs:
                out.print(f"no runs in the history {escape(display_url(history.url))}"
                          + (f" for machine {escape(fingerprint)}" if fingerprint else ""))
                return
            table = Table(title=f"runs in {escape(display_url(history.url))}", title_justify="left")
            # Fits 80 columns; --json has the rest (measurement counts, full ids and commits).
            for name in ("run", "started", "source", "commit", "done", "verify", "machine"):
                # Never "FAIL…", nor a cut run id (`@RUN_ID` takes it); the machine is named in full below the table.
                table.add_column(name, no_wrap=True, min_width={"verify": 6, "run": 8, "started": 16}.get(name))
            for r in runs:
                commit = (r.git_commit or "")[:7] + ("+" if r.git_dirty else "")
                source = {"hashbench run": "run", "pytest-benchmark": "pytest", "hashbench ab": "ab"}.get(r.source,
                                                                                                        r.source)
                table.add_row(r.run_id[:8], r.started[:16].replace("T", " "), source, commit,
                              "yes" if r.complete else "no", "FAILED" if r.verified.startswith("FAILED") else
                              "yes" if r.verified == "yes" else "–", r.fingerprint[:8])
            table.caption = "verify: of each backend on real block headers in the run (–: not checked)"
            table.caption_justify = "left"
            out.print(table)
            for r in runs:  # the failed backends by name, on lines of their own: a table cell would cut them
                if r.verified.startswith("FAILED"):
                    out.print(escape(f"run {r.run_id[:8]}: {r.verified.removeprefix('FAILED: ')} failed verification "
                                     "on real block headers (wrong nonces): its hashrates time a kernel that gives "
                                     "wrong answers"))
                if r.shared:
                    out.print(escape(f"run {r.run_id[:8]}: CPUs shared while {r.shared} of its {r.measurements} "
                                     "measurement(s) were taken (other work, a hypervisor or a CPU quota took CPU "
                                     "time in the window); their figures may be below what this machine does alone"))
            for fp, machine in dict.fromkeys((r.fingerprint, r.machine) for r in runs):
                out.print(f"machine {fp}: {escape(machine)}")
            return
        series = history.trend(backend=backend, fingerprint=fingerprint)
        known = history.backends(fingerprint) if backend and not series else []
    finally:
        history.close()
    if as_json:
        emit_json([s.to_json() for s in series])
        return
    if not series:
        out.print(f"no runs in the history {escape(display_url(history.url))}"
                  + (f" for backend {escape(repr(backend))}" if backend else "")
                  + (f" for machine {escape(fingerprint)}" if fingerprint else "")
                  + (f"; the backends in it: {escape(', '.join(known))}" if known else ""))
        return
    for fp in dict.fromkeys(s.fingerprint for s in series):
        mine = [s for s in series if s.fingerprint == fp]
        table = Table(title=f"{escape(mine[0].machine)} — fingerprint {fp}", title_justify="left",
                      caption="change: the last run against the first, + for better (a higher rate, a shorter time)",
                      caption_justify="left")
        table.add_column("benchmark", min_width=27)  # never cut: `compare` matches on it
        for name in ("runs", "first", "last", "change", "trend"):
            table.add_column(name, no_wrap=True, justify="left" if name == "trend" else "right")
        left_out, shared = [], []
        for s in mine:
            values = [p.value for p in s.verified_points]
            left_out += [_point_label(s, p) for p in s.points if p.verify_failed]
            shared += [_point_label(s, p) for p in s.verified_points if p.shared]
            if not values:
                table.add_row(escape(s.name), "0", "–", "–", "–", "")
                continue
            table.add_row(escape(s.name), str(len(values)), fmt_value(values[0], s.unit),
                          fmt_value(values[-1], s.unit), fmt_change(s.change), sparkline(values[-10:]))
        out.print(table)
        if left_out:
            out.print(escape(f"left out of the trend, their backend failed verification on real block headers in "
                             f"that run (wrong nonces): {'; '.join(left_out)}"))
        if shared:
            out.print(escape(f"CPUs shared while measured (other work, a hypervisor or a CPU quota took CPU time "
                             f"in the window; the figure may be below what this machine does alone; kept in the "
                             f"trend): {'; '.join(shared)}"))


def _point_label(s, p) -> str:
    """One point of a series in a note: the benchmark, its run's id and start."""
    return f"{s.name} in run {p.run_id[:8]} ({p.started[:16].replace('T', ' ')})"


# --- compare ---------------------------------------------------------------------------------------------------------

def fmt_p(p: float | None) -> str:
    """A p-value for the table. Below 1e-4 its digits say nothing more about the verdict, and at large sample counts
    the normal approximation underflows to exactly 0, which is not a probability anyone measured."""
    if p is None:
        return "–"
    return "<1e-4" if p < 1e-4 else f"{p:.2g}"


# Below this many columns `compare` leaves out ratio and A (both in --json): eight columns need about 90
COMPARE_FULL_WIDTH = 100


def _compare_table(report, width: int) -> Table:
    g = report.gate
    full = width >= COMPARE_FULL_WIDTH
    caption = ("ratio: of the medians; change: the Hodges-Lehmann estimate; A: the Vargha-Delaney probability that a "
               "candidate sample lies on the verdict's side of a base sample (0.5 = no effect)" if full else
               f"change: the Hodges-Lehmann estimate (ratio of the medians and the A effect size: on a terminal "
               f"{COMPARE_FULL_WIDTH} columns wide, or --json)")
    table = Table(title=f"{escape(report.base_label)} → {escape(report.cand_label)} (gate: Hodges-Lehmann change "
                        f"worse than -{g.threshold * 100:g}% and one-sided Mann-Whitney p < {g.alpha:g})",
                  title_justify="left", caption_justify="left",
                  caption=f"{caption}; slower? / faster?: beyond the threshold but not significant")
    table.add_column("benchmark", min_width=16)  # folds, never cut: the name is what matches across runs
    # a figure may wrap between its number and its unit, never inside the number; on a narrow terminal it does
    # (rich stops narrowing wrapping columns once they are as wide as each other, then crops the table)
    cells = [(fmt_value(r.base, r.unit), fmt_value(r.cand, r.unit)) for r in report.rows]
    for i, name in enumerate(("base", "cand")):
        words = [len(word) for c in cells for word in c[i].split()] or [1]
        table.add_column(name, justify="right", min_width=max(words), max_width=None if full else max(words))
    stats = ("ratio", "change", "p", "A") if full else ("change", "p")
    for name in stats:
        table.add_column(name, no_wrap=True, justify="right")
    table.add_column("verdict", min_width=9)  # "only in candidate" may take two lines; "unchanged" one
    for r, (base, cand) in zip(report.rows, cells, strict=True):
        style = VERDICT_STYLE.get(r.verdict, "")
        figures = {"ratio": "–" if r.ratio is None else f"{r.ratio:.3f}", "change": fmt_change(r.change),
                   "p": fmt_p(r.p_value), "A": "–" if r.effect is None else f"{r.effect:.2f}"}
        table.add_row(escape(r.name), base, cand, *(figures[name] for name in stats),
                      f"[{style}]{r.verdict}[/{style}]" if style else r.verdict)
    return table


def _print_report(report) -> None:
    out.print(_compare_table(report, out.width), soft_wrap=False)  # notes stay one line; the table fits the width
    for note in report.notes:
        out.print(f"[dim]{escape(note)}[/dim]")
    for failure in report.failures:
        out.print(f"[bold red]fails the gate:[/bold red] {escape(failure)}")
    n = len(report.regressions)
    out.print(f"[bold red]{n} regression(s)[/bold red]" if n else
              "no slowdown, but the gate fails (above)" if report.failures else "no regression")


@click.command("compare")
@click.argument("base")
@click.argument("cand")
@click.option("--threshold", default="5%", show_default=True,
              help="Smallest change that counts (the minimum effect on the median): 5% or 0.05; a bare 5 is refused.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level of the U test.")
@click.option("--keep-outliers", is_flag=True,
              help="Test every sample (default: set aside samples beyond Tukey's fence on the slow side).")
@click.option("--force", is_flag=True, help="Compare results from different machines anyway.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare_cmd(base: str, cand: str, threshold: str, alpha: float, keep_outliers: bool, force: bool,
                db: str | None, as_json: bool) -> int:
    """Compare CAND with BASE per benchmark; exit 1 when any is slower beyond the threshold and significant, or
    when CAND failed verification or stopped before measuring a benchmark BASE has.

    BASE and CAND are result files or history references (@latest, @latest~1, @RUN_ID)."""
    from .results.compare import Gate, compare_runs, parse_threshold

    gate = Gate(parse_threshold(threshold), alpha, drop_outliers=not keep_outliers)
    report = compare_runs(load_any(base, db), load_any(cand, db), gate, force=force, base_label=base,
                          cand_label=cand)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)
    return report.exit_code


# --- ab --------------------------------------------------------------------------------------------------------------

@click.command("ab")
@click.option("--base", "base_rev", required=True, help="Base revision (commit, tag, branch: origin/main, HEAD~1).")
@click.option("--head", "head_rev", default=None, help="Head revision (default: the working tree as it is).")
@click.option("--backend", default="cython", show_default=True, help="Backend to bench on both sides.")
@click.option("--impl", default=None, help="Implementation (default: each side's fastest).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--samples", type=click.IntRange(min=3), default=100, show_default=True,
              help="Timed scans per side, taken alternately A B B A ...")
@click.option("--sample-seconds", type=float, default=0.02, show_default=True, help="Length of one timed scan.")
@click.option("--no-build", is_flag=True, help="Do not compile each tree's C extension (python/numba backends).")
@click.option("--threshold", default="5%", show_default=True, help="Smallest change that counts: 5% or 0.05.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level of the U test.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ab_cmd(base_rev: str, head_rev: str | None, backend: str, impl: str | None, threads: int, samples: int,
           sample_seconds: float, no_build: bool, threshold: str, alpha: float, as_json: bool) -> int:
    """Benchmark the base and the head commit alternately in one job; exit 1 when head is slower (see compare)."""
    from .backends import get_backend
    from .results.ab import BenchSpec, run_ab
    from .results.compare import Gate, parse_threshold

    gate = Gate(parse_threshold(threshold), alpha)
    get_backend(backend, require_available=False)  # a typo fails here, not in a worker after the checkout

    def listen(event: str, payload) -> None:
        if event in ("checkout", "build"):
            err.print(f"{event}: {escape(str(payload))}")
        elif event == "sample" and not as_json and payload[0] % 10 == 9 and payload[1] == "BA"[payload[0] % 2]:
            err.print(f"[dim]{payload[0] + 1} samples per side[/dim]")  # after the pair's second: AB BA AB ...

    spec = BenchSpec(backend, impl, threads, sample_seconds, samples)
    result = run_ab(base_rev, head_rev, spec=spec, build=not no_build, gate=gate, listen=listen)
    if as_json:
        emit_json(result.to_json())
    else:
        out.print(escape(f"A = {result.base.label} [{result.impls['A']}], B = {result.head.label} "
                         f"[{result.impls['B']}]; {samples} samples each, alternating {result.order[:8]}…"))
        _print_report(result.report)
    return result.report.exit_code


# --- report ----------------------------------------------------------------------------------------------------------

@click.command("report")
@click.argument("results", nargs=-1)
@click.option("--from-history", is_flag=True,
              help="Add the history trend of the RESULTs' machines to theirs (no RESULT: the latest run's).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("hashbench-report.html"), show_default=True, help="The HTML file to write.")
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Site TOML (as for `hashbench plan`) for the sensitivity heatmap; default: a built-in example.")
@click.option("--market", "market_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Market snapshot JSON (default: the packaged snapshot).")
@db_option
def report_cmd(results: tuple[str, ...], from_history: bool, html_out: Path, sites_file: Path | None,
               market_file: Path | None, db: str | None) -> None:
    """One self-contained HTML report (plotly embedded): hashrate, J/TH, probes, $/kWh, sensitivity, trend."""
    from .results.report import series_from_runs, write_report

    if not results and not from_history:
        raise InputError("give result files (or @latest), or --from-history")
    runs = [load_any(r, db) for r in results]
    if from_history:
        from .results.history import open_history

        history = open_history(db, readonly=True)
        try:
            if not runs:
                runs = [history.resolve("latest")]
            stored = [s for fp in dict.fromkeys(r.fingerprint for r in runs) for s in history.trend(fingerprint=fp)]
        finally:
            history.close()
        series = series_from_runs(runs, stored)  # the files given count too, stored or not
    else:
        series = series_from_runs(runs)
    sections = write_report(html_out, runs, series, sites_file=sites_file, market_file=market_file)
    plotted = sum(1 for s in sections if s.figure is not None)
    out.print(f"report written to {escape(str(html_out))}: {plotted} of {len(sections)} sections plotted")
    for s in sections:
        if s.figure is None:
            out.print(f"[dim]{escape(s.title)}: {escape('; '.join(s.notes))}[/dim]")


# --- export ----------------------------------------------------------------------------------------------------------

@click.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(EXPORT_FORMATS))
@click.argument("results", nargs=-1)
@click.option("--from-history", is_flag=True, help="Export from the history: every run (csv) or the latest (others).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default: stdout).")
@db_option
def export_cmd(fmt: str, results: tuple[str, ...], from_history: bool, output: Path | None, db: str | None) -> None:
    """Write results as github-action-benchmark JSON (the speeds; github-action-smaller: the timings), Bencher BMF,
    OpenMetrics text or CSV."""
    from .results.exporters import exporter, notes

    if results and from_history:  # which history runs would join the files is no rule anyone could guess
        raise InputError("give RESULT files (or @latest, @RUN_ID) or --from-history, not both")
    runs = [load_any(r, db) for r in results]
    if from_history:
        from .results.history import open_history

        history = open_history(db, readonly=True)
        try:
            summaries = history.runs() if fmt == "csv" else history.runs(limit=1)
            runs = [history.load(s.run_id) for s in reversed(summaries)]
        finally:
            history.close()
    if not runs:
        raise InputError("nothing to export: the history holds no runs" if from_history else
                         "nothing to export: give result files (or @latest), or --from-history")
    if empty := [r for r in runs if not r.measurements]:  # an empty upload would reach a dashboard as a result
        raise InputError(f"nothing to export from run {empty[0].run_id[:8]} ({empty[0].started or 'no start time'}): "
                         "it has no benchmarks")
    text = exporter(fmt)(runs)
    for note in notes(runs, fmt):  # stderr: stdout is the format's text, which a consumer parses whole
        err.print(f"[dim]{escape(note)}[/dim]")
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text, f"{fmt} file")
    err.print(f"{fmt} written to {escape(str(output))}")


COMMANDS = (history_cmd, compare_cmd, ab_cmd, report_cmd, export_cmd)
__all__ = ["COMMANDS", "ab_cmd", "compare_cmd", "export_cmd", "history_cmd", "report_cmd"]
