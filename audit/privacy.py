"""What the change log erases and exports for one person (SPEC P3, P4): see audit.services."""

from __future__ import annotations

from typing import Any

from audit.dsr import Person
from audit.services import change_log_erase, change_log_export


def erase(*, person: Person) -> dict[str, int]:
    return change_log_erase(person=person)


def export(*, person: Person) -> dict[str, Any]:
    return {"entries": change_log_export(person=person)}
