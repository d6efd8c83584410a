"""Writes to flag overrides; every change goes through here so it is always audited."""

from __future__ import annotations

from django.db import transaction

from config.api import RuleViolation
from flags.models import FlagAudit, FlagOverride, OverrideState
from flags.registry import environment_value, spec
from flags.store import resolve, store


def flag_override_set(*, name: str, state: str, reason: str, actor=None, actor_label: str) -> FlagAudit:
    """Set a flag's override to on/off, or clear it ("unset"), and audit the change (SPEC F2, F3)."""
    spec(name)  # UnknownFlag for an undeclared name: nothing is written
    if state not in (OverrideState.ON, OverrideState.OFF, OverrideState.UNSET):
        raise RuleViolation({"state": [f"must be on, off or unset; got {state!r}"]})
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation({"reason": ["A reason is required for every flag change."]})

    with transaction.atomic():
        current = FlagOverride.objects.select_for_update().filter(name=name).first()
        if current is None:
            old = OverrideState.UNSET
        else:
            old = OverrideState.ON if current.enabled else OverrideState.OFF
        if state == OverrideState.UNSET:
            FlagOverride.objects.filter(name=name).delete()
        else:
            FlagOverride.objects.update_or_create(
                name=name,
                defaults={"enabled": state == OverrideState.ON, "reason": reason, "updated_by": actor},
            )
        # What decides now (SPEC F2): an override ON under FLAG_*=0 stays off, and the audit says so.
        decided = resolve(
            name,
            database=None if state == OverrideState.UNSET else state == OverrideState.ON,
            environment=environment_value(name),
            default=spec(name).default,
        )
        audit = FlagAudit.objects.create(
            name=name,
            old_value=old,
            new_value=state,
            reason=reason,
            actor=actor,
            actor_label=actor_label,
            effective_value="on" if decided.enabled else "off",
            decided_by=decided.source,
        )
        # This process sees the change at once; others within FLAGS_CACHE_SECONDS (SPEC F3).
        # Invalidating after commit too stops a concurrent reader caching the old row.
        store.invalidate()
        transaction.on_commit(store.invalidate)
    return audit
