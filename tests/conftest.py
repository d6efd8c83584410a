"""Root fixtures: actors (alice owns, bob is a stranger, anonymous), in-memory flags, services."""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from flags.store import override_flags, store
from journal.compliance import find_banned

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _unavailable(reason: str):
    # In CI the services exist; a skip there would hide a missing install, so it fails instead.
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_flags(monkeypatch):
    """Every test starts from registry defaults: no FLAG_* env leaks in, no cached overrides."""
    for key in list(os.environ):
        if key.startswith("FLAG_"):
            monkeypatch.delenv(key)
    store.invalidate()
    yield
    store.invalidate()


@pytest.fixture
def flags_stay_cached(settings):
    """For tests that warm the flag cache and then count queries: the 2 s production TTL
    would let a stalled machine count one more query (the override table re-read)."""
    settings.FLAGS_CACHE_SECONDS = 3600


@pytest.fixture
def set_flags():
    """`set_flags(FLAG_SENTIMENT_JOURNAL=True)`: in memory, undone after the test (SPEC F7)."""
    stack = []

    def _set(**values: bool) -> None:
        ctx = override_flags(**values)
        ctx.__enter__()
        stack.append(ctx)

    yield _set
    while stack:
        stack.pop().__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _scan_api_responses(monkeypatch):
    """SPEC J9: no API output anywhere in the suite uses forward-looking framing.

    Wraps Django's test Client (DRF's APIClient goes through it too) and scans every JSON
    response: screens, labels, errors, the OpenAPI schema. HTML admin pages are operator
    tooling with Django's own wording, so they are not part of the scan.
    """
    seen: list[tuple[str, list[str]]] = []
    original = Client.request

    def request(self, **kwargs):
        response = original(self, **kwargs)
        is_json = "json" in response.get("Content-Type", "") and not getattr(response, "streaming", False)
        if is_json and (hits := find_banned(response.content.decode("utf-8", errors="replace"))):
            seen.append((kwargs.get("PATH_INFO", "?"), hits))
        return response

    monkeypatch.setattr(Client, "request", request)
    yield
    assert not seen, f"forward-looking phrases in API responses: {seen}"


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _unavailable("PostgreSQL (set DATABASE_URL=postgres://...)")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _unavailable("Redis (set REDIS_URL=redis://...)")
    if request.node.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        if REQUIRE_BROWSER:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")


def _client_for(user) -> APIClient:
    client = APIClient()
    from accounts.services import api_key_create

    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_create(user=user)}")
    return client


@pytest.fixture
def alice(db):
    from tests.factories import UserFactory

    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    from tests.factories import UserFactory

    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def alice_client(alice) -> APIClient:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob) -> APIClient:
    return _client_for(bob)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def operator(db):
    from tests.factories import UserFactory

    return UserFactory(username="operator", is_staff=True, is_superuser=True)


def pytest_configure(config):
    from django.conf import settings

    # Factories set real passwords; a fast hasher keeps the suite quick (hashing is Django's job).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
