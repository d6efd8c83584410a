"""SPEC P5: failed API keys throttled per address; writes limited per key and per tester."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.services import api_key_create
from tests.factories import UserFactory
from walkthrough.services import walkthrough_token_issue

ORDERS = "/api/paper-orders/"
# One fixed instant inside a minute window: counts never straddle a window's turn.
INSTANT = dt.datetime(2026, 7, 1, 9, 0, 5, tzinfo=dt.UTC)
LEG = {"instrument": "option", "right": "call", "expiry": "2026-09-18", "quantity": 1}
ORDER = {
    "symbol": "SPY",
    "strategy_type": "vertical_spread",
    "quantity": 1,
    "legs": [{**LEG, "action": "buy", "strike": "500"}, {**LEG, "action": "sell", "strike": "510"}],
}


@pytest.fixture
def frozen():
    with time_machine.travel(INSTANT, tick=False) as traveller:
        yield traveller


def set_rate(settings, **rates: str) -> None:
    framework = settings.REST_FRAMEWORK
    merged = {**framework["DEFAULT_THROTTLE_RATES"], **rates}
    settings.REST_FRAMEWORK = {**framework, "DEFAULT_THROTTLE_RATES": merged}


def key_client(key: str, address: str = "203.0.113.7") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- failed API keys --------------------------------------------------------------------------


def test_thirty_random_keys_from_one_address_end_in_429_while_a_valid_key_passes(alice, frozen):
    valid = key_client(api_key_create(user=alice))
    statuses = [key_client(secrets.token_hex(32)).get(ORDERS).status_code for _ in range(30)]
    assert statuses == [401] * 20 + [429] * 10  # API_KEY_FAILURE_RATE, 20/min by default
    refused = key_client(secrets.token_hex(32)).get(ORDERS)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled")
    # Only failures count and only failures are refused: the valid key from that address passes.
    assert [valid.get(ORDERS).status_code for _ in range(25)] == [200] * 25
    # Another address is not affected; the next window starts afresh.
    assert key_client(secrets.token_hex(32), address="198.51.100.9").get(ORDERS).status_code == 401
    frozen.shift(dt.timedelta(minutes=1))
    assert key_client(secrets.token_hex(32)).get(ORDERS).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Token " + "0" * 64,  # well formed, unknown
        "Token not-a-key",  # malformed
        "Token " + "a" * 40,  # the old DRF length, unknown
    ],
)
def test_every_kind_of_failed_key_counts(db, frozen, settings, header):
    set_rate(settings, api_key_failure="2/min")
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    statuses = [client.get(ORDERS, HTTP_AUTHORIZATION=header).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_an_expired_key_counts_as_a_failure_too(alice, frozen, settings):
    set_rate(settings, api_key_failure="1/min")
    key = api_key_create(user=alice)
    frozen.shift(dt.timedelta(days=settings.API_KEY_TTL_DAYS + 1))
    assert [key_client(key).get(ORDERS).status_code for _ in range(2)] == [401, 429]


# --- writes per key and per tester -------------------------------------------------------------


def test_writes_are_limited_per_key_with_retry_after_and_reads_are_not(alice, frozen):
    first, second = api_key_create(user=alice), api_key_create(user=alice)
    client = key_client(first)
    statuses = [client.post(ORDERS, ORDER, format="json").status_code for _ in range(31)]
    assert statuses == [201] * 30 + [429]  # API_WRITE_RATE, 30/min by default
    refused = client.post(ORDERS, ORDER, format="json")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert client.get(ORDERS).status_code == 200  # reads are not limited
    # Per key: alice's other key and bob's key write on.
    assert key_client(second).post(ORDERS, ORDER, format="json").status_code == 201
    bob = UserFactory(username="bob2", email="bob2@example.com")
    assert key_client(api_key_create(user=bob)).post(ORDERS, ORDER, format="json").status_code == 201
    frozen.shift(dt.timedelta(minutes=1))
    assert client.post(ORDERS, ORDER, format="json").status_code == 201


def test_walkthrough_writes_are_limited_per_tester(db, frozen):
    def tester(email: str) -> APIClient:
        _, raw = walkthrough_token_issue(email=email)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    tess, toby = tester("tess@example.com"), tester("toby@example.com")
    answers = {"answers": {"goal": "income", "holdings": "no_shares"}}
    statuses = [tess.post("/api/walkthrough/screen/1", answers, format="json").status_code for _ in range(31)]
    assert 429 not in statuses[:30] and statuses[30] == 429  # WALKTHROUGH_WRITE_RATE, 30/min
    assert tess.get("/api/walkthrough/").status_code == 200
    assert toby.post("/api/walkthrough/screen/1", answers, format="json").status_code == 200
