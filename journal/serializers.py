"""Request and response shapes of the journal API (SPEC J1, J2, J4, J8).

journal_note appears in exactly one response serializer, LabelDetailSerializer, used only by
`GET /api/sentiment-labels/{id}/` (SPEC J6). Every other shape carries journal_note_present.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils import timezone
from rest_framework import serializers

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


# How many legs of each instrument a strategy needs (the shape of the W7 rules; strikes and
# expiries are the trader's own on a paper order, there is no fixture chain to check against).
STRATEGY_LEGS = {
    StrategyType.IRON_CONDOR: {"option": 4, "equity": 0},
    StrategyType.VERTICAL_SPREAD: {"option": 2, "equity": 0},
    StrategyType.COVERED_CALL: {"option": 1, "equity": 1},
}


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
    """POST /api/paper-orders/ (SPEC J1). pre_label is honoured only while the journal is on."""

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
        help_text="Ignored unless FLAG_SENTIMENT_JOURNAL is on; then written with the order.",
    )

    def to_internal_value(self, data):
        # SPEC J1: while the journal is off the field is ignored, not validated; the view
        # says which through the `journal_on` context key.
        if not self.context.get("journal_on") and isinstance(data, Mapping) and "pre_label" in data:
            data = {key: value for key, value in data.items() if key != "pre_label"}
        return super().to_internal_value(data)

    def validate_symbol(self, value: str) -> str:
        return value.upper()

    def validate(self, attrs):
        wanted = STRATEGY_LEGS[attrs["strategy_type"]]
        counts = {"option": 0, "equity": 0}
        for leg in attrs["legs"]:
            counts[leg["instrument"]] += 1
        if counts != wanted:
            raise serializers.ValidationError(
                {
                    "legs": [
                        f"{attrs['strategy_type']} takes {wanted['option']} option leg(s) and "
                        f"{wanted['equity']} equity leg(s)."
                    ]
                }
            )
        return attrs


class PaperOrderCloseSerializer(serializers.Serializer):
    realized_pnl = SignedMoneyField(required=False, allow_null=True)


class LabelSerializer(serializers.ModelSerializer):
    """A label in lists and write responses: never the note, only whether one exists (SPEC J6)."""

    trade_id = serializers.IntegerField(read_only=True)
    taxonomy_version = serializers.IntegerField(source="taxonomy_version_id", read_only=True)
    journal_note_present = serializers.SerializerMethodField()

    class Meta:
        model = TradeSentimentLabel
        fields = (
            "id",
            "source_table",
            "trade_id",
            "pre_label",
            "post_label",
            "taxonomy_version",
            "journal_note_present",
            "post_label_locked_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_journal_note_present(self, obj: TradeSentimentLabel) -> bool:
        # Lists annotate it in SQL (the note is never loaded); a fresh write has the field.
        present = getattr(obj, "journal_note_present", None)
        return bool(obj.journal_note) if present is None else present


# --- List pages from .values() rows (issue 11) ----------------------------------------------------
# A list page of 50 built as model instances and then serialised field by field cost two thirds
# of the page's time at 10k labels; the database part was 1.7 ms. The list and backtest pages
# therefore read `.values()` rows and turn each into the very JSON object the serializer
# would give. LabelSerializer and BacktestRowSerializer stay the schema's and every single-row
# response's shape; tests/journal/test_list_rows.py pins each row function to its serializer.


def _datetime(value, tz) -> str | None:
    """DRF's DateTimeField output (ISO 8601 in the current time zone, UTC as "Z") for a page
    whose zone is looked up once: DRF asks for the current zone per value, and that lookup was
    5 ms of a 50-row page (issue 11)."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


_MONEY = SignedMoneyField()


def _money(value):
    return None if value is None else _MONEY.to_representation(value)


# The label list's columns, in LabelSerializer's field order (journal_note never among them).
LABEL_LIST_COLUMNS = (
    "id",
    "source_table",
    "trade_id",
    "pre_label",
    "post_label",
    "taxonomy_version_id",
    "journal_note_present",
    "post_label_locked_at",
    "created_at",
    "updated_at",
)


def label_list_items(rows: Iterable[Mapping]) -> list[dict]:
    """LabelSerializer's objects for `.values(*LABEL_LIST_COLUMNS)` rows."""
    tz = timezone.get_current_timezone()
    return [
        {
            "id": row["id"],
            "source_table": row["source_table"],
            "trade_id": row["trade_id"],
            "pre_label": row["pre_label"],
            "post_label": row["post_label"],
            "taxonomy_version": row["taxonomy_version_id"],
            "journal_note_present": bool(row["journal_note_present"]),
            "post_label_locked_at": _datetime(row["post_label_locked_at"], tz),
            "created_at": _datetime(row["created_at"], tz),
            "updated_at": _datetime(row["updated_at"], tz),
        }
        for row in rows
    ]


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
        fields = (
            "trade_id",
            "symbol",
            "strategy_type",
            "opened_at",
            "closed_at",
            "realized_pnl",
            "pre_label",
            "post_label",
            "journal_note_present",
        )
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
BACKTEST_ROW_COLUMNS = (
    "trade_id",
    "trade__symbol",
    "trade__strategy_type",
    "trade__opened_at",
    "trade__closed_at",
    "trade__realized_pnl",
    "pre_label",
    "post_label",
    "journal_note_present",
)


def backtest_row_items(rows: Iterable[Mapping]) -> list[dict]:
    """BacktestRowSerializer's objects for `.values(*BACKTEST_ROW_COLUMNS)` rows."""
    tz = timezone.get_current_timezone()
    return [
        {
            "trade_id": row["trade_id"],
            "symbol": row["trade__symbol"],
            "strategy_type": row["trade__strategy_type"],
            "opened_at": _datetime(row["trade__opened_at"], tz),
            "closed_at": _datetime(row["trade__closed_at"], tz),
            "realized_pnl": _money(row["trade__realized_pnl"]),
            "pre_label": row["pre_label"],
            "post_label": row["post_label"],
            "journal_note_present": bool(row["journal_note_present"]),
        }
        for row in rows
    ]
