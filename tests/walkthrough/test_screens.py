"""SPEC W3, W4, W9: the door, the uniform screens, the survey; updated_at on every POST."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.walkthrough.conftest import with_bucket
from tests.walkthrough.factories import SURVEY_ANSWERS, PaperTradeFactory, legs
from walkthrough.models import PaperTrade, Progress, SurveyAnswer

T0 = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


# The documented answer -> bucket mapping (docs/walkthrough.md), every combination.
@pytest.mark.parametrize(
    ("goal", "holdings", "bucket"),
    [
        ("income", "shares", "covered_call"),
        ("income", "no_shares", "income"),
        ("growth", "shares", "directional"),
        ("growth", "no_shares", "directional"),
        ("learn", "shares", "unknown"),
        ("learn", "no_shares", "unknown"),
    ],
)
def test_full_track_answers_map_to_a_bucket(tess, goal, holdings, bucket):
    response = tess.post("screen/1", {"answers": {"goal": goal, "holdings": holdings}})

    assert response.status_code == 200, response.json()
    assert response.json()["intent_bucket"] == bucket
    progress = tess.refresh()
    assert progress.persona_answers == {"goal": goal, "holdings": holdings}
    assert (progress.intent_bucket, progress.current_screen) == (bucket, 2)


def test_door_shows_questions_to_full_and_choices_to_self_select(tess, sam):
    full = tess.get("screen/1").json()
    assert [q["id"] for q in full["questions"]] == ["goal", "holdings"]
    assert {"value", "label"} == set(full["questions"][0]["choices"][0])
    assert "choices" not in full

    own = sam.get("screen/1").json()
    assert [c["value"] for c in own["choices"]] == ["income", "covered_call", "directional", "unknown"]
    assert "questions" not in own


def test_self_select_stores_the_bucket_and_no_persona_answers(sam):
    response = sam.post("screen/1", {"intent_bucket": "directional"})

    assert response.status_code == 200
    progress = sam.refresh()
    assert (progress.intent_bucket, progress.persona_answers) == ("directional", None)


@pytest.mark.parametrize(
    ("actor", "body", "field"),
    [
        ("tess", {"answers": {"goal": "riches", "holdings": "shares"}}, "answers"),
        ("tess", {"answers": {"goal": "income"}}, "answers"),
        ("tess", {"answers": {"goal": "income", "holdings": "shares", "mood": "happy"}}, "answers"),
        ("tess", {"answers": {"goal": 1, "holdings": "shares"}}, "answers"),
        ("tess", {"answers": ["income", "shares"]}, "answers"),
        ("tess", {"answers": None}, "answers"),
        ("tess", {"intent_bucket": "income"}, "answers"),
        ("tess", {}, "answers"),
        ("sam", {"intent_bucket": "yolo"}, "intent_bucket"),
        ("sam", {"intent_bucket": None}, "intent_bucket"),
        ("sam", {"answers": {"goal": "income", "holdings": "shares"}}, "intent_bucket"),
        ("sam", {}, "intent_bucket"),
    ],
)
def test_unknown_door_input_is_400_and_changes_nothing(request, actor, body, field):
    tester = request.getfixturevalue(actor)
    before = Progress.objects.values().get(pk=tester.progress.pk)

    response = tester.post("screen/1", body)

    assert response.status_code == 400
    assert field in response.json()
    assert Progress.objects.values().get(pk=tester.progress.pk) == before


@pytest.mark.parametrize("screen", ["", "screen/1", "screen/2", "screen/3", "screen/4", "screen/5"])
@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"text"', "application/json"),
        ("a=b", "application/x-www-form-urlencoded"),
    ],
)
def test_garbage_bodies_are_4xx_never_500(tess, screen, raw, content_type):
    response = tess.client.generic("POST", "/api/walkthrough/" + screen, raw, content_type=content_type)
    assert response.status_code in {400, 405, 415}
    if screen != "":
        assert response.status_code in {400, 415}


@pytest.mark.parametrize("screen", ["screen/1", "screen/2", "screen/3", "screen/4", "screen/5"])
def test_json_nested_too_deep_to_decode_is_400_not_500(tess, screen):
    deep = "[" * 100_000 + "]" * 100_000  # well under the upload limit, beyond the decoder's depth
    response = tess.client.generic(
        "POST", "/api/walkthrough/" + screen, deep, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert tess.refresh().current_screen == 1


def test_updated_at_advances_on_every_screen_post(tess, set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    posts = [
        ("screen/1", {"answers": {"goal": "income", "holdings": "no_shares"}}),
        ("screen/2", {}),
        ("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")}),
        ("screen/4", {}),
        ("screen/5", {"answers": SURVEY_ANSWERS}),
        ("screen/5", {"answers": SURVEY_ANSWERS}),  # the idempotent repeat is still a POST
    ]
    with time_machine.travel(T0, tick=False) as traveller:
        for n, (screen, body) in enumerate(posts, start=1):
            traveller.move_to(T0 + dt.timedelta(minutes=n))
            assert tess.post(screen, body).status_code in {200, 201}
            assert tess.refresh().updated_at == T0 + dt.timedelta(minutes=n)


def test_a_failed_post_does_not_touch_updated_at(tess):
    before = tess.refresh().updated_at
    assert tess.post("screen/1", {"answers": {"goal": "nope"}}).status_code == 400
    assert tess.refresh().updated_at == before


def test_walk_through_all_five_screens(tess, set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    assert tess.get().json()["current_screen"] == 1

    assert tess.post("screen/1", {"answers": {"goal": "income", "holdings": "shares"}}).status_code == 200
    two = tess.get("screen/2").json()
    assert (two["screen"], two["scenario"]) == ("2", "covered_call")
    assert tess.post("screen/2").json()["current_screen"] == 3

    three = tess.get("screen/3").json()
    trade = tess.post(
        three["builder_route"].removeprefix("/api/walkthrough/"),
        {"strategy_type": three["strategy_type"], "legs": legs("covered_call")},
    )
    assert trade.status_code == 201, trade.json()

    four = tess.get("screen/4").json()
    assert (four["screen"], four["trade"]["id"]) == ("4", trade.json()["id"])
    assert tess.post("screen/4").json()["current_screen"] == 5

    five = tess.get("screen/5").json()
    assert [q["id"] for q in five["questions"]] == list(SURVEY_ANSWERS)
    assert five["answers"] is None
    done = tess.post("screen/5", {"answers": SURVEY_ANSWERS})
    assert done.status_code == 201
    summary = tess.get().json()
    assert summary["completed_at"] == done.json()["completed_at"]
    assert (summary["current_screen"], summary["paper_trades"], summary["survey_submitted"]) == (5, 1, True)
    # A completed walkthrough says so: nothing is next (issue 18).
    assert (summary["completed"], summary["next_screen"]) == (True, None)
    before = tess.post("screen/4").json()  # going back stays complete
    assert (before["completed"], before["next_screen"]) == (True, None)


@pytest.mark.parametrize("bucket", ["income", "covered_call", "directional", None])
def test_survey_is_the_same_on_every_path(tess, set_flags, bucket):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True, FLAG_BETA_WALKTHROUGH_SELF_SELECT=True)
    with_bucket(tess, bucket)
    questions = tess.get("screen/5").json()["questions"]
    assert [q["id"] for q in questions] == ["clarity", "relevance", "next_step"]


def test_survey_is_idempotent_per_tester(tess):
    PaperTradeFactory(progress=tess.progress)
    tess.post("screen/4")  # the survey follows the review (SPEC W13)
    with time_machine.travel(T0, tick=False) as traveller:
        first = tess.post("screen/5", {"answers": SURVEY_ANSWERS})
        traveller.shift(dt.timedelta(hours=1))
        again = tess.post("screen/5", {"answers": SURVEY_ANSWERS})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert tess.refresh().completed_at == T0
    assert SurveyAnswer.objects.filter(progress=tess.progress).count() == 3

    changed = tess.post("screen/5", {"answers": {**SURVEY_ANSWERS, "clarity": "1"}})
    assert changed.status_code == 409
    assert dict(SurveyAnswer.objects.values_list("question_id", "answer")) == SURVEY_ANSWERS


def test_the_survey_waits_for_a_paper_trade(tess):
    """Like screen 4: a tester who skipped the builder cannot inflate the cohort funnel."""
    tess.post("screen/1", {"answers": {"goal": "income", "holdings": "no_shares"}})
    tess.post("screen/2")
    before = tess.refresh()

    response = tess.post("screen/5", {"answers": SURVEY_ANSWERS})

    assert response.status_code == 409
    assert "paper trade" in response.json()["detail"]
    assert response.json()["next_screen"] == "/api/walkthrough/screen/3"
    assert not SurveyAnswer.objects.exists()
    after = tess.refresh()
    assert (after.current_screen, after.completed_at, after.updated_at) == (3, None, before.updated_at)


@pytest.mark.parametrize(
    "answers",
    [{"clarity": "4"}, {**SURVEY_ANSWERS, "clarity": "9"}, {**SURVEY_ANSWERS, "extra": "x"}, {}],
)
def test_bad_survey_answers_are_400_and_store_nothing(tess, answers):
    response = tess.post("screen/5", {"answers": answers})
    assert response.status_code == 400
    assert "answers" in response.json()
    assert not SurveyAnswer.objects.exists()
    assert tess.refresh().completed_at is None


def test_review_needs_a_filled_trade(tess):
    assert tess.get("screen/4").status_code == 409
    assert tess.post("screen/4").status_code == 409
    assert tess.refresh().current_screen == 1


def test_review_shows_the_latest_trade(tess):
    with_bucket(tess, "income")
    for _ in range(2):
        tess.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")})
    latest = PaperTrade.objects.latest("id")
    assert tess.get("screen/4").json()["trade"]["id"] == latest.id


def test_testers_see_only_their_own_progress(tess, sam):
    with_bucket(tess, "income")
    assert (
        tess.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")}).status_code
        == 201
    )
    assert sam.get().json()["tester_email"] == "sam@example.com"
    assert sam.get().json()["paper_trades"] == 0
    assert sam.get("screen/4").status_code == 409
