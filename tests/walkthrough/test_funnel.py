"""SPEC A2: the funnel's numbers against a fixture computed by hand (docs/backoffice.md).

Eight testers, all issued at T0 (Monday 2026-07-06 09:00 UTC); event times are seconds after T0.

    tester  bucket/track          door scen trade review survey  stored state
    A       income/full            60  120  300    400    600    completed, IC trade
    B       income/full           120  240  600    900   1200    completed, IC trade
    C       income/full           180  360  900     -      -     screen 4, IC trade (door again at 1000)
    D       income/full           240  480   -      -      -     screen 3
    E       income/full           300   -    -      -      -     screen 2
    H       income/full            (no events: a legacy tester)  completed, IC trade
    F       not set/full           (no events)                   screen 1
    G       directional/self_sel.  30   90  150    210    270    completed, VS trade
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from flags.store import store
from tests.walkthrough.factories import ProgressFactory
from tests.walkthrough.funnel_data import T0, build_cohort
from walkthrough import funnel
from walkthrough.funnel import IssuedRange, funnel_report
from walkthrough.models import NOT_SET, Progress, ScreenEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort():
    build_cohort()


def row(report, key):
    return next(r for r in report.rows if r.key == key)


def numbers(r):
    return {
        "reached": [c.reached for c in r.steps],
        "conversion": [c.conversion for c in r.steps],
        "dropped": [c.dropped for c in r.steps],
        "timed": [c.timing.timed for c in r.steps],
        "median": [c.timing.median for c in r.steps],
        "p90": [c.timing.p90 for c in r.steps],
        "overall": r.overall,
    }


def test_income_row_matches_the_hand_computed_numbers(cohort):
    income = row(funnel_report(by="intent_bucket"), ("income", "*"))

    assert income.testers == 6
    assert numbers(income) == {
        "reached": [6, 6, 5, 4, 3, 3],
        "conversion": [None, 100.0, 83.3, 80.0, 75.0, 100.0],
        "dropped": [None, 0, 1, 1, 1, 0],
        # H has no events: counted above, not timed here.
        "timed": [0, 5, 4, 3, 2, 2],
        # door [60,120,180,240,300]: median 180, p90 at position 3.6 = 240 + 0.6 * 60 = 276.
        # C's second door event (1000 s) is ignored: the first event of a screen counts.
        "median": [None, 180.0, 300.0, 600.0, 650.0, 900.0],
        "p90": [None, 276.0, 444.0, 840.0, 850.0, 1140.0],
        "overall": 50.0,
    }
    trade = income.steps[3]
    assert trade.strategies == [("iron_condor", 4), ("vertical_spread", 0), ("covered_call", 0)]


def test_total_row_adds_every_tester(cohort):
    total = funnel_report(by="intent_bucket").total

    assert total.key == funnel.TOTAL and total.testers == 8
    assert numbers(total) == {
        "reached": [8, 7, 6, 5, 4, 4],
        "conversion": [None, 87.5, 85.7, 83.3, 80.0, 100.0],
        "dropped": [None, 1, 1, 1, 1, 0],
        "timed": [0, 6, 5, 4, 3, 3],
        "median": [None, 150.0, 240.0, 450.0, 400.0, 600.0],
        "p90": [None, 270.0, 432.0, 810.0, 800.0, 1080.0],
        "overall": 50.0,
    }
    assert total.steps[3].strategies == [("iron_condor", 4), ("vertical_spread", 1), ("covered_call", 0)]


def test_survey_distribution_in_percent_with_the_clarity_mean(cohort):
    report = funnel_report(by="intent_bucket")
    income = {q.id: q for q in row(report, ("income", "*")).survey}
    total = {q.id: q for q in report.total.survey}

    assert income["clarity"].answered == 3
    assert [(v, share) for v, _, _, share in income["clarity"].answers] == [
        ("1", 0.0),
        ("2", 0.0),
        ("3", 33.3),
        ("4", 33.3),
        ("5", 33.3),
    ]
    assert income["clarity"].mean == 4.0
    assert [(v, n, share) for v, _, n, share in income["relevance"].answers] == [
        ("yes", 1, 50.0),
        ("partly", 1, 50.0),
        ("no", 0, 0.0),
    ]
    assert income["relevance"].mean is None  # not a scale
    assert total["clarity"].mean == 3.5
    assert [share for _, _, _, share in total["clarity"].answers] == [0.0, 25.0, 25.0, 25.0, 25.0]


def test_rows_by_track_and_by_bucket_times_track(cohort):
    by_track = funnel_report(by="track")
    assert [(r.label, r.testers) for r in by_track.rows] == [
        ("Full (persona questions)", 7),
        ("Self-select (bucket choice)", 1),
        ("Total", 8),
    ]
    self_select = row(by_track, ("*", "self_select"))
    assert numbers(self_select)["median"] == [None, 30.0, 90.0, 150.0, 210.0, 270.0]
    assert numbers(self_select)["p90"] == numbers(self_select)["median"]  # one tester

    both = funnel_report(by="bucket_track")
    testers = {r.key: r.testers for r in both.rows}
    assert testers[("income", "full")] == 6
    assert testers[("directional", "self_select")] == 1
    assert testers[(NOT_SET, "full")] == 1
    # SPEC A9: a group without testers is folded away (no page of dashes); only these three remain.
    assert ("income", "self_select") not in testers and len(testers) == 4
    assert sum(n for key, n in testers.items() if key != funnel.TOTAL) == testers[funnel.TOTAL] == 8


def test_the_range_selects_testers_by_issue_day_and_counts_their_later_actions(cohort):
    late = ProgressFactory(created_at=dt.datetime(2026, 7, 14, 23, 59, tzinfo=dt.UTC), current_screen=2)
    ScreenEvent.objects.create(progress=late, screen=1, created_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))

    week_28 = funnel_report(issued=IssuedRange(dt.date(2026, 7, 6), dt.date(2026, 7, 12)))
    week_29 = funnel_report(issued=IssuedRange(dt.date(2026, 7, 13), dt.date(2026, 7, 14)))
    everyone = funnel_report()

    assert week_28.total.testers == 8
    # Issued on the range's last day, acted weeks later: counted and timed (17 d 0 h 1 min).
    assert week_29.total.testers == 1
    assert week_29.total.steps[1].reached == 1
    assert week_29.total.steps[1].timing.median == 17 * 86400 + 60
    assert [(w.label, w.testers, w.completed, w.completion) for w in everyone.weeks] == [
        ("2026-W28", 8, 4, 50.0),
        ("2026-W29", 1, 0, 0.0),
    ]
    assert funnel_report(issued=IssuedRange(dt.date(2026, 7, 15), None)).total.testers == 0


@pytest.mark.parametrize("size", [10, 10_000])
def test_the_funnel_is_a_fixed_number_of_queries_whatever_the_number_of_testers(
    size, django_assert_num_queries
):
    testers = Progress.objects.bulk_create(
        Progress(
            tester_email=f"t{n}@example.com",
            token_hash=f"{n:064x}",
            intent_bucket=["income", "covered_call", None][n % 3],
            current_screen=1 + n % 5,
            created_at=T0 + dt.timedelta(hours=n % 500),
        )
        for n in range(size)
    )
    ScreenEvent.objects.bulk_create(
        ScreenEvent(progress=p, screen=s, created_at=T0 + dt.timedelta(hours=n % 500, minutes=s))
        for n, p in enumerate(testers)
        for s in range(1, p.current_screen)
        if s != 3
    )
    for by in funnel.GROUP_BY:
        store.invalidate()
        # Six queries (five on PostgreSQL, where the times and their histogram are one) and the
        # flag overrides (a cold cache): the routing split reads R's rollout.
        with django_assert_num_queries(6 if connection.vendor == "postgresql" else 7):
            report = funnel_report(by=by)
        assert report.total.testers == size


def test_headline_is_one_query(cohort, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert funnel.headline() == {"testers": 8, "completed": 4, "completion": 50.0}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (45, "45 s"), (750, "12 min 30 s"), (7500, "2 h 5 min"), (356400, "4 d 3 h")],
)
def test_durations_read_as_two_units(seconds, text):
    assert funnel.duration(seconds) == text


@pytest.mark.postgres
@pytest.mark.parametrize("issued", [IssuedRange(), IssuedRange(dt.date(2026, 7, 1), dt.date(2026, 7, 31))])
def test_times_and_histogram_in_one_statement_equal_the_two_queries(cohort, issued):
    """PostgreSQL reads each tester's first events once for both the percentiles and the bins."""
    timings, histogram = funnel._times_rows(issued, funnel.Filters())
    assert sorted(map(tuple, timings)) == sorted(map(tuple, funnel._timing_rows(issued, funnel.Filters())))
    assert sorted(map(tuple, histogram)) == sorted(map(tuple, funnel._histogram_rows(issued)))
    assert timings and histogram


@pytest.mark.parametrize("by", list(funnel.GROUP_BY))
@pytest.mark.parametrize(
    "filters", [funnel.Filters(), funnel.Filters(bucket="income"), funnel.Filters(track="full")]
)
def test_a_live_page_computes_only_its_own_percentile_sets_and_reads_the_same_times(
    cohort, monkeypatch, by, filters
):
    issued = IssuedRange(dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    live = funnel_report(by=by, issued=issued, filters=filters)
    assert len(funnel.sets_for(by, filters)) <= 2
    monkeypatch.setattr(funnel, "sets_for", lambda by, filters: funnel._SETS)
    every_set = funnel_report(by=by, issued=issued, filters=filters)
    times = [[(c.timing.timed, c.timing.median, c.timing.p90) for c in row.steps] for row in live.rows]
    assert times == [
        [(c.timing.timed, c.timing.median, c.timing.p90) for c in r.steps] for r in every_set.rows
    ]
    assert any(c.timing.timed for row in live.rows for c in row.steps)
