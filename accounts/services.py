"""Account-level duties that span apps: the Analyst group and data-subject deletion."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

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


def dsr_delete(*, email: str) -> dict[str, int]:
    """Delete a person's walkthrough rows and journal labels at once (SPEC W11, J10).

    Paper orders are the execution record and stay (ADR 0133 D1). Returns counts per table.
    """
    from journal.services import journal_dsr_delete
    from walkthrough.services import walkthrough_dsr_delete

    with transaction.atomic():
        counts = {}
        counts.update(walkthrough_dsr_delete(email=email))
        counts.update(journal_dsr_delete(email=email))
    return counts
