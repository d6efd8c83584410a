"""Shape validation and response shapes (SPEC W3–W9). Rules live in services/scenarios.rules."""

from __future__ import annotations

import datetime as dt
import re

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from walkthrough import scenarios
from walkthrough.models import IC_COLUMNS, IntentBucket, PaperTrade, StrategyType, Track

MAX_QUANTITY = 1_000_000
MAX_LEGS = 8


DECIMAL_PATTERN = r"^(?:0|[1-9]\d{0,6})(?:\.\d{1,4})?$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@extend_schema_field({"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 12, "example": "5600"})
class DecimalStringField(serializers.CharField):
    """A positive decimal sent as a JSON string ("5600", "101.50"), returned exactly as sent."""

    default_error_messages = {"invalid": 'Send a positive decimal as a string, e.g. "5600" or "101.50".'}
    pattern = re.compile(DECIMAL_PATTERN)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 12)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.pattern.fullmatch(data) or not float(data) > 0:
            self.fail("invalid")
        return data


@extend_schema_field({"type": "string", "pattern": DATE_PATTERN, "maxLength": 10, "example": "2026-07-17"})
class DateStringField(serializers.CharField):
    """A calendar date as "YYYY-MM-DD", returned exactly as sent."""

    default_error_messages = {"invalid": "Send a real date as YYYY-MM-DD."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 10)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(DATE_PATTERN, data):
            self.fail("invalid")
        try:
            dt.date.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings, floats or booleans, so legs_json round-trips exactly."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_serializer(component_name="WalkthroughLeg")
class LegSerializer(serializers.Serializer):
    """SPEC W7 leg. Every key is required; right/strike/expiry are null for an equity leg."""

    FIELDS = ("action", "instrument", "right", "strike", "expiry", "quantity")

    action = serializers.ChoiceField(choices=["buy", "sell"])
    instrument = serializers.ChoiceField(choices=["option", "equity"])
    right = serializers.ChoiceField(choices=["call", "put"], allow_null=True)
    strike = DecimalStringField(allow_null=True)
    expiry = DateStringField(allow_null=True)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)

    def validate(self, attrs):
        unknown = (
            sorted(set(self.initial_data) - set(self.FIELDS)) if isinstance(self.initial_data, dict) else []
        )
        errors = {key: ["Unknown field."] for key in unknown}
        option_fields = ("right", "strike", "expiry")
        if attrs["instrument"] == "option":
            errors.update({f: ["Required for an option leg."] for f in option_fields if attrs[f] is None})
        else:
            errors.update(
                {f: ["Must be null for an equity leg."] for f in option_fields if attrs[f] is not None}
            )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def run_validation(self, data=serializers.empty):
        self.initial_data = data
        return super().run_validation(data)


class TradeRequestSerializer(serializers.Serializer):
    strategy_type = serializers.ChoiceField(choices=StrategyType.choices)
    legs = LegSerializer(many=True, min_length=1, max_length=MAX_LEGS)


class DoorRequestSerializer(serializers.Serializer):
    """Full track sends `answers`; self_select sends `intent_bucket` (checked in the service)."""

    answers = serializers.DictField(child=serializers.CharField(max_length=64), required=False)
    intent_bucket = serializers.ChoiceField(choices=IntentBucket.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read the registry per request, not at import: it is the one list of buckets (SPEC W12).
        self.fields["intent_bucket"].choices = scenarios.bucket_choices()


class SurveyRequestSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField(max_length=64))


class EmptyRequestSerializer(serializers.Serializer):
    """Screens 2 and 4 take an empty object: the tester read the screen and moves on."""


# --- responses -------------------------------------------------------------------------------


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class QuestionSerializer(serializers.Serializer):
    id = serializers.CharField()
    prompt = serializers.CharField()
    choices = ChoiceSerializer(many=True)


class ProgressSummarySerializer(serializers.Serializer):
    tester_email = serializers.EmailField()
    track = serializers.ChoiceField(choices=Track.choices)
    intent_bucket = serializers.ChoiceField(choices=IntentBucket.choices, allow_null=True)
    current_screen = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    scenario = serializers.CharField()
    strategy_type = serializers.ChoiceField(choices=StrategyType.choices)
    builder_route = serializers.CharField()
    paper_trades = serializers.IntegerField()
    survey_submitted = serializers.BooleanField()
    next_screen = serializers.CharField(help_text="The route of the step to do now (SPEC W13).")
    copy_version = serializers.CharField(help_text="Version of the reviewed copy in walkthrough/scenarios.")


class DoorScreenSerializer(serializers.Serializer):
    screen = serializers.CharField()
    track = serializers.ChoiceField(choices=Track.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    questions = QuestionSerializer(many=True, required=False, help_text="Full track only.")
    choices = ChoiceSerializer(many=True, required=False, help_text="Self-select track only.")
    persona_answers = serializers.DictField(child=serializers.CharField(), allow_null=True)
    intent_bucket = serializers.ChoiceField(choices=IntentBucket.choices, allow_null=True)


class OptionQuoteSerializer(serializers.Serializer):
    right = serializers.CharField()
    strike = serializers.CharField()
    expiry = serializers.CharField()
    bid = serializers.CharField()
    ask = serializers.CharField()


class ChainSerializer(serializers.Serializer):
    underlying = serializers.CharField()
    underlying_price = serializers.CharField()
    as_of = serializers.CharField()
    options = OptionQuoteSerializer(many=True)


class RulesSerializer(serializers.Serializer):
    otm_only = serializers.BooleanField()
    min_dte = serializers.IntegerField()


class InlineGuideSerializer(serializers.Serializer):
    title = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField())


class ScenarioHeaderSerializer(serializers.Serializer):
    """What every scenario-driven screen (2, 3, simple/1, 4) starts with (SPEC W5)."""

    screen = serializers.CharField()
    scenario = serializers.CharField()
    strategy_type = serializers.ChoiceField(choices=StrategyType.choices)
    builder_route = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()


class ScenarioScreenSerializer(ScenarioHeaderSerializer):
    """Screens 2, 3 and simple/1; `chain` only on the builders (3, simple/1)."""

    inline_guide = InlineGuideSerializer(allow_null=True)
    chain = ChainSerializer(required=False)
    rules = RulesSerializer(allow_null=True, help_text="The covered call's inline rules; null otherwise.")


class PaperTradeSerializer(serializers.ModelSerializer):
    legs = LegSerializer(many=True, source="legs_json")

    class Meta:
        model = PaperTrade
        fields = ["id", "strategy_type", "legs", *IC_COLUMNS, "filled_at"]
        read_only_fields = fields


class ReviewScreenSerializer(ScenarioHeaderSerializer):
    trade = PaperTradeSerializer()


class SurveyScreenSerializer(serializers.Serializer):
    screen = serializers.CharField()
    title = serializers.CharField()
    questions = QuestionSerializer(many=True)
    answers = serializers.DictField(child=serializers.CharField(), allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class SurveyResultSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField())
    completed_at = serializers.DateTimeField()
