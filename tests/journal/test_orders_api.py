"""Paper orders API (SPEC J1): per user, close/cancel, and the order ticket's pre_label."""

from __future__ import annotations

import pytest

from journal.models import PaperOrder, TradeSentimentLabel
from tests.journal.factories import CONDOR_LEGS, PaperOrderFactory

pytestmark = pytest.mark.django_db

COVERED_LEGS = [
    {"action": "buy", "instrument": "equity", "right": None, "strike": None, "expiry": None, "quantity": 100},
    {
        "action": "sell",
        "instrument": "option",
        "right": "call",
        "strike": "150",
        "expiry": "2026-08-21",
        "quantity": 1,
    },
]


def ticket(**overrides) -> dict:
    return {"symbol": "spy", "strategy_type": "iron_condor", "quantity": 1, "legs": CONDOR_LEGS, **overrides}


def test_alice_opens_lists_reads_and_closes_an_order(alice_client):
    created = alice_client.post("/api/paper-orders/", ticket(), format="json")
    assert created.status_code == 201, created.json()
    order = created.json()
    assert order["symbol"] == "SPY"
    assert order["status"] == "open"
    assert order["legs"] == CONDOR_LEGS
    assert order["closed_at"] is None

    assert [o["id"] for o in alice_client.get("/api/paper-orders/").json()["results"]] == [order["id"]]
    assert alice_client.get(f"/api/paper-orders/{order['id']}/").json() == order

    closed = alice_client.post(
        f"/api/paper-orders/{order['id']}/close/", {"realized_pnl": "12.50"}, format="json"
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["realized_pnl"] == "12.50"
    assert closed.json()["closed_at"] is not None


def test_close_without_a_body(alice_client, alice_order):
    response = alice_client.post(f"/api/paper-orders/{alice_order.pk}/close/")
    assert response.status_code == 200
    assert response.json()["realized_pnl"] is None


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("post", "close/"), ("post", "cancel/")])
def test_bob_gets_404_for_alices_order(bob_client, alice_order, method, suffix):
    theirs = getattr(bob_client, method)(f"/api/paper-orders/{alice_order.pk}/{suffix}", format="json")
    missing = getattr(bob_client, method)(f"/api/paper-orders/{alice_order.pk + 99}/{suffix}", format="json")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "Not found."}
    alice_order.refresh_from_db()
    assert alice_order.status == "open"
    assert bob_client.get("/api/paper-orders/").json()["results"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/paper-orders/"),
        ("post", "/api/paper-orders/"),
        ("get", "/api/paper-orders/1/"),
        ("post", "/api/paper-orders/1/close/"),
        ("post", "/api/paper-orders/1/cancel/"),
    ],
)
def test_anonymous_gets_401(anon_client, method, path):
    assert getattr(anon_client, method)(path, {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("state", "action"),
    [("closed", "close"), ("closed", "cancel"), ("cancelled", "close"), ("cancelled", "cancel")],
)
def test_closed_or_cancelled_orders_do_not_change(alice, alice_client, state, action):
    order = PaperOrderFactory(user=alice, **{state: True})
    response = alice_client.post(f"/api/paper-orders/{order.pk}/{action}/", format="json")
    assert response.status_code == 409
    assert state in response.json()["detail"]
    assert PaperOrder.objects.get(pk=order.pk).status == state


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (ticket(symbol=""), "symbol"),
        (ticket(symbol="SPY; DROP"), "symbol"),
        (ticket(strategy_type="strangle"), "strategy_type"),
        (ticket(quantity=0), "quantity"),
        (ticket(quantity="many"), "quantity"),
        (ticket(quantity="1"), "quantity"),
        (ticket(legs=[{**CONDOR_LEGS[0], "strike": 480}, *CONDOR_LEGS[1:]]), "legs[0].strike"),
        (ticket(legs=[]), "legs"),
        (ticket(legs=CONDOR_LEGS[:3]), "legs"),
        (ticket(legs="not a list"), "legs"),
        (ticket(legs=[{**CONDOR_LEGS[0], "right": None}, *CONDOR_LEGS[1:]]), "legs[0].right"),
        (ticket(legs=[{**CONDOR_LEGS[0], "strike": "abc"}, *CONDOR_LEGS[1:]]), "legs[0].strike"),
        (ticket(legs=[{**CONDOR_LEGS[0], "expiry": "next friday"}, *CONDOR_LEGS[1:]]), "legs[0].expiry"),
        (ticket(legs=[{**CONDOR_LEGS[0], "action": "hold"}, *CONDOR_LEGS[1:]]), "legs[0].action"),
        (ticket(strategy_type="covered_call", legs=CONDOR_LEGS), "legs"),
        (
            ticket(strategy_type="covered_call", legs=[{**COVERED_LEGS[0], "strike": "1"}, COVERED_LEGS[1]]),
            "legs[0].strike",
        ),
    ],
)
def test_bad_tickets_are_400_and_write_nothing(alice_client, body, field):
    response = alice_client.post("/api/paper-orders/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not PaperOrder.objects.exists()


def test_covered_call_ticket(alice_client):
    response = alice_client.post(
        "/api/paper-orders/", ticket(strategy_type="covered_call", legs=COVERED_LEGS), format="json"
    )
    assert response.status_code == 201, response.json()
    # Stored and returned exactly as posted: "150" stays "150" (issue 10), never "150.00".
    assert response.json()["legs"] == COVERED_LEGS


def test_bad_close_pnl_is_400(alice_client, alice_order):
    response = alice_client.post(
        f"/api/paper-orders/{alice_order.pk}/close/", {"realized_pnl": "lots"}, format="json"
    )
    assert response.status_code == 400
    assert PaperOrder.objects.get(pk=alice_order.pk).status == "open"


def test_pre_label_is_written_with_the_order_while_the_journal_is_on(journal_on, alice, alice_client):
    response = alice_client.post("/api/paper-orders/", ticket(pre_label="planned_setup"), format="json")
    assert response.status_code == 201
    label = TradeSentimentLabel.objects.get()
    assert (label.user, label.trade_id, label.pre_label, label.taxonomy_version_id) == (
        alice,
        response.json()["id"],
        "planned_setup",
        1,
    )
    found = alice_client.get(f"/api/sentiment-labels/?trade_id={label.trade_id}").json()["results"]
    assert [row["id"] for row in found] == [label.pk]


@pytest.mark.parametrize("bad", ["no_such_code", "exited_per_plan"])
def test_a_bad_pre_label_rolls_the_order_back(journal_on, alice_client, bad):
    response = alice_client.post("/api/paper-orders/", ticket(pre_label=bad), format="json")
    assert response.status_code == 400
    assert "pre_label" in response.json()
    assert not PaperOrder.objects.exists()
    assert not TradeSentimentLabel.objects.exists()


@pytest.mark.parametrize("pre_label", ["planned_setup", "no_such_code", "", 123, ["x"], "x" * 65])
def test_pre_label_is_ignored_while_the_journal_is_off(alice_client, pre_label):
    """Ignored means not validated either: a value of any shape cannot fail the order."""
    response = alice_client.post("/api/paper-orders/", ticket(pre_label=pre_label), format="json")
    assert response.status_code == 201
    assert PaperOrder.objects.count() == 1
    assert not TradeSentimentLabel.objects.exists()


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "99999999999999999999999"])
def test_non_integer_order_ids_are_404(alice_client, bad_id):
    assert alice_client.get(f"/api/paper-orders/{bad_id}/").status_code == 404
    assert alice_client.post(f"/api/paper-orders/{bad_id}/close/").status_code == 404
