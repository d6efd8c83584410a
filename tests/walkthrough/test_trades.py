"""SPEC W6–W8: leg schema, per-strategy rules, 409 on a stale scenario, exact round-trip."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.walkthrough.conftest import with_bucket
from tests.walkthrough.factories import legs
from walkthrough.models import IC_COLUMNS, PaperTrade, Progress

# (bucket, flags) that serve each strategy
SERVED = {
    "iron_condor": ("income", {}),
    "covered_call": ("covered_call", {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True}),
    "vertical_spread": ("directional", {"FLAG_WALKTHROUGH_PERSONA_ROUTING": True}),
}


@pytest.fixture
def serve(tess, set_flags):
    def _serve(strategy: str):
        bucket, flags = SERVED[strategy]
        set_flags(FLAG_STRATEGY_TEMPLATES_V2=False, **flags)
        with_bucket(tess, bucket)
        return tess

    return _serve


@pytest.mark.parametrize("strategy", ["iron_condor", "covered_call", "vertical_spread"])
def test_a_valid_trade_is_201_and_round_trips_exactly(serve, strategy):
    tester = serve(strategy)
    posted = legs(strategy)
    posted[0]["strike"] = {"iron_condor": "5300.00", "covered_call": None, "vertical_spread": "480.0"}[
        strategy
    ]

    response = tester.post("screen/3", {"strategy_type": strategy, "legs": posted})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["strategy_type"] == strategy
    assert body["legs"] == posted  # decimals stay the strings that were sent
    trade = PaperTrade.objects.get(pk=body["id"])
    assert trade.legs_json == posted
    assert tester.get("screen/4").json()["trade"]["legs"] == posted
    assert tester.refresh().current_screen == 4


def test_iron_condor_columns_come_from_the_legs_and_the_chain(serve):
    tester = serve("iron_condor")
    shuffled = legs("iron_condor")[::-1]  # leg order does not decide the roles

    body = tester.post("screen/3", {"strategy_type": "iron_condor", "legs": shuffled}).json()

    trade = PaperTrade.objects.get(pk=body["id"])
    assert (trade.long_put_strike, trade.short_put_strike) == (Decimal(5300), Decimal(5350))
    assert (trade.short_call_strike, trade.long_call_strike) == (Decimal(5600), Decimal(5650))
    assert str(trade.expiry) == "2026-07-17"
    # Sold at the bid, bought at the ask: 11.40 + 12.80 - 8.80 - 6.90.
    assert trade.net_credit == Decimal("8.50")
    assert Decimal(body["net_credit"]) == Decimal("8.50")


@pytest.mark.parametrize("strategy", ["covered_call", "vertical_spread"])
def test_other_strategies_leave_the_iron_condor_columns_null(serve, strategy):
    tester = serve(strategy)
    body = tester.post("screen/3", {"strategy_type": strategy, "legs": legs(strategy)}).json()
    row = PaperTrade.objects.values().get(pk=body["id"])
    assert [row[c] for c in IC_COLUMNS] == [None] * 6


def _set(strategy: str, **changes):
    """Valid legs with `changes` keyed "index.field" applied."""
    out = legs(strategy)
    for key, value in changes.items():
        index, field = key.split(".")
        out[int(index)][field] = value
    return out


# (strategy, legs, error key, rule named in the message)
RULES = [
    ("iron_condor", legs("iron_condor")[:3], "legs", "leg_count"),
    ("iron_condor", [*legs("iron_condor"), legs("iron_condor")[0]], "legs", "leg_count"),
    (
        "iron_condor",
        _set("iron_condor", **{"3.expiry": "2026-07-24", "3.strike": "5650"}),
        "legs[3].expiry",
        "one_expiry",
    ),
    ("iron_condor", _set("iron_condor", **{"0.action": "sell"}), "legs", "ic_shape"),
    ("iron_condor", _set("iron_condor", **{"0.strike": "5400"}), "legs[0].strike", "strike_order"),
    ("iron_condor", _set("iron_condor", **{"2.strike": "5300"}), "legs[2].strike", "strike_order"),
    (
        "iron_condor",
        _set("iron_condor", **{"2.strike": "5550", "3.strike": "5550"}),
        "legs[3].strike",
        "strike_order",
    ),
    ("iron_condor", _set("iron_condor", **{"2.quantity": 2}), "legs[2].quantity", "equal_quantity"),
    ("iron_condor", _set("iron_condor", **{"0.strike": "5275"}), "legs[0].strike", "in_chain"),
    (
        "iron_condor",
        _set(
            "iron_condor", **{"0.instrument": "equity", "0.right": None, "0.strike": None, "0.expiry": None}
        ),
        "legs[0].instrument",
        "options_only",
    ),
    ("vertical_spread", legs("vertical_spread")[:1], "legs", "leg_count"),
    ("vertical_spread", _set("vertical_spread", **{"1.right": "put"}), "legs[1].right", "same_right"),
    (
        "vertical_spread",
        _set("vertical_spread", **{"1.expiry": "2026-08-21"}),
        "legs[1].expiry",
        "same_expiry",
    ),
    (
        "vertical_spread",
        _set("vertical_spread", **{"1.strike": "480"}),
        "legs[1].strike",
        "different_strikes",
    ),
    ("vertical_spread", _set("vertical_spread", **{"1.action": "buy"}), "legs[1].action", "one_buy_one_sell"),
    ("vertical_spread", _set("vertical_spread", **{"1.quantity": 3}), "legs[1].quantity", "equal_quantity"),
    ("vertical_spread", _set("vertical_spread", **{"1.strike": "470.5"}), "legs[1].strike", "in_chain"),
    (
        "vertical_spread",
        _set(
            "vertical_spread",
            **{"1.instrument": "equity", "1.right": None, "1.strike": None, "1.expiry": None},
        ),
        "legs[1].instrument",
        "options_only",
    ),
    ("covered_call", legs("covered_call")[1:], "legs", "leg_count"),
    ("covered_call", _set("covered_call", **{"0.quantity": 50}), "legs[0].quantity", "shares_per_contract"),
    ("covered_call", _set("covered_call", **{"1.quantity": 2}), "legs[0].quantity", "shares_per_contract"),
    ("covered_call", _set("covered_call", **{"0.action": "sell"}), "legs[0].action", "long_shares"),
    ("covered_call", _set("covered_call", **{"1.action": "buy"}), "legs[1].action", "short_call"),
    ("covered_call", _set("covered_call", **{"1.right": "put"}), "legs[1].right", "short_call"),
    ("covered_call", _set("covered_call", **{"1.strike": "100"}), "legs[1].strike", "otm_only"),
    ("covered_call", _set("covered_call", **{"1.strike": "95"}), "legs[1].strike", "otm_only"),
    ("covered_call", _set("covered_call", **{"1.expiry": "2026-07-03"}), "legs[1].expiry", "min_dte"),
    ("covered_call", _set("covered_call", **{"1.strike": "115"}), "legs[1].strike", "in_chain"),
]


@pytest.mark.parametrize(("strategy", "posted", "key", "rule"), RULES)
def test_each_rule_violation_is_a_400_naming_rule_and_leg(serve, strategy, posted, key, rule):
    tester = serve(strategy)
    before = Progress.objects.values().get(pk=tester.progress.pk)

    response = tester.post("screen/3", {"strategy_type": strategy, "legs": posted})

    assert response.status_code == 400
    assert any(message.startswith(f"{rule}:") for message in response.json()[key]), response.json()
    assert not PaperTrade.objects.exists()
    assert Progress.objects.values().get(pk=tester.progress.pk) == before


def test_covered_call_fixture_teaches_with_rule_breaking_options(serve):
    chain = serve("covered_call").get("screen/3").json()["chain"]
    price = Decimal(chain["underlying_price"])
    assert any(Decimal(o["strike"]) <= price for o in chain["options"])  # breaks otm_only
    assert any(o["expiry"] == "2026-07-03" for o in chain["options"])  # breaks min_dte (7 days)
    assert chain["as_of"] == "2026-06-26"


# Shape errors: (leg changes or whole body, error key)
BAD_INPUT = [
    ({"0.strike": 5300}, "legs[0].strike"),
    ({"0.strike": "5300.5.0"}, "legs[0].strike"),
    ({"0.strike": "abc"}, "legs[0].strike"),
    ({"0.strike": "-5300"}, "legs[0].strike"),
    ({"0.strike": "0"}, "legs[0].strike"),
    ({"0.strike": "1e3"}, "legs[0].strike"),
    ({"0.strike": "5300\n"}, "legs[0].strike"),
    ({"0.strike": " 5300"}, "legs[0].strike"),
    ({"0.strike": "9" * 400}, "legs[0].strike"),
    ({"0.expiry": "2026-02-30"}, "legs[0].expiry"),
    ({"0.expiry": "17/07/2026"}, "legs[0].expiry"),
    ({"0.expiry": 20260717}, "legs[0].expiry"),
    ({"0.expiry": "2026-07-17\n"}, "legs[0].expiry"),
    ({"0.quantity": 0}, "legs[0].quantity"),
    ({"0.quantity": -1}, "legs[0].quantity"),
    ({"0.quantity": 1.5}, "legs[0].quantity"),
    ({"0.quantity": "1"}, "legs[0].quantity"),
    ({"0.quantity": True}, "legs[0].quantity"),
    ({"0.quantity": 10**30}, "legs[0].quantity"),
    ({"0.action": "hold"}, "legs[0].action"),
    ({"0.right": None}, "legs[0].right"),
    ({"0.instrument": "future"}, "legs[0].instrument"),
    ({"0.colour": "red"}, "legs[0].colour"),
]


@pytest.mark.parametrize(("changes", "key"), BAD_INPUT)
def test_malformed_legs_are_400_with_field_errors(serve, changes, key):
    tester = serve("iron_condor")
    response = tester.post(
        "screen/3", {"strategy_type": "iron_condor", "legs": _set("iron_condor", **changes)}
    )
    assert response.status_code == 400
    assert key in response.json()
    assert not PaperTrade.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"legs": legs("iron_condor")},
        {"strategy_type": "iron_condor"},
        {"strategy_type": "butterfly", "legs": legs("iron_condor")},
        {"strategy_type": "iron_condor", "legs": []},
        {"strategy_type": "iron_condor", "legs": {"0": legs("iron_condor")[0]}},
        {"strategy_type": "iron_condor", "legs": [legs("iron_condor")[0]] * 50},
        {"strategy_type": "iron_condor", "legs": ["leg"]},
        {"strategy_type": "iron_condor", "legs": [None]},
        {"strategy_type": ["iron_condor"], "legs": legs("iron_condor")},
    ],
)
def test_malformed_trade_bodies_are_400(serve, body):
    response = serve("iron_condor").post("screen/3", body)
    assert response.status_code == 400
    assert not PaperTrade.objects.exists()


def test_equity_leg_shape_is_checked(serve):
    tester = serve("covered_call")
    response = tester.post(
        "screen/3", {"strategy_type": "covered_call", "legs": _set("covered_call", **{"0.strike": "100"})}
    )
    assert response.status_code == 400
    assert response.json()["legs[0].strike"] == ["Must be null for an equity leg."]


def test_stale_scenario_after_kill_switch_is_409(serve, set_flags):
    tester = serve("covered_call")
    screen = tester.get("screen/3").json()
    assert screen["strategy_type"] == "covered_call"

    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=False)  # operator flips R off mid-walkthrough
    response = tester.post(
        "screen/3", {"strategy_type": screen["strategy_type"], "legs": legs("covered_call")}
    )

    assert response.status_code == 409
    assert "fetch the screen again" in response.json()["detail"]
    assert response.json()["strategy_type"] == "iron_condor"
    assert not PaperTrade.objects.exists()
    # Fetching again gives the iron condor, which is then accepted.
    again = tester.get("screen/3").json()
    assert (
        tester.post(
            "screen/3", {"strategy_type": again["strategy_type"], "legs": legs("iron_condor")}
        ).status_code
        == 201
    )


def test_vertical_spread_is_built_on_the_simple_builder_while_self_select_is_on(serve, set_flags):
    tester = serve("vertical_spread")
    set_flags(FLAG_BETA_WALKTHROUGH_SELF_SELECT=True)
    route = tester.get("screen/2").json()["builder_route"]
    assert route == "/api/walkthrough/screen/simple/1"

    response = tester.post(
        "screen/simple/1", {"strategy_type": "vertical_spread", "legs": legs("vertical_spread")}
    )

    assert response.status_code == 201
    set_flags(FLAG_BETA_WALKTHROUGH_SELF_SELECT=False)
    assert (
        tester.post(
            "screen/simple/1", {"strategy_type": "vertical_spread", "legs": legs("vertical_spread")}
        ).status_code
        == 404
    )
    assert PaperTrade.objects.count() == 1


@pytest.mark.parametrize("templates", [False, True])
def test_covered_call_guide_ignores_strategy_templates(serve, set_flags, templates):
    """ADR 0115 Alt C: the guide's rules are its own, whatever FLAG_STRATEGY_TEMPLATES_V2 says."""
    tester = serve("covered_call")
    set_flags(FLAG_STRATEGY_TEMPLATES_V2=templates)

    assert tester.get("screen/3").json()["rules"] == {"otm_only": True, "min_dte": 21}
    ok = tester.post("screen/3", {"strategy_type": "covered_call", "legs": legs("covered_call")})
    itm = tester.post(
        "screen/3", {"strategy_type": "covered_call", "legs": _set("covered_call", **{"1.strike": "100"})}
    )

    assert ok.status_code == 201
    assert itm.status_code == 400
    assert itm.json()["legs[1].strike"][0].startswith("otm_only:")


def test_simple_builder_serves_the_iron_condor_but_a_covered_call_tester_trades_on_screen_3(serve, set_flags):
    """SPEC W5 serves the simple iron-condor builder to non-directional testers; SPEC W13
    accepts a trade only on the tester's own builder_route, so the covered-call bucket never
    collects an iron condor (issue 8)."""
    tester = serve("covered_call")
    set_flags(FLAG_BETA_WALKTHROUGH_SELF_SELECT=True)
    assert tester.get("screen/2").json()["builder_route"] == "/api/walkthrough/screen/3"
    simple = tester.get("screen/simple/1").json()
    assert (simple["strategy_type"], simple["builder_route"]) == ("iron_condor", "/api/walkthrough/screen/3")

    for strategy in ("covered_call", "iron_condor"):
        refused = tester.post("screen/simple/1", {"strategy_type": strategy, "legs": legs(strategy)})
        assert refused.status_code == 409
        assert refused.json()["builder_route"] == "/api/walkthrough/screen/3"
    assert not PaperTrade.objects.exists()
    built = tester.post("screen/3", {"strategy_type": "covered_call", "legs": legs("covered_call")})
    assert built.status_code == 201
    assert built.json()["strategy_type"] == "covered_call"


@pytest.mark.usefixtures("flags_stay_cached")
def test_a_trade_post_costs_at_most_five_queries(serve):
    """Issue 11 target: token lookup, the progress row lock, the insert, the progress update
    (4 today), with room for the screen-event row of SPEC W14. Savepoints are the test's own
    transaction (in production the atomic block is BEGIN/COMMIT), so they are not counted."""
    tester = serve("iron_condor")
    tester.get("screen/3")  # warm the flag snapshot, as in a running process
    with CaptureQueriesContext(connection) as captured:
        response = tester.post("screen/3", {"strategy_type": "iron_condor", "legs": legs("iron_condor")})
    assert response.status_code == 201
    queries = [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(queries) <= 5, queries
