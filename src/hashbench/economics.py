"""Money per kWh from a hashrate or a token rate: pure functions and records, no I/O.

Conventions, so every figure means one thing:
- Power is the draw at full load, in watts, at whatever layer the caller measured (board, node, wall, facility).
- Mining: *hashprice* is the gross market figure (before pool fee, at 100 % uptime), as hashprice indices
  publish it; revenue applies the pool fee and uptime. A curtailed miner is off: it neither earns nor draws.
- AI: the machine stays on all day; it earns only for the fraction of time there is demand (utilization).
- Per-kWh figures are per kWh actually drawn; the breakeven power price is the price at which profit is zero,
  so for a machine whose only running cost is power it equals revenue per kWh.
- Only power is a cost here: no hardware, depreciation, staff or hosting. Say so wherever profit is shown.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import InputError

SECONDS_PER_DAY = 86_400
HOURS_PER_DAY = 24
TWO_32 = 2**32  # expected hashes per unit of difficulty
BLOCK_INTERVAL_S = 600  # the target the difficulty adjustment steers to
HALVING_INTERVAL = 210_000
SATS_PER_BTC = 100_000_000
INITIAL_SUBSIDY_SATS = 50 * SATS_PER_BTC
HASHES_PER_PH = 1e15
HASHES_PER_TH = 1e12
TOKENS_PER_MTOK = 1e6

# What a figure is, in the four words every printed number carries.
MEASURED, ESTIMATED, NAMEPLATE, DECLARED = "measured", "estimated", "nameplate", "declared"
KINDS = (MEASURED, ESTIMATED, NAMEPLATE, DECLARED)


# --- validation: one clear line naming the quantity -------------------------------------------------------------

def require_finite(label: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{label} must be a finite number, got {value!r}")
    return float(value)


def require_positive(label: str, value: float) -> float:
    if require_finite(label, value) <= 0:
        raise InputError(f"{label} must be > 0, got {value:g}")
    return float(value)


def require_non_negative(label: str, value: float) -> float:
    if require_finite(label, value) < 0:
        raise InputError(f"{label} must be >= 0, got {value:g}")
    return float(value)


def require_fraction(label: str, value: float) -> float:
    if not 0.0 <= require_finite(label, value) <= 1.0:
        raise InputError(f"{label} must be between 0 and 1, got {value:g}{_percent_hint(value)}")
    return float(value)


def _percent_hint(value: float) -> str:
    """For a fraction out of range that reads as a percentage (80 for 80 %): how to write it. Not for 1.2, which
    reads as no percentage anyone means."""
    return f" (a percentage is written with %: {value:g}%)" if 2 <= value <= 100 else ""


# --- provenance --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sourced:
    """An input with where it came from: `source` in the words a user reads ("flag", "market snapshot
    2025-11-18", "measured (run file)", "catalog nameplate", "default"), `kind` one of KINDS."""

    value: float
    source: str
    kind: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    def to_json(self) -> dict:
        data = {"value": self.value, "source": self.source, "kind": self.kind}
        if self.detail:
            data["detail"] = self.detail
        return data


def combined_kind(*kinds: str) -> str:
    """A figure computed from inputs of one kind keeps that kind; a mixture is an estimate."""
    unique = set(kinds)
    return unique.pop() if len(unique) == 1 else ESTIMATED


# --- Bitcoin protocol ----------------------------------------------------------------------------------------------

def subsidy_sats(height: int) -> int:
    """Block subsidy in satoshis, as consensus computes it: an integer right shift per halving, and zero from the
    64th halving on (a shift by 64 or more is undefined in C++, so Bitcoin Core returns 0 explicitly)."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 0:
        raise InputError(f"block height must be a whole number >= 0, got {height!r}")
    halvings = height // HALVING_INTERVAL
    return 0 if halvings >= 64 else INITIAL_SUBSIDY_SATS >> halvings


def subsidy_btc(height: int) -> float:
    return subsidy_sats(height) / SATS_PER_BTC


def difficulty_from_network_hashrate(network_hps: float) -> float:
    """The difficulty at which `network_hps` finds a block every 600 s on average."""
    return require_positive("network hashrate", network_hps) * BLOCK_INTERVAL_S / TWO_32


def network_hashrate_from_difficulty(difficulty: float) -> float:
    return require_positive("difficulty", difficulty) * TWO_32 / BLOCK_INTERVAL_S


def btc_per_hash_second_day(difficulty: float, reward_btc: float) -> float:
    """Expected BTC a day for 1 H/s: a hash finds a block with probability 1 / (difficulty × 2^32)."""
    return SECONDS_PER_DAY / (require_positive("difficulty", difficulty) * TWO_32) * reward_btc


def hashprice_usd_per_ph_day(difficulty: float, btc_price_usd: float, reward_btc: float) -> float:
    """Gross hashprice ($ per PH/s per day): before pool fee, at full uptime, as indices publish it."""
    require_positive("BTC price", btc_price_usd)
    require_non_negative("block reward", reward_btc)
    return btc_per_hash_second_day(difficulty, reward_btc) * HASHES_PER_PH * btc_price_usd


# --- mining ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MiningInputs:
    hashrate_hps: float
    watts: float
    btc_price_usd: float
    difficulty: float
    subsidy_btc: float
    power_usd_per_kwh: float
    fees_btc_per_block: float = 0.0
    pool_fee: float = 0.0
    uptime: float = 1.0

    def __post_init__(self) -> None:
        require_positive("hashrate", self.hashrate_hps)
        require_positive("watts", self.watts)
        require_positive("BTC price", self.btc_price_usd)
        require_positive("difficulty", self.difficulty)
        require_non_negative("block subsidy", self.subsidy_btc)
        require_positive("power price", self.power_usd_per_kwh)
        require_non_negative("fees per block", self.fees_btc_per_block)
        require_fraction("pool fee", self.pool_fee)
        require_fraction("uptime", self.uptime)
        if self.pool_fee == 1.0:
            raise InputError("pool fee must be below 1 (a 100 % fee leaves nothing to earn)")

    @property
    def reward_btc(self) -> float:
        return self.subsidy_btc + self.fees_btc_per_block


@dataclass(frozen=True)
class MiningYield:
    hashprice_usd_per_ph_day: float
    btc_per_day: float
    revenue_usd_per_day: float
    energy_kwh_per_day: float
    power_cost_usd_per_day: float
    profit_usd_per_day: float
    revenue_usd_per_kwh: float
    profit_usd_per_kwh: float
    breakeven_power_usd_per_kwh: float
    joules_per_th: float

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def mining_yield(m: MiningInputs) -> MiningYield:
    gross_btc_per_day = m.hashrate_hps * btc_per_hash_second_day(m.difficulty, m.reward_btc)
    btc_per_day = gross_btc_per_day * (1 - m.pool_fee) * m.uptime
    revenue = btc_per_day * m.btc_price_usd
    energy_kwh = m.watts * HOURS_PER_DAY * m.uptime / 1000
    cost = energy_kwh * m.power_usd_per_kwh
    # Per kWh from the running rates, not the daily totals: uptime scales both alike, and this stays defined
    # for a miner curtailed all day (uptime 0).
    revenue_per_kwh = gross_btc_per_day * (1 - m.pool_fee) * m.btc_price_usd / (m.watts * HOURS_PER_DAY / 1000)
    return MiningYield(
        hashprice_usd_per_ph_day=hashprice_usd_per_ph_day(m.difficulty, m.btc_price_usd, m.reward_btc),
        btc_per_day=btc_per_day,
        revenue_usd_per_day=revenue,
        energy_kwh_per_day=energy_kwh,
        power_cost_usd_per_day=cost,
        profit_usd_per_day=revenue - cost,
        revenue_usd_per_kwh=revenue_per_kwh,
        profit_usd_per_kwh=revenue_per_kwh - m.power_usd_per_kwh,
        breakeven_power_usd_per_kwh=revenue_per_kwh,
        joules_per_th=m.watts / (m.hashrate_hps / HASHES_PER_TH),
    )


# --- AI inference ---------------------------------------------------------------------------------------------------

TOKENS, GPU_HOUR = "tokens", "gpu-hour"


@dataclass(frozen=True)
class AIInputs:
    """Either token pricing (tokens_per_second with usd_per_mtok, plus optionally input tokens at their own
    price) or rental pricing (gpu_hour_usd × gpus). Token rates are for the whole machine at full load."""

    watts: float
    power_usd_per_kwh: float
    utilization: float = 1.0
    tokens_per_second: float | None = None  # output (generated) tokens/s, or all tokens at a blended price
    usd_per_mtok: float | None = None
    input_tokens_per_second: float = 0.0  # prompt tokens/s served alongside, priced separately
    usd_per_mtok_input: float | None = None
    gpu_hour_usd: float | None = None
    gpus: int = 1
    idle_watts: float | None = None
    uptime: float = 1.0  # hours with power at all (site curtailment); the yield command leaves it at 1

    def __post_init__(self) -> None:
        require_positive("watts", self.watts)
        require_positive("power price", self.power_usd_per_kwh)
        require_fraction("utilization", self.utilization)
        require_fraction("uptime", self.uptime)
        if self.tokens_per_second is not None:
            require_positive("tokens per second", self.tokens_per_second)
        require_non_negative("input tokens per second", self.input_tokens_per_second)
        if self.idle_watts is not None:
            require_positive("idle watts", self.idle_watts)
            if self.idle_watts > self.watts:
                raise InputError(f"idle watts ({self.idle_watts:g}) exceed the full-load watts ({self.watts:g})")
        if self.gpu_hour_usd is not None:
            require_positive("$/GPU-hour", self.gpu_hour_usd)
            if self.usd_per_mtok is not None or self.usd_per_mtok_input is not None:
                raise InputError("price AI by $/Mtok or by $/GPU-hour, not both")
            if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
                raise InputError(f"GPU count must be a whole number >= 1, got {self.gpus!r}")
            return
        if self.usd_per_mtok is None or self.tokens_per_second is None:
            raise InputError("AI revenue needs tokens/s with a $/Mtok price, or a $/GPU-hour price")
        require_positive("$/Mtok", self.usd_per_mtok)
        if self.usd_per_mtok_input is not None:
            require_positive("input $/Mtok", self.usd_per_mtok_input)
            if not self.input_tokens_per_second:
                raise InputError("an input-token price needs input tokens/s to apply to")
        elif self.input_tokens_per_second:
            raise InputError("input tokens/s need their own price ($/Mtok for input tokens)")

    @property
    def pricing(self) -> str:
        return GPU_HOUR if self.gpu_hour_usd is not None else TOKENS

    @property
    def average_watts(self) -> float:
        """Mean draw while powered: full load when serving, idle (if known) otherwise."""
        if self.idle_watts is None:
            return self.watts
        return self.utilization * self.watts + (1 - self.utilization) * self.idle_watts


@dataclass(frozen=True)
class AIYield:
    pricing: str
    tokens_per_day: float  # output tokens sold a day (0 when rental pricing has no token rate)
    revenue_usd_per_day: float
    energy_kwh_per_day: float
    power_cost_usd_per_day: float
    profit_usd_per_day: float
    revenue_usd_per_kwh: float
    profit_usd_per_kwh: float
    breakeven_power_usd_per_kwh: float
    joules_per_token: float | None  # per output token at full load; None without a token rate

    def to_json(self) -> dict:
        return asdict(self)


def ai_yield(a: AIInputs) -> AIYield:
    # A day with power throughout first; uptime (site curtailment) then scales revenue and energy alike, and the
    # per-kWh figures come from the powered day so they stay defined for a site curtailed all day.
    if a.pricing == GPU_HOUR:
        revenue_powered = a.gpu_hour_usd * a.gpus * HOURS_PER_DAY * a.utilization
    else:
        revenue_powered = SECONDS_PER_DAY * a.utilization / TOKENS_PER_MTOK * (
            a.tokens_per_second * a.usd_per_mtok + a.input_tokens_per_second * (a.usd_per_mtok_input or 0.0))
    energy_powered_kwh = a.average_watts * HOURS_PER_DAY / 1000
    revenue = revenue_powered * a.uptime
    energy_kwh = energy_powered_kwh * a.uptime
    cost = energy_kwh * a.power_usd_per_kwh
    revenue_per_kwh = revenue_powered / energy_powered_kwh
    return AIYield(
        pricing=a.pricing,
        tokens_per_day=(a.tokens_per_second or 0.0) * SECONDS_PER_DAY * a.utilization * a.uptime,
        revenue_usd_per_day=revenue,
        energy_kwh_per_day=energy_kwh,
        power_cost_usd_per_day=cost,
        profit_usd_per_day=revenue - cost,
        revenue_usd_per_kwh=revenue_per_kwh,
        profit_usd_per_kwh=revenue_per_kwh - a.power_usd_per_kwh,
        breakeven_power_usd_per_kwh=revenue_per_kwh,
        joules_per_token=a.watts / a.tokens_per_second if a.tokens_per_second else None,
    )


def time_shared_throughput(prefill_tps: float, decode_tps: float, input_per_output: float) -> tuple[float, float]:
    """(input tokens/s, output tokens/s) when one machine serves requests with `input_per_output` prompt tokens per
    generated token, spending its time on prefill and decode in turn at the rates measured for each alone.

    Not overlapping the phases is the conservative bound: batched servers interleave them and do better."""
    require_positive("prefill tokens per second", prefill_tps)
    require_positive("decode tokens per second", decode_tps)
    require_non_negative("input tokens per output token", input_per_output)
    seconds_per_output_token = 1 / decode_tps + input_per_output / prefill_tps
    output_tps = 1 / seconds_per_output_token
    return input_per_output * output_tps, output_tps


def watts_per_unit_yield_per_year(hashprice_usd_per_ph_day: float, joules_per_th: float) -> float:
    """$ a year per watt of miner at a given hashprice: E J/TH draws E W per TH/s (a sanity figure)."""
    require_positive("J/TH", joules_per_th)
    return hashprice_usd_per_ph_day / 1000 / joules_per_th * 365
