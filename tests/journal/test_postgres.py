"""Real concurrency and a real Celery worker (SPEC J5, J7). PostgreSQL and Redis only."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from journal import services
from journal.models import TradeSentimentLabel
from tests.journal.factories import LabelFactory, PaperOrderFactory
from tests.workers import celery_worker


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("racers", [2, 6])
def test_concurrent_duplicate_labels_give_one_201_and_the_rest_409(journal_on, alice, racers):
    order = PaperOrderFactory(user=alice)
    token, _ = Token.objects.get_or_create(user=alice)
    barrier = threading.Barrier(racers)
    statuses: list[int] = []

    def race():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        try:
            barrier.wait(timeout=10)
            response = client.post(
                "/api/sentiment-labels/", {"trade_id": order.pk, "pre_label": "planned_setup"}, format="json"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [201] + [409] * (racers - 1)
    assert TradeSentimentLabel.objects.filter(trade=order).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_patch_holding_its_row_lock_does_not_block_other_users(alice, bob, monkeypatch):
    """PATCH locks its label and order, not the shared taxonomy row every label points to.

    A FOR UPDATE on the taxonomy version would block every other user's label insert (its
    foreign-key check takes FOR KEY SHARE on that row) for as long as one PATCH runs.
    """
    alices = LabelFactory(user=alice)
    bobs_order = PaperOrderFactory(user=bob)
    locked, release = threading.Event(), threading.Event()
    check_timing = services._check_timing

    def paused_check_timing(**kwargs):
        locked.set()  # label_update holds its row locks from here until it commits
        release.wait(timeout=20)
        return check_timing(**kwargs)

    monkeypatch.setattr(services, "_check_timing", paused_check_timing)

    def patch():
        try:
            services.label_update(user=alice, label_id=alices.pk, journal_note="mine")
        finally:
            connection.close()

    thread = threading.Thread(target=patch)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        monkeypatch.setattr(services, "_check_timing", check_timing)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            label = services.label_create(user=bob, trade_id=bobs_order.pk, pre_label="planned_setup")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        thread.join(timeout=30)
    assert label.taxonomy_version_id == alices.taxonomy_version_id
    alices.refresh_from_db()
    assert alices.journal_note == "mine"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_with_beat_locks_a_due_label(alice):
    """celery -A config worker -B against Redis and the test database locks the label."""
    due = LabelFactory(
        user=alice,
        trade=PaperOrderFactory(user=alice, closed=True, closed_at=timezone.now() - dt.timedelta(hours=25)),
    )
    fresh = LabelFactory(
        user=alice, trade=PaperOrderFactory(user=alice, closed=True, closed_at=timezone.now())
    )
    with celery_worker(name="journal-beat", beat=True, env={"JOURNAL_LOCK_INTERVAL_SECONDS": "1"}) as worker:
        locked = worker.wait_for(
            lambda: TradeSentimentLabel.objects.filter(pk=due.pk, post_label_locked_at__isnull=False).exists()
        )
        output = worker.output()
    assert locked, output
    due.refresh_from_db()
    fresh.refresh_from_db()
    assert due.post_label_locked_at is not None
    assert fresh.post_label_locked_at is None
