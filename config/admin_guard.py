"""Crafted admin input never reaches a 500 (docs/reliability.md).

The admin builds querysets straight from a changelist's query string. Django already turns
an unknown lookup into a redirect to `?e=1` (or a 400 for a disallowed one), but values it
passes on unchecked can still break the database: a NUL byte (PostgreSQL refuses it in any
string), a date whose UTC conversion leaves the calendar, a number past the column's range.
This guard answers those with a 400 naming the problem, for every changelist at once.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpResponseBadRequest

logger = logging.getLogger(__name__)
ADMIN_PREFIX = "/admin/"

NUL_MESSAGE = "Bad request: the query string contains a NUL byte. Remove it and try again."
RANGE_MESSAGE = (
    "Bad request: a filter or search value is out of range or malformed "
    "(for dates use YYYY-MM-DD between years 1 and 9999). Change it and try again."
)


def _has_nul(querydict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in querydict.lists())


class AdminQueryGuardMiddleware:
    """400 for NUL bytes in an admin query string, and for values the database cannot take."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_PREFIX) and _has_nul(request.GET):
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def process_exception(self, request, exception):
        # Only a changelist read with filters: anything else is a real bug and stays a 500.
        if not (request.path.startswith(ADMIN_PREFIX) and request.method == "GET" and request.GET):
            return None
        if isinstance(exception, OverflowError | DataError | ValidationError | ValueError):
            logger.warning(
                "admin: refused query %r on %s: %r", request.GET.urlencode(), request.path, exception
            )
            return HttpResponseBadRequest(RANGE_MESSAGE, content_type="text/plain; charset=utf-8")
        return None
