"""SPEC W16: the copy sign-off gate. No tester is invited (invite page, token action,
`issue_walkthrough_token`) while the current copy release is unsigned; a copy change closes it."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_OPERATOR
from accounts.services import ANALYST_GROUP
from tests.factories import UserFactory
from walkthrough import scenarios, services
from walkthrough.models import CopySignoff, Progress

pytestmark = pytest.mark.django_db
INVITE = "/admin/walkthrough/progress/invite/"
CHANGELIST = "/admin/walkthrough/progress/"


def _issue(*args) -> str:
    out = io.StringIO()
    call_command("issue_walkthrough_token", *args, stdout=out)
    return out.getvalue()


def _signoff(*args) -> str:
    out = io.StringIO()
    call_command("copy_signoff", *args, stdout=out)
    return out.getvalue()


def _refusal_names_the_version_and_the_preview(text: str) -> None:
    assert scenarios.copy_version() in text
    assert "/admin/walkthrough/copysignoff/preview/" in text


def test_the_command_refuses_before_the_sign_off_and_issues_after_it(operator):
    with pytest.raises(CommandError) as refused:
        _issue("tess@example.com")
    _refusal_names_the_version_and_the_preview(str(refused.value))
    assert not Progress.objects.exists()

    said = _signoff("--operator", "operator", "--note", "Read every screen of the five rows.")

    assert scenarios.copy_version() in said
    assert _issue("tess@example.com").strip().splitlines()[-1].startswith("wt_")
    signoff = CopySignoff.objects.get()
    assert (signoff.operator, signoff.operator_label, signoff.copy_version) == (
        operator,
        "operator",
        scenarios.copy_version(),
    )
    assert signoff.note == "Read every screen of the five rows."


def test_the_invite_page_refuses_before_the_sign_off_and_works_after_it(admin_client, operator):
    page = admin_client.get(INVITE)
    assert page.status_code == 200
    _refusal_names_the_version_and_the_preview(page.content.decode())

    body = {"emails": "tess@example.com\nsam@example.com", "track": "full"}
    refused = admin_client.post(INVITE, body)
    assert refused.status_code == 409
    _refusal_names_the_version_and_the_preview(refused.content.decode())
    assert not Progress.objects.exists()

    services.copy_signoff_record(operator=operator, note="Checked.")
    invited = admin_client.post(INVITE, body)
    assert invited.status_code == 200
    assert Progress.objects.count() == 2


def test_the_token_action_refuses_before_the_sign_off(admin_client, operator):
    progress, _ = services.walkthrough_token_issue(email="tess@example.com")
    before = progress.token_hash
    action = {"action": "issue_new_token", "_selected_action": [progress.pk]}

    refused = admin_client.post(CHANGELIST, action, follow=True)
    _refusal_names_the_version_and_the_preview(refused.content.decode())
    progress.refresh_from_db()
    assert progress.token_hash == before

    services.copy_signoff_record(operator=operator, note="Checked.")
    issued = admin_client.post(CHANGELIST, action)
    assert issued.status_code == 200
    progress.refresh_from_db()
    assert progress.token_hash != before


@pytest.fixture
def copy_files(tmp_path, monkeypatch):
    """A private copy of the scenario files the code reads, to change one of them."""
    folder = tmp_path / "scenarios"
    shutil.copytree(scenarios.DATA_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(scenarios, "DATA_DIR", folder)
    scenarios.copy_caches_clear()
    yield folder
    monkeypatch.undo()
    scenarios.copy_caches_clear()


@pytest.mark.parametrize("bump", [True, False], ids=["new copy_version", "same copy_version"])
def test_changing_a_copy_file_closes_the_gate_until_a_new_sign_off(copy_files, operator, bump):
    services.copy_signoff_record(operator=operator, note="First release.")
    _issue("tess@example.com")

    door = copy_files / "door.json"
    data = json.loads(door.read_text(encoding="utf-8"))
    data["title"] += " (revised)"
    door.write_text(json.dumps(data, indent=2), encoding="utf-8")
    if bump:
        release = copy_files / "copy.json"
        meta = json.loads(release.read_text(encoding="utf-8"))
        meta["copy_version"] += "-r2"
        release.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    scenarios.copy_caches_clear()  # a deploy restarts the processes

    assert services.copy_signoff_current() is None
    with pytest.raises(CommandError) as refused:
        _issue("sam@example.com")
    _refusal_names_the_version_and_the_preview(str(refused.value))

    services.copy_signoff_record(operator=operator, note="Second release: the door title changed.")
    _issue("sam@example.com")
    assert CopySignoff.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--operator", "nobody", "--note", "x"], "No user named 'nobody'."),
        (["--operator", "ana", "--note", "x"], "not an active operator"),
        (["--operator", "operator", "--note", "   "], "needs a note"),
    ],
)
def test_the_sign_off_command_refuses_bad_input(operator, args, message):
    analyst = UserFactory(username="ana", is_staff=True)
    analyst.groups.add(Group.objects.get(name=ANALYST_GROUP))
    with pytest.raises(CommandError, match=message):
        _signoff(*args)
    assert not CopySignoff.objects.exists()


def test_a_release_is_signed_off_once(operator):
    _signoff("--operator", "operator", "--note", "Checked.")
    with pytest.raises(CommandError, match="already signed off by operator"):
        _signoff("--operator", "operator", "--note", "Again.")
    assert CopySignoff.objects.count() == 1


def test_seed_demo_signs_off_the_demo_copy_as_the_demo_operator():
    call_command("seed_demo", stdout=io.StringIO())

    signoff = services.copy_signoff_current()
    assert signoff is not None and signoff.operator_label == DEMO_OPERATOR[0]  # not the superuser
    call_command("seed_demo", stdout=io.StringIO())  # idempotent
    assert CopySignoff.objects.count() == 1


def test_a_sign_off_is_in_the_change_log(operator):
    from audit.models import Action, ChangeLogEntry

    services.copy_signoff_record(operator=operator, note="Read the five rows.")

    entry = ChangeLogEntry.objects.get(action=Action.COPY_SIGNOFF)
    assert (entry.actor, entry.object_repr, entry.reason) == (
        "operator",
        f"copy version {scenarios.copy_version()}",
        "Read the five rows.",
    )


def test_signing_off_on_the_page_asks_for_a_fresh_code(client, operator, staff_login):
    import datetime as dt

    import time_machine

    from tests.second_factor import totp_code

    with time_machine.travel(dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC), tick=False) as clock:
        staff_login(client, operator)
        clock.shift(dt.timedelta(minutes=11))
        asked = client.post("/admin/walkthrough/copysignoff/preview/", {"note": "Checked."})
        assert asked.status_code == 200 and 'name="reauth-code"' in asked.content.decode()
        assert not CopySignoff.objects.exists()
        done = client.post(
            "/admin/walkthrough/copysignoff/preview/",
            {"note": "Checked.", "reauth-code": totp_code(operator)},
        )
        assert done.status_code == 302
        assert CopySignoff.objects.get().note == "Checked."
