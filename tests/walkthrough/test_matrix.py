"""SPEC W5 / F6: the flag matrix as one full table, then through HTTP."""

from __future__ import annotations

import pytest

from tests.walkthrough.conftest import with_bucket
from walkthrough import scenarios
from walkthrough.models import IntentBucket

IC, CC, VS = "iron_condor", "covered_call", "vertical_spread"
S3, SIMPLE = "/api/walkthrough/screen/3", "/api/walkthrough/screen/simple/1"

# (R, S, bucket) -> (scenario, builder_route, inline guide on screen 2): all 2 × 2 × 5 rows.
MATRIX = [
    (False, False, "income", IC, S3, False),
    (False, False, "covered_call", IC, S3, False),
    (False, False, "directional", IC, S3, False),
    (False, False, "unknown", IC, S3, False),
    (False, False, None, IC, S3, False),
    (False, True, "income", IC, S3, False),
    (False, True, "covered_call", IC, S3, False),
    (False, True, "directional", IC, S3, False),
    (False, True, "unknown", IC, S3, False),
    (False, True, None, IC, S3, False),
    (True, False, "income", IC, S3, False),
    (True, False, "covered_call", CC, S3, False),
    (True, False, "directional", VS, S3, True),
    (True, False, "unknown", IC, S3, False),
    (True, False, None, IC, S3, False),
    (True, True, "income", IC, S3, False),
    (True, True, "covered_call", CC, S3, False),
    (True, True, "directional", VS, SIMPLE, False),
    (True, True, "unknown", IC, S3, False),
    (True, True, None, IC, S3, False),
]


@pytest.mark.parametrize(("routing", "self_select", "bucket", "scenario", "route", "guide"), MATRIX)
def test_resolve_scenario_full_table(routing, self_select, bucket, scenario, route, guide):
    got = scenarios.resolve_scenario(routing=routing, self_select=self_select, bucket=bucket)
    assert (got.scenario, got.strategy_type, got.builder_route, got.inline_guide) == (
        scenario,
        scenario,
        route,
        guide,
    )


def test_every_bucket_has_a_registry_entry_and_a_scenario():
    # A bucket the CHECK allows but the registry lacks would 500 on screen 2 (SPEC W12).
    assert list(scenarios.buckets()) == IntentBucket.values
    for bucket in scenarios.buckets().values():
        assert scenarios.scenario(bucket.scenario)["strategy_type"] == bucket.scenario


@pytest.mark.parametrize(("routing", "self_select", "bucket", "scenario", "route", "guide"), MATRIX)
def test_screens_follow_the_matrix(tess, set_flags, routing, self_select, bucket, scenario, route, guide):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=routing, FLAG_BETA_WALKTHROUGH_SELF_SELECT=self_select)
    with_bucket(tess, bucket)

    two = tess.get("screen/2").json()
    three = tess.get("screen/3").json()

    for body in (two, three):
        assert (body["scenario"], body["strategy_type"], body["builder_route"]) == (scenario, scenario, route)
    assert (two["inline_guide"] is not None) is guide
    assert three["inline_guide"] is None
    assert "chain" not in two
    chain = three["chain"]
    assert set(chain) == {"underlying", "underlying_price", "as_of", "options"}
    assert set(chain["options"][0]) == {"right", "strike", "expiry", "bid", "ask"}
    for body in (two, three):
        assert (body["rules"] == {"otm_only": True, "min_dte": 21}) is (scenario == CC)

    simple = tess.get("screen/simple/1")
    if not self_select:
        assert simple.status_code == 404
        assert simple.json() == {"detail": "Not found."}
    else:
        assert simple.status_code == 200
        # The VS builder for the directional row, the iron-condor builder otherwise (SPEC W5).
        expected = scenario if route == SIMPLE else IC
        assert (simple.json()["scenario"], simple.json()["strategy_type"]) == (expected, expected)
        # builder_route stays the tester's own: only it takes their trade (SPEC W13).
        assert (simple.json()["screen"], simple.json()["builder_route"]) == ("simple/1", route)


def test_kill_switch_serves_iron_condor_on_the_next_request(tess, set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True)
    with_bucket(tess, "covered_call")
    assert tess.get("screen/3").json()["scenario"] == CC

    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=False)

    body = tess.get("screen/3").json()
    assert body["scenario"] == IC
    assert body["chain"]["underlying"] == "SPX"
    assert tess.get("").json()["strategy_type"] == IC
