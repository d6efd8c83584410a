"""The walkthrough's own leg rules (SPEC W6, W7) on top of the shared structural ones.

`trading.rules.leg_rule_errors` holds every rule of a strategy's shape (the journal's order
ticket applies the same); the walkthrough adds only what needs its scenario: every option
must be in the fixture chain (`in_chain`), and the covered-call guide's `otm_only` and
`min_dte`. Messages name the rule and the leg (`legs[1]`, counted from 0), like the error key.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from trading.legs import StrategyType
from trading.rules import (
    SHARES_PER_CONTRACT,
    Errors,
    Leg,
    covered_call_roles,
    iron_condor_roles,
    key,
    leg_name,
    leg_rule_errors,
    legs_fit,
)

__all__ = ["SHARES_PER_CONTRACT", "chain_quote", "check_trade", "fill_quotes", "iron_condor_columns"]


def _chain_index(chain: dict) -> dict[tuple[str, Decimal, str], dict]:
    return {(o["right"], Decimal(o["strike"]), o["expiry"]): o for o in chain["options"]}


def chain_quote(chain: dict, leg: Leg) -> dict | None:
    return _chain_index(chain).get((leg["right"], Decimal(leg["strike"]), leg["expiry"]))


def usual_expiry(chain: dict) -> str:
    """The expiry most of the chain's options share: the other expiries are the teaching ones."""
    return Counter(o["expiry"] for o in chain["options"]).most_common(1)[0][0]


def _in_chain(legs: list[Leg], chain: dict, errors: Errors) -> None:
    index = _chain_index(chain)
    for i, leg in enumerate(legs):
        if leg["instrument"] != "option":
            continue
        if (leg["right"], Decimal(leg["strike"]), leg["expiry"]) not in index:
            errors[key(i, "strike")].append(
                f"in_chain: {leg_name(i)} (the {leg['right']} with strike {leg['strike']} expiring "
                f"{leg['expiry']}) is not in this scenario's option chain."
            )


def _guide(legs: list[Leg], scenario: dict, errors: Errors) -> None:
    """The covered-call guide's inline rules (SPEC W6): otm_only and min_dte."""
    rules, chain = scenario["rules"], scenario["chain"]
    c = covered_call_roles(legs)[1]
    call = legs[c]
    if rules.get("otm_only") and not Decimal(call["strike"]) > Decimal(chain["underlying_price"]):
        errors[key(c, "strike")].append(
            f"otm_only: {leg_name(c)} has strike {call['strike']}, which is not above the underlying "
            f"price {chain['underlying_price']}; the guide sells only calls with a strike strictly above it."
        )
    dte = (dt.date.fromisoformat(call["expiry"]) - dt.date.fromisoformat(chain["as_of"])).days
    if dte < rules["min_dte"]:
        days = "1 day" if dte == 1 else f"{dte} days"
        errors[key(c, "expiry")].append(
            f"min_dte: {leg_name(c)} expires {call['expiry']}, {days} after {chain['as_of']}; the guide "
            f"needs at least {rules['min_dte']} days."
        )


def check_trade(*, strategy_type: str, legs: list[Leg], scenario: dict[str, Any]) -> Errors:
    """Every rule the legs break: the shared structure, then the chain and the guide."""
    chain = scenario["chain"]
    errors: Errors = defaultdict(list)
    for field, messages in leg_rule_errors(
        strategy_type=strategy_type, legs=legs, preferred_expiry=usual_expiry(chain)
    ).items():
        errors[field].extend(messages)
    if not legs_fit(strategy_type, legs):
        return dict(errors)
    if strategy_type == StrategyType.COVERED_CALL:
        _guide(legs, scenario, errors)
    _in_chain(legs, chain, errors)
    return dict(errors)


def fill_quotes(legs: list[Leg], chain: dict) -> list[str]:
    """SPEC W15: each leg's fill price, as the chain's own decimal string: an option sells at its
    bid and buys at its ask; shares fill at the chain's underlying price."""
    fills = []
    for leg in legs:
        if leg["instrument"] != "option":
            fills.append(chain["underlying_price"])
        else:
            quote = chain_quote(chain, leg)
            fills.append(quote["bid"] if leg["action"] == "sell" else quote["ask"])
    return fills


def iron_condor_columns(legs: list[Leg], fills: list[str]) -> dict[str, Any]:
    """The named IC columns; net credit per share = the sold legs' fills - the bought legs'."""
    roles = iron_condor_roles(legs)
    assert roles is not None  # only called after the rules passed
    credit = sum(
        (
            Decimal(fill) if leg["action"] == "sell" else -Decimal(fill)
            for leg, fill in zip(legs, fills, strict=True)
        ),
        Decimal(0),
    )
    return {
        "short_call_strike": Decimal(legs[roles["short_call"]]["strike"]),
        "long_call_strike": Decimal(legs[roles["long_call"]]["strike"]),
        "short_put_strike": Decimal(legs[roles["short_put"]]["strike"]),
        "long_put_strike": Decimal(legs[roles["long_put"]]["strike"]),
        "expiry": dt.date.fromisoformat(legs[0]["expiry"]),
        "net_credit": credit,
    }
