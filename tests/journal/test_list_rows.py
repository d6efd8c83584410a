"""The list pages build their JSON from `.values()` rows (issue 11): byte for byte what the
serializers the schema documents would give, row by row, in the same key order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journal.models import TradeSentimentLabel
from journal.serializers import BacktestRowSerializer, LabelSerializer
from tests.journal.conftest import SENTINEL_NOTE
from tests.journal.factories import LabelFactory, PaperOrderFactory

pytestmark = pytest.mark.django_db

# A microsecond-precise timestamp, one with none, and one in another zone than UTC.
STAMPS = (
    dt.datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 7, 2, tzinfo=dt.UTC),
    dt.datetime(2026, 7, 3, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
)


@pytest.fixture
def labels(alice, bob):
    """Alice's labels covering every nullable column both ways; one of Bob's she must not see."""
    rows = [
        # open order, note, both labels, not locked
        LabelFactory(
            user=alice,
            trade=PaperOrderFactory(user=alice, symbol="SPX", opened_at=STAMPS[0]),
            post_label="followed_plan",
            journal_note=SENTINEL_NOTE,
        ),
        # closed at a loss, no note, no pre_label, locked
        LabelFactory(
            user=alice,
            trade=PaperOrderFactory(
                user=alice,
                opened_at=STAMPS[1],
                status="closed",
                closed_at=STAMPS[2],
                realized_pnl=Decimal("-3.5"),
                strategy_type="vertical_spread",
            ),
            pre_label=None,
            post_label="followed_plan",
            post_label_locked_at=STAMPS[2],
        ),
        # closed with no P&L recorded, note only
        LabelFactory(
            user=alice,
            trade=PaperOrderFactory(user=alice, status="closed", closed_at=STAMPS[1], realized_pnl=None),
            pre_label=None,
            journal_note="x",
        ),
    ]
    LabelFactory(user=bob)
    return rows


def test_label_list_items_are_label_serializer_output(journal_on, alice_client, labels):
    body = alice_client.get("/api/sentiment-labels/").json()

    expected = [
        LabelSerializer(label).data for label in TradeSentimentLabel.objects.filter(user=labels[0].user)
    ]
    assert body["count"] == 3
    assert body["results"] == expected
    assert [list(item) for item in body["results"]] == [list(item) for item in expected]
    assert [item["journal_note_present"] for item in body["results"]] == [True, False, True]
    assert SENTINEL_NOTE not in str(body)


def test_backtest_items_are_backtest_row_serializer_output(journal_on, alice_client, alice, labels):
    body = alice_client.get("/api/sentiment-labels/backtest-filter/").json()

    instances = TradeSentimentLabel.objects.backtest_for_user(alice).backtest_rows()
    expected = [BacktestRowSerializer(label).data for label in instances]
    assert body["count"] == 3
    assert body["results"] == expected
    assert [list(item) for item in body["results"]] == [list(item) for item in expected]
    by_trade = {item["trade_id"]: item for item in body["results"]}
    assert by_trade[labels[1].trade_id]["realized_pnl"] == "-3.50"
    assert by_trade[labels[1].trade_id]["closed_at"] == "2026-07-04T04:59:59Z"
    assert by_trade[labels[2].trade_id]["realized_pnl"] is None
    assert SENTINEL_NOTE not in str(body)


@pytest.mark.usefixtures("flags_stay_cached")
@pytest.mark.parametrize(
    "url",
    [
        "/api/sentiment-labels/",
        "/api/sentiment-labels/backtest-filter/",
        "/api/sentiment-labels/backtest-filter/?symbol=SPY&strategy_type=iron_condor",
    ],
)
def test_a_list_page_is_three_statements_at_any_size(journal_on, alice_client, alice, url):
    """Issue 11's budget: the key lookup, one count (the backtest summary counts), one page."""

    def statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(url).status_code == 200
        return len(captured.captured_queries)

    LabelFactory(user=alice)
    statements()  # the process's flag overrides are read once, then cached (SPEC F3)
    few = statements()
    for _ in range(55):  # past one page
        LabelFactory(user=alice)
    assert (few, statements()) == (3, 3)
