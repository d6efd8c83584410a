"""What the idempotency keys hold of one person (SPEC P3, P4): the answers their retried POSTs
would replay, for 24 hours at most. Erased with the rest; exported as the answers they got."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from audit.dsr import Person
from audit.export import rows
from idempotency.models import IdempotencyKey


def _owners(person: Person) -> list[str]:
    # The walkthrough's testers by address, looked up by name: this app sits below walkthrough.
    progress = apps.get_model("walkthrough", "Progress")
    testers = progress.objects.filter(tester_email=person.email).values_list("pk", flat=True)
    return [*(f"user:{pk}" for pk in person.user_ids), *(f"tester:{pk}" for pk in testers)]


def erase(*, person: Person) -> dict[str, int]:
    """Runs first (accounts.services.PRIVACY_APPS): the tester rows that name the keys still exist."""
    deleted, _ = IdempotencyKey.objects.filter(owner__in=_owners(person)).delete()
    return {"idempotency_keys": deleted}


def export(*, person: Person) -> dict[str, Any]:
    return {"idempotency_keys": rows(IdempotencyKey.objects.filter(owner__in=_owners(person)).order_by("id"))}
