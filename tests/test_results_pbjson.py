"""Result files against pytest-benchmark itself: the layout its own code writes, files it wrote read back the way
its numbers mean, hashbench's files read back unchanged, and the older layouts hashbench still reads."""

from __future__ import annotations

import inspect
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from results_helpers import HOST, OTHER_HOST, make_run

from hashbench.errors import InputError
from hashbench.results.pbjson import load_result, parse_result, to_pytest_benchmark, write_result
from hashbench.results.schema import (
    HASHRATE,
    PROBE,
    SCHEMA_VERSION,
    TIMING,
    Check,
    Energy,
    Measurement,
    RunResult,
    Skipped,
    measurement_from_bench,
)

pb_stats = pytest.importorskip("pytest_benchmark.stats")
pb_plugin = pytest.importorskip("pytest_benchmark.plugin")
pb_fixture = pytest.importorskip("pytest_benchmark.fixture")


def _pb_benchmark(name: str, fullname: str, round_seconds, *, iterations: int = 1, extra_info=None, params=None,
                  group=None, param=None):
    """A benchmark as pytest-benchmark's own Metadata records it: each round's duration over its iterations."""
    fixture = SimpleNamespace(name=name, fullname=fullname, group=group, param=param, params=params,
                              extra_info=dict(extra_info or {}), cprofile_stats=None, has_error=False)
    meta = pb_stats.Metadata(fixture, iterations=iterations, options={"min_rounds": 1, "timer": "perf_counter"})
    for seconds in round_seconds:
        meta.update(seconds)
    return meta


def _pb_file(benchmarks, **top) -> dict:
    """A whole file the way pytest-benchmark's plugin generates it (a fixed machine: py-cpuinfo is slow)."""
    machine = {"node": "runner-17", "processor": "x86_64", "machine": "x86_64", "python_implementation": "CPython",
               "python_version": "3.11.7", "release": "6.1.0", "system": "Linux",
               "cpu": {"brand_raw": "Test CPU 9000", "count": 2, "flags": ["avx2", "sha_ni", "fpu"]}}
    commit = {"id": "d" * 40, "time": None, "author_time": None, "dirty": True, "project": "p", "branch": "main"}
    doc = pb_plugin.pytest_benchmark_generate_json(config=None, benchmarks=benchmarks, include_data=True,
                                                   machine_info=machine, commit_info=commit)
    doc.update(top)
    return json.loads(json.dumps(doc))  # what a reader gets from the file


def test_each_benchmark_is_laid_out_as_pytest_benchmark_lays_out_its_own():
    """Same keys, same types, same statistics as pytest-benchmark's own Metadata given the same rounds: its compare,
    its CSV and histogram code and dashboards reading stats.ops/mean/stddev/rounds read a hashbench file right."""
    doc = to_pytest_benchmark(make_run(probes=True))
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(doc)
    assert isinstance(doc["datetime"], str) and isinstance(doc["version"], str)
    assert {"id", "dirty", "branch", "project"} <= set(doc["commit_info"])
    assert {"node", "machine", "system", "release", "python_version", "cpu"} <= set(doc["machine_info"])
    for ours in doc["benchmarks"]:
        stats = ours["stats"]
        iterations = stats["iterations"]
        theirs = _pb_benchmark(ours["name"], ours["fullname"], [t * iterations for t in stats["data"]],
                               iterations=iterations, extra_info=ours["extra_info"], params=ours["params"],
                               group=ours["group"], param=ours["param"]).as_dict()
        assert set(ours) == set(theirs), ours["name"]
        assert set(stats) == set(theirs["stats"]), ours["name"]
        for key, value in theirs["stats"].items():
            if key == "data":
                assert stats[key] == pytest.approx(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                assert isinstance(stats[key], (int, float)) and stats[key] == pytest.approx(value), (ours["name"], key)
                assert isinstance(stats[key], int) == isinstance(value, int) or value == 0, (ours["name"], key)
            else:
                assert stats[key] == value, (ours["name"], key)


def test_a_file_pytest_benchmark_wrote_reads_as_its_numbers_mean():
    suite = {"backend": "cython", "impl": "avx2", "nonces": 1000, "hashrate": 4e3, "power_source": "rapl",
             "energy_j": 2.0}
    benches = [
        # the benchmarks/ suite: each call scans `nonces`; 2 calls a round; a round too short for the timer reads 0
        _pb_benchmark("test_scan[cython-avx2]", "benchmarks/test_a.py::test_scan[cython-avx2]",
                      [0.4, 0.8, 0.2, 0.5, 0.0], iterations=2, extra_info=suite),
        _pb_benchmark("test_one[x]", "benchmarks/test_a.py::test_one[x]", [0.5, 0.25, 0.125], extra_info={"nonces": 1}),
        # the same name in two modules: told apart by their full names
        _pb_benchmark("test_decode", "tests/a.py::test_decode", [0.3, 0.1, 0.4, 0.2], iterations=3,
                      params={"size": 3, "shape": [1, 2]}, extra_info={"kind": "warm", "nonces": 0}),
        _pb_benchmark("test_decode", "tests/b.py::test_decode", [0.5, 0.6], extra_info={"energy_j": 4.0,
                                                                                      "power_source": "ipmi"}),
        _pb_benchmark("test_gemm", "b.py::test_gemm", [1.0], extra_info={
            "probe": "gemm", "device": "cpu", "dtype": "fp32", "value": 1e11, "unit": "FLOP/s"}),
    ]
    # a key named like one of hashbench's beside pytest-benchmark's: the file is still not hashbench's own
    data = _pb_file(benches, host={"cpu_model": "Not This CPU", "logical_cpus": 64})
    run = parse_result(data, "pb.json")

    assert [m.name for m in run.measurements] == ["test_scan[cython-avx2]", "test_one[x]", "tests/a.py::test_decode",
                                                   "tests/b.py::test_decode", "gemm[cpu-fp32]"]
    assert run.source == "pytest-benchmark" and run.started == data["datetime"] == run.finished and run.complete
    assert run.host.cpu_model == "Test CPU 9000" and run.host.logical_cpus == 2 and run.host.git_commit == "d" * 40

    scan = run.measurement("test_scan[cython-avx2]")
    rates = [1000 / 0.2, 1000 / 0.4, 1000 / 0.1, 1000 / 0.25]  # per call: a round's seconds over its 2 calls
    assert (scan.kind, scan.unit, scan.iterations) == (HASHRATE, "H/s", 2000)
    assert sorted(scan.samples) == pytest.approx(sorted(rates))
    assert scan.value == pytest.approx((1000 / 0.25 + 1000 / 0.2) / 2)  # the median rate, not nonces / median time
    assert scan.params == {"backend": "cython", "impl": "avx2"}
    assert scan.extra == {"nonces": 1000, "power_source": "rapl", "energy_j": 2.0}
    assert scan.energy.source == "rapl" and scan.energy.joules == 2.0 and scan.energy_per == "hash"
    one = run.measurement("test_one[x]")
    assert one.unit == "H/s" and one.samples == pytest.approx((2.0, 4.0, 8.0))

    decode = run.measurement("tests/a.py::test_decode")
    assert (decode.kind, decode.unit, decode.iterations) == (TIMING, "s", 3)
    assert decode.samples == pytest.approx((0.1, 0.1 / 3, 0.4 / 3, 0.2 / 3))
    assert decode.value == pytest.approx(0.25 / 3)
    assert decode.params == {"size": 3}  # a list is no parameter value the schema holds
    assert decode.extra == {"kind": "warm", "nonces": 0} and decode.energy is None
    other = run.measurement("tests/b.py::test_decode")
    assert other.iterations == 1 and other.energy.source == "ipmi" and other.energy.joules == 4.0
    gemm = run.measurement("gemm[cpu-fp32]")
    assert (gemm.kind, gemm.unit, gemm.value) == (PROBE, "FLOP/s", 1e11)

    del data["benchmarks"][1]["stats"]["iterations"]  # an older pytest-benchmark wrote none: one per round
    assert parse_result(data, "old.json").measurement("test_one[x]").iterations == 1


def test_a_foreign_benchmark_is_read_from_its_timings_whatever_its_extra_info_says():
    """Only hashbench's own file carries its measurements in extra_info; another suite's benchmark that happens to
    record a unit and a kind there is still timed by pytest-benchmark's rounds."""
    bench = _pb_benchmark("test_x", "t.py::test_x", [0.5, 0.25], extra_info={
        "unit": "tokens/s", "kind": "probe", "value": 123.0, "nonces": 10})
    m = parse_result(_pb_file([bench]), "pb.json").measurements[0]
    assert (m.unit, m.samples) == ("H/s", pytest.approx((20.0, 40.0)))


def test_a_file_without_a_run_id_gets_one_from_its_content():
    data = _pb_file([_pb_benchmark("test_a", "t.py::test_a", [0.1, 0.2])])
    run_id = parse_result(data, "a.json").run_id
    assert len(run_id) == 32 and int(run_id, 16) >= 0
    reordered = json.loads(json.dumps(dict(reversed(data.items()))))  # the same file, keys written in another order
    assert parse_result(reordered, "b.json").run_id == run_id
    data["benchmarks"][0]["stats"]["data"] = [0.1, 0.3]
    assert parse_result(data, "c.json").run_id != run_id


def _every_kind_of_run() -> RunResult:
    hashing = make_run().measurements[0]
    declared = Measurement("sha256d[asic-s21]", HASHRATE, "H/s", value=2e14, provenance="declared",
                           energy=Energy("declared 3500 W", 3500.0, 1.0, "declared", 1.75e-11, "node", "hash"))
    # a provenance its source's name does not give away: read from the file, not guessed from the name
    nameplate = Measurement("llm-decode[h100]", PROBE, "tokens/s", value=3000.0, provenance="nameplate",
                            params={"probe": "llm-decode", "batch": 8}, extra={"source_url": "spec sheet"},
                            energy=Energy("spec sheet 700 W", 700.0, 1.0, "nameplate", 700.0 / 3000.0, "gpu board",
                                          "token"))
    timing = Measurement("startup", TIMING, "s", samples=(0.3, 0.1, 0.2, 0.4), params={"cold": True}, iterations=5)
    untimed = Measurement("roofline[cuda:0]", PROBE, "fraction", value=0.7, params={"probe": "roofline"})
    stalled = Measurement("sha256d[cuda-stalled-x1]", HASHRATE, "H/s", value=0.0, params={"backend": "cuda"})
    return RunResult(host=OTHER_HOST, started="2025-11-20T10:00:00+00:00", finished="2025-11-20T10:05:00+00:00",
                     measurements=[hashing, declared, nameplate, timing, untimed, stalled], complete=False,
                     run_id="r" * 32, source="hashbench ab",
                     checks=[Check("cython", "avx2", 3, True), Check("cuda", "v2", 3, False, ("h1",))],
                     skipped=[Skipped("numba", "not installed")])


def test_every_kind_of_run_round_trips_through_the_file_unchanged(tmp_path):
    """Declared and nameplate figures, timings, figures that are no speed, an incomplete run, its checks and skipped
    backends: write then read gives the same run."""
    run = _every_kind_of_run()
    path = tmp_path / "run.json"
    write_result(run, path)
    data = json.loads(path.read_text())
    # what is no speed pytest-benchmark never sees; hashbench keeps it beside the benchmarks
    assert [b["name"] for b in data["benchmarks"]] == [m.name for m in run.measurements[:4]]
    assert [m["name"] for m in data["other_measurements"]] == ["roofline[cuda:0]", "sha256d[cuda-stalled-x1]"]
    again = load_result(path)
    assert again == run
    assert [m.provenance for m in again.measurements[:3]] == ["measured", "declared", "nameplate"]


def test_older_hashbench_files_read_with_the_defaults_they_meant():
    data = to_pytest_benchmark(make_run())
    bench = data["benchmarks"][0]
    del bench["extra_info"]["provenance"], bench["stats"]["iterations"]
    # "none" says nothing was metered: a joule figure beside it is no measurement
    bench["extra_info"].update(power_source="none", energy_j=1.0, joules_per_unit=1e-9)
    m = parse_result(json.loads(json.dumps(data)), "old.json").measurements[0]
    assert m.provenance == "measured" and m.iterations == 1 and m.energy is None


def test_a_schema1_run_file_keeps_its_run_state():
    schema1 = {"schema_version": 1, "kind": "hashbench-run", "run_id": "old-run", "started": "2025-11-01T00:00:00Z",
               "finished": "2025-11-01T00:02:00Z", "complete": True, "host": HOST.to_json(),
               "benchmarks": [{"backend": "python", "impl": "python", "threads": 1, "hashrate": 2e5,
                               "samples": [2e5, 2.1e5, 1.9e5], "hashes": 60000, "seconds": 0.3}],
               "verify": [{"backend": "python", "impl": "python", "headers": 4, "passed": True}],
               "skipped": [{"backend": "cuda", "reason": "no GPU"}]}
    run = parse_result(schema1, "old.json")
    assert run.host == HOST and run.fingerprint == HOST.fingerprint
    assert (run.run_id, run.started, run.finished, run.complete) == (
        "old-run", "2025-11-01T00:00:00Z", "2025-11-01T00:02:00Z", True)
    assert run.checks == [Check("python", "python", 4, True)] and run.skipped == [Skipped("cuda", "no GPU")]
    assert run.measurements == [measurement_from_bench(schema1["benchmarks"][0])]
    del schema1["run_id"], schema1["complete"]
    unnamed = parse_result(schema1, "old.json")
    assert len(unnamed.run_id) == 32 and unnamed.run_id == parse_result(dict(schema1), "again.json").run_id
    assert unnamed.complete is False
    del schema1["started"]
    schema1["benchmarks"][0]["samples"] = [2e5, 2.2e5, 1.9e5]
    other = parse_result(schema1, "other.json")
    assert other.run_id != unnamed.run_id and other.started == ""


def test_machine_and_commit_info_use_pytest_benchmark_names_and_values(tmp_path, monkeypatch):
    from pytest_benchmark.utils import get_commit_info

    doc = to_pytest_benchmark(make_run(host=replace(HOST, system="Linux 6.1.0-13-amd64", hostname="ci-1")))
    monkeypatch.setattr(pb_plugin, "get_cpu_info", dict)  # py-cpuinfo is slow and not what is compared
    theirs = pb_plugin.pytest_benchmark_generate_machine_info()
    machine = doc["machine_info"]
    shared = {"node", "processor", "machine", "python_implementation", "python_version", "release", "system", "cpu"}
    assert shared <= set(theirs) and shared <= set(machine)
    assert all(isinstance(machine[k], str) for k in shared - {"cpu"})
    assert (machine["system"], machine["release"], machine["node"]) == ("Linux", "6.1.0-13-amd64", "ci-1")
    assert machine["python_implementation"] == "CPython" and machine["processor"] == machine["machine"] == "x86_64"
    # py-cpuinfo's names under "cpu", as pytest-benchmark stores them
    assert machine["cpu"] == {"brand_raw": "Test CPU 9000", "count": 2, "arch": "x86_64", "flags": ["avx2", "sha_ni"]}
    assert machine["fingerprint"] == HOST.fingerprint and machine["hashbench_host"]["hostname"] == "ci-1"
    assert doc["commit_info"] == {"id": "a" * 40, "dirty": False, "project": "hashbench", "branch": "main"}
    dirty = to_pytest_benchmark(make_run(host=replace(HOST, git_dirty=True)))["commit_info"]
    assert dirty["dirty"] is True
    # outside any checkout: what pytest-benchmark itself writes there
    monkeypatch.chdir(tmp_path)
    nowhere = get_commit_info("hashbench")
    no_git = to_pytest_benchmark(make_run(host=replace(HOST, git_commit=None, git_dirty=None, git_branch=None)))
    assert no_git["commit_info"] == {k: nowhere[k] for k in ("id", "dirty", "project", "branch")}


def test_a_reader_that_keeps_only_pytest_benchmark_keys_still_finds_the_machine():
    """Tools that rewrite a file keep machine_info and drop the rest: hashbench's host rides in machine_info, and
    without it the py-cpuinfo fields alone give the same CPU (no GPUs: pytest-benchmark records none)."""
    doc = json.loads(json.dumps(to_pytest_benchmark(make_run())))
    kept = {k: doc[k] for k in ("machine_info", "commit_info", "benchmarks", "datetime", "version")}
    assert parse_result(kept, "kept.json").host == HOST
    del kept["machine_info"]["hashbench_host"]
    assert parse_result(kept, "bare.json").fingerprint == replace(HOST, gpus=()).fingerprint


def test_group_param_and_options_say_what_was_timed_and_how():
    run = _every_kind_of_run()
    entries = {b["name"]: b for b in to_pytest_benchmark(run)["benchmarks"]}
    hashing = entries["sha256d[cython-avx2-x1]"]
    assert (hashing["group"], hashing["param"]) == ("sha256d", "cython-avx2-1")  # --group-by group / param
    assert hashing["params"] == {"backend": "cython", "impl": "avx2", "threads": 1}
    decode = entries["llm-decode[h100]"]
    assert (decode["group"], decode["param"]) == ("llm-decode", "llm-decode-8")
    assert (entries["startup"]["group"], entries["startup"]["param"]) == ("timing", "True")
    bare = to_pytest_benchmark(make_run([Measurement("t", TIMING, "s", samples=(1.0,))]))["benchmarks"][0]
    assert bare["param"] is None and bare["params"] is None
    unset = Measurement("membw", PROBE, "B/s", value=1e10, params={"probe": "membw", "preset": "", "batch": None})
    assert to_pytest_benchmark(make_run([unset]))["benchmarks"][0]["param"] == "membw"  # unset parts left out
    # pytest-benchmark's own option names, saying how bench_backend times: perf_counter, GC on, warm-up, >= 3 rounds
    fixture_options = set(inspect.signature(pb_fixture.BenchmarkFixture.__init__).parameters)
    assert set(hashing["options"]) <= fixture_options
    assert hashing["options"] == {"timer": "perf_counter", "disable_gc": False, "min_rounds": 3, "warmup": True}


def test_extra_info_keeps_the_flat_keys_the_measuring_code_writes():
    """Readers of the older layout (runfile, yield --from-run, dashboards) find BenchResult's keys and values."""
    from hashbench.bench import BenchResult
    from hashbench.energy import EnergyReading

    reading = EnergyReading(source="rapl", layer="cpu package", method="energy counter", window_s=3.0,
                            joules_gross=90.0, idle_watts=5.0)
    result = BenchResult("cython", "avx2", 2, [1.9e7, 2.0e7, 2.2e7], 61_000_000, 3.0, energy=reading)
    written = result.to_json()
    info = to_pytest_benchmark(make_run([measurement_from_bench(written)]))["benchmarks"][0]["extra_info"]
    for key in ("backend", "impl", "threads", "hashrate", "hashrate_min", "hashrate_max", "samples", "hashes",
                "seconds", "target", "energy_j", "power_source", "joules_per_unit", "joules_per_th"):
        assert info[key] == pytest.approx(written[key]), key
    assert info["watts"] == pytest.approx(30.0) and info["energy_provenance"] == "measured"
    assert info["energy_layer"] == "cpu package" and info["per"] == "hash"
    declared = Measurement("sha256d[asic]", HASHRATE, "H/s", value=1e14, provenance="declared",
                           energy=Energy("declared 3500 W", 3500.0, 1.0, "declared", 3.5e-11, "node", "hash"))
    info = to_pytest_benchmark(make_run([declared]))["benchmarks"][0]["extra_info"]
    assert info["energy_provenance"] == "declared" and info["watts"] == 3500.0 and info["provenance"] == "declared"


def test_stats_are_seconds_per_operation_of_each_unit():
    ms = [Measurement("t", TIMING, "s", samples=(0.5, 2.0, 1.0)),
          Measurement("img", PROBE, "images/s", samples=(0.5, 0.0, 4.0)),  # a sample that produced nothing
          Measurement("bw", PROBE, "B/s", samples=(2e9, 4e9))]
    entries = {b["name"]: b for b in to_pytest_benchmark(make_run(ms))["benchmarks"]}
    assert entries["t"]["stats"]["data"] == [0.5, 2.0, 1.0] and entries["t"]["extra_info"]["operation"] == "1 call"
    assert entries["img"]["stats"]["data"] == [2.0, 0.25] and entries["img"]["extra_info"]["operation"] == "1 images"
    assert entries["bw"]["stats"]["data"] == [0.5, 0.25] and entries["bw"]["extra_info"]["operation"] == "1 GB moved"


def test_hashbench_own_top_level_fields(tmp_path):
    run = _every_kind_of_run()
    doc = to_pytest_benchmark(run)
    assert (doc["schema_version"], doc["kind"], doc["run_id"], doc["source"]) == (
        SCHEMA_VERSION, "hashbench-run", run.run_id, "hashbench ab")
    assert (doc["started"], doc["datetime"], doc["finished"], doc["complete"]) == (
        run.started, run.started, run.finished, False)
    assert doc["fingerprint"] == OTHER_HOST.fingerprint and doc["host"] == OTHER_HOST.to_json()
    # the schema's own JSON (as `--json` and the history hold it) reads back through the same reader
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run.to_json()))
    assert load_result(path) == run
    del doc["source"]
    assert parse_result(json.loads(json.dumps(doc)), "x.json").source == "hashbench run"


def test_what_is_not_a_result_file_or_is_damaged_says_so_in_one_line(tmp_path):
    with pytest.raises(InputError, match="not a hashbench or pytest-benchmark result file"):
        parse_result({"benchmarks": []}, "x.json")  # neither pytest-benchmark's machine_info nor hashbench's kind
    doc = json.loads(json.dumps(to_pytest_benchmark(make_run())))
    assert parse_result({**doc, "schema_version": 2**31 - 1}, "x.json").schema_version == 2**31 - 1
    with pytest.raises(InputError, match=r"^x\.json: malformed result file \(ValueError: schema_version 2147483648 "
                                         r"is not a version number\)$"):
        parse_result({**doc, "schema_version": 2**31}, "x.json")
    with pytest.raises(InputError, match=r"^x\.json: malformed result file \(ValueError: schema_version 0 is not a "
                                         r"version number\)$"):
        parse_result({**doc, "schema_version": 0}, "x.json")  # written, so not a missing one read as current
    del doc["benchmarks"][0]["stats"]
    with pytest.raises(InputError, match=r"^x\.json: malformed result file \(KeyError: 'stats'\)$"):
        parse_result(doc, "x.json")
    doc = json.loads(json.dumps(to_pytest_benchmark(make_run())))
    doc["benchmarks"][0]["extra_info"]["samples"] = [1.0, float("inf")]
    with pytest.raises(InputError, match="a name must be text, its samples and value finite numbers"):
        parse_result(doc, "x.json")
    missing, broken = tmp_path / "missing.json", tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InputError, match=f"^result file '{missing}' not found$"):
        load_result(missing)
    with pytest.raises(InputError, match=f"^result file '{broken}' is not valid JSON"):
        load_result(broken)
    broken.write_text("{}")
    with pytest.raises(InputError, match=f"^{broken}: not a hashbench"):
        load_result(broken)


def test_a_minimal_hand_made_pytest_benchmark_file():
    """No datetime, no fullname: what is missing reads as missing, not as something made up."""
    same = {"stats": {"median": 1.0, "data": [1.0]}}
    run = parse_result({"machine_info": {}, "benchmarks": [{"name": "a", **same}, {"name": "a", **same}]}, "m.json")
    assert run.started == "" and [m.name for m in run.measurements] == ["a", "a"]


def test_the_stored_run_files_round_trip_unchanged():
    """The `hashbench run` files kept in benchmarks/results, written by earlier hashbench versions."""
    files = sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "results").glob("cpu-*.json"))
    assert files
    for path in files:
        run = load_result(path)
        assert run.measurements and run.source == "hashbench run" and run.schema_version == SCHEMA_VERSION
        assert parse_result(json.loads(json.dumps(to_pytest_benchmark(run))), path.name) == run, path.name


def test_outlier_counts_match_pytest_benchmarks_own_even_at_a_rounding_tie():
    """[0.8, 0.4, 0.0]: the mean plus one stddev is 0.8 in exact arithmetic; fmean and statistics.mean round it to
    either side, so 0.8 counted as an outlier here and not in pytest-benchmark. The same mean, the same counts."""
    import random

    from hashbench.results.stats import summarize

    rng = random.Random(5)
    cases = [[0.8, 0.4, 0.0]] + [[rng.choice((0.0, 0.1, 0.2, 0.4, 0.8)) for _ in range(rng.randint(2, 9))]
                                 for _ in range(3000)]
    for data in cases:
        theirs = pb_stats.Stats()
        for v in data:
            theirs.update(v)
        ours = summarize(data)
        assert (ours.mean, ours.stddev_outliers, ours.iqr_outliers) == (
            theirs.mean, int(theirs.stddev_outliers), int(theirs.iqr_outliers)), data
