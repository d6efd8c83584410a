"""SPEC 0, F3: reading flags never fails a request, even while the database cannot answer."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection

from flags.services import flag_override_set
from flags.store import FlagStore

FLAG = "FLAG_SENTIMENT_JOURNAL"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def database_down():
    """Every query fails as a dropped or refused connection does (Django's execute_wrapper)."""

    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal_on(db):
    flag_override_set(name=FLAG, state="on", reason="cohort 2", actor_label="test")


def test_a_warm_store_serves_its_last_known_overrides_while_the_database_is_down(journal_on, clock, caplog):
    store = FlagStore(ttl=2, clock=clock)
    assert store.snapshot()[FLAG].enabled  # warm: read while the database answered

    clock.now += 10  # the cache has expired: the store must ask the database again
    with database_down(), caplog.at_level(logging.ERROR, logger="flags.store"):
        value = store.snapshot()[FLAG]
        clock.now += 10
        again = store.snapshot()[FLAG]
    assert (value.enabled, value.source) == (True, "database")
    assert again.enabled
    # Logged once per outage, not once per request.
    assert [r.getMessage() for r in caplog.records if r.name == "flags.store"] == [
        "flags: cannot read overrides (OperationalError); serving the last known overrides "
        "until the database answers"
    ]


def test_a_cold_store_falls_back_to_the_environment_and_the_defaults(db, clock, monkeypatch):
    monkeypatch.setenv("FLAG_STRATEGY_TEMPLATES_V2", "1")
    store = FlagStore(ttl=2, clock=clock)
    with database_down():
        snapshot = store.snapshot()
    assert (snapshot[FLAG].enabled, snapshot[FLAG].source) == (False, "default")
    assert (
        snapshot["FLAG_STRATEGY_TEMPLATES_V2"].enabled,
        snapshot["FLAG_STRATEGY_TEMPLATES_V2"].source,
    ) == (
        True,
        "environment",
    )


def test_the_store_retries_after_one_ttl_and_recovers(journal_on, clock, caplog):
    store = FlagStore(ttl=2, clock=clock)
    with database_down():
        assert not store.snapshot()[FLAG].enabled  # cold: default OFF
    # Within the TTL the fallback is served without asking the database again.
    with connection.execute_wrapper(_forbid_queries):
        assert not store.snapshot()[FLAG].enabled
    clock.now += 3
    with caplog.at_level(logging.WARNING, logger="flags.store"):
        assert store.snapshot()[FLAG].enabled  # the database answers again: its override ON
    assert "the database answers again" in caplog.text


def _forbid_queries(execute, sql, params, many, context):
    raise AssertionError(f"unexpected query: {sql}")


def test_a_gated_route_is_a_404_not_a_500_when_the_database_is_down_and_the_cache_cold(client, db):
    with database_down():
        response = client.get("/api/sentiment-taxonomy/")
    unknown = client.get("/api/no-such-route/")
    assert (response.status_code, response.content) == (404, unknown.content)
