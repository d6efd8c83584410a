"""A filled position's economics at expiry (SPEC W15): one pure, exact-decimal function.

`position_economics(legs=..., fills=...)` takes W7 legs (the structural rules of
`trading.rules` passed) and one fill price per leg, and works for every strategy alike: the
position's profit or loss at expiry is a piecewise-linear function of the underlying's price
with its corners at the strikes, so its value at 0, at every strike and its slope beyond the
highest strike say everything (largest gain and loss, breakevens, the payoff points).

Conventions (docs/walkthrough.md, "Review economics"):
- Amounts are in currency for the whole position: an option contract is `MULTIPLIER` (100)
  shares, a share leg counts 1 per share; a leg's P&L is (value at expiry - fill) for a buy and
  (fill - value at expiry) for a sell.
- `net` is what opening the position cost (`debit`) or brought in (`credit`); `per_unit` is per
  share of one contract (the way quotes read), `total` the whole position. A covered call is a
  debit: the shares bought minus the call's premium. A net of exactly zero is a `debit` of 0.
- `max_gain` and `max_loss` are the highest and the lowest P&L at expiry, signed (a loss is
  negative), or None when unbounded (a naked call's loss above every strike). The underlying
  cannot fall below 0, so the low side is always bounded.
- `payoff` is sorted by underlying and has a point exactly at every strike and every breakeven,
  plus a margin either side (half the span of those prices, and never below 0): drawn as
  straight lines between its points it is the exact curve.

No float ever: every value is a Decimal; a division that does not terminate (only possible for
legs the strategy rules refuse) is rounded to `PLACES` decimal places.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

MULTIPLIER = 100
PLACES = Decimal("0.0001")
ZERO = Decimal(0)

Leg = dict[str, Any]


@dataclass(frozen=True)
class Net:
    kind: str  # "credit" | "debit"
    per_unit: Decimal
    total: Decimal


@dataclass(frozen=True)
class PayoffPoint:
    underlying: Decimal
    pnl: Decimal


@dataclass(frozen=True)
class Economics:
    fills: tuple[Decimal, ...]
    net: Net
    max_gain: Decimal | None
    max_loss: Decimal | None
    breakevens: tuple[Decimal, ...]
    payoff: tuple[PayoffPoint, ...]
    strikes: tuple[Decimal, ...] = ()
    multiplier: int = MULTIPLIER


def _units(leg: Leg) -> int:
    """Signed shares the leg stands for: + bought, - sold."""
    size = leg["quantity"] * (MULTIPLIER if leg["instrument"] == "option" else 1)
    return size if leg["action"] == "buy" else -size


def _value(leg: Leg, underlying: Decimal) -> Decimal:
    """One share's worth of the leg at expiry."""
    if leg["instrument"] != "option":
        return underlying
    strike = Decimal(leg["strike"])
    inner = underlying - strike if leg["right"] == "call" else strike - underlying
    return max(inner, ZERO)


def pnl_at(*, legs: Sequence[Leg], fills: Sequence[Decimal], underlying: Decimal) -> Decimal:
    """The whole position's P&L at expiry if the underlying closes at `underlying`."""
    return sum(
        (_units(leg) * (_value(leg, underlying) - fill) for leg, fill in zip(legs, fills, strict=True)),
        ZERO,
    )


def _slope_above(legs: Sequence[Leg]) -> int:
    """P&L per 1.00 of the underlying above the highest strike: shares and calls move with it."""
    return sum(_units(leg) for leg in legs if leg["instrument"] != "option" or leg["right"] == "call")


def _divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        quotient = numerator / denominator
    exact = quotient * denominator == numerator
    return quotient.normalize() if exact else quotient.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def _breakevens(corners: list[PayoffPoint], slope_above: int) -> list[Decimal]:
    """Where the piecewise-linear P&L crosses or touches zero (above 0, sorted)."""
    found: set[Decimal] = {p.underlying for p in corners if p.pnl == 0 and p.underlying > 0}
    for a, b in itertools.pairwise(corners):
        if (a.pnl < 0 < b.pnl) or (b.pnl < 0 < a.pnl):
            run = _divide(-a.pnl * (b.underlying - a.underlying), b.pnl - a.pnl)
            found.add(a.underlying + run)
    last = corners[-1]
    if slope_above and last.pnl and (last.pnl < 0) == (slope_above > 0):
        found.add(last.underlying + _divide(-last.pnl, Decimal(slope_above)))
    return sorted(found)


def _contracts(legs: Sequence[Leg]) -> int:
    """Contracts of the position (its option legs share one quantity under the W7 rules)."""
    options = [leg["quantity"] for leg in legs if leg["instrument"] == "option"]
    return max(options) if options else 1


def position_economics(*, legs: Sequence[Leg], fills: Sequence[Decimal]) -> Economics:
    """Net, largest gain and loss, breakevens and payoff points of a filled position."""
    if len(legs) != len(fills):
        raise ValueError("one fill price per leg")
    strikes = sorted({Decimal(leg["strike"]) for leg in legs if leg["instrument"] == "option"})
    corners = [
        PayoffPoint(price, pnl_at(legs=legs, fills=fills, underlying=price))
        for price in sorted({ZERO, *strikes})
    ]
    slope_above = _slope_above(legs)
    highs = [p.pnl for p in corners]
    max_gain = None if slope_above > 0 else max(highs)
    max_loss = None if slope_above < 0 else min(highs)
    breakevens = _breakevens(corners, slope_above)

    total = -sum((_units(leg) * fill for leg, fill in zip(legs, fills, strict=True)), ZERO)
    per_unit = _divide(abs(total), Decimal(_contracts(legs) * MULTIPLIER))
    net = Net("credit" if total > 0 else "debit", per_unit, abs(total))

    marked = sorted({*strikes, *breakevens})
    lo, hi = marked[0], marked[-1]
    margin = (hi - lo) / 2 if hi > lo else hi / 10
    grid = {*marked, max(lo - margin, ZERO), hi + margin}
    payoff = tuple(
        PayoffPoint(price, pnl_at(legs=legs, fills=fills, underlying=price)) for price in sorted(grid)
    )
    return Economics(
        fills=tuple(fills),
        net=net,
        max_gain=max_gain,
        max_loss=max_loss,
        breakevens=tuple(breakevens),
        payoff=payoff,
        strikes=tuple(strikes),
    )


def decimal_text(value: Decimal) -> str:
    """A decimal as the API writes money and prices: no exponent, at least 2 decimals, no
    trailing zeros past them, never "-0" ("-4150.00", "5341.50", "0.1234")."""
    if value == 0:
        return "0.00"
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def economics_json(economics: Economics) -> dict[str, Any]:
    """SPEC W15's `review` object: decimals as strings, `null` for unbounded."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else decimal_text(value)

    return {
        "fills": [{"leg": i, "price": decimal_text(price)} for i, price in enumerate(economics.fills)],
        "net": {
            "kind": economics.net.kind,
            "per_unit": decimal_text(economics.net.per_unit),
            "total": decimal_text(economics.net.total),
        },
        "max_gain": text(economics.max_gain),
        "max_loss": text(economics.max_loss),
        "breakevens": [decimal_text(price) for price in economics.breakevens],
        "payoff": [
            {"underlying": decimal_text(p.underlying), "pnl": decimal_text(p.pnl)} for p in economics.payoff
        ],
        "multiplier": economics.multiplier,
    }
