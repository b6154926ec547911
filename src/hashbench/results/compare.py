"""Compare two runs benchmark by benchmark, and gate on regressions a statistician would sign.

A benchmark is flagged SLOWER (and the gate fails) only when both hold:
  1. the minimum effect size: the estimated change is worse than --threshold (a difference too small to matter
     never fails a build, however certain). The estimate is the Hodges-Lehmann ratio, the median of all
     candidate/base sample ratios: the estimator that belongs to the U test, and on a shared machine several
     times steadier than the ratio of the two medians (which is shown too);
  2. significance: a one-sided Mann-Whitney U test on the raw samples says the candidate is worse, p < alpha (a
     difference the noise could have made never fails a build); rank-based, so preempted samples cannot decide
     it, and no normality is assumed.
Each row also shows the Vargha-Delaney A: the probability that a random candidate sample is worse than a random
base sample (0.5 means no effect).

Interference only ever slows a benchmark down: a scan the scheduler preempted is slow for a reason that is not the
code. So before estimating and testing, each side's samples beyond Tukey's fence on the bad side (a rate below
Q1 - 1.5 IQR, a time above Q3 + 1.5 IQR) are set aside and counted in the row; a real regression moves the whole
distribution, fences included, and stays in. --keep-outliers turns this off.
Changes beyond the threshold that the test cannot confirm are shown as "slower?" and do not fail. When the
samples are so few that no data could reach p < alpha, the row says so instead of passing silently.

Runs from different machines (host fingerprints) are refused unless forced: a faster CPU is not a faster kernel.
Same-machine differences that move speed anyway (governor, turbo, driver, package versions) are listed."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from ..cpuload import shared_note
from ..errors import InputError
from ..units import parse_fraction
from .schema import Measurement, RunResult
from .stats import hodges_lehmann, mannwhitneyu, min_one_sided_p, quartiles

DEFAULT_THRESHOLD = 0.05
DEFAULT_ALPHA = 0.05
THIN_TO = 400  # samples per side for the all-pairs estimate (400² = 160,000 pairs)

SLOWER, FASTER, UNCHANGED = "slower", "faster", "unchanged"
SLOWER_UNCONFIRMED, FASTER_UNCONFIRMED = "slower?", "faster?"
TOO_FEW, ONLY_BASE, ONLY_CAND = "too few samples", "only in base", "only in candidate"


class FingerprintMismatch(InputError):
    """BASE and CAND were measured on different machines."""


@dataclass(frozen=True)
class Row:
    name: str
    unit: str
    verdict: str
    base: float | None = None  # medians
    cand: float | None = None
    change: float | None = None  # Hodges-Lehmann estimate: + better, - worse, as a fraction of the base
    p_value: float | None = None  # one-sided, in the direction of the estimated change
    effect: float | None = None  # Vargha-Delaney A in that direction
    n_base: int = 0  # samples tested (after setting outliers aside)
    n_cand: int = 0
    outliers_base: int = 0
    outliers_cand: int = 0

    @property
    def ratio(self) -> float | None:
        return None if self.base in (None, 0) or self.cand is None else self.cand / self.base

    def to_json(self) -> dict:
        return {"name": self.name, "unit": self.unit, "verdict": self.verdict, "base": self.base, "cand": self.cand,
                "ratio": self.ratio, "change": self.change, "p_value": self.p_value, "effect": self.effect,
                "n_base": self.n_base, "n_cand": self.n_cand, "outliers_base": self.outliers_base,
                "outliers_cand": self.outliers_cand}


@dataclass(frozen=True)
class Gate:
    threshold: float = DEFAULT_THRESHOLD  # the minimum effect size, as a fraction of the base median
    alpha: float = DEFAULT_ALPHA
    drop_outliers: bool = True  # interference outliers on the slow side (see the module docstring)

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise InputError(f"threshold must be between 0 and 100%, got {self.threshold:.4g}")
        if not 0 < self.alpha < 1:
            raise InputError(f"alpha must be between 0 and 1, got {self.alpha}")


@dataclass(frozen=True)
class CompareReport:
    base_label: str
    cand_label: str
    fingerprint: str
    gate: Gate
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = field(default=())
    forced: bool = False
    # What fails the gate besides a slowdown: the candidate gave wrong nonces, or stopped before measuring benchmarks
    # the base has (a gate that passed it would pass a run that never measured them).
    failures: tuple[str, ...] = field(default=())

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == SLOWER]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions or self.failures else 0

    def to_json(self) -> dict:
        return {"base": self.base_label, "candidate": self.cand_label, "fingerprint": self.fingerprint,
                "threshold": self.gate.threshold, "alpha": self.gate.alpha,
                "drop_outliers": self.gate.drop_outliers, "forced": self.forced, "regressions": len(self.regressions),
                "failures": list(self.failures),
                "rows": [r.to_json() for r in self.rows], "notes": list(self.notes)}


def parse_threshold(text: str) -> float:
    """"5%" or "0.05" -> 0.05, as every share hashbench reads. A bare 5 is refused, not read as 5 %: the rule that
    read a bare number of 1 or more as percent made 0.99 mean 99 % and 1 mean 1 %."""
    value = parse_fraction(text, "--threshold")
    if not 0 < value < 1:
        bare = not text.strip().endswith("%")
        hint = f" (a percentage is written with %: {value:g}%)" if bare and 1 <= value <= 100 else ""
        raise InputError(f"--threshold must be more than 0 and less than 100%, got {text.strip()!r}{hint}")
    return value


def estimated_change(base: list[float], cand: list[float], higher_is_better: bool) -> float:
    """The Hodges-Lehmann change as a fraction of the base, in the benchmark's own unit, oriented so that + is
    better: for positive samples (every speed and time) the median of all log(cand/base) ratios, i.e. a ratio
    estimate; otherwise the median pairwise difference relative to the size of the base median (a negative median
    would flip the sign). A rate 10 % lower and a time 10 % longer are both -10 %: the threshold means what
    --threshold says for either kind (as pytest-benchmark's --benchmark-compare-fail does for times), and the sign
    agrees with the ratio column."""
    if min(cand) > 0 and min(base) > 0:
        ratio = math.exp(hodges_lehmann([math.log(v) for v in thin(cand)], [math.log(v) for v in thin(base)]))
    else:
        mid = statistics.median(base)
        ratio = 1 + hodges_lehmann(thin(cand), thin(base)) / abs(mid) if mid else 1.0
    return ratio - 1 if higher_is_better else 1 - ratio


def thin(values, keep: int = THIN_TO) -> list[float]:
    """At most `keep` evenly spaced order statistics: keeps the all-pairs estimate at O(keep²) for long runs."""
    s = sorted(values)
    if len(s) <= keep:
        return s
    return [s[round(i * (len(s) - 1) / (keep - 1))] for i in range(keep)]


def without_interference(samples: list[float], higher_is_better: bool) -> list[float]:
    """The samples inside Tukey's fence on the slow side (below Q1 - 1.5 IQR for a rate, above Q3 + 1.5 IQR for a
    time); fewer than four samples have no quartiles worth the name and are kept whole."""
    if len(samples) < 4:
        return list(samples)
    q1, q3 = quartiles(samples)
    if higher_is_better:
        return [v for v in samples if v >= q1 - 1.5 * (q3 - q1)]
    return [v for v in samples if v <= q3 + 1.5 * (q3 - q1)]


def compare_measurements(base: Measurement, cand: Measurement, gate: Gate) -> Row:
    if base.unit != cand.unit:
        raise InputError(f"{base.name}: units differ ({base.unit} vs {cand.unit})")
    better = base.higher_is_better
    y_all, x_all = list(base.samples or (base.value,)), list(cand.samples or (cand.value,))
    if (better or base.unit == "s") and min(y_all + x_all) <= 0:
        raise InputError(f"{base.name}: a sample of {min(y_all + x_all):g} {base.unit} is not a speed or a time to "
                         "compare (it must be > 0)")
    y, x = (without_interference(y_all, better), without_interference(x_all, better)) if gate.drop_outliers else (
        y_all, x_all)
    change = estimated_change(y, x, better)
    row = {"name": base.name, "unit": base.unit, "base": base.value, "cand": cand.value, "change": change,
           "n_base": len(y), "n_cand": len(x), "outliers_base": len(y_all) - len(y),
           "outliers_cand": len(x_all) - len(x)}
    worse = change < 0
    # Orient the samples so that "greater" means better: speeds as they are, times negated.
    sign = 1 if better else -1
    test = mannwhitneyu([sign * v for v in x], [sign * v for v in y], alternative="less" if worse else "greater")
    effect = 1 - test.effect if worse else test.effect  # P(cand worse) when worse, P(cand better) otherwise
    row.update(p_value=test.p_value, effect=effect)
    if abs(change) < gate.threshold:
        return Row(verdict=UNCHANGED, **row)
    if min_one_sided_p(len(x), len(y)) >= gate.alpha:
        return Row(verdict=TOO_FEW, **row)
    confirmed = test.p_value < gate.alpha
    if worse:
        return Row(verdict=SLOWER if confirmed else SLOWER_UNCONFIRMED, **row)
    return Row(verdict=FASTER if confirmed else FASTER_UNCONFIRMED, **row)


def compare_runs(base: RunResult, cand: RunResult, gate: Gate | None = None, *, force: bool = False,
                 base_label: str = "base", cand_label: str = "candidate") -> CompareReport:
    gate = gate or Gate()
    notes, failures = [], []
    if base.fingerprint != cand.fingerprint:
        diffs = "; ".join(base.host.machine_differences(cand.host)) or "fingerprints differ"
        if not force and base.host.unmatched_cpu_id(cand.host):
            older = base_label if not base.host.cpu_id else cand_label
            raise FingerprintMismatch(
                f"{older} was recorded without the CPU's family/model/stepping ({diffs}), so nothing says "
                f"{base_label} and {cand_label} ran on the same CPU (a model name such as {base.host.cpu_model!r} "
                "can cover several generations): measure the base again, or pass --force if you know it is the same "
                "machine")
        elif not force:
            raise FingerprintMismatch(
                f"{base_label} and {cand_label} were measured on different machines ({diffs}); a different machine "
                "is not a code change: compare runs from one machine, or pass --force")
        notes.append(f"forced across machines: {diffs}")
    notes += [f"conditions differ: {d}" for d in base.host.condition_differences(cand.host)]
    if base.host.git_commit and base.host.git_commit == cand.host.git_commit and not (
            base.host.git_dirty or cand.host.git_dirty):
        notes.append("both runs come from the same commit: any difference is noise or conditions")
    names = list(dict.fromkeys([m.name for m in base.measurements] + [m.name for m in cand.measurements]))
    rows = []
    for name in names:
        b, c = base.measurement(name), cand.measurement(name)
        if b is None or c is None:
            present = b or c
            rows.append(Row(name, present.unit, ONLY_CAND if b is None else ONLY_BASE,
                            base=b.value if b else None, cand=c.value if c else None))
            continue
        rows.append(compare_measurements(b, c, gate))
    if all(r.verdict in (ONLY_BASE, ONLY_CAND) for r in rows):
        # Nothing was compared, so "no regression" would be a gate that cannot fail (a broken or empty candidate).
        raise InputError(f"{base_label} and {cand_label} have no benchmark in common: nothing to compare")
    for run, label, only_other in ((base, base_label, ONLY_CAND), (cand, cand_label, ONLY_BASE)):
        # The candidate's own faults fail the gate; the base's only qualify what it is compared with.
        said = failures if run is cand else notes
        if not run.complete:  # its missing rows are the run's stop, not a benchmark removed from the code
            missing = [r.name for r in rows if r.verdict == only_other]
            (said if missing else notes).append(
                f"{label} is an incomplete run (stopped before it finished): "
                + (f"{len(missing)} benchmark(s) missing from it, not compared: {', '.join(missing)}"
                   if missing else "every benchmark of the other run is in it"))
        # A backend the run skipped (numba not installed, the C kernels not built, no torch for the probes) is
        # missing from a run that still finished: for the candidate, a broken build the gate must not pass.
        skipped = {s.what: s.reason for s in run.skipped}
        other = base if run is cand else cand
        gone: dict[str, list[str]] = {}
        for r in (r for r in rows if r.verdict == only_other):
            params = other.measurement(r.name).params
            what = params.get("backend") or ("ai-probes" if "probe" in params else None)
            if what in skipped:
                gone.setdefault(what, []).append(r.name)
        for what, missing in gone.items():
            said.append(f"{label} skipped {what} ({skipped[what]}): {len(missing)} benchmark(s) of the other run not "
                        f"measured: {', '.join(missing)}")
        for check in run.checks:
            if not check.passed:
                said.append(f"{label}: {check.backend} ({check.impl}) failed verification on real block headers "
                            "(wrong nonces): its rows time a kernel that gives wrong answers")
        # A slower row whose run shared its CPUs with other work may be that work, not the code.
        if shared := shared_note([(m.name, m.cpu_load) for m in run.measurements], "benchmarks"):
            notes.append(f"{label}: {shared}")
    too_few = [r.name for r in rows if r.verdict == TOO_FEW]
    # A file that kept the median alone (pytest-benchmark's --benchmark-save/--benchmark-autosave without
    # --benchmark-save-data) has its rounds measured but not written: measuring longer would not help.
    medians_only = [name for name in too_few for run in (base, cand) if not run.measurement(name).samples]
    if medians_only:
        notes.append(f"{', '.join(dict.fromkeys(medians_only))}: a file holds its median only, not the samples "
                     "behind it, so no test can gate it: write the rounds too (pytest-benchmark: --benchmark-json, "
                     "or --benchmark-save-data with --benchmark-save/--benchmark-autosave)")
    if len(set(medians_only)) < len(too_few):
        notes.append(f"some benchmarks have too few samples for any test to reach p < {gate.alpha}: "
                     "measure longer (more samples) to gate them")
    return CompareReport(base_label, cand_label, cand.fingerprint, gate, tuple(rows), tuple(notes), force,
                         tuple(failures))
