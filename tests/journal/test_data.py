"""Data duties (SPEC J10): DSR deletion and the 90-day purge of cancelled accounts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from accounts.services import dsr_delete
from journal import services, tasks
from journal.models import PaperOrder, TradeSentimentLabel
from tests.factories import UserFactory
from tests.journal.factories import LabelFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_journal_dsr_delete_removes_labels_and_keeps_orders(alice, bob):
    LabelFactory(user=alice)
    LabelFactory(user=alice)
    bobs = LabelFactory(user=bob)
    assert services.journal_dsr_delete(email="ALICE@example.com") == {"trade_sentiment_labels": 2}
    assert list(TradeSentimentLabel.objects.values_list("pk", flat=True)) == [bobs.pk]
    assert PaperOrder.objects.filter(user=alice).count() == 2


def test_accounts_dsr_delete_includes_the_journal(alice):
    LabelFactory(user=alice)
    erasure = dsr_delete(email=alice.email)
    assert erasure.deleted["trade_sentiment_labels"] == 1
    assert not TradeSentimentLabel.objects.exists()
    assert PaperOrder.objects.count() == 1


def test_dsr_command_reports_the_journal(alice, capsys):
    LabelFactory(user=alice)
    call_command("dsr_delete", alice.email)
    assert "trade_sentiment_labels: 1 deleted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("days_since_cancel", "purged"),
    [(None, False), (89, False), (90, True), (400, True)],
)
def test_purge_after_90_days_of_cancellation(days_since_cancel, purged):
    user = UserFactory(cancelled_at=None if days_since_cancel is None else T0)
    label = LabelFactory(user=user)
    stays = LabelFactory(user=UserFactory())
    now = T0 + dt.timedelta(days=days_since_cancel or 0)
    with time_machine.travel(now, tick=False):
        assert services.labels_purge_cancelled_accounts() == int(purged)
    assert TradeSentimentLabel.objects.filter(pk=label.pk).exists() is not purged
    assert TradeSentimentLabel.objects.filter(pk=stays.pk).exists()
    assert PaperOrder.objects.filter(pk=label.trade_id).exists()


def test_purge_task_uses_the_service(settings):
    LabelFactory(user=UserFactory(cancelled_at=T0))
    with time_machine.travel(T0 + dt.timedelta(days=91), tick=False):
        assert tasks.purge_cancelled_account_labels() == 1
    assert settings.CELERY_BEAT_SCHEDULE["journal-purge-cancelled-accounts"]["task"] == (
        tasks.purge_cancelled_account_labels.name
    )
