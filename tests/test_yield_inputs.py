"""`hashbench yield`'s inputs as a user reads them: the source, kind and detail of every figure (flag, default,
catalog, market, run file), the messages for input it cannot value, and the 1 J/TH and 50 W/GPU floors on typed
figures. Written from the survivors of mutation testing yields.py (benchmarks/checks/mutation.py).

Every market figure comes from a market file of this module's own (`--market`), so the expected figures are worked
here by hand from numbers on this page, not from the packaged snapshot."""

from __future__ import annotations

import pytest
from click.testing import Result
from economics_helpers import invoke, invoke_json, write_json

from hashbench.errors import InputError
from hashbench.market import load_snapshot
from hashbench.yields import YieldRequest, compute_yield

PROFIT_NOTE = "profit counts power only: no hardware, hosting, staff or depreciation"
DAY = 86_400


@pytest.fixture
def market(tmp_path) -> str:
    """A snapshot of round numbers: height 1,050,000 pays 1.5625 BTC (the fifth subsidy era)."""
    return str(write_json(tmp_path / "market.json", {"date": "2026-02-01", "figures": {
        "height": 1_050_000, "btc_price_usd": 80_000, "difficulty": 1.2e14, "fees_btc_per_block": 0.02,
        "power_usd_per_kwh": 0.04, "usd_per_mtok_8b": 0.1, "usd_per_mtok_70b": 0.5, "h100_usd_per_gpu_hour": 2.0}}))


def assert_error(result: Result, message: str) -> None:
    """Exactly this message, on one line, exit 2, nothing on stdout."""
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"hashbench: error: {message}\n")


def _hashing(backend: str, hashrate: float, joules: float | None = None, source: str | None = None) -> dict:
    entry = {"backend": backend, "impl": "avx2", "threads": 16, "hashrate": hashrate, "seconds": 5.0,
             "hashes": hashrate * 5.0}
    if joules is not None:
        entry["energy_j"] = joules
    if source is not None:
        entry["power_source"] = source
    return entry


def _tokens(probe: str, tokens_per_second: float, joules_per_token: float | None = None, source: str | None = None,
            preset: str = "llama-3.1-8b", idle_watts: float | None = None) -> dict:
    entry = {"probe": probe, "device": "cuda:0", "preset": preset, "dtype": "fp8", "batch": 64,
             "value": tokens_per_second, "unit": "tokens/s", "joules_per_unit": joules_per_token}
    if source is not None:
        entry["power_source"] = source
    if idle_watts is not None:
        entry["energy"] = {"idle_watts": idle_watts}
    return entry


def _run(tmp_path, name: str, benchmarks: list, probes: list = (), **extra) -> str:
    return str(write_json(tmp_path / name, {"schema_version": 1, "kind": "hashbench-run", "benchmarks": benchmarks,
                                            "probes": list(probes), **extra}))


def _bare_meters_run(tmp_path) -> str:
    """An older file: bare meter names, a CUDA backend (the fastest) that metered no energy, cython 2e8 H/s at
    1,000 J over 1e9 hashes (1e-6 J/hash: 200 W, 1e6 J/TH); decode 5,000 tok/s at 0.12 J/token (600 W) beside
    prefill 50,000 tok/s at 0.01 J/token (500 W)."""
    return _run(tmp_path, "bare.json",
                [_hashing("cuda", 5e8), _hashing("cython", 2e8, 1000.0, "rapl")],
                [_tokens("llm-decode", 5000.0, 0.12, "nvml"), _tokens("llm-prefill", 50_000.0, 0.01, "nvml")])


def _unnamed_meter_run(tmp_path) -> str:
    """The same figures with no meter named, and the decode's idle power equal to its full-load 600 W."""
    return _run(tmp_path, "unnamed.json", [_hashing("cython", 2e8, 1000.0)],
                [_tokens("llm-decode", 5000.0, 0.12, idle_watts=600.0), _tokens("llm-prefill", 50_000.0, 0.01)])


def _blocks_per_day(hashrate: float, difficulty: float) -> float:
    return hashrate * DAY / (difficulty * 2**32)


# --- mining ---------------------------------------------------------------------------------------------------------

def test_catalog_and_market_mining_inputs_name_their_source(market):
    m = invoke_json("yield", "--asic", "S21 XP", "--market", market)["mining"]
    spec = "Antminer S21 XP: Bitmain spec sheet (S21 XP 270T)"
    assert m["inputs"]["hashrate_hps"] == {"value": 270e12, "source": "catalog nameplate", "kind": "nameplate",
                                           "detail": spec}
    assert m["inputs"]["watts"] == {"value": 3645.0, "source": "catalog nameplate", "kind": "nameplate",
                                    "detail": f"{spec} (at the wall)"}
    # The subsidy follows the snapshot's height: 1,050,000 is past the fourth halving.
    assert m["inputs"]["subsidy_btc"] == {"value": 1.5625, "source": "market snapshot 2026-02-01",
                                          "kind": "estimated", "detail": f"subsidy at height 1,050,000 (market file "
                                                                         f"{market})"}
    assert m["inputs"]["fees_btc_per_block"]["value"] == 0.02
    assert m["inputs"]["pool_fee"] == {"value": 0.0, "source": "default", "kind": "declared",
                                       "detail": "no pool fee assumed (FPPS pools typically charge a few percent)"}
    assert m["inputs"]["uptime"] == {"value": 1.0, "source": "default", "kind": "declared",
                                     "detail": "never curtailed"}
    assert m["market"] == f"market snapshot 2026-02-01 ({market})"
    assert m["notes"] == [PROFIT_NOTE]  # $0.04/kWh from the snapshot: no per-MWh warning
    # 270 TH/s × 86,400 s / (1.2e14 × 2^32) blocks × (1.5625 + 0.02) BTC × $80,000; 3.645 kW × 24 h × $0.04
    revenue = _blocks_per_day(270e12, 1.2e14) * 1.5825 * 80_000
    assert m["revenue_usd_per_day"] == pytest.approx(revenue, rel=1e-9)
    assert m["power_cost_usd_per_day"] == pytest.approx(3.4992, rel=1e-9)


def test_typed_mining_inputs_say_how_they_were_read(market):
    m = invoke_json("yield", "--hashrate", "270T", "--watts", "3645", "--network-hashrate", "1.1Z", "--height",
                    "840000", "--fees-btc", "0.05", "--btc-price", "91k", "--power-price", "1/kWh", "--market",
                    market)["mining"]
    assert m["inputs"]["difficulty"] == {"value": pytest.approx(1.1e21 * 600 / 2**32), "source": "flag",
                                         "kind": "declared",
                                         "detail": "from --network-hashrate 1.1e+21 H/s × 600 s / 2^32"}
    assert m["inputs"]["subsidy_btc"] == {"value": 3.125, "source": "flag", "kind": "declared",
                                          "detail": "subsidy at height 840,000"}
    assert m["inputs"]["fees_btc_per_block"] == {"value": 0.05, "source": "flag", "kind": "declared"}
    # 270e12 / 1.1e21 of the network finds that share of 144 blocks a day, each paying 3.125 + 0.05 BTC
    assert m["revenue_usd_per_day"] == pytest.approx(270e12 / 1.1e21 * 144 * 3.175 * 91_000, rel=1e-9)
    # $1/kWh written with its unit stands, and nothing second-guesses it
    assert m["inputs"]["power_usd_per_kwh"]["value"] == 1.0 and not any("MWh" in n for n in m["notes"])


@pytest.mark.parametrize("args, message", [
    (("--hashrate", "0", "--watts", "100"), "hashrate must be > 0, got 0"),
    (("--hashrate", "200T", "--watts", "0.5"),
     "200 TH/s at 0.5 W is 0.0025 J/TH, below 1 J/TH and any SHA-256 machine: --hashrate is H/s (270T for 270 TH/s), "
     "--watts is W (3.6k for 3.6 kW)"),
    # the other side: a hashrate typed without its prefix (200 for 200T), refused rather than valued at 1.75e13 J/TH
    (("--hashrate", "200", "--watts", "3500"),
     "200 H/s at 3500 W is 1.75e+13 J/TH, above 1e+10 J/TH and anything that hashes (a CPU in Python included): "
     "--hashrate is H/s (270T for 270 TH/s), --watts is W"),
    # a difficulty or network hashrate without its prefix valued a day at trillions of dollars
    (("--asic", "S21", "--difficulty", "152"),
     "--difficulty 152 is below 1 T: Bitcoin's has been above that since block 485,856 (2017); write it with its "
     "prefix (152T for 152 trillion)"),
    (("--asic", "S21", "--network-hashrate", "1.1"),
     "--network-hashrate 1.1 H/s is a difficulty of 1.54e-07, below 1 T: Bitcoin's has been above that since block "
     "485,856 (2017); --network-hashrate is H/s (1.1Z for 1.1 ZH/s)"),
    (("--btc-price", "90k"), "no hashrate: give --hashrate, --asic MODEL or a run file with a hashing benchmark"),
    (("--hashrate", "270T"), "mining needs the power drawn: give --watts (or --asic MODEL for nameplate figures)"),
    (("--asic", "S21", "--difficulty", "152T", "--network-hashrate", "1Z"),
     "give --difficulty or --network-hashrate, not both"),
    (("--asic", "S21", "--height", "1", "--subsidy", "3.125"), "give --height or --subsidy, not both"),
    ((), "nothing to value: give --hashrate/--asic for mining, --tokens-per-second/--gpu-hour-usd/--gpu for AI, or "
         "--from-run RESULT.json"),
])
def test_mining_input_it_cannot_value_is_one_exact_line(args, message):
    assert_error(invoke("yield", *args), message)


def test_measured_mining_figures_come_with_their_meter(tmp_path, market):
    """The fastest backend metered no energy: the one valued is the fastest that did, with its own meter's note.
    A measured pair is what it is: 0.1 J/TH from a run is valued, where the same figures typed are refused."""
    run = _bare_meters_run(tmp_path)
    m = invoke_json("yield", "--from-run", run, "--market", market)["mining"]
    assert m["inputs"]["hashrate_hps"]["value"] == 2e8
    assert m["inputs"]["watts"] == {"value": pytest.approx(200.0), "source": "measured (run file)",
                                    "kind": "measured", "detail": f"{run}: cython avx2 ×16: the run's 1e+06 J/TH × its "
                                                                  "hashrate, energy from rapl"}
    assert "energy from rapl is the CPU package and DRAM only: the node and the wall draw more" in m["notes"]
    unnamed = _unnamed_meter_run(tmp_path)
    watts = invoke_json("yield", "--from-run", unnamed, "--market", market)["mining"]["inputs"]["watts"]
    assert watts["detail"] == f"{unnamed}: cython avx2 ×16: the run's 1e+06 J/TH × its hashrate, energy from an " \
                              "unnamed meter"
    dense = _run(tmp_path, "dense.json", [_hashing("asic", 1e15, 500.0, "ipmi (node)")])  # 100 W at 1 PH/s
    assert invoke_json("yield", "--from-run", dense, "--market", market)["mining"]["joules_per_th"] == \
        pytest.approx(0.1)


# --- AI from flags and the catalog ----------------------------------------------------------------------------------

def test_catalog_gpu_figures_scale_with_the_gpu_count(market):
    ai = invoke_json("yield", "--gpu", "H100 SXM", "--gpus", "8", "--utilization", "0.25", "--market", market)["ai"]
    tokens = ai["inputs"]["tokens_per_second"]
    assert (tokens["value"], tokens["source"], tokens["kind"]) == (46_400.0, "published benchmark", "estimated")
    assert tokens["detail"].startswith("8 × 5800 tokens/s per H100 SXM, 8b class: ")
    assert ai["inputs"]["watts"] == {"value": 5600.0, "source": "catalog nameplate", "kind": "nameplate",
                                     "detail": "8 × H100 SXM TDP 700 W: NVIDIA H100 datasheet"}
    assert ai["inputs"]["usd_per_mtok"]["detail"].startswith("8b class (the default): ")
    assert ai["market"] == f"market snapshot 2026-02-01 ({market})"
    # 46,400 tok/s × 86,400 s × 0.25 × $0.10 / 1e6; 5.6 kW × 24 h (unsold hours at full load) × $0.04
    assert ai["revenue_usd_per_day"] == pytest.approx(100.224)
    assert ai["power_cost_usd_per_day"] == pytest.approx(5.376)
    assert "no idle power known: the unsold 75 % of the day is billed at full-load power (an upper bound on the " \
           "energy); pass --idle-watts" in ai["notes"]
    assert ai["notes"][-1] == PROFIT_NOTE
    big = invoke_json("yield", "--gpu", "H100 SXM", "--model-class", "70b", "--market", market)["ai"]
    assert big["inputs"]["tokens_per_second"]["value"] == 3487.5
    assert big["inputs"]["usd_per_mtok"]["value"] == 0.5
    assert big["inputs"]["usd_per_mtok"]["detail"].startswith("70b class (--model-class): ")


def test_utilization_default_and_idle_notes(market):
    ai = invoke_json("yield", "--gpu", "H100 SXM", "--market", market)["ai"]
    assert ai["inputs"]["utilization"] == {"value": 1.0, "source": "default", "kind": "declared",
                                           "detail": "every second sold: an upper bound"}
    assert ai["notes"] == ["watts are the H100 SXM's nameplate TDP (board power limit; a node adds CPUs fans and "
                           "NICs (DGX H100: 10.2 kW for 8 GPUs))",
                           "utilization not given: assumes every second is sold (an upper bound); pass --utilization",
                           PROFIT_NOTE]  # every second sold: no unsold hours to bill, no prefill to share
    idle = invoke_json("yield", "--gpu", "H100 SXM", "--utilization", "0.5", "--idle-watts", "70", "--market",
                       market)["ai"]
    assert not any("idle power" in n for n in idle["notes"])
    # 0.5 × 700 W + 0.5 × 70 W = 385 W -> 9.24 kWh a day
    assert idle["energy_kwh_per_day"] == pytest.approx(9.24)


def test_typed_prompt_tokens_and_time_shared_prefill(market):
    flat = ("--usd-per-mtok", "0.2", "--usd-per-mtok-input", "0.05", "--watts", "500", "--utilization", "1",
            "--market", market)
    ai = invoke_json("yield", "--tokens-per-second", "1000", "--input-tokens-per-second", "3000", *flat)["ai"]
    assert ai["inputs"]["input_tokens_per_second"] == {"value": 3000.0, "source": "flag", "kind": "declared"}
    assert ai["revenue_usd_per_day"] == pytest.approx((1000 * 0.2 + 3000 * 0.05) * DAY / 1e6)
    assert not any("prefill" in n for n in ai["notes"])
    # 1/1,000 + 4/10,000 s of machine time per output token: 714.29 output and 2,857.14 prompt tokens/s
    ai = invoke_json("yield", "--tokens-per-second", "1000", "--prefill-tokens-per-second", "10000",
                     "--input-per-output", "4", *flat)["ai"]
    how = "time-shared: decode 1000 tokens/s and prefill 10000 tokens/s, 4 prompt tokens per output token"
    out = 1 / (1 / 1000 + 4 / 10_000)
    assert ai["inputs"]["tokens_per_second"] == {"value": pytest.approx(out), "source": "flag", "kind": "declared",
                                                 "detail": how}
    assert ai["inputs"]["input_tokens_per_second"] == {"value": pytest.approx(4 * out), "source": "flag",
                                                       "kind": "declared", "detail": how}
    assert ai["revenue_usd_per_day"] == pytest.approx((out * 0.2 + 4 * out * 0.05) * DAY / 1e6)


@pytest.mark.parametrize("args, message", [
    (("--gpu", "H100 SXM", "--gpus", "0"), "--gpus must be a whole number >= 1, got 0"),
    (("--tokens-per-second", "1000"),
     "AI needs the power drawn: give --ai-watts/--watts, --gpu MODEL, or a run file with energy"),
    (("--utilization", "0.5"), "AI priced per token needs tokens/s: give --tokens-per-second, a run file with an "
                               "llm-decode probe, or --gpu with a published figure (H100 SXM 8b, H100 SXM 70b, H200 "
                               "70b)"),
    (("--tokens-per-second", "1000", "--watts", "500"), None),  # valued: the control for the two below
    (("--tokens-per-second", "1000", "--watts", "500", "--usd-per-mtok", "0.2", "--input-tokens-per-second", "3000"),
     "prompt tokens need their own price: give --usd-per-mtok-input"),
    (("--tokens-per-second", "1000", "--watts", "500", "--input-tokens-per-second", "3000", "--input-per-output", "4"),
     "give --input-tokens-per-second or --input-per-output, not both"),
    (("--tokens-per-second", "1000", "--watts", "500", "--input-per-output", "4"),
     "--input-per-output needs a decode and a prefill rate (a run file with llm-decode and llm-prefill probes, or "
     "--tokens-per-second with --prefill-tokens-per-second)"),
    (("--gpu-hour-usd", "2", "--watts", "700", "--prefill-tokens-per-second", "1000", "--input-per-output", "4"),
     "--input-per-output needs a decode and a prefill rate (a run file with llm-decode and llm-prefill probes, or "
     "--tokens-per-second with --prefill-tokens-per-second)"),
    (("--gpu", "H100 SXM", "--ai-watts", "0"), "watts must be > 0, got 0"),  # the economics' word, not the floor's
    (("--tokens-per-second", "5000", "--gpus", "2", "--watts", "50"),
     "--watts 50 is 25 W per GPU for 2 GPUs, below 50 W, less than any datacenter GPU draws at full load: --watts is W "
     "for the whole machine (50 kW is written 50k)"),
])
def test_ai_input_it_cannot_value_is_one_exact_line(args, message):
    result = invoke("yield", *args)
    if message is None:
        assert result.exit_code == 0, result.stderr
    else:
        assert_error(result, message)


def test_gpu_count_and_model_class_are_checked_for_library_callers():
    """The CLI's types keep these out; YieldRequest is a library's entry point too."""
    snapshot = load_snapshot(None)
    for gpus in (2.5, True):
        with pytest.raises(InputError, match=r"^--gpus must be a whole number >= 1, got "):
            compute_yield(YieldRequest(tokens_per_second=1000, watts=500, gpus=gpus), snapshot)
    with pytest.raises(InputError, match=r"^model class must be one of 8b, 70b, got '13b'$"):
        compute_yield(YieldRequest(gpu="H100 SXM", model_class="13b"), snapshot)
    with pytest.raises(InputError, match=r"^AI pricing must be 'tokens' or 'gpu-hour', got 'rental'$"):
        compute_yield(YieldRequest(gpu="H100 SXM", ai_pricing="rental"), snapshot)


# --- GPU-hour pricing -----------------------------------------------------------------------------------------------

def test_gpu_hour_pricing_inputs(market):
    ai = invoke_json("yield", "--gpu-hour-usd", "2.5", "--watts", "700", "--utilization", "1", "--market",
                     market)["ai"]
    assert ai["inputs"]["gpus"] == {"value": 1.0, "source": "default", "kind": "declared", "detail": "one GPU rented"}
    assert ai["revenue_usd_per_day"] == pytest.approx(2.5 * 24)
    # Rental by the snapshot's H100 price ($2.00): a tokens/s rate stays for J/token; prompt tokens earn nothing
    ai = invoke_json("yield", "--ai-pricing", "gpu-hour", "--gpu", "H100 SXM", "--tokens-per-second", "1000",
                     "--input-tokens-per-second", "3000", "--utilization", "1", "--market", market)["ai"]
    assert ai["inputs"]["gpu_hour_usd"] == {"value": 2.0, "source": "market snapshot 2026-02-01",
                                            "kind": "estimated", "detail": f"market file {market}"}
    assert "input_tokens_per_second" not in ai["inputs"]
    assert ai["revenue_usd_per_day"] == pytest.approx(48.0)
    assert ai["joules_per_token"] == pytest.approx(0.7)  # 700 W TDP / 1,000 tokens/s


@pytest.mark.parametrize("args, message", [
    (("--ai-pricing", "gpu-hour", "--watts", "700"),
     "GPU-hour pricing needs --gpu-hour-usd (the snapshot has rental prices for B200, H100 PCIe, H100 SXM, H200 via "
     "--gpu)"),
    (("--gpu-hour-usd", "2", "--watts", "700", "--usd-per-mtok", "0.1"),
     "price AI by $/Mtok or by $/GPU-hour, not both (--usd-per-mtok with GPU-hour pricing)"),
    (("--gpu-hour-usd", "2", "--watts", "700", "--usd-per-mtok-input", "0.1"),
     "price AI by $/Mtok or by $/GPU-hour, not both (--usd-per-mtok-input with GPU-hour pricing)"),
])
def test_gpu_hour_input_it_cannot_value_is_one_exact_line(args, message):
    assert_error(invoke("yield", *args), message)


# --- AI from a run file ---------------------------------------------------------------------------------------------

def test_measured_ai_figures_come_with_their_meter(tmp_path, market):
    run = _bare_meters_run(tmp_path)
    ai = invoke_json("yield", "--from-run", run, "--utilization", "0.5", "--market", market)["ai"]
    assert ai["inputs"]["watts"] == {"value": pytest.approx(600.0), "source": "measured (run file)",
                                     "kind": "measured", "detail": f"{run}: llm-decode llama-3.1-8b fp8 batch 64 on "
                                                                   "cuda:0: 0.12 J/token × tokens/s, energy from nvml"}
    assert ai["inputs"]["usd_per_mtok"]["detail"].startswith("8b class (from the run's preset 'llama-3.1-8b'): ")
    assert "energy from nvml is the GPU board only: the node and the wall draw more" in ai["notes"]
    assert "prefill rate known but not used: pass --input-per-output R to share the machine's time between prompt " \
           "and output tokens" in ai["notes"]
    rented = invoke_json("yield", "--from-run", run, "--gpu-hour-usd", "2", "--market", market)["ai"]
    assert not any("prefill" in n for n in rented["notes"])  # rental sells time, not prompt tokens

    unnamed = _unnamed_meter_run(tmp_path)
    ai = invoke_json("yield", "--from-run", unnamed, "--utilization", "0.5", "--market", market)["ai"]
    assert ai["inputs"]["watts"]["detail"].endswith("energy from an unnamed meter")
    # Idle equal to full load is still the meter's reading: used, and no note that idle power is unknown
    assert ai["inputs"]["idle_watts"] == {"value": 600.0, "source": "measured (run file)", "kind": "measured",
                                          "detail": f"{unnamed}: idle power the unnamed meter read before llm-decode "
                                                    "llama-3.1-8b fp8 batch 64 on cuda:0"}
    assert not any("idle power" in n for n in ai["notes"])
    assert ai["energy_kwh_per_day"] == pytest.approx(14.4)


def test_watts_typed_for_the_hashing_never_replace_the_ai_sections_own_power(tmp_path, market):
    """CPU hashing metered nothing and a GPU decode was measured at 600 W: the mining section asks for --watts, the
    power drawn while hashing. Given, it is the miner's; the decode keeps its measured 600 W (it once became 150 W,
    declared, and the AI revenue per kWh four times too high). The same with --hashrate beside --gpu: the GPU's TDP."""
    run = _run(tmp_path, "mixed.json", [_hashing("cython", 2e8)], [_tokens("llm-decode", 5000.0, 0.12, "nvml")])
    report = invoke_json("yield", "--from-run", run, "--watts", "150", "--market", market)
    assert report["mining"]["inputs"]["watts"] == {"value": 150.0, "source": "flag", "kind": "declared"}
    assert report["ai"]["inputs"]["watts"]["value"] == pytest.approx(600.0)
    assert report["ai"]["inputs"]["watts"]["source"] == "measured (run file)"
    both = invoke_json("yield", "--hashrate", "200T", "--watts", "3500", "--gpu", "H100 SXM", "--market", market)
    assert both["mining"]["inputs"]["watts"]["value"] == 3500.0
    assert both["ai"]["inputs"]["watts"] == {"value": 700.0, "source": "catalog nameplate", "kind": "nameplate",
                                             "detail": "1 × H100 SXM TDP 700 W: NVIDIA H100 datasheet"}
    # --ai-watts still names the AI power over both
    assert invoke_json("yield", "--from-run", run, "--watts", "150", "--ai-watts", "900", "--market",
                       market)["ai"]["inputs"]["watts"]["value"] == 900.0
    # With nothing of its own, the AI section shares --watts (one machine hashing or serving) ...
    shared = invoke_json("yield", "--hashrate", "200T", "--watts", "3500", "--tokens-per-second", "5000", "--market",
                         market)
    assert shared["ai"]["inputs"]["watts"] == {"value": 3500.0, "source": "flag", "kind": "declared"}
    # ... and where no mining is valued, --watts is the AI machine's, over a TDP or a run's meter
    assert invoke_json("yield", "--gpu", "H100 SXM", "--watts", "650", "--market",
                       market)["ai"]["inputs"]["watts"]["value"] == 650.0
    decode_only = _run(tmp_path, "decode.json", [], [_tokens("llm-decode", 5000.0, 0.12, "nvml")])
    assert invoke_json("yield", "--from-run", decode_only, "--watts", "800", "--market",
                       market)["ai"]["inputs"]["watts"] == {"value": 800.0, "source": "flag", "kind": "declared"}


def test_gpus_beside_a_runs_decode_scale_its_rates_and_power_from_one_gpu(tmp_path, market):
    """The run measured one GPU (cuda:0); --gpus 8 values a machine of eight. GPU-hour revenue counted 8 GPUs while
    the energy counted one: $/kWh eight times too high."""
    run = _run(tmp_path, "gpu.json", [], [_tokens("llm-decode", 5000.0, 0.12, "nvml", idle_watts=100.0),
                                          _tokens("llm-prefill", 50_000.0, 0.01, "nvml")])
    ai = invoke_json("yield", "--from-run", run, "--gpus", "8", "--utilization", "0.5", "--market", market)["ai"]
    assert ai["inputs"]["tokens_per_second"] == {
        "value": 40_000.0, "source": "measured (run file)", "kind": "measured",
        "detail": f"8 GPUs × one measured: {run}: llm-decode llama-3.1-8b fp8 batch 64 on cuda:0"}
    assert ai["inputs"]["watts"]["value"] == pytest.approx(4800.0)
    assert ai["inputs"]["watts"]["detail"].startswith(f"8 GPUs × one measured: {run}: llm-decode ")
    assert ai["inputs"]["idle_watts"]["value"] == pytest.approx(800.0)
    # 0.5 × 4.8 kW + 0.5 × 0.8 kW = 2.8 kW -> 67.2 kWh a day
    assert ai["energy_kwh_per_day"] == pytest.approx(67.2)
    rented = invoke_json("yield", "--from-run", run, "--gpus", "8", "--gpu-hour-usd", "2", "--utilization", "1",
                         "--market", market)["ai"]
    # 8 GPUs × $2 × 24 h = $384 on 8 × 600 W × 24 h = 115.2 kWh
    assert rented["revenue_usd_per_day"] == pytest.approx(384.0)
    assert rented["energy_kwh_per_day"] == pytest.approx(115.2)
    # time-shared prefill: both rates and both powers scale, so the shares and J/token stay one GPU's
    one = invoke_json("yield", "--from-run", run, "--input-per-output", "4", "--usd-per-mtok-input", "0.05",
                      "--market", market)["ai"]
    eight = invoke_json("yield", "--from-run", run, "--gpus", "8", "--input-per-output", "4", "--usd-per-mtok-input",
                        "0.05", "--market", market)["ai"]
    for key in ("tokens_per_second", "input_tokens_per_second", "watts"):
        assert eight["inputs"][key]["value"] == pytest.approx(8 * one["inputs"][key]["value"]), key
    assert eight["joules_per_token"] == pytest.approx(one["joules_per_token"])
    # a decode on the CPU has no GPUs to count
    cpu = _run(tmp_path, "cpu.json", [], [{**_tokens("llm-decode", 500.0, 0.1, "rapl"), "device": "cpu"}])
    assert_error(invoke("yield", "--from-run", cpu, "--gpus", "8", "--usd-per-mtok", "0.1", "--market", market),
                 "--gpus 8 counts GPUs, and the run's llm-decode llama-3.1-8b fp8 batch 64 on cpu ran on the CPU: "
                 "give --tokens-per-second and --ai-watts for the machine valued")


def test_time_sharing_a_runs_prefill_keeps_each_rate_with_its_own_energy(tmp_path, market):
    prices = ("--input-per-output", "4", "--usd-per-mtok-input", "0.05", "--utilization", "1", "--market", market)
    run = _bare_meters_run(tmp_path)
    ai = invoke_json("yield", "--from-run", run, *prices)["ai"]
    how = (f"time-shared: decode 5000 tokens/s ({run}: llm-decode llama-3.1-8b fp8 batch 64 on cuda:0) and prefill "
           f"50000 tokens/s ({run}: llm-prefill llama-3.1-8b fp8 batch 64 on cuda:0), 4 prompt tokens per output token")
    for key in ("tokens_per_second", "input_tokens_per_second"):
        assert {k: ai["inputs"][key][k] for k in ("source", "kind", "detail")} == \
            {"source": "measured (run file)", "kind": "measured", "detail": how}, key
    # decode holds 1/5,000 of every 1/5,000 + 4/50,000 s: 5/7 of the time at 600 W, 2/7 at 500 W
    assert ai["inputs"]["watts"] == {"value": pytest.approx(5 / 7 * 600 + 2 / 7 * 500), "source": "measured (run file)",
                                     "kind": "measured",
                                     "detail": "time-weighted mean of the decode and prefill probes' power (nvml)"}
    assert "energy from nvml is the GPU board only: the node and the wall draw more" in ai["notes"]
    unnamed = invoke_json("yield", "--from-run", _unnamed_meter_run(tmp_path), *prices)["ai"]
    assert unnamed["inputs"]["watts"]["detail"] == \
        "time-weighted mean of the decode and prefill probes' power (unnamed meter)"

    # A typed prefill rate beside a measured decode: an estimate, and the run's prefill power (measured at another
    # rate) is not paired with it; the decode's own 600 W stands.
    mixed = invoke_json("yield", "--from-run", run, "--prefill-tokens-per-second", "25000", *prices)["ai"]
    out = 1 / (1 / 5000 + 4 / 25_000)
    assert mixed["inputs"]["tokens_per_second"]["value"] == pytest.approx(out)
    assert mixed["inputs"]["tokens_per_second"]["kind"] == "estimated"
    assert mixed["inputs"]["input_tokens_per_second"]["source"] == "flag"
    assert mixed["inputs"]["watts"]["value"] == pytest.approx(600.0)
    # A typed decode rate is never time-shared with the run's prefill either
    assert_error(invoke("yield", "--from-run", run, "--tokens-per-second", "1000", "--watts", "500", *prices),
                 "--input-per-output needs a decode and a prefill rate (a run file with llm-decode and llm-prefill "
                 "probes, or --tokens-per-second with --prefill-tokens-per-second)")

    # Only one of the pair metered: the decode's power stands, or, without it, nothing to pair
    decode_metered = _run(tmp_path, "decode-metered.json", [],
                          [_tokens("llm-decode", 5000.0, 0.12, "nvml"), _tokens("llm-prefill", 50_000.0)])
    assert invoke_json("yield", "--from-run", decode_metered, *prices)["ai"]["inputs"]["watts"]["value"] == \
        pytest.approx(600.0)
    prefill_metered = _run(tmp_path, "prefill-metered.json", [],
                           [_tokens("llm-decode", 5000.0), _tokens("llm-prefill", 50_000.0, 0.01, "nvml")])
    assert_error(invoke("yield", "--from-run", prefill_metered, *prices),
                 f"{prefill_metered}: its llm-decode probe has no energy (give --watts W, --ai-watts W or --gpu MODEL)")
    assert_error(invoke("yield", "--from-run", prefill_metered),
                 f"nothing to value in {prefill_metered}: it has no hashing benchmark; its llm-decode probe has no "
                 "energy (give --watts W, --ai-watts W or --gpu MODEL)")


def test_a_run_values_the_sections_it_has_and_names_itself_in_what_it_cannot(tmp_path, market):
    hashing_only = _run(tmp_path, "hashing.json", [_hashing("cython", 2e8, 1000.0, "rapl")])
    report = invoke_json("yield", "--from-run", hashing_only, "--market", market)
    assert set(report) == {"mining", "notes"}
    assert not any("skipped" in n for n in report["notes"])  # a CPU run is not told it has no tokens
    assert_error(invoke("yield", "--from-run", hashing_only, "--utilization", "0.5"),
                 f"{hashing_only}: it has no tokens/s (no llm-decode probe): give --tokens-per-second, or "
                 "--gpu-hour-usd to price by rental")
    assert_error(invoke("yield", "--from-run", hashing_only, "--preset", "llama-70b"),
                 f"{hashing_only} has no llm-decode probe with preset 'llama-70b'")

    decode_only = _run(tmp_path, "decode.json", [], [_tokens("llm-decode", 5000.0, 0.12, "nvml")])
    assert set(invoke_json("yield", "--from-run", decode_only, "--market", market)) == {"ai", "notes"}

    failed = _run(tmp_path, "failed.json", [_hashing("cython", 2e8, 1000.0, "rapl")],
                  [_tokens("llm-decode", 5000.0, 0.12, "nvml")],
                  verify=[{"backend": "cython", "impl": "avx2", "headers": 4, "passed": False, "failures": ["x"]}])
    report = invoke_json("yield", "--from-run", failed, "--market", market)
    assert set(report) == {"ai", "notes"}
    assert f"mining section skipped: {failed}: every hashing backend in it failed verification (wrong nonces)" \
        in report["notes"]

    classes = _run(tmp_path, "classes.json", [], [_tokens("llm-decode", 20_000.0, 0.05, preset="llama-1b"),
                                                  _tokens("llm-decode", 5000.0, 0.12, preset="llama-8b")])
    assert_error(invoke("yield", "--from-run", classes, "--model-class", "70b"),
                 f"{classes} has no llm-decode probe of a 70b-class model (presets: llama-1b, llama-8b): name the "
                 "preset to value")
    assert_error(invoke("yield", "--from-run", classes, "--preset", "llama-1b"),
                 f"{classes}: its llm-decode preset 'llama-1b' is neither an 8B- nor a 70B-class model, the classes "
                 "the snapshot prices: give --usd-per-mtok")
    # A class declared for hashbench's own shape of known size: a 1B (or 2M-parameter) model's tokens sold at 8B
    # prices (cpu-tiny's valued a kWh of a CPU at $13, beside $0.000001 hashing). A checkpoint may be declared.
    tiny = _run(tmp_path, "tiny.json", [], [_tokens("llm-decode", 1900.0, 0.03, preset="cpu-tiny")])
    assert_error(invoke("yield", "--from-run", tiny, "--model-class", "8b"),
                 "--model-class 8b: the run's llm-decode cpu-tiny fp8 batch 64 on cuda:0 is hashbench's cpu-tiny "
                 "shape (2,098,432 parameters), not a 8b-class model, and its tokens do not sell at that class's "
                 "price: give --usd-per-mtok to price them yourself")
    checkpoint = _run(tmp_path, "ckpt.json", [], [_tokens("llm-decode", 1900.0, 0.03, preset="hf:my-model")])
    assert invoke_json("yield", "--from-run", checkpoint, "--model-class", "8b", "--market",
                       market)["ai"]["inputs"]["usd_per_mtok"]["value"] == 0.1


# --- a typed figure is used or refused, never dropped ---------------------------------------------------------------

def test_a_rental_price_beside_token_pricing_is_refused_not_dropped(market):
    """--ai-pricing tokens --gpu-hour-usd 2.5 valued the tokens at the snapshot's $/Mtok and said nothing of the $2.50
    the user typed; the other way round (--usd-per-mtok with GPU-hour pricing) was already refused."""
    assert_error(invoke("yield", "--ai-pricing", "tokens", "--gpu-hour-usd", "2.5", "--gpu", "H100 SXM"),
                 "price AI by $/Mtok or by $/GPU-hour, not both (--gpu-hour-usd with token pricing)")
    # Each alone still values: $2.50 × 24 h rented, or 5,800 tok/s × 86,400 s × $0.10 / 1e6 sold by the token
    rented = invoke_json("yield", "--gpu-hour-usd", "2.5", "--gpu", "H100 SXM", "--market", market)["ai"]
    assert rented["revenue_usd_per_day"] == pytest.approx(60.0)
    by_token = invoke_json("yield", "--ai-pricing", "tokens", "--gpu", "H100 SXM", "--market", market)["ai"]
    assert by_token["revenue_usd_per_day"] == pytest.approx(5800 * DAY * 0.1 / 1e6)


def test_a_preset_without_a_run_file_is_refused_not_dropped(market):
    """--preset picks a run file's llm-decode probe. Without --from-run it was ignored: `--gpu 'H100 SXM' --preset
    llama-3.1-70b` valued the H100's published 8B-class throughput at the 8B-class price, for a 70B model."""
    assert_error(invoke("yield", "--gpu", "H100 SXM", "--preset", "llama-3.1-70b"),
                 "--preset names an llm-decode probe of a run file: give --from-run RESULT.json, or --model-class "
                 "8b|70b for catalog and snapshot figures")
    big = invoke_json("yield", "--gpu", "H100 SXM", "--model-class", "70b", "--market", market)["ai"]
    assert big["inputs"]["tokens_per_second"]["value"] == 3487.5  # what the user meant, said the supported way


def test_typed_tokens_beside_a_run_and_a_preset_are_sold_at_the_presets_class(tmp_path, market):
    """--tokens-per-second replaces the run's decode rate, but --preset still names the model the tokens are sold
    for: a 70B model's tokens were priced at the default 8B class ($0.1 instead of $0.5 per Mtok here)."""
    run = _bare_meters_run(tmp_path)
    ai = invoke_json("yield", "--from-run", run, "--tokens-per-second", "1000", "--preset", "llama-3.1-70b",
                     "--ai-watts", "700", "--market", market)["ai"]
    assert ai["inputs"]["usd_per_mtok"]["value"] == 0.5
    assert ai["inputs"]["usd_per_mtok"]["detail"].startswith("70b class (from --preset 'llama-3.1-70b'): ")
    assert ai["revenue_usd_per_day"] == pytest.approx(1000 * DAY * 0.5 / 1e6)


def _shared(entry: dict, others: float = 1.3) -> dict:
    """The entry as measured while other work held the CPUs: its energy reading's cpu_load, as `run` records it."""
    from hashbench.cpuload import CpuLoad

    return {**entry, "energy_reading": {"cpu_load": CpuLoad(2, 5.0, others, 0.0, 0.1).to_json()}}


SHARED_NOTE = ("CPUs shared while it was measured: other work kept 1.3 of the 2 CPUs busy (means over its 5.00 s); "
               "the figure may be below what this machine does alone")


def test_a_figure_measured_on_shared_cpus_says_so_where_it_is_valued(tmp_path, market):
    """Revenue from a hashrate or a token rate measured while other work shared the CPUs is low for that reason:
    each section names the measurement it values and why it may be low. Only measurements it uses: the slower
    backend shared too, but it is not what is valued."""
    run = _run(tmp_path, "shared.json",
               [_shared(_hashing("cython", 2e8, 1000.0, "rapl")), _shared(_hashing("numba", 1e8, 1000.0, "rapl"))],
               [_shared(_tokens("llm-decode", 5000.0, 0.12, "nvml")), _tokens("llm-prefill", 50_000.0, 0.01, "nvml")])
    out = invoke_json("yield", "--from-run", run, "--market", market)
    mining = [n for n in out["mining"]["notes"] if "CPUs shared" in n]
    assert mining == [f"{run}: cython avx2 ×16: {SHARED_NOTE}"]  # once, though rate and watts both come from it
    assert [n for n in out["ai"]["notes"] if "CPUs shared" in n] == [
        f"{run}: llm-decode llama-3.1-8b fp8 batch 64 on cuda:0: {SHARED_NOTE}"]
    # typed figures use nothing of the run's: nothing to say
    typed = invoke_json("yield", "--from-run", run, "--market", market, "--hashrate", "1e8", "--watts", "100",
                        "--tokens-per-second", "100", "--ai-watts", "50")
    assert not any("CPUs shared" in n for section in ("mining", "ai") for n in typed[section]["notes"])
    # the prefill rate is used once prompt tokens are time-shared with it: its own window is named too
    both = _run(tmp_path, "both.json", [],
                [_tokens("llm-decode", 5000.0, 0.12, "nvml"), _shared(_tokens("llm-prefill", 50_000.0, 0.01, "nvml"))])
    ai = invoke_json("yield", "--from-run", both, "--market", market, "--input-per-output", "4",
                     "--usd-per-mtok-input", "0.05")["ai"]
    assert [n for n in ai["notes"] if "CPUs shared" in n] == [
        f"{both}: llm-prefill llama-3.1-8b fp8 batch 64 on cuda:0: {SHARED_NOTE}"]


def test_the_shared_cpu_note_follows_the_measurement_valued_with_or_without_typed_watts(tmp_path, market):
    """Without --watts the valuation takes the fastest hashing that metered energy; with --watts, the fastest of all.
    Only the one valued is named: here the fastest (no energy) was measured on shared CPUs, the metered one was not."""
    run = _run(tmp_path, "mixed.json", [_shared(_hashing("cuda", 5e8)), _hashing("cython", 2e8, 1000.0, "rapl")])
    metered = invoke_json("yield", "--from-run", run, "--market", market)["mining"]
    assert metered["inputs"]["hashrate_hps"]["value"] == 2e8
    assert not any(n.startswith(f"{run}: ") for n in metered["notes"])  # no measurement named at all
    typed = invoke_json("yield", "--from-run", run, "--market", market, "--watts", "300")["mining"]
    assert typed["inputs"]["hashrate_hps"]["value"] == 5e8
    assert [n for n in typed["notes"] if "CPUs shared" in n] == [f"{run}: cuda avx2 ×16: {SHARED_NOTE}"]
