"""Real concurrency and a real Celery worker (SPEC J2, J5, J7). PostgreSQL and Redis only."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from core.errors import ConflictError
from journal import services
from journal.models import SentimentTaxonomyVersion, TradeSentimentLabel
from tests.journal.factories import LabelFactory, PaperOrderFactory
from tests.workers import celery_worker


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("racers", [2, 6])
def test_concurrent_duplicate_labels_give_one_201_and_the_rest_409(journal_on, alice, racers):
    order = PaperOrderFactory(user=alice)
    key = api_key_create(user=alice)
    barrier = threading.Barrier(racers)
    statuses: list[int] = []

    def race():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
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
        # SET LOCAL: a plain SET would stay on a pooled server connection (SPEC O1).
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            label = services.label_create(user=bob, trade_id=bobs_order.pk, pre_label="planned_setup")
    finally:
        release.set()
        thread.join(timeout=30)
    assert label.taxonomy_version_id == alices.taxonomy_version_id
    alices.refresh_from_db()
    assert alices.journal_note == "mine"


def _paused(monkeypatch, name: str) -> tuple[threading.Event, threading.Event]:
    """Pause journal.services.<name> once it is called: (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    real = getattr(services, name)

    def paused(**kwargs):
        reached.set()
        release.wait(timeout=20)
        return real(**kwargs)

    monkeypatch.setattr(services, name, paused)
    return reached, release


def _in_thread(target) -> tuple[threading.Thread, threading.Event, list]:
    """Run target in a thread with its own connection: (thread, done, [result or exception])."""
    done, outcome = threading.Event(), []

    def run():
        try:
            outcome.append(target())
        except Exception as error:
            outcome.append(error)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done, outcome


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_close_waits_for_a_pre_label_patch_holding_the_row_lock(alice, monkeypatch):
    """SPEC J7: pre_label only before the close. The PATCH checks the order as open and holds
    the order's row lock until it commits, so a concurrent close cannot slip in between."""
    label = LabelFactory(user=alice)
    reached, release = _paused(monkeypatch, "_check_timing")
    patch, _patched, patch_outcome = _in_thread(
        lambda: services.label_update(user=alice, label_id=label.pk, pre_label="rule_based_entry")
    )
    try:
        assert reached.wait(timeout=10)
        close, closed, close_outcome = _in_thread(
            lambda: services.paper_order_close(user=alice, order_id=label.trade_id)
        )
        assert not closed.wait(timeout=1.5), "the close did not wait for the PATCH's row lock"
    finally:
        release.set()
        patch.join(timeout=30)
    close.join(timeout=30)

    assert not isinstance(patch_outcome[0], Exception), patch_outcome
    assert not isinstance(close_outcome[0], Exception), close_outcome
    label.refresh_from_db()
    order = label.trade
    order.refresh_from_db()
    assert label.pre_label == "rule_based_entry"
    assert order.closed_at >= label.updated_at  # the close came after the label change


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_taxonomy_edit_waits_for_a_label_insert_then_refuses(alice, monkeypatch):
    """SPEC J2: "not in use" cannot go stale between the admin's check and its save."""
    v2 = services.taxonomy_version_create(
        pre_labels=[{"code": "planned_setup", "display": "Planned setup"}],
        post_labels=[{"code": "exited_per_plan", "display": "Exited per plan"}],
    )
    order = PaperOrderFactory(user=alice)
    reached, release = _paused(monkeypatch, "_check_timing")
    insert, _inserted, insert_outcome = _in_thread(
        lambda: services.label_create(
            user=alice, trade_id=order.pk, pre_label="planned_setup", taxonomy_version=v2.version
        )
    )

    def edit():
        version = SentimentTaxonomyVersion.objects.get(pk=v2.pk)
        services.taxonomy_version_update(
            version=version,
            pre_labels=[{"code": "other_code", "display": "Another"}],
            post_labels=version.post_labels,
        )

    try:
        assert reached.wait(timeout=10)
        editor, edited, edit_outcome = _in_thread(edit)
        assert not edited.wait(timeout=1.5), "the edit did not wait for the label insert"
    finally:
        release.set()
        insert.join(timeout=30)
    editor.join(timeout=30)

    assert isinstance(insert_outcome[0], TradeSentimentLabel), insert_outcome
    assert isinstance(edit_outcome[0], ConflictError), edit_outcome
    v2.refresh_from_db()
    assert [item["code"] for item in v2.pre_labels] == ["planned_setup"]


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
