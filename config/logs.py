"""JSON logs (SPEC O4): one JSON object per line from web (Django and gunicorn), worker and beat.

Every line has `time`, `level`, `logger`, `message` and `request_id`; the request line
(RequestLogMiddleware) adds `method`, `route`, `status` and `duration_ms`. Only the fields
named in EXTRA_FIELDS are ever copied from a record, so a careless `extra=` cannot leak a
request body into the logs; email addresses in a message or traceback (a database error's
detail, say) are masked as `[email]`. tests/platform/test_logs.py hunts sentinels through every line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time

from django.urls import Resolver404, resolve

from config.request_id import get_request_id

# Record attributes a log line may carry besides the base fields.
EXTRA_FIELDS = ("method", "route", "status", "duration_ms", "task", "task_id", "outcome")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def mask(text: str) -> str:
    return _EMAIL.sub("[email]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or get_request_id(),
        }
        for field in EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exc"] = mask(self.formatException(record.exc_info))
        elif record.stack_info:
            line["stack"] = mask(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


# --- The request log line ------------------------------------------------------------------

request_logger = logging.getLogger("raxx.request")
UNMATCHED = "unmatched"
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_of(request) -> str:
    """The URL pattern that served `request` (`api/paper-orders/{pk}/close/`), or "unmatched".

    A pattern, never the path: no ids, no query string, and few enough distinct values to be a
    metrics label. A request answered before URL resolution (a 413, a redirect) is resolved
    here, so it still names its route.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return UNMATCHED
    route = _REGEX_GROUP.sub(r"{\1}", match.route or "")
    route = _CONVERTER.sub(r"{\1}", route)
    return route.replace("^", "").replace("$", "").replace("\\", "") or UNMATCHED


class RequestLogMiddleware:
    """One JSON log line and the request metrics per request (SPEC O4).

    Second in MIDDLEWARE, right after RequestIdMiddleware: it times everything else, and its
    line carries the id. The line names method, URL pattern, status and duration: never the
    path, the query string, a header or a body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from config import metrics

        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = route_of(request)
        metrics.observe_request(
            method=request.method, route=route, status=response.status_code, seconds=seconds
        )
        method = request.method if request.method in metrics.METHODS else "OTHER"
        request_logger.info(
            "%s %s %s",
            method,
            route,
            response.status_code,
            extra={
                "method": method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response
