"""The operators' preview of every W5 matrix row (SPEC W16): screens 1-5 as a tester meets them.

Each row is a (flags, bucket) pair; its screens come from the same payload builders as the API
(walkthrough/screens.py), for an unsaved tester and an unsaved worked example trade (the demo's
sample legs, filled against the fixture chain as a real fill would be). Nothing is written and
no token is issued, so previewing is safe at any time, before and after a sign-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from trading.picture import payoff_svg
from walkthrough import scenarios, screens
from walkthrough.demo import SAMPLE_LEGS
from walkthrough.models import PaperTrade, Progress, StrategyType, Track, review_of
from walkthrough.scenarios.rules import fill_quotes, iron_condor_columns

PREVIEW_EMAIL = "preview@example.invalid"


@dataclass(frozen=True)
class MatrixRow:
    """One row of the SPEC W5 table: the flags and the bucket that select it."""

    key: str
    routing: str
    bucket_text: str
    self_select: str
    flags: scenarios.Flags
    bucket: str | None

    @property
    def served(self) -> scenarios.Resolution:
        return self.flags.resolve(self.bucket)


_ON, _OFF = True, False
# The five rows of SPEC W5, in its order. Where a row holds for "any" value, the preview takes
# one that shows it (income for "any bucket", S off for "any S"); the row's text says which.
MATRIX_ROWS = (
    MatrixRow(
        "routing-off", "off", "any (shown: income)", "any (shown: off)", scenarios.Flags(_OFF, _OFF), "income"
    ),
    MatrixRow(
        "income",
        "on",
        "income, unknown, not set (shown: income)",
        "any (shown: off)",
        scenarios.Flags(_ON, _OFF),
        "income",
    ),
    MatrixRow(
        "covered-call", "on", "covered_call", "any (shown: off)", scenarios.Flags(_ON, _OFF), "covered_call"
    ),
    MatrixRow("directional-simple", "on", "directional", "on", scenarios.Flags(_ON, _ON), "directional"),
    MatrixRow("directional-inline", "on", "directional", "off", scenarios.Flags(_ON, _OFF), "directional"),
)
ROWS_BY_KEY = {row.key: row for row in MATRIX_ROWS}


def example_trade(strategy_type: str) -> PaperTrade:
    """The worked example of a strategy, filled now against its scenario's chain (unsaved)."""
    legs = [dict(leg) for leg in SAMPLE_LEGS[strategy_type]]
    fills = fill_quotes(legs, scenarios.scenario(strategy_type)["chain"])
    columns = iron_condor_columns(legs, fills) if strategy_type == StrategyType.IRON_CONDOR else {}
    return PaperTrade(
        strategy_type=strategy_type,
        legs_json=legs,
        fills_json=fills,
        review_json=review_of(legs=legs, fills=fills),
        filled_at=timezone.now(),
        **columns,
    )


def trade_picture(trade: PaperTrade) -> str | None:
    """The payoff of a filled trade as SVG markup (None for a trade without recorded fills)."""
    economics = trade.economics()
    if economics is None:
        return None
    chain = scenarios.scenario(trade.strategy_type)["chain"]
    return payoff_svg(
        economics, underlying=chain["underlying"], title="Payoff at expiry of the whole position"
    )


@dataclass(frozen=True)
class PreviewScreen:
    route: str
    label: str
    payload: dict[str, Any]


def row_screens(row: MatrixRow) -> tuple[list[PreviewScreen], PaperTrade]:
    """Screens 1-5 exactly as a tester on `row` receives them, and the example trade shown on 4."""
    served = row.served
    full = Progress(tester_email=PREVIEW_EMAIL, track=Track.FULL, intent_bucket=row.bucket)
    self_select = Progress(tester_email=PREVIEW_EMAIL, track=Track.SELF_SELECT, intent_bucket=row.bucket)
    if served.builder_route == scenarios.BUILDER_SIMPLE_1:
        builder = screens.scenario_screen(scenarios.resolve_simple_builder(served), "simple/1", builder=True)
    else:
        builder = screens.scenario_screen(served, "3", builder=True)
    trade = example_trade(served.strategy_type)
    root = scenarios.API_ROOT
    return [
        PreviewScreen(f"{root}screen/1", "Screen 1: door (full track)", screens.door_screen(full)),
        PreviewScreen(
            f"{root}screen/1", "Screen 1: door (self-select track)", screens.door_screen(self_select)
        ),
        PreviewScreen(
            f"{root}screen/2", "Screen 2: scenario", screens.scenario_screen(served, "2", builder=False)
        ),
        PreviewScreen(served.builder_route, "Screen 3: builder", builder),
        PreviewScreen(
            f"{root}screen/4", "Screen 4: review of the worked example", screens.review_screen(served, trade)
        ),
        PreviewScreen(f"{root}screen/5", "Screen 5: survey", screens.survey_screen(full, {})),
    ], trade


def review_figures(review: dict[str, Any] | None) -> dict[str, str | None] | None:
    """The review's signed figures as the amounts a sentence states ("a loss of 4150.00")."""
    if review is None:
        return None

    def amount(value: str | None) -> str | None:
        return None if value is None else value.removeprefix("-")

    gain, loss = review["max_gain"], review["max_loss"]
    return {
        "gain": amount(gain),
        "gain_is_loss": gain is not None and gain.startswith("-"),
        "loss": amount(loss),
        "loss_is_gain": loss is not None and not loss.startswith("-") and loss != "0.00",
    }
