"""SPEC A9: a funnel an analyst can trust. Intervals equal to the formula on the counts, routed
vs holdout per bucket, the sample-ratio check, maturing cohorts, filters, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest
import time_machine

from audit.models import Action, ChangeLogEntry
from flags.store import override_rollout
from tests.walkthrough.factories import ProgressFactory
from tests.walkthrough.funnel_data import T0, build_cohort
from walkthrough import funnel, stats
from walkthrough.funnel import Filters, IssuedRange, funnel_report
from walkthrough.funnel_page import LONG_HEADER, WEEKS_HEADER, pseudonym
from walkthrough.models import NOT_SET, Progress
from walkthrough.services import funnel_snapshot_refresh

pytestmark = pytest.mark.django_db
URL = "/admin/walkthrough/progress/cohort/"
R = "FLAG_WALKTHROUGH_PERSONA_ROUTING"
Z = 1.959963984540054


def wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.fixture
def cohort():
    build_cohort()


def exports() -> list[tuple[str, str]]:
    """(who, what) of every export in the change log, oldest first."""
    entries = ChangeLogEntry.objects.filter(action=Action.EXPORT).order_by("id")
    return [(e.actor, e.object_repr) for e in entries]


def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


# --- n, rate and interval for every cell ------------------------------------------------------


def test_every_cell_has_n_rate_and_the_wilson_interval_of_its_counts(cohort):
    income = next(r for r in funnel_report(by="intent_bucket").rows if r.key == ("income", "*"))
    # reached [6, 6, 5, 4, 3, 3]: each step's n is the previous step's testers.
    assert [(c.rate.reached, c.rate.n) for c in income.steps] == [
        (6, 6),
        (6, 6),
        (5, 6),
        (4, 5),
        (3, 4),
        (3, 3),
    ]
    for cell in income.steps:
        low, high = wilson_by_hand(cell.rate.reached, cell.rate.n)
        assert (cell.rate.interval.low, cell.rate.interval.high) == pytest.approx((low, high), abs=1e-12)
        assert cell.rate.enough is False  # six testers: under the minimum sample everywhere


def test_the_page_prints_n_rate_interval_and_marks_too_few(cohort, analyst_client):
    html = analyst_client.get(URL).content.decode()
    row = html.split('data-group="income|*"')[1].split("</tr>")[0]
    scenario_cell = row.split("step-scenario")[1].split("</td>")[0]
    low, high = wilson_by_hand(5, 6)
    assert "83.3%" in scenario_cell and "of 6" in scenario_cell
    assert f"[{low:.3f}–{high:.3f}]" in scenario_cell
    assert (
        "too-few" in row.split("step-scenario")[0][-40:] + "step-scenario"
        or "too few to compare" in scenario_cell
    )
    assert "too few to compare" in scenario_cell


def test_the_long_csv_has_one_row_per_group_and_step_and_no_total(cohort, analyst_client):
    rows = read_csv(analyst_client.get(URL, {"format": "csv"}))
    assert list(rows[0]) == LONG_HEADER
    groups = {r["group"] for r in rows}
    assert groups == {"income", "directional", "not_set"}  # empty buckets folded, no Total
    assert len(rows) == 3 * len(funnel.STEPS)
    scenario = next(r for r in rows if (r["group"], r["step"]) == ("income", "scenario"))
    low, high = wilson_by_hand(5, 6)
    assert (scenario["n"], scenario["reached"], scenario["rate"]) == ("6", "5", f"{5 / 6:.4f}")
    assert (float(scenario["ci_low"]), float(scenario["ci_high"])) == pytest.approx((low, high), abs=1e-4)
    assert (scenario["median_seconds"], scenario["p90_seconds"]) == ("300.0", "444.0")
    assert exports() == [("ana", "walkthrough funnel CSV (long form, aggregates)")]


def test_a_filter_narrows_the_csv_rows_but_group_stays_the_group_by_value(cohort, analyst_client):
    rows = read_csv(analyst_client.get(URL, {"format": "csv", "by": "bucket_track", "track": "full"}))
    assert {r["group"] for r in rows} == {"income × full", "not_set × full"}


# --- filters, folding, empty results, strict dates -----------------------------------------------


FILTERS = [
    # (filters, group-by, row keys shown, total testers)
    ({"bucket": "income"}, "intent_bucket", [("income", "*")], 6),
    ({"bucket": NOT_SET}, "track", [("*", "full")], 1),
    ({"track": "self_select"}, "intent_bucket", [("directional", "*")], 1),
    (
        {"scenario": "iron_condor"},
        "intent_bucket",
        [("income", "*"), ("directional", "*"), (NOT_SET, "*")],
        8,
    ),
    (
        {"arm": NOT_SET},
        "bucket_track",
        [("income", "full"), ("directional", "self_select"), (NOT_SET, "full")],
        8,
    ),
    ({"arm": "routed"}, "intent_bucket", [], 0),
]


@pytest.mark.parametrize(("filters", "by", "keys", "total"), FILTERS)
def test_filters_compose_with_the_group_by_and_fold_empty_groups(cohort, filters, by, keys, total):
    report = funnel_report(by=by, filters=Filters(**filters))
    assert [r.key for r in report.rows if not r.is_total] == keys
    assert report.total.testers == total


def test_filters_compose_with_the_date_range(cohort):
    ProgressFactory(intent_bucket="income", created_at=T0 + dt.timedelta(days=10))
    inside = funnel_report(issued=IssuedRange(T0.date(), T0.date()), filters=Filters(bucket="income"))
    later = funnel_report(
        issued=IssuedRange(T0.date() + dt.timedelta(days=10), None), filters=Filters(bucket="income")
    )
    assert (inside.total.testers, later.total.testers) == (6, 1)


def test_an_empty_result_says_so(cohort, analyst_client):
    html = analyst_client.get(URL, {"start": "2030-01-01"}).content.decode()
    assert 'id="empty-result"' in html and "No tester matches" in html
    assert 'id="cohort-table"' not in html


@pytest.mark.parametrize("value", ["12/01/2026", "2026-13-01", "01.12.2026", "yesterday"])
def test_a_date_not_in_iso_form_is_refused_with_a_message(cohort, analyst_client, value):
    response = analyst_client.get(URL, {"start": value})
    assert response.status_code == 400
    assert "Enter a date as YYYY-MM-DD" in response.content.decode()


def test_survey_answers_show_their_display_labels(cohort, analyst_client):
    html = analyst_client.get(URL).content.decode()
    survey = html.split('id="survey-table"')[1].split("</table>")[0]
    assert 'data-answer="partly"' in survey and ">partly<" not in survey


# --- routed vs holdout, the sample-ratio check -------------------------------------------------


def arms(bucket: str, *, routed: tuple[int, int], holdout: tuple[int, int]) -> None:
    """Testers of one bucket who answered the door: (testers, of them completed) per arm."""
    for arm, (n, done) in (("routed", routed), ("holdout", holdout)):
        for i in range(n):
            ProgressFactory(
                intent_bucket=bucket,
                routing_arm=arm,
                current_screen=5 if i < done else 2,
                completed_at=T0 if i < done else None,
                created_at=T0,
            )


def test_routed_vs_holdout_per_bucket_with_newcombes_interval(analyst_client):
    arms("covered_call", routed=(56, 40), holdout=(14, 6))
    with override_rollout(**{R: 80}):
        report = funnel_report()
        html = analyst_client.get(URL).content.decode()
    (effect,) = report.effects
    assert (effect.bucket, effect.routed, effect.holdout) == ("covered_call", 56, 14)
    survey = next(a for a in effect.steps if a.step.key == "survey")
    expected = stats.newcombe_difference(successes1=40, n1=56, successes2=6, n2=14)
    assert survey.difference == expected and survey.enough
    table = html.split('data-bucket="covered_call"')[1].split("</table>")[0]
    assert "Effect of routing for Covered call" in table
    assert f"{expected.estimate:.3f}" in table and f"[{expected.low:.3f} to {expected.high:.3f}]" in table
    assert "Sample-ratio mismatch" not in html and "Consistent with 80 %" in html


def test_a_split_far_from_the_rollout_is_a_visible_sample_ratio_warning(analyst_client):
    arms("income", routed=(30, 10), holdout=(30, 10))
    with override_rollout(**{R: 90}):
        check = funnel_report().sample_ratio
        html = analyst_client.get(URL).content.decode()
    assert (check.routed, check.holdout, check.mismatch) == (30, 30, True)
    assert 'id="srm-mismatch"' in html and "Sample-ratio mismatch" in html


def test_no_comparison_between_buckets_and_none_under_an_arm_filter(analyst_client):
    arms("income", routed=(10, 5), holdout=(10, 5))
    arms("covered_call", routed=(10, 5), holdout=(10, 5))
    assert [e.bucket for e in funnel_report().effects] == ["income", "covered_call"]
    assert funnel_report(filters=Filters(arm="routed")).effects == []
    assert "p = " not in analyst_client.get(URL).content.decode().split("Effect of routing")[1]


# --- weekly cohorts and the conversion window ---------------------------------------------------


def test_a_cohort_younger_than_the_window_is_maturing(cohort, analyst_client):
    with time_machine.travel(T0 + dt.timedelta(days=3), tick=False):
        (week,) = funnel_report().weeks
        assert week.maturing is True
        html = analyst_client.get(URL).content.decode()
        assert "maturing" in html.split('id="weeks-table"')[1]
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        (week,) = funnel_report().weeks
        assert week.maturing is False
        (short,) = funnel_report(window_days=1).weeks
        assert short.maturing is False


def test_the_window_counts_completions_inside_it_only(cohort, analyst_client):
    # Completed testers finished at FAR = T0 + 14 days minus 9 hours: inside 14 days, not 13.
    with time_machine.travel(T0 + dt.timedelta(days=60), tick=False):
        assert [w.completed for w in funnel_report(window_days=14).weeks] == [4]
        assert [w.completed for w in funnel_report(window_days=13).weeks] == [0]
    # Today is long after the cohort's window (and the analyst's code is fresh today).
    rows = read_csv(analyst_client.get(URL, {"format": "weeks", "window": "13"}))
    assert list(rows[0]) == WEEKS_HEADER
    assert [(r["testers"], r["completed_in_window"], r["window_days"], r["maturing"]) for r in rows] == [
        ("8", "0", "13", "no")
    ]


# --- the drop-off list, refresh, the snapshot's age ----------------------------------------------


def test_the_dropoff_list_is_pseudonymous_for_analysts_and_emails_for_operators(
    cohort, analyst_client, admin_client
):
    query = {"group": "income|*", "stopped": "scenario"}
    rows = read_csv(analyst_client.get(URL + "dropoff/", query))
    d = Progress.objects.get(tester_email="d@example.com")
    assert [r["tester"] for r in rows] == [pseudonym(d.pk)]
    assert "@" not in str(rows)
    rows = read_csv(admin_client.get(URL + "dropoff/", query))
    assert [r["tester"] for r in rows] == ["d@example.com"]
    assert [(who, "pseudonymous" in what) for who, what in exports()] == [("ana", True), ("operator", False)]


def test_a_bad_dropoff_cell_is_a_400(analyst_client):
    assert (
        analyst_client.get(URL + "dropoff/", {"group": "income|*", "stopped": "nowhere"}).status_code == 400
    )


def test_an_operator_refreshes_the_snapshot_and_the_page_shows_its_age(cohort, admin_client, analyst_client):
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        funnel_snapshot_refresh()
    ProgressFactory(intent_bucket="income")
    html = admin_client.get(URL).content.decode()
    assert "9 testers now, 8 in this snapshot" in html and 'id="refresh-now"' in html
    assert analyst_client.post(URL + "refresh/").status_code == 403
    response = admin_client.post(URL + "refresh/", follow=True)
    html = response.content.decode()
    assert "recomputed just now" in html and "9 testers now, as in this snapshot" in html
    assert 'id="refresh-now"' not in analyst_client.get(URL).content.decode()
