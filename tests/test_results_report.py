"""The HTML report: self-contained (plotly embedded, no CDN), and really rendered: headless Chromium runs its
JavaScript, the DOM must hold plotly's SVG, and a screenshot must show the plots' colours."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("plotly", reason="the HTML report needs plotly (results extra)")

from results_helpers import hash_measurement, make_run, noisy, run_cli, with_cpu_load

from hashbench.results.report import build_sections, series_from_runs, write_report
from hashbench.results.schema import Check

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--virtual-time-budget=15000"]
PLOT_BG = (229, 236, 246)  # plotly's default plot area colour
FIRST_TRACE = (99, 110, 250)  # plotly's first trace colour (#636efa)


def _history_runs():
    runs = []
    for i, factor in enumerate((1.0, 1.02, 0.97, 1.01)):
        runs.append(make_run([hash_measurement(noisy(2e7 * factor, 10, i), energy_j=3.0),
                              hash_measurement(noisy(4e6 * factor, 10, 10 + i), impl="portable")],
                             started=f"2025-11-{18 + i}T10:00:00+00:00", probes=True))
    return runs


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium to render the report (Debian: apt-get install chromium; .ci/run does)")


def _browse(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"  # a fresh profile per run
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], check=False,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    runs = _history_runs()
    sections = write_report(out, runs[-1:], series_from_runs(runs))
    assert all(s.figure is not None for s in sections), [(s.title, s.notes) for s in sections]
    return out


def test_report_is_self_contained(report):
    html = report.read_text()
    # no external script or stylesheet: plotly.js (3+ MB) is inline, the page needs no network
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=", html)
    assert len(html) > 3_000_000 and "Plotly" in html
    for title in ("Hashrate per backend", "Energy per terahash", "Inference probes", "Mining vs AI, per kWh",
                  "Sensitivity: BTC price × difficulty", "History"):
        assert title in html
    assert html.count('id="hb-plot-') == 6


def test_report_renders_in_headless_chromium(report, tmp_path):
    chromium = _chromium()
    dom = _browse(chromium, tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    # plotly draws each figure into <svg class="main-svg"> elements: present only if its JavaScript ran
    plots = dom.stdout.count('class="plot-container plotly"')
    assert plots == 6, dom.stdout[-2000:]
    assert dom.stdout.count('class="main-svg"') >= 2 * plots
    assert dom.stdout.count('class="point"') >= 10  # bars drawn
    assert 'class="hm"' in dom.stdout or "heatmaplayer" in dom.stdout  # the heatmap

    png = tmp_path / "report.png"
    shot = _browse(chromium, tmp_path, f"--screenshot={png}", "--window-size=1280,4200", report.as_uri())
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    image = pytest.importorskip("PIL.Image", reason="Pillow checks the screenshot").open(png).convert("RGB")
    pixels = image.load()
    width, height = image.size
    counts = {"plot_bg": 0, "trace": 0, "green": 0, "yellow": 0, "non_white": 0}
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            r, g, b = pixels[x, y]
            if (r, g, b) != (255, 255, 255):
                counts["non_white"] += 1
            if abs(r - PLOT_BG[0]) + abs(g - PLOT_BG[1]) + abs(b - PLOT_BG[2]) < 6:
                counts["plot_bg"] += 1
            if abs(r - FIRST_TRACE[0]) + abs(g - FIRST_TRACE[1]) + abs(b - FIRST_TRACE[2]) < 30:
                counts["trace"] += 1
            if g > 100 and r < 80 and b < 100:
                counts["green"] += 1  # the heatmap's dark end, the money chart's earning bars
            if r > 220 and g > 220 and b < 190:
                counts["yellow"] += 1  # the heatmap's light end
    sampled = (width // 2) * (height // 2)
    # plot areas painted (five cartesian plots of ~1000×300 px), bars in the first trace colour, and the
    # heatmap's yellow-to-green scale with both ends present
    assert counts["plot_bg"] > 0.05 * sampled, counts
    assert counts["trace"] > 2000, counts
    assert counts["green"] > 500 and counts["yellow"] > 500, counts
    assert counts["non_white"] > 0.15 * sampled, counts


def test_report_cli_from_history(tmp_path):
    pytest.importorskip("sqlalchemy")
    from hashbench.results.history import open_history

    db = str(tmp_path / "h.sqlite")
    h = open_history(db)
    for run in _history_runs():
        h.store(run)
    h.close()
    out = tmp_path / "r.html"
    code, stdout, err = run_cli("report", "--from-history", "--db", db, "--html", str(out))
    assert code == 0, err
    assert "6 of 6 sections plotted" in stdout and out.stat().st_size > 1_000_000
    code, _, err = run_cli("report", "--html", str(out))
    assert code == 2 and "give result files" in err


def test_report_with_results_and_from_history_trends_both(tmp_path):
    """RESULT files with --from-history: the trend was the history's alone, so files not stored there were left out
    of it (an empty history gave no trend at all, though the files alone make one)."""
    pytest.importorskip("sqlalchemy")
    from hashbench.results.history import open_history
    from hashbench.results.pbjson import write_result

    runs = _history_runs()
    files = []
    for i, run in enumerate(runs[2:]):
        files.append(str(tmp_path / f"r{i}.json"))
        write_result(run, Path(files[-1]))
    db = str(tmp_path / "h.sqlite")
    out = tmp_path / "r.html"
    code, stdout, err = run_cli("report", *files, "--from-history", "--db", db, "--html", str(out))
    assert code == 0 and "6 of 6 sections plotted" in stdout, stdout + err  # an empty history, two files: a trend

    h = open_history(db)
    for run in runs[:3]:  # the third is also given as a file: counted once
        h.store(run)
    stored = h.trend(fingerprint=runs[0].fingerprint)
    h.close()
    series = series_from_runs(runs[2:], stored)
    assert len(series) == len(series_from_runs(runs)) > 1
    assert all([p.run_id for p in s.points] == [r.run_id for r in runs] for s in series)


def test_report_marks_a_run_whose_backend_failed_verification(tmp_path):
    """The runs table said complete: yes and nothing else, while the plots showed a backend that gave wrong nonces."""
    run = make_run([hash_measurement(noisy(2e7, 10, 1))],
                   checks=[Check("cython", "avx2", 4, False, ("height 2016",)), Check("python", "python", 4, True)])
    write_report(tmp_path / "r.html", [run], series_from_runs([run]))
    assert "<td>FAILED: cython (avx2)</td>" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_report_sections_without_data_say_why(tmp_path):
    run = make_run([hash_measurement(noisy(2e7, 10, 1))])  # no energy, no probes, one run
    sections = {s.title: s for s in write_report(tmp_path / "r.html", [run], series_from_runs([run]))}
    assert sections["Energy per terahash"].figure is None
    assert "no energy was metered" in sections["Energy per terahash"].notes[0]
    assert sections["Inference probes"].figure is None and sections["History"].figure is None
    assert sections["Mining vs AI, per kWh"].figure is not None  # catalog references are always there


def test_money_chart_says_what_its_reference_bars_rest_on_and_the_heatmap_keeps_its_axis_values():
    """The H100 bar is 5,800 tokens/s × 86,400 s × $0.125/Mtok = $62.64 a day over 0.7 kW × 24 h = 16.8 kWh:
    $3.73/kWh, with the board's TDP (a DGX node draws 10.2 kW / 8 = 1,275 W a GPU) and every second sold. Both
    belong under the chart. The heatmap's BTC axis steps $17,500 either side of $91,000: $73,500 and $108,500 keep
    their half-thousands."""
    go = pytest.importorskip("plotly.graph_objects")
    from hashbench.results.report import _heatmap_section, _money_section

    money = _money_section(go, [], None)
    bar = money.figure.data[0]
    h100 = list(bar.x).index("H100 SXM, 8B tokens (published)")
    assert bar.y[h100] == pytest.approx(5800 * 86_400 * 0.125 / 1e6 / (0.7 * 24))
    assert any("H100 SXM, 8B tokens (published): watts are the H100 SXM's nameplate TDP" in n for n in money.notes)
    assert any("every second is sold (an upper bound)" in n for n in money.notes)
    assert not any("pass --" in n for n in money.notes)
    heatmap = _heatmap_section(go, None, None).figure.data[0]
    assert list(heatmap.x) == ["$56k", "$73.5k", "$91k", "$108.5k", "$126k"]
    assert list(heatmap.y) == ["126 T", "139 T", "152 T", "165 T", "178 T"]


def test_money_chart_names_the_age_of_its_market_figures_once():
    """Every bar is priced with the packaged snapshot's BTC price and difficulty (mining) or token price (AI): the
    chart says once how old they are, not once per bar, and not at all for a bar with no market figure."""
    go = pytest.importorskip("plotly.graph_objects")
    from hashbench.results.report import _money_section

    money = _money_section(go, [make_run()], None)  # the default run has metered hashing: a bar of its own
    assert any(label.startswith("this machine, mining") for label in money.figure.data[0].x)
    aged = [n for n in money.notes if "days old" in n]
    assert len(aged) == 1
    assert "BTC price" in aged[0] and "difficulty" in aged[0] and "token price" in aged[0]


def test_money_chart_labels_its_power_price_line_where_the_line_is():
    """On the log axis plotly's add_hline label sat near $1/kWh while its line was at $0.055: the label must be at
    log10 of the price, and the axis must show the line and every bar (a CPU earns ~1e-5 $/kWh)."""
    go = pytest.importorskip("plotly.graph_objects")
    from hashbench.results.report import _money_section

    fig = _money_section(go, [make_run()], None).figure
    price = fig.layout.shapes[0].y0
    label = [a for a in fig.layout.annotations if a.text.startswith("power price")]
    assert len(label) == 1 and label[0].y == pytest.approx(math.log10(price)) and label[0].yref == "y"
    low, high = fig.layout.yaxis.range
    values = [v for v in fig.data[0].y if v > 0] + [price]
    assert low < math.log10(min(values)) and high > math.log10(max(values))
    assert min(fig.data[0].y) < 1e-3  # this machine's CPU mining bar is on the chart


def test_trend_keeps_a_failed_verification_off_the_line():
    """A run whose backend gave wrong nonces drew a line point like any other (history's trend already left it
    out of its change): it is a red cross, not a point of the line, and the line starts at the first good run."""
    go = pytest.importorskip("plotly.graph_objects")
    from hashbench.results.report import _trend_section

    bad = [Check("cython", "avx2", 4, False, ("height 2016",))]
    runs = [make_run([hash_measurement((h,))], started=f"2025-11-2{i}T10:00:00+00:00", checks=checks)
            for i, (h, checks) in enumerate([(9e7, bad), (2e7, ()), (1e7, ()), (5e7, bad)])]
    section = _trend_section(go, series_from_runs(runs))
    line, crosses = section.figure.data
    assert list(line.y) == [100.0, 50.0] and line.mode == "lines+markers"
    assert list(crosses.y) == [450.0, 250.0] and crosses.mode == "markers" and crosses.marker.symbol == "x"
    assert any("2 point(s) from runs whose backend failed verification" in n for n in section.notes)


def test_trend_plots_every_series_as_a_speed_so_a_regression_points_down():
    """Timings share the trend's axis with rates: a time that doubles is half the speed (50 %), not 200 %, which
    read as a doubled hashrate would."""
    go = pytest.importorskip("plotly.graph_objects")
    from hashbench.results.report import _trend_section
    from hashbench.results.schema import Measurement

    runs = [make_run([Measurement("t", "timing", "s", samples=(v,)), hash_measurement((h,))],
                     started=f"2025-11-2{i}T10:00:00+00:00")
            for i, (v, h) in enumerate([(1.0, 2e7), (2.0, 1e7)])]
    section = _trend_section(go, series_from_runs(runs))
    ys = {trace.name.split(" (")[0]: list(trace.y) for trace in section.figure.data}
    assert ys == {"t": [100.0, 50.0], "sha256d[cython-avx2-x1]": [100.0, 50.0]}


def test_probe_chart_has_a_panel_per_unit_and_a_j_per_token_panel_only_where_a_probe_has_energy(tmp_path):
    from results_helpers import probe_records

    from hashbench.results.schema import measurement_from_probe

    membw = {"probe": "membw", "device": "cuda:0", "preset": "1 GiB", "value": 3.9e12, "unit": "B/s",
             "roofline_fraction": 0.8, "energy_j": None, "joules_per_unit": None, "power_source": "nvml"}
    metered = make_run([hash_measurement(noisy(2e7, 10, 1))], probes=True)
    metered.measurements.append(measurement_from_probe(membw))
    unmetered = make_run([hash_measurement(noisy(2e7, 10, 1))]
                         + [measurement_from_probe({**p, "energy_j": None, "joules_per_unit": None,
                                                    "power_source": "none"}) for p in probe_records()])
    panels = ["GEMM, FLOP/s (higher is better, log)", "memory bandwidth, B/s (higher is better, log)",
              "tokens/s (higher is better, log)", "J/token (lower is better, log)"]
    for run, titles in ((metered, panels), (unmetered, [panels[0], panels[2]])):
        [section] = [s for s in write_report(tmp_path / "r.html", [run], series_from_runs([run]))
                     if s.title == "Inference probes"]
        fig = section.figure
        assert [a.text for a in fig.layout.annotations] == titles
        assert ("no energy was metered with the token probes: no J/token" in section.notes) == (titles != panels)
        # each unit's bars sit in their own panel, on a log axis from the decade below the smallest bar
        for title, unit in zip(titles, ("FLOP/s", "B/s", "tokens/s", "J/token") if titles == panels
                               else ("FLOP/s", "tokens/s"), strict=True):
            i = titles.index(title)
            cell = {"row": i // 2 + 1, "col": i % 2 + 1}
            [trace] = list(fig.select_traces(**cell))
            ms = [m for m in run.measurements if m.unit == unit] if unit != "J/token" else \
                [m for m in run.measurements if m.unit == "tokens/s"]
            assert list(trace.x) == [m.name for m in ms]
            assert list(trace.y) == [m.value if unit != "J/token" else m.joules_per_unit for m in ms]
            [axis] = list(fig.select_yaxes(**cell))
            assert axis.type == "log" and axis.range[0] == math.floor(math.log10(min(trace.y)) - 0.5)
            assert axis.range[1] > math.log10(max(trace.y))


def test_hashrate_axis_is_log_and_holds_a_gpu_and_the_python_reference():
    """A GPU at 9 GH/s and python at 500 kH/s on one machine: on a linear axis every CPU bar is a line on the floor."""
    run = make_run([hash_measurement(noisy(9e9, 10, 1), impl="gpu-stand-in"),
                    hash_measurement(noisy(5e5, 10, 2), impl="slow-stand-in")])
    [section] = [s for s in build_sections([run], []) if s.title == "Hashrate per backend"]
    [trace] = section.figure.data
    axis = section.figure.layout.yaxis
    lows = [y - d for y, d in zip(trace.y, trace.error_y.arrayminus, strict=True)]
    highs = [y + d for y, d in zip(trace.y, trace.error_y.array, strict=True)]
    assert axis.type == "log" and axis.range[0] == 5  # the decade below python's slowest sample
    assert math.log10(min(lows)) > axis.range[0] and axis.range[1] > math.log10(max(highs))


def test_hashrate_and_energy_axes_reach_down_to_a_figure_below_one():
    """The log axes start a decade below the smallest figure above zero, one under 1 (0.4 H/s, 0.5 J/TH) as much as
    a larger one: only a zero (no log10) is left off."""
    from hashbench.results.report import _energy_section, _hashrate_section

    go = _go()
    run = make_run([hash_measurement((0.4, 0.5, 0.6)), hash_measurement((2e7,) * 3, impl="portable", energy_j=3e-6)])
    hashrate = _hashrate_section(go, [run]).figure.layout.yaxis
    assert list(hashrate.range) == pytest.approx([-1, math.log10(2e7) + 0.12])
    energy = _energy_section(go, [run]).figure
    assert list(energy.data[0].y) == pytest.approx([0.5])  # 3 µJ over 6e6 hashes
    assert list(energy.layout.yaxis.range) == pytest.approx([-1, math.log10(0.5) + 0.12])


def test_a_run_whose_every_hashrate_is_zero_still_makes_a_report(tmp_path):
    """A scan stopped at once measures 0 H/s; with nothing above zero the log axis had no range to take (min() of an
    empty list): a traceback instead of the report."""
    from hashbench.results.pbjson import write_result

    run = make_run([hash_measurement((0.0, 0.0, 0.0))])
    [section] = [s for s in build_sections([run], []) if s.title == "Hashrate per backend"]
    assert section.figure.layout.yaxis.type == "log" and section.figure.layout.yaxis.range is None
    write_result(run, tmp_path / "zero.json")
    code, _, err = run_cli("report", str(tmp_path / "zero.json"), "--html", str(tmp_path / "r.html"))
    assert code == 0 and (tmp_path / "r.html").stat().st_size > 0, err


# --- what each section plots, figure by figure ------------------------------------------------------------------------

def _go():
    return pytest.importorskip("plotly.graph_objects")


def _expected_log_axis(values) -> dict:
    """From a decade half a decade or more below the smallest value to just above the largest, a tick a decade."""
    return {"type": "log", "range": [math.floor(math.log10(min(values)) - 0.5), math.log10(max(values)) + 0.12],
            "dtick": 1, "tickformat": "~s"}


def test_hashrate_and_energy_charts_plot_each_run_in_its_own_colour_on_log_axes():
    """Three runs: one without a commit, one with probes only (no bar of its own, yet it keeps its colour slot), one
    with a zero sample (a scan stopped at once: no log10(0)). Bars are medians with min-max whiskers; J/TH is the
    hashing energy alone, never a probe's J/token; both axes are log, from the decade below the smallest bar."""
    from dataclasses import replace

    from results_helpers import HOST

    from hashbench.results.report import PALETTE, _energy_section, _hashrate_section

    go = _go()
    a, b = noisy(2e7, 10, 1), noisy(4e6, 10, 2)
    c = (0.0, 9e9, 9.5e9, 1e10)
    first = make_run([hash_measurement(a, energy_j=3.0), hash_measurement(b, impl="portable")],
                     host=replace(HOST, git_commit=None), started="2025-11-18T10:00:00+00:00")
    probes_only = make_run([], probes=True, started="2025-11-19T10:00:00+00:00")
    third = make_run([hash_measurement(c, impl="gpu-stand-in", threads=2, energy_j=40.0)],
                     started="2025-11-20T10:00:00+00:00")
    runs = [first, probes_only, third]

    section = _hashrate_section(go, runs)
    one, three = section.figure.data
    assert (one.name, three.name) == ("2025-11-18 10:00", "2025-11-20 10:00 @ aaaaaaaaaa")
    assert (one.marker.color, three.marker.color) == (PALETTE[0], PALETTE[2])
    assert list(one.x) == ["cython-avx2-x1", "cython-portable-x1"] and list(three.x) == ["cython-gpu-stand-in-x2"]
    medians = [sorted(a)[4] / 2 + sorted(a)[5] / 2, sorted(b)[4] / 2 + sorted(b)[5] / 2]
    assert list(one.y) == pytest.approx(medians)
    assert one.error_y.type == "data" and one.error_y.symmetric is False
    assert list(one.error_y.array) == pytest.approx([max(a) - medians[0], max(b) - medians[1]])
    assert list(one.error_y.arrayminus) == pytest.approx([medians[0] - min(a), medians[1] - min(b)])
    assert list(three.error_y.arrayminus) == pytest.approx([9.25e9])  # down to the zero sample
    assert one.hovertemplate == "%{x}<br>%{y:.4s}H/s<extra>%{fullData.name}</extra>"
    layout = section.figure.layout
    assert layout.title.text == "SHA-256d hashrate (median; bars span min–max of the samples) [measured]"
    assert (layout.yaxis.title.text, layout.xaxis.title.text, layout.barmode) == ("H/s (log)", "backend-impl-threads",
                                                                                  "group")
    axis = layout.yaxis
    assert {"type": axis.type, "range": list(axis.range), "dtick": axis.dtick, "tickformat": axis.tickformat} == \
        _expected_log_axis([min(b), 1e10])  # the zero sample is left off the log axis
    assert _hashrate_section(go, [probes_only]).notes == ["no hashing measurement in these results"]

    section = _energy_section(go, runs)
    one, three = section.figure.data
    hashes_a, hashes_c = int(sum(a) * 0.1), int(sum(c) * 0.1)  # what hash_measurement records
    assert list(one.x) == ["cython-avx2-x1"] and list(one.y) == pytest.approx([3.0 / hashes_a * 1e12])
    assert list(three.y) == pytest.approx([40.0 / hashes_c * 1e12]) and list(one.text) == ["rapl"]
    assert (one.marker.color, three.marker.color, one.name) == (PALETTE[0], PALETTE[2], "2025-11-18 10:00")
    assert one.hovertemplate == "%{x}<br>%{y:.4g} J/TH<br>%{text}<extra>%{fullData.name}</extra>"
    layout = section.figure.layout
    assert layout.title.text == "J/TH per configuration (lower is better; label = energy source)"
    assert (layout.yaxis.title.text, layout.xaxis.title.text, layout.showlegend) == ("J/TH", "backend-impl-threads",
                                                                                     True)
    axis = layout.yaxis
    assert {"type": axis.type, "range": list(axis.range), "dtick": axis.dtick, "tickformat": axis.tickformat} == \
        _expected_log_axis([3.0 / hashes_a * 1e12, 40.0 / hashes_c * 1e12])
    # the scale note is the catalog's S21 XP: 3645 W at 270 TH/s
    assert section.notes == [f"for scale: an Antminer S21 XP is rated {3645 / 270:g} J/TH"]
    assert _energy_section(go, [first]).figure.layout.showlegend is False  # one run: no legend to read
    assert _energy_section(go, [first, third]).figure.layout.showlegend is True
    # two runs, one metered: one set of bars, and a legend would only name it again
    assert _energy_section(go, [first, probes_only]).figure.layout.showlegend is False
    # a meter that read 0 J (a counter that did not tick) is a bar the log axis leaves off, not a crash
    unticked = _energy_section(go, [make_run([hash_measurement(a, energy_j=0.0)])])
    assert list(unticked.figure.data[0].y) == [0.0]
    assert (unticked.figure.layout.yaxis.type, unticked.figure.layout.yaxis.dtick) == ("log", 1)
    assert _energy_section(go, [probes_only]).notes == [
        "no energy was metered with the hashing measurements (no RAPL/NVML/IPMI reading or declared wattage), so "
        "there is no J/TH to show"]


def test_probe_chart_panels_bars_and_legend():
    """A panel per unit (known units first, in their order, then any other, named by its unit) and J/token where a
    token probe has energy; each run's bars carry its colour and one legend entry; a zero bar stays off the log axis.
    The legend is drawn only when two runs or more have probes."""
    from results_helpers import probe_records

    from hashbench.results.report import PALETTE, _probe_section
    from hashbench.results.schema import measurement_from_probe

    images = {"probe": "vision", "device": "cuda:0", "preset": "resnet-50", "dtype": "bf16", "batch": 32,
              "value": 1200.0, "unit": "images/s", "energy_j": None, "joules_per_unit": None, "power_source": "nvml"}
    stalled = {**images, "preset": "vit-h", "value": 0.0}
    runs = [make_run([hash_measurement(noisy(2e7, 10, 1))], probes=True),
            make_run([], started="2025-11-21T10:00:00+00:00"),  # no probe: a colour slot, no bars
            make_run([measurement_from_probe(p) for p in (*probe_records(), images, stalled)],
                     started="2025-11-22T10:00:00+00:00")]
    section = _probe_section(runs)
    fig = section.figure
    assert [a.text for a in fig.layout.annotations] == [
        "GEMM, FLOP/s (higher is better, log)", "tokens/s (higher is better, log)",
        "images/s (higher is better, log)", "J/token (lower is better, log)"]
    assert fig.layout.title.text == "Inference probes (random weights, real shapes) [measured]"
    assert (fig.layout.barmode, fig.layout.height, fig.layout.showlegend) == ("group", 900, True)  # 2 rows of 450
    # two rows 0.15 apart (0.3 / rows), two columns 0.12 apart: room for each panel's title
    assert fig.layout.yaxis.domain[0] - fig.layout.yaxis3.domain[1] == pytest.approx(0.15)
    assert fig.layout.xaxis2.domain[0] - fig.layout.xaxis.domain[1] == pytest.approx(0.12)
    assert {axis.tickangle for axis in fig.select_xaxes()} == {-20}

    first = [t for t in fig.data if t.name == "2025-11-20 10:00 @ aaaaaaaaaa"]
    gemm, tokens, jpt = first
    assert [t.showlegend for t in first] == [True, False, False]  # one legend entry per run
    assert {t.legendgroup for t in first} == {runs[0].run_id} and {t.marker.color for t in first} == {PALETTE[0]}
    assert {t.marker.color for t in fig.data if t not in first} == {PALETTE[2]}
    assert list(tokens.x) == ["llm-decode[cuda:0-llama-3.1-8b-fp8-b64]", "llm-prefill[cuda:0-llama-3.1-8b-fp8-b64]"]
    assert list(tokens.y) == [5000.0, 50000.0] and list(tokens.hovertext) == ["measured", "measured"]
    assert (tokens.texttemplate, tokens.textposition, tokens.insidetextanchor) == ("%{y:.3s}", "inside", "end")
    assert tokens.hovertemplate == "%{x}<br>%{y:.4s} tokens/s<br>%{hovertext}<extra>%{fullData.name}</extra>"
    assert gemm.hovertemplate == "%{x}<br>%{y:.4s} FLOP/s<br>%{hovertext}<extra>%{fullData.name}</extra>"
    assert list(jpt.y) == [0.12, 0.010] and list(jpt.hovertext) == ["nvml", "nvml"]
    assert (jpt.texttemplate, jpt.textposition, jpt.insidetextanchor) == ("%{y:.3g}", "inside", "end")
    assert jpt.hovertemplate == "%{x}<br>%{y:.4g} J/token<br>%{hovertext}<extra>%{fullData.name}</extra>"
    [vision] = fig.select_traces(row=2, col=1)
    assert list(vision.y) == [1200.0, 0.0]
    [axis] = fig.select_yaxes(row=2, col=1)
    # 1200 is just above 1k: the axis starts at 100, so its bar is a decade tall, not a sliver over 1k
    assert axis.type == "log" and list(axis.range) == [2, pytest.approx(math.log10(1200.0) + 0.12)]
    assert section.notes == []

    alone = _probe_section(runs[:2]).figure  # one run has probes: its legend would only repeat the title
    assert alone.layout.showlegend is False and [a.text for a in alone.layout.annotations][-1].startswith("J/token")
    assert _probe_section(runs[1:2]).notes == [
        "no probe in these results (hashbench probe, or hashbench run without --no-probes)"]


def _s21_xp_usd_per_kwh(btc_usd: float) -> float:
    """The catalog's S21 XP (270 TH/s, 3645 W) at the packaged snapshot's difficulty (152 T), 3.125 BTC subsidy and
    0.036 BTC fees a block: BTC a day over kWh a day."""
    btc_per_day = 270e12 * 86_400 / (152e12 * 2 ** 32) * (3.125 + 0.036)
    return btc_per_day * btc_usd / (3.645 * 24)


def test_money_chart_values_the_latest_run_and_the_references_at_one_power_price():
    """Each bar is revenue per kWh, labelled with its profit (revenue less the $0.055/kWh power price), green where
    that profit is positive, red where not; the line is the power price; the notes keep what the latest run and each
    reference rest on, and say once that profit counts power only."""
    from dataclasses import replace

    from hashbench.results.report import _money_section

    go = _go()
    stopped = replace(make_run(started="2025-11-21T10:00:00+00:00"), complete=False)
    older = make_run(started="2025-11-20T10:00:00+00:00")
    section = _money_section(go, [stopped, older], None)
    bar = section.figure.data[0]
    price = 0.055
    assert list(bar.x) == ["this machine, mining (measured power)", "Antminer S21 XP, mining (nameplate)",
                           "H100 SXM, 8B tokens (published)"]  # the stopped run has hashing only: no AI bar
    s21 = _s21_xp_usd_per_kwh(91_000)
    assert bar.y[1] == pytest.approx(s21) and price < s21 < price + 1  # a profit under a dollar: still green
    assert bar.y[0] < 1e-3  # a CPU's hashing earns next to nothing

    def label(revenue: float) -> str:
        profit = revenue - price
        return f"${revenue:.3g}/kWh<br>profit {'-' if profit < 0 else ''}${abs(profit):.3g}"

    assert list(bar.text) == [label(r) for r in bar.y]
    assert list(bar.marker.color) == ["#2ca02c" if r > price else "#d62728" for r in bar.y] == \
        ["#d62728", "#2ca02c", "#2ca02c"]
    assert (bar.name, bar.textposition, bar.hovertemplate) == ("revenue $/kWh", "outside",
                                                                "%{x}<br>%{text}<extra></extra>")
    [line] = section.figure.layout.shapes
    assert (line.y0, line.y1, line.line.dash) == (price, price, "dash")
    [note] = section.figure.layout.annotations
    assert (note.text, note.x, note.xref, note.xanchor, note.yanchor, note.showarrow) == (
        "power price $0.055/kWh", 0, "paper", "left", "bottom", False)
    layout = section.figure.layout
    assert layout.title.text == "What a kWh earns: mining vs AI [estimated; market snapshot 2025-11-18 (packaged)]"
    assert (layout.yaxis.title.text, layout.yaxis.type, layout.yaxis.dtick, layout.showlegend) == (
        "revenue, USD per kWh (log)", "log", 1, False)
    assert list(layout.yaxis.range) == pytest.approx([math.log10(bar.y[0]) - 0.5, math.log10(max(bar.y)) + 0.5])
    # the latest result's own caveat, each reference's, and the power-only caveat once
    assert any(n.startswith("the latest result is an incomplete run (stopped before it finished)")
               for n in section.notes)
    assert any(n.startswith("H100 SXM, 8B tokens (published): watts are the H100 SXM's nameplate TDP")
               for n in section.notes)
    assert sum("profit counts power only" in n for n in section.notes) == 1
    assert section.notes[-1] == ("green earns more than the power costs, red less; profit counts power only: no "
                                 "hardware, hosting, staff or depreciation")


def test_report_values_and_plans_with_the_market_and_sites_files_it_is_given(tmp_path):
    """--market FILE prices every bar and the heatmap's axes; --sites FILE plans that site, not the built-in one."""
    import json
    from pathlib import Path

    go = _go()
    market = tmp_path / "market.json"
    market.write_text(json.dumps({"kind": "hashbench-market", "schema_version": 1, "date": "2026-01-05",
                                  "figures": {"btc_price_usd": {"value": 182_000, "unit": "USD/BTC",
                                                                "as_of": "2026-01-05", "kind": "published",
                                                                "source": "a test"}}}))
    sites = Path(__file__).resolve().parents[1] / "examples" / "sites.toml"
    run = make_run()
    sections = {s.title: s for s in write_report(tmp_path / "r.html", [run], [], sites_file=sites,
                                                 market_file=market)}
    money = sections["Mining vs AI, per kWh"].figure.data[0]
    assert money.y[list(money.x).index("Antminer S21 XP, mining (nameplate)")] == pytest.approx(
        _s21_xp_usd_per_kwh(182_000))
    assert money.x[0] == "this machine, mining (measured power)"  # the run given is valued beside the references
    heatmap = sections["Sensitivity: BTC price × difficulty"]
    assert heatmap.figure.layout.title.text == "West Texas: best-split profit per day at $0.035/kWh [estimated]"
    assert heatmap.figure.data[0].x[2] == "$182k"  # the axis is centred on the file's BTC price
    assert "share of the 20 MW cap given to mining" in heatmap.notes[0]

    from hashbench.results.report import _heatmap_section

    assert _heatmap_section(go, None, market).figure.data[0].x[2] == "$182k"  # the built-in site, same market


def test_heatmap_cells_say_the_best_splits_profit_and_its_mining_share():
    """The built-in 10 MW site: where the best split mines with the S21 XP fleet alone, 1500 × 3645 W at PUE 1.1 is
    6.01 MW of the cap: 60 % BTC."""
    from hashbench.market import load_snapshot
    from hashbench.plan import PlanMarket, axis_around, parse_sites, sensitivity_grid
    from hashbench.results.report import EXAMPLE_SITE, _heatmap_section

    go = _go()
    section = _heatmap_section(go, None, None)
    heatmap = section.figure.data[0]
    snapshot = load_snapshot(None)
    site = parse_sites({"site": [EXAMPLE_SITE]}, "x", snapshot)[0]
    grid = sensitivity_grid(site, PlanMarket.from_snapshot(snapshot), axis_around(snapshot.get("btc_price_usd")),
                            axis_around(snapshot.get("difficulty")), (0.05,))
    profit, mining = grid.matrix("profit_usd_per_day"), grid.matrix("mining_mw")
    assert [list(row) for row in heatmap.z] == profit
    assert mining[0][0] == pytest.approx(1500 * 3645 * 1.1 / 1e6) and heatmap.text[0][0].endswith("<br>60% BTC")
    assert all(cell.endswith(f"<br>{mining[d][b] / 10 * 100:.0f}% BTC") and cell.startswith("$")
               for d, row in enumerate(heatmap.text) for b, cell in enumerate(row))
    assert (heatmap.texttemplate, heatmap.colorscale[0][1], heatmap.colorbar.title.text) == (
        "%{text}", "rgb(255,255,229)", "$/day")  # YlGn: light yellow for the least profit
    assert heatmap.hovertemplate == "BTC %{x}, difficulty %{y}<br>%{text}<extra></extra>"
    layout = section.figure.layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == ("BTC price", "network difficulty")
    assert section.notes == ["cells show the profit-maximising split's profit and the share of the 10 MW cap given to "
                             "mining; the site planner's method: `hashbench plan --help`"]


def test_trend_lines_per_benchmark_and_machine_with_commit_and_value_on_hover():
    """Two machines, two benchmarks each, every run given in any order: each line starts at its own first run
    (100 %), names its machine, and hovers the value with its unit and the run's commit; two benchmarks of a run that
    failed verification are two red crosses, counted together in the note."""
    from dataclasses import replace

    from results_helpers import HOST, OTHER_HOST

    from hashbench.results.report import _trend_section

    go = _go()
    bad = [Check("cython", "avx2", 4, False, ("height 2016",))]
    mine = [make_run([hash_measurement((h,)), hash_measurement((h / 4,), impl="portable")],
                     host=replace(HOST, git_commit=commit), started=started, checks=checks)
            for h, commit, started, checks in [(3e7, None, "2025-11-23T10:00:00+00:00", bad),
                                               (2e7, "b" * 40, "2025-11-21T10:00:00+00:00", ()),
                                               (1e7, "c" * 40, "2025-11-22T10:00:00+00:00", ())]]
    theirs = [make_run([hash_measurement((h,))], host=OTHER_HOST, started=f"2025-11-2{i}T12:00:00+00:00")
              for i, h in enumerate((5e6, 6e6))]
    series = series_from_runs([*mine, *theirs])
    section = _trend_section(go, series)
    lines = [t for t in section.figure.data if t.mode == "lines+markers"]
    crosses = [t for t in section.figure.data if t.mode == "markers"]
    # the machine's label cut at a word, and its fingerprint's start (two machines of one model differ there)
    assert [t.name for t in lines] == ["sha256d[cython-avx2-x1] (Test CPU 9000 (2 CPUs, 1× NVIDIA H100…, c1ea9605)",
                                       "sha256d[cython-portable-x1] (Test CPU 9000 (2 CPUs, 1× NVIDIA H100…, "
                                       "c1ea9605)",
                                       "sha256d[cython-avx2-x1] (Other CPU 1000 (2 CPUs, 1× NVIDIA H100…, acda2cb7)"]
    # one machine: the legend names the benchmarks alone
    alone = _trend_section(go, series_from_runs(mine)).figure
    assert [t.name for t in alone.data if t.mode == "lines+markers"] == ["sha256d[cython-avx2-x1]",
                                                                        "sha256d[cython-portable-x1]"]
    avx2 = lines[0]
    assert list(avx2.x) == ["2025-11-21T10:00:00+00:00", "2025-11-22T10:00:00+00:00"]  # in time order
    assert list(avx2.y) == [100.0, 50.0] and list(lines[2].y) == pytest.approx([100.0, 120.0])
    assert [list(c) for c in avx2.customdata] == [["2e+07 H/s", "bbbbbbbbbb", ""], ["1e+07 H/s", "cccccccccc", ""]]
    assert avx2.hovertemplate == ("%{x}<br>%{customdata[0]} (%{y:.1f}%)<br>commit %{customdata[1]}"
                                  "%{customdata[2]}<extra>%{fullData.name}</extra>")
    assert len(crosses) == 2 and list(crosses[0].x) == ["2025-11-23T10:00:00+00:00"]
    assert list(crosses[0].y) == [150.0] and [list(c) for c in crosses[0].customdata] == [["3e+07 H/s", "", ""]]
    assert crosses[0].name == "sha256d[cython-avx2-x1]: verification failed" and crosses[0].showlegend is False
    assert (crosses[0].marker.symbol, crosses[0].marker.color, crosses[0].marker.size) == ("x", "#d62728", 10)
    assert crosses[0].hovertemplate == ("%{x}<br>%{customdata[0]}<br>commit %{customdata[1]}<br>verification FAILED: "
                                        "wrong nonces<extra>%{fullData.name}</extra>")
    layout = section.figure.layout
    assert layout.title.text == ("Trend per benchmark and machine: median of each run as a speed, % of its first run "
                                 "(higher is better; a timing's inverse)")
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == ("run started", "% of first run's speed")
    assert (layout.legend.orientation, layout.legend.yanchor, layout.legend.y) == ("h", "top", -0.4)
    assert layout.height == 420 + 20 * 2  # three series: two legend rows
    assert section.notes == ["3 series over 2 machine(s)", "2 point(s) from runs whose backend failed verification "
                             "(wrong nonces) are red crosses, not part of any line"]
    assert _trend_section(go, []).notes == ["no trend to plot: it takes two runs or more of one machine (several "
                                            "results, or --from-history)"]


def test_trend_of_a_timing_that_read_zero_seconds_does_not_divide_by_zero():
    from hashbench.results.report import _trend_section
    from hashbench.results.schema import Measurement

    go = _go()
    runs = [make_run([Measurement("t", "timing", "s", samples=(v,))], started=f"2025-11-2{i}T10:00:00+00:00")
            for i, v in enumerate((2.0, 0.0, 1.0))]
    [line] = _trend_section(go, series_from_runs(runs)).figure.data
    assert list(line.y) == [100.0, 0.0, 200.0]  # no speed to show for zero seconds, not a crash


def test_trend_of_a_series_whose_first_run_measured_zero_starts_at_its_first_real_figure():
    """A first run at 0 H/s (every scan stopped at once) made the baseline 1 H/s: the next runs read 2,000,000,000 %.
    The line is relative to the first run that measured something; the zero run reads 0 %."""
    from hashbench.results.report import _trend_section

    go = _go()
    runs = [make_run([hash_measurement((h,))], started=f"2025-11-2{i}T10:00:00+00:00")
            for i, h in enumerate((0.0, 2e7, 1e7))]
    [line] = _trend_section(go, series_from_runs(runs)).figure.data
    assert list(line.y) == [0.0, 100.0, 50.0]
    [line] = _trend_section(go, series_from_runs(runs[:1] * 2)).figure.data  # nothing but zeros: a flat 0 %
    assert list(line.y) == [0.0, 0.0]


def test_trend_points_carry_each_runs_figures_and_join_the_historys_series():
    from hashbench.results.history import Point, Series

    runs = [make_run([hash_measurement((2e7, 1.8e7, 2.2e7), energy_j=3.0)], started=f"2025-11-2{i}T10:00:00+00:00")
            for i in (1, 2)]
    [series] = series_from_runs(runs)
    m = runs[0].measurements[0]
    assert series.points[0] == Point(runs[0].run_id, runs[0].started, "a" * 40, 2e7, 1.8e7, 2.2e7, 3,
                                     m.joules_per_unit, False)
    assert (series.fingerprint, series.machine, series.name, series.unit) == (
        runs[0].fingerprint, runs[0].host.label, "sha256d[cython-avx2-x1]", "H/s")
    stored = Series("f" * 16, "stored machine", "gemm[cuda:0-bf16]", "FLOP/s",
                    [Point(f"r{i}", f"2025-10-0{i}T10:00:00+00:00", None, 7e14, 7e14, 7e14, 1, None) for i in (1, 2)])
    joined = series_from_runs(runs, [stored])
    assert [(s.fingerprint, s.machine, s.name, s.unit, len(s.points)) for s in joined] == [
        ("f" * 16, "stored machine", "gemm[cuda:0-bf16]", "FLOP/s", 2),
        (runs[0].fingerprint, runs[0].host.label, "sha256d[cython-avx2-x1]", "H/s", 2)]


def test_trend_points_measured_on_shared_cpus_stay_on_the_line_hollow_and_are_counted():
    from hashbench.results.report import _trend_section

    runs = [make_run([with_cpu_load(hash_measurement((h,)), others),
                      with_cpu_load(hash_measurement((h / 2,), impl="sha-ni"), 1.5 if i == 1 else 0.0)],
                     started=f"2025-11-2{i}T10:00:00+00:00")
            for i, (h, others) in enumerate(((2e7, 0.0), (1e7, 1.5), (2e7, 0.0)))]
    series = series_from_runs(runs)
    assert [p.shared for p in series[0].points] == [False, True, False]
    section = _trend_section(_go(), series)
    line, other = section.figure.data
    assert list(line.y) == [100.0, 50.0, 100.0] and list(line.marker.symbol) == ["circle", "circle-open", "circle"]
    assert line.customdata[1][2] == "<br>CPUs shared in its window: may be below this machine alone"
    assert line.customdata[0][2] == "" and list(other.marker.symbol) == ["circle", "circle-open", "circle"]
    assert section.notes[-1] == ("2 point(s) measured while other work, a hypervisor or a CPU quota took CPU time in "
                                 "their window are hollow: their figures may be below what the machine does alone")
    quiet = _trend_section(_go(), series_from_runs([runs[0], runs[2]]))
    assert not any("hollow" in n for n in quiet.notes)


def test_report_page_is_one_document_with_one_plotly_and_a_row_per_run(tmp_path):
    from dataclasses import replace

    from results_helpers import HOST

    dirty = replace(make_run(started="2025-11-20T10:00:00+00:00"), complete=False,
                    host=replace(HOST, git_commit=None, git_dirty=True))
    clean = make_run([hash_measurement(noisy(2e7, 10, 1))], started="2025-11-21T10:00:00+00:00",
                     checks=[Check("cython", "avx2", 4, True)])
    out = tmp_path / "r.html"
    sections = write_report(out, [dirty, clean], [])
    titles = ["Hashrate per backend", "Energy per terahash", "Inference probes", "Mining vs AI, per kWh",
              "Sensitivity: BTC price × difficulty", "History"]
    assert [s.title for s in sections] == titles and [s.figure is not None for s in sections] == [
        True, True, False, True, True, False]
    bare = make_run([], probes=True)  # the other side: no hashing, hence no J/TH; probes, but no trend
    assert [s.title for s in build_sections([bare], series_from_runs([bare, bare]))] == titles
    page = out.read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>hashbench report'
                           "</title><style>")
    assert page.endswith("\n</body></html>") and page.count("<html") == 1 and page.count("<body>") == 1
    assert "</script>\n</head><body>\n<h1>hashbench report</h1>\n" in page
    assert page.count("Plotly.newPlot") == sum(s.figure is not None for s in sections)
    assert page.count("* plotly.js v") == 1  # plotly.js itself, once: not again with each figure
    assert re.search(r'<p class="note">generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 by hashbench ', page)
    assert ("<table><tr><th>run</th><th>machine</th><th>fingerprint</th><th>commit</th><th>complete</th>"
            "<th>verified</th><th>measurements</th></tr>\n") in page
    machine = "Test CPU 9000 (2 CPUs, 1× NVIDIA H100 80GB HBM3)"
    assert (f"<tr><td>2025-11-20T10:00:00+00:00</td><td>{machine}</td><td>{dirty.fingerprint}</td><td> (dirty)</td>"
            "<td>NO</td><td>not checked</td><td>3</td></tr>\n") in page
    assert (f"<tr><td>2025-11-21T10:00:00+00:00</td><td>{machine}</td><td>{clean.fingerprint}</td><td>aaaaaaaaaaaa"
            "</td><td>yes</td><td>yes</td><td>1</td></tr>\n</table>\n") in page
    assert '<div style="height:450px; width:100%;">' in page and '<div id="hb-plot-0"' in page


def test_report_without_plotly_or_a_writable_place_is_one_clear_error(tmp_path, monkeypatch):
    import sys

    from hashbench.errors import InputError
    from hashbench.results.report import ReportUnavailable

    run = make_run()
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=r"^cannot write report '"):
        write_report(tmp_path / "file" / "r.html", [run], [])
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ReportUnavailable, match=r"^the HTML report needs plotly \(.*\); install it with pip install "
                                                r"'hashbench\[results\]'$"):
        write_report(tmp_path / "r.html", [run], [])


def test_hashrate_and_probe_charts_name_the_runs_measured_on_shared_cpus():
    """A bar measured while other work held the CPUs is low for that reason: the section says so under the chart,
    per run, as `compare` and the terminal do; a run measured alone adds nothing."""

    from results_helpers import probe_records

    from hashbench.cpuload import CpuLoad
    from hashbench.results.report import _hashrate_section, _probe_section
    from hashbench.results.schema import measurement_from_probe

    busy = CpuLoad(2, 3.0, 1.4, 0.0, 0.1).to_json()
    alone = CpuLoad(2, 3.0, 0.0, 0.0, 1.0).to_json()

    go = _go()
    quiet = make_run([with_cpu_load(hash_measurement(noisy(2e7, 10, 1)), alone)], started="2025-11-20T10:00:00+00:00")
    probes = [measurement_from_probe(p) for p in probe_records()]
    shared = make_run([with_cpu_load(hash_measurement(noisy(1e7, 10, 2)), busy),
                       with_cpu_load(hash_measurement(noisy(4e6, 10, 3), impl="portable"), alone),
                       with_cpu_load(probes[0], busy), *probes[1:]], started="2025-11-21T10:00:00+00:00")
    assert _hashrate_section(go, [quiet, shared]).notes == [
        "2025-11-21 10:00 @ aaaaaaaaaa: CPUs shared while cython-avx2-x1 was measured: other work kept 1.4 of the 2 "
        "CPUs busy (window means); its figure may be below what this machine does alone"]
    notes = _probe_section([quiet, shared]).notes
    assert notes == [f"2025-11-21 10:00 @ aaaaaaaaaa: CPUs shared while {probes[0].name} was measured: other work "
                     "kept 1.4 of the 2 CPUs busy (window means); its figure may be below what this machine does alone"]
    assert _hashrate_section(go, [quiet]).notes == []
    crowded = make_run([with_cpu_load(hash_measurement(noisy(1e7, 10, 4)), busy),
                        with_cpu_load(hash_measurement(noisy(4e6, 10, 5), impl="portable"), busy),
                        *(with_cpu_load(p, busy) for p in probes[:2])], started="2025-11-22T10:00:00+00:00")
    assert _hashrate_section(go, [crowded]).notes[0].startswith(
        "2025-11-22 10:00 @ aaaaaaaaaa: CPUs shared while all 2 benchmarks were measured: ")
    assert _probe_section([crowded]).notes[-1].startswith(
        "2025-11-22 10:00 @ aaaaaaaaaa: CPUs shared while all 2 probes were measured: ")


def test_dollar_figures_put_the_sign_before_the_dollar_and_none_on_zero():
    from hashbench.results.report import _usd

    assert (_usd(-0.0625), _usd(0.0), _usd(12.5)) == ("-$0.0625", "$0", "$12.5")
