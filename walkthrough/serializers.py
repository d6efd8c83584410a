"""Shape validation and response shapes (SPEC W3–W9). Rules live in services/scenarios.rules."""

from __future__ import annotations

from rest_framework import serializers

from trading.legs import LegSerializer, LegTicketMixin, StrategyType, legs_field
from walkthrough import scenarios
from walkthrough.models import IC_COLUMNS, IntentBucket, PaperTrade, Track


class TradeRequestSerializer(LegTicketMixin, serializers.Serializer):
    strategy_type = serializers.ChoiceField(choices=StrategyType.choices)
    legs = legs_field()


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
    next_screen = serializers.CharField(
        allow_null=True,
        help_text="The route of the step to do now (SPEC W13); null once the walkthrough is complete.",
    )
    completed = serializers.BooleanField(
        help_text="True once the survey is submitted: the walkthrough is complete (next_screen is null)."
    )
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
    """What every scenario-driven screen starts with (SPEC W5)."""

    # Screens 2, 3, 4 and, with FLAG_BETA_WALKTHROUGH_SELF_SELECT on, simple/1. Docstrings are
    # the schema's descriptions: they name no flagged screen (SPEC F5).

    screen = serializers.CharField()
    scenario = serializers.CharField()
    strategy_type = serializers.ChoiceField(choices=StrategyType.choices)
    builder_route = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()


class ScenarioScreenSerializer(ScenarioHeaderSerializer):
    """A scenario screen; `chain` only on a builder screen."""

    # Screens 2, 3 and simple/1; the builders are 3 and simple/1.

    inline_guide = InlineGuideSerializer(allow_null=True)
    chain = ChainSerializer(required=False)
    rules = RulesSerializer(allow_null=True, help_text="The covered call's inline rules; null otherwise.")


class PaperTradeSerializer(serializers.ModelSerializer):
    legs = LegSerializer(many=True, source="legs_json")

    class Meta:
        model = PaperTrade
        fields = ["id", "strategy_type", "legs", *IC_COLUMNS, "filled_at"]
        read_only_fields = fields


class FillSerializer(serializers.Serializer):
    leg = serializers.IntegerField(help_text="The leg's index in `legs`, counted from 0.")
    price = serializers.CharField(
        help_text="Per share: a sale at the bid, a buy at the ask, shares at the price."
    )


class NetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["credit", "debit"])
    per_unit = serializers.CharField(help_text="Per share of one contract, as quotes read.")
    total = serializers.CharField(help_text="The whole position, in currency.")


class PayoffPointSerializer(serializers.Serializer):
    underlying = serializers.CharField()
    pnl = serializers.CharField(help_text="The whole position's profit (+) or loss (-) at expiry.")


class ReviewSerializer(serializers.Serializer):
    """SPEC W15: the filled trade's economics at expiry (trading.economics)."""

    fills = FillSerializer(many=True)
    net = NetSerializer()
    max_gain = serializers.CharField(allow_null=True, help_text="The highest P&L at expiry; null: unlimited.")
    max_loss = serializers.CharField(
        allow_null=True, help_text="The lowest P&L at expiry, signed (a loss is negative); null: unlimited."
    )
    breakevens = serializers.ListField(child=serializers.CharField())
    payoff = PayoffPointSerializer(
        many=True,
        help_text="Sorted by underlying; a point at every strike and breakeven, a margin either side.",
    )
    multiplier = serializers.IntegerField(help_text="Shares per option contract.")


class ReviewScreenSerializer(ScenarioHeaderSerializer):
    trade = PaperTradeSerializer()
    review = ReviewSerializer(
        allow_null=True, help_text="null only for a trade filled before fills were recorded."
    )


class SurveyScreenSerializer(serializers.Serializer):
    screen = serializers.CharField()
    title = serializers.CharField()
    questions = QuestionSerializer(many=True)
    answers = serializers.DictField(child=serializers.CharField(), allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class SurveyResultSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField())
    completed_at = serializers.DateTimeField()
