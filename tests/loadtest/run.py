"""`make loadtest`: load and faults through gunicorn, on loopback, against servers of its own.

1. Starts its own PostgreSQL (tests/pgcluster.py: initdb in a temporary directory, a free
   port), its own redis-server, gunicorn (LOADTEST_WORKERS sync workers, production settings)
   and a Celery worker; migrates and seeds testers' tokens, traders' API keys and
   LOADTEST_SWEEP_LABELS due labels for the lock sweep.
2. Load: half the clients are testers walking screens 1-5 (a fresh token each walk), half are
   traders opening a paper order, labelling it and closing it; LOADTEST_SECONDS at 4, 16 and
   64 clients.
3. Faults, each with 16 clients running: SIGKILL one gunicorn worker; restart PostgreSQL;
   stop Redis for 5 s; SIGKILL the Celery worker in the middle of the lock sweep, then the
   next run (what beat sends at its next interval) on a new worker.
4. Checks the database: every 201 a client saw has exactly one row, nothing half-written, no
   duplicates. Prints the table (docs/reliability.md) and writes var/loadtest/results.json.

Nothing here touches the shared PostgreSQL or Redis; everything is stopped and removed at the
end, whatever happens. Not in CI (minutes long); it needs the PostgreSQL server binaries
(`initdb`) and `redis-server`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.pgcluster import Cluster, free_port, start_on_free_port
from tests.processes import ProcessOutput

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("LOADTEST_SECONDS", "15"))
WORKERS = int(os.environ.get("LOADTEST_WORKERS", "4"))
SWEEP_LABELS = int(os.environ.get("LOADTEST_SWEEP_LABELS", "300000"))
LEVELS = (4, 16, 64)
FAULT_CLIENTS = 16
TOKENS = int(os.environ.get("LOADTEST_TOKENS", "6000"))
TRADERS = 64
RESULTS = ROOT / "var" / "loadtest" / "results.json"


def _leg(action: str, right: str, strike: str, expiry: str) -> dict:
    return {
        "action": action,
        "instrument": "option",
        "right": right,
        "strike": strike,
        "expiry": expiry,
        "quantity": 1,
    }


# The README's walk (docs/walkthrough.md) and order ticket.
SCREEN_POSTS = {
    1: {"answers": {"goal": "income", "holdings": "no_shares"}},
    2: {},
    3: {
        "strategy_type": "iron_condor",
        "legs": [
            _leg("buy", "put", "5300", "2026-07-17"),
            _leg("sell", "put", "5350", "2026-07-17"),
            _leg("sell", "call", "5600", "2026-07-17"),
            _leg("buy", "call", "5650", "2026-07-17"),
        ],
    },
    4: {},
    5: {"answers": {"clarity": "4", "relevance": "yes", "next_step": "paper_trade_more"}},
}
ORDER = {
    "symbol": "SPY",
    "strategy_type": "vertical_spread",
    "quantity": 1,
    "legs": [_leg("buy", "call", "500", "2026-09-18"), _leg("sell", "call", "510", "2026-09-18")],
}


# --- Servers of its own ---------------------------------------------------------------------


class Stack:
    """PostgreSQL, Redis, gunicorn and a Celery worker, all on free loopback ports."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.cluster = Cluster(workdir / "pg" / "data", 0)
        self.redis_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.web_port = 0
        self.worker: subprocess.Popen | None = None
        self.static = workdir / "static"

    @property
    def database_url(self) -> str:
        return self.cluster.url("raxx_loadtest")

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "DEBUG": "0",
            "SECRET_KEY": "loadtest-only-secret-key-" + "y" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_ROOT": str(self.static),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "FLAG_SENTIMENT_JOURNAL": "1",
            "LOG_LEVEL": "WARNING",
        }

    def start_database(self) -> None:
        start_on_free_port(self.cluster.initdb())
        self.cluster.sql("CREATE DATABASE raxx_loadtest")

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.redis_port)

    def stop_redis(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.send_signal(signal.SIGTERM)
            self.redis.wait(timeout=30)

    def start_web(self) -> None:
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                "127.0.0.1:0",
                "-w",
                str(WORKERS),
                "--timeout",
                "30",
                "--graceful-timeout",
                "20",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.web_output = ProcessOutput(self.web)
        port = self.web_output.port(timeout=60)
        if port is None:
            raise RuntimeError(f"gunicorn did not start: {self.web_output.text()[-2000:]}")
        self.web_port = port
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _get(port, "/healthz")[0] != 200:
            time.sleep(0.2)

    def web_workers(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.web.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in found.stdout.split()]

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
                "--hostname",
                f"loadtest-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        for process in (self.worker, self.web):
            if process and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
        self.stop_redis()
        with contextlib.suppress(subprocess.CalledProcessError):
            self.cluster.stop()


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""


# --- Seeding (in process, on the loadtest database) -----------------------------------------


def seed(stack: Stack) -> dict:
    os.environ.update(stack.env(), DJANGO_SETTINGS_MODULE="config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    from accounts.models import User
    from accounts.services import api_key_create
    from walkthrough.auth import token_hash, token_new
    from walkthrough.models import Progress

    raws = [token_new() for _ in range(TOKENS)]
    Progress.objects.bulk_create(
        [
            Progress(tester_email=f"load{i}@example.com", token_hash=token_hash(raw))
            for i, raw in enumerate(raws)
        ],
        batch_size=2000,
    )
    keys = {}
    for i in range(TRADERS):
        user = User.objects.create_user(username=f"trader{i}", email=f"trader{i}@example.com", password=None)
        keys[user.pk] = api_key_create(user=user)
    sweeper = User.objects.create_user(username="sweeper", email="sweeper@example.com", password=None)
    _seed_due_labels(sweeper.pk)
    return {"tokens": raws, "keys": keys}


def _seed_due_labels(user_id: int) -> None:
    """SWEEP_LABELS closed orders of one user, closed two days ago, each with an unlocked label."""
    from django.db import connection, transaction

    closed = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # bulk load: no per-row triggers
        cursor.execute(
            """
            INSERT INTO paper_orders (user_id, symbol, strategy_type, legs_json, quantity, status,
                                      opened_at, closed_at, realized_pnl)
            SELECT %(user)s, 'SPY', 'vertical_spread', '[]'::jsonb, 1, 'closed',
                   %(closed)s - interval '1 hour', %(closed)s, 0
            FROM generate_series(1, %(n)s)
            """,
            {"user": user_id, "closed": closed, "n": SWEEP_LABELS},
        )
        cursor.execute(
            """
            INSERT INTO trade_sentiment_labels (user_id, source_table, trade_id, pre_label, post_label,
                taxonomy_version, journal_note, post_label_locked_at, created_at, updated_at)
            SELECT o.user_id, 'paper_orders', o.id, NULL, NULL,
                   (SELECT id FROM sentiment_taxonomy_versions ORDER BY version LIMIT 1), '', NULL,
                   o.opened_at, o.opened_at
            FROM paper_orders o WHERE o.user_id = %(user)s
            """,
            {"user": user_id},
        )
        cursor.execute(
            "INSERT INTO journal_label_tallies (user_id, labels) VALUES (%s, %s)", [user_id, SWEEP_LABELS]
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    connection.close()


# --- Clients ----------------------------------------------------------------------------------


@dataclass
class Seen:
    """What the clients saw: every request's timing and status, and every row they were told about."""

    requests: list[tuple[str, float, float, str]] = field(default_factory=list)  # phase, start, end, status
    orders: dict[int, int] = field(default_factory=dict)  # 201 order id -> trader user id
    labels: dict[int, int] = field(default_factory=dict)  # 201 label id -> order id
    closed: set[int] = field(default_factory=set)  # 200 close -> order id
    trades: dict[int, str] = field(default_factory=dict)  # 201 walkthrough trade id -> token
    surveyed: set[str] = field(default_factory=set)  # token whose survey POST answered 2xx
    attempted_orders: Counter = field(default_factory=Counter)  # trader user id -> POSTs sent
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(self, port: int, seen: Seen, phase: list[str]):
        self.port, self.seen, self.phase = port, seen, phase

    def call(
        self, method: str, path: str, headers: dict, body: dict | None = None
    ) -> tuple[str, dict | None]:
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            payload = None if body is None else json.dumps(body).encode()
            conn.request(method, path, body=payload, headers={**headers, "Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
            conn.close()
            status = str(response.status)
            data = (
                json.loads(raw)
                if raw and response.getheader("Content-Type", "").startswith("application/json")
                else None
            )
        except (OSError, http.client.HTTPException) as error:
            status, data = f"error:{type(error).__name__}", None
        with self.seen.lock:
            self.seen.requests.append((self.phase[0], start, time.monotonic(), status))
        return status, data

    def walk(self, token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        for screen in range(1, 6):
            status, _ = self.call("GET", f"/api/walkthrough/screen/{screen}", auth)
            if not status.startswith("2"):
                return
            status, data = self.call("POST", f"/api/walkthrough/screen/{screen}", auth, SCREEN_POSTS[screen])
            if screen == 3 and status == "201" and data:
                with self.seen.lock:
                    self.seen.trades[data["id"]] = token
            if screen == 5 and status.startswith("2"):
                with self.seen.lock:
                    self.seen.surveyed.add(token)
            if not status.startswith("2"):
                return

    def trade(self, user_id: int, key: str) -> None:
        auth = {"Authorization": f"Token {key}"}
        with self.seen.lock:
            self.seen.attempted_orders[user_id] += 1
        status, data = self.call("POST", "/api/paper-orders/", auth, ORDER)
        if status != "201" or not data:
            return
        order = data["id"]
        with self.seen.lock:
            self.seen.orders[order] = user_id
        status, data = self.call(
            "POST", "/api/sentiment-labels/", auth, {"trade_id": order, "pre_label": "planned_setup"}
        )
        if status == "201" and data:
            with self.seen.lock:
                self.seen.labels[data["id"]] = order
        status, _ = self.call("POST", f"/api/paper-orders/{order}/close/", auth, {"realized_pnl": "1.00"})
        if status == "200":
            with self.seen.lock:
                self.seen.closed.add(order)


def run_clients(
    *, port: int, seen: Seen, phase: list[str], clients: int, seconds: float, tokens, keys
) -> None:
    stop = threading.Event()
    token_lock = threading.Lock()
    traders = list(keys.items())

    def tester() -> None:
        client = Client(port, seen, phase)
        while not stop.is_set():
            with token_lock:
                token = next(tokens, None)
            if token is None:
                return
            client.walk(token)

    def trader(index: int) -> None:
        client = Client(port, seen, phase)
        user_id, key = traders[index % len(traders)]
        while not stop.is_set():
            client.trade(user_id, key)

    threads = [
        threading.Thread(
            target=tester if i % 2 == 0 else trader, args=() if i % 2 == 0 else (i // 2,), daemon=True
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # the phase's length: the load itself is what is measured
    stop.set()
    for thread in threads:
        thread.join(timeout=60)


# --- Faults -------------------------------------------------------------------------------------


def fault_kill_web_worker(stack: Stack) -> str:
    victim = stack.web_workers()[0]
    os.kill(victim, signal.SIGKILL)
    return f"SIGKILL gunicorn worker {victim}"


def fault_restart_postgres(stack: Stack) -> str:
    stack.cluster.restart()
    return "pg_ctl restart -m fast"


def fault_stop_redis(stack: Stack) -> str:
    stack.stop_redis()
    time.sleep(5)  # the outage's length
    stack.start_redis()
    return "redis-server stopped for 5 s, then started again"


def fault_kill_celery_mid_sweep(stack: Stack, sweep: dict) -> str:
    """SIGKILL the worker while its lock sweep UPDATE runs; then the next run on a new worker."""
    from journal.tasks import lock_post_labels

    lock_post_labels.delay()
    deadline = time.monotonic() + 60
    running = False
    while time.monotonic() < deadline and not running:
        running = (
            _scalar(
                stack,
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query ILIKE 'UPDATE%%trade_sentiment_labels%%post_label_locked_at%%'",
            )
            > 0
        )
        time.sleep(0.01)
    os.killpg(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait(timeout=30)
    killed_at = time.monotonic()
    # The killed transaction is rolled back whole once PostgreSQL notices the dead client.
    _wait_for(
        lambda: _scalar(
            stack,
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE "
            "'UPDATE%%post_label_locked_at%%' AND state <> 'idle'",
        )
        == 0
    )
    sweep["running_when_killed"] = running
    sweep["locked_after_kill"] = _locked(stack)
    stack.start_worker()
    lock_post_labels.delay()  # what beat sends at its next interval
    _wait_for(lambda: _locked(stack) == SWEEP_LABELS, timeout=300)
    # From the kill to every label locked, including the new worker's start (seconds here).
    sweep["redone_after_kill_s"] = round(time.monotonic() - killed_at, 2)
    sweep["locked_after_redo"] = _locked(stack)
    return "SIGKILL Celery worker during the lock sweep's UPDATE; the next run on a new worker"


def _locked(stack: Stack) -> int:
    return _scalar(
        stack,
        "SELECT count(*) FROM trade_sentiment_labels l JOIN accounts_user u ON u.id = l.user_id "
        "WHERE u.username = 'sweeper' AND l.post_label_locked_at IS NOT NULL",
    )


def _wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)


def _scalar(stack: Stack, sql: str):
    for _ in range(100):  # PostgreSQL may be restarting
        try:
            with psycopg.connect(stack.database_url, autocommit=True, connect_timeout=3) as conn:
                return conn.execute(sql).fetchone()[0]
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError("the loadtest database does not answer")


# --- Figures ------------------------------------------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(
    seen: Seen, name: str, clients: int, window: tuple[float, float], fault_at: float | None
) -> dict:
    rows = [r for r in seen.requests if r[0] == name]
    ok = [(end - start) * 1000 for _, start, end, status in rows if status.startswith("2")]
    # Failures: server errors and requests that got no answer (4xx are answers, counted apart).
    failed = [(start, end, status) for _, start, end, status in rows if status[:1] not in "234"]
    recovery = None
    if fault_at is not None:
        after = [end for start, end, _ in failed if end >= fault_at]
        recovery = round(max(after) - fault_at, 2) if after else 0.0
    seconds = window[1] - window[0]
    return {
        "phase": name,
        "clients": clients,
        "requests": len(rows),
        "throughput_rps": round(len(ok) / seconds, 1),
        "p50_ms": round(_percentile(ok, 50), 1),
        "p95_ms": round(_percentile(ok, 95), 1),
        "p99_ms": round(_percentile(ok, 99), 1),
        "statuses": dict(sorted(Counter(status for *_, status in rows).items())),
        "failed": len(failed),
        "recovery_s": recovery,
    }


def check_database(stack: Stack, seen: Seen) -> dict:
    """Every 201 has exactly one row; nothing half-written; no duplicates."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:

        def one(sql: str, *params):
            return conn.execute(sql, params).fetchone()[0]

        orders = one(
            "SELECT count(*) FROM paper_orders o JOIN unnest(%s::bigint[], %s::bigint[]) AS s(id, user_id) "
            "ON o.id = s.id AND o.user_id = s.user_id",
            list(seen.orders),
            list(seen.orders.values()),
        )
        labels = one(
            "SELECT count(*) FROM trade_sentiment_labels l "
            "JOIN unnest(%s::bigint[], %s::bigint[]) AS s(id, trade) ON l.id = s.id AND l.trade_id = s.trade",
            list(seen.labels),
            list(seen.labels.values()),
        )
        closed = one(
            "SELECT count(*) FROM paper_orders WHERE id = ANY(%s) AND status = 'closed'", list(seen.closed)
        )
        trades = one(
            "SELECT count(*) FROM beta_walkthrough_paper_trades WHERE id = ANY(%s)", list(seen.trades)
        )
        traders = [u for u in seen.attempted_orders]
        rows_of_traders = one("SELECT count(*) FROM paper_orders WHERE user_id = ANY(%s)", traders)
        result = {
            "orders_201": len(seen.orders),
            "orders_201_with_their_row": orders,
            "labels_201": len(seen.labels),
            "labels_201_with_their_row": labels,
            "closes_200": len(seen.closed),
            "closes_200_closed": closed,
            "walkthrough_trades_201": len(seen.trades),
            "walkthrough_trades_201_with_their_row": trades,
            "surveys_2xx": len(seen.surveyed),
            # Orders committed whose answer the client never got (a fault cut the response):
            # rows, not losses; each is one POST the client sent.
            "orders_committed_unanswered": rows_of_traders - len(seen.orders),
            "order_posts_sent": sum(seen.attempted_orders.values()),
            "duplicate_labels_per_trade": one(
                "SELECT count(*) FROM (SELECT trade_id FROM trade_sentiment_labels GROUP BY trade_id "
                "HAVING count(*) > 1) d"
            ),
            "testers_with_two_walkthrough_trades": one(
                "SELECT count(*) FROM (SELECT progress_id FROM beta_walkthrough_paper_trades "
                "GROUP BY progress_id HAVING count(*) > 1) d"
            ),
            "half_written_closed_orders": one(
                "SELECT count(*) FROM paper_orders WHERE (status = 'closed') <> (closed_at IS NOT NULL)"
            ),
            "half_written_surveys": one(
                "SELECT count(*) FROM beta_walkthrough_progress p WHERE p.completed_at IS NOT NULL AND "
                "(SELECT count(*) FROM beta_walkthrough_survey_answers a WHERE a.progress_id = p.id) = 0"
            ),
            "half_written_trades": one(
                "SELECT count(*) FROM beta_walkthrough_progress p WHERE p.current_screen >= 4 AND NOT EXISTS "
                "(SELECT 1 FROM beta_walkthrough_paper_trades t WHERE t.progress_id = p.id)"
            ),
        }
    result["ok"] = (
        result["orders_201"] == result["orders_201_with_their_row"]
        and result["labels_201"] == result["labels_201_with_their_row"]
        and result["closes_200"] == result["closes_200_closed"]
        and result["walkthrough_trades_201"] == result["walkthrough_trades_201_with_their_row"]
        and result["orders_committed_unanswered"] >= 0
        and not any(result[k] for k in result if k.startswith(("duplicate", "testers_with", "half_written")))
    )
    return result


def table(phases: list[dict], sweep: dict, check: dict) -> str:
    lines = [
        "| Phase | Clients | Requests | 2xx/s | p50 ms | p95 ms | p99 ms | Statuses | Recovery s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        statuses = ", ".join(f"{k}: {v}" for k, v in p["statuses"].items())
        recovery = "" if p["recovery_s"] is None else f"{p['recovery_s']}"
        lines.append(
            f"| {p['phase']} | {p['clients']} | {p['requests']} | {p['throughput_rps']} | {p['p50_ms']} | "
            f"{p['p95_ms']} | {p['p99_ms']} | {statuses} | {recovery} |"
        )
    lines.append("")
    lines.append(f"Lock sweep killed mid-run: {json.dumps(sweep)}")
    lines.append(f"Database check: {json.dumps(check)}")
    return "\n".join(lines)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="raxx-loadtest-"))
    os.chmod(workdir, 0o755)
    stack = Stack(workdir)
    phases: list[dict] = []
    sweep: dict = {"labels": SWEEP_LABELS}
    try:
        stack.start_database()
        stack.start_redis()
        seeded = seed(stack)
        stack.start_web()
        stack.start_worker()
        tokens = iter(seeded["tokens"])
        seen = Seen()
        phase = [""]

        def run(name: str, clients: int, fault=None) -> None:
            phase[0] = name
            start = time.monotonic()
            fault_at: list[float] = []
            note: list[str] = []

            def inject() -> None:
                time.sleep(SECONDS / 4)  # the clients are running when the fault comes
                fault_at.append(time.monotonic())
                note.append(fault())

            injector = threading.Thread(target=inject) if fault else None
            if injector:
                injector.start()
            run_clients(
                port=stack.web_port,
                seen=seen,
                phase=phase,
                clients=clients,
                seconds=SECONDS,
                tokens=tokens,
                keys=seeded["keys"],
            )
            clients_done = time.monotonic()  # the fault may outlast the clients (the sweep's redo)
            if injector:
                injector.join()
            summary = summarise(seen, name, clients, (start, clients_done), fault_at[0] if fault_at else None)
            summary["fault"] = note[0] if note else ""
            phases.append(summary)
            print(json.dumps(summary), flush=True)

        for clients in LEVELS:
            run(f"load {clients}", clients)
        run("kill a gunicorn worker", FAULT_CLIENTS, lambda: fault_kill_web_worker(stack))
        run("restart PostgreSQL", FAULT_CLIENTS, lambda: fault_restart_postgres(stack))
        run("stop Redis 5 s", FAULT_CLIENTS, lambda: fault_stop_redis(stack))
        run("kill Celery mid-sweep", FAULT_CLIENTS, lambda: fault_kill_celery_mid_sweep(stack, sweep))
        check = check_database(stack, seen)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"phases": phases, "sweep": sweep, "check": check}, indent=2))
        print(table(phases, sweep, check))
        return 0 if check["ok"] and sweep.get("locked_after_kill") == 0 else 1
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
