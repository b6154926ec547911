"""The compare gate: the U test against scipy, the verdicts, the machine check, the CLI's exit codes, and its
quality on a fake backend whose speed (and noise) the test sets, measured through the real bench pipeline."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import pytest
from results_helpers import HOST, OTHER_HOST, hash_measurement, make_run, noisy, rate, run_cli

from hashbench.backends.base import Backend, ScanResult
from hashbench.bench import bench_backend
from hashbench.errors import InputError
from hashbench.results.compare import (
    FASTER,
    FASTER_UNCONFIRMED,
    ONLY_BASE,
    ONLY_CAND,
    SLOWER,
    SLOWER_UNCONFIRMED,
    TOO_FEW,
    UNCHANGED,
    CompareReport,
    FingerprintMismatch,
    Gate,
    Row,
    compare_measurements,
    compare_runs,
    estimated_change,
    parse_threshold,
    thin,
    without_interference,
)
from hashbench.results.pbjson import write_result
from hashbench.results.schema import Check, Measurement, RunResult, Skipped, measurement_from_bench
from hashbench.results.stats import hodges_lehmann, mannwhitneyu, min_one_sided_p

# --- the statistics ------------------------------------------------------------------------------------------------

def test_mann_whitney_matches_scipy_exact_and_asymptotic():
    stats = pytest.importorskip("scipy.stats", reason="scipy cross-check (results extra)")
    rng = random.Random(3)
    for _ in range(60):
        n1, n2 = rng.randint(1, 20), rng.randint(1, 20)
        x = [rng.gauss(0, 1) for _ in range(n1)]
        y = [rng.gauss(0.4, 1) for _ in range(n2)]
        ties_x = [rng.randint(0, 4) for _ in range(n1 + 20)]  # beyond EXACT_MAX_N: the normal approximation
        ties_y = [rng.randint(0, 4) for _ in range(n2 + 20)]
        for alt in ("two-sided", "less", "greater"):
            ours = mannwhitneyu(x, y, alt)
            theirs = stats.mannwhitneyu(x, y, alternative=alt, method="exact")
            assert ours.method == "exact" and ours.u == theirs.statistic
            assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)
            ours = mannwhitneyu(ties_x, ties_y, alt)
            theirs = stats.mannwhitneyu(ties_x, ties_y, alternative=alt, method="asymptotic")
            assert ours.method == "normal" and ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)


def test_mann_whitney_with_ties_is_exact_for_small_samples():
    """With ties (timings on a coarse clock) the test used the normal approximation at any size, whose p is up to
    half the true one for a few samples: the gate failed builds on evidence the data do not hold. Up to
    EXACT_MAX_N a side it is now the exact permutation distribution, checked against scipy's exhaustive
    permutation test."""
    stats = pytest.importorskip("scipy.stats", reason="scipy cross-check (results extra)")
    rng = random.Random(5)

    def u_stat(a, b, axis):
        return stats.mannwhitneyu(a, b, axis=axis, method="asymptotic").statistic

    for _ in range(10):
        n1, n2 = rng.randint(2, 6), rng.randint(2, 6)  # scipy permutes two or more a side
        x, y = [rng.randint(0, 3) for _ in range(n1)], [rng.randint(0, 3) for _ in range(n2)]
        for alt in ("two-sided", "less", "greater"):
            ours = mannwhitneyu(x, y, alt)
            # n_resamples above C(12, 6): every permutation, so exact
            theirs = stats.permutation_test((x, y), u_stat, permutation_type="independent", alternative=alt,
                                            vectorized=True, n_resamples=10**4)
            assert ours.method == "exact" and ours.p_value == pytest.approx(min(1.0, theirs.pvalue), abs=1e-12)
    # the gate: four tied base timings, a candidate about 10 % slower; the approximation said p = 0.030 (slower,
    # exit 1), the exact p is 5/70 = 0.071: beyond the threshold but not significant
    base = Measurement("test_step", "timing", "s", samples=(1.0, 1.0, 1.0, 1.0))
    cand = Measurement("test_step", "timing", "s", samples=(1.0, 1.1, 1.1, 1.1))
    row = compare_measurements(base, cand, Gate())
    assert (row.verdict, row.p_value) == ("slower?", pytest.approx(5 / 70))


def test_hand_checked_u_statistics():
    # x entirely above y: U = n1*n2, exact one-sided p = 1 / C(6, 3) = 0.05
    t = mannwhitneyu([4, 5, 6], [1, 2, 3], "greater")
    assert (t.u, t.p_value, t.effect) == (9, pytest.approx(0.05), 1.0)
    assert min_one_sided_p(3, 3) == pytest.approx(0.05)
    assert mannwhitneyu([1, 1, 1], [1, 1, 1]).p_value == 1.0
    assert hodges_lehmann([10, 11], [1, 2]) == 9


@pytest.mark.parametrize("text, value", [("5%", 0.05), ("0.05", 0.05), ("12.5 %", 0.125), ("0.5%", 0.005),
                                         ("0.99", 0.99), ("1%", 0.01)])
def test_threshold_parsing(text, value):
    assert parse_threshold(text) == pytest.approx(value)


def test_threshold_errors():
    with pytest.raises(InputError, match="cannot read"):
        parse_threshold("five")
    with pytest.raises(InputError, match="between 0 and 100%"):
        Gate(0.0)


# --- verdicts ------------------------------------------------------------------------------------------------------

def _pair(base_samples, cand_samples, name="sha256d[cython-avx2-x1]", **kwargs):
    base = make_run([rate(name, base_samples)])
    cand = make_run([rate(name, cand_samples)], **kwargs)
    return compare_runs(base, cand)


def test_verdicts():
    base = noisy(1e7, 12, 1)
    assert _pair(base, noisy(0.9e7, 12, 2)).rows[0].verdict == SLOWER
    assert _pair(base, noisy(1.1e7, 12, 2)).rows[0].verdict == FASTER
    assert _pair(base, noisy(0.99e7, 12, 2)).rows[0].verdict == UNCHANGED  # significant or not, under 5 %
    # 10 % slower medians but samples all over the place: not confirmed, does not fail the gate
    wild = _pair(noisy(1e7, 12, 1, cv=0.4), noisy(0.9e7, 12, 2, cv=0.4))
    assert wild.rows[0].verdict in (SLOWER_UNCONFIRMED, UNCHANGED) and wild.exit_code == 0
    # three samples a side can never reach p < 0.05 one-sided: said, not passed silently
    few = _pair(noisy(1e7, 2, 1), noisy(0.8e7, 2, 2))
    assert few.rows[0].verdict == TOO_FEW and few.exit_code == 0 and any("too few" in n for n in few.notes)


def test_preempted_samples_are_set_aside_as_interference():
    base = list(noisy(1e7, 12, 1, cv=0.01)) + [0.4e7, 0.5e7, 0.55e7]  # three scans the scheduler interrupted
    cand = list(noisy(0.9e7, 12, 2, cv=0.01)) + [0.3e7]
    [row] = compare_runs(make_run([rate("a", base)]), make_run([rate("a", cand)])).rows
    assert row.verdict == SLOWER and (row.outliers_base, row.outliers_cand) == (3, 1)
    assert row.change == pytest.approx(-0.10, abs=0.015)
    [kept] = compare_runs(make_run([rate("a", base)]), make_run([rate("a", cand)]), Gate(drop_outliers=False)).rows
    assert kept.outliers_base == 0 and kept.n_base == 15


def test_slower_timings_are_slower_when_larger():
    base = make_run([Measurement("t", "timing", "s", samples=noisy(1.0, 10, 1))])
    cand = make_run([Measurement("t", "timing", "s", samples=noisy(1.2, 10, 2))])
    [row] = compare_runs(base, cand).rows
    assert row.verdict == SLOWER and row.change == pytest.approx(-0.2, abs=0.03)  # 20 % more time: -20 %


def test_threshold_is_a_fraction_of_the_base_for_times_as_for_rates():
    """A time 7 % longer is 7 % worse, as a rate 7 % lower is: both fail a 6.5 % threshold (a time read as its
    inverse speed, 1/1.07 - 1 = -6.5 %, slipped under it)."""
    base = [1.0 + 0.001 * i for i in range(12)]
    slow_time = [1.07 * v for v in base]
    [t] = compare_runs(make_run([Measurement("t", "timing", "s", samples=base)]),
                       make_run([Measurement("t", "timing", "s", samples=slow_time)]), Gate(0.066)).rows
    [r] = compare_runs(make_run([rate("r", base)]), make_run([rate("r", [v * 0.93 for v in base])]),
                       Gate(0.066)).rows
    assert t.change == pytest.approx(-0.07) and r.change == pytest.approx(-0.07)
    assert (t.verdict, r.verdict) == (SLOWER, SLOWER)
    assert t.ratio == pytest.approx(1.07)


def test_only_in_one_run_and_exit_code():
    base = make_run([rate("a", noisy(1e7, 10, 1)), rate("b", noisy(1e7, 10, 2))])
    cand = make_run([rate("a", noisy(0.8e7, 10, 3)), rate("c", noisy(1e7, 10, 4))])
    report = compare_runs(base, cand)
    assert {r.name: r.verdict for r in report.rows} == {"a": SLOWER, "b": ONLY_BASE, "c": ONLY_CAND}
    assert report.exit_code == 1 and len(report.regressions) == 1


def test_an_incomplete_or_unverified_candidate_fails_the_gate_and_says_why():
    """A run stopped after its first benchmark compared one row and passed the gate, as a whole run would; a
    candidate whose kernel gives wrong nonces passed it too, if fast enough. Both fail it now (exit 1), with the
    reason; the same faults in the base only qualify the comparison."""
    base = make_run([rate("a", noisy(1e7, 10, 1)), rate("b", noisy(1e7, 10, 2)), rate("c", noisy(1e7, 10, 5))])
    cand = make_run([rate("a", noisy(1e7, 10, 3))])
    whole = compare_runs(base, cand)
    assert whole.exit_code == 0 and not whole.failures and not any("incomplete" in n for n in whole.notes)
    cand.complete = False
    stopped = compare_runs(base, cand, cand_label="stopped.json")
    assert stopped.failures == ("stopped.json is an incomplete run (stopped before it finished): 2 benchmark(s) "
                                "missing from it, not compared: b, c",)
    assert stopped.exit_code == 1 and not stopped.regressions
    assert stopped.to_json()["failures"] == list(stopped.failures)
    # Stopped after every benchmark the base has: nothing is missing, only said.
    full = make_run([rate(n, noisy(1e7, 10, i)) for i, n in enumerate("abc")])
    full.complete = False
    report = compare_runs(base, full)
    assert report.exit_code == 0 and any("every benchmark of the other run is in it" in n for n in report.notes)
    cand.complete = True
    cand.checks = [Check("cython", "avx2", 4, False, ("height 2016: nonce 1 instead of 2",))]
    wrong = compare_runs(base, cand, cand_label="wrong.json")
    assert wrong.exit_code == 1 and len(wrong.failures) == 1
    assert wrong.failures[0].startswith("wrong.json: cython (avx2) failed verification")
    # The base's faults do not fail the candidate.
    swapped = compare_runs(cand, make_run([rate("a", noisy(1e7, 10, 3))]), base_label="wrong.json")
    assert swapped.exit_code == 0 and any(n.startswith("wrong.json: cython (avx2) failed") for n in swapped.notes)


def test_a_candidate_that_skipped_a_backend_the_base_measured_fails_the_gate(tmp_path):
    """A commit that breaks the numba import (or the C build) gives a complete run without that backend's rows: they
    showed as "only in base" and the gate passed. The candidate's own skip list says why they are missing."""
    numba = measurement_from_bench({"backend": "numba", "impl": "llvm", "threads": 1, "samples": noisy(1e7, 10, 7),
                                    "hashes": 10**7, "seconds": 1.0})
    base = make_run([hash_measurement(noisy(2e7, 10, 1)), numba], probes=True)
    cand = make_run([hash_measurement(noisy(2e7, 10, 2))],
                    skipped=[Skipped("numba", "numba is not installed"), Skipped("ai-probes", "no torch"),
                             Skipped("cuda", "no NVIDIA driver")])
    report = compare_runs(base, cand, cand_label="cand.json")
    probes = [m.name for m in base.measurements if "probe" in m.params]
    assert report.failures == (
        f"cand.json skipped numba (numba is not installed): 1 benchmark(s) of the other run not measured: {numba.name}",
        f"cand.json skipped ai-probes (no torch): {len(probes)} benchmark(s) of the other run not measured: "
        + ", ".join(probes))
    assert report.exit_code == 1
    # the base's skips only qualify: a backend the candidate adds fails nothing
    swapped = compare_runs(cand, base, base_label="old.json")
    assert swapped.exit_code == 0 and swapped.failures == ()
    assert any(n.startswith("old.json skipped numba (numba is not installed): 1 benchmark(s)") for n in swapped.notes)
    # rows missing for no stated reason stay rows "only in base", as before
    assert compare_runs(base, make_run([hash_measurement(noisy(2e7, 10, 2))])).exit_code == 0
    write_result(base, tmp_path / "base.json")
    write_result(cand, tmp_path / "cand.json")
    code, out, _ = run_cli("compare", str(tmp_path / "base.json"), str(tmp_path / "cand.json"))
    assert code == 1 and "skipped numba (numba is not installed)" in " ".join(out.split())


def test_compare_cli_exits_1_on_an_unverified_candidate_and_prints_why(tmp_path):
    base = make_run([rate("a", noisy(1e7, 10, 1))])
    cand = make_run([rate("a", noisy(1e7, 10, 3))],
                    checks=[Check("cython", "avx2", 4, False, ("height 2016: nonce 1 instead of 2",))])
    paths = []
    for name, run in (("base.json", base), ("cand.json", cand)):
        write_result(run, tmp_path / name)
        paths.append(str(tmp_path / name))
    code, out, _ = run_cli("compare", *paths)
    assert code == 1
    assert "fails the gate: " in out and "failed verification" in out
    assert "no slowdown, but the gate fails" in out


def test_different_machines_are_refused_unless_forced():
    base = make_run([rate("a", noisy(1e7, 10, 1))])
    cand = make_run([rate("a", noisy(1e7, 10, 2))], host=OTHER_HOST)
    with pytest.raises(FingerprintMismatch, match="different machines.*cpu_model.*--force"):
        compare_runs(base, cand)
    forced = compare_runs(base, cand, force=True)
    assert forced.forced and any("forced across machines" in n for n in forced.notes)


# --- quality through the real pipeline with a fake backend ----------------------------------------------------------

class FakeBackend(Backend):
    """Hashes at `speed` H/s, in simulated time, with the noise of a busy CI machine: a per-run factor (this run's
    neighbours, 0.5 %), per-scan jitter (2 %), and 3 % of scans preempted (0.5-0.9 of the speed). No sleeping:
    fast and exact. Over 2,000 seeded comparisons of this model the gate missed a 10 % slowdown 3 times and raised
    no false alarm; a run-to-run factor much larger than the threshold's margin would defeat any gate that
    compares two separate runs, which is what `hashbench ab` is for."""

    name = "fake"

    def __init__(self, speed: float, seed: int, run_cv: float = 0.005, scan_cv: float = 0.02,
                 preempt: float = 0.03) -> None:
        self.speed, self.rng, self.scan_cv, self.preempt = speed, random.Random(seed), scan_cv, preempt
        self.run_factor = 1 + self.rng.gauss(0, run_cv)

    def available(self) -> tuple[bool, str]:
        return True, ""

    def impls(self) -> list[str]:
        return ["sim"]

    def _scan_part(self, *args):  # pragma: no cover - scan() is overridden
        raise NotImplementedError

    def scan(self, job, start, count, *, impl=None, threads=1, max_found=0, stop=None) -> ScanResult:
        rate = self.speed * self.run_factor * math.exp(self.rng.gauss(0, self.scan_cv))
        if self.rng.random() < self.preempt:
            rate *= self.rng.uniform(0.5, 0.9)  # the scheduler took the core away for part of the scan
        return ScanResult(self.name, "sim", threads, start, count, count / rate, 0, [])


def _measured(speed: float, seed: int) -> RunResult:
    result = bench_backend(FakeBackend(speed, seed), seconds=1.0)
    return make_run([measurement_from_bench(result.to_json())])


def test_identical_speeds_compared_20_times_give_at_most_one_false_alarm():
    verdicts = [compare_runs(_measured(1e7, 2 * i), _measured(1e7, 2 * i + 1)).rows[0].verdict for i in range(20)]
    assert sum(v == SLOWER for v in verdicts) <= 1, verdicts


def test_a_ten_percent_slowdown_is_caught_every_time():
    reports = [compare_runs(_measured(1e7, 100 + 2 * i), _measured(0.9e7, 101 + 2 * i)) for i in range(20)]
    assert all(r.rows[0].verdict == SLOWER and r.exit_code == 1 for r in reports), [r.rows[0] for r in reports]
    changes = [r.rows[0].change for r in reports]
    assert all(-0.14 < c < -0.06 for c in changes)  # the estimate is about -10 %


def test_bench_pipeline_gives_the_gate_enough_samples():
    m = _measured(1e7, 7).measurements[0]
    assert len(m.samples) >= 8 and min_one_sided_p(len(m.samples), len(m.samples)) < 0.001


# --- the command ---------------------------------------------------------------------------------------------------

def test_compare_cli_exit_codes_and_json(tmp_path):
    paths = {}
    for label, center, host in (("base", 1e7, HOST), ("same", 1e7, HOST), ("slow", 0.85e7, HOST),
                                ("other", 1e7, OTHER_HOST)):
        paths[label] = tmp_path / f"{label}.json"
        write_result(make_run([rate("sha256d[cython-avx2-x1]", noisy(center, 15, len(paths)))], host=host),
                     paths[label])
    code, out, err = run_cli("compare", str(paths["base"]), str(paths["same"]))
    assert code == 0 and "no regression" in out, err
    code, out, _ = run_cli("compare", str(paths["base"]), str(paths["slow"]), "--threshold", "5%", "--json")
    data = json.loads(out)
    assert code == 1 and data["regressions"] == 1 and data["rows"][0]["verdict"] == "slower"
    assert data["rows"][0]["ratio"] == pytest.approx(0.85, abs=0.03)
    code, out, _ = run_cli("compare", str(paths["base"]), str(paths["slow"]), "--threshold", "20%")
    assert code == 0  # a 15 % drop is under a 20 % threshold
    code, _, err = run_cli("compare", str(paths["base"]), str(paths["other"]))
    assert code == 2 and err.count("\n") == 1 and "different machines" in err and "Traceback" not in err
    code, out, _ = run_cli("compare", str(paths["base"]), str(paths["other"]), "--force")
    assert code == 0 and "forced across machines" in out
    code, _, err = run_cli("compare", str(paths["base"]), str(tmp_path / "nope.json"))
    assert code == 2 and "not found" in err


def test_a_file_with_medians_only_says_which_option_writes_the_samples(tmp_path):
    """pytest-benchmark's --benchmark-autosave files hold each benchmark's statistics but not its rounds: every row
    read 'too few samples ... measure longer (more samples)', advice that could never help. The note now says the
    samples were not written and which option writes them."""
    pb = {"machine_info": {"node": "n", "machine": "x86_64", "cpu": {"brand_raw": "Test CPU", "count": 2}},
          "commit_info": {"id": "c" * 40}, "datetime": "2025-11-21T09:00:00+00:00", "version": "5.1.0",
          "benchmarks": [{"group": None, "name": "test_step", "fullname": "b.py::test_step", "params": None,
                          "param": None, "extra_info": {}, "options": {},
                          "stats": {"min": 1.0, "max": 1.2, "mean": 1.1, "stddev": 0.05, "rounds": 12,
                                    "median": 1.1, "iterations": 1}}]}
    base, cand = tmp_path / "0001.json", tmp_path / "0002.json"
    base.write_text(json.dumps(pb))
    pb["benchmarks"][0]["stats"]["median"] = 1.5
    cand.write_text(json.dumps(pb))
    code, out, err = run_cli("compare", str(base), str(cand), "--json")
    report = json.loads(out)
    assert code == 0 and report["rows"][0]["verdict"] == TOO_FEW, err
    assert report["notes"][1:] == ["test_step: a file holds its median only, not the samples behind it, so no test "
                                   "can gate it: write the rounds too (pytest-benchmark: --benchmark-json, or "
                                   "--benchmark-save-data with --benchmark-save/--benchmark-autosave)"]


def test_a_p_value_too_small_to_mean_anything_is_shown_as_a_bound_not_zero(tmp_path):
    """With many samples a side and a large change the normal approximation's p is astronomically small (1.7e-131
    here) and, with thousands of samples, underflows to exactly 0.0: the table printed '1.7e-131' or '0', digits that
    say nothing the verdict does not. It shows a bound; --json keeps the float."""
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    write_result(make_run([rate("sha256d[cython-avx2-x1]", noisy(1e7, 400, 1, cv=0.001))]), base)
    write_result(make_run([rate("sha256d[cython-avx2-x1]", noisy(0.5e7, 400, 2, cv=0.001))]), cand)
    code, out, _ = run_cli("compare", str(base), str(cand), "--json")
    (row,) = json.loads(out)["rows"]
    assert code == 1 and row["verdict"] == SLOWER and row["p_value"] < 1e-4
    code, out, _ = run_cli("compare", str(base), str(cand))
    line = next(line for line in out.splitlines() if "sha256d" in line)
    assert code == 1 and "<1e-4" in line and " 0 " not in line


# --- pinned by mutation testing: the gate's edges, every JSON key and every message, figures checked by hand ---------

def test_gate_refuses_a_threshold_of_100_percent_and_an_alpha_of_0_or_1_by_name():
    for threshold in (1.0, 1.5):
        with pytest.raises(InputError, match="^threshold must be between 0 and 100%, got "):
            Gate(threshold)
    for alpha, shown in ((0.0, "0.0"), (1.0, "1.0"), (1.5, "1.5")):
        with pytest.raises(InputError) as err:
            Gate(alpha=alpha)
        assert str(err.value) == f"alpha must be between 0 and 1, got {shown}"
    assert Gate(0.999, 0.999).alpha == 0.999


@pytest.mark.parametrize("text, message", [
    # a bare number is a fraction, as for every share hashbench reads: 0.99 was 99 % and 1 was 1 %
    ("5", "--threshold must be more than 0 and less than 100%, got '5' (a percentage is written with %: 5%)"),
    ("1", "--threshold must be more than 0 and less than 100%, got '1' (a percentage is written with %: 1%)"),
    ("150", "--threshold must be more than 0 and less than 100%, got '150'"),
    ("0", "--threshold must be more than 0 and less than 100%, got '0'"),
    ("100%", "--threshold must be more than 0 and less than 100%, got '100%'"),
    ("150%", "--threshold: '150%' is more than 100%"),  # what was typed, not 1.5
])
def test_threshold_out_of_range_names_what_was_typed(text, message):
    with pytest.raises(InputError) as info:
        parse_threshold(text)
    assert str(info.value) == message


def test_threshold_with_a_stray_letter_is_refused_not_read():
    with pytest.raises(InputError, match=r"^--threshold: cannot read '5X' as a fraction \(0.8\) or a percentage"):
        parse_threshold("5X")


def test_estimated_change_is_a_ratio_for_positive_samples_by_hand():
    # log ratios cand/base: 0.5, 1.5, 0.25, 0.75 -> median of the logs is log sqrt(0.5 * 0.75); a difference
    # estimate would give 1 - 0.2 / 0.6 instead
    assert estimated_change([0.4, 0.8], [0.2, 0.6], True) == pytest.approx(math.sqrt(0.375) - 1)
    assert estimated_change([0.4, 0.8], [0.2, 0.6], False) == pytest.approx(1 - math.sqrt(0.375))


def test_estimated_change_is_a_shift_over_the_base_median_when_a_sample_is_not_positive():
    # differences cand - base over (-1, 2, 3) x (1, 3, 5): -2 -1 0 1 [2] 2 3 4 6, median 2; base median 2: ratio 2
    assert estimated_change([-1, 2, 3], [1, 3, 5], True) == pytest.approx(1.0)
    assert estimated_change([-1, 2, 3], [1, 3, 5], False) == pytest.approx(-1.0)
    # a zero on either side, positive elsewhere: no logarithm is taken. (1,2,3) x (0,2,4): median difference 0
    assert estimated_change([1, 2, 3], [0, 2, 4], True) == 0.0
    assert estimated_change([0, 2, 4], [1, 2, 3], True) == 0.0
    # a base median of 0 has no fraction to give: no change, not a division by zero
    assert estimated_change([-1, 0, 1], [1, 2, 3], True) == 0.0
    # a negative base median: the shift is still measured against its size, so the sign keeps its meaning. Base
    # (-3, -2, -1), candidate (-2, -1, 0): every value 1 higher, 50 % of |-2| -- better where higher is better, worse
    # where lower is (it read +50 %, better, for a lower-is-better candidate that had risen)
    assert estimated_change([-3, -2, -1], [-2, -1, 0], True) == pytest.approx(0.5)
    assert estimated_change([-3, -2, -1], [-2, -1, 0], False) == pytest.approx(-0.5)


def test_thin_keeps_evenly_spaced_order_statistics():
    assert thin([9, 3, 1, 7, 5, 0, 2, 4, 6, 8], keep=4) == [0, 3, 6, 9]
    assert thin([3, 1, 2], keep=3) == [1, 2, 3]


def test_interference_fences_by_hand():
    # q1 = median(8.4, 14, 15, 16) = 14.5, q3 = median(17, 18, 19, 24.5) = 18.5: fences 14.5 - 6 and 18.5 + 6
    rates = [24.5, 8.4, 14, 15, 16, 17, 18, 19]
    assert without_interference(rates, True) == [24.5, 14, 15, 16, 17, 18, 19]  # 8.4 is below 8.5
    assert without_interference([8.5 if v == 8.4 else v for v in rates], True) == [24.5, 8.5, 14, 15, 16, 17, 18, 19]
    times = [8.5, 14, 15, 16, 17, 18, 19, 24.6]
    assert without_interference(times, False) == [8.5, 14, 15, 16, 17, 18, 19]  # 24.6 is above 24.5
    assert without_interference([24.5 if v == 24.6 else v for v in times], False) == [8.5, 14, 15, 16, 17, 18, 19, 24.5]


def test_the_candidates_preempted_samples_are_fenced_on_its_slow_side_too():
    samples = (24.5, 8.4, 14, 15, 16, 17, 18, 19)  # one slow scan (8.4) below the fence, one fast one on it
    row = compare_measurements(rate("a", samples), rate("a", samples), Gate())
    assert (row.n_base, row.n_cand, row.outliers_base, row.outliers_cand) == (7, 7, 1, 1)


def test_a_sample_that_is_no_speed_or_time_is_refused_by_name():
    with pytest.raises(InputError) as err:
        compare_measurements(rate("a", (1.0, 0.0, 2.0)), rate("a", (1.0, 2.0, 3.0)), Gate())
    assert str(err.value) == "a: a sample of 0 H/s is not a speed or a time to compare (it must be > 0)"
    t = Measurement("t", "timing", "s", samples=(1.0, 2.0, 3.0))
    with pytest.raises(InputError) as err:
        compare_measurements(t, Measurement("t", "timing", "s", samples=(1.0, -1.0, 3.0)), Gate())
    assert str(err.value) == "t: a sample of -1 s is not a speed or a time to compare (it must be > 0)"
    # an energy may cross zero (a difference of meters): compared as a shift, lower is better
    e = compare_measurements(Measurement("e", "probe", "J/token", samples=(-1.0, 2.0, 3.0)),
                             Measurement("e", "probe", "J/token", samples=(1.0, 3.0, 5.0)), Gate())
    assert e.change == pytest.approx(-1.0)
    with pytest.raises(InputError) as err:
        compare_measurements(rate("a", (1.0,)), t, Gate())
    assert str(err.value) == "a: units differ (H/s vs s)"


def test_effect_is_the_probability_in_the_direction_of_the_change_by_hand():
    # cand (5, 15, 25) vs base (10, 20, 30): log-ratio median 0.75, -25 %; P(cand < base) = 6 of 9 pairs; U of the
    # candidate = 3 (15 > 10, 25 > 10, 25 > 20), P(U <= 3) over the 20 splits of six = (1 + 1 + 2 + 3) / 20
    slow = compare_measurements(rate("a", (10, 20, 30)), rate("a", (5, 15, 25)), Gate())
    assert (slow.verdict, slow.change, slow.effect, slow.p_value) == (
        TOO_FEW, pytest.approx(-0.25), pytest.approx(2 / 3), pytest.approx(0.35))
    fast = compare_measurements(rate("a", (5, 15, 25)), rate("a", (10, 20, 30)), Gate())
    assert (fast.change, fast.effect, fast.p_value) == (pytest.approx(1 / 3), pytest.approx(2 / 3), pytest.approx(0.35))
    # the same for times: each time 20 % longer, -20 %; the candidate's time is the longer in 6 pairs of 9
    t = compare_measurements(Measurement("t", "timing", "s", samples=(1.0, 2.0, 3.0)),
                             Measurement("t", "timing", "s", samples=(1.2, 2.4, 3.6)), Gate())
    assert t.change == pytest.approx(-0.2) and t.effect == pytest.approx(2 / 3)


def test_no_change_at_all_reports_the_chance_the_candidate_is_better():
    # log ratios of (1, 2, 10) over (1, 2, 3): median exactly log 1; P(cand > base) with ties as 1/2 = 5 / 9
    row = compare_measurements(rate("a", (1, 2, 3)), rate("a", (1, 2, 10)), Gate())
    assert (row.verdict, row.change, row.effect) == (UNCHANGED, 0.0, pytest.approx(5 / 9))
    assert row.p_value == mannwhitneyu([1, 2, 10], [1, 2, 3], "greater").p_value


def test_a_change_of_exactly_the_threshold_is_gated():
    row = compare_measurements(rate("a", (1.0,) * 4), rate("a", (0.5,) * 4), Gate(threshold=0.5))
    assert (row.change, row.verdict, row.p_value) == (-0.5, SLOWER, pytest.approx(1 / 70))


def test_three_samples_a_side_cannot_reach_alpha_005_and_say_so():
    # complete separation: p = 1 / C(6, 3) = 0.05, which is not < 0.05
    row = compare_measurements(rate("a", (10, 11, 12)), rate("a", (5, 6, 7)), Gate())
    assert (row.verdict, row.p_value) == (TOO_FEW, 0.05)


def test_a_p_value_of_exactly_alpha_does_not_confirm():
    # one pair of 16 out of order: one-sided p = P(U <= 1) = 2 / C(8, 4) = 2 / 70
    gate = Gate(alpha=2 / 70)
    slow = compare_measurements(rate("a", (10, 11, 12, 13)), rate("a", (5, 6, 7, 10.5)), gate)
    assert (slow.verdict, slow.p_value) == (SLOWER_UNCONFIRMED, 2 / 70)
    fast = compare_measurements(rate("a", (5, 6, 7, 10.5)), rate("a", (10, 11, 12, 13)), gate)
    assert (fast.verdict, fast.p_value) == (FASTER_UNCONFIRMED, 2 / 70)
    assert compare_measurements(rate("a", (5, 6, 7, 10.5)), rate("a", (10, 11, 12, 13)), Gate()).verdict == FASTER


def test_row_and_report_json_keys_and_values():
    row = Row("a", "H/s", SLOWER, base=10.0, cand=8.0, change=-0.2, p_value=0.01, effect=0.9, n_base=5, n_cand=6,
              outliers_base=1, outliers_cand=2)
    assert row.to_json() == {"name": "a", "unit": "H/s", "verdict": "slower", "base": 10.0, "cand": 8.0,
                             "ratio": 0.8, "change": -0.2, "p_value": 0.01, "effect": 0.9, "n_base": 5,
                             "n_cand": 6, "outliers_base": 1, "outliers_cand": 2}
    report = CompareReport("b.json", "c.json", "f" * 16, Gate(0.1, 0.01, False), (row,), ("n",), True, ("x",))
    assert report.to_json() == {"base": "b.json", "candidate": "c.json", "fingerprint": "f" * 16, "threshold": 0.1,
                                "alpha": 0.01, "drop_outliers": False, "forced": True, "regressions": 1,
                                "failures": ["x"], "rows": [row.to_json()], "notes": ["n"]}
    assert Row("a", "H/s", ONLY_BASE, base=0.0, cand=1.0).ratio is None


def test_compare_runs_labels_fingerprint_and_rows_in_one_run_only():
    base = make_run([rate("a", noisy(1e7, 10, 1)), rate("b", (1.0, 3.0, 2.0))])
    cand = make_run([rate("a", noisy(1e7, 10, 2)), rate("c", (4.0, 6.0, 5.0))], host=OTHER_HOST)
    report = compare_runs(base, cand, force=True)
    assert (report.base_label, report.cand_label, report.fingerprint) == ("base", "candidate", cand.fingerprint)
    assert report.fingerprint != base.fingerprint
    assert report.rows[1:] == (Row("b", "H/s", ONLY_BASE, base=2.0), Row("c", "H/s", ONLY_CAND, cand=5.0))


def test_different_machines_message_lists_every_difference():
    cand = make_run([rate("a", noisy(1e7, 10, 2))], host=replace(HOST, cpu_model="Other", logical_cpus=4))
    with pytest.raises(FingerprintMismatch) as err:
        compare_runs(make_run([rate("a", noisy(1e7, 10, 1))]), cand)
    assert str(err.value) == (
        "base and candidate were measured on different machines (cpu_model: 'Test CPU 9000' vs 'Other'; "
        "logical_cpus: 2 vs 4); a different machine is not a code change: compare runs from one machine, or pass "
        "--force")


def test_a_record_without_the_cpu_id_is_not_taken_for_the_same_cpu():
    older = make_run([rate("a", noisy(1e7, 10, 1))], host=replace(HOST, cpu_model="AMD EPYC"))
    newer = make_run([rate("a", noisy(1e7, 10, 2))],
                     host=replace(HOST, cpu_model="AMD EPYC", cpu_id="AuthenticAMD family 25 model 1 stepping 1"))
    for base, cand, which in ((older, newer, "base"), (newer, older, "candidate")):
        with pytest.raises(FingerprintMismatch) as err:
            compare_runs(base, cand)
        assert str(err.value).startswith(
            f"{which} was recorded without the CPU's family/model/stepping (cpu_id: ") and str(err.value).endswith(
            "so nothing says base and candidate ran on the same CPU (a model name such as 'AMD EPYC' can cover "
            "several generations): measure the base again, or pass --force if you know it is the same machine")
        assert any("forced across machines: cpu_id: " in n for n in compare_runs(base, cand, force=True).notes)
    # a CPU id on both sides that differs: another machine, said as such
    zen1 = make_run([rate("a", noisy(1e7, 10, 2))],
                    host=replace(newer.host, cpu_id="AuthenticAMD family 23 model 1 stepping 2"))
    with pytest.raises(FingerprintMismatch, match="measured on different machines .cpu_id: "):
        compare_runs(newer, zen1)


SAME_COMMIT = "both runs come from the same commit: any difference is noise or conditions"


@pytest.mark.parametrize("base_host, cand_host, said", [
    (HOST, HOST, True),
    (HOST, replace(HOST, git_commit="b" * 40), False),
    (HOST, replace(HOST, git_dirty=True), False),
    (replace(HOST, git_dirty=True), HOST, False),
    (replace(HOST, git_commit=""), replace(HOST, git_commit=""), False),
])
def test_the_same_commit_note_only_for_one_clean_commit(base_host, cand_host, said):
    base = make_run([rate("a", noisy(1e7, 10, 1))], host=base_host)
    notes = compare_runs(base, make_run([rate("a", noisy(1e7, 10, 2))], host=cand_host)).notes
    assert (SAME_COMMIT in notes) is said


def test_runs_with_nothing_in_common_are_refused_by_label():
    with pytest.raises(InputError) as err:
        compare_runs(make_run([rate("a", (1.0,))]), make_run([rate("b", (1.0,))]), base_label="x", cand_label="y")
    assert str(err.value) == "x and y have no benchmark in common: nothing to compare"


def test_incomplete_and_unverified_messages_in_full():
    base = make_run([rate("a", noisy(1e7, 10, 1))])
    cand = make_run([rate("a", noisy(1e7, 10, 2))], checks=[Check("cython", "avx2", 4, False, ("wrong",))])
    cand.complete = False
    report = compare_runs(base, cand)
    assert report.notes == ("both runs come from the same commit: any difference is noise or conditions",
                            "candidate is an incomplete run (stopped before it finished): every benchmark of the other "
                            "run is in it")
    assert report.failures == ("candidate: cython (avx2) failed verification on real block headers (wrong nonces): "
                               "its rows time a kernel that gives wrong answers",)


def test_too_few_and_median_only_notes_in_full():
    base = make_run([Measurement("m", "timing", "s", value=1.0), Measurement("n", "timing", "s", value=1.0),
                     rate("r", (10, 11))])
    cand = make_run([Measurement("m", "timing", "s", value=2.0), Measurement("n", "timing", "s", value=2.0),
                     rate("r", (5, 6))])
    notes = compare_runs(base, cand).notes
    assert notes[1:] == (
        "m, n: a file holds its median only, not the samples behind it, so no test can gate it: write the rounds "
        "too (pytest-benchmark: --benchmark-json, or --benchmark-save-data with --benchmark-save/--benchmark-autosave)",
        "some benchmarks have too few samples for any test to reach p < 0.05: measure longer (more samples) to gate "
        "them")
