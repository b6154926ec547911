"""How `plan`, `yield` and `market show` lay their tables out on a narrow terminal: the columns of figures (and of
the one-word kinds) stay whole and right-aligned while the names beside them fold, or, where the figures and names
cannot fit, the table prints a block per row with each figure whole; and, on a colour terminal, a
fleet's breakeven margin is red only when the site pays more than the fleet's breakeven. Written from the survivors
of mutation testing cli_economics.py (benchmarks/checks/mutation.py): test_cli_economics_text.py reads the same
tables with runs of spaces made one, so a figure column could fold or lose its alignment and every test still
passed. The market and site files are that module's."""

from __future__ import annotations

import re

import pytest
from economics_helpers import invoke, write_json
from rich.console import Console
from test_cli_economics_text import MARKET, SITES

from hashbench import cli_economics


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "market.json", MARKET)
    (tmp_path / "sites.toml").write_text(SITES, encoding="utf-8")


def printed(*args: str, columns: int) -> list[str]:
    result = invoke(*args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    return lines


def table(lines: list[str], title: str, nth: int = 0) -> list[str]:
    """The body rows ("│ ... │") of the nth table whose title starts with `title`."""
    starts = [n for n, line in enumerate(lines) if line.startswith(title)]
    rows = []
    for line in lines[starts[nth]:]:
        if line.startswith("│"):
            rows.append(line)
        elif line.startswith("└"):
            return rows
    raise AssertionError(f"no end to the table {title!r}")


def column(rows: list[str], index: int) -> list[str]:
    """The non-empty cells of column `index` (0 the first), top to bottom, as printed (padding included)."""
    cells = [row.split("│")[index + 1] for row in rows if "├" not in row]
    return [cell for cell in cells if cell.strip()]


def assert_whole(rows: list[str], index: int, figures: list[str], right: bool = False) -> None:
    """Column `index` holds exactly these figures, each on one line; right-aligned when `right`."""
    cells = column(rows, index)
    assert [cell.strip() for cell in cells] == figures
    if right:
        assert all(cell.endswith(f"{figure} ") for cell, figure in zip(cells, figures, strict=True)), cells


def record(lines: list[str], title: str, header: str, nth: int = 0) -> list[str]:
    """The values beside `header` in the nth table titled `title` printed as records (a block per row, a line per
    column: what the shared Table prints when its figures cannot fit); a value's continuation lines joined."""
    starts = [n for n, line in enumerate(lines) if line.startswith(title)]
    values, current = [], None
    for line in lines[starts[nth]:]:
        if line.startswith("└"):
            return values
        if not line.startswith("│"):
            continue
        _, name, value, _ = line.split("│")
        if name.strip():
            current = name.strip()
            if current == header:
                values.append(value.strip())
        elif current == header:
            values[-1] += " " + value.strip()
    raise AssertionError(f"no end to the table {title!r}")


def test_plan_at_60_columns_keeps_the_splits_figures_whole(files):
    """The split's figures need more than 60 columns beside the fleet names: one block per fleet, nothing cut."""
    lines = printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=60)
    assert record(lines, "best split:", "fleet") == ["H100 SXM (8b tokens)", "H200 (GPU-hours)", "Antminer S21 XP"]
    for header, figures in (("units run", ["16/16", "8/8", "100/100"]), ("peak MW", ["0.020", "0.012", "0.456"]),
                            ("profit /day", ["$708", "$289", "$13"]), ("per MW-day", ["$35,379", "$24,120", "$29"])):
        assert record(lines, "best split:", header) == figures
    for header, figures in (("units run", ["137/200", "0/10"]), ("peak MW", ["0.499", "0.000"]),
                            ("profit /day", ["$306", "$0"]), ("per MW-day", ["$612", "-$340"]),
                            ("why not all", ["power cap reached", "loses money at this power price"])):
        assert record(lines, "best split:", header, 1) == figures


def test_plan_at_60_columns_keeps_each_fleets_kind_and_breakeven_whole_and_right_aligned(files):
    lines = printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=60)
    alpha = table(lines, "breakeven power price")
    assert_whole(alpha, 1, ["AI", "AI", "mining"])
    assert_whole(alpha, 2, ["$2.5698/kWh", "$1.1667/kWh", "$0.0514/kWh"], right=True)
    assert_whole(alpha, 3, ["+$2.5198/kWh", "+$1.1167/kWh", "+$0.0014/kWh"], right=True)
    beta = table(lines, "breakeven power price", 1)
    assert_whole(beta, 1, ["mining", "mining"])
    assert_whole(beta, 2, ["$0.0655/kWh", "$0.0258/kWh"], right=True)
    narrow = printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=50)
    assert record(narrow, "breakeven power price", "kind") == ["AI", "AI", "mining"]
    assert record(narrow, "breakeven power price", "over $0.0500/kWh") == ["+$2.5198/kWh", "+$1.1167/kWh",
                                                                            "+$0.0014/kWh"]


def test_plan_at_44_columns_keeps_each_hardware_figures_kind_whole(files):
    lines = printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=44)
    assert record(lines, "hardware (per unit)", "kind") == ["nameplate", "nameplate", "declared", "declared",
                                                            "estimated", "declared", "declared", "declared",
                                                            "declared", "declared"]
    assert record(lines, "hardware (per unit)", "kind", 1) == ["nameplate"] * 4


def test_plan_keeps_the_portfolios_figures_whole(files):
    """Two short lines a cell, right-aligned, at 80 columns; at 68 a block per site (a 26-letter site name and the
    figures beside it do not fit), each figure whole."""
    rows = table(printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=80), "portfolio:")
    for index, figures in (
            (1, ["1 MW", "$50.0/MWh", "0.5 MW", "$40.0/MWh", "1.5 MW"]),
            (2, ["BTC 0.46", "AI 0.03", "BTC 0.50", "AI 0.00", "BTC 0.95", "AI 0.03"]),
            (3, ["$1,010", "$306", "$1,316"]), (4, ["$1,010", "$611"]),
            (5, ["BTC $29", "AI $35.4k", "BTC $612", "AI n/a"])):
        assert_whole(rows, index, figures, right=True)
    lines = printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=68)
    assert record(lines, "portfolio:", "site") == ["Alpha", "Beta-hydro-lower-river-dam", "all sites"]
    assert record(lines, "portfolio:", "cap power") == ["1 MW $50.0/MWh", "0.5 MW $40.0/MWh", "1.5 MW"]
    assert record(lines, "portfolio:", "best fleet per MW") == ["BTC $29 AI $35.4k", "BTC $612 AI n/a"]


def test_plan_scenario_figures_are_right_aligned_under_their_scenario(files):
    rows = table(printed("plan", "sites.toml", "--market", "market.json", "--no-grid", columns=80),
                 "mining vs AI under the cap")
    assert_whole(rows, 1, ["0.456", "0.000", "9.8 MWh", "$505", "$492", "$13", "$51.35/MWh", "$1.35/MWh"], right=True)
    assert_whole(rows, 2, ["0.000", "0.032", "0.5 MWh", "$1,024", "$27", "$997", "$1,896.32/MWh", "$1,846.32/MWh"],
                 right=True)
    assert_whole(rows, 3, ["0.456", "0.032", "10.4 MWh", "$1,529", "$519", "$1,010", "$147.32/MWh", "$97.32/MWh"],
                 right=True)


def test_yield_at_60_columns_keeps_every_value_whole(files):
    lines = printed("yield", "--hashrate", "1.2 PH/s", "--watts", "3.6k", "--power-price", "55/MWh", "--market",
                    "market.json", columns=60)
    assert_whole(table(lines, "Mining"), 1, [
        "1.20 PH/s", "3,600.0 W", "120.00 T", "1.5625 BTC", "$80,000.00", "0.02 BTC", "0.0 %", "100.0 %",
        "$0.0550/kWh", "$21.22/PH/s/day", "0.00031834 BTC", "$25.47", "86.40 kWh", "$4.75", "$20.72",
        "$0.2948/kWh", "$0.2398/kWh", "$0.2948/kWh", "3.00 J/TH"])


def test_market_show_at_60_columns_keeps_every_value_and_date_whole(files):
    lines = printed("market", "show", "--market", "market.json", columns=60)
    assert record(lines, "market snapshot", "value") == [
        "$80,000.00", "120.00 T", "1,050,000", "0.02 BTC", "$38.20/PH/s/day", "$0.0400/kWh", "$2.00/GPU-hour",
        "$3.00/GPU-hour", "$6.00/GPU-hour", "$0.100/Mtok", "$0.500/Mtok"]
    assert record(lines, "market snapshot", "as of") == (["2026-02-01"] * 4 + ["2025-11-18"] + ["2026-02-01"] * 3
                                                         + ["2025"] + ["2026-02-01"] * 2)
    rows = table(printed("market", "show", "--market", "market.json", columns=80), "market snapshot")
    assert_whole(rows, 1, ["$80,000.00", "120.00 T", "1,050,000", "0.02 BTC", "$38.20/PH/s/day", "$0.0400/kWh",
                           "$2.00/GPU-hour", "$3.00/GPU-hour", "$6.00/GPU-hour", "$0.100/Mtok", "$0.500/Mtok"])


def test_on_a_colour_terminal_only_a_fleet_under_water_has_its_margin_in_red(files, monkeypatch):
    """Beta's S19 breaks even at $0.0258/kWh against $0.04: -$0.0142 in red. Alpha's S21 XP clears its price by
    only $0.0014, and Even's H200 earns exactly its power ($1.20/kWh at $1.20): neither is red."""
    monkeypatch.setattr(cli_economics, "out", Console(force_terminal=True, color_system="standard", highlight=False,
                                                      width=120))
    with open("even.toml", "w", encoding="utf-8") as fh:
        fh.write('[[site]]\nname = "Even"\nmw = 1.0\npower_usd_per_kwh = "1.2/kWh"\n[[site.gpu]]\nmodel = "H200"\n'
                 'count = 2\npricing = "gpu-hour"\ngpu_hour_usd = 3\nutilization = 0.5\nwatts = 1250\n')
    red = re.compile(r"\x1b\[31m(.*?)\x1b\[0m")
    shown = invoke("plan", "sites.toml", "--market", "market.json", "--no-grid").stdout
    assert red.findall(shown) == ["-$0.0142/kWh"]
    assert "+$0.0014/kWh" in shown and "+$0.0255/kWh" in shown
    even = invoke("plan", "even.toml", "--market", "market.json", "--no-grid").stdout
    assert "+$0.0000/kWh" in even and red.findall(even) == []


def test_plans_sensitivity_grid_as_records_names_difficulty_and_btc_price(files):
    """Five BTC prices do not fit 60 columns: the grid prints one block per difficulty, each line named by its axis
    ("difficulty", "BTC $56,000"), not by the pivot's corner and bare prices."""
    lines = printed("plan", "sites.toml", "--market", "market.json", "--btc-prices", "56k,73.5k,91k,108.5k,126k",
                    columns=60)
    grid = [line.split("│")[1].strip() for line in lines
            if line.startswith("│ difficulty") or line.startswith("│ BTC $")]
    assert grid[:6] == ["difficulty", "BTC $56,000", "BTC $73,500", "BTC $91,000", "BTC $108,500", "BTC $126,000"]
    assert not any("difficulty \\ BTC" in line for line in lines)
