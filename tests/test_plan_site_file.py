"""Reading a site file: each mistake's whole message (the site, the entry, the key, what was wrong), the limits a
real figure may sit exactly on, and where every figure a plan uses comes from when the file leaves it out."""

from __future__ import annotations

import json

import pytest
from economics_helpers import assert_one_line_error, invoke

from hashbench import catalog
from hashbench.errors import InputError
from hashbench.market import packaged_snapshot
from hashbench.plan import PlanMarket, load_sites, parse_sites, plan_site

SITE = '[[site]]\nname = "a"\nmw = 1\n'
ASIC = '[[site.asic]]\nmodel = "S21"\ncount = 1\n'
GPU = '[[site.gpu]]\nmodel = "H100 SXM"\ncount = 1\n'
GPU_KEYS = ("count, from_run, gpu_hour_usd, idle_watts, model, model_class, preset, pricing, tokens_per_second, "
            "usd_per_mtok, utilization, watts")
SITE_KEYS = "asic, curtailment, gpu, mw, name, pool_fee, power_usd_per_kwh, pue, uptime, utilization"
DECODE = {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
          "value": 6000.0, "unit": "tokens/s", "energy_j": 1.0, "joules_per_unit": 0.1}
LABEL = "llm-decode llama-3.1-8b fp8 batch 64 on cuda:0"  # how a run names that measurement


def _write(tmp_path, text: str):
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(tmp_path, *probes: dict, complete: bool = True) -> None:
    data = {"benchmarks": [], "probes": list(probes), **({} if complete else {"complete": False})}
    (tmp_path / "run.json").write_text(json.dumps(data), encoding="utf-8")


def _message(tmp_path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_sites(path, packaged_snapshot())
    message = str(info.value)
    prefix = f"{path}: "
    assert message.startswith(prefix) and "\n" not in message, message
    return message[len(prefix):]


@pytest.mark.parametrize("text, message", [
    # the site's own keys
    (SITE.replace("mw = 1", 'mw = "5"') + ASIC, "site 'a': mw must be a number, got '5'"),
    (SITE.replace("mw = 1", "mw = inf") + ASIC, "site 'a': mw must be a number, got inf"),
    (SITE.replace("mw = 1", "mw = true") + ASIC, "site 'a': mw must be a number, got True"),
    (SITE + 'pue = "x"\n' + ASIC, "site 'a': pue must be a number, got 'x'"),
    (SITE + 'curtailment = "x"\n' + ASIC,
     "site 'a': curtailment: cannot read 'x' as a fraction (0.8) or a percentage (80%)"),
    (SITE + 'utilization = "x"\n' + ASIC,
     "site 'a': utilization: cannot read 'x' as a fraction (0.8) or a percentage (80%)"),
    (SITE + 'pool_fee = "x"\n' + ASIC,
     "site 'a': pool_fee: cannot read 'x' as a fraction (0.8) or a percentage (80%)"),
    (SITE + "pool_fee = 1\n" + ASIC, "site 'a': pool_fee must be below 1"),
    (SITE + 'pool_fee = "100%"\n' + ASIC, "site 'a': pool_fee must be below 1"),
    (SITE + "utilization = 60\n" + ASIC,
     "site 'a': utilization must be between 0 and 1, got 60 (a percentage is written with %: 60%)"),
    (SITE + 'uptime = "101%"\n' + ASIC, "site 'a': uptime: '101%' is more than 100%"),
    (SITE + "uptime = 0.9\ncurtailment = 0.1\n" + ASIC, "site 'a': give uptime or curtailment, not both"),
    (SITE.replace('"a"', "5") + ASIC, "site #1: name must be non-empty text"),
    (SITE.replace('"a"', '"  "') + ASIC, "site #1: name must be non-empty text"),
    (SITE + "mw_cap = 3\npower = 1\n" + ASIC,
     f"site 'a': unknown key(s) mw_cap, power; allowed: {SITE_KEYS}"),
    (SITE, "site 'a': no hardware: add [[site.asic]] or [[site.gpu]] entries"),
    (SITE + 'gpu = "H100"\n' + ASIC, "site 'a': gpu entries must be written [[site.gpu]]"),
    (SITE + 'power_usd_per_kwh = "0/MWh"\n' + ASIC, "site 'a': power_usd_per_kwh must be > 0, got '0/MWh'"),
    (SITE + 'power_usd_per_kwh = "-5/MWh"\n' + ASIC, "site 'a': power_usd_per_kwh must be > 0, got '-5/MWh'"),
    (SITE + "power_usd_per_kwh = 1\n" + ASIC,
     "site 'a': power_usd_per_kwh: 1 reads as $1/kWh ($1,000/MWh); a price per MWh is written \"1/MWh\", and a "
     'price of $1/kWh or more with its unit ("1/kWh")'),
    (SITE + "power_usd_per_kwh = 1.5\n" + ASIC,
     "site 'a': power_usd_per_kwh: 1.5 reads as $1.5/kWh ($1,500/MWh); a price per MWh is written \"1.5/MWh\", and "
     'a price of $1/kWh or more with its unit ("1.5/kWh")'),
    # quoted, the same bare figure was read as $55/kWh: the rule is the flag's, for text and number alike
    (SITE + 'power_usd_per_kwh = "55"\n' + ASIC,
     "site 'a': power_usd_per_kwh: 55 reads as $55/kWh ($55,000/MWh); a price per MWh is written \"55/MWh\", and "
     'a price of $1/kWh or more with its unit ("55/kWh")'),
    (SITE + 'power_usd_per_kwh = "0,055"\n' + ASIC,
     "site 'a': power_usd_per_kwh: cannot read '0,055': a comma only separates thousands (3,500); write a decimal "
     "with a point (0.055, 1.5T)"),
    # the file around the sites
    ("title = 'x'\nowner = 'y'\n" + SITE + ASIC, "unknown top-level key(s) owner, title; sites are [[site]] tables"),
    ("site = []\n", "no sites: add one or more [[site]] tables"),
    ('[site]\nname = "a"\nmw = 1\n', "no sites: add one or more [[site]] tables"),
    ("site = [1]\n", "site #1: expected a table"),
    # an ASIC entry
    (SITE + ASIC + "hashrate = 200\n",
     "site 'a': asic #1: unknown key(s) hashrate; allowed: count, hashrate_ths, model, watts"),
    (SITE + ASIC + "hashrate_ths = -1\n", "site 'a': asic #1: hashrate_ths must be > 0, got -1"),
    (SITE + ASIC.replace("count = 1\n", ""), "site 'a': asic #1: missing 'count'"),
    (SITE + ASIC + "hashrate_ths = 200e12\n",
     "site 'a': asic #1: hashrate_ths give 1.75e-11 J/TH a unit, below 1 J/TH and any SHA-256 machine: hashrate_ths "
     "is TH/s per unit, watts is W per unit"),
    (SITE + ASIC + "watts = 3.5\n", "site 'a': asic #1: watts give 0.0175 J/TH a unit, below 1 J/TH and any SHA-256 "
     "machine: hashrate_ths is TH/s per unit, watts is W per unit"),
    (SITE + ASIC + "hashrate_ths = 200\nwatts = 100\n", "site 'a': asic #1: hashrate_ths and watts give 0.5 J/TH a "
     "unit, below 1 J/TH and any SHA-256 machine: hashrate_ths is TH/s per unit, watts is W per unit"),
    # H/s written as TH/s: 200e-12 TH/s at the S21's 3,500 W
    (SITE + ASIC + "hashrate_ths = 200e-12\n", "site 'a': asic #1: hashrate_ths give 1.75e+13 J/TH a unit, above "
     "1e+10 J/TH and anything that hashes: hashrate_ths is TH/s per unit, watts is W per unit"),
    # a GPU entry
    (SITE + GPU + "tdp = 700\n", f"site 'a': gpu #1: unknown key(s) tdp; allowed: {GPU_KEYS}"),
    (SITE + GPU.replace('model = "H100 SXM"\n', ""), "site 'a': gpu #1: missing 'model'"),
    (SITE + GPU.replace("count = 1", "count = -1"), "site 'a': gpu #1: count must be a whole number >= 0, got -1"),
    (SITE + GPU + "model_class = 5\n", "site 'a': gpu #1: model_class must be non-empty text"),
    (SITE + GPU + 'model_class = "13b"\n', "site 'a': gpu #1: model_class must be one of 8b, 70b, got '13b'"),
    (SITE + GPU + "pricing = 5\n", "site 'a': gpu #1: pricing must be non-empty text"),
    (SITE + GPU + 'pricing = "hourly"\n', "site 'a': gpu #1: pricing must be 'tokens' or 'gpu-hour', got 'hourly'"),
    (SITE + GPU + "gpu_hour_usd = -2\n", "site 'a': gpu #1: gpu_hour_usd must be > 0, got -2"),
    (SITE + GPU + "gpu_hour_usd = 2\nusd_per_mtok = 0.1\n",
     "site 'a': gpu #1: price by usd_per_mtok or by gpu_hour_usd, not both"),
    (SITE + GPU + 'from_run = ""\n', "site 'a': gpu #1: from_run must be non-empty text"),
    (SITE + GPU + 'preset = "llama-70b"\n', "site 'a': gpu #1: preset only applies with from_run"),
    (SITE + GPU + "tokens_per_second = -5\n", "site 'a': gpu #1: tokens_per_second must be > 0, got -5"),
    (SITE + GPU.replace("H100 SXM", "L40S"), "site 'a': gpu #1: no throughput for L40S at 8b: give "
     "tokens_per_second or from_run (published figures exist for H100 SXM 8b, H100 SXM 70b, H200 70b)"),
    (SITE + GPU + "watts = -1\n", "site 'a': gpu #1: watts must be > 0, got -1"),
    (SITE + GPU + "watts = 0.7\n", "site 'a': gpu #1: watts = 0.7 W per GPU is below 50 W, less than any datacenter "
     "GPU draws at full load: watts is W per GPU (0.7 kW is written 700)"),
    (SITE + GPU + "idle_watts = -1\n", "site 'a': gpu #1: idle_watts must be > 0, got -1"),
    (SITE + GPU + "idle_watts = 0.07\n", "site 'a': gpu #1: idle_watts = 0.07 W per GPU is below 5 W, less than "
     "any datacenter GPU draws idle: idle_watts is W per GPU (0.07 kW is written 70)"),
    (SITE + GPU + "watts = 700\nidle_watts = 800\n",
     "site 'a': gpu #1: idle_watts (800) exceed the full-load watts (700)"),
])
def test_each_site_file_mistake_is_one_whole_line(tmp_path, text, message):
    assert _message(tmp_path, text) == message


@pytest.mark.parametrize("extra, message", [
    ('from_run = "run.json"\npreset = 5\n', "site 'a': gpu #1: preset must be non-empty text"),
    ('from_run = "empty.json"\n', "site 'a': gpu #1: empty.json has no llm-decode probe"),
    ('from_run = "nope.json"\n', "site 'a': gpu #1: run file '{dir}/nope.json' not found"),  # no site said
    ('from_run = "bad.json"\n', "site 'a': gpu #1: run file '{dir}/bad.json' is not valid JSON: Expecting "
     "property name enclosed in double quotes at line 1"),
    ('from_run = "tiny.json"\n', "site 'a': gpu #1: preset 'cpu-tiny' is neither an 8B- nor a 70B-class model, the "
     "classes the market snapshot prices: give usd_per_mtok"),
    ('from_run = "tiny.json"\nmodel_class = "8b"\n', "site 'a': gpu #1: model_class 8b: llm-decode cpu-tiny fp8 "
     "batch 64 on cuda:0 is hashbench's cpu-tiny shape (2,098,432 parameters), not a 8b-class model, and its tokens do "
     "not sell at that class's price: give usd_per_mtok"),
])
def test_run_file_mistakes_name_the_site_and_entry_once(tmp_path, extra, message):
    """A preset that is not text was reported with its place twice ("site 'a': gpu #1: ...: site 'a': gpu #1:
    preset must be non-empty text"): the check ran inside the block that prefixes the run's own errors."""
    _run(tmp_path, DECODE)
    (tmp_path / "empty.json").write_text('{"benchmarks": [], "probes": []}', encoding="utf-8")
    (tmp_path / "tiny.json").write_text(json.dumps({"benchmarks": [], "probes": [{**DECODE, "preset": "cpu-tiny"}]}),
                                        encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert _message(tmp_path, SITE + GPU + extra) == message.format(dir=tmp_path)


def test_a_site_file_that_is_not_toml_names_the_file(tmp_path):
    path = _write(tmp_path, "[[site]\nname=")
    with pytest.raises(InputError) as info:
        load_sites(path, packaged_snapshot())
    assert str(info.value).startswith(f"site file {str(path)!r} is not valid TOML: ")


def test_parse_sites_names_the_file_and_site_of_a_table_that_is_not_one():
    with pytest.raises(InputError) as info:
        parse_sites({"site": [1]}, "x.toml", packaged_snapshot())
    assert str(info.value) == "x.toml: site #1: expected a table"


def test_a_bad_site_through_the_command_is_one_line_exit_2(tmp_path):
    for text in (SITE + GPU + "pricing = 5\n", SITE + ASIC + "hashrate = 200\n", SITE + 'pue = "x"\n' + ASIC):
        assert_one_line_error(invoke("plan", str(_write(tmp_path, text)), "--no-grid"), "site 'a': ")


def test_figures_exactly_on_a_limit_are_accepted(tmp_path):
    """No pool fee, an empty fleet, PUE 1, 1 J/TH, a 50 W GPU idling at its full-load draw, a site that never runs:
    each sits on the edge of what the checks refuse, and each is a real figure."""
    text = (SITE + "pool_fee = 0\npue = 1\nuptime = 0\n" + ASIC.replace("count = 1", "count = 0")
            + ASIC + "hashrate_ths = 100\nwatts = 100\n"
            + GPU + "watts = 50\nidle_watts = 50\nutilization = 0.5\n")
    (site,) = load_sites(_write(tmp_path, text), packaged_snapshot())
    assert (site.pool_fee.value, site.pue, site.uptime.value) == (0.0, 1.0, 0.0)
    assert [a.count for a in site.asics] == [0, 1]
    assert site.asics[1].hashrate_hps.value == 100e12 and site.asics[1].watts.value == 100
    assert site.gpus[0].watts.value == 50 and site.gpus[0].idle_watts.value == 50


# --- where each figure comes from -----------------------------------------------------------------------------------

def test_a_gpu_given_only_its_model_plans_on_the_catalog_and_says_so(tmp_path):
    """An H100 SXM with neither watts, throughput, price nor utilization: the board's 700 W TDP, the published 8B
    figure (5,800 tok/s), the snapshot's $0.125/Mtok, every second sold, at the snapshot's $0.055/kWh:
    5,800 × 86,400 × $0.125 / 1e6 = $62.64 a day against 0.7 kW × 24 h × $0.055 = $0.924: $61.716."""
    (site,) = load_sites(_write(tmp_path, SITE + GPU), packaged_snapshot())
    (g,) = site.gpus
    gpu = catalog.find_gpu("H100 SXM")
    ref = catalog.reference_throughput("H100 SXM", "8b")
    assert (g.watts.value, g.watts.source, g.watts.kind, g.watts.detail) == (
        700.0, "catalog nameplate", "nameplate", f"H100 SXM TDP: {gpu.source}")
    assert (g.tokens_per_second.value, g.tokens_per_second.source, g.tokens_per_second.kind,
            g.tokens_per_second.detail) == (5800.0, "published benchmark", "estimated", f"per GPU: {ref.source}")
    assert (g.utilization.value, g.utilization.source, g.utilization.kind, g.utilization.detail) == (
        1.0, "default", "declared", "every second sold: an upper bound")
    assert site.notes == (
        "H100 SXM: board TDP used as power; a node adds CPUs, fans and NICs: declare watts per GPU for the whole node",
        "H100 SXM: utilization not given, 1.0 assumed (every second sold: an upper bound)")
    plan = plan_site(site, PlanMarket.from_snapshot(packaged_snapshot()))
    assert plan.best.profit_usd_per_day == pytest.approx(62.64 - 0.924)


def test_only_a_curtailed_site_with_gpus_warns_that_ai_goes_dark_too(tmp_path):
    note = "curtailed hours switch AI off too; AI buyers usually want firm power"
    gpu = GPU + "watts = 700\nutilization = 1\n"
    for extra, hardware, expected in (("curtailment = 0.1\n", gpu, True), ("uptime = 1\n", gpu, False),
                                      ("", gpu, False), ("curtailment = 0.1\n", ASIC, False)):
        (site,) = load_sites(_write(tmp_path, SITE + extra + hardware), packaged_snapshot())
        assert (note in site.notes) is expected, (extra, hardware)


def test_a_gpu_measured_in_a_run_names_the_measurement(tmp_path):
    """tokens/s, full-load and idle watts from the run: each says which measurement, which meter, and whether the
    run finished. The meter read 600 W idle, the same as at full load (6,000 tok/s × 0.1 J): still the idle
    figure, the unsold hours billed at it."""
    _run(tmp_path, {**DECODE, "power_source": "nvml (gpu board)",
                    "energy": {"source": "nvml", "layer": "gpu board", "idle_watts": 600.0}})
    (site,) = load_sites(_write(tmp_path, SITE + GPU + 'from_run = "run.json"\nutilization = 1\n'),
                         packaged_snapshot())
    g = site.gpus[0]
    assert (g.tokens_per_second.value, g.tokens_per_second.source, g.tokens_per_second.detail) == (
        6000.0, "measured (run file)", f"per GPU: {LABEL}")
    assert (g.watts.value, g.watts.source, g.watts.kind) == (pytest.approx(600.0), "measured (run file)", "measured")
    assert g.watts.detail == f"per GPU: {LABEL} (nvml (gpu board))"
    assert (g.idle_watts.value, g.idle_watts.source, g.idle_watts.kind, g.idle_watts.detail) == (
        600.0, "measured (run file)", "measured", f"per GPU: idle before {LABEL} (nvml (gpu board))")


def test_a_gpu_from_an_incomplete_run_without_a_meter_name_says_both(tmp_path):
    _run(tmp_path, {**DECODE, "energy": {"idle_watts": 70.0}}, complete=False)
    (site,) = load_sites(_write(tmp_path, SITE + GPU + 'from_run = "run.json"\nutilization = 1\n'),
                         packaged_snapshot())
    g = site.gpus[0]
    assert g.tokens_per_second.detail == f"per GPU: {LABEL} (incomplete run)"
    assert g.watts.detail == f"per GPU: {LABEL} (unnamed meter)"
    assert g.idle_watts.detail == f"per GPU: idle before {LABEL} (unnamed meter)"


def test_a_run_preset_outside_the_priced_classes_names_the_fleet(tmp_path):
    """A 1B model sold at a declared $0.03/Mtok: the fleet is the llama-1b fleet, not an '8b' one."""
    _run(tmp_path, {**DECODE, "preset": "llama-1b", "value": 20_000.0})
    (site,) = load_sites(_write(tmp_path, SITE + GPU.replace("count = 1", "count = 2")
                                + 'from_run = "run.json"\npreset = "llama-1b"\nusd_per_mtok = 0.03\n'),
                         packaged_snapshot())
    assert site.gpus[0].model_class == "llama-1b" and site.gpus[0].label == "2 × H100 SXM (llama-1b tokens)"
