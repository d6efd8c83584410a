"""Demo testers for `make run` (via `manage.py seed_demo`): both tracks and a small cohort.

Idempotent: existing testers are left alone, except the full-track demo tester, whose token
is re-issued on every run because a raw token is never stored and can only be shown once.
"""

from __future__ import annotations

from walkthrough import scenarios, services
from walkthrough.models import Progress, Screen, Track

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


DEMO_SIGNOFF_NOTE = "Demo data for make run: the demo operator signs off the bundled copy."


def seed_copy_signoff(*, operator, stdout) -> None:
    """SPEC W16: `make run` walks straight through, so the demo operator signs off the copy."""
    if services.copy_signoff_current() is None:
        services.copy_signoff_record(operator=operator, note=DEMO_SIGNOFF_NOTE)
    who = operator.get_username()
    stdout.write(f"Walkthrough copy {scenarios.copy_version()}: signed off as {who} (demo)")


def seed_demo(*, stdout) -> None:
    from accounts.demo import DEMO_OPERATOR
    from accounts.models import User

    seed_copy_signoff(operator=User.objects.get(username=DEMO_OPERATOR[0]), stdout=stdout)
    # Routing on, self-select on: the cohort shows all three scenarios. Each tester walks the
    # screens in order through the services, as the API would (SPEC W13).
    flags = scenarios.Flags(routing=True, self_select=True)
    for email, track, door, trade, survey in COHORT:
        if Progress.objects.for_email(email).exists():
            continue
        progress, _ = services.walkthrough_token_issue(email=email, track=track)
        progress = services.door_answer(progress=progress, flags=flags, **door)
        services.screen_continue(progress=progress, screen=Screen.SCENARIO, flags=flags)
        if trade:
            served = services.served_for(progress=progress, flags=flags)
            services.paper_trade_create(
                progress=progress,
                route=served.builder_route,
                strategy_type=served.strategy_type,
                legs=SAMPLE_LEGS[served.strategy_type],
                flags=flags,
            )
        if survey:
            services.screen_continue(progress=progress, screen=Screen.REVIEW, flags=flags)
            services.survey_submit(progress=progress, answers=SURVEY, flags=flags)
    if not Progress.objects.for_email(DEMO_SELF_SELECT).exists():
        services.walkthrough_token_issue(email=DEMO_SELF_SELECT, track=Track.SELF_SELECT)
    progress, raw = services.walkthrough_token_issue(
        email=DEMO_FULL, track=None if Progress.objects.for_email(DEMO_FULL).exists() else Track.FULL
    )
    stdout.write(f"Walkthrough demo tester: {progress.tester_email} (full track)")
    stdout.write(f"Tester token: {raw}")
