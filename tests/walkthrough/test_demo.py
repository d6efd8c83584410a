"""`make run` demo data: testers on both tracks and a printed, working full-track token."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from walkthrough.models import PaperTrade, Progress, Track

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_prints_a_working_full_track_token_and_is_idempotent():
    seed()
    output = seed()  # a second run re-issues the demo token and adds nothing else

    token = next(line for line in output.splitlines() if line.startswith("Tester token: ")).split(": ")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    summary = client.get("/api/walkthrough/").json()
    assert (summary["tester_email"], summary["track"]) == ("demo-full@example.com", "full")
    assert set(Progress.objects.values_list("track", flat=True)) == {Track.FULL, Track.SELF_SELECT}
    assert Progress.objects.count() == 6
    assert set(PaperTrade.objects.values_list("strategy_type", flat=True)) == {
        "iron_condor",
        "covered_call",
        "vertical_spread",
    }


def test_the_demo_cohort_walks_the_screens_in_order():
    """seed_demo goes through the state machine (SPEC W13), so the events are a real funnel."""
    seed()
    steps = {
        p.tester_email: list(p.screen_events.values_list("screen", flat=True))
        for p in Progress.objects.prefetch_related("screen_events")
    }
    assert steps["demo-income@example.com"] == [1, 2, 3, 4, 5]
    assert steps["demo-cc@example.com"] == [1, 2, 3]
    assert steps["demo-unsure@example.com"] == [1, 2]
    assert steps["demo-full@example.com"] == []
