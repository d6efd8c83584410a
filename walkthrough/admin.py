"""Walkthrough back office (SPEC A1–A3): progress, cohort view with CSV, trades, survey answers."""

from __future__ import annotations

import csv
import datetime as dt

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from config.admin_perf import LIST_PER_PAGE, EstimatedCountPaginator, fixed_choices_filter
from walkthrough import scenarios, services
from walkthrough.models import IC_COLUMNS, LAST_SCREEN, PaperTrade, Progress, StrategyType, SurveyAnswer

NOT_SET = "__not_set__"


def intent_bucket_filter(field_path: str) -> type[admin.SimpleListFilter]:
    """Bucket filter with a "not set" choice; `field_path` reaches the bucket via a join (A3)."""

    class IntentBucketFilter(admin.SimpleListFilter):
        title = "intent bucket"
        parameter_name = "intent_bucket"

        def lookups(self, request, model_admin):
            return [(b.value, b.value) for b in scenarios.buckets().values()] + [(NOT_SET, "not set")]

        def queryset(self, request, queryset):
            value = self.value()
            if value == NOT_SET:
                return queryset.filter(**{f"{field_path}__isnull": True})
            if value:
                return queryset.filter(**{field_path: value})
            return queryset

    return IntentBucketFilter


class CompletedFilter(admin.SimpleListFilter):
    title = "completion"
    parameter_name = "completed"

    def lookups(self, request, model_admin):
        return [("yes", "completed"), ("no", "not completed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(completed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(completed_at__isnull=True)
        return queryset


# Fixed-choice filters (issue 11): the choices are data, never SELECT DISTINCT over 1M rows.
CurrentScreenFilter = fixed_choices_filter(
    field="current_screen",
    parameter="current_screen__exact",
    title="current screen",
    choices=lambda: [(n, str(n)) for n in range(1, LAST_SCREEN + 1)],
)
SurveyQuestionFilter = fixed_choices_filter(
    field="question_id",
    parameter="question_id__exact",
    title="question",
    choices=lambda: [(q["id"], q["id"]) for q in scenarios.survey()["questions"]],
)
SurveyAnswerValueFilter = fixed_choices_filter(
    field="answer",
    parameter="answer__exact",
    title="answer",
    choices=lambda: sorted(
        {(c["value"], c["value"]) for q in scenarios.survey()["questions"] for c in q["choices"]}
    ),
)


class CohortForm(forms.Form):
    by = forms.ChoiceField(choices=[("intent_bucket", "intent bucket"), ("track", "track")], required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


@admin.register(Progress)
class ProgressAdmin(admin.ModelAdmin):
    list_display = ["tester_email", "track", "intent_bucket", "current_screen", "is_completed", "updated_at"]
    list_filter = [intent_bucket_filter("intent_bucket"), "track", CurrentScreenFilter, CompletedFilter]
    # Exact address or prefix, served by wt_progress_email_prefix (issue 11).
    search_fields = ["^tester_email"]
    paginator = EstimatedCountPaginator
    list_per_page = LIST_PER_PAGE
    # token_hash is deliberately absent from every list: the admin never shows it (SPEC A1).
    fields = [
        "tester_email",
        "track",
        "intent_bucket",
        "persona_answers",
        "current_screen",
        "created_at",
        "updated_at",
        "completed_at",
    ]
    readonly_fields = fields
    actions = ["issue_new_token"]
    show_full_result_count = False
    change_list_template = "admin/walkthrough/progress/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False  # testers are created by issuing a token (command or the action below)

    @admin.display(boolean=True, description="completed", ordering="completed_at")
    def is_completed(self, obj: Progress) -> bool:
        return obj.completed

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # `?token_hash__startswith=...` would reveal the hash prefix by prefix (SPEC A1).
        if "token_hash" in lookup.split(LOOKUP_SEP):
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.action(description="Issue a new token (revokes the old one; shown once)", permissions=["change"])
    def issue_new_token(self, request, queryset):
        issued = []
        with transaction.atomic():
            for progress in queryset.order_by("tester_email"):
                _, raw = services.walkthrough_token_issue(email=progress.tester_email)
                issued.append((progress.tester_email, raw))
        # Shown once, in this response only (admin views send no-store). Not a message: those
        # travel in a cookie and, past its size limit, sit in the session table (SPEC W1).
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "New walkthrough tokens",
            "issued": issued,
        }
        return TemplateResponse(request, "admin/walkthrough/progress/new_tokens.html", context)

    def get_urls(self):
        cohort = self.admin_site.admin_view(self.cohort_view)
        return [path("cohort/", cohort, name="walkthrough_progress_cohort"), *super().get_urls()]

    def cohort_view(self, request):
        """SPEC A2: per bucket or track, the funnel, trades by strategy and survey answers."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = CohortForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            # Bad input is a 400, never a silently unfiltered report or export.
            if request.GET.get("format") == "csv":
                return HttpResponse(form.errors.as_text(), content_type="text/plain", status=400)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Walkthrough cohorts",
                "form": form,
            }
            return TemplateResponse(request, "admin/walkthrough/progress/cohort.html", context, status=400)
        data = form.cleaned_data if form.is_bound else {}
        report = services.cohort_report(
            by=data.get("by") or "intent_bucket", start=data.get("start"), end=data.get("end")
        )
        if request.GET.get("format") == "csv":
            return self._cohort_csv(report)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Walkthrough cohorts",
            "form": form,
            "report": report,
            "screens": range(1, LAST_SCREEN + 1),
            "strategies": StrategyType.values,
            "rows": [_cohort_cells(row) for row in report.rows],
            "survey_questions": scenarios.survey()["questions"],
            "csv_query": _csv_query(request),
        }
        return TemplateResponse(request, "admin/walkthrough/progress/cohort.html", context)

    def _cohort_csv(self, report: services.CohortReport) -> HttpResponse:
        questions = scenarios.survey()["questions"]
        survey_cols = [(q["id"], c["value"]) for q in questions for c in q["choices"]]
        response = HttpResponse(content_type="text/csv")
        stamp = dt.date.today().isoformat()
        response["Content-Disposition"] = f'attachment; filename="walkthrough-cohort-{report.by}-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                report.by,
                "testers",
                *[f"reached_screen_{n}" for n in range(1, LAST_SCREEN + 1)],
                *[f"filled_{s}" for s in StrategyType.values],
                "completed_survey",
                *[f"survey_{q}={a}" for q, a in survey_cols],
            ]
        )
        for row in report.rows:
            writer.writerow(
                [
                    row.group,
                    row.testers,
                    *row.reached,
                    *[row.trades[s] for s in StrategyType.values],
                    row.completed,
                    *[row.survey.get(q, {}).get(a, 0) for q, a in survey_cols],
                ]
            )
        return response


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _cohort_cells(row: services.CohortRow) -> dict:
    """A row of (value, bar width %) cells, each relative to the row's testers."""
    return {
        "group": row.group,
        "testers": row.testers,
        "reached": [(n, _pct(n, row.testers)) for n in row.reached],
        "trades": [(row.trades[s], _pct(row.trades[s], row.testers)) for s in StrategyType.values],
        "completed": (row.completed, _pct(row.completed, row.testers)),
        "survey": [
            {
                "question": q["id"],
                "answers": [
                    (c["value"], row.survey.get(q["id"], {}).get(c["value"], 0)) for c in q["choices"]
                ],
            }
            for q in scenarios.survey()["questions"]
        ],
    }


def _csv_query(request) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


class TesterColumnsMixin:
    """The tester's email and intent bucket on a row joined to its progress (SPEC A3)."""

    list_select_related = ["progress"]
    search_fields = ["^progress__tester_email"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = LIST_PER_PAGE

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="tester", ordering="progress__tester_email")
    def tester_email(self, obj) -> str:
        return obj.progress.tester_email

    @admin.display(description="intent bucket", ordering="progress__intent_bucket")
    def intent_bucket(self, obj) -> str | None:
        return obj.progress.intent_bucket


@admin.register(PaperTrade)
class PaperTradeAdmin(TesterColumnsMixin, admin.ModelAdmin):
    list_display = ["id", "tester_email", "intent_bucket", "strategy_type", "net_credit", "filled_at"]
    list_filter = [intent_bucket_filter("progress__intent_bucket"), "strategy_type"]
    readonly_fields = ["progress", "strategy_type", "legs_json", *IC_COLUMNS, "filled_at"]
    fields = readonly_fields


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(TesterColumnsMixin, admin.ModelAdmin):
    list_display = ["tester_email", "intent_bucket", "question_id", "answer", "submitted_at"]
    list_filter = [
        intent_bucket_filter("progress__intent_bucket"),
        SurveyQuestionFilter,
        SurveyAnswerValueFilter,
    ]
    readonly_fields = ["progress", "question_id", "answer", "submitted_at"]
    fields = readonly_fields
