"""What the walkthrough erases and exports for one person (SPEC P3, P4, W11)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from audit.dsr import Person, pseudonymised, replacer
from audit.export import rows
from walkthrough.models import CopySignoff, PaperTrade, Progress, ScreenEvent, SurveyAnswer
from walkthrough.services import walkthrough_dsr_delete


def erase(*, person: Person) -> dict[str, int]:
    """Every beta_walkthrough_* row of the address, at once (the funnel snapshot holds counts only),
    and the operator's name on copy sign-offs (SPEC W16): a sign-off is history, so it stays,
    under the person's pseudonym."""
    counts = walkthrough_dsr_delete(email=person.email)
    counts[pseudonymised(CopySignoff._meta.db_table)] = _signoffs_pseudonymise(person)
    return counts


def _signoffs_pseudonymise(person: Person) -> int:
    replace = replacer(person.names, person.pseudonym)
    mentions = Q(operator__in=person.user_ids)
    for name in person.names:
        mentions |= Q(operator_label__icontains=name) | Q(note__icontains=name)
    changed = 0
    with transaction.atomic():
        for signoff in CopySignoff.objects.select_for_update().filter(mentions):
            if signoff.operator_id in person.user_ids:
                signoff.operator, signoff.operator_label = None, person.pseudonym
            signoff.operator_label, signoff.note = replace(signoff.operator_label), replace(signoff.note)
            signoff.save(update_fields=["operator", "operator_label", "note"])
            changed += 1
    return changed


def export(*, person: Person) -> dict[str, Any]:
    """Progress (door answers, bucket, screens), paper trades, survey answers and screen events."""
    progress = Progress.objects.filter(tester_email=person.email)
    return {
        # The token's hash is a credential's digest: never exported (SPEC 0).
        "progress": rows(progress, without=("token_hash",)),
        "paper_trades": rows(PaperTrade.objects.filter(progress__in=progress).order_by("id")),
        "survey_answers": rows(SurveyAnswer.objects.filter(progress__in=progress).order_by("id")),
        "screen_events": rows(ScreenEvent.objects.filter(progress__in=progress).order_by("id")),
        # As an operator: the copy releases they signed off (SPEC W16).
        "copy_signoffs": rows(CopySignoff.objects.filter(operator__in=person.user_ids).order_by("id")),
    }
