"""SPEC W11: DSR deletion at once; the beat task purges 30 days after the programme ends."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, SurveyAnswerFactory
from walkthrough.models import PaperTrade, Progress, ScreenEvent, SurveyAnswer
from walkthrough.services import walkthrough_dsr_delete
from walkthrough.tasks import purge_walkthrough_data

pytestmark = pytest.mark.django_db
ENDS = dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC)


@pytest.fixture
def two_testers():
    tess = ProgressFactory(tester_email="tess@example.com")
    PaperTradeFactory(progress=tess)
    SurveyAnswerFactory(progress=tess)
    other = ProgressFactory(tester_email="other@example.com")
    PaperTradeFactory(progress=other, non_ic="covered_call")
    return tess, other


def test_dsr_delete_removes_one_testers_rows_at_once(two_testers):
    out = io.StringIO()
    call_command("dsr_delete", "TESS@example.com", stdout=out)

    assert list(Progress.objects.values_list("tester_email", flat=True)) == ["other@example.com"]
    assert PaperTrade.objects.count() == 1
    assert not SurveyAnswer.objects.exists()
    assert "beta_walkthrough_progress: 1 deleted" in out.getvalue()
    assert "beta_walkthrough_paper_trades: 1 deleted" in out.getvalue()


def test_purge_never_runs_without_a_programme_end(two_testers, settings):
    settings.BETA_PROGRAM_ENDS_AT = None
    with time_machine.travel(dt.datetime(2099, 1, 1, tzinfo=dt.UTC)):
        purge_walkthrough_data()
    assert Progress.objects.count() == 2


@pytest.mark.parametrize(
    ("now", "purged"),
    [
        (ENDS, False),
        (ENDS + dt.timedelta(days=30) - dt.timedelta(seconds=1), False),
        (ENDS + dt.timedelta(days=30), True),
        (ENDS + dt.timedelta(days=400), True),
    ],
)
def test_purge_thirty_days_after_the_programme_ends(two_testers, settings, now, purged):
    settings.BETA_PROGRAM_ENDS_AT = ENDS
    with time_machine.travel(now, tick=False):
        counts = purge_walkthrough_data()  # the task body, called as beat would

    assert Progress.objects.exists() is not purged
    assert PaperTrade.objects.exists() is not purged
    assert SurveyAnswer.objects.exists() is not purged
    assert counts["beta_walkthrough_progress"] == (2 if purged else 0)


def test_beat_runs_the_purge_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["walkthrough-purge-after-program"]
    assert entry["task"] == purge_walkthrough_data.name
    assert entry["schedule"] <= 24 * 3600  # at least daily, so the 30-day promise holds to the day


def test_dsr_delete_and_the_purge_remove_screen_events(two_testers, settings):
    """SPEC W11, W14: the events table goes with the rest, and is counted."""
    tess, other = two_testers
    for progress in (tess, other):
        ScreenEvent.objects.create(progress=progress, screen=1)
        ScreenEvent.objects.create(progress=progress, screen=3, strategy_type="iron_condor")

    counts = walkthrough_dsr_delete(email="tess@example.com")
    assert counts["beta_walkthrough_screen_events"] == 2
    assert set(ScreenEvent.objects.values_list("progress_id", flat=True)) == {other.pk}

    settings.BETA_PROGRAM_ENDS_AT = ENDS
    with time_machine.travel(ENDS + dt.timedelta(days=30), tick=False):
        counts = purge_walkthrough_data()
    assert counts["beta_walkthrough_screen_events"] == 2
    assert not ScreenEvent.objects.exists()
