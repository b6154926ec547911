"""The site planner on the shipped two-site example, by hand; malformed site files; the sensitivity grid."""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import replace
from itertools import pairwise, product
from pathlib import Path

import pytest
from economics_helpers import assert_one_line_error, invoke, invoke_json, write_json

from hashbench import plan as plan_module
from hashbench.errors import InputError
from hashbench.market import Figure, packaged_snapshot
from hashbench.plan import (
    METHOD,
    Option,
    PlanMarket,
    allocate,
    axis_around,
    load_sites,
    options,
    parse_sites,
    plan_site,
    sensitivity_grid,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sites.toml"
cents = lambda x: round(x, 2)  # noqa: E731

# The packaged market: difficulty 152 T, $91,000, 3.125 + 0.036 BTC a block.
PH_DAY_BTC = 86_400 / (152e12 * 2**32) * 3.161  # BTC a day per H/s, before pool fee and uptime


@pytest.fixture(scope="module")
def sites():
    return {s.name: s for s in load_sites(EXAMPLE, packaged_snapshot())}


@pytest.fixture(scope="module")
def market():
    return PlanMarket.from_snapshot(packaged_snapshot())


def _item(scenario, model: str):
    return next(i for i in scenario.items if model in i.label)


def test_example_has_two_sites(sites):
    assert list(sites) == ["West Texas", "Quebec hydro"]
    wt = sites["West Texas"]
    assert (wt.mw, wt.pue, wt.power_usd_per_kwh.value) == (20.0, 1.06, 0.035)
    assert wt.uptime.value == pytest.approx(0.92) and wt.uptime.detail == "1 - curtailment 0.08"
    assert wt.asics[0].hashrate_hps.kind == "nameplate"
    assert wt.gpus[0].watts.kind == "declared" and wt.gpus[0].tokens_per_second.kind == "estimated"


def test_west_texas_best_split_by_hand(sites, market):
    plan = plan_site(sites["West Texas"], market)
    best = plan.best
    # Rank by profit per facility MW: H100s (8B tokens) far ahead, then S21 XP, then S19 XP.
    assert [i.label.split(" × ")[1] for i in best.items] == ["H100 SXM (8b tokens)", "Antminer S21 XP",
                                                             "Antminer S19 XP"]
    h100, s21, s19 = best.items
    # Facility watts per unit: 1,275 × 1.06 = 1,351.5; 3,645 × 1.06 = 3,863.7; 3,010 × 1.06 = 3,190.6.
    # 20 MW - 1,024 × 1,351.5 - 4,000 × 3,863.7 = 3,161,264 W left -> floor(3,161,264 / 3,190.6) = 990 S19 XP.
    assert (h100.units, s21.units, s19.units) == (1024, 4000, 990)
    assert s19.reason == "power cap reached" and h100.reason == s21.reason == ""
    # S21 XP a unit: 270e12 × PH_DAY_BTC × $91,000 × 0.98 × 0.92 = $9.26731; 3.8637 kW × 24 h × 0.92 × $0.035
    # = $2.98587; × 4,000 units
    s21_unit = 270e12 * PH_DAY_BTC * 91_000 * 0.98 * 0.92 - 3863.7 * 24 * 0.92 / 1000 * 0.035
    assert cents(s21.profit_usd_per_day) == cents(4000 * s21_unit) == 25125.78
    # H100: 5,800 tok/s × 86,400 × 0.6 × $0.125 / 1e6 × 0.92 = $34.577; 1.3515 kW × 24 h × 0.92 × $0.035
    assert cents(h100.profit_usd_per_day) == 34337.63
    assert cents(s19.profit_usd_per_day) == 2316.18
    assert cents(best.profit_usd_per_day) == 61779.60
    assert cents(best.revenue_usd_per_day) == 77233.61
    assert best.energy_mwh_per_day == pytest.approx(441.5432544)
    assert cents(best.profit_usd_per_mwh) == 139.92  # 61,779.60 / 441.543 MWh
    assert best.peak_mw <= 20.0 and best.mw_of("ai") == pytest.approx(1.383936)


def test_west_texas_mining_only_and_ai_only(sites, market):
    plan = plan_site(sites["West Texas"], market)
    # Mining alone: 20 MW - 15,454,800 W = 4,545,200 W -> floor(4,545,200 / 3,190.6) = 1,424 S19 XP
    assert _item(plan.mining, "S19 XP").units == 1424
    assert plan.mining.mw_of("ai") == 0
    assert [i.units for i in plan.ai.items] == [1024]  # AI alone is capped by its GPU count, not the power
    assert cents(plan.ai.profit_usd_per_day) == 34337.63
    assert plan.best.profit_usd_per_day > max(plan.mining.profit_usd_per_day, plan.ai.profit_usd_per_day)


def test_quebec_leaves_the_losing_fleet_off(sites, market):
    plan = plan_site(sites["Quebec hydro"], market)
    s19 = _item(plan.best, "Antminer S19")
    # S19 a unit: 95e12 × PH_DAY_BTC × $91,000 × 0.98 = $3.544 a day; 3.25 kW × 1.15 × 24 h × $0.05 = $4.485
    assert s19.units == 0 and s19.reason == "loses money at this power price"
    assert s19.profit_usd_per_day == 0.0
    assert s19.profit_usd_per_mw_day == pytest.approx((3.5442623589 - 4.485) / (3250 * 1.15 / 1e6))
    assert all(i.units == i.available for i in plan.best.items if i is not s19)
    assert any("unused" in n for n in plan.notes)
    h200 = _item(plan.best, "H200")
    # 512 × $3.50 × 24 h × 0.7 = $30,105.60 revenue; 512 × 1.275 kW × 1.15 × 24 h × $0.05 = $900.86 power
    assert cents(h200.revenue_usd_per_day) == 30105.60
    assert cents(h200.power_cost_usd_per_day) == 900.86


def _brute_force(opts, cap_w: float) -> float:
    """The best profit of every whole-unit mix within the cap, by enumeration."""
    best = 0.0
    for counts in product(*(range(o.count + 1) for o in opts)):
        if sum(c * o.unit_peak_facility_w for c, o in zip(counts, opts, strict=True)) <= cap_w:
            best = max(best, sum(c * o.unit_profit_usd_per_day for c, o in zip(counts, opts, strict=True)))
    return best


def test_allocation_is_optimal_against_brute_force(sites, market):
    site = sites["Quebec hydro"]
    opts = options(site, market)
    small = [replace(o, count=3) for o in opts]
    cap = 3 * small[0].unit_peak_facility_w + 2 * small[2].unit_peak_facility_w + 1
    assert allocate(small, cap, "t").profit_usd_per_day == pytest.approx(_brute_force(small, cap))


def test_a_cap_of_a_few_machines_takes_the_best_whole_units():
    """7.5 kW, $0.05/kWh, PUE 1, no pool fee, the packaged market ($38.0694/PH/s/day):
    S21 XP Hyd: 0.473 PH/s × $38.0694 = $18.0068 - 5.676 kW × 24 h × $0.05 = $6.8112 -> $11.1956 a day (1,972/MW)
    S21 XP:     0.270 PH/s × $38.0694 = $10.2787 - 3.645 kW × 24 h × $0.05 = $4.3740 -> $5.9047 a day (1,620/MW)
    Filling by rank runs one Hyd (5.676 kW; the 1.824 kW left fits nothing): $11.1956. Two S21 XP (7.29 kW) earn
    $11.8095, 5.5 % more: the cap is too small for the better machine to win by its efficiency alone."""
    text = ('[[site]]\nname = "pilot"\nmw = 0.0075\npower_usd_per_kwh = 0.05\n'
            '[[site.asic]]\nmodel = "S21 XP Hyd"\ncount = 5\n[[site.asic]]\nmodel = "S21 XP"\ncount = 5\n')
    (site,) = parse_sites(tomllib.loads(text), "pilot.toml", packaged_snapshot())
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    hyd, xp = plan.best.items
    assert (hyd.units, xp.units) == (0, 2)
    assert hyd.reason == "whole units: the power earns more on units ranked below"
    hashprice = 86_400 / (152e12 * 2**32) * 3.161 * 91_000 * 1e15
    assert cents(plan.best.profit_usd_per_day) == cents(2 * (0.27 * hashprice - 3.645 * 24 * 0.05)) == 11.81
    assert plan.best.search_gap_usd_per_day == 0


def test_a_site_where_nothing_pays_runs_nothing_and_says_why():
    """$0.50/kWh: an S19 earns 0.095 PH/s × $38.0694 = $3.62 a day and its 3.25 kW cost 3.25 × 24 × $0.50 = $39.00."""
    text = ('[[site]]\nname = "dear"\nmw = 1\npower_usd_per_kwh = 0.5\n'
            '[[site.asic]]\nmodel = "S19"\ncount = 100\n')
    (site,) = parse_sites(tomllib.loads(text), "dear.toml", packaged_snapshot())
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    (s19,) = plan.best.items
    assert s19.units == 0 and s19.reason == "loses money at this power price"
    assert s19.profit_usd_per_mw_day == pytest.approx((0.095 * 38.0694131 - 3.25 * 24 * 0.5) / 0.00325)
    assert plan.best.profit_usd_per_day == 0 and plan.best.profit_usd_per_mwh is None
    assert plan.notes == ("no fleet earns more than its power costs here: the best split runs nothing",)


def test_a_cap_smaller_than_any_unit_that_earns_says_so_not_that_nothing_pays():
    """A 1 kW cap (mw = 0.001: kW written as MW) beside S21 XPs that earn at $0.035/kWh: the split ran nothing with
    "power cap reached" on the fleet, then a note that no fleet earns more than its power costs."""
    text = ('[[site]]\nname = "tiny"\nmw = 0.001\npower_usd_per_kwh = 0.035\n'
            '[[site.asic]]\nmodel = "S21 XP"\ncount = 10\n[[site.asic]]\nmodel = "S19"\ncount = 1\n'
            '[[site.asic]]\nmodel = "S21"\ncount = 0\n')
    (site,) = parse_sites(tomllib.loads(text), "tiny.toml", packaged_snapshot())
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    assert plan.best.peak_mw == 0 and plan.best.items[0].reason == "power cap reached"
    # the smallest unit that earns (an S19 at 3.25 kW; the S21, of which there are none, is not counted)
    assert plan.notes == ("the cap of 1 kW at the meter holds no whole unit of a fleet that earns: the smallest "
                          "draws 3.25 kW at the meter (mw is the cap in MW)",)


def test_allocation_matches_brute_force_on_random_small_sites():
    """Caps of a few units and fleets of close efficiency, where a fill by rank is most often wrong."""
    rng = random.Random(7)
    for _ in range(300):
        opts = [Option(f"f{k}", "mining", rng.randint(0, 4), rng.uniform(1_000, 6_000), 0.0, 0.0, 0.0, 0.0)
                for k in range(rng.randint(1, 4))]
        opts = [replace(o, unit_revenue_usd_per_day=o.unit_peak_facility_w / 1000 * rng.uniform(0.5, 3.0),
                        unit_power_cost_usd_per_day=o.unit_peak_facility_w / 1000 * 1.2) for o in opts]
        cap = rng.uniform(500, 20_000)
        scenario = allocate(opts, cap, "t")
        assert scenario.peak_mw * 1e6 <= cap * (1 + 1e-9)
        assert scenario.profit_usd_per_day == pytest.approx(_brute_force(opts, cap), abs=1e-9)


def test_a_search_cut_short_says_how_far_from_the_best_it_may_be(monkeypatch):
    """Two fleets of one efficiency and a cap they cannot fill exactly: the bound never prunes, the search runs out."""
    monkeypatch.setattr(plan_module, "_SEARCH_STEPS", 10)
    opts = [Option("a", "mining", 1000, 3_000.0, 6.0, 3.0, 0.0, 0.0),
            Option("b", "mining", 1000, 7_000.0, 14.0, 7.0, 0.0, 0.0)]
    scenario = allocate(opts, 1_000_000.0 + 500, "t")
    # divisible: 1,000,500 W × $1 per kW-day = $1,000.50; whole units reach at most $1,000 (cap minus 500 W unused)
    assert 0 < scenario.search_gap_usd_per_day <= 1000.5 - scenario.profit_usd_per_day + 1e-9


def test_sensitivity_grid_is_consistent_and_monotone(sites, market):
    site = sites["West Texas"]
    btc, diff, power = (60_000, 91_000, 126_000), (126e12, 152e12), (0.035, 0.08)
    grid = sensitivity_grid(site, market, btc, diff, power)
    assert len(grid.cells) == 12
    centre = grid.at(0, 1, 1)
    assert cents(centre.profit_usd_per_day) == 61779.60  # the plan itself at the snapshot's figures
    assert cents(centre.hashprice_usd_per_ph_day) == 38.07
    profit = grid.matrix("profit_usd_per_day", 0)
    assert len(profit) == 2 and len(profit[0]) == 3
    assert profit[0][0] < profit[0][1] < profit[0][2]  # more BTC price, more profit
    assert profit[0][1] > profit[1][1]  # more difficulty, less profit
    assert grid.at(1, 1, 0).mining_mw < grid.at(0, 1, 0).mining_mw  # dear power at $60k switches miners off
    data = grid.to_json()
    assert data["btc_prices"] == list(btc) and len(data["matrices"]["profit_usd_per_day"]) == 2
    json.dumps(data)


def test_sensitivity_cell_off_the_centre_by_hand(sites, market):
    """West Texas at $60,000, 126 T and $0.08/kWh (PUE 1.06, 92 % uptime, 2 % pool fee), from first principles:
    hashprice = 86,400 / (126e12 × 2^32) × 3.161 BTC × $60,000 × 1e15 = $30.2802/PH/s/day
    S21 XP:  0.27 PH/s × 30.2802 × 0.98 × 0.92 = $7.3712 - 3.8637 kW × 24 h × 0.92 × $0.08 = $6.8248 -> +$0.5463
    S19 XP:  0.14 PH/s × 30.2802 × 0.98 × 0.92 = $3.8221 - 3.1906 kW × 24 h × 0.92 × $0.08 = $5.6357 -> loses
    H100:    5,800 × 86,400 × 0.6 × $0.125 / 1e6 × 0.92 = $34.5773 - 1.3515 kW × 24 h × 0.92 × $0.08 = $2.3873: $32.19
    All 1,024 H100s and 4,000 S21 XPs fit (16.84 MW); the S19 XPs stay off: 15.4548 MW of mining, 77 % of 20 MW.
    4,000 × $0.5463 + 1,024 × $32.1900 = $35,147.89 a day."""
    grid = sensitivity_grid(sites["West Texas"], market, (60_000,), (126e12,), (0.08,))
    cell = grid.at(0, 0, 0)
    hashprice = 86_400 / (126e12 * 2**32) * 3.161 * 60_000 * 1e15
    assert cell.hashprice_usd_per_ph_day == pytest.approx(30.2802, abs=1e-4)
    s21 = 0.27 * hashprice * 0.98 * 0.92 - 3.8637 * 24 * 0.92 * 0.08
    h100 = 5800 * 86_400 * 0.6 * 0.125 / 1e6 * 0.92 - 1.3515 * 24 * 0.92 * 0.08
    assert cents(cell.profit_usd_per_day) == cents(4000 * s21 + 1024 * h100) == 35_147.89
    assert cell.mining_mw == pytest.approx(4000 * 3863.7 / 1e6) and round(cell.mining_mw / 20 * 100) == 77
    assert cell.ai_mw == pytest.approx(1024 * 1351.5 / 1e6)


def test_default_axes_are_even_steps_centred_on_the_figure_across_its_range():
    """The packaged difficulty (152 T in a 126-156 T range) gave 126, 139, 152, 154, 156 T: halfway points to each end
    of a lopsided range, 13 T steps below and 2 T above. Now five even steps with the figure in the middle, the far
    end of the range setting the step (26 T / 2 = 13 T), so the near side reaches past the range."""
    snapshot = packaged_snapshot()
    assert axis_around(snapshot.get("difficulty")) == (126e12, 139e12, 152e12, 165e12, 178e12)
    assert axis_around(snapshot.get("btc_price_usd")) == (56_000, 73_500, 91_000, 108_500, 126_000)  # 35k / 2
    assert axis_around(snapshot.get("height")) == (646_400, 785_000, 923_500, 1_062_000, 1_201_000)  # no range: ±30 %
    for key in ("difficulty", "btc_price_usd", "power_usd_per_kwh", "h100_usd_per_gpu_hour"):
        fig = snapshot.get(key)
        axis = axis_around(fig)
        steps = [b - a for a, b in pairwise(axis)]
        assert len(axis) == 5 and axis[2] == fig.value, key
        assert max(steps) == pytest.approx(min(steps), rel=1e-3), (key, axis)
        assert axis[0] <= fig.low and axis[-1] >= fig.high, (key, axis)
    # A range reaching far above a small figure: the steps shrink so the lowest point stays a positive price
    wide = Figure(1.0, "USD", "2025", "published", "x", low=0.9, high=10.0)
    assert axis_around(wide) == (0.1, 0.55, 1.0, 1.45, 1.9)


def test_gpu_measured_from_a_run_file(tmp_path):
    write_json(tmp_path / "run.json", {"benchmarks": [], "probes": [
        {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
         "value": 6000.0, "unit": "tokens/s", "energy_j": 1.0, "joules_per_unit": 0.1, "power_source": "nvml"}]})
    site_file = tmp_path / "s.toml"
    site_file.write_text('[[site]]\nname = "lab"\nmw = 1\npower_usd_per_kwh = 0.1\n'
                         '[[site.gpu]]\nmodel = "H100 SXM"\ncount = 2\nfrom_run = "run.json"\nutilization = 1\n',
                         encoding="utf-8")
    (site,) = load_sites(site_file, packaged_snapshot())
    g = site.gpus[0]
    assert g.tokens_per_second.value == 6000 and g.tokens_per_second.kind == "measured"
    assert g.watts.value == pytest.approx(600) and g.watts.kind == "measured"
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    # 2 × 6,000 × 86,400 × $0.125 / 1e6 = $129.60; 2 × 0.6 kW × 24 h × $0.10 = $2.88
    assert cents(plan.best.profit_usd_per_day) == 126.72
    # a board meter's watts fill a cap that is the node's: said, as yield says it and as a catalog TDP is
    assert site.notes == ("H100 SXM: energy from nvml is the GPU board only: the node and the wall draw more; declare "
                          "watts per GPU for the whole node",)


def test_gpu_from_a_run_bills_unsold_hours_at_the_idle_power_it_measured(tmp_path):
    """The run's meter read 72 W idle before the decode window; the plan billed the unsold half day at 600 W.
    By hand, $0.10/kWh, utilization 0.5: revenue 2 × 6,000 × 86,400 × 0.5 × $0.125 / 1e6 = $64.80; power
    2 × (0.5 × 600 + 0.5 × 72) W = 672 W -> 16.128 kWh -> $1.6128; profit $63.19 (not $64.80 - $2.88 = $61.92)."""
    write_json(tmp_path / "run.json", {"benchmarks": [], "probes": [
        {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
         "value": 6000.0, "unit": "tokens/s", "energy_j": 1.0, "joules_per_unit": 0.1,
         "power_source": "nvml (gpu board)", "energy": {"source": "nvml", "layer": "gpu board", "idle_watts": 72.0}}]})
    site_file = tmp_path / "s.toml"
    site_file.write_text('[[site]]\nname = "lab"\nmw = 1\npower_usd_per_kwh = 0.1\n'
                         '[[site.gpu]]\nmodel = "H100 SXM"\ncount = 2\nfrom_run = "run.json"\nutilization = 0.5\n',
                         encoding="utf-8")
    (site,) = load_sites(site_file, packaged_snapshot())
    idle = site.gpus[0].idle_watts
    assert idle.value == 72.0 and idle.kind == "measured"
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    assert cents(plan.best.power_cost_usd_per_day) == 1.61
    assert cents(plan.best.profit_usd_per_day) == 63.19


def test_gpu_from_an_incomplete_run_says_so(tmp_path):
    """A plan built on a run that was stopped named the file as if the run were whole."""
    write_json(tmp_path / "run.json", {"complete": False, "benchmarks": [], "probes": [
        {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
         "value": 6000.0, "unit": "tokens/s", "joules_per_unit": 0.1, "power_source": "nvml"}]})
    site_file = tmp_path / "s.toml"
    site_file.write_text('[[site]]\nname = "lab"\nmw = 1\n[[site.gpu]]\nmodel = "H100 SXM"\ncount = 2\n'
                         'from_run = "run.json"\nutilization = 1\n', encoding="utf-8")
    (site,) = load_sites(site_file, packaged_snapshot())
    assert "(incomplete run)" in site.gpus[0].tokens_per_second.detail
    assert any("run.json, an incomplete run" in n for n in site.notes)


def _decode(preset: str, tokens_per_second: float, joules_per_token: float) -> dict:
    return {"probe": "llm-decode", "device": "cuda:0", "preset": preset, "dtype": "bf16", "batch": 32,
            "value": tokens_per_second, "unit": "tokens/s", "joules_per_unit": joules_per_token,
            "power_source": "nvml"}


@pytest.mark.parametrize("extra, tokens, revenue", [
    # the fastest preset of the fleet's class (8B by default), not llama-1b's 20,000 tokens/s at the 8B price:
    # 2 GPUs × 5,000 tok/s × 86,400 s × $0.125 / 1e6 = $108.00
    ("", 5_000, 108.00),
    # 2 × 1,000 × 86,400 × $0.65 (70B class) / 1e6 = $112.32
    ('model_class = "70b"\n', 1_000, 112.32),
    # a 70B preset named without a class is priced as 70B, not at the 8B default ($21.60)
    ('preset = "llama-70b"\n', 1_000, 112.32),
    # a 1B preset has no class price: a declared one. 2 × 20,000 × 86,400 × $0.03 / 1e6 = $103.68
    ('preset = "llama-1b"\nusd_per_mtok = 0.03\n', 20_000, 103.68),
])
def test_gpu_from_a_run_uses_the_model_its_price_is_for(tmp_path, extra, tokens, revenue):
    write_json(tmp_path / "run.json", {"benchmarks": [], "probes": [
        _decode("llama-1b", 20_000, 0.05), _decode("llama-8b", 5_000, 0.12), _decode("llama-70b", 1_000, 0.6)]})
    site_file = tmp_path / "s.toml"
    site_file.write_text('[[site]]\nname = "lab"\nmw = 1\npower_usd_per_kwh = 0.1\n[[site.gpu]]\n'
                         f'model = "H100 SXM"\ncount = 2\nfrom_run = "run.json"\nutilization = 1\n{extra}',
                         encoding="utf-8")
    (site,) = load_sites(site_file, packaged_snapshot())
    assert site.gpus[0].tokens_per_second.value == tokens
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    assert cents(plan.best.revenue_usd_per_day) == revenue


@pytest.mark.parametrize("extra, fragment", [
    ("", "'cpu-tiny' is neither an 8B- nor a 70B-class model"),
    ('model_class = "70b"\npreset = "llama-8b"\n', "has no llm-decode probe with preset 'llama-8b'"),
])
def test_gpu_from_a_run_without_a_priced_model_is_refused(tmp_path, extra, fragment):
    write_json(tmp_path / "run.json", {"benchmarks": [], "probes": [_decode("cpu-tiny", 1_739, 0.04)]})
    site_file = tmp_path / "s.toml"
    site_file.write_text('[[site]]\nname = "lab"\nmw = 1\n[[site.gpu]]\nmodel = "H100 SXM"\ncount = 1\n'
                         f'from_run = "run.json"\n{extra}', encoding="utf-8")
    with pytest.raises(InputError, match="site 'lab': gpu #1: ") as info:
        load_sites(site_file, packaged_snapshot())
    assert fragment in str(info.value) and "\n" not in str(info.value)


MINIMAL = '[[site]]\nname = "a"\nmw = 1\n[[site.asic]]\nmodel = "S21"\ncount = 1\n'


@pytest.mark.parametrize("text, fragment", [
    ("[[site]\nname=", "not valid TOML"),
    ("", "no sites"),
    ("title = 'x'\n" + MINIMAL, "unknown top-level key"),
    (MINIMAL.replace("mw = 1", "mw = -1"), "site 'a': mw must be > 0"),
    (MINIMAL.replace("mw = 1", "mw = 0"), "mw must be > 0"),
    (MINIMAL.replace("mw = 1\n", ""), "missing 'mw'"),
    (MINIMAL.replace('name = "a"\n', ""), "site #1: missing 'name'"),
    (MINIMAL.replace("mw = 1", "mw = 1\npue = 0.9"), "pue must be >= 1"),
    (MINIMAL.replace("mw = 1", "mw = 1\nuptime = 1.2"), "uptime must be between 0 and 1"),
    (MINIMAL.replace("mw = 1", "mw = 1\nuptime = 0.9\ncurtailment = 0.1"), "not both"),
    (MINIMAL.replace("mw = 1", "mw = 1\npower_usd_per_kwh = 0"), "power_usd_per_kwh must be > 0"),
    (MINIMAL.replace("mw = 1", "mw = 1\nmw_cap = 3"), "unknown key(s) mw_cap"),
    (MINIMAL.replace('"S21"', '"S99"'), "asic #1: unknown ASIC 'S99'"),
    (MINIMAL.replace("count = 1", "count = -2"), "count must be a whole number"),
    (MINIMAL.replace("count = 1", "count = 1.5"), "count must be a whole number"),
    (MINIMAL.replace("count = 1", "count = 1\nwatts = 0"), "watts must be > 0"),
    ('[[site]]\nname = "a"\nmw = 1\n', "no hardware"),
    (MINIMAL + MINIMAL, "site names must be unique"),
    ('[[site]]\nname = "a"\nmw = 1\n[[site.gpu]]\nmodel = "A100"\ncount = 1\n', "unknown GPU"),
    ('[[site]]\nname = "a"\nmw = 1\n[[site.gpu]]\nmodel = "L40S"\ncount = 1\n', "no throughput for L40S"),
    ('[[site]]\nname = "a"\nmw = 1\n[[site.gpu]]\nmodel = "L40S"\ncount = 1\npricing = "gpu-hour"\n',
     "no rental price for L40S"),
    ('[[site]]\nname = "a"\nmw = 1\n[[site.gpu]]\nmodel = "H100 SXM"\ncount = 1\nutilization = 3\n',
     "utilization must be between 0 and 1"),
    ('[[site]]\nname = "a"\nmw = 1\n[[site.gpu]]\nmodel = "H100 SXM"\ncount = 1\ngpu_hour_usd = 2\n'
     + 'usd_per_mtok = 0.1\n', "not both"),
    ('[[site]]\nname = "a"\nmw = 1\n[[site.gpu]]\nmodel = "H100 SXM"\ncount = 1\nusd_per_mtok = -1\n',
     "usd_per_mtok must be > 0"),
    ('[[site]]\nname = "a"\nmw = 1\nasic = "S21"\n', "[[site.asic]]"),
])
def test_malformed_site_files(tmp_path, text, fragment):
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_sites(path, packaged_snapshot())
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_site_file_is_one_line(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_bytes(b"name = \"\xff\xfe\"\n")  # not UTF-8
    with pytest.raises(InputError, match=r"^site file '.*sites\.toml' is not UTF-8 text \(byte 8 is 0xff\)$") as info:
        load_sites(path, packaged_snapshot())
    assert "\n" not in str(info.value)


def test_parse_sites_needs_a_table_per_site():
    with pytest.raises(InputError, match="expected a table"):
        parse_sites({"site": [1]}, "x.toml", packaged_snapshot())


# --- hashbench plan ---------------------------------------------------------------------------------------------

def test_plan_json_on_the_example():
    data = invoke_json("plan", str(EXAMPLE), "--btc-prices", "60k,$91k,$126k", "--difficulties", "126T,152T",
                       "--power-prices", "0.035")
    assert data["method"] == METHOD and "greedily" in METHOD and "linear" in METHOD
    assert [s["name"] for s in data["sites"]] == ["West Texas", "Quebec hydro"]
    wt = data["sites"][0]
    assert cents(wt["best"]["profit_usd_per_day"]) == 61779.60
    assert cents(wt["best"]["profit_usd_per_mwh"]) == 139.92
    for scenario in ("mining", "ai", "best"):
        assert {"revenue_usd_per_day", "profit_usd_per_day", "revenue_usd_per_mwh", "profit_usd_per_mwh",
                "mining_mw", "ai_mw"} <= set(wt[scenario])
    grid = wt["sensitivity"]
    assert grid["btc_prices"] == [60_000, 91_000, 126_000] and grid["difficulties"] == [126e12, 152e12]
    assert cents(grid["matrices"]["profit_usd_per_day"][0][1][1]) == 61779.60
    assert wt["inputs"]["market"]["btc_price_usd"]["source"] == "market snapshot 2025-11-18"


def test_the_default_grid_is_centred_on_the_figures_planned_with():
    """--btc-price 60k --difficulty 130T planned the sites at 60k and 130 T while the grid's axes stayed on the
    snapshot's 91k and 152 T: the case planned was no cell of its own grid. The axes keep the snapshot's ranges."""
    data = invoke_json("plan", str(EXAMPLE), "--btc-price", "60k", "--difficulty", "130T", "--power-prices", "0.035")
    wt = data["sites"][0]
    grid = wt["sensitivity"]
    # BTC 56k-126k: the far end sets the step, (126k - 60k) / 2 = 33k, capped at 45 % of 60k = 27k
    assert grid["btc_prices"] == [6_000, 33_000, 60_000, 87_000, 114_000]
    # difficulty 126-156 T: (156 - 130) / 2 = 13 T
    assert grid["difficulties"] == [104e12, 117e12, 130e12, 143e12, 156e12]
    assert grid["matrices"]["profit_usd_per_day"][0][2][2] == pytest.approx(wt["best"]["profit_usd_per_day"])


@pytest.mark.parametrize("args, message", [
    (("--difficulty", "152"), "--difficulty 152 is below 1 T: Bitcoin's has been above that since block 485,856 "
                              "(2017); write it with its prefix (152T for 152 trillion)"),
    (("--difficulties", "126T,15"), "--difficulties 15 is below 1 T: Bitcoin's has been above that since block "
                                    "485,856 (2017); write it with its prefix (15T for 15 trillion)"),
    (("--no-grid", "--btc-prices", "60k"), "--no-grid leaves out the grid that --btc-prices, --difficulties and "
                                           "--power-prices shape: give one or the other"),
])
def test_plan_refuses_a_difficulty_without_its_prefix_and_grid_axes_without_a_grid(args, message):
    """plan --difficulty 152 printed a hashprice of $38 trillion per PH/s a day; --no-grid dropped the axes given."""
    result = invoke("plan", str(EXAMPLE), *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"hashbench: error: {message}\n")


def test_the_middle_of_an_axis_is_the_figure_itself_not_rounded():
    """A fetched difficulty of 149,301,205,959,699 became 1.493e14 in the middle of the grid: its centre cell was no
    longer the plan. The other points stay rounded to four figures."""
    fig = Figure(149_301_205_959_699.0, "", "2026-12-01", "fetched", "x", low=126e12, high=156e12)
    axis = axis_around(fig)
    assert axis[2] == 149_301_205_959_699.0
    # step (149.3 - 126) / 2 = 11.65 T: 126.0, 137.65, 160.95, 172.60 T to four figures
    assert axis[:2] + axis[3:] == (1.26e14, 1.377e14, 1.61e14, 1.726e14)


def test_plan_console_on_the_example():
    result = invoke("plan", str(EXAMPLE), env={"COLUMNS": "200"})  # wide enough that no cell wraps
    assert result.exit_code == 0, result.stderr
    for text in ("market snapshot 2025-11-18", "West Texas", "Quebec hydro", "best split", "mining only",
                 "AI only", "power cap reached", "loses money", "method:", "nameplate", "estimated", "declared"):
        assert text in result.stdout, text


def test_plan_gives_each_fleet_the_breakeven_power_price_yield_gives(tmp_path):
    """`yield` printed the power price at which a machine stops paying; `plan` did not, for any fleet. Each fleet's,
    in the JSON and on screen, is the figure `hashbench yield` gives for one unit at the meter (IT watts × PUE).
    By hand, West Texas (PUE 1.06, 2 % pool fee): S21 XP 0.27 PH/s × $38.06941 × 0.98 = $10.07317 a day over
    3.8637 kW × 24 h = 92.7288 kWh: $0.108630/kWh. H100 (8B): 5,800 × 86,400 × 0.6 × $0.125 / 1e6 = $37.584 over
    1.3515 kW × 24 h = 32.436 kWh: $1.158713/kWh. Quebec's S19 (95 TH/s, 3,250 W × PUE 1.15): $3.54426 over
    89.7 kWh = $0.039512/kWh, under its $0.05: why the plan leaves it off."""
    data = invoke_json("plan", str(EXAMPLE), "--no-grid")
    wt, quebec = ({i["label"].split(" × ")[1]: i for i in s["best"]["items"]} for s in data["sites"])
    assert round(wt["Antminer S21 XP"]["breakeven_power_usd_per_kwh"], 6) == 0.108630
    assert round(wt["H100 SXM (8b tokens)"]["breakeven_power_usd_per_kwh"], 6) == 1.158713
    assert round(quebec["Antminer S19"]["breakeven_power_usd_per_kwh"], 6) == 0.039512
    # The very figure of `hashbench yield` for one unit, not a second formula that could drift from it
    mining = invoke_json("yield", "--asic", "Antminer S21 XP", "--watts", str(3645 * 1.06), "--pool-fee", "0.02",
                         "--uptime", "0.92", "--power-price", "0.035")["mining"]
    ai = invoke_json("yield", "--tokens-per-second", "5800", "--usd-per-mtok", "0.125", "--ai-watts",
                     str(1275 * 1.06), "--utilization", "0.6", "--power-price", "0.035")["ai"]
    assert wt["Antminer S21 XP"]["breakeven_power_usd_per_kwh"] == pytest.approx(
        mining["breakeven_power_usd_per_kwh"], rel=1e-12)
    assert wt["H100 SXM (8b tokens)"]["breakeven_power_usd_per_kwh"] == pytest.approx(
        ai["breakeven_power_usd_per_kwh"], rel=1e-12)
    # On screen, at 80 columns: every fleet's breakeven and how far the site's price is from it
    result = invoke("plan", str(EXAMPLE), "--no-grid", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    rows = {" ".join(line.split()) for line in result.stdout.splitlines()}
    for row in ("│ Antminer S21 XP │ mining │ $0.1086/kWh │ +$0.0736/kWh │",
                "│ H100 SXM (8b tokens) │ AI │ $1.1587/kWh │ +$1.1237/kWh │",
                "│ Antminer S19 │ mining │ $0.0395/kWh │ -$0.0105/kWh │"):
        assert row in rows, row


def test_plan_bad_input_is_one_line_exit_2(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text(MINIMAL.replace("mw = 1", "mw = -1"), encoding="utf-8")
    assert_one_line_error(invoke("plan", str(path)), "mw must be > 0")
    assert_one_line_error(invoke("plan", str(tmp_path / "none.toml")), "not found")
    assert_one_line_error(invoke("plan", str(EXAMPLE), "--btc-prices", "60k,-1"), "BTC price must be > 0")
    assert_one_line_error(invoke("plan", str(EXAMPLE), "--btc-price", "0"), "BTC price must be > 0")
    assert_one_line_error(invoke("plan", str(EXAMPLE), "--power-prices", "0.03,cheap"), "--power-prices: cannot read")


def test_plan_grid_power_prices_per_mwh_and_btc_price_with_a_prefix():
    """35/MWh is the site's own $0.035/kWh: the grid's cell at 91k, 152T is the plan itself, $61,779.60 a day."""
    data = invoke_json("plan", str(EXAMPLE), "--btc-price", "91k", "--btc-prices", "91k", "--difficulties", "152T",
                       "--power-prices", "35/MWh,$80/MWh")
    grid = data["sites"][0]["sensitivity"]
    assert grid["power_prices"] == pytest.approx([0.035, 0.08])
    assert cents(grid["matrices"]["profit_usd_per_day"][0][0][0]) == 61779.60
    assert data["market"]["btc_price_usd"]["value"] == 91_000


# --- site-file mistakes a planner makes in a 40-site portfolio -------------------------------------------------------

def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_text(tmp_path, text: str):
    return load_sites(_write(tmp_path, text), packaged_snapshot())


@pytest.mark.parametrize("text, fragments", [
    # Two sites called "a": the error named no site, so a planner searched 40 [[site]] tables for the twin.
    (MINIMAL + MINIMAL, ("site 'a'", "name", "sites #1 and #2")),
    # A wholesale tariff typed bare into the $/kWh key was read as $45/kWh: every fleet "lost money", exit 0.
    (MINIMAL.replace("mw = 1", "mw = 1\npower_usd_per_kwh = 45"),
     ("site 'a'", "power_usd_per_kwh", "$45/kWh", '"45/MWh"')),
    (MINIMAL.replace("mw = 1", 'mw = 1\npower_usd_per_kwh = "0.05 $/kWh-ish"'), ("site 'a'", "power_usd_per_kwh")),
    # A per-unit hashrate typed in H/s (200e12) into the TH/s key: 2e26 H/s a unit, a plan worth trillions, exit 0.
    (MINIMAL.replace("count = 1", "count = 1\nhashrate_ths = 200e12"),
     ("site 'a'", "asic #1", "hashrate_ths", "J/TH")),
    # Kilowatts typed into the watts key: 3.5 W for 200 TH/s, 0.0175 J/TH.
    (MINIMAL.replace("count = 1", "count = 1\nwatts = 3.5"), ("site 'a'", "asic #1", "watts", "J/TH")),
    # An H100's 0.7 kW typed bare into the watts key: planned at 0.7 W a GPU, a thousandth of its power bill, exit 0.
    (MINIMAL + '[[site.gpu]]\nmodel = "H100 SXM"\ncount = 8\nwatts = 0.7\n',
     ("site 'a'", "gpu #1", "watts = 0.7 W", "below 50 W", "written 700")),
    # The same for its idle draw: 0.07 kW typed bare billed unsold hours at 0.07 W.
    (MINIMAL + '[[site.gpu]]\nmodel = "H100 SXM"\ncount = 8\nwatts = 1000\nidle_watts = 0.07\n',
     ("site 'a'", "gpu #1", "idle_watts = 0.07 W", "below 5 W", "idle", "written 70")),
    # A missing count read "count must be a whole number >= 0, got None".
    (MINIMAL.replace("count = 1\n", ""), ("site 'a'", "asic #1", "missing 'count'")),
    # An unknown key named "site #1" although the site had a name.
    (MINIMAL.replace("mw = 1", "mw = 1\npower_usd_per_mwh = 45"), ("site 'a'", "power_usd_per_mwh")),
])
def test_site_file_mistakes_name_the_site_and_the_key(tmp_path, text, fragments):
    with pytest.raises(InputError) as info:
        _load_text(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_gpu_watts_floor_is_below_every_catalog_gpu_and_lets_real_figures_through(tmp_path):
    """The floor that refuses kW typed as W must never refuse a real GPU: every catalog board's power is above it,
    and the smallest plausible figures (an H100 PCIe capped at 300 W, an L4-sized 72 W) plan as declared."""
    from hashbench import catalog

    assert min(g.tdp_w for g in catalog.gpus()) > plan_module.MIN_GPU_WATTS
    for watts in (72, 300):
        site = _load_text(tmp_path, MINIMAL + f'[[site.gpu]]\nmodel = "H100 PCIe"\ncount = 1\npricing = "gpu-hour"\n'
                                    f'gpu_hour_usd = 2\nwatts = {watts}\n')[0]
        assert site.gpus[0].watts.value == watts and site.gpus[0].watts.kind == "declared"
    # A T4-sized card idling at 9 W is real and plans as declared.
    site = _load_text(tmp_path, MINIMAL + '[[site.gpu]]\nmodel = "H100 PCIe"\ncount = 1\npricing = "gpu-hour"\n'
                                'gpu_hour_usd = 2\nwatts = 70\nidle_watts = 9\n')[0]
    assert site.gpus[0].idle_watts.value == 9
    # A DGX node's per-GPU share in kW, through the command: one line naming the site and the key, exit 2
    path = _write(tmp_path, MINIMAL + '[[site.gpu]]\nmodel = "H100 SXM"\ncount = 8\nwatts = 1.275\n')
    assert_one_line_error(invoke("plan", str(path)), "site 'a'", "gpu #1", "watts = 1.275 W")


@pytest.mark.parametrize("written, usd_per_kwh", [("0.045", 0.045), ('"45/MWh"', 0.045), ('"$45/MWh"', 0.045),
                                                  ('"0.045/kWh"', 0.045), ('"1.2/kWh"', 1.2)])
def test_site_power_price_reads_the_units_the_flags_read(tmp_path, written, usd_per_kwh):
    """--power-price takes 55/MWh; the site file refused it ("must be a number"). A unit written out is intent:
    even $1.2/kWh (a diesel genset) stands when its unit says so."""
    site = _load_text(tmp_path, MINIMAL.replace("mw = 1", f"mw = 1\npower_usd_per_kwh = {written}"))[0]
    assert site.power_usd_per_kwh.value == pytest.approx(usd_per_kwh)
    assert site.power_usd_per_kwh.kind == "declared"


def test_plan_names_the_duplicate_site_on_one_line_exit_2(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text(MINIMAL + MINIMAL.replace('"a"', '"b"') + MINIMAL, encoding="utf-8")
    assert_one_line_error(invoke("plan", str(path)), "site 'a'", "sites #1 and #3")


# --- the portfolio: which site is best for what ------------------------------------------------------------------

def test_portfolio_ranks_sites_and_names_where_a_mw_earns_most_by_hand():
    """A planner with 40 sites had 40 separate reports and no line saying which site a megawatt of mining or of AI
    earns most at. By hand, on the example (packaged market: $91,000, 152 T, 3.161 BTC a block):
    Quebec: 256 H100 (70B) × ($97.929 - $1.7595) = $24,619.39; 512 H200 × ($58.80 - $1.7595) = $29,204.74;
    1,500 S21 XP Hyd × ($17.64670 - $7.83288) = $14,720.72 -> $68,544.85 a day over 12 MW = $5,712.07 per cap MW.
    West Texas: $61,779.60 over 20 MW = $3,088.98. Best mining fleet per MW-day: S21 XP in West Texas
    $6.28144 / 0.0038637 MW = $1,625.76 (Quebec's S21 XP Hyd: $9.81382 / 0.0065274 MW = $1,503.48); best AI:
    Quebec's H100 70B, $96.1695 / 0.00146625 MW = $65,588.75 (West Texas's H100 8B: $24,811.57)."""
    data = invoke_json("plan", str(EXAMPLE), "--no-grid")["portfolio"]
    assert [s["site"] for s in data["sites"]] == ["Quebec hydro", "West Texas"]
    quebec, texas = data["sites"]
    assert cents(quebec["profit_usd_per_day"]) == 68544.85
    assert cents(quebec["profit_usd_per_cap_mw_day"]) == 5712.07
    assert cents(texas["profit_usd_per_cap_mw_day"]) == 3088.98
    assert cents(quebec["best_mining"]["profit_usd_per_mw_day"]) == 1503.48
    assert data["best_for_mining"]["site"] == "West Texas"
    assert cents(data["best_for_mining"]["profit_usd_per_mw_day"]) == 1625.76
    assert "S21 XP" in data["best_for_mining"]["fleet"]
    assert data["best_for_ai"]["site"] == "Quebec hydro"
    assert cents(data["best_for_ai"]["profit_usd_per_mw_day"]) == 65588.75
    assert cents(data["totals"]["profit_usd_per_day"]) == cents(68544.85 + 61779.60)
    assert data["totals"]["cap_mw"] == 32.0


def test_plan_at_80_columns_cuts_no_name_or_figure(tmp_path):
    """At 80 columns the ranking printed 'Whatsmin…' for three different Whatsminer models and '(GPU-hou…'."""
    path = tmp_path / "sites.toml"
    path.write_text('[[site]]\nname = "Paraguay hydro 1"\nmw = 10\npower_usd_per_kwh = 0.03\n'
                    '[[site.asic]]\nmodel = "M60S"\ncount = 1000\n[[site.asic]]\nmodel = "M66S+"\ncount = 500\n'
                    '[[site.gpu]]\nmodel = "B200"\ncount = 64\npricing = "gpu-hour"\nwatts = 1800\nutilization = 0.6\n',
                    encoding="utf-8")
    result = invoke("plan", str(path), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    joined = "".join(result.stdout.split())  # folded cells read whole once the wrapping is taken out
    for text in ("WhatsminerM60S", "WhatsminerM66S+", "B200(GPU-hours)", "portfolio:1siteranked",
                 "aMWofminingearnsmostatParaguayhydro1", "aMWofAIearnsmostatParaguayhydro1"):
        assert text in joined.replace("│", "").replace("┃", ""), text


def test_gpu_from_a_run_measured_on_shared_cpus_says_so(tmp_path):
    """tokens/s measured while other work held the CPUs (a CPU-side decode, a busy host) may be below what the
    machine does alone: the plan names the measurement and why; a fleet that declares its own rate does not."""
    from hashbench.cpuload import CpuLoad

    load = CpuLoad(2, 4.0, 1.5, 0.0, 0.0).to_json()
    write_json(tmp_path / "run.json", {"benchmarks": [], "probes": [
        {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
         "value": 6000.0, "unit": "tokens/s", "joules_per_unit": 0.1, "power_source": "nvml",
         "energy": {"source": "nvml", "cpu_load": load}}]})
    fleet = '[[site]]\nname = "lab"\nmw = 1\n[[site.gpu]]\nmodel = "H100 SXM"\ncount = 2\nfrom_run = "run.json"\n'
    site_file = tmp_path / "s.toml"
    site_file.write_text(fleet, encoding="utf-8")
    (site,) = load_sites(site_file, packaged_snapshot())
    assert [n for n in site.notes if "CPUs shared" in n] == [
        f"H100 SXM: tokens/s from run.json, llm-decode llama-3.1-8b fp8 batch 64 on cuda:0: {load['note']}"]
    site_file.write_text(fleet + "tokens_per_second = 5000\nwatts = 700\n", encoding="utf-8")
    (declared,) = load_sites(site_file, packaged_snapshot())
    assert not any("CPUs shared" in n for n in declared.notes)
