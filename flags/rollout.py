"""Gradual rollout (SPEC F8): which subjects a flag ON for P % of subjects reaches.

A subject's slot is a stable hash of the flag name and the subject, so the assignment is
sticky (the same in every process, on every request, after every restart) and independent
between flags; a subject is in the rollout when its slot is below P % of the slot range, so
raising P only adds subjects and lowering it only removes them.
"""

from __future__ import annotations

import hashlib

MIN_PERCENT, MAX_PERCENT = 1, 100
# 10,000 slots: one per 0.01 %, so whole percentages split the range exactly.
SLOTS = 10_000


def rollout_slot(*, flag: str, subject: str) -> int:
    """The subject's place in [0, SLOTS) for this flag: SHA-256, not Python's salted hash()."""
    digest = hashlib.sha256(f"{flag}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SLOTS


def in_rollout(*, flag: str, subject: str, percent: int) -> bool:
    return rollout_slot(flag=flag, subject=subject) < percent * SLOTS // 100


def check_percent(percent: int) -> int:
    """0 < P ≤ 100, whole percentages; anything else is ValueError with the reason."""
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise ValueError(f"a rollout is a whole percentage, got {percent!r}")
    if not MIN_PERCENT <= percent <= MAX_PERCENT:
        raise ValueError(f"a rollout is between {MIN_PERCENT} and {MAX_PERCENT} %, got {percent}")
    return percent
