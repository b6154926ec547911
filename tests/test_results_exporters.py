"""Exporters, one format each: github-action-benchmark, Bencher BMF, OpenMetrics (two parsers), CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest
from results_helpers import make_run, run_cli

from hashbench.errors import InputError
from hashbench.results.exporters import exporter
from hashbench.results.pbjson import write_result
from hashbench.results.schema import Check, Measurement, measurement_from_bench


def _run():
    run = make_run(probes=True)
    run.measurements.append(Measurement("test_other", "timing", "s", samples=(0.002, 0.0021, 0.0019)))
    return run


def test_github_action_custom_bigger_is_better():
    entries = json.loads(exporter("github-action")([_run()]))
    assert all(set(e) == {"name", "unit", "value", "range", "extra"} for e in entries)
    assert all(isinstance(e["value"], float) and isinstance(e["range"], str) for e in entries)
    names = {e["name"]: e for e in entries}
    assert "test_other" not in names  # a time is not bigger-is-better
    avx2 = names["sha256d[cython-avx2-x1]"]
    assert avx2["unit"] == "H/s" and "energy: rapl" in avx2["extra"] and "J per hash" in avx2["extra"]
    assert names["llm-decode[cuda:0-llama-3.1-8b-fp8-b64]"]["unit"] == "tokens/s"


def test_bencher_metric_format():
    bmf = json.loads(exporter("bencher")([_run()]))
    avx2 = bmf["sha256d[cython-avx2-x1]"]
    assert set(avx2["hashrate"]) == {"value", "lower_value", "upper_value"}
    assert avx2["hashrate"]["lower_value"] <= avx2["hashrate"]["value"] <= avx2["hashrate"]["upper_value"]
    assert "joules-per-hash" in avx2
    assert bmf["llm-decode[cuda:0-llama-3.1-8b-fp8-b64]"]["joules-per-token"]["value"] == 0.12
    assert bmf["test_other"]["latency"]["value"] == pytest.approx(2.0e6)  # Bencher latency is in ns


def test_openmetrics_is_valid_for_the_prometheus_client_parser():
    parser = pytest.importorskip("prometheus_client.openmetrics.parser",
                                 reason="prometheus_client (results extra) validates the exposition")
    text = exporter("openmetrics")([_run()])
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    hashrate = families["hashbench_hashrate_hashes_per_second"]
    assert hashrate.type == "gauge" and hashrate.unit == "hashes_per_second"
    medians = {s.labels["benchmark"]: s.value for s in hashrate.samples if s.labels["statistic"] == "median"}
    assert set(medians) == {"sha256d[cython-avx2-x1]", "sha256d[cython-portable-x1]", "sha256d[cython-avx2-x2]"}
    assert families["hashbench_probe_tokens_per_second"].samples
    energy = families["hashbench_energy_joules"].samples
    assert {s.labels["source"] for s in energy} == {"rapl", "nvml"}
    assert families["hashbench_run_info"].samples[0].labels["fingerprint"]


def test_openmetrics_passes_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus; .ci/run does)")
    done = subprocess.run([promtool, "check", "metrics"], input=exporter("openmetrics")([_run()]),
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_openmetrics_escapes_label_values():
    run = make_run([Measurement('odd"name\\with\nnewline', "timing", "s", samples=(1.0, 1.1, 0.9))])
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    [family] = [f for f in parser.text_string_to_metric_families(exporter("openmetrics")([run]))
                if f.name == "hashbench_timing_seconds"]
    assert family.samples[0].labels["benchmark"] == 'odd"name\\with\nnewline'


def test_csv_one_row_per_measurement_per_run():
    runs = [_run(), make_run()]
    rows = list(csv.DictReader(io.StringIO(exporter("csv")(runs))))
    assert len(rows) == len(runs[0].measurements) + len(runs[1].measurements)
    first = rows[0]
    assert first["name"] == "sha256d[cython-avx2-x1]" and first["unit"] == "H/s" and first["energy_source"] == "rapl"
    assert float(first["min"]) <= float(first["value"]) <= float(first["max"])
    assert json.loads(first["params"]) == {"backend": "cython", "impl": "avx2", "threads": 1}
    gemm = next(r for r in rows if r["name"].startswith("gemm"))
    assert gemm["energy_j"] == "" and gemm["energy_source"] == "none"


def test_single_run_formats_refuse_several_runs():
    with pytest.raises(InputError, match="takes one run"):
        exporter("bencher")([make_run(), make_run()])
    with pytest.raises(InputError, match="unknown export format"):
        exporter("xml")


def test_export_cli_to_file_and_stdout(tmp_path):
    result = tmp_path / "run.json"
    write_result(_run(), result)
    code, out, err = run_cli("export", "openmetrics", str(result))
    assert code == 0 and out.endswith("# EOF\n"), err
    target = tmp_path / "bmf.json"
    code, _, err = run_cli("export", "bencher", str(result), "--output", str(target))
    assert code == 0 and "sha256d[cython-avx2-x1]" in json.loads(target.read_text())
    db = str(tmp_path / "h.sqlite")
    pytest.importorskip("sqlalchemy")
    run_cli("history", "--db", db, "--add", str(result))
    code, out, _ = run_cli("export", "csv", "--from-history", "--db", db)
    assert code == 0 and out.count("\n") == 1 + len(_run().measurements)
    code, _, err = run_cli("export", "csv")
    assert code == 2 and "nothing to export" in err
    # --from-history beside a file was dropped without a word: the file alone was exported
    code, out, err = run_cli("export", "csv", str(result), "--from-history", "--db", db)
    assert (code, out) == (2, "") and err == "hashbench: error: give RESULT files (or @latest, @RUN_ID) or " \
                                             "--from-history, not both\n"


def test_openmetrics_start_time_without_an_offset_is_utc_whatever_the_local_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        text = exporter("openmetrics")([make_run([], started="2025-11-20T10:00:00")])
    finally:
        monkeypatch.undo()
        time.tzset()
    [line] = [x for x in text.splitlines() if x.startswith("hashbench_run_start_timestamp_seconds{")]
    assert float(line.rsplit(" ", 1)[1]) == 1763632800.0  # 2025-11-20T10:00:00Z


def test_openmetrics_parameter_labels_never_replace_hashbench_labels_and_units_keep_their_words():
    """A parameter named `benchmark` once overwrote the benchmark's own label (two series under one name); `2nd` and
    `__x` are no valid label names; a unit per step came out as `tokens_per_secondtep`."""
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    run = make_run([Measurement("steps", "probe", "tokens/step", samples=(4.0, 5.0, 6.0),
                                params={"benchmark": "mine", "2nd": 2, "__x": "y", "batch": 8})])
    text = exporter("openmetrics")([run])
    [family] = [f for f in parser.text_string_to_metric_families(text) if f.name == "hashbench_probe_tokens_per_step"]
    labels = family.samples[0].labels
    assert labels["benchmark"] == "steps" and labels["param_benchmark"] == "mine"
    assert labels["param_2nd"] == "2" and labels["param_x"] == "y" and labels["batch"] == "8"
    assert family.unit == "tokens_per_step"


def test_openmetrics_help_text_is_escaped_and_parameters_that_meet_in_one_label_keep_both_values():
    """A probe's unit goes into its family's HELP text, which was written raw: a backslash or a newline in it made
    the exposition unparseable. `benchmark` and `param_benchmark` both became param_benchmark, one value lost."""
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    run = make_run([Measurement("odd", "probe", 'J/tok\nen"\\', samples=(4.0, 5.0, 6.0),
                                params={"benchmark": "z", "param_benchmark": "w", "a-b": 1, "a_b": 2})])
    text = exporter("openmetrics")([run])
    [family] = [f for f in parser.text_string_to_metric_families(text) if f.name.startswith("hashbench_probe_")]
    assert family.documentation == "Probe measurement in J/tok\nen'\\"  # a " becomes ' (promtool refuses \\")
    labels = family.samples[0].labels
    assert (labels["param_benchmark"], labels["param_benchmark_2"], labels["a_b"], labels["a_b_2"]) == (
        "z", "w", "1", "2")
    _promtool_check(text)


def test_export_of_a_run_without_benchmarks_is_refused_in_every_format(tmp_path):
    """An empty run exported as `[]`, `{}`, a header or a bare `# EOF`, exit 0: an empty upload on a dashboard."""
    empty = make_run([])
    write_result(empty, tmp_path / "empty.json")
    for fmt in ("github-action", "github-action-smaller", "bencher", "openmetrics", "csv"):
        code, out, err = run_cli("export", fmt, str(tmp_path / "empty.json"))
        assert (code, out) == (2, ""), fmt
        assert err == f"hashbench: error: nothing to export from run {empty.run_id[:8]} ({empty.started}): it has no " \
                      "benchmarks\n"


def _failed_run(complete: bool = True):
    """cython gave wrong nonces on real headers in this run; python passed; the probes were never verified."""
    run = make_run(probes=True, checks=[Check("cython", "avx2", 4, False, ("height 2016",)),
                                         Check("python", "python", 4, True)])
    run.complete = complete
    run.measurements.append(measurement_from_bench({"backend": "python", "impl": "python", "threads": 1,
                                                    "samples": [4.0e5, 4.1e5, 3.9e5], "hashes": 120_000,
                                                    "seconds": 0.3}))
    return run


def test_csv_names_a_backend_that_failed_verification_and_an_incomplete_run():
    """A failed backend's hashrate was a row like any other: nothing in the CSV said its nonces were wrong."""
    failed, unchecked = _failed_run(), make_run()
    rows = list(csv.DictReader(io.StringIO(exporter("csv")([failed, unchecked]))))
    verified = {r["name"]: r["verified"] for r in rows if r["run_id"] == failed.run_id}
    assert verified == {"sha256d[cython-avx2-x1]": "failed", "sha256d[cython-portable-x1]": "failed",
                        "sha256d[cython-avx2-x2]": "failed", "sha256d[python-python-x1]": "passed",
                        "llm-decode[cuda:0-llama-3.1-8b-fp8-b64]": "",  # a probe: no backend to verify
                        "llm-prefill[cuda:0-llama-3.1-8b-fp8-b64]": "", "gemm[cuda:0-bf16]": ""}
    assert {r["verified"] for r in rows if r["run_id"] == unchecked.run_id} == {"not checked"}
    assert {r["complete"] for r in rows} == {"true"}
    rows = list(csv.DictReader(io.StringIO(exporter("csv")([_failed_run(complete=False)]))))
    assert {r["complete"] for r in rows} == {"false"}


def test_dashboard_formats_leave_out_a_backend_that_failed_verification():
    """github-action-benchmark and Bencher plotted a wrong kernel's hashrate as the commit's point, and held it
    against their alert thresholds; neither format has a flag a chart would heed."""
    run = _failed_run()
    names = {e["name"] for e in json.loads(exporter("github-action")([run]))}
    assert names == {"sha256d[python-python-x1]", "llm-decode[cuda:0-llama-3.1-8b-fp8-b64]",
                     "llm-prefill[cuda:0-llama-3.1-8b-fp8-b64]", "gemm[cuda:0-bf16]"}
    bmf = json.loads(exporter("bencher")([run]))
    assert set(bmf) == names and all("value" in metric for b in bmf.values() for metric in b.values())
    only_failed = make_run(checks=[Check("cython", "avx2", 4, False)])
    for fmt in ("github-action", "bencher"):
        with pytest.raises(InputError, match=r"every benchmark of run \w+ is of a backend that failed verification"):
            exporter(fmt)([only_failed])
    assert "incomplete run" in json.loads(exporter("github-action")([_failed_run(complete=False)]))[0]["extra"]


def _promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool:
        done = subprocess.run([promtool, "check", "metrics"], input=text, check=False, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_openmetrics_verification_is_a_series_of_its_own_and_the_speeds_keep_their_labels():
    """A `verified` label on the hashrate made each change of verification (not checked -> passed, passed -> failed)
    start a new hashrate series on every dashboard: the same benchmark on the same machine now has the same speed
    and energy labels whatever its verification, and the verification is its own gauge, one sample per state."""
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")

    def families(run):
        text = exporter("openmetrics")([run])
        _promtool_check(text)
        return {f.name: f for f in parser.text_string_to_metric_families(text)}

    failed, unchecked = families(_failed_run()), families(make_run(probes=True))
    speed = ("hashbench_hashrate_hashes_per_second", "hashbench_energy_joules",
             "hashbench_energy_per_operation_joules", "hashbench_probe_tokens_per_second")
    for name in speed:
        assert all("verified" not in s.labels for s in failed[name].samples)
    label_sets = {name: {frozenset(s.labels.items()) for s in failed[name].samples
                         if s.labels["benchmark"] != "sha256d[python-python-x1]"} for name in speed}
    assert label_sets == {name: {frozenset(s.labels.items()) for s in unchecked[name].samples} for name in speed}

    def states(fams):
        out = {}
        for s in fams["hashbench_benchmark_verification"].samples:
            out.setdefault(s.labels["benchmark"], {})[s.labels["state"]] = s.value
        return out

    assert states(failed) == {
        "sha256d[cython-avx2-x1]": {"passed": 0.0, "failed": 1.0, "not_checked": 0.0},
        "sha256d[cython-portable-x1]": {"passed": 0.0, "failed": 1.0, "not_checked": 0.0},
        "sha256d[cython-avx2-x2]": {"passed": 0.0, "failed": 1.0, "not_checked": 0.0},
        "sha256d[python-python-x1]": {"passed": 1.0, "failed": 0.0, "not_checked": 0.0}}  # probes: none
    assert set(states(unchecked)["sha256d[cython-avx2-x1]"].items()) == {("passed", 0.0), ("failed", 0.0),
                                                                       ("not_checked", 1.0)}
    # the verification carries the speed's own labels, so a panel joins the two on them
    [hashrate] = [s for s in failed["hashbench_hashrate_hashes_per_second"].samples
                  if s.labels["benchmark"] == "sha256d[cython-avx2-x1]" and s.labels["statistic"] == "median"]
    [flag] = [s for s in failed["hashbench_benchmark_verification"].samples
              if s.labels["benchmark"] == "sha256d[cython-avx2-x1]" and s.labels["state"] == "failed"]
    assert {k: v for k, v in hashrate.labels.items() if k != "statistic"} == \
        {k: v for k, v in flag.labels.items() if k != "state"}
    checks = {(s.labels["backend"], s.value) for s in failed["hashbench_verification_passed"].samples}
    assert checks == {("cython", 0.0), ("python", 1.0)}


def test_export_cli_says_what_became_of_a_failed_backend_on_stderr(tmp_path):
    result = tmp_path / "run.json"
    write_result(_failed_run(), result)
    code, out, err = run_cli("export", "github-action", str(result))
    assert code == 0 and "cython" not in out
    assert "cython (avx2) failed verification on real block headers (wrong nonces): the cython benchmarks are " \
           "left out of the export" in err
    code, out, err = run_cli("export", "csv", str(result))
    assert code == 0 and "marked failed in the verified column" in err and ",failed,\n" in out


def test_bencher_measure_of_a_unit_per_step_keeps_its_words():
    """Bencher's measure for tokens/step came out as tokens-per-secondtep (every /s was read as per second), a
    measure no other run would share; only a unit ending in /s is per second, as in the OpenMetrics names."""
    run = make_run([Measurement("steps", "probe", "tokens/step", samples=(4.0, 5.0, 6.0)),
                    Measurement("layers", "probe", "s/layer", value=2.0),
                    Measurement("gbs", "probe", "GB/s", value=3.0)])
    bmf = json.loads(exporter("bencher")([run]))
    assert {name: list(measures) for name, measures in bmf.items()} == {
        "steps": ["tokens-per-step"], "layers": ["s-per-layer"], "gbs": ["gb-per-second"]}
