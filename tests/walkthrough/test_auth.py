"""SPEC W1: tokens issued by command, HMAC at rest, Bearer auth, one 401, throttled failures."""

from __future__ import annotations

import hashlib
import hmac
import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from walkthrough import auth
from walkthrough.models import Progress, Track

# `issue_walkthrough_token` needs the current copy signed off (SPEC W16).
pytestmark = pytest.mark.usefixtures("signed_off_copy")
API = "/api/walkthrough/"
BODY_401 = {
    "detail": 'Missing or invalid walkthrough token; send "Authorization: Bearer <walkthrough token>".'
}


def issue(*args) -> list[str]:
    out = io.StringIO()
    call_command("issue_walkthrough_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def bearer(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.django_db
def test_command_prints_raw_token_last_and_stores_only_its_hmac():
    raw = issue("Tess@Example.com", "--track", "self_select")[-1]

    progress = Progress.objects.get()
    expected = hmac.new(b"test-beta-token-secret", raw.encode(), hashlib.sha256).hexdigest()
    assert progress.token_hash == expected
    assert raw not in str(Progress.objects.values().get())
    assert (progress.tester_email, progress.track) == ("tess@example.com", Track.SELF_SELECT)
    assert bearer(f"Bearer {raw}").get(API).status_code == 200


@pytest.mark.django_db
def test_new_testers_default_to_the_full_track_and_reissue_keeps_it():
    issue("tess@example.com")
    issue("tess@example.com")
    assert Progress.objects.get().track == Track.FULL


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["not-an-email"], ["tess@example.com", "--track", "self_select"]])
def test_command_refuses_bad_email_and_track_switch(args):
    issue("tess@example.com")
    with pytest.raises(CommandError):
        issue(*args)
    assert Progress.objects.get().track == Track.FULL


@pytest.mark.django_db
def test_command_refuses_an_email_longer_than_the_column():
    # On SQLite the row would be stored anyway; on PostgreSQL it would be a DataError.
    with pytest.raises(CommandError, match="at most 254 characters"):
        issue("a" * 243 + "@example.com")  # 255 characters, otherwise a valid address
    assert not Progress.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args", [["Secret.Person@@example.com"], ["secret.person@example.com", "--track", "self_select"]]
)
def test_command_errors_never_echo_the_email(args):
    issue("secret.person@example.com")
    with pytest.raises(CommandError) as excinfo:
        issue(*args)
    assert "secret.person" not in str(excinfo.value).lower()


@pytest.mark.django_db
def test_reissue_revokes_the_old_token():
    old = issue("tess@example.com")[-1]
    new = issue("tess@example.com")[-1]

    assert bearer(f"Bearer {new}").get(API).status_code == 200
    response = bearer(f"Bearer {old}").get(API)
    assert response.status_code == 401
    assert response.json() == BODY_401


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Token wt_" + "a" * 43,
        "Bearer short",
        "Bearer wt_" + "a" * 43 + " extra",
        "Bearer wt_" + "a" * 43,  # well-formed, unknown
        "Bearer wt_" + "é" * 43,
    ],
)
def test_every_bad_credential_gets_the_same_401(header):
    issue("tess@example.com")
    for url in ["", "screen/1", "screen/3", "screen/5"]:
        response = bearer(header).get(API + url)
        assert response.status_code == 401
        assert response.json() == BODY_401
        assert response["WWW-Authenticate"] == 'Bearer realm="walkthrough"'


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer wt_" + "a" * 43])
def test_bad_credentials_take_one_timing_path(header, monkeypatch, django_assert_num_queries):
    """Missing and malformed tokens are hashed and looked up exactly like unknown ones."""
    calls = []
    real = auth.token_hash
    monkeypatch.setattr(auth, "token_hash", lambda raw: calls.append(raw) or real(raw))

    with django_assert_num_queries(1):
        assert bearer(header).get(API).status_code == 401
    assert len(calls) == 1


@pytest.mark.django_db
def test_session_users_are_not_testers(alice_client):
    assert alice_client.get(API).status_code == 401


@pytest.fixture
def one_window(monkeypatch):
    """The failure count lives in fixed windows of the real clock's minutes: a test that counts
    N failures must not see the minute turn half-way (its count would restart; about one CI
    run in 300 did). Every request of the test reads the same instant, 30 s into a minute.
    `test_the_failure_window_passes` tests the turn itself."""
    instant = 1_800_000_030.0  # 1_800_000_000 is a whole minute
    monkeypatch.setattr(auth.AuthFailureThrottle, "timer", staticmethod(lambda: instant))


@pytest.mark.django_db
@pytest.mark.usefixtures("one_window")
def test_failures_are_throttled_and_successes_are_not_counted(make_tester, monkeypatch):
    monkeypatch.setattr(auth.AuthFailureThrottle, "rate", "3/min", raising=False)
    tess = make_tester()
    for _ in range(10):  # successes never count
        assert tess.get().status_code == 200
    stranger = bearer("Bearer wt_" + "b" * 43)
    assert [stranger.get(API).status_code for _ in range(3)] == [401, 401, 401]

    blocked = stranger.get(API)
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    # Issue 12: only failures are throttled. The same address with a valid token passes, and
    # keeps passing however many more failures it makes.
    assert tess.get().status_code == 200
    assert [stranger.get(API).status_code for _ in range(25)] == [429] * 25
    assert [tess.get().status_code for _ in range(25)] == [200] * 25


@pytest.mark.django_db
@pytest.mark.usefixtures("one_window")
def test_behind_a_shared_address_one_client_s_failures_lock_out_no_valid_tester(make_tester, settings):
    """Issue 12: Heroku with NUM_PROXIES=0 puts every tester behind the router's address."""
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    testers = [make_tester(f"t{n}@example.com") for n in range(5)]
    careless = bearer("Bearer wt_" + "f" * 43)  # same address (the router's) as every tester
    statuses = [careless.get(API).status_code for _ in range(21)]
    assert statuses[-1] == 429  # the default 20/min limit is reached for that address
    for tester in testers:
        assert tester.get().status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("one_window")
def test_a_forged_forwarded_for_header_does_not_reset_the_count(monkeypatch):
    monkeypatch.setattr(auth.AuthFailureThrottle, "rate", "3/min", raising=False)
    statuses = [
        bearer("Bearer wt_" + "d" * 43).get(API, HTTP_X_FORWARDED_FOR=f"10.1.{n}.1").status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.django_db
@pytest.mark.usefixtures("one_window")
def test_behind_one_proxy_each_client_address_has_its_own_count(monkeypatch, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setattr(auth.AuthFailureThrottle, "rate", "2/min", raising=False)
    guesser = bearer("Bearer wt_" + "e" * 43)

    # The proxy appends the real client; whatever the client wrote before it is ignored.
    spoofed = [guesser.get(API, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.9").status_code for n in range(3)]
    other_client = guesser.get(API, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code

    assert spoofed == [401, 401, 429]
    assert other_client == 401


@pytest.mark.usefixtures("one_window")
def test_concurrent_attempts_cannot_overshoot_the_limit(monkeypatch):
    """The count is an atomic increment, not a read then a write: 40 racing guesses, 5 pass."""
    import threading

    from django.core.cache import cache
    from django.test import RequestFactory

    monkeypatch.setattr(auth.AuthFailureThrottle, "rate", "5/min", raising=False)
    cache.clear()
    request = RequestFactory().get(API, REMOTE_ADDR="192.0.2.44")
    barrier = threading.Barrier(40)
    allowed: list[bool] = []

    def guess():
        barrier.wait(timeout=10)
        allowed.append(auth.AuthFailureThrottle().attempt(request))

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    cache.clear()
    assert sorted(allowed) == [False] * 35 + [True] * 5


def test_the_failure_scope_is_configured():
    assert auth.AuthFailureThrottle().num_requests > 0


@pytest.mark.django_db
def test_flag_off_simple_builder_is_404_before_authentication():
    response = bearer(None).get(API + "screen/simple/1")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_the_failure_window_passes(make_tester, monkeypatch):
    import datetime as dt

    import time_machine

    monkeypatch.setattr(auth.AuthFailureThrottle, "rate", "2/min", raising=False)
    tess = make_tester()
    stranger = bearer("Bearer wt_" + "c" * 43)
    start = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        assert [stranger.get(API).status_code for _ in range(3)] == [401, 401, 429]
        assert tess.get().status_code == 200  # a valid token is never held back
        traveller.shift(dt.timedelta(seconds=61))
        assert stranger.get(API).status_code == 401


def test_two_first_issues_racing_for_one_email_end_as_a_re_issue(db, monkeypatch):
    """The loser of the race sees no row, hits the unique email constraint, and re-issues."""
    from walkthrough import services

    first, first_raw = services.walkthrough_token_issue(email="race@example.com")
    real_lookup = services._progress_for_update
    calls = []

    def lookup_that_misses_once(email):
        calls.append(email)
        return None if len(calls) == 1 else real_lookup(email)

    monkeypatch.setattr(services, "_progress_for_update", lookup_that_misses_once)
    second, second_raw = services.walkthrough_token_issue(email="race@example.com")

    assert len(calls) == 2
    assert second.pk == first.pk and second_raw != first_raw
    second.refresh_from_db()
    assert second.token_hash == services.token_hash(second_raw)
