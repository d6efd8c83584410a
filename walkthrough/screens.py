"""What each walkthrough screen shows (SPEC W3-W5, W9, W15): one builder per screen payload.

The API views and the operators' preview (walkthrough/preview.py, SPEC W16) both call these,
so a preview row shows exactly what a tester on that row receives. Builders read the
scenario data and the objects they are given; they write nothing and issue no token.
"""

from __future__ import annotations

import functools

from trading.legs import LegSerializer
from walkthrough import scenarios
from walkthrough import serializers as s
from walkthrough.models import IC_COLUMNS, PaperTrade, Progress, Screen, Track


def door_screen(progress: Progress) -> dict:
    """Screen 1: the persona questions (full track) or the bucket choices (self_select)."""
    door = scenarios.door()
    payload = {
        "screen": str(Screen.DOOR),
        "track": progress.track,
        "title": door["title"],
        "body": door["body"],
        "persona_answers": progress.persona_answers,
        "intent_bucket": progress.intent_bucket,
    }
    if progress.track == Track.FULL:
        payload["questions"] = door["questions"]
    else:
        payload["choices"] = [{"value": b.value, "label": b.label} for b in scenarios.buckets().values()]
    return s.DoorScreenSerializer(payload).data


def scenario_screen(served: scenarios.Resolution, screen: str, *, builder: bool) -> dict:
    """Screens 2, 3 and simple/1 of the scenario `served`; the builders carry the chain."""
    data = scenarios.scenario(served.scenario)
    guide = served.inline_guide and screen == str(Screen.SCENARIO)
    payload = {
        "screen": screen,
        "scenario": served.scenario,
        "strategy_type": served.strategy_type,
        "builder_route": served.builder_route,
        **scenarios.screen_copy(served.scenario, screen),
        # The inline guide stands in for the simple builder while S is off (ADR 0115).
        "inline_guide": data["inline_guide"] if guide else None,
        "rules": data["rules"],
    }
    if builder:
        payload["chain"] = data["chain"]
    return s.ScenarioScreenSerializer(payload).data


def trade_review(trade: PaperTrade) -> dict | None:
    """SPEC W15: the filled trade's economics (None for a trade filled before fills were kept)."""
    return trade.review()


def review_screen(served: scenarios.Resolution, trade: PaperTrade) -> dict:
    """Screen 4: the filled trade and its review, in ReviewScreenSerializer's shape.

    Written out here rather than walked field by field: this screen's budget is 1.5x a bare
    view, and a serializer (a ModelSerializer for the trade) cost more than its one query
    (docs/performance.md). tests/walkthrough/test_review.py holds it equal to a fresh
    ReviewScreenSerializer's output for every strategy."""
    # Copy follows the filled trade, which may predate a flag flip.
    copy = scenarios.screen_copy(trade.strategy_type, str(Screen.REVIEW))
    return {
        "screen": str(Screen.REVIEW),
        "scenario": served.scenario,
        "strategy_type": served.strategy_type,
        "builder_route": served.builder_route,
        "title": copy["title"],
        "body": copy["body"],
        "trade": _trade_json(trade),
        # Already JSON of the documented shape (economics_json, every decimal a string).
        "review": trade_review(trade),
    }


_TRADE_FIELDS = ("id", "strategy_type", "legs", *IC_COLUMNS, "filled_at")


def _trade_json(trade: PaperTrade) -> dict:
    """PaperTradeSerializer's output: legs exactly as stored, the other columns through the
    serializer's own field objects (built once)."""
    fields = _trade_representation()
    data = {}
    for name in _TRADE_FIELDS:
        if name == "legs":
            data[name] = [{key: leg[key] for key in LegSerializer.FIELDS} for leg in trade.legs_json]
            continue
        value = getattr(trade, name)
        data[name] = None if value is None else fields[name].to_representation(value)
    return data


@functools.cache
def _trade_representation() -> dict:
    return dict(s.PaperTradeSerializer().fields)


def survey_screen(progress: Progress, answers: dict[str, str]) -> dict:
    """Screen 5: the same questions on every path, with the tester's answers once given."""
    survey = scenarios.survey()
    payload = {
        "screen": str(Screen.SURVEY),
        "title": survey["title"],
        "questions": survey["questions"],
        "answers": answers or None,
        "completed_at": progress.completed_at,
    }
    return s.SurveyScreenSerializer(payload).data
