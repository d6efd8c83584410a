"""Issue 12 guarantees that only hold across real processes (docs/reliability.md).

Each test starts its own gunicorn web process with exactly the environment it names, so what
is proven is what a deployment would do, not what one test process's settings allow.
"""

from __future__ import annotations

import http.client as http_client
import json
from pathlib import Path

import pytest

from tests.processes import PROD_ENV, Server, http, manage

# Every route behind FLAG_SENTIMENT_JOURNAL (SPEC F5, J1), with the methods it answers.
JOURNAL_ROUTES = [
    ("GET", "/api/sentiment-labels/"),
    ("POST", "/api/sentiment-labels/"),
    ("DELETE", "/api/sentiment-labels/"),
    ("GET", "/api/sentiment-labels/1/"),
    ("PATCH", "/api/sentiment-labels/1/"),
    ("DELETE", "/api/sentiment-labels/1/"),
    ("GET", "/api/sentiment-labels/backtest-filter/"),
    ("GET", "/api/sentiment-taxonomy/"),
]


@pytest.fixture
def prod_env(tmp_path) -> dict[str, str]:
    env = {
        **PROD_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
    }
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def test_the_environment_kill_switch_beats_an_operator_override_on(prod_env):
    """SPEC F2 / issue 12 item 0: FLAG_SENTIMENT_JOURNAL=0 in a server's environment wins."""
    switched_on = manage("flags", "set", "FLAG_SENTIMENT_JOURNAL", "on", "--reason", "cohort 2", env=prod_env)
    assert "is now on (database)" in switched_on.stdout, switched_on.stderr

    # Control: the same database without the kill switch serves the journal (401 = the route
    # exists and wants credentials), so the 404s below come from the environment alone.
    with Server(prod_env) as server:
        control = {route: http(route[0], server.url + route[1])[0] for route in JOURNAL_ROUTES}
    assert set(control.values()) == {401}, control

    with Server({**prod_env, "FLAG_SENTIMENT_JOURNAL": "0"}) as server:
        answers = {route: http(route[0], server.url + route[1]) for route in JOURNAL_ROUTES}
    assert {route: status for route, (status, _, _) in answers.items()} == dict.fromkeys(JOURNAL_ROUTES, 404)
    # The very body an unknown URL gets (SPEC F5): the route is not discoverable.
    assert {body for _, _, body in answers.values()} == {'{"detail": "Not found."}'}

    listed = manage("flags", "list", env={**prod_env, "FLAG_SENTIMENT_JOURNAL": "0"})
    line = next(row for row in listed.stdout.splitlines() if row.startswith("FLAG_SENTIMENT_JOURNAL"))
    assert line.split()[1:3] == ["off", "environment"]


DEAD = "redis://127.0.0.1:1/12"  # nothing listens on port 1: connection refused at once


def test_with_redis_and_the_broker_down_the_walkthrough_keeps_answering(prod_env):
    """Issue 12 item 2: cache and broker at a dead port; valid requests work, nothing is a 500."""
    env = {**prod_env, "REDIS_URL": DEAD}
    # SPEC W16: an operator signs off the copy before anyone is invited.
    operator = manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "ops",
        "--email",
        "ops@example.com",
        env={**env, "DJANGO_SUPERUSER_PASSWORD": "a long operator passphrase"},
    )
    assert operator.returncode == 0, operator.stderr
    signed = manage("copy_signoff", "--operator", "ops", "--note", "Reviewed the five rows.", env=env)
    assert signed.returncode == 0, signed.stderr
    issued = manage("issue_walkthrough_token", "tess@example.com", env=env)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answers = b'{"answers": {"goal": "income", "holdings": "no_shares"}}'

    with Server(env) as server:
        summary = http("GET", server.url + "/api/walkthrough/", headers=auth)
        screen = http("GET", server.url + "/api/walkthrough/screen/1", headers=auth)
        posted = http("POST", server.url + "/api/walkthrough/screen/1", headers=auth, body=answers)
        refused = http("POST", server.url + "/api/walkthrough/screen/1", headers=auth, body=b'{"answers": 5}')
        guesses = [
            http("GET", server.url + "/api/walkthrough/", headers={"Authorization": "Bearer wt_" + "x" * 43})[
                0
            ]
            for _ in range(3)
        ]
        health = http("GET", server.url + "/healthz")

    assert (summary[0], screen[0]) == (200, 200), server.output[-3000:]
    assert posted[0] == 200, posted[2]
    assert refused[0] == 400
    assert guesses == [401, 401, 401]  # the throttle fails open...
    # ...and says so in the log.
    assert "walkthrough_auth_failure: throttle cache unavailable" in server.output
    assert health[0] == 503 and 2 <= int(health[1]["Retry-After"]) <= 4  # the default, jittered
    assert json.loads(health[2])["down"] == ["broker", "cache"]

    # Nothing lost, nothing half-written: the answers were stored once, the refused POST left
    # no trace (the progress row still holds the good answers).
    stored = manage(
        "shell",
        "-c",
        "from walkthrough.models import Progress; p = Progress.objects.get(); "
        "print(p.persona_answers, p.intent_bucket, Progress.objects.count())",
        env=env,
    )
    last = stored.stdout.strip().splitlines()[-1]
    assert last.startswith("{'goal': 'income', 'holdings': 'no_shares'}") and last.endswith(" 1"), stored


def _worker_rss_mb(server: Server) -> int:
    """Resident memory of the one gunicorn worker (the master's child), in MiB."""
    kids = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    status = Path(f"/proc/{kids[0]}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) // 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads worker memory from /proc")
def test_a_30_mb_post_is_refused_before_the_worker_reads_it(prod_env):
    """Issue 12 item 1, as found: one authenticated 30 MB POST used to grow a worker by ~750 MB."""
    manage(
        "shell",
        "-c",
        "from accounts.models import User; User.objects.create_user('alice', 'a@example.com', 'x-9q!Lm#pw')",
        env=prod_env,
    )
    key = manage("drf_create_token", "alice", env=prod_env).stdout.split()[2]
    with Server(prod_env) as server:
        assert (
            http("GET", server.url + "/api/paper-orders/", headers={"Authorization": f"Token {key}"})[0]
            == 200
        )
        before = _worker_rss_mb(server)
        # Headers only: the server must answer from Content-Length without waiting for a body.
        connection = http_client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", "/api/paper-orders/")
        connection.putheader("Authorization", f"Token {key}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(30 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        status, body = response.status, json.loads(response.read())
        connection.close()
        after = _worker_rss_mb(server)
    assert status == 413
    assert body == {"detail": "Request body too large: send at most 262144 bytes (256 KiB)."}
    assert after - before < 5, (before, after)
