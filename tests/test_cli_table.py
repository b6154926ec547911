"""The shared table on narrow terminals: no figure is ever cut, and a table that cannot fit prints as records."""

from __future__ import annotations

import io

import pytest
from economics_helpers import invoke, invoke_json, write_json
from rich import table
from rich.console import Console
from rich.markup import escape

from hashbench.cli_table import WORD_FLOOR, Table


def render(table: Table, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    console.print(table)
    return [line.rstrip() for line in console.file.getvalue().splitlines()]


def fleets(cls=Table) -> Table:
    table = cls(title="split", title_justify="left")
    table.add_column("#", overflow="fold")
    table.add_column("fleet", overflow="fold")
    for name in ("units\nrun", "peak\nMW", "profit\n/day", "per\nMW-day"):
        table.add_column(name, no_wrap=True, justify="right")
    table.add_column("why not all", overflow="fold")
    table.add_row("1", "H100 SXM (8b tokens)", "102,400/102,400", "75.981", "$6,350,512", "$83,580", "")
    table.add_row("2", "Whatsminer M60S", "0/150,000", "0.000", "$0", "$1,101", "power cap reached")
    return table


def test_a_table_that_fits_breaks_no_word_of_up_to_ten_characters():
    """rich's own squeeze takes from the widest wrapping column, word or not: at 80 columns it printed "Whatsmine"
    over "r M60S" while the reasons beside it had room. No wrapping column goes below its longest word here."""
    plain = render(fleets(table.Table), 80)
    assert any("│ Whatsmine │" in line for line in plain)  # what rich alone does with these rows
    lines = render(fleets(), 80)
    assert max(map(len, lines)) <= 80
    assert lines[5:] == [
        "│ 1 │ H100 SXM   │ 102,400/102,400 │ 75.981 │ $6,350,512 │ $83,580 │           │",
        "│   │ (8b        │                 │        │            │         │           │",
        "│   │ tokens)    │                 │        │            │         │           │",
        "│ 2 │ Whatsminer │       0/150,000 │  0.000 │         $0 │  $1,101 │ power cap │",
        "│   │ M60S       │                 │        │            │         │ reached   │",
        "└───┴────────────┴─────────────────┴────────┴────────────┴─────────┴───────────┘",
    ]
    assert render(fleets(), 120) == render(fleets(table.Table), 120)  # room for all: rich's layout untouched


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
        "│ peak MW     │ 75.981               │",
        "│ profit /day │ $6,350,512           │",
        "│ per MW-day  │ $83,580              │",
        "├─────────────┼──────────────────────┤",
        "│ #           │ 2                    │",
        "│ fleet       │ Whatsminer M60S      │",
        "│ units run   │ 0/150,000            │",
        "│ peak MW     │ 0.000                │",
        "│ profit /day │ $0                   │",
        "│ per MW-day  │ $1,101               │",
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


def test_records_keep_the_tables_title_caption_and_header_style_and_fold_a_value_too_long_for_the_terminal():
    """The record blocks are the same table: its title and caption (with their justification and style), its box,
    its header style on the names; a value longer than the terminal folds (a hash, an id) instead of being cut."""
    wide = Table("name", "value", whole=("value",), title="t" * 3, title_justify="left", title_style="italic",
                 caption="the caption", caption_justify="right", header_style="bold")
    wide.add_row("digest", "0123456789abcdef" * 3)
    console = Console(width=30, file=io.StringIO(), force_terminal=True, color_system="standard", highlight=False)
    console.print(wide)
    text = console.file.getvalue()
    assert "\x1b[3mttt" in text and "\x1b[1mname" in text and "\x1b[1mvalue" in text  # italic title, bold names
    lines = render(wide, 30)
    assert lines[0] == "ttt" and lines[-1] == " " * 19 + "the caption"
    assert lines[1].startswith("┌") and all(len(line) <= 30 for line in lines)
    cells = [[c.strip() for c in line.split("│")[1:3]] for line in lines if line.startswith("│")]
    assert cells[0] == ["name", "digest"] and cells[1][0] == "value" and all(not c[0] for c in cells[2:])
    assert "".join(c[1] for c in cells[1:]) == "0123456789abcdef" * 3


def test_lifting_a_column_to_its_word_takes_the_width_from_the_column_with_most_room_never_from_a_figure():
    """At 40 columns rich gave the fleet 9 characters ("Whatsmine" over "r M60S"); the one it lacks comes from the
    reasons, which have the most room above their longest word, not from the last column (a figure, none to spare)."""
    def build(cls):
        t = cls(title="x", title_justify="left")
        t.add_column("fleet", overflow="fold")
        t.add_column("why not all", overflow="fold")
        t.add_column("profit /day", no_wrap=True, justify="right")
        t.add_row("Whatsminer M60S", "loses money at this power price and more words here", "$1,234,567")
        return t

    assert "│ Whatsmine │" in render(build(table.Table), 40)[5]
    assert render(build(Table), 40)[5:9] == [
        "│ Whatsminer │ loses     │  $1,234,567 │",
        "│ M60S       │ money at  │             │",
        "│            │ this      │             │",
        "│            │ power     │             │",
    ]


def test_a_pivot_names_its_axes_in_records_where_its_corner_header_no_longer_reads():
    """The sensitivity grid's corner "difficulty \\ BTC" and its "$56,000" columns read as a pivot; as records,
    each block named its difficulty "difficulty \\ BTC" and each profit "$56,000". record_names name them."""
    pivot = Table("difficulty \\ BTC", "$56,000", "$126,000", record_names=("difficulty", "BTC $56,000"))
    pivot.add_row("126.00 T", "$53.2k\n93% BTC", "$92.0k\n93% BTC")
    assert "┃ difficulty \\ BTC ┃ $56,000 ┃ $126,000 ┃" in render(pivot, 80)  # the table keeps its headers
    narrow = [[c.strip() for c in line.split("│")[1:3]] for line in render(pivot, 30) if line.startswith("│")]
    assert narrow == [["difficulty", "126.00 T"], ["BTC $56,000", "$53.2k"], ["", "93% BTC"],
                      ["$126,000", "$92.0k"], ["", "93% BTC"]]  # a column left unnamed keeps its header

