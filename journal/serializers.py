"""Request and response shapes of the journal API (SPEC J1, J2, J4, J8).

journal_note appears in exactly one response serializer, LabelDetailSerializer, used only by
`GET /api/sentiment-labels/{id}/` (SPEC J6). Every other shape carries journal_note_present.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rest_framework import serializers

from journal import rows
from journal.models import (
    JOURNAL_NOTE_MAX_LENGTH,
    SYMBOL_PATTERN,
    PaperOrder,
    SourceTable,
    TradeSentimentLabel,
)
from trading.legs import (
    LegSerializer,
    LegTicketMixin,
    SignedMoneyField,
    StrategyType,
    StrictIntegerField,
    legs_field,
)


class StrictCharField(serializers.CharField):
    """JSON strings only: DRF would turn 0 or true into "0"/"True", but the schema says string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PaperOrderSerializer(serializers.ModelSerializer):
    legs = LegSerializer(many=True, source="legs_json", read_only=True)
    realized_pnl = SignedMoneyField(read_only=True, allow_null=True)

    class Meta:
        model = PaperOrder
        fields = (
            "id",
            "symbol",
            "strategy_type",
            "legs",
            "quantity",
            "status",
            "opened_at",
            "closed_at",
            "realized_pnl",
        )
        read_only_fields = fields


class PaperOrderTicketSerializer(LegTicketMixin, serializers.Serializer):
    """POST /api/paper-orders/ (SPEC J1)."""

    # pre_label is honoured only while FLAG_SENTIMENT_JOURNAL is on; the schema shows it only
    # then (SPEC F5: nothing in the schema describes a feature that is off).
    schema_flagged_fields = {"pre_label": "FLAG_SENTIMENT_JOURNAL"}

    symbol = serializers.RegexField(
        SYMBOL_PATTERN,
        error_messages={"invalid": "Use 1-16 letters, digits, dots or dashes."},
    )
    strategy_type = serializers.ChoiceField(choices=StrategyType.choices)
    quantity = StrictIntegerField(min_value=1, max_value=100_000)
    legs = legs_field()
    pre_label = StrictCharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="A pre-trade label code (GET /api/sentiment-taxonomy/), written with the order.",
    )

    def to_internal_value(self, data):
        # SPEC J1: while the journal is off the field is ignored, not validated; the view
        # says which through the `journal_on` context key.
        if not self.context.get("journal_on") and isinstance(data, Mapping) and "pre_label" in data:
            data = {key: value for key, value in data.items() if key != "pre_label"}
        return super().to_internal_value(data)

    def validate_symbol(self, value: str) -> str:
        return value.upper()


class PaperOrderCloseSerializer(serializers.Serializer):
    realized_pnl = SignedMoneyField(required=False, allow_null=True)


class LabelSerializer(serializers.ModelSerializer):
    """A label in lists and write responses: never the note, only whether one exists (SPEC J6)."""

    trade_id = serializers.IntegerField(read_only=True)
    taxonomy_version = serializers.IntegerField(source="taxonomy_version_id", read_only=True)
    journal_note_present = serializers.SerializerMethodField()

    class Meta:
        model = TradeSentimentLabel
        fields = rows.keys(rows.LABEL_ROW)
        read_only_fields = fields

    def get_journal_note_present(self, obj: TradeSentimentLabel) -> bool:
        # Lists annotate it in SQL (the note is never loaded); a fresh write has the field.
        present = getattr(obj, "journal_note_present", None)
        return bool(obj.journal_note) if present is None else present


# --- List pages from .values() rows (journal/rows.py) ---------------------------------------
LABEL_LIST_COLUMNS = rows.columns(rows.LABEL_ROW)


def label_list_items(page: Iterable[Mapping], *, with_note: bool = False) -> list[dict]:
    """LabelSerializer's objects for `.values(*LABEL_LIST_COLUMNS)` rows; with `with_note`,
    LabelDetailSerializer's for rows that also carry `journal_note` (the owner's export only)."""
    page = list(page)
    items = rows.items(rows.LABEL_ROW, page)
    if with_note:
        for item, row in zip(items, page, strict=True):
            item["journal_note"] = row["journal_note"]
    return items


# A paper order's columns, in PaperOrderSerializer's field order (`legs_json` is `legs`).
PAPER_ORDER_COLUMNS = rows.columns(rows.PAPER_ORDER_ROW)


def paper_order_items(page: Iterable[Mapping]) -> list[dict]:
    """PaperOrderSerializer's objects for `.values(*PAPER_ORDER_COLUMNS)` rows: legs as stored,
    which is exactly as posted (trading.legs)."""
    return rows.items(rows.PAPER_ORDER_ROW, page)


class LabelDetailSerializer(LabelSerializer):
    """The single-record GET, the only response that carries journal_note (SPEC J6)."""

    class Meta(LabelSerializer.Meta):
        fields = (*LabelSerializer.Meta.fields, "journal_note")
        read_only_fields = fields


_NOTE_ERRORS = {"max_length": f"A note is at most {JOURNAL_NOTE_MAX_LENGTH} characters."}


class LabelCreateSerializer(serializers.Serializer):
    source_table = serializers.ChoiceField(choices=SourceTable.choices, default=SourceTable.PAPER_ORDERS)
    trade_id = StrictIntegerField(min_value=1, max_value=2**63 - 1)
    pre_label = StrictCharField(max_length=64, required=False, allow_null=True, default=None)
    post_label = StrictCharField(max_length=64, required=False, allow_null=True, default=None)
    taxonomy_version = StrictIntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="Defaults to the current version.",
    )
    journal_note = StrictCharField(
        max_length=JOURNAL_NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        error_messages=_NOTE_ERRORS,
    )

    def validate(self, attrs):
        if attrs["pre_label"] is None and attrs["post_label"] is None and not attrs["journal_note"]:
            raise serializers.ValidationError("Give a pre_label, a post_label or a journal_note.")
        return attrs


class LabelUpdateSerializer(serializers.Serializer):
    """PATCH: only the fields sent change; null clears a label."""

    pre_label = StrictCharField(max_length=64, required=False, allow_null=True)
    post_label = StrictCharField(max_length=64, required=False, allow_null=True)
    journal_note = StrictCharField(
        max_length=JOURNAL_NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        error_messages=_NOTE_ERRORS,
    )


class JournalDeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="How many labels were deleted; paper orders stay.")


class BacktestRowSerializer(serializers.ModelSerializer):
    """One labelled trade in the backtest filter (SPEC J8): descriptive fields only."""

    trade_id = serializers.IntegerField(read_only=True)
    symbol = serializers.CharField(source="trade.symbol", read_only=True)
    strategy_type = serializers.CharField(source="trade.strategy_type", read_only=True)
    opened_at = serializers.DateTimeField(source="trade.opened_at", read_only=True)
    closed_at = serializers.DateTimeField(source="trade.closed_at", read_only=True, allow_null=True)
    realized_pnl = SignedMoneyField(source="trade.realized_pnl", read_only=True, allow_null=True)
    journal_note_present = serializers.BooleanField(read_only=True)

    class Meta:
        model = TradeSentimentLabel
        fields = rows.keys(rows.BACKTEST_ROW)
        read_only_fields = fields


class PickerItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    display = serializers.CharField()


class TaxonomyVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    pre_labels = PickerItemSerializer(many=True)
    post_labels = PickerItemSerializer(many=True)


class TaxonomySerializer(serializers.Serializer):
    current_version = serializers.IntegerField(allow_null=True)
    versions = TaxonomyVersionSerializer(many=True)


# The backtest page's columns (SPEC J8), in BacktestRowSerializer's field order.
BACKTEST_ROW_COLUMNS = rows.columns(rows.BACKTEST_ROW)


def backtest_row_items(page: Iterable[Mapping]) -> list[dict]:
    """BacktestRowSerializer's objects for `.values(*BACKTEST_ROW_COLUMNS)` rows."""
    return rows.items(rows.BACKTEST_ROW, page)


# --- Statistics (SPEC J11): the schema of journal.stats.journal_stats's answer ------------------
# The view answers journal_stats's dict as it is; tests/journal/test_stats.py pins it to these.


def _money_out(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, **kwargs)


class StatsPnlSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Closed trades with a realized P&L recorded.")
    sum = _money_out()
    mean = _money_out(help_text="Rounded to the cent, half away from zero.")
    median = _money_out(help_text="Of an even count, the mean of the two middle values; to the cent.")
    largest_gain = _money_out(help_text="The most positive realized P&L above 0; null without one.")
    largest_loss = _money_out(help_text="The most negative realized P&L below 0; null without one.")


class StatsLabelSerializer(serializers.Serializer):
    taxonomy_version = serializers.IntegerField()
    label = serializers.CharField(allow_null=True, help_text="Label code; null = no label on this side.")
    display = serializers.CharField(help_text="Display text from the label's own taxonomy version.")


class StatsGroupSerializer(StatsLabelSerializer):
    n = serializers.IntegerField(help_text="Closed trades in this group.")
    share = serializers.DecimalField(
        max_digits=5, decimal_places=4, help_text="n of this group / the filtered n (basis.n)."
    )
    wins = serializers.IntegerField(help_text="Realized P&L > 0.")
    losses = serializers.IntegerField(help_text="Realized P&L < 0.")
    breakevens = serializers.IntegerField(help_text="Realized P&L = 0.")
    without_pnl = serializers.IntegerField(help_text="Closed with no realized P&L recorded.")
    realized_pnl = StatsPnlSerializer()
    median_holding_seconds = serializers.IntegerField(
        allow_null=True, help_text="Median of closed_at - opened_at over the group's n, whole seconds."
    )


class StatsTransitionSerializer(serializers.Serializer):
    taxonomy_version = serializers.IntegerField()
    pre_label = serializers.CharField(allow_null=True)
    pre_display = serializers.CharField()
    post_label = serializers.CharField(allow_null=True)
    post_display = serializers.CharField()
    n = serializers.IntegerField()


class StatsDayPnlSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Trades of the day with a realized P&L recorded.")
    sum = _money_out()


class StatsDaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A UTC day of closed_at.")
    n = serializers.IntegerField()
    realized_pnl = StatsDayPnlSerializer()


class StatsPeriodSerializer(serializers.Serializer):
    first_closed_on = serializers.DateField(allow_null=True)
    last_closed_on = serializers.DateField(allow_null=True)


class StatsBasisSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Closed, labelled trades matching the filters.")
    period = StatsPeriodSerializer(help_text="UTC dates of the first and last closed_at counted.")
    win_rule = serializers.CharField()
    statement = serializers.CharField()


class StatsSerializer(serializers.Serializer):
    basis = StatsBasisSerializer()
    by_pre_label = StatsGroupSerializer(many=True)
    by_post_label = StatsGroupSerializer(many=True)
    transitions = StatsTransitionSerializer(many=True)
    calendar = StatsDaySerializer(many=True)


# --- The owner's export (SPEC J12), JSON form -----------------------------------------------------


class JournalExportSerializer(serializers.Serializer):
    exported_at = serializers.DateTimeField()
    taxonomy_versions = TaxonomyVersionSerializer(many=True)
    orders = PaperOrderSerializer(many=True)
    labels = LabelDetailSerializer(many=True)
