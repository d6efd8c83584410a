"""Query-string filters for the journal lists (SPEC J4, J8)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget
from drf_spectacular.utils import extend_schema_field

from journal.models import (
    CODE_PATTERN,
    SYMBOL_PATTERN,
    SentimentTaxonomyVersion,
    StrategyType,
    TradeSentimentLabel,
)

# Query parameters every list takes besides its filters: DRF paging and format override.
LIST_PARAMS = ("page", "format")


class StrictFilterForm(forms.Form):
    """No silent drops: a filter sent empty (`?trade_id=`) or a parameter the list
    does not take (`?pre_lable=x`) is a 400 naming what it takes, never "no filter"."""

    # The parameters the route takes besides its filters.
    extra_params: tuple[str, ...] = LIST_PARAMS

    def _known(self, key: str) -> bool:
        return key in self.extra_params or any(
            key == name or key.startswith(f"{name}_") for name in self.fields
        )

    def clean(self):
        data = super().clean()
        unknown = sorted(key for key in self.data if not self._known(key))
        if unknown:
            takes = ", ".join([*sorted(self._public_names()), *self.extra_params])
            # Names go in as params: DRF %-formats the message, and a name may hold a "%".
            raise forms.ValidationError(
                "Unknown query parameter: %(unknown)s. This list takes: %(takes)s.",
                params={"unknown": ", ".join(unknown), "takes": takes},
            )
        # `?page=` is the paginator's to judge (an invalid page, 404), not a filter's.
        empty = [
            key
            for key, value in self.data.items()
            if value == "" and self._known(key) and key not in self.extra_params
        ]
        if empty:
            raise forms.ValidationError(
                "Empty filter value: %(empty)s.", params={"empty": ", ".join(sorted(empty))}
            )
        return data

    def _public_names(self) -> list[str]:
        names = []
        for name, field in self.fields.items():
            widget = getattr(field, "widget", None)
            suffixes = getattr(widget, "suffixes", None)
            if suffixes:
                names.extend(f"{name}_{suffix}" for suffix in suffixes)
            else:
                names.append(name)
        return names


class BacktestFilterForm(StrictFilterForm):
    """Label codes are checked against the taxonomy: an unknown code is a 400 that lists the
    valid ones, not an empty page."""

    # Every taxonomy version's `version`, `pre_labels` and `post_labels`, when the view has
    # read them already (the statistics need them too): then no query of its own.
    taxonomy_rows: list[dict] | None = None

    def _taxonomy_rows(self, version: int | None) -> list[dict]:
        if self.taxonomy_rows is None:
            versions = SentimentTaxonomyVersion.objects.order_by("version")
            if version:
                versions = versions.filter(version=version)
            return list(versions.values("version", "pre_labels", "post_labels"))
        return [row for row in self.taxonomy_rows if not version or row["version"] == version]

    def clean(self):
        data = super().clean()
        pickers = {"pre_label": "pre_labels", "post_label": "post_labels"}
        wanted = {field: data.get(field) for field in pickers if data.get(field)}
        if not wanted:
            return data  # no query unless a code was sent
        rows = self._taxonomy_rows(data.get("taxonomy_version"))
        for field, code in wanted.items():
            valid = sorted({item["code"] for row in rows for item in row[pickers[field]]})
            if code not in valid:
                scope = (
                    f"taxonomy version {data['taxonomy_version']}"
                    if data.get("taxonomy_version")
                    else "any taxonomy version"
                )
                message = "Unknown code for %(scope)s; use one of: %(valid)s."
                valid_text = ", ".join(valid) or "(none yet)"
                self.add_error(
                    field, forms.ValidationError(message, params={"scope": scope, "valid": valid_text})
                )
        return data


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """A whole number within BIGINT: `1.5` or `1e30` is a 400, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
class VersionFilter(IdFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_value", 2**31 - 1)
        super().__init__(*args, **kwargs)


def _pattern_filter(pattern: str, message: str) -> type[django_filters.CharFilter]:
    """A text filter whose shape is checked (400 naming it) and stated in the schema."""

    @extend_schema_field({"type": "string", "pattern": pattern})
    class PatternFilter(django_filters.CharFilter):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("validators", [RegexValidator(pattern, message)])
            super().__init__(*args, **kwargs)

    return PatternFilter


SymbolFilter = _pattern_filter(SYMBOL_PATTERN, "A symbol is 1-16 letters, digits, dots or dashes.")
CodeFilter = _pattern_filter(CODE_PATTERN, "A label code is lower-case letters, digits and underscores.")


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

    pre_label = CodeFilter(field_name="pre_label")
    post_label = CodeFilter(field_name="post_label")
    taxonomy_version = VersionFilter(field_name="taxonomy_version_id")
    symbol = SymbolFilter(field_name="trade__symbol", lookup_expr="iexact")
    strategy_type = django_filters.ChoiceFilter(
        field_name="trade__strategy_type",
        choices=StrategyType.choices,
        error_messages={"invalid_choice": f"Use one of: {', '.join(StrategyType.values)}."},
    )
    # closed_at_after / closed_at_before, ISO 8601, both inclusive.
    closed_at = UtcIsoDateTimeFromToRangeFilter(field_name="trade__closed_at")

    class Meta:
        model = TradeSentimentLabel
        form = BacktestFilterForm
        fields = ("pre_label", "post_label", "taxonomy_version", "symbol", "strategy_type", "closed_at")


class StatsFilterForm(BacktestFilterForm):
    extra_params = ("format",)  # not paginated: `?page=` is a 400 like any unknown parameter


class StatsFilter(BacktestFilter):
    """SPEC J11: the backtest filter's parameters and validation, over the statistics."""

    class Meta(BacktestFilter.Meta):
        form = StatsFilterForm


class ExportForm(StrictFilterForm):
    """`?format=json|csv` of the owner's export (SPEC J12); json when absent."""

    extra_params = ()
    format = forms.ChoiceField(
        choices=[("json", "json"), ("csv", "csv")],
        required=False,
        error_messages={"invalid_choice": "Use one of: json, csv."},
    )
