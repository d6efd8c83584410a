"""Walkthrough test data: progress rows, paper trades, survey answers, and valid legs."""

from __future__ import annotations

import copy
from decimal import Decimal

import factory

from walkthrough.demo import SAMPLE_LEGS
from walkthrough.models import PaperTrade, Progress, StrategyType, SurveyAnswer, Track


class ProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Progress

    tester_email = factory.Sequence(lambda n: f"tester{n}@example.com")
    # Not the HMAC of anything: factory rows are for admin/data tests; API actors issue tokens.
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    track = Track.FULL


class PaperTradeFactory(factory.django.DjangoModelFactory):
    """An iron condor by default, with its named columns filled as the CHECK requires."""

    class Meta:
        model = PaperTrade

    progress = factory.SubFactory(ProgressFactory, current_screen=4)
    strategy_type = StrategyType.IRON_CONDOR
    legs_json = factory.LazyFunction(lambda: legs("iron_condor"))
    short_put_strike = Decimal("5350")
    long_put_strike = Decimal("5300")
    short_call_strike = Decimal("5600")
    long_call_strike = Decimal("5650")
    expiry = "2026-07-17"
    net_credit = Decimal("8.50")

    # PaperTradeFactory(non_ic="covered_call"): legs of that shape, IC columns NULL.
    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        non_ic = kwargs.pop("non_ic", None)
        if non_ic:
            kwargs.update(strategy_type=non_ic, legs_json=legs(non_ic))
            for name in ("short_put_strike", "long_put_strike", "short_call_strike", "long_call_strike"):
                kwargs[name] = None
            kwargs.update(expiry=None, net_credit=None)
        return kwargs


class SurveyAnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyAnswer

    progress = factory.SubFactory(ProgressFactory, current_screen=5)
    question_id = "clarity"
    answer = "4"


def legs(strategy_type: str) -> list[dict]:
    """A fresh copy of valid legs for the strategy (mutating it never leaks between tests)."""
    return copy.deepcopy(SAMPLE_LEGS[strategy_type])


SURVEY_ANSWERS = {"clarity": "4", "relevance": "yes", "next_step": "paper_trade_more"}
