"""Read replica (SPEC O2) against a real streaming replica, with replay paused (CI).

.ci/run starts a primary and its `pg_basebackup -R` replica (tests/pgcluster.py) and names
them in TEST_REPLICA_PRIMARY_URL and TEST_REPLICA_URL (each URL's database is the maintenance
one). Here a fresh database is created on the primary, migrated, and reaches the replica by
streaming replication; real gunicorn servers then read it as production would. While the
replica's replay is paused it cannot see a new tester: what each page shows proves where its
reads went.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable

import psycopg
import pytest
import requests

from tests.processes import Server, manage

pytestmark = pytest.mark.replica

PRIMARY_URL = os.environ.get("TEST_REPLICA_PRIMARY_URL", "")
REPLICA_URL = os.environ.get("TEST_REPLICA_URL", "")
OPERATOR = ("ops", "replica-test-password-1")
CHANGELIST = "/admin/walkthrough/progress/"
FUNNEL = "/admin/walkthrough/progress/cohort/?start=2020-01-01"


def _with_database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll another process's effect (replication), bounded; no time rule depends on it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _one(url: str, sql: str, params: tuple = ()):
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


@pytest.fixture(scope="module")
def databases():
    """(primary, replica) URLs of a fresh, migrated database, already on the replica."""
    # Here, not in the marker's autouse fixture: a module fixture is set up before that runs.
    if not (PRIMARY_URL and REPLICA_URL):
        if os.environ.get("REQUIRE_REPLICA") == "1":
            pytest.fail("required service missing: a streaming replica (TEST_REPLICA_URL)")
        pytest.skip("a streaming replica (TEST_REPLICA_PRIMARY_URL and TEST_REPLICA_URL; see .ci/run)")
    name = f"raxx_replica_{uuid.uuid4().hex[:10]}"
    codes: list[str] = []
    with psycopg.connect(PRIMARY_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    primary, standby = _with_database(PRIMARY_URL, name), _with_database(REPLICA_URL, name)
    try:
        env = {"DEBUG": "1", "DATABASE_URL": primary}
        result = manage("migrate", "--noinput", env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        # The operator and two single-use backup codes: one staff login per server (SPEC P1).
        create = (
            "from accounts.models import User; from accounts.second_factor import backup_code_add; "
            f"u = User.objects.create_superuser({OPERATOR[0]!r}, 'ops@example.com', {OPERATOR[1]!r}); "
            "print(backup_code_add(user=u)); print(backup_code_add(user=u))"
        )
        result = manage("shell", "-v", "0", "-c", create, env=env)
        assert result.returncode == 0, result.stderr
        codes.extend(line.strip() for line in result.stdout.splitlines() if line.strip())
        # SPEC W16: testers are invited only once the copy is signed off.
        signoff = ("copy_signoff", "--operator", OPERATOR[0], "--note", "Reviewed (replica test).")
        result = manage(*signoff, env=env)
        assert result.returncode == 0, result.stderr
        operator = "SELECT count(*) FROM accounts_user WHERE username = %s"
        _wait(lambda: _one(standby, operator, (OPERATOR[0],)) == 1, "the operator to reach the replica")
        yield primary, standby, codes
    finally:
        with psycopg.connect(PRIMARY_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _one(REPLICA_URL, "SELECT pg_wal_replay_resume()")


def _server(primary: str, standby: str, **extra: str) -> Server:
    return Server(
        {
            "DEBUG": "1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": primary,
            "DATABASE_REPLICA_URL": standby,
            **extra,
        }
    )


def _office(server: Server, code: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{server.url}/admin/login/", timeout=10)
    response = session.post(
        f"{server.url}/admin/login/?next=/admin/",
        data={
            "username": OPERATOR[0],
            "password": OPERATOR[1],
            "code": code,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{server.url}/admin/login/"},
        timeout=10,
    )
    assert response.status_code == 200 and "Log out" in response.text, response.text[:500]
    return session


def _note(page: str) -> str:
    match = re.search(r'id="replica-note">([^<]*)<', page)
    return match.group(1) if match else ""


def test_analysts_read_the_replica_and_everything_else_the_primary(databases):
    primary, standby, codes = databases
    strict_env = {"DATABASE_REPLICA_MAX_LAG_SECONDS": "0"}
    with _server(primary, standby) as server, _server(primary, standby, **strict_env) as strict:
        office, strict_office = _office(server, codes[0]), _office(strict, codes[1])
        _one(standby, "SELECT pg_wal_replay_pause()")
        _wait(lambda: _one(standby, "SELECT pg_get_wal_replay_pause_state()") == "paused", "replay to pause")

        # A new tester, written to the primary the way operators do it.
        email = f"late-{uuid.uuid4().hex[:8]}@example.com"
        issued = manage("issue_walkthrough_token", email, env={"DEBUG": "1", "DATABASE_URL": primary})
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip().splitlines()[-1]
        _wait(
            lambda: _one(standby, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"),
            "the replica to receive the write it does not replay",
        )

        # The tester's own requests read (and write) the primary: the token works at once, and
        # a screen answer is written and read back in one request.
        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{server.url}/api/walkthrough/", headers=bearer, timeout=10).status_code == 200
        answer = {"answers": {"goal": "income", "holdings": "no_shares"}}
        screen1 = requests.post(
            f"{server.url}/api/walkthrough/screen/1", json=answer, headers=bearer, timeout=10
        )
        assert screen1.status_code in (200, 201), screen1.text

        # The analyst's pages read the paused replica: the new tester is not there yet.
        changelist = office.get(f"{server.url}{CHANGELIST}", timeout=10)
        assert changelist.status_code == 200
        assert email not in changelist.text
        funnel = office.get(f"{server.url}{FUNNEL}", timeout=10)
        assert funnel.status_code == 200
        assert _note(funnel.text).startswith("Read from the replica: replay lag ")

        # Past the allowed lag (0 s here), the same pages fall back to the primary.
        changelist = strict_office.get(f"{strict.url}{CHANGELIST}", timeout=10)
        assert email in changelist.text
        note = _note(strict_office.get(f"{strict.url}{FUNNEL}", timeout=10).text)
        assert note.startswith("Read from the primary: the replica&#x27;s replay lag is "), note
        assert note.endswith("more than 0 s.")

        # Replay resumes: the replica catches up and the analyst sees the tester there.
        _one(standby, "SELECT pg_wal_replay_resume()")
        tester = "SELECT count(*) FROM beta_walkthrough_progress WHERE tester_email = %s"
        _wait(lambda: _one(standby, tester, (email,)) == 1, "the replica to replay the new tester")
        assert email in office.get(f"{server.url}{CHANGELIST}", timeout=10).text
