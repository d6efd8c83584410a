"""Scenario registry (SPEC W5, W6, W12): copy, chains and rules are data in this folder.

`resolve_scenario` is the one pure function behind the W5 flag matrix; views call it with the
request's flag snapshot, so turning FLAG_WALKTHROUGH_PERSONA_ROUTING off serves the iron
condor on the very next request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from flags.rollout import in_rollout

DATA_DIR = Path(__file__).resolve().parent
API_ROOT = "/api/walkthrough/"
BUILDER_SCREEN_3 = f"{API_ROOT}screen/3"
BUILDER_SIMPLE_1 = f"{API_ROOT}screen/simple/1"
DEFAULT_SCENARIO = "iron_condor"
ROUTING_FLAG = "FLAG_WALKTHROUGH_PERSONA_ROUTING"
# A tester's routing arm (SPEC F8): inside the routing rollout, or the holdout outside it.
ROUTED, HOLDOUT = "routed", "holdout"


def _load(name: str) -> dict[str, Any]:
    with (DATA_DIR / f"{name}.json").open(encoding="utf-8") as fh:
        return json.load(fh)


@dataclass(frozen=True)
class Bucket:
    value: str
    label: str
    scenario: str
    simple_builder: bool


@dataclass(frozen=True)
class Resolution:
    """What a tester is served right now: the scenario and where its trade is built."""

    scenario: str
    builder_route: str
    inline_guide: bool

    @property
    def strategy_type(self) -> str:
        return scenario(self.scenario)["strategy_type"]


@dataclass(frozen=True)
class Flags:
    """The request's snapshot of the two routing flags (R and S in the SPEC W5 matrix).

    `routing_percent` is R's rollout (SPEC F8): R on reaches that share of testers, sticky by
    a hash of the flag name and the progress row; the others are the holdout.
    """

    routing: bool
    self_select: bool
    routing_percent: int = 100

    OFF: ClassVar[Flags]

    def assign_arm(self, subject: int) -> str | None:
        """The arm this tester falls in under R's current rollout; None while R is off (no
        experiment runs, and the kill switch serves everyone the iron condor)."""
        if not self.routing:
            return None
        chosen = in_rollout(flag=ROUTING_FLAG, subject=str(subject), percent=self.routing_percent)
        return ROUTED if chosen else HOLDOUT

    def resolve(self, bucket: str | None, *, arm: str | None = ROUTED) -> Resolution:
        return resolve_scenario(routing=self.routing, self_select=self.self_select, bucket=bucket, arm=arm)

    def serve(self, *, bucket: str | None, subject: int, stored_arm: str | None) -> Resolution:
        """What one tester is served: the arm stored at the door (frozen from the first trade),
        else the arm the current rollout gives them."""
        arm = stored_arm if stored_arm is not None else self.assign_arm(subject)
        return self.resolve(bucket, arm=arm)


Flags.OFF = Flags(routing=False, self_select=False)


@cache
def buckets() -> dict[str, Bucket]:
    return {
        entry["value"]: Bucket(entry["value"], entry["label"], entry["scenario"], entry["simple_builder"])
        for entry in _load("buckets")["buckets"]
    }


def bucket_choices() -> list[tuple[str, str]]:
    """(value, admin label) per registry bucket, in registry order: the one source of
    `walkthrough.models.IntentBucket` and its CHECK constraint (SPEC W12). The admin label is
    derived from the value, so rewording the testers' copy never changes the schema."""
    return [(value, value.replace("_", " ").capitalize()) for value in buckets()]


@cache
def copy_version() -> str:
    """The reviewed copy's version (#3857), reported by the progress summary."""
    return str(_load("copy")["copy_version"])


@cache
def copy_digest() -> str:
    """SHA-256 over every scenario file (name and bytes): what an operator signs off (SPEC W16).
    Any change to a copy file, with or without a new copy_version, gives a new digest."""
    digest = hashlib.sha256()
    for path in sorted(DATA_DIR.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_caches_clear() -> None:
    """Forget every file read so far (tests that change a copy file; a deploy restarts anyway)."""
    for cached in (buckets, copy_version, copy_digest, scenario, door, survey):
        cached.cache_clear()


@cache
def scenario(name: str) -> dict[str, Any]:
    data = _load(name)
    if data["scenario"] != name:
        raise ValueError(f"scenarios/{name}.json names itself {data['scenario']!r}")
    return data


@cache
def door() -> dict[str, Any]:
    return _load("door")


@cache
def survey() -> dict[str, Any]:
    return _load("survey")


def resolve_scenario(
    *, routing: bool, self_select: bool, bucket: str | None, arm: str | None = ROUTED
) -> Resolution:
    """SPEC W5, F8: (R flag, routing arm, S flag, intent bucket) -> scenario, builder route,
    inline guide. OFF wins: R off serves the iron condor whatever the arm; the holdout is
    served the iron condor whatever its bucket."""
    if not routing or bucket is None or arm == HOLDOUT:
        return Resolution(DEFAULT_SCENARIO, BUILDER_SCREEN_3, inline_guide=False)
    entry = buckets()[bucket]
    if not entry.simple_builder:
        return Resolution(entry.scenario, BUILDER_SCREEN_3, inline_guide=False)
    if self_select:
        return Resolution(entry.scenario, BUILDER_SIMPLE_1, inline_guide=False)
    # The simple builder is behind S; with S off the guide travels inline on screen 2 (ADR 0115).
    return Resolution(entry.scenario, BUILDER_SCREEN_3, inline_guide=True)


def resolve_simple_builder(served: Resolution) -> Resolution:
    """SPEC W5 for GET /screen/simple/1 (S on): the vertical-spread builder for the directional
    row, the existing simple iron-condor builder for everyone else. `builder_route` stays the
    tester's own: a trade is accepted only there (SPEC W13), so the payload never points a
    covered-call or income tester at a route that would refuse their trade."""
    if served.builder_route == BUILDER_SIMPLE_1:
        return served
    return Resolution(DEFAULT_SCENARIO, served.builder_route, inline_guide=False)


def bucket_for_answers(answers: dict[str, str]) -> str:
    """The documented, deterministic answer -> bucket mapping (docs/walkthrough.md)."""
    spec = door()
    for rule in spec["bucket_rules"]:
        if all(answers.get(qid) == value for qid, value in rule["when"].items()):
            return rule["bucket"]
    return spec["default_bucket"]


def screen_copy(scenario_name: str, screen: str) -> dict[str, str]:
    screens = scenario(scenario_name)["screens"]
    return screens.get(screen) or screens["3"]
