"""The back office's building blocks, reused by every app's admin (STYLE: one base beats three copies).

- `LargeTableAdmin`: a changelist over a table that grows to millions of rows: the planner's
  estimate instead of COUNT(*), no full count, LIST_PER_PAGE rows a page.
- `ReadOnlyAdmin`: rows written elsewhere (the API, a service, an audit): view only, for
  everyone; `deletable = True` keeps the delete where operators may remove a row.
- `fixed_choices_filter(...)`: a list filter whose choices are data (the survey registry, the
  taxonomy, a range), not `SELECT DISTINCT` over the whole table on every page view.
- `SafeJSONFormField`: a JSON box that refuses what the database or Python cannot take.

Search stays a ModelAdmin concern: use `^field` (exact address or prefix) on an indexed
column, never the default `icontains`, which reads every row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Rows per changelist page on the large tables: rendering a row's cells costs more than
# fetching it, and 50 rows render in half the time of the admin's default 100.
LIST_PER_PAGE = 50

# Below this many rows an exact count is cheap enough and an estimate could be visibly off.
ESTIMATE_ABOVE_ROWS = 10_000


class EstimatedCountPaginator(Paginator):
    """The planner's row estimate instead of COUNT(*) when it expects many rows (PostgreSQL).

    COUNT(*) reads every matching row: at a million rows a changelist spent most of its time
    counting. The admin uses the count only for "N results" and the page links, so an
    estimate (EXPLAIN's row count: pg_class.reltuples and the column statistics that
    autovacuum's ANALYZE keeps fresh) serves as well. Below ESTIMATE_ABOVE_ROWS, and on SQLite,
    the count is exact. A page past the real end is the admin's usual "invalid page" answer.
    """

    @cached_property
    def count(self) -> int:
        estimate = _estimated_rows(self.object_list)
        if estimate is not None and estimate > ESTIMATE_ABOVE_ROWS:
            return estimate
        return super().count


def _estimated_rows(queryset) -> int | None:
    if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
        return None
    if queryset.query.is_empty():  # .none(): nothing to explain, and nothing to count
        return None
    try:
        plan = json.loads(queryset.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])
    except (EmptyResultSet, ValueError, LookupError, TypeError):
        return None  # an unexpected EXPLAIN shape: count exactly


def fixed_choices_filter(
    *,
    field: str,
    title: str,
    choices: Callable[[], Iterable[tuple[str, str]]],
    parameter: str | None = None,
) -> type[admin.SimpleListFilter]:
    """A list filter on `field` with choices from `choices()` (data, not a DISTINCT scan).

    A value outside the choices shows no rows (`?current_screen__exact=abc` was a 500 with a
    field filter's type error): a bookmarked link to a value no longer offered is an empty list.
    """

    class FixedChoicesFilter(admin.SimpleListFilter):
        parameter_name = parameter or field

        def lookups(self, request, model_admin):
            return [(str(value), label) for value, label in choices()]

        def queryset(self, request, queryset):
            value = self.value()
            if value is None:
                return queryset
            if value not in {str(choice) for choice, _ in choices()}:
                return queryset.none()  # never a type error on a number field (a 500)
            return queryset.filter(**{field: value})

    FixedChoicesFilter.title = title
    FixedChoicesFilter.__name__ = f"FixedChoicesFilter_{field}"
    return FixedChoicesFilter


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that stays fast at a million rows (docs/performance.md)."""

    paginator = EstimatedCountPaginator
    list_per_page = LIST_PER_PAGE
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """View permission only, for everyone, superusers included: no add, no change, no Save.

    For rows the product writes through its own rules (SPEC A1, A6, F3): an edit here would
    skip them. `deletable = True` keeps the delete (and its confirmation page) for rows an
    operator may remove.
    """

    deletable = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


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
