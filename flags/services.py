"""Writes to flag overrides; every change goes through here so it is always audited."""

from __future__ import annotations

from django.db import transaction

from audit.models import COMMAND, Action
from audit.services import change_record
from core.errors import RuleViolation
from flags.models import FlagAudit, FlagOverride, OverrideState
from flags.registry import environment_value, spec
from flags.rollout import check_percent
from flags.store import resolve, store


def _validated_change(*, state: str, rollout: int | None, reason: str) -> str:
    """The change's rules before anything is written; returns the stripped reason."""
    if state not in (OverrideState.ON, OverrideState.OFF, OverrideState.UNSET):
        raise RuleViolation({"state": [f"must be on, off or unset; got {state!r}"]})
    if rollout is not None:
        if state != OverrideState.ON:
            raise RuleViolation({"rollout": ["Only an ON is rolled out; OFF and clear apply to everyone."]})
        try:
            check_percent(rollout)
        except ValueError as exc:
            raise RuleViolation({"rollout": [f"{str(exc).capitalize()}."]}) from None
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation({"reason": ["A reason is required for every flag change."]})
    return reason


def _audited(*, name, old, new, decided, reason, actor, actor_label) -> FlagAudit:
    """The flag audit row and its change-log entry (SPEC F3, P2): (state, rollout) before and after."""
    audit = FlagAudit.objects.create(
        name=name,
        old_value=old[0],
        new_value=new[0],
        old_rollout=old[1],
        new_rollout=new[1],
        reason=reason,
        actor=actor,
        actor_label=actor_label,
        effective_value="on" if decided.enabled else "off",
        decided_by=decided.source,
    )
    change_record(
        actor=actor if actor is not None else COMMAND,
        action=Action.FLAG_OVERRIDE,
        obj=name,
        before={"override": audit.old_state},
        after={
            "override": audit.new_state,
            "effective": audit.effective_value,
            "decided_by": audit.decided_by,
        },
        reason=reason,
    )
    return audit


def flag_override_set(
    *, name: str, state: str, reason: str, actor=None, actor_label: str, rollout: int | None = None
) -> FlagAudit:
    """Set a flag's override to on/off, or clear it ("unset"), and audit the change (SPEC F2, F3).

    `actor` is the operator in the admin; None is a management command. The flag audit feeds
    the change log (SPEC P2) in the same transaction. `rollout` (SPEC F8, with state on only):
    ON for that whole percentage of subjects, sticky per subject (flags.rollout); state on
    without it is ON for everyone.
    """
    spec(name)  # UnknownFlag for an undeclared name: nothing is written
    reason = _validated_change(state=state, rollout=rollout, reason=reason)
    with transaction.atomic():
        current = FlagOverride.objects.select_for_update().filter(name=name).first()
        if current is None:
            old, old_rollout = OverrideState.UNSET, None
        else:
            old = OverrideState.ON if current.enabled else OverrideState.OFF
            old_rollout = current.rollout_percent
        if state == OverrideState.UNSET:
            FlagOverride.objects.filter(name=name).delete()
        else:
            FlagOverride.objects.update_or_create(
                name=name,
                defaults={
                    "enabled": state == OverrideState.ON,
                    "rollout_percent": rollout,
                    "reason": reason,
                    "updated_by": actor,
                },
            )
        # What decides now (SPEC F2): an override ON under FLAG_*=0 stays off, and the audit says so.
        decided = resolve(
            name,
            database=None if state == OverrideState.UNSET else state == OverrideState.ON,
            environment=environment_value(name),
            default=spec(name).default,
            rollout=rollout,
        )
        audit = _audited(
            name=name,
            old=(old, old_rollout),
            new=(state, rollout),
            decided=decided,
            reason=reason,
            actor=actor,
            actor_label=actor_label,
        )
        # This process sees the change at once; others within FLAGS_CACHE_SECONDS (SPEC F3).
        # Invalidating after commit too stops a concurrent reader caching the old row.
        store.invalidate()
        transaction.on_commit(store.invalidate)
    return audit
