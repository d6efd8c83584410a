"""Labels API (SPEC J4–J6): actors, IDOR, flag gate, note privacy, bad input."""

from __future__ import annotations

import logging

import pytest

from journal.models import PaperOrder, TradeSentimentLabel
from tests.journal.conftest import SENTINEL_NOTE
from tests.journal.factories import LabelFactory, PaperOrderFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found."}
LIST_FIELDS = {
    "id",
    "source_table",
    "trade_id",
    "pre_label",
    "post_label",
    "taxonomy_version",
    "journal_note_present",
    "post_label_locked_at",
    "created_at",
    "updated_at",
}


def _routes(label_id: int) -> list[tuple[str, str, dict | None]]:
    """Every journal route × method (SPEC J2, J4)."""
    return [
        ("get", "/api/sentiment-labels/", None),
        ("post", "/api/sentiment-labels/", {"trade_id": 1, "pre_label": "planned_setup"}),
        ("delete", "/api/sentiment-labels/", None),
        ("get", f"/api/sentiment-labels/{label_id}/", None),
        ("patch", f"/api/sentiment-labels/{label_id}/", {"journal_note": "x"}),
        ("delete", f"/api/sentiment-labels/{label_id}/", None),
        ("get", "/api/sentiment-labels/backtest-filter/", None),
        ("get", "/api/sentiment-taxonomy/", None),
    ]


ROUTE_IDS = [f"{m.upper()} {p}" for m, p, _ in _routes(0)]


@pytest.mark.parametrize("index", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
@pytest.mark.parametrize("who", ["alice", "anonymous", "bad_token"])
def test_flag_off_every_route_is_404_like_an_unknown_url(index, who, alice_client, anon_client, alice_label):
    client = {"alice": alice_client, "anonymous": anon_client}.get(who)
    if who == "bad_token":
        client = anon_client
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    method, path, body = _routes(alice_label.pk)[index]
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND == client.get("/api/no-such-route/").json()
    assert TradeSentimentLabel.objects.filter(pk=alice_label.pk, journal_note=SENTINEL_NOTE).exists()


@pytest.mark.parametrize("index", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
def test_anonymous_gets_401_on_every_route_when_on(index, journal_on, anon_client, alice_label):
    method, path, body = _routes(alice_label.pk)[index]
    response = getattr(anon_client, method)(path, body, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("patch", {"journal_note": "bob was here"}), ("delete", None)],
)
def test_bob_gets_the_same_404_for_alices_label_as_for_a_missing_one(
    method, body, journal_on, bob_client, alice_label
):
    theirs = getattr(bob_client, method)(f"/api/sentiment-labels/{alice_label.pk}/", body, format="json")
    missing = getattr(bob_client, method)(
        f"/api/sentiment-labels/{alice_label.pk + 999}/", body, format="json"
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == NOT_FOUND
    alice_label.refresh_from_db()
    assert alice_label.journal_note == SENTINEL_NOTE


def test_bob_sees_nothing_of_alices_journal(journal_on, bob_client, alice_label):
    assert bob_client.get("/api/sentiment-labels/").json()["results"] == []
    assert bob_client.get("/api/sentiment-labels/backtest-filter/").json()["results"] == []
    assert bob_client.get(f"/api/sentiment-labels/?trade_id={alice_label.trade_id}").json()["results"] == []
    assert bob_client.delete("/api/sentiment-labels/").json() == {"deleted": 0}
    assert TradeSentimentLabel.objects.filter(pk=alice_label.pk).exists()


def test_labelling_someone_elses_trade_is_404(journal_on, bob_client, alice_order):
    response = bob_client.post(
        "/api/sentiment-labels/", {"trade_id": alice_order.pk, "pre_label": "planned_setup"}, format="json"
    )
    missing = bob_client.post(
        "/api/sentiment-labels/",
        {"trade_id": alice_order.pk + 999, "pre_label": "planned_setup"},
        format="json",
    )
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() == NOT_FOUND
    assert not TradeSentimentLabel.objects.exists()


def test_alice_labels_her_trade_and_reads_it_back(journal_on, alice_client, alice_order):
    created = alice_client.post(
        "/api/sentiment-labels/",
        {"trade_id": alice_order.pk, "pre_label": "planned_setup", "journal_note": SENTINEL_NOTE},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert set(body) == LIST_FIELDS
    assert body["journal_note_present"] is True
    assert body["taxonomy_version"] == 1
    assert body["source_table"] == "paper_orders"
    assert SENTINEL_NOTE not in created.content.decode()

    listed = alice_client.get("/api/sentiment-labels/").json()
    assert listed["count"] == 1
    assert set(listed["results"][0]) == LIST_FIELDS

    single = alice_client.get(f"/api/sentiment-labels/{body['id']}/").json()
    assert single["journal_note"] == SENTINEL_NOTE
    assert set(single) == LIST_FIELDS | {"journal_note"}


def test_note_text_only_in_the_single_record_get(journal_on, alice_client, alice_label):
    responses = {
        "list": alice_client.get("/api/sentiment-labels/"),
        "list by trade": alice_client.get(f"/api/sentiment-labels/?trade_id={alice_label.trade_id}"),
        "backtest": alice_client.get("/api/sentiment-labels/backtest-filter/"),
        "patch": alice_client.patch(
            f"/api/sentiment-labels/{alice_label.pk}/", {"pre_label": "rule_based_entry"}, format="json"
        ),
        "orders": alice_client.get("/api/paper-orders/"),
        "order": alice_client.get(f"/api/paper-orders/{alice_label.trade_id}/"),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
        assert SENTINEL_NOTE not in response.content.decode(), name
    assert responses["list"].json()["results"][0]["journal_note_present"] is True
    assert responses["backtest"].json()["results"][0]["journal_note_present"] is True
    assert (
        alice_client.get(f"/api/sentiment-labels/{alice_label.pk}/").json()["journal_note"] == SENTINEL_NOTE
    )


@pytest.mark.parametrize("pre_check_raced", [False, True])
def test_a_second_label_for_the_same_trade_is_409(
    journal_on, alice_client, alice_label, monkeypatch, pre_check_raced
):
    """Raced: two requests can both pass the friendly pre-check; the constraint has the last word."""
    if pre_check_raced:
        from journal import services

        monkeypatch.setattr(services, "_label_exists", lambda **kwargs: False)
    response = alice_client.post(
        "/api/sentiment-labels/",
        {"trade_id": alice_label.trade_id, "pre_label": "rule_based_entry"},
        format="json",
    )
    assert response.status_code == 409
    assert "already has a label" in response.json()["detail"]
    assert TradeSentimentLabel.objects.get().pre_label == alice_label.pre_label


def test_a_note_only_label_on_a_cancelled_order_is_allowed(journal_on, alice, alice_client):
    order = _order_for(alice, "cancelled")
    response = alice_client.post(
        "/api/sentiment-labels/", {"trade_id": order.pk, "journal_note": SENTINEL_NOTE}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["journal_note_present"] is True


def test_every_label_write_leaves_a_note_free_audit_line(journal_on, alice, alice_client, caplog):
    order = _order_for(alice, "open")
    with caplog.at_level(logging.INFO, logger="journal.audit"):
        created = alice_client.post(
            "/api/sentiment-labels/",
            {"trade_id": order.pk, "pre_label": "planned_setup", "journal_note": SENTINEL_NOTE},
            format="json",
        ).json()
        alice_client.patch(
            f"/api/sentiment-labels/{created['id']}/", {"journal_note": SENTINEL_NOTE + "!"}, format="json"
        )
        alice_client.delete(f"/api/sentiment-labels/{created['id']}/")
        alice_client.delete("/api/sentiment-labels/")
    lines = [record.getMessage() for record in caplog.records if record.name == "journal.audit"]
    assert lines == [
        f"label created: user={alice.id} label={created['id']} trade={order.pk}",
        f"label updated: user={alice.id} label={created['id']} trade={order.pk} fields=journal_note",
        f"label deleted: user={alice.id} label={created['id']}",
        f"journal deleted: user={alice.id} labels=0",
    ]
    assert "sentinel" not in caplog.text


def _order_for(alice, state: str) -> PaperOrder:
    traits = {"open": {}, "closed": {"closed": True}, "cancelled": {"cancelled": True}}[state]
    return PaperOrderFactory(user=alice, **traits)


@pytest.mark.parametrize(
    ("state", "body", "status", "field"),
    [
        ("open", {"pre_label": "no_such_code"}, 400, "pre_label"),
        ("open", {"pre_label": "exited_per_plan"}, 400, "pre_label"),  # a post-trade code
        ("closed", {"post_label": "planned_setup"}, 400, "post_label"),  # a pre-trade code
        ("open", {"pre_label": "planned_setup", "taxonomy_version": 99}, 400, "taxonomy_version"),
        ("open", {"pre_label": "planned_setup", "journal_note": "n" * 2001}, 400, "journal_note"),
        ("open", {"pre_label": "planned_setup", "source_table": "live_orders"}, 400, "source_table"),
        ("open", {"pre_label": "planned_setup", "trade_id": "abc"}, 400, "trade_id"),
        ("open", {"pre_label": "planned_setup", "trade_id": 10**30}, 400, "trade_id"),
        ("open", {}, 400, "non_field_errors"),
        (
            "open",
            {"pre_label": "planned_setup", "journal_note": 0},
            400,
            "journal_note",
        ),  # schema says string
        ("open", {"pre_label": 1}, 400, "pre_label"),
        ("open", {"pre_label": "planned_setup", "taxonomy_version": "1"}, 400, "taxonomy_version"),
        ("open", {"post_label": "exited_per_plan"}, 409, "detail"),  # post only after close
        ("closed", {"pre_label": "planned_setup"}, 409, "detail"),  # pre only before close
        ("cancelled", {"pre_label": "planned_setup"}, 409, "detail"),
        ("cancelled", {"post_label": "exited_per_plan"}, 409, "detail"),
    ],
)
def test_bad_label_create_input(journal_on, alice, alice_client, state, body, status, field):
    order = _order_for(alice, state)
    response = alice_client.post("/api/sentiment-labels/", {"trade_id": order.pk, **body}, format="json")
    assert response.status_code == status, response.json()
    assert field in response.json()
    assert not TradeSentimentLabel.objects.exists()


def test_too_long_note_error_does_not_echo_the_note(journal_on, alice_client, alice_label):
    note = SENTINEL_NOTE * 40
    response = alice_client.patch(
        f"/api/sentiment-labels/{alice_label.pk}/", {"journal_note": note}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"journal_note": ["A note is at most 2000 characters."]}
    assert "sentinel" not in response.content.decode()


@pytest.mark.parametrize(
    ("state", "body", "status"),
    [
        ("open", {"pre_label": "rule_based_entry"}, 200),
        ("open", {"pre_label": None}, 200),
        ("open", {"journal_note": ""}, 200),
        ("open", {"pre_label": "not_a_code"}, 400),
        ("open", {"post_label": "exited_per_plan"}, 409),
        ("closed", {"post_label": "exited_per_plan"}, 200),
        ("closed", {"post_label": "planned_setup"}, 400),
        ("closed", {"pre_label": "rule_based_entry"}, 409),
        ("closed", {"journal_note": "after the close"}, 200),
        ("cancelled", {"post_label": "exited_per_plan"}, 409),
        ("cancelled", {"pre_label": "rule_based_entry"}, 409),
        ("cancelled", {"journal_note": "why I cancelled"}, 200),  # the note stays the user's
    ],
)
def test_patch_rules(journal_on, alice, alice_client, state, body, status):
    label = LabelFactory(user=alice, trade=_order_for(alice, state), journal_note=SENTINEL_NOTE)
    before = TradeSentimentLabel.objects.get(pk=label.pk)
    response = alice_client.patch(f"/api/sentiment-labels/{label.pk}/", body, format="json")
    assert response.status_code == status, response.json()
    label.refresh_from_db()
    if status == 200:
        for key, value in body.items():
            assert getattr(label, key) == value
    else:
        assert (label.pre_label, label.post_label, label.journal_note) == (
            before.pre_label,
            before.post_label,
            before.journal_note,
        )


@pytest.mark.parametrize("method", ["get", "patch", "delete", "put"])
@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-1", "99999999999999999999999"])
def test_non_integer_or_huge_ids_are_404_never_500(journal_on, alice_client, method, bad_id):
    response = getattr(alice_client, method)(f"/api/sentiment-labels/{bad_id}/", {}, format="json")
    assert response.status_code in (404, 405)
    if method != "put":
        assert response.status_code == 404


def test_put_is_not_offered(journal_on, alice_client, alice_label):
    response = alice_client.put(
        f"/api/sentiment-labels/{alice_label.pk}/", {"pre_label": None}, format="json"
    )
    assert response.status_code == 405


def test_delete_one_label_keeps_the_order(journal_on, alice_client, alice_label):
    assert alice_client.delete(f"/api/sentiment-labels/{alice_label.pk}/").status_code == 204
    assert not TradeSentimentLabel.objects.exists()
    assert PaperOrder.objects.filter(pk=alice_label.trade_id).exists()
    assert alice_client.delete(f"/api/sentiment-labels/{alice_label.pk}/").status_code == 404


def test_delete_whole_journal_keeps_orders_and_other_users(journal_on, alice, bob, alice_client):
    for _ in range(3):
        LabelFactory(user=alice)
    bobs = LabelFactory(user=bob)
    response = alice_client.delete("/api/sentiment-labels/")
    assert response.status_code == 200
    assert response.json() == {"deleted": 3}
    assert list(TradeSentimentLabel.objects.values_list("pk", flat=True)) == [bobs.pk]
    assert PaperOrder.objects.filter(user=alice).count() == 3


def test_taxonomy_lists_every_version_and_the_current_one(journal_on, alice_client):
    from journal.services import taxonomy_version_create

    taxonomy_version_create(
        pre_labels=[{"code": "planned_setup", "display": "Setup from my written plan"}],
        post_labels=[{"code": "exited_per_plan", "display": "Exited as planned"}],
    )
    body = alice_client.get("/api/sentiment-taxonomy/").json()
    assert body["current_version"] == 2
    assert [v["version"] for v in body["versions"]] == [1, 2]
    v1 = body["versions"][0]
    assert len(v1["pre_labels"]) >= 3 and len(v1["post_labels"]) >= 3
    assert set(v1["pre_labels"][0]) == {"code", "display"}


def test_labels_from_an_older_version_stay_valid_under_it(journal_on, alice_client, alice_order):
    from journal.services import taxonomy_version_create

    taxonomy_version_create(
        pre_labels=[{"code": "new_pre", "display": "A new structural label"}],
        post_labels=[{"code": "new_post", "display": "Another structural label"}],
    )
    old_code_on_current = alice_client.post(
        "/api/sentiment-labels/", {"trade_id": alice_order.pk, "pre_label": "planned_setup"}, format="json"
    )
    assert old_code_on_current.status_code == 400
    explicit_v1 = alice_client.post(
        "/api/sentiment-labels/",
        {"trade_id": alice_order.pk, "pre_label": "planned_setup", "taxonomy_version": 1},
        format="json",
    )
    assert explicit_v1.status_code == 201
    assert explicit_v1.json()["taxonomy_version"] == 1
    # PATCH validates against the label's own version, not the current one.
    label_id = explicit_v1.json()["id"]
    assert (
        alice_client.patch(
            f"/api/sentiment-labels/{label_id}/", {"pre_label": "new_pre"}, format="json"
        ).status_code
        == 400
    )
    ok = alice_client.patch(
        f"/api/sentiment-labels/{label_id}/", {"pre_label": "practice_trade"}, format="json"
    )
    assert ok.status_code == 200


def test_session_auth_works_too(journal_on, client, alice, alice_label):
    client.force_login(alice)
    response = client.get(f"/api/sentiment-labels/{alice_label.pk}/")
    assert response.status_code == 200
    assert response.json()["journal_note"] == SENTINEL_NOTE


@pytest.mark.parametrize(
    ("query", "status"),
    [("trade_id=", 400), ("trade_id=abc", 400), ("trade_id=1.5", 400), ("trade_id=0", 400), ("page=", 404)],
)
def test_bad_list_queries(journal_on, alice_client, alice_label, query, status):
    assert alice_client.get(f"/api/sentiment-labels/?{query}").status_code == status


def test_a_string_trade_id_is_400(journal_on, alice_client, alice_order):
    body = {"trade_id": str(alice_order.pk), "pre_label": "planned_setup"}
    assert alice_client.post("/api/sentiment-labels/", body, format="json").status_code == 400
