"""Rows as JSON-ready dicts for access-request exports (SPEC P4): every column but the secret ones."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def rows(queryset: QuerySet, *, without: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Each row's stored columns, minus `without` (digests, hashes): new columns export themselves."""
    names = [f.attname for f in queryset.model._meta.concrete_fields if f.name not in without]
    return list(queryset.values(*names))
