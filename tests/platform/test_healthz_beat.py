"""/healthz names beat once the lock sweep has not succeeded for three intervals (SPEC O4)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from journal.services import labels_lock_due

pytestmark = pytest.mark.django_db

SWEPT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def interval(settings):
    settings.JOURNAL_LOCK_INTERVAL_SECONDS = 300
    return dt.timedelta(seconds=300)


@pytest.mark.parametrize(
    ("since_last_sweep", "status", "beat"),
    [
        (dt.timedelta(0), 200, "ok"),
        (dt.timedelta(seconds=899), 200, "ok"),  # two sweeps missed, the third not yet due
        (dt.timedelta(seconds=901), 503, "behind"),
        (dt.timedelta(days=2), 503, "behind"),
    ],
)
def test_healthz_names_beat_when_three_sweeps_were_missed(client, interval, since_last_sweep, status, beat):
    with time_machine.travel(SWEPT, tick=False):
        labels_lock_due()
    with time_machine.travel(SWEPT + since_last_sweep, tick=False):
        response = client.get("/healthz")

    assert response.status_code == status
    body = response.json()
    assert body["beat"] == beat
    assert body["beat_last_success"] == SWEPT.isoformat()
    assert (body.get("down") == ["beat"]) is (status == 503)


def test_a_sweep_puts_healthz_back_to_200(client, interval):
    with time_machine.travel(SWEPT, tick=False):
        labels_lock_due()
    with time_machine.travel(SWEPT + 4 * interval, tick=False):
        assert client.get("/healthz").status_code == 503
        labels_lock_due()
        assert client.get("/healthz").status_code == 200


def test_a_fresh_deploy_is_healthy_before_its_first_sweep_then_names_beat(client, interval, monkeypatch):
    """No sweep has ever run: the process's own age stands in for the last success."""
    import time

    assert client.get("/healthz").json()["beat"] == "ok"
    monkeypatch.setattr("config.views.PROCESS_STARTED", time.monotonic() - 3 * 300 - 1)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["beat"] and response.json()["beat_last_success"] is None


def test_with_the_database_down_beat_is_not_blamed(client, interval, monkeypatch):
    from django.db import OperationalError

    class DownDatabase:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("config.views.connection", DownDatabase())
    body = client.get("/healthz").json()

    assert body["down"] == ["database"] and "beat" not in body


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_keeps_healthz_at_200_and_once_it_stops_healthz_names_it(client, settings):
    """Beat and a worker in a real process sweep every second; stopped, three seconds later
    /healthz (in this process, judging by the shared database alone) names beat."""
    import time

    from tests.workers import celery_worker

    settings.JOURNAL_LOCK_INTERVAL_SECONDS = 1
    with celery_worker(name="healthz-beat", beat=True, env={"JOURNAL_LOCK_INTERVAL_SECONDS": "1"}) as worker:
        swept = worker.wait_for(lambda: client.get("/healthz").json().get("beat_last_success") is not None)
        output = worker.output()
        assert swept, output
        assert client.get("/healthz").status_code == 200
    stopped_at = time.monotonic()

    while time.monotonic() < stopped_at + 20 and client.get("/healthz").status_code == 200:
        time.sleep(0.5)
    response = client.get("/healthz")

    assert response.status_code == 503, response.json()
    assert response.json()["down"] == ["beat"]
    last = dt.datetime.fromisoformat(response.json()["beat_last_success"])
    assert timezone.now() - last > dt.timedelta(seconds=3)  # three sweeps really were missed
