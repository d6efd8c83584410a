"""What flags erase for one person (SPEC P3): their name in the flag audit and override reasons.

Nothing is deleted: the audit is history. An operator's entries keep their place under the
pseudonym (`admin:erased-…`), like their change-log entries. The same changes are in the change
log, which the access-request export reads, so flags export nothing of their own.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from audit.dsr import Person, pseudonymised, replacer
from flags.models import FlagAudit, FlagOverride


def erase(*, person: Person) -> dict[str, int]:
    replace = replacer(person.names, person.pseudonym)
    mentions = Q()
    for name in person.names:
        mentions |= Q(actor_label__icontains=name) | Q(reason__icontains=name)
    audits = overrides = 0
    with transaction.atomic():
        for audit in FlagAudit.objects.select_for_update().filter(Q(actor__in=person.user_ids) | mentions):
            if audit.actor_id in person.user_ids:
                source, _, _ = audit.actor_label.partition(":")
                audit.actor_label = f"{source}:{person.pseudonym}"
            audit.actor_label, audit.reason = replace(audit.actor_label), replace(audit.reason)
            audit.save(update_fields=["actor_label", "reason"])
            audits += 1
        reasons = Q()
        for name in person.names:
            reasons |= Q(reason__icontains=name)
        for override in FlagOverride.objects.select_for_update().filter(reasons) if reasons else []:
            override.reason = replace(override.reason)
            override.save(update_fields=["reason"])
            overrides += 1
    return {
        pseudonymised(FlagAudit._meta.db_table): audits,
        pseudonymised(FlagOverride._meta.db_table): overrides,
    }
