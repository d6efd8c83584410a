"""SPEC F5: a route behind an OFF flag answers 404 exactly as an unknown URL does."""

from __future__ import annotations

import pytest

from flags.permissions import flag_required
from flags.registry import UnknownFlag

pytestmark = [pytest.mark.urls("tests.flags.urls"), pytest.mark.django_db]


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Token not-a-real-token"}, {"HTTP_AUTHORIZATION": "Bearer garbage"}],
    ids=["anonymous", "bad-token", "wrong-scheme"],
)
def test_flag_off_route_is_indistinguishable_from_an_unknown_url(anon_client, headers):
    gated = anon_client.get("/gated/", **headers)
    unknown = anon_client.get("/no-such-route/", **headers)
    assert gated.status_code == unknown.status_code == 404
    assert gated.json() == unknown.json() == {"detail": "Not found."}
    assert gated["Content-Type"] == unknown["Content-Type"]


def test_flag_on_route_goes_on_to_authentication(anon_client, alice_client, set_flags):
    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    assert anon_client.get("/gated/").status_code == 401
    assert alice_client.get("/gated/").json() == {"ok": True}


def test_flag_off_with_valid_credentials_is_still_404(alice_client):
    assert alice_client.get("/gated/").status_code == 404


def test_gates_naming_an_undeclared_flag_fail_at_import():
    with pytest.raises(UnknownFlag):
        flag_required("FLAG_NOT_DECLARED")
