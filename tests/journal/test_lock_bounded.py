"""The bounded lock sweep (issue 11): after its first run the sweep reads only what can have
become due since, and stays correct for the cases a bound could miss."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journal import services
from journal.models import LockSweepMark, TradeSentimentLabel
from tests.journal.factories import LabelFactory, PaperOrderFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)
BEAT = dt.timedelta(minutes=5)


def sweep_at(when: dt.datetime, **kwargs) -> int:
    with time_machine.travel(when, tick=False):
        return services.labels_lock_due(**kwargs)


def locked(label: TradeSentimentLabel) -> bool:
    label.refresh_from_db()
    return label.post_label_locked_at is not None


def test_a_label_created_today_on_an_order_closed_long_ago_is_locked(alice):
    sweep_at(T0)  # the beat has been running: a mark exists
    long_ago = PaperOrderFactory(user=alice, closed=True, closed_at=T0 - dt.timedelta(days=90))
    with time_machine.travel(T0 + BEAT / 2, tick=False):
        # A label without pre/post label may be added to any closed order (SPEC J3).
        label = LabelFactory(user=alice, trade=long_ago, pre_label=None, post_label=None)
    assert sweep_at(T0 + BEAT) == 1
    assert locked(label)


def test_an_order_that_became_due_since_the_last_run_is_locked_once(alice):
    with time_machine.travel(T0 - dt.timedelta(days=3), tick=False):
        order = PaperOrderFactory(user=alice, closed=True, closed_at=T0 - dt.timedelta(hours=23, minutes=58))
        label = LabelFactory(user=alice, trade=order)
    assert sweep_at(T0) == 0  # closed 23h58m ago: not due yet
    assert sweep_at(T0 + BEAT) == 1
    assert locked(label)
    assert sweep_at(T0 + 2 * BEAT) == 0


def test_a_label_committed_just_after_the_previous_run_read_is_still_locked(alice):
    """A label whose INSERT began before the last run but committed after it: the overlap
    margin re-reads that slice of time, so the row is not skipped for ever."""
    order = PaperOrderFactory(user=alice, closed=True, closed_at=T0 - dt.timedelta(days=5))
    sweep_at(T0)
    with time_machine.travel(T0 - dt.timedelta(minutes=1), tick=False):
        label = LabelFactory(user=alice, trade=order, pre_label=None, post_label=None)
    assert sweep_at(T0 + BEAT) == 1
    assert locked(label)


def test_the_bounded_run_leaves_old_rows_written_around_the_services_and_full_takes_them(alice):
    """The bound is real: a label older than the last run on an order that was due before it
    (only possible by writing rows directly, as the demo seed does) waits for `full=True`."""
    with time_machine.travel(T0 - dt.timedelta(days=30), tick=False):
        order = PaperOrderFactory(user=alice, closed=True, closed_at=T0 - dt.timedelta(days=30))
    sweep_at(T0)  # locks nothing: no label yet
    with time_machine.travel(T0 - dt.timedelta(days=20), tick=False):
        label = LabelFactory(user=alice, trade=order, pre_label=None, post_label=None)
    assert sweep_at(T0 + BEAT) == 0
    assert not locked(label)
    assert sweep_at(T0 + 2 * BEAT, full=True) == 1
    assert locked(label)


def test_the_mark_advances_and_never_moves_back(alice):
    sweep_at(T0)
    mark = LockSweepMark.objects.get()
    assert (mark.cutoff, mark.ran_at) == (T0 - dt.timedelta(hours=24), T0)
    sweep_at(T0 - dt.timedelta(hours=1))  # a late, out-of-order runner
    mark.refresh_from_db()
    assert mark.cutoff == T0 - dt.timedelta(hours=24)


def test_the_bounded_run_reads_only_the_window_since_the_mark(alice):
    """Whatever the history, a run with nothing due is one mark read and two UPDATEs whose
    WHERE clauses bound closed_at and created_at (what keeps it at ms at 1M rows)."""
    sweep_at(T0)
    with CaptureQueriesContext(connection) as captured, time_machine.travel(T0 + BEAT, tick=False):
        assert services.labels_lock_due() == 0
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('UPDATE "trade_sentiment')]
    assert len(updates) == 2
    assert '."closed_at" >' in updates[0]
    assert '."created_at" >=' in updates[1]
