"""Back office helpers that keep changelists fast at a million rows (issue 11).

Small pieces a ModelAdmin opts into with class attributes:
- `paginator = EstimatedCountPaginator`: an unfiltered changelist of a large table shows the
  planner's row estimate instead of running COUNT(*) over every row.
- `fixed_choices_filter(...)`: a list filter whose choices are data (the survey registry, the
  taxonomy, a range), not `SELECT DISTINCT` over the whole table on every page view.

Search stays a ModelAdmin concern: use `^field` (exact address or prefix) on an indexed
column, never the default `icontains`, which reads every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows an exact count is cheap and the estimate could be visibly off.
ESTIMATE_ABOVE_ROWS = 100_000


class EstimatedCountPaginator(Paginator):
    """COUNT(*) for filtered lists and small tables; pg_class.reltuples for large unfiltered ones.

    The estimate is kept fresh by autovacuum's ANALYZE; the admin only uses the count for
    "N results" and the page links, so "about 1,000,000" is as useful as the exact figure.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where and not query.distinct and not query.combinator:
            estimate = _estimated_rows(queryset.model._meta.db_table, queryset.db)
            if estimate is not None and estimate > ESTIMATE_ABOVE_ROWS:
                return estimate
        return super().count


def _estimated_rows(table: str, alias: str) -> int | None:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    # -1 means "never analyzed": fall back to the exact count.
    return row[0] if row and row[0] is not None and row[0] >= 0 else None


def fixed_choices_filter(
    *,
    field: str,
    title: str,
    choices: Callable[[], Iterable[tuple[str, str]]],
    parameter: str | None = None,
) -> type[admin.SimpleListFilter]:
    """A list filter on `field` with choices from `choices()` (data, not a DISTINCT scan).

    A value outside the choices filters to no rows rather than erroring: the choices are the
    current data, and a bookmarked link to an old value should show an empty list.
    """

    class FixedChoicesFilter(admin.SimpleListFilter):
        parameter_name = parameter or field

        def lookups(self, request, model_admin):
            return [(str(value), label) for value, label in choices()]

        def queryset(self, request, queryset):
            value = self.value()
            if value is None:
                return queryset
            return queryset.filter(**{field: value})

    FixedChoicesFilter.title = title
    FixedChoicesFilter.__name__ = f"FixedChoicesFilter_{field}"
    return FixedChoicesFilter
