"""Demo testers for `make run` (via `manage.py seed_demo`): both tracks and a small cohort.

Idempotent: existing testers are left alone, except the full-track demo tester, whose token
is re-issued on every run because a raw token is never stored and can only be shown once.
"""

from __future__ import annotations

from walkthrough import scenarios, services
from walkthrough.models import Progress, Track

DEMO_FULL = "demo-full@example.com"
DEMO_SELF_SELECT = "demo-self@example.com"


def _option(action: str, right: str, strike: str, expiry: str) -> dict:
    return {
        "action": action,
        "instrument": "option",
        "right": right,
        "strike": strike,
        "expiry": expiry,
        "quantity": 1,
    }


SAMPLE_LEGS = {
    "iron_condor": [
        _option("buy", "put", "5300", "2026-07-17"),
        _option("sell", "put", "5350", "2026-07-17"),
        _option("sell", "call", "5600", "2026-07-17"),
        _option("buy", "call", "5650", "2026-07-17"),
    ],
    "covered_call": [
        {
            "action": "buy",
            "instrument": "equity",
            "right": None,
            "strike": None,
            "expiry": None,
            "quantity": 100,
        },
        _option("sell", "call", "105", "2026-07-24"),
    ],
    "vertical_spread": [
        _option("buy", "call", "480", "2026-07-17"),
        _option("sell", "call", "490", "2026-07-17"),
    ],
}

# (email, track, door input, fill a trade, answer the survey): a cohort for the A2 view.
COHORT = [
    (
        "demo-income@example.com",
        Track.FULL,
        {"answers": {"goal": "income", "holdings": "no_shares"}},
        True,
        True,
    ),
    ("demo-cc@example.com", Track.FULL, {"answers": {"goal": "income", "holdings": "shares"}}, True, False),
    ("demo-directional@example.com", Track.SELF_SELECT, {"intent_bucket": "directional"}, True, True),
    (
        "demo-unsure@example.com",
        Track.FULL,
        {"answers": {"goal": "learn", "holdings": "no_shares"}},
        False,
        False,
    ),
]
SURVEY = {"clarity": "4", "relevance": "yes", "next_step": "paper_trade_more"}


def seed_demo(*, stdout) -> None:
    # Routing on, self-select on: the cohort shows all three scenarios. Each tester walks the
    # screens in order through the services, as the API would (SPEC W13).
    flags = scenarios.Flags(routing=True, self_select=True)
    for email, track, door, trade, survey in COHORT:
        if Progress.objects.for_email(email).exists():
            continue
        progress, _ = services.walkthrough_token_issue(email=email, track=track)
        progress = services.door_answer(progress=progress, flags=flags, **door)
        services.screen_continue(progress=progress, screen=2, flags=flags)
        if trade:
            served = flags.resolve(progress.intent_bucket)
            services.paper_trade_create(
                progress=progress,
                route=served.builder_route,
                strategy_type=served.strategy_type,
                legs=SAMPLE_LEGS[served.strategy_type],
                flags=flags,
            )
        if survey:
            services.screen_continue(progress=progress, screen=4, flags=flags)
            services.survey_submit(progress=progress, answers=SURVEY, flags=flags)
    if not Progress.objects.for_email(DEMO_SELF_SELECT).exists():
        services.walkthrough_token_issue(email=DEMO_SELF_SELECT, track=Track.SELF_SELECT)
    progress, raw = services.walkthrough_token_issue(
        email=DEMO_FULL, track=None if Progress.objects.for_email(DEMO_FULL).exists() else Track.FULL
    )
    stdout.write(f"Walkthrough demo tester: {progress.tester_email} (full track)")
    stdout.write(f"Tester token: {raw}")
