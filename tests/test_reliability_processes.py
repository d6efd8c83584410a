"""Issue 12 guarantees that only hold across real processes (docs/reliability.md).

Each test starts its own gunicorn web process with exactly the environment it names, so what
is proven is what a deployment would do, not what one test process's settings allow.
"""

from __future__ import annotations

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
    assert {body for _, _, body in answers.values()} == {'{"detail":"Not found."}'}

    listed = manage("flags", "list", env={**prod_env, "FLAG_SENTIMENT_JOURNAL": "0"})
    line = next(row for row in listed.stdout.splitlines() if row.startswith("FLAG_SENTIMENT_JOURNAL"))
    assert line.split()[1:3] == ["off", "environment"]
