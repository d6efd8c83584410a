"""Paper-trade rules per strategy (SPEC W6, W7): pure functions over validated legs.

Legs arrive shape-checked by the serializer (option legs carry right/strike/expiry, equity
legs carry nulls). Each check returns field-keyed messages that name the rule and the leg:
`{"legs[2].strike": ["otm_only: ..."]}`; whole-trade problems are keyed `legs`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

Leg = dict[str, Any]
Errors = dict[str, list[str]]

SHARES_PER_CONTRACT = 100


def _k(index: int, field: str) -> str:
    return f"legs[{index}].{field}"


def _chain_index(chain: dict) -> dict[tuple[str, Decimal, str], dict]:
    return {(o["right"], Decimal(o["strike"]), o["expiry"]): o for o in chain["options"]}


def chain_quote(chain: dict, leg: Leg) -> dict | None:
    return _chain_index(chain).get((leg["right"], Decimal(leg["strike"]), leg["expiry"]))


def _in_chain(legs: list[Leg], chain: dict, errors: Errors) -> None:
    for i, leg in enumerate(legs):
        if leg["instrument"] == "option" and chain_quote(chain, leg) is None:
            errors[_k(i, "strike")].append(
                f"in_chain: leg {i} ({leg['right']} {leg['strike']} expiring {leg['expiry']}) "
                "is not in this scenario's option chain."
            )


def _equal_quantity(legs: list[Leg], errors: Errors) -> None:
    first = legs[0]["quantity"]
    for i, leg in enumerate(legs[1:], start=1):
        if leg["quantity"] != first:
            errors[_k(i, "quantity")].append(
                f"equal_quantity: leg {i} has quantity {leg['quantity']}; every leg needs {first}."
            )


def _option_legs_only(legs: list[Leg], count: int, name: str) -> Errors:
    errors: Errors = defaultdict(list)
    if len(legs) != count:
        errors["legs"].append(f"leg_count: a {name} has exactly {count} option legs; got {len(legs)}.")
    for i, leg in enumerate(legs):
        if leg["instrument"] != "option":
            errors[_k(i, "instrument")].append(f"options_only: leg {i} must be an option in a {name}.")
    return errors


def check_iron_condor(legs: list[Leg], scenario: dict) -> Errors:
    errors = _option_legs_only(legs, 4, "iron condor")
    if errors:
        return dict(errors)
    for i, leg in enumerate(legs[1:], start=1):
        if leg["expiry"] != legs[0]["expiry"]:
            errors[_k(i, "expiry")].append(
                f"one_expiry: leg {i} expires {leg['expiry']}; every leg must expire {legs[0]['expiry']}."
            )
    roles = iron_condor_roles(legs)
    if roles is None:
        errors["legs"].append(
            "ic_shape: an iron condor buys one put, sells one put, sells one call and buys one call."
        )
    else:
        order = [("long_put", "short_put"), ("short_put", "short_call"), ("short_call", "long_call")]
        for lower, upper in order:
            lo, hi = roles[lower], roles[upper]
            if not Decimal(legs[lo]["strike"]) < Decimal(legs[hi]["strike"]):
                errors[_k(hi, "strike")].append(
                    f"strike_order: leg {hi} ({upper.replace('_', ' ')} {legs[hi]['strike']}) must be above "
                    f"leg {lo} ({lower.replace('_', ' ')} {legs[lo]['strike']}); "
                    "long put < short put < short call < long call."
                )
    _equal_quantity(legs, errors)
    _in_chain(legs, scenario["chain"], errors)
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


def check_vertical_spread(legs: list[Leg], scenario: dict) -> Errors:
    errors = _option_legs_only(legs, 2, "vertical spread")
    if errors:
        return dict(errors)
    a, b = legs
    if a["right"] != b["right"]:
        errors[_k(1, "right")].append(
            f"same_right: leg 1 is a {b['right']}; both legs must be {a['right']}s."
        )
    if a["expiry"] != b["expiry"]:
        errors[_k(1, "expiry")].append(
            f"same_expiry: leg 1 expires {b['expiry']}; both legs must expire {a['expiry']}."
        )
    if Decimal(a["strike"]) == Decimal(b["strike"]):
        errors[_k(1, "strike")].append(f"different_strikes: both legs have strike {a['strike']}.")
    if a["action"] == b["action"]:
        errors[_k(1, "action")].append(
            "one_buy_one_sell: a vertical spread buys one leg and sells the other."
        )
    _equal_quantity(legs, errors)
    _in_chain(legs, scenario["chain"], errors)
    return dict(errors)


def check_covered_call(legs: list[Leg], scenario: dict) -> Errors:
    errors: Errors = defaultdict(list)
    shares = [i for i, leg in enumerate(legs) if leg["instrument"] == "equity"]
    calls = [i for i, leg in enumerate(legs) if leg["instrument"] == "option"]
    if len(legs) != 2 or len(shares) != 1 or len(calls) != 1:
        errors["legs"].append(
            f"leg_count: a covered call has one share leg and one short call leg; got {len(legs)} legs "
            f"({len(shares)} share, {len(calls)} option)."
        )
        return dict(errors)
    s, c = shares[0], calls[0]
    share, call = legs[s], legs[c]
    if share["action"] != "buy":
        errors[_k(s, "action")].append(f"long_shares: leg {s} must buy the shares.")
    if call["action"] != "sell" or call["right"] != "call":
        errors[_k(c, "action")].append(f"short_call: leg {c} must sell a call.")
    if share["quantity"] != SHARES_PER_CONTRACT * call["quantity"]:
        errors[_k(s, "quantity")].append(
            f"shares_per_contract: leg {s} holds {share['quantity']} shares; {call['quantity']} contract(s) "
            f"need {SHARES_PER_CONTRACT * call['quantity']}."
        )
    rules, chain = scenario["rules"], scenario["chain"]
    if rules.get("otm_only") and not Decimal(call["strike"]) > Decimal(chain["underlying_price"]):
        errors[_k(c, "strike")].append(
            f"otm_only: leg {c} strike {call['strike']} must be strictly above the underlying price "
            f"{chain['underlying_price']}."
        )
    dte = (dt.date.fromisoformat(call["expiry"]) - dt.date.fromisoformat(chain["as_of"])).days
    if dte < rules["min_dte"]:
        errors[_k(c, "expiry")].append(
            f"min_dte: leg {c} expires {dte} day(s) after {chain['as_of']}; the guide needs at least "
            f"{rules['min_dte']}."
        )
    _in_chain(legs, chain, errors)
    return dict(errors)


CHECKS = {
    "iron_condor": check_iron_condor,
    "vertical_spread": check_vertical_spread,
    "covered_call": check_covered_call,
}


def iron_condor_columns(legs: list[Leg], chain: dict) -> dict[str, Any]:
    """The named IC columns; net credit per share sells at the bid and buys at the ask."""
    roles = iron_condor_roles(legs)
    assert roles is not None  # only called after check_iron_condor passed
    credit = Decimal(0)
    for leg in legs:
        quote = chain_quote(chain, leg)
        credit += Decimal(quote["bid"]) if leg["action"] == "sell" else -Decimal(quote["ask"])
    return {
        "short_call_strike": Decimal(legs[roles["short_call"]]["strike"]),
        "long_call_strike": Decimal(legs[roles["long_call"]]["strike"]),
        "short_put_strike": Decimal(legs[roles["short_put"]]["strike"]),
        "long_put_strike": Decimal(legs[roles["long_put"]]["strike"]),
        "expiry": dt.date.fromisoformat(legs[0]["expiry"]),
        "net_credit": credit,
    }
