"""Issue 11: the funnel without a date range comes from a beat-refreshed snapshot, "as of".

Exact percentiles over every tester take seconds at 1M testers (docs/performance.md), so the
unfiltered page reads the FunnelSnapshot beat stores every FUNNEL_SNAPSHOT_INTERVAL_SECONDS and
says when it is from; any date range stays live. The numbers are the hand-computed fixture's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.conf import settings

from tests.walkthrough.factories import ProgressFactory
from tests.walkthrough.funnel_data import T0, build_cohort
from walkthrough.funnel import PAYLOAD_VERSION, SNAPSHOT_KEY, IssuedRange, funnel_report
from walkthrough.models import NOT_SET, FunnelSnapshot
from walkthrough.services import funnel_snapshot_refresh
from walkthrough.tasks import refresh_funnel_snapshot

pytestmark = pytest.mark.django_db

FUNNEL = "/admin/walkthrough/progress/cohort/"
AS_OF = dt.datetime(2026, 7, 20, 8, 30, tzinfo=dt.UTC)


@pytest.fixture
def cohort():
    build_cohort()


def numbers(report):
    rows = [
        (
            r.key,
            r.testers,
            [(c.reached, c.timing.timed, c.timing.median, c.timing.p90) for c in r.steps],
            [(s, n) for c in r.steps for s, n in c.strategies],
            [(q.id, q.answered, q.mean, [a[2] for a in q.answers]) for q in r.survey],
        )
        for r in report.rows
    ]
    return [*rows, *[(w.label, w.testers, w.completed) for w in report.weeks]]


@pytest.mark.parametrize("by", ["intent_bucket", "track", "bucket_track"])
def test_a_snapshot_holds_exactly_the_live_numbers_of_its_time(cohort, by):
    funnel_snapshot_refresh(now=AS_OF)

    stored = funnel_report(by=by, snapshot=True)
    live = funnel_report(by=by)

    assert stored.as_of == AS_OF and live.as_of is None
    assert numbers(stored) == numbers(live)
    assert stored.total.testers == 8 and stored.total.steps[1].timing.p90 == 270.0


@pytest.mark.parametrize("by", ["intent_bucket", "track", "bucket_track"])
def test_a_range_is_computed_like_the_whole_programme(cohort, by):
    # On PostgreSQL a range takes the per-tester (LATERAL) queries: same numbers as the joins.
    everyone = funnel_report(by=by)
    ranged = funnel_report(by=by, issued=IssuedRange(dt.date(2026, 7, 6), dt.date(2026, 7, 6)))
    started = funnel_report(by=by, issued=IssuedRange(dt.date(2026, 7, 1), None))

    assert numbers(ranged) == numbers(everyone) == numbers(started)


def test_the_unfiltered_page_shows_the_snapshot_as_of_its_time_in_five_queries(
    admin_client, cohort, django_assert_num_queries
):
    funnel_snapshot_refresh(now=AS_OF)
    ProgressFactory(created_at=T0)  # after the snapshot: not in it until the next refresh

    # Session, user, its second-factor device, the snapshot, the flag overrides (cold cache) and
    # the live tester count.
    with django_assert_num_queries(6):
        response = admin_client.get(FUNNEL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "As of 2026-07-20 08:30 UTC" in page
    assert "9 testers now, 8 in this snapshot" in page  # the index counts live: the page says why
    assert f"every {settings.FUNNEL_SNAPSHOT_INTERVAL_SECONDS // 60} minutes" in page
    assert response.context["report"].total.testers == 8
    # A range is live: the new tester counts there, and no "as of" is claimed.
    ranged = admin_client.get(f"{FUNNEL}?start=2026-07-06&end=2026-07-06")
    assert ranged.context["report"].total.testers == 9
    assert "As of" not in ranged.content.decode()


def test_without_a_snapshot_the_page_is_live_and_claims_no_time(admin_client, cohort):
    response = admin_client.get(FUNNEL)

    assert response.context["report"].as_of is None
    assert "As of" not in response.content.decode()
    assert response.context["report"].total.testers == 8


@pytest.mark.parametrize(
    "old_payload",
    [
        pytest.param("unversioned", id="written-before-versions"),
        pytest.param({"version": PAYLOAD_VERSION + 1}, id="another-version"),
    ],
)
def test_a_snapshot_of_another_payload_version_is_recomputed_never_misread(cohort, old_payload):
    funnel_snapshot_refresh(now=AS_OF)
    stored = FunnelSnapshot.objects.get(by=SNAPSHOT_KEY)
    if old_payload == "unversioned":
        # A release before versions: same lists, the NULL bucket keyed "-", no "version".
        old_payload = {k: v for k, v in stored.payload.items() if k != "version"}
        old_payload["timings"] = [["-" if c == NOT_SET else c for c in row] for row in old_payload["timings"]]
    stored.payload = old_payload
    stored.save(update_fields=["payload"])

    report = funnel_report(by="intent_bucket", snapshot=True)

    assert report.as_of is None  # live, and it says so
    assert numbers(report) == numbers(funnel_report(by="intent_bucket"))


def test_the_snapshot_csv_names_its_time(admin_client, cohort):
    funnel_snapshot_refresh(now=AS_OF)

    response = admin_client.get(f"{FUNNEL}?by=track&format=csv")

    assert (
        'filename="walkthrough-funnel-track-issued-all-as-of-20260720T0830Z.csv"'
        in response["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sum(int(r["reached"]) for r in rows if r["step"] == "issued") == 8


def test_a_refresh_replaces_the_rows_and_beat_runs_it(cohort):
    funnel_snapshot_refresh(now=AS_OF)
    ProgressFactory(created_at=T0)

    refresh_funnel_snapshot()

    assert FunnelSnapshot.objects.count() == 1  # one row at the finest grain serves every group-by
    assert funnel_report(snapshot=True).total.testers == 9
    schedule = settings.CELERY_BEAT_SCHEDULE["walkthrough-refresh-funnel-snapshot"]
    assert schedule["task"] == refresh_funnel_snapshot.name
    assert schedule["schedule"] == settings.FUNNEL_SNAPSHOT_INTERVAL_SECONDS


@pytest.mark.postgres
def test_postgresql_connections_run_without_jit(db):
    # JIT compiled the funnel's aggregates for 160-820 ms each (docs/performance.md). It is a
    # setting of the database (accounts migration 0005), so it reaches sessions opened after
    # the migration: the suite's own connection ran the migration and predates it.
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            " WHERE d.datname = current_database()"
        )
        assert any("jit=off" in (row[0] or []) for row in cursor.fetchall())
    if settings.DATABASE_POOLING == "transaction":
        return  # through PgBouncer a "new" client may get a server session older than the setting
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    with psycopg.connect(**params) as fresh:
        assert fresh.execute("SHOW jit").fetchone()[0] == "off"
