"""The shared table on narrow terminals: no figure is ever cut, and a table that cannot fit prints as records."""

from __future__ import annotations

import io

import pytest
from economics_helpers import invoke, invoke_json, write_json
from rich.console import Console
from rich.markup import escape

from hashbench.cli_table import WORD_FLOOR, Table


def render(table: Table, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    console.print(table)
    return [line.rstrip() for line in console.file.getvalue().splitlines()]


def fleets() -> Table:
    table = Table(title="split", title_justify="left")
    table.add_column("#")
    table.add_column("fleet")
    for name in ("units\nrun", "profit\n/day"):
        table.add_column(name, no_wrap=True, justify="right")
    table.add_column("why not all")
    table.add_row("1", "H100 SXM (8b tokens)", "102,400/102,400", "$6,350,512", "")
    table.add_row("2", "Whatsminer M60S", "0/150,000", "$0", "power cap reached")
    return table


def test_a_table_that_fits_keeps_its_words_and_gives_the_spare_width_to_the_column_that_lacks_least():
    """rich's own squeeze took from the widest wrapping column, word or not ("Whatsmine" over "r M60S"), while the
    figures had their room. Here each prose column keeps words of up to WORD_FLOOR characters whole, and the spare
    width makes the fleet names whole (they lack less than the reasons)."""
    table = fleets()
    least = sum(table.least_widths(*_console_and_options(200)))
    width = table.needed_width(*_console_and_options(200))
    assert width - least == 6  # the borders: 4 bars between 5 columns and 2 edges (padding is in least)
    assert width == 59
    lines = render(table, 70)  # 11 spare: the names need 10 more to be whole, the reasons 10 ("power cap reached")
    assert max(map(len, lines)) <= 70
    assert lines[5:10] == [
        "│ 1 │ H100 SXM (8b tokens) │ 102,400/102,400 │ $6,350,512 │          │",
        "│ 2 │ Whatsminer M60S      │       0/150,000 │         $0 │ power    │",
        "│   │                      │                 │            │ cap      │",
        "│   │                      │                 │            │ reached  │",
        "└───┴──────────────────────┴─────────────────┴────────────┴──────────┘",
    ]


def _console_and_options(width: int):
    console = Console(width=width, file=io.StringIO())
    return console, console.options


def test_a_table_whose_figures_cannot_fit_prints_one_block_per_row_with_every_figure_whole():
    """At 60 columns rich cropped one-line figures ("$6.94" for $6.94M in plan's portfolio) and squeezed the name
    columns to nothing. A table narrower than its figures and words prints records: header, then value."""
    table = fleets()
    needed = table.needed_width(*_console_and_options(200))
    assert render(table, needed)[1].startswith("┏")  # still a table at exactly its width
    lines = render(table, needed - 1)
    assert max(map(len, lines)) <= needed - 1
    assert lines == [
        "split",
        "┌─────────────┬──────────────────────┐",
        "│ #           │ 1                    │",
        "│ fleet       │ H100 SXM (8b tokens) │",
        "│ units run   │ 102,400/102,400      │",
        "│ profit /day │ $6,350,512           │",
        "├─────────────┼──────────────────────┤",
        "│ #           │ 2                    │",
        "│ fleet       │ Whatsminer M60S      │",
        "│ units run   │ 0/150,000            │",
        "│ profit /day │ $0                   │",
        "│ why not all │ power cap reached    │",
        "└─────────────┴──────────────────────┘",
    ]


def test_a_long_identifier_folds_past_the_word_floor_instead_of_turning_the_table_into_records():
    """A benchmark id is one long "word": it may fold past WORD_FLOOR characters; the figures stay whole."""
    table = Table("benchmark", "median", whole=("median",))
    table.add_row(escape("llm-decode[cpu-cpu-small-fp32-b1]"), "39.5 tokens/s")
    lines = render(table, 34)
    assert lines[0].startswith("┏") and max(map(len, lines)) <= 34
    assert any("│ 39.5 tokens/s │" in line for line in lines)
    assert "".join(line.split("│")[1].strip() for line in lines if line.startswith("│")) == \
        "llm-decode[cpu-cpu-small-fp32-b1]"
    assert WORD_FLOOR == 10


BIG = """\
[[site]]
name = "Big"
mw = 400.0
power_usd_per_kwh = 0.035

[[site.asic]]
model = "Antminer S21 XP"
count = 120000
hashrate_ths = 270
watts = 3645

[[site.asic]]
model = "Whatsminer M60S"
count = 150000
hashrate_ths = 186
watts = 3441

[[site.gpu]]
model = "H100 SXM"
count = 102400
tokens_per_second = 5800
usd_per_mtok = 0.1
watts = 1275
"""


@pytest.mark.parametrize("width", [44, 60, 80, 100, 140])
def test_plan_with_fleets_of_a_hundred_thousand_keeps_every_figure_whole_at_any_width(tmp_path, monkeypatch, width):
    """The counts and dollars of a 400 MW site are long: at 60 columns the split table lost its fleet names and the
    portfolio printed "$6.94" and "BTC $1,82" (cropped). Every unit count and profit of the --json is printed whole,
    and with its fleet's name, at every width."""
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "market.json", {"date": "2026-02-01", "figures": {
        "height": 1_050_000, "btc_price_usd": 80_000, "difficulty": 1.2e14, "fees_btc_per_block": 0.02}})
    (tmp_path / "big.toml").write_text(BIG, encoding="utf-8")
    args = ("plan", "big.toml", "--market", "market.json", "--no-grid")
    data = invoke_json(*args)
    result = invoke(*args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= width and "…" not in result.stdout
    items = data["sites"][0]["best"]["items"]
    names = {"Antminer S21 XP", "Whatsminer M60S", "H100 SXM (8b tokens)"}
    assert {i["label"].split(" × ", 1)[-1] for i in items} == names
    text = " ".join(" ".join(line.strip("│┃ ") for line in lines).split())
    for item in items:
        assert f"{item['units']:,}/{item['available']:,}" in text, (width, item)
        assert f"${item['profit_usd_per_day']:,.0f}" in text, (width, item)
    # each fleet's name whole in the split table or its record
    for name in names:
        assert any(name in line for line in lines), (width, name)
