"""Issue 12 items 1, 2, 3 and 6 in-process: body cap, outages, throttle check, headers."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.checks import run_checks
from django.test import RequestFactory
from rest_framework.test import APIClient

from config.middleware import APIBodyLimitMiddleware, BodyTooLarge, BoundedStream
from config.parsers import JSONParser

WALK = "/api/walkthrough/"
ORDERS = "/api/paper-orders/"
LEG = {"instrument": "option", "right": "call", "expiry": "2026-09-18", "quantity": 1}
LEGS = [{**LEG, "action": "buy", "strike": "500"}, {**LEG, "action": "sell", "strike": "510"}]
ORDER = {"symbol": "SPY", "strategy_type": "vertical_spread", "quantity": 1, "legs": LEGS}


def order_body(size: int) -> str:
    """A valid order body padded with an extra key to exactly `size` bytes."""
    body = json.dumps(ORDER)
    padded = body[:-1] + ', "x": "' + "y" * (size - len(body) - 9) + '"}'
    assert len(padded.encode()) == size
    return padded


@pytest.fixture
def tester(db) -> APIClient:
    from walkthrough.services import walkthrough_token_issue

    _, raw = walkthrough_token_issue(email="tess@example.com", track="full")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


class ExplodingStream(io.RawIOBase):
    """A request body nobody may read: proves a refusal happened before reading."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


# --- Item 1: body cap -----------------------------------------------------------------------


def test_a_30_mb_post_is_413_from_content_length_before_anything_is_read(alice_client, settings):
    assert settings.API_MAX_BODY_BYTES == 256 * 1024
    before = alice_client.get(ORDERS).json()["count"]
    response = alice_client.generic(
        "POST",
        ORDERS,
        content_type="application/json",
        CONTENT_LENGTH=str(30 * 1024 * 1024),
        **{"wsgi.input": ExplodingStream()},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: send at most 262144 bytes (256 KiB)."}
    assert alice_client.get(ORDERS).json()["count"] == before


@pytest.mark.parametrize("size", [256 * 1024 + 1, 300 * 1024])
def test_a_real_body_over_the_cap_is_413_and_writes_nothing(alice_client, size):
    response = alice_client.post(ORDERS, order_body(size), content_type="application/json")
    assert response.status_code == 413
    assert alice_client.get(ORDERS).json()["count"] == 0


def test_a_body_at_the_cap_is_read(alice_client, settings):
    settings.API_MAX_BODY_BYTES = 4096
    assert alice_client.post(ORDERS, order_body(4096), content_type="application/json").status_code == 201
    assert alice_client.post(ORDERS, order_body(4097), content_type="application/json").status_code == 413
    assert alice_client.get(ORDERS).json()["count"] == 1


def test_the_walkthrough_is_capped_too(tester):
    response = tester.post(WALK + "screen/1", "{" + " " * (300 * 1024) + "}", content_type="application/json")
    assert response.status_code == 413


def test_a_body_without_content_length_is_read_through_a_bounded_stream(settings):
    """Chunked bodies (no Content-Length): the read stops one byte past the cap, then 413."""
    settings.API_MAX_BODY_BYTES = 1024
    seen: dict[str, int] = {}

    def view(request):
        stream = request._stream
        assert isinstance(stream, BoundedStream)
        data = b""
        while chunk := stream.read(300):
            data += chunk
            seen["read"] = len(data)
        raise AssertionError("read past the cap")

    request = RequestFactory().post(WALK, data=b"x" * 10_000, content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request._stream = io.BytesIO(b"x" * 10_000)  # what a server hands over for a chunked body
    middleware = APIBodyLimitMiddleware(view)
    with pytest.raises(BodyTooLarge):
        middleware(request)
    assert seen["read"] <= 1024
    response = middleware.process_exception(request, BodyTooLarge())
    assert response.status_code == 413


def test_the_admin_keeps_django_s_own_limits(client, operator, settings, staff_login):
    settings.API_MAX_BODY_BYTES = 1024
    staff_login(client, operator)
    response = client.post(
        "/admin/flags/flagoverride/",
        {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "r" * 400 + " " * 2000},
    )
    assert response.status_code == 302  # a 2.4 KB admin form is fine: the API cap does not apply


@pytest.mark.parametrize(
    ("depth", "status"),
    [(3, None), (32, None), (33, 400), (900, 400), (5000, 400)],
)
def test_json_nesting_past_the_documented_limit_is_a_400(depth, status):
    body = ("[" * depth + "]" * depth).encode()
    if status is None:
        JSONParser().parse(io.BytesIO(body), "application/json", {"request": None})
    else:
        from rest_framework.exceptions import ParseError

        with pytest.raises(ParseError, match="at most 32 levels"):
            JSONParser().parse(io.BytesIO(body), "application/json", {"request": None})


def test_deep_json_over_the_api_is_a_400_json(alice_client):
    body = '{"symbol": ' + "[" * 40 + "]" * 40 + "}"
    response = alice_client.post(ORDERS, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


# --- Item 2: outages ------------------------------------------------------------------------

DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/12",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.mark.django_db
def test_a_dead_cache_fails_the_throttle_open_and_logs_an_error(tester, settings, caplog):
    settings.CACHES = DEAD_CACHE
    assert tester.get(WALK).status_code == 200  # a valid token never touches the cache
    with caplog.at_level(logging.ERROR, logger="config.throttling"):
        stranger = APIClient()
        stranger.credentials(HTTP_AUTHORIZATION="Bearer wt_" + "z" * 43)
        assert [stranger.get(WALK).status_code for _ in range(3)] == [401, 401, 401]
    assert "walkthrough_auth_failure: throttle cache unavailable" in caplog.text


@pytest.mark.django_db
def test_healthz_names_the_cache_when_it_is_down(client, settings):
    settings.CACHES = DEAD_CACHE
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["cache"] == "unavailable" and body["down"] == ["cache"] and body["database"] == "ok"
    assert 2 <= int(response["Retry-After"]) <= 4  # RETRY_AFTER_SECONDS=2, jittered up to x2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        "django.db.OperationalError",
        "kombu.exceptions.OperationalError",
        "redis.exceptions.ConnectionError",
        "redis.exceptions.TimeoutError",
    ],
)
def test_a_dependency_error_inside_a_view_is_503_with_retry_after(alice_client, monkeypatch, error):
    from django.utils.module_loading import import_string

    exc = import_string(error)

    def down(*args, **kwargs):
        raise exc("connection refused")

    monkeypatch.setattr("journal.services.paper_order_open", down)
    response = alice_client.post(ORDERS, ORDER, format="json")
    assert response.status_code == 503
    assert 2 <= int(response["Retry-After"]) <= 4  # RETRY_AFTER_SECONDS=2, jittered up to x2
    assert "Retry" in response.json()["detail"]


# --- Item 3: the throttle's cache must be shared --------------------------------------------


@pytest.mark.parametrize(
    ("debug", "backend", "processes", "warned"),
    [
        (False, "django.core.cache.backends.locmem.LocMemCache", "3", True),
        (False, "django.core.cache.backends.dummy.DummyCache", "2", True),
        (False, "django.core.cache.backends.locmem.LocMemCache", "1", False),
        (False, "django.core.cache.backends.redis.RedisCache", "3", False),
        (True, "django.core.cache.backends.locmem.LocMemCache", "3", False),
    ],
)
def test_a_per_process_throttle_cache_is_a_startup_warning(
    settings, monkeypatch, debug, backend, processes, warned
):
    settings.DEBUG = debug
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:6379/12"}}
    monkeypatch.setenv("WEB_CONCURRENCY", processes)
    ids = [message.id for message in run_checks()]
    assert ("config.W001" in ids) is warned


# --- Item 6: headers ------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_authenticated_api_response_is_no_store(alice_client, tester, set_flags, alice):
    from tests.journal.factories import LabelFactory, PaperOrderFactory

    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    label = LabelFactory(user=alice, trade=PaperOrderFactory(user=alice), journal_note="private words")
    responses = {
        "label with the note": alice_client.get(f"/api/sentiment-labels/{label.pk}/"),
        "labels": alice_client.get("/api/sentiment-labels/"),
        "orders": alice_client.get(ORDERS),
        "a 404": alice_client.get("/api/paper-orders/999999/"),
        "walkthrough": tester.get(WALK),
        "screen": tester.get(WALK + "screen/1"),
        "a 401": APIClient().get(ORDERS),
    }
    assert "private words" in responses["label with the note"].content.decode()
    assert {name: r.get("Cache-Control") for name, r in responses.items()} == dict.fromkeys(
        responses, "no-store"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/paper-orders/", "/healthz"])
def test_csp_and_permissions_policy_are_on_every_page(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert (
        "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    )


@pytest.mark.django_db
def test_swagger_ui_runs_its_start_up_script_by_nonce(client):
    response = client.get("/api/docs/")
    page = response.content.decode()
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page and f'<style nonce="{nonce}">' in page
    assert "<script>" not in page and "<style>" not in page
