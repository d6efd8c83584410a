"""Crafted admin input never reaches a 500 (issue 12 item 5; docs/reliability.md).

The admin builds querysets straight from a changelist's query string. Django already turns
an unknown lookup into a redirect to `?e=1` (or a 400 for a disallowed one), but values it
passes on unchecked can still break the database: a NUL byte (PostgreSQL refuses it in any
string), a date whose UTC conversion leaves the calendar, a number past the column's range.
This guard answers those with a 400 naming the problem, for every changelist at once.
"""

from __future__ import annotations

import json
import logging

from django import forms
from django.conf import settings
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


def _too_deep(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _has_nul_text(value) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and "\x00" in node:
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class SafeJSONFormField(forms.JSONField):
    """An admin JSON box that refuses what the database or Python cannot take, as a form error.

    5,000 nested brackets make Python's decoder raise RecursionError (a 500 in Django's own
    field); a `\\u0000` escape decodes to a NUL that PostgreSQL's jsonb refuses at save time.
    """

    def to_python(self, value):
        try:
            data = super().to_python(value)
        except RecursionError:
            raise ValidationError(self._depth_message(), code="too_deep") from None
        if _too_deep(data, settings.API_MAX_JSON_DEPTH):
            raise ValidationError(self._depth_message(), code="too_deep")
        if _has_nul_text(data):
            raise ValidationError("Remove the NUL character (\\u0000) from the text.", code="null_characters")
        return data

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)

    def prepare_value(self, value):
        try:
            return super().prepare_value(value)
        except RecursionError:
            return json.dumps(None)

    @staticmethod
    def _depth_message() -> str:
        return f"The JSON is nested too deeply: at most {settings.API_MAX_JSON_DEPTH} levels."
