"""SPEC A2, A8: the funnel page, its links and CSV; the invite page; the admin index block."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from audit.models import ChangeLogEntry
from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, SurveyAnswerFactory
from tests.walkthrough.funnel_data import T0, build_cohort
from walkthrough import funnel
from walkthrough.models import Progress, Track
from walkthrough.services import walkthrough_token_issue

# Inviting needs the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_off_copy")]
FUNNEL = "/admin/walkthrough/progress/cohort/"
INVITE = "/admin/walkthrough/progress/invite/"
CHANGELIST = "/admin/walkthrough/progress/"


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


def test_csv_is_the_long_form_of_the_page_with_group_and_range_in_its_name(admin_client, cohort):
    response = admin_client.get(f"{FUNNEL}?by=track&start=2026-07-01&end=2026-07-31&format=csv")

    assert response["Content-Type"] == "text/csv" and response.streaming
    assert (
        'filename="walkthrough-funnel-track-issued-2026-07-01_to_2026-07-31.csv"'
        in response["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # SPEC A9: one row per group × step, `group` the group-by's value, no Total mixed in.
    assert [(r["group"], r["step"]) for r in rows] == [
        (group, s.key) for group in ("full", "self_select") for s in funnel.STEPS
    ]
    full = {r["step"]: r for r in rows if r["group"] == "full"}
    assert [full[s]["reached"] for s in ("issued", "door", "scenario", "trade", "review", "survey")] == [
        "7", "6", "5", "4", "3", "3",
    ]  # fmt: skip
    assert (full["trade"]["n"], full["trade"]["rate"]) == ("5", "0.8000")
    assert (full["door"]["median_seconds"], full["issued"]["median_seconds"]) == ("180.0", "")


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
def test_the_page_and_its_csv_take_a_fixed_number_of_queries(
    admin_client, size, django_assert_num_queries, flags_stay_cached
):
    _bulk_testers(size)
    # The funnel's live queries: six, five on PostgreSQL (the times and their histogram are one).
    live = 5 if connection.vendor == "postgresql" else 6
    # Session + user + the session's second-factor device, the snapshot lookup (none yet), the
    # live queries and the flag overrides (a cold cache: the routing split compares with R's
    # rollout).
    with django_assert_num_queries(3 + 1 + live + 1):
        assert admin_client.get(f"{FUNNEL}?by=bucket_track").status_code == 200
    # The CSV also records the export.
    with django_assert_num_queries(11, exact=False):
        response = admin_client.get(f"{FUNNEL}?by=track&format=csv")
        assert response.status_code == 200 and b"".join(response.streaming_content)
    # A date range is always live: session + user + device + the live queries
    # (tests/walkthrough/test_funnel_snapshot.py pins the snapshot page's count).
    with django_assert_num_queries(3 + live):
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
    # In the change log per address, never with a token; stored nowhere else either (SPEC P2).
    entries = ChangeLogEntry.objects.filter(actor_user=operator).order_by("object_repr")
    assert [(e.actor, e.object_repr, e.action) for e in entries] == [
        ("operator", "known@example.com", "walkthrough.token_reissue"),
        ("operator", "new1@example.com", "walkthrough.token_issue"),
        ("operator", "new2@example.com", "walkthrough.token_issue"),
    ]
    assert len({e.request_id for e in entries}) == 1 and entries[0].request_id  # one request
    stored = " ".join(f"{e.before} {e.after} {e.object_repr}" for e in entries)
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
    assert not ChangeLogEntry.objects.exists()


def test_five_hundred_addresses_are_fine(admin_client):
    emails = "\n".join(f"t{n}@example.com" for n in range(500))
    response = admin_client.post(INVITE, {"emails": emails, "track": "full"})
    assert response.status_code == 200
    assert Progress.objects.count() == 500 and ChangeLogEntry.objects.count() == 500


def issue_on_invite_page(client, operator, email):
    return client.post(INVITE, {"emails": email, "track": "full"})


def issue_with_action(client, operator, email):
    progress = Progress.objects.get(tester_email=email)
    return client.post(CHANGELIST, {"action": "issue_new_token", "_selected_action": [progress.pk]})


def issue_with_command(client, operator, email):
    call_command("issue_walkthrough_token", email, "--by", operator.username, stdout=io.StringIO())


@pytest.mark.parametrize(
    ("issue", "where"),
    [
        (issue_on_invite_page, "on the invite page"),
        (issue_with_action, 'with the admin action "Issue a new token"'),
        (issue_with_command, "with manage.py issue_walkthrough_token"),
    ],
)
def test_every_way_of_issuing_writes_the_same_log_entry(admin_client, operator, issue, where):
    _, old = walkthrough_token_issue(email="tess@example.com")  # unlogged: no operator did it

    issue(admin_client, operator, "tess@example.com")

    (entry,) = ChangeLogEntry.objects.all()
    progress = Progress.objects.get(tester_email="tess@example.com")
    assert (entry.actor_user, entry.actor, entry.action, entry.object_repr) == (
        operator,
        "operator",
        "walkthrough.token_reissue",
        "tess@example.com",
    )
    assert entry.after == {"token": "new token, the earlier one revoked", "track": "full", "via": where}
    stored = f"{entry.before} {entry.after}"
    assert old not in stored and progress.token_hash not in stored


def test_the_command_logs_a_new_tester_under_command_or_the_staff_user_it_names(operator):
    out = io.StringIO()
    call_command("issue_walkthrough_token", "new@example.com", "--by", operator.username, stdout=out)
    call_command("issue_walkthrough_token", "newer@example.com", stdout=out)
    assert list(ChangeLogEntry.objects.order_by("id").values_list("actor", "action", "object_repr")) == [
        ("operator", "walkthrough.token_issue", "new@example.com"),
        ("command", "walkthrough.token_issue", "newer@example.com"),
    ]

    with pytest.raises(CommandError, match="No staff user 'nobody'"):
        call_command("issue_walkthrough_token", "other@example.com", "--by", "nobody")
    assert not Progress.objects.filter(tester_email="other@example.com").exists()


def test_analysts_cannot_open_or_post_the_invite_page(analyst_client):
    assert analyst_client.get(INVITE).status_code == 403
    assert analyst_client.post(INVITE, {"emails": "x@example.com", "track": "full"}).status_code == 403
    assert not Progress.objects.exists()
    assert 'id="invite-link"' not in analyst_client.get(CHANGELIST).content.decode()
    assert analyst_client.get(f"{FUNNEL}?format=csv").status_code == 200
