"""Account-level duties that span apps: the Analyst group and data-subject deletion."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

ANALYST_GROUP = "Analyst"
# Apps whose data analysts read in the admin (SPEC A4). Users' own records are not included.
ANALYST_APPS = ("walkthrough", "journal", "flags")


def analyst_group_sync(*, using: str = "default") -> Group | None:
    """Give the Analyst group every view permission of ANALYST_APPS, and nothing else."""
    group = Group.objects.using(using).filter(name=ANALYST_GROUP).first()
    if group is None:
        return None
    perms = Permission.objects.using(using).filter(
        content_type__app_label__in=ANALYST_APPS, codename__startswith="view_"
    )
    group.permissions.set(perms)
    return group


def api_key_create(*, user) -> str:
    """A new API key for `user`; only its digest is stored, so this is the one time it exists."""
    _, key = AuthToken.objects.create(user=user)
    return key


def api_keys_revoke(*, users) -> int:
    """Delete every API key of `users` (a queryset or list of users): they stop working at once."""
    deleted, _ = AuthToken.objects.filter(user__in=users).delete()
    return deleted


def sessions_revoke(*, users) -> int:
    """End every unexpired session of `users` (admin logins, browsable API).

    Sessions store the user id inside signed, encoded data, so each live session is decoded;
    fine for a data-subject request, which is rare.
    """
    user_ids = {str(pk) for pk in get_user_model().objects.filter(pk__in=users).values_list("pk", flat=True)}
    if not user_ids:
        return 0
    doomed = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) in user_ids
    ]
    deleted, _ = Session.objects.filter(pk__in=doomed).delete()
    return deleted


def dsr_delete(*, email: str) -> dict[str, int]:
    """Delete a person's walkthrough rows and journal labels at once (SPEC W11, J10).

    Their API keys and sessions are revoked in the same transaction, so nothing they held keeps
    working afterwards (issue 12). Paper orders are the execution record and stay (ADR 0133 D1).
    Returns counts per table.
    """
    from journal.services import journal_dsr_delete
    from walkthrough.services import walkthrough_dsr_delete

    users = list(get_user_model().objects.filter(email__iexact=email).values_list("pk", flat=True))
    with transaction.atomic():
        counts = {}
        counts.update(walkthrough_dsr_delete(email=email))
        counts.update(journal_dsr_delete(email=email))
        counts[AuthToken._meta.db_table] = api_keys_revoke(users=users)
        counts[Session._meta.db_table] = sessions_revoke(users=users)
    return counts
