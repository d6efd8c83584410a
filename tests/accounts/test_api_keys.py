"""Issue 12 item 4: API keys exist only as digests; they expire, can be revoked, and DSR ends them."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.auth import APIKeyAuthentication
from accounts.services import dsr_delete

pytestmark = pytest.mark.django_db
ORDERS = "/api/paper-orders/"


def create_key(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("drf_create_token", username, *args, stdout=out)
    line = out.getvalue().strip()
    # The exact shape DRF's command printed, so `awk '{print $3}'` in scripts keeps working.
    match = re.fullmatch(rf"Generated token (\S+) for user {re.escape(username)}", line)
    assert match, line
    return match.group(1)


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_drf_create_token_keeps_its_output_and_the_key_works(alice):
    key = create_key("alice")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert client_with(key).get(ORDERS).status_code == 200
    refused = APIClient().get(ORDERS)
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"


def test_an_unknown_user_gets_drf_s_message_and_no_key():
    with pytest.raises(CommandError, match="Cannot create the Token: user ghost does not exist"):
        create_key("ghost")
    assert not AuthToken.objects.exists()


def test_authenticate_header_is_the_token_keyword():
    # The issue-10 "wrong scheme" hint is built on this value.
    assert APIKeyAuthentication().authenticate_header(None) == "Token"


def test_a_database_dump_holds_no_key(alice, bob):
    keys = [create_key("alice"), create_key("alice"), create_key("bob")]
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = dump.getvalue()
    assert '"model": "knox.authtoken"' in text  # the keys' rows are in the dump...
    for key in keys:
        assert key not in text  # ...but not the keys
        assert key[15:] not in text  # nor the part after knox's lookup prefix


def test_keys_expire_after_the_configured_days(alice, settings):
    key = create_key("alice")
    assert client_with(key).get(ORDERS).status_code == 200
    expiry = AuthToken.objects.get().expiry
    remaining = expiry - timezone.now()
    assert dt.timedelta(days=settings.API_KEY_TTL_DAYS, minutes=-1) < remaining <= dt.timedelta(days=90)
    with time_machine.travel(expiry + dt.timedelta(seconds=1)):
        response = client_with(key).get(ORDERS)
    assert response.status_code == 401 and response.json() == {"detail": "Invalid token."}
    assert not AuthToken.objects.exists()


def test_reset_revokes_the_user_s_other_keys(alice):
    old = create_key("alice")
    new = create_key("alice", "--reset")
    assert client_with(old).get(ORDERS).status_code == 401
    assert client_with(new).get(ORDERS).status_code == 200


@pytest.mark.parametrize(
    "credential",
    [
        b"Token " + b"\xff" * 64,  # not UTF-8
        b"Token " + b"a" * 15 + b"\x00" * 49,  # a NUL byte (PostgreSQL refuses it in a query)
        b"Token " + b"g" * 64,  # not hex
        b"Token " + b"a" * 65,
        b"Token " + b"a" * 39,
    ],
)
def test_a_malformed_key_is_401_not_500(alice, credential):
    create_key("alice")
    response = APIClient().get(ORDERS, HTTP_AUTHORIZATION=credential.decode("latin-1"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_admin_never_shows_a_key_or_its_digest_and_revokes_one(client, operator, alice, staff_login):
    key = create_key("alice")
    digest = AuthToken.objects.get().pk
    staff_login(client, operator)
    listing = client.get("/admin/knox/authtoken/")
    page = listing.content.decode()
    assert listing.status_code == 200 and "alice" in page
    # Neither the key, nor its lookup prefix, nor the stored digest: not in links, titles or checkboxes.
    assert key not in page and key[:15] not in page and digest not in page
    assert 'href="/admin/knox/authtoken/' not in page.replace('href="/admin/knox/authtoken/"', "")
    # No page is addressed by a digest, and keys are never made (or shown) here.
    for path in (f"{digest}/change/", f"{digest}/history/", f"{digest}/delete/", "add/"):
        assert client.get(f"/admin/knox/authtoken/{path}").status_code == 404, path
    selected = re.findall(r'name="_selected_action" value="([^"]+)"', page)
    assert len(selected) == 1
    response = client.post(
        "/admin/knox/authtoken/", {"action": "revoke", "_selected_action": selected}, follow=True
    )
    assert "Revoked 1 API key(s)." in response.content.decode()
    assert client_with(key).get(ORDERS).status_code == 401


def test_a_crafted_key_reference_revokes_nothing(client, operator, alice, staff_login):
    key = create_key("alice")
    staff_login(client, operator)
    for ref in ("x", f"{alice.pk}.not-a-time", f"{alice.pk}.2026-13-45T99:00:00", AuthToken.objects.get().pk):
        client.post("/admin/knox/authtoken/", {"action": "revoke", "_selected_action": [ref]})
    assert client_with(key).get(ORDERS).status_code == 200


def test_dsr_delete_revokes_the_person_s_keys_and_sessions(alice, bob, client):
    alice_key, bob_key = create_key("alice"), create_key("bob")
    client.force_login(alice)
    bobs_browser = APIClient()
    bobs_browser.force_login(bob)
    assert client.get(ORDERS).status_code == 200

    erasure = dsr_delete(email="ALICE@example.com")

    assert erasure.deleted["knox_authtoken"] == 1 and erasure.deleted["django_session"] == 1
    assert client_with(alice_key).get(ORDERS).status_code == 401
    assert client.get(ORDERS).status_code in (401, 403)  # alice's admin/browser session is gone
    # Bob, another person, keeps both.
    assert client_with(bob_key).get(ORDERS).status_code == 200
    assert bobs_browser.get(ORDERS).status_code == 200


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor needs to be outside a transaction
def test_legacy_raw_drf_keys_become_digests_and_keep_working(alice):
    """The data migration 0004_i12_api_key_digests, run on a database that had DRF's table."""
    import importlib

    migration = importlib.import_module("accounts.migrations.0004_i12_api_key_digests")
    legacy_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.schema_editor() as editor:
        editor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id bigint)"
        )
        editor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [legacy_key, timezone.now(), alice.pk],
        )
    try:
        with connection.schema_editor() as editor:
            from django.apps import apps

            migration.legacy_keys_to_digests(apps, editor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")

    assert "authtoken_token" not in connection.introspection.table_names()
    assert client_with(legacy_key).get(ORDERS).status_code == 200
    dump = io.StringIO()
    call_command("dumpdata", "knox", stdout=dump)
    assert legacy_key not in dump.getvalue()
