"""What `hashbench plan`, `market show` and `yield` print for a person to read: every table's header, rows, figures and
units, the numbered footnotes that name where each figure came from, and the one-line errors of the list and price
flags. Written from the survivors of mutation testing cli_economics.py (benchmarks/checks/mutation.py): before these,
the printed tables could lose a column, a label or a figure's unit and every test still passed.

The market and site files are this module's own, with round numbers, so the figures are worked by hand here and do
not move when the packaged snapshot is refreshed."""

from __future__ import annotations

import json

import pytest
from economics_helpers import assert_one_line_error, invoke, invoke_json, write_json

from hashbench.cli_economics import _btc, fmt, label

DAY = 86_400
# height 1,050,000 pays 1.5625 BTC; 0.02 BTC fees a block; $80,000; difficulty 120 T
MARKET = {"date": "2026-02-01", "figures": {
    "height": 1_050_000, "btc_price_usd": 80_000, "difficulty": 1.2e14, "fees_btc_per_block": 0.02,
    "power_usd_per_kwh": 0.04, "usd_per_mtok_8b": 0.1, "usd_per_mtok_70b": 0.5, "h100_usd_per_gpu_hour": 2.0,
    "h200_usd_per_gpu_hour": 3.0}}
HASHPRICE = 1e15 * DAY / (1.2e14 * 2**32) * 1.5825 * 80_000  # USD per PH/s per day: $21.22

SITES = """\
[[site]]
name = "Alpha"
mw = 1.0
pue = 1.25
power_usd_per_kwh = 0.05
curtailment = 0.1
pool_fee = 0.02
utilization = 0.5

[[site.asic]]
model = "S21 XP"
count = 100

[[site.gpu]]
model = "H100 SXM"
count = 16
model_class = "8b"
watts = 1000
idle_watts = 300
usd_per_mtok = 0.2

[[site.gpu]]
model = "H200"
count = 8
pricing = "gpu-hour"
gpu_hour_usd = 3.5
watts = 1200

[[site]]
name = "Beta-hydro-lower-river-dam"
mw = 0.5
power_usd_per_kwh = "40/MWh"

[[site.asic]]
model = "S21 XP"
count = 200

[[site.asic]]
model = "S19"
count = 10
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Relative names, run in their folder: a long temporary path would wrap the lines that name the file."""
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "market.json", MARKET)
    (tmp_path / "sites.toml").write_text(SITES, encoding="utf-8")
    return "market.json", "sites.toml"


def rows(text: str) -> list[str]:
    """The printed lines with runs of spaces made one, so a row reads the same whatever the column widths."""
    return [" ".join(line.split()) for line in text.splitlines()]


def section(lines: list[str], start: str, end: str) -> list[str]:
    """From the line that starts with start (or, for a rule, names it) to the next that starts with end."""
    def at(line: str, text: str) -> bool:
        return line.startswith(text) or (line.startswith("─") and f" {text} " in line)
    i = next(n for n, line in enumerate(lines) if at(line, start))
    j = next(n for n, line in enumerate(lines) if n > i and at(line, end))
    return lines[i:j]


PLAN_ARGS = ("--btc-prices", "80k", "--difficulties", "120T,150T", "--power-prices", "0.05,60/MWh")


@pytest.fixture
def plan_text(files) -> tuple[list[str], dict, list[str]]:
    """`hashbench plan` on the two sites, wide enough that no cell wraps, and its --json. (Per test, not per module:
    mutation testing runs only the tests that called the mutated function, and a shared fixture runs in the first.)"""
    result = invoke("plan", "sites.toml", "--market", "market.json", *PLAN_ARGS, env={"COLUMNS": "200"})
    data = invoke_json("plan", "sites.toml", "--market", "market.json", *PLAN_ARGS)
    assert result.exit_code == 0, result.stderr
    return rows(result.stdout), data, result.stdout.splitlines()


def test_plan_prints_each_sites_inputs_with_numbered_sources(plan_text):
    lines, data, _ = plan_text
    # Hashprice by hand: 1 PH/s finds 1e15 × 86,400 / (120e12 × 2^32) blocks a day of 1.5825 BTC at $80,000
    assert f"{HASHPRICE:.2f}" == "21.22"
    assert lines[0] == ("market snapshot 2026-02-01 (market.json): BTC $80,000.00 [estimated, market snapshot "
                        "2026-02-01], difficulty 120.00 T [estimated, market snapshot 2026-02-01], hashprice "
                        "$21.22/PH/s/day [estimated]")
    alpha = section(lines, "site Alpha", "site Beta-hydro-lower-river-dam")
    beta = section(lines, "site Beta-hydro-lower-river-dam", "portfolio:")
    # 1 MW at the meter / PUE 1.25 = 0.800 MW of IT load; curtailment 0.1 reads as uptime 90 %, its footnote [1]
    assert alpha[1] == ("cap 1 MW at the meter, PUE 1.25 → 0.800 MW of IT load; power $0.0500/kWh [declared, site "
                        "file]; uptime 90.0 % [declared, site file [1]]; pool fee 2.0 % [declared, site file]")
    hardware = section(alpha, "hardware (per unit)", "mining vs AI")
    assert hardware[1:] == [
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ fleet ┃ per unit ┃ kind ┃ source ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ 100 × Antminer S21 XP │ 270.00 TH/s │ nameplate │ catalog nameplate [2] │",
        "│ │ 3,645.0 W │ nameplate │ catalog nameplate [2] │",
        "│ 16 × H100 SXM (8b tokens) │ power at full load 1,000.0 W │ declared │ site file [3] │",
        "│ │ utilization (demand) 50.0 % │ declared │ site file │",
        "│ │ output tokens/s 5,800.0 tokens/s │ estimated │ published benchmark [4] │",
        "│ │ price per Mtok (output) $0.200/Mtok │ declared │ site file │",
        "│ │ power when idle 300.0 W │ declared │ site file [5] │",
        "│ 8 × H200 (GPU-hours) │ power at full load 1,200.0 W │ declared │ site file [3] │",
        "│ │ utilization (demand) 50.0 % │ declared │ site file │",
        "│ │ rental price $3.50/GPU-hour │ declared │ site file │",
        "└───────────────────────────┴─────────────────────────────────────┴───────────┴─────────────────────────┘",
        # one line per distinct detail, numbered in the order the rows first name them
        "[1] 1 - curtailment 0.1",
        "[2] Antminer S21 XP: Bitmain spec sheet (S21 XP 270T)",
        "[3] per GPU at full load",
        "[4] per GPU: vLLM offline throughput, Llama-3.1-8B FP8 on one H100 (MLPerf-style run)",
        "[5] per GPU",
    ]
    # Each site numbers its footnotes afresh; the defaults name themselves
    assert beta[1] == ("cap 0.5 MW at the meter, PUE 1 → 0.500 MW of IT load; power $0.0400/kWh [declared, site "
                       "file]; uptime 100.0 % [declared, default [1]]; pool fee 0.0 % [declared, default [2]]")
    assert [line for line in section(beta, "hardware (per unit)", "mining vs AI") if line.startswith(("│", "["))] == [
        "│ 200 × Antminer S21 XP │ 270.00 TH/s │ nameplate │ catalog nameplate [3] │",
        "│ │ 3,645.0 W │ nameplate │ catalog nameplate [3] │",
        "│ 10 × Antminer S19 │ 95.00 TH/s │ nameplate │ catalog nameplate [4] │",
        "│ │ 3,250.0 W │ nameplate │ catalog nameplate [4] │",
        "[1] never curtailed", "[2] no pool fee", "[3] Antminer S21 XP: Bitmain spec sheet (S21 XP 270T)",
        "[4] Antminer S19: Bitmain spec sheet (S19 95T)"]


def test_plan_prints_the_scenarios_the_split_and_each_fleets_breakeven(plan_text):
    lines, data, _ = plan_text
    alpha = section(lines, "site Alpha", "site Beta-hydro-lower-river-dam")
    beta = section(lines, "site Beta-hydro-lower-river-dam", "portfolio:")
    # Peak MW by hand: 100 S21 XP × 3,645 W × PUE 1.25 = 0.456 MW; 16 × 1,000 W + 8 × 1,200 W, × 1.25 = 0.032 MW
    best = data["sites"][0]["best"]
    scenarios = section(alpha, "mining vs AI under the cap", "best split:")
    assert scenarios[2] == "┃ per day (facility energy) ┃ mining only ┃ AI only ┃ best split ┃"
    assert scenarios[4:12] == [
        "│ mining MW (peak) │ 0.456 │ 0.000 │ 0.456 │",
        "│ AI MW (peak) │ 0.000 │ 0.032 │ 0.032 │",
        "│ energy │ 9.8 MWh │ 0.5 MWh │ 10.4 MWh │",
        "│ revenue │ $505 │ $1,024 │ $1,529 │",
        "│ power cost │ $492 │ $27 │ $519 │",
        "│ profit │ $13 │ $997 │ $1,010 │",
        "│ revenue per MWh │ $51.35/MWh │ $1,896.32/MWh │ $147.32/MWh │",
        "│ profit per MWh │ $1.35/MWh │ $1,846.32/MWh │ $97.32/MWh │",
    ]
    assert scenarios[0] == "mining vs AI under the cap (estimated; profit counts power only)"
    assert f"${best['profit_usd_per_day']:,.0f}" == "$1,010"
    assert f"${best['profit_usd_per_mwh']:,.2f}/MWh" == "$97.32/MWh"
    # A site with no GPUs has no AI energy to divide by: n/a, not $0/MWh
    beta_scenarios = section(beta, "mining vs AI under the cap", "best split:")
    assert "│ revenue per MWh │ $65.50/MWh │ n/a │ $65.50/MWh │" in beta_scenarios
    assert "│ profit per MWh │ $25.50/MWh │ n/a │ $25.50/MWh │" in beta_scenarios
    # The split: rank, the fleet's name without its count, units run of those there are, peak MW, money, why not all
    split = section(alpha, "best split:", "breakeven power price")
    assert split[0] == "best split: fleets ranked by profit per MW, the cap filled with the best whole"
    assert split[1] == "units (estimated)"
    assert split[3:5] == ["┃ ┃ ┃ units ┃ peak ┃ profit ┃ per ┃ ┃",
                          "┃ # ┃ fleet ┃ run ┃ MW ┃ /day ┃ MW-day ┃ why not all ┃"]
    assert [line for line in split if line.startswith("│")] == [
        "│ 1 │ H100 SXM (8b tokens) │ 16/16 │ 0.020 │ $708 │ $35,379 │ │",
        "│ 2 │ H200 (GPU-hours) │ 8/8 │ 0.012 │ $289 │ $24,120 │ │",
        "│ 3 │ Antminer S21 XP │ 100/100 │ 0.456 │ $13 │ $29 │ │",
    ]
    # Beta by hand: 137 S21 XP × 3,645 W = 0.499 MW fill the 0.5 MW cap; each earns 0.27 × $21.223 = $5.7302 and
    # pays 87.48 kWh × $0.04 = $3.4992: $2.2310 a day, $612 per MW-day, $306 for the 137.
    assert (round(137 * (0.27 * HASHPRICE - 87.48 * 0.04)), round((0.27 * HASHPRICE - 87.48 * 0.04) / 0.003645)) == (
        306, 612)
    assert [line for line in section(beta, "best split:", "breakeven power price") if line.startswith("│")] == [
        "│ 1 │ Antminer S21 XP │ 137/200 │ 0.499 │ $306 │ $612 │ power cap reached │",
        "│ 2 │ Antminer S19 │ 0/10 │ 0.000 │ $0 │ -$340 │ loses money at this power price │"]
    # Breakeven by hand. H200: $3.50 × 24 h × 0.5 sold = $42 a day over 1.2 kW × 1.25 × 24 h = 36 kWh: $1.1667/kWh.
    # S21 XP: 0.27 PH/s × $21.223 × 0.98 = $5.6155 over 3.645 kW × 1.25 × 24 h = 109.35 kWh: $0.0514/kWh.
    # At Beta (PUE 1, no pool fee) the S21 XP: $5.7302 over 87.48 kWh, $0.0655/kWh; the S19: 0.095 × $21.223 =
    # $2.0162 over 78 kWh, $0.0258/kWh, $0.0142 under Beta's $0.04.
    assert (round(3.5 * 24 * 0.5 / 36, 4), round(0.27 * HASHPRICE * 0.98 / 109.35, 4),
            round(0.27 * HASHPRICE / 87.48, 4), round(0.095 * HASHPRICE / 78, 4)) == (1.1667, 0.0514, 0.0655, 0.0258)
    breakeven = section(alpha, "breakeven power price", "at $0.0500/kWh")
    assert breakeven[0] == "breakeven power price at the meter, per fleet (estimated)"
    assert breakeven[2] == "┃ fleet ┃ kind ┃ breakeven ┃ over $0.0500/kWh ┃"
    assert [line for line in breakeven if line.startswith("│")] == [
        "│ H100 SXM (8b tokens) │ AI │ $2.5698/kWh │ +$2.5198/kWh │",
        "│ H200 (GPU-hours) │ AI │ $1.1667/kWh │ +$1.1167/kWh │",
        "│ Antminer S21 XP │ mining │ $0.0514/kWh │ +$0.0014/kWh │",
    ]
    assert [line for line in section(beta, "breakeven power price", "at $0.0500/kWh") if line.startswith("│")] == [
        "│ Antminer S21 XP │ mining │ $0.0655/kWh │ +$0.0255/kWh │",
        "│ Antminer S19 │ mining │ $0.0258/kWh │ -$0.0142/kWh │"]


def test_plan_prints_the_grid_and_the_portfolio(plan_text):
    lines, data, _ = plan_text
    alpha = section(lines, "site Alpha", "site Beta-hydro-lower-river-dam")
    # One grid per power price (60/MWh read as $0.06/kWh): profit of the best split, mining's share of the 1 MW cap.
    # At $0.06 the S21 XP ($0.0514 breakeven) is left off and the AI fleets alone earn; so at 150 T, where its
    # breakeven falls to $0.0514 × 120/150 = $0.0411. A rule parts the difficulties' two-line cells.
    grid = section(alpha, "at $0.0500/kWh", "note:")
    assert grid == [
        "at $0.0500/kWh: best-split", "profit/day, mining % of the", "cap (estimated)",
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓", "┃ difficulty \\ BTC ┃ $80,000 ┃", "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩",
        "│ 120.00 T │ $1,010 │", "│ │ 46% BTC │", "├──────────────────┼─────────┤",
        "│ 150.00 T │ $997 │", "│ │ 0% BTC │", "└──────────────────┴─────────┘",
        "at $0.0600/kWh: best-split", "profit/day, mining % of the", "cap (estimated)",
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓", "┃ difficulty \\ BTC ┃ $80,000 ┃", "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩",
        "│ 120.00 T │ $992 │", "│ │ 0% BTC │", "├──────────────────┼─────────┤",
        "│ 150.00 T │ $992 │", "│ │ 0% BTC │", "└──────────────────┴─────────┘",
    ]
    # Beta's share is of its own 0.5 MW cap: 0.499 MW is 100 %; at $0.05, 137 × ($5.7302 - $4.374) = $186, and at
    # 150 T 137 × ($5.7302 × 0.8 - $4.374) = $29
    beta = section(lines, "site Beta-hydro-lower-river-dam", "portfolio:")
    grids = beta[beta.index("at $0.0500/kWh: best-split"):]
    assert [line for line in grids if line.startswith("│")] == [
        "│ 120.00 T │ $186 │", "│ │ 100% BTC │", "│ 150.00 T │ $29 │", "│ │ 100% BTC │",
        "│ 120.00 T │ $66 │", "│ │ 100% BTC │", "│ 150.00 T │ $0 │", "│ │ 0% BTC │"]
    assert alpha[-2:] == ["note: curtailed hours switch AI off too; AI buyers usually want firm power",
                          "note: 0.512 MW of the cap unused: every profitable unit already runs"]
    portfolio = section(lines, "portfolio:", "best fleet per MW:")
    assert portfolio[:2] == ["portfolio: 2 sites ranked by best-split profit per MW of cap (estimated; profit counts",
                             "power only)"]
    assert portfolio[3:5] == ["┃ ┃ cap ┃ best split ┃ profit ┃ profit /day ┃ best fleet ┃",
                              "┃ site ┃ power ┃ MW ┃ /day ┃ per cap MW ┃ per MW ┃"]
    assert [line for line in portfolio if line.startswith("│")] == [
        "│ Alpha │ 1 MW │ BTC 0.46 │ $1,010 │ $1,010 │ BTC $29 │",
        "│ │ $50.0/MWh │ AI 0.03 │ │ │ AI $35.4k │",
        "│ Beta-hydro-lower-river-dam │ 0.5 MW │ BTC 0.50 │ $306 │ $611 │ BTC $612 │",
        "│ │ $40.0/MWh │ AI 0.00 │ │ │ AI n/a │",
        "│ all sites │ 1.5 MW │ BTC 0.95 │ $1,316 │ │ │",
        "│ │ │ AI 0.03 │ │ │ │",
    ]
    assert section(lines, "best fleet per MW:", "note: valued with")[:3] == [
        "best fleet per MW: profit a day per MW of peak facility power of the site's best mining (BTC) and AI fleet",
        "a MW of mining earns most at Beta-hydro-lower-river-dam: Antminer S21 XP, $612 per MW-day (estimated)",
        "a MW of AI earns most at Alpha: H100 SXM (8b tokens), $35,379 per MW-day (estimated)",
    ]


def test_table_titles_start_at_the_left_margin(plan_text, files):
    """Every title reads from the left edge, above its table's first column, whether it fits on one line or wraps:
    a centred title floated away from the table it names."""
    _, _, raw = plan_text
    for title in ("hardware (per unit)", "mining vs AI under the cap (estimated; profit counts power only)",
                  "best split: fleets ranked by profit per MW, the cap filled with the best whole units",
                  "(estimated)", "breakeven power price at the meter, per fleet (estimated)",
                  "at $0.0500/kWh: best-split", "profit/day, mining % of the", "cap (estimated)",
                  "portfolio: 2 sites ranked by best-split profit per MW of cap (estimated; profit counts",
                  "power only)"):
        found = [line for line in raw if line.strip() == title]
        assert found and all(line.startswith(title) for line in found), (title, found)
    shown = invoke("market", "show", "--market", files[0], env={"COLUMNS": "200"}).stdout.splitlines()
    assert shown[0].startswith("market snapshot 2026-02-01 (market.json)")


def test_market_show_table_and_json(files):
    market, _ = files
    result = invoke("market", "show", "--market", market, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    lines = rows(result.stdout)
    assert lines[0] == f"market snapshot 2026-02-01 ({market})"
    assert lines[2] == "┃ figure ┃ value ┃ as of ┃ kind ┃ source ┃"
    body = [line for line in lines if line.startswith("│")]
    assert body[:4] == ["│ BTC price │ $80,000.00 │ 2026-02-01 │ declared │ [1] │",
                        "│ difficulty │ 120.00 T │ 2026-02-01 │ declared │ [1] │",
                        "│ block height │ 1,050,000 │ 2026-02-01 │ declared │ [1] │",
                        "│ fees per block │ 0.02 BTC │ 2026-02-01 │ declared │ [1] │"]
    # the packaged figures this file does not give keep their own date, kind and source
    assert "│ B200 rental │ $6.00/GPU-hour │ 2025 │ published │ [3] │" in body
    assert "│ 70B-class tokens │ $0.500/Mtok │ 2026-02-01 │ declared │ [1] │" in body
    notes = [line for line in lines if line.startswith("[")]
    assert notes[0] == f"[1] market file {market}" and notes[2].startswith("[3] B200 cloud rental quotes")
    # --json: the --market file format, indented two spaces a level
    result = invoke("market", "show", "--market", market, "--json")
    assert result.stdout.startswith('{\n  "kind": "hashbench-market",\n  "schema_version": 1,\n')
    assert '\n  "figures": {\n    "btc_price_usd": {\n      "value": 80000.0,\n' in result.stdout
    assert json.loads(result.stdout)["figures"]["btc_price_usd"]["kind"] == "declared"


def test_figures_under_a_thousand_satoshis_print_as_satoshis():
    """0.00001 BTC is 1,000 sat: eight decimals still show it; under that, satoshis to three significant figures."""
    assert _btc(0.00001) == "0.00001000 BTC"
    assert _btc(0.000010005) == "0.00001000 BTC"  # 1,000.5 sat
    assert _btc(0.00000585) == "585 sat"
    assert _btc(0.0000005) == "50.0 sat"
    assert _btc(0.00000000585) == "0.585 sat"
    assert _btc(0.0) == "0.00000000 BTC"
    # a figure the model has no value for, and a key with no format of its own, still print
    assert fmt("btc_per_day", None) == "n/a"
    assert (fmt("something_new", 1234.5), label("something_new")) == ("1234.5", "something_new")
    assert (fmt("uptime", 0.92), label("uptime")) == ("92.0 %", "uptime")


def test_list_and_price_flags_name_themselves_in_one_line(files):
    market, sites = files
    assert_one_line_error(invoke("plan", sites, "--market", market, "--btc-prices", " , "),
                          "hashbench: error: --btc-prices: give one or more values separated by commas")
    assert_one_line_error(invoke("yield", "--asic", "S21", "--power-price", "cheap", "--market", market),
                          "hashbench: error: --power-price: cannot read 'cheap'")


def _tables(text: str, site: str) -> list[str]:
    """The raw lines of a site's split and breakeven tables, and of the portfolio table, as printed."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("─") and f" site {site} " in line)
    keep, inside = [], False
    for line in lines[start:]:
        if line.startswith(("┏", "┃", "┡", "│", "├")):
            inside = True
        if inside:
            keep.append(line.rstrip())
        if line.startswith("└"):
            inside = False
    return keep


def test_narrow_terminals_fold_names_and_keep_every_figure_whole_and_right_aligned(files):
    """At 80 columns the split table (its headers on two lines) keeps fleet names whole and folds the reason, never a
    figure; money and MW sit right-aligned under their headers; a site name too long for its column folds in the
    portfolio, not cut to "…". At 60, the breakeven table folds the fleet name and keeps the prices whole."""
    result = invoke("plan", "sites.toml", "--market", "market.json", "--no-grid", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    tables = _tables(result.stdout, "Beta-hydro-lower-river-dam")
    split = tables[tables.index("┃ # ┃ fleet           ┃     run ┃    MW ┃   /day ┃ MW-day ┃ why not all        ┃"):]
    assert split[2:6] == [
        "│ 1 │ Antminer S21 XP │ 137/200 │ 0.499 │   $306 │   $612 │ power cap reached  │",
        "│ 2 │ Antminer S19    │    0/10 │ 0.000 │     $0 │  -$340 │ loses money at     │",
        "│   │                 │         │       │        │        │ this power price   │",
        "└───┴─────────────────┴─────────┴───────┴────────┴────────┴────────────────────┘",
    ]
    assert "│ Antminer S21 XP │ mining │ $0.0655/kWh │     +$0.0255/kWh │" in tables
    header = "┃ site            ┃     power ┃         MW ┃   /day ┃  per cap MW ┃     per MW ┃"
    portfolio = tables[tables.index(header):]
    assert portfolio[2:11] == [
        "│ Alpha           │      1 MW │   BTC 0.46 │ $1,010 │      $1,010 │    BTC $29 │",
        "│                 │ $50.0/MWh │    AI 0.03 │        │             │  AI $35.4k │",
        "├─────────────────┼───────────┼────────────┼────────┼─────────────┼────────────┤",
        "│ Beta-hydro-lowe │    0.5 MW │   BTC 0.50 │   $306 │        $611 │   BTC $612 │",
        "│ r-river-dam     │ $40.0/MWh │    AI 0.00 │        │             │     AI n/a │",
        "├─────────────────┼───────────┼────────────┼────────┼─────────────┼────────────┤",
        "│ all sites       │    1.5 MW │   BTC 0.95 │ $1,316 │             │            │",
        "│                 │           │    AI 0.03 │        │             │            │",
        "└─────────────────┴───────────┴────────────┴────────┴─────────────┴────────────┘",
    ]
    result = invoke("plan", "sites.toml", "--market", "market.json", "--no-grid", env={"COLUMNS": "60"})
    tables = _tables(result.stdout, "Beta-hydro-lower-river-dam")
    breakeven = tables[tables.index("┃ fleet          ┃ kind   ┃   breakeven ┃ over $0.0400/kWh ┃"):]
    assert breakeven[2:6] == [
        "│ Antminer S21   │ mining │ $0.0655/kWh │     +$0.0255/kWh │",
        "│ XP             │        │             │                  │",
        "│ Antminer S19   │ mining │ $0.0258/kWh │     -$0.0142/kWh │",
        "└────────────────┴────────┴─────────────┴──────────────────┘",
    ]


def test_no_table_cuts_a_figure_on_a_narrow_terminal(files):
    """rich ends text too long for a narrowed column in "…": at 60 columns the scenario table printed
    "$1,896.32/M…", the sensitivity grid "$108,5…" and `market show` "$91,000.…". Every table folds instead, and
    the scenario figures stay whole on their lines while the row names wrap; a table that cannot keep its figures
    and words whole at all prints one block per row."""
    result = invoke("plan", "sites.toml", "--market", "market.json", "--btc-prices", "56k,108.5k,126k",
                    env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout and max(len(line) for line in result.stdout.splitlines()) <= 60
    assert "│ revenue per │ $51.35/MWh │ $1,896.32/MWh │ $147.32/MWh │" in rows(result.stdout)
    grid = " ".join(result.stdout.split())
    assert "┃ difficulty \\ BTC ┃ $56,000 ┃ $108,500 ┃ $126,000 ┃" in grid  # whole: the spare width goes to them
    shown = invoke("market", "show", "--market", "market.json", env={"COLUMNS": "60"})
    assert shown.exit_code == 0 and "…" not in shown.stdout
    # five columns do not fit 60 with every word whole: one block per figure, each value whole on its line
    shown_rows = rows(shown.stdout)
    assert "│ figure │ BTC price │" in shown_rows and "│ value │ $80,000.00 │" in shown_rows
    assert max(len(line) for line in shown.stdout.splitlines()) <= 60


def test_a_fleet_exactly_at_its_breakeven_shows_no_margin_as_plus_zero(files):
    """The sign reads "the site's price is under (+) or over (-) the breakeven": exactly at it is +$0.0000, not a
    negative zero. By hand: $3 × 24 h × 0.5 sold = $36 a day over 1.25 kW × 24 h = 30 kWh: $1.20/kWh."""
    with open("even.toml", "w", encoding="utf-8") as fh:
        fh.write('[[site]]\nname = "Even"\nmw = 1.0\npower_usd_per_kwh = "1.2/kWh"\n[[site.gpu]]\nmodel = "H200"\n'
                 'count = 2\npricing = "gpu-hour"\ngpu_hour_usd = 3\nutilization = 0.5\nwatts = 1250\n')
    result = invoke("plan", "even.toml", "--market", "market.json", "--no-grid", env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    assert "│ H200 (GPU-hours) │ AI │ $1.2000/kWh │ +$0.0000/kWh │" in rows(result.stdout)
    # left off, but not for losing money: it earns exactly what its power costs
    assert "│ 1 │ H200 (GPU-hours) │ 0/2 │ 0.000 │ $0 │ $0 │ earns nothing at this power price (breakeven) │" \
        in rows(result.stdout)


def test_yield_tables_read_typed_units_and_number_each_sections_sources(files):
    """Every flag with its unit lands on its own row: 1.2 PH/s, 3.6k W, 55/MWh ($0.055/kWh), 5.8k tok/s, 0.7k W for
    AI. By hand: 1 PH/s at difficulty 152 T finds 1e15 × 86,400 / (152e12 × 2^32) blocks a day of 1.5825 BTC at
    $91,000: $19.06; 1.2 PH/s earns $22.87 against 3.6 kW × 24 h = 86.40 kWh × $0.055 = $4.75; 3,600 W / 1,200 TH/s
    is 3.00 J/TH. AI: 5,800 × 86,400 × 0.5 = 250.56 M tokens at $0.20/Mtok = $50.11, over (0.5 × 700 W + 0.5 × 100 W)
    × 24 h = 9.60 kWh; 700 W / 5,800 tokens/s = 0.1207 J/token."""
    hashprice = 1e15 * DAY / (152e12 * 2**32) * 1.5825 * 91_000
    assert (f"{hashprice:.2f}", f"{1.2 * hashprice:.2f}", f"{5800 * DAY * 0.5 * 0.2 / 1e6:.2f}") == (
        "19.06", "22.87", "50.11")
    result = invoke("yield", "--hashrate", "1.2 PH/s", "--watts", "3.6k", "--power-price", "55/MWh", "--btc-price",
                    "91k", "--difficulty", "152T", "--tokens-per-second", "5.8k tok/s", "--ai-watts", "0.7k",
                    "--idle-watts", "100", "--usd-per-mtok", "0.2", "--utilization", "0.5", "--market", "market.json",
                    env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    lines = [line for line in rows(result.stdout) if not line.startswith(("┏", "┡", "└"))]
    assert lines == [
        "market snapshot 2026-02-01 (market.json); each market figure shows its own date",
        "Mining",
        "┃ figure ┃ value ┃ kind ┃ source ┃",
        "│ hashrate │ 1.20 PH/s │ declared │ flag │",
        "│ power at full load │ 3,600.0 W │ declared │ flag │",
        "│ difficulty │ 152.00 T │ declared │ flag │",
        "│ block subsidy │ 1.5625 BTC │ estimated │ market snapshot 2026-02-01 [1] │",
        "│ BTC price │ $91,000.00 │ declared │ flag │",
        "│ fees per block │ 0.02 BTC │ estimated │ market snapshot 2026-02-01 [2] │",
        "│ pool fee │ 0.0 % │ declared │ default [3] │",
        "│ uptime │ 100.0 % │ declared │ default [4] │",
        "│ power price │ $0.0550/kWh │ declared │ flag │",
        "├─────────────────────────────┼─────────────────┼───────────┼────────────────────────────────┤",
        "│ hashprice (gross) │ $19.06/PH/s/day │ estimated │ computed │",
        "│ BTC per day │ 0.00025132 BTC │ estimated │ computed │",
        "│ revenue per day │ $22.87 │ estimated │ computed │",
        "│ energy per day │ 86.40 kWh │ estimated │ computed │",
        "│ power cost per day │ $4.75 │ estimated │ computed │",
        "│ profit per day (power only) │ $18.12 │ estimated │ computed │",
        "│ revenue per kWh │ $0.2647/kWh │ estimated │ computed │",
        "│ profit per kWh │ $0.2097/kWh │ estimated │ computed │",
        "│ breakeven power price │ $0.2647/kWh │ estimated │ computed │",
        "│ efficiency │ 3.00 J/TH │ declared │ computed │",
        "[1] subsidy at height 1,050,000 (market file market.json)",
        "[2] market file market.json",
        "[3] no pool fee assumed (FPPS pools typically charge a few percent)",
        "[4] never curtailed",
        "note: profit counts power only: no hardware, hosting, staff or depreciation",
        "AI inference",
        "┃ figure ┃ value ┃ kind ┃ source ┃",
        "│ output tokens/s │ 5,800.0 tokens/s │ declared │ flag │",
        "│ power at full load │ 700.0 W │ declared │ flag │",
        "│ price per Mtok (output) │ $0.200/Mtok │ declared │ flag │",
        "│ utilization (demand) │ 50.0 % │ declared │ flag │",
        "│ power when idle │ 100.0 W │ declared │ flag │",
        "│ power price │ $0.0550/kWh │ declared │ flag │",
        "├─────────────────────────────┼──────────────────┼───────────┼──────────┤",
        "│ output tokens per day │ 250.56 Mtokens │ estimated │ computed │",
        "│ revenue per day │ $50.11 │ estimated │ computed │",
        "│ energy per day │ 9.60 kWh │ estimated │ computed │",
        "│ power cost per day │ $0.53 │ estimated │ computed │",
        "│ profit per day (power only) │ $49.58 │ estimated │ computed │",
        "│ revenue per kWh │ $5.2200/kWh │ estimated │ computed │",
        "│ profit per kWh │ $5.1650/kWh │ estimated │ computed │",
        "│ breakeven power price │ $5.2200/kWh │ estimated │ computed │",
        "│ energy per token, full load │ 0.1207 J/token │ declared │ computed │",
        "note: profit counts power only: no hardware, hosting, staff or depreciation",
    ]
