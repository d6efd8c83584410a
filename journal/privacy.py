"""What the journal erases and exports for one person (SPEC P3, P4, J10)."""

from __future__ import annotations

from typing import Any

from audit.dsr import Person
from audit.export import rows
from journal.models import PaperOrder, TradeSentimentLabel
from journal.services import journal_labels_erase


def erase(*, person: Person) -> dict[str, int]:
    """The person's labels and notes. Paper orders stay (ADR 0133 D1): the account they hang on is
    pseudonymised by `accounts`, so they no longer point at anyone."""
    return journal_labels_erase(user_ids=person.user_ids)


def export(*, person: Person) -> dict[str, Any]:
    """Paper orders, and labels with their notes: the notes go to their owner only (SPEC J6, J12)."""
    return {
        "paper_orders": rows(PaperOrder.objects.filter(user_id__in=person.user_ids).order_by("id")),
        "labels": rows(TradeSentimentLabel.objects.filter(user_id__in=person.user_ids).order_by("id")),
    }
