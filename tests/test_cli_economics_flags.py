"""`hashbench yield`, `plan` and `market show` as commands: every figure flag names itself and the units it reads when
it cannot read a value, and reads each unit it names; which sections and grids a command prints or leaves out; the
notes a plan carries in --json; a snapshot's description. Written from the survivors of mutation testing
cli_economics.py (benchmarks/checks/mutation.py): before these, a flag could name another quantity in its error, or
drop a unit from its hint, and every test still passed."""

from __future__ import annotations

from datetime import date

import pytest
from economics_helpers import invoke, invoke_json, write_json

from hashbench.errors import InputError
from hashbench.units import parse_si

TOKENS = " (units: tokens/s, tok/s, tokens)"
HASHES = " (units: H/s, H, Hs)"


@pytest.fixture
def market(tmp_path) -> str:
    return str(write_json(tmp_path / "market.json", {"date": "2026-02-01", "figures": {
        "height": 1_050_000, "btc_price_usd": 80_000, "difficulty": 1.2e14, "fees_btc_per_block": 0.02,
        "power_usd_per_kwh": 0.04, "usd_per_mtok_8b": 0.1}}))


@pytest.fixture
def site(tmp_path) -> str:
    """One mining site: the plan uses no AI price, so a market file of today's BTC price and difficulty is fresh."""
    path = tmp_path / "site.toml"
    path.write_text('[[site]]\nname = "Solo"\nmw = 1.0\npower_usd_per_kwh = 0.04\n'
                    '[[site.asic]]\nmodel = "S21 XP"\ncount = 10\n', encoding="utf-8")
    return str(path)


def assert_error(result, message: str) -> None:
    """Exactly this message, on one line, exit 2, nothing on stdout."""
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"hashbench: error: {message}\n")


def cannot_read(flag: str, hint: str) -> str:
    return f"{flag}: cannot read '12 parsecs' as a number with an optional SI prefix{hint}"


# --- the figure flags ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag, hint", [
    ("--hashrate", HASHES), ("--watts", " (units: W)"), ("--ai-watts", " (units: W)"),
    ("--btc-price", " (units: USD)"), ("--difficulty", ""), ("--network-hashrate", HASHES),
    ("--tokens-per-second", TOKENS), ("--input-tokens-per-second", TOKENS), ("--prefill-tokens-per-second", TOKENS),
    ("--idle-watts", " (units: W)"),
])
def test_each_yield_figure_flag_names_itself_and_the_units_it_reads(flag, hint):
    assert_error(invoke("yield", flag, "12 parsecs"), cannot_read(flag, hint))


@pytest.mark.parametrize("flag, hint", [
    ("--btc-price", " (units: USD)"), ("--difficulty", ""), ("--btc-prices", " (units: USD)"), ("--difficulties", ""),
])
def test_each_plan_figure_flag_names_itself_and_the_units_it_reads(flag, hint, site, market):
    assert_error(invoke("plan", site, "--market", market, flag, "12 parsecs"), cannot_read(flag, hint))
    # a list names the flag too when its second value is the bad one
    if flag.endswith("s"):
        assert_error(invoke("plan", site, "--market", market, flag, "1,12 parsecs"), cannot_read(flag, hint))


def test_every_unit_a_hint_names_is_read(market):
    """The hint is the list of units each flag reads, whatever their case: 270 TH is 270 TH/s, 3.645 kW is W."""
    m = invoke_json("yield", "--hashrate", "270 ths", "--watts", "3.645 kW", "--network-hashrate", "1.1 ZH",
                    "--btc-price", "91k usd", "--market", market)["mining"]["inputs"]
    assert (m["hashrate_hps"]["value"], m["watts"]["value"], m["btc_price_usd"]["value"]) == (270e12, 3645.0, 91e3)
    assert m["difficulty"]["detail"] == "from --network-hashrate 1.1e+21 H/s × 600 s / 2^32"
    ai = invoke_json("yield", "--tokens-per-second", "1k TOKENS", "--input-tokens-per-second", "3 ktok/s",
                     "--usd-per-mtok", "0.2", "--usd-per-mtok-input", "0.05", "--ai-watts", "0.5 kw", "--idle-watts",
                     "100 W", "--utilization", "0.5", "--market", market)["ai"]["inputs"]
    assert [ai[k]["value"] for k in ("tokens_per_second", "input_tokens_per_second", "watts", "idle_watts")] == [
        1000.0, 3000.0, 500.0, 100.0]
    ai = invoke_json("yield", "--tokens-per-second", "1000 tokens/s", "--prefill-tokens-per-second", "10k tokens",
                     "--input-per-output", "4", "--usd-per-mtok", "0.2", "--usd-per-mtok-input", "0.05", "--watts",
                     "500", "--market", market)["ai"]["inputs"]
    assert ai["tokens_per_second"]["detail"] == ("time-shared: decode 1000 tokens/s and prefill 10000 tokens/s, 4 "
                                                 "prompt tokens per output token")


def test_prices_read_as_written_with_a_dollar_sign_and_thousands(market):
    """The AI prices were plain floats: "$0.20" per Mtok and "$2.35" a GPU-hour were refused by click while
    --btc-price took "$91,000". Every USD flag reads the same way now."""
    ai = invoke_json("yield", "--tokens-per-second", "1,000", "--input-tokens-per-second", "3,000", "--watts", "500",
                     "--usd-per-mtok", "$0.20", "--usd-per-mtok-input", "$0.05", "--market", market)["ai"]["inputs"]
    assert (ai["usd_per_mtok"]["value"], ai["usd_per_mtok_input"]["value"]) == (0.2, 0.05)
    assert ai["tokens_per_second"]["value"] == 1000.0
    ai = invoke_json("yield", "--gpu", "H100 SXM", "--gpus", "8", "--gpu-hour-usd", "$2.35",
                     "--market", market)["ai"]["inputs"]
    assert ai["gpu_hour_usd"]["value"] == 2.35
    assert_error(invoke("yield", "--gpu", "H100 SXM", "--gpu-hour-usd", "2,35", "--market", market),
                 "--gpu-hour-usd: cannot read '2,35': a comma only separates thousands (3,500); write a decimal with "
                 "a point (0.055, 1.5T)")


@pytest.mark.parametrize("flag, written", [("--btc-prices", "60,000,90,000"), ("--difficulties", "126T,152,000T"),
                                           ("--power-prices", "1,000/MWh"), ("--btc-prices", "$60,000")])
def test_a_list_written_with_thousands_commas_is_refused_not_split(flag, written, site, market):
    """In a list the comma separates values: "60,000,90,000" was read as 60, 0, 90, 0 and ended in "BTC price must
    be > 0"; "1,000/MWh" as $1/kWh and $0/kWh. Each is now refused for what it is."""
    assert_error(invoke("plan", site, "--market", market, flag, written),
                 f"{flag}: {written!r}: here a comma separates values; write each without thousands commas (60000 or "
                 f"60k)")
    # a list of decimals, or of a decimal and a price per MWh, is not taken for thousands
    data = invoke_json("plan", site, "--market", market, "--power-prices", "0.03,0.055,0.100,100/MWh",
                       "--btc-prices", "60000,100000")
    grid = data["sites"][0]["sensitivity"]
    assert grid["power_prices"] == [0.03, 0.055, 0.1, 0.1] and grid["btc_prices"] == [60e3, 100e3]


@pytest.mark.parametrize("written", ["1000 tokens/s", "1000tok/s", "1000 TOKENS", "1k tokens/s", "1 ktok/s"])
def test_a_token_rate_with_its_unit_and_no_prefix_is_read(written, market):
    """"1000 tokens/s" was refused, naming tokens/s among the units it reads: the "t" was taken for tera and the
    rest, "okens/s", was no unit. A unit that starts with a prefix's letter is now that unit."""
    ai = invoke_json("yield", "--tokens-per-second", written, "--watts", "500", "--usd-per-mtok", "0.2", "--market",
                     market)["ai"]
    assert ai["inputs"]["tokens_per_second"]["value"] == 1000.0
    assert parse_si(written, "--tokens-per-second", ("tokens/s", "tok/s", "tokens")) == 1000.0
    # a prefix still reads as one before such a unit, and alone
    assert parse_si("2 Ttokens", "--x", ("tokens",)) == parse_si("2 T", "--x", ("tokens",)) == 2e12
    with pytest.raises(InputError, match="'1e999 tokens' is not a finite number"):
        parse_si("1e999 tokens", "--x", ("tokens",))


# --- what each command prints ----------------------------------------------------------------------------------------

def test_yield_with_ai_flags_alone_prints_the_ai_table(market):
    """No mining section: the AI one still prints, under its own title at the left margin."""
    result = invoke("yield", "--tokens-per-second", "5.8k", "--usd-per-mtok", "0.2", "--watts", "700", "--market",
                    market, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert "AI inference" in lines and "Mining" not in lines
    assert any(line.startswith("│ revenue per day ") and "$100.22" in line for line in lines)  # 501.12 M tokens


def test_yield_section_titles_start_at_the_left_margin(market):
    result = invoke("yield", "--asic", "S21 XP", "--gpu", "H100 SXM", "--market", market, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    titles = [line.rstrip() for line in result.stdout.splitlines() if line.strip() in ("Mining", "AI inference")]
    assert titles == ["Mining", "AI inference"]


def test_plan_no_grid_computes_and_prints_no_grid(site, market):
    args = ("plan", site, "--market", market, "--btc-prices", "80k", "--difficulties", "120T")
    assert invoke_json("plan", site, "--market", market, "--no-grid")["sites"][0]["sensitivity"] is None
    assert invoke_json(*args)["sites"][0]["sensitivity"]["btc_prices"] == [80_000.0]
    shown = invoke("plan", site, "--market", market, "--no-grid", env={"COLUMNS": "120"})
    assert shown.exit_code == 0, shown.stderr
    assert "best-split profit/day" not in shown.stdout and "difficulty \\ BTC" not in shown.stdout
    assert "difficulty \\ BTC" in invoke(*args, env={"COLUMNS": "120"}).stdout


def test_a_plan_on_todays_figures_has_no_notes(site, tmp_path, market):
    """A market file of today's BTC price and difficulty leaves nothing to say about the age of the figures: an empty
    list in --json, not [null]; an old one says how old."""
    fresh = write_json(tmp_path / "fresh.json", {"date": date.today().isoformat(),
                                                 "figures": {"btc_price_usd": 90_000, "difficulty": 1.5e14}})
    data = invoke_json("plan", site, "--market", str(fresh), "--no-grid")
    assert data["notes"] == []
    old = invoke_json("plan", site, "--market", market, "--no-grid")["notes"]
    assert len(old) == 1 and old[0].startswith("valued with market figures up to ")


def test_market_show_ends_with_the_snapshots_description(tmp_path):
    path = write_json(tmp_path / "m.json", {"date": "2026-02-01", "description": "my desk's figures",
                                            "figures": {"btc_price_usd": 80_000}})
    described = invoke("market", "show", "--market", str(path), env={"COLUMNS": "120"})
    assert described.exit_code == 0, described.stderr
    # without one, the same table and footnotes and nothing after them
    write_json(path, {"date": "2026-02-01", "figures": {"btc_price_usd": 80_000}})
    plain = invoke("market", "show", "--market", str(path), env={"COLUMNS": "120"})
    assert described.stdout.splitlines() == [*plain.stdout.splitlines(), "my desk's figures"]

