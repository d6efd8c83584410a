"""Journal in the back office (SPEC A6).

Labels and paper orders are read-only. journal_note is excluded from every label page: the
list, the view form, search and the CSV export never load it, and only journal_note_present
is shown (SPEC J6). Taxonomy versions are created here; a version in use is read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.constants import LOOKUP_SEP

from accounts.reauth import reauth_required
from audit.services import export_record
from config.csv_export import csv_stream_response
from core.admin import LargeTableAdmin, ReadOnlyAdmin, SafeJSONFormField, fixed_choices_filter
from core.errors import DomainError
from journal import rows
from journal.models import PaperOrder, SentimentTaxonomyVersion, TradeSentimentLabel
from journal.services import (
    taxonomy_validate_pickers,
    taxonomy_version_create,
    taxonomy_version_delete,
    taxonomy_version_update,
)


@admin.register(PaperOrder)
class PaperOrderAdmin(ReadOnlyAdmin, LargeTableAdmin):
    list_display = ("id", "user", *rows.ORDER_FACTS)
    list_filter = ("status", "strategy_type")
    list_select_related = ("user",)
    # Prefix search on the (small) user table, then the orders by user_id; a
    # substring search over every order was a full read at 1M rows. No date_hierarchy: its
    # year links are a DISTINCT over every row.
    search_fields = ("^user__email", "^user__username")


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
class TradeSentimentLabelAdmin(ReadOnlyAdmin, LargeTableAdmin):
    # The note is not a field of any form or column here, and get_queryset defers it, so
    # no admin page, search or export can render it (SPEC A6, J6).
    exclude = ("journal_note",)
    # The label row's columns (journal/rows.py) after its owner; the list leaves out updated_at.
    fields = ("user", *(c.admin_field for c in rows.LABEL_ROW[1:]))
    readonly_fields = fields
    list_display = ("id", *fields[:-1])
    list_filter = (
        "taxonomy_version",
        PreLabelFilter,
        PostLabelFilter,
        "source_table",
        ("post_label_locked_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("user", "trade", "taxonomy_version")
    # Never journal_note: a search must not match on, or reveal, note text. By user email or
    # username, exact or prefix (a substring search reads every label).
    search_fields = ("^user__email", "^user__username")
    actions = ("export_csv",)

    EXPORT_COLUMNS = ("id", "user_id", *rows.columns(rows.LABEL_ROW[1:]))

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
    @reauth_required
    def export_csv(self, request, queryset):
        # SPEC P2: personal data leaving the back office is a change-log entry.
        export_record(
            actor=request.user,
            what="trade_sentiment_labels CSV (no note text)",
            rows=queryset.count(),
            query=request.GET.urlencode(),
        )
        # Streamed page by page (SPEC P5): a 300k-row export keeps the worker's memory flat.
        name, labels = "trade_sentiment_labels.csv", queryset.without_note()
        return csv_stream_response(filename=name, queryset=labels, columns=self.EXPORT_COLUMNS)


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
    # A NUL or 5,000 nested brackets in a picker is a form error, not a 500.
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
                taxonomy_version_update(
                    version=obj, pre_labels=obj.pre_labels, post_labels=obj.post_labels, actor=request.user
                )
            else:
                created = taxonomy_version_create(
                    pre_labels=obj.pre_labels, post_labels=obj.post_labels, actor=request.user
                )
                obj.pk, obj.version, obj.created_at = created.pk, created.version, created.created_at
        except DomainError as error:
            # A label took this version between the form and the save: nothing was written.
            self.message_user(request, str(error.detail), level=messages.ERROR)

    def delete_model(self, request, obj):
        try:
            taxonomy_version_delete(version=obj, actor=request.user)
        except DomainError as error:
            self.message_user(request, str(error.detail), level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" action: one audited delete per version, never a raw DELETE.
        for version in queryset:
            self.delete_model(request, version)

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
