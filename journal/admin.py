"""Journal in the back office (SPEC A6).

Labels and paper orders are read-only. journal_note is excluded from every label page: the
list, the view form, search and the CSV export never load it, and only journal_note_present
is shown (SPEC J6). Taxonomy versions are created here; a version in use is read-only.
"""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponse

from config.admin_guard import SafeJSONFormField
from config.admin_perf import LIST_PER_PAGE, EstimatedCountPaginator, fixed_choices_filter
from config.api import DomainError
from journal.models import PaperOrder, SentimentTaxonomyVersion, TradeSentimentLabel
from journal.services import taxonomy_validate_pickers, taxonomy_version_create, taxonomy_version_update


class ReadOnlyAdmin(admin.ModelAdmin):
    """View permission only: rows here are written by the users' own requests (SPEC J9)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaperOrder)
class PaperOrderAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "user",
        "symbol",
        "strategy_type",
        "quantity",
        "status",
        "opened_at",
        "closed_at",
        "realized_pnl",
    )
    list_filter = ("status", "strategy_type")
    list_select_related = ("user",)
    # Prefix search on the (small) user table, then the orders by user_id (issue 11); a
    # substring search over every order was a full read at 1M rows. No date_hierarchy: its
    # year links are a DISTINCT over every row.
    search_fields = ("^user__email", "^user__username")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = LIST_PER_PAGE


def _codes(picker: str):
    """Every code of every taxonomy version's picker: a few rows, not a DISTINCT over labels."""

    def choices():
        codes = set()
        for items in SentimentTaxonomyVersion.objects.values_list(picker, flat=True):
            codes.update(item["code"] for item in items)
        return [(code, code) for code in sorted(codes)]

    return choices


PreLabelFilter = fixed_choices_filter(
    field="pre_label", parameter="pre_label__exact", title="pre label", choices=_codes("pre_labels")
)
PostLabelFilter = fixed_choices_filter(
    field="post_label", parameter="post_label__exact", title="post label", choices=_codes("post_labels")
)


@admin.register(TradeSentimentLabel)
class TradeSentimentLabelAdmin(ReadOnlyAdmin):
    # The note is not a field of any form or column here, and get_queryset defers it, so
    # no admin page, search or export can render it (SPEC A6, J6).
    exclude = ("journal_note",)
    fields = (
        "user",
        "source_table",
        "trade",
        "pre_label",
        "post_label",
        "taxonomy_version",
        "note_present",
        "post_label_locked_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    list_display = (
        "id",
        "user",
        "source_table",
        "trade",
        "pre_label",
        "post_label",
        "taxonomy_version",
        "note_present",
        "post_label_locked_at",
        "created_at",
    )
    list_filter = (
        "taxonomy_version",
        PreLabelFilter,
        PostLabelFilter,
        "source_table",
        ("post_label_locked_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("user", "trade", "taxonomy_version")
    # Never journal_note: a search must not match on, or reveal, note text. By user email or
    # username, exact or prefix (issue 11: a substring search read every label).
    search_fields = ("^user__email", "^user__username")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = LIST_PER_PAGE
    actions = ("export_csv",)

    EXPORT_COLUMNS = (
        "id",
        "user_id",
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

    def get_queryset(self, request):
        return super().get_queryset(request).without_note()

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # Django allows any local-field lookup from the query string, so without this
        # `?journal_note__icontains=...` would turn the changelist's row count into an oracle
        # for note text (SPEC A6, J6). Refused lookups answer 400.
        if "journal_note" in lookup.split(LOOKUP_SEP):
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(boolean=True, description="journal note present", ordering="journal_note_present")
    def note_present(self, obj: TradeSentimentLabel) -> bool:
        return obj.journal_note_present

    @admin.action(description="Export selected labels as CSV (no note text)", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="trade_sentiment_labels.csv"'
        writer = csv.writer(response)
        writer.writerow(self.EXPORT_COLUMNS)
        for row in queryset.without_note().values_list(*self.EXPORT_COLUMNS):
            writer.writerow(row)
        return response


class TaxonomyVersionForm(forms.ModelForm):
    """The pickers are checked by the service's rules before anything is saved."""

    class Meta:
        model = SentimentTaxonomyVersion
        fields = ("pre_labels", "post_labels")

    def clean(self):
        data = super().clean()
        try:
            taxonomy_validate_pickers(pre_labels=data.get("pre_labels"), post_labels=data.get("post_labels"))
        except DomainError as error:
            raise ValidationError(error.detail) from None
        return data


@admin.register(SentimentTaxonomyVersion)
class SentimentTaxonomyVersionAdmin(admin.ModelAdmin):
    """Add a version with its two pickers; the number is assigned (max + 1)."""

    form = TaxonomyVersionForm

    list_display = ("version", "pre_label_count", "post_label_count", "in_use", "created_at")
    fields = ("version", "pre_labels", "post_labels", "created_at")
    # Issue 12: a NUL or 5,000 nested brackets in a picker is a form error, not a 500.
    formfield_overrides = {models.JSONField: {"form_class": SafeJSONFormField}}
    readonly_fields = ("version", "created_at")

    def has_change_permission(self, request, obj=None) -> bool:
        # SPEC J2: a version in use is immutable; its page becomes read-only.
        if obj is not None and obj.is_in_use():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_in_use():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            if change:
                taxonomy_version_update(version=obj, pre_labels=obj.pre_labels, post_labels=obj.post_labels)
            else:
                created = taxonomy_version_create(pre_labels=obj.pre_labels, post_labels=obj.post_labels)
                obj.pk, obj.version, obj.created_at = created.pk, created.version, created.created_at
        except DomainError as error:
            # A label took this version between the form and the save: nothing was written.
            self.message_user(request, str(error.detail), level=messages.ERROR)

    def get_queryset(self, request):
        # One query for the changelist's "in use" column instead of one per row.
        in_use = TradeSentimentLabel.objects.filter(taxonomy_version=OuterRef("version"))
        return super().get_queryset(request).annotate(in_use_flag=Exists(in_use))

    @admin.display(boolean=True, description="in use")
    def in_use(self, obj: SentimentTaxonomyVersion) -> bool:
        return obj.in_use_flag

    @admin.display(description="pre-trade labels")
    def pre_label_count(self, obj: SentimentTaxonomyVersion) -> int:
        return len(obj.pre_labels)

    @admin.display(description="post-trade labels")
    def post_label_count(self, obj: SentimentTaxonomyVersion) -> int:
        return len(obj.post_labels)
