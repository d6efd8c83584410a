"""SPEC A9: the funnel's statistics against published worked examples (walkthrough.stats)."""

from __future__ import annotations

import math

import pytest

from walkthrough import stats

# Newcombe (1998a) "Two-sided confidence intervals for the single proportion", Stat Med 17:857,
# Table I, method 3 (Wilson score, no continuity correction), to four places.
WILSON = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0000),
]

# Newcombe (1998b) "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Stat Med 17:873, Table II, method 10 (hybrid score), examples
# (a)-(h): (x1, n1, x2, n2, difference, lower, upper).
NEWCOMBE = [
    (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
    (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
    (0, 10, 0, 20, 0.0000, -0.1611, 0.2775),
    (0, 10, 0, 10, 0.0000, -0.2775, 0.2775),
    (10, 10, 0, 20, 1.0000, 0.6791, 1.0000),
    (10, 10, 0, 10, 1.0000, 0.6075, 1.0000),
]


@pytest.mark.parametrize(("x", "n", "low", "high"), WILSON)
def test_wilson_matches_newcombe_table_i(x, n, low, high):
    got = stats.wilson(successes=x, n=n)
    assert (round(got.low, 4), round(got.high, 4)) == (low, high)


def test_wilson_is_the_formula_on_the_counts():
    # 3 of 4, by hand: centre (0.75 + z²/8) / (1 + z²/4), half-width z·sqrt(0.75·0.25/4 + z²/64) / (1 + z²/4).
    z = stats.Z95
    centre = (0.75 + z * z / 8) / (1 + z * z / 4)
    half = z * math.sqrt(0.75 * 0.25 / 4 + z * z / 64) / (1 + z * z / 4)
    got = stats.wilson(successes=3, n=4)
    assert got.low == pytest.approx(centre - half, abs=1e-12)
    assert got.high == pytest.approx(centre + half, abs=1e-12)


def test_wilson_of_nobody_is_none_and_bad_counts_raise():
    assert stats.wilson(successes=0, n=0) is None
    for x, n in ((5, 4), (-1, 4), (0, -1)):
        with pytest.raises(ValueError, match="successes <= n"):
            stats.wilson(successes=x, n=n)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "d", "low", "high"), NEWCOMBE)
def test_newcombe_matches_newcombe_table_ii(x1, n1, x2, n2, d, low, high):
    got = stats.newcombe_difference(successes1=x1, n1=n1, successes2=x2, n2=n2)
    assert (round(got.estimate, 4), round(got.low, 4), round(got.high, 4)) == (d, low, high)


def test_newcombe_is_antisymmetric_and_needs_both_groups():
    forward = stats.newcombe_difference(successes1=56, n1=70, successes2=48, n2=80)
    backward = stats.newcombe_difference(successes1=48, n1=80, successes2=56, n2=70)
    assert (backward.estimate, backward.low, backward.high) == pytest.approx(
        (-forward.estimate, -forward.high, -forward.low)
    )
    assert stats.newcombe_difference(successes1=0, n1=0, successes2=3, n2=4) is None


# (successes, n, enough): np > 5 and n(1 - p) > 5 on the observed rate.
MINIMUM = [
    (0, 0, False),
    (3, 4, False),
    (5, 100, False),
    (6, 100, True),
    (94, 100, True),
    (95, 100, False),
    (6, 12, True),
    (6, 11, False),
]


@pytest.mark.parametrize(("x", "n", "enough"), MINIMUM)
def test_minimum_sample_rule(x, n, enough):
    assert stats.enough_to_compare(successes=x, n=n) is enough


# (first, second, expected share of first, chi-square, p-value, mismatch)
SAMPLE_RATIO = [
    # The textbook coin: 60 heads in 100 fair tosses, chi-square 4.00, p = 0.0455.
    (60, 40, 0.5, 4.0, 0.0455, False),
    (100, 100, 0.5, 0.0, 1.0, False),
    # 80/20 configured, 80/20 observed.
    (160, 40, 0.8, 0.0, 1.0, False),
    # 10.83 is the chi-square (1 df) critical value at p = 0.001: 123/77 gives 10.58, 124/76 11.52.
    (123, 77, 0.5, 10.58, 0.0011, False),
    (124, 76, 0.5, 11.52, 0.0007, True),
]


@pytest.mark.parametrize(("first", "second", "share", "chi", "p", "mismatch"), SAMPLE_RATIO)
def test_sample_ratio_check(first, second, share, chi, p, mismatch):
    got = stats.sample_ratio(first=first, second=second, expected_share=share)
    assert (round(got.chi_square, 2), round(got.p_value, 4), got.mismatch) == (chi, p, mismatch)


def test_sample_ratio_cannot_test_an_empty_or_one_sided_split():
    assert stats.sample_ratio(first=0, second=0, expected_share=0.5) is None
    assert stats.sample_ratio(first=10, second=0, expected_share=1.0) is None
