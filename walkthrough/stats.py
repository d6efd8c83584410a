"""The funnel's statistics (SPEC A9): small pure functions, no Django, no database.

Each is checked against published worked examples in tests/walkthrough/test_stats.py:
Wilson (1927) as tabulated by Newcombe (1998a, "Two-sided confidence intervals for the single
proportion", Stat Med 17:857), Newcombe's hybrid score interval for a difference of
independent proportions (1998b, "Interval estimation for the difference between independent
proportions: comparison of eleven methods", Stat Med 17:873, method 10), and Pearson's
chi-square goodness of fit with one degree of freedom for the sample-ratio check.

Only intervals are shown between groups that testers chose themselves (buckets): no p-values.
The one p-value is the sample-ratio check, a test of the assignment machinery, not of a bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Two-sided 95 %: the 0.975 quantile of the standard normal.
Z95 = 1.959963984540054
# Below this many successes or failures a rate is too noisy to compare (np > 5 and n(1-p) > 5).
MIN_EACH_SIDE = 5
# The sample-ratio check warns below this p-value (a 1-in-1000 false alarm per look).
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(*, successes: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of successes / n (no continuity correction); None for n = 0."""
    _check_counts(successes, n)
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # Clamped: floating point can land a hair outside [0, 1] at p = 0 or 1.
    return Interval(max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator))


@dataclass(frozen=True)
class Difference:
    """p1 - p2 with its interval."""

    estimate: float
    low: float
    high: float


def newcombe_difference(
    *, successes1: int, n1: int, successes2: int, n2: int, z: float = Z95
) -> Difference | None:
    """Newcombe's hybrid score interval (1998b, method 10) for p1 - p2; None if either n is 0.

    Each proportion's Wilson limits (l, u) are combined as
    d - sqrt((p1 - l1)^2 + (u2 - p2)^2) .. d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
    """
    one = wilson(successes=successes1, n=n1, z=z)
    two = wilson(successes=successes2, n=n2, z=z)
    if one is None or two is None:
        return None
    p1, p2 = successes1 / n1, successes2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - one.low) ** 2 + (two.high - p2) ** 2)
    high = d + math.sqrt((one.high - p1) ** 2 + (p2 - two.low) ** 2)
    return Difference(d, max(-1.0, low), min(1.0, high))


def enough_to_compare(*, successes: int, n: int) -> bool:
    """The minimum-sample rule: n p > 5 and n (1 - p) > 5 with p the observed rate, i.e. more
    than five testers on each side of the step. Below it a rate is "too few to compare"."""
    _check_counts(successes, n)
    return successes > MIN_EACH_SIDE and n - successes > MIN_EACH_SIDE


@dataclass(frozen=True)
class SampleRatio:
    expected_share: float  # of the first group, 0..1
    observed: tuple[int, int]
    chi_square: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_ALPHA


def sample_ratio(*, first: int, second: int, expected_share: float) -> SampleRatio | None:
    """Pearson's chi-square (1 df) of an observed two-way split against the configured share
    of the first group. None when it cannot be tested: no subjects, or a share of 0 or 1 (then
    the other group must simply be empty)."""
    _check_counts(first, first + second)
    total = first + second
    if total == 0 or not 0 < expected_share < 1:
        return None
    expect1 = total * expected_share
    expect2 = total - expect1
    chi = (first - expect1) ** 2 / expect1 + (second - expect2) ** 2 / expect2
    # The chi-square survival function with one degree of freedom: P(X > x) = erfc(sqrt(x / 2)).
    return SampleRatio(expected_share, (first, second), chi, math.erfc(math.sqrt(chi / 2)))


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
