"""The person a data-subject request is about (SPEC P3, P4), and the text tools both requests use.

`accounts` finds the person (an email, the accounts with it) and hands each app a `Person`;
each app erases or exports its own rows, and nothing else (no app reaches into another's
tables). This module sits in the bottom layer so every app can use it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

PSEUDONYM_PREFIX = "erased-"
OTHER_PERSON = "(another person)"
# Wide enough for any address stored here; used only to blank other people's addresses in an export.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Person:
    """One data subject: their address, their accounts' ids and usernames, and a pseudonym."""

    email: str
    user_ids: tuple[int, ...] = ()
    usernames: tuple[str, ...] = ()
    # Stable for one erasure: every row that named the person names this instead.
    pseudonym: str = field(default_factory=lambda: PSEUDONYM_PREFIX + secrets.token_hex(6))

    @property
    def names(self) -> tuple[str, ...]:
        """Every identifier text could carry: the address and each username."""
        return tuple(dict.fromkeys(n for n in (self.email, *self.usernames) if n))


def replacer(names: Iterable[str], substitute: str) -> Callable[[Any], Any]:
    """Replace each name, as a whole word, case-insensitively, in text and nested JSON values."""
    words = sorted({n for n in names if n}, key=len, reverse=True)
    if not words:
        return lambda value: value
    # Address or username characters on either side mean a longer word: leave it alone.
    pattern = re.compile(
        r"(?<![\w@.+-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w@+-])", re.IGNORECASE
    )

    def replace(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(substitute, value)
        if isinstance(value, list):
            return [replace(item) for item in value]
        if isinstance(value, dict):
            return {replace(key): replace(item) for key, item in value.items()}
        return value

    return replace


def others_blanked(value: Any, *, email: str) -> Any:
    """Every address in `value` except the person's own becomes OTHER_PERSON (SPEC P4)."""
    own = email.lower()

    def blank(match: re.Match) -> str:
        return match.group(0) if match.group(0).lower() == own else OTHER_PERSON

    if isinstance(value, str):
        return EMAIL_RE.sub(blank, value)
    if isinstance(value, list):
        return [others_blanked(item, email=email) for item in value]
    if isinstance(value, dict):
        return {others_blanked(k, email=email): others_blanked(v, email=email) for k, v in value.items()}
    return value


PSEUDONYMISED = " (pseudonymised)"


def pseudonymised(table: str) -> str:
    """The key an erasure's count uses for rows it kept but rewrote, next to tables it deleted from."""
    return table + PSEUDONYMISED
