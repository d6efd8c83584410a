"""SPEC A1–A3: walkthrough admin filters, token action, cohort numbers and CSV."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client

from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, SurveyAnswerFactory
from walkthrough.models import Progress, Track
from walkthrough.services import walkthrough_token_issue

# Inviting and the token action need the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_off_copy")]
CHANGELIST = "/admin/walkthrough/progress/"
COHORT = "/admin/walkthrough/progress/cohort/"


@pytest.fixture
def cohort():
    """income: 2 testers (one finished), covered_call: 1 with a CC trade, one not set, one self-select."""
    a = ProgressFactory(
        tester_email="a@example.com",
        intent_bucket="income",
        current_screen=5,
        completed_at=dt.datetime(2026, 7, 2, tzinfo=dt.UTC),
    )
    PaperTradeFactory(progress=a)
    PaperTradeFactory(progress=a)  # a re-fill counts the tester once
    SurveyAnswerFactory(progress=a, question_id="clarity", answer="4")
    SurveyAnswerFactory(progress=a, question_id="relevance", answer="yes")
    ProgressFactory(tester_email="b@example.com", intent_bucket="income", current_screen=2)
    c = ProgressFactory(tester_email="c@example.com", intent_bucket="covered_call", current_screen=4)
    PaperTradeFactory(progress=c, non_ic="covered_call")
    ProgressFactory(tester_email="d@example.com", intent_bucket=None, current_screen=1)
    ProgressFactory(
        tester_email="e@example.com", intent_bucket="directional", track=Track.SELF_SELECT, current_screen=3
    )


def emails(response) -> set[str]:
    return {p.tester_email for p in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"a", "b", "c", "d", "e"}),
        ("intent_bucket=income", {"a", "b"}),
        ("intent_bucket=__not_set__", {"d"}),
        ("track__exact=self_select", {"e"}),
        ("current_screen__exact=4", {"c"}),
        ("completed=yes", {"a"}),
        ("completed=no", {"b", "c", "d", "e"}),
        ("q=c%40example", {"c"}),
    ],
)
def test_progress_changelist_filters(admin_client, cohort, query, expected):
    response = admin_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert emails(response) == {f"{x}@example.com" for x in expected}


def test_token_hash_is_never_shown(admin_client):
    progress, _ = walkthrough_token_issue(email="tess@example.com")
    for url in [CHANGELIST, f"{CHANGELIST}{progress.pk}/change/"]:
        page = admin_client.get(url).content.decode()
        assert progress.token_hash not in page
        assert "token_hash" not in page and "Token hash" not in page


def issue_tokens_in_admin(client: Client, *progress: Progress):
    return client.post(
        CHANGELIST, {"action": "issue_new_token", "_selected_action": [p.pk for p in progress]}
    )


def shown_tokens(response) -> dict[str, str]:
    page = response.content.decode()
    rows = re.findall(r'<td class="email">([^<]+)</td><td><code class="token">([^<]+)</code>', page)
    return dict(rows)


def test_issue_token_action_shows_the_new_token_once(admin_client):
    progress, old = walkthrough_token_issue(email="tess@example.com")

    response = issue_tokens_in_admin(admin_client, progress)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = shown_tokens(response)["tess@example.com"]
    assert new.startswith("wt_") and new != old
    api = Client()
    assert api.get("/api/walkthrough/", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200
    assert api.get("/api/walkthrough/", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 401
    # Shown once: the next page no longer carries it.
    assert new not in admin_client.get(CHANGELIST).content.decode()


def test_issued_tokens_are_stored_nowhere_not_even_in_messages_or_the_session(admin_client):
    # Sixty tokens overflow the messages cookie, so message storage would write the session row.
    testers = [walkthrough_token_issue(email=f"t{n:02}@example.com")[0] for n in range(60)]

    response = issue_tokens_in_admin(admin_client, *testers)

    tokens = shown_tokens(response)
    assert sorted(tokens) == sorted(p.tester_email for p in testers)
    assert not response.cookies.get("messages") or not response.cookies["messages"].value
    sessions = [str(s.get_decoded()) for s in Session.objects.all()]
    assert sessions and not any(token in text for text in sessions for token in tokens.values())


@pytest.mark.parametrize(
    "url",
    [
        f"{CHANGELIST}?token_hash__startswith=",
        f"{CHANGELIST}?token_hash=",
        "/admin/walkthrough/papertrade/?progress__token_hash__startswith=",
        "/admin/walkthrough/surveyanswer/?progress__token_hash__startswith=",
    ],
)
def test_the_admin_cannot_filter_on_the_token_hash(admin_client, url):
    """A filter would let anyone with view permission read the hash prefix by prefix."""
    progress, _ = walkthrough_token_issue(email="tess@example.com")
    PaperTradeFactory(progress=progress)
    SurveyAnswerFactory(progress=progress)

    response = admin_client.get(url + progress.token_hash[:2])

    assert response.status_code == 400


# The funnel's numbers, links, CSV and bad ranges: tests/walkthrough/test_backoffice.py.


def test_cohort_needs_admin_view_permission(cohort, alice, staff_login):
    alice.is_staff = True
    alice.save()
    client = Client()
    staff_login(client, alice)
    assert client.get(COHORT).status_code == 403
    alice.groups.add(Group.objects.get(name="Analyst"))
    assert client.get(COHORT).status_code == 200


@pytest.mark.parametrize(
    ("url", "query", "expected"),
    [
        ("/admin/walkthrough/papertrade/", "intent_bucket=income", 2),
        ("/admin/walkthrough/papertrade/", "intent_bucket=covered_call", 1),
        ("/admin/walkthrough/papertrade/", "intent_bucket=__not_set__", 0),
        ("/admin/walkthrough/surveyanswer/", "intent_bucket=income", 2),
        ("/admin/walkthrough/surveyanswer/", "intent_bucket=directional", 0),
    ],
)
def test_trades_and_survey_answers_filter_by_the_testers_bucket(admin_client, cohort, url, query, expected):
    response = admin_client.get(f"{url}?{query}")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == expected


def test_changelists_do_not_query_per_row(admin_client, cohort, django_assert_max_num_queries):
    for _ in range(20):
        PaperTradeFactory(progress=Progress.objects.get(tester_email="b@example.com"))
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/walkthrough/papertrade/").status_code == 200
