"""SPEC W15: screen 4's `review` for every strategy, both directions, quantities 1 and 3,
against the tables worked by hand in tests/trading/worked.py; fills kept with the trade."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.trading.worked import TABLES
from tests.walkthrough.conftest import with_bucket
from tests.walkthrough.factories import PaperTradeFactory, legs
from trading.economics import economics_json
from walkthrough import scenarios
from walkthrough.models import PaperTrade, Progress
from walkthrough.serializers import ReviewScreenSerializer

BUCKET = {"iron_condor": "income", "covered_call": "covered_call"}


def _strategy(case: str) -> str:
    return case if case in BUCKET else "vertical_spread"


@pytest.mark.parametrize("case", list(TABLES), ids=[f"{name}-q{q}" for name, q in TABLES])
def test_screen_4_review_matches_the_hand_worked_table(tess, set_flags, case):
    (posted, fills), net, max_gain, max_loss, breakevens, payoff = TABLES[case]
    strategy = _strategy(case[0])
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True, FLAG_BETA_WALKTHROUGH_SELF_SELECT=False)
    with_bucket(tess, BUCKET.get(strategy, "directional"))

    created = tess.post("screen/3", {"strategy_type": strategy, "legs": posted})
    assert created.status_code == 201, created.json()
    review = tess.get("screen/4").json()["review"]

    assert review == {
        "fills": [{"leg": i, "price": f} for i, f in enumerate(fills)],
        "net": net,
        "max_gain": max_gain,
        "max_loss": max_loss,
        "breakevens": breakevens,
        "payoff": payoff,
        "multiplier": 100,
    }
    assert PaperTrade.objects.get().fills_json == fills


def test_a_fixture_change_after_the_fill_never_rewrites_the_review(tess, monkeypatch):
    with_bucket(tess, "income")
    tess.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")})
    before = tess.get("screen/4").json()["review"]

    data = copy.deepcopy(scenarios.scenario("iron_condor"))
    for quote in data["chain"]["options"]:
        quote["bid"] = quote["ask"] = "1.00"
    monkeypatch.setattr(scenarios, "scenario", lambda name: data)

    assert tess.get("screen/4").json()["review"] == before
    assert before["net"] == {"kind": "credit", "per_unit": "8.50", "total": "850.00"}


def test_a_trade_filled_before_fills_were_recorded_has_a_null_review(tess):
    with_bucket(tess, "income", screen=4)
    PaperTradeFactory(progress=tess.progress, fills_json=None)

    body = tess.get("screen/4").json()
    assert body["review"] is None
    assert body["trade"]["legs"] == legs("iron_condor")


@pytest.mark.usefixtures("flags_stay_cached")
def test_the_review_get_is_one_query(tess):
    """Bench target (SPEC W15, <= 1.5x a bare view): the token lookup reads the latest trade
    too (Progress.objects.with_latest_trade); the economics are stored with the trade."""
    with_bucket(tess, "income")
    tess.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")})
    tess.get("screen/4")  # warm the flag snapshot, as in a running process
    with CaptureQueriesContext(connection) as captured:
        response = tess.get("screen/4")
    assert response.status_code == 200 and response.json()["review"] is not None
    queries = [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(queries) == 1, queries
    assert "paper_trades" in queries[0] and "token_hash" in queries[0]


@pytest.mark.parametrize("strategy", ["iron_condor", "vertical_spread", "covered_call"])
def test_screen_4_is_the_review_screen_serializers_output(tess, set_flags, strategy):
    """One serializer serves every screen 4 (its fields built once); its payload is what a
    fresh ReviewScreenSerializer writes for the same trade."""
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True, FLAG_BETA_WALKTHROUGH_SELF_SELECT=False)
    with_bucket(tess, BUCKET.get(strategy, "directional"))
    tess.post("screen/3", {"strategy_type": strategy, "legs": legs(strategy)})
    body = tess.get("screen/4").json()

    trade = PaperTrade.objects.get()
    fresh = ReviewScreenSerializer(
        {
            "screen": "4",
            "scenario": body["scenario"],
            "strategy_type": body["strategy_type"],
            "builder_route": body["builder_route"],
            **scenarios.screen_copy(strategy, "4"),
            "trade": trade,
            "review": None,
        }
    ).data
    assert body == json.loads(json.dumps({**fresh, "review": body["review"]}, cls=DjangoJSONEncoder))
    assert body["trade"]["strategy_type"] == strategy


def test_the_review_is_stored_at_fill_time_and_equals_the_economics_of_the_fills(tess):
    with_bucket(tess, "income")
    tess.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")})
    trade = PaperTrade.objects.get()
    assert trade.review_json == economics_json(trade.economics())
    assert tess.get("screen/4").json()["review"] == trade.review_json


def test_a_review_without_fills_or_fills_without_a_review_is_refused(tess):
    with_bucket(tess, "income", screen=4)
    fills_alone = {"fills_json": ["1.00"] * 4, "review_json": None}
    for kwargs in (fills_alone, {"fills_json": None, "review_json": {}}):
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            PaperTradeFactory(progress=tess.progress, **kwargs)
        assert "walkthrough_papertrade_review_with_fills" in str(refused.value)


def test_latest_for_reads_what_the_orm_reads(tess):
    """The hand-written read of screen 4 against `.first()`: the newest trade, every field
    through its converters (decimals, dates, JSON, times), on SQLite and PostgreSQL."""
    with_bucket(tess, "income", screen=4)
    assert PaperTrade.objects.latest_for(tess.progress) is None
    older = PaperTradeFactory(progress=tess.progress, filled_at=timezone.now() - dt.timedelta(minutes=5))
    newer = PaperTradeFactory(progress=tess.progress, non_ic="covered_call")
    PaperTradeFactory()  # another tester's, newer still
    newest = PaperTradeFactory(progress=tess.progress, filled_at=newer.filled_at)  # a tie: the higher id

    found = PaperTrade.objects.latest_for(tess.progress)
    expected = PaperTrade.objects.for_progress(tess.progress).first()
    assert found.pk == expected.pk == newest.pk != older.pk
    fields = [field.attname for field in PaperTrade._meta.concrete_fields]
    assert [getattr(found, name) for name in fields] == [getattr(expected, name) for name in fields]
    assert isinstance(found.short_call_strike, Decimal) and isinstance(found.legs_json, list)
    assert found._state.adding is False and found._state.db == expected._state.db


def test_the_token_lookup_reads_the_same_tester_and_latest_trade(tess):
    """Screen 4's one statement against the two reads it replaces: the tester by token (every
    field through its converters) and `latest_for`, with no trade, a tie and another tester's."""
    with_bucket(tess, "income", screen=4)
    digest = Progress.objects.get(pk=tess.progress.pk).token_hash
    alone = Progress.objects.with_latest_trade(digest)
    assert alone.pk == tess.progress.pk and alone.latest_trade() is None
    first = PaperTradeFactory(progress=tess.progress, non_ic="covered_call")
    tie = PaperTradeFactory(progress=tess.progress, filled_at=first.filled_at)
    PaperTradeFactory()  # another tester's, newer still

    found = Progress.objects.with_latest_trade(digest)
    expected = Progress.objects.get(token_hash=digest)
    names = [field.attname for field in Progress._meta.concrete_fields]
    assert [getattr(found, name) for name in names] == [getattr(expected, name) for name in names]
    trade, latest = found.latest_trade(), PaperTrade.objects.latest_for(expected)
    assert trade.pk == latest.pk == tie.pk != first.pk
    fields = [field.attname for field in PaperTrade._meta.concrete_fields]
    assert [getattr(trade, name) for name in fields] == [getattr(latest, name) for name in fields]
    assert found._state.adding is False and trade._state.adding is False
    assert Progress.objects.with_latest_trade("0" * 64) is None
