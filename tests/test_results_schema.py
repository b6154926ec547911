"""The one result schema and its files: lossless round trips, every layout read back, pytest-benchmark's own
statistics and its real `compare` CLI, and the older readers (runfile, yield) on the new file."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from results_helpers import HOST, OTHER_HOST, make_run, noisy, probe_records

from hashbench.errors import InputError
from hashbench.results.fingerprint import detect_fingerprint, from_pytest_machine_info
from hashbench.results.pbjson import load_result, parse_result, to_pytest_benchmark, write_result
from hashbench.results.schema import (
    SCHEMA_VERSION,
    Check,
    Energy,
    Measurement,
    RunResult,
    Skipped,
    measurement_from_bench,
    measurement_from_probe,
    measurements_of,
    probe_name,
    unit_noun,
    verification_summary,
)
from hashbench.results.stats import summarize
from hashbench.runfile import parse_run

REPO = Path(__file__).resolve().parents[1]


def test_schema_json_round_trip_is_lossless():
    run = make_run(probes=True)
    again = RunResult.from_json(json.loads(json.dumps(run.to_json())))
    assert again == run
    assert again.host.fingerprint == HOST.fingerprint and again.schema_version == SCHEMA_VERSION


def test_pytest_benchmark_file_round_trip_is_lossless(tmp_path):
    run = make_run(probes=True)
    path = tmp_path / "run.json"
    write_result(run, path)
    again = load_result(path)
    assert again.measurements == run.measurements
    assert again.host == run.host and again.run_id == run.run_id and again.complete


def test_every_measurement_carries_stats_unit_provenance_and_energy_source():
    run = make_run(probes=True)
    doc = run.to_json()
    for m in doc["measurements"]:
        assert {"samples", "value", "min", "max", "stddev", "unit", "provenance", "energy"} <= set(m)
    decode = next(m for m in run.measurements if m.params.get("probe") == "llm-decode")
    assert decode.energy_source == "nvml" and decode.joules_per_unit == 0.12 and decode.extra["roofline_fraction"]
    gemm = next(m for m in run.measurements if m.params.get("probe") == "gemm")
    assert gemm.energy is None and gemm.energy_source == "none"  # no joules: never invented


def test_host_fingerprint_ignores_hostname_and_software_but_not_the_cpu():
    moved = replace(HOST, hostname="elsewhere", python="3.12.1", packages={"numpy": "9"}, git_commit="b" * 40,
                    cpu_governor="powersave", turbo=False)
    assert moved.fingerprint == HOST.fingerprint
    assert HOST.fingerprint != OTHER_HOST.fingerprint
    assert any("cpu_model" in d for d in HOST.machine_differences(OTHER_HOST))
    conditions = HOST.condition_differences(moved)
    assert any("cpu_governor" in c for c in conditions) and any("turbo" in c for c in conditions)
    assert any("numpy" in c for c in conditions)


def test_detected_host_has_the_fields_the_issue_names():
    host = detect_fingerprint()
    data = host.to_json()
    for key in ("cpu_model", "cpu_flags", "logical_cpus", "gpus", "packages", "git_commit", "cpu_governor", "turbo",
                "fingerprint"):
        assert key in data
    assert host.cpu_model and host.logical_cpus >= 1 and "hashbench" in host.packages
    if (REPO / ".git").exists():  # run from the checkout (not an sdist): the commit is known
        assert host.git_commit and len(host.git_commit) == 40


def test_measurement_from_bench_keeps_energy_reading_and_operations():
    reading = {"source": "rapl", "layer": "cpu package", "method": "energy counter", "label": "rapl (cpu package)",
               "joules": 12.5, "window_s": 2.5, "watts": 5.0, "joules_net": 10.0}
    m = measurement_from_bench({"backend": "cython", "impl": "avx2", "threads": 2, "samples": [1e7, 1.1e7, 9e6],
                                "hashes": 30_000_000, "seconds": 3.0, "energy": reading})
    assert m.name == "sha256d[cython-avx2-x2]" and m.value == 1e7 and m.iterations == 10_000_000
    # 12.5 J over its 2.5 s window is 5 W; 3e7 hashes in 3 s is 1e7 H/s: 5e-7 J per hash
    assert m.energy == Energy("rapl (cpu package)", 12.5, 2.5, "measured", pytest.approx(5e-7), "cpu package", "hash")
    assert m.joules_per_unit == pytest.approx(5e-7)
    assert m.extra["energy_reading"]["joules_net"] == 10.0
    declared = measurement_from_bench({"backend": "python", "impl": "python", "threads": 1, "samples": [1e5],
                                       "hashes": 10_000, "seconds": 0.1, "energy_j": 6.5,
                                       "power_source": "declared 65 W"})
    assert declared.energy.provenance == "declared"


def test_pb_stats_match_pytest_benchmark_own_statistics():
    from pytest_benchmark.stats import Stats

    rng = random.Random(7)
    for n in (1, 2, 3, 4, 5, 6, 7, 9, 10, 13, 31):
        data = [rng.lognormvariate(0, 0.3) for _ in range(n)]
        theirs = Stats()
        for d in data:
            theirs.update(d)
        ours = summarize(data)
        for field in ("min", "max", "mean", "stddev", "median", "q1", "q3", "iqr", "ld15iqr", "hd15iqr",
                      "iqr_outliers", "stddev_outliers", "total"):
            assert getattr(ours, field) == pytest.approx(getattr(theirs, field)), (n, field)


def test_pb_file_layout_and_operation_definition():
    run = make_run(probes=True)
    doc = to_pytest_benchmark(run)
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(doc)
    assert doc["complete"] is True and doc["host"]["cpu_model"] == HOST.cpu_model
    assert doc["commit_info"]["id"] == HOST.git_commit
    bench = next(b for b in doc["benchmarks"] if b["name"] == "sha256d[cython-avx2-x1]")
    stats = bench["stats"]
    for key in ("min", "max", "mean", "stddev", "median", "iqr", "q1", "q3", "ops", "rounds", "iterations",
                "outliers", "data"):
        assert key in stats
    samples = bench["extra_info"]["samples"]
    # one operation = one nonce: seconds per operation are 1/H/s, ops = 1/mean
    assert stats["data"] == pytest.approx([1 / s for s in samples])
    assert stats["ops"] == pytest.approx(1 / stats["mean"])
    assert stats["rounds"] == len(samples) and stats["min"] == pytest.approx(1 / max(samples))
    info = bench["extra_info"]
    assert info["hashrate"] == bench["extra_info"]["value"] and info["unit"] == "H/s"
    assert info["power_source"] == "rapl" and info["energy_j"] == 3.0 and info["provenance"] == "measured"
    gemm = next(b for b in doc["benchmarks"] if b["group"] == "gemm")
    assert gemm["stats"]["median"] == pytest.approx(1e9 / 7e14)  # one operation = one GFLOP
    assert gemm["extra_info"]["operation"] == "1 GFLOP"


def test_runfile_and_yield_read_the_new_file(tmp_path):
    """economics reads hashrate, energy and tokens/s from the pytest-benchmark layout unchanged."""
    run = make_run(probes=True)
    measured = parse_run(to_pytest_benchmark(run), "run.json")
    best = measured.best_hashing(need_energy=True)
    assert best.hashrate_hps == pytest.approx(run.measurements[0].value)
    # 3 J over the hashes the 12 × 0.1 s window counted: the run's own J/hash, at its (median) hashrate
    hashes = int(sum(noisy(2.0e7, 12, 1)) * 0.1)
    assert best.watts / best.hashrate_hps == pytest.approx(3.0 / hashes)
    assert run.measurements[0].joules_per_unit == pytest.approx(3.0 / hashes)
    decode = measured.best_tokens("llm-decode")
    assert decode.tokens_per_second == 5000.0 and decode.joules_per_token == 0.12


def test_pytest_benchmark_compare_cli_tabulates_our_file(tmp_path):
    """The real `pytest-benchmark compare` CLI loads and tabulates a hashbench result file."""
    path = tmp_path / "0001_hashbench.json"
    write_result(make_run(probes=True), path)
    script = Path(sys.executable).with_name("pytest-benchmark")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pytest_benchmark"]
    done = subprocess.run([*cmd, "compare", str(path), "--columns=min,max,mean,median,ops,rounds"],
                          check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert "Failed to load" not in text
    for name in ("sha256d[cython-avx2-x1]", "sha256d[cython-portable-x1]", "llm-decode[cuda:0-llama-3.1-8b-fp8-b64]"):
        assert name in text, text


def test_reads_the_benchmarks_suite_file_and_schema1_runs():
    pb = {
        "machine_info": {"node": "runner", "machine": "x86_64", "system": "Linux", "release": "6.1",
                         "python_version": "3.11.7", "cpu": {"brand_raw": "Test CPU 9000", "count": 2,
                                                             "flags": ["avx2", "sha_ni", "fpu"]}},
        "commit_info": {"id": "c" * 40, "dirty": False, "branch": "main"},
        "datetime": "2025-11-21T09:00:00.123456+00:00", "version": "5.1.0",
        "benchmarks": [{"group": None, "name": "test_scan_difficulty1[cython-avx2]",
                        "fullname": "benchmarks/test_sha256d_bench.py::test_scan_difficulty1[cython-avx2]",
                        "params": {"backend": "x", "impl": None}, "param": "cython-avx2",
                        "extra_info": {"backend": "cython", "impl": "avx2", "nonces": 1 << 19, "hashrate": 2e7},
                        "options": {}, "stats": {"min": 0.02, "max": 0.03, "mean": 0.025, "stddev": 0.004,
                                                 "rounds": 3, "median": 0.025, "iterations": 1,
                                                 "data": [0.02, 0.025, 0.03]}},
                       {"group": None, "name": "test_other", "fullname": "x.py::test_other", "params": None,
                        "param": None, "extra_info": {}, "options": {},
                        "stats": {"min": 1.0, "max": 1.0, "mean": 1.0, "stddev": 0.0, "rounds": 1, "median": 1.0,
                                  "iterations": 1}}]}
    run = parse_result(pb, "benchmarks.json")
    m = run.measurement("test_scan_difficulty1[cython-avx2]")
    assert m.unit == "H/s" and m.samples == pytest.approx(((1 << 19) / 0.02, (1 << 19) / 0.025, (1 << 19) / 0.03))
    timing = run.measurement("test_other")
    assert timing.unit == "s" and not timing.higher_is_better and timing.value == 1.0
    assert run.host.git_commit == "c" * 40 and run.source == "pytest-benchmark"
    assert parse_result(pb, "again").run_id == run.run_id  # content id: the same file stores one run
    # with the benchmarks/ conftest hook, the suite's host is hashbench's own: same fingerprint as `hashbench run`
    stamped = {**pb, "machine_info": {**pb["machine_info"], "hashbench_host": HOST.to_json()}}
    assert parse_result(stamped, "x").fingerprint == HOST.fingerprint
    assert set(from_pytest_machine_info(pb["machine_info"]).cpu_flags) == {"avx2", "sha_ni"}

    schema1 = {"schema_version": 1, "kind": "hashbench-run", "started": "2025-11-01T00:00:00+00:00",
               "complete": True, "host": {"cpu_model": "Test CPU 9000", "cpu_flags": ["avx2"], "logical_cpus": 2},
               "benchmarks": [{"backend": "python", "impl": "python", "threads": 1, "hashrate": 2e5,
                               "samples": [2e5, 2.1e5, 1.9e5], "hashes": 60000, "seconds": 0.3}],
               "probes": probe_records()[:1]}
    old = parse_result(schema1, "old.json")
    assert old.schema_version == 1 and [m.name for m in old.measurements] == [
        "sha256d[python-python-x1]", "llm-decode[cuda:0-llama-3.1-8b-fp8-b64]"]


@pytest.mark.parametrize("payload, message", [
    ("[1, 2]", "not a result file"),
    ('{"hello": 1}', "not a hashbench or pytest-benchmark result file"),
    ("{nope", "not valid JSON"),
    ('{"machine_info": {}, "benchmarks": [{"name": "x"}]}', "malformed result file"),
    # a hashrate benchmark with no rounds and a median time of zero; counts JSON allows but no integer holds
    ('{"machine_info": {}, "benchmarks": [{"name": "x", "extra_info": {"nonces": 64}, "stats": {"median": 0}}]}',
     "malformed result file"),
    ('{"machine_info": {}, "benchmarks": [{"name": "x", "stats": {"median": 1, "iterations": Infinity}}]}',
     "malformed result file"),
    ('{"kind": "hashbench-run", "measurements": [], "host": {"logical_cpus": 1e999}}', "malformed result file"),
])
def test_bad_files_are_one_line_input_errors(tmp_path, payload, message):
    path = tmp_path / "bad.json"
    path.write_text(payload)
    with pytest.raises(InputError, match=message):
        load_result(path)
    with pytest.raises(InputError, match="not found"):
        load_result(tmp_path / "missing.json")


def test_measurement_rejects_unknown_provenance_and_empty_values():
    with pytest.raises(ValueError, match="provenance"):
        Measurement("x", "probe", "tokens/s", value=1.0, provenance="guessed")
    with pytest.raises(ValueError, match="neither samples nor a value"):
        Measurement("x", "probe", "tokens/s")
    assert measurement_from_probe({"probe": "llm-decode", "value": 10.0, "unit": "tokens/s",
                                   "provenance": "nameplate"}).provenance == "nameplate"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_run_writes_pytest_benchmark_file_and_keeps_complete_flag(tmp_path, monkeypatch):
    """`hashbench run --output FILE`, in process on the python backend only (fast): the file is the
    pytest-benchmark layout, rewritten per measurement, and the run lands in the history."""
    import hashbench.run as run_mod
    from hashbench.backends import get_backend

    db = tmp_path / "history.sqlite"
    monkeypatch.setenv("HASHBENCH_DB", str(db))
    monkeypatch.setattr(run_mod, "all_backends", lambda: [get_backend("python")])
    written = []
    real_write = run_mod.RunRecord.write
    monkeypatch.setattr(run_mod.RunRecord, "write", lambda self, p: (written.append(len(self.benchmarks)),
                                                                      real_write(self, p)))
    out = tmp_path / "run.json"
    record = run_mod.execute(out, quick=True, seconds=0.1, probes=False)
    data = json.loads(out.read_text())
    assert data["complete"] is True and data["host"]["cpu_model"] and data["verify"][0]["passed"]
    [bench] = data["benchmarks"]
    assert bench["name"] == "sha256d[python-python-x1]" and bench["extra_info"]["hashrate"] > 0
    assert written[-2:] == [1, 1] and 0 in written  # rewritten before and after the measurement
    assert record.history_note.startswith("run stored in history sqlite:///")
    from hashbench.results.history import open_history

    h = open_history(str(db))
    assert h.load(record.run_id).measurements[0].name == "sha256d[python-python-x1]"
    h.close()


def test_real_probe_and_energy_records_convert():
    """The records the probes and the energy meters really produce (their to_json), not hand-made dicts."""
    from hashbench.energy import EnergyReading
    from hashbench.energy.records import hash_energy_fields
    from hashbench.probes.result import ProbeResult

    reading = EnergyReading(source="nvml", layer="gpu board", method="energy counter", window_s=10.0,
                            joules_gross=3000.0, idle_watts=60.0)
    probe = ProbeResult(probe="gemm", device="cuda:0", preset="4096", dtype="bf16", batch=None, unit="FLOP/s",
                        samples=[6.9e14, 7.0e14, 7.1e14], work=7000.0, per="TFLOP", seconds=10.0, energy=reading,
                        impl="triton", roofline_fraction=0.7)
    m = measurement_from_probe(probe.to_json())
    assert m.name == "gemm[cuda:0-4096-bf16]" and m.value == 7.0e14 and len(m.samples) == 3
    assert m.energy.source == "nvml (gpu board)" and m.energy.layer == "gpu board" and m.energy.seconds == 10.0
    assert m.joules_per_unit == pytest.approx(3000.0 / 7000.0) and m.energy_per == "TFLOP"
    assert m.extra["impl"] == "triton" and m.extra["energy_reading"]["joules_net"] == pytest.approx(2400.0)
    bench = {"backend": "cython", "impl": "avx2", "threads": 2, "samples": [2e7, 2.1e7, 1.9e7], "hashes": 60_000_000,
             "seconds": 3.0, **hash_energy_fields(reading, 60_000_000)}
    h = measurement_from_bench(bench)
    assert h.joules_per_unit == pytest.approx(3000.0 / 60e6) and h.energy_per == "hash"
    assert h.extra["joules_per_th"] == pytest.approx(3000.0 / 60e-6)
    again = parse_result(to_pytest_benchmark(make_run([m, h])), "x")
    assert again.measurements == [m, h]
    none = measurement_from_probe(ProbeResult(
        probe="membw", device="cpu", preset="", dtype=None, batch=None, unit="B/s", samples=[1e10], work=1.0,
        per="GB", seconds=1.0, energy=EnergyReading("none", "none", "", 1.0, None)).to_json())
    assert none.energy is None and none.energy_source == "none"


def test_suite_file_with_several_iterations_per_round_reads_the_rate_of_one_call():
    """pytest-benchmark's own Metadata divides each round's duration by its iterations: `data` is seconds per call,
    and a call of the suite scans `nonces`. 4 calls of 1 M nonces in 0.4 s is 10 MH/s, not 2.5 MH/s."""
    from types import SimpleNamespace

    stats_mod = pytest.importorskip("pytest_benchmark.stats")
    nonces = 1_000_000
    fixture = SimpleNamespace(name="test_scan_difficulty1[cython-avx2]", fullname="b.py::t", group=None,
                              param="cython-avx2", params=None, cprofile_stats=None, has_error=False,
                              extra_info={"backend": "cython", "impl": "avx2", "nonces": nonces})
    meta = stats_mod.Metadata(fixture, iterations=4, options={})
    for round_seconds in (0.4, 0.5, 0.32):  # 4 calls per round
        meta.update(round_seconds)
    pb = {"machine_info": {"node": "n", "machine": "x86_64", "cpu": {"brand_raw": "Test CPU 9000", "count": 2}},
          "commit_info": {}, "datetime": "2025-11-21T09:00:00+00:00", "version": "5.1.0",
          "benchmarks": [meta.as_dict()]}
    m = parse_result(json.loads(json.dumps(pb)), "suite.json").measurements[0]
    assert m.samples == pytest.approx((1e7, 8e6, 1.25e7)) and m.value == pytest.approx(1e7)
    assert m.iterations == 4 * nonces  # nonces behind one sample: the whole round
    del pb["benchmarks"][0]["stats"]["data"]  # --benchmark-json without data: the median alone
    assert parse_result(pb, "nodata.json").measurements[0].value == pytest.approx(1e7)


def test_schema_json_has_the_documented_fields():
    """docs/schema-history.md, version 2: the schema JSON the history database stores whole."""
    run = make_run(probes=True, checks=[Check("cython", "avx2", 3, True)], skipped=[Skipped("numba", "missing")])
    doc = run.to_json()
    assert set(doc) == {"schema_version", "kind", "run_id", "source", "started", "finished", "complete", "fingerprint",
                        "host", "measurements", "checks", "skipped"}
    assert (doc["schema_version"], doc["kind"], doc["fingerprint"]) == (2, "hashbench-run", HOST.fingerprint)
    hashing = doc["measurements"][0]
    assert set(hashing) == {"name", "kind", "unit", "value", "min", "max", "mean", "stddev", "n", "samples",
                            "provenance", "params", "energy", "iterations", "extra"}
    samples = run.measurements[0].samples
    assert hashing["mean"] == pytest.approx(statistics.mean(samples)) and hashing["n"] == len(samples) == 12
    energy = hashing["energy"]
    assert set(energy) == {"source", "joules", "seconds", "provenance", "joules_per_unit", "per", "layer", "watts"}
    assert energy["watts"] == pytest.approx(energy["joules"] / energy["seconds"])
    assert doc["checks"] == [{"backend": "cython", "impl": "avx2", "headers": 3, "passed": True, "failures": []}]
    assert doc["skipped"] == [{"backend": "numba", "reason": "missing"}]


def test_a_hand_written_schema_json_reads_with_its_defaults():
    """A declared figure typed in by hand names only what it knows; the rest reads as unknown or the default, never
    as the text "None"."""
    doc = {"kind": "hashbench-run", "measurements": [
        {"name": "sha256d[asic-s21]", "kind": "hashrate", "unit": "H/s", "value": 2e14, "provenance": "nameplate",
         "energy": {"source": "declared 3500 W", "joules": 3500.0, "seconds": 1.0, "provenance": "bogus"}},
        {"name": "startup", "unit": "s", "value": 1.5}],
        "checks": [{"backend": "cython", "passed": True}, {}], "skipped": [{"what": "numba"}, {}]}
    run = parse_result(doc, "hand.json")
    asic, startup = run.measurements
    assert asic.energy == Energy("declared 3500 W", 3500.0, 1.0, "declared", None, "", "")  # provenance from source
    assert (startup.kind, startup.provenance, startup.iterations, startup.energy) == ("timing", "measured", 1, None)
    assert run.checks == [Check("cython", "", 0, True), Check("", "", 0, False)]
    assert run.skipped == [Skipped("numba", ""), Skipped("", "")]
    assert (run.started, run.finished, run.complete, run.source) == ("", None, False, "hashbench run")
    assert run.schema_version == SCHEMA_VERSION and len(run.run_id) == 32
    assert parse_result({**doc, "schema_version": 3}, "newer.json").schema_version == 3  # not relabelled as ours
    assert Energy.from_json({}) == Energy("", None, None, "measured", None, "", "")


def test_version1_files_with_their_draft_energy_fields():
    """docs/schema-history.md, version 1: flat benchmarks (some with only a median), and the drafts' energy keys."""
    schema1 = {"schema_version": 1, "kind": "hashbench-run", "benchmarks": [
        {"backend": "python", "impl": "python", "hashrate": 2e5},
        {"backend": "cython", "impl": "avx2", "threads": 2, "samples": [1e7, 1.2e7, 1.1e7], "joules": 3.0,
         "joules_per_hash": 1e-7, "power_source": "rapl"},
        {"backend": "numba", "impl": "numba", "samples": [1e6], "energy_j": 2.0}],
        "probes": [{"probe": "llm-decode", "device": "cuda:0", "preset": "", "dtype": "fp8", "batch": 64,
                    "value": 100.0, "unit": "tokens/s", "energy_j": 50.0, "seconds": 10.0, "power_source": "nvml"},
                   {"probe": "membw", "value": 5.0, "energy_j": 1.0}]}
    median_only, draft, unlabelled, decode, bare = parse_result(schema1, "v1.json").measurements
    assert (median_only.name, median_only.value, median_only.samples, median_only.iterations) == (
        "sha256d[python-python-x1]", 2e5, (), 1)
    assert median_only.extra == {"hashes": 0, "seconds": None} and median_only.energy is None
    assert (draft.value, draft.iterations) == (1.1e7, 1)  # no hash count: one nonce per sample, not invented
    assert draft.energy == Energy("rapl", 3.0, None, "measured", 1e-7, "", "hash")
    assert unlabelled.energy.source == "unknown" and unlabelled.energy.joules == 2.0
    assert decode.name == "llm-decode[cuda:0-fp8-b64]" and "preset" not in decode.params
    # joules over the record's own seconds at its rate: 50 J / 10 s / 100 tokens/s
    assert decode.energy.seconds == 10.0 and decode.joules_per_unit == pytest.approx(0.05)
    assert decode.energy.per == "token" and decode.energy.layer == ""
    assert (bare.name, bare.unit, bare.value, bare.energy.per) == ("membw[]", "1/s", 5.0, "")


def test_unit_nouns_verification_words_and_measurements_of():
    assert probe_name({"probe": "gemm", "device": "cpu", "preset": "", "dtype": None, "batch": 0}) == "gemm[cpu-b0]"
    assert [unit_noun(u) for u in ("H/s", "tokens/s", "FLOP/s", "B/s", "images/s", "J")] == [
        "hash", "token", "FLOP", "byte", "images", "J"]
    assert verification_summary([]) == "not checked"
    assert verification_summary([Check("cython", "avx2", 3, True)]) == "yes"
    assert verification_summary([Check("cython", "avx2", 3, False), Check("cuda", "v2", 3, True),
                                 Check("numba", "numba", 3, False)]) == "FAILED: cython (avx2), numba (numba)"
    bench = {"backend": "python", "impl": "python", "threads": 1, "samples": [1e5], "hashes": 10_000, "seconds": 0.1}
    probe = probe_records()[0]
    assert measurements_of([bench], [probe]) == [measurement_from_bench(bench), measurement_from_probe(probe)]


def test_a_nested_energy_object_is_read_in_each_layout_hashbench_writes():
    """A bench or probe record's `energy` object: an EnergyReading's JSON (label, joules, window_s; older ones had
    joules_gross only), or a Measurement's Energy JSON (source, seconds, joules_per_unit). Its own fields win over
    the record's flat ones and over guesses from the source's name."""
    from hashbench.results.schema import Energy, energy_from_fields

    reading = {"source": "rapl", "label": "rapl package-0+dram", "layer": "cpu", "provenance": "measured",
               "joules": 30.0, "joules_gross": 30.0, "window_s": 3.0}
    e = energy_from_fields({"energy": reading, "joules_per_unit": 2e-6}, 99.0, per="hash")
    assert e == Energy("rapl package-0+dram", 30.0, 3.0, "measured", 2e-6, "cpu", "hash")
    older = {"source": "nvml", "label": "nvml gpu0", "joules_gross": 12.0, "window_s": 2.0}
    assert energy_from_fields({"energy": older}, rate=3.0).joules_per_unit == 2.0  # 12 J / 2 s / 3 per s
    # a label saying "declared" is not what decides when the object says what it is
    labelled = {**reading, "label": "declared-looking meter", "provenance": "measured"}
    assert energy_from_fields({"energy": labelled}).provenance == "measured"
    stored = Energy("ipmi", 50.0, 5.0, "measured", 1e-5, "node", "hash").to_json()
    assert energy_from_fields({"energy": stored, "joules_per_unit": 7.0}, 99.0) == Energy(
        "ipmi", 50.0, 5.0, "measured", 1e-5, "node", "")
