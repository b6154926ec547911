"""The statistics behind results and the compare gate, in plain Python (no scipy needed at run time).

Quartiles follow pytest-benchmark's definitions (Wikipedia's methods 2 and 3), so a file hashbench writes shows the
same q1/q3/iqr that pytest-benchmark itself would compute from the same data. The Mann-Whitney U test is exact
for up to EXACT_MAX_N samples a side, ties included (the permutation distribution of the rank sum, counted), and
the normal approximation with tie and continuity correction beyond: scipy.stats.mannwhitneyu's choices, except
that scipy falls back to the approximation whenever there are ties."""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Exact null distribution up to this many samples per side (the table has n1*n2+1 entries per state).
EXACT_MAX_N = 20


@dataclass(frozen=True)
class Summary:
    """pytest-benchmark's `stats` fields for one list of numbers."""

    n: int
    min: float
    max: float
    mean: float
    stddev: float
    median: float
    q1: float
    q3: float
    iqr: float
    iqr_outliers: int
    stddev_outliers: int
    ld15iqr: float
    hd15iqr: float
    total: float


def quartiles(data: Sequence[float]) -> tuple[float, float]:
    """(q1, q3): the median of each half for an even count, the 1/4-3/4 interpolation for an odd one."""
    s = sorted(data)
    n = len(s)
    if n == 1:
        return s[0], s[0]
    if n % 2 == 0:
        return statistics.median(s[: n // 2]), statistics.median(s[n // 2:])
    k, r = divmod(n, 4)
    if r == 1:
        return 0.25 * s[k - 1] + 0.75 * s[k], 0.75 * s[3 * k] + 0.25 * s[3 * k + 1]
    return 0.75 * s[k] + 0.25 * s[k + 1], 0.25 * s[3 * k + 1] + 0.75 * s[3 * k + 2]


def summarize(data: Sequence[float]) -> Summary:
    if not data:
        raise ValueError("no data to summarize")
    s = sorted(data)
    n = len(s)
    mean = statistics.mean(s)  # as pytest-benchmark computes it: fmean rounds differently near a tie
    sd = statistics.stdev(s) if n > 1 else 0.0
    q1, q3 = quartiles(s)
    iqr = q3 - q1
    lo_fence, hi_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    return Summary(
        n=n, min=s[0], max=s[-1], mean=mean, stddev=sd, median=statistics.median(s), q1=q1, q3=q3, iqr=iqr,
        iqr_outliers=sum(1 for v in s if v < lo_fence or v > hi_fence),
        stddev_outliers=sum(1 for v in s if v < mean - sd or v > mean + sd),
        # Tukey's whisker ends: the most extreme data still inside the 1.5 IQR fences (lo_fence <= q1 <= max and
        # hi_fence >= q3 >= min, so both indices exist, one value included).
        ld15iqr=s[bisect_left(s, lo_fence)],
        hd15iqr=s[bisect_right(s, hi_fence) - 1],
        total=math.fsum(s))


# --- Mann-Whitney U ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UTest:
    u: float  # U of the first sample: pairs (x, y) with x > y, ties counted 1/2
    p_value: float
    method: str  # "exact" | "normal"
    n1: int
    n2: int

    @property
    def effect(self) -> float:
        """Vargha-Delaney A: the probability that a random x beats a random y (0.5 = no effect)."""
        return self.u / (self.n1 * self.n2)


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) and the sizes of tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mid = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = mid
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


@lru_cache(maxsize=256)
def _rank_sum_counts(doubled: tuple[int, ...], n1: int) -> tuple[int, ...]:
    """How many of the C(N, n1) ways to pick the first sample's n1 ranks out of the pooled `doubled` mid-ranks
    (times two, so ties' half ranks stay integers) give each doubled rank sum 0, 1, ..., sum(doubled): the exact
    null distribution of U, ties included, conditional on the ties as a permutation test has it.

    Generating functions: counts[k] is a polynomial in z (one coefficient per sum), held as one big integer with
    `width` bits per coefficient; taking a rank r into the subset multiplies by z^r, a shift."""
    n = len(doubled)
    width = math.comb(n, n // 2).bit_length() + 1  # no coefficient can exceed C(n, n/2): no carry between them
    counts = [1] + [0] * n1  # counts[k]: subsets of size k of the ranks seen so far
    for i, rank in enumerate(doubled):
        for k in range(min(i + 1, n1), 0, -1):
            counts[k] += counts[k - 1] << (rank * width)
    poly, mask = counts[n1], (1 << width) - 1
    return tuple((poly >> (total * width)) & mask for total in range(sum(doubled) + 1))


def mannwhitneyu(x: Sequence[float], y: Sequence[float], alternative: str = "two-sided") -> UTest:
    """Tests whether x tends to be greater ("greater"), smaller ("less") or either than y."""
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"unknown alternative {alternative!r}")
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks(list(x) + list(y))
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    if n1 <= EXACT_MAX_N and n2 <= EXACT_MAX_N:
        # Exact, ties or not: with ties (timings on a coarse clock) the normal approximation's p is up to half the
        # true one at these sizes, so a gate would fail on evidence the data do not hold.
        counts = _rank_sum_counts(tuple(sorted(round(2 * r) for r in ranks)), n1)
        total = math.comb(n1 + n2, n1)
        d1 = round(2 * sum(ranks[:n1]))
        p_greater = sum(counts[d1:]) / total  # P(U >= u1)
        p_less = sum(counts[: d1 + 1]) / total  # P(U <= u1)
        p = {"greater": p_greater, "less": p_less, "two-sided": min(1.0, 2 * min(p_greater, p_less))}[alternative]
        return UTest(u1, p, "exact", n1, n2)
    n = n1 + n2
    mu = n1 * n2 / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1))  # n >= 2: both samples have a value
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:  # every value equal: no evidence either way
        return UTest(u1, 1.0, "normal", n1, n2)
    if alternative == "greater":
        z = (u1 - mu - 0.5) / sigma
        p = _norm_sf(z)
    elif alternative == "less":
        z = (u1 - mu + 0.5) / sigma
        p = _norm_sf(-z)
    else:
        z = (abs(u1 - mu) - 0.5) / sigma
        p = min(1.0, 2 * _norm_sf(z))
    return UTest(u1, p, "normal", n1, n2)


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def min_one_sided_p(n1: int, n2: int) -> float:
    """The smallest one-sided p any data can give: complete separation, 1 / C(n1+n2, n1)."""
    return 1 / math.comb(n1 + n2, n1)


def hodges_lehmann(x: Sequence[float], y: Sequence[float]) -> float:
    """Median of all pairwise differences x - y: a shift estimate that outliers cannot drag."""
    return statistics.median([a - b for a in x for b in y])
