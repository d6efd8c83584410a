"""Writes to the change log (SPEC P2), its erasure (SPEC P3) and its access-request view (SPEC P4).

Services call `change_record` inside the transaction of the write they record, so the write and
its entry commit together or not at all. Signals are never used: the code that changes an object
is the code that says who changed it and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from audit.dsr import OTHER_PERSON, Person, pseudonymised, replacer
from audit.models import COMMAND, Action, ChangeLogEntry
from config.request_id import get_request_id


def change_record(
    *,
    actor: AbstractBaseUser | str,
    action: str,
    obj: str,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    subject: str = "",
) -> ChangeLogEntry:
    """Append one entry: `actor` is the user who acted, or `audit.models.COMMAND` for a command.

    `obj` names the object in words (an address, a flag name); `subject` is the email of the
    person the entry is about, when there is one. The request id comes from the current request.
    """
    if isinstance(actor, str):
        if actor != COMMAND:
            raise ValueError(f"actor must be a user or {COMMAND!r}, not {actor!r}")
        actor_name, actor_user = COMMAND, None
    else:
        actor_name, actor_user = actor.get_username(), actor
    if not action or not obj:
        raise ValueError("a change-log entry needs an action and an object")
    return ChangeLogEntry.objects.create(
        actor=actor_name,
        actor_user=actor_user,
        action=action,
        object_repr=obj[: ChangeLogEntry._meta.get_field("object_repr").max_length],
        subject=subject.strip().lower(),
        before=before,
        after=after,
        reason=reason,
        request_id=get_request_id() or "",
    )


_TEXT_FIELDS = ("actor", "object_repr", "subject", "reason", "before", "after")


def _mentioning(names: Iterable[str]) -> Q:
    """Entries whose text may name one of `names`: a substring match, narrowed in Python later."""
    query = Q()
    for name in names:
        if name:
            for field in _TEXT_FIELDS:
                query |= Q(**{f"{field}__icontains": name})
    return query


def _about(person: Person) -> Q:
    """Entries the person made, or whose subject or text names them."""
    return Q(actor_user__in=person.user_ids) | Q(subject=person.email) | _mentioning(person.names)


def change_log_erase(*, person: Person) -> dict[str, int]:
    """SPEC P3: every entry made by or naming the person keeps its place under their pseudonym.

    Entries are history, so none is deleted: the actor of an erased operator's entries becomes
    the pseudonym (the same on every entry), and so does every mention of the address or a
    username in the object, the subject, the reason and the before/after values.
    """
    replace = replacer(person.names, person.pseudonym)
    changed = 0
    with transaction.atomic():
        for entry in ChangeLogEntry.objects.select_for_update().filter(_about(person)):
            if entry.actor_user_id in person.user_ids:
                entry.actor = person.pseudonym
            for name in _TEXT_FIELDS:
                setattr(entry, name, replace(getattr(entry, name)))
            entry.save(update_fields=list(_TEXT_FIELDS))
            changed += 1
    return {pseudonymised(ChangeLogEntry._meta.db_table): changed}


def change_log_export(*, person: Person) -> list[dict[str, Any]]:
    """SPEC P4: the entries about or by the person, without other people's identities.

    Other staff appear as `staff member N` (numbered in this document only); an entry the
    person made about someone else names that object "(another person)".
    """
    marker = "\x00"
    mentions = replacer(person.names, marker)  # a whole-word match, not a substring of a longer name
    others: dict[str, str] = {}

    def actor(entry: ChangeLogEntry) -> str:
        if entry.actor_user_id in person.user_ids or entry.actor == COMMAND:
            return entry.actor
        return others.setdefault(entry.actor, f"staff member {len(others) + 1}")

    def concerns(entry: ChangeLogEntry) -> bool:
        return (
            entry.actor_user_id in person.user_ids
            or entry.subject == person.email
            or any(marker in str(mentions(getattr(entry, name))) for name in _TEXT_FIELDS if name != "actor")
        )

    def named(entry: ChangeLogEntry) -> str:
        if entry.subject and entry.subject != person.email:
            return OTHER_PERSON
        return entry.object_repr

    return [
        {
            "time": entry.created_at,
            "actor": actor(entry),
            "action": entry.action,
            "object": named(entry),
            "before": entry.before,
            "after": entry.after,
            "reason": entry.reason,
            "request_id": entry.request_id,
        }
        for entry in ChangeLogEntry.objects.filter(_about(person)).order_by("created_at", "id")
        if concerns(entry)
    ]


def export_record(
    *, actor: AbstractBaseUser | str, what: str, rows: int | None = None, query: str = "", subject: str = ""
) -> ChangeLogEntry:
    """Record one export of personal data (SPEC P2): who, what (in words), how many rows, which filter.

    `query` is the admin's filter (its query string), so the entry says which rows left the
    building without copying them. `subject` is the person an access request was about.
    """
    after: dict[str, Any] = {}
    if rows is not None:
        after["rows"] = rows
    if query:
        after["filter"] = query
    return change_record(actor=actor, action=Action.EXPORT, obj=what, after=after or None, subject=subject)
