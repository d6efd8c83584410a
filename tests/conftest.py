"""Root fixtures: the actors, in-memory flags, services.

Actors, one definition each: `alice` owns, `bob` is a stranger (`alice_client`, `bob_client`:
API-key clients), `anon_client` is anonymous; in the back office `operator` (a superuser,
`admin_client` its session) and `analyst` (the read-only group, `analyst_client`), both with
the second factor verified (`staff_login`).
"""

from __future__ import annotations

import importlib
import os
import shutil

import pytest
from django.apps import apps as django_apps
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


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    """Every test's /healthz sees a process that just started: a long suite run must not make
    a database whose lock sweep never ran look like a deploy whose beat never started."""
    import time

    monkeypatch.setattr("config.views.PROCESS_STARTED", time.monotonic())


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Rate-limit counters live in the cache (config/throttling.py): no test inherits another's
    failed keys or writes."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _migration_data(request):
    """What data migrations write (taxonomy v1, the Analyst group and its view permissions),
    back for every database test: a transactional test's flush (the browser and process
    tests) empties every table, and pytest-django may run one before any other test."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("transactional_db" if marker and marker.kwargs.get("transaction") else "db")
    from django.contrib.auth.models import Group

    from accounts.services import ANALYST_GROUP
    from tests.factories import MigrationEditor
    from tests.journal.factories import seed_taxonomy_v1

    seed_taxonomy_v1()
    if not Group.objects.filter(name=ANALYST_GROUP, permissions__isnull=False).exists():
        importlib.import_module("accounts.migrations.0003_i10_analyst_permissions").sync(
            django_apps, MigrationEditor
        )


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
    """A back-office superuser: invites testers, issues tokens, overrides flags."""
    from tests.factories import UserFactory

    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_login(db):
    """`staff_login(client, user)`: logged in with a verified second factor (tests/second_factor.py)."""
    from tests.second_factor import staff_login as login

    return login


@pytest.fixture
def admin_client(operator, staff_login) -> Client:
    """The operator's admin session, second factor verified (shadows pytest-django's)."""
    return staff_login(Client(), operator)


@pytest.fixture
def analyst(db):
    """A staff user in the read-only Analyst group (SPEC A4): views everything, changes nothing."""
    from django.contrib.auth.models import Group

    from accounts.services import ANALYST_GROUP
    from tests.factories import MigrationEditor, UserFactory

    # The group and its permissions as the migration makes them: a transactional test (the
    # browser tests) flushed what the migration wrote.
    if not Group.objects.filter(name=ANALYST_GROUP, permissions__isnull=False).exists():
        sync = importlib.import_module("accounts.migrations.0003_i10_analyst_permissions").sync
        sync(django_apps, MigrationEditor)
    user = UserFactory(username="ana", is_staff=True)
    user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    return user


@pytest.fixture
def analyst_client(analyst, staff_login) -> Client:
    """The analyst's admin session, second factor verified."""
    return staff_login(Client(), analyst)


@pytest.fixture
def signed_off_copy(operator):
    """The current walkthrough copy signed off (SPEC W16): inviting testers is refused without it.

    Written straight to the table, so tests that count change-log entries see only their own."""
    from walkthrough import scenarios
    from walkthrough.models import CopySignoff

    return CopySignoff.objects.create(
        copy_version=scenarios.copy_version(),
        copy_digest=scenarios.copy_digest(),
        operator=operator,
        operator_label=operator.get_username(),
        note="Reviewed against the checklist (tests).",
    )


def pytest_configure(config):
    from django.conf import settings

    # Factories set real passwords; a fast hasher keeps the suite quick (hashing is Django's job).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
