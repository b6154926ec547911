"""Site planner: for each site, what mining and AI earn under its power cap, and the split that earns most.

`load_sites` reads a TOML site file (the only I/O here, plus optional run files it names); everything after it
is pure. The method, stated once so every output can point at it:

Each fleet (one hardware model × count) is valued per unit at full load, with facility power = IT power × PUE.
Revenue, power cost and profit are all linear in the number of units, so a fleet's profit per MW of peak
facility power is a constant, and maximising profit under one power cap is a knapsack: rank fleets by profit per
MW and fill the cap greedily, skipping fleets that lose money, each up to its unit count. That is exactly optimal
for divisible hardware. Machines come whole, and a small cap can earn more from two smaller units than from one
larger, better one: a search over each fleet's unit count, pruned by the divisible optimum of the power left,
then finds the best whole-unit split (a plan says so if the search stops first). The cap binds on peak draw, not
average draw: an AI fleet's idle power lowers its energy bill but not the peak it may reach. Curtailment
(uptime < 1) switches the whole site off, mining and AI alike; profit counts power only (no hardware, hosting,
staff or depreciation).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from . import catalog
from .catalog import MAX_J_PER_TH, MIN_GPU_IDLE_WATTS, MIN_GPU_WATTS, MIN_J_PER_TH, check_difficulty
from .economics import (
    DECLARED,
    ESTIMATED,
    GPU_HOUR,
    MEASURED,
    NAMEPLATE,
    TOKENS,
    AIInputs,
    MiningInputs,
    Sourced,
    ai_yield,
    hashprice_usd_per_ph_day,
    mining_yield,
    require_fraction,
    require_positive,
)
from .errors import InputError
from .jsonfile import read_text
from .market import (
    GPU_HOUR_FIGURE,
    MODEL_CLASSES,
    Figure,
    MarketSnapshot,
    builtin_shape,
    model_class_of,
    stale_note,
)
from .runfile import layer_note, load_run
from .units import parse_fraction, parse_power_price
from .yields import choose_decode

METHOD = __doc__.split("\n\n", 2)[2].strip().replace("\n", " ")
MINING, AI = "mining", "ai"
SITE_FILE = "site file"


# --- records --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AsicFleet:
    model: str
    count: int
    hashrate_hps: Sourced  # per unit
    watts: Sourced  # per unit, at the machine (IT power)

    @property
    def label(self) -> str:
        return f"{self.count:,} × {self.model}"


@dataclass(frozen=True)
class GpuFleet:
    model: str
    count: int
    watts: Sourced  # per GPU at full load, IT power
    utilization: Sourced
    pricing: str  # tokens | gpu-hour
    model_class: str
    tokens_per_second: Sourced | None = None  # per GPU
    usd_per_mtok: Sourced | None = None
    gpu_hour_usd: Sourced | None = None
    idle_watts: Sourced | None = None

    @property
    def label(self) -> str:
        what = f"{self.model_class} tokens" if self.pricing == TOKENS else "GPU-hours"
        return f"{self.count:,} × {self.model} ({what})"


@dataclass(frozen=True)
class Site:
    name: str
    mw: float  # facility power cap, at the meter
    pue: float
    power_usd_per_kwh: Sourced
    uptime: Sourced
    pool_fee: Sourced
    asics: tuple[AsicFleet, ...] = ()
    gpus: tuple[GpuFleet, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def cap_w(self) -> float:
        return self.mw * 1e6


@dataclass(frozen=True)
class PlanMarket:
    """The mining market figures a plan depends on (AI prices travel with each GPU fleet)."""

    btc_price_usd: Sourced
    difficulty: Sourced
    subsidy_btc: Sourced
    fees_btc_per_block: Sourced
    label: str = ""

    @classmethod
    def from_snapshot(cls, snapshot: MarketSnapshot, today: date | None = None) -> PlanMarket:
        return cls(snapshot.sourced("btc_price_usd"), snapshot.sourced("difficulty"), snapshot.subsidy(today),
                   snapshot.sourced("fees_btc_per_block"), snapshot.label)

    def with_values(self, btc_price_usd: float | None = None, difficulty: float | None = None,
                    source: str = "flag") -> PlanMarket:
        kind = DECLARED if source == "flag" else ESTIMATED
        m = self
        if btc_price_usd is not None:
            m = replace(m, btc_price_usd=Sourced(require_positive("BTC price", btc_price_usd), source, kind))
        if difficulty is not None:
            require_positive("difficulty", difficulty)
            if source == "flag":
                check_difficulty(difficulty, "--difficulty")
            m = replace(m, difficulty=Sourced(difficulty, source, kind))
        return m

    @property
    def hashprice_usd_per_ph_day(self) -> float:
        return hashprice_usd_per_ph_day(self.difficulty.value, self.btc_price_usd.value,
                                        self.subsidy_btc.value + self.fees_btc_per_block.value)

    def to_json(self) -> dict:
        return {"btc_price_usd": self.btc_price_usd.to_json(), "difficulty": self.difficulty.to_json(),
                "subsidy_btc": self.subsidy_btc.to_json(), "fees_btc_per_block": self.fees_btc_per_block.to_json(),
                "hashprice_usd_per_ph_day": self.hashprice_usd_per_ph_day, "snapshot": self.label}


@dataclass(frozen=True)
class Option:
    """One fleet valued per unit: what a unit earns and costs a day, and the facility power it may draw."""

    label: str
    kind: str  # mining | ai
    count: int
    unit_peak_facility_w: float
    unit_revenue_usd_per_day: float
    unit_power_cost_usd_per_day: float
    unit_energy_kwh_per_day: float  # facility energy
    # The power price at the meter at which a unit stops paying: the figure `hashbench yield` prints, taken from the
    # same mining_yield / ai_yield call that values the unit here.
    breakeven_usd_per_kwh: float

    @property
    def unit_profit_usd_per_day(self) -> float:
        return self.unit_revenue_usd_per_day - self.unit_power_cost_usd_per_day

    @property
    def profit_usd_per_mw_day(self) -> float:
        return self.unit_profit_usd_per_day / (self.unit_peak_facility_w / 1e6)


@dataclass(frozen=True)
class LineItem:
    rank: int
    label: str
    kind: str
    units: int
    available: int
    peak_facility_mw: float
    energy_mwh_per_day: float
    revenue_usd_per_day: float
    power_cost_usd_per_day: float
    profit_usd_per_day: float
    profit_usd_per_mw_day: float  # the ranking key
    breakeven_usd_per_kwh: float  # the fleet's breakeven power price at the meter (Option.breakeven_usd_per_kwh)
    reason: str = ""  # why fewer units than available run

    def to_json(self) -> dict:
        return {"rank": self.rank, "label": self.label, "kind": self.kind, "units": self.units,
                "available": self.available, "peak_facility_mw": self.peak_facility_mw,
                "energy_mwh_per_day": self.energy_mwh_per_day, "revenue_usd_per_day": self.revenue_usd_per_day,
                "power_cost_usd_per_day": self.power_cost_usd_per_day, "profit_usd_per_day": self.profit_usd_per_day,
                "profit_usd_per_mw_day": self.profit_usd_per_mw_day,
                "breakeven_power_usd_per_kwh": self.breakeven_usd_per_kwh, "reason": self.reason}


def _per_mwh(amount: float, mwh: float) -> float | None:
    return amount / mwh if mwh > 0 else None


@dataclass(frozen=True)
class Scenario:
    name: str  # "mining only", "AI only", "best split"
    cap_mw: float
    items: tuple[LineItem, ...]
    search_gap_usd_per_day: float = 0.0  # 0: proven the best whole-unit split; else at most this much below it

    def _sum(self, attr: str, kind: str | None = None) -> float:
        return sum((getattr(i, attr) for i in self.items if kind is None or i.kind == kind), 0.0)

    @property
    def revenue_usd_per_day(self) -> float:
        return self._sum("revenue_usd_per_day")

    @property
    def power_cost_usd_per_day(self) -> float:
        return self._sum("power_cost_usd_per_day")

    @property
    def profit_usd_per_day(self) -> float:
        return self._sum("profit_usd_per_day")

    @property
    def energy_mwh_per_day(self) -> float:
        return self._sum("energy_mwh_per_day")

    @property
    def peak_mw(self) -> float:
        return self._sum("peak_facility_mw")

    def mw_of(self, kind: str) -> float:
        return self._sum("peak_facility_mw", kind)

    def profit_of(self, kind: str) -> float:
        return self._sum("profit_usd_per_day", kind)

    @property
    def revenue_usd_per_mwh(self) -> float | None:
        return _per_mwh(self.revenue_usd_per_day, self.energy_mwh_per_day)

    @property
    def profit_usd_per_mwh(self) -> float | None:
        return _per_mwh(self.profit_usd_per_day, self.energy_mwh_per_day)

    def to_json(self) -> dict:
        return {"name": self.name, "cap_mw": self.cap_mw, "peak_mw": self.peak_mw, "mining_mw": self.mw_of(MINING),
                "ai_mw": self.mw_of(AI), "unused_mw": max(self.cap_mw - self.peak_mw, 0.0),
                "energy_mwh_per_day": self.energy_mwh_per_day, "revenue_usd_per_day": self.revenue_usd_per_day,
                "power_cost_usd_per_day": self.power_cost_usd_per_day, "profit_usd_per_day": self.profit_usd_per_day,
                "revenue_usd_per_mwh": self.revenue_usd_per_mwh, "profit_usd_per_mwh": self.profit_usd_per_mwh,
                "search_gap_usd_per_day": self.search_gap_usd_per_day, "items": [i.to_json() for i in self.items]}


@dataclass(frozen=True)
class SitePlan:
    site: Site
    market: PlanMarket
    mining: Scenario  # the cap given to mining hardware alone
    ai: Scenario  # the cap given to AI hardware alone
    best: Scenario  # the split that maximises profit
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        s = self.site
        return {"name": s.name, "mw": s.mw, "pue": s.pue,
                "inputs": {"power_usd_per_kwh": s.power_usd_per_kwh.to_json(), "uptime": s.uptime.to_json(),
                           "pool_fee": s.pool_fee.to_json(), "market": self.market.to_json(),
                           "asics": [_asic_json(a) for a in s.asics], "gpus": [_gpu_json(g) for g in s.gpus]},
                "mining": self.mining.to_json(), "ai": self.ai.to_json(), "best": self.best.to_json(),
                "method": METHOD, "notes": list(self.notes)}


def _asic_json(a: AsicFleet) -> dict:
    return {"model": a.model, "count": a.count, "hashrate_hps": a.hashrate_hps.to_json(), "watts": a.watts.to_json()}


def _gpu_json(g: GpuFleet) -> dict:
    data: dict = {"model": g.model, "count": g.count, "pricing": g.pricing, "model_class": g.model_class,
                  "watts": g.watts.to_json(), "utilization": g.utilization.to_json()}
    for name in ("tokens_per_second", "usd_per_mtok", "gpu_hour_usd", "idle_watts"):
        if (value := getattr(g, name)) is not None:
            data[name] = value.to_json()
    return data


# --- valuing and allocating ------------------------------------------------------------------------------------------

def options(site: Site, market: PlanMarket, power_usd_per_kwh: float | None = None) -> list[Option]:
    """Every fleet of the site valued per unit (facility power, so PUE is in both the cap and the bill)."""
    price = site.power_usd_per_kwh.value if power_usd_per_kwh is None else power_usd_per_kwh
    out: list[Option] = []
    for a in site.asics:
        facility_w = a.watts.value * site.pue
        y = mining_yield(MiningInputs(
            hashrate_hps=a.hashrate_hps.value, watts=facility_w, btc_price_usd=market.btc_price_usd.value,
            difficulty=market.difficulty.value, subsidy_btc=market.subsidy_btc.value, power_usd_per_kwh=price,
            fees_btc_per_block=market.fees_btc_per_block.value, pool_fee=site.pool_fee.value,
            uptime=site.uptime.value))
        out.append(Option(a.label, MINING, a.count, facility_w, y.revenue_usd_per_day, y.power_cost_usd_per_day,
                          y.energy_kwh_per_day, y.breakeven_power_usd_per_kwh))
    for g in site.gpus:
        facility_w = g.watts.value * site.pue
        y = ai_yield(AIInputs(
            watts=facility_w, power_usd_per_kwh=price, utilization=g.utilization.value,
            tokens_per_second=g.tokens_per_second.value if g.tokens_per_second else None,
            usd_per_mtok=g.usd_per_mtok.value if g.usd_per_mtok else None,
            gpu_hour_usd=g.gpu_hour_usd.value if g.gpu_hour_usd else None, gpus=1,
            idle_watts=g.idle_watts.value * site.pue if g.idle_watts else None, uptime=site.uptime.value))
        out.append(Option(g.label, AI, g.count, facility_w, y.revenue_usd_per_day, y.power_cost_usd_per_day,
                          y.energy_kwh_per_day, y.breakeven_power_usd_per_kwh))
    return out


_SEARCH_STEPS = 5_000  # ample for a site's handful of fleets; a plan says when the search stopped before the proof


def _fits(remaining_w: float, unit_w: float) -> int:
    # The epsilon keeps a fleet that fits the cap exactly from losing a unit to float rounding.
    return max(0, math.floor(remaining_w / unit_w * (1 + 1e-12)))


def _divisible_bound(ranked: Sequence[Option], remaining_w: float) -> float:
    """The most fleets `ranked` (best profit per MW first) could add in `remaining_w` if units could be split."""
    total = 0.0
    for o in ranked:
        if remaining_w <= 0:
            break
        used = min(o.count * o.unit_peak_facility_w, remaining_w)
        total += used / o.unit_peak_facility_w * o.unit_profit_usd_per_day
        remaining_w -= used
    return total


def _whole_units(ranked: Sequence[Option], cap_w: float) -> tuple[list[int], float]:
    """(units per fleet in rank order, how much more the best split could earn: 0 when proven best).

    The greedy fill is the first answer; a depth-first search over each fleet's count, most units first, drops
    a branch once the units fixed so far plus the divisible optimum of the power left cannot beat the best found.
    That bound only falls as a fleet gives up units (the power it frees earns no more per MW further down the
    ranking), so the first branch that cannot win ends the loop."""
    units, remaining = [], cap_w
    for o in ranked:
        units.append(min(o.count, _fits(remaining, o.unit_peak_facility_w)))
        remaining -= units[-1] * o.unit_peak_facility_w
    best = [sum(u * o.unit_profit_usd_per_day for u, o in zip(units, ranked, strict=True)), units]
    trial = [0] * len(ranked)
    steps = 0

    def search(i: int, remaining_w: float, profit: float) -> bool:
        nonlocal steps
        if i == len(ranked):
            if profit > best[0] * (1 + 1e-12) + 1e-9:
                best[:] = [profit, list(trial)]
            return True
        o = ranked[i]
        for u in range(min(o.count, _fits(remaining_w, o.unit_peak_facility_w)), -1, -1):
            steps += 1
            left = remaining_w - u * o.unit_peak_facility_w
            if profit + u * o.unit_profit_usd_per_day + _divisible_bound(ranked[i + 1:], left) \
                    <= best[0] * (1 + 1e-12) + 1e-9:
                break
            if steps > _SEARCH_STEPS:
                return False
            trial[i] = u
            if not search(i + 1, left, profit + u * o.unit_profit_usd_per_day):
                return False
        trial[i] = 0
        return True

    proven = search(0, cap_w, 0.0)
    return best[1], 0.0 if proven else max(_divisible_bound(ranked, cap_w) - best[0], 0.0)


def allocate(opts: Sequence[Option], cap_w: float, name: str) -> Scenario:
    """The most profitable whole-unit split of the cap (see METHOD): each fleet up to its count, none that loses
    money; line items in rank order of profit per MW."""
    ranked = sorted(opts, key=lambda o: o.profit_usd_per_mw_day, reverse=True)
    earning = [o for o in ranked if o.unit_profit_usd_per_day > 0]
    chosen, gap = _whole_units(earning, cap_w)
    units_of = {id(o): u for o, u in zip(earning, chosen, strict=True)}
    remaining = cap_w
    items = []
    for rank, o in enumerate(ranked, 1):
        if o.unit_profit_usd_per_day <= 0:  # exactly nothing is no reason to run it either, but it is no loss
            units = 0
            reason = "loses money at this power price" if o.unit_profit_usd_per_day < 0 else \
                "earns nothing at this power price (breakeven)"
        else:
            units = units_of[id(o)]
            if units == o.count:
                reason = ""
            elif units < _fits(remaining, o.unit_peak_facility_w):
                reason = "whole units: the power earns more on units ranked below"
            else:
                reason = "power cap reached"
        remaining -= units * o.unit_peak_facility_w
        items.append(LineItem(
            rank=rank, label=o.label, kind=o.kind, units=units, available=o.count,
            peak_facility_mw=units * o.unit_peak_facility_w / 1e6,
            energy_mwh_per_day=units * o.unit_energy_kwh_per_day / 1000,
            # "+ 0.0" turns the -0.0 of zero units of a losing fleet into a plain 0.0.
            revenue_usd_per_day=units * o.unit_revenue_usd_per_day + 0.0,
            power_cost_usd_per_day=units * o.unit_power_cost_usd_per_day + 0.0,
            profit_usd_per_day=units * o.unit_profit_usd_per_day + 0.0,
            profit_usd_per_mw_day=o.profit_usd_per_mw_day, breakeven_usd_per_kwh=o.breakeven_usd_per_kwh,
            reason=reason))
    return Scenario(name=name, cap_mw=cap_w / 1e6, items=tuple(items), search_gap_usd_per_day=gap)


def market_age_note(sites: Sequence[Site], market: PlanMarket, today: date | None = None) -> str | None:
    """One note for the whole plan naming the moving market figures it used that are over a month old."""
    used = [("btc_price_usd", market.btc_price_usd), ("difficulty", market.difficulty)]
    for g in (g for site in sites for g in site.gpus):
        used += [(key, s) for key, s in (("gpu_hour_usd", g.gpu_hour_usd), ("usd_per_mtok", g.usd_per_mtok))
                 if s is not None]
    return stale_note(used, today)


def plan_site(site: Site, market: PlanMarket, power_usd_per_kwh: float | None = None) -> SitePlan:
    opts = options(site, market, power_usd_per_kwh)
    best = allocate(opts, site.cap_w, "best split")
    notes = list(site.notes)
    unused = site.mw - best.peak_mw
    earning = [o for o in opts if o.count and o.unit_profit_usd_per_day > 0]
    if best.peak_mw == 0 and earning:
        # Something earns, and still nothing runs: no whole unit of it fits the cap (a kW figure written as MW?).
        smallest = min(o.unit_peak_facility_w for o in earning)
        notes.append(f"the cap of {site.cap_w / 1e3:,.4g} kW at the meter holds no whole unit of a fleet that earns: "
                     f"the smallest draws {smallest / 1e3:,.4g} kW at the meter (mw is the cap in MW)")
    elif best.peak_mw == 0 and any(i.available for i in best.items):
        notes.append("no fleet earns more than its power costs here: the best split runs nothing")
    elif unused > 1e-9 and all(i.units == i.available or i.reason.startswith("loses") for i in best.items):
        notes.append(f"{unused:.3f} MW of the cap unused: every profitable unit already runs")
    if best.search_gap_usd_per_day > 0:
        notes.append(f"the whole-unit search stopped before proving this split the best: at most "
                     f"${best.search_gap_usd_per_day:,.2f} a day below it")
    return SitePlan(site=site, market=market,
                    mining=allocate([o for o in opts if o.kind == MINING], site.cap_w, "mining only"),
                    ai=allocate([o for o in opts if o.kind == AI], site.cap_w, "AI only"),
                    best=best, notes=tuple(notes))


# --- portfolio -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PortfolioRow:
    """One site's best split in a line, and what its best fleet of each kind earns per MW: where a megawatt earns
    most hashing and where serving AI."""

    site: str
    cap_mw: float
    power_usd_per_kwh: float
    mining_mw: float
    ai_mw: float
    profit_usd_per_day: float
    best_mining: LineItem | None  # the site's mining fleet with the highest profit per MW-day
    best_ai: LineItem | None

    @property
    def profit_usd_per_cap_mw_day(self) -> float:
        return self.profit_usd_per_day / self.cap_mw

    def to_json(self) -> dict:
        def best(item: LineItem | None) -> dict | None:
            return None if item is None else {"fleet": item.label, "profit_usd_per_mw_day": item.profit_usd_per_mw_day}
        return {"site": self.site, "cap_mw": self.cap_mw, "power_usd_per_kwh": self.power_usd_per_kwh,
                "mining_mw": self.mining_mw, "ai_mw": self.ai_mw, "profit_usd_per_day": self.profit_usd_per_day,
                "profit_usd_per_cap_mw_day": self.profit_usd_per_cap_mw_day,
                "best_mining": best(self.best_mining), "best_ai": best(self.best_ai)}


@dataclass(frozen=True)
class Portfolio:
    rows: tuple[PortfolioRow, ...]  # best-split profit per MW of cap, highest first

    def _sum(self, attr: str) -> float:
        return sum((getattr(r, attr) for r in self.rows), 0.0)

    def best_for(self, kind: str) -> PortfolioRow | None:
        """The site where a megawatt earns most on its best fleet of `kind` (mining or ai)."""
        attr = "best_mining" if kind == MINING else "best_ai"
        rows = [r for r in self.rows if getattr(r, attr) is not None]
        return max(rows, key=lambda r: getattr(r, attr).profit_usd_per_mw_day, default=None)

    def to_json(self) -> dict:
        def best(kind: str) -> dict | None:
            row = self.best_for(kind)
            if row is None:
                return None
            item = row.best_mining if kind == MINING else row.best_ai
            return {"site": row.site, "fleet": item.label, "profit_usd_per_mw_day": item.profit_usd_per_mw_day}
        return {"ranked_by": "best-split profit per MW of cap",
                "totals": {k: self._sum(k) for k in ("cap_mw", "mining_mw", "ai_mw", "profit_usd_per_day")},
                "best_for_mining": best(MINING), "best_for_ai": best(AI), "sites": [r.to_json() for r in self.rows]}


def portfolio(plans: Sequence[SitePlan]) -> Portfolio:
    """Every site's plan in one ranked table: which site uses its cap best, and which one a megawatt of mining or
    of AI earns most at."""
    rows = []
    for p in plans:
        def best(kind: str, p: SitePlan = p) -> LineItem | None:
            items = [i for i in p.best.items if i.kind == kind]
            return max(items, key=lambda i: i.profit_usd_per_mw_day, default=None)
        rows.append(PortfolioRow(p.site.name, p.site.mw, p.site.power_usd_per_kwh.value, p.best.mw_of(MINING),
                                 p.best.mw_of(AI), p.best.profit_usd_per_day, best(MINING), best(AI)))
    return Portfolio(tuple(sorted(rows, key=lambda r: r.profit_usd_per_cap_mw_day, reverse=True)))


# --- sensitivity -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridCell:
    btc_price_usd: float
    difficulty: float
    power_usd_per_kwh: float
    hashprice_usd_per_ph_day: float
    profit_usd_per_day: float  # best split
    mining_only_profit_usd_per_day: float
    mining_mw: float  # in the best split
    ai_mw: float


@dataclass(frozen=True)
class SensitivityGrid:
    """Best-split outcomes over BTC price × difficulty × power price; cells ordered power, difficulty, BTC price."""

    site: str
    btc_prices: tuple[float, ...]
    difficulties: tuple[float, ...]
    power_prices: tuple[float, ...]
    cells: tuple[GridCell, ...] = field(repr=False)

    def at(self, power_index: int, difficulty_index: int, btc_index: int) -> GridCell:
        n_d, n_b = len(self.difficulties), len(self.btc_prices)
        return self.cells[(power_index * n_d + difficulty_index) * n_b + btc_index]

    def matrix(self, metric: str, power_index: int = 0) -> list[list[float]]:
        """One heatmap: rows are difficulties, columns BTC prices, values the named GridCell field."""
        return [[getattr(self.at(power_index, d, b), metric) for b in range(len(self.btc_prices))]
                for d in range(len(self.difficulties))]

    def to_json(self) -> dict:
        metrics = ("profit_usd_per_day", "mining_only_profit_usd_per_day", "mining_mw", "ai_mw",
                   "hashprice_usd_per_ph_day")
        return {"site": self.site, "rows": "difficulty", "columns": "btc_price_usd", "layers": "power_usd_per_kwh",
                "btc_prices": list(self.btc_prices), "difficulties": list(self.difficulties),
                "power_prices": list(self.power_prices),
                "matrices": {m: [self.matrix(m, p) for p in range(len(self.power_prices))] for m in metrics}}


def sensitivity_grid(site: Site, market: PlanMarket, btc_prices: Sequence[float], difficulties: Sequence[float],
                     power_prices: Sequence[float]) -> SensitivityGrid:
    """The site re-planned at every combination: data for a table here and a heatmap in the HTML report."""
    for label, axis in (("BTC price", btc_prices), ("difficulty", difficulties), ("power price", power_prices)):
        if not axis:
            raise InputError(f"the sensitivity grid needs at least one {label}")
        for v in axis:
            require_positive(label, v)
    cells = []
    for p in power_prices:
        for d in difficulties:
            for b in btc_prices:
                m = market.with_values(btc_price_usd=b, difficulty=d, source="sensitivity grid")
                plan = plan_site(site, m, power_usd_per_kwh=p)
                cells.append(GridCell(b, d, p, m.hashprice_usd_per_ph_day, plan.best.profit_usd_per_day,
                                      plan.mining.profit_usd_per_day, plan.best.mw_of(MINING), plan.best.mw_of(AI)))
    return SensitivityGrid(site.name, tuple(btc_prices), tuple(difficulties), tuple(power_prices), tuple(cells))


def axis_around(fig: Figure) -> tuple[float, ...]:
    """Five evenly spaced points with the figure itself in the middle, spanning its recorded range: the range's far
    end sets the step, so the near side reaches a little past the range (difficulty 152 T in a 126-156 T range:
    126, 139, 152, 165, 178 T). Halfway points to each end instead gave 126, 139, 152, 154, 156 T: 13 T steps
    below the figure and 2 T above, a grid that swung widely one way and hardly at all the other. Without a range:
    ±15 % and ±30 %. Every point stays above 0."""
    v = fig.value
    if fig.low is not None and fig.high is not None and fig.low <= v <= fig.high:
        step = max(v - fig.low, fig.high - v) / 2
    else:
        step = v * 0.15
    step = min(step, v * 0.45)  # the lowest point at 10 % of the figure at least: a price or difficulty is > 0
    # The others rounded to 4 figures; the middle one exact, so the grid's centre cell is the plan itself.
    return tuple(sorted({v} | {float(f"{v + k * step:.4g}") for k in (-2, -1, 1, 2)}))


def default_power_axis(snapshot: MarketSnapshot, site: Site) -> tuple[float, ...]:
    fig = snapshot.get("power_usd_per_kwh")
    points = {site.power_usd_per_kwh.value}
    if fig.low is not None and fig.high is not None:
        points |= {fig.low, fig.high}
    return tuple(sorted(points))


# --- reading a site file ---------------------------------------------------------------------------------------------

_SITE_KEYS = {"name", "mw", "pue", "power_usd_per_kwh", "uptime", "curtailment", "pool_fee", "utilization",
              "asic", "gpu"}
_ASIC_KEYS = {"model", "count", "hashrate_ths", "watts"}
_GPU_KEYS = {"model", "count", "tokens_per_second", "from_run", "preset", "model_class", "usd_per_mtok",
             "gpu_hour_usd", "pricing", "watts", "idle_watts", "utilization"}


class _Where:
    """Builds "sites.toml: site 'West': gpu #2: ..." prefixes for one clear line per mistake."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __truediv__(self, part: str) -> _Where:
        return _Where(f"{self.text}: {part}")

    def error(self, message: str) -> InputError:
        return InputError(f"{self.text}: {message}")

    @contextmanager
    def located(self) -> Iterator[None]:
        """A parser's or the catalog's own one-line error, raised inside, comes out with this place in front."""
        try:
            yield
        except InputError as exc:
            raise self.error(str(exc)) from None


def _table(raw: object, where: _Where, allowed: set[str]) -> dict:
    if not isinstance(raw, dict):
        raise where.error("expected a table")
    unknown = set(raw) - allowed
    if unknown:
        raise where.error(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
    return raw


def _number(raw: dict, key: str, where: _Where, *, required: bool = False) -> float | None:
    if key not in raw:
        if required:
            raise where.error(f"missing {key!r}")
        return None
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise where.error(f"{key} must be a number, got {value!r}")
    return float(value)


def _positive(raw: dict, key: str, where: _Where, *, required: bool = False) -> float | None:
    value = _number(raw, key, where, required=required)
    if value is not None and value <= 0:
        raise where.error(f"{key} must be > 0, got {value:g}")
    return value


def _fraction(raw: dict, key: str, where: _Where) -> float | None:
    """A number, or text the flags read: "80%" as well as 0.8."""
    if not isinstance(raw.get(key), str):
        value = _number(raw, key, where)  # prefixes its own mistakes: outside the blocks below
    else:
        with where.located():
            value = parse_fraction(raw[key], key)
    if value is None:
        return None
    with where.located():
        return require_fraction(key, value)


def _count(raw: dict, where: _Where) -> int:
    if "count" not in raw:
        raise where.error("missing 'count'")
    value = raw["count"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.error(f"count must be a whole number >= 0, got {value!r}")
    return value


def _text(raw: dict, key: str, where: _Where, *, required: bool = False) -> str | None:
    if key not in raw:
        if required:
            raise where.error(f"missing {key!r}")
        return None
    if not isinstance(raw[key], str) or not raw[key].strip():
        raise where.error(f"{key} must be non-empty text")
    return raw[key]


def _power_price(raw: dict, where: _Where) -> float | None:
    """USD/kWh as the --power-price flag reads it: 0.045, "0.045/kWh" or "45/MWh"; a bare figure of a dollar or more
    is refused there and here alike (units.parse_power_price says why)."""
    key = "power_usd_per_kwh"
    value = raw.get(key)
    price = value if isinstance(value, str) else _positive(raw, key, where)
    if price is None:
        return None
    with where.located():
        price = parse_power_price(price, key)
    if price <= 0:
        raise where.error(f"{key} must be > 0, got {value!r}")
    return price


def _check_efficiency(hashrate_ths: float, watts: float, declared: list[str], where: _Where) -> None:
    j_per_th = watts / hashrate_ths
    if j_per_th < MIN_J_PER_TH:
        raise where.error(f"{' and '.join(declared)} give {j_per_th:.3g} J/TH a unit, below {MIN_J_PER_TH:g} J/TH "
                          "and any SHA-256 machine: hashrate_ths is TH/s per unit, watts is W per unit")
    if j_per_th > MAX_J_PER_TH:
        raise where.error(f"{' and '.join(declared)} give {j_per_th:.3g} J/TH a unit, above {MAX_J_PER_TH:.0e} J/TH "
                          "and anything that hashes: hashrate_ths is TH/s per unit, watts is W per unit")


def _check_gpu_watts(watts: float, where: _Where, key: str = "watts", floor: float = MIN_GPU_WATTS,
                     state: str = "at full load") -> None:
    if watts < floor:
        raise where.error(f"{key} = {watts:g} W per GPU is below {floor:g} W, less than any datacenter GPU "
                          f"draws {state}: {key} is W per GPU ({watts:g} kW is written {watts * 1000:g})")


def _declared(value: float, detail: str = "") -> Sourced:
    return Sourced(value, SITE_FILE, DECLARED, detail)


def _asic_fleet(raw: object, where: _Where) -> AsicFleet:
    raw = _table(raw, where, _ASIC_KEYS)
    model = _text(raw, "model", where, required=True)  # already prefixed with where
    with where.located():
        asic = catalog.find_asic(model)
    ths, watts = _positive(raw, "hashrate_ths", where), _positive(raw, "watts", where)
    if ths or watts:
        _check_efficiency(ths or asic.hashrate_ths, watts or asic.watts,
                          [k for k, v in (("hashrate_ths", ths), ("watts", watts)) if v], where)
    nameplate = f"{asic.model}: {asic.source}"
    return AsicFleet(
        model=asic.model, count=_count(raw, where),
        hashrate_hps=_declared(ths * 1e12) if ths else Sourced(asic.hashrate_hps, "catalog nameplate", NAMEPLATE,
                                                               nameplate),
        watts=_declared(watts) if watts else Sourced(asic.watts, "catalog nameplate", NAMEPLATE, nameplate))


def _gpu_fleet(raw: object, where: _Where, site: dict, base_dir: Path, snapshot: MarketSnapshot,
               notes: list[str]) -> GpuFleet:
    raw = _table(raw, where, _GPU_KEYS)
    model = _text(raw, "model", where, required=True)  # already prefixed with where
    with where.located():
        gpu = catalog.find_gpu(model)
    count = _count(raw, where)
    cls = _text(raw, "model_class", where)
    if cls is not None and cls not in MODEL_CLASSES:
        raise where.error(f"model_class must be one of {', '.join(MODEL_CLASSES)}, got {cls!r}")
    pricing = _text(raw, "pricing", where)
    gpu_hour = _positive(raw, "gpu_hour_usd", where)
    mtok = _positive(raw, "usd_per_mtok", where)
    if pricing is None:
        pricing = GPU_HOUR if gpu_hour is not None else TOKENS
    if pricing not in (TOKENS, GPU_HOUR):
        raise where.error(f"pricing must be {TOKENS!r} or {GPU_HOUR!r}, got {pricing!r}")
    if pricing == GPU_HOUR and mtok is not None or pricing == TOKENS and gpu_hour is not None:
        raise where.error("price by usd_per_mtok or by gpu_hour_usd, not both")

    # Throughput and power: declared, else measured (a run file), else the catalog.
    decode = None
    if (run_path := _text(raw, "from_run", where)) is not None:
        with where.located():  # a missing or unreadable run file: say which site and entry named it
            run = load_run(base_dir / run_path)
        preset = _text(raw, "preset", where)  # its own mistake is prefixed already: outside the block below
        with where.located():  # the preset named, else the fastest of the fleet's class: never a smaller model's rate
            decode = choose_decode(run, preset, cls)
        if decode is None:
            raise where.error(f"{run_path} has no llm-decode probe")
        if not run.complete:
            notes.append(f"{gpu.model}: tokens/s from {run_path}, an incomplete run (stopped before it finished)")
        if decode.cpu_note and "tokens_per_second" not in raw:
            notes.append(f"{gpu.model}: tokens/s from {run_path}, {decode.label}: {decode.cpu_note}")
        shape = builtin_shape(decode.preset)
        if cls is not None and shape and pricing == TOKENS and mtok is None:
            raise where.error(f"model_class {cls}: {decode.label} is {shape}, not a {cls}-class model, and its "
                              "tokens do not sell at that class's price: give usd_per_mtok")
        if cls is None and (cls := model_class_of(decode.preset)) is None:
            if pricing == TOKENS and mtok is None:
                raise where.error(f"preset {decode.preset!r} is neither an 8B- nor a 70B-class model, the classes "
                                  "the market snapshot prices: give "
                                  + ("usd_per_mtok" if shape else "model_class or usd_per_mtok"))
            cls = decode.preset  # priced by the hour or at a declared price: the class only names the fleet
    elif "preset" in raw:
        raise where.error("preset only applies with from_run")
    cls = cls or "8b"
    tps = _positive(raw, "tokens_per_second", where)
    if tps is not None:
        tokens = _declared(tps, "per GPU")
    elif decode is not None:
        tokens = Sourced(decode.tokens_per_second, "measured (run file)", MEASURED,
                         f"per GPU: {decode.label}{'' if run.complete else ' (incomplete run)'}")
    elif ref := catalog.reference_throughput(gpu.model, cls):
        tokens = Sourced(ref.tokens_per_second, "published benchmark", ESTIMATED, f"per GPU: {ref.source}")
    else:
        tokens = None
        if pricing == TOKENS:
            known = ", ".join(f"{r.gpu} {r.model_class}" for r in catalog.throughput_refs())
            raise where.error(f"no throughput for {gpu.model} at {cls}: give tokens_per_second or from_run "
                              f"(published figures exist for {known})")
    watts = _positive(raw, "watts", where)
    if watts is not None:
        _check_gpu_watts(watts, where)
        power = _declared(watts, "per GPU at full load")
    elif decode is not None and tps is None and decode.watts is not None:
        power = Sourced(decode.watts, f"{decode.power_kind} (run file)", decode.power_kind,
                        f"per GPU: {decode.label} ({decode.power_source or 'unnamed meter'})")
        if note := layer_note(decode.power_source):  # the cap is the node's: a board's watts undercount it
            notes.append(f"{gpu.model}: {note}; declare watts per GPU for the whole node")
    else:
        power = Sourced(gpu.tdp_w, "catalog nameplate", NAMEPLATE, f"{gpu.model} TDP: {gpu.source}")
        notes.append(f"{gpu.model}: board TDP used as power; a node adds CPUs, fans and NICs: declare watts per "
                     "GPU for the whole node")
    idle = _positive(raw, "idle_watts", where)
    if idle is not None:
        _check_gpu_watts(idle, where, "idle_watts", MIN_GPU_IDLE_WATTS, "idle")
    if idle is not None and idle > power.value:
        raise where.error(f"idle_watts ({idle:g}) exceed the full-load watts ({power.value:g})")
    idle_watts = _declared(idle, "per GPU") if idle is not None else None
    if idle is None and power.source.endswith("(run file)") and decode.idle_watts is not None \
            and decode.idle_watts <= power.value:
        # The same meter's idle reading beside its full-load one: unsold hours billed at idle, as the run saw them.
        idle_watts = Sourced(decode.idle_watts, power.source, decode.power_kind,
                             f"per GPU: idle before {decode.label} ({decode.power_source or 'unnamed meter'})")

    util = _fraction(raw, "utilization", where)
    if util is None:
        util = site.get("utilization")
    if util is None:
        utilization = Sourced(1.0, "default", DECLARED, "every second sold: an upper bound")
        notes.append(f"{gpu.model}: utilization not given, 1.0 assumed (every second sold: an upper bound)")
    else:
        utilization = _declared(util)
    if idle_watts is None and utilization.value < 1:
        unsold = (1 - utilization.value) * 100
        notes.append(f"{gpu.model}: no idle power known: the unsold {unsold:.0f} % of the day is billed at full-load "
                     "power (an upper bound on the energy); give idle_watts")

    fleet = GpuFleet(model=gpu.model, count=count, watts=power, utilization=utilization, pricing=pricing,
                     model_class=cls, tokens_per_second=tokens,
                     idle_watts=idle_watts)
    if pricing == GPU_HOUR:
        if gpu_hour is not None:
            return replace(fleet, gpu_hour_usd=_declared(gpu_hour))
        if gpu.model not in GPU_HOUR_FIGURE:
            raise where.error(f"the market snapshot has no rental price for {gpu.model}: give gpu_hour_usd")
        return replace(fleet, gpu_hour_usd=snapshot.sourced(GPU_HOUR_FIGURE[gpu.model]))
    return replace(fleet, usd_per_mtok=_declared(mtok) if mtok is not None
                   else snapshot.sourced(f"usd_per_mtok_{cls}"))


def _site(raw: object, origin: _Where, index: int, base_dir: Path, snapshot: MarketSnapshot) -> Site:
    where = origin / f"site #{index}"
    if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"].strip():
        where = origin / f"site {raw['name']!r}"  # every later mistake names the site a planner wrote
    raw = _table(raw, where, _SITE_KEYS)
    name = _text(raw, "name", where, required=True)
    mw = _positive(raw, "mw", where, required=True)
    pue = _number(raw, "pue", where)
    if pue is not None and pue < 1:
        raise where.error(f"pue must be >= 1 (facility power over IT power), got {pue:g}")
    uptime, curtailment = _fraction(raw, "uptime", where), _fraction(raw, "curtailment", where)
    if uptime is not None and curtailment is not None:
        raise where.error("give uptime or curtailment, not both")
    util = _fraction(raw, "utilization", where)
    price = _power_price(raw, where)
    pool_fee = _fraction(raw, "pool_fee", where)
    if pool_fee == 1.0:
        raise where.error("pool_fee must be below 1")
    notes: list[str] = []
    for key in ("asic", "gpu"):
        if not isinstance(raw.get(key, []), list):
            raise where.error(f"{key} entries must be written [[site.{key}]]")
    if not raw.get("asic") and not raw.get("gpu"):
        raise where.error("no hardware: add [[site.asic]] or [[site.gpu]] entries")
    asics = tuple(_asic_fleet(a, where / f"asic #{i}") for i, a in enumerate(raw.get("asic", []), 1))
    gpus = tuple(_gpu_fleet(g, where / f"gpu #{i}", {"utilization": util}, base_dir, snapshot, notes)
                 for i, g in enumerate(raw.get("gpu", []), 1))
    if uptime is not None:
        up = _declared(uptime)
    elif curtailment is not None:
        up = _declared(1 - curtailment, f"1 - curtailment {curtailment:g}")
    else:
        up = Sourced(1.0, "default", DECLARED, "never curtailed")
    if up.value < 1 and gpus:
        notes.append("curtailed hours switch AI off too; AI buyers usually want firm power")
    return Site(
        name=name, mw=mw, pue=1.0 if pue is None else pue,
        power_usd_per_kwh=_declared(price) if price is not None else snapshot.sourced("power_usd_per_kwh"),
        uptime=up,
        pool_fee=_declared(pool_fee) if pool_fee is not None else Sourced(0.0, "default", DECLARED, "no pool fee"),
        asics=asics, gpus=gpus, notes=tuple(dict.fromkeys(notes)))


def parse_sites(data: dict, origin: str, snapshot: MarketSnapshot, base_dir: Path = Path(".")) -> list[Site]:
    where = _Where(origin)
    unknown = set(data) - {"site"}
    if unknown:
        raise where.error(f"unknown top-level key(s) {', '.join(sorted(unknown))}; sites are [[site]] tables")
    raw_sites = data.get("site")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise where.error("no sites: add one or more [[site]] tables")
    sites = [_site(s, where, i, base_dir, snapshot) for i, s in enumerate(raw_sites, 1)]
    first: dict[str, int] = {}
    for i, s in enumerate(sites, 1):
        if (seen := first.setdefault(s.name, i)) != i:
            raise where.error(f"site {s.name!r}: name used twice (sites #{seen} and #{i}); site names must be unique")
    return sites


def load_sites(path: Path, snapshot: MarketSnapshot) -> list[Site]:
    path = Path(path)
    text = read_text(path, "site file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"site file {str(path)!r} is not valid TOML: {exc}") from None
    return parse_sites(data, str(path), snapshot, base_dir=path.parent)
