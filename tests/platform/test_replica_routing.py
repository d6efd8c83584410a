"""Read replica routing (SPEC O2), in process: a `replica` alias on the test database.

The alias is a mirror of the test database (Django's TEST MIRROR), reached over its own
connection, so these tests commit their rows (`transaction=True`) and tell the two apart by the
queries each connection ran. tests/platform/test_replica_streaming.py proves the same against a real
streaming replica with paused replay (CI).
"""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config import replica
from config.replica import PRIMARY, REPLICA, ReplicaRouter, request_scope
from tests.journal.factories import PaperOrderFactory
from tests.pgcluster import free_port
from tests.walkthrough.factories import ProgressFactory
from walkthrough.models import Progress

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=[PRIMARY, REPLICA])]
FUNNEL = "/admin/walkthrough/progress/cohort/"
ANALYST_READS = [
    FUNNEL,  # the snapshot
    FUNNEL + "?start=2020-01-01",  # live numbers for a range
    FUNNEL + "?format=csv",  # its export
    "/admin/walkthrough/progress/",
    "/admin/walkthrough/screenevent/",
    "/admin/journal/paperorder/",
]


def _add_alias(settings_dict: dict) -> None:
    connections.settings[REPLICA] = settings_dict


def _drop_alias() -> None:
    if hasattr(connections._connections, REPLICA):
        connections[REPLICA].close()
        delattr(connections._connections, REPLICA)
    connections.settings.pop(REPLICA, None)


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup):
    """`replica` as a mirror of the test database, as the test runner makes it of
    DATABASE_REPLICA_URL; there before each test declares the databases it uses."""
    _add_alias({**connections[PRIMARY].settings_dict, "TEST": {"MIRROR": PRIMARY}})
    yield
    _drop_alias()


@pytest.fixture
def mirror(monkeypatch, settings):
    monkeypatch.setattr(replica, "_failed_at", None)
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 30
    return connections[REPLICA]


@pytest.fixture
def unreachable(monkeypatch):
    """`replica` pointing at a port nobody listens on, for one test."""
    monkeypatch.setattr(replica, "_failed_at", None)
    mirrored = connections.settings[REPLICA]
    _drop_alias()
    _add_alias({**mirrored, "HOST": "127.0.0.1", "PORT": str(free_port())})
    yield
    _drop_alias()
    _add_alias(mirrored)


def _get(client: Client, url: str):
    with (
        CaptureQueriesContext(connections[PRIMARY]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        response = client.get(url)
    return response, primary, standby


def _tables(captured) -> str:
    return " ".join(query["sql"] for query in captured.captured_queries)


@pytest.mark.parametrize("url", ANALYST_READS)
def test_an_analysts_pages_read_the_replica(mirror, admin_client, url):
    ProgressFactory.create_batch(3)
    PaperOrderFactory()
    response, primary, standby = _get(admin_client, url)
    assert response.status_code == 200
    # The page's rows came from the replica; the primary saw only the session and the user.
    table = {
        "progress": "beta_walkthrough_",
        "screenevent": "beta_walkthrough_",
        "paperorder": "paper_orders",
    }
    expected = next((name for key, name in table.items() if key in url), "beta_walkthrough_")
    assert expected in _tables(standby)
    assert expected not in _tables(primary)
    if url.startswith(FUNNEL) and "csv" not in url:
        assert "Read from the replica: replay lag 0.0 s." in response.content.decode()


def test_the_dropoff_csv_streams_its_testers_from_the_replica(mirror, admin_client):
    """The list's rows are read while the body streams, after the view returned: still the
    replica (the change-log write of the export goes to the primary)."""
    ProgressFactory.create_batch(3, intent_bucket="income", current_screen=1)  # issued, door unanswered
    with (
        CaptureQueriesContext(connections[PRIMARY]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        response = admin_client.get(FUNNEL + "dropoff/", {"group": "*|*", "stopped": "issued"})
        body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert len(body.strip().splitlines()) == 1 + 3, body
    assert "beta_walkthrough_progress" in _tables(standby)
    assert "beta_walkthrough_progress" not in _tables(primary)
    assert "audit_" in _tables(primary)


def test_the_api_and_the_flags_page_use_the_primary(mirror, admin_client, alice_client):
    response, _, standby = _get(alice_client, "/api/paper-orders/")
    assert response.status_code == 200
    response, _, standby_flags = _get(admin_client, "/admin/flags/flagoverride/")
    assert response.status_code in (200, 302)
    assert not standby.captured_queries
    assert not standby_flags.captured_queries


@pytest.mark.usefixtures("signed_off_copy")  # SPEC W16: no token is issued before the sign-off
def test_a_changelist_post_writes_and_reads_on_the_primary(mirror, admin_client):
    progress = ProgressFactory()
    with (
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        response = admin_client.post(
            "/admin/walkthrough/progress/",
            {"action": "issue_new_token", "_selected_action": [progress.pk]},
        )
    assert response.status_code == 200
    assert "New walkthrough tokens" in response.content.decode()
    assert not standby.captured_queries


def test_reads_after_a_write_or_inside_a_transaction_use_the_primary(mirror):
    router = ReplicaRouter()
    with request_scope(analyst=True):
        assert router.db_for_read(Progress) == REPLICA
        with transaction.atomic():
            assert router.db_for_read(Progress) == PRIMARY
        assert router.db_for_read(Progress) == REPLICA
        ProgressFactory()  # a write in the same request
        assert router.db_for_read(Progress) == PRIMARY
        assert replica.read_status().text == "Read from the primary: this request wrote to the primary."
    with request_scope(analyst=False):  # not an analyst's read: a tester's or a task's
        assert router.db_for_read(Progress) == PRIMARY
    assert router.db_for_read(Progress) == PRIMARY  # outside any request


def test_a_replica_too_far_behind_is_not_read(mirror, admin_client, monkeypatch):
    ProgressFactory()
    monkeypatch.setattr(replica, "_measure_lag", lambda: 45.0)
    response, primary, standby = _get(admin_client, FUNNEL + "?start=2020-01-01")
    assert response.status_code == 200
    assert "beta_walkthrough_" in _tables(primary)
    assert not standby.captured_queries
    assert "the replica&#x27;s replay lag is 45.0 s, more than 30 s" in response.content.decode()


def test_an_unreachable_replica_falls_back_to_the_primary(unreachable, admin_client):
    ProgressFactory.create_batch(2)
    response = admin_client.get(FUNNEL + "?start=2020-01-01")
    assert response.status_code == 200
    assert "Read from the primary: the replica is unreachable." in response.content.decode()
    # The next page does not wait for another connect timeout.
    response = admin_client.get(FUNNEL + "?start=2020-01-01")
    assert "Read from the primary: the replica did not answer a moment ago." in response.content.decode()


def test_a_streamed_export_reads_the_replica_while_it_streams(mirror):
    ProgressFactory.create_batch(3)
    rows = (progress.tester_email for progress in Progress.objects.order_by("pk").iterator())
    with (
        CaptureQueriesContext(connections[PRIMARY]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        emails = list(replica.analyst_stream(rows))
    assert len(emails) == 3
    assert "beta_walkthrough_progress" in _tables(standby)
    assert "beta_walkthrough_progress" not in _tables(primary)
