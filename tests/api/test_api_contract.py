"""One API contract (issue 10, SPEC 0, F5): routes, error bodies and flag-off invisibility."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.services import api_key_create
from journal.models import PaperOrder
from tests.rawhttp import raw_call
from walkthrough.services import walkthrough_token_issue

ALL_ON = {
    "FLAG_WALKTHROUGH_PERSONA_ROUTING": True,
    "FLAG_BETA_WALKTHROUGH_SELF_SELECT": True,
    "FLAG_SENTIMENT_JOURNAL": True,
    "FLAG_STRATEGY_TEMPLATES_V2": True,
}
ALL_OFF = dict.fromkeys(ALL_ON, False)


@pytest.fixture(autouse=True)
def _taxonomy_v1(db):
    """Migration 0002's v1, back after any transactional test's flush."""
    from tests.journal.factories import seed_taxonomy_v1

    seed_taxonomy_v1()


GATED = [
    "/api/sentiment-labels/",
    "/api/sentiment-labels",
    "/api/sentiment-labels/1/",
    "/api/sentiment-labels/1",
    "/api/sentiment-labels/backtest-filter/",
    "/api/sentiment-labels/backtest-filter",
    "/api/sentiment-labels/stats/",
    "/api/sentiment-labels/stats",
    "/api/sentiment-labels/stats/?format=json",
    "/api/sentiment-labels/export/",
    "/api/sentiment-labels/export",
    "/api/sentiment-labels/export/?format=csv",
    "/api/sentiment-taxonomy/",
    "/api/sentiment-taxonomy",
    "/api/walkthrough/screen/simple/1",
    "/api/walkthrough/screen/simple/1/",
]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@pytest.fixture
def credential_headers(alice):
    """Every way a client might knock: nothing, a real key, a real tester token, garbage, a session."""
    key = api_key_create(user=alice)
    _, tester = walkthrough_token_issue(email="tess@example.com", track="self_select")
    session = SessionStore()
    session[SESSION_KEY] = str(alice.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = alice.get_session_auth_hash()
    session.save()
    return {
        "none": {},
        "token": {"Authorization": f"Token {key}"},
        "bearer": {"Authorization": f"Bearer {tester}"},
        "garbage": {"Authorization": "Token nope"},
        "session": {"Cookie": f"sessionid={session.session_key}"},
    }


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", GATED)
def test_flag_off_route_is_byte_for_byte_an_unknown_url(settings, set_flags, credential_headers, path, debug):
    settings.DEBUG = debug
    set_flags(**ALL_OFF)
    route, _, query = path.partition("?")
    unknown = ("/api/no-such-route/" if route.endswith("/") else "/api/no-such-route") + (
        f"?{query}" * bool(query)
    )
    for method in METHODS:
        for who, headers in credential_headers.items():
            body = b"{}" if method in {"POST", "PUT", "PATCH"} else b""
            gated = raw_call(method, path, headers=headers, body=body)
            missing = raw_call(method, unknown, headers=headers, body=body)
            assert gated == missing, (method, who, gated, missing)
            assert gated.startswith(b"404 Not Found\r\n"), gated
            if method != "HEAD":
                assert gated.endswith(b'{"detail": "Not found."}'), gated


def test_flag_on_route_answers(set_flags, credential_headers):
    """The comparison above is not vacuous: with the flags on the same requests reach the views."""
    set_flags(**ALL_ON)
    response = raw_call("GET", "/api/sentiment-taxonomy/", headers=credential_headers["token"])
    assert response.startswith(b"200 OK\r\n")


SLASH_PAIRS = [
    ("GET", "/api/paper-orders/", "/api/paper-orders"),
    ("GET", "/api/walkthrough/", "/api/walkthrough"),
    ("GET", "/api/walkthrough/screen/1", "/api/walkthrough/screen/1/"),
    ("GET", "/api/sentiment-taxonomy/", "/api/sentiment-taxonomy"),
    ("GET", "/api/sentiment-labels/backtest-filter/", "/api/sentiment-labels/backtest-filter"),
    ("GET", "/api/sentiment-labels/stats/", "/api/sentiment-labels/stats"),
    ("GET", "/api/sentiment-labels/export/?format=csv", "/api/sentiment-labels/export?format=csv"),
]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(("method", "path", "twin"), SLASH_PAIRS)
def test_every_route_answers_with_and_without_a_trailing_slash(
    settings, set_flags, credential_headers, debug, method, path, twin
):
    settings.DEBUG = debug
    set_flags(**ALL_ON)
    headers = credential_headers["bearer" if "walkthrough" in path else "token"]
    assert raw_call(method, path, headers=headers) == raw_call(method, twin, headers=headers)
    assert raw_call(method, path, headers=headers).startswith(b"200 OK\r\n")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", ["/api/paper-orders", "/api/paper-orders/"])
def test_posting_without_a_slash_creates_the_order_in_every_mode(settings, alice_client, debug, path):
    """Was a 500 in DEBUG (APPEND_SLASH cannot redirect a POST) and a redirect otherwise."""
    settings.DEBUG = debug
    legs = [
        {
            "action": "buy",
            "instrument": "equity",
            "right": None,
            "strike": None,
            "expiry": None,
            "quantity": 100,
        },
        {
            "action": "sell",
            "instrument": "option",
            "right": "call",
            "strike": "150",
            "expiry": "2026-08-21",
            "quantity": 1,
        },
    ]
    body = {"symbol": "AAPL", "strategy_type": "covered_call", "quantity": 1, "legs": legs}
    response = alice_client.post(path, body, format="json")
    assert response.status_code == 201, response.content
    assert PaperOrder.objects.count() == 1


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    ("method", "path", "accept", "status"),
    [
        ("GET", "/api/walkthrough/screen/9/", "text/html", 404),
        ("GET", "/api/nothing", "text/html", 404),
        ("GET", "/api/paper-orders/abc/", "text/html", 404),
        ("PUT", "/api/paper-orders/", "text/html", 405),
        ("DELETE", "/api/walkthrough/screen/1", "text/html", 405),
        ("POST", "/api/schema/", "*/*", 405),
        ("POST", "/api/paper-orders/", "text/html", 400),
    ],
)
def test_api_errors_are_json_in_every_mode(settings, alice, debug, method, path, accept, status):
    settings.DEBUG = debug
    key = api_key_create(user=alice)
    _, tester = walkthrough_token_issue(email="tess@example.com", track="full")
    auth = f"Bearer {tester}" if "walkthrough" in path else f"Token {key}"
    raw = raw_call(
        method,
        path,
        headers={"Authorization": auth, "Accept": accept},
        body=b"" if method != "POST" else b"{}",
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(str(status).encode()), raw
    assert b"Content-Type: application/json" in head, raw
    assert isinstance(json.loads(body), dict)


# --- no silent drops (issue 10, item 5) ------------------------------------------------------


@pytest.fixture
def journal_on(set_flags):
    set_flags(FLAG_SENTIMENT_JOURNAL=True)


@pytest.mark.parametrize(
    ("query", "key", "names"),
    [
        ("pre_label=nope", "pre_label", ["planned_setup", "practice_trade"]),
        ("post_label=nope", "post_label", ["exited_per_plan"]),
        ("strategy_type=strangle", "strategy_type", ["iron_condor", "vertical_spread", "covered_call"]),
        ("pre_lable=planned_setup", "__all__", ["pre_label", "closed_at_after", "page"]),
    ],
)
def test_unknown_filter_values_are_400_naming_the_valid_ones(alice_client, journal_on, query, key, names):
    response = alice_client.get(f"/api/sentiment-labels/backtest-filter/?{query}")
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[key])
    assert all(name in message for name in names), message


def test_known_filter_code_still_filters(alice_client, journal_on):
    response = alice_client.get("/api/sentiment-labels/backtest-filter/?pre_label=planned_setup")
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["trade_id=4", "id=1", "all=true", "x="])
def test_delete_journal_with_any_query_parameter_is_400_and_deletes_nothing(
    alice, alice_client, journal_on, query
):
    from tests.fuzz_data import seed_fuzz_data

    seed_fuzz_data(user=alice)
    before = alice.trade_labels.count()
    response = alice_client.delete(f"/api/sentiment-labels/?{query}")
    assert response.status_code == 400
    assert "/api/sentiment-labels/{id}/" in response.json()["detail"]
    assert alice.trade_labels.count() == before == 1
    assert alice_client.delete("/api/sentiment-labels/").json() == {"deleted": 1}


def test_invalid_label_code_lists_the_valid_codes(alice, alice_client, journal_on):
    from tests.fuzz_data import seed_fuzz_data

    seed_fuzz_data(user=alice)
    order = PaperOrder.objects.filter(user=alice, status="open").get()
    response = alice_client.post(
        "/api/sentiment-labels/", {"trade_id": order.pk, "pre_label": "moonshot"}, format="json"
    )
    assert response.status_code == 400
    assert "use one of: " in response.json()["pre_label"][0]
    assert "planned_setup" in response.json()["pre_label"][0]


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("Bearer {key}", 'does not take the "Bearer" scheme; send "Authorization: Token <credential>"'),
        ("Basic Zm9vOmJhcg==", 'does not take the "Basic" scheme'),
        ("{key}", "does not take that scheme"),
    ],
)
def test_a_credential_in_the_wrong_scheme_names_the_scheme_the_route_takes(alice, header, hint):
    from rest_framework.test import APIClient

    key = api_key_create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(key=key))
    response = client.get("/api/paper-orders/")
    assert response.status_code == 401
    assert hint in response.json()["detail"]
    assert key not in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_no_credential_at_all_keeps_the_plain_message(anon_client):
    response = anon_client.get("/api/paper-orders/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_unknown_query_parameter_names_are_echoed_safely(alice_client, journal_on):
    """Found by schemathesis: a parameter name holding "%" was a 500 (DRF %-formats messages)."""
    response = alice_client.get("/api/sentiment-labels/?%25s%25(x)s=1&trade_id=1")
    assert response.status_code == 400
    assert "Unknown query parameter" in response.json()["__all__"][0]


# --- the schema is the behaviour (issue 10, items 3 and 4) -------------------------------------

ERROR_CODES = {"400", "401", "404", "409", "413", "429"}


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_typed_error_bodies(alice_client, set_flags):
    set_flags(**ALL_ON)
    schema = _schema(alice_client)
    components = schema["components"]["schemas"]
    for label, operation in _operations(schema):
        assert set(operation["responses"]) >= ERROR_CODES, label
        for code in ERROR_CODES:
            ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in components, (label, code)
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    conflict = components["Conflict"]["properties"]
    assert {"detail", "next_screen", "builder_route", "strategy_type"} <= set(conflict)


def test_schema_names_and_types(alice_client, set_flags):
    set_flags(**ALL_ON)
    schema = _schema(alice_client)
    names = set(schema["components"]["schemas"])
    assert not [name for name in names if name.endswith("RequestRequest")]
    paper_order = schema["components"]["schemas"]["PaperOrder"]["properties"]
    assert paper_order["legs"]["items"] == {"$ref": "#/components/schemas/Leg"}
    # One leg schema and one StrategyType for both APIs.
    trade = schema["components"]["schemas"]["TradeRequest"]["properties"]
    ticket = schema["components"]["schemas"]["PaperOrderTicketRequest"]["properties"]
    assert trade["legs"] == ticket["legs"]
    assert (
        trade["strategy_type"] == ticket["strategy_type"] == {"$ref": "#/components/schemas/StrategyTypeEnum"}
    )


def test_links_lead_from_orders_to_close_cancel_and_labels(alice_client, set_flags):
    set_flags(**ALL_ON)
    operations = dict(_operations(_schema(alice_client)))
    links = operations["POST /api/paper-orders/"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert {"paper_orders_close_create", "paper_orders_cancel_create", "sentiment_labels_create"} <= targets
    assert links["LabelOrder"]["requestBody"] == {"trade_id": "$response.body#/id"}
    label_links = operations["POST /api/sentiment-labels/"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in label_links.values()} >= {"sentiment_labels_partial_update"}


def test_schema_leaves_out_flag_off_operations_per_request(alice_client, set_flags):
    set_flags(**ALL_OFF)
    off = _schema(alice_client)
    assert not [path for path in off["paths"] if "sentiment" in path or "simple" in path]
    assert "/api/paper-orders/" in off["paths"]  # orders exist whatever the journal flag says
    links = off["paths"]["/api/paper-orders/"]["post"]["responses"]["201"]["links"]
    assert "LabelOrder" not in links  # no link into a hidden operation

    set_flags(FLAG_SENTIMENT_JOURNAL=True)  # the very next request sees the flip
    on = _schema(alice_client)
    assert "/api/sentiment-labels/" in on["paths"]
    assert "/api/walkthrough/screen/simple/1" not in on["paths"]


def test_string_filters_are_never_empty_in_the_schema(alice_client, journal_on):
    operations = dict(_operations(_schema(alice_client)))
    parameters = {
        p["name"]: p["schema"] for p in operations["GET /api/sentiment-labels/backtest-filter/"]["parameters"]
    }
    assert parameters["symbol"]["minLength"] == parameters["pre_label"]["minLength"] == 1
    assert parameters["taxonomy_version"]["minimum"] == 1


def test_a_journal_key_on_a_walkthrough_route_is_told_the_bearer_scheme(alice):
    """The walkthrough keeps one 401 body for every bad token (SPEC W1); that body names the scheme."""
    from rest_framework.test import APIClient

    key = api_key_create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/walkthrough/")
    assert response.status_code == 401
    assert '"Authorization: Bearer <walkthrough token>"' in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("query", "key"),
    [("symbol=SP%00X", "symbol"), ("symbol=S%20P", "symbol"), ("pre_label=Not%20A%20Code", "pre_label")],
)
def test_malformed_filter_text_is_a_400_the_schema_predicts(alice_client, journal_on, query, key):
    """Found by schemathesis: a NUL in ?symbol= was a 400 the schema did not predict."""
    response = alice_client.get(f"/api/sentiment-labels/backtest-filter/?{query}")
    assert response.status_code == 400
    assert key in response.json()
    parameters = {
        p["name"]: p["schema"]
        for p in dict(_operations(_schema(alice_client)))["GET /api/sentiment-labels/backtest-filter/"][
            "parameters"
        ]
    }
    assert "pattern" in parameters[key]


def test_free_text_request_strings_state_that_nul_is_refused(alice, alice_client, journal_on):
    """Found by schemathesis on PostgreSQL: a NUL in journal_note was a 400 the schema did not predict."""
    from tests.fuzz_data import seed_fuzz_data

    seed_fuzz_data(user=alice)
    order = PaperOrder.objects.filter(user=alice, status="open").get()
    response = alice_client.post(
        "/api/sentiment-labels/", {"trade_id": order.pk, "journal_note": "a\x00b"}, format="json"
    )
    assert response.status_code == 400
    assert "journal_note" in response.json()
    note = _schema(alice_client)["components"]["schemas"]["LabelCreateRequest"]["properties"]["journal_note"]
    assert note["pattern"] == "^[^\\u0000]*$"
