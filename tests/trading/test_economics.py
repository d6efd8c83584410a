"""SPEC W15: a filled position's economics at expiry, against tables worked by hand and by
properties that must hold for any filled trade the structural rules accept."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.worked import TABLES, option, shares
from trading.economics import decimal_text, economics_json, pnl_at, position_economics
from trading.rules import leg_rule_errors

D = Decimal


@pytest.mark.parametrize("case", list(TABLES), ids=[f"{name}-q{q}" for name, q in TABLES])
def test_economics_match_the_hand_worked_table(case):
    (legs, fills), net, max_gain, max_loss, breakevens, payoff = TABLES[case]
    assert leg_rule_errors(strategy_type=_strategy(legs), legs=legs) == {}

    review = economics_json(position_economics(legs=legs, fills=[D(f) for f in fills]))

    assert review == {
        "fills": [{"leg": i, "price": f} for i, f in enumerate(fills)],
        "net": net,
        "max_gain": max_gain,
        "max_loss": max_loss,
        "breakevens": breakevens,
        "payoff": payoff,
        "multiplier": 100,
    }


def test_a_naked_short_call_has_an_unlimited_loss_and_a_long_call_an_unlimited_gain():
    short = position_economics(legs=[option("sell", "call", "100", 1)], fills=[D("2.50")])
    assert (short.max_gain, short.max_loss) == (D("250.00"), None)
    assert short.breakevens == (D("102.5"),)
    long = position_economics(legs=[option("buy", "call", "100", 1)], fills=[D("2.50")])
    assert (long.max_gain, long.max_loss) == (None, D("-250.00"))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("-4150"), "-4150.00"),
        (D("5341.5"), "5341.50"),
        (D("0.1234"), "0.1234"),
        (D("-0"), "0.00"),
        (D("5.3E+3"), "5300.00"),
        (D("99.800"), "99.80"),
    ],
)
def test_decimal_text(value, text):
    assert decimal_text(value) == text


# --- properties -------------------------------------------------------------------------------
# Any trade the structural rules accept, with any positive fills: derandomized in `make test`.

_strike = st.integers(min_value=1, max_value=20_000).map(lambda n: D(n) / 4)  # 0.25 .. 5000
_price = st.integers(min_value=1, max_value=5_000).map(lambda n: D(n) / 100)  # 0.01 .. 50.00
_quantity = st.integers(min_value=1, max_value=25)


@st.composite
def _iron_condors(draw):
    strikes = sorted(draw(st.sets(_strike, min_size=4, max_size=4)))
    q = draw(_quantity)
    legs = [
        option("buy", "put", str(strikes[0]), q),
        option("sell", "put", str(strikes[1]), q),
        option("sell", "call", str(strikes[2]), q),
        option("buy", "call", str(strikes[3]), q),
    ]
    return legs, [draw(_price) for _ in legs]


@st.composite
def _verticals(draw):
    a, b = draw(st.sets(_strike, min_size=2, max_size=2))
    right, q = draw(st.sampled_from(["call", "put"])), draw(_quantity)
    buy_first = draw(st.booleans())
    legs = [
        option("buy" if buy_first else "sell", right, str(a), q),
        option("sell" if buy_first else "buy", right, str(b), q),
    ]
    return legs, [draw(_price) for _ in legs]


@st.composite
def _covered_calls(draw):
    q = draw(_quantity)
    legs = [shares(100 * q), option("sell", "call", str(draw(_strike)), q)]
    return legs, [draw(_strike), draw(_price)]


_positions = st.one_of(_iron_condors(), _verticals(), _covered_calls())
PROPERTY = settings(max_examples=150, derandomize=True, database=None, deadline=None)


def _strategy(legs) -> str:
    if len(legs) == 4:
        return "iron_condor"
    return "covered_call" if legs[0]["instrument"] == "equity" else "vertical_spread"


@PROPERTY
@given(_positions)
def test_the_payoff_is_zero_at_every_breakeven(position):
    legs, fills = position
    assert leg_rule_errors(strategy_type=_strategy(legs), legs=legs) == {}
    economics = position_economics(legs=legs, fills=fills)
    for breakeven in economics.breakevens:
        assert pnl_at(legs=legs, fills=fills, underlying=breakeven) == 0
    points = {p.underlying: p.pnl for p in economics.payoff}
    assert all(points[b] == 0 for b in economics.breakevens)


@PROPERTY
@given(_positions)
def test_no_point_of_the_curve_is_outside_the_largest_gain_and_loss(position):
    legs, fills = position
    economics = position_economics(legs=legs, fills=fills)
    for point in economics.payoff:
        assert economics.max_gain is None or point.pnl <= economics.max_gain
        assert economics.max_loss is None or point.pnl >= economics.max_loss
    highest = max(p.pnl for p in economics.payoff)
    lowest = min(p.pnl for p in economics.payoff)
    assert economics.max_gain is None or economics.max_gain == highest  # reached on the curve
    assert economics.max_loss is None or economics.max_loss <= lowest


@PROPERTY
@given(_positions, st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=5))
def test_the_curve_is_exact_and_linear_between_its_points(position, fractions):
    """The payoff covers every strike and breakeven with a margin either side, is sorted, and
    the P&L anywhere between two neighbouring points is the straight line between them."""
    legs, fills = position
    economics = position_economics(legs=legs, fills=fills)
    prices = [p.underlying for p in economics.payoff]
    assert prices == sorted(set(prices))
    strikes = {D(leg["strike"]) for leg in legs if leg["instrument"] == "option"}
    assert strikes | set(economics.breakevens) <= set(prices)
    assert prices[0] < min(strikes | set(economics.breakevens)) or prices[0] == 0
    assert prices[-1] > max(strikes | set(economics.breakevens))
    for a, b in itertools.pairwise(economics.payoff):
        assert pnl_at(legs=legs, fills=fills, underlying=a.underlying) == a.pnl
        for f in fractions:
            x = a.underlying + (b.underlying - a.underlying) * D(f) / 100
            line = a.pnl + (b.pnl - a.pnl) * (x - a.underlying) / (b.underlying - a.underlying)
            assert abs(pnl_at(legs=legs, fills=fills, underlying=x) - line) < D("1e-12")
