"""The structural leg rules of each strategy (trading/rules.py, SPEC W7, J1): one table of legs
per strategy, rules that blame the leg that differs, messages that name legs like the keys."""

from __future__ import annotations

import copy

import pytest

from trading.legs import StrategyType
from trading.rules import NAMED, RULES, STRATEGY_LEGS, leg_rule_errors
from walkthrough.demo import SAMPLE_LEGS


def _legs(strategy: str, **changes) -> list[dict]:
    """Valid legs with `changes` keyed "index.field" applied."""
    out = copy.deepcopy(SAMPLE_LEGS[strategy])
    for where, value in changes.items():
        index, field = where.split(".")
        out[int(index)][field] = value
    return out


@pytest.mark.parametrize("strategy", StrategyType.values)
def test_every_strategy_type_has_its_legs_its_rules_and_a_name(strategy):
    assert strategy in STRATEGY_LEGS
    assert strategy in RULES
    assert strategy in NAMED
    assert leg_rule_errors(strategy_type=strategy, legs=_legs(strategy)) == {}


def test_the_tables_name_no_other_strategy():
    assert set(STRATEGY_LEGS) == set(RULES) == set(NAMED) == set(StrategyType.values)


# (strategy, leg changes, the one error key, its exact message)
MESSAGES = [
    (
        "iron_condor",
        {"0.expiry": "2026-07-24"},
        "legs[0].expiry",
        "one_expiry: legs[0] has expiry 2026-07-24, but legs[1], legs[2] and legs[3] have expiry "
        "2026-07-17; every leg needs the same expiry.",
    ),
    (
        "iron_condor",
        {"2.quantity": 2},
        "legs[2].quantity",
        "equal_quantity: legs[2] has quantity 2, but legs[0], legs[1] and legs[3] have quantity 1; "
        "every leg needs the same quantity.",
    ),
    (
        "iron_condor",
        {"0.strike": "5400"},
        "legs[0].strike",
        "strike_order: the long put (legs[0], strike 5400) needs a lower strike than the short put "
        "(legs[1], strike 5350); long put < short put < short call < long call.",
    ),
    (
        "iron_condor",
        {"2.strike": "5300"},
        "legs[2].strike",
        "strike_order: the short put (legs[1], strike 5350) needs a lower strike than the short call "
        "(legs[2], strike 5300); long put < short put < short call < long call.",
    ),
    (
        "vertical_spread",
        {"1.right": "put"},
        "legs[1].right",
        "same_right: legs[1] is a put, but legs[0] is a call; a vertical spread is two calls or two puts.",
    ),
    (
        "vertical_spread",
        {"1.action": "buy"},
        "legs[1].action",
        "one_buy_one_sell: legs[0] and legs[1] both buy; a vertical spread buys one leg and sells the other.",
    ),
    (
        "vertical_spread",
        {"1.strike": "480"},
        "legs[1].strike",
        "different_strikes: legs[0] and legs[1] both have strike 480; the two legs of a vertical spread "
        "have different strikes.",
    ),
    (
        "covered_call",
        {"0.quantity": 50},
        "legs[0].quantity",
        "shares_per_contract: legs[0] holds 50 shares, but 1 contract (legs[1]) covers 100 shares.",
    ),
    (
        "covered_call",
        {"1.quantity": 2},
        "legs[0].quantity",
        "shares_per_contract: legs[0] holds 100 shares, but 2 contracts (legs[1]) cover 200 shares.",
    ),
    (
        "covered_call",
        {"1.right": "put"},
        "legs[1].right",
        "short_call: legs[1] is a put; a covered call sells a call.",
    ),
    (
        "covered_call",
        {"0.action": "sell"},
        "legs[0].action",
        "long_shares: legs[0] sells the shares; a covered call buys them.",
    ),
]


@pytest.mark.parametrize(("strategy", "changes", "key", "message"), MESSAGES)
def test_each_message_names_the_rule_and_the_leg_that_breaks_it(strategy, changes, key, message):
    assert leg_rule_errors(strategy_type=strategy, legs=_legs(strategy, **changes)) == {key: [message]}


@pytest.mark.parametrize(
    ("strategy", "legs", "message"),
    [
        (
            "iron_condor",
            _legs("iron_condor")[:3],
            "leg_count: an iron condor has exactly 4 option legs; this trade has 3 legs.",
        ),
        (
            "vertical_spread",
            _legs("vertical_spread")[:1],
            "leg_count: a vertical spread has exactly 2 option legs; this trade has 1 leg.",
        ),
        (
            "covered_call",
            [*_legs("covered_call"), _legs("covered_call")[1]],
            "leg_count: a covered call has 2 legs, one share leg and one call; this trade has 3 legs "
            "(1 share leg, 2 option legs).",
        ),
    ],
)
def test_a_wrong_count_of_legs_is_one_grammatical_whole_trade_error(strategy, legs, message):
    assert leg_rule_errors(strategy_type=strategy, legs=legs) == {"legs": [message]}


def test_the_leg_with_the_odd_expiry_is_blamed_wherever_it_sits():
    """The vertical-spread guide's teaching call (490, 2026-08-21) sent first: it is blamed."""
    buy, sell = _legs("vertical_spread", **{"1.expiry": "2026-08-21"})
    errors = leg_rule_errors(strategy_type="vertical_spread", legs=[sell, buy], preferred_expiry="2026-07-17")
    assert errors == {
        "legs[0].expiry": [
            "same_expiry: legs[0] has expiry 2026-08-21, but legs[1] has expiry 2026-07-17; "
            "every leg needs the same expiry."
        ]
    }


def test_a_tie_of_expiries_blames_the_legs_off_the_preferred_expiry():
    """Two legs each way: the walkthrough names its chain's usual expiry, so the teaching
    options (2026-07-24) are blamed, not the correct 2026-07-17 ones."""
    legs = _legs("iron_condor", **{"0.expiry": "2026-07-24", "3.expiry": "2026-07-24"})
    errors = leg_rule_errors(strategy_type="iron_condor", legs=legs, preferred_expiry="2026-07-17")
    assert sorted(errors) == ["legs[0].expiry", "legs[3].expiry"]
    # Without a preference (the journal), the earliest leg's expiry is the reference.
    errors = leg_rule_errors(strategy_type="iron_condor", legs=legs)
    assert sorted(errors) == ["legs[1].expiry", "legs[2].expiry"]


def test_no_message_says_a_before_a_vowel():
    broken = [
        ("iron_condor", _legs("iron_condor")[:2]),
        ("iron_condor", _legs("iron_condor", **{"0.instrument": "equity"})),
        ("vertical_spread", _legs("vertical_spread")[:1]),
        ("covered_call", _legs("covered_call")[:1]),
    ]
    for strategy, legs in broken:
        for messages in leg_rule_errors(strategy_type=strategy, legs=legs).values():
            for message in messages:
                assert " a iron" not in message and " a option" not in message, message
