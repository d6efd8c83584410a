"""What `accounts` erases and exports for one person (SPEC P3, P4), and the account row itself.

The account owns the traces Django's own apps keep about a login: API keys, sessions, second
factor devices (django-otp), the admin's history (`django_admin_log`) and the login throttle's
logs (django-axes).
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_otp import device_classes
from knox.models import AuthToken

from accounts.models import User
from audit.dsr import Person, pseudonymised, replacer
from audit.export import rows
from audit.models import COMMAND

AXES_LOGS = (AccessAttempt, AccessFailureLog, AccessLog)


def person_find(*, email: str) -> Person:
    """The person an address names: the address itself, and every account that has it."""
    email = email.strip().lower()
    users = list(User.objects.filter(email__iexact=email).order_by("pk").values_list("pk", "username"))
    return Person(
        email=email, user_ids=tuple(pk for pk, _ in users), usernames=tuple(name for _, name in users)
    )


def _axes_rows(person: Person) -> Q:
    # Axes records what was typed as the username (an address or a username) and the raw query.
    query = Q()
    for name in person.names:
        query |= Q(username__iexact=name)
    return query


def _sessions_of(person: Person) -> list[str]:
    """Session keys of the person's accounts, expired ones too (their data names the account)."""
    ids = {str(pk) for pk in person.user_ids}
    if not ids:
        return []
    return [s.pk for s in Session.objects.iterator() if str(s.get_decoded().get("_auth_user_id")) in ids]


def erase(*, person: Person) -> dict[str, int]:
    """API keys (each revocation in the change log), sessions, second-factor devices and their
    backup codes, login-throttle logs; admin-log texts are pseudonymised."""
    from accounts.services import api_keys_revoke

    counts: dict[str, int] = {}
    with transaction.atomic():
        keys = AuthToken.objects.filter(user_id__in=person.user_ids)
        counts[AuthToken._meta.db_table] = api_keys_revoke(keys=keys, actor=COMMAND)
        counts[Session._meta.db_table], _ = Session.objects.filter(pk__in=_sessions_of(person)).delete()
        for model in device_classes():
            counts[model._meta.db_table], _ = model.objects.filter(user_id__in=person.user_ids).delete()
        for model in AXES_LOGS:
            counts[model._meta.db_table], _ = model.objects.filter(_axes_rows(person)).delete()
        counts[pseudonymised(LogEntry._meta.db_table)] = _admin_log_erase(person)
    return counts


def _admin_log_erase(person: Person) -> int:
    """The admin's history keeps its entries; texts that name the person name the pseudonym."""
    replace = replacer(person.names, person.pseudonym)
    mentions = Q()
    for name in person.names:
        mentions |= Q(object_repr__icontains=name) | Q(change_message__icontains=name)
    changed = 0
    for entry in LogEntry.objects.select_for_update().filter(mentions):
        entry.object_repr, entry.change_message = replace(entry.object_repr), replace(entry.change_message)
        entry.save(update_fields=["object_repr", "change_message"])
        changed += 1
    return changed


def account_erase(*, person: Person) -> dict[str, int]:
    """Last step: each account stays (paper orders hang on it, ADR 0133 D1) but names no one.

    Username becomes the pseudonym, every identifying field is blanked, the password unusable,
    staff rights and groups gone, and the account inactive: it can neither log in nor call the API.
    """
    changed = 0
    with transaction.atomic():
        for n, user in enumerate(
            User.objects.select_for_update().filter(pk__in=person.user_ids).order_by("pk")
        ):
            user.username = person.pseudonym if n == 0 else f"{person.pseudonym}-{n}"
            user.email = user.first_name = user.last_name = ""
            user.set_unusable_password()
            user.is_active = user.is_staff = user.is_superuser = False
            user.last_login = None
            user.cancelled_at = user.cancelled_at or timezone.now()
            user.save()
            user.groups.clear()
            user.user_permissions.clear()
            changed += 1
    return {pseudonymised(User._meta.db_table): changed}


def export(*, person: Person) -> dict[str, Any]:
    """The accounts (never the password hash), API keys' metadata (never digests), logins."""
    users = User.objects.filter(pk__in=person.user_ids).order_by("pk")
    return {
        "accounts": [
            {**row, "groups": list(User.objects.get(pk=row["id"]).groups.values_list("name", flat=True))}
            for row in rows(users, without=("password",))
        ],
        "api_keys": list(
            AuthToken.objects.filter(user_id__in=person.user_ids)
            .order_by("created")
            .values("user_id", "created", "expiry")
        ),
        # Which second factors exist, never their keys or backup codes.
        "second_factor_devices": [
            {"type": model._meta.verbose_name, "name": device.name, "confirmed": device.confirmed}
            for model in device_classes()
            for device in model.objects.filter(user_id__in=person.user_ids).order_by("pk")
        ],
        "admin_actions": list(
            LogEntry.objects.filter(user_id__in=person.user_ids)
            .order_by("action_time")
            .values("action_time", "action_flag", "content_type__model", "object_repr", "change_message")
        ),
        "login_records": {
            model._meta.db_table: list(
                model.objects.filter(_axes_rows(person))
                .order_by("attempt_time")
                .values("attempt_time", "ip_address", "user_agent", "path_info")
            )
            for model in AXES_LOGS
        },
    }
