"""Market figures: a dated snapshot shipped with the package, a snapshot file, or a live fetch.

Every figure carries its own date and source, so a snapshot that mixes a fresh BTC price with last year's GPU
rental quotes says so figure by figure. The packaged snapshot is the default; a file (`--market`) overrides the
figures it names and keeps the packaged ones for the rest. `fetch_snapshot` reads mempool-style HTTP endpoints.
"""

from __future__ import annotations

import calendar
import http.client
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from . import __version__
from .economics import BLOCK_INTERVAL_S, ESTIMATED, Sourced, hashprice_usd_per_ph_day, subsidy_btc
from .errors import HashbenchError, InputError
from .jsonfile import read_json, write_atomic

SNAPSHOT_KIND = "hashbench-market"
SCHEMA_VERSION = 1
PACKAGED = "packaged"
DEFAULT_BASE_URL = "https://mempool.space"
BASE_URL_ENV = "HASHBENCH_MEMPOOL_URL"
MARKET_ENV = "HASHBENCH_MARKET"
DEFAULT_TIMEOUT_S = 10.0
FEE_WINDOWS = ("24h", "3d", "1w", "1m", "3m", "6m", "1y", "2y", "3y")
MAX_RESPONSE_BYTES = 4 << 20  # the largest mempool answer we read is a year of daily fee averages

# key -> (label, unit); the order is the order `market show` prints.
FIGURES: dict[str, tuple[str, str]] = {
    "btc_price_usd": ("BTC price", "USD/BTC"),
    "difficulty": ("difficulty", ""),
    "height": ("block height", "blocks"),
    "fees_btc_per_block": ("fees per block", "BTC/block"),
    "hashprice_usd_per_ph_day": ("hashprice", "USD/(PH/s)/day"),
    "power_usd_per_kwh": ("power price", "USD/kWh"),
    "h100_usd_per_gpu_hour": ("H100 rental", "USD/GPU-hour"),
    "h200_usd_per_gpu_hour": ("H200 rental", "USD/GPU-hour"),
    "b200_usd_per_gpu_hour": ("B200 rental", "USD/GPU-hour"),
    "usd_per_mtok_8b": ("8B-class tokens", "USD/Mtok"),
    "usd_per_mtok_70b": ("70B-class tokens", "USD/Mtok"),
}
MODEL_CLASSES = ("8b", "70b")
# "llama-3.1-8b", "Llama-3.1-70B-Instruct", "llama8b": a class name standing alone, not inside "18b" or "3.18b".
_CLASS_IN_NAME = re.compile(r"(?<![0-9.])(" + "|".join(MODEL_CLASSES) + r")(?![a-z0-9])")
# Catalog GPU model -> the snapshot's rental price for it (both H100 form factors rent at H100 prices).
GPU_HOUR_FIGURE = {"H100 SXM": "h100_usd_per_gpu_hour", "H100 PCIe": "h100_usd_per_gpu_hour",
                   "H200": "h200_usd_per_gpu_hour", "B200": "b200_usd_per_gpu_hour"}
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
# How each figure came to be; `market show` prints it beside the figure.
FIGURE_KINDS = ("published", "estimated", "range midpoint", "fetched", "computed", "declared")


def model_class_of(name: str) -> str | None:
    """The priced class a model or preset name belongs to, or None: a 1B model or a 2M-parameter test shape is
    neither, and its tokens do not sell at 8B- or 70B-class prices."""
    match = _CLASS_IN_NAME.search(name.lower())
    return match.group(1) if match else None


def builtin_shape(preset: str) -> str | None:
    """For one of hashbench's own probe shapes that belongs to no priced class (cpu-tiny, cpu-small, llama-1b): what
    it is, for the message that refuses to sell its tokens as a larger model's. None for a priced preset or a local
    checkpoint, whose class a person may declare."""
    from .probes.llama import PRESETS  # shapes only: no torch

    shape = PRESETS.get(preset)
    if shape is None or model_class_of(preset) is not None:
        return None
    return f"hashbench's {preset} shape ({shape.params():,} parameters)"


def _compact(v: float) -> str:
    """126e12 -> "126T", 60000 -> "60,000": ranges read as people write them."""
    for prefix, scale in (("Z", 1e21), ("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9)):
        if abs(v) >= scale:
            return f"{v / scale:g}{prefix}"
    return f"{v:,g}"


BLOCKS_PER_DAY = 86_400 // BLOCK_INTERVAL_S  # 144: the height a snapshot's date is carried forward at


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    as_of: str  # YYYY, YYYY-MM or YYYY-MM-DD: some sources give only a year
    kind: str  # one of FIGURE_KINDS
    source: str
    low: float | None = None
    high: float | None = None
    note: str = ""

    @property
    def provenance(self) -> str:
        return f"market snapshot {self.as_of}"

    @property
    def detail(self) -> str:
        parts = [self.source]
        if self.low is not None and self.high is not None:
            parts.append(f"range {_compact(self.low)} to {_compact(self.high)}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    def to_json(self) -> dict:
        data: dict = {"value": self.value, "unit": self.unit, "as_of": self.as_of, "kind": self.kind,
                      "source": self.source}
        if self.low is not None:
            data["low"] = self.low
        if self.high is not None:
            data["high"] = self.high
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class MarketSnapshot:
    date: str
    origin: str  # "packaged", a file path, or the base URL it was fetched from
    figures: Mapping[str, Figure]
    description: str = ""

    def get(self, key: str) -> Figure:
        try:
            return self.figures[key]
        except KeyError:
            raise InputError(f"the market snapshot of {self.date} ({self.origin}) has no {key!r}") from None

    def value(self, key: str) -> float:
        return self.get(key).value

    def sourced(self, key: str) -> Sourced:
        """The figure as an economics input: a market figure stands in for today's, so it is an estimate."""
        fig = self.get(key)
        return Sourced(fig.value, fig.provenance, ESTIMATED, fig.detail)

    def subsidy(self, today: date | None = None) -> Sourced:
        """The block subsidy at the snapshot's height; where that height, carried forward at 144 blocks a day from
        its date, has since passed a halving, the subsidy after it (an old snapshot would pay twice the reward)."""
        fig = self.get("height")
        height = int(fig.value)
        detail = f"subsidy at height {height:,} ({fig.source})"
        days = ((today or date.today()) - _last_day(fig.as_of)).days
        now = height + BLOCKS_PER_DAY * max(days, 0)
        if subsidy_btc(now) != subsidy_btc(height):
            detail = (f"subsidy at height about {now:,}: {height:,} on {fig.as_of} carried forward {days:,} days at "
                      f"{BLOCKS_PER_DAY} blocks/day, past a halving ({fig.source})")
        return Sourced(subsidy_btc(now), fig.provenance, ESTIMATED, detail)

    @property
    def label(self) -> str:
        return f"market snapshot {self.date} ({self.origin})"

    def to_json(self) -> dict:
        return {"kind": SNAPSHOT_KIND, "schema_version": SCHEMA_VERSION, "date": self.date, "origin": self.origin,
                "description": self.description,
                "figures": {k: self.figures[k].to_json() for k in FIGURES if k in self.figures}}


# --- age of the figures a valuation rests on ------------------------------------------------------------------------

STALE_AFTER_DAYS = 30  # difficulty retargets every ~2 weeks; BTC and GPU prices move daily
# Inputs that move within weeks, by their key in a valuation's inputs, and the words a note uses for them. Power
# tariffs, the subsidy and average fees change slowly or are the user's own, so their age is not flagged.
_MOVING = {"btc_price_usd": "BTC price", "difficulty": "difficulty", "gpu_hour_usd": "GPU-hour price",
           "usd_per_mtok": "token price"}
_SNAPSHOT_SOURCE = "market snapshot "


def _last_day(as_of: str) -> date:
    """The latest day a YYYY / YYYY-MM / YYYY-MM-DD date can mean: a year-only figure is given the benefit of the
    doubt."""
    parts = [int(p) for p in as_of.split("-")]
    if len(parts) == 3:
        return date(*parts)
    year, month = parts[0], (parts[1] if len(parts) == 2 else 12)
    return date(year, month, calendar.monthrange(year, month)[1])


def stale_note(inputs: Iterable[tuple[str, Sourced]], today: date | None = None) -> str | None:
    """A note naming the moving market figures a valuation took from a snapshot older than STALE_AFTER_DAYS, or
    None. `inputs` are (key, input) pairs; only inputs whose source is a market snapshot count (a flag is today's)."""
    today = today or date.today()
    old: dict[str, str] = {}
    oldest = 0
    for key, s in inputs:
        if key not in _MOVING or not s.source.startswith(_SNAPSHOT_SOURCE):
            continue
        as_of = s.source[len(_SNAPSHOT_SOURCE):]
        if not _DATE.fullmatch(as_of):
            continue
        age = (today - _last_day(as_of)).days
        if age > STALE_AFTER_DAYS:
            old.setdefault(_MOVING[key], as_of)
            oldest = max(oldest, age)
    if not old:
        return None
    which = ", ".join(f"{name} ({as_of})" for name, as_of in old.items())
    return (f"valued with market figures up to {oldest:,} days old: {which}; `hashbench market fetch` refreshes BTC "
            "price and difficulty; --market FILE or options give the rest")


# --- reading and writing -------------------------------------------------------------------------------------------

def _check_date(text: object, where: str) -> str:
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise InputError(f"{where}: a date must be YYYY, YYYY-MM or YYYY-MM-DD, got {text!r}")
    year, month, day = ([int(p) for p in text.split("-")] + [1, 1])[:3]
    try:
        date(year, month, day)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a calendar date") from None
    return text


def _check_value(key: str, value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: {key} must be a number, got {value!r}")
    if key == "height":
        if value < 0 or value != int(value):
            raise InputError(f"{where}: height must be a whole number >= 0, got {value!r}")
    elif key == "fees_btc_per_block":
        if value < 0:
            raise InputError(f"{where}: fees_btc_per_block must be >= 0, got {value!r}")
    elif value <= 0:
        raise InputError(f"{where}: {key} must be > 0, got {value!r}")
    return float(value)


def _parse_figure(key: str, raw: object, date: str, origin: str) -> Figure:
    where = f"{origin}: {key}"
    unit = FIGURES[key][1]
    if not isinstance(raw, dict):  # a bare number: the file's date, the file as the source
        return Figure(_check_value(key, raw, origin), unit, date, "declared", f"market file {origin}")
    unknown = set(raw) - {"value", "unit", "as_of", "kind", "source", "low", "high", "note"}
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "value" not in raw:
        raise InputError(f"{where}: missing 'value'")
    low, high = raw.get("low"), raw.get("high")
    for bound in (low, high):
        if bound is not None:
            _check_value(key, bound, where)
    for name in ("unit", "kind", "source", "note"):
        if name in raw and not isinstance(raw[name], str):
            raise InputError(f"{where}: {name} must be text")
    if raw.get("kind", "declared") not in FIGURE_KINDS:
        raise InputError(f"{where}: kind must be one of {', '.join(FIGURE_KINDS)}, got {raw['kind']!r}")
    return Figure(value=_check_value(key, raw["value"], origin), unit=raw.get("unit", unit),
                  as_of=_check_date(raw.get("as_of", date), where), kind=raw.get("kind", "declared"),
                  source=raw.get("source") or f"market file {origin}",
                  low=None if low is None else float(low), high=None if high is None else float(high),
                  note=raw.get("note", ""))


def parse_snapshot(data: object, origin: str, base: MarketSnapshot | None = None) -> MarketSnapshot:
    """A snapshot from its JSON form; figures it lacks come from `base` (with their own dates and sources)."""
    if not isinstance(data, dict):
        raise InputError(f"{origin}: a market snapshot is a JSON object")
    if data.get("kind", SNAPSHOT_KIND) != SNAPSHOT_KIND:
        raise InputError(f"{origin}: not a market snapshot (kind {data.get('kind')!r})")
    date = _check_date(data.get("date"), f"{origin}: date")
    raw_figures = data.get("figures", {})
    if not isinstance(raw_figures, dict):
        raise InputError(f"{origin}: 'figures' must be an object")
    unknown = set(raw_figures) - set(FIGURES)
    if unknown:
        raise InputError(f"{origin}: unknown figure(s) {', '.join(sorted(unknown))}; known: {', '.join(FIGURES)}")
    figures = dict(base.figures) if base else {}
    figures.update({k: _parse_figure(k, v, date, origin) for k, v in raw_figures.items()})
    return MarketSnapshot(date=date, origin=origin, figures=figures, description=str(data.get("description", "")))


@cache
def packaged_snapshot() -> MarketSnapshot:
    text = resources.files("hashbench").joinpath("data").joinpath("market.json").read_text(encoding="utf-8")
    return parse_snapshot(json.loads(text), PACKAGED)


def load_snapshot(path: Path | None = None) -> MarketSnapshot:
    """The packaged snapshot, or a file's figures over it."""
    if path is None:
        return packaged_snapshot()
    data = read_json(path, "market file")
    return parse_snapshot(data, str(path), base=packaged_snapshot())


def save_snapshot(snapshot: MarketSnapshot, path: Path) -> None:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise InputError(f"output folder {str(path.parent)!r} does not exist")
    write_atomic(path, json.dumps(snapshot.to_json(), indent=2) + "\n", "market file")


# --- live fetch ------------------------------------------------------------------------------------------------------

class Offline(HashbenchError):
    """The market API could not be reached at all; the snapshot in use stays as it is."""

    exit_code = 1


class _EndpointFailed(Exception):
    """One endpoint answered badly (HTTP error, unexpected shape): that figure stays from the snapshot."""


class _Unreachable(Exception):
    """No answer at all: refused, timed out, name not resolved."""


@dataclass(frozen=True)
class FetchResult:
    snapshot: MarketSnapshot
    fetched: tuple[str, ...]  # figure keys that came from the API
    kept: Mapping[str, str] = field(default_factory=dict)  # figure key -> why it stayed from the snapshot
    retarget: str = ""  # the API's forecast for the next difficulty adjustment, when it gave one


def _get(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": f"hashbench/{__version__}",
                                                   "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:  # must precede URLError, its base class
        raise _EndpointFailed(f"HTTP {exc.code} from {url}") from None
    except urllib.error.URLError as exc:
        raise _Unreachable(str(exc.reason)) from None
    except TimeoutError:  # socket.timeout is an alias of it since 3.10
        raise _Unreachable(f"no answer within {timeout:g} s") from None
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise _Unreachable(str(exc) or type(exc).__name__) from None


def _get_json(url: str, timeout: float) -> object:
    body = _get(url, timeout)
    try:
        return json.loads(body)
    except ValueError:  # not JSON, not UTF-8, or a number json will not convert (more than 4300 digits)
        raise _EndpointFailed(f"{url} did not return JSON") from None


def _number(value: object, url: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _EndpointFailed(f"{url}: {what} is not a number ({value!r})")
    return float(value)


def _fetch_height(base: str, timeout: float) -> tuple[float, str]:
    url = f"{base}/api/blocks/tip/height"
    text = _get(url, timeout).decode("utf-8", "replace").strip()
    if not (text.isascii() and text.isdigit()):  # str.isdigit also takes '²', which float() refuses
        raise _EndpointFailed(f"{url} did not return a block height ({text[:40]!r})")
    return float(text), url


def _fetch_difficulty(base: str, timeout: float) -> tuple[float, str]:
    url = f"{base}/api/v1/mining/hashrate/3d"
    try:
        data = _get_json(url, timeout)
        if not isinstance(data, dict):
            raise _EndpointFailed(f"{url}: unexpected answer")
        return _number(data.get("currentDifficulty"), url, "currentDifficulty"), url
    except _EndpointFailed as first:
        # Older or trimmed mempool deployments lack the mining API: read the tip block's own difficulty.
        try:
            tip = _get(f"{base}/api/blocks/tip/hash", timeout).decode("ascii", "replace").strip()
            if not re.fullmatch(r"[0-9a-f]{64}", tip):
                raise _EndpointFailed(f"{base}/api/blocks/tip/hash did not return a block hash")
            block_url = f"{base}/api/block/{tip}"
            block = _get_json(block_url, timeout)
            if not isinstance(block, dict):
                raise _EndpointFailed(f"{block_url}: unexpected answer")
            return _number(block.get("difficulty"), block_url, "difficulty"), block_url
        except _EndpointFailed as second:
            raise _EndpointFailed(f"{first}; fallback: {second}") from None


def _fetch_price(base: str, timeout: float) -> tuple[float, str]:
    url = f"{base}/api/v1/prices"
    data = _get_json(url, timeout)
    if not isinstance(data, dict):
        raise _EndpointFailed(f"{url}: unexpected answer")
    price = _number(data.get("USD"), url, "USD")
    stamp = data.get("time")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and 0 < stamp < 2**40:
        # the day the API's price is from, which a cached or stalled API gives as older than the fetch
        return price, url, datetime.fromtimestamp(stamp, UTC).date().isoformat()
    return price, url


def _fetch_fees(base: str, timeout: float, window: str) -> tuple[float, str]:
    """Mean fees per block, in BTC, over the window (mempool reports sats per block per interval)."""
    url = f"{base}/api/v1/mining/blocks/fees/{window}"
    try:
        data = _get_json(url, timeout)
        if not isinstance(data, list) or not data:
            raise _EndpointFailed(f"{url}: expected a non-empty list")
        sats = [_number(row.get("avgFees") if isinstance(row, dict) else None, url, "avgFees") for row in data]
        return sum(sats) / len(sats) / 1e8, f"{url} (mean of {len(sats)} interval averages)"
    except _EndpointFailed as first:
        blocks_url = f"{base}/api/v1/blocks"
        try:
            blocks = _get_json(blocks_url, timeout)
            if not isinstance(blocks, list) or not blocks:
                raise _EndpointFailed(f"{blocks_url}: expected a non-empty list")
            sats = [_number((b.get("extras") or {}).get("totalFees") if isinstance(b, dict) else None,
                            blocks_url, "extras.totalFees") for b in blocks]
            return sum(sats) / len(sats) / 1e8, f"{blocks_url} (mean of the last {len(sats)} blocks)"
        except _EndpointFailed as second:
            raise _EndpointFailed(f"{first}; fallback: {second}") from None


def _fetch_retarget(base: str, timeout: float) -> str:
    url = f"{base}/api/v1/difficulty-adjustment"
    data = _get_json(url, timeout)
    if not isinstance(data, dict):
        raise _EndpointFailed(f"{url}: unexpected answer")
    change = _number(data.get("difficultyChange"), url, "difficultyChange")
    remaining = data.get("remainingBlocks")
    text = f"next adjustment forecast {change:+.2f} %"
    if isinstance(remaining, int) and not isinstance(remaining, bool):
        text += f" in {remaining} blocks"
    return text


def resolve_base_url(flag: str | None, env: Mapping[str, str]) -> str:
    base = (flag or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base):
        raise InputError(f"market API base URL must start with http:// or https://, got {base!r}")
    return base


def fetch_snapshot(base_url: str, keep: MarketSnapshot, *, timeout: float = DEFAULT_TIMEOUT_S,
                   fee_window: str = "1w", today: str | None = None) -> FetchResult:
    """Current height, difficulty, BTC price and fees from a mempool-style API over `keep`.

    Raises Offline when the API cannot be reached at all. An endpoint that answers badly keeps that figure
    from `keep` and says why in `FetchResult.kept`. AI prices are never fetched: they stay with their dates."""
    if not timeout > 0:
        raise InputError(f"timeout must be > 0 seconds, got {timeout:g}")
    if fee_window not in FEE_WINDOWS:
        raise InputError(f"fee window must be one of {', '.join(FEE_WINDOWS)}, got {fee_window!r}")
    today = today or datetime.now(UTC).date().isoformat()
    figures = dict(keep.figures)
    fetched: list[str] = []
    kept: dict[str, str] = {}

    def take(key: str, value: float, source: str, as_of: str | None = None) -> None:
        _check_value(key, value, source)
        if key == "height" and "height" in keep.figures and value < keep.figures["height"].value:
            # The chain only grows: a lower tip is another chain's (a testnet API) or a broken answer, and at height
            # 0 every valuation would count a 50 BTC subsidy.
            known = keep.figures["height"].value
            raise _EndpointFailed(f"{source}: block height {value:,.0f} is below the {known:,.0f} of the {keep.label}: "
                                  "not mainnet's tip")
        figures[key] = Figure(value, FIGURES[key][1], min(as_of or today, today), "fetched", source)
        fetched.append(key)

    steps = (("height", lambda: _fetch_height(base_url, timeout)),
             ("difficulty", lambda: _fetch_difficulty(base_url, timeout)),
             ("btc_price_usd", lambda: _fetch_price(base_url, timeout)),
             ("fees_btc_per_block", lambda: _fetch_fees(base_url, timeout, fee_window)))
    for key, step in steps:
        try:
            take(key, *step())
        except _Unreachable as exc:
            if not fetched and not kept:  # the very first request got no answer: the API is out of reach
                raise Offline(f"offline: cannot reach {base_url} ({exc}); keeping the {keep.label}") from None
            kept[key] = f"no answer ({exc})"
        except (_EndpointFailed, InputError) as exc:
            kept[key] = str(exc)
    retarget = ""
    try:
        retarget = _fetch_retarget(base_url, timeout)
    except (_EndpointFailed, _Unreachable):
        pass  # a forecast is a nicety; its absence changes no figure
    if retarget and "difficulty" in fetched:
        figures["difficulty"] = replace(figures["difficulty"], note=retarget)
    if fetched:
        # Recompute hashprice so it agrees with the figures beside it, whichever of them were fetched.
        height = int(figures["height"].value)
        reward = subsidy_btc(height) + figures["fees_btc_per_block"].value
        hp = hashprice_usd_per_ph_day(figures["difficulty"].value, figures["btc_price_usd"].value, reward)
        # as old as the oldest figure it is computed from, not the day of the fetch
        inputs = ("height", "difficulty", "btc_price_usd", "fees_btc_per_block")
        oldest = min((figures[k].as_of for k in inputs), key=_last_day)
        figures["hashprice_usd_per_ph_day"] = Figure(
            hp, FIGURES["hashprice_usd_per_ph_day"][1], oldest, "computed",
            "computed by hashbench from the difficulty, BTC price, subsidy at the height and fees in this snapshot")
    snapshot = MarketSnapshot(date=today, origin=base_url, figures=figures,
                              description=f"fetched from {base_url}; figures not fetched keep their own dates")
    return FetchResult(snapshot=snapshot, fetched=tuple(fetched), kept=kept, retarget=retarget)
