"""Issue 12 item 5: crafted admin input is a 400 or a message, never a 500; login is throttled."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.admin.views.main import ChangeList
from django.core.management import call_command
from django.db import DataError

from journal.models import SentimentTaxonomyVersion

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/journal/tradesentimentlabel/",
    "/admin/journal/paperorder/",
    "/admin/journal/sentimenttaxonomyversion/",
    "/admin/walkthrough/progress/",
    "/admin/audit/changelogentry/",
    "/admin/accounts/user/",
    "/admin/knox/authtoken/",
]
NUL_QUERIES = [{"q": "\x00"}, {"q": "abc\x00def"}, {"pre_label": "\x00"}, {"name": "\x00"}, {"\x00": "1"}]
# Each must be refused or shown without a match: Django's ?e=1 redirect, a 400, or a page.
ODD_QUERIES = [
    {"created_at__gte": "99999-12-31"},
    {"created_at__gte": "9999-12-31 23:59:59"},
    {"created_at__gte": "9999-12-31T23:59:59-05:00"},
    {"created_at__gte": "0001-01-01T00:00:00+05:00"},
    {"created_at__gte": "0000-00-00"},
    {"id__gte": "99999999999999999999999"},
    {"nope__x": "1"},
    {"user__password__startswith": "pbkdf2"},
    {"created_at__year": "10000"},
]


@pytest.mark.parametrize("url", CHANGELISTS)
@pytest.mark.parametrize("query", NUL_QUERIES)
def test_a_nul_byte_in_a_changelist_query_is_a_400(admin_client, url, query):
    response = admin_client.get(url, query)
    assert response.status_code == 400
    assert "NUL byte" in response.content.decode()


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime:RuntimeWarning")
@pytest.mark.parametrize("url", CHANGELISTS)
@pytest.mark.parametrize("query", ODD_QUERIES)
def test_out_of_range_dates_and_unknown_lookups_are_never_a_500(admin_client, url, query):
    response = admin_client.get(url, query)  # the test client re-raises a server error
    assert response.status_code in {200, 302, 400}
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")  # Django's "bad filter" notice


def test_a_value_the_database_rejects_is_a_400_with_a_message(admin_client, monkeypatch):
    """The guard's second line: whatever slips past the form fields and reaches the database."""

    def database_says_no(self, request, exclude_parameters=None):
        raise DataError("timestamp out of range")

    monkeypatch.setattr(ChangeList, "get_queryset", database_says_no)
    response = admin_client.get("/admin/journal/paperorder/", {"opened_at__gte": "294277-01-01"})
    assert response.status_code == 400
    assert "out of range or malformed" in response.content.decode()


def test_the_guard_leaves_real_bugs_alone(admin_client, monkeypatch):
    def bug(self, request, exclude_parameters=None):
        raise KeyError("a real bug")

    monkeypatch.setattr(ChangeList, "get_queryset", bug)
    with pytest.raises(KeyError):
        admin_client.get("/admin/journal/paperorder/", {"q": "x"})


GOOD_POST = '[{"code": "b", "display": "B"}]'


@pytest.mark.parametrize(
    ("pre_labels", "message"),
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('[{"code": "a", "display": ' + "[" * 40 + "]" * 40 + "}]", "nested too deeply"),
        ('[{"code": "a", "display": "bad\\u0000text"}]', "NUL character"),
        ('[{"code": "a\\u0000", "display": "A"}]', "NUL character"),
        ('[{"code": "a", "display": "raw\x00byte"}]', ""),  # raw NUL: not valid JSON at all
    ],
)
def test_taxonomy_pickers_with_nul_or_deep_nesting_are_form_errors(admin_client, pre_labels, message):
    before = SentimentTaxonomyVersion.objects.count()
    response = admin_client.post(
        "/admin/journal/sentimenttaxonomyversion/add/", {"pre_labels": pre_labels, "post_labels": GOOD_POST}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "errornote" in page and message in page
    assert SentimentTaxonomyVersion.objects.count() == before


def test_the_service_refuses_a_nul_in_display_text():
    from core.errors import RuleViolation
    from journal.services import taxonomy_validate_pickers

    with pytest.raises(RuleViolation) as refused:
        taxonomy_validate_pickers(pre_labels=[{"code": "a", "display": "x\x00"}], post_labels=[])
    assert "NUL" in str(refused.value.detail["pre_labels"])


# --- Admin login throttle (django-axes) ------------------------------------------------------

LOGIN = "/admin/login/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(db):
    from tests.factories import UserFactory

    user = UserFactory(username="ops", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client, username: str, password: str, address: str = "203.0.113.7"):
    # With a fresh backup code each time: only the password is under test here
    # (tests/accounts/test_second_factor.py covers wrong codes).
    from accounts.models import User
    from tests.second_factor import backup_code

    code = backup_code(User.objects.get(username=username))
    data = {"username": username, "password": password, "code": code, "next": "/admin/"}
    return client.post(LOGIN, data, REMOTE_ADDR=address)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(client, staff, settings):
    statuses = [_login(client, "ops", f"wrong-{n}").status_code for n in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, "wrong password"
    assert set(statuses[limit:]) == {429}
    response = _login(client, "ops", PASSWORD)
    assert response.status_code == 429 and not _logged_in(client)
    from axes.models import AccessAttempt

    # The attempts are recorded without the passwords typed (a typo is nearly the password).
    recorded = " ".join(str(row) for row in AccessAttempt.objects.values_list("get_data", "post_data"))
    assert "wrong-" not in recorded and PASSWORD not in recorded

    # Another address, or another username from this address, is not locked out.
    assert _login(client, "ops", PASSWORD, address="198.51.100.9").status_code == 302
    client.logout()

    # The documented unlock command lets the operator in again at once.
    out = io.StringIO()
    call_command("axes_reset_username", "ops", stdout=out)
    response = _login(client, "ops", PASSWORD)
    assert response.status_code == 302 and _logged_in(client)


def test_a_lockout_ends_after_the_cool_off(client, staff, settings):
    import time_machine
    from django.utils import timezone

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(settings.AXES_FAILURE_LIMIT):
            _login(client, "ops", f"wrong-{n}")
        assert _login(client, "ops", PASSWORD).status_code == 429
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=1)):
        assert _login(client, "ops", PASSWORD).status_code == 302
