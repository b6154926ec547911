"""hashbench.runfile: the measured figures `yield --from-run` and `plan` take out of a `hashbench run` result file,
in either layout (the plain one, figures on top; pytest-benchmark's, figures under extra_info), with the power behind
each figure, and the notes that say what a file lacks. Inputs are written by hand, key by key, so each spelling a
file may use is pinned; the files hashbench itself writes are read in test_results_schema.py."""

from __future__ import annotations

import json

import pytest

from hashbench.bench import BenchResult
from hashbench.energy import EnergyReading
from hashbench.errors import InputError
from hashbench.runfile import HashMeasurement, TokenMeasurement, load_run, parse_run

# Three 1 s samples of a bench: the median is 12 MH/s, the 42 M hashes over 3 s average 14 MH/s. 84 J over the
# window is 2 µJ per hash: 24 W at the median rate (the figure runfile reports), 28 W as the window's mean power.
SAMPLES = [1.0e7, 2.0e7, 1.2e7]
HASHES, SECONDS, JOULES = 42_000_000, 3.0, 84.0
RATE = 1.2e7


def hashing(entry: dict) -> HashMeasurement:
    run = parse_run({"benchmarks": [entry]}, "r.json")
    assert len(run.hashing) == 1, run
    return run.hashing[0]


def test_a_bench_result_is_read_with_the_power_at_its_median_hashrate():
    reading = EnergyReading("rapl", "cpu package", "energy counter", SECONDS, JOULES)
    entry = BenchResult("cython", "avx2", 4, SAMPLES, HASHES, SECONDS, energy=reading).to_json()
    h = hashing(entry)
    # the reading's object names the source (its label, with the layer, is beside it as power_source)
    assert (h.label, h.backend, h.hashrate_hps, h.power_source) == ("cython avx2 ×4", "cython", RATE, "rapl")
    assert h.watts == pytest.approx(24.0) and h.power_kind == "measured" and not h.verify_failed


@pytest.mark.parametrize("energy, watts", [
    ({"joules_per_unit": 2e-6}, 24.0),
    ({"joules_per_hash": 2e-6}, 24.0),  # the older name of J/hash
    ({"joules_per_unit": 2e-6, "joules_per_hash": 9.0}, 24.0),  # the newer name first
    ({"energy_j": JOULES, "hashes": HASHES, "seconds": SECONDS}, 24.0),  # J/hash from the hashes counted
    ({"joules_per_unit": None, "energy_j": JOULES, "hashes": HASHES}, 24.0),
    ({"joules_per_unit": 2e-6, "watts": 99.0}, 24.0),  # J/hash over a stated mean power
    ({"energy_j": JOULES, "seconds": SECONDS}, 28.0),  # no hash count: the window's mean power
    ({"energy_j": 0.5, "seconds": 0.25}, 2.0),  # a short window under a joule
    ({"energy": JOULES, "seconds": SECONDS}, 28.0),  # an older file's bare number under `energy`
    ({"watts": 30.0}, 30.0),
    ({"watts": 30.0, "energy_j": JOULES, "seconds": SECONDS}, 30.0),  # a stated power is not recomputed
    ({"joules_per_unit": -2e-6, "watts": 30.0}, 30.0),  # a negative J/hash is no figure
    ({"energy": {"joules": JOULES}, "hashes": HASHES}, 24.0),  # the reading's object, its own key names
    ({"energy": {"energy_j": JOULES}, "hashes": HASHES}, 24.0),
    ({"energy": {"joules": JOULES, "energy_j": 1.0}, "hashes": HASHES}, 24.0),
    ({"energy": {"joules": JOULES}, "seconds": SECONDS}, 28.0),
    ({"energy": {"watts": 30.0}}, 30.0),
    ({"energy": {"mean_watts": 30.0}}, 30.0),
    ({"energy": {"watts": 30.0, "mean_watts": 1.0}}, 30.0),
    ({"energy": {"watts": 30.0}, "watts": 1.0}, 30.0),  # the object over the flat key
    ({"energy_j": JOULES}, None),  # joules over no stated time or hashes: no power
    ({"energy_j": 0.0, "seconds": SECONDS}, None),
    ({"energy_j": -JOULES, "seconds": SECONDS}, None),
    ({"energy_j": JOULES, "seconds": 0.0}, None),
    ({"watts": 0.0}, None),
    ({"watts": -30.0}, None),
    ({"watts": True}, None),  # JSON true is not a number
    ({"watts": "30"}, None),
    ({}, None),
])
def test_the_power_behind_a_hashrate_from_whichever_energy_fields_the_file_has(energy, watts):
    h = hashing({"backend": "cython", "impl": "avx2", "threads": 1, "hashrate": RATE, **energy})
    assert h.watts == (pytest.approx(watts) if watts is not None else None)


@pytest.mark.parametrize("energy, source", [
    ({"power_source": "rapl (cpu package)"}, "rapl (cpu package)"),
    ({"power_source": None}, ""),
    ({}, ""),
    ({"energy": {"source": "nvml"}, "power_source": "flat"}, "nvml"),
    ({"energy": {"power_source": "ipmi"}}, "ipmi"),
    ({"energy": {"source": "nvml", "power_source": "ipmi"}}, "nvml"),
    ({"energy": {"joules": 1.0}}, ""),
])
def test_the_power_source_named_beside_a_hashrate(energy, source):
    assert hashing({"backend": "cython", "hashrate": RATE, **energy}).power_source == source


@pytest.mark.parametrize("fields, label", [
    ({"backend": "cython", "impl": "avx2", "threads": 16}, "cython avx2 ×16"),
    ({"backend": "cuda", "impl": "cuda"}, "cuda cuda"),
    ({"backend": "numba", "impl": "", "threads": 2}, "numba ×2"),
    ({"impl": "avx2", "threads": "4"}, "? avx2"),  # no backend named; a thread count that is not a number
])
def test_a_hashing_figure_is_labelled_by_backend_kernel_and_threads(fields, label):
    h = hashing({**fields, "hashrate": RATE})
    assert h.label == label and h.backend == fields.get("backend", "")


@pytest.mark.parametrize("rate", [None, 0, -1.0, True, "1e7", float("inf"), float("nan")])
def test_an_entry_without_a_positive_finite_hashrate_is_no_figure(rate):
    entry = {"backend": "cython", "impl": "avx2"} | ({"hashrate": rate} if rate is not None else {})
    run = parse_run({"benchmarks": [entry]}, "r.json")
    assert run.hashing == () and "r.json has no hashing benchmark with a hashrate" in run.notes


def test_slow_rates_are_figures_too():
    """A model too big for a CPU's memory bandwidth decodes at under a token a second: still a measurement."""
    run = parse_run({"benchmarks": [{"backend": "python", "hashrate": 0.5}], "probes": [decode(value=0.5)]}, "r")
    assert run.hashing[0].hashrate_hps == 0.5 and run.tokens[0].tokens_per_second == 0.5
    assert parse_run({"benchmarks": [{"backend": "python", "hashrate": 1}]}, "r").hashing[0].hashrate_hps == 1.0


def test_pytest_benchmark_layout_reads_figures_under_extra_info_and_the_entrys_own_fields_first():
    inner = {"backend": "cython", "impl": "avx2", "threads": 2, "hashrate": RATE, "energy_j": JOULES,
             "hashes": HASHES}
    h = hashing({"name": "sha256d[cython-avx2-x2]", "extra_info": inner})
    assert (h.label, h.hashrate_hps, h.watts) == ("cython avx2 ×2", RATE, pytest.approx(24.0))
    # an entry's own field over the same one in extra_info (pytest-benchmark's files carry extra_info, often empty)
    h = hashing({"backend": "numba", "hashrate": 2 * RATE, "extra_info": inner})
    assert (h.label, h.hashrate_hps, h.backend) == ("numba avx2 ×2", 2 * RATE, "numba")
    assert hashing({"backend": "cuda", "hashrate": RATE, "extra_info": {}}).label == "cuda"


@pytest.mark.parametrize("fields, kind", [
    ({}, "measured"),
    ({"power_source": "rapl (cpu package)"}, "measured"),
    ({"power_source": "declared 65 W"}, "declared"),  # older files name the source only
    ({"energy_provenance": "declared"}, "declared"),
    ({"energy_provenance": "measured", "power_source": "declared 65 W"}, "measured"),
    ({"energy_provenance": "declared", "energy": {"provenance": "measured"}}, "declared"),
    ({"energy": {"provenance": "declared"}}, "declared"),
    ({"energy_reading": {"provenance": "declared"}}, "declared"),  # pytest-benchmark's extra_info
    ({"energy": {"provenance": "measured"}, "energy_reading": {"provenance": "declared"}}, "measured"),
    ({"energy": {"provenance": None}, "energy_reading": {"provenance": "declared"}}, "declared"),
    ({"energy": 5.0, "energy_reading": {"provenance": "declared"}}, "declared"),
    ({"energy": {"provenance": "measured"}, "power_source": "declared 65 W"}, "measured"),
    ({"energy": {}, "power_source": "declared 65 W"}, "declared"),
    ({"energy_provenance": "other"}, "measured"),
])
def test_a_declared_wattage_is_never_called_measured(fields, kind):
    assert hashing({"backend": "cython", "hashrate": RATE, "watts": 65.0, **fields}).power_kind == kind
    decode = {"probe": "llm-decode", "unit": "tokens/s", "value": 50.0, "joules_per_unit": 1.0, **fields}
    assert parse_run({"probes": [decode]}, "r.json").tokens[0].power_kind == kind


def test_a_declared_wattage_is_the_power_at_any_rate():
    """65 W declared is 65 W: J/hash × the median rate (66 W here) would be a power nobody declared or measured."""
    declared = {"energy_j": 65.0 * SECONDS, "seconds": SECONDS, "watts": 65.0, "energy_provenance": "declared",
                "power_source": "declared 65 W"}
    h = hashing({"backend": "cython", "hashrate": RATE, "hashes": HASHES, "joules_per_unit": 65.0 * SECONDS / HASHES,
                 **declared})
    assert (h.watts, h.power_kind) == (65.0, "declared")
    measured = hashing({"backend": "cython", "hashrate": RATE, "hashes": HASHES, "joules_per_unit": 2e-6,
                        **declared, "energy_provenance": "measured"})
    assert h.watts != measured.watts == pytest.approx(24.0)  # a meter's J/hash keeps the run's own J/TH
    (t,) = tokens(decode(joules_per_unit=0.2, **declared))  # 0.2 J/token × 5000 tokens/s would be 1 kW
    assert (t.watts, t.joules_per_token, t.power_kind) == (pytest.approx(65.0), pytest.approx(0.013), "declared")
    (t,) = tokens(decode(joules_per_unit=0.2, **{**declared, "energy_provenance": "measured"}))
    assert t.joules_per_token == 0.2


def decode(**fields) -> dict:
    return {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
            "value": 5000.0, "unit": "tokens/s", **fields}


def tokens(*entries: dict) -> tuple[TokenMeasurement, ...]:
    return parse_run({"probes": list(entries)}, "r.json").tokens


def test_a_decode_probe_is_read_as_tokens_per_second_with_its_energy_per_token():
    (t,) = tokens(decode(joules_per_unit=0.12, power_source="nvml",
                         energy={"idle_watts": 60.0, "provenance": "measured"}))
    assert t == TokenMeasurement(probe="llm-decode", device="cuda:0", preset="llama-3.1-8b", dtype="fp8", batch=64,
                                 tokens_per_second=5000.0, joules_per_token=0.12, power_source="nvml",
                                 power_kind="measured", idle_watts=60.0)
    assert t.watts == pytest.approx(600.0) and t.label == "llm-decode llama-3.1-8b fp8 batch 64 on cuda:0"
    (t,) = tokens({"probe": "llm-prefill", "value": 80.0, "unit": "tokens/s", "preset": "", "dtype": "fp32"})
    assert (t.device, t.batch, t.joules_per_token, t.watts, t.power_source) == ("?", None, None, None, "")
    assert t.label == "llm-prefill fp32 on ?"  # no preset: no double space
    (t,) = tokens({"probe": "llm-decode", "value": 80.0, "unit": "tokens/s"})  # no preset or precision named
    assert (t.preset, t.dtype) == ("", "")
    assert t.label == "llm-decode on ?"  # neither: one space between each word still


@pytest.mark.parametrize("fields, joules_per_token", [
    ({"joules_per_unit": 0.12}, 0.12),
    ({"joules_per_unit": 0.12, "watts": 1.0}, 0.12),
    ({"watts": 600.0}, 0.12),  # the mean power over the rate, when the file has no J/token
    ({"energy": {"watts": 600.0}}, 0.12),
    ({"energy": {"mean_watts": 600.0}}, 0.12),
    ({"joules_per_unit": 0.0, "watts": 600.0}, None),
    ({"joules_per_unit": -0.12}, None),
    ({"watts": 0.0}, None),
    ({}, None),
])
def test_energy_per_token_from_the_file(fields, joules_per_token):
    (t,) = tokens(decode(**fields))
    assert t.joules_per_token == (pytest.approx(joules_per_token) if joules_per_token is not None else None)


@pytest.mark.parametrize("fields, idle", [
    ({"energy": {"idle_watts": 60.0}}, 60.0),
    ({"energy_reading": {"idle_watts": 60.0}}, 60.0),  # pytest-benchmark's extra_info
    ({"energy": {"idle_watts": 60.0}, "energy_reading": {"idle_watts": 1.0}}, 60.0),
    ({"energy": {"idle_watts": None}, "energy_reading": {"idle_watts": 0.5}}, 0.5),
    ({"energy": {"idle_watts": 0.0}}, None),  # no idle measured
    ({"energy": {"idle_watts": -1.0}}, None),
    ({"idle_watts": 60.0}, None),  # only the reading's own idle power counts
])
def test_idle_power_comes_with_a_measured_energy_per_token(fields, idle):
    (t,) = tokens(decode(joules_per_unit=0.12, **fields))
    assert t.idle_watts == idle
    (t,) = tokens(decode(**fields))  # no J/token: its idle power means nothing here
    assert t.idle_watts is None


@pytest.mark.parametrize("entry", [
    decode(unit="FLOP/s"), decode(probe="gemm"), decode(probe="membw", unit="B/s"), decode(value=0.0),
    decode(value=-5.0), decode(value=None), decode(value=True), {"unit": "tokens/s", "value": 50.0},
])
def test_only_llm_probes_in_tokens_per_second_with_a_positive_rate_are_token_figures(entry):
    assert tokens(entry) == ()


@pytest.mark.parametrize("batch, read", [(64, 64), (None, None), (True, None), ("64", None), (2.0, None)])
def test_a_batch_is_a_whole_number(batch, read):
    assert tokens(decode(batch=batch))[0].batch == read


def test_probes_are_read_from_either_list_and_never_taken_for_hashing():
    layout = {"name": "llm-prefill[cuda:0]", "extra_info": {"probe": "llm-prefill", "value": 5e4, "unit": "tokens/s",
                                                             "hashrate": 1.0}}
    run = parse_run({"benchmarks": [layout, {"backend": "cython", "hashrate": RATE}], "probes": [decode()]}, "r")
    assert [t.probe for t in run.tokens] == ["llm-prefill", "llm-decode"]
    assert [h.label for h in run.hashing] == ["cython"]


def test_best_figures_pick_the_fastest_that_fits():
    run = parse_run({"benchmarks": [
        {"backend": "cython", "impl": "avx2", "threads": 8, "hashrate": 3e7, "watts": 40.0},
        {"backend": "cuda", "impl": "cuda", "hashrate": 9e9},  # no energy
        {"backend": "numba", "impl": "numba", "threads": 8, "hashrate": 2e7, "watts": 30.0},
    ], "probes": [decode(value=5000.0, preset="a"), decode(value=7000.0, preset="b", dtype="bf16"),
                  decode(value=6000.0, preset="a", dtype="bf16"),
                  decode(probe="llm-prefill", value=9e4, preset="a", dtype="bf16"),
                  decode(probe="llm-prefill", value=8e4, preset="a", dtype="fp8"),
                  decode(probe="llm-prefill", value=7e4, preset="a", dtype="fp8"),
                  decode(probe="llm-prefill", value=9.9e4, preset="a", dtype="fp8", device="cuda:1")]}, "r")
    assert run.best_hashing(need_energy=False).label == "cuda cuda"
    assert run.best_hashing(need_energy=True).label == "cython avx2 ×8"
    best = run.best_tokens("llm-decode")
    assert (best.preset, best.tokens_per_second) == ("b", 7000.0)
    assert run.best_tokens("llm-decode", preset="a").tokens_per_second == 6000.0
    assert run.best_tokens("llm-prefill", preset="b") is None and run.best_tokens("gemm") is None
    # prefill beside a decode: same device, preset and precision, the fastest of those
    like = run.tokens[0]  # decode a fp8 on cuda:0
    assert run.matching("llm-prefill", like).tokens_per_second == 8e4
    assert run.matching("llm-prefill", run.best_tokens("llm-decode")) is None  # no prefill of preset b
    assert run.matching("llm-decode", like) == max(run.tokens[:1], key=lambda t: t.tokens_per_second)
    empty = parse_run({"benchmarks": []}, "r")
    assert empty.best_hashing(need_energy=False) is None and empty.best_tokens("llm-decode") is None


def test_a_backend_that_failed_verification_is_never_the_best_and_is_named():
    entries = [{"backend": "cuda", "impl": "cuda", "hashrate": 9e9, "watts": 300.0},
               {"backend": "cython", "impl": "avx2", "hashrate": 3e7, "watts": 40.0}]
    checks = [{"backend": "cuda", "impl": "cuda", "passed": False}, {"backend": "cython", "passed": True},
              {"backend": "numba"}, "not a check"]
    for key in ("verify", "checks"):  # pytest-benchmark layout, the schema's own JSON
        run = parse_run({"benchmarks": entries, key: checks}, "r.json")
        assert [h.verify_failed for h in run.hashing] == [True, False]
        assert run.best_hashing(need_energy=False).label == "cython avx2"
        assert run.best_hashing(need_energy=True).label == "cython avx2"
        assert run.notes[0] == ("r.json: cuda failed verification on real block headers (wrong nonces): its hashrate "
                                "is not used")
    # a file with both lists: `verify` is the run's own
    run = parse_run({"benchmarks": entries, "verify": checks[1:], "checks": checks}, "r.json")
    assert not any(h.verify_failed for h in run.hashing)
    # a failed check that names no backend disqualifies the figures that name none either
    unnamed = parse_run({"benchmarks": [{"hashrate": 9e9}, *entries], "verify": [{"passed": False}]}, "r")
    assert [h.verify_failed for h in unnamed.hashing] == [True, False, False]
    assert unnamed.best_hashing(need_energy=False).label == "cuda cuda"
    for checks in ({"backend": "cuda", "passed": False}, None):  # not a list: nothing known to have failed
        assert not parse_run({"benchmarks": entries, "verify": checks}, "r").hashing[0].verify_failed
    two = parse_run({"benchmarks": entries, "verify": [{"backend": "numba", "passed": False},
                                                       {"backend": "cuda", "passed": False}]}, "r")
    assert [n.split(" failed")[0] for n in two.notes[:2]] == ["r: cuda", "r: numba"]  # in order of name


def test_notes_say_what_the_file_lacks():
    full = {"benchmarks": [{"backend": "cython", "hashrate": RATE, "watts": 30.0}],
            "probes": [decode(joules_per_unit=0.1)]}
    assert parse_run(full, "r.json").notes == () and parse_run(full, "r.json").complete
    assert parse_run({**full, "complete": True}, "r.json").notes == ()
    assert parse_run({"benchmarks": []}, "r.json").notes == (
        "r.json has no hashing benchmark with a hashrate", "r.json has no tokens/s (no llm-decode probe)")
    no_energy = {"benchmarks": [{"backend": "cython", "hashrate": RATE}, {"backend": "numba", "hashrate": RATE}],
                 "probes": [decode(), decode(probe="llm-prefill", joules_per_unit=0.01)]}
    assert parse_run(no_energy, "r.json").notes == (
        "r.json has no energy for its hashing benchmarks (no meter was available, or the run predates energy "
        "metering)", "r.json has no energy for its llm-decode probes")
    some = {"benchmarks": [{"backend": "cython", "hashrate": RATE}, {"backend": "numba", "hashrate": RATE,
                                                                      "watts": 1.0}],
            "probes": [decode(), decode(joules_per_unit=0.1), decode(probe="llm-prefill")]}
    assert parse_run(some, "r.json").notes == ()  # energy for some of them is energy to value


def test_a_stopped_run_says_so_in_its_notes_and_its_label():
    run = parse_run({"benchmarks": [{"backend": "cython", "hashrate": RATE, "watts": 30.0}], "complete": False,
                     "probes": [decode(joules_per_unit=0.1)]}, "r.json")
    assert not run.complete and run.label == "r.json (incomplete run)"
    assert run.notes == ("r.json is an incomplete run (stopped before it finished): the benchmarks and probes it "
                         "never reached are missing, and its best hashrate may not be the machine's",)
    assert parse_run({"benchmarks": []}, "r.json").label == "r.json"  # older files, no field: written whole


@pytest.mark.parametrize("data, error", [
    ([], "r.json: not a hashbench run result (expected a JSON object)"),
    ({"benchmarks": {}}, "r.json: 'benchmarks' and 'probes' must be lists"),
    ({"benchmarks": [], "probes": "none"}, "r.json: 'benchmarks' and 'probes' must be lists"),
    ({"machine_info": {}}, "r.json: not a hashbench run result (no 'benchmarks' or 'probes')"),
])
def test_what_is_not_a_run_result_is_refused_naming_the_file(data, error):
    with pytest.raises(InputError) as info:
        parse_run(data, "r.json")
    assert str(info.value) == error


def test_a_probes_only_file_is_a_run_and_entries_that_are_not_objects_are_passed_over():
    run = parse_run({"probes": [decode(), "junk", 3]}, "r.json")
    assert len(run.tokens) == 1 and run.hashing == ()
    run = parse_run({"benchmarks": ["junk", {"backend": "cython", "hashrate": RATE}]}, "r.json")
    assert [h.label for h in run.hashing] == ["cython"] and run.tokens == ()


def test_load_run_reads_the_file_and_names_it(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"benchmarks": [{"backend": "cython", "hashrate": RATE}], "complete": False}))
    run = load_run(path)
    assert run.path == str(path) and run.hashing[0].hashrate_hps == RATE and not run.complete
    path.write_text("[1]")
    with pytest.raises(InputError, match=r"run\.json: not a hashbench run result \(expected a JSON object\)$"):
        load_run(path)
