"""SPEC P1: staff need a second factor on every admin page, and a fresh code for sensitive actions."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import io
import re

import pytest
import time_machine
from django.contrib import admin
from django.core.management import call_command
from django.urls import URLPattern, URLResolver
from django_otp.plugins.otp_totp.models import TOTPDevice

from flags.models import FlagAudit, FlagOverride
from tests.factories import UserFactory
from tests.second_factor import backup_code, totp_code, totp_device
from walkthrough.models import Progress

LOGIN = "/admin/login/"
ENROL = "/admin/enrol/"
PASSWORD = "correct horse battery staple"  # tests/factories.py
FUNNEL_CSV = "/admin/walkthrough/progress/cohort/?by=track&format=csv"
INVITE = "/admin/walkthrough/progress/invite/"
FLAGS = "/admin/flags/flagoverride/"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)")  # the CSP would refuse one
START = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def ops(db):
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def login(client, username: str, password: str = PASSWORD, code: str = "", address: str = "203.0.113.7"):
    data = {"username": username, "password": password, "code": code, "next": "/admin/"}
    return client.post(LOGIN, data, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _admin_paths() -> list[str]:
    """Every admin URL that takes no argument: the index, changelists, add pages, custom pages."""

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif (
                isinstance(entry, URLPattern)
                and not entry.pattern.converters
                and "(?P" not in str(entry.pattern)
            ):
                yield prefix + str(entry.pattern)

    return sorted(set(walk(admin.site.urls[0], "/admin/")))


# --- no staff page without a second factor ------------------------------------------------------


def test_without_a_verified_code_every_admin_page_is_the_login(client, ops):
    change = f"/admin/walkthrough/progress/{Progress.objects.create(tester_email='t@example.com').pk}/change/"
    paths = [*_admin_paths(), change]
    assert len(paths) > 30 and INVITE in paths and FLAGS in paths
    client.force_login(ops)  # a password alone (a session from before P1, or a forged login)
    for path in paths:
        response = client.get(path)
        if path in (LOGIN, "/admin/logout/"):
            continue
        if path == ENROL:
            assert response.status_code == 302 and response["Location"] == LOGIN, path
            continue
        assert response.status_code == 302, (path, response.status_code)
        assert response["Location"].startswith(f"{LOGIN}?next="), path
    assert b"username" in client.get(LOGIN).content


def test_password_and_code_on_one_page_log_in(client, ops, clock):
    response = login(client, "ops", code=totp_code(ops))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get(FLAGS).status_code == 200


@pytest.mark.parametrize(
    ("password", "code", "why"),
    [
        (PASSWORD, "", "no code"),
        (PASSWORD, "000000", "wrong code"),
        ("wrong", "RIGHT", "wrong password, right code"),
        (PASSWORD, "12" * 20, "too long"),
    ],
)
def test_any_missing_part_is_the_same_refusal(client, ops, clock, password, code, why):
    code = totp_code(ops) if code == "RIGHT" else code
    totp_device(ops)
    response = login(client, "ops", password=password, code=code)
    assert response.status_code == 200 and not logged_in(client), why
    assert "correct username, password and code" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_backup_code_works_once(client, ops):
    code = backup_code(ops)
    assert login(client, "ops", code=code).status_code == 302 and logged_in(client)
    client.logout()
    assert login(client, "ops", code=code).status_code == 200 and not logged_in(client)


def test_addstatictoken_prints_a_code_that_logs_in(client, ops):
    out = io.StringIO()
    call_command("addstatictoken", "ops", stdout=out)
    assert login(client, "ops", code=f" {out.getvalue().strip()} ").status_code == 302


def test_seed_demo_prints_a_backup_code_for_the_admin_and_the_operator(client, db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    found = re.findall(r"user '(\w+)'\s+password '([^']+)'\s+code '(\w+)'", out.getvalue())
    assert [user for user, _, _ in found] == ["admin", "operator"]
    for username, password, code in found:
        client.logout()
        assert login(client, username, password=password, code=code).status_code == 302, username
        assert client.get("/admin/").status_code == 200


# --- wrong codes count like wrong passwords (django-axes) ----------------------------------------


@pytest.mark.parametrize("wrong_passwords", [0, 2, 4])
def test_five_wrong_codes_or_passwords_lock_the_account(client, ops, clock, settings, wrong_passwords):
    totp_device(ops)
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        if n < wrong_passwords:
            login(client, "ops", password=f"wrong-{n}", code="123456")
        else:
            login(client, "ops", code=f"{n:06d}")
        clock.shift(dt.timedelta(minutes=1))  # past django-otp's own per-device delay
    response = login(client, "ops", code=totp_code(ops))
    assert response.status_code == 429 and not logged_in(client)
    from axes.models import AccessAttempt

    # The codes typed are not kept in the log, like the passwords.
    recorded = " ".join(str(row) for row in AccessAttempt.objects.values_list("get_data", "post_data"))
    assert "00000" not in recorded and "123456" not in recorded
    # The documented unlock works for a code lockout too.
    call_command("axes_reset_username", "ops", stdout=io.StringIO())
    clock.shift(dt.timedelta(minutes=1))
    assert login(client, "ops", code=totp_code(ops)).status_code == 302


def test_four_wrong_codes_then_the_right_one_logs_in(client, ops, clock, settings):
    totp_device(ops)
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "ops", code=f"{n:06d}")
        clock.shift(dt.timedelta(minutes=1))
    assert login(client, "ops", code=totp_code(ops)).status_code == 302 and logged_in(client)


# --- enrolment of a new staff user ---------------------------------------------------------------


def test_a_new_staff_user_enrols_an_app_from_a_qr_code(client, clock, db):
    new = UserFactory(username="newops", is_staff=True)
    response = login(client, "newops")
    assert response.status_code == 302 and response["Location"] == ENROL
    assert not logged_in(client)  # nothing but the enrolment page until the app's code is shown
    assert client.get("/admin/").status_code == 302

    page = client.get(ENROL)
    html = page.content.decode()
    assert page.status_code == 200 and not INLINE_SCRIPT.search(html)
    assert re.search(r'id="enrol-qr"><svg [^>]*xmlns="http://www.w3.org/2000/svg"', html)  # inline, no <img>
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    device = TOTPDevice.objects.get(user=new, confirmed=False)
    secret = re.search(r'id="enrol-secret">(\w+)<', html).group(1)
    assert re.search(r'id="enrol-secret">(\w+)<', client.get(ENROL).content.decode()).group(1) == secret
    assert TOTPDevice.objects.filter(user=new).count() == 1  # reloading keeps the same secret

    wrong = client.post(ENROL, {"code": "000000"})
    assert wrong.status_code == 400 and not logged_in(client)
    clock.shift(dt.timedelta(minutes=1))
    right = client.post(ENROL, {"code": _code_of(device)})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed

    # From now on the login wants the app's code; the enrolment page is closed.
    client.logout()
    clock.shift(dt.timedelta(minutes=1))
    assert login(client, "newops").status_code == 200 and not logged_in(client)
    assert client.get(ENROL).status_code == 302
    assert login(client, "newops", code=_code_of(device)).status_code == 302


def test_enrolment_is_for_staff_only_and_expires(client, clock, db):
    UserFactory(username="tess")
    assert login(client, "tess").status_code == 200 and client.get(ENROL)["Location"] == LOGIN
    UserFactory(username="late", is_staff=True)
    assert login(client, "late")["Location"] == ENROL
    clock.shift(dt.timedelta(minutes=11))
    assert client.get(ENROL)["Location"] == LOGIN


def _code_of(device: TOTPDevice) -> str:
    from django_otp.oath import TOTP

    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{generator.token():06d}"


# --- a fresh code for sensitive actions ----------------------------------------------------------


@pytest.fixture
def ops_in(client, ops, clock):
    """Logged in through the real login with the app's code at START."""
    assert login(client, "ops", code=totp_code(ops)).status_code == 302
    return client


def test_the_login_s_own_code_counts_for_ten_minutes(ops_in, clock):
    clock.shift(dt.timedelta(minutes=9, seconds=59))
    response = ops_in.get(FUNNEL_CSV)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_an_export_after_ten_minutes_asks_for_the_code_then_downloads(ops_in, ops, clock):
    clock.shift(dt.timedelta(minutes=11))
    asked = ops_in.get(FUNNEL_CSV)
    assert asked.status_code == 200 and asked["Content-Type"].startswith("text/html")
    assert 'name="reauth-code"' in asked.content.decode()
    assert not INLINE_SCRIPT.search(asked.content.decode())

    wrong = ops_in.post(FUNNEL_CSV, {"reauth-code": "000000", "reauth-then": "get"})
    assert wrong.status_code == 400 and 'name="reauth-code"' in wrong.content.decode()
    clock.shift(dt.timedelta(minutes=1))
    right = ops_in.post(FUNNEL_CSV, {"reauth-code": totp_code(ops), "reauth-then": "get"})
    assert right.status_code == 303 and right["Location"] == FUNNEL_CSV
    assert ops_in.get(FUNNEL_CSV)["Content-Type"].startswith("text/csv")


def test_a_flag_change_after_ten_minutes_carries_on_after_the_code(ops_in, ops, clock):
    clock.shift(dt.timedelta(minutes=30))
    form = {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "cohort 2 <b>&</b>"}
    asked = ops_in.post(FLAGS, form)
    html = asked.content.decode()
    assert asked.status_code == 200 and not FlagOverride.objects.exists()
    # The first submission rides along, escaped, in hidden inputs.
    assert 'type="hidden" name="reason" value="cohort 2 &lt;b&gt;&amp;&lt;/b&gt;"' in html
    carried = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html))
    carried = {name: html_lib.unescape(value) for name, value in carried.items()}
    done = ops_in.post(FLAGS, {**carried, "reauth-code": totp_code(ops)})
    assert done.status_code == 302
    assert FlagOverride.objects.get().enabled is True
    assert FlagAudit.objects.get().reason == "cohort 2 <b>&</b>"
    # The code is fresh again for ten minutes: the next change goes straight through.
    clock.shift(dt.timedelta(minutes=5))
    assert ops_in.post(FLAGS, {**form, "state": "off"}).status_code == 302
    assert FlagOverride.objects.get().enabled is False


@pytest.mark.usefixtures("signed_off_copy")  # SPEC W16: invites need it
def test_an_invite_after_ten_minutes_carries_on_after_the_code(ops_in, ops, clock):
    clock.shift(dt.timedelta(minutes=11))
    form = {"emails": "new1@example.com new2@example.com", "track": "full"}
    asked = ops_in.post(INVITE, form)
    assert asked.status_code == 200 and not Progress.objects.exists()
    assert "new1@example.com new2@example.com" in asked.content.decode()
    done = ops_in.post(INVITE, {**form, "reauth-code": totp_code(ops)})
    assert done.status_code == 200 and Progress.objects.count() == 2
    assert "new1@example.com" in done.content.decode()


@pytest.mark.usefixtures("signed_off_copy")  # SPEC W16: invites need it
def test_token_issue_and_label_export_actions_ask_for_the_code(ops_in, ops, clock):
    progress = Progress.objects.create(tester_email="t@example.com")
    clock.shift(dt.timedelta(minutes=11))
    action = {"action": "issue_new_token", "_selected_action": [progress.pk], "index": 0}
    before = Progress.objects.get().token_hash
    asked = ops_in.post("/admin/walkthrough/progress/", action)
    assert asked.status_code == 200 and 'name="reauth-code"' in asked.content.decode()
    assert Progress.objects.get().token_hash == before
    done = ops_in.post("/admin/walkthrough/progress/", {**action, "reauth-code": totp_code(ops)})
    assert done.status_code == 200 and "New walkthrough tokens" in done.content.decode()
    assert Progress.objects.get().token_hash != before

    clock.shift(dt.timedelta(minutes=11))
    from tests.journal.factories import LabelFactory

    export = {"action": "export_csv", "index": 0, "_selected_action": [LabelFactory().pk]}
    asked = ops_in.post("/admin/journal/tradesentimentlabel/", export)
    assert asked["Content-Type"].startswith("text/html")
    done = ops_in.post("/admin/journal/tradesentimentlabel/", {**export, "reauth-code": totp_code(ops)})
    assert done["Content-Type"].startswith("text/csv")


def test_five_wrong_re_entered_codes_end_the_session_and_lock(ops_in, ops, clock, settings):
    clock.shift(dt.timedelta(minutes=11))
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = ops_in.post(FUNNEL_CSV, {"reauth-code": f"{n:06d}", "reauth-then": "get"})
        clock.shift(dt.timedelta(minutes=1))
    assert response.status_code == 429
    assert not logged_in(ops_in)
    # Locked for this username from this address (the re-auth posts came from 127.0.0.1).
    assert login(ops_in, "ops", code=totp_code(ops), address="127.0.0.1").status_code == 429


def test_a_session_whose_device_is_deleted_is_no_longer_verified(ops_in, ops):
    ops.totpdevice_set.all().delete()
    assert ops_in.get("/admin/").status_code == 302
