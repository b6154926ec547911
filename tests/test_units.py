"""units.py by hand: every SI prefix, the exact error a user reads, and the boundaries where a prefix changes.

tests/test_economics.py reads typical figures; these pin the edges mutation testing found unpinned
(benchmarks/checks/mutation.py src/hashbench/units.py --tests tests/test_units.py ...)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashbench.errors import InputError
from hashbench.units import (
    format_fixed,
    format_rate,
    format_si,
    format_usd,
    format_usd_short,
    parse_count,
    parse_fraction,
    parse_power_price,
    parse_si,
)

# --- parse_si ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("7", 7.0), ("7k", 7e3), ("7K", 7e3), ("7m", 7e6), ("7M", 7e6), ("7g", 7e9), ("7G", 7e9), ("7t", 7e12),
    ("7p", 7e15), ("7e", 7e18), ("7z", 7e21), ("7Z", 7e21),
])
def test_parse_si_reads_every_prefix_in_either_case(text, value):
    # exact, not approx: 7 × 10^n is exact in a double for every prefix here
    assert parse_si(text, "--x") == value


def test_parse_si_drops_thousands_separators_underscores_and_outer_spaces():
    assert parse_si("1_000_000", "--x") == 1e6
    assert parse_si("  3.6 kW  ", "--x", ("W",)) == 3600.0
    assert parse_si("1,500", "--x") == 1500.0 and parse_si("-12,345,678.5", "--x") == -12345678.5
    assert parse_si("3,500 W", "--x", ("W",)) == 3500.0


@pytest.mark.parametrize("text", ["1,5T", "0,055", "3,5k", "12,34", "1,0000", "1,000,00", ",5", "1,", "1,,000",
                                  "0,500", "1,5_00", "1.234,567", "2.5,000k"])  # after a point: European digits
def test_parse_si_refuses_a_comma_that_does_not_group_thousands(text):
    # a decimal comma read as a separator would be a figure 10 to 1,000 times too large: "1,5T" is not 15 TH/s
    with pytest.raises(InputError) as err:
        parse_si(text, "--hashrate")
    assert str(err.value) == (f"--hashrate: cannot read {text!r}: a comma only separates thousands (3,500); write a "
                              "decimal with a point (0.055, 1.5T)")


def test_parse_si_reads_a_dollar_sign_where_the_unit_is_usd():
    assert parse_si("$91,000", "--btc-price", ("USD",)) == 91_000.0
    assert parse_si(" $ 91k ", "--btc-price", ("USD",)) == 91_000.0 and parse_si("91k USD", "--x", ("USD",)) == 91e3
    # not where the figure is no price: "$5" is no hashrate
    with pytest.raises(InputError, match=re.escape("--hashrate: cannot read '$5' as a number")):
        parse_si("$5", "--hashrate", ("H/s",))


def test_parse_si_matches_the_unit_case_insensitively():
    assert parse_si("270 th/S", "--x", ("H/s",)) == 270e12
    assert parse_si("2 MW", "--x", ("h/s", "w")) == 2e6


def test_parse_si_takes_python_numbers_as_they_are_and_refuses_a_bool():
    assert parse_si(3, "--x") == 3.0 and isinstance(parse_si(3, "--x"), float)
    assert parse_si(2.5e12, "--x") == 2.5e12
    # True is an int to Python, but --hashrate true is a typo, not 1 H/s
    with pytest.raises(InputError, match=re.escape("--x: cannot read 'True' as a number")):
        parse_si(True, "--x")


def test_parse_si_error_names_the_flag_the_text_and_the_units():
    with pytest.raises(InputError) as err:
        parse_si("270X", "--hashrate", ("H/s", "W"))
    assert str(err.value) == "--hashrate: cannot read '270X' as a number with an optional SI prefix (units: H/s, W)"
    with pytest.raises(InputError) as err:
        parse_si("abc", "--difficulty")
    assert str(err.value) == "--difficulty: cannot read 'abc' as a number with an optional SI prefix"
    # a unit is refused when none are allowed
    with pytest.raises(InputError, match="^--difficulty: cannot read '5 W' "):
        parse_si("5 W", "--difficulty")


def test_parse_si_refuses_infinity_from_text_or_a_float():
    with pytest.raises(InputError) as err:
        parse_si("1e999", "--watts")
    assert str(err.value) == "--watts: '1e999' is not a finite number"
    with pytest.raises(InputError) as err:
        parse_si(float("inf"), "--watts")
    assert str(err.value) == "--watts: inf is not a finite number"
    with pytest.raises(InputError, match="^--watts: nan is not a finite number$"):
        parse_si(float("nan"), "--watts")


# --- parse_power_price ---------------------------------------------------------------------------------------------


def test_parse_power_price_strips_outer_spaces():
    assert parse_power_price("  0.055/kWh  ", "--power-price") == 0.055
    assert parse_power_price(" 55 /MWh ", "--power-price") == 0.055


def test_parse_power_price_takes_numbers_and_refuses_a_bool_or_infinity():
    assert parse_power_price(0.055, "--power-price") == 0.055 and parse_power_price(0, "--power-price") == 0.0
    with pytest.raises(InputError, match=re.escape("--power-price: cannot read 'True' as a power price")):
        parse_power_price(True, "--power-price")
    with pytest.raises(InputError, match="^--power-price: inf is not a finite number$"):
        parse_power_price(float("inf"), "--power-price")


def test_parse_power_price_error_says_which_forms_it_reads():
    with pytest.raises(InputError) as err:
        parse_power_price("55/GWh", "--power-price")
    assert str(err.value) == "--power-price: cannot read '55/GWh' as a power price (0.055, 0.055/kWh or 55/MWh)"


def test_parse_power_price_per_mwh_is_a_thousandth_per_kwh():
    # exact figures: 1,000/MWh is $1/kWh and 1/MWh is a tenth of a cent, whatever the case of the M
    assert parse_power_price("1000/MWh", "--p") == 1.0
    assert parse_power_price("1/mwh", "--p") == 0.001
    assert parse_power_price("1000/kWh", "--p") == 1000.0
    assert parse_power_price("$1,000/MWh", "--p") == 1.0


def test_parse_power_price_refuses_a_decimal_comma():
    # "0,055" without its comma is 55: $55/kWh, a thousand times the tariff
    for text in ("0,055", "0,055/kWh", "55,5/MWh"):
        with pytest.raises(InputError, match=re.escape(f"--power-price: cannot read {text!r}: a comma only")):
            parse_power_price(text, "--power-price")


# --- parse_fraction ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("0.8", 0.8), ("80%", 0.8), (" 80 % ", 0.8), ("2%", 0.02), ("0.5%", 0.005), (".25", 0.25), ("100%", 1.0),
    ("0", 0.0), ("1e-2", 0.01), ("80", 80.0), (0.6, 0.6), (1, 1.0),  # 80 bare: the caller's range check says so
])
def test_parse_fraction_reads_a_fraction_or_a_percentage(text, value):
    assert parse_fraction(text, "--utilization") == value


@pytest.mark.parametrize("text", ["80%%", "%", "eighty", "0.8 of it", "1,5", "", "nan%"])
def test_parse_fraction_refuses_what_is_neither(text):
    with pytest.raises(InputError) as err:
        parse_fraction(text, "--pool-fee")
    assert str(err.value) == f"--pool-fee: cannot read {text!r} as a fraction (0.8) or a percentage (80%)"


def test_parse_fraction_refuses_a_percentage_beyond_a_hundred():
    # a bare 150 is the caller's to refuse (with a hint that 150 % is written 150%); 150% itself is said here
    with pytest.raises(InputError, match=r"^--uptime: '150%' is more than 100%$"):
        parse_fraction(" 150% ", "--uptime")
    assert parse_fraction("-5%", "--uptime") == -0.05  # below 0: the caller's range check


def test_parse_fraction_refuses_infinity_and_a_bool():
    with pytest.raises(InputError, match=r"^--uptime: '1e999' is not a finite number$"):
        parse_fraction("1e999", "--uptime")
    with pytest.raises(InputError, match="^--uptime: cannot read 'True'"):
        parse_fraction(True, "--uptime")


# --- parse_count -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("16777216", 16_777_216), (" 16,777,216 ", 16_777_216), ("100M", 100_000_000), ("4g", 4_000_000_000),
    ("0xFFFFFFFF", 0xFFFFFFFF), ("0X7c2bac1d", 2083236893), ("0xffff_ffff", 0xFFFFFFFF), ("1e3", 1000), (7, 7),
    ("-1", -1),  # below 0: the caller's range check
])
def test_parse_count_reads_decimal_hex_and_prefixed_counts(text, value):
    got = parse_count(text, "--count")
    assert got == value and isinstance(got, int)


def test_parse_count_keeps_a_large_count_exact():
    assert parse_count("18446744073709551617", "--start") == 2**64 + 1  # not rounded through a float
    assert parse_count("18,446,744,073,709,551,617", "--start") == 2**64 + 1
    assert parse_count("18_446_744_073_709_551_617", "--start") == 2**64 + 1


@pytest.mark.parametrize("text, message", [
    (True, "--count: cannot read 'True'"), ("0x-5", "--count: cannot read '0x-5' as a hexadecimal number"),
    ("0x0x5", "--count: cannot read '0x0x5' as a hexa"), ("0x_5", "--count: cannot read '0x_5' as a hexa"),
    ("1.5", "--count: '1.5' is not a whole number"), ("1.0005k", "--count: '1.0005k' is not a whole number"),
    ("0x", "--count: cannot read '0x' as a hexadecimal number"), ("0xg1", "--count: cannot read '0xg1' as a hexa"),
    ("1,5", "--count: cannot read '1,5': a comma only separates thousands"), ("", "--count: cannot read ''"),
])
def test_parse_count_refuses_what_is_no_whole_number(text, message):
    with pytest.raises(InputError, match="^" + re.escape(message)):
        parse_count(text, "--count")


# --- format_si -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (0.0, "0.00 H/s"), (999.0, "999.00 H/s"), (1e3, "1.00 kH/s"), (1e6, "1.00 MH/s"), (1e9, "1.00 GH/s"),
    (1e12, "1.00 TH/s"), (1e15, "1.00 PH/s"), (1e18, "1.00 EH/s"), (1e21, "1.00 ZH/s"), (5e24, "5000.00 ZH/s"),
])
def test_format_si_changes_prefix_exactly_at_each_power_of_a_thousand(value, text):
    assert format_si(value, "H/s") == text


@pytest.mark.parametrize("value, digits, text", [
    # 999,999 H/s rounds to 1000.00 kH/s: that is 1.00 MH/s
    (999_999.0, 2, "1.00 MH/s"), (999.996e9, 2, "1.00 TH/s"), (-999_999.0, 2, "-1.00 MH/s"),
    (999.6, 0, "1 kH/s"), (999.4, 0, "999 H/s"),
    # ...while a figure that still reads below 1000 keeps its digits
    (999.99e9, 2, "999.99 GH/s"), (999_994.0, 2, "999.99 kH/s"),
])
def test_format_si_never_prints_a_thousand_of_a_prefix(value, digits, text):
    assert format_si(value, "H/s", digits) == text


@pytest.mark.parametrize("value, prefix", [(1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T"), (1e15, "P")])
def test_format_si_puts_a_power_of_a_thousand_under_its_prefix_at_any_precision(value, prefix):
    assert format_si(value, "H/s", 4) == f"1.0000 {prefix}H/s"
    assert format_si(value, "H/s", 12) == f"1.{'0' * 12} {prefix}H/s"


def test_format_si_scales_a_negative_value_by_its_size():
    assert format_si(-270e12, "H/s") == "-270.00 TH/s"
    assert format_si(-1e3, "W") == "-1.00 kW"


def test_format_si_digits():
    assert format_si(1.5e9, "W", 0) == "2 GW"
    assert format_si(1.23456e6, "", 3) == "1.235 M"
    assert format_si(12.5, "J", 1) == "12.5 J"


# --- format_fixed, format_usd --------------------------------------------------------------------------------------


def test_format_fixed_keeps_three_figures_of_a_small_negative_value():
    assert format_fixed(-7.31e-7, 2) == "-0.000000731"
    assert format_fixed(0.0, 2) == "0.00" and format_fixed(0.005, 2) == "0.01"  # 0.005 rounds to a cent: no change
    assert format_fixed(1234567.891, 1) == "1,234,567.9"


def test_format_usd_signs_only_a_negative_value():
    assert format_usd(-0.0) == "$0.00"
    assert format_usd(-5) == "-$5.00" and format_usd(5, 0) == "$5"


# --- format_usd_short ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (0.0, "$0"), (950.0, "$950"), (9_999.0, "$9,999"), (10_000.0, "$10.0k"), (12_345.0, "$12.3k"),
    (1e6, "$1.00M"), (4_560_000.0, "$4.56M"), (-12_345.0, "-$12.3k"), (-1e6, "-$1.00M"), (-950.0, "-$950"),
    (999_000.0, "$999.0k"), (12_345e6, "$12345.00M"),  # no prefix past M: a billion dollars a day is 1000.00M
    # a figure that would round to a thousand of one prefix takes the next: not "$1000.0k" or "$10,000"
    (999_950.0, "$1.00M"), (999_949.0, "$999.9k"), (-999_999.0, "-$1.00M"), (9_999.5, "$10.0k"),
    (9_999.49, "$9,999"),
])
def test_format_usd_short(value, text):
    assert format_usd_short(value) == text


def test_format_usd_short_prints_a_missing_figure_rather_than_failing_the_whole_grid():
    assert format_usd_short(float("nan")) == "$nan"


def test_format_rate_prints_tokens_plainly_and_other_rates_with_a_prefix():
    assert format_rate(1216.44, "tokens/s") == "1,216 tok/s"
    assert format_rate(42.55, "tokens/s") == "42.5 tok/s"  # a decimal below a thousand
    assert format_rate(999.96, "tokens/s") == "1,000 tok/s"  # as printed, not "1,000.0"
    assert format_rate(123_456.0, "tokens/s") == "123,456 tok/s"
    assert format_rate(999_999.0, "H/s") == "1.00 MH/s" and format_rate(3.35e12, "B/s") == "3.35 TB/s"


def test_history_and_compare_print_rates_as_the_probe_table_does():
    from hashbench.cli_results import fmt_value

    assert fmt_value(1216.44, "tokens/s") == "1,216 tok/s"
    assert fmt_value(999_999.0, "H/s") == "1.00 MH/s"  # was "1000.00 kH/s": the prefix chosen before rounding
    assert fmt_value(9.2e15, "FLOP/s") == "9.20 PFLOP/s"  # was "9200.00 TFLOP/s": no prefix past T


# --- properties: what people write reads back as they meant it -----------------------------------------------------

@given(st.integers(min_value=0, max_value=2**64))
def test_parse_count_reads_every_way_a_whole_number_is_written(n):
    for text in (str(n), f"{n:,}", f"0x{n:x}", f"0X{n:08X}", f" {n} "):
        assert parse_count(text, "--count") == n, text


@given(st.floats(min_value=0, max_value=1e15, allow_nan=False), st.sampled_from([0, 1, 3, 6]))
def test_parse_si_reads_a_figure_written_with_thousands_commas(x, digits):
    assert parse_si(f"{x:,.{digits}f}", "--x") == float(f"{x:.{digits}f}")


@given(st.floats(min_value=1, max_value=9.99e23, allow_nan=False))
def test_what_format_si_prints_parse_si_reads_back(value):
    """A figure copied from hashbench's own output into a flag (270.00 TH/s, 3.65 kW) is the figure shown."""
    shown = format_si(value, "H/s")
    back = parse_si(shown, "--hashrate", ("H/s",))
    assert back == pytest.approx(value, rel=0.005 / float(shown.split()[0])), shown


@given(st.integers(min_value=0, max_value=999), st.text("0123456789", min_size=1, max_size=6))
def test_a_decimal_comma_is_never_read_as_a_thousands_comma(whole, decimals):
    """'0,055', '1,5', '12,3456': refused, whatever the digits, unless they are a real thousands group (3,500)."""
    text = f"{whole},{decimals}"
    if whole > 0 and len(decimals) == 3:
        assert parse_si(text, "--x") == whole * 1000 + int(decimals)
    else:
        with pytest.raises(InputError, match="a comma only separates thousands"):
            parse_si(text, "--x")


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_parse_fraction_reads_a_percentage_as_its_hundredth(percent):
    assert parse_fraction(f"{percent}%", "--uptime") == pytest.approx(percent / 100, rel=1e-12, abs=1e-15)
