"""One leg schema (issue 10, item 1): the walkthrough builder and the journal's order ticket
accept and refuse the same legs, with the same error shape, and store them exactly as posted."""

from __future__ import annotations

import pytest

from journal.models import PaperOrder
from tests.walkthrough.conftest import with_bucket
from tests.walkthrough.factories import legs
from walkthrough.models import PaperTrade

# (leg-0 changes, error key): shape errors both APIs must refuse identically.
BAD_LEGS = [
    ({"strike": "-0"}, "legs[0].strike"),
    ({"strike": "0"}, "legs[0].strike"),
    ({"strike": "0.0000"}, "legs[0].strike"),
    ({"strike": "１２３"}, "legs[0].strike"),  # full-width digits
    ({"strike": "5３00"}, "legs[0].strike"),  # one non-ASCII digit inside
    ({"strike": "1e3"}, "legs[0].strike"),
    ({"strike": "+5300"}, "legs[0].strike"),
    ({"strike": " 5300"}, "legs[0].strike"),
    ({"strike": "5300."}, "legs[0].strike"),
    ({"strike": 5300}, "legs[0].strike"),
    ({"strike": None}, "legs[0].strike"),
    ({"expiry": "0001-01-01"}, "legs[0].expiry"),
    ({"expiry": "2100-01-01"}, "legs[0].expiry"),
    ({"expiry": "2026-02-29"}, "legs[0].expiry"),
    ({"expiry": "２026-07-17"}, "legs[0].expiry"),
    ({"quantity": "1"}, "legs[0].quantity"),
    ({"quantity": 0}, "legs[0].quantity"),
    ({"quantity": True}, "legs[0].quantity"),
    ({"right": None}, "legs[0].right"),
    ({"action": "hold"}, "legs[0].action"),
    ({"colour": "red"}, "legs[0].colour"),
]


@pytest.fixture
def both(tess, alice_client):
    """Post the same iron-condor legs to the walkthrough builder and to the order ticket."""
    with_bucket(tess, "income")  # serves the iron condor

    def _post(posted: list[dict]):
        builder = tess.post("screen/3", {"strategy_type": "iron_condor", "legs": posted})
        ticket = alice_client.post(
            "/api/paper-orders/",
            {"symbol": "SPX", "strategy_type": "iron_condor", "quantity": 1, "legs": posted},
            format="json",
        )
        return builder, ticket

    return _post


@pytest.mark.parametrize(("changes", "key"), BAD_LEGS)
def test_both_apis_refuse_the_same_legs_with_the_same_errors(both, changes, key):
    posted = legs("iron_condor")
    posted[0].update(changes)
    builder, ticket = both(posted)
    assert builder.status_code == ticket.status_code == 400
    assert builder.json() == ticket.json()
    assert list(builder.json()) == [key]
    assert not PaperTrade.objects.exists()
    assert not PaperOrder.objects.exists()


def test_an_equity_leg_with_option_fields_is_the_same_error_in_both(both):
    posted = legs("iron_condor")
    posted[0].update(instrument="equity")  # right/strike/expiry must then be null
    builder, ticket = both(posted)
    assert builder.json() == ticket.json()
    assert set(builder.json()) == {"legs[0].right", "legs[0].strike", "legs[0].expiry"}


def test_both_apis_store_and_return_legs_exactly_as_posted(both):
    posted = legs("iron_condor")
    posted[0]["strike"] = "5300.00"
    posted[1]["strike"] = "5350.0"
    builder, ticket = both(posted)
    assert builder.status_code == 201, builder.json()
    assert ticket.status_code == 201, ticket.json()
    assert builder.json()["legs"] == ticket.json()["legs"] == posted
    assert PaperOrder.objects.get().legs_json == PaperTrade.objects.get().legs_json == posted


@pytest.mark.parametrize(
    ("pnl", "status", "stored"),
    [
        ("12.50", 200, "12.50"),
        ("-3", 200, "-3.00"),
        ("0", 200, "0.00"),
        ("1e5", 400, None),
        ("12.", 400, None),
        (" 12.50", 400, None),
        ("-0", 400, None),
        ("+1", 400, None),
        ("12.505", 400, None),
        ("１２", 400, None),
        (12.5, 400, None),
    ],
)
def test_realized_pnl_follows_the_same_decimal_rules_with_a_sign(alice, alice_client, pnl, status, stored):
    from journal.services import paper_order_open

    order, _ = paper_order_open(
        user=alice, symbol="SPX", strategy_type="iron_condor", quantity=1, legs=legs("iron_condor")
    )
    response = alice_client.post(f"/api/paper-orders/{order.pk}/close/", {"realized_pnl": pnl}, format="json")
    assert response.status_code == status, response.json()
    if stored is None:
        assert list(response.json()) == ["realized_pnl"]
        assert PaperOrder.objects.get(pk=order.pk).status == "open"
    else:
        assert response.json()["realized_pnl"] == stored


def test_strategy_type_is_defined_once():
    import journal.models
    import trading.legs
    import walkthrough.models

    assert walkthrough.models.StrategyType is journal.models.StrategyType is trading.legs.StrategyType


def _changed(strategy: str, changes: dict) -> list[dict]:
    posted = legs(strategy)
    for where, value in changes.items():
        index, field = where.split(".")
        posted[int(index)][field] = value
    return posted


# Structural rule breaks that stay inside the walkthrough's chain: (strategy, bucket, changes, key)
STRUCTURE = [
    ("vertical_spread", "directional", {"1.right": "put"}, "legs[1].right"),  # a call and a put
    ("vertical_spread", "directional", {"1.action": "buy"}, "legs[1].action"),
    ("vertical_spread", "directional", {"1.quantity": 3}, "legs[1].quantity"),
    ("iron_condor", "income", {"0.strike": "5400"}, "legs[0].strike"),
    ("iron_condor", "income", {"3.quantity": 2}, "legs[3].quantity"),
    ("iron_condor", "income", {"0.expiry": "2026-07-24"}, "legs[0].expiry"),
    ("covered_call", "covered_call", {"0.quantity": 200}, "legs[0].quantity"),
    ("covered_call", "covered_call", {"0.action": "sell"}, "legs[0].action"),
]


@pytest.mark.parametrize(("strategy", "bucket", "changes", "key"), STRUCTURE)
def test_both_apis_apply_the_same_structural_rules(
    tess, alice_client, set_flags, strategy, bucket, changes, key
):
    """SPEC J1: the journal's ticket applies the walkthrough's rules for each strategy, with the
    same error keys and messages; only the chain and the guide are the walkthrough's own."""
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    with_bucket(tess, bucket)
    posted = _changed(strategy, changes)

    builder = tess.post("screen/3", {"strategy_type": strategy, "legs": posted})
    ticket = alice_client.post(
        "/api/paper-orders/",
        {"symbol": "XYZ", "strategy_type": strategy, "quantity": 1, "legs": posted},
        format="json",
    )

    assert builder.status_code == ticket.status_code == 400
    assert builder.json() == ticket.json()
    assert list(ticket.json()) == [key]
    assert not PaperTrade.objects.exists()
    assert not PaperOrder.objects.exists()
