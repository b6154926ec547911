"""Economics to the cent, from hand-computed cases; `hashbench yield` as a user meets it."""

from __future__ import annotations

import json
import math

import pytest
from economics_helpers import assert_one_line_error, invoke, invoke_json, write_json
from hypothesis import given, settings
from hypothesis import strategies as st

from hashbench import catalog
from hashbench.economics import (
    DECLARED,
    ESTIMATED,
    MEASURED,
    NAMEPLATE,
    AIInputs,
    MiningInputs,
    Sourced,
    ai_yield,
    combined_kind,
    difficulty_from_network_hashrate,
    hashprice_usd_per_ph_day,
    mining_yield,
    network_hashrate_from_difficulty,
    require_finite,
    subsidy_btc,
    subsidy_sats,
    time_shared_throughput,
    watts_per_unit_yield_per_year,
)
from hashbench.errors import InputError
from hashbench.market import model_class_of
from hashbench.units import format_si, format_usd, parse_power_price, parse_si

cents = lambda x: round(x, 2)  # noqa: E731


# --- protocol ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("height, btc", [
    (0, 50.0), (209_999, 50.0), (210_000, 25.0),
    (839_999, 6.25), (840_000, 3.125), (1_049_999, 3.125), (1_050_000, 1.5625),
])
def test_subsidy_at_halving_boundaries(height, btc):
    assert subsidy_btc(height) == btc


def test_subsidy_runs_out_in_satoshis_and_is_zero_from_the_64th_halving():
    assert subsidy_sats(32 * 210_000) == 1  # 5,000,000,000 >> 32 = 1 sat
    assert subsidy_sats(33 * 210_000) == 0
    assert subsidy_sats(64 * 210_000 - 1) == 0
    assert subsidy_sats(64 * 210_000) == 0  # Bitcoin Core returns 0 explicitly: a shift by 64 is undefined in C++
    assert subsidy_sats(10**9) == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "840000"])
def test_subsidy_rejects_bad_heights(bad):
    with pytest.raises(InputError):
        subsidy_sats(bad)


def test_difficulty_from_network_hashrate():
    # 1.1 ZH/s × 600 s / 2^32 = 153,668,224,811,553.97
    assert difficulty_from_network_hashrate(1.1e21) == pytest.approx(153_668_224_811_553.97, rel=1e-12)
    assert difficulty_from_network_hashrate(network_hashrate_from_difficulty(152e12)) == pytest.approx(152e12)


def test_hashprice_worked_example_to_the_cent():
    # 86,400 / (152e12 × 2^32) × (3.125 + 0.036) BTC × $91,000 × 1e15 = $38.0694 per PH/s per day.
    # (Luxor's index printed ≈ $38.2 that day: it averages fees over 144 blocks and uses its own price.)
    assert cents(hashprice_usd_per_ph_day(152e12, 91_000, 3.125 + 0.036)) == 38.07
    assert hashprice_usd_per_ph_day(152e12, 91_000, 3.161) == pytest.approx(38.2, rel=0.01)


# --- mining -----------------------------------------------------------------------------------------------------

def _s21xp(**over) -> MiningInputs:
    args = dict(hashrate_hps=270e12, watts=3645, btc_price_usd=91_000, difficulty=152e12, subsidy_btc=3.125,
                fees_btc_per_block=0.036, power_usd_per_kwh=0.05)
    return MiningInputs(**{**args, **over})


def test_mining_yield_by_hand():
    y = mining_yield(_s21xp())
    # revenue = 0.27 PH/s × $38.0694 = $10.2787; energy = 3.645 kW × 24 h = 87.48 kWh; cost = 87.48 × 0.05 = $4.374
    assert cents(y.hashprice_usd_per_ph_day) == 38.07
    assert cents(y.revenue_usd_per_day) == 10.28
    assert y.energy_kwh_per_day == pytest.approx(87.48)
    assert cents(y.power_cost_usd_per_day) == 4.37
    assert cents(y.profit_usd_per_day) == 5.90
    assert round(y.revenue_usd_per_kwh, 4) == 0.1175  # 10.2787 / 87.48
    assert round(y.profit_usd_per_kwh, 4) == 0.0675
    assert y.breakeven_power_usd_per_kwh == y.revenue_usd_per_kwh
    assert y.joules_per_th == pytest.approx(13.5)
    assert y.btc_per_day == pytest.approx(10.278741534995406 / 91_000)


def test_mining_pool_fee_and_curtailment_by_hand():
    y = mining_yield(_s21xp(pool_fee=0.02, uptime=0.9))
    # revenue = 10.27874 × 0.98 × 0.9 = $9.0659; energy = 87.48 × 0.9 = 78.732 kWh; cost = $3.9366
    assert cents(y.revenue_usd_per_day) == 9.07
    assert y.energy_kwh_per_day == pytest.approx(78.732)
    assert cents(y.power_cost_usd_per_day) == 3.94
    assert cents(y.profit_usd_per_day) == 5.13
    # per kWh does not depend on uptime (a curtailed miner is off: it neither earns nor draws)
    assert round(y.revenue_usd_per_kwh, 6) == round(10.278741534995406 * 0.98 / 87.48, 6)
    assert cents(y.hashprice_usd_per_ph_day) == 38.07  # hashprice is gross: before pool fee and uptime


def test_mining_curtailed_all_day_keeps_per_kwh_figures_defined():
    y = mining_yield(_s21xp(uptime=0.0))
    assert y.revenue_usd_per_day == 0 and y.energy_kwh_per_day == 0
    assert round(y.breakeven_power_usd_per_kwh, 4) == 0.1175


@pytest.mark.parametrize("field, value", [
    ("watts", 0), ("watts", -5), ("btc_price_usd", 0), ("btc_price_usd", -91_000), ("difficulty", 0),
    ("power_usd_per_kwh", 0), ("power_usd_per_kwh", -0.01), ("hashrate_hps", 0), ("uptime", 1.01),
    ("uptime", -0.1), ("pool_fee", 1.0), ("pool_fee", -0.01), ("fees_btc_per_block", -1),
    ("watts", math.nan), ("btc_price_usd", math.inf),
])
def test_mining_rejects_bad_inputs(field, value):
    with pytest.raises(InputError):
        _s21xp(**{field: value})


def test_revenue_per_watt_year_matches_the_notes():
    # $30–38/PH/day at 17.5 J/TH ≈ $0.63–0.80 per W per year
    assert cents(watts_per_unit_yield_per_year(30, 17.5)) == 0.63
    assert cents(watts_per_unit_yield_per_year(38, 17.5)) == 0.79
    # Sharper than cents: $50/PH/day = $0.05 per TH/s a day; 1 TH/s at 20 J/TH draws 20 W, so $0.0025 per W a
    # day, × 365 = $0.9125 per W per year (a 1,001 or a 366 in place of 1,000 or 365 moves the fourth digit).
    assert watts_per_unit_yield_per_year(50, 20) == pytest.approx(0.9125, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(1e9, 1e18), watts=st.floats(1, 1e5), price=st.floats(1e3, 1e6), power=st.floats(0.001, 1),
       uptime=st.floats(0, 1), fee=st.floats(0, 0.5))
def test_mining_identities(rate, watts, price, power, uptime, fee):
    y = mining_yield(_s21xp(hashrate_hps=rate, watts=watts, btc_price_usd=price, power_usd_per_kwh=power,
                            uptime=uptime, pool_fee=fee))
    assert y.profit_usd_per_day == pytest.approx(y.revenue_usd_per_day - y.power_cost_usd_per_day)
    assert y.profit_usd_per_kwh == pytest.approx(y.revenue_usd_per_kwh - power)
    at_breakeven = mining_yield(_s21xp(hashrate_hps=rate, watts=watts, btc_price_usd=price, uptime=uptime,
                                       pool_fee=fee, power_usd_per_kwh=y.breakeven_power_usd_per_kwh))
    assert at_breakeven.profit_usd_per_day == pytest.approx(0, abs=1e-9 * max(1, y.revenue_usd_per_day))


# --- AI ---------------------------------------------------------------------------------------------------------

def test_ai_token_revenue_by_hand():
    y = ai_yield(AIInputs(watts=700, power_usd_per_kwh=0.04, utilization=0.6, tokens_per_second=5800,
                          usd_per_mtok=0.125))
    # 5,800 tok/s × 86,400 s × 0.6 × $0.125 / 1e6 = $37.584; the machine stays on: 0.7 kW × 24 h = 16.8 kWh
    assert cents(y.revenue_usd_per_day) == 37.58
    assert y.energy_kwh_per_day == pytest.approx(16.8)
    assert cents(y.power_cost_usd_per_day) == 0.67
    assert cents(y.profit_usd_per_day) == 36.91
    assert round(y.revenue_usd_per_kwh, 4) == 2.2371  # 37.584 / 16.8
    assert round(y.profit_usd_per_kwh, 4) == 2.1971  # 2.2371 - 0.04
    assert y.breakeven_power_usd_per_kwh == y.revenue_usd_per_kwh
    assert round(y.joules_per_token, 4) == 0.1207  # 700 W / 5,800 tok/s (the notes: ≈ 0.12 J/token measured)
    assert y.tokens_per_day == pytest.approx(5800 * 86400 * 0.6)


def test_ai_idle_watts_by_hand():
    y = ai_yield(AIInputs(watts=700, idle_watts=100, power_usd_per_kwh=0.04, utilization=0.6,
                          tokens_per_second=5800, usd_per_mtok=0.125))
    # (0.6 × 700 + 0.4 × 100) W × 24 h = 11.04 kWh
    assert y.energy_kwh_per_day == pytest.approx(11.04)
    assert cents(y.power_cost_usd_per_day) == 0.44
    assert round(y.revenue_usd_per_kwh, 4) == 3.4043  # 37.584 / 11.04


def test_ai_separate_input_and_output_prices_by_hand():
    y = ai_yield(AIInputs(watts=1000, power_usd_per_kwh=0.05, utilization=0.5, tokens_per_second=1000,
                          usd_per_mtok=0.60, input_tokens_per_second=4000, usd_per_mtok_input=0.15))
    # 86,400 × 0.5 / 1e6 × (1,000 × 0.60 + 4,000 × 0.15) = 0.0432 × 1,200 = $51.84
    assert cents(y.revenue_usd_per_day) == 51.84


def test_ai_gpu_hour_revenue_by_hand():
    y = ai_yield(AIInputs(watts=10_200, power_usd_per_kwh=0.05, utilization=0.7, gpu_hour_usd=2.35, gpus=8))
    # $2.35 × 8 × 24 h × 0.7 = $315.84; 10.2 kW × 24 h = 244.8 kWh × $0.05 = $12.24
    assert cents(y.revenue_usd_per_day) == 315.84
    assert cents(y.power_cost_usd_per_day) == 12.24
    assert cents(y.profit_usd_per_day) == 303.60
    assert y.joules_per_token is None and y.pricing == "gpu-hour"


def test_ai_curtailment_scales_tokens_with_revenue_and_energy():
    y = ai_yield(AIInputs(watts=700, power_usd_per_kwh=0.04, utilization=0.6, tokens_per_second=5800,
                          usd_per_mtok=0.125, uptime=0.5))
    # Half the day without power: 5,800 × 86,400 × 0.6 × 0.5 = 150,336,000 tokens, $18.792, 8.4 kWh
    assert y.tokens_per_day == pytest.approx(150_336_000)
    assert cents(y.revenue_usd_per_day) == 18.79 and y.energy_kwh_per_day == pytest.approx(8.4)
    assert round(y.revenue_usd_per_kwh, 4) == 2.2371  # per kWh drawn does not depend on curtailment


def test_gpu_hour_pricing_without_a_token_rate_sells_no_tokens():
    y = ai_yield(AIInputs(watts=10_200, power_usd_per_kwh=0.05, gpu_hour_usd=2.35, gpus=8))
    assert y.tokens_per_day == 0 and y.joules_per_token is None


def test_idle_watts_may_equal_the_full_load_watts():
    # A machine that never idles lower (a rented GPU held at full clocks) is the same as no idle figure.
    y = ai_yield(AIInputs(watts=700, idle_watts=700, power_usd_per_kwh=0.04, utilization=0.6,
                          tokens_per_second=5800, usd_per_mtok=0.125))
    assert y.energy_kwh_per_day == pytest.approx(16.8)


@pytest.mark.parametrize("gpus", [0, -1, True, 1.5, "8"])
def test_gpu_hour_pricing_rejects_a_gpu_count_that_is_not_a_whole_number_from_1(gpus):
    with pytest.raises(InputError, match="^GPU count must be a whole number >= 1"):
        AIInputs(watts=10_200, power_usd_per_kwh=0.05, gpu_hour_usd=2.35, gpus=gpus)


def test_token_pricing_needs_both_a_rate_and_a_price():
    for over in (dict(tokens_per_second=None), dict(usd_per_mtok=None), dict(tokens_per_second=None,
                                                                            usd_per_mtok=None)):
        with pytest.raises(InputError, match="^AI revenue needs tokens/s with a \\$/Mtok price"):
            AIInputs(**{**dict(watts=700, power_usd_per_kwh=0.04, tokens_per_second=5800, usd_per_mtok=0.125),
                        **over})


def test_time_shared_prefill_and_decode():
    # 1 / 1,000 + 4 / 10,000 = 1.4 ms per output token -> 714.29 output and 2,857.14 prompt tokens/s
    inp, outp = time_shared_throughput(10_000, 1_000, 4)
    assert outp == pytest.approx(714.2857, rel=1e-6) and inp == pytest.approx(2857.1429, rel=1e-6)
    assert time_shared_throughput(10_000, 1_000, 0) == (0, 1000)


@pytest.mark.parametrize("over", [
    dict(watts=0), dict(utilization=1.2), dict(utilization=-0.01), dict(usd_per_mtok=0), dict(usd_per_mtok=-1),
    dict(tokens_per_second=0), dict(idle_watts=800), dict(idle_watts=0), dict(gpu_hour_usd=2.0),
    dict(usd_per_mtok=None), dict(input_tokens_per_second=100), dict(usd_per_mtok_input=0.1),
    dict(power_usd_per_kwh=0),
])
def test_ai_rejects_bad_inputs(over):
    args = dict(watts=700, power_usd_per_kwh=0.04, tokens_per_second=5800, usd_per_mtok=0.125)
    with pytest.raises(InputError):
        AIInputs(**{**args, **over})


# The one line a user reads names the quantity that is wrong: pin the start of each message, so a lost or
# garbled label ("None must be > 0") fails here and not in front of a user.
_MINING = dict(hashrate_hps=270e12, watts=3645, btc_price_usd=91_000, difficulty=152e12, subsidy_btc=3.125,
               power_usd_per_kwh=0.05)
_AI = dict(watts=700, power_usd_per_kwh=0.04, tokens_per_second=5800, usd_per_mtok=0.125)


@pytest.mark.parametrize("make, message", [
    (lambda: MiningInputs(**{**_MINING, "hashrate_hps": 0}), "hashrate must be > 0, got 0"),
    (lambda: MiningInputs(**{**_MINING, "subsidy_btc": -1}), "block subsidy must be >= 0, got -1"),
    (lambda: MiningInputs(**{**_MINING, "fees_btc_per_block": -0.5}), "fees per block must be >= 0, got -0.5"),
    (lambda: MiningInputs(**{**_MINING, "pool_fee": 1.5}), "pool fee must be between 0 and 1, got 1.5"),
    (lambda: MiningInputs(**{**_MINING, "pool_fee": 1.0}), "pool fee must be below 1 (a 100 % fee"),
    (lambda: MiningInputs(**{**_MINING, "difficulty": math.nan}), "difficulty must be a finite number, got nan"),
    (lambda: AIInputs(**{**_AI, "watts": 0}), "watts must be > 0, got 0"),
    (lambda: AIInputs(**{**_AI, "power_usd_per_kwh": -1}), "power price must be > 0, got -1"),
    (lambda: AIInputs(**{**_AI, "uptime": 2}), "uptime must be between 0 and 1, got 2"),
    (lambda: AIInputs(**{**_AI, "tokens_per_second": -5}), "tokens per second must be > 0, got -5"),
    (lambda: AIInputs(**{**_AI, "input_tokens_per_second": -5}), "input tokens per second must be >= 0, got -5"),
    (lambda: AIInputs(**{**_AI, "idle_watts": -5}), "idle watts must be > 0, got -5"),
    (lambda: AIInputs(**{**_AI, "idle_watts": 800}), "idle watts (800) exceed the full-load watts (700)"),
    (lambda: AIInputs(**{**_AI, "usd_per_mtok": None, "gpu_hour_usd": -2}), "$/GPU-hour must be > 0, got -2"),
    (lambda: AIInputs(**{**_AI, "gpu_hour_usd": 2}), "price AI by $/Mtok or by $/GPU-hour, not both"),
    (lambda: AIInputs(**{**_AI, "input_tokens_per_second": 10, "usd_per_mtok_input": 0}),
     "input $/Mtok must be > 0, got 0"),
    (lambda: AIInputs(**{**_AI, "usd_per_mtok_input": 0.1}), "an input-token price needs input tokens/s to apply"),
    (lambda: AIInputs(**{**_AI, "input_tokens_per_second": 10}), "input tokens/s need their own price ($/Mtok for"),
    (lambda: difficulty_from_network_hashrate(0), "network hashrate must be > 0, got 0"),
    (lambda: network_hashrate_from_difficulty(-1), "difficulty must be > 0, got -1"),
    (lambda: hashprice_usd_per_ph_day(0, 91_000, 3.125), "difficulty must be > 0, got 0"),
    (lambda: hashprice_usd_per_ph_day(152e12, 0, 3.125), "BTC price must be > 0, got 0"),
    (lambda: hashprice_usd_per_ph_day(152e12, 91_000, -1), "block reward must be >= 0, got -1"),
    (lambda: time_shared_throughput(0, 1000, 4), "prefill tokens per second must be > 0, got 0"),
    (lambda: time_shared_throughput(1000, 0, 4), "decode tokens per second must be > 0, got 0"),
    (lambda: time_shared_throughput(1000, 100, -4), "input tokens per output token must be >= 0, got -4"),
    (lambda: watts_per_unit_yield_per_year(38, 0), "J/TH must be > 0, got 0"),
    (lambda: subsidy_sats(-1), "block height must be a whole number >= 0, got -1"),
    # a value that is no number at all is named too, by the >= 0 and fraction checks as by the > 0 one
    (lambda: MiningInputs(**{**_MINING, "fees_btc_per_block": math.inf}), "fees per block must be a finite number, "
                                                                          "got inf"),
    (lambda: MiningInputs(**{**_MINING, "pool_fee": math.nan}), "pool fee must be a finite number, got nan"),
])
def test_bad_input_messages_name_the_quantity(make, message):
    with pytest.raises(InputError) as caught:
        make()
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("value", [True, "3", None, [1.0]])
def test_a_value_that_is_not_a_number_is_an_input_error_not_a_type_error(value):
    # A bool is an int to Python but never a quantity; a string from a config file must not reach math.isfinite.
    with pytest.raises(InputError, match="^hashrate must be a finite number"):
        require_finite("hashrate", value)


@pytest.mark.parametrize("kinds, kind", [
    ((MEASURED,), MEASURED), ((MEASURED, MEASURED), MEASURED), ((NAMEPLATE, NAMEPLATE), NAMEPLATE),
    ((MEASURED, DECLARED), ESTIMATED), ((NAMEPLATE, MEASURED, MEASURED), ESTIMATED),
])
def test_a_figure_from_mixed_kinds_is_an_estimate(kinds, kind):
    assert combined_kind(*kinds) == kind


def test_a_kind_outside_the_four_words_is_refused():
    with pytest.raises(ValueError, match="^kind must be one of"):
        Sourced(1.0, "flag", "guessed")


# --- units and catalog ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("270T", 270e12), ("270 TH/s", 270e12), ("270th/s", 270e12), ("1.05 ZH/s", 1.05e21), ("1e15", 1e15),
    ("2E", 2e18), ("91,000", 91_000), ("3.6k", 3600), ("152T", 152e12), (".5P", 0.5e15),
])
def test_parse_si(text, value):
    assert parse_si(text, "--x", ("H/s", "W")) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "270X", "270 TW/h", "nan", "1e999"])
def test_parse_si_rejects(text):
    with pytest.raises(InputError):
        parse_si(text, "--hashrate", ("H/s",))


@pytest.mark.parametrize("text, usd_per_kwh", [
    ("0.055", 0.055), ("$0.055", 0.055), ("0.055/kWh", 0.055), ("$0.055/kWh", 0.055), ("0.055 USD/kWh", 0.055),
    ("55/MWh", 0.055), ("$55/MWh", 0.055), ("55 $/MWh", 0.055), ("55 usd/mwh", 0.055), ("1,250/MWh", 1.25),
    ("55/kWh", 55.0), ("1/kWh", 1.0), ("0.999", 0.999), (0.04, 0.04),
])
def test_parse_power_price(text, usd_per_kwh):
    assert parse_power_price(text, "--power-price") == pytest.approx(usd_per_kwh)


@pytest.mark.parametrize("text", ["abc", "0.05/GWh", "55/MW", "55/MWh/day", "0.05 €/kWh", ""])
def test_parse_power_price_rejects(text):
    with pytest.raises(InputError, match="--power-price: cannot read"):
        parse_power_price(text, "--power-price")


@pytest.mark.parametrize("text", ["55", "$1", "1", "1.0", 1, 55.0, "1,250"])
def test_parse_power_price_refuses_a_bare_dollar_or_more(text):
    # a bare figure from $1 up is a $/MWh tariff without its unit far more often than a price per kWh
    said = r"^--power-price: [0-9,.]+ reads as \$[0-9,.]+/kWh \(\$[0-9,]+/MWh\); a price "
    with pytest.raises(InputError, match=said):
        parse_power_price(text, "--power-price")


def test_yield_reads_a_power_price_per_mwh_and_refuses_a_bare_dollar_per_kwh():
    """An S21 (200 TH/s, 3,500 W nameplate) at $55/MWh = $0.055/kWh: 0.2 PH/s × $38.0694 = $7.6139 revenue,
    3.5 kW × 24 h × $0.055 = $4.62 power, $2.99 profit a day. A bare 55 would be $55/kWh: -$4,612.39."""
    m = invoke_json("yield", "--asic", "S21", "--power-price", "55/MWh", "--btc-price", "91k")["mining"]
    assert m["inputs"]["power_usd_per_kwh"]["value"] == pytest.approx(0.055)
    assert m["inputs"]["btc_price_usd"]["value"] == 91_000
    assert cents(m["power_cost_usd_per_day"]) == 4.62 and cents(m["profit_usd_per_day"]) == 2.99
    assert not any("per MWh" in n for n in m["notes"])
    # a bare 55 is refused, as in a site file; written with its unit it stands
    assert_one_line_error(invoke("yield", "--asic", "S21", "--power-price", "55"),
                          '--power-price: 55 reads as $55/kWh ($55,000/MWh); a price per MWh is written "55/MWh", '
                          'and a price of $1/kWh or more with its unit ("55/kWh")')
    m = invoke_json("yield", "--asic", "S21", "--power-price", "55/kWh")["mining"]
    assert cents(m["profit_usd_per_day"]) == cents(0.2 * 38.0694131 - 3.5 * 24 * 55) == -4612.39
    assert_one_line_error(invoke("yield", "--asic", "S21", "--power-price", "-1"), "power price must be > 0")


def test_joules_per_th_shows_no_digits_below_its_noise():
    from hashbench.cli_economics import fmt

    assert fmt("joules_per_th", 17.5) == "17.50 J/TH"  # S21 nameplate: 3,500 W / 200 TH/s
    assert fmt("joules_per_th", 1_261_163.447) == "1,261,163 J/TH"  # a 2-core VM, 17 % apart from run to run


def test_formatting():
    assert format_si(270e12, "H/s") == "270.00 TH/s"
    assert format_usd(-1234.5) == "-$1,234.50"


def test_asic_catalog_rows_are_nameplate_with_sources():
    models = {a.model for a in catalog.asics()}
    assert models == {"Antminer S19", "Antminer S19 XP", "Antminer S21", "Antminer S21 Pro", "Antminer S21 XP",
                      "Antminer S21 XP Hyd", "Antminer S21+ Hyd", "Antminer S23 Hyd", "Whatsminer M60",
                      "Whatsminer M60S",
                      "Whatsminer M66S+"}
    for a in catalog.asics():
        assert a.provenance == "nameplate" and a.source
        assert a.j_per_th == pytest.approx(a.watts / a.hashrate_ths, rel=0.01), a.model


def test_gpu_catalog_rows_are_nameplate_with_sources():
    assert {g.model for g in catalog.gpus()} == {"H100 SXM", "H100 PCIe", "H200", "B200", "L40S", "RTX 4090"}
    for g in catalog.gpus():
        assert g.provenance == "nameplate" and g.source and g.tdp_w > 0 and g.memory_gb > 0 and g.bandwidth_tbs > 0
    assert catalog.find_gpu("h100-sxm").tdp_w == 700
    for ref in catalog.throughput_refs():
        assert catalog.find_gpu(ref.gpu) and ref.provenance == "published" and ref.source


@pytest.mark.parametrize("name, model", [("S21 XP", "Antminer S21 XP"), ("antminer s21xp", "Antminer S21 XP"),
                                         ("S21", "Antminer S21"), ("M66S+", "Whatsminer M66S+"),
                                         ("whatsminer-m60s", "Whatsminer M60S"),
                                         # Bitmain names its water-cooled models "Hyd"; planners write "hydro"
                                         ("S21+ hydro", "Antminer S21+ Hyd"), ("Antminer S21 XP Hydro",
                                                                               "Antminer S21 XP Hyd"),
                                         # the vendor's name first, with or without the product line
                                         ("Bitmain Antminer S21 Pro", "Antminer S21 Pro"),
                                         ("bitmain s19", "Antminer S19"), ("MicroBT Whatsminer M60", "Whatsminer M60"),
                                         ("MicroBT M60S", "Whatsminer M60S")])
def test_find_asic(name, model):
    assert catalog.find_asic(name).model == model


@pytest.mark.parametrize("name, model", [("H200", "H200"), ("nvidia-h200", "H200"), ("rtx4090", "RTX 4090"),
                                         # as nvidia-smi names the card, and as it is sold
                                         ("NVIDIA GeForce RTX 4090", "RTX 4090"), ("GeForce RTX 4090", "RTX 4090"),
                                         ("NVIDIA H100 SXM", "H100 SXM"), ("nvidia l40s", "L40S")])
def test_find_gpu(name, model):
    assert catalog.find_gpu(name).model == model


@pytest.mark.parametrize("name", ["MicroBT S21", "Bitmain M60", "Whatsminer S21", "AMD H200", "H100"])
def test_a_brand_word_of_another_maker_or_a_name_short_of_a_model_finds_nothing(name):
    with pytest.raises(InputError, match=f"^unknown (ASIC|GPU) {name!r}; known: "):
        catalog.find_asic(name) if name.split()[0] in ("MicroBT", "Bitmain", "Whatsminer") else catalog.find_gpu(name)


def test_s21_plus_hyd_nameplate():
    """Bitmain's S21+ Hyd (2024): 319 TH/s at 15 J/TH, 4,785 W at the wall. Its '+' keeps it apart from the S21."""
    a = catalog.find_asic("Antminer S21+ Hyd")
    assert (a.hashrate_ths, a.watts, a.j_per_th, a.cooling) == (319, 4785, 15.0, "hydro")
    assert a.provenance == "nameplate" and "319T" in a.source
    assert catalog.find_asic("S21").model == "Antminer S21"


def test_unknown_hardware_is_an_input_error():
    with pytest.raises(InputError, match="^unknown ASIC 'S99'; known: Antminer S19, Antminer S19 XP, Antminer S21, "):
        catalog.find_asic("S99")
    with pytest.raises(InputError, match="^unknown GPU 'A100'; known: H100 SXM, H100 PCIe, H200, B200, L40S, RTX "
                                         "4090$"):
        catalog.find_gpu("A100")


# --- hashbench yield --------------------------------------------------------------------------------------------

def test_yield_json_worked_example():
    data = invoke_json("yield", "--hashrate", "1P", "--watts", "17.5k", "--difficulty", "152T", "--btc-price",
                       "91000", "--subsidy", "3.125", "--fees-btc", "0.036", "--power-price", "0.05")
    assert set(data) == {"mining", "notes"}
    m = data["mining"]
    for key in ("hashprice_usd_per_ph_day", "revenue_usd_per_day", "power_cost_usd_per_day", "profit_usd_per_day",
                "revenue_usd_per_kwh", "profit_usd_per_kwh", "breakeven_power_usd_per_kwh", "joules_per_th"):
        assert isinstance(m[key], float), key
    assert cents(m["hashprice_usd_per_ph_day"]) == 38.07
    assert cents(m["revenue_usd_per_day"]) == 38.07  # 1 PH/s, no pool fee, full uptime
    assert cents(m["power_cost_usd_per_day"]) == 21.00  # 17.5 kW × 24 h × $0.05
    assert cents(m["profit_usd_per_day"]) == 17.07
    assert m["joules_per_th"] == pytest.approx(17.5)
    assert m["inputs"]["hashrate_hps"] == {"value": 1e15, "source": "flag", "kind": "declared"}
    assert m["inputs"]["pool_fee"]["source"] == "default"
    assert m["figure_kinds"]["joules_per_th"] == "declared"
    assert m["figure_kinds"]["profit_usd_per_day"] == "estimated"


def test_yield_defaults_come_from_the_dated_snapshot():
    data = invoke_json("yield", "--asic", "S21 XP")
    m = data["mining"]
    assert m["inputs"]["hashrate_hps"]["source"] == "catalog nameplate"
    assert m["inputs"]["watts"]["kind"] == "nameplate"
    assert m["inputs"]["btc_price_usd"]["source"] == "market snapshot 2025-11-18"
    assert m["inputs"]["subsidy_btc"]["value"] == 3.125
    assert m["figure_kinds"]["joules_per_th"] == "nameplate"
    assert "2025-11-18" in m["market"]


def test_yield_network_hashrate_and_height():
    data = invoke_json("yield", "--hashrate", "270T", "--watts", "3645", "--network-hashrate", "1.1 ZH/s",
                       "--height", "1050000", "--power-price", "0.05", "--btc-price", "91000")
    inputs = data["mining"]["inputs"]
    assert inputs["difficulty"]["value"] == pytest.approx(153_668_224_811_553.97)
    assert inputs["subsidy_btc"]["value"] == 1.5625


def test_yield_ai_with_gpu_catalog_and_both_sections():
    data = invoke_json("yield", "--asic", "S21", "--gpu", "H100 SXM", "--utilization", "0.6", "--power-price",
                       "0.04")
    assert set(data) == {"mining", "ai", "notes"}
    ai = data["ai"]
    assert cents(ai["revenue_usd_per_day"]) == 37.58  # 5,800 tok/s published × 0.6 × $0.125/Mtok (snapshot)
    assert ai["inputs"]["tokens_per_second"]["source"] == "published benchmark"
    assert ai["inputs"]["watts"]["source"] == "catalog nameplate"
    # each catalog figure says where it comes from and what it covers, from the catalog's own columns
    assert ai["inputs"]["tokens_per_second"]["detail"] == (
        "1 × 5800 tokens/s per H100 SXM, 8b class: vLLM offline throughput, Llama-3.1-8B FP8 on one H100 (MLPerf-style "
        "run) (per GPU; offline batch throughput (output tokens))")
    assert data["mining"]["inputs"]["watts"]["detail"] == "Antminer S21: Bitmain spec sheet (S21 200T) (at the wall)"
    assert round(ai["joules_per_token"], 4) == 0.1207
    for key in ("revenue_usd_per_day", "power_cost_usd_per_day", "profit_usd_per_day", "revenue_usd_per_kwh",
                "profit_usd_per_kwh", "breakeven_power_usd_per_kwh", "joules_per_token"):
        assert key in ai


def test_yield_gpu_hour_pricing_from_flags():
    data = invoke_json("yield", "--gpu-hour-usd", "2.35", "--gpus", "8", "--watts", "10.2k", "--utilization",
                       "0.7", "--power-price", "0.05")
    assert cents(data["ai"]["profit_usd_per_day"]) == 303.60
    assert data["ai"]["joules_per_token"] is None


def _run_file(tmp_path, *, energy: bool = True, probes: bool = True):
    bench = [{"backend": "python", "impl": "hashlib", "threads": 1, "hashrate": 1.0e6, "seconds": 5.0,
              "hashes": 5_000_000},
             {"backend": "cython", "impl": "avx2", "threads": 16, "hashrate": 2.0e8, "seconds": 5.0,
              "hashes": 1_000_000_000}]
    if energy:
        bench[0].update(energy_j=300.0, power_source="rapl")
        bench[1].update(energy_j=1000.0, power_source="rapl")
    data = {"schema_version": 1, "kind": "hashbench-run", "benchmarks": bench}
    if probes:
        data["probes"] = [
            {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
             "value": 5000.0, "unit": "tokens/s", "energy_j": 36000.0, "joules_per_unit": 0.12,
             "power_source": "nvml"},
            {"probe": "llm-prefill", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
             "value": 50000.0, "unit": "tokens/s", "energy_j": 30000.0, "joules_per_unit": 0.010,
             "power_source": "nvml"},
            {"probe": "gemm", "device": "cuda:0", "preset": "", "dtype": "bf16", "batch": None, "value": 7e14,
             "unit": "FLOP/s", "energy_j": None, "joules_per_unit": None, "power_source": "nvml"},
        ]
    return write_json(tmp_path / "run.json", data)


def test_yield_from_run_uses_measured_figures(tmp_path):
    data = invoke_json("yield", "--from-run", str(_run_file(tmp_path)), "--power-price", "0.05", "--utilization",
                       "0.5")
    m, ai = data["mining"], data["ai"]
    assert m["inputs"]["hashrate_hps"]["value"] == 2.0e8  # the fastest configuration
    assert m["inputs"]["hashrate_hps"]["source"] == "measured (run file)"
    assert m["inputs"]["watts"]["value"] == pytest.approx(200.0)  # 1,000 J over 5 s
    assert m["figure_kinds"]["joules_per_th"] == "measured"
    assert m["joules_per_th"] == pytest.approx(1e6)  # 200 W / 0.0002 TH/s
    # set beside the most efficient ASIC's nameplate (S23 Hyd 9.5 J/TH), not a rule of thumb
    assert "1,000,000 J/TH (measured), 105,263× the energy per hash of the Antminer S23 Hyd (9.5 J/TH nameplate" \
        in " ".join(m["notes"])
    tokens = ai["inputs"]["tokens_per_second"]
    assert (tokens["value"], tokens["source"], tokens["kind"]) == (5000.0, "measured (run file)", "measured")
    assert "llm-decode llama-3.1-8b fp8 batch 64 on cuda:0" in tokens["detail"]
    assert ai["inputs"]["watts"]["value"] == pytest.approx(600.0)  # 0.12 J/token × 5,000 tok/s
    assert ai["joules_per_token"] == pytest.approx(0.12)
    assert ai["figure_kinds"]["joules_per_token"] == "measured"
    # 8B class read from the preset: 5,000 × 86,400 × 0.5 × $0.125 / 1e6 = $27.00
    assert cents(ai["revenue_usd_per_day"]) == 27.00


def _unwrapped(text: str) -> str:
    return " ".join(text.split())


def test_yield_from_run_never_values_a_backend_that_failed_verification(tmp_path):
    """cython (the fastest) scanned real headers to wrong nonces in the same run: its hashrate was the one valued."""
    data = json.loads(_run_file(tmp_path).read_text())
    data["verify"] = [{"backend": "cython", "impl": "avx2", "headers": 4, "passed": False, "failures": ["x"]},
                      {"backend": "python", "impl": "hashlib", "headers": 4, "passed": True, "failures": []}]
    run = write_json(tmp_path / "bad.json", data)
    m = invoke_json("yield", "--from-run", str(run), "--power-price", "0.05")["mining"]
    assert m["inputs"]["hashrate_hps"]["value"] == 1.0e6  # python, the backend that passed
    assert "python hashlib" in m["inputs"]["hashrate_hps"]["detail"]
    assert "cython failed verification" in _unwrapped(invoke("yield", "--from-run", str(run), "--json").stderr)
    notes = invoke_json("yield", "--from-run", str(run), "--power-price", "0.05")["notes"]
    assert any("cython failed verification" in n for n in notes)  # in the JSON too, not only on a terminal
    data["verify"][1]["passed"] = False
    result = invoke("yield", "--from-run", str(write_json(tmp_path / "worse.json", data)), "--json")
    assert "mining" not in json.loads(result.stdout)
    assert "mining section skipped" in _unwrapped(result.stderr)
    assert "every hashing backend in it failed verification" in _unwrapped(result.stderr)


def test_yield_from_an_incomplete_run_says_so(tmp_path):
    """A run stopped before its all-cores benchmark: its best hashrate is a single core's, and the yield said
    nothing."""
    data = json.loads(_run_file(tmp_path).read_text())
    data["complete"] = False
    args = ("yield", "--from-run", str(write_json(tmp_path / "stopped.json", data)), "--utilization", "0.5")
    report = invoke_json(*args)
    assert "(incomplete run)" in report["mining"]["inputs"]["hashrate_hps"]["detail"]
    assert "(incomplete run)" in report["ai"]["inputs"]["tokens_per_second"]["detail"]
    assert "stopped.json is an incomplete run" in _unwrapped(invoke(*args, "--json").stderr)
    assert "incomplete" not in invoke("yield", "--from-run", str(_run_file(tmp_path)), "--json").stderr


def test_yield_from_run_keeps_the_runs_own_joules_per_th(tmp_path):
    """A run's hashrate is the median of its samples; its joules belong to all the hashes of the timed scans. On a
    busy machine the median beats the mean: pairing it with the window's mean power priced hashes the meter never
    paid for (a real 2-core run: 1,045,040 J/TH in yield beside the run's own 1,261,163)."""
    run = write_json(tmp_path / "run.json", {"benchmarks": [
        {"backend": "cython", "impl": "avx2", "threads": 2, "hashrate": 2.0e8, "hashes": 900_000_000,
         "seconds": 5.0, "energy_j": 1000.0, "watts": 200.0, "joules_per_unit": 1000.0 / 900_000_000,
         "power_source": "rapl (cpu package)"}]})
    m = invoke_json("yield", "--from-run", str(run), "--power-price", "0.05", "--difficulty", "152T",
                    "--btc-price", "91000", "--subsidy", "3.125", "--fees-btc", "0.036")["mining"]
    # 1,000 J over 9e8 hashes = 0.0009 TH: 1,111,111 J/TH, as the run itself reports (200 W / 200 MH/s = 1e6 was
    # the old figure). Power at the median rate: 1.1111e-6 J/hash × 2e8 H/s = 222.22 W.
    assert m["joules_per_th"] == pytest.approx(1000 / 0.0009, rel=1e-9)
    assert m["inputs"]["watts"]["value"] == pytest.approx(222.2222, rel=1e-6)
    # Revenue per kWh from first principles: a hash earns 3.161 BTC × $91,000 / (152e12 × 2^32) = $4.40618e-19;
    # a kWh buys 3.6e6 J / 1.1111e-6 J per hash = 3.24e12 hashes -> $1.42760e-6 per kWh (not 1.5863e-6: +11 %).
    per_hash = 3.161 * 91_000 / (152e12 * 2**32)
    assert m["revenue_usd_per_kwh"] == pytest.approx(per_hash * 3.6e6 / (1000 / 900_000_000), rel=1e-9)
    assert m["revenue_usd_per_kwh"] == pytest.approx(1.42760e-6, rel=1e-5)


def _decode(preset: str, tokens_per_second: float, joules_per_token: float) -> dict:
    return {"probe": "llm-decode", "device": "cuda:0", "preset": preset, "dtype": "bf16", "batch": 32,
            "value": tokens_per_second, "unit": "tokens/s", "joules_per_unit": joules_per_token,
            "power_source": "nvml (gpu board)"}


@pytest.mark.parametrize("name, cls", [
    ("llama-3.1-8b", "8b"), ("llama-8b", "8b"), ("Llama-3.1-70B-Instruct", "70b"), ("llama-70b", "70b"),
    ("llama8b", "8b"), ("llama-1b", None), ("cpu-tiny", None), ("cpu-small", None), ("qwen2.5-18b", None),
    ("mixtral-8x7b", None),
])
def test_model_class_of_a_preset(name, cls):
    assert model_class_of(name) == cls


def test_yield_from_run_prices_the_model_of_the_price_class(tmp_path):
    """A GPU run decodes llama-1b, llama-8b and llama-70b. The fastest is the 1B model; its tokens were sold at
    the 8B-class price (the default class), four times the revenue of the 8B model that price is for."""
    run = write_json(tmp_path / "run.json", {"benchmarks": [], "probes": [
        _decode("llama-1b", 20_000, 0.05), _decode("llama-8b", 5_000, 0.12), _decode("llama-70b", 1_000, 0.6)]})
    args = ("yield", "--from-run", str(run), "--utilization", "0.5", "--power-price", "0.05")
    ai = invoke_json(*args)["ai"]
    # 5,000 tok/s × 86,400 s × 0.5 × $0.125 (8B class, snapshot midpoint) / 1e6 = $27.00 (not 20,000 tok/s: $108.00)
    assert ai["inputs"]["tokens_per_second"]["value"] == 5_000
    assert cents(ai["revenue_usd_per_day"]) == 27.00
    assert ai["inputs"]["watts"]["value"] == pytest.approx(600)  # 0.12 J/token × 5,000 tokens/s
    # 70B class asked: its own preset. 1,000 × 86,400 × 0.5 × $0.65 / 1e6 = $28.08
    assert cents(invoke_json(*args, "--model-class", "70b")["ai"]["revenue_usd_per_day"]) == 28.08
    assert cents(invoke_json(*args, "--preset", "llama-70b")["ai"]["revenue_usd_per_day"]) == 28.08
    # The 1B model has no class price: named, it needs a price of its own. 20,000 × 86,400 × 0.5 × $0.03 / 1e6
    assert_one_line_error(invoke(*args, "--preset", "llama-1b"), "'llama-1b' is neither an 8B- nor a 70B-class")
    assert cents(invoke_json(*args, "--preset", "llama-1b", "--usd-per-mtok", "0.03")["ai"]
                 ["revenue_usd_per_day"]) == 25.92
    assert_one_line_error(invoke(*args, "--preset", "llama-70b", "--model-class", "8b"),
                          "'llama-70b' is a 70b-class model, not 8b")


def test_yield_from_a_cpu_run_does_not_sell_test_model_tokens(tmp_path):
    """`hashbench run --quick` on a CPU decodes cpu-tiny, a 2M-parameter shape: its tokens were valued at the
    8B-class price ($11.63/kWh on a 2-core VM, three times an H100 serving a real 8B model)."""
    run = write_json(tmp_path / "run.json", {
        "benchmarks": [{"backend": "cython", "impl": "avx2", "threads": 2, "hashrate": 6e7, "hashes": 3e8,
                        "seconds": 5.0, "energy_j": 325.0, "power_source": "declared 65 W"}],
        "probes": [{**_decode("cpu-tiny", 1739.1, 0.0387), "device": "cpu"}]})
    result = invoke("yield", "--from-run", str(run), "--json")
    assert result.exit_code == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"mining", "notes"}
    assert "'cpu-tiny' is neither an 8B- nor a 70B-class model" in " ".join(result.stderr.split())
    # A price of one's own values it: 1,739.1 × 86,400 × $0.01 / 1e6 = $1.50 a day at full utilization
    ai = invoke_json("yield", "--from-run", str(run), "--usd-per-mtok", "0.01", "--utilization", "1")["ai"]
    assert cents(ai["revenue_usd_per_day"]) == 1.50


def test_yield_from_run_says_a_board_or_package_meter_is_not_the_wall(tmp_path):
    """The labels a real run writes ("nvml (gpu board)", "rapl (cpu package)", from EnergyReading.label): the
    figures resting on them say the node and the wall draw more; a node meter needs no such note."""
    from hashbench.energy import EnergyReading

    def label(source: str, layer: str) -> str:
        return EnergyReading(source, layer, "energy counter", 1.0, 1.0).label

    path = _run_file(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for bench in data["benchmarks"]:
        bench["power_source"] = label("rapl", "cpu package")
    for probe in data["probes"]:
        probe["power_source"] = label("nvml", "gpu board")
    write_json(path, data)
    report = invoke_json("yield", "--from-run", str(path), "--power-price", "0.05", "--utilization", "0.5")
    assert any("rapl (cpu package) is the CPU package and DRAM only" in n for n in report["mining"]["notes"])
    assert any("nvml (gpu board) is the GPU board only" in n for n in report["ai"]["notes"])
    for bench in data["benchmarks"]:
        bench["power_source"] = label("ipmi", "node")
    write_json(path, data)
    mining = invoke_json("yield", "--from-run", str(path), "--power-price", "0.05")["mining"]
    assert not any("the wall draw more" in n for n in mining["notes"])


def test_yield_from_run_time_shares_prefill_and_decode(tmp_path):
    data = invoke_json("yield", "--from-run", str(_run_file(tmp_path)), "--input-per-output", "4",
                       "--usd-per-mtok", "0.20", "--usd-per-mtok-input", "0.05", "--utilization", "1",
                       "--power-price", "0.05")
    ai = data["ai"]
    # 1/5,000 + 4/50,000 = 0.28 ms per output token -> 3,571.43 out, 14,285.71 in; decode holds 5/7 of the time
    assert ai["inputs"]["tokens_per_second"]["value"] == pytest.approx(3571.4286, rel=1e-6)
    assert ai["inputs"]["input_tokens_per_second"]["value"] == pytest.approx(14285.714, rel=1e-6)
    assert ai["inputs"]["watts"]["value"] == pytest.approx(5 / 7 * 600 + 2 / 7 * 500)
    # 86,400 / 1e6 × (3,571.43 × 0.20 + 14,285.71 × 0.05) = 0.0864 × 1,428.57 = $123.43
    assert cents(ai["revenue_usd_per_day"]) == 123.43


def test_yield_from_run_without_energy_or_tokens_says_so(tmp_path):
    """A run on a VM (no meter) says once what the run lacks and what to give; it repeated the file name and each
    reason up to four times, and suggested --from-run to someone who had given it."""
    run = str(_run_file(tmp_path, energy=False, probes=False))
    result = invoke("yield", "--from-run", run)
    assert_one_line_error(result, f"hashbench: error: nothing to value in {run}: its hashing has no energy (give "
                                  "--watts W, the power drawn while hashing); it has no tokens/s (no llm-decode probe)")
    assert result.stderr.count(run) == 1
    probed = tmp_path / "probed" / "run.json"
    probed.parent.mkdir()
    data = json.loads(_run_file(probed.parent, energy=False).read_text(encoding="utf-8"))
    for probe in data["probes"]:
        probe.update(energy_j=None, joules_per_unit=None, power_source="none")
    write_json(probed, data)
    result = invoke("yield", "--from-run", str(probed))
    assert_one_line_error(result, f"nothing to value in {probed}: its hashing has no energy (give --watts W, the "
                                  "power drawn while hashing); its llm-decode probe has no energy (give --watts W, "
                                  "--ai-watts W or --gpu MODEL)")
    assert result.exit_code == 2 and result.stderr.count(str(probed)) == 1
    result = invoke("yield", "--from-run", run, "--watts", "65", "--json")
    assert result.exit_code == 0, result.stderr
    assert "no tokens/s" in result.stderr
    assert set(json.loads(result.stdout)) == {"mining", "notes"}


def test_yield_console_labels_every_figure():
    result = invoke("yield", "--asic", "S21 XP", "--gpu", "H100 SXM", "--utilization", "0.5",
                    env={"COLUMNS": "200"})  # wide enough that no cell wraps
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "market snapshot 2025-11-18" in text
    for word in ("nameplate", "estimated", "declared", "J/TH", "J/token", "breakeven"):
        assert word in text, word


def test_btc_per_day_under_a_satoshi_is_not_printed_as_one():
    """14 GH/s (a few GPUs) earns 0.586 sat a day: printed to eight decimals it read "0.00000001 BTC", a satoshi a
    day the machine does not earn. Under 1,000 sat the figure is in satoshis to three significant figures; --json
    keeps the exact float. By hand: 14e9 × 86,400 / (152e12 × 2^32) × 3.161 BTC = 5.8568e-9 BTC."""
    def row(*args: str) -> str:
        result = invoke("yield", *args, env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.stderr
        return " ".join(next(line for line in result.stdout.splitlines() if "BTC per day" in line).split())

    assert "│ 0.586 sat │" in row("--hashrate", "14G", "--watts", "100")
    assert "│ 0.0418 sat │" in row("--hashrate", "1G", "--watts", "100")  # 4.1835e-10 BTC
    assert "│ 58.6 sat │" in row("--hashrate", "1.4T", "--watts", "100")
    assert "│ 0.00011295 BTC │" in row("--hashrate", "270T", "--watts", "3645")  # 11,295 sat: eight decimals hold it
    assert "│ 0.00000000 BTC │" in row("--hashrate", "14G", "--watts", "100", "--uptime", "0")  # nothing is nothing
    data = invoke_json("yield", "--hashrate", "14G", "--watts", "100")
    assert data["mining"]["btc_per_day"] == pytest.approx(14e9 * 86_400 / (152e12 * 2**32) * 3.161, rel=1e-12)


@pytest.mark.parametrize("args, fragment", [
    (("--hashrate", "270T", "--watts", "0"), "watts must be > 0"),
    (("--hashrate", "270T", "--watts", "-3"), "watts must be > 0"),
    (("--asic", "S21", "--btc-price", "-1"), "BTC price must be > 0"),
    (("--asic", "S21", "--btc-price", "0"), "BTC price must be > 0"),
    (("--asic", "S21", "--difficulty", "0"), "difficulty must be > 0"),
    (("--asic", "S21", "--power-price", "0"), "power price must be > 0"),
    (("--asic", "S21", "--uptime", "1.5"), "uptime must be between 0 and 1"),
    (("--gpu", "H100 SXM", "--utilization", "2"), "utilization must be between 0 and 1"),
    (("--gpu", "H100 SXM", "--utilization", "80"),
     "utilization must be between 0 and 1, got 80 (a percentage is written with %: 80%)"),
    (("--asic", "S21", "--pool-fee", "2 percent"), "--pool-fee: cannot read '2 percent' as a fraction (0.8) or a "),
    (("--gpu", "H100 SXM", "--usd-per-mtok", "-0.1"), "$/Mtok must be > 0"),
    (("--asic", "S99",), "unknown ASIC 'S99'"),
    (("--gpu", "Z9000",), "unknown GPU 'Z9000'"),
    (("--hashrate", "fast", "--watts", "10"), "--hashrate"),
    (("--asic", "S21", "--difficulty", "152T", "--network-hashrate", "1Z"), "not both"),
    (("--asic", "S21", "--height", "1", "--subsidy", "3.125"), "not both"),
    (("--gpu", "H100 SXM", "--gpu-hour-usd", "2", "--usd-per-mtok", "0.1"), "not both"),
    (("--hashrate", "270T",), "--watts"),
    ((), "nothing to value"),
    (("--from-run", "/nonexistent/run.json"), "not found"),
])
def test_yield_bad_input_is_one_line_exit_2(args, fragment):
    assert_one_line_error(invoke("yield", *args), fragment)


def test_yield_refuses_typed_figures_below_any_machine():
    """A kW figure typed as W, or H/s typed as TH/s, valued a machine no hardware is: 200 TH/s at 3.5 W is 0.0175 J/TH
    (the best SHA-256 machine announced draws 9.5), an H100 at 0.7 W earned tokens for nothing. The floors are the
    site file's (1 J/TH; 50 W per GPU at full load, 5 W idle), applied to typed figures; exactly at a floor passes."""
    assert_one_line_error(invoke("yield", "--hashrate", "200T", "--watts", "3.5"),
                          "200 TH/s at 3.5 W is 0.0175 J/TH, below 1 J/TH and any SHA-256 machine: --hashrate is H/s "
                          "(270T for 270 TH/s), --watts is W (3.6k for 3.6 kW)")
    assert_one_line_error(invoke("yield", "--asic", "S21", "--watts", "3.5"), "is 0.0175 J/TH, below 1 J/TH")
    assert_one_line_error(invoke("yield", "--gpu", "H100 SXM", "--ai-watts", "0.7"),
                          "--ai-watts 0.7 is 0.7 W per GPU for 1 GPU, below 50 W, less than any datacenter GPU draws "
                          "at full load: --ai-watts is W for the whole machine (0.7 kW is written 0.7k)")
    assert_one_line_error(invoke("yield", "--tokens-per-second", "5000", "--gpus", "8", "--watts", "5.6"),
                          "--watts 5.6 is 0.7 W per GPU for 8 GPUs, below 50 W")
    assert_one_line_error(invoke("yield", "--gpu", "H100 SXM", "--gpus", "8", "--idle-watts", "0.56",
                                 "--utilization", "0.5"),
                          "--idle-watts 0.56 is 0.07 W per GPU for 8 GPUs, below 5 W, less than any datacenter GPU "
                          "draws idle")
    at_floor = invoke_json("yield", "--hashrate", "1T", "--watts", "1", "--gpu", "H100 SXM", "--gpus", "8",
                           "--ai-watts", "400", "--idle-watts", "40", "--utilization", "0.5")
    assert at_floor["mining"]["joules_per_th"] == pytest.approx(1.0)
    assert at_floor["ai"]["inputs"]["watts"]["value"] == 400 and at_floor["ai"]["inputs"]["idle_watts"]["value"] == 40
    # Without a GPU count, typed AI watts are a whole machine of any kind: no floor (a CPU box at 30 W is real).
    assert invoke_json("yield", "--tokens-per-second", "20", "--watts", "30")["ai"]["inputs"]["watts"]["value"] == 30


def test_yield_malformed_run_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert_one_line_error(invoke("yield", "--from-run", str(bad)), "not valid JSON")
    write_json(bad, [1, 2])
    assert_one_line_error(invoke("yield", "--from-run", str(bad)), "not a hashbench run result")


def test_yield_unknown_preset_lists_the_ones_in_the_run(tmp_path):
    result = invoke("yield", "--from-run", str(_run_file(tmp_path)), "--preset", "llama-70b")
    assert_one_line_error(result, "no llm-decode probe with preset 'llama-70b'", "llama-3.1-8b")


def test_yield_reads_pytest_benchmark_layout(tmp_path):
    # The result file may move hashbench's fields under pytest-benchmark's extra_info.
    run = write_json(tmp_path / "run.json", {"benchmarks": [
        {"name": "sha256d[cython]", "stats": {"mean": 1.0},
         "extra_info": {"backend": "cython", "impl": "avx2", "threads": 4, "hashrate": 4e7,
                        "energy": {"joules": 250.0, "source": "rapl"}, "seconds": 5.0}}]})
    data = invoke_json("yield", "--from-run", str(run), "--power-price", "0.1")
    assert data["mining"]["inputs"]["watts"]["value"] == pytest.approx(50.0)
    assert "rapl" in data["mining"]["inputs"]["watts"]["detail"]


def test_yield_market_file_from_the_environment(tmp_path):
    market = write_json(tmp_path / "m.json", {"date": "2026-02-01", "figures": {"btc_price_usd": 70000}})
    data = invoke_json("yield", "--asic", "S21", env={"HASHBENCH_MARKET": str(market)})
    assert data["mining"]["inputs"]["btc_price_usd"]["value"] == 70000
    assert data["mining"]["inputs"]["btc_price_usd"]["source"] == "market snapshot 2026-02-01"


def test_economics_commands_are_on_the_real_cli(capsys):
    """The tests above drive yield, market and plan through a group of their own; `hashbench` itself must have them,
    with its own one-line errors."""
    from pathlib import Path

    from hashbench.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        return exit_info.value.code, captured.out, captured.err

    code, out, err = run("yield", "--asic", "S21", "--json")
    assert code == 0 and json.loads(out)["mining"]["inputs"]["watts"]["kind"] == "nameplate", err
    code, out, err = run("market", "show", "--json")
    assert code == 0 and json.loads(out)["date"] == "2025-11-18", err
    example = Path(__file__).resolve().parents[1] / "examples" / "sites.toml"
    code, out, err = run("plan", str(example), "--btc-prices", "91k", "--difficulties", "152T", "--power-prices",
                         "0.035", "--json")
    assert code == 0 and [s["name"] for s in json.loads(out)["sites"]] == ["West Texas", "Quebec hydro"], err
    code, out, err = run("yield", "--asic", "S99")
    assert code == 2 and out == "" and err.startswith("hashbench: error: unknown ASIC 'S99'") and err.count("\n") == 1


def test_watts_beside_an_asic_belong_to_the_asic():
    data = invoke_json("yield", "--asic", "S21", "--watts", "3300", "--gpu", "H100 SXM")
    assert data["mining"]["inputs"]["watts"]["value"] == 3300
    assert data["ai"]["inputs"]["watts"] == {"value": 700.0, "source": "catalog nameplate", "kind": "nameplate",
                                             "detail": "1 × H100 SXM TDP 700 W: NVIDIA H100 datasheet"}


# --- a GPU run, written by the project's own writers, valued both ways --------------------------------------------

def _gpu_run_file(tmp_path, idle_watts: float | None = 72.0):
    """An H100-shaped `hashbench run` result through the real record path (EnergyReading -> BenchResult/ProbeResult
    -> measurement -> pytest-benchmark JSON): CUDA hashing at 20 GH/s drawing 650 W, llama-3.1-8b FP8 decode at
    5,000 tokens/s drawing 600 W, both on the board's NVML counter, with the 72 W idle it measured first."""
    from results_helpers import HOST

    from hashbench.bench import BenchResult
    from hashbench.energy.reading import EnergyReading
    from hashbench.probes.result import ProbeResult
    from hashbench.results.pbjson import write_result
    from hashbench.results.schema import RunResult, measurement_from_bench, measurement_from_probe

    def nvml(watts: float) -> EnergyReading:
        return EnergyReading("nvml", "gpu board", "energy counter", 60.0, watts * 60.0, idle_watts=idle_watts,
                             idle_seconds=10.0 if idle_watts else None, samples=600, update_period_s=0.1)

    bench = BenchResult("cuda", "nvrtc-sm_90", 1, [2.0e10] * 12, int(2.0e10 * 60), 60.0, energy=nvml(650.0))
    decode = ProbeResult("llm-decode", "cuda:0", "llama-3.1-8b", "fp8", 64, "tokens/s", [5000.0] * 5,
                         work=5000.0 * 60, per="token", seconds=60.0, energy=nvml(600.0))
    run = RunResult(host=HOST, started="2026-11-30T10:00:00+00:00", finished="2026-11-30T10:10:00+00:00",
                    complete=True, measurements=[measurement_from_bench(bench.to_json()),
                                                 measurement_from_probe(decode.to_json())])
    path = tmp_path / "gpu-run.json"
    write_result(run, path)
    return path


def test_yield_from_a_gpu_run_counts_the_measured_idle_power_of_unsold_hours(tmp_path):
    """At 60 % utilization the GPU idles 40 % of the day. The run measured that idle power (72 W on the same board
    counter) and yield ignored it: the unsold hours were billed at the 600 W of full decode, $2.25/kWh instead of
    $3.47, and nothing said so. By hand, $0.05/kWh, $0.125/Mtok (8B class):
    revenue 5,000 × 86,400 × 0.6 × $0.125 / 1e6 = $32.40; power 0.6 × 600 + 0.4 × 72 = 388.8 W -> 9.3312 kWh
    -> $0.46656 a day; $32.40 / 9.3312 kWh = $3.47222/kWh.
    Mining on the same board: 2e10 H/s × 86,400 / (152e12 × 2^32) × 3.161 BTC = 8.36690e-9 BTC a day, × $91,000 =
    $0.000761388; 650 W × 24 h = 15.6 kWh -> $0.0000488069/kWh; 650 W / 0.02 TH/s = 32,500 J/TH."""
    path = _gpu_run_file(tmp_path)
    report = invoke_json("yield", "--from-run", str(path), "--utilization", "0.6", "--power-price", "0.05")
    ai, mining = report["ai"], report["mining"]
    idle = ai["inputs"]["idle_watts"]
    assert (idle["value"], idle["kind"], idle["source"]) == (72.0, "measured", "measured (run file)")
    assert cents(ai["revenue_usd_per_day"]) == 32.40
    assert ai["energy_kwh_per_day"] == pytest.approx(9.3312)
    assert ai["power_cost_usd_per_day"] == pytest.approx(0.46656)
    assert ai["revenue_usd_per_kwh"] == pytest.approx(3.47222, rel=1e-5)
    assert ai["joules_per_token"] == pytest.approx(0.12)  # 600 W / 5,000 tokens/s, at full load
    assert mining["joules_per_th"] == pytest.approx(32_500)
    assert mining["revenue_usd_per_day"] == pytest.approx(0.000761388, rel=1e-5)
    assert mining["revenue_usd_per_kwh"] == pytest.approx(0.0000488069, rel=1e-5)
    # Same basis on both sides: the GPU board, gross of idle while running, each said to be the board only.
    for section in (ai, mining):
        assert any("nvml (gpu board) is the GPU board only" in n for n in section["notes"])
    assert any("2025-11-18" in n and "days old" in n for n in report["notes"])


def test_yield_says_when_unsold_hours_are_billed_at_full_load(tmp_path):
    """No idle power in the run and none given: the unsold 40 % is billed at full load, and the report says so."""
    path = _gpu_run_file(tmp_path, idle_watts=None)
    ai = invoke_json("yield", "--from-run", str(path), "--utilization", "0.6", "--power-price", "0.05")["ai"]
    assert "idle_watts" not in ai["inputs"]
    assert ai["energy_kwh_per_day"] == pytest.approx(14.4)  # 600 W all day
    assert any("unsold 40 % of the day is billed at full-load power" in n for n in ai["notes"])
    # A wattage given by flag is another meter's: the board's idle is not paired with it.
    flagged = invoke_json("yield", "--from-run", str(_gpu_run_file(tmp_path)), "--utilization", "0.6",
                          "--ai-watts", "1275", "--power-price", "0.05")["ai"]
    assert "idle_watts" not in flagged["inputs"]
