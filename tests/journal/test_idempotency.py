"""Idempotency keys on the journal's creating POSTs (SPEC O3, docs/api.md)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from idempotency.models import IdempotencyKey
from idempotency.services import keys_purge_expired
from idempotency.tasks import purge_idempotency_keys
from journal.models import PaperOrder, TradeSentimentLabel
from tests.journal.factories import CONDOR_LEGS

pytestmark = pytest.mark.django_db

ORDERS = "/api/paper-orders/"


SAVEPOINTS = ("SAVEPOINT", "RELEASE")  # the test's own transaction, not the request's


def ticket(**overrides) -> dict:
    return {"symbol": "SPY", "strategy_type": "iron_condor", "quantity": 1, "legs": CONDOR_LEGS, **overrides}


def post(client, url: str, body: dict | None, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, format="json", **headers)


def test_a_retried_order_post_with_the_same_key_creates_one_order(alice_client):
    key = str(uuid.uuid4())
    first = post(alice_client, ORDERS, ticket(), key)
    retried = post(alice_client, ORDERS, ticket(), key)

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert retried["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert PaperOrder.objects.count() == 1


def test_without_a_key_a_retry_writes_twice_as_before(alice_client):
    post(alice_client, ORDERS, ticket(), None)
    post(alice_client, ORDERS, ticket(), None)

    assert PaperOrder.objects.count() == 2


def test_the_same_key_with_another_body_is_a_409_naming_the_key(alice_client):
    post(alice_client, ORDERS, ticket(), "order-1")
    other = post(alice_client, ORDERS, ticket(quantity=2), "order-1")

    assert other.status_code == 409
    assert '"order-1"' in other.json()["detail"]
    assert PaperOrder.objects.count() == 1


def test_the_same_key_on_another_route_is_a_409(alice_client, alice_order):
    post(alice_client, ORDERS, ticket(), "shared")
    close = post(alice_client, f"{ORDERS}{alice_order.pk}/close/", {}, "shared")

    assert close.status_code == 409
    alice_order.refresh_from_db()
    assert alice_order.status == "open"


def test_keys_are_per_credential(alice_client, bob_client):
    mine = post(alice_client, ORDERS, ticket(), "same-key")
    theirs = post(bob_client, ORDERS, ticket(), "same-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert not theirs.has_header("Idempotent-Replayed")


def test_key_order_and_whitespace_of_the_body_do_not_make_another_request(alice_client):
    first = alice_client.post(
        ORDERS,
        '{"symbol": "SPY", "quantity": 1, "strategy_type": "iron_condor", "legs": []}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    again = alice_client.post(
        ORDERS,
        '{"legs":[],"strategy_type":"iron_condor","quantity":1,"symbol":"SPY"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert first.status_code == again.status_code == 400  # no legs: a 400, kept and replayed
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_a_retried_close_replays_the_first_200_instead_of_a_409(alice_client, alice_order):
    url = f"{ORDERS}{alice_order.pk}/close/"
    first = post(alice_client, url, {"realized_pnl": "12.50"}, "close-1")
    retried = post(alice_client, url, {"realized_pnl": "12.50"}, "close-1")
    unkeyed = post(alice_client, url, {"realized_pnl": "12.50"}, None)

    assert (first.status_code, retried.status_code, unkeyed.status_code) == (200, 200, 409)
    assert retried.json() == first.json()


def test_a_retried_label_post_creates_one_label(journal_on, alice_client, alice_order):
    body = {"trade_id": alice_order.pk, "pre_label": "planned_setup", "journal_note": "a private note"}
    first = post(alice_client, "/api/sentiment-labels/", body, "label-1")
    retried = post(alice_client, "/api/sentiment-labels/", body, "label-1")

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert TradeSentimentLabel.objects.count() == 1
    # The stored answer is the label list shape: it never holds the note (SPEC J6).
    assert "a private note" not in str(IdempotencyKey.objects.get().response_body)


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "naïve", "two words"])
def test_a_malformed_key_is_a_400_and_writes_nothing(alice_client, key):
    response = post(alice_client, ORDERS, ticket(), key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not PaperOrder.objects.exists() and not IdempotencyKey.objects.exists()


def test_a_5xx_keeps_nothing_so_the_retry_runs(alice_client, monkeypatch):
    from journal import services

    real = services.paper_order_open

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "paper_order_open", down)
    failed = post(alice_client, ORDERS, ticket(), "after-outage")
    monkeypatch.setattr(services, "paper_order_open", real)
    retried = post(alice_client, ORDERS, ticket(), "after-outage")

    assert (failed.status_code, retried.status_code) == (503, 201)
    assert not retried.has_header("Idempotent-Replayed")
    assert PaperOrder.objects.count() == 1


def test_a_key_is_free_again_after_24_hours(alice_client):
    with time_machine.travel(dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        post(alice_client, ORDERS, ticket(), "daily")
    with time_machine.travel(dt.datetime(2026, 5, 2, 8, 59, tzinfo=dt.UTC), tick=False):
        assert post(alice_client, ORDERS, ticket(), "daily")["Idempotent-Replayed"] == "true"
    with time_machine.travel(dt.datetime(2026, 5, 2, 9, 1, tzinfo=dt.UTC), tick=False):
        fresh = post(alice_client, ORDERS, ticket(quantity=3), "daily")

    assert fresh.status_code == 201 and not fresh.has_header("Idempotent-Replayed")
    assert PaperOrder.objects.count() == 2


def test_beat_purges_keys_older_than_24_hours(alice_client):
    with time_machine.travel(dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        post(alice_client, ORDERS, ticket(), "old")
    with time_machine.travel(dt.datetime(2026, 5, 2, 8, 0, tzinfo=dt.UTC), tick=False):
        post(alice_client, ORDERS, ticket(), "recent")
        assert keys_purge_expired() == 0
    with time_machine.travel(dt.datetime(2026, 5, 2, 9, 30, tzinfo=dt.UTC), tick=False):
        assert purge_idempotency_keys() == 1

    assert list(IdempotencyKey.objects.values_list("idempotency_key", flat=True)) == ["recent"]


@pytest.mark.usefixtures("flags_stay_cached")
def test_without_the_header_an_order_post_costs_no_extra_query(alice_client):
    def counted(key):
        with CaptureQueriesContext(connection) as captured:
            assert post(alice_client, ORDERS, ticket(), key).status_code == 201
        return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(SAVEPOINTS)]

    counted(None)  # warm caches
    plain, keyed = counted(None), counted("counted")

    assert not any("idempotency_keys" in sql for sql in plain)
    # The claim (one INSERT ... ON CONFLICT) and the stored answer (one UPDATE): docs/api.md.
    assert len(keyed) == len(plain) + 2, keyed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_on_postgres_give_one_order_and_the_same_answer(alice, monkeypatch):
    """The second request's claim waits on the first one's uncommitted key, then replays it."""
    from rest_framework.test import APIClient

    from accounts.services import api_key_create
    from journal import services

    token = api_key_create(user=alice)
    real_open = services.paper_order_open
    first_inside, answers, waited = threading.Event(), {}, []

    def slow_open(**kwargs):
        first_inside.set()
        # Hold the first request open until the second one is waiting on its key's row lock.
        waited.append(_a_lock_waiter_appears())
        return real_open(**kwargs)

    monkeypatch.setattr(services, "paper_order_open", slow_open)

    def call(name):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            answers[name] = post(client, ORDERS, ticket(), "race")
        finally:
            connection.close()

    first = threading.Thread(target=call, args=("first",))
    first.start()
    assert first_inside.wait(30)
    second = threading.Thread(target=call, args=("second",))
    second.start()
    first.join(60)
    second.join(60)

    assert waited == [True]  # the duplicate really waited on the first one's key
    assert answers["first"].status_code == answers["second"].status_code == 201
    assert answers["second"].json() == answers["first"].json()
    assert answers["second"]["Idempotent-Replayed"] == "true"
    assert PaperOrder.objects.count() == 1


def _a_lock_waiter_appears(timeout: float = 20) -> bool:
    """Poll (bounded) until another backend waits on a lock: the duplicate's INSERT."""
    import time

    from django.db import connections

    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the statistics views are a snapshot until cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO idempotency_keys%%'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def test_erasure_deletes_the_persons_keys_and_export_lists_them(alice_client, bob_client, alice):
    from accounts.services import dsr_delete, dsr_export

    post(alice_client, ORDERS, ticket(), "alice-key")
    post(bob_client, ORDERS, ticket(), "bob-key")

    exported = dsr_export(email=alice.email)
    dsr_delete(email=alice.email)

    assert [row["idempotency_key"] for row in exported["idempotency"]["idempotency_keys"]] == ["alice-key"]
    assert list(IdempotencyKey.objects.values_list("idempotency_key", flat=True)) == ["bob-key"]
