"""The request id (SPEC O4): accepted from `X-Request-ID` or made, returned, carried into tasks.

One id follows a request through its log lines, the change log and every Celery task it
dispatches, so an operator can join a client's report, the web logs and the worker logs.

- `get_request_id()` is the id of the request (or task) being served, or None outside one.
- `RequestIdMiddleware` takes a client's `X-Request-ID` when it is sane (1-64 characters of
  letters, digits and `._:-`, so no log injection and no unbounded header in every line), or
  makes a fresh one, and answers it in the response's `X-Request-ID`.
- Celery: a task published while an id is bound carries it in the message header
  `raxx_request_id`; the worker binds it while the task runs (signals connected in
  config/celery.py). Beat's own tasks carry none.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid
from collections.abc import Iterator

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# Celery message header; prefixed so it can never shadow one of Celery's own request fields.
TASK_HEADER = "raxx_request_id"
MAX_LENGTH = 64
_SANE = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_LENGTH}}}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def get_request_id() -> str | None:
    """The id of the request or task being served; None outside one (shell, beat, migrations)."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(raw: str | None) -> str | None:
    """A client's id if it is sane, else None (the caller then makes one)."""
    if raw and _SANE.fullmatch(raw):
        return raw
    return None


@contextlib.contextmanager
def bound_request_id(value: str | None) -> Iterator[str | None]:
    """Bind `value` as the current request id for the block (a task, a command, a test)."""
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """Binds the request id for the whole request and answers it in `X-Request-ID`.

    First in MIDDLEWARE, so every other middleware's log lines and early answers (413, 429,
    redirects) carry it too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted_request_id(request.META.get(REQUEST_ID_META)) or new_request_id()
        request.request_id = request_id
        with bound_request_id(request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Puts `request_id` on every log record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return True


# --- Celery: carry the id from the publishing request into the task -----------------------


def add_request_id_to_task(headers: dict | None = None, **_kwargs) -> None:
    """before_task_publish: stamp the publishing request's id on the message."""
    request_id = get_request_id()
    if request_id is not None and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, contextvars.Token] = {}


def bind_task_request_id(task_id: str | None = None, task=None, **_kwargs) -> None:
    """task_prerun: bind the id the message carries.

    A message without one (beat's own schedule) binds None in a worker; a task run in process
    (`task.apply()`) keeps the caller's id.
    """
    request = getattr(task, "request", None)
    value = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    _task_tokens[task_id] = _request_id.set(accepted_request_id(value) or get_request_id())


def unbind_task_request_id(task_id: str | None = None, **_kwargs) -> None:
    """task_postrun: restore what was bound before, so the next task starts clean."""
    token = _task_tokens.pop(task_id, None)
    try:
        if token is not None:
            _request_id.reset(token)
            return
    except ValueError:  # the token belongs to another context (a pool that switched threads)
        pass
    _request_id.set(None)
