"""The structural leg rules of each strategy (SPEC W7, J1): one definition for both APIs.

The walkthrough builder and the journal's order ticket both call `leg_rule_errors`; the
walkthrough then adds only what needs its scenario (the fixture chain and the covered-call
guide's rules, walkthrough/scenarios/rules.py). Legs arrive shape-checked by
`trading.legs.LegSerializer` (an option leg has right/strike/expiry, an equity leg nulls).

Errors name the rule first and the leg the way the error key does (`legs[1]`, counted from 0):
`{"legs[1].right": ["same_right: legs[1] is a put, but legs[0] is a call; ..."]}`; a problem of
the whole trade is keyed `legs`. Where two legs disagree, the one that differs from the others
is blamed (docs/walkthrough.md, "Which leg an error blames").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading.legs import StrategyType

Leg = dict[str, Any]
Errors = dict[str, list[str]]

SHARES_PER_CONTRACT = 100


@dataclass(frozen=True)
class LegCounts:
    """How many legs of each instrument a strategy has."""

    option: int
    equity: int

    @property
    def total(self) -> int:
        return self.option + self.equity


# Legs per strategy: the one table both APIs read (tests/trading/test_rules.py checks that
# every StrategyType has an entry here and in RULES).
STRATEGY_LEGS: dict[str, LegCounts] = {
    StrategyType.IRON_CONDOR: LegCounts(option=4, equity=0),
    StrategyType.VERTICAL_SPREAD: LegCounts(option=2, equity=0),
    StrategyType.COVERED_CALL: LegCounts(option=1, equity=1),
}

# The strategy's name with its article, for messages ("an iron condor", never "a iron condor").
NAMED = {
    StrategyType.IRON_CONDOR: "an iron condor",
    StrategyType.VERTICAL_SPREAD: "a vertical spread",
    StrategyType.COVERED_CALL: "a covered call",
}


def key(index: int, field: str) -> str:
    """The error key of one leg's field: `legs[2].strike`."""
    return f"legs[{index}].{field}"


def leg_name(index: int) -> str:
    return f"legs[{index}]"


def _names(indexes: list[int]) -> str:
    """`legs[0]`, `legs[0] and legs[2]`, `legs[0], legs[1] and legs[3]`."""
    names = [leg_name(i) for i in indexes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def legs_fit(strategy_type: str, legs: list[Leg]) -> bool:
    """Whether the legs have the strategy's count of option and equity legs."""
    wanted = STRATEGY_LEGS[strategy_type]
    options = sum(1 for leg in legs if leg["instrument"] == "option")
    return options == wanted.option and len(legs) - options == wanted.equity


def _majority(values: list[Any], preferred: Any = None) -> Any:
    """The value most legs share; a tie goes to `preferred` if it is among the tied values, else
    to the tied value the earliest leg has. The legs that differ from it are the ones blamed."""
    counts = Counter(values)
    top = max(counts.values())
    tied = [value for value in values if counts[value] == top]
    return preferred if preferred in tied else tied[0]


def _same_value(
    legs: list[Leg], field: str, rule: str, describe: Callable[[Any], str], errors: Errors, *, preferred=None
) -> None:
    """Every leg has the same `field`: blame each leg that differs from the majority."""
    values = [leg[field] for leg in legs]
    common = _majority(values, preferred)
    agreeing = [i for i, value in enumerate(values) if value == common]
    for i, value in enumerate(values):
        if value != common:
            verb = "has" if len(agreeing) == 1 else "have"
            others = f"{_names(agreeing)} {verb} {describe(common)}"
            this = f"{leg_name(i)} has {describe(value)}"
            errors[key(i, field)].append(f"{rule}: {this}, but {others}; every leg needs the same {field}.")


def _quantity(value: int) -> str:
    return f"quantity {value}"


def _expiry(value: str) -> str:
    return f"expiry {value}"


def _count_errors(strategy_type: str, legs: list[Leg]) -> Errors:
    """leg_count / options_only: the strategy's legs, by instrument."""
    errors: Errors = defaultdict(list)
    wanted, name = STRATEGY_LEGS[strategy_type], NAMED[strategy_type]
    if wanted.equity == 0:
        if len(legs) != wanted.option:
            errors["legs"].append(
                f"leg_count: {name} has exactly {wanted.option} option legs; this trade has "
                f"{_plural(len(legs), 'leg')}."
            )
        for i, leg in enumerate(legs):
            if leg["instrument"] != "option":
                errors[key(i, "instrument")].append(
                    f"options_only: {leg_name(i)} is an equity leg; every leg of {name} is an option."
                )
        return dict(errors)
    if not legs_fit(strategy_type, legs):
        options = sum(1 for leg in legs if leg["instrument"] == "option")
        errors["legs"].append(
            f"leg_count: {name} has {wanted.total} legs, one share leg and one call; this trade has "
            f"{_plural(len(legs), 'leg')} ({_plural(len(legs) - options, 'share leg')}, "
            f"{_plural(options, 'option leg')})."
        )
    return dict(errors)


def iron_condor_roles(legs: list[Leg]) -> dict[str, int] | None:
    """Map long/short put/call to leg indexes, or None if the legs are not that shape."""
    roles: dict[str, int] = {}
    for i, leg in enumerate(legs):
        role = f"{'long' if leg['action'] == 'buy' else 'short'}_{leg['right']}"
        if role in roles:
            return None
        roles[role] = i
    return roles if len(roles) == 4 else None


# Adjacent pairs of the strike order, and which of the two is blamed when it is broken: a wing
# (long leg) on the wrong side of its short leg, or the short call below the short put.
_IC_ORDER = (
    ("long_put", "short_put", "long_put"),
    ("short_put", "short_call", "short_call"),
    ("short_call", "long_call", "long_call"),
)


def _iron_condor(legs: list[Leg], errors: Errors, preferred_expiry: str | None) -> None:
    _same_value(legs, "expiry", "one_expiry", _expiry, errors, preferred=preferred_expiry)
    roles = iron_condor_roles(legs)
    if roles is None:
        errors["legs"].append(
            "ic_shape: an iron condor buys one put, sells one put, sells one call and buys one call."
        )
    else:
        for lower, upper, blamed in _IC_ORDER:
            lo, hi = roles[lower], roles[upper]
            if not Decimal(legs[lo]["strike"]) < Decimal(legs[hi]["strike"]):
                low = f"the {lower.replace('_', ' ')} ({leg_name(lo)}, strike {legs[lo]['strike']})"
                high = f"the {upper.replace('_', ' ')} ({leg_name(hi)}, strike {legs[hi]['strike']})"
                errors[key(roles[blamed], "strike")].append(
                    f"strike_order: {low} needs a lower strike than {high}; "
                    "long put < short put < short call < long call."
                )
    _same_value(legs, "quantity", "equal_quantity", _quantity, errors)


def _vertical_spread(legs: list[Leg], errors: Errors, preferred_expiry: str | None) -> None:
    a, b = legs
    if a["right"] != b["right"]:
        errors[key(1, "right")].append(
            f"same_right: legs[1] is a {b['right']}, but legs[0] is a {a['right']}; a vertical spread "
            "is two calls or two puts."
        )
    _same_value(legs, "expiry", "same_expiry", _expiry, errors, preferred=preferred_expiry)
    if Decimal(a["strike"]) == Decimal(b["strike"]):
        errors[key(1, "strike")].append(
            f"different_strikes: legs[0] and legs[1] both have strike {b['strike']}; the two legs of a "
            "vertical spread have different strikes."
        )
    if a["action"] == b["action"]:
        verb = "buy" if a["action"] == "buy" else "sell"
        errors[key(1, "action")].append(
            f"one_buy_one_sell: legs[0] and legs[1] both {verb}; a vertical spread buys one leg and "
            "sells the other."
        )
    _same_value(legs, "quantity", "equal_quantity", _quantity, errors)


def _covered_call(legs: list[Leg], errors: Errors, preferred_expiry: str | None) -> None:
    s, c = covered_call_roles(legs)
    share, call = legs[s], legs[c]
    if share["action"] != "buy":
        errors[key(s, "action")].append(
            f"long_shares: {leg_name(s)} sells the shares; a covered call buys them."
        )
    if call["right"] != "call":
        errors[key(c, "right")].append(f"short_call: {leg_name(c)} is a put; a covered call sells a call.")
    if call["action"] != "sell":
        errors[key(c, "action")].append(f"short_call: {leg_name(c)} buys; a covered call sells the call.")
    contracts = call["quantity"]
    needed = SHARES_PER_CONTRACT * contracts
    if share["quantity"] != needed:
        cover = "covers" if contracts == 1 else "cover"
        errors[key(s, "quantity")].append(
            f"shares_per_contract: {leg_name(s)} holds {_plural(share['quantity'], 'share')}, but "
            f"{_plural(contracts, 'contract')} ({leg_name(c)}) {cover} {needed} shares."
        )


def covered_call_roles(legs: list[Leg]) -> tuple[int, int]:
    """(share leg index, call leg index) of legs that fit a covered call."""
    share = next(i for i, leg in enumerate(legs) if leg["instrument"] == "equity")
    return share, 1 - share


RULES: dict[str, Callable[[list[Leg], Errors, str | None], None]] = {
    StrategyType.IRON_CONDOR: _iron_condor,
    StrategyType.VERTICAL_SPREAD: _vertical_spread,
    StrategyType.COVERED_CALL: _covered_call,
}


def leg_rule_errors(*, strategy_type: str, legs: list[Leg], preferred_expiry: str | None = None) -> Errors:
    """Every structural rule the legs break, as `{error key: [messages]}` (empty: none).

    `preferred_expiry` breaks a tie of expiries (two legs each way): the walkthrough passes its
    chain's usual expiry, so the fixture's teaching option is the one blamed.
    """
    errors = _count_errors(strategy_type, legs)
    if errors:
        return errors
    collected: Errors = defaultdict(list)
    RULES[strategy_type](legs, collected, preferred_expiry)
    return dict(collected)
