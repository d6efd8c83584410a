"""SPEC W13 under real concurrency (issue 8): door POSTs and trade POSTs of one tester never
interleave; each request has its own connection. PostgreSQL only."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.walkthrough.factories import SURVEY_ANSWERS, legs
from walkthrough import scenarios, services
from walkthrough.models import PaperTrade, Progress, ScreenEvent, SurveyAnswer, Track

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCOME = {"answers": {"goal": "income", "holdings": "no_shares"}}
DIRECTIONAL = {"answers": {"goal": "growth", "holdings": "no_shares"}}
IC_TRADE = {"strategy_type": "iron_condor", "legs": legs("iron_condor")}


def ready_at_the_builder(email: str) -> str:
    """A full-track income tester who answered the door and read screen 2; returns the token."""
    progress, raw = services.walkthrough_token_issue(email=email, track=Track.FULL)
    flags = scenarios.Flags(routing=True, self_select=False)
    services.door_answer(progress=progress, flags=flags, **INCOME)
    services.screen_continue(progress=progress, screen=2, flags=flags)
    return raw


def post(token: str, screen: str, body: dict):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(f"/api/walkthrough/{screen}", body, format="json")


def race(*requests: tuple[str, str, dict]) -> list[int]:
    """Run (token, screen, body) POSTs at once, each on its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int | str] = [""] * len(requests)

    def run(i: int, token: str, screen: str, body: dict) -> None:
        try:
            barrier.wait(timeout=10)
            statuses[i] = post(token, screen, body).status_code
        except Exception as exc:  # surfaces as a failed assertion, never a hang
            statuses[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def assert_trades_match_the_stored_bucket(progress: Progress) -> None:
    """Door answers freeze at the first trade, so the bucket stored now is the one each trade
    was made under; every trade must be the strategy that bucket is served (R on, S off)."""
    progress.refresh_from_db()
    served = scenarios.resolve_scenario(routing=True, self_select=False, bucket=progress.intent_bucket)
    strategies = set(PaperTrade.objects.filter(progress=progress).values_list("strategy_type", flat=True))
    assert strategies <= {served.strategy_type}, (progress.intent_bucket, strategies)
    trades = PaperTrade.objects.filter(progress=progress).count()
    assert ScreenEvent.objects.filter(progress=progress, screen=3).count() == trades


def test_a_door_change_between_reading_the_scenario_and_locking_cannot_store_a_stale_trade(
    set_flags, monkeypatch
):
    """Deterministic interleaving: the trade request pauses just before it takes the row lock,
    the door moves the tester to `directional`, then the trade goes on. The scenario must be
    resolved under the lock, so the iron condor is refused (409) instead of being stored
    under a directional tester."""
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    token = ready_at_the_builder("tess@example.com")
    paused, release = threading.Event(), threading.Event()
    locked = services._locked
    trader: list[threading.Thread] = []

    def pausing_locked(progress):
        if trader and threading.current_thread() is trader[0]:
            paused.set()
            release.wait(timeout=20)
        return locked(progress)

    monkeypatch.setattr(services, "_locked", pausing_locked)
    result: list[int] = []

    def trade() -> None:
        try:
            result.append(post(token, "screen/3", IC_TRADE).status_code)
        finally:
            connection.close()

    trader.append(threading.Thread(target=trade))
    trader[0].start()
    try:
        assert paused.wait(timeout=10)
        assert post(token, "screen/1", DIRECTIONAL).status_code == 200
    finally:
        release.set()
        trader[0].join(timeout=30)

    assert result == [409]
    progress = Progress.objects.get(tester_email="tess@example.com")
    assert progress.intent_bucket == "directional"
    assert not PaperTrade.objects.exists()
    assert_trades_match_the_stored_bucket(progress)


@pytest.mark.parametrize("round_", range(6))
def test_door_posts_racing_trade_posts_keep_every_trade_consistent(set_flags, round_):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    token = ready_at_the_builder(f"racer{round_}@example.com")

    statuses = race((token, "screen/1", DIRECTIONAL), (token, "screen/3", IC_TRADE))

    door, trade = statuses
    # Either the door won (the iron condor is stale: 409) or the trade did (the door is frozen).
    assert (door, trade) in {(200, 409), (409, 201)}, statuses
    progress = Progress.objects.get(tester_email=f"racer{round_}@example.com")
    assert progress.intent_bucket == ("directional" if door == 200 else "income")
    assert_trades_match_the_stored_bucket(progress)


def test_two_trade_posts_at_once_store_two_trades_and_never_500(set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    token = ready_at_the_builder("tess@example.com")

    statuses = race(*[(token, "screen/3", IC_TRADE)] * 4)

    assert set(statuses) <= {201, 409}, statuses
    progress = Progress.objects.get(tester_email="tess@example.com")
    assert PaperTrade.objects.filter(progress=progress).count() == statuses.count(201) >= 1
    assert_trades_match_the_stored_bucket(progress)
    assert progress.current_screen == 4


def test_a_survey_racing_a_door_change_and_a_trade_leaves_no_half_rows(set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    token = ready_at_the_builder("tess@example.com")

    statuses = race(
        (token, "screen/1", DIRECTIONAL),
        (token, "screen/3", IC_TRADE),
        (token, "screen/5", {"answers": SURVEY_ANSWERS}),
    )

    assert set(statuses) <= {200, 201, 409}, statuses
    # The survey comes after screen 4's continue, which nobody posted.
    assert statuses[2] == 409
    assert not SurveyAnswer.objects.exists()
    assert_trades_match_the_stored_bucket(Progress.objects.get(tester_email="tess@example.com"))
