"""Account-level duties: API keys and data-subject requests (the Analyst group is kept by
migrations alone: accounts/migrations/0003_i10_analyst_permissions.py)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import AuthToken

from accounts.privacy import account_erase, person_find
from audit.dsr import PSEUDONYMISED, others_blanked
from audit.models import COMMAND, Action
from audit.services import change_record, export_record

# The read-only group of SPEC A4 (created and kept by migrations 0002 and 0003).
ANALYST_GROUP = "Analyst"


def _key_named(token: AuthToken) -> str:
    # Named by owner and creation time: never by its digest or its lookup prefix (SPEC 0, P3).
    return f"API key of {token.user.get_username()} created {token.created:%Y-%m-%d %H:%M} UTC"


def api_key_create(*, user, actor: Any = COMMAND) -> str:
    """A new API key for `user`; only its digest is stored, so this is the one time it exists."""
    with transaction.atomic():
        token, key = AuthToken.objects.create(user=user)
        change_record(
            actor=actor,
            action=Action.API_KEY_CREATE,
            obj=_key_named(token),
            subject=user.email,
            after={"expiry": token.expiry.isoformat() if token.expiry else None},
        )
    return key


def api_keys_revoke(*, keys: QuerySet[AuthToken], actor: Any = COMMAND) -> int:
    """Delete these API keys, each recorded in the change log: they stop working at once."""
    with transaction.atomic():
        doomed = list(keys.select_related("user").select_for_update(of=("self",)))
        for token in doomed:
            change_record(
                actor=actor,
                action=Action.API_KEY_REVOKE,
                obj=_key_named(token),
                subject=token.user.email,
                before={"key": "valid"},
                after={"key": "revoked"},
            )
        deleted, _ = AuthToken.objects.filter(pk__in=[token.pk for token in doomed]).delete()
    return deleted


# --- Data-subject requests (SPEC P3, P4) -----------------------------------------------------
# Each app declares what it erases and exports in its `privacy` module; accounts only finds the
# person and runs the declarations, in this order: the apps' own rows first, then the account's
# keys, sessions and logs (revoking keys writes change-log entries), then the change log (which
# must see those entries), and the account row itself last.
# idempotency first: it finds a tester's keys through the walkthrough rows of their address.
PRIVACY_APPS = ("idempotency", "walkthrough", "journal", "flags", "accounts", "audit")


def _privacy(label: str):
    return importlib.import_module(f"{label}.privacy")


@dataclass(frozen=True)
class Erasure:
    pseudonym: str
    deleted: dict[str, int]
    pseudonymised: dict[str, int]


def dsr_delete(*, email: str, actor: Any = COMMAND) -> Erasure:
    """Erase a person at once (SPEC P3, W11, J10): nothing left in the database names them.

    Their walkthrough rows, labels, API keys, sessions and login-throttle logs are deleted; the
    change log, the flag audit and the admin's history keep their entries under a pseudonym;
    the account stays (paper orders are the execution record, ADR 0133 D1) but is inactive and
    names no one. One transaction: either all of it happens or none of it.
    """
    person = person_find(email=email)
    counts: dict[str, int] = {}
    with transaction.atomic():
        for label in PRIVACY_APPS:
            counts.update(_privacy(label).erase(person=person))
        counts.update(account_erase(person=person))
        change_record(
            actor=actor,
            action=Action.ERASURE,
            obj=f"the person now called {person.pseudonym}",
            after={"accounts": len(person.user_ids)},
        )
    deleted = {table: n for table, n in counts.items() if not table.endswith(PSEUDONYMISED)}
    pseudonymised = {
        table.removesuffix(PSEUDONYMISED): n for table, n in counts.items() if table.endswith(PSEUDONYMISED)
    }
    return Erasure(pseudonym=person.pseudonym, deleted=deleted, pseudonymised=pseudonymised)


def dsr_export(*, email: str, actor: Any = COMMAND) -> dict[str, Any]:
    """Everything stored about a person, as one JSON-ready document (SPEC P4).

    Each app contributes its own section; the change log's entries about or by the person name
    other staff as `staff member N`, and any other person's address anywhere in the document is
    replaced, so the document carries nobody else's identity. The export is itself recorded in
    the change log (in the caller's transaction).
    """
    person = person_find(email=email)
    document: dict[str, Any] = {"subject": person.email, "generated_at": timezone.now()}
    for label in PRIVACY_APPS:
        module = _privacy(label)
        if hasattr(module, "export"):
            document[label] = module.export(person=person)
    document = others_blanked(document, email=person.email)
    export_record(actor=actor, what=f"access request export for {person.email}", subject=person.email)
    return document
