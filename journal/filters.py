"""Query-string filters for the journal lists (SPEC J4, J8)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from journal.models import StrategyType, TradeSentimentLabel


class StrictFilterForm(forms.Form):
    """A filter sent empty (`?trade_id=`) is a 400, not silently "no filter"."""

    def clean(self):
        data = super().clean()
        empty = [
            key
            for key, value in self.data.items()
            if value == "" and any(key == name or key.startswith(f"{name}_") for name in self.fields)
        ]
        if empty:
            raise forms.ValidationError(f"Empty filter value: {', '.join(sorted(empty))}.")
        return data


@extend_schema_field(OpenApiTypes.INT64)
class IdFilter(django_filters.NumberFilter):
    """A whole number within BIGINT: `1.5` or `1e30` is a 400, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, normalised to UTC before it reaches the database.

    Python accepts offsets up to ±23:59 and years 1–9999; PostgreSQL refuses offsets past
    ±15:59 with a DataError. Converting to UTC here keeps every such input a 400 or a valid
    query, never a 500 (found by the schemathesis run on PostgreSQL).
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("Date and time out of range.", code="invalid") from None


class UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class UtcIsoDateTimeFromToRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    field_class = UtcIsoDateTimeRangeField


class LabelFilter(django_filters.FilterSet):
    """`GET /api/sentiment-labels/?trade_id=N` finds the label of one trade."""

    trade_id = IdFilter(field_name="trade_id")

    class Meta:
        model = TradeSentimentLabel
        form = StrictFilterForm
        fields = ("trade_id",)


class BacktestFilter(django_filters.FilterSet):
    """SPEC J8: label codes, taxonomy version, symbol, strategy and a closed_at range."""

    pre_label = django_filters.CharFilter(field_name="pre_label")
    post_label = django_filters.CharFilter(field_name="post_label")
    taxonomy_version = IdFilter(field_name="taxonomy_version_id", max_value=2**31 - 1)
    symbol = django_filters.CharFilter(field_name="trade__symbol", lookup_expr="iexact")
    strategy_type = django_filters.ChoiceFilter(
        field_name="trade__strategy_type", choices=StrategyType.choices
    )
    # closed_at_after / closed_at_before, ISO 8601, both inclusive.
    closed_at = UtcIsoDateTimeFromToRangeFilter(field_name="trade__closed_at")

    class Meta:
        model = TradeSentimentLabel
        form = StrictFilterForm
        fields = ("pre_label", "post_label", "taxonomy_version", "symbol", "strategy_type", "closed_at")
