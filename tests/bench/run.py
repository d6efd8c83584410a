"""Benchmark at production scale (`make bench`; issue 11). Not a test: it measures and reports.

1. Creates BENCH_DATABASE_URL's database (dropped again at the end), migrates it and seeds it
   with set-based SQL (INSERT ... SELECT generate_series): at BENCH_SCALE=full 1,000,000
   testers, 600k walkthrough trades, 1.24M survey answers, their screen events, and 100
   journal users x 10,000 paper orders and labels, each user's rows interleaved with the
   others' in id and time order, as real writes over time leave them.
2. Measures in this one process, with the test client, in interleaved rounds (scenario, its
   floor, next scenario, ...; medians): every scenario next to a floor measured in the same run
   (a bare view with the same auth, or the raw SQL of the very statements the scenario ran).
   Query counts come from CaptureQueriesContext; each scenario's slowest statement is saved
   with EXPLAIN (ANALYZE, BUFFERS) under bench/plans/.
3. Throughput under gunicorn (2 workers, loopback, a bounded number of requests and seconds)
   against a bare Django view served by the same workers.
4. Prints a table and writes bench/results.json: one row per scenario with "met": true|false.

A slow result prints and never fails the process; a crash does (that is what CI checks).
BENCH_SCALE=small (10k testers, 10 x 1,000 journal rows) runs in under a minute.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench"
sys.path.insert(0, str(ROOT))

SCALES = {
    "full": {
        "testers": 1_000_000,
        "trades": 600_000,
        "users": 100,
        "orders_per_user": 10_000,
        "due": 100_000,
        "rounds": 7,
        "load_seconds": 8.0,
        "load_requests": 4000,
    },
    # "Past 100x" (docs/performance.md): 10M testers, 1,000 journal users x 10k labels. Tens of
    # GB and most of an hour to seed; run with BENCH_ONLY to time a few scenarios.
    "x10": {
        "testers": 10_000_000,
        "trades": 6_000_000,
        "users": 1_000,
        "orders_per_user": 10_000,
        "due": 1_000_000,
        "rounds": 3,
        "load_seconds": 8.0,
        "load_requests": 4000,
    },
    "small": {
        "testers": 10_000,
        "trades": 6_000,
        "users": 10,
        "orders_per_user": 1_000,
        "due": 1_000,
        "rounds": 5,
        "load_seconds": 3.0,
        "load_requests": 1500,
    },
}
SCALE_NAME = os.environ.get("BENCH_SCALE", "full")
if SCALE_NAME not in SCALES:
    sys.exit(f"BENCH_SCALE must be one of {', '.join(SCALES)}; got {SCALE_NAME!r}")
SCALE = SCALES[SCALE_NAME]
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/raxx_bench")
_parsed = urllib.parse.urlsplit(BENCH_URL)
BENCH_DB = _parsed.path.lstrip("/")
if _parsed.scheme not in {"postgres", "postgresql"} or not BENCH_DB:
    sys.exit("BENCH_DATABASE_URL must be postgres://user@host:port/NAME (the bench creates and drops NAME)")
ADMIN_URL = urllib.parse.urlunsplit(_parsed._replace(path="/postgres"))

# Production settings (DEBUG=0: no per-query debug logging, the manifest static storage), with
# the static files collected into a directory of the bench's own; plain HTTP on loopback.
STATIC_DIR = Path(tempfile.mkdtemp(prefix="raxx-bench-static-"))
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "STATIC_ROOT": str(STATIC_DIR),
    "SECURE_SSL_REDIRECT": "0",
    "DATABASE_URL": BENCH_URL,
    "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
    "FLAG_SENTIMENT_JOURNAL": "1",
    "LOG_LEVEL": "WARNING",
    # The bench repeats one tester's trade POST: the per-tester write limit (SPEC P5) is not
    # what it measures.
    "WALKTHROUGH_WRITE_RATE": "1000000/min",
    "API_WRITE_RATE": "1000000/min",
}
os.environ.update(ENV)
os.environ.pop("REDIS_URL", None)  # the throttle's cache: in-process, as in a single-box run


def _recreate_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


# BENCH_REUSE=1 measures again on a database an earlier BENCH_KEEP=1 run left seeded: the full
# scale takes most of the time to seed, and a change to one page needs only its rows re-timed.
# The database is (re)created in main(), not on import: a script that imports this module to
# reuse its settings or scenarios must not drop a kept database.
REUSE = bool(os.environ.get("BENCH_REUSE"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import clear_url_caches  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from journal.models import LockSweepMark, SentimentTaxonomyVersion  # noqa: E402
from journal.services import LOCK_SWEEP_MARK, labels_lock_due  # noqa: E402
from tests.second_factor import staff_login  # noqa: E402
from walkthrough.auth import token_hash  # noqa: E402
from walkthrough.demo import SAMPLE_LEGS  # noqa: E402

settings.ROOT_URLCONF = "tests.bench.urls"
clear_url_caches()
setup_test_environment()  # ALLOWED_HOSTS gains "testserver"; templates are recorded

NOW = timezone.now().replace(microsecond=0)
SPAN_DAYS = 400
TESTER_TOKEN = "wt_" + "b" * 43  # the walkthrough token format
EXPORT_USER = "trader00002"  # the owner's export (SPEC J12): notes and real legs on every row


# --- Seeding: set-based SQL ---------------------------------------------------------------------


def _exec(sql: str, params: dict | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


SEEDED_TABLES = (
    "beta_walkthrough_progress",
    "beta_walkthrough_screen_events",
    "beta_walkthrough_paper_trades",
    "beta_walkthrough_survey_answers",
    "paper_orders",
    "trade_sentiment_labels",
)


def _load_rows(timings: dict[str, float]) -> dt.datetime:
    """Every seeded row and index, in the caller's transaction; returns the lock cutoff."""

    def step(name: str, sql: str, params: dict | None = None) -> None:
        start = time.perf_counter()
        _exec(sql, params)
        timings[name] = time.perf_counter() - start

    n, u, k = SCALE["testers"], SCALE["users"], SCALE["orders_per_user"]
    # Bulk-load speed: the generated rows are consistent by construction, so skip the per-row
    # foreign-key triggers, and build the secondary indexes once after the load instead of
    # row by row (constraint indexes stay: they check the data as it goes in).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [list(SEEDED_TABLES)],
        )
        secondary = cursor.fetchall()
        for name, _ in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
    start_at = NOW - dt.timedelta(days=SPAN_DAYS)
    buckets = "ARRAY['income','covered_call','directional','unknown',NULL]::text[]"
    screen = "CASE WHEN (g / 5) %% 75 < 31 THEN 5 ELSE 1 + ((g / 5) %% 75 - 31) %% 4 END"
    # Testers: created over 400 days; a tenth self-select. Screens in runs of five testers (so
    # every bucket has every screen): 31 of 75 runs completed the survey (screen 5, 41 %: the
    # 413k testers x 3 answers = 1.24M of the issue), the rest spread over screens 1-4. Every
    # tester with a bucket has a routing arm, a fifth of them in the holdout (issue 19).
    step(
        "testers",
        f"""
        INSERT INTO beta_walkthrough_progress
          (tester_email, token_hash, track, persona_answers, intent_bucket, routing_arm,
           current_screen, created_at, updated_at, completed_at)
        SELECT format('tester%%s@example.com', lpad(g::text, 7, '0')),
               md5(g::text) || md5((g + 1)::text),
               CASE WHEN g %% 10 = 0 THEN 'self_select' ELSE 'full' END,
               NULL,
               ({buckets})[g %% 5 + 1],
               CASE WHEN g %% 5 = 4 THEN NULL WHEN (g / 5) %% 5 = 2 THEN 'holdout' ELSE 'routed' END,
               {screen},
               %(start)s + g * %(step)s,
               %(start)s + g * %(step)s + interval '20 minutes',
               CASE WHEN {screen} = 5 THEN %(start)s + g * %(step)s + interval '20 minutes' END
        FROM generate_series(0, %(n)s - 1) g
        """,
        {"start": start_at, "step": dt.timedelta(days=SPAN_DAYS) / n, "n": n},
    )
    # As the services write them (walkthrough.services): the POST of screen s moves
    # current_screen to s + 1, so a tester on screen c has events 1 .. c-1; the survey POST
    # (screen 5) completes and leaves current_screen at 5. A tester still on the door has none.
    step(
        "screen events",
        """
        INSERT INTO beta_walkthrough_screen_events (progress_id, screen, strategy_type, created_at)
        SELECT p.id, s, CASE WHEN s = 3 THEN 'iron_condor' END, p.created_at + s * interval '3 minutes'
        FROM beta_walkthrough_progress p, generate_series(1, 5) s
        WHERE s < p.current_screen OR p.completed_at IS NOT NULL
        """,
    )
    # Trades only for testers past the builder (current_screen 4 or 5), as paper_trade_create
    # requires; spread over them in a scattered order, some filling twice.
    step(
        "walkthrough trades",
        """
        WITH filled AS (
            SELECT id, created_at, row_number() OVER (ORDER BY id) - 1 AS rn
            FROM beta_walkthrough_progress WHERE current_screen >= 4
        ), n AS (SELECT count(*) AS n FROM filled)
        INSERT INTO beta_walkthrough_paper_trades (progress_id, strategy_type, legs_json, filled_at)
        SELECT f.id,
               (ARRAY['iron_condor','vertical_spread','covered_call'])[g %% 3 + 1],
               '[]'::jsonb,
               f.created_at + interval '9 minutes' + (g / n.n) * interval '1 minute'
        FROM generate_series(0, %(trades)s - 1) g CROSS JOIN n
        JOIN filled f ON f.rn = (g::bigint * 7919) %% n.n
        """,
        {"trades": SCALE["trades"]},
    )
    # Every completed tester answered the three questions (survey_submit completes the row).
    step(
        "survey answers",
        """
        INSERT INTO beta_walkthrough_survey_answers (progress_id, question_id, answer, submitted_at)
        SELECT p.id, q.id, q.answers[p.id % array_length(q.answers, 1) + 1], p.completed_at
        FROM beta_walkthrough_progress p,
             (VALUES ('clarity', ARRAY['1','2','3','4','5']),
                     ('relevance', ARRAY['yes','partly','no']),
                     ('next_step', ARRAY['paper_trade_more','read_more','stop'])) q(id, answers)
        WHERE p.completed_at IS NOT NULL
        """,
    )
    # Journal users and their orders, one user's rows every u-th row (interleaved).
    step(
        "journal users",
        """
        INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
        SELECT '!', false, format('trader%%s', lpad(g::text, 5, '0')), '', '',
               format('trader%%s@example.com', lpad(g::text, 5, '0')), false, true, %(start)s
        FROM generate_series(0, %(u)s - 1) g
        """,
        {"start": start_at, "u": u},
    )
    total = u * k
    order_step = dt.timedelta(days=SPAN_DAYS) / total
    open_from = int(total * 0.98)  # the newest 2 % are still open
    step(
        "paper orders",
        """
        WITH users AS (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user
                       WHERE username LIKE 'trader%%')
        INSERT INTO paper_orders (user_id, symbol, strategy_type, legs_json, quantity, status,
                                  opened_at, closed_at, realized_pnl)
        SELECT users.ids[g %% %(u)s + 1],
               (ARRAY['SPX','AAPL','QQQ','MSFT','IWM'])[g %% 5 + 1],
               (ARRAY['iron_condor','vertical_spread','covered_call'])[g %% 3 + 1],
               '[]'::jsonb, 1 + g %% 3,
               CASE WHEN g >= %(open_from)s THEN 'open' ELSE 'closed' END,
               %(start)s + g * %(step)s,
               CASE WHEN g < %(open_from)s THEN %(start)s + g * %(step)s + interval '1 hour' END,
               CASE WHEN g < %(open_from)s THEN ((g * 37) %% 400 - 180)::numeric / 4 END
        FROM users, generate_series(0, %(total)s - 1) g
        """,
        {"u": u, "total": total, "open_from": open_from, "start": start_at, "step": order_step},
    )
    taxonomy = SentimentTaxonomyVersion.objects.get(version=1)
    pre = [p["code"] for p in taxonomy.pre_labels]
    post = [p["code"] for p in taxonomy.post_labels]
    # The lock state the beat leaves: due labels locked, except a batch that became due since
    # the last run (the "due" scenario locks those). Labels have notes on every third row.
    due_from = NOW - dt.timedelta(hours=24) - SCALE["due"] * order_step
    step(
        "labels",
        """
        INSERT INTO trade_sentiment_labels (user_id, source_table, trade_id, pre_label, post_label,
            taxonomy_version, journal_note, post_label_locked_at, created_at, updated_at)
        SELECT o.user_id, 'paper_orders', o.id,
               (%(pre)s::text[])[o.id %% %(npre)s + 1],
               CASE WHEN o.status = 'closed' AND o.id %% 4 <> 0
                    THEN (%(post)s::text[])[o.id %% %(npost)s + 1] END,
               1,
               CASE WHEN o.id %% 3 = 0 THEN 'a private note' ELSE '' END,
               CASE WHEN o.closed_at <= %(due_from)s THEN o.closed_at + interval '24 hours' END,
               o.opened_at + interval '5 minutes', o.opened_at + interval '5 minutes'
        FROM paper_orders o ORDER BY o.id
        """,
        {"pre": pre, "post": post, "npre": len(pre), "npost": len(post), "due_from": due_from},
    )
    # The export's user writes what traders write: four-leg tickets, and a note on every label
    # (some with the CSV's separators, every fifth one starting like a formula).
    step(
        "export user's legs and notes",
        f"""
        UPDATE paper_orders SET legs_json = %(legs)s::jsonb
        WHERE user_id = (SELECT id FROM accounts_user WHERE username = '{EXPORT_USER}');
        UPDATE trade_sentiment_labels
        SET journal_note = CASE WHEN id %% 5 = 0 THEN '-' ELSE '' END
                           || repeat('Sized down after the gap, "half" size; exited at my stop. ', 4)
        WHERE user_id = (SELECT id FROM accounts_user WHERE username = '{EXPORT_USER}');
        """,
        {"legs": json.dumps(SAMPLE_LEGS["iron_condor"])},
    )
    # The replica role above also silences the triggers that keep each user's label tally
    # (journal migration 0006), so the tallies are counted here, as that migration does.
    step(
        "label tallies",
        """
        INSERT INTO journal_label_tallies (user_id, labels)
        SELECT user_id, count(*) FROM trade_sentiment_labels GROUP BY user_id
        """,
    )
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for _, definition in secondary:
            cursor.execute(definition)
    timings["indexes"] = time.perf_counter() - start
    return due_from


def seed() -> dict[str, float]:
    timings: dict[str, float] = {}
    # One transaction, so the trigger switch is SET LOCAL and ends with it: nothing outlives
    # its transaction, as behind a transaction-mode pooler (SPEC O1).
    with transaction.atomic():
        _exec("SET LOCAL session_replication_role = replica")
        due_from = _load_rows(timings)
    LockSweepMark.objects.update_or_create(
        name=LOCK_SWEEP_MARK, defaults={"cutoff": due_from, "ran_at": NOW - dt.timedelta(minutes=5)}
    )
    start = time.perf_counter()
    _exec("VACUUM (ANALYZE)")  # visibility map for index-only scans, fresh statistics
    timings["vacuum analyze"] = time.perf_counter() - start
    # What beat does every FUNNEL_SNAPSHOT_INTERVAL_SECONDS in production: the unfiltered funnel
    # page reads this snapshot (issue 11). Untimed in the table; its cost is printed here.
    from walkthrough.services import funnel_snapshot_refresh

    start = time.perf_counter()
    funnel_snapshot_refresh()
    timings["funnel snapshot"] = time.perf_counter() - start
    return timings


# --- Measuring ----------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    run: Callable[[], object]
    target: str
    max_ms: float | None = None
    max_queries: int | None = None
    max_ratio: float | None = None
    floor_name: str = "raw SQL of the same statements"
    floor: Callable[[], object] | None = None  # None: the raw SQL of the captured statements
    reset: Callable[[], None] | None = None
    rows: Callable[[], int] | None = None  # rows/s scenarios: how many rows one run touches
    min_rows_per_s: float | None = None
    no_floor: bool = False
    samples: list[float] = field(default_factory=list)
    floor_samples: list[float] = field(default_factory=list)
    queries: int = 0
    statements: list[str] = field(default_factory=list)
    rows_done: int = 0
    samples_per_round_fast: bool = False
    max_growth_mb: float | None = None  # the server process's memory growth over one run
    growth_mb: float | None = None


# Scenarios faster than this take FAST_REPEATS samples per round, alternating with their floor.
FAST_SCENARIO_S = 0.05
FAST_REPEATS = 6

SKIP = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET ")  # not queries


def _is_query(sql: str) -> bool:
    """A round trip that reads or writes rows. `SET LOCAL …; SELECT …` (a planner setting sent
    with its statement, journal.models) is one query: only a lone SET is not."""
    return not sql.upper().startswith(SKIP) or ";" in sql


def _planner_prefix(sql: str) -> tuple[str, str]:
    """Split a leading `SET LOCAL …;` (or several) from the statement it travels with."""
    prefix = ""
    while sql.upper().startswith("SET LOCAL ") and ";" in sql:
        head, sql = sql.split(";", 1)
        prefix += f"{head};"
        sql = sql.lstrip()
    return prefix, sql


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def _replay(statements: list[str]) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                while True:  # every result of a `SET LOCAL …; SELECT …` round trip
                    if cursor.description:
                        cursor.fetchall()
                    if not cursor.nextset():
                        break

    return run


def _explain(scenario: Scenario, statements: list[str]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement; the slowest by execution time first."""
    plans = []
    for statement in statements:
        settings_sent, sql = _planner_prefix(statement)
        if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")):
            continue  # e.g. the paginator's own EXPLAIN
        with transaction.atomic():
            with connection.cursor() as cursor:
                if settings_sent:
                    cursor.execute(settings_sent)  # the plan the statement really gets
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                lines = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)  # EXPLAIN ANALYZE of a write executes it
        took = next((float(x.split()[2]) for x in lines if x.startswith("Execution Time")), 0.0)
        plans.append((took, statement, lines))
    plans.sort(key=lambda item: -item[0])
    text = [f"-- {scenario.name}: {len(plans)} statement(s), the main (slowest) one first\n"]
    for took, sql, lines in plans:
        text.append(f"-- {took:.3f} ms\n{sql}\n\n" + "\n".join(lines) + "\n")
    (OUT / "plans" / f"{_slug(scenario.name)}.txt").write_text("\n".join(text))


def _timed(fn: Callable[[], object], reset: Callable[[], None] | None) -> float:
    if reset:
        reset()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(scenarios: list[Scenario]) -> None:
    (OUT / "plans").mkdir(parents=True, exist_ok=True)
    for scenario in scenarios:  # warm-up, query count, plan, replayable statements
        if scenario.reset:
            scenario.reset()
        scenario.run()  # warm caches (flag snapshot, templates), as in a running process
        if scenario.reset:
            scenario.reset()
        with CaptureQueriesContext(connection) as captured:
            took = _timed(scenario.run, None)
        scenario.samples_per_round_fast = took < FAST_SCENARIO_S
        scenario.statements = [q["sql"] for q in captured.captured_queries if _is_query(q["sql"])]
        scenario.queries = len(scenario.statements)
        if scenario.rows:
            scenario.rows_done = scenario.rows()
        if scenario.reset:
            scenario.reset()
        _explain(scenario, scenario.statements)
        if scenario.floor is None and not scenario.no_floor:
            scenario.floor = _replay(scenario.statements)
    for round_no in range(SCALE["rounds"]):  # interleaved rounds: scenario, floor, next scenario ...
        for scenario in scenarios:
            # A fast scenario and its floor take turns going first, several times in a row:
            # whichever runs first after the previous scenario (a 1M-row admin page) meets cold
            # CPU caches and shared buffers, and a fixed order gave that cost to the scenario
            # every time (1.7x its floor at full scale against 1.04x at small).
            repeats = FAST_REPEATS if scenario.samples_per_round_fast else 1
            for turn in range(repeats):
                pair = [(scenario.run, scenario.samples)]
                if scenario.floor is not None:
                    pair.append((scenario.floor, scenario.floor_samples))
                if (round_no + turn) % 2:
                    pair.reverse()
                for fn, samples in pair:
                    samples.append(_timed(fn, scenario.reset))


# --- The scenarios ------------------------------------------------------------------------------


def build_scenarios() -> tuple[list[Scenario], dict]:
    tester = User.objects.filter(username="trader00000").get()
    api = Client()
    api.defaults["HTTP_AUTHORIZATION"] = f"Token {api_key_create(user=tester)}"

    # The screen tester: the oldest row, given a known token and the builder screen.
    from walkthrough.models import Progress

    progress = Progress.objects.order_by("id").first()
    Progress.objects.filter(pk=progress.pk).update(
        token_hash=token_hash(TESTER_TOKEN), current_screen=3, track="full", intent_bucket=None
    )
    walk = Client()
    walk.defaults["HTTP_AUTHORIZATION"] = f"Bearer {TESTER_TOKEN}"

    admin_user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench-admin@example.com", "bench-pass-123!"
    )  # already there in a BENCH_REUSE run
    office = Client()
    staff_login(office, admin_user)

    def get(client: Client, url: str, status: int = 200) -> Callable[[], object]:
        def run():
            response = client.get(url)
            assert response.status_code == status, (url, response.status_code, response.content[:300])
            return response

        return run

    def post_trade():
        response = walk.post(
            "/api/walkthrough/screen/3",
            {"strategy_type": "iron_condor", "legs": SAMPLE_LEGS["iron_condor"]},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content[:300]

    label = "/api/sentiment-labels/"
    backtest = "/api/sentiment-labels/backtest-filter/"
    week_end = (NOW - dt.timedelta(days=30)).date()
    week = f"start={week_end - dt.timedelta(days=6)}&end={week_end}"
    some_email = Progress.objects.order_by("-id").values_list("tester_email", flat=True)[
        SCALE["testers"] // 2
    ]

    # The lock sweep: the batch that became due since the mark, then nothing due.
    sweep_now = NOW
    due_from = LockSweepMark.objects.get(name=LOCK_SWEEP_MARK).cutoff
    locked_count = {"n": 0}

    def reset_due() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE trade_sentiment_labels SET post_label_locked_at = NULL "
                "WHERE post_label_locked_at = %s",
                [sweep_now],
            )
        LockSweepMark.objects.filter(name=LOCK_SWEEP_MARK).update(
            cutoff=due_from, ran_at=NOW - dt.timedelta(minutes=5)
        )
        # Production locks each label once; a benchmark that unlocks and relocks the same rows
        # would fill the pages' free space with dead versions. Reclaim it (only the pages the
        # reset touched are read: the rest are all-visible), untimed.
        _exec("VACUUM (INDEX_CLEANUP OFF) trade_sentiment_labels")

    def sweep_due() -> None:
        locked_count["n"] = labels_lock_due(now=sweep_now)

    def reset_none() -> None:
        LockSweepMark.objects.filter(name=LOCK_SWEEP_MARK).update(
            cutoff=sweep_now - dt.timedelta(hours=24, minutes=5), ran_at=sweep_now - dt.timedelta(minutes=5)
        )

    def sweep_none() -> None:
        assert labels_lock_due(now=sweep_now) == 0

    # The label list must serve a full first page of the user's whole journal: a bench that
    # timed an empty page (say, a tally the seeding left at zero) would prove nothing.
    first_page = get(api, label)().json()
    assert first_page["count"] == SCALE["orders_per_user"] and len(first_page["results"]) == 50, first_page[
        "count"
    ]
    # SPEC J11/J12: the statistics of the list's user, the export of a user with notes and legs.
    figures = "/api/sentiment-labels/stats/"
    first_pre = SentimentTaxonomyVersion.objects.get(version=1).pre_labels[0]["code"]
    half_way = (NOW - dt.timedelta(days=SPAN_DAYS // 2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    counted = get(api, figures)().json()["basis"]["n"]
    assert counted > 0.9 * SCALE["orders_per_user"], counted  # every closed, labelled trade
    exporter = Client()
    exporter.defaults["HTTP_AUTHORIZATION"] = export_token(User.objects.get(username=EXPORT_USER))

    def export_json():
        response = exporter.get("/api/sentiment-labels/export/?format=json")
        assert response.status_code == 200, response.status_code
        size = sum(len(piece) for piece in response.streaming_content)
        response.close()
        assert size > SCALE["orders_per_user"] * 500, size  # every order and label, notes and legs

    floor_drf = get(walk, "/bench/bare-drf-tester")
    post_trade()  # the review scenario reads the bench tester's filled trade (SPEC W15)
    s: list[Scenario] = [
        Scenario(
            "screen GET /screen/2",
            get(walk, "/api/walkthrough/screen/2"),
            "<= 1.5x bare DRF view, 1 query",
            max_queries=1,
            max_ratio=1.5,
            floor=floor_drf,
            floor_name="bare DRF view, same token auth",
        ),
        Scenario("paper trade POST /screen/3", post_trade, "<= 5 queries", max_queries=5, no_floor=True),
        Scenario(
            "review GET /screen/4 (with the economics)",
            get(walk, "/api/walkthrough/screen/4"),
            "<= 1.5x bare DRF view, 1 query",
            max_queries=1,
            max_ratio=1.5,
            floor=floor_drf,
            floor_name="bare DRF view, same token auth",
        ),
        Scenario("label list page", get(api, label), "<= 3 queries, <= 5 ms", max_ms=5, max_queries=3),
        Scenario(
            "backtest filter + summary",
            get(api, backtest),
            "<= 3 queries, < 50 ms",
            max_ms=50,
            max_queries=3,
        ),
        Scenario(
            "backtest filter + summary, filtered",
            get(api, f"{backtest}?symbol=SPX&strategy_type=iron_condor"),
            "<= 3 queries, < 50 ms",
            max_ms=50,
            max_queries=3,
        ),
        Scenario("journal stats", get(api, figures), "<= 3 queries, < 50 ms", max_ms=50, max_queries=3),
        Scenario(
            "journal stats, filtered",
            get(api, f"{figures}?pre_label={first_pre}&closed_at_after={half_way}"),
            "<= 3 queries, < 50 ms",
            max_ms=50,
            max_queries=3,
        ),
        Scenario(
            "journal export",
            export_json,
            "< 2 s, server memory growth < 30 MB",
            max_ms=2000,
            max_growth_mb=30,
        ),
        Scenario(
            "lock sweep, rows due",
            sweep_due,
            ">= 100,000 rows/s",
            reset=reset_due,
            rows=lambda: locked_count["n"],
            min_rows_per_s=100_000,
        ),
        Scenario("lock sweep, nothing due", sweep_none, "< 20 ms", max_ms=20, reset=reset_none),
    ]
    changelists = [
        ("admin progress changelist", "/admin/walkthrough/progress/"),
        (
            "admin progress, filtered",
            "/admin/walkthrough/progress/?intent_bucket=income&current_screen__exact=3",
        ),
        ("admin progress, email exact", f"/admin/walkthrough/progress/?q={some_email}"),
        ("admin progress, email prefix", f"/admin/walkthrough/progress/?q={some_email[:12]}"),
        ("admin label changelist", "/admin/journal/tradesentimentlabel/"),
        ("admin labels, filtered", "/admin/journal/tradesentimentlabel/?post_label__exact=closed_early"),
        ("admin labels, email", "/admin/journal/tradesentimentlabel/?q=trader00001@example.com"),
        ("admin order changelist", "/admin/journal/paperorder/"),
        ("admin orders, filtered", "/admin/journal/paperorder/?status__exact=open"),
        ("admin orders, email prefix", "/admin/journal/paperorder/?q=trader0000"),
        ("admin walkthrough trades", "/admin/walkthrough/papertrade/?intent_bucket=income"),
        ("admin survey answers", "/admin/walkthrough/surveyanswer/?question_id__exact=clarity"),
    ]
    for name, url in changelists:
        s.append(Scenario(name, get(office, url), "< 300 ms", max_ms=300))
    s.append(
        Scenario(
            "admin funnel, unfiltered",
            get(office, "/admin/walkthrough/progress/cohort/"),
            "< 1 s",
            max_ms=1000,
        )
    )
    s.append(
        Scenario(
            "admin funnel, 7-day range",
            get(office, f"/admin/walkthrough/progress/cohort/?{week}"),
            "< 300 ms",
            max_ms=300,
        )
    )
    s.append(
        Scenario(
            "admin funnel, one bucket",
            get(office, "/admin/walkthrough/progress/cohort/?bucket=covered_call"),
            "< 300 ms",
            max_ms=300,
        )
    )
    only = os.environ.get("BENCH_ONLY")  # substrings of scenario names, comma-separated
    if only:
        s = [sc for sc in s if any(part.strip() in sc.name for part in only.split(","))]
    return s, {
        "api_token": api.defaults["HTTP_AUTHORIZATION"],
        "export_token": exporter.defaults["HTTP_AUTHORIZATION"],
    }


def export_token(user: User) -> str:
    return f"Token {api_key_create(user=user)}"


# --- Throughput under gunicorn ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load(port: int, path: str, headers: dict, *, seconds: float, requests: int, threads: int = 4) -> float:
    """Requests per second over a bounded run: stops at `requests` or `seconds`, whichever first."""
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                if done[0] >= requests:
                    return
                done[0] += 1
            conn = HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return done[0] / (time.perf_counter() - start)


def _gunicorn(port: int, *, workers: int) -> subprocess.Popen:
    """The in-process scenarios' production settings (ENV), whose SECRET_KEY the walkthrough
    token digests derive from (BETA_TOKEN_SECRET), served by gunicorn on loopback."""
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "tests.bench.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    return server


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def export_memory(export_token: str) -> float:
    """The owner's export (SPEC J12) through one gunicorn worker: how far the worker's resident
    memory rises above where it stood before the request (MB), sampled every 2 ms while the
    client reads the whole body. The worker is warm (the same auth and route served once with
    a tiny answer), and this is its first export, so nothing freed by an earlier one hides growth."""
    port = _free_port()
    server = _gunicorn(port, workers=1)
    try:
        headers = {"Authorization": export_token}
        for path in ("/api/sentiment-labels/?trade_id=1", "/api/sentiment-labels/export/?format=xml"):
            conn = HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            conn.close()
        (worker,) = _children(server.pid)  # forked by now: it has answered
        baseline = _rss_bytes(worker)
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_bytes(worker))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/api/sentiment-labels/export/?format=json", headers=headers)
        response = conn.getresponse()
        size = 0
        while chunk := response.read(65536):
            size += len(chunk)
        conn.close()
        done.set()
        sampler.join()
        peak[0] = max(peak[0], _rss_bytes(worker))
        assert response.status == 200 and size > 0, (response.status, size)
        return (peak[0] - baseline) / 2**20
    finally:
        server.terminate()
        server.wait(timeout=30)


def throughput(api_token: str) -> list[dict]:
    port = _free_port()
    # Bare view and scenarios share the workers.
    server = _gunicorn(port, workers=2)
    try:
        tester = {"Authorization": f"Bearer {TESTER_TOKEN}"}
        journal = {"Authorization": api_token}
        runs = {
            "bare": ("/bench/bare-django", {}),
            "screen": ("/api/walkthrough/screen/2", tester),
            "labels": ("/api/sentiment-labels/", journal),
        }
        for path, headers in runs.values():  # warm both workers
            _load(port, path, headers, seconds=1.0, requests=20)
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(3):  # interleaved rounds
            for name, (path, headers) in runs.items():
                rates[name].append(
                    _load(
                        port,
                        path,
                        headers,
                        seconds=SCALE["load_seconds"] / 3,
                        requests=SCALE["load_requests"] // 3,
                    )
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare = statistics.median(rates["bare"])
    rows = []
    for name, title, share in (
        ("screen", "throughput screen GET", 0.25),
        ("labels", "throughput label list", 0.15),
    ):
        rate = statistics.median(rates[name])
        rows.append(
            {
                "scenario": f"{title} (gunicorn, 2 workers)",
                "median": f"{rate:.0f} req/s",
                "floor": f"{bare:.0f} req/s bare Django view",
                "ratio": round(rate / bare, 3),
                "queries": None,
                "target": f">= {share:.0%} of bare",
                "met": rate >= share * bare,
            }
        )
    return rows


# --- Report -------------------------------------------------------------------------------------


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    return "-" if value is None else str(value)


def report(scenarios: list[Scenario], extra: list[dict], seeded: dict[str, float]) -> list[dict]:
    rows = []
    for sc in scenarios:
        median = statistics.median(sc.samples)
        floor = statistics.median(sc.floor_samples) if sc.floor_samples else None
        ratio = median / floor if floor else None
        met = True
        if sc.max_ms is not None:
            met &= median * 1e3 <= sc.max_ms
        if sc.max_queries is not None:
            met &= sc.queries <= sc.max_queries
        if sc.max_ratio is not None:
            met &= ratio is not None and ratio <= sc.max_ratio
        median_text = f"{median * 1e3:.1f} ms"
        if sc.max_growth_mb is not None:
            met &= sc.growth_mb is not None and sc.growth_mb < sc.max_growth_mb
            growth = "not measured" if sc.growth_mb is None else f"{sc.growth_mb:.1f} MB"
            median_text += f" (server memory growth {growth})"
        if sc.min_rows_per_s is not None:
            rate = sc.rows_done / median if median else 0
            met &= rate >= sc.min_rows_per_s
            median_text += f" ({sc.rows_done} rows, {rate:,.0f} rows/s)"
        rows.append(
            {
                "scenario": sc.name,
                "median": median_text,
                "median_ms": round(median * 1e3, 3),
                "floor": f"{floor * 1e3:.1f} ms {sc.floor_name}" if floor is not None else "-",
                "floor_ms": round(floor * 1e3, 3) if floor is not None else None,
                "ratio": round(ratio, 2) if ratio is not None else None,
                "queries": sc.queries,
                "target": sc.target,
                "met": bool(met),
            }
        )
    rows.extend(extra)
    header = ("scenario", "median", "floor", "ratio", "queries", "target", "met")
    widths = [
        max(
            len(str(r.get(h) if r.get(h) is not None else "-"))
            for r in [dict(zip(header, header, strict=True)), *rows]
        )
        for h in header
    ]
    print()
    print(f"scale {SCALE_NAME}: " + ", ".join(f"{k}={v:,}" for k, v in SCALE.items() if isinstance(v, int)))
    print(
        (
            "seeded in "
            + ", ".join(f"{k} {v:.1f}s" for k, v in seeded.items())
            + f"; total {sum(seeded.values()):.1f}s"
        )
        if seeded
        else "reused the database a BENCH_KEEP=1 run seeded"
    )
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(
            " | ".join(
                str(r.get(h) if r.get(h) is not None else "-").ljust(w)
                for h, w in zip(header, widths, strict=True)
            )
        )
    met = sum(r["met"] for r in rows)
    print(f"\n{met}/{len(rows)} targets met (a slow result is reported, it does not fail the run)")
    return rows


def dropoff_stream() -> list[dict]:
    """The drop-off CSV of the largest cell (issue 19): every row streamed, with the Python heap's
    peak while streaming (tracemalloc), which must stay flat whatever the number of rows."""
    import tracemalloc

    from walkthrough import funnel
    from walkthrough.models import Progress

    admin_user = User.objects.get(username="bench-admin")
    office = Client()
    staff_login(office, admin_user)  # a code entered now: the export's fresh-code guard passes
    sizes = {s.key: Progress.objects.filter(funnel.stopped_q(s.key)).count() for s in funnel.STEPS[:-1]}
    step = max(sizes, key=sizes.get)
    url = f"/admin/walkthrough/progress/cohort/dropoff/?group=*|*&stopped={step}"
    tracemalloc.start()
    start = time.perf_counter()
    response = office.get(url)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    took = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 200, response.status_code
    assert lines == sizes[step] + 1, (lines, sizes[step])  # the header and every tester
    peak_mb = peak / 2**20
    return [
        {
            "scenario": f"funnel drop-off CSV, largest cell ({sizes[step]:,} testers)",
            "median": f"{took * 1e3:.0f} ms, peak {peak_mb:.1f} MB",
            "floor": "-",
            "ratio": None,
            "queries": None,
            "target": "streams, peak heap <= 32 MB",
            "met": response.streaming and peak_mb <= 32,
        }
    ]


def main() -> None:
    started = time.perf_counter()
    if not REUSE:
        _recreate_database()
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        seeded = {} if REUSE else seed()
        scenarios, context = build_scenarios()
        measure(scenarios)
        for scenario in scenarios:
            if scenario.max_growth_mb is not None:
                scenario.growth_mb = export_memory(context["export_token"])
        extra = [] if os.environ.get("BENCH_ONLY") else [*dropoff_stream(), *throughput(context["api_token"])]
        rows = report(scenarios, extra, seeded)
        OUT.mkdir(exist_ok=True)
        (OUT / "results.json").write_text(
            json.dumps([{**row, "scale": SCALE_NAME} for row in rows], indent=2) + "\n"
        )
        print(f"wrote bench/results.json and bench/plans/ in {time.perf_counter() - started:.0f}s")
    finally:
        connection.close()
        shutil.rmtree(STATIC_DIR, ignore_errors=True)
        if not os.environ.get("BENCH_KEEP"):
            _drop_database()


if __name__ == "__main__":
    main()
