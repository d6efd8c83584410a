"""The request id (SPEC O4): accepted from X-Request-ID when sane, else made; returned; carried
into the Celery tasks a request dispatches."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from config.request_id import (
    TASK_HEADER,
    RequestIdLogFilter,
    add_request_id_to_task,
    bind_task_request_id,
    bound_request_id,
    get_request_id,
    unbind_task_request_id,
)


def test_a_request_without_an_id_gets_a_fresh_one(anon_client):
    first = anon_client.get("/healthz")["X-Request-ID"]
    second = anon_client.get("/healthz")["X-Request-ID"]

    assert len(first) == 32 and first != second


@pytest.mark.parametrize("sent", ["abc", "0f3e-12.ab:cd_EF", "x" * 64])
def test_a_sane_client_id_is_kept(anon_client, sent):
    assert anon_client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        "",
        "x" * 65,  # unbounded ids would ride in every log line
        "abc def",
        "abc\r\nX-Evil: 1",  # header and log injection
        'abc"}',  # would break out of a JSON log field written by hand
        "ünïcode",
    ],
)
def test_an_insane_client_id_is_replaced(anon_client, sent):
    answered = anon_client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]

    assert answered != sent and len(answered) == 32


def test_error_answers_carry_the_id_too(anon_client, alice_client):
    assert anon_client.get("/api/paper-orders/", HTTP_X_REQUEST_ID="req-401")["X-Request-ID"] == "req-401"
    assert alice_client.get("/api/no-such-thing/", HTTP_X_REQUEST_ID="req-404")["X-Request-ID"] == "req-404"


def test_the_id_is_bound_only_while_the_request_runs(anon_client):
    anon_client.get("/healthz", HTTP_X_REQUEST_ID="req-scoped")

    assert get_request_id() is None


def test_log_records_carry_the_bound_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with bound_request_id("req-log"):
        RequestIdLogFilter().filter(record)

    assert record.request_id == "req-log"


def test_a_task_published_inside_a_request_carries_its_id_and_the_worker_binds_it():
    headers: dict = {}
    with bound_request_id("req-task"):
        add_request_id_to_task(headers=headers)
    assert headers == {TASK_HEADER: "req-task"}

    task = SimpleNamespace(request=SimpleNamespace(**headers))
    bind_task_request_id(task_id="t1", task=task)
    assert get_request_id() == "req-task"
    unbind_task_request_id(task_id="t1")
    assert get_request_id() is None


def test_a_beat_task_carries_no_id():
    headers: dict = {}
    add_request_id_to_task(headers=headers)
    bind_task_request_id(task_id="t2", task=SimpleNamespace(request=SimpleNamespace()))

    assert headers == {} and get_request_id() is None
    unbind_task_request_id(task_id="t2")


def test_a_forged_task_header_is_not_trusted_blindly():
    bind_task_request_id(task_id="t3", task=SimpleNamespace(request=SimpleNamespace(**{TASK_HEADER: "a\nb"})))

    assert get_request_id() is None
    unbind_task_request_id(task_id="t3")


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_the_id_of_the_request_that_dispatched_the_task():
    import uuid

    from config.celery import app
    from journal.tasks import lock_post_labels
    from tests.workers import celery_worker

    request_id = f"req-{uuid.uuid4().hex[:12]}"
    app.control.purge()
    with celery_worker(name="request-id") as worker:
        with bound_request_id(request_id):
            lock_post_labels.delay()
        logged = worker.wait_for(lambda: request_id in worker.output())
        output = worker.output()

    assert logged, output
    lines = [json.loads(line) for line in output.splitlines() if request_id in line]
    # The worker's log is JSON too, and the task's own line names the dispatching request.
    assert any(line["request_id"] == request_id and "locked" in line["message"] for line in lines), output
