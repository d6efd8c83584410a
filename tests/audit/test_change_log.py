"""SPEC P2: one change log, written by the services, for every admin or command write and export."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken

from accounts.services import ANALYST_GROUP, api_key_create
from audit.models import COMMAND, ChangeLogEntry
from audit.services import change_record
from config.request_id import get_request_id
from flags.models import FlagAudit
from tests.factories import UserFactory
from tests.walkthrough.factories import ProgressFactory
from walkthrough.models import Progress

# Inviting needs the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signed_off_copy")]
LOG = "/admin/audit/changelogentry/"
INVITE = "/admin/walkthrough/progress/invite/"
KEYS = "/admin/knox/authtoken/"


@pytest.fixture
def ops(operator, staff_login) -> Client:
    return staff_login(Client(), operator)


def entries() -> list[tuple]:
    return list(
        ChangeLogEntry.objects.order_by("id").values_list("actor", "action", "object_repr", "subject")
    )


def test_actor_is_a_user_or_command(alice):
    assert change_record(actor=alice, action="x.test", obj="thing").actor == "alice"
    entry = change_record(actor=COMMAND, action="x.test", obj="thing")
    assert (entry.actor, entry.actor_user, entry.request_id) == ("command", None, "")
    with pytest.raises(ValueError, match="actor must be a user or 'command'"):
        change_record(actor="root", action="x.test", obj="thing")
    with pytest.raises(ValueError, match="needs an action and an object"):
        change_record(actor=COMMAND, action="x.test", obj="")


def test_the_admin_invite_names_each_address_its_actor_and_request(ops, operator):
    ProgressFactory(tester_email="known@example.com")
    response = ops.post(INVITE, {"emails": "known@example.com fresh@example.com", "track": "full"})
    assert response.status_code == 200
    assert entries() == [
        ("operator", "walkthrough.token_reissue", "known@example.com", "known@example.com"),
        ("operator", "walkthrough.token_issue", "fresh@example.com", "fresh@example.com"),
    ]
    request_ids = set(ChangeLogEntry.objects.values_list("request_id", flat=True))
    assert request_ids == {response["X-Request-ID"]}


def test_a_refused_invite_records_nothing(ops):
    ProgressFactory(tester_email="self@example.com", track="self_select")
    response = ops.post(INVITE, {"emails": "self@example.com new@example.com", "track": "full"})
    assert response.status_code == 400
    assert not ChangeLogEntry.objects.exists() and Progress.objects.count() == 1


def test_the_token_action_is_recorded(ops):
    tester = ProgressFactory(tester_email="t@example.com")
    ops.post("/admin/walkthrough/progress/", {"action": "issue_new_token", "_selected_action": [tester.pk]})
    assert entries() == [("operator", "walkthrough.token_reissue", "t@example.com", "t@example.com")]


def test_the_token_command_is_recorded_as_command():
    call_command("issue_walkthrough_token", "cmd@example.com", stdout=io.StringIO())
    assert entries() == [("command", "walkthrough.token_issue", "cmd@example.com", "cmd@example.com")]


def test_api_keys_made_and_revoked_by_command_and_admin(ops, alice):
    call_command("drf_create_token", "alice", stdout=io.StringIO())
    call_command("drf_create_token", "alice", "--reset", stdout=io.StringIO())
    key = AuthToken.objects.get(user=alice)
    response = ops.post(
        KEYS, {"action": "revoke", "_selected_action": [f"{key.user_id}.{key.created.isoformat()}"]}
    )
    assert response.status_code == 302 and not AuthToken.objects.exists()
    rows = entries()
    assert [(actor, action) for actor, action, _, _ in rows] == [
        ("command", "accounts.api_key_create"),
        ("command", "accounts.api_key_revoke"),
        ("command", "accounts.api_key_create"),
        ("operator", "accounts.api_key_revoke"),
    ]
    assert all(
        obj.startswith("API key of alice created ") and subject == "alice@example.com"
        for *_, obj, subject in rows
    )
    # Never the key, its digest or its lookup prefix (SPEC 0, P3).
    texts = " ".join(str(v) for row in ChangeLogEntry.objects.values() for v in row.values())
    assert key.token_key not in texts and key.digest not in texts


def test_a_command_has_no_request_id_and_a_request_has_one(ops):
    assert get_request_id() is None
    ops.post(INVITE, {"emails": "a@example.com", "track": "full"}, HTTP_X_REQUEST_ID="req-abc.123")
    assert ChangeLogEntry.objects.get().request_id == "req-abc.123"


def test_the_change_log_is_read_only_for_everyone_and_filterable(ops, alice):
    api_key_create(user=alice)
    change_record(actor=alice, action="flag.override", obj="FLAG_SENTIMENT_JOURNAL", reason="why")
    entry = ChangeLogEntry.objects.get(action="flag.override")
    assert ops.get(f"{LOG}add/").status_code == 403
    assert ops.get(f"{LOG}{entry.pk}/delete/").status_code == 403
    assert ops.post(f"{LOG}{entry.pk}/change/", {"reason": "rewritten"}).status_code == 403
    page = ops.get(LOG, {"action": "flag.override"}).content.decode()
    assert "FLAG_SENTIMENT_JOURNAL" in page and "API key of alice" not in page
    page = ops.get(LOG, {"actor": "command"}).content.decode()
    assert "API key of alice" in page and "FLAG_SENTIMENT_JOURNAL" not in page
    assert ops.get(LOG, {"q": "FLAG_SENTIMENT"}).status_code == 200


def test_analysts_and_plain_staff_cannot_read_the_change_log(staff_login):
    analyst = UserFactory(username="ana", is_staff=True)
    analyst.groups.add(Group.objects.get(name=ANALYST_GROUP))
    assert staff_login(Client(), analyst).get(LOG).status_code == 403
    assert staff_login(Client(), UserFactory(username="plain", is_staff=True)).get(LOG).status_code == 403


def test_flag_audit_history_is_copied_into_the_change_log(operator):
    FlagAudit.objects.create(
        name="FLAG_SENTIMENT_JOURNAL",
        old_value="unset",
        new_value="on",
        reason="cohort 1",
        actor=operator,
        actor_label="admin:operator",
        effective_value="on",
        decided_by="database",
    )
    FlagAudit.objects.create(
        name="FLAG_SENTIMENT_JOURNAL", old_value="on", new_value="off", reason="kill", actor_label="cli:root"
    )
    migration = importlib.import_module("audit.migrations.0002_flag_audit_history")
    migration.copy(apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))
    rows = ChangeLogEntry.objects.order_by("id")
    assert [(e.actor, e.actor_user, e.before, e.after, e.reason) for e in rows] == [
        (
            "operator",
            operator,
            {"override": "unset"},
            {"override": "on", "effective": "on", "decided_by": "database"},
            "cohort 1",
        ),
        ("command", None, {"override": "on"}, {"override": "off"}, "kill"),
    ]


def test_stock_admin_pages_for_accounts_groups_and_devices_write_the_change_log(ops, alice):
    """SPEC P2: writes through the admin's own forms are recorded too, in the same transaction."""
    from tests.second_factor import totp_device

    device = totp_device(alice)
    assert ops.post("/admin/auth/group/add/", {"name": "Ops desk"}).status_code == 302
    response = ops.post(
        "/admin/accounts/user/add/",
        {
            "username": "newbie",
            "password1": "a long pass phrase 1",
            "password2": "a long pass phrase 1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    assert ops.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}).status_code == 302
    assert [(actor, action, obj, subject) for actor, action, obj, subject in entries()] == [
        ("operator", "admin.add", "group Ops desk", ""),
        ("operator", "admin.add", "user newbie", ""),
        ("operator", "admin.delete", "TOTP device Test app (alice)", "alice@example.com"),
    ]


def test_a_refused_admin_form_records_nothing(ops):
    response = ops.post("/admin/accounts/user/add/", {"username": "x", "password1": "a", "password2": "b"})
    assert response.status_code == 200
    assert not ChangeLogEntry.objects.exists()
