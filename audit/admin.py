"""The change log in the admin (SPEC P2): read-only for everyone, filterable, newest first."""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.html import format_html

from audit.models import Action, ChangeLogEntry
from audit.services import change_record
from core.admin import LargeTableAdmin, ReadOnlyAdmin, fixed_choices_filter

ActionFilter = fixed_choices_filter(
    field="action",
    title="action",
    choices=lambda: sorted((value, value) for name, value in vars(Action).items() if name.isupper()),
)


@admin.register(ChangeLogEntry)
class ChangeLogEntryAdmin(ReadOnlyAdmin, LargeTableAdmin):
    """Nobody adds, edits or deletes history here, not even a superuser; erasure goes through
    `dsr_delete`, which pseudonymises instead of deleting."""

    class Media:
        css = {"all": ["audit/lists.css"]}

    list_display = ("created_at", "actor", "action", "object_repr", "change", "reason", "request_id")
    list_filter = (ActionFilter, "actor", "created_at")
    search_fields = ("object_repr", "reason", "=actor", "=request_id", "=subject")
    fields = (
        "created_at",
        "actor",
        "action",
        "object_repr",
        "subject",
        "before",
        "after",
        "reason",
        "request_id",
    )
    readonly_fields = fields

    @admin.display(description="before → after")
    def change(self, obj: ChangeLogEntry) -> str:
        if obj.before is None and obj.after is None:
            return "–"
        return format_html("{} → {}", _compact(obj.before), _compact(obj.after))


def _compact(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    return str(value)


def _subject(obj) -> str:
    """The email of the person a stock admin write is about: the account, or the device's owner."""
    person = obj if isinstance(obj, AbstractBaseUser) else getattr(obj, "user", None)
    return getattr(person, "email", "") or ""


class ChangeLoggedAdminMixin:
    """A ModelAdmin whose stock add, change and delete pages write the change log (SPEC P2).

    For models written through the admin's own forms (accounts, groups, second-factor devices)
    rather than through a service that records its writes. Django calls these hooks inside the
    transaction of the save or delete, so the entry commits with the write. Django's own admin
    history is written as well.
    """

    def _record(self, request, obj, action: str, message) -> None:
        if isinstance(message, str) and message.startswith("["):
            message = json.loads(message)
        change_record(
            actor=request.user,
            action=action,
            obj=f"{obj._meta.verbose_name} {obj}",
            after={"admin": message} if message else None,
            subject=_subject(obj),
        )

    def log_addition(self, request, obj, message):
        self._record(request, obj, Action.ADMIN_ADD, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._record(request, obj, Action.ADMIN_CHANGE, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._record(request, obj, Action.ADMIN_DELETE, "")
        return super().log_deletions(request, queryset)
