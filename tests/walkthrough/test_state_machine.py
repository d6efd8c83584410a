"""SPEC W13, W14 (issue 8): one screen state machine, frozen door answers, screen events.

Every refusal is a 409 that names the next step and leaves every row as it was.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.walkthrough.factories import SURVEY_ANSWERS, legs
from walkthrough import scenarios
from walkthrough.models import PaperTrade, Progress, ScreenEvent, SurveyAnswer

API = "/api/walkthrough/"
S3, SIMPLE = f"{API}screen/3", f"{API}screen/simple/1"
T0 = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
BOTH = {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True, "FLAG_BETA_WALKTHROUGH_SELF_SELECT": True}
DOOR = {
    "income": {"answers": {"goal": "income", "holdings": "no_shares"}},
    "covered_call": {"answers": {"goal": "income", "holdings": "shares"}},
    "directional": {"answers": {"goal": "growth", "holdings": "no_shares"}},
    "unknown": {"answers": {"goal": "learn", "holdings": "no_shares"}},
}
STRATEGY = {"income": "iron_condor", "covered_call": "covered_call", "directional": "vertical_spread"}


def snapshot(actor) -> tuple:
    """Everything a refused POST must leave alone: the row and each child table's rows."""
    row = Progress.objects.values().get(pk=actor.progress.pk)
    return (
        row,
        list(PaperTrade.objects.filter(progress_id=row["id"]).values_list("id", flat=True)),
        list(ScreenEvent.objects.filter(progress_id=row["id"]).values_list("id", flat=True)),
        list(SurveyAnswer.objects.filter(progress_id=row["id"]).values_list("id", "answer")),
    )


def trade_body(bucket: str) -> dict:
    strategy = STRATEGY.get(bucket, "iron_condor")
    return {"strategy_type": strategy, "legs": legs(strategy)}


def walk(actor, bucket: str, *, upto: int, route: str = "screen/3") -> None:
    """POST the screens in order up to and including step `upto`."""
    steps = [
        ("screen/1", DOOR[bucket]),
        ("screen/2", {}),
        (route, trade_body(bucket)),
        ("screen/4", {}),
        ("screen/5", {"answers": SURVEY_ANSWERS}),
    ]
    for screen, body in steps[:upto]:
        response = actor.post(screen, body)
        assert response.status_code in {200, 201}, (screen, response.json())


def assert_refused(actor, screen: str, body: dict, **names: str) -> dict:
    before = snapshot(actor)
    response = actor.post(screen, body)
    assert response.status_code == 409, response.json()
    payload = response.json()
    assert payload["detail"]
    for key, value in names.items():
        assert payload[key] == value, payload
    assert snapshot(actor) == before
    return payload


# --- What went wrong before (issue 8) --------------------------------------------------------


def test_a_new_tester_cannot_trade_or_answer_the_survey_before_the_door(tess, set_flags):
    set_flags(**BOTH)

    assert_refused(tess, "screen/3", trade_body("income"), next_screen=f"{API}screen/1")
    assert_refused(tess, "screen/5", {"answers": SURVEY_ANSWERS}, next_screen=f"{API}screen/1")
    assert not PaperTrade.objects.exists()


def test_the_door_is_frozen_after_the_first_trade(tess, set_flags):
    set_flags(**BOTH)
    walk(tess, "income", upto=5)

    assert_refused(tess, "screen/1", DOOR["directional"], next_screen=f"{API}screen/5")
    assert_refused(tess, "screen/1", DOOR["income"], next_screen=f"{API}screen/5")
    assert tess.refresh().intent_bucket == "income"


def test_a_directional_trade_is_accepted_only_on_its_builder_route(tess, set_flags):
    set_flags(**BOTH)
    walk(tess, "directional", upto=2)

    assert_refused(tess, "screen/3", trade_body("directional"), builder_route=SIMPLE)
    assert tess.post("screen/simple/1", trade_body("directional")).status_code == 201


# --- The state machine, step by step ---------------------------------------------------------

# (steps done, POST that is ahead of the next step, the next_screen the 409 names)
AHEAD = [
    (0, "screen/2", "screen/1"),
    (0, "screen/3", "screen/1"),
    (0, "screen/4", "screen/1"),
    (0, "screen/5", "screen/1"),
    (1, "screen/3", "screen/2"),
    (1, "screen/4", "screen/2"),
    (1, "screen/5", "screen/2"),
    (2, "screen/4", "screen/3"),
    (2, "screen/5", "screen/3"),
    (3, "screen/5", "screen/4"),
]
BODIES = {
    "screen/2": {},
    "screen/3": trade_body("income"),
    "screen/4": {},
    "screen/5": {"answers": SURVEY_ANSWERS},
}


@pytest.mark.parametrize(("done", "screen", "next_screen"), AHEAD)
def test_a_post_ahead_of_the_next_step_is_409_naming_it(tess, set_flags, done, screen, next_screen):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    walk(tess, "income", upto=done)

    assert_refused(tess, screen, BODIES[screen], next_screen=API + next_screen)
    assert tess.get().json()["next_screen"] == API + next_screen


def test_the_next_builder_step_names_the_builder_route(tess, set_flags):
    set_flags(**BOTH)
    walk(tess, "directional", upto=2)

    assert_refused(tess, "screen/4", {}, next_screen=SIMPLE)
    assert tess.get().json()["next_screen"] == SIMPLE


@pytest.mark.parametrize("done", [0, 1, 2, 3, 5])
def test_every_get_stays_readable_and_writes_nothing(tess, set_flags, done):
    set_flags(**BOTH)
    walk(tess, "income", upto=done)
    before = snapshot(tess)

    for screen in ("", "screen/1", "screen/2", "screen/3", "screen/simple/1", "screen/5"):
        assert tess.get(screen).status_code == 200, screen
    review = tess.get("screen/4")
    assert review.status_code == (200 if done >= 3 else 409)
    if done < 3:
        assert review.json()["next_screen"] == API + f"screen/{min(done + 1, 3)}"
    assert snapshot(tess) == before


def test_going_back_is_allowed_and_never_moves_the_tester_back(tess, set_flags):
    set_flags(**BOTH)
    walk(tess, "covered_call", upto=5)

    assert tess.post("screen/2").status_code == 200
    assert tess.post("screen/3", trade_body("covered_call")).status_code == 201
    assert tess.post("screen/4").status_code == 200
    assert tess.post("screen/5", {"answers": SURVEY_ANSWERS}).status_code == 200
    progress = tess.refresh()
    assert (progress.current_screen, progress.intent_bucket) == (5, "covered_call")
    assert PaperTrade.objects.filter(progress=progress).count() == 2


def test_the_door_may_change_until_the_first_trade(tess, set_flags):
    set_flags(**BOTH)
    walk(tess, "income", upto=2)

    assert tess.post("screen/1", DOOR["covered_call"]).status_code == 200
    progress = tess.refresh()
    assert (progress.intent_bucket, progress.current_screen) == ("covered_call", 3)

    assert tess.post("screen/3", trade_body("covered_call")).status_code == 201
    assert_refused(tess, "screen/1", DOOR["income"], next_screen=f"{API}screen/4")


def test_self_select_door_is_frozen_too(sam, set_flags):
    set_flags(**BOTH)
    assert sam.post("screen/1", {"intent_bucket": "covered_call"}).status_code == 200
    sam.post("screen/2")
    assert sam.post("screen/3", trade_body("covered_call")).status_code == 201

    assert_refused(sam, "screen/1", {"intent_bucket": "directional"}, next_screen=f"{API}screen/4")


# (R, S, bucket, route posted to, the builder_route a 409 names; None = accepted)
ROUTES = [
    (True, True, "directional", "screen/3", SIMPLE),
    (True, True, "directional", "screen/simple/1", None),
    (True, True, "income", "screen/simple/1", S3),
    (True, True, "covered_call", "screen/simple/1", S3),
    (True, True, "unknown", "screen/simple/1", S3),
    (True, True, "income", "screen/3", None),
    (True, False, "directional", "screen/3", None),
    (False, True, "directional", "screen/simple/1", S3),
    (False, True, "directional", "screen/3", None),
]


@pytest.mark.parametrize(("routing", "self_select", "bucket", "route", "refused_with"), ROUTES)
def test_a_trade_is_accepted_only_on_the_current_builder_route(
    tess, set_flags, routing, self_select, bucket, route, refused_with
):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=routing, FLAG_BETA_WALKTHROUGH_SELF_SELECT=self_select)
    walk(tess, bucket, upto=2)
    served = tess.get("screen/3").json()
    body = {"strategy_type": served["strategy_type"], "legs": legs(served["strategy_type"])}

    if refused_with is None:
        assert tess.post(route, body).status_code == 201
    else:
        payload = assert_refused(tess, route, body, builder_route=refused_with)
        assert refused_with in payload["detail"]
        # The builder payload on the refused route points at the real one, too.
        assert tess.get(route).json()["builder_route"] == refused_with


def test_a_stale_strategy_type_is_409_naming_the_builder_route(tess, set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    walk(tess, "covered_call", upto=2)

    assert_refused(tess, "screen/3", trade_body("income"), builder_route=S3, strategy_type="covered_call")


def test_a_different_survey_is_409_naming_the_next_screen(tess):
    walk(tess, "income", upto=5)
    assert_refused(
        tess, "screen/5", {"answers": {**SURVEY_ANSWERS, "clarity": "1"}}, next_screen=f"{API}screen/5"
    )


def test_bad_input_on_a_frozen_door_is_still_400(tess):
    walk(tess, "income", upto=3)
    before = snapshot(tess)
    assert tess.post("screen/1", {"answers": {"goal": "riches"}}).status_code == 400
    assert snapshot(tess) == before


# --- Legacy rows (created before the state machine) -------------------------------------------


def legacy(actor, **fields) -> None:
    Progress.objects.filter(pk=actor.progress.pk).update(**fields)
    actor.refresh()


@pytest.mark.parametrize(
    ("fields", "with_trade", "next_screen"),
    [
        ({"current_screen": 1}, False, "screen/1"),
        ({"current_screen": 2}, False, "screen/2"),
        ({"current_screen": 3}, False, "screen/3"),
        ({"current_screen": 4}, True, "screen/4"),
        ({"current_screen": 5}, False, "screen/3"),  # past the builder without a trade: capped
        ({"current_screen": 1}, True, "screen/4"),  # a trade from before the door: past the builder
    ],
)
def test_legacy_null_bucket_rows_continue_from_their_current_screen(
    tess, set_flags, fields, with_trade, next_screen
):
    set_flags(**BOTH)
    legacy(tess, intent_bucket=None, persona_answers=None, **fields)
    if with_trade:
        PaperTrade.objects.create(
            progress=tess.progress,
            strategy_type="iron_condor",
            legs_json=legs("iron_condor"),
            short_call_strike=5600,
            long_call_strike=5650,
            short_put_strike=5350,
            long_put_strike=5300,
            expiry=dt.date(2026, 7, 17),
            net_credit=8.5,
        )

    assert tess.get().json()["next_screen"] == API + next_screen


def test_a_legacy_iron_condor_tester_mid_flow_finishes_on_the_iron_condor(tess, set_flags):
    set_flags(**BOTH)
    legacy(tess, intent_bucket=None, persona_answers=None, current_screen=3)

    assert tess.get("screen/3").json()["scenario"] == "iron_condor"
    assert tess.post("screen/3", trade_body("income")).status_code == 201
    assert tess.post("screen/4").status_code == 200
    assert tess.post("screen/5", {"answers": SURVEY_ANSWERS}).status_code == 201
    progress = tess.refresh()
    assert (progress.intent_bucket, progress.current_screen, progress.completed) == (None, 5, True)
    # Frozen like everyone else's: the bucket stays "not set" under the iron-condor trade.
    assert_refused(tess, "screen/1", DOOR["directional"], next_screen=f"{API}screen/5")


# --- Screen events (SPEC W14) ----------------------------------------------------------------


def test_each_successful_post_appends_one_event_in_order(tess, set_flags):
    set_flags(**BOTH)
    with time_machine.travel(T0, tick=False) as traveller:
        for n in range(1, 6):
            traveller.move_to(T0 + dt.timedelta(minutes=n))
            walk_one = [
                ("screen/1", DOOR["directional"]),
                ("screen/2", {}),
                ("screen/simple/1", trade_body("directional")),
                ("screen/4", {}),
                ("screen/5", {"answers": SURVEY_ANSWERS}),
            ][n - 1]
            assert tess.post(*walk_one).status_code in {200, 201}
        traveller.move_to(T0 + dt.timedelta(minutes=6))
        assert tess.post("screen/5", {"answers": SURVEY_ANSWERS}).status_code == 200  # idempotent repeat

    events = list(
        ScreenEvent.objects.for_progress(tess.progress).values_list("screen", "strategy_type", "created_at")
    )
    assert list(events) == [
        (1, None, T0 + dt.timedelta(minutes=1)),
        (2, None, T0 + dt.timedelta(minutes=2)),
        (3, "vertical_spread", T0 + dt.timedelta(minutes=3)),
        (4, None, T0 + dt.timedelta(minutes=4)),
        (5, None, T0 + dt.timedelta(minutes=5)),
        (5, None, T0 + dt.timedelta(minutes=6)),
    ]


def test_refused_posts_write_no_event(tess, set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    assert tess.post("screen/1", {"answers": {"goal": "nope"}}).status_code == 400
    assert tess.post("screen/2").status_code == 409
    walk(tess, "income", upto=2)
    bad = trade_body("income")
    bad["legs"][0]["strike"] = "1"
    assert tess.post("screen/3", bad).status_code == 400
    assert list(ScreenEvent.objects.values_list("screen", flat=True)) == [1, 2]


def test_the_summary_reports_the_copy_version(tess):
    assert tess.get().json()["copy_version"] == scenarios.copy_version()
    assert isinstance(scenarios.copy_version(), str)
    assert scenarios.copy_version()
