"""SPEC W5 / F6: the flag matrix as one full table, then through HTTP."""

from __future__ import annotations

import pytest

from tests.walkthrough.conftest import with_bucket
from walkthrough import scenarios
from walkthrough.models import IntentBucket, Progress

IC, CC, VS = "iron_condor", "covered_call", "vertical_spread"
S3, SIMPLE = "/api/walkthrough/screen/3", "/api/walkthrough/screen/simple/1"
RT, HO = "routed", "holdout"

# (R, arm, S, bucket) -> (scenario, builder_route, inline guide on screen 2): all 2 × 2 × 2 × 5
# rows (SPEC W5, F8). OFF wins: R off serves the iron condor whatever the arm; the holdout is
# served the iron condor whatever its bucket.
MATRIX = [
    (False, RT, False, "income", IC, S3, False),
    (False, RT, False, "covered_call", IC, S3, False),
    (False, RT, False, "directional", IC, S3, False),
    (False, RT, False, "unknown", IC, S3, False),
    (False, RT, False, None, IC, S3, False),
    (False, RT, True, "income", IC, S3, False),
    (False, RT, True, "covered_call", IC, S3, False),
    (False, RT, True, "directional", IC, S3, False),
    (False, RT, True, "unknown", IC, S3, False),
    (False, RT, True, None, IC, S3, False),
    (False, HO, False, "income", IC, S3, False),
    (False, HO, False, "covered_call", IC, S3, False),
    (False, HO, False, "directional", IC, S3, False),
    (False, HO, False, "unknown", IC, S3, False),
    (False, HO, False, None, IC, S3, False),
    (False, HO, True, "income", IC, S3, False),
    (False, HO, True, "covered_call", IC, S3, False),
    (False, HO, True, "directional", IC, S3, False),
    (False, HO, True, "unknown", IC, S3, False),
    (False, HO, True, None, IC, S3, False),
    (True, RT, False, "income", IC, S3, False),
    (True, RT, False, "covered_call", CC, S3, False),
    (True, RT, False, "directional", VS, S3, True),
    (True, RT, False, "unknown", IC, S3, False),
    (True, RT, False, None, IC, S3, False),
    (True, RT, True, "income", IC, S3, False),
    (True, RT, True, "covered_call", CC, S3, False),
    (True, RT, True, "directional", VS, SIMPLE, False),
    (True, RT, True, "unknown", IC, S3, False),
    (True, RT, True, None, IC, S3, False),
    (True, HO, False, "income", IC, S3, False),
    (True, HO, False, "covered_call", IC, S3, False),
    (True, HO, False, "directional", IC, S3, False),
    (True, HO, False, "unknown", IC, S3, False),
    (True, HO, False, None, IC, S3, False),
    (True, HO, True, "income", IC, S3, False),
    (True, HO, True, "covered_call", IC, S3, False),
    (True, HO, True, "directional", IC, S3, False),
    (True, HO, True, "unknown", IC, S3, False),
    (True, HO, True, None, IC, S3, False),
]
COLUMNS = ("routing", "arm", "self_select", "bucket", "scenario", "route", "guide")


@pytest.mark.parametrize(COLUMNS, MATRIX)
def test_resolve_scenario_full_table(routing, arm, self_select, bucket, scenario, route, guide):
    got = scenarios.resolve_scenario(routing=routing, self_select=self_select, bucket=bucket, arm=arm)
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


@pytest.mark.parametrize(COLUMNS, MATRIX)
def test_screens_follow_the_matrix(
    tess, set_flags, routing, arm, self_select, bucket, scenario, route, guide
):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=routing, FLAG_BETA_WALKTHROUGH_SELF_SELECT=self_select)
    with_bucket(tess, bucket)
    Progress.objects.filter(pk=tess.progress.pk).update(routing_arm=arm)  # as stored at the door

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
