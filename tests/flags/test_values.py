"""SPEC F2–F4, F7: precedence, caching, the kill switch, one snapshot per request."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from flags.middleware import FlagSnapshotMiddleware
from flags.models import FlagAudit, FlagOverride
from flags.services import flag_override_set
from flags.store import FlagStore, current_snapshot, is_enabled, override_flags, store

FLAG = "FLAG_SENTIMENT_JOURNAL"


def _override(state: str) -> None:
    flag_override_set(name=FLAG, state=state, reason="test", actor_label="test")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("db_state", "env", "expected", "source", "held_off"),
    [
        # Neither source says anything: the registry default.
        (None, None, False, "default", False),
        # One source: it decides.
        (None, "1", True, "environment", False),
        (None, "off", False, "environment", False),
        ("on", None, True, "database", False),
        ("off", None, False, "database", False),
        # SPEC F2, OFF wins: an explicit OFF from either source beats an ON from the other.
        ("off", "1", False, "database", False),
        ("on", "0", False, "environment", True),  # the ADRs' kill switch under an operator's ON
        ("on", "FALSE", False, "environment", True),
        ("off", "0", False, "environment", False),
        # ON needs an explicit ON and no OFF anywhere.
        ("on", "1", True, "database", False),
    ],
)
def test_off_wins_then_on_then_default(monkeypatch, db_state, env, expected, source, held_off):
    if env is not None:
        monkeypatch.setenv(FLAG, env)
    if db_state is not None:
        _override(db_state)
    value = current_snapshot()[FLAG]
    assert (value.enabled, value.source, value.held_off_by_environment) == (expected, source, held_off)


@pytest.mark.django_db
def test_the_audit_records_what_decided_after_each_change(monkeypatch):
    monkeypatch.setenv(FLAG, "0")
    _override("on")
    monkeypatch.delenv(FLAG)
    _override("off")
    _override("unset")
    rows = list(FlagAudit.objects.order_by("id").values_list("new_value", "effective_value", "decided_by"))
    assert rows == [("on", "off", "environment"), ("off", "off", "database"), ("unset", "off", "default")]


@pytest.mark.django_db
def test_test_override_beats_everything_and_writes_nothing(monkeypatch):
    monkeypatch.setenv(FLAG, "0")
    _override("off")
    with override_flags(**{FLAG: True}):
        assert current_snapshot()[FLAG].source == "test"
        assert is_enabled(FLAG)
    assert not is_enabled(FLAG)
    assert FlagOverride.objects.get(name=FLAG).enabled is False


@pytest.mark.django_db
def test_set_flags_fixture_is_undone_after_use(set_flags):
    set_flags(**{FLAG: True})
    assert is_enabled(FLAG)


@pytest.mark.django_db
def test_previous_test_left_no_flag_behind():
    # Runs after test_set_flags_fixture_is_undone_after_use in file order.
    assert not is_enabled(FLAG)


@pytest.mark.django_db
def test_clearing_an_override_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv(FLAG, "1")
    _override("off")
    assert not is_enabled(FLAG)
    _override("unset")
    assert current_snapshot()[FLAG].source == "environment"
    assert is_enabled(FLAG)
    assert list(FlagAudit.objects.order_by("id").values_list("old_value", "new_value")) == [
        ("unset", "off"),
        ("off", "unset"),
    ]


@pytest.mark.usefixtures("flags_stay_cached")
def test_warm_cache_costs_no_query_per_request(db, django_assert_num_queries):
    middleware = FlagSnapshotMiddleware(lambda request: HttpResponse(str(request.flags.is_enabled(FLAG))))
    with django_assert_num_queries(1):  # cold: one read of the override table
        middleware(RequestFactory().get("/"))
    with django_assert_num_queries(0):
        for _ in range(20):
            response = middleware(RequestFactory().get("/"))
            assert response.content == b"False"


def test_request_without_flag_use_costs_nothing_even_cold(db, django_assert_num_queries):
    middleware = FlagSnapshotMiddleware(lambda request: HttpResponse("static"))
    with django_assert_num_queries(0):
        middleware(RequestFactory().get("/"))


@pytest.mark.django_db
def test_one_request_sees_one_snapshot_even_if_the_flag_flips_mid_request():
    seen = []

    def view(request):
        seen.append(request.flags.is_enabled(FLAG))
        _override("on")  # an operator flips it while this request runs
        store.invalidate()
        seen.append(request.flags.is_enabled(FLAG))
        return HttpResponse()

    FlagSnapshotMiddleware(view)(RequestFactory().get("/"))
    assert seen == [False, False]
    assert is_enabled(FLAG)  # the next read sees the flip


@pytest.mark.django_db(transaction=True)
def test_override_reaches_another_process_cache_within_five_seconds(settings):
    """Two stores stand for two processes; each has its own cache and clock."""
    assert settings.FLAGS_CACHE_SECONDS <= 5
    now = {"t": 0.0}
    other_process = FlagStore(clock=lambda: now["t"])
    assert other_process.snapshot().is_enabled(FLAG) is False  # warm, cached

    _override("on")  # written by "this" process
    assert is_enabled(FLAG) is True  # this process invalidated its own cache on commit

    now["t"] = settings.FLAGS_CACHE_SECONDS - 0.01
    assert other_process.snapshot().is_enabled(FLAG) is False  # still inside its TTL
    now["t"] = settings.FLAGS_CACHE_SECONDS
    assert other_process.snapshot().is_enabled(FLAG) is True  # picked up, no restart


@pytest.mark.django_db
def test_flags_are_read_without_a_request_for_celery_tasks():
    _override("on")
    assert is_enabled(FLAG) is True
    assert is_enabled(FLAG, request=None) is True


@pytest.mark.usefixtures("flags_stay_cached")
def test_a_real_gated_request_costs_no_query_on_a_warm_cache(client, db, django_assert_num_queries):
    client.get("/api/sentiment-labels/")  # warms the cache
    with django_assert_num_queries(0):
        response = client.get("/api/sentiment-labels/")
    assert response.status_code == 404  # the journal flag is off by default
