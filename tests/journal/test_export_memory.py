"""SPEC P5: a 300k-row admin CSV export streams from a real gunicorn worker with flat memory."""

from __future__ import annotations

import http.client as http_client
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import PROD_ENV, Server

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads worker memory from /proc"),
]

ROWS = 300_000
LABELS = "/admin/journal/tradesentimentlabel/"
BOUND_MB = 50


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _seed_labels(user_id: int, taxonomy_id: int) -> None:
    """ROWS orders and labels for one user, set-based (as the bench seeds them)."""
    with connection.cursor() as cursor:
        # The label tally triggers would update one row 300k times; the tally is set at the end.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            """
            INSERT INTO paper_orders (user_id, symbol, strategy_type, legs_json, quantity, status, opened_at)
            SELECT %s, 'SPY', 'iron_condor', '[]'::jsonb, 1, 'open', now() - g * interval '1 second'
            FROM generate_series(1, %s) g
            """,
            [user_id, ROWS],
        )
        cursor.execute(
            """
            INSERT INTO trade_sentiment_labels (user_id, source_table, trade_id, pre_label,
                taxonomy_version, journal_note, created_at, updated_at)
            SELECT user_id, 'paper_orders', id, 'planned_setup', %s, 'a private note', opened_at, opened_at
            FROM paper_orders WHERE user_id = %s
            """,
            [taxonomy_id, user_id],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute(
            "INSERT INTO journal_label_tallies (user_id, labels) VALUES (%s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET labels = EXCLUDED.labels",
            [user_id, ROWS],
        )
        cursor.execute("ANALYZE trade_sentiment_labels")


def _staff_session(user) -> str:
    """A session cookie as the real login leaves it: logged in, second factor verified just now."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    from accounts.second_factor import CODE_AT_SESSION_KEY

    device = StaticDevice.objects.create(user=user, name="backup")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[CODE_AT_SESSION_KEY] = time.time()
    session.create()
    return session.session_key


def _worker_memory_mb(server: Server) -> tuple[int, int]:
    """(resident now, peak resident) of the one gunicorn worker, in MiB."""
    kids = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{kids[0]}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def _export(server: Server, cookies: str, csrf: str, selected: list[int], select_across: bool):
    """POST the changelist's export action; (status, CSV lines) read in chunks, never held whole."""
    body = urlencode(
        {
            "action": "export_csv",
            "index": 0,
            "select_across": int(select_across),
            "_selected_action": selected,
            "csrfmiddlewaretoken": csrf,
        },
        doseq=True,
    ).encode()
    conn = http_client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    conn.request(
        "POST",
        LABELS,
        body=body,
        headers={"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    lines = 0
    while chunk := response.read(64 * 1024):
        lines += chunk.count(b"\n")
    conn.close()
    return response.status, lines


def test_a_300k_row_label_export_streams_with_flat_worker_memory(transactional_db):
    from tests.factories import UserFactory
    from tests.journal.factories import seed_taxonomy_v1

    taxonomy = seed_taxonomy_v1()
    trader = UserFactory(username="trader", email="trader@example.com")
    staff = UserFactory(username="ops", is_staff=True, is_superuser=True)
    _seed_labels(trader.pk, taxonomy.pk)
    first = connection.cursor()
    first.execute("SELECT min(id) FROM trade_sentiment_labels")
    one = first.fetchone()[0]
    csrf = secrets.token_hex(16)  # a 32-character CSRF secret, sent as cookie and form field alike
    cookies = f"sessionid={_staff_session(staff)}; csrftoken={csrf}"
    env = {**PROD_ENV, "DATABASE_URL": _database_url(), "ALLOWED_HOSTS": "127.0.0.1"}
    env["SECURE_SSL_REDIRECT"] = "0"  # plain HTTP on loopback
    env["SECRET_KEY"] = settings.SECRET_KEY  # the session above is signed with this process's key
    # A sync worker is killed after --timeout seconds in one request (default 30), streaming or not;
    # on a busy 2-core CI machine this export takes longer. Memory is what is measured here.
    env["GUNICORN_CMD_ARGS"] = "--timeout 300"

    with Server(env) as server:
        # Warm up: the admin, its templates and the export's code path, with one row.
        assert _export(server, cookies, csrf, [one], select_across=False) == (200, 2)
        before, _ = _worker_memory_mb(server)
        started = time.monotonic()
        status, lines = _export(server, cookies, csrf, [one], select_across=True)
        seconds = time.monotonic() - started
        _, peak = _worker_memory_mb(server)
    print(f"300k-row export: {seconds:.1f} s, worker {before} -> peak {peak} MiB")
    assert (status, lines) == (200, ROWS + 1)
    assert peak - before < BOUND_MB, (before, peak)
