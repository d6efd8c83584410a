"""SPEC W12, #3857: the walkthrough copy is real, neutral, and true to the fixtures it cites.

Copy is data in walkthrough/scenarios/*.json. These tests read the files, not the API, so a
string no screen serves yet (or a new file) is checked too; the API scan in tests/conftest.py
covers what is served.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import pytest

from journal.compliance import find_banned
from walkthrough import scenarios
from walkthrough.scenarios import rules

DATA_FILES = sorted(scenarios.DATA_DIR.glob("*.json"))
SCENARIO_NAMES = sorted({b.scenario for b in scenarios.buckets().values()} | {scenarios.DEFAULT_SCENARIO})
# The keys whose strings a tester reads. Everything else is a code, a value or a fixture quote.
COPY_KEYS = {"title", "body", "prompt", "label", "steps"}
# Advice and superlatives that the forward-looking list (journal/copy/banned_phrases.txt) does
# not hold, because they are fine in journal labels but not in teaching copy (#3857).
ADVICE = re.compile(r"\b(?:you should|best|ideal|optimal|safest|easy money|no risk)\b", re.IGNORECASE)
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(path: Path) -> str:
    return path.name


def all_strings(node, where: str = "$") -> Iterator[tuple[str, str]]:
    """Every string in a JSON document, keys included, however deeply nested."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield f"{where}.{key} (key)", key
            yield from all_strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from all_strings(value, f"{where}[{i}]")


def copy_strings(node, where: str = "$", *, in_copy: bool = False) -> Iterator[tuple[str, str]]:
    """The strings a tester reads: every string under a COPY_KEYS key."""
    if isinstance(node, str):
        if in_copy:
            yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from copy_strings(value, f"{where}.{key}", in_copy=in_copy or key in COPY_KEYS)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from copy_strings(value, f"{where}[{i}]", in_copy=in_copy)


def dates_in(text: str) -> list[str]:
    return DATE.findall(text)


def numbers_in(text: str) -> list[Decimal]:
    return [Decimal(n) for n in NUMBER.findall(DATE.sub(" ", text))]


def days_to(expiry: str, as_of: str) -> int:
    return (dt.date.fromisoformat(expiry) - dt.date.fromisoformat(as_of)).days


# --- the scanners themselves can fail ----------------------------------------------------------


def test_the_walkers_reach_nested_strings_and_keys():
    doc = {"a": [{"b": "x"}, ["Placeholder deep"]], "Placeholder key": 1, "title": {"t": ["read me"]}}
    found = [text for _, text in all_strings(doc)]
    assert "Placeholder deep" in found
    assert "Placeholder key" in found
    assert [text for _, text in copy_strings(doc)] == ["read me"]


def test_every_data_file_holds_copy():
    """A file that moved or lost its copy keys would make the scans below prove nothing."""
    assert {p.stem for p in DATA_FILES} >= {*SCENARIO_NAMES, "door", "buckets", "survey", "copy"}
    for path in DATA_FILES:
        if path.stem != "copy":
            assert list(copy_strings(_load(path))), path.name


# --- no stand-in text, no banned phrase, no advice ---------------------------------------------


@pytest.mark.parametrize("path", DATA_FILES, ids=_ids)
def test_no_string_still_says_placeholder(path):
    hits = [where for where, text in all_strings(_load(path)) if "placeholder" in text.lower()]
    assert hits == [], f"{path.name}: replace the placeholder copy at {hits}"


@pytest.mark.parametrize("path", DATA_FILES, ids=_ids)
def test_every_string_passes_the_banned_phrase_scan(path):
    hits = {where: found for where, text in all_strings(_load(path)) if (found := find_banned(text))}
    assert hits == {}


@pytest.mark.parametrize("path", DATA_FILES, ids=_ids)
def test_copy_gives_no_advice_and_is_never_blank(path):
    for where, text in copy_strings(_load(path)):
        assert text.strip() == text and text, f"{path.name} {where}: blank or padded"
        assert not ADVICE.search(text), f"{path.name} {where}: {ADVICE.search(text).group(0)!r}"


def test_the_advice_scan_catches_the_obvious():
    assert ADVICE.search("The best strike is the ideal one; you should sell it.")
    assert not ADVICE.search("The bestseller in a bestiary")


# --- practice-trade disclosure -----------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_each_scenario_says_it_is_a_practice_trade_with_simulated_fills(name):
    data = scenarios.scenario(name)
    texts = {f"screens.{screen}": copy["body"] for screen, copy in data["screens"].items()}
    if data["inline_guide"]:
        texts["inline_guide"] = " ".join(data["inline_guide"]["steps"])
    for where, text in texts.items():
        lowered = text.lower()
        assert "practice trade" in lowered or "paper trade" in lowered, f"{name} {where}"
        assert "simulat" in lowered, f"{name} {where}"


def test_the_door_says_trades_are_paper_trades_with_simulated_fills():
    body = scenarios.door()["body"].lower()
    assert "paper trade" in body and "simulated" in body


# --- numbers and dates match the fixtures --------------------------------------------------------


def _fixture_numbers(data: dict) -> set[Decimal]:
    """Every number a scenario's copy may cite: quotes, prices, rule values, day counts, widths."""
    chain = data["chain"]
    options = chain["options"]
    allowed = {Decimal(rules.SHARES_PER_CONTRACT), Decimal(chain["underlying_price"])}
    for option in options:
        allowed |= {Decimal(option[k]) for k in ("strike", "bid", "ask")}
        allowed.add(Decimal(days_to(option["expiry"], chain["as_of"])))
    for a, b in combinations(options, 2):
        if (a["right"], a["expiry"]) == (b["right"], b["expiry"]):
            allowed.add(abs(Decimal(a["strike"]) - Decimal(b["strike"])))
    if data["rules"]:
        allowed.add(Decimal(data["rules"]["min_dte"]))
    return allowed


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_every_number_and_date_in_a_scenario_is_from_its_fixture(name):
    data = scenarios.scenario(name)
    chain = data["chain"]
    allowed_numbers = _fixture_numbers(data)
    allowed_dates = {chain["as_of"]} | {o["expiry"] for o in chain["options"]}
    for where, text in copy_strings(data):
        assert set(dates_in(text)) <= allowed_dates, f"{name} {where}: {dates_in(text)}"
        stray = [n for n in numbers_in(text) if n not in allowed_numbers]
        assert stray == [], f"{name} {where}: {stray} match nothing in the {chain['underlying']} fixture"


@pytest.mark.parametrize("name", ["door", "buckets", "survey"])
def test_shared_screens_cite_only_the_contract_size(name):
    for where, text in copy_strings(_load(scenarios.DATA_DIR / f"{name}.json")):
        assert dates_in(text) == [], f"{name} {where}"
        assert set(numbers_in(text)) <= {Decimal(rules.SHARES_PER_CONTRACT)}, f"{name} {where}"


def _covered_call_refusals() -> tuple[set[Decimal], set[str]]:
    """The chain's calls that the W6 rules refuse: strikes breaking otm_only, expiries breaking min_dte.

    Asked of the rule functions themselves, so the copy is checked against what the builder does.
    """
    data = scenarios.scenario("covered_call")
    shares = {"action": "buy", "instrument": "equity", "right": None, "strike": None, "expiry": None}
    otm, dte = set(), set()
    for option in data["chain"]["options"]:
        call = {"action": "sell", "instrument": "option", "quantity": 1}
        call |= {k: option[k] for k in ("right", "strike", "expiry")}
        errors = rules.check_trade(
            strategy_type="covered_call",
            legs=[{**shares, "quantity": rules.SHARES_PER_CONTRACT}, call],
            scenario=data,
        )
        messages = [m for ms in errors.values() for m in ms]
        if any(m.startswith("otm_only:") for m in messages):
            otm.add(Decimal(option["strike"]))
        if any(m.startswith("min_dte:") for m in messages):
            dte.add(option["expiry"])
    return otm, dte


def test_the_covered_call_guide_cites_exactly_the_strikes_and_expiries_the_rules_refuse():
    data = scenarios.scenario("covered_call")
    chain, min_dte = data["chain"], data["rules"]["min_dte"]
    guide = data["screens"]["3"]["body"]
    refused_strikes, refused_expiries = _covered_call_refusals()
    assert refused_strikes and refused_expiries, "the fixture must hold calls that break each rule (SPEC W5)"

    assert "otm_only" in guide and "min_dte" in guide, "the builder guide explains both rules by name"
    start_dte = guide.index("min_dte")
    otm_part, dte_part = guide[guide.index("otm_only") : start_dte], guide[start_dte:]
    assert otm_part, "otm_only is explained before min_dte"

    # otm_only: the share price it is measured against, and every refused strike, none other.
    strikes = {Decimal(o["strike"]) for o in chain["options"]}
    assert Decimal(chain["underlying_price"]) in numbers_in(otm_part)
    assert {n for n in numbers_in(otm_part) if n in strikes} == refused_strikes

    # min_dte: the as-of date, the minimum, every refused expiry (none other) and its true day count.
    cited = set(dates_in(dte_part))
    assert chain["as_of"] in cited
    assert cited - {chain["as_of"]} == refused_expiries
    day_counts = {int(n) for n in re.findall(r"\b(\d+) days\b", dte_part)}
    assert min_dte in day_counts
    assert day_counts <= {min_dte} | {days_to(e, chain["as_of"]) for e in refused_expiries}


# --- the copy release ---------------------------------------------------------------------------


def test_copy_version_is_a_non_empty_string():
    version = _load(scenarios.DATA_DIR / "copy.json")["copy_version"]
    assert isinstance(version, str) and version.strip() == version and version
