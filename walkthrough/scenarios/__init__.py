"""Scenario registry (SPEC W5, W6, W12): copy, chains and rules are data in this folder.

`resolve_scenario` is the one pure function behind the W5 flag matrix; views call it with the
request's flag snapshot, so turning FLAG_WALKTHROUGH_PERSONA_ROUTING off serves the iron
condor on the very next request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

DATA_DIR = Path(__file__).resolve().parent
API_ROOT = "/api/walkthrough/"
BUILDER_SCREEN_3 = f"{API_ROOT}screen/3"
BUILDER_SIMPLE_1 = f"{API_ROOT}screen/simple/1"
DEFAULT_SCENARIO = "iron_condor"


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
    """The request's snapshot of the two routing flags (R and S in the SPEC W5 matrix)."""

    routing: bool
    self_select: bool

    OFF: ClassVar[Flags]

    def resolve(self, bucket: str | None) -> Resolution:
        return resolve_scenario(routing=self.routing, self_select=self.self_select, bucket=bucket)


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


def resolve_scenario(*, routing: bool, self_select: bool, bucket: str | None) -> Resolution:
    """SPEC W5: (R flag, S flag, intent bucket) -> scenario, builder route, inline guide."""
    if not routing or bucket is None:
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
