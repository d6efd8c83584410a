"""The forward-looking phrase list (SPEC J9) as data, and the one matcher that reads it."""

from __future__ import annotations

import functools
import re
from pathlib import Path

BANNED_PHRASES_FILE = Path(__file__).resolve().parent / "copy" / "banned_phrases.txt"


@functools.cache
def banned_phrases() -> tuple[str, ...]:
    lines = BANNED_PHRASES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@functools.cache
def _pattern() -> re.Pattern[str]:
    # Word boundaries, so "willing" or "expectation" do not trip "will" / "expect".
    alternatives = "|".join(re.escape(phrase) for phrase in banned_phrases())
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def find_banned(text: str) -> list[str]:
    """Every banned phrase found in `text`, lower-cased, in order of appearance."""
    return [match.group(0).lower() for match in _pattern().finditer(text)]
