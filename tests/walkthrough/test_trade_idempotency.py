"""The walkthrough trade POST honours an Idempotency-Key (SPEC O3, docs/api.md)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.walkthrough.conftest import with_bucket
from tests.walkthrough.factories import legs
from walkthrough.models import PaperTrade

TRADE = {"strategy_type": "iron_condor", "legs": legs("iron_condor")}


@pytest.fixture
def builder(tess, set_flags):
    set_flags(FLAG_STRATEGY_TEMPLATES_V2=False)
    return with_bucket(tess, "income")


SAVEPOINTS = ("SAVEPOINT", "RELEASE")  # the test's own transaction, not the request's


def test_a_retried_trade_post_with_the_same_key_fills_one_trade(builder):
    first = builder.post("screen/3", TRADE, HTTP_IDEMPOTENCY_KEY="trade-1")
    retried = builder.post("screen/3", TRADE, HTTP_IDEMPOTENCY_KEY="trade-1")

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert retried["Idempotent-Replayed"] == "true"
    assert PaperTrade.objects.filter(progress=builder.progress).count() == 1


def test_the_same_key_with_another_trade_is_a_409_naming_it(builder):
    builder.post("screen/3", TRADE, HTTP_IDEMPOTENCY_KEY="trade-1")
    changed = {**TRADE, "legs": legs("iron_condor")[:2]}
    other = builder.post("screen/3", changed, HTTP_IDEMPOTENCY_KEY="trade-1")

    assert other.status_code == 409
    assert '"trade-1"' in other.json()["detail"]


def test_two_testers_keys_never_meet(builder, make_tester, set_flags):
    other = with_bucket(make_tester("theo@example.com"), "income")

    mine = builder.post("screen/3", TRADE, HTTP_IDEMPOTENCY_KEY="same")
    theirs = other.post("screen/3", TRADE, HTTP_IDEMPOTENCY_KEY="same")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.usefixtures("flags_stay_cached")
def test_a_keyed_trade_post_costs_two_queries_more(builder, make_tester):
    """The issue 11 budget (<= 5) holds without the header; the key adds its claim and the
    stored answer (docs/api.md, docs/performance.md)."""
    other = with_bucket(make_tester("theo@example.com"), "income")
    builder.get("screen/3")

    def counted(actor, **headers):
        with CaptureQueriesContext(connection) as captured:
            assert actor.post("screen/3", TRADE, **headers).status_code == 201
        return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(SAVEPOINTS)]

    plain = counted(builder)
    keyed = counted(other, HTTP_IDEMPOTENCY_KEY="counted")

    assert len(plain) <= 5
    assert len(keyed) == len(plain) + 2, keyed
