"""The `hashbench` command: parse, call one function, print a table or --json. No logic lives here."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__
from .backends import ScanJob, all_backends, describe, get_backend
from .bench import bench_backend
from .cli_economics import market, market_option, plan, print_run_value, yield_cmd
from .cli_energy import energy_check
from .cli_options import COUNT, CommandGroup, db_option, devices_option, interrupted
from .cli_probe import cpu_notes, energy_config, energy_options, probe, probe_flags, results_table
from .cli_results import COMMANDS as RESULTS_COMMANDS
from .cli_table import Table
from .errors import HashbenchError, InputError, Interrupted, interrupt_exit_code
from .header import Header, bits_to_target, parse_bits, parse_target
from .units import format_rate, si_prefix

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def _si(value: float) -> str:
    """Three significant figures with their trailing zeros, so a column reads evenly: 9.00M beside 44.0M. The prefix
    goes by the figure as printed: 999.6 J/TH is 1.00k, not 1000."""
    value = float(f"{value:.3g}")
    for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return _three_figures(value / scale) + suffix
    return _three_figures(value)


def _three_figures(x: float) -> str:
    return f"{x:.{max(0, 2 - math.floor(math.log10(abs(x))))}f}" if x else "0"


def rate_table(rows: list[dict], verified: dict[tuple[str, str], bool] | None = None) -> Table:
    """Bench results (their JSON form) as one table: median, the min-max spread of the samples, and J/TH
    when an energy meter was running (its source is printed under the table by energy_notes)."""
    # The figures stay on one line and the names wrap; on a terminal too narrow for the figures (about 76 columns
    # with J/TH and ok) the shared Table prints a block per row. Before it, rich cut such cells silently there: at 60
    # columns "16" threads read "1", "12.34 MH/s" read "12.34 MH/" and "yes" vanished.
    table = Table(title="SHA-256d at a difficulty-1 share target (measured)")
    for name, justify, whole in (("backend", "left", False), ("impl", "left", False), ("thr", "right", True),
                                 ("median", "right", True), ("min – max", "right", True)):
        table.add_column(name, justify=justify, no_wrap=whole)
    with_energy = any("power_source" in r for r in rows)
    if with_energy:
        table.add_column("J/TH", justify="right", no_wrap=True)
    if verified is not None:
        table.add_column("ok", no_wrap=True)
    for r in rows:
        median = format_rate(r["hashrate"], "H/s")
        _, scale = si_prefix(r["hashrate"])  # the prefix the median is printed with
        # the spread in the median's unit, so the three figures compare at a glance
        cells = [r["backend"], r["impl"], str(r["threads"]), median,
                 f"{r['hashrate_min'] / scale:,.2f} – {r['hashrate_max'] / scale:,.2f}"]
        if with_energy:
            jth = r.get("joules_per_th")
            cells.append(_si(jth) if jth is not None else "—")
        if verified is not None:
            ok = verified.get((r["backend"], r["impl"]))
            cells.append("yes" if ok else "—" if ok is None else "[red]NO[/red]")
        table.add_row(*cells)
    return table


def energy_notes(rows: list[dict]) -> list[str]:
    """Where each J/TH came from, once per distinct source; then each flag of the windows once (a window shorter
    than the counter's updates, no idle measurement, ...) and the benches measured on shared CPUs, as notes."""
    sources = dict.fromkeys(r.get("power_source") or "none" for r in rows if "power_source" in r)
    flags = dict.fromkeys(f for r in rows for f in (r.get("energy") or {}).get("flags", ()))
    shared = cpu_notes(rows, lambda r: f"{r['backend']} {r['impl']} ×{r['threads']}", "benches")
    return [*(f"J/TH energy: {s}" for s in sources), *(f"note: {f}" for f in [*flags, *shared])]


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hashbench")
def cli() -> None:
    """Measure SHA-256d hashing and AI inference on this machine, and what a watt of each is worth."""


@cli.command()
@devices_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def backends(as_json: bool) -> None:
    """List hashing backends, whether each can run here, and why not."""
    infos = describe()
    if as_json:
        emit_json([i.to_json() for i in infos])
        return
    table = Table("backend", "available", "implementations", "reason")
    for i in infos:
        table.add_row(i.name, "yes" if i.available else "no", ", ".join(i.impls), escape(i.reason))
    out.print(table)


@cli.command()
@devices_option
@click.option("--header", "header_hex", required=True, help="Block header: 160 hex chars (80 bytes) or 152 (76).")
@click.option("--start", type=COUNT, default=0, show_default=True, help="First nonce (0x... accepted).")
@click.option("--count", type=COUNT, default=1 << 24, show_default=True, help="Number of nonces (100M accepted).")
@click.option("--backend", "backend_name", default="cython", show_default=True, help="Backend name.")
@click.option("--impl", default=None, help="Implementation within the backend (default: the fastest here).")
@click.option("--bits", default=None, help="Target as compact nBits (8 hex digits); default: the header's own.")
@click.option("--target", "target_hex", default=None,
              help="Target as a hex number of up to 64 digits (a number: 00000000ffff is 0xffff, not a prefix).")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads scanning disjoint sub-ranges.")
@click.option("--max-found", type=click.IntRange(min=0), default=1024, show_default=True,
              help="Most nonces to list (every hit is still counted).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scan(header_hex: str, start: int, count: int, backend_name: str, impl: str | None, bits: str | None,
         target_hex: str | None, threads: int, max_found: int, as_json: bool) -> None:
    """Scan a nonce range of a header for hashes at or below the target."""
    header = Header.from_hex(header_hex)
    if bits is not None and target_hex is not None:
        raise InputError("give --bits or --target, not both")
    target = (bits_to_target(parse_bits(bits)) if bits is not None else
              parse_target(target_hex) if target_hex is not None else header.target)
    backend = get_backend(backend_name)
    result = backend.scan(ScanJob(header, target), start, count, impl=impl, threads=threads, max_found=max_found)
    if as_json:
        emit_json(result.to_json())
        return
    out.print(f"{result.backend} ({result.impl}, {result.threads} thread(s)): {result.hashes:,} hashes in "
              f"{result.seconds:.3f} s = {format_rate(result.hashrate, 'H/s')} \\[measured]")
    listed = f" (the first {len(result.found)} listed: --max-found)" if len(result.found) < result.hits else ""
    out.print(f"target {target:064x}: {result.hits} hit(s){listed}", soft_wrap=True)
    for share in result.found:  # one line each, never broken inside a hash: people copy them
        out.print(f"  nonce {share.nonce:>10} (0x{share.nonce:08x})  hash {share.hash}", soft_wrap=True)


def _chosen_backends(names: tuple[str, ...], impl: str | None, threads: int) -> list:
    """The backends named (default: every available one), each checked for --impl and --threads before any is
    measured: a value one of them cannot run fails now, not after the others ran."""
    chosen = [get_backend(n) for n in names] if names else [b for b in all_backends() if b.available()[0]]
    for b in chosen:
        b.resolve_impl(impl)
        b.check_threads(threads)
    return chosen


@cli.command()
@devices_option
@click.option("--backend", "backend_names_", multiple=True,
              help="Backend to bench (repeatable; default: all available).")
@click.option("--impl", default=None, help="Implementation within the backend.")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads scanning disjoint sub-ranges.")
@click.option("--seconds", type=float, default=3.0, show_default=True, help="Timed seconds per backend.")
@energy_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench(backend_names_: tuple[str, ...], impl: str | None, threads: int, seconds: float, energy_mode: str,
          watts: float | None, idle_watts: float | None, idle_seconds: float | None, as_json: bool) -> int:
    """Hashrate at a difficulty-1 share target: warm-up, then repeated timed scans (median reported), with the
    joules of the timed scans (J/TH) from the device's energy source."""
    from .energy import EnergyPlan, energy_device

    if not 0 < seconds < math.inf:
        raise InputError(f"--seconds must be > 0 and finite, got {seconds}")
    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    config = energy_config(energy_mode, watts, idle_watts, idle_seconds)
    chosen = _chosen_backends(backend_names_, impl, threads)
    results = []
    stopped: KeyboardInterrupt | None = None
    with EnergyPlan(config) as meters:
        devices = {b.name: energy_device(b) for b in chosen}
        try:
            for device in dict.fromkeys(devices.values()):
                meters.prepare(device)  # idle power before any backend warms the device
                if not as_json:
                    err.print(f"[dim]energy for {device}: {escape(meters.describe(device))}[/dim]")
            for backend in chosen:
                if not as_json:
                    err.print(f"[dim]benching {backend.name}…[/dim]")
                results.append(bench_backend(backend, impl=impl, threads=threads, seconds=seconds,
                                             window=lambda d=devices[backend.name]: meters.meter(d)))
        except KeyboardInterrupt as exc:  # Ctrl-C keeps the backends already measured: printed below
            stopped = exc
    rows = [r.to_json() for r in results]
    if as_json:
        emit_json(rows)
    elif rows:
        out.print(rate_table(rows))
        for note in energy_notes(rows):
            out.print(f"[dim]{escape(note)}[/dim]")
    return interrupted(stopped, len(rows))


@cli.command()
@devices_option
@click.option("--backend", "backend_names_", multiple=True,
              help="Backend to check (repeatable; default: all available).")
@click.option("--impl", default=None, help="Implementation within the backend.")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads scanning disjoint sub-ranges.")
@click.option("--headers", "header_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of real headers (height, header_hex, nonce, block_hash) instead of the shipped sample; "
                   "repeatable.")
# A shell glob after --headers (--headers data/*.csv) expands to several words: the ones after the first arrive here.
@click.argument("more_files", nargs=-1, metavar="[CSV]...", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(backend_names_: tuple[str, ...], impl: str | None, threads: int, header_files: tuple[Path, ...],
           more_files: tuple[Path, ...], as_json: bool) -> int:
    """Find the real nonces of real block headers (the sample shipped with hashbench, or CSV files given with
    --headers or as arguments such as ../shared/data/*.csv); exit 1 on any miss."""
    from .samples import read_headers
    from .verify import verify_backend

    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    header_files = (*header_files, *more_files)
    headers = tuple(h for f in header_files for h in read_headers(f)) if header_files else None
    chosen = _chosen_backends(backend_names_, impl, threads)
    results = []
    stopped: KeyboardInterrupt | None = None
    try:
        for b in chosen:
            results.append(verify_backend(b, impl=impl, threads=threads, headers=headers))
    except KeyboardInterrupt as exc:  # the backends already checked are printed below
        stopped = exc
    if as_json:
        emit_json([r.to_json() for r in results])
    else:
        for r in results:
            status = "[green]pass[/green]" if r.passed else "[red]FAIL[/red]"
            out.print(f"{r.backend} ({r.impl}): {r.headers} real headers: {status}")
            for f in r.failures:
                out.print(f"  {escape(f)}")
    if stopped is not None:
        return interrupted(stopped, len(results))
    return 0 if all(r.passed for r in results) else 1


@cli.command()
@devices_option
@click.option("--quick", is_flag=True, help="Short timings, a few verify headers: under a minute.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Result JSON file (default: hashbench-run-DATE-TIME.json here).")
@click.option("--seconds", type=float, default=None, help="Timed seconds per measurement (overrides --quick's).")
@db_option
@click.option("--no-history", is_flag=True, help="Do not store this run in the history database.")
@click.option("--no-probes", is_flag=True, help="Hashing only: skip the AI inference probes.")
@energy_options
@market_option
def run(quick: bool, output: Path | None, seconds: float | None, db: str | None, no_history: bool, no_probes: bool,
        energy_mode: str, watts: float | None, idle_watts: float | None, idle_seconds: float | None,
        market_file: Path | None) -> int:
    """Detect the host; verify and bench every available backend and run the AI probes, each in an energy window;
    write the result JSON and the history; last, what a kWh of hashing and of serving tokens earns here."""
    from .run import default_output, execute

    if seconds is not None and not 0 < seconds < math.inf:
        raise InputError(f"--seconds must be > 0 and finite, got {seconds}")
    output = output or default_output()
    if output.parent and not output.parent.exists():
        raise InputError(f"output folder {str(output.parent)!r} does not exist")
    energy = energy_config(energy_mode, watts, idle_watts, idle_seconds, quick)
    energy.validate()
    if market_file is not None:  # read now: a bad --market is refused before the measurements, not after them
        from .market import load_snapshot

        load_snapshot(market_file)
    if not no_history:
        from .results.history import check_location

        check_location(db)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rate]}"),
                        TimeElapsedColumn(), console=err, transient=False)
    tasks: dict = {}
    history_note: list[str] = []  # where the run went in the history, for a run stopped before it returns a record

    def listen(event: str, config, payload) -> None:
        if event == "plan":  # the first event: a run refused before it (--energy rapl unreadable) draws nothing
            progress.start()
            for c in payload:
                tasks[c] = progress.add_task(c.label, total=1.0, rate="", start=False)
        elif event == "verify":
            progress.console.print(f"verifying {config.backend} {config.impl} on real block headers…")
        elif event == "verified":
            tag = "[green]pass[/green]" if payload.passed else f"[red]FAIL[/red] {payload.failures[:1]}"
            progress.console.print(f"  {config.backend} ({payload.impl}): {payload.headers} headers {tag}")
        elif event == "start":
            progress.start_task(tasks[config])
        elif event == "sample":
            frac, rate = payload
            progress.update(tasks[config], completed=frac, rate=format_rate(rate, "H/s"))
        elif event == "done":
            progress.update(tasks[config], completed=1.0, rate=format_rate(payload.hashrate, "H/s"))
        elif event == "energy":
            device, how = payload
            progress.console.print(f"energy for {device}: {escape(how)}")
        elif event == "probe-start":
            progress.console.print(f"[dim]probe {escape(payload[0])}…[/dim]")
        elif event == "probe-fail":
            progress.console.print(f"[red]probe {escape(payload[0])} failed: {escape(str(payload[1]))}[/red]")
        elif event == "history":
            history_note.append(payload)

    stopped: KeyboardInterrupt | None = None
    try:
        record = execute(output, quick=quick, seconds=seconds, listen=listen, db=db, history=not no_history,
                         energy=energy, probes=not no_probes)
    except KeyboardInterrupt as exc:
        stopped = exc
    finally:
        if progress.live.is_started:  # stop() on a display never started still prints an empty line
            progress.stop()
    if stopped is not None:
        err.print(f"interrupted: finished measurements kept in {output}")
        for note in history_note:
            err.print(escape(note), soft_wrap=True)
        return interrupt_exit_code(stopped)
    host = record.host
    ident = f" ({host.cpu_id})" if host.cpu_id else ""
    out.print(f"host: {host.cpu_model}{ident}, {host.usable_cpus} usable CPU(s), flags {' '.join(host.cpu_flags)}")
    verified = {(v.backend, v.impl): v.passed for v in record.verify}
    rows = [b.to_json() for b in record.benchmarks]
    out.print(rate_table(rows, verified))
    for note in energy_notes(rows):
        out.print(f"[dim]{escape(note)}[/dim]")
    if record.probes:
        probe_rows = [p.to_json() for p in record.probes]
        out.print(results_table(probe_rows))
        # The probes' J/unit come from the same kind of source as J/TH: say which, and what each figure rests on.
        for source in dict.fromkeys(r["power_source"] or "none" for r in probe_rows):
            out.print(f"[dim]probe energy: {escape(source)}[/dim]")
        for flag in probe_flags(probe_rows):
            out.print(f"[dim]note: {escape(flag)}[/dim]")
    for s in record.skipped:
        out.print(f"[dim]skipped {s['backend']}: {escape(s['reason'])}[/dim]")
    print_run_value(output, market_file)
    out.print(f"result written to {output}")
    out.print(f"[dim]{escape(record.history_note)}[/dim]", soft_wrap=True)  # one line: the command to paste
    return 0 if all(verified.values()) and not record.probe_failures else 1


# What each kernel_stats figure counts, in the words of kernel_stats.py's docstring: the integer pipe bounds the rate.
KERNEL_FIGURES = (
    ("instructions_per_nonce", "integer-pipe instructions per nonce"),
    ("fma_pipe_per_nonce", "FMA-pipe instructions per nonce"),
    ("sass_instructions_per_nonce", "all SASS instructions per nonce"),
    ("nonces_per_iteration", "nonces per loop iteration"),
    ("registers", "registers per thread"),
    ("spills", "spill bytes (stores + loads)"),
    ("stack_bytes", "stack frame bytes"),
    ("lop3", "LOP3 per nonce"),
    ("lop", "two-input LOP per nonce"),
    ("shf", "SHF (rotates) per nonce"),
    ("iadd3", "IADD3 per nonce"),
)


@cli.command("kernel-stats")
@click.option("--arch", default="sm_90", show_default=True, help="GPU architecture to compile for: sm_80, sm_90, ...")
@click.option("--define", "defines", multiple=True, metavar="NAME=VALUE",
              help="Kernel build switch (repeatable), e.g. HB_ROT_ON_FMA=1.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def kernel_stats_cmd(arch: str, defines: tuple[str, ...], as_json: bool) -> None:
    """Static cost of the CUDA kernel from its SASS (no GPU needed): integer-pipe instructions per nonce, registers,
    spills."""
    from .backends.cuda_launch import parse_defines
    from .kernel_stats import kernel_stats

    stats = kernel_stats(arch, parse_defines(",".join(defines)))
    if as_json:
        emit_json(stats)
        return
    table = Table(title=f"CUDA kernel for {arch}, static from its SASS", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    if stats.get("defines"):  # two builds told apart
        table.add_row("build switches", " ".join(f"{k}={v}" for k, v in sorted(stats["defines"].items())))
    for key, name in KERNEL_FIGURES:
        value = stats[key]
        table.add_row(name, f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}")
    out.print(table)


cli.add_command(probe)
cli.add_command(energy_check)
for command in RESULTS_COMMANDS:  # history, compare, ab, report, export
    cli.add_command(command)
cli.add_command(yield_cmd)
cli.add_command(market)
cli.add_command(plan)


_HELP_FOR_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


def _stop(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and an exit code, never a traceback. SIGTERM stops a
    command the way Ctrl-C does, so what finished is kept there too."""
    # Only the main thread may set handlers; a SIGTERM someone chose to ignore (nohup-like launchers) stays ignored.
    handle = (threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
    previous = signal.signal(signal.SIGTERM, _stop) if handle else None
    try:
        code = cli.main(args=argv, prog_name="hashbench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except _HELP_FOR_NO_ARGS as exc:  # `hashbench`, `hashbench market`: the help, as click prints it, not an error
        exc.show()
        code = exc.exit_code
    except click.ClickException as exc:  # click wraps some messages ("Choose from:\n\t..."): kept to one line
        click.echo(f"hashbench: error: {' '.join(exc.format_message().split())}", err=True)
        code = exc.exit_code
    except HashbenchError as exc:
        click.echo(f"hashbench: error: {exc}", err=True)
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt) as exc:
        stop = exc.__cause__ if isinstance(exc, click.Abort) and exc.__cause__ is not None else exc
        click.echo(f"hashbench: {'terminated' if isinstance(stop, Interrupted) else 'interrupted'}", err=True)
        code = interrupt_exit_code(stop)
    except OSError as exc:  # a file or device the system refused, wherever it was opened: one line, not a traceback
        click.echo(f"hashbench: error: {exc}", err=True)
        code = 1
    finally:
        if handle:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
