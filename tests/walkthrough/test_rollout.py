"""SPEC F8: persona routing rolled out to a share of testers; the others are the holdout.

The arm is stored on the progress row when the door is answered, reassigned by a new answer
under the rollout of the moment, frozen with the door at the first trade; OFF still wins.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from flags.rollout import in_rollout
from flags.services import flag_override_set
from flags.store import override_rollout
from tests.walkthrough.factories import ProgressFactory, legs
from walkthrough import services, stats
from walkthrough.models import Progress, Track

R = "FLAG_WALKTHROUGH_PERSONA_ROUTING"
API = "/api/walkthrough/"
COVERED_CALL = {"answers": {"goal": "income", "holdings": "shares"}}
INCOME = {"answers": {"goal": "income", "holdings": "no_shares"}}
TRADE = {s: {"strategy_type": s, "legs": legs(s)} for s in ("covered_call", "iron_condor")}


def expected_arm(progress: Progress, percent: int) -> str:
    return "routed" if in_rollout(flag=R, subject=str(progress.pk), percent=percent) else "holdout"


def one_of_each_arm(make_tester, percent: int) -> dict:
    """Issue testers until one falls in each arm under `percent` (the hash decides which)."""
    found: dict = {}
    for n in range(200):
        actor = make_tester(f"t{n}@example.com", Track.FULL)
        found.setdefault(expected_arm(actor.progress, percent), actor)
        if len(found) == 2:
            return found
    raise AssertionError("200 testers and still one arm empty")


@pytest.mark.django_db
def test_the_door_records_the_arm_and_the_holdout_gets_the_iron_condor(make_tester):
    with override_rollout(**{R: 50}):
        arms = one_of_each_arm(make_tester, 50)
        for arm, actor in arms.items():
            assert actor.post("screen/1", COVERED_CALL).status_code == 200
            assert actor.refresh().routing_arm == arm
            served = {actor.get(screen).json()["scenario"] for screen in ("screen/2", "screen/3", "")}
            assert served == {"covered_call" if arm == "routed" else "iron_condor"}


@pytest.mark.django_db
def test_answering_the_door_again_before_a_trade_reassigns_under_the_current_rollout(make_tester):
    with override_rollout(**{R: 50}):
        holdout = one_of_each_arm(make_tester, 50)["holdout"]
        holdout.post("screen/1", COVERED_CALL)
    assert holdout.refresh().routing_arm == "holdout"
    with override_rollout(**{R: 100}):
        assert holdout.get("screen/3").json()["scenario"] == "iron_condor"  # stored arm, until...
        assert holdout.post("screen/1", COVERED_CALL).status_code == 200
        assert holdout.refresh().routing_arm == "routed"
        assert holdout.get("screen/3").json()["scenario"] == "covered_call"


@pytest.mark.django_db
def test_the_arm_is_frozen_with_the_door_at_the_first_trade(make_tester):
    with override_rollout(**{R: 50}):
        arms = one_of_each_arm(make_tester, 50)
        for arm, actor in arms.items():
            actor.post("screen/1", COVERED_CALL)
            actor.post("screen/2", {})
            strategy = "covered_call" if arm == "routed" else "iron_condor"
            assert actor.post("screen/3", TRADE[strategy]).status_code == 201
    for percent in (1, 100):
        with override_rollout(**{R: percent}):
            for arm, actor in arms.items():
                refused = actor.post("screen/1", INCOME)
                assert refused.status_code == 409
                assert actor.refresh().routing_arm == arm
                scenario = actor.get("screen/4").json()["scenario"]
                assert scenario == ("covered_call" if arm == "routed" else "iron_condor")


@pytest.mark.django_db
def test_routing_off_wins_over_the_arm_and_records_none(make_tester, set_flags):
    with override_rollout(**{R: 50}):
        routed = one_of_each_arm(make_tester, 50)["routed"]
        routed.post("screen/1", COVERED_CALL)
    set_flags(**{R: False})  # the kill switch
    assert routed.get("screen/3").json()["scenario"] == "iron_condor"
    late = make_tester("late@example.com", Track.FULL)
    late.post("screen/1", COVERED_CALL)
    assert late.refresh().routing_arm is None  # no experiment runs while R is off


@pytest.mark.django_db
def test_a_tester_who_met_the_door_while_routing_was_off_gets_the_arm_of_their_trade(make_tester, set_flags):
    set_flags(**{R: False})
    actor = make_tester("early@example.com", Track.FULL)
    actor.post("screen/1", COVERED_CALL)
    actor.post("screen/2", {})
    set_flags(**{R: True})
    assert actor.refresh().routing_arm is None
    assert actor.post("screen/3", TRADE["covered_call"]).status_code == 201
    assert actor.refresh().routing_arm == "routed"


@pytest.mark.django_db(transaction=True)
def test_the_database_allows_only_the_two_arms():
    ProgressFactory(routing_arm="routed")
    ProgressFactory(routing_arm=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressFactory(routing_arm="control")


@pytest.mark.django_db
def test_the_arm_goes_with_the_row_on_a_data_subject_request():
    ProgressFactory(tester_email="gone@example.com", routing_arm="holdout")
    services.walkthrough_dsr_delete(email="gone@example.com")
    assert not Progress.objects.filter(routing_arm="holdout").exists()


# --- PostgreSQL: the Done-when of the rollout, through HTTP against a real override --------


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_fifty_percent_of_200_covered_call_testers_split_sticky_off_wins_frozen(monkeypatch):
    flag_override_set(name=R, state="on", rollout=50, reason="holdout study", actor_label="test")
    clients = []
    for n in range(200):
        _, raw = services.walkthrough_token_issue(email=f"cc{n}@example.com", track=Track.FULL)
        client = bearer(raw)
        assert client.post(f"{API}screen/1", COVERED_CALL, format="json").status_code == 200
        clients.append(client)
    arms = dict(Progress.objects.values_list("tester_email", "routing_arm"))
    routed = sum(arm == "routed" for arm in arms.values())
    holdout = sum(arm == "holdout" for arm in arms.values())
    assert routed + holdout == 200 and routed and holdout
    assert not stats.sample_ratio(first=routed, second=holdout, expected_share=0.5).mismatch

    # Sticky: every request serves the scenario of the tester's arm, again and again.
    for n, client in enumerate(clients):
        expected = "covered_call" if arms[f"cc{n}@example.com"] == "routed" else "iron_condor"
        for screen in ("screen/2", "screen/3", "screen/2", ""):
            assert client.get(f"{API}{screen}").json()["scenario"] == expected

    # OFF wins: the environment's kill switch over the database rollout serves everyone the IC.
    monkeypatch.setenv(R, "0")
    assert {c.get(f"{API}screen/3").json()["scenario"] for c in clients} == {"iron_condor"}
    monkeypatch.delenv(R)

    # Frozen after the first trade: the rollout moves, a new door answer is refused, the arm stays.
    first, second = clients[0], clients[1]
    for client in (first, second):
        client.post(f"{API}screen/2", {}, format="json")
        strategy = client.get(f"{API}screen/3").json()["strategy_type"]
        assert client.post(f"{API}screen/3", TRADE[strategy], format="json").status_code == 201
    before = dict(Progress.objects.values_list("tester_email", "routing_arm"))
    for percent in (1, 100):
        flag_override_set(name=R, state="on", rollout=percent, reason="move", actor_label="test")
        for client in (first, second):
            assert client.post(f"{API}screen/1", INCOME, format="json").status_code == 409
    after = dict(Progress.objects.values_list("tester_email", "routing_arm"))
    assert after == before
