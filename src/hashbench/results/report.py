"""`hashbench report`: one self-contained HTML file of plots, readable offline and attachable to a ticket.

plotly.js is embedded once in the page (no CDN: site networks are often closed). Sections: hashrate per backend,
J/TH, GEMM FLOP/s, memory bandwidth, tokens/s and J/token per probe, $/kWh mining vs AI (this machine's measured
figures beside catalog references, all valued with the market snapshot), the site planner's sensitivity heatmap, and
the history trend.
A section without data says why instead of showing an empty chart. plotly comes with the `results` extra."""

from __future__ import annotations

import html
import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..cpuload import shared_note
from ..errors import HashbenchError, InputError
from ..jsonfile import write_atomic
from .history import Series
from .schema import HASHRATE, PROBE, VERIFY_FAILED, RunResult, higher_is_better

# The sensitivity heatmap needs a site. Without --sites this one is planned: a power cap that cannot run every
# fleet, so mining and AI compete for it, and an older ASIC fleet that drops out as hashprice falls.
EXAMPLE_SITE = {
    "name": "example 10 MW site (built in; --sites FILE plans yours)",
    "mw": 10.0, "pue": 1.1, "power_usd_per_kwh": 0.05, "pool_fee": 0.02, "utilization": 0.6,
    "asic": [{"model": "Antminer S21 XP", "count": 1500}, {"model": "Antminer S19", "count": 1500}],
    "gpu": [{"model": "H100 SXM", "count": 2048, "model_class": "8b", "watts": 1275}],
}
# plotly's default colour sequence, named so a run keeps its colour across the two panels of one figure.
PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880", "#ff97ff",
           "#fecb52")
REFERENCE_ASIC = "Antminer S21 XP"
REFERENCE_GPU = "H100 SXM"


class ReportUnavailable(HashbenchError):
    """plotly is missing."""


@dataclass
class Section:
    title: str
    figure: object | None  # a plotly Figure
    notes: list[str]


def _plotly():
    try:
        go = importlib.import_module("plotly.graph_objects")
        offline = importlib.import_module("plotly.offline")
    except ImportError as exc:
        raise ReportUnavailable(f"the HTML report needs plotly ({exc}); install it with "
                                "pip install 'hashbench[results]'") from None
    return go, offline


def _label(run: RunResult) -> str:
    commit = f" @ {run.host.git_commit[:10]}" if run.host.git_commit else ""
    return f"{run.started[:16].replace('T', ' ')}{commit}"


def _color(runs: list[RunResult], run: RunResult) -> str:
    """One colour per run, the same in every section, so a run is followed from chart to chart."""
    return PALETTE[runs.index(run) % len(PALETTE)]


def _config(name: str) -> str:
    """sha256d[cython-avx2-x1] -> cython-avx2-x1: the axis says what the part in brackets is."""
    return name.removeprefix("sha256d[").removesuffix("]")


def _log_axis(values: Sequence[float]) -> dict:
    """A log axis from a decade at least half a decade below the smallest value to just above the largest, ticked
    once a decade in SI prefixes: plotly's own range starts at the smallest bar, which then reads as nearly nothing,
    and so did a bar just above a power of ten (1.05k tokens/s over an axis starting at 1k, beside 1.49k). Values
    of 0 or below have no place on it; with none above 0, plotly picks the range."""
    values = [v for v in values if v > 0]
    if not values:
        return {"type": "log", "dtick": 1}
    low, high = math.log10(min(values)), math.log10(max(values))
    return {"type": "log", "range": [math.floor(low - 0.5), high + 0.12], "dtick": 1, "tickformat": "~s"}


def _hashrate_section(go, runs: list[RunResult]) -> Section:
    fig = go.Figure()
    for run in runs:
        ms = [m for m in run.measurements if m.kind == HASHRATE]
        if not ms:
            continue
        above = [m.summary.max - m.value for m in ms]
        below = [m.value - m.summary.min for m in ms]
        fig.add_bar(name=_label(run), x=[_config(m.name) for m in ms], y=[m.value for m in ms],
                    marker_color=_color(runs, run),
                    error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
                    hovertemplate="%{x}<br>%{y:.4s}H/s<extra>%{fullData.name}</extra>")
    if not fig.data:
        return Section("Hashrate per backend", None, ["no hashing measurement in these results"])
    # Log axis: a GPU (GH/s) and the python reference (kH/s) of the same machine differ by 10^4, and on a linear
    # axis every CPU bar beside a GPU one would be a line on the floor.
    ends = [v for run in runs for m in run.measurements if m.kind == HASHRATE for v in (m.summary.min, m.summary.max)]
    fig.update_layout(title="SHA-256d hashrate (median; bars span min–max of the samples) [measured]",
                      yaxis_title="H/s (log)", yaxis=_log_axis(ends),
                      xaxis_title="backend-impl-threads", barmode="group")
    return Section("Hashrate per backend", fig, _shared_notes(runs, HASHRATE, "benchmarks", _config))


def _shared_notes(runs: list[RunResult], kind: str, noun: str, name=lambda n: n) -> list[str]:
    """Per run, the line naming its measurements of this kind taken while other work shared the CPUs (as `compare`
    and the terminal say it): a bar that is low for that reason should not read as the machine's speed."""
    notes = []
    for run in runs:
        note = shared_note([(name(m.name), m.cpu_load) for m in run.measurements if m.kind == kind], noun)
        if note:
            notes.append(f"{_label(run)}: {note}")
    return notes


def _energy_section(go, runs: list[RunResult]) -> Section:
    fig = go.Figure()
    notes = []
    for run in runs:
        ms = [m for m in run.measurements if m.kind == HASHRATE and m.joules_per_unit is not None]
        if ms:
            fig.add_bar(name=_label(run), x=[_config(m.name) for m in ms], marker_color=_color(runs, run),
                        y=[m.joules_per_unit * 1e12 for m in ms], text=[m.energy_source for m in ms],
                        hovertemplate="%{x}<br>%{y:.4g} J/TH<br>%{text}<extra>%{fullData.name}</extra>")
    if not fig.data:
        notes.append("no energy was metered with the hashing measurements (no RAPL/NVML/IPMI reading or declared "
                     "wattage), so there is no J/TH to show")
        return Section("Energy per terahash", None, notes)
    # The log axis from the decade below the lowest J/TH, as for the hashrate: plotly's own range started at the
    # lowest bar, so the most efficient configuration (a GPU beside the CPU kernels) read as a sliver.
    fig.update_layout(title="J/TH per configuration (lower is better; label = energy source)", yaxis_title="J/TH",
                      yaxis=_log_axis([v for trace in fig.data for v in trace.y]),
                      xaxis_title="backend-impl-threads", showlegend=len(fig.data) > 1)  # one bar set: no legend
    notes.append("for scale: an Antminer S21 XP is rated 13.5 J/TH")
    return Section("Energy per terahash", fig, notes)


# The probe panels, in this order where the results have them: one y axis per unit, since GFLOP/s, GB/s and
# tokens/s cannot share one.
PROBE_PANELS = (("FLOP/s", "GEMM, FLOP/s"), ("B/s", "memory bandwidth, B/s"), ("tokens/s", "tokens/s"))


def _probe_section(runs: list[RunResult]) -> Section:
    from plotly.subplots import make_subplots

    probes = [m for run in runs for m in run.measurements if m.kind == PROBE]
    if not probes:
        return Section("Inference probes", None,
                       ["no probe in these results (hashbench probe, or hashbench run without --no-probes)"])
    known = [unit for unit, _ in PROBE_PANELS]
    units = [unit for unit in known if any(m.unit == unit for m in probes)]
    units += sorted({m.unit for m in probes} - set(known))
    titles = [dict(PROBE_PANELS).get(unit, unit) + " (higher is better, log)" for unit in units]
    metered = any(m.joules_per_unit is not None for m in probes if m.unit == "tokens/s")
    if metered:  # only where some token probe has energy: an empty axis box reads as a chart that failed to draw
        titles.append("J/token (lower is better, log)")
    cols = min(len(titles), 2)
    rows = -(-len(titles) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.3 / rows,
                        horizontal_spacing=0.12)

    def cell(i: int) -> dict:
        return {"row": i // cols + 1, "col": i % cols + 1}

    # One trace per run and panel, bars grouped: the same probe in two runs stands side by side, never stacked.
    for run in runs:
        color = _color(runs, run)
        first = True
        for i, unit in enumerate(units):
            ms = [m for m in run.measurements if m.kind == PROBE and m.unit == unit]
            if ms:
                fig.add_bar(x=[m.name for m in ms], y=[m.value for m in ms], name=_label(run), showlegend=first,
                            legendgroup=run.run_id, marker_color=color, hovertext=[m.provenance for m in ms],
                            texttemplate="%{y:.3s}", textposition="inside", insidetextanchor="end",
                            hovertemplate=f"%{{x}}<br>%{{y:.4s}} {unit}<br>%{{hovertext}}"
                                          "<extra>%{fullData.name}</extra>", **cell(i))
                first = False
        jpt = [m for m in run.measurements
               if m.kind == PROBE and m.unit == "tokens/s" and m.joules_per_unit is not None]
        if jpt:
            fig.add_bar(x=[m.name for m in jpt], y=[m.joules_per_unit for m in jpt], name=_label(run),
                        legendgroup=run.run_id, showlegend=False, marker_color=color,
                        hovertext=[m.energy_source for m in jpt], texttemplate="%{y:.3g}", textposition="inside",
                        insidetextanchor="end",
                        hovertemplate="%{x}<br>%{y:.4g} J/token<br>%{hovertext}<extra>%{fullData.name}</extra>",
                        **cell(len(units)))
    for i in range(len(titles)):
        fig.update_yaxes(_log_axis([v for trace in fig.select_traces(**cell(i)) for v in trace.y]), **cell(i))
    fig.update_xaxes(tickangle=-20)
    notes = [] if metered else ["no energy was metered with the token probes: no J/token"]
    notes += _shared_notes(runs, PROBE, "probes")
    fig.update_layout(title="Inference probes (random weights, real shapes) [measured]", barmode="group",
                      height=450 * rows, showlegend=len({run.run_id for run in runs
                                                         if any(m.kind == PROBE for m in run.measurements)}) > 1)
    return Section("Inference probes", fig, notes)


def _yield_rows(runs: list[RunResult], market_file: Path | None):
    """(label, kind, revenue $/kWh, profit $/kWh, breakeven) for this machine and for catalog references."""
    from ..market import load_snapshot, stale_note
    from ..runfile import parse_run
    from ..yields import YieldRequest, compute_yield
    from .pbjson import to_pytest_benchmark

    snapshot = load_snapshot(market_file)
    rows, notes = [], []
    latest = max(runs, key=lambda r: r.started) if runs else None  # by time: results may be given in any order
    if latest is not None:
        measured = parse_run(to_pytest_benchmark(latest), "the latest result")
        try:
            report = compute_yield(YieldRequest(), snapshot, measured)
        except InputError as exc:
            notes.append(f"this machine cannot be valued: {exc}")
        else:
            # The age of the market figures is said once below, for every bar.
            own_age = stale_note([i for sec in (report.mining, report.ai) if sec for i in sec.inputs.items()])
            notes += [n for n in report.notes if n != own_age]
            # The bar says what its power rests on: a run made with --watts declared it, nothing measured it.
            if report.mining:
                rows.append((f"this machine, mining ({report.mining.inputs['watts'].kind} power)", report.mining))
            if report.ai:
                rows.append((f"this machine, AI ({report.ai.inputs['watts'].kind} power)", report.ai))
    for label, req in ((f"{REFERENCE_ASIC}, mining (nameplate)", YieldRequest(asic=REFERENCE_ASIC)),
                       (f"{REFERENCE_GPU}, 8B tokens (published)", YieldRequest(gpu=REFERENCE_GPU))):
        section = (report := compute_yield(req, snapshot)).mining or report.ai
        rows.append((label, section))
        # What the reference bar rests on (board TDP, every second sold) belongs under the chart, as for this machine.
        notes += [f"{label}: {n.split('; pass --')[0]}" for n in section.notes
                  if not n.startswith("profit counts power only")]  # the chart's own note says that once
    if age := stale_note([item for _, section in rows for item in section.inputs.items()]):
        notes.append(age)
    return rows, list(dict.fromkeys(notes)), snapshot


def _usd(value: float) -> str:
    return f"-${-value:.3g}" if value < 0 else f"${value:.3g}"


def _money_section(go, runs: list[RunResult], market_file: Path | None) -> Section:
    rows, notes, snapshot = _yield_rows(runs, market_file)
    labels = [label for label, _ in rows]
    revenue = [s.result.revenue_usd_per_kwh for _, s in rows]
    profit = [s.result.profit_usd_per_kwh for _, s in rows]
    price = rows[0][1].inputs["power_usd_per_kwh"].value
    fig = go.Figure()
    # Revenue on a log axis: a CPU earns ~1e-5 $/kWh hashing, an H100 dollars serving tokens. Profit is revenue
    # minus the power price (the dashed line), so bars below the line lose money; each bar's label says it.
    fig.add_bar(name="revenue $/kWh", x=labels, y=revenue, text=[f"${r:.3g}/kWh<br>profit {_usd(p)}" for r, p in
                                                                  zip(revenue, profit, strict=True)],
                textposition="outside", marker_color=["#2ca02c" if p > 0 else "#d62728" for p in profit],
                hovertemplate="%{x}<br>%{text}<extra></extra>")
    # The line's label is placed by hand: on a log axis an annotation's y is log10 of the value, and plotly's
    # add_hline(annotation_text=...) put it a decade and more away from its line.
    fig.add_hline(y=price, line_dash="dash")
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=math.log10(price), yref="y", yanchor="bottom",
                       text=f"power price ${price:.3f}/kWh", showarrow=False)
    # One label per decade, and room under the line and above the tallest bar for its outside text.
    low = math.log10(min([price, *(r for r in revenue if r > 0)]))
    high = math.log10(max([price, *revenue]))
    fig.update_layout(title=f"What a kWh earns: mining vs AI [estimated; {snapshot.label}]",
                      yaxis_title="revenue, USD per kWh (log)", yaxis_type="log", showlegend=False,
                      yaxis_dtick=1, yaxis_range=[low - 0.5, high + 0.5])
    notes.append("green earns more than the power costs, red less; profit counts power only: no hardware, "
                 "hosting, staff or depreciation")
    return Section("Mining vs AI, per kWh", fig, notes)


def _heatmap_section(go, sites_file: Path | None, market_file: Path | None) -> Section:
    from ..market import load_snapshot
    from ..plan import PlanMarket, axis_around, load_sites, parse_sites, sensitivity_grid
    from ..units import format_usd_short

    snapshot = load_snapshot(market_file)
    site = (load_sites(sites_file, snapshot) if sites_file else
            parse_sites({"site": [EXAMPLE_SITE]}, "built-in example site", snapshot))[0]
    price = site.power_usd_per_kwh.value
    grid = sensitivity_grid(site, PlanMarket.from_snapshot(snapshot), axis_around(snapshot.get("btc_price_usd")),
                            axis_around(snapshot.get("difficulty")), (price,))
    z = grid.matrix("profit_usd_per_day")
    share = grid.matrix("mining_mw")
    text = [[f"{format_usd_short(z[d][b])}<br>{share[d][b] / site.mw * 100:.0f}% BTC" for b in range(len(z[0]))]
            for d in range(len(z))]
    # Four figures, not whole thousands: the range's quarter points ($75,500, $108,500) read as $76k and $108k.
    fig = go.Figure(go.Heatmap(z=z, x=[f"${b / 1e3:,.4g}k" for b in grid.btc_prices],
                               y=[f"{d / 1e12:,.4g} T" for d in grid.difficulties], text=text,
                               # the best split never runs a fleet at a loss, so profit is >= 0: a sequential
                               # scale, not a red-for-loss one
                               texttemplate="%{text}", colorscale="YlGn", colorbar={"title": "$/day"},
                               hovertemplate="BTC %{x}, difficulty %{y}<br>%{text}<extra></extra>"))
    fig.update_layout(title=f"{site.name}: best-split profit per day at ${price:.3f}/kWh [estimated]",
                      xaxis_title="BTC price", yaxis_title="network difficulty")
    note = (f"cells show the profit-maximising split's profit and the share of the {site.mw:g} MW cap given to "
            "mining; the site planner's method: `hashbench plan --help`")
    return Section("Sensitivity: BTC price × difficulty", fig, [note])


def _speed_pct(s: Series, points, first: float) -> list[float]:
    rate = higher_is_better(s.unit)
    return [(p.value / first if rate else first / p.value if p.value else 0.0) * 100 for p in points]


def _hover(s: Series, points) -> list[list[str]]:
    return [[f"{p.value:.4g} {s.unit}", (p.git_commit or "")[:10],
             "<br>CPUs shared in its window: may be below this machine alone" if p.shared else ""] for p in points]


def _series_label(s: Series, many_machines: bool) -> str:
    """The benchmark's name; where the chart holds several machines, which one: its label cut at a word (a cut
    mid-word read "Processor (fa)") and its fingerprint's start, which tells apart two machines of one CPU model."""
    if not many_machines:
        return s.name
    machine = s.machine
    if len(machine) > 40:
        machine = machine[:40].rsplit(" ", 1)[0].rstrip(" ,(") + "…"
    return f"{s.name} ({machine}, {s.fingerprint[:8]})"


def _trend_section(go, series: list[Series]) -> Section:
    if not series:
        return Section("History", None, ["no trend to plot: it takes two runs or more of one machine (several "
                                         "results, or --from-history)"])
    fig = go.Figure()
    failed = shared = 0
    many = len({s.fingerprint for s in series}) > 1
    for s in series:
        # Relative to each series' first verified run, as a speed: hashrates, token rates and timings share one
        # axis, and a regression points down whatever the unit (a time that doubles is half the speed: 50 %, not
        # 200 %). A run whose backend gave wrong nonces is no point of the line: a red cross beside it.
        # The first run that measured something: a run at 0 (every scan stopped at once) is no base for a ratio.
        good = s.verified_points
        first = next((p.value for p in (good or s.points) if p.value), 1.0)
        # A point measured while other work shared the CPUs stays on the line, hollow.
        shared += sum(p.shared for p in good)
        fig.add_scatter(x=[p.started for p in good], y=_speed_pct(s, good, first), mode="lines+markers",
                        name=_series_label(s, many), customdata=_hover(s, good),
                        marker={"symbol": ["circle-open" if p.shared else "circle" for p in good], "size": 8},
                        hovertemplate="%{x}<br>%{customdata[0]} (%{y:.1f}%)<br>commit %{customdata[1]}"
                                      "%{customdata[2]}<extra>%{fullData.name}</extra>")
        if bad := [p for p in s.points if p.verify_failed]:
            failed += len(bad)
            fig.add_scatter(x=[p.started for p in bad], y=_speed_pct(s, bad, first), mode="markers",
                            showlegend=False, marker={"symbol": "x", "color": "#d62728", "size": 10},
                            customdata=_hover(s, bad),
                            name=f"{s.name}: verification failed",
                            hovertemplate="%{x}<br>%{customdata[0]}<br>commit %{customdata[1]}<br>"
                                          "verification FAILED: wrong nonces<extra>%{fullData.name}</extra>")
    fig.update_layout(title="Trend per benchmark and machine: median of each run as a speed, % of its first run "
                            "(higher is better; a timing's inverse)",
                      xaxis_title="run started", yaxis_title="% of first run's speed",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.4},  # below the axis title, not over it
                      height=420 + 20 * math.ceil(len(series) / 2))  # room for the legend's rows, two a row
    notes = [f"{len(series)} series over {len({s.fingerprint for s in series})} machine(s)"]
    if failed:
        notes.append(f"{failed} point(s) from runs whose backend failed verification (wrong nonces) are red crosses, "
                     "not part of any line")
    if shared:
        notes.append(f"{shared} point(s) measured while other work, a hypervisor or a CPU quota took CPU time in "
                     "their window are hollow: their figures may be below what the machine does alone")
    return Section("History", fig, notes)


def series_from_runs(runs: list[RunResult], history: Sequence[Series] = ()) -> list[Series]:
    """The trend of results given as files (no database needed), joined to the history's trend where given: a run
    already stored there is not counted twice. A series needs two runs to be a trend."""
    from .history import Point, utc_key

    out = {(s.fingerprint, s.name, s.unit): Series(s.fingerprint, s.machine, s.name, s.unit, list(s.points))
           for s in history}
    stored = {p.run_id for s in history for p in s.points}
    for run in runs:
        if run.run_id in stored:
            continue
        for m in run.measurements:
            key = (run.fingerprint, m.name, m.unit)
            if key not in out:
                out[key] = Series(run.fingerprint, run.host.label, m.name, m.unit)
            s = m.summary
            out[key].points.append(Point(run.run_id, run.started, run.host.git_commit, m.value, s.min, s.max,
                                         len(m.samples), m.joules_per_unit, run.verified(m) == VERIFY_FAILED,
                                         bool(m.cpus_shared)))
    for series in out.values():
        series.points.sort(key=lambda p: utc_key(p.started))
    return [s for s in out.values() if len(s.points) > 1]


def build_sections(runs: list[RunResult], series: list[Series], *, sites_file: Path | None = None,
                   market_file: Path | None = None) -> list[Section]:
    go, _ = _plotly()
    return [_hashrate_section(go, runs), _energy_section(go, runs), _probe_section(runs),
            _money_section(go, runs, market_file), _heatmap_section(go, sites_file, market_file),
            _trend_section(go, series)]


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.note { color: #555; font-size: 0.9rem; margin: 0.2rem 0; } table { border-collapse: collapse; font-size: 0.85rem; }
td, th { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: left; } .plot { min-height: 450px; }
"""


def render_html(runs: list[RunResult], sections: list[Section]) -> str:
    _, offline = _plotly()
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>hashbench report</title><style>{_STYLE}</style>",
             # plotly.js itself, inline: the file works with no network at all
             f'<script type="text/javascript">{offline.get_plotlyjs()}</script>', "</head><body>",
             "<h1>hashbench report</h1>",
             (f'<p class="note">generated {datetime.now(UTC).isoformat(timespec="seconds")} by hashbench '
              f"{html.escape(__version__)}; every figure is labelled measured, estimated, nameplate or declared</p>")]
    if runs:
        parts.append("<table><tr><th>run</th><th>machine</th><th>fingerprint</th><th>commit</th><th>complete</th>"
                     "<th>verified</th><th>measurements</th></tr>")
        for r in runs:
            parts.append(f"<tr><td>{html.escape(r.started)}</td><td>{html.escape(r.host.label)}</td>"
                         f"<td>{r.fingerprint}</td><td>{html.escape((r.host.git_commit or '')[:12])}"
                         f"{' (dirty)' if r.host.git_dirty else ''}</td><td>{'yes' if r.complete else 'NO'}</td>"
                         f"<td>{html.escape(r.verification)}</td><td>{len(r.measurements)}</td></tr>")
        parts.append("</table>")
    for i, section in enumerate(sections):
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.figure is not None:
            parts.append(section.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"hb-plot-{i}",
                                                default_width="100%", default_height="450px"))
        for note in section.notes:
            parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out: Path, runs: list[RunResult], series: list[Series], *, sites_file: Path | None = None,
                 market_file: Path | None = None) -> list[Section]:
    sections = build_sections(runs, series, sites_file=sites_file, market_file=market_file)
    text = render_html(runs, sections)
    write_atomic(out, text, "report")  # a Ctrl-C or a full disk leaves the previous report, not half of one
    return sections

