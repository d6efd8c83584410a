"""SPEC W16: the operators' preview of every W5 row, built by the API's own payload builders,
writing nothing; analysts get a 403; the sign-off form records who, when and a note."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.walkthrough.conftest import with_bucket
from tests.walkthrough.factories import legs
from walkthrough import preview, services
from walkthrough.models import CopySignoff, PaperTrade, Progress

pytestmark = pytest.mark.django_db
PREVIEW = "/admin/walkthrough/copysignoff/preview/"


def test_the_refusal_message_points_at_the_real_preview_url():
    assert reverse("admin:walkthrough_preview") == PREVIEW == services.PREVIEW_URL


def test_the_preview_lists_the_five_matrix_rows(admin_client):
    page = admin_client.get(PREVIEW)
    assert page.status_code == 200
    html = page.content.decode()
    for row in preview.MATRIX_ROWS:
        assert f'data-row="{row.key}"' in html
        assert reverse("admin:walkthrough_preview_row", args=[row.key]) in html
    assert [r.served.scenario for r in preview.MATRIX_ROWS] == [
        "iron_condor",
        "iron_condor",
        "covered_call",
        "vertical_spread",
        "vertical_spread",
    ]
    assert [r.served.inline_guide for r in preview.MATRIX_ROWS] == [False, False, False, False, True]
    assert preview.MATRIX_ROWS[3].served.builder_route == "/api/walkthrough/screen/simple/1"


@pytest.mark.parametrize("row", [r.key for r in preview.MATRIX_ROWS])
def test_each_row_shows_five_screens_and_a_picture_and_writes_nothing(admin_client, row):
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(reverse("admin:walkthrough_preview_row", args=[row]))
    assert page.status_code == 200
    html = page.content.decode()
    for screen in ("1", "2", "4", "5"):
        assert f'data-screen="{screen}"' in html
    assert 'data-screen="3"' in html or 'data-screen="simple/1"' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="payoff"') == 1
    assert "<script" not in html.split('id="content-main"')[1].split("</section>")[-2]
    writes = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert not Progress.objects.exists() and not PaperTrade.objects.exists()


# (row key, bucket, flags) of a real tester on each row
TESTERS = {
    "routing-off": (
        "income",
        {"FLAG_WALKTHROUGH_PERSONA_ROUTING": False, "FLAG_BETA_WALKTHROUGH_SELF_SELECT": False},
    ),
    "income": (
        "income",
        {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True, "FLAG_BETA_WALKTHROUGH_SELF_SELECT": False},
    ),
    "covered-call": (
        "covered_call",
        {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True, "FLAG_BETA_WALKTHROUGH_SELF_SELECT": False},
    ),
    "directional-simple": (
        "directional",
        {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True, "FLAG_BETA_WALKTHROUGH_SELF_SELECT": True},
    ),
    "directional-inline": (
        "directional",
        {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True, "FLAG_BETA_WALKTHROUGH_SELF_SELECT": False},
    ),
}


@pytest.mark.parametrize("row", list(TESTERS))
def test_each_row_is_exactly_what_a_tester_on_that_row_receives(tess, set_flags, row):
    bucket, flags = TESTERS[row]
    set_flags(**flags)
    with_bucket(tess, bucket)
    shown, example = preview.row_screens(preview.ROWS_BY_KEY[row])
    by_route = {s.route.removeprefix("/api/walkthrough/"): s.payload for s in shown}

    assert tess.get("screen/2").json() == by_route["screen/2"]
    builder = shown[3]
    assert tess.get(builder.route.removeprefix("/api/walkthrough/")).json() == builder.payload
    assert tess.get("screen/5").json() == by_route["screen/5"]
    door = tess.get("screen/1").json()
    assert {k: v for k, v in door.items() if k not in ("persona_answers",)} == {
        k: v for k, v in shown[0].payload.items() if k != "persona_answers"
    }

    strategy = builder.payload["strategy_type"]
    assert example.legs_json == legs(strategy)  # the worked example is the demo's sample trade
    created = tess.post(
        builder.route.removeprefix("/api/walkthrough/"), {"strategy_type": strategy, "legs": legs(strategy)}
    )
    assert created.status_code == 201, created.json()
    review = tess.get("screen/4").json()
    expected = shown[4].payload
    assert {k: v for k, v in review.items() if k != "trade"} == {
        k: v for k, v in expected.items() if k != "trade"
    }
    assert review["trade"]["legs"] == expected["trade"]["legs"]


@pytest.mark.parametrize("url", [PREVIEW, f"{PREVIEW}income/"])
def test_analysts_get_a_403(analyst_client, url):
    assert analyst_client.get(url).status_code == 403
    assert analyst_client.post(PREVIEW, {"note": "x"}).status_code == 403
    assert not CopySignoff.objects.exists()


def test_analysts_may_read_the_sign_off_log(analyst_client, signed_off_copy):
    page = analyst_client.get("/admin/walkthrough/copysignoff/")
    assert page.status_code == 200
    assert signed_off_copy.copy_version in page.content.decode()
    assert 'id="open-preview"' not in page.content.decode()


def test_an_unknown_row_is_a_404(admin_client):
    assert admin_client.get(f"{PREVIEW}no-such-row/").status_code == 404


def test_an_operator_signs_off_on_the_preview_page(admin_client, operator):
    page = admin_client.get(PREVIEW).content.decode()
    assert 'id="signoff-form"' in page and "Not signed off yet" in page

    assert admin_client.post(PREVIEW, {"note": "  "}).status_code == 400
    done = admin_client.post(PREVIEW, {"note": "Read all five rows against the checklist."})

    assert done.status_code == 302
    signoff = CopySignoff.objects.get()
    assert (signoff.operator, signoff.note) == (operator, "Read all five rows against the checklist.")
    page = admin_client.get(PREVIEW).content.decode()
    assert 'id="signoff-form"' not in page and "Signed off by <strong>operator</strong>" in page
    assert admin_client.post(PREVIEW, {"note": "again"}).status_code == 409


def test_the_sign_off_log_allows_no_add_change_or_delete(admin_client, signed_off_copy):
    assert admin_client.get("/admin/walkthrough/copysignoff/add/").status_code == 403
    change = admin_client.post(
        f"/admin/walkthrough/copysignoff/{signed_off_copy.pk}/change/", {"note": "edited"}
    )
    assert CopySignoff.objects.get().note == signed_off_copy.note
    assert change.status_code in (200, 403)
    assert (
        admin_client.post(f"/admin/walkthrough/copysignoff/{signed_off_copy.pk}/delete/").status_code == 403
    )


def test_the_tester_page_shows_each_trade_with_its_review_and_picture_and_the_survey(admin_client, tess):
    with_bucket(tess, "income")
    tess.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")})
    tess.post("screen/4")
    tess.post("screen/5", {"answers": {"clarity": "4", "relevance": "yes", "next_step": "paper_trade_more"}})

    page = admin_client.get(f"/admin/walkthrough/progress/{tess.progress.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="module bo-trade"' in html
    assert "took in a net credit of <strong>850.00</strong>" in html
    assert "largest possible loss is <strong>4150.00</strong>" in html
    assert 'data-breakeven="5341.50"' in html and 'data-strike="5650.00"' in html
    assert 'id="survey-answers"' in html
    assert html.count("<tr><td>") >= 3 + 4  # three answers, four legs


@pytest.mark.parametrize("strategy", ["iron_condor", "vertical_spread", "covered_call"])
def test_the_pictures_in_the_docs_are_what_the_server_draws(strategy):
    """docs/walkthrough.md shows the worked examples' pictures: regenerate them if this fails
    (write `preview.trade_picture(preview.example_trade(strategy))` plus a newline to the file)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "img" / f"payoff-{strategy.replace('_', '-')}.svg"
    assert path.read_text(encoding="utf-8") == preview.trade_picture(preview.example_trade(strategy)) + "\n"
