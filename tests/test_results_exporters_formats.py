"""Each exporter's output exactly as the tool that reads it expects: github-action-benchmark's customBiggerIsBetter
entries, Bencher's BMF, OpenMetrics text, CSV; and the notes printed beside them. Found by mutation testing: each
test pins output that a changed line of results/exporters/ left every other test passing."""

from __future__ import annotations

import csv
import io
import json

import pytest
from results_helpers import HOST, hash_measurement, make_run, with_cpu_load

from hashbench import __version__
from hashbench.errors import InputError
from hashbench.results.exporters import FORMATS, exporter, notes
from hashbench.results.schema import Check, Energy, Measurement

RUN_ID = "0123456789abcdef" * 2
FP = HOST.fingerprint


def _run(checks: list | None = None, **kwargs):
    """A passed cython hashrate metered by RAPL, a timing, a probe in tokens per step with its own energy per step,
    and a declared figure without samples."""
    ms = [hash_measurement((2.0e7, 2.2e7, 1.9e7), energy_j=3.0),
          Measurement("test_step", "timing", "s", samples=(0.5, 0.75, 0.25)),
          Measurement("steps", "probe", "tokens/step", samples=(4.0, 5.0, 6.0), params={"batch": 8},
                      energy=Energy("nvml", joules=30.0, seconds=3.0, joules_per_unit=0.5, per="step")),
          Measurement("gemm[cuda:0-bf16]", "probe", "FLOP/s", value=7e14, params={"probe": "gemm"},
                      provenance="declared")]
    return make_run(ms, run_id=RUN_ID, checks=checks or [Check("cython", "avx2", 4, True)], **kwargs)


def test_github_action_entries_exactly():
    """customBiggerIsBetter: only rates (a time is smaller-is-better, another chart); the spread in `range`, and
    provenance, samples, energy, commit and an incomplete run in `extra`, one per line."""
    run = _run()
    avx2 = run.measurements[0]
    assert json.loads(exporter("github-action")([run])) == [
        {"name": "sha256d[cython-avx2-x1]", "unit": "H/s", "value": 2.0e7, "range": "± 1.5e+06",
         "extra": f"measured\n3 samples, min 1.9e+07, max 2.2e+07\nenergy: rapl\n{avx2.joules_per_unit:.6g} J per hash"
                  "\ncommit aaaaaaaaaaaa"},
        {"name": "gemm[cuda:0-bf16]", "unit": "FLOP/s", "value": 7e14, "range": "± 0",
         "extra": "declared\na single value\nenergy: none\ncommit aaaaaaaaaaaa"}]
    run = _run(host=HOST.__class__(**{**HOST.__dict__, "git_commit": None}))
    run.complete = False
    text = exporter("github-action")([run])
    assert text.startswith('[\n  {\n    "name": "sha256d[cython-avx2-x1]",\n') and text.endswith("\n]\n")
    last = [e["extra"].splitlines()[-1] for e in json.loads(text)]
    assert last == ["incomplete run (stopped before it finished)"] * 2
    assert all("commit" not in e["extra"] for e in json.loads(text))


def test_bencher_metric_format_exactly():
    """One BMF measure per unit (tokens/step is tokens-per-step: it read tokens-per-secondtep), timings as Bencher's
    latency in ns, and energy per operation as a second measure of a rate only."""
    run = _run()
    text = exporter("bencher")([run])
    assert json.loads(text) == {
        "sha256d[cython-avx2-x1]": {"hashrate": {"value": 2.0e7, "lower_value": 1.9e7, "upper_value": 2.2e7},
                                    "joules-per-hash": {"value": run.measurements[0].joules_per_unit}},
        "test_step": {"latency": {"value": 5.0e8, "lower_value": 2.5e8, "upper_value": 7.5e8}},
        "steps": {"tokens-per-step": {"value": 5.0, "lower_value": 4.0, "upper_value": 6.0}},
        "gemm[cuda:0-bf16]": {"flops": {"value": 7e14, "lower_value": 7e14, "upper_value": 7e14}}}
    assert text.startswith('{\n  "sha256d[cython-avx2-x1]": {\n    "hashrate": {\n') and text.endswith("}\n")
    units = [Measurement(f"m{i}", "probe", unit, value=1.0) for i, unit in enumerate(
        ("tokens/s", "B/s", "GB/s", "s/step", "J"))]
    assert [next(iter(v)) for v in json.loads(exporter("bencher")([make_run(units)])).values()] == [
        "tokens-per-second", "bytes-per-second", "gb-per-second", "s-per-step", "j"]


HEAD = "# TYPE {0} gauge\n# UNIT {0} {1}\n# HELP {0} {2}\n"


def test_openmetrics_text_exactly():
    """The exposition line by line: family metadata (TYPE, UNIT, HELP) once before its samples, the labels in a fixed
    order, values as Python floats, verification one sample per state, the run's identity and start time, # EOF."""
    run = _run(started="2025-11-20T11:00:00+01:00")  # 10:00 UTC
    avx2 = run.measurements[0]
    h = f'benchmark="sha256d[cython-avx2-x1]",backend="cython",impl="avx2",threads="1",provenance="measured",' \
        f'fingerprint="{FP}"'
    t = f'benchmark="test_step",provenance="measured",fingerprint="{FP}"'
    s = f'benchmark="steps",batch="8",provenance="measured",fingerprint="{FP}"'
    g = f'benchmark="gemm[cuda:0-bf16]",probe="gemm",provenance="declared",fingerprint="{FP}"'
    expected = (
        HEAD.format("hashbench_hashrate_hashes_per_second", "hashes_per_second",
                    "SHA-256d hashrate at a difficulty-1 share target")
        + f'hashbench_hashrate_hashes_per_second{{{h},statistic="median"}} 20000000.0\n'
        + f'hashbench_hashrate_hashes_per_second{{{h},statistic="min"}} 19000000.0\n'
        + f'hashbench_hashrate_hashes_per_second{{{h},statistic="max"}} 22000000.0\n'
        + HEAD.format("hashbench_energy_joules", "joules", "Energy over the timed window of a benchmark")
        + f'hashbench_energy_joules{{{h},source="rapl"}} 3.0\n'
        + f'hashbench_energy_joules{{{s},source="nvml"}} 30.0\n'
        + HEAD.format("hashbench_energy_per_operation_joules", "joules", "Energy per hash, token, ...")
        + f'hashbench_energy_per_operation_joules{{{h},per="hash",source="rapl"}} {avx2.joules_per_unit!r}\n'
        + f'hashbench_energy_per_operation_joules{{{s},per="step",source="nvml"}} 0.5\n'
        + "# TYPE hashbench_benchmark_verification gauge\n"
        + "# HELP hashbench_benchmark_verification Verification of the benchmark's backend on real block headers in "
          "this run: 1 for its state (passed, failed: wrong nonces, not_checked)\n"
        + f'hashbench_benchmark_verification{{{h},state="passed"}} 1\n'
        + f'hashbench_benchmark_verification{{{h},state="failed"}} 0\n'
        + f'hashbench_benchmark_verification{{{h},state="not_checked"}} 0\n'
        + HEAD.format("hashbench_timing_seconds", "seconds", "Seconds per operation of a benchmark")
        + f'hashbench_timing_seconds{{{t},statistic="median"}} 0.5\n'
        + f'hashbench_timing_seconds{{{t},statistic="min"}} 0.25\n'
        + f'hashbench_timing_seconds{{{t},statistic="max"}} 0.75\n'
        + HEAD.format("hashbench_probe_tokens_per_step", "tokens_per_step", "Probe measurement in tokens/step")
        + f'hashbench_probe_tokens_per_step{{{s},statistic="median"}} 5.0\n'
        + f'hashbench_probe_tokens_per_step{{{s},statistic="min"}} 4.0\n'
        + f'hashbench_probe_tokens_per_step{{{s},statistic="max"}} 6.0\n'
        + HEAD.format("hashbench_probe_flop_per_second", "flop_per_second", "Arithmetic throughput of a probe")
        + f'hashbench_probe_flop_per_second{{{g},statistic="median"}} 700000000000000.0\n'
        + f'hashbench_probe_flop_per_second{{{g},statistic="min"}} 700000000000000.0\n'
        + f'hashbench_probe_flop_per_second{{{g},statistic="max"}} 700000000000000.0\n'
        + "# TYPE hashbench_verification_passed gauge\n"
        + "# HELP hashbench_verification_passed 1 when the backend scanned real block headers back to their nonces in "
          "this run, 0 when it gave wrong nonces\n"
        + f'hashbench_verification_passed{{backend="cython",impl="avx2",fingerprint="{FP}"}} 1\n'
        + "# TYPE hashbench_run_info gauge\n# HELP hashbench_run_info The run these figures come from\n"
        + f'hashbench_run_info{{run_id="{RUN_ID}",fingerprint="{FP}",machine="{HOST.label}",commit="{"a" * 40}",'
          f'source="hashbench run",version="{__version__}",complete="true"}} 1\n'
        + HEAD.format("hashbench_run_start_timestamp_seconds", "seconds", "When the run started, Unix time")
        + f'hashbench_run_start_timestamp_seconds{{run_id="{RUN_ID}"}} 1763632800.0\n'
        + "# EOF\n")
    assert exporter("openmetrics")([run]) == expected


def test_openmetrics_units_labels_and_what_is_left_out():
    """Every unit a probe reports gets a family name and unit of its own; label names are made valid; a statistic
    that is not a number, an unmetered energy, an unreadable start time and a missing commit leave no sample."""
    units = ("B/s", "tokens/s", "GB/s", "kB/step", "%", "/s", "XOR/s")
    run = make_run([Measurement(f"m{i}", "probe", u, value=1.0) for i, u in enumerate(units)]
                   + [Measurement("odd", "probe", "tokens/s", samples=(1.0, 2.0),
                                  params={"a-b": True, "none": None, "statistic": "x", "__Xlr": 'C:\\a "b"\nc'}),
                      Measurement("cold", "probe", "tokens/s", value=1.0, energy=Energy("rapl", joules=None,
                                                                                        joules_per_unit=2.0))],
                   started="not a time", host=HOST.__class__(**{**HOST.__dict__, "git_commit": None}))
    run.complete = False
    text = exporter("openmetrics")([run])
    types = [line.split()[2:] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert [t[0] for t in types] == [
        "hashbench_probe_bytes_per_second", "hashbench_probe_tokens_per_second", "hashbench_probe_gb_per_second",
        "hashbench_probe_kb_per_step", "hashbench_probe_value", "hashbench_probe_per_second",
        "hashbench_probe_xor_per_second", "hashbench_energy_per_operation_joules", "hashbench_run_info"]
    assert "# HELP hashbench_probe_bytes_per_second Memory bandwidth of a probe\n" in text
    assert "# HELP hashbench_probe_tokens_per_second Inference throughput of a probe\n" in text
    assert "# UNIT hashbench_probe_kb_per_step kb_per_step\n" in text
    assert "# HELP hashbench_probe_value Probe measurement in %\n" in text
    assert 'hashbench_probe_tokens_per_second{benchmark="odd",a_b="True",param_statistic="x",' \
           'param_Xlr="C:\\\\a \\"b\\"\\nc",' \
           f'provenance="measured",fingerprint="{FP}",statistic="median"}} 1.5\n' in text
    assert "hashbench_energy_joules" not in text and "hashbench_run_start_timestamp_seconds" not in text
    assert f'commit="",source="hashbench run",version="{__version__}",complete="false"}} 1\n# EOF\n' in text
    nan = make_run([Measurement("nan", "probe", "tokens/s", value=float("nan"),
                                energy=Energy("rapl", joules=1.0, joules_per_unit=float("inf")))])
    samples = [line for line in exporter("openmetrics")([nan]).splitlines() if not line.startswith("#")]
    assert [line.split("{")[0] for line in samples] == ["hashbench_energy_joules", "hashbench_run_info",
                                                         "hashbench_run_start_timestamp_seconds"]


def test_csv_columns_exactly():
    """Every column a spreadsheet reads, in order: numbers written to round-trip, empty cells for what was not
    metered or committed, parameters as sorted JSON."""
    run = _run()
    run.complete = False
    bare = make_run([Measurement("p", "probe", "tokens/s", value=1.0, params={"preset": "x", "batch": 8})],
                    host=HOST.__class__(**{**HOST.__dict__, "git_commit": None}))
    text = exporter("csv")([run, bare])
    lines = text.split("\n")
    assert lines[0] == ("run_id,started,source,fingerprint,machine,git_commit,name,kind,unit,value,min,max,mean,stddev,"
                        "n,provenance,energy_j,energy_source,joules_per_unit,params,complete,verified,cpus_shared")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5 and text.endswith("\n") and "\r" not in text
    avx2, step, steps, gemm, p = rows
    assert (p["git_commit"], p["params"], p["complete"], p["verified"]) == ("", '{"batch": 8, "preset": "x"}', "true",
                                                                            "")
    m = run.measurements[0]
    assert avx2 == {"run_id": RUN_ID, "started": run.started, "source": "hashbench run", "fingerprint": FP,
                    "machine": HOST.label, "git_commit": "a" * 40, "name": "sha256d[cython-avx2-x1]",
                    "kind": "hashrate", "unit": "H/s", "value": "20000000.0", "min": "19000000.0", "max": "22000000.0",
                    "mean": repr(m.summary.mean), "stddev": repr(m.summary.stddev), "n": "3", "provenance": "measured",
                    "energy_j": "3.0", "energy_source": "rapl", "joules_per_unit": repr(m.joules_per_unit),
                    "params": '{"backend": "cython", "impl": "avx2", "threads": 1}', "complete": "false",
                    "verified": "passed", "cpus_shared": ""}
    assert (step["energy_j"], step["energy_source"], step["joules_per_unit"], step["params"], step["verified"]) == \
        ("", "none", "", "{}", "")
    assert (steps["energy_j"], steps["joules_per_unit"], steps["params"]) == ("30.0", "0.5", '{"batch": 8}')
    assert (gemm["n"], gemm["min"], gemm["provenance"]) == ("0", "700000000000000.0", "declared")
    cold = make_run([Measurement("cold", "probe", "tokens/s", value=1.0, energy=Energy("rapl", joules_per_unit=2.0))])
    [row] = csv.DictReader(io.StringIO(exporter("csv")([cold])))
    assert (row["energy_j"], row["joules_per_unit"], row["git_commit"]) == ("", "2.0", "a" * 40)


def test_notes_and_errors_say_exactly_what_became_of_a_run():
    run = _run(checks=[Check("numba", "numba", 4, False), Check("cython", "avx2", 4, False, ("height 2016",)),
                       Check("cython", "sha-ni", 4, False)])
    run.complete = False
    name = f"run 01234567 ({run.started})"
    smaller = (f"{name}: 2 smaller-is-better benchmark(s) (s, tokens/step) are not in this customBiggerIsBetter "
               "file: export them as github-action-smaller for a second chart")
    bigger = (f"{name}: 1 bigger-is-better benchmark(s) (FLOP/s) are not in this customSmallerIsBetter file: export "
              "them as github-action for a second chart")
    for fmt, fate, more in (("github-action", "left out of the export", [smaller]),
                            ("github-action-smaller", "left out of the export", [bigger]),
                            ("bencher", "left out of the export", []),
                            ("openmetrics", 'flagged in hashbench_benchmark_verification{state="failed"}', []),
                            ("csv", "marked failed in the verified column", [])):
        assert notes([run], fmt) == [
            f"{name} is an incomplete run (stopped before it finished): benchmarks it never reached are missing",
            f"{name}: numba (numba), cython (avx2), cython (sha-ni) failed verification on real block headers (wrong "
            f"nonces): the cython, numba benchmarks are {fate}", *more]
    assert notes([_run()], "csv") == []


def test_a_benchmark_measured_on_shared_cpus_is_marked_in_csv_and_openmetrics_and_noted_for_every_format():
    """A CI runner that shared its CPUs with another job reads as a regression on a dashboard: the export says which
    figures were measured so, where the format can carry it, and on stderr for all of them."""
    plain = hash_measurement((2e7, 1.9e7, 2.2e7), impl="portable")
    run = make_run([with_cpu_load(hash_measurement((2e7, 1.9e7, 2.2e7)), 1.5),
                    with_cpu_load(hash_measurement((2e7, 1.9e7, 2.2e7), impl="sha-ni"), 0.0), plain])
    rows = list(csv.DictReader(io.StringIO(exporter("csv")([run]))))
    assert [(r["name"], r["cpus_shared"]) for r in rows] == [
        ("sha256d[cython-avx2-x1]", "true"), ("sha256d[cython-sha-ni-x1]", "false"),
        ("sha256d[cython-portable-x1]", "")]
    text = exporter("openmetrics")([run])
    shared = [line for line in text.splitlines() if line.startswith("hashbench_benchmark_cpus_shared{")]
    assert [(line.split('benchmark="')[1].split('"')[0], line.rsplit(" ", 1)[1]) for line in shared] == [
        ("sha256d[cython-avx2-x1]", "1"), ("sha256d[cython-sha-ni-x1]", "0")]
    family = text.split("\n# TYPE hashbench_benchmark_cpus_shared gauge\n", 1)[1].split("\n", 1)[0]
    assert family == ("# HELP hashbench_benchmark_cpus_shared 1 when other work, a hypervisor or a CPU quota took CPU "
                      "time in the benchmark's window (its figure may be below what the machine does alone)")
    chart = json.loads(exporter("github-action")([run]))
    assert chart[0]["extra"].split("\n")[-1] == (
        "CPUs shared while it was measured: other work kept 1.5 of the 2 CPUs busy (means over its 3.00 s); the figure "
        "may be below what this machine does alone")
    assert not any("CPUs shared" in entry["extra"] for entry in chart[1:])
    for fmt in FORMATS:
        assert notes([run], fmt)[0] == (
            f"run {run.run_id[:8]} ({run.started}): CPUs shared while sha256d[cython-avx2-x1] was measured: other "
            "work kept 1.5 of the 2 CPUs busy (window means); its figure may be below what this machine does alone")
    crowded = make_run([with_cpu_load(hash_measurement((2e7,)), 1.5),
                        with_cpu_load(hash_measurement((2e7,), impl="sha-ni"), 1.2)])
    assert notes([crowded], "csv")[0].startswith(f"run {crowded.run_id[:8]} ({crowded.started}): CPUs shared while all "
                                                 "2 benchmarks were measured: other work kept 1.2–1.5 of the 2 CPUs")
    with pytest.raises(InputError) as caught:
        exporter("xml")
    assert str(caught.value) == ("unknown export format 'xml' (known: github-action, github-action-smaller, bencher, "
                                 "openmetrics, csv)")
    for fmt in ("github-action", "github-action-smaller", "bencher", "openmetrics"):
        with pytest.raises(InputError) as caught:
            exporter(fmt)([])
        assert str(caught.value) == f"{fmt} takes one run (got 0): give one result file or a history reference"
    only_failed = make_run(checks=[Check("cython", "avx2", 4, False)], run_id=RUN_ID)
    with pytest.raises(InputError) as caught:
        exporter("bencher")([only_failed])
    assert str(caught.value) == "nothing to export: every benchmark of run 01234567 is of a backend that failed " \
                                "verification (FAILED: cython (avx2))"
    assert exporter("bencher")([make_run([])]) == "{}\n" and exporter("github-action")([make_run([])]) == "[]\n"
    assert exporter("github-action-smaller")([make_run([])]) == "[]\n"


def test_github_action_smaller_carries_the_timings_the_bigger_file_cannot():
    """A pytest-benchmark run of timings exported as github-action printed [] and said nothing: customBiggerIsBetter
    takes speeds only. The timings go to customSmallerIsBetter, and an export that would be empty while the run has
    benchmarks of the other direction is an error naming the format that carries them."""
    run = _run()
    assert json.loads(exporter("github-action-smaller")([run])) == [
        {"name": "test_step", "unit": "s", "value": 0.5, "range": "± 0.25",
         "extra": "measured\n3 samples, min 0.25, max 0.75\nenergy: none\ncommit aaaaaaaaaaaa"},
        {"name": "steps", "unit": "tokens/step", "value": 5.0, "range": "± 1",
         "extra": "measured\n3 samples, min 4, max 6\nenergy: nvml\n0.5 J per step\ncommit aaaaaaaaaaaa"}]
    timings = make_run([Measurement("test_a", "timing", "s", samples=(1.0, 2.0)),
                        Measurement("test_b", "timing", "s", samples=(3.0,))], run_id=RUN_ID)
    with pytest.raises(InputError) as caught:
        exporter("github-action")([timings])
    assert str(caught.value) == ("nothing to export as customBiggerIsBetter: the 2 benchmark(s) of run 01234567 are "
                                 "smaller-is-better (s): export them as github-action-smaller")
    assert [e["name"] for e in json.loads(exporter("github-action-smaller")([timings]))] == ["test_a", "test_b"]
    speeds = make_run([hash_measurement((1e6, 2e6))], run_id=RUN_ID)
    with pytest.raises(InputError) as caught:
        exporter("github-action-smaller")([speeds])
    assert str(caught.value) == ("nothing to export as customSmallerIsBetter: the 1 benchmark(s) of run 01234567 are "
                                 "bigger-is-better (H/s): export them as github-action")
    assert notes([speeds], "github-action") == [] and notes([timings], "github-action-smaller") == []
