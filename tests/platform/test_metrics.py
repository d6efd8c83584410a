"""Prometheus metrics at /metrics (SPEC O4): behind METRICS_TOKEN, parsed with
prometheus_client's own parser, and summed over every worker of a real multi-worker gunicorn."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import PROD_ENV, Server, http, manage

TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    parsed = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def value(parsed: dict, name: str, **labels) -> float | None:
    return parsed.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "headers", "status"),
    [
        ("", {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, 404),  # no token set: no /metrics at all
        (TOKEN, {}, 401),
        (TOKEN, {"HTTP_AUTHORIZATION": "Bearer wrong-token-0123456789"}, 401),
        (TOKEN, {"HTTP_AUTHORIZATION": TOKEN}, 401),  # the scheme is part of it
        (TOKEN, {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, 200),
    ],
)
def test_metrics_need_the_bearer_token(client, settings, token, headers, status):
    settings.METRICS_TOKEN = token
    response = client.get("/metrics", **headers)

    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


@pytest.mark.django_db
def test_requests_are_counted_and_timed_per_url_pattern_not_per_path(client, alice_client, metrics_on):
    alice_client.get("/api/paper-orders/12345/")
    alice_client.get("/api/paper-orders/67890/?secret=1")
    parsed = samples(client.get("/metrics", **metrics_on).content.decode())

    route = "api/paper-orders/{pk}/"
    assert value(parsed, "raxx_http_responses_total", method="GET", route=route, status="404") >= 2
    assert value(parsed, "raxx_http_request_duration_seconds_count", method="GET", route=route) >= 2
    assert not any("12345" in str(labels) or "secret" in str(labels) for _, labels in parsed)


@pytest.mark.django_db
def test_throttle_rejections_and_flag_decisions_are_counted(client, metrics_on, set_flags):
    from django.core.cache import cache

    cache.clear()
    for _ in range(25):  # past the failed-token rate (20/min): 429s
        client.get("/api/walkthrough/", HTTP_AUTHORIZATION="Bearer wt_" + "x" * 43)
    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    client.get("/api/sentiment-labels/")
    parsed = samples(client.get("/metrics", **metrics_on).content.decode())
    cache.clear()

    assert value(parsed, "raxx_throttle_rejections_total", route="api/walkthrough/") >= 5
    assert value(parsed, "raxx_flag_decisions_total", flag="FLAG_SENTIMENT_JOURNAL", source="test") >= 1


@pytest.mark.django_db
def test_sweep_funnel_and_task_outcomes_come_from_the_shared_records(client, metrics_on):
    from journal.tasks import lock_post_labels
    from walkthrough.services import funnel_snapshot_refresh

    swept = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(swept, tick=False):
        lock_post_labels.apply()
        funnel_snapshot_refresh()
    with time_machine.travel(swept + dt.timedelta(minutes=5), tick=False):
        parsed = samples(client.get("/metrics", **metrics_on).content.decode())

    assert value(parsed, "raxx_lock_sweep_last_success_timestamp_seconds") == swept.timestamp()
    assert value(parsed, "raxx_funnel_snapshot_age_seconds") == 300
    assert (
        value(parsed, "raxx_celery_tasks_total", task="journal.tasks.lock_post_labels", outcome="succeeded")
        >= 1
    )
    assert value(parsed, "raxx_lock_sweep_rows_total") is not None


@pytest.fixture
def prod_env(tmp_path) -> dict[str, str]:
    env = {
        **PROD_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECURE_SSL_REDIRECT": "0",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def _writers(directory: str) -> set[int]:
    """Pids that wrote samples: prometheus_client names each worker's file `<kind>_<pid>.db`."""
    return {int(path.stem.split("_")[-1]) for path in Path(directory).glob("*.db")}


def _wait_until_gone(pids: set[int], timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        assert time.monotonic() < deadline, f"workers {pids} still alive {timeout} s after HUP"
        time.sleep(0.1)  # bounded wait for the master to retire its old workers


def test_a_multi_worker_gunicorn_serves_the_sum_of_every_worker(prod_env):
    """40 requests over 3 workers, half of them after a HUP replaced every worker (as a deploy's
    reload or max_requests recycling would): every scrape, whichever worker answers it, counts
    all 40, including those counted by workers that have since exited.

    Which worker accepts a connection is the kernel's choice (one fast worker may take them all),
    so the replacement is what guarantees that more than one process wrote samples."""
    import concurrent.futures
    import signal

    directory = prod_env["PROMETHEUS_MULTIPROC_DIR"]
    statuses: list[int] = []
    with Server(prod_env, workers=3) as server:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses += pool.map(lambda _: http("GET", server.url + "/api/walkthrough/")[0], range(20))
            before = _writers(directory)
            os.kill(server.process.pid, signal.SIGHUP)
            _wait_until_gone(before)
            statuses += pool.map(lambda _: http("GET", server.url + "/api/walkthrough/")[0], range(20))
        scrapes = [
            http("GET", server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            for _ in range(6)
        ]
        writers = _writers(directory)
        master_alive = server.process.poll() is None

    assert master_alive  # three workers exiting together once killed it (see the next test)
    assert {status for status, _, _ in scrapes} == {200}
    assert before and writers - before, (before, writers)  # retired and new workers both wrote
    answered = {status: statuses.count(status) for status in set(statuses)}
    for _, headers, body in scrapes:
        assert headers["Content-Type"].startswith("text/plain")
        parsed = samples(body)
        for status, count in answered.items():
            labels = {"method": "GET", "route": "api/walkthrough/", "status": str(status)}
            assert value(parsed, "raxx_http_responses_total", **labels) == count
        assert (
            value(parsed, "raxx_http_request_duration_seconds_count", method="GET", route="api/walkthrough/")
            == 40
        )


def test_the_master_s_child_exit_hook_imports_nothing(tmp_path):
    """child_exit runs in the master's SIGCHLD handler. It used to import prometheus_client
    there: two workers exiting together (a HUP) re-entered that import, and the master died of
    a circular ImportError with every worker. The hook now uses what on_starting imported."""
    import subprocess
    import sys

    from tests.processes import ROOT

    script = f"""
import builtins, os, runpy, types
os.environ["PROMETHEUS_MULTIPROC_DIR"] = {str(tmp_path / "prometheus")!r}
conf = runpy.run_path({str(ROOT / "gunicorn.conf.py")!r})
server = types.SimpleNamespace()
conf["on_starting"](server)
open(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "gauge_livesum_4242.db"), "wb").close()

def no_import(name, *args, **kwargs):
    raise AssertionError("child_exit imported " + name)

builtins.__import__ = no_import
conf["child_exit"](server, types.SimpleNamespace(pid=4242))
print(sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"  # the dead worker's live gauge file is gone
