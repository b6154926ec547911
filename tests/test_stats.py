"""results/stats.py by hand: the IQR and stddev fences at and beyond their edges, the quartile interpolations, and
the Mann-Whitney U test's branches (exact or normal, the all-equal case, the cap of p at 1) with figures a normal
table checks. tests/test_results_compare.py cross-checks the same functions against scipy on random data."""

from __future__ import annotations

import math

import pytest

from hashbench.results.stats import UTest, mannwhitneyu, quartiles, summarize

# --- summarize -----------------------------------------------------------------------------------------------------


def test_summarize_refuses_no_data():
    with pytest.raises(ValueError, match="^no data to summarize$"):
        summarize([])


def test_a_value_on_an_iqr_fence_is_not_an_outlier():
    # q1 = median(-1.5, 4, 5, 6) = 4.5, q3 = median(7, 8, 9, 14.5) = 8.5, iqr 4: fences 4.5 - 6 and 8.5 + 6
    s = summarize([9, 14.5, 4, -1.5, 5, 6, 7, 8])
    assert (s.q1, s.q3, s.iqr) == (4.5, 8.5, 4.0)
    assert s.iqr_outliers == 0 and (s.ld15iqr, s.hd15iqr) == (-1.5, 14.5)


def test_values_beyond_the_iqr_fences_are_outliers_and_the_whiskers_stop_inside():
    s = summarize([-1.6, 4, 5, 6, 7, 8, 9, 14.6])  # the same quartiles: fences -1.5 and 14.5
    assert (s.q1, s.q3) == (4.5, 8.5)
    assert s.iqr_outliers == 2 and (s.ld15iqr, s.hd15iqr) == (4, 9)
    low = summarize([-1.6, 4, 5, 6, 7, 8, 9, 14.5])  # only the low one out
    assert low.iqr_outliers == 1 and (low.ld15iqr, low.hd15iqr) == (4, 14.5)
    high = summarize([-1.5, 4, 5, 6, 7, 8, 9, 14.6])  # only the high one out
    assert high.iqr_outliers == 1 and (high.ld15iqr, high.hd15iqr) == (-1.5, 9)


def test_stddev_outliers_lie_strictly_beyond_one_sd():
    # 1, 2, 3: mean 2, sample sd 1, so 1 and 3 sit on the fences
    s = summarize([3, 1, 2])
    assert (s.mean, s.stddev, s.stddev_outliers) == (2.0, 1.0, 0)
    # 0, 0, 0, 0, 5: mean 1, sd sqrt((4 * 1 + 16) / 4) = sqrt(5) = 2.24: only the 5 is out; mirrored, only the -5
    assert summarize([0, 0, 0, 0, 5]).stddev_outliers == 1
    assert summarize([0, 0, 0, 0, -5]).stddev_outliers == 1


def test_two_values_have_a_sample_stddev():
    # the smallest sample with a spread: sd = |a - b| / sqrt(2), not the 0 of a single value
    s = summarize([1.0, 3.0])
    assert (s.n, s.mean, s.stddev, s.median) == (2, 2.0, pytest.approx(math.sqrt(2)), 2.0)


def test_summary_of_one_value():
    s = summarize([5.0])
    assert (s.n, s.min, s.max, s.mean, s.stddev, s.median) == (1, 5.0, 5.0, 5.0, 0.0, 5.0)
    assert (s.q1, s.q3, s.iqr, s.iqr_outliers, s.stddev_outliers) == (5.0, 5.0, 0.0, 0, 0)
    assert (s.ld15iqr, s.hd15iqr, s.total) == (5.0, 5.0, 5.0)


@pytest.mark.parametrize("data, q", [
    ([7], (7, 7)),
    ([3, 1], (1, 3)),  # the median of each half
    ([1, 2, 3, 4, 5], (1.75, 4.25)),  # n = 4k + 1, k = 1: 0.25 * 1 + 0.75 * 2, 0.75 * 4 + 0.25 * 5
    ([1, 2, 3, 4, 5, 6, 7], (2.25, 5.75)),  # n = 4k + 3, k = 1: 0.75 * 2 + 0.25 * 3, 0.25 * 5 + 0.75 * 6
    ([1, 2, 3, 4, 5, 6, 7, 8, 9], (2.75, 7.25)),  # k = 2, r = 1: 0.25 * 2 + 0.75 * 3, 0.75 * 7 + 0.25 * 8
])
def test_quartiles_by_hand(data, q):
    assert quartiles(data) == q


# --- Mann-Whitney U ------------------------------------------------------------------------------------------------


def test_mann_whitney_refuses_an_unknown_alternative_and_an_empty_sample():
    with pytest.raises(ValueError, match="^unknown alternative 'two_sided'$"):
        mannwhitneyu([1, 2], [3, 4], "two_sided")
    for x, y in (([1.0], []), ([], [1.0])):
        with pytest.raises(ValueError, match="^both samples need at least one value$"):
            mannwhitneyu(x, y)


@pytest.mark.parametrize("n1, n2, method", [(20, 20, "exact"), (21, 20, "normal"), (20, 21, "normal"),
                                            (21, 1, "normal"), (1, 21, "normal")])
def test_exact_up_to_twenty_a_side_then_normal(n1, n2, method):
    t = mannwhitneyu([float(i) for i in range(n1)], [i + 0.5 for i in range(n2)])
    assert (t.method, t.n1, t.n2) == (method, n1, n2)


def test_exact_test_with_every_value_equal_at_twenty_a_side_has_p_one():
    # The largest exact case and the most concentrated null distribution: all C(40, 20) = 137,846,528,820 subsets
    # share one rank sum, so one coefficient of the packed generating function holds them all (37 bits). A field
    # narrower than C(40, 20) needs would carry into its neighbour and p would no longer be 1.
    for alt in ("two-sided", "less", "greater"):
        assert mannwhitneyu([1.0] * 20, [1.0] * 20, alt) == UTest(200.0, 1.0, "exact", 20, 20)


def test_normal_approximation_with_every_value_equal_has_p_one():
    # 42 ties: sigma is 0, no evidence either way. U = 21 mid-ranks of 21.5 - 21 * 22 / 2 = 220.5 = n1 * n2 / 2
    for alt in ("two-sided", "less", "greater"):
        assert mannwhitneyu([1.0] * 21, [1.0] * 21, alt) == UTest(220.5, 1.0, "normal", 21, 21)


def test_normal_two_sided_p_is_capped_at_one():
    # the same 21 values each side: U = n1 * n2 / 2 exactly, so |U - mu| - 0.5 < 0 and 2 * P(Z > z) would pass 1
    t = mannwhitneyu(list(range(21)), list(range(21)))
    assert (t.method, t.u, t.p_value) == ("normal", 220.5, 1.0)


# 25 against 6, no ties: mu = 25 * 6 / 2 = 75 and sigma = sqrt(25 * 6 * 32 / 12) = 20 exactly.
# x: five below every y, five above one, fifteen above all six: U = 0 + 5 + 90 = 95.
Y = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
X = [1.0, 2.0, 3.0, 4.0, 5.0, 11.0, 12.0, 13.0, 14.0, 15.0] + [61.0 + i for i in range(15)]
SF_0975 = 0.164780  # P(Z > 0.975) from a normal table: 1 - 0.83522


def test_normal_approximation_by_hand():
    # greater: z = (95 - 75 - 0.5) / 20 = 0.975 with the continuity correction toward the mean
    t = mannwhitneyu(X, Y, "greater")
    assert (t.method, t.u, t.effect) == ("normal", 95.0, 95 / 150)
    assert t.p_value == pytest.approx(SF_0975, abs=1e-6)
    assert mannwhitneyu(X, Y).p_value == pytest.approx(2 * SF_0975, abs=2e-6)  # two-sided: (|95 - 75| - 0.5) / 20
    # less, mirrored: U = 150 - 95 = 55, z = (55 - 75 + 0.5) / 20 = -0.975, p = P(Z < -0.975)
    t = mannwhitneyu([-v for v in X], [-v for v in Y], "less")
    assert t.u == 55.0 and t.p_value == pytest.approx(SF_0975, abs=1e-6)
    # the wrong side of the mean: greater with U = 55 is z = (55 - 75 - 0.5) / 20 = -1.025, p = 1 - P(Z > 1.025)
    assert mannwhitneyu([-v for v in X], [-v for v in Y], "greater").p_value == pytest.approx(1 - 0.152682, abs=1e-6)
    assert math.isclose(mannwhitneyu(X, Y, "less").p_value, 1 - 0.152682, abs_tol=1e-6)
