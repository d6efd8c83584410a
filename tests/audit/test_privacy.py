"""SPEC P3, P4: a person who touched every part of the system is exported, then erased.

Carol is a tester, a journal user and a staff operator; she failed a login, held sessions and
API keys, flipped a flag, invited a tester, made a taxonomy version and exported labels; other
operators invited her and revoked one of her keys. Her access-request export holds every row
made for her and nobody else's address; after `dsr_delete` a scan of every column of every
table finds none of her identifiers, and nothing she held works any more.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from audit.models import ChangeLogEntry
from journal.models import PaperOrder, TradeSentimentLabel
from tests.factories import UserFactory
from tests.journal.factories import CONDOR_LEGS
from tests.second_factor import backup_code, staff_login, totp_code
from walkthrough.demo import SAMPLE_LEGS
from walkthrough.models import PaperTrade, Progress, ScreenEvent, SurveyAnswer

# Inviting needs the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_off_copy")]

EMAIL, USERNAME, PASSWORD = "carol.quill@example.com", "carolq_ops", "carol's long passphrase 42"
SURNAME = "Quibblesworth"
NOTE = "Sized down after the gap; exited at my stop."
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the throttles count in the cache
    yield
    cache.clear()


def _admin(user) -> Client:
    return staff_login(Client(), user)


def _key_for(username: str) -> str:
    out = io.StringIO()
    call_command("drf_create_token", username, stdout=out)
    return out.getvalue().split()[2]


def _walk(token: str) -> None:
    """Door, scenario, a trade, the review and the survey, through the API as a tester would."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    steps = [
        ("screen/1", {"answers": {"goal": "income", "holdings": "no_shares"}}),
        ("screen/2", {}),
        ("screen/3", {"strategy_type": "iron_condor", "legs": SAMPLE_LEGS["iron_condor"]}),
        ("screen/4", {}),
        ("screen/5", {"answers": {"clarity": "4", "relevance": "yes", "next_step": "paper_trade_more"}}),
    ]
    for screen, body in steps:
        response = api.post(f"/api/walkthrough/{screen}", body, format="json")
        assert response.status_code in (200, 201), (screen, response.json())


@pytest.fixture
def world(set_flags):
    """Carol everywhere, Bob and Dave beside her, Olivia operating."""
    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    olivia = UserFactory(username="olivia_ops", email="olivia@example.com", is_staff=True, is_superuser=True)
    bob = UserFactory(username="bob", email="bob@example.com")
    carol = UserFactory(
        username=USERNAME,
        email=EMAIL,
        first_name="Carolyn",
        last_name=SURNAME,
        is_staff=True,
        is_superuser=True,
    )
    carol.set_password(PASSWORD)
    carol.save()

    # Tester: Olivia invites her on the invite page; Carol walks the screens.
    page = _admin(olivia).post("/admin/walkthrough/progress/invite/", {"emails": EMAIL, "track": "full"})
    token = re.search(r'<code class="token">([^<]+)</code>', page.content.decode()).group(1)
    _walk(token)

    # Journal user: two keys (Olivia revokes one in the admin), an order with a label and a note.
    key, spare = _key_for(USERNAME), _key_for(USERNAME)
    journal = APIClient()
    journal.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    ticket = {"symbol": "spy", "strategy_type": "iron_condor", "quantity": 1, "legs": CONDOR_LEGS}
    order = journal.post("/api/paper-orders/", ticket, format="json").json()
    label = journal.post(
        "/api/sentiment-labels/",
        {"trade_id": order["id"], "pre_label": "planned_setup", "journal_note": NOTE},
        format="json",
    )
    assert label.status_code == 201, label.json()
    from knox.models import AuthToken

    spare_row = AuthToken.objects.get(token_key=spare[:15])
    _admin(olivia).post(
        "/admin/knox/authtoken/",
        {"action": "revoke", "_selected_action": [f"{spare_row.user_id}.{spare_row.created.isoformat()}"]},
    )

    # Bob: a tester and journal user too, whose rows must survive.
    bob_key = _key_for("bob")
    bob_api = APIClient()
    bob_api.credentials(HTTP_AUTHORIZATION=f"Token {bob_key}")
    assert bob_api.post("/api/paper-orders/", ticket, format="json").status_code == 201
    call_command("issue_walkthrough_token", "bob@example.com", stdout=io.StringIO())

    # Staff: failed logins (a wrong password, a wrong code), then a real one with her
    # authenticator's code (a session, the login logs), then her actions; a spare backup code.
    staff = Client()
    code = totp_code(carol)
    backup_code(carol)
    staff.post("/admin/login/", {"username": USERNAME, "password": "wrong", "code": code})
    staff.post("/admin/login/", {"username": EMAIL, "password": "wrong", "code": code})
    login = staff.post("/admin/login/", {"username": USERNAME, "password": PASSWORD, "code": code})
    assert login.status_code == 302
    # A wrong code from another browser (after: django-otp then slows her devices down).
    Client().post("/admin/login/", {"username": USERNAME, "password": PASSWORD, "code": "000000"})
    flag = staff.post(
        "/admin/flags/flagoverride/",
        {"name": "FLAG_STRATEGY_TEMPLATES_V2", "state": "off", "reason": f"asked by {USERNAME}"},
    )
    assert flag.status_code == 302
    assert (
        staff.post(
            "/admin/walkthrough/progress/invite/", {"emails": "dave@example.com", "track": "full"}
        ).status_code
        == 200
    )
    taxonomy = staff.post(
        "/admin/journal/sentimenttaxonomyversion/add/",
        {
            "pre_labels": '[{"code": "sized_per_plan", "display": "Position sized per plan"}]',
            "post_labels": '[{"code": "exited_per_plan", "display": "Exited as planned"}]',
        },
    )
    assert taxonomy.status_code == 302
    labels = list(TradeSentimentLabel.objects.values_list("pk", flat=True))
    export = staff.post(
        "/admin/journal/tradesentimentlabel/",
        {"action": "export_csv", "_selected_action": labels, "index": 0},
    )
    assert export.status_code == 200
    # Django's own admin history names her too (an operator's stock change of her account).
    LogEntry.objects.log_actions(
        user_id=olivia.pk,
        queryset=User.objects.filter(pk=carol.pk),
        action_flag=CHANGE,
        change_message=f"Changed email for {EMAIL}.",
    )
    return {
        "backup": backup_code(carol),
        "carol": carol,
        "olivia": olivia,
        "bob": bob,
        "key": key,
        "spare": spare,
        "token": token,
        "staff": staff,
        "bob_key": bob_key,
        "order": order["id"],
    }


def _scan(needles: list[str]) -> list[tuple[str, str, str]]:
    """Every column of every table, as text, searched for each needle (case-insensitive)."""
    hits = []
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                for needle in needles:
                    cursor.execute(
                        f"SELECT COUNT(*) FROM {qn(table)} "
                        f"WHERE LOWER(CAST({qn(column.name)} AS TEXT)) LIKE %s",
                        [f"%{needle.lower()}%"],
                    )
                    if cursor.fetchone()[0]:
                        hits.append((table, column.name, needle))
    return hits


def test_the_export_holds_every_row_made_for_her_and_nobody_elses_address(world, tmp_path):
    carol = world["carol"]
    out = tmp_path / "carol.json"
    call_command("dsr_export", EMAIL.upper(), "--out", str(out), stdout=io.StringIO())
    document = json.loads(out.read_text())
    text = out.read_text()

    progress = Progress.objects.get(tester_email=EMAIL)
    walkthrough = document["walkthrough"]
    assert [row["id"] for row in walkthrough["progress"]] == [progress.pk]
    assert sorted(r["id"] for r in walkthrough["paper_trades"]) == sorted(
        PaperTrade.objects.filter(progress=progress).values_list("pk", flat=True)
    )
    assert sorted(r["id"] for r in walkthrough["survey_answers"]) == sorted(
        SurveyAnswer.objects.filter(progress=progress).values_list("pk", flat=True)
    )
    assert sorted(r["id"] for r in walkthrough["screen_events"]) == sorted(
        ScreenEvent.objects.filter(progress=progress).values_list("pk", flat=True)
    )
    assert len(walkthrough["screen_events"]) == 5 and walkthrough["progress"][0]["persona_answers"]
    journal = document["journal"]
    assert [r["id"] for r in journal["paper_orders"]] == [world["order"]]
    assert [r["journal_note"] for r in journal["labels"]] == [NOTE]  # the owner's own notes
    account = document["accounts"]
    assert [a["id"] for a in account["accounts"]] == [carol.pk]
    assert account["accounts"][0]["last_name"] == SURNAME and "password" not in account["accounts"][0]
    assert len(account["api_keys"]) == 1 and set(account["api_keys"][0]) == {"user_id", "created", "expiry"}
    assert (
        account["login_records"]["axes_accessattempt"]
        or account["login_records"]["axes_accessfailurelog"]
        or (account["login_records"]["axes_accesslog"])
    )
    actions = [(e["actor"], e["action"]) for e in document["audit"]["entries"]]
    assert ("staff member 1", "walkthrough.token_issue") in actions  # Olivia invited her
    assert ("staff member 1", "accounts.api_key_revoke") in actions  # and revoked a key
    assert ("command", "accounts.api_key_create") in actions
    for made_by_her in ("flag.override", "walkthrough.token_issue", "journal.taxonomy_create", "export"):
        assert (USERNAME, made_by_her) in actions
    # Nobody else's address or name: not Olivia, not Bob, not Dave whom she invited.
    assert {m.lower() for m in EMAIL_RE.findall(text)} == {EMAIL}
    assert "olivia" not in text.lower() and "bob" not in text.lower() and "dave" not in text.lower()
    # Never a credential: no key digest, no key prefix, no token hash.
    from knox.models import AuthToken

    for token in AuthToken.objects.all():
        assert token.digest not in text and token.token_key not in text
    assert progress.token_hash not in text
    # The export itself is in the change log, under the command.
    entry = ChangeLogEntry.objects.filter(action="export", subject=EMAIL).get()
    assert (entry.actor, entry.object_repr) == ("command", f"access request export for {EMAIL}")


def test_an_export_never_overwrites_a_file_and_a_bad_address_writes_nothing(world, tmp_path):
    existing = tmp_path / "there.json"
    existing.write_text("keep me")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Cannot create"):
        call_command("dsr_export", EMAIL, "--out", str(existing))
    with pytest.raises(CommandError, match="not an email address"):
        call_command("dsr_export", "nope", "--out", str(tmp_path / "new.json"))
    assert existing.read_text() == "keep me" and not (tmp_path / "new.json").exists()
    assert not ChangeLogEntry.objects.filter(action="export", subject=EMAIL).exists()


def test_erasure_leaves_no_trace_and_nothing_she_held_works(world):
    carol, key, token = world["carol"], world["key"], world["token"]
    orders_before = PaperOrder.objects.count()
    entries_by_her = ChangeLogEntry.objects.filter(actor_user=carol).count()
    assert entries_by_her >= 4

    needles = [EMAIL, USERNAME, SURNAME, key[:15], world["spare"][:15], token[:12], world["backup"]]
    # The scan sees her before: in every place the erasure has to reach.
    before = {(table, needle) for table, _, needle in _scan(needles)}
    assert {
        ("accounts_user", EMAIL),
        ("accounts_user", SURNAME),
        ("beta_walkthrough_progress", EMAIL),
        ("knox_authtoken", key[:15]),
        ("audit_changelogentry", EMAIL),
        ("audit_changelogentry", USERNAME),
        ("flags_flagaudit", USERNAME),
        ("flags_flagoverride", USERNAME),
        ("django_admin_log", EMAIL),
        ("axes_accesslog", USERNAME),
        ("axes_accessattempt", EMAIL),
        ("otp_static_statictoken", world["backup"]),
    } <= before, sorted(before)

    out = io.StringIO()
    call_command("dsr_delete", EMAIL, stdout=out)

    assert _scan(needles) == []
    # Nothing she held works: the key, the walkthrough token, the session, the password.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/paper-orders/").status_code == 401
    tester = APIClient()
    tester.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert tester.get("/api/walkthrough/").status_code == 401
    assert world["staff"].get("/admin/").status_code == 302
    assert world["staff"].get("/api/paper-orders/").status_code in (401, 403)
    carol.refresh_from_db()
    for username in (USERNAME, EMAIL, carol.username):
        browser = Client()
        login = browser.post(
            "/admin/login/", {"username": username, "password": PASSWORD, "code": world["backup"]}
        )
        assert login.status_code == 200 and "_auth_user_id" not in browser.session
        assert browser.get("/admin/").status_code == 302
    # Paper orders stay, on an account that names no one and cannot log in.
    assert PaperOrder.objects.count() == orders_before
    assert carol.username.startswith("erased-") and not carol.is_active and not carol.has_usable_password()
    assert (carol.email, carol.first_name, carol.last_name, carol.is_staff) == ("", "", "", False)
    # Her change-log entries stay, all under the one pseudonym her account now carries.
    assert set(ChangeLogEntry.objects.filter(actor_user=carol).values_list("actor", flat=True)) == {
        carol.username
    }
    assert ChangeLogEntry.objects.filter(actor_user=carol).count() == entries_by_her
    assert carol.username in out.getvalue()
    # Bob keeps everything; Olivia's entries keep her name.
    bob_api = APIClient()
    bob_api.credentials(HTTP_AUTHORIZATION=f"Token {world['bob_key']}")
    assert bob_api.get("/api/paper-orders/").status_code == 200
    assert Progress.objects.filter(tester_email="bob@example.com").exists()
    assert ChangeLogEntry.objects.filter(actor="olivia_ops").exists()
