"""The 24h post_label lock (SPEC J7): one rule, three callers, and the PATCH safety net."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journal import services, tasks
from journal.models import LockSweepMark, TradeSentimentLabel
from tests.journal.factories import LabelFactory, PaperOrderFactory
from tests.processes import manage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)


def closed_label(user, *, closed_at=T0, **kwargs) -> TradeSentimentLabel:
    order = PaperOrderFactory(user=user, closed=True, closed_at=closed_at)
    return LabelFactory(user=user, trade=order, **kwargs)


@pytest.mark.parametrize(
    ("after_close", "locked"),
    [
        (dt.timedelta(hours=23, minutes=59, seconds=59), False),
        (dt.timedelta(hours=24), True),
        (dt.timedelta(days=3), True),
    ],
)
def test_the_sweep_locks_exactly_after_24h(alice, after_close, locked):
    label = closed_label(alice)
    with time_machine.travel(T0 + after_close, tick=False):
        assert services.labels_lock_due() == int(locked)
    label.refresh_from_db()
    assert (label.post_label_locked_at is not None) is locked


def test_the_sweep_is_idempotent_and_skips_open_and_cancelled(alice, bob):
    due = [closed_label(alice), closed_label(bob)]
    LabelFactory(user=alice, trade=PaperOrderFactory(user=alice))
    LabelFactory(user=alice, trade=PaperOrderFactory(user=alice, cancelled=True))
    with time_machine.travel(T0 + dt.timedelta(days=1, minutes=1), tick=False):
        assert services.labels_lock_due() == 2
        assert services.labels_lock_due() == 0
    locked = TradeSentimentLabel.objects.filter(post_label_locked_at__isnull=False)
    assert sorted(locked.values_list("pk", flat=True)) == sorted(label.pk for label in due)


def test_the_sweep_never_touches_label_content(alice):
    label = closed_label(alice, post_label="closed_early", journal_note="kept as written")
    with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
        services.labels_lock_due()
    label.refresh_from_db()
    assert (label.pre_label, label.post_label, label.journal_note) == (
        "planned_setup",
        "closed_early",
        "kept as written",
    )
    assert label.post_label_locked_at == T0 + dt.timedelta(days=2)


def test_the_command_prints_the_count(alice):
    closed_label(alice)
    closed_label(alice)
    out = StringIO()
    with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
        call_command("lock_post_labels", stdout=out)
        call_command("lock_post_labels", stdout=out)
    assert out.getvalue().splitlines() == ["Locked 2 post label(s).", "Locked 0 post label(s)."]


def test_the_beat_task_calls_the_same_service(alice, settings):
    closed_label(alice)
    with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
        assert tasks.lock_post_labels() == 1
    schedule = settings.CELERY_BEAT_SCHEDULE["journal-lock-post-labels"]
    assert schedule["task"] == tasks.lock_post_labels.name == "journal.tasks.lock_post_labels"


def test_beat_takes_its_interval_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.CELERY_BEAT_SCHEDULE['journal-lock-post-labels']['schedule'])"
    )
    default = manage("shell", "-v", "0", "-c", code, env={"DEBUG": "1"})
    seven = manage("shell", "-v", "0", "-c", code, env={"DEBUG": "1", "JOURNAL_LOCK_INTERVAL_SECONDS": "7"})
    assert (default.stdout.strip(), seven.stdout.strip()) == ("300.0", "7.0"), default.stderr + seven.stderr


def _sweep_statements(n_due: int, user, *, when: dt.datetime) -> list[str]:
    for _ in range(n_due):
        closed_label(user)
    with (
        time_machine.travel(when, tick=False),
        CaptureQueriesContext(connection) as captured,
    ):
        assert services.labels_lock_due() == n_due
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "SET "))
    ]


@pytest.mark.parametrize("bounded", [False, True], ids=["first-run", "bounded-run"])
def test_the_sweep_is_set_based_whatever_the_row_count(alice, bounded):
    """Issue 11 changed the shape (a mark row, and two bounded UPDATEs after the first run);
    what must hold is that no label is read into Python and the count does not grow with rows."""
    if bounded:
        with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
            services.labels_lock_due()
    one = _sweep_statements(1, alice, when=T0 + dt.timedelta(days=2))
    TradeSentimentLabel.objects.all().delete()
    if not bounded:
        LockSweepMark.objects.all().delete()
    many = _sweep_statements(25, alice, when=T0 + dt.timedelta(days=2, minutes=5))
    # bounded: lock the mark, two UPDATEs, move the mark; first run: create the mark as well.
    assert len(one) == len(many) == (4 if bounded else 5), many
    selects = [sql for sql in many if sql.upper().startswith("SELECT")]
    assert selects and all('FROM "journal_lock_sweep_marks"' in sql for sql in selects)
    label_updates = [sql for sql in many if sql.upper().startswith('UPDATE "TRADE_SENTIMENT_LABELS"')]
    assert len(label_updates) == (2 if bounded else 1)


@pytest.mark.parametrize(
    ("after_close", "sweep_ran", "status"),
    [
        (dt.timedelta(hours=1), False, 200),
        (dt.timedelta(hours=23, minutes=59), False, 200),
        (dt.timedelta(hours=24, seconds=1), False, 409),  # the worker has not run yet
        (dt.timedelta(hours=25), True, 409),
    ],
)
def test_patch_of_post_label_after_24h_is_409(
    journal_on, alice, alice_client, after_close, sweep_ran, status
):
    label = closed_label(alice)
    with time_machine.travel(T0 + after_close, tick=False):
        if sweep_ran:
            services.labels_lock_due()
        response = alice_client.patch(
            f"/api/sentiment-labels/{label.pk}/", {"post_label": "exited_per_plan"}, format="json"
        )
    assert response.status_code == status, response.json()
    label.refresh_from_db()
    assert label.post_label == ("exited_per_plan" if status == 200 else None)
    if status == 409:
        assert "locked" in response.json()["detail"]


def test_a_locked_flag_wins_even_if_the_clock_disagrees(journal_on, alice, alice_client):
    label = closed_label(alice, closed_at=timezone.now(), post_label_locked_at=timezone.now())
    response = alice_client.patch(
        f"/api/sentiment-labels/{label.pk}/", {"post_label": "closed_early"}, format="json"
    )
    assert response.status_code == 409


def test_note_stays_editable_after_the_lock(journal_on, alice, alice_client):
    label = closed_label(alice, post_label="closed_early")
    with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
        services.labels_lock_due()
        response = alice_client.patch(
            f"/api/sentiment-labels/{label.pk}/", {"journal_note": "later"}, format="json"
        )
    assert response.status_code == 200


def test_creating_a_label_with_post_label_after_24h_is_409(journal_on, alice, alice_client):
    order = PaperOrderFactory(user=alice, closed=True, closed_at=T0)
    with time_machine.travel(T0 + dt.timedelta(hours=25), tick=False):
        response = alice_client.post(
            "/api/sentiment-labels/", {"trade_id": order.pk, "post_label": "exited_per_plan"}, format="json"
        )
    assert response.status_code == 409
    assert not TradeSentimentLabel.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_lock_each_row_once(alice):
    labels = [closed_label(alice, closed_at=timezone.now() - dt.timedelta(days=2)) for _ in range(30)]
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            counts.append(services.labels_lock_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(counts)[-1] + sorted(counts)[0] == len(labels)
    assert TradeSentimentLabel.objects.filter(post_label_locked_at__isnull=True).count() == 0
