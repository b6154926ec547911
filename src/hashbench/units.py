"""Numbers as people type them ("270T", "1.05 ZH/s", "3.6kW", "91,000") and as they read them back."""

from __future__ import annotations

import math
import re

from .errors import InputError

# Lower-case keys: "270t" and "270T" both mean tera. Milli never makes sense for a hashrate, a wattage or a
# difficulty, so "m"/"M" is mega.
_PREFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "e": 1e18, "z": 1e21}
# A comma is a thousands separator, as in "3,500 W" or "1,000/MWh"; anywhere else ("0,055", "1,5T") it is a decimal
# comma, and dropping it would read the figure ten to a thousand times too large, so it is refused instead.
_COMMA_RUN = re.compile(r"[0-9,]*,[0-9,]*")
_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+")
_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # what float() reads, bar inf and nan
_NUMBER = re.compile(rf"^({_DECIMAL})\s*([kKmMgGtTpPeEzZ]?)\s*(.*)$")


def _without_thousands(text: str, what: str) -> str:
    """`text` with its thousands separators dropped; an InputError for a comma that does not group thousands."""
    for run in _COMMA_RUN.finditer(text):
        # after a point ("1.234,567": a European 1 234.567), commas group no thousands
        if not _THOUSANDS.fullmatch(run.group()) or text[:run.start()].endswith("."):
            raise InputError(f"{what}: cannot read {text!r}: a comma only separates thousands (3,500); write a "
                             "decimal with a point (0.055, 1.5T)")
    return text.replace(",", "")


def parse_si(text: str | float | int, what: str, units: tuple[str, ...] = ()) -> float:
    """A number with an optional SI prefix and an optional unit from `units` (case-insensitive).

    `what` names the quantity in the error, e.g. "--hashrate". Exponent notation wins over the exa prefix:
    "1e15" is 10^15, "2E" is 2×10^18."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = _without_thousands(str(text).strip(), what).replace("_", "")
        known = {u.lower() for u in units}
        if "usd" in known and raw.startswith("$"):  # a price as it is written: $91,000, $91k
            raw = raw[1:].lstrip()
        match = _NUMBER.match(raw)
        unit = match.group(3).strip().lower() if match else ""
        if match and raw[match.end(1):].strip().lower() in known:
            # A unit that starts with a prefix's letter is that unit: "1000 tokens/s" is not 1000 T "okens/s".
            value = float(match.group(1))
        elif not match or (unit and unit not in known):
            hint = f" (units: {', '.join(units)})" if units else ""
            raise InputError(f"{what}: cannot read {str(text)!r} as a number with an optional SI prefix{hint}")
        else:
            value = float(match.group(1)) * _PREFIXES[match.group(2).lower()]
    if not math.isfinite(value):
        raise InputError(f"{what}: {text!r} is not a finite number")
    return value


_POWER_PRICE = re.compile(r"^\$?\s*([+-]?[0-9]+\.?[0-9]*|\.[0-9]+)\s*(?:(?:\$|usd)?\s*/\s*([km])wh)?$", re.IGNORECASE)


def parse_power_price(text: str | float | int, what: str) -> float:
    """USD per kWh from "0.055", "$0.055/kWh" or a wholesale-style "55/MWh" (÷ 1,000): tariffs are quoted both ways.
    A bare figure of a dollar or more is refused: it is a $/MWh tariff typed without its unit far more often than a
    real price, and read as $/kWh it prices power a thousand times too dear (every fleet a loss, without a word).
    Written with its unit ("1.2/kWh"), any price stands."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = parse_si(text, what), None
    else:
        match = _POWER_PRICE.match(_without_thousands(str(text).strip(), what))
        if not match:
            raise InputError(f"{what}: cannot read {str(text)!r} as a power price (0.055, 0.055/kWh or 55/MWh)")
        value, unit = float(match.group(1)), match.group(2)
    if unit is None and value >= 1:
        raise InputError(f"{what}: {value:g} reads as ${value:g}/kWh (${value * 1000:,.0f}/MWh); a price per MWh is "
                         f'written "{value:g}/MWh", and a price of $1/kWh or more with its unit ("{value:g}/kWh")')
    return value / 1000 if (unit or "k").lower() == "m" else value


_FRACTION = re.compile(rf"^({_DECIMAL})\s*(%?)$")


def parse_fraction(text: str | float | int, what: str) -> float:
    """A share of time or revenue as a fraction or a percentage: "0.8" and "80%" are both 0.8. Its range is the
    caller's to check (a utilization of 80 without % is refused there as beyond 1, not read as 80 %)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _FRACTION.match(str(text).strip())
        if not match:
            raise InputError(f"{what}: cannot read {str(text)!r} as a fraction (0.8) or a percentage (80%)")
        value = float(match.group(1)) / (100 if match.group(2) else 1)
        if match.group(2) and value > 1:  # so that a range error's "80 is 80%" hint only ever meets a bare number
            raise InputError(f"{what}: {str(text).strip()!r} is more than 100%")
    if not math.isfinite(value):
        raise InputError(f"{what}: {text!r} is not a finite number")
    return value


def parse_count(text: str | int, what: str) -> int:
    """A whole number of things, a nonce or a count of them: 16777216, 16,777,216, 100M (SI, 10^8), or hexadecimal
    0xFFFFFFFF as nonces are often shown. Its range is the caller's to check."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    raw = str(text).strip()
    if raw[:2].lower() == "0x":
        if not re.fullmatch(r"[0-9a-fA-F](_?[0-9a-fA-F])*", raw[2:]):  # int() would take 0x-5 and 0x0x5 too
            raise InputError(f"{what}: cannot read {raw!r} as a hexadecimal number")
        return int(raw[2:], 16)
    digits = _without_thousands(raw, what).replace("_", "")
    if re.fullmatch(r"[+-]?[0-9]+", digits):  # exactly, where a float would round past 2^53
        return int(digits)
    value = parse_si(raw, what)
    if value != int(value):
        raise InputError(f"{what}: {raw!r} is not a whole number")
    return int(value)


def si_prefix(value: float, digits: int = 2) -> tuple[str, float]:
    """(prefix, scale) format_si prints `value` with: the prefix goes by the figure as printed, so 999,999 at two
    decimals is ("M", 1e6), not ("k", 1e3)."""
    for prefix, scale in (("Z", 1e21), ("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        # the figure under the next prefix down (scale / 1000 is exact for these powers of ten), rounded as printed
        if round(abs(value) / (scale / 1000), digits) >= 1000:
            return prefix, scale
    return "", 1.0


def format_si(value: float, unit: str, digits: int = 2) -> str:
    """270e12, "H/s" -> "270.00 TH/s"; 999,999 H/s is "1.00 MH/s", not "1000.00 kH/s"."""
    prefix, scale = si_prefix(value, digits)
    return f"{value / scale:.{digits}f} {prefix}{unit}"


def format_rate(value: float, unit: str) -> str:
    """A measured rate as every table prints it: tokens/s plainly (12,345 tok/s: a GPU's prefill runs to six figures,
    and a "k" on tokens reads oddly), the rest with an SI prefix (270.00 TH/s, 3.35 TB/s)."""
    if unit == "tokens/s":
        return f"{value:,.{1 if round(abs(value), 1) < 1000 else 0}f} tok/s"
    return format_si(value, unit)


def format_fixed(value: float, digits: int) -> str:
    """`digits` decimals, or three significant figures where those decimals would show a non-zero value as 0:
    a CPU's $0.000000731 a day is not $0.00."""
    if value and round(abs(value), digits) == 0:
        digits = 2 - math.floor(math.log10(abs(value)))
    return f"{value:,.{digits}f}"


def format_usd(value: float, digits: int = 2) -> str:
    """-1234.5 -> "-$1,234.50": the sign outside the dollar sign, as accountants write it."""
    sign = "-" if value < 0 else ""
    return f"{sign}${format_fixed(abs(value), digits)}"


def format_usd_short(value: float) -> str:
    """Compact money for grid cells: $950, $12.3k, $4.56M. The prefix goes by the figure as printed: $999,950 is
    "$1.00M", not "$1000.0k"."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    if round(v / 1e3, 1) >= 1e3:
        return f"{sign}${v / 1e6:.2f}M"
    if round(v, 0) >= 1e4:
        return f"{sign}${v / 1e3:.1f}k"
    return f"{sign}${v:,.0f}"
