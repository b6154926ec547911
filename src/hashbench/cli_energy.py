"""`hashbench energy-check`: every energy source of a device over one window of steady hashing, judged pairwise.

Register with `cli.add_command(energy_check)`."""

from __future__ import annotations

import json
import math
import re

import click
from rich.console import Console
from rich.markup import escape

from .cli_options import FRACTION, devices_option
from .cli_table import Table
from .energy import EnergyConfig, EnergyUnavailable, energy_device
from .energy.check import (
    DEFAULT_SECONDS,
    DEFAULT_TOLERANCE,
    CheckResult,
    comparable_pairs,
    describe,
    hashing_load,
    idle_load,
    open_check_sources,
    run_check,
)
from .errors import InputError
from .units import format_si

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _default_backend() -> str:
    from .backends import get_backend

    for name in ("cuda", "cython", "python"):
        if get_backend(name, require_available=False).available()[0]:
            return name
    return "python"


def check_table(result: CheckResult) -> Table:
    table = Table(title=f"Energy sources over one window on {result.device}, load: {result.load} (measured)")
    for name, justify in (("source", "left"), ("layer", "left"), ("joules", "right"), ("mean power", "right"),
                          ("readings", "right"), ("J/TH", "right")):
        table.add_column(name, justify=justify)
    for name, r in zip(result.names, result.readings, strict=True):
        per_th = r.per_unit(result.hashes / 1e12) if result.hashes else None
        table.add_row(name, r.layer, f"{r.joules_gross:,.1f} J" if r.joules_gross is not None else "—",
                      format_si(r.watts, "W") if r.watts is not None else "—",
                      str(r.samples) if r.samples is not None else "—",
                      f"{per_th:,.1f}" if per_th is not None else "—")
    return table


@click.command("energy-check")
@devices_option
@click.option("--backend", "backend_name", default=None,
              help="The load: a hashing backend, or 'idle' (default: cuda where it runs, else cython).")
@click.option("--device", default=None,
              help="Whose sources: cpu, cuda:N or cuda:N,M (default: what the backend hashes on; cuda:0 or cpu "
                   "for idle).")
@click.option("--seconds", type=float, default=DEFAULT_SECONDS, show_default=True,
              help="The shared window; GPU board sensors want a minute or more.")
@click.option("--threads", type=int, default=None, help="CPU backend threads (default: every usable CPU).")
@click.option("--tolerance", type=FRACTION, default=DEFAULT_TOLERANCE, show_default=True,
              help="Largest relative difference two sources of one layer may show (0.05 or 5%).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def energy_check(backend_name: str | None, device: str | None, seconds: float, threads: int | None,
                 tolerance: float, as_json: bool) -> int:
    """Meter one window of hashing with every source at once — NVML counter and NVML sampled power on a GPU, RAPL on
    a CPU, IPMI and Redfish for the node — and check that sources of the same layer agree. Exit 1 when a pair
    differs by more than --tolerance."""
    from .backends import all_backends, get_backend
    from .host import detect_host

    if not 0 < seconds < math.inf:
        raise InputError(f"--seconds must be > 0 and finite, got {seconds}")
    if not 0 < tolerance < 1:
        raise InputError(f"--tolerance must be between 0 and 1 (0.05 or 5%), got {tolerance:g}")
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    given, device = device, device.strip().lower() if device is not None else None
    if device is not None and not re.fullmatch(r"cpu|cuda(:\d+(,\d+)*)?", device):
        raise InputError(f"--device must be cpu, cuda:N or cuda:N,M,..., got {given!r}")  # as typed
    # --backend "" (an unset shell variable) is an unknown load, not the default one.
    name = _default_backend() if backend_name is None else backend_name
    known = [b.name for b in all_backends()]
    if name != "idle" and name not in known:
        raise InputError(f"unknown load {name!r} (a backend: {', '.join(known)}; or idle)")
    backend = None if name == "idle" else get_backend(name)
    if backend is not None:  # every usable CPU by default, as many as the backend can run
        threads = threads or backend.all_core_threads(detect_host().usable_cpus)
        backend.check_threads(threads)
    if device is None:
        device = energy_device(backend) if backend else ("cuda:0" if _default_backend() == "cuda" else "cpu")
    config = EnergyConfig.from_env()
    opened = open_check_sources(config, device)
    if not comparable_pairs(opened.sources):
        opened.close()
        have = ", ".join(describe(s) for s in opened.sources) or "none"
        why = "; ".join(opened.missing) or "no other source configured"
        raise EnergyUnavailable(f"energy-check on {device}: no two sources of one layer to compare (opened: {have}; "
                                f"{why})")
    try:
        if backend is None:
            load = idle_load(seconds)
        else:
            load = hashing_load(backend, seconds, threads)
        if not as_json:
            err.print(f"[dim]metering {seconds:g} s of {name} on {device} with "
                      f"{', '.join(describe(s) for s in opened.sources)}…[/dim]")
        result = run_check(opened, device, tolerance, load)
    finally:
        opened.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        out.print(check_table(result))
        for v in result.verdicts:
            if v.agree is None:
                verdict = "[yellow]no reading to compare[/yellow]"
            else:
                tag = "[green]agree[/green]" if v.agree else "[red]DISAGREE[/red]"
                verdict = f"{v.relative_difference * 100:+.2f} % — {tag} (tolerance {v.tolerance * 100:g} %)"
            out.print(f"{v.other} vs {v.reference} ({v.layer}): {verdict}")
        for name, r in zip(result.names, result.readings, strict=True):
            for flag in r.flags:
                out.print(f"[yellow]note[/yellow] ({name}): {escape(flag)}")
        for why in result.missing:
            out.print(f"[dim]not opened: {escape(why)}[/dim]")
    return 0 if result.passed else 1
