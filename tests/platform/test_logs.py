"""The JSON log formatter (SPEC O4): one object per line, only known fields, emails masked."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from config.logs import JsonFormatter
from config.request_id import RequestIdLogFilter, bound_request_id


def _record(message: str, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("raxx.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_line_is_one_json_object_with_the_request_id():
    with bound_request_id("req-json"):
        line = JsonFormatter().format(_record("locked %d label(s)", 3, route="api/x/", status=200))

    assert "\n" not in line
    body = json.loads(line)
    assert body["message"] == "locked 3 label(s)" and body["level"] == "INFO"
    assert body["request_id"] == "req-json" and body["route"] == "api/x/" and body["status"] == 200


def test_only_known_fields_are_copied_and_emails_are_masked():
    line = JsonFormatter().format(
        _record("Key (email)=(alice@example.com) exists", journal_note="secret note")
    )

    assert "alice@example.com" not in line and "[email]" in line
    assert "secret note" not in line


def test_a_traceback_stays_on_one_line_and_is_masked():
    try:
        raise ValueError("bob@example.com is taken")
    except ValueError:
        record = logging.LogRecord("raxx.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = JsonFormatter().format(record)

    assert "\n" not in line and "bob@example.com" not in line
    assert "ValueError" in json.loads(line)["exc"]


NOTE = "SENTINEL-NOTE-7f3a9c"
EMAIL = "sentinel.tester@example.com"
QUERY_SECRET = "SENTINELQS42"


@pytest.fixture
def every_log_line():
    """Every record any logger emits (DEBUG and up), formatted as the console handler does."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(saved)


@pytest.mark.django_db
def test_no_note_token_email_or_query_string_reaches_any_log_line(every_log_line, alice, set_flags):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create
    from journal.tasks import lock_post_labels
    from tests.journal.factories import CONDOR_LEGS
    from walkthrough.services import walkthrough_token_issue

    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    key = api_key_create(user=alice)
    _progress, token = walkthrough_token_issue(email=EMAIL)
    journal, tester = APIClient(), APIClient()
    journal.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    tester.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    order = journal.post(
        f"/api/paper-orders/?token={QUERY_SECRET}",
        {"symbol": "SPY", "strategy_type": "iron_condor", "quantity": 1, "legs": CONDOR_LEGS},
        format="json",
        HTTP_IDEMPOTENCY_KEY="log-hunt",
    ).json()
    journal.post("/api/sentiment-labels/", {"trade_id": order["id"], "journal_note": NOTE}, format="json")
    journal.post(
        "/api/sentiment-labels/", {"trade_id": order["id"], "journal_note": NOTE}, format="json"
    )  # 409
    journal.get(f"/api/sentiment-labels/?email={EMAIL}")  # a 400 that must not echo into logs
    tester.get(f"/api/walkthrough/?access_token={QUERY_SECRET}")
    tester.post("/api/walkthrough/screen/1", {"answers": {"goal": NOTE}}, format="json")  # 400
    APIClient().get("/api/walkthrough/", HTTP_AUTHORIZATION=f"Bearer {token}x")  # bad token: 401
    lock_post_labels.apply()

    assert any('"route": "api/paper-orders/"' in line for line in every_log_line)  # lines were caught
    for line in every_log_line:
        json.loads(line)
        for secret in (NOTE, EMAIL, token, key, QUERY_SECRET):
            assert secret not in line, (secret, line)


def test_a_real_web_process_writes_only_json_lines_without_query_strings(tmp_path):
    from tests.processes import PROD_ENV, Server, http, manage

    env = {
        **PROD_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECURE_SSL_REDIRECT": "0",
    }
    assert manage("migrate", "--noinput", env=env).returncode == 0
    with Server(env) as server:
        http(
            "GET",
            f"{server.url}/api/walkthrough/?access_token={QUERY_SECRET}",
            headers={"X-Request-ID": "req-proc"},
        )
    lines = [line for line in server.output.splitlines() if line.strip()]

    parsed = [json.loads(line) for line in lines]  # every line, gunicorn's own included
    assert any(
        line.get("request_id") == "req-proc" and line.get("route") == "api/walkthrough/" for line in parsed
    )
    assert not any(QUERY_SECRET in line for line in lines)
