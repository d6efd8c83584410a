"""SPEC A2, A8: the funnel page, its links and CSV; the invite page; the admin index block."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.services import ANALYST_GROUP
from tests.factories import UserFactory
from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, SurveyAnswerFactory
from tests.walkthrough.funnel_data import T0, build_cohort
from walkthrough.models import Progress, Track
from walkthrough.services import walkthrough_token_issue

pytestmark = pytest.mark.django_db
FUNNEL = "/admin/walkthrough/progress/cohort/"
INVITE = "/admin/walkthrough/progress/invite/"
CHANGELIST = "/admin/walkthrough/progress/"


@pytest.fixture
def admin_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def analyst_client() -> Client:
    analyst = UserFactory(username="ana", is_staff=True)
    analyst.groups.add(Group.objects.get(name=ANALYST_GROUP))
    client = Client()
    client.force_login(analyst)
    return client


@pytest.fixture
def cohort():
    build_cohort()


def count_links(page: str, table: str) -> list[tuple[str, int]]:
    """(href, number) of every link in the table whose text is a count (drop-offs as -N)."""
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [
        (html.unescape(href), int(text.replace("−", "")))
        for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>\s*(−?\d+)\s*</a>', body)
    ]


# --- the funnel page ---------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["intent_bucket", "track", "bucket_track"])
@pytest.mark.parametrize("dates", ["", "&start=2026-07-06&end=2026-07-06"])
def test_every_count_links_to_exactly_those_testers(admin_client, cohort, by, dates):
    ProgressFactory(
        created_at=dt.datetime(2026, 8, 3, tzinfo=dt.UTC), intent_bucket="income", current_screen=3
    )

    page = admin_client.get(f"{FUNNEL}?by={by}{dates}").content.decode()

    links = count_links(page, "cohort-table") + count_links(page, "weeks-table")
    assert len(links) > 30
    for href, expected in links:
        response = admin_client.get(href)
        assert response.status_code == 200, href
        assert response.context["cl"].result_count == expected, href


def test_the_page_shows_the_hand_computed_numbers_with_bars_from_static_css(admin_client, cohort):
    response = admin_client.get(FUNNEL)

    assert response.status_code == 200
    income = next(r for r in response.context["rows"] if r["row"].key == ("income", "*"))
    trade = income["steps"][3]
    assert (trade["cell"].reached, trade["cell"].conversion, trade["cell"].dropped) == (4, 80.0, 1)
    assert (trade["median"], trade["p90"]) == ("10 min 0 s", "14 min 0 s")
    assert trade["share"] == 66.7
    page = response.content.decode()
    assert 'class="bar-fg" width="66.7"' in page
    # CSP-safe: no inline style or script; the stylesheet is one of our static files.
    assert "style=" not in page and "<style" not in page
    assert "walkthrough/backoffice.css" in page
    assert "Every later action of those testers counts" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-07-10&end=2026-07-01", "The range starts (2026-07-10) after it ends (2026-07-01): swap"),
        ("start=2026-13-01", "Enter a date as YYYY-MM-DD"),
        ("end=yesterday", "Enter a date as YYYY-MM-DD"),
        ("by=email", "Select a valid choice"),
    ],
)
def test_bad_ranges_get_a_message_on_the_page_never_a_500(admin_client, cohort, query, message):
    response = admin_client.get(f"{FUNNEL}?{query}")

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert message in page
    assert 'id="cohort-table"' not in page  # never an unfiltered report

    export = admin_client.get(f"{FUNNEL}?{query}&format=csv")
    assert export.status_code == 400 and export["Content-Type"].startswith("text/plain")
    assert "testers" not in export.content.decode()


def test_csv_is_what_the_page_shows_with_group_and_range_in_name_and_column(admin_client, cohort):
    response = admin_client.get(f"{FUNNEL}?by=track&start=2026-07-01&end=2026-07-31&format=csv")

    assert response["Content-Type"] == "text/csv"
    assert (
        'filename="walkthrough-funnel-track-issued-2026-07-01_to_2026-07-31.csv"'
        in response["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["section"], r["row"]) for r in rows] == [
        ("funnel", "Full (persona questions)"),
        ("funnel", "Self-select (bucket choice)"),
        ("funnel", "Total"),
        ("week", "2026-W28"),
    ]
    assert {(r["group_by"], r["issued_range"]) for r in rows} == {("track", "2026-07-01_to_2026-07-31")}
    total = rows[2]
    assert [total[f"{s}_testers"] for s in ("issued", "door", "scenario", "trade", "review", "survey")] == [
        "8", "7", "6", "5", "4", "4",
    ]  # fmt: skip
    assert (total["trade_conversion_pct"], total["trade_dropped"]) == ("83.3", "1")
    assert (total["door_timed"], total["door_median_s"], total["door_p90_s"]) == ("6", "150.0", "270.0")
    assert total["trade_vertical_spread_testers"] == "1"
    assert total["overall_conversion_pct"] == "50.0"
    assert (total["survey_clarity_answered"], total["survey_clarity_2_pct"]) == ("4", "25.0")
    assert total["survey_clarity_mean"] == "3.5"
    week = rows[3]
    assert (week["issued_testers"], week["survey_testers"], week["overall_conversion_pct"]) == (
        "8",
        "4",
        "50.0",
    )


def test_whole_programme_csv_is_named_all(admin_client, cohort):
    response = admin_client.get(f"{FUNNEL}?format=csv")
    assert 'filename="walkthrough-funnel-intent_bucket-issued-all.csv"' in response["Content-Disposition"]


def _bulk_testers(size: int) -> None:
    testers = Progress.objects.bulk_create(
        Progress(
            tester_email=f"t{n}@example.com",
            token_hash=f"{n:064x}",
            intent_bucket=["income", "directional", None][n % 3],
            current_screen=1 + n % 5,
            created_at=T0 + dt.timedelta(days=n % 60),
        )
        for n in range(size)
    )
    PaperTradeFactory(progress=testers[0])
    SurveyAnswerFactory(progress=testers[0])


@pytest.mark.parametrize("size", [10, 10_000])
def test_the_page_and_its_csv_take_a_fixed_number_of_queries(admin_client, size, django_assert_num_queries):
    _bulk_testers(size)
    # Session + user, the snapshot lookup (none yet), then the funnel's five live queries.
    with django_assert_num_queries(8):
        assert admin_client.get(f"{FUNNEL}?by=bucket_track").status_code == 200
    with django_assert_num_queries(8):
        assert admin_client.get(f"{FUNNEL}?by=track&format=csv").status_code == 200
    # A date range is always live: session + user + five (tests/walkthrough/test_funnel_snapshot.py
    # pins the snapshot page's three).
    with django_assert_num_queries(7):
        assert admin_client.get(f"{FUNNEL}?by=track&start=2026-07-01").status_code == 200


# --- changelist filters the funnel links to ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reached=door", {"a", "b", "c", "d", "e", "g", "h"}),
        ("reached=trade", {"a", "b", "c", "g", "h"}),
        ("reached=survey", {"a", "b", "g", "h"}),
        ("stopped=scenario", {"d"}),
        ("stopped=issued", {"f"}),
        ("filled=vertical_spread", {"g"}),
        ("filled=iron_condor&track__exact=full", {"a", "b", "c", "h"}),
        ("issued_from=2026-07-07", set()),
        ("issued_to=2026-07-06&intent_bucket=__not_set__", {"f"}),
        ("reached=nonsense", {"a", "b", "c", "d", "e", "f", "g", "h"}),
    ],
)
def test_progress_list_filters_behind_the_funnel(admin_client, cohort, query, expected):
    response = admin_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert {p.tester_email.split("@")[0] for p in response.context["cl"].result_list} == expected


def test_a_malformed_issued_date_in_the_list_is_not_a_500(admin_client, cohort):
    response = admin_client.get(f"{CHANGELIST}?issued_from=July")
    # The admin's own answer to a bad lookup: back to the list with its "?e=1" error note.
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_lists_show_labels_not_codes(admin_client, cohort):
    page = admin_client.get(CHANGELIST).content.decode()
    assert "Income" in page and "4 · Review" in page and "Self-select (bucket choice)" in page
    answers = admin_client.get("/admin/walkthrough/surveyanswer/").content.decode()
    assert "5 · Very clear" in answers


def test_read_only_pages_have_no_save_button(admin_client, cohort):
    progress = Progress.objects.get(tester_email="a@example.com")
    trade = progress.paper_trades.first()
    answer = progress.survey_answers.first()
    for url in [
        f"{CHANGELIST}{progress.pk}/change/",
        f"/admin/walkthrough/papertrade/{trade.pk}/change/",
        f"/admin/walkthrough/surveyanswer/{answer.pk}/change/",
    ]:
        page = admin_client.get(url).content.decode()
        assert 'name="_save"' not in page and 'name="_continue"' not in page, url


# --- the admin index ----------------------------------------------------------------------------


def test_admin_index_has_the_beta_programme_block(admin_client, cohort, analyst_client):
    page = admin_client.get("/admin/").content.decode()
    block = page.split('id="beta-programme"', 1)[1]
    assert 'id="headline-testers">8<' in block and 'id="headline-completion">50.0%<' in block
    for link in (FUNNEL, INVITE, "/admin/flags/flagoverride/"):
        assert f'href="{link}"' in block

    analyst_block = analyst_client.get("/admin/").content.decode().split('id="beta-programme"', 1)[1]
    assert f'href="{FUNNEL}"' in analyst_block and f'href="{INVITE}"' not in analyst_block


# --- the invite page ----------------------------------------------------------------------------


def invited(response) -> dict[str, str]:
    page = response.content.decode()
    return dict(re.findall(r'<td class="email">([^<]+)</td><td><code class="token">([^<]+)</code>', page))


def test_operator_invites_a_cohort_and_each_token_works(admin_client, operator):
    _, old = walkthrough_token_issue(email="known@example.com")

    response = admin_client.post(
        INVITE,
        {"emails": "New1@example.com, new2@example.com\nknown@example.com new1@example.com", "track": "full"},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    tokens = invited(response)
    assert sorted(tokens) == ["known@example.com", "new1@example.com", "new2@example.com"]
    api = Client()
    for email, token in tokens.items():
        me = api.get("/api/walkthrough/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert me.status_code == 200 and me.json()["tester_email"] == email
    assert api.get("/api/walkthrough/", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 401
    # The CSV is built in the browser from this page: a static script, no inline code.
    page = response.content.decode()
    assert "walkthrough/invite.js" in page and 'id="download-tokens"' in page
    assert "<script>" not in page and "onclick" not in page
    # Logged per address, never with a token; stored nowhere else either.
    entries = LogEntry.objects.filter(user=operator).order_by("object_repr")
    assert [(e.object_repr, e.action_flag) for e in entries] == [
        ("known@example.com", CHANGE),
        ("new1@example.com", ADDITION),
        ("new2@example.com", ADDITION),
    ]
    stored = " ".join(f"{e.change_message} {e.object_repr}" for e in entries)
    stored += " ".join(str(s.get_decoded()) for s in Session.objects.all())
    assert not any(token in stored for token in tokens.values())
    assert not any(token in admin_client.get(CHANGELIST).content.decode() for token in tokens.values())


def test_self_select_invites_get_that_track(admin_client):
    admin_client.post(INVITE, {"emails": "s1@example.com s2@example.com", "track": "self_select"})
    assert set(Progress.objects.values_list("track", flat=True)) == {Track.SELF_SELECT}


@pytest.mark.parametrize(
    ("emails", "messages"),
    [
        (
            "ok@example.com\nnot-an-address\nalso@bad",
            ["Not a valid email address: not-an-address", "also@bad"],
        ),
        ("", ["This field is required."]),
        (" , ,\n", ["Enter at least one email address."]),
        (
            " ".join(f"t{n}@example.com" for n in range(501)),
            ["At most 500 addresses at a time; this list has 501"],
        ),
        ("other@example.com fresh@example.com", ["other@example.com is already a tester on the Self-select"]),
    ],
)
def test_any_invalid_address_issues_nothing(admin_client, emails, messages):
    other = ProgressFactory(tester_email="other@example.com", track=Track.SELF_SELECT)

    response = admin_client.post(INVITE, {"emails": emails, "track": "full"})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    for message in messages:
        assert message in page
    assert list(Progress.objects.values_list("pk", "token_hash")) == [(other.pk, other.token_hash)]
    assert not LogEntry.objects.exists()


def test_five_hundred_addresses_are_fine(admin_client):
    emails = "\n".join(f"t{n}@example.com" for n in range(500))
    response = admin_client.post(INVITE, {"emails": emails, "track": "full"})
    assert response.status_code == 200
    assert Progress.objects.count() == 500 and LogEntry.objects.count() == 500


def test_analysts_cannot_open_or_post_the_invite_page(analyst_client):
    assert analyst_client.get(INVITE).status_code == 403
    assert analyst_client.post(INVITE, {"emails": "x@example.com", "track": "full"}).status_code == 403
    assert not Progress.objects.exists()
    assert 'id="invite-link"' not in analyst_client.get(CHANGELIST).content.decode()
    assert analyst_client.get(f"{FUNNEL}?format=csv").status_code == 200
