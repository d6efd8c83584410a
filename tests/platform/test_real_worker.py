"""The retention tasks run in a real Celery worker against Redis (SPEC W11, J10). CI only.

The beat-driven lock is proved in tests/journal/test_postgres.py; here the purges are sent to
the broker as beat would send them, and a worker process executes them on the test database.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from config.celery import app
from journal.models import PaperOrder, TradeSentimentLabel
from journal.tasks import purge_cancelled_account_labels
from tests.factories import UserFactory
from tests.journal.factories import LabelFactory, seed_taxonomy_v1
from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, SurveyAnswerFactory
from tests.workers import celery_worker
from walkthrough.models import PaperTrade, Progress, SurveyAnswer
from walkthrough.tasks import purge_walkthrough_data

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_purges_walkthrough_rows_30_days_after_the_programme():
    tess = ProgressFactory(tester_email="tess@example.com")
    PaperTradeFactory(progress=tess)
    SurveyAnswerFactory(progress=tess)
    ended = (timezone.now() - dt.timedelta(days=31)).isoformat()
    app.control.purge()  # a message left in the queue by an earlier run must not run here

    with celery_worker(name="walkthrough-purge", env={"BETA_PROGRAM_ENDS_AT": ended}) as worker:
        purge_walkthrough_data.delay()
        purged = worker.wait_for(lambda: not Progress.objects.exists())
        output = worker.output()

    assert purged, output
    assert not PaperTrade.objects.exists()
    assert not SurveyAnswer.objects.exists()


def test_a_real_worker_keeps_walkthrough_rows_before_the_30_days_are_up():
    ProgressFactory(tester_email="tess@example.com")
    ended = (timezone.now() - dt.timedelta(days=29)).isoformat()
    app.control.purge()

    with celery_worker(name="walkthrough-keep", env={"BETA_PROGRAM_ENDS_AT": ended}) as worker:
        sent = purge_walkthrough_data.delay()
        # The worker's own line for this very task ("Task …[<id>] succeeded in …s"): the banner
        # and any other task say neither.
        ran = worker.wait_for(lambda: f"[{sent.id}] succeeded" in worker.output())
        output = worker.output()

    assert ran, output
    assert Progress.objects.filter(tester_email="tess@example.com").exists()


def test_a_real_worker_purges_labels_of_accounts_cancelled_90_days_ago():
    seed_taxonomy_v1()  # a transactional test's flush empties the migration's seed
    gone = UserFactory(cancelled_at=timezone.now() - dt.timedelta(days=91))
    recent = UserFactory(cancelled_at=timezone.now() - dt.timedelta(days=89))
    active = UserFactory()
    purged_label = LabelFactory(user=gone)
    kept = [LabelFactory(user=recent), LabelFactory(user=active)]
    app.control.purge()

    with celery_worker(name="journal-purge") as worker:
        purge_cancelled_account_labels.delay()
        purged = worker.wait_for(lambda: not TradeSentimentLabel.objects.filter(pk=purged_label.pk).exists())
        output = worker.output()

    assert purged, output
    assert set(TradeSentimentLabel.objects.values_list("pk", flat=True)) == {label.pk for label in kept}
    # Labels go; the execution record stays (ADR 0133 D1).
    assert PaperOrder.objects.filter(pk=purged_label.trade_id).exists()
