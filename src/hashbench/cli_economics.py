"""`hashbench yield`, `hashbench market fetch|show`, `hashbench plan`: parse, call one function, print.

Register with `cli.add_command(yield_cmd)`, `cli.add_command(market)`, `cli.add_command(plan)`. Every printed
figure says what it is (measured, estimated, nameplate or declared) and where it came from; the market snapshot
is always named with its date."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from .cli_options import (
    FRACTION,
    HASHRATE,
    NUMBER,
    NUMBERS,
    POWER_PRICE,
    POWER_PRICES,
    TOKEN_RATE,
    USD,
    USDS,
    WATTS,
    CommandGroup,
)
from .cli_table import Table
from .economics import SATS_PER_BTC, Sourced
from .errors import HashbenchError, InputError
from .market import (
    BASE_URL_ENV,
    DEFAULT_TIMEOUT_S,
    FEE_WINDOWS,
    FIGURES,
    MARKET_ENV,
    MarketSnapshot,
    Offline,
    fetch_snapshot,
    load_snapshot,
    resolve_base_url,
    save_snapshot,
)
from .units import format_fixed, format_si, format_usd, format_usd_short

# Own consoles rather than cli.py's, so cli.py can import this module at its top without a cycle.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


# --- formatting: one function per unit, chosen by the figure's key -------------------------------------------------

def _pct(v: float) -> str:
    return f"{v * 100:.1f} %"


def _per_kwh(v: float) -> str:
    return f"{format_usd(v, 4)}/kWh"


def _btc(v: float) -> str:
    """BTC to the satoshi, or under 1,000 sat the satoshis to three significant figures: 0.585 sat a day printed at
    eight decimals read "0.00000001 BTC", a figure rounded up to a satoshi the machine does not earn."""
    sats = v * SATS_PER_BTC
    if 0 < sats < 1000:
        return f"{sats:,.{max(0, 2 - math.floor(math.log10(sats)))}f} sat"
    return f"{format_fixed(v, 8)} BTC"


FORMATS: dict[str, tuple[str, Callable[[float], str]]] = {
    "hashrate_hps": ("hashrate", lambda v: format_si(v, "H/s")),
    "watts": ("power at full load", lambda v: f"{v:,.1f} W"),
    "idle_watts": ("power when idle", lambda v: f"{v:,.1f} W"),
    "btc_price_usd": ("BTC price", lambda v: format_usd(v)),
    "difficulty": ("difficulty", lambda v: format_si(v, "")),
    "subsidy_btc": ("block subsidy", lambda v: f"{v:.8g} BTC"),
    "fees_btc_per_block": ("fees per block", lambda v: f"{v:.8g} BTC"),
    "pool_fee": ("pool fee", _pct),
    "uptime": ("uptime", _pct),
    "utilization": ("utilization (demand)", _pct),
    "power_usd_per_kwh": ("power price", _per_kwh),
    "tokens_per_second": ("output tokens/s", lambda v: f"{v:,.1f} tokens/s"),
    "input_tokens_per_second": ("prompt tokens/s", lambda v: f"{v:,.1f} tokens/s"),
    "usd_per_mtok": ("price per Mtok (output)", lambda v: f"{format_usd(v, 3)}/Mtok"),
    "usd_per_mtok_input": ("price per Mtok (prompt)", lambda v: f"{format_usd(v, 3)}/Mtok"),
    "gpu_hour_usd": ("rental price", lambda v: f"{format_usd(v)}/GPU-hour"),
    "gpus": ("GPUs", lambda v: f"{v:.0f}"),
    "hashprice_usd_per_ph_day": ("hashprice (gross)", lambda v: f"{format_usd(v)}/PH/s/day"),
    "btc_per_day": ("BTC per day", _btc),
    "tokens_per_day": ("output tokens per day", lambda v: format_si(v, "tokens")),
    "revenue_usd_per_day": ("revenue per day", format_usd),
    "energy_kwh_per_day": ("energy per day", lambda v: f"{v:,.2f} kWh"),
    "power_cost_usd_per_day": ("power cost per day", format_usd),
    "profit_usd_per_day": ("profit per day (power only)", format_usd),
    "revenue_usd_per_kwh": ("revenue per kWh", _per_kwh),
    "profit_usd_per_kwh": ("profit per kWh", _per_kwh),
    "breakeven_power_usd_per_kwh": ("breakeven power price", _per_kwh),
    # Cents of a joule on an ASIC's 17.50 J/TH; on a CPU's 1,261,163 J/TH they are noise shown as precision.
    "joules_per_th": ("efficiency", lambda v: f"{v:,.0f} J/TH" if v >= 1000 else f"{v:,.2f} J/TH"),
    "joules_per_token": ("energy per token, full load", lambda v: f"{v:.4g} J/token"),
    "height": ("block height", lambda v: f"{v:,.0f}"),
    "h100_usd_per_gpu_hour": ("H100 rental", lambda v: f"{format_usd(v)}/GPU-hour"),
    "h200_usd_per_gpu_hour": ("H200 rental", lambda v: f"{format_usd(v)}/GPU-hour"),
    "b200_usd_per_gpu_hour": ("B200 rental", lambda v: f"{format_usd(v)}/GPU-hour"),
    "usd_per_mtok_8b": ("8B-class tokens", lambda v: f"{format_usd(v, 3)}/Mtok"),
    "usd_per_mtok_70b": ("70B-class tokens", lambda v: f"{format_usd(v, 3)}/Mtok"),
}


def fmt(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return FORMATS.get(key, (key, lambda v: f"{v:g}"))[1](value)


def label(key: str) -> str:
    return FORMATS.get(key, (key, None))[0]


class Footnotes:
    """Long provenance details as numbered lines under a table, so the table stays readable at 80 columns."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def ref(self, detail: str) -> str:
        """The marker, "[n]", of detail's line (one line per distinct detail)."""
        if detail not in self.lines:
            self.lines.append(detail)
        return f"[{self.lines.index(detail) + 1}]"

    def source(self, s: Sourced) -> str:
        return escape(f"{s.source} {self.ref(s.detail)}" if s.detail else s.source)

    def print(self, console: Console) -> None:
        for n, line in enumerate(self.lines, 1):
            console.print(f"[dim]\\[{n}] {escape(line)}[/dim]")


def _note_lines(console: Console, notes: tuple[str, ...] | list[str]) -> None:
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")


market_option = click.option(
    "--market", "market_file", type=click.Path(dir_okay=False, path_type=Path), envvar=MARKET_ENV, default=None,
    help=f"Market snapshot JSON (from `hashbench market fetch --output`); its figures override the packaged "
         f"snapshot's. Env: {MARKET_ENV}.")


# --- yield ---------------------------------------------------------------------------------------------------------

@click.command("yield")
@click.option("--from-run", "from_run", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="`hashbench run` result: measured hashrate, tokens/s and energy.")
@click.option("--asic", default=None, help="Catalog ASIC (e.g. 'S21 XP'): nameplate hashrate and watts.")
@click.option("--gpu", default=None, help="Catalog GPU (e.g. 'H100 SXM'): nameplate TDP, published tokens/s.")
@click.option("--hashrate", type=HASHRATE, default=None, help="Hashrate in H/s; SI suffixes accepted (270T, 1.2 PH/s).")
@click.option("--watts", type=WATTS, default=None,
              help="Power at full load, W (3.6k accepted); the AI figure too, unless --ai-watts or --asic is given "
                   "or, beside mining, AI has a power of its own (the run's metered decode, --gpu's TDP).")
@click.option("--ai-watts", type=WATTS, default=None, help="Power at full load while serving AI, W.")
@click.option("--btc-price", type=USD, default=None, help="USD per BTC ($91,000 or 91k accepted).")
@click.option("--difficulty", type=NUMBER, default=None, help="Network difficulty (152T accepted).")
@click.option("--network-hashrate", type=HASHRATE, default=None,
              help="Network hashrate, H/s (1.1Z accepted): sets difficulty.")
@click.option("--height", type=int, default=None, help="Block height: sets the subsidy.")
@click.option("--subsidy", type=float, default=None, help="Block subsidy, BTC.")
@click.option("--fees-btc", type=float, default=None, help="Transaction fees per block, BTC.")
@click.option("--pool-fee", type=FRACTION, default=None,
              help="Pool fee, a fraction or percentage (0.02 or 2%). Default 0.")
@click.option("--uptime", type=FRACTION, default=None,
              help="Share of hours the miner runs (0.9 or 90%; curtailment). Mining only.")
@click.option("--power-price", type=POWER_PRICE, default=None,
              help="USD per kWh (0.055, 0.055/kWh); a price per MWh with its unit (55/MWh).")
@click.option("--tokens-per-second", type=TOKEN_RATE, default=None,
              help="Output tokens/s of the whole machine (5.8k accepted).")
@click.option("--input-tokens-per-second", type=TOKEN_RATE, default=None,
              help="Prompt tokens/s served alongside (own price).")
@click.option("--prefill-tokens-per-second", type=TOKEN_RATE, default=None,
              help="Prefill rate alone, for --input-per-output.")
@click.option("--input-per-output", type=float, default=None,
              help="Prompt tokens per output token: time-share prefill and decode (run's or flags').")
@click.option("--usd-per-mtok", type=USD, default=None, help="USD per million output tokens.")
@click.option("--usd-per-mtok-input", type=USD, default=None, help="USD per million prompt tokens.")
@click.option("--model-class", type=click.Choice(["8b", "70b"]), default=None,
              help="Model class for snapshot token prices and published throughput (default: the run's preset's, "
                   "or 8b); from a run, the fastest llm-decode of that class is valued.")
@click.option("--gpu-hour-usd", type=USD, default=None, help="Rental price, USD per GPU-hour (prices by rental).")
@click.option("--ai-pricing", type=click.Choice(["tokens", "gpu-hour"]), default=None,
              help="Price AI per token or per GPU-hour (default: gpu-hour when --gpu-hour-usd is given).")
@click.option("--gpus", type=int, default=None, help="GPUs in the machine (rental pricing, catalog figures).")
@click.option("--utilization", type=FRACTION, default=None,
              help="Share of time AI capacity is sold (0.6 or 60%). Default 1.")
@click.option("--idle-watts", type=WATTS, default=None,
              help="Power while idle, W: energy = (u×W + (1-u)×idle) × 24 h (default: the idle power the run measured "
                   "beside its measured watts; else idle hours draw full load).")
@click.option("--preset", default=None,
              help="From a run: the llm probes' preset to use (default: the fastest of an 8B or 70B class).")
@market_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {\"mining\": {...}, \"ai\": {...}}.")
def yield_cmd(from_run: Path | None, asic: str | None, gpu: str | None, hashrate: float | None, watts: float | None,
              ai_watts: float | None, btc_price: float | None, difficulty: float | None, network_hashrate: float | None,
              height: int | None, subsidy: float | None, fees_btc: float | None, pool_fee: float | None,
              uptime: float | None, power_price: float | None, tokens_per_second: float | None,
              input_tokens_per_second: float | None, prefill_tokens_per_second: float | None,
              input_per_output: float | None, usd_per_mtok: float | None, usd_per_mtok_input: float | None,
              model_class: str | None, gpu_hour_usd: float | None, ai_pricing: str | None, gpus: int | None,
              utilization: float | None, idle_watts: float | None, preset: str | None, market_file: Path | None,
              as_json: bool) -> None:
    """Mining and AI revenue, power cost and profit per day and per kWh, with the breakeven power price."""
    from .runfile import load_run
    from .yields import YieldRequest, compute_yield

    request = YieldRequest(
        hashrate_hps=hashrate, watts=watts, ai_watts=ai_watts, btc_price_usd=btc_price, difficulty=difficulty,
        network_hashrate_hps=network_hashrate, height=height, subsidy_btc=subsidy, fees_btc_per_block=fees_btc,
        pool_fee=pool_fee, uptime=uptime, power_usd_per_kwh=power_price, tokens_per_second=tokens_per_second,
        input_tokens_per_second=input_tokens_per_second, prefill_tokens_per_second=prefill_tokens_per_second,
        input_per_output=input_per_output, usd_per_mtok=usd_per_mtok, usd_per_mtok_input=usd_per_mtok_input,
        gpu_hour_usd=gpu_hour_usd, ai_pricing=ai_pricing, gpus=gpus, utilization=utilization, idle_watts=idle_watts,
        model_class=model_class, asic=asic, gpu=gpu, preset=preset)
    snapshot = load_snapshot(market_file)
    report = compute_yield(request, snapshot, load_run(from_run) if from_run else None)
    if as_json:
        _note_lines(err, report.notes)
        emit_json(report.to_json())
        return
    out.print(f"{escape(snapshot.label)}; each market figure shows its own date")
    for title, section in (("Mining", report.mining), ("AI inference", report.ai)):
        if section is None:
            continue
        table = Table("figure", "value", "kind", "source", whole=("value",), title=title, title_justify="left")
        notes = Footnotes()
        for key, s in section.inputs.items():
            table.add_row(label(key), fmt(key, s.value), s.kind, notes.source(s))
        table.add_section()
        result = section.result.to_json()
        for key, kind in section.figure_kinds.items():
            table.add_row(label(key), fmt(key, result[key]), kind, "computed")
        out.print(table)
        notes.print(out)
        _note_lines(out, section.notes)
    _note_lines(out, report.notes)


# --- run's closing valuation ----------------------------------------------------------------------------------------

def print_run_value(path: Path, market_file: Path | None) -> None:
    """`hashbench run`'s last word, the question it exists for: what a kWh earns on this machine hashing and
    serving tokens, valued from the result file just written exactly as `hashbench yield --from-run FILE` values it
    (estimated: a dated market snapshot). A run that cannot be valued says why and how; it is no error of the run."""
    from .runfile import load_run
    from .yields import YieldRequest, compute_yield

    again = f"hashbench yield --from-run {path}"
    try:
        snapshot = load_snapshot(market_file)
        report = compute_yield(YieldRequest(), snapshot, load_run(path))
    except HashbenchError as exc:
        out.print(f"[dim]not valued: {escape(str(exc))}; `{escape(again)} --watts W` values it at a wattage you "
                  "declare[/dim]", soft_wrap=True)
        return
    sections = [(name, s) for name, s in (("mining", report.mining), ("AI", report.ai)) if s]
    price = sections[0][1].inputs["power_usd_per_kwh"]
    headers = ("", "rate", "energy", "revenue/kWh", "profit/kWh", "breakeven")
    table = Table(*headers, whole=headers[1:],  # figures stay whole on a narrow terminal
                  title=escape(f"what a kWh earns on this machine [estimated; {snapshot.label}; power "
                               f"{fmt('power_usd_per_kwh', price.value)} {price.kind}]"), title_justify="left")
    for name, section in sections:
        r, inputs = section.result, section.inputs
        rate = fmt("hashrate_hps", inputs["hashrate_hps"].value) if name == "mining" else \
            fmt("tokens_per_second", inputs["tokens_per_second"].value)
        # The energy per unit and where its power came from (measured, declared, nameplate): the figure a kWh's
        # worth rests on. (A power column would read 66.1 W "declared" for a run declared at 65 W: the run's J/TH,
        # over windows that hold the gaps between scans, times the median hashrate.)
        key = "joules_per_th" if name == "mining" else "joules_per_token"
        energy = " ".join(filter(None, (fmt(key, getattr(r, key)), section.figure_kinds.get(key))))
        table.add_row(name, rate, energy,
                      fmt("revenue_usd_per_kwh", r.revenue_usd_per_kwh),
                      fmt("profit_usd_per_kwh", r.profit_usd_per_kwh),
                      fmt("breakeven_power_usd_per_kwh", r.breakeven_power_usd_per_kwh))
    out.print(table)
    notes = [n for _, s in sections for n in s.notes] + list(report.notes)
    _note_lines(out, list(dict.fromkeys(notes)))
    out.print(f"[dim]every input and its source: {escape(again)}[/dim]", soft_wrap=True)


# --- market --------------------------------------------------------------------------------------------------------

def _snapshot_table(snapshot: MarketSnapshot, notes: Footnotes) -> Table:
    """One row per figure; its source, range and note go to a numbered footnote so the table fits 80 columns."""
    table = Table("figure", "value", "as of", "kind", "source", whole=("value", "as of"),
                  title=escape(snapshot.label), title_justify="left")
    for key in FIGURES:
        if key in snapshot.figures:
            f = snapshot.figures[key]
            table.add_row(label(key), fmt(key, f.value), f.as_of, f.kind, escape(notes.ref(f.detail)))
    return table


def _print_snapshot(snapshot: MarketSnapshot) -> None:
    notes = Footnotes()
    out.print(_snapshot_table(snapshot, notes))
    notes.print(out)


@click.group(cls=CommandGroup)
def market() -> None:
    """The market figures behind every valuation: show the snapshot in use, or fetch a fresh one."""


@market.command("show")
@market_option
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON (the --market file format).")
def market_show(market_file: Path | None, as_json: bool) -> None:
    """Print the market snapshot in use, with its date and a source for every figure."""
    snapshot = load_snapshot(market_file)
    if as_json:
        emit_json(snapshot.to_json())
        return
    _print_snapshot(snapshot)
    if snapshot.description:
        out.print(f"[dim]{escape(snapshot.description)}[/dim]")


@market.command("fetch")
@click.option("--base-url", default=None,
              help=f"Mempool-style API root (default: env {BASE_URL_ENV}, else https://mempool.space).")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT_S, show_default=True, help="Seconds per request.")
@click.option("--fee-window", type=click.Choice(FEE_WINDOWS), default="1w", show_default=True,
              help="Window for the mean fees per block.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the fetched snapshot here (use it with --market).")
@market_option
@click.option("--json", "as_json", is_flag=True, help="Print the fetched snapshot as JSON.")
@click.pass_context
def market_fetch(ctx: click.Context, base_url: str | None, timeout: float, fee_window: str, output: Path | None,
                 market_file: Path | None, as_json: bool) -> None:
    """Fetch difficulty, height, fees and BTC price; AI prices keep the snapshot's. Offline: one line, exit 1."""
    keep = load_snapshot(market_file)
    base = resolve_base_url(base_url, os.environ)
    if output is not None and output.parent and not output.parent.exists():
        raise InputError(f"output folder {str(output.parent)!r} does not exist")
    try:
        result = fetch_snapshot(base, keep, timeout=timeout, fee_window=fee_window)
    except Offline as exc:
        err.print(escape(str(exc)), soft_wrap=True)
        ctx.exit(exc.exit_code)
    for key, why in result.kept.items():
        err.print(f"kept {key} from the {escape(keep.label)}: {escape(why)}", soft_wrap=True)
    if not result.fetched:  # a snapshot dated today holding only older figures would pass for a fresh one
        raise HashbenchError(f"{base} answered but gave no usable figure; nothing written")
    if output is not None:
        save_snapshot(result.snapshot, output)
    if as_json:
        emit_json(result.snapshot.to_json())
    else:
        _print_snapshot(result.snapshot)
        if result.retarget:
            out.print(f"[dim]{escape(result.retarget)}[/dim]")
    where = f"; written to {output} (use --market {output})" if output else ""
    err.print(f"fetched {len(result.fetched)} figure(s) from {escape(base)} on {result.snapshot.date}{escape(where)}",
              soft_wrap=True)


# --- plan -----------------------------------------------------------------------------------------------------------

def _model(label: str) -> str:
    """A fleet's model without its count, as the split and breakeven tables name it: "100 × Antminer S21 XP"."""
    return label.split(" × ", 1)[-1]


def _scenario_table(site_plan) -> Table:
    """Metrics down, scenarios across: three money columns fit an 80-column terminal."""
    scenarios = (site_plan.mining, site_plan.ai, site_plan.best)
    table = Table(title="mining vs AI under the cap (estimated; profit counts power only)", title_justify="left")
    table.add_column("per day (facility energy)")
    for sc in scenarios:  # figures are never cut: on a narrow terminal the row names fold instead
        table.add_column(sc.name, no_wrap=True, justify="right")
    per_mwh = lambda v: "n/a" if v is None else f"{format_usd(v)}/MWh"  # noqa: E731
    rows = (("mining MW (peak)", lambda sc: f"{sc.mw_of('mining'):.3f}"),
            ("AI MW (peak)", lambda sc: f"{sc.mw_of('ai'):.3f}"),
            ("energy", lambda sc: f"{sc.energy_mwh_per_day:,.1f} MWh"),
            ("revenue", lambda sc: format_usd(sc.revenue_usd_per_day, 0)),
            ("power cost", lambda sc: format_usd(sc.power_cost_usd_per_day, 0)),
            ("profit", lambda sc: format_usd(sc.profit_usd_per_day, 0)),
            ("revenue per MWh", lambda sc: per_mwh(sc.revenue_usd_per_mwh)),
            ("profit per MWh", lambda sc: per_mwh(sc.profit_usd_per_mwh)))
    for name, cell in rows:
        table.add_row(name, *(cell(sc) for sc in scenarios))
    return table


def _print_site(site_plan, grid) -> None:
    from .plan import AI

    s = site_plan.site
    out.rule(f"site {escape(s.name)!s}")
    notes = Footnotes()
    out.print(f"cap {s.mw:g} MW at the meter, PUE {s.pue:g} → {s.mw / s.pue:.3f} MW of IT load; power "
              f"{fmt('power_usd_per_kwh', s.power_usd_per_kwh.value)} \\[{s.power_usd_per_kwh.kind}, "
              f"{notes.source(s.power_usd_per_kwh)}]; uptime {_pct(s.uptime.value)} \\[{s.uptime.kind}, "
              f"{notes.source(s.uptime)}]; pool fee {_pct(s.pool_fee.value)} \\[{s.pool_fee.kind}, "
              f"{notes.source(s.pool_fee)}]")
    fleets = Table("fleet", "per unit", "kind", "source", whole=("kind",), title="hardware (per unit)",
                   title_justify="left")
    for a in s.asics:
        fleets.add_row(escape(a.label), fmt("hashrate_hps", a.hashrate_hps.value), a.hashrate_hps.kind,
                       notes.source(a.hashrate_hps))
        fleets.add_row("", fmt("watts", a.watts.value), a.watts.kind, notes.source(a.watts))
    for g in s.gpus:
        rows = [("watts", g.watts), ("utilization", g.utilization), ("tokens_per_second", g.tokens_per_second),
                ("usd_per_mtok", g.usd_per_mtok), ("gpu_hour_usd", g.gpu_hour_usd), ("idle_watts", g.idle_watts)]
        first = True
        for key, value in rows:
            if value is not None:
                fleets.add_row(escape(g.label) if first else "", f"{label(key)} {fmt(key, value.value)}", value.kind,
                               notes.source(value))
                first = False
    out.print(fleets)
    notes.print(out)
    out.print(_scenario_table(site_plan))
    alloc = Table(title="best split: fleets ranked by profit per MW, the cap filled with the best whole units "
                        "(estimated)", title_justify="left")
    alloc.add_column("#")
    alloc.add_column("fleet")  # wraps between words: a cut "Whatsmin…" hid which model
    for name in ("units\nrun", "peak\nMW", "profit\n/day", "per\nMW-day"):  # two-line headers: 60 columns fit
        alloc.add_column(name, no_wrap=True, justify="right")
    alloc.add_column("why not all")
    for item in site_plan.best.items:
        alloc.add_row(str(item.rank), escape(_model(item.label)), f"{item.units:,}/{item.available:,}",
                      f"{item.peak_facility_mw:.3f}", format_usd(item.profit_usd_per_day, 0),
                      format_usd(item.profit_usd_per_mw_day, 0), item.reason)
    out.print(alloc)
    # The figure `hashbench yield` prints, per fleet: what a fleet left off because it loses money would need, and how
    # far the site's price may rise before the others stop paying.
    price = s.power_usd_per_kwh.value
    breakeven = Table(title="breakeven power price at the meter, per fleet (estimated)", title_justify="left")
    breakeven.add_column("fleet")
    breakeven.add_column("kind", no_wrap=True)
    breakeven.add_column("breakeven", no_wrap=True, justify="right")
    breakeven.add_column(f"over {_per_kwh(price)}", no_wrap=True, justify="right")
    for item in site_plan.best.items:
        margin = item.breakeven_usd_per_kwh - price
        text = ("+" if margin >= 0 else "-") + _per_kwh(abs(margin))
        breakeven.add_row(escape(_model(item.label)), "AI" if item.kind == AI else item.kind,
                          _per_kwh(item.breakeven_usd_per_kwh), text if margin >= 0 else f"[red]{text}[/red]")
    out.print(breakeven)
    if grid is not None:
        for p, price in enumerate(grid.power_prices):
            btc = [format_usd(b, 0) for b in grid.btc_prices]
            table = Table("difficulty \\ BTC", *btc, record_names=("difficulty", *(f"BTC {b}" for b in btc)),
                          title=f"at {_per_kwh(price)}: best-split profit/day, mining % of the cap (estimated)",
                          title_justify="left", show_lines=True)
            for d, diff in enumerate(grid.difficulties):
                cells = []
                for b in range(len(grid.btc_prices)):
                    c = grid.at(p, d, b)
                    share = c.mining_mw / s.mw
                    # Two short lines by design: one long line wrapped mid-figure at 80 and at 100 columns. Never a
                    # loss to mark: the best split leaves every fleet that loses money off.
                    cells.append(f"{format_usd_short(c.profit_usd_per_day)}\n{share * 100:.0f}% BTC")
                table.add_row(format_si(diff, ""), *cells)
            out.print(table)
    _note_lines(out, site_plan.notes)


def _print_portfolio(pf) -> None:
    """The whole portfolio in one table after the sites: which site uses its cap best, and where a megawatt of
    mining or of AI earns most. Printed last so it is what a terminal still shows after 40 sites."""
    from .plan import AI, MINING

    # Two short lines a cell (as in the grid): nine figures a site fit 80 columns without cutting one.
    sites = f"{len(pf.rows)} site{'s' if len(pf.rows) != 1 else ''}"
    table = Table(title=f"portfolio: {sites} ranked by best-split profit per MW of cap (estimated; "
                        "profit counts power only)", title_justify="left", show_lines=True)
    table.add_column("site")
    for name in ("cap\npower", "best split\nMW", "profit\n/day", "profit /day\nper cap MW", "best fleet\nper MW"):
        table.add_column(name, justify="right", no_wrap=True)
    per_mw = lambda item: "n/a" if item is None else format_usd_short(item.profit_usd_per_mw_day)  # noqa: E731
    for r in pf.rows:
        table.add_row(escape(r.site), f"{r.cap_mw:g} MW\n${r.power_usd_per_kwh * 1000:,.1f}/MWh",
                      f"BTC {r.mining_mw:.2f}\nAI {r.ai_mw:.2f}", format_usd_short(r.profit_usd_per_day),
                      format_usd_short(r.profit_usd_per_cap_mw_day),
                      f"BTC {per_mw(r.best_mining)}\nAI {per_mw(r.best_ai)}")
    totals = pf.to_json()["totals"]
    table.add_row("all sites", f"{totals['cap_mw']:g} MW", f"BTC {totals['mining_mw']:.2f}\nAI {totals['ai_mw']:.2f}",
                  format_usd_short(totals["profit_usd_per_day"]), "", "")
    out.print(table)
    out.print("[dim]best fleet per MW: profit a day per MW of peak facility power of the site's best mining (BTC) and "
              "AI fleet[/dim]")
    for kind, words in ((MINING, "mining"), (AI, "AI")):
        row = pf.best_for(kind)
        if row is not None:
            item = row.best_mining if kind == MINING else row.best_ai
            out.print(escape(f"a MW of {words} earns most at {row.site}: {_model(item.label)}, "
                             f"{format_usd(item.profit_usd_per_mw_day, 0)} per MW-day (estimated)"))


@click.command("plan")
@click.argument("site_file", type=click.Path(dir_okay=False, path_type=Path))
@market_option
@click.option("--btc-price", type=USD, default=None, help="USD per BTC, 91k accepted (default: the snapshot's).")
@click.option("--difficulty", type=NUMBER, default=None, help="Network difficulty (default: the snapshot's).")
@click.option("--btc-prices", type=USDS, default=None, help="Grid BTC prices, comma-separated (60k,91k,126k).")
@click.option("--difficulties", type=NUMBERS, default=None, help="Grid difficulties, comma-separated (126T,152T).")
@click.option("--power-prices", type=POWER_PRICES, default=None,
              help="Grid power prices, USD/kWh, comma-separated (0.03,0.055); per MWh with the unit (30/MWh,55/MWh).")
@click.option("--no-grid", is_flag=True, help="Skip the sensitivity grid.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plan(site_file: Path, market_file: Path | None, btc_price: float | None, difficulty: float | None,
         btc_prices: tuple[float, ...] | None, difficulties: tuple[float, ...] | None,
         power_prices: tuple[float, ...] | None, no_grid: bool,
         as_json: bool) -> None:
    """Plan sites from a TOML file: mining vs AI $/day and $/MWh, the profit-maximising split of each power cap,
    and a sensitivity grid over BTC price × difficulty × power price."""
    from .catalog import check_difficulty
    from .plan import (
        METHOD,
        PlanMarket,
        axis_around,
        default_power_axis,
        load_sites,
        market_age_note,
        plan_site,
        portfolio,
        sensitivity_grid,
    )

    if no_grid and (btc_prices or difficulties or power_prices):
        raise InputError("--no-grid leaves out the grid that --btc-prices, --difficulties and --power-prices shape: "
                         "give one or the other")
    for d in difficulties or ():
        check_difficulty(d, "--difficulties")
    snapshot = load_snapshot(market_file)
    sites = load_sites(site_file, snapshot)
    pm = PlanMarket.from_snapshot(snapshot).with_values(btc_price_usd=btc_price, difficulty=difficulty)
    # Centred on the figures planned with (--btc-price and --difficulty where given), over the snapshot's ranges.
    btc_axis = btc_prices or axis_around(replace(snapshot.get("btc_price_usd"), value=pm.btc_price_usd.value))
    diff_axis = difficulties or axis_around(replace(snapshot.get("difficulty"), value=pm.difficulty.value))
    results = []
    for site in sites:
        grid = None if no_grid else sensitivity_grid(site, pm, btc_axis, diff_axis,
                                                     power_prices or default_power_axis(snapshot, site))
        results.append((plan_site(site, pm), grid))
    age_note = market_age_note(sites, pm)
    pf = portfolio([p for p, _ in results])
    if as_json:
        emit_json({"market": pm.to_json(), "method": METHOD, "notes": [age_note] if age_note else [],
                   "portfolio": pf.to_json(),
                   "sites": [{**p.to_json(), "sensitivity": g.to_json() if g else None} for p, g in results]})
        return
    out.print(escape(f"{snapshot.label}: BTC {format_usd(pm.btc_price_usd.value)} [{pm.btc_price_usd.kind}, "
                     f"{pm.btc_price_usd.source}], difficulty {format_si(pm.difficulty.value, '')} "
                     f"[{pm.difficulty.kind}, {pm.difficulty.source}], hashprice "
                     f"{format_usd(pm.hashprice_usd_per_ph_day)}/PH/s/day [estimated]"))
    if age_note:
        _note_lines(out, [age_note])
    for site_plan, grid in results:
        _print_site(site_plan, grid)
    _print_portfolio(pf)
    if age_note:  # again beside the summary: after 40 sites the first lines have scrolled away
        _note_lines(out, [age_note])
    out.print(f"[dim]method: {escape(METHOD)}[/dim]")


__all__ = ["yield_cmd", "market", "plan", "print_run_value", "market_option"]
