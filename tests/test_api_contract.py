"""One API contract (issue 10, SPEC 0, F5): routes, error bodies and flag-off invisibility."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token

from journal.models import PaperOrder
from tests.rawhttp import raw_call
from walkthrough.services import walkthrough_token_issue

ALL_ON = {
    "FLAG_WALKTHROUGH_PERSONA_ROUTING": True,
    "FLAG_BETA_WALKTHROUGH_SELF_SELECT": True,
    "FLAG_SENTIMENT_JOURNAL": True,
    "FLAG_STRATEGY_TEMPLATES_V2": True,
}
ALL_OFF = dict.fromkeys(ALL_ON, False)

GATED = [
    "/api/sentiment-labels/",
    "/api/sentiment-labels",
    "/api/sentiment-labels/1/",
    "/api/sentiment-labels/1",
    "/api/sentiment-labels/backtest-filter/",
    "/api/sentiment-labels/backtest-filter",
    "/api/sentiment-taxonomy/",
    "/api/sentiment-taxonomy",
    "/api/walkthrough/screen/simple/1",
    "/api/walkthrough/screen/simple/1/",
]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@pytest.fixture
def credential_headers(alice):
    """Every way a client might knock: nothing, a real key, a real tester token, garbage, a session."""
    key = Token.objects.create(user=alice).key
    _, tester = walkthrough_token_issue(email="tess@example.com", track="self_select")
    session = SessionStore()
    session[SESSION_KEY] = str(alice.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = alice.get_session_auth_hash()
    session.save()
    return {
        "none": {},
        "token": {"Authorization": f"Token {key}"},
        "bearer": {"Authorization": f"Bearer {tester}"},
        "garbage": {"Authorization": "Token nope"},
        "session": {"Cookie": f"sessionid={session.session_key}"},
    }


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", GATED)
def test_flag_off_route_is_byte_for_byte_an_unknown_url(settings, set_flags, credential_headers, path, debug):
    settings.DEBUG = debug
    set_flags(**ALL_OFF)
    unknown = "/api/no-such-route/" if path.endswith("/") else "/api/no-such-route"
    for method in METHODS:
        for who, headers in credential_headers.items():
            body = b"{}" if method in {"POST", "PUT", "PATCH"} else b""
            gated = raw_call(method, path, headers=headers, body=body)
            missing = raw_call(method, unknown, headers=headers, body=body)
            assert gated == missing, (method, who, gated, missing)
            assert gated.startswith(b"404 Not Found\r\n"), gated
            if method != "HEAD":
                assert gated.endswith(b'{"detail": "Not found."}'), gated


def test_flag_on_route_answers(set_flags, credential_headers):
    """The comparison above is not vacuous: with the flags on the same requests reach the views."""
    set_flags(**ALL_ON)
    response = raw_call("GET", "/api/sentiment-taxonomy/", headers=credential_headers["token"])
    assert response.startswith(b"200 OK\r\n")


SLASH_PAIRS = [
    ("GET", "/api/paper-orders/", "/api/paper-orders"),
    ("GET", "/api/walkthrough/", "/api/walkthrough"),
    ("GET", "/api/walkthrough/screen/1", "/api/walkthrough/screen/1/"),
    ("GET", "/api/sentiment-taxonomy/", "/api/sentiment-taxonomy"),
    ("GET", "/api/sentiment-labels/backtest-filter/", "/api/sentiment-labels/backtest-filter"),
]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(("method", "path", "twin"), SLASH_PAIRS)
def test_every_route_answers_with_and_without_a_trailing_slash(
    settings, set_flags, credential_headers, debug, method, path, twin
):
    settings.DEBUG = debug
    set_flags(**ALL_ON)
    headers = credential_headers["bearer" if "walkthrough" in path else "token"]
    assert raw_call(method, path, headers=headers) == raw_call(method, twin, headers=headers)
    assert raw_call(method, path, headers=headers).startswith(b"200 OK\r\n")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", ["/api/paper-orders", "/api/paper-orders/"])
def test_posting_without_a_slash_creates_the_order_in_every_mode(settings, alice_client, debug, path):
    """Was a 500 in DEBUG (APPEND_SLASH cannot redirect a POST) and a redirect otherwise."""
    settings.DEBUG = debug
    legs = [
        {
            "action": "buy",
            "instrument": "equity",
            "right": None,
            "strike": None,
            "expiry": None,
            "quantity": 100,
        },
        {
            "action": "sell",
            "instrument": "option",
            "right": "call",
            "strike": "150",
            "expiry": "2026-08-21",
            "quantity": 1,
        },
    ]
    body = {"symbol": "AAPL", "strategy_type": "covered_call", "quantity": 1, "legs": legs}
    response = alice_client.post(path, body, format="json")
    assert response.status_code == 201, response.content
    assert PaperOrder.objects.count() == 1


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    ("method", "path", "accept", "status"),
    [
        ("GET", "/api/walkthrough/screen/9/", "text/html", 404),
        ("GET", "/api/nothing", "text/html", 404),
        ("GET", "/api/paper-orders/abc/", "text/html", 404),
        ("PUT", "/api/paper-orders/", "text/html", 405),
        ("DELETE", "/api/walkthrough/screen/1", "text/html", 405),
        ("POST", "/api/schema/", "*/*", 405),
        ("POST", "/api/paper-orders/", "text/html", 400),
    ],
)
def test_api_errors_are_json_in_every_mode(settings, alice, debug, method, path, accept, status):
    settings.DEBUG = debug
    key = Token.objects.create(user=alice).key
    _, tester = walkthrough_token_issue(email="tess@example.com", track="full")
    auth = f"Bearer {tester}" if "walkthrough" in path else f"Token {key}"
    raw = raw_call(
        method,
        path,
        headers={"Authorization": auth, "Accept": accept},
        body=b"" if method != "POST" else b"{}",
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(str(status).encode()), raw
    assert b"Content-Type: application/json" in head, raw
    assert isinstance(json.loads(body), dict)
