"""The funnel fixture computed by hand (tests/walkthrough/test_funnel.py has the table)."""

from __future__ import annotations

import datetime as dt

from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, SurveyAnswerFactory
from walkthrough.models import ScreenEvent, Track

T0 = dt.datetime(2026, 7, 6, 9, 0, tzinfo=dt.UTC)
FAR = dt.datetime(2026, 7, 20, tzinfo=dt.UTC)


def make_tester_row(
    email,
    *,
    bucket,
    screen,
    track=Track.FULL,
    completed=False,
    events=(),
    strategy="iron_condor",
    survey=None,
):
    progress = ProgressFactory(
        tester_email=email,
        intent_bucket=bucket,
        track=track,
        current_screen=screen,
        created_at=T0,
        completed_at=FAR if completed else None,
    )
    if screen >= 4:
        PaperTradeFactory(progress=progress, **({} if strategy == "iron_condor" else {"non_ic": strategy}))
    ScreenEvent.objects.bulk_create(
        ScreenEvent(
            progress=progress,
            screen=n,
            strategy_type=strategy if n == 3 else None,
            created_at=T0 + dt.timedelta(seconds=seconds),
        )
        for n, seconds in events
    )
    for question, answer in (survey or {}).items():
        SurveyAnswerFactory(progress=progress, question_id=question, answer=answer)
    return progress


def steps(*seconds):
    return [(n, s) for n, s in enumerate(seconds, start=1)]


def build_cohort() -> None:
    """A-H of the table in test_funnel.py."""
    income = {"bucket": "income"}
    make_tester_row(
        "a@example.com", **income, screen=5, completed=True, events=steps(60, 120, 300, 400, 600),
        survey={"clarity": "5", "relevance": "yes"},
    )  # fmt: skip
    make_tester_row(
        "b@example.com", **income, screen=5, completed=True, events=steps(120, 240, 600, 900, 1200),
        survey={"clarity": "4", "relevance": "partly"},
    )  # fmt: skip
    make_tester_row("c@example.com", **income, screen=4, events=[*steps(180, 360, 900), (1, 1000)])
    make_tester_row("d@example.com", **income, screen=3, events=steps(240, 480))
    make_tester_row("e@example.com", **income, screen=2, events=steps(300))
    make_tester_row("h@example.com", **income, screen=5, completed=True, survey={"clarity": "3"})
    make_tester_row("f@example.com", bucket=None, screen=1)
    make_tester_row(
        "g@example.com", bucket="directional", track=Track.SELF_SELECT, screen=5, completed=True,
        events=steps(30, 90, 150, 210, 270), strategy="vertical_spread",
        survey={"clarity": "2", "relevance": "no"},
    )  # fmt: skip
