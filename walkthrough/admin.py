"""Walkthrough back office (SPEC A1–A3, A8): progress, the funnel with CSV, invites, trades, survey."""

from __future__ import annotations

import csv
import datetime as dt
import re

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse

from config.admin_perf import LIST_PER_PAGE, EstimatedCountPaginator, fixed_choices_filter
from config.api import ConflictError, RuleViolation
from walkthrough import funnel, scenarios, services
from walkthrough.models import (
    IC_COLUMNS,
    IntentBucket,
    PaperTrade,
    Progress,
    ScreenEvent,
    StrategyType,
    SurveyAnswer,
    Track,
)

NOT_SET = "__not_set__"
# The beta programme block (funnel, invites, flags, headline numbers) sits on the admin index.
admin.site.index_template = "admin/walkthrough/index.html"
MAX_INVITES = 500
NO_SAVE = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
# What each value of current_screen means, for lists and filters (screen names, SPEC W3-W9).
SCREENS = {1: "1 · Door", 2: "2 · Scenario", 3: "3 · Builder", 4: "4 · Review", 5: "5 · Survey"}


def intent_bucket_filter(field_path: str) -> type[admin.SimpleListFilter]:
    """Bucket filter with a "not set" choice; `field_path` reaches the bucket via a join (A3)."""

    class IntentBucketFilter(admin.SimpleListFilter):
        title = "intent bucket"
        parameter_name = "intent_bucket"

        def lookups(self, request, model_admin):
            labels = dict(IntentBucket.choices)
            return [(b, labels.get(b, b)) for b in scenarios.buckets()] + [(NOT_SET, "Not set")]

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


# current_screen with the screen names; keeps the field filter's parameter for old links, and
# its choices are data, never a DISTINCT scan (issue 11).
ScreenFilter = fixed_choices_filter(
    field="current_screen",
    parameter="current_screen__exact",
    title="furthest screen",
    choices=lambda: list(SCREENS.items()),
)


class ReachedFilter(admin.SimpleListFilter):
    """The funnel's "reached" counts link here: the very same condition (walkthrough.funnel)."""

    title = "funnel step reached"
    parameter_name = "reached"

    def lookups(self, request, model_admin):
        return [(s.key, s.label) for s in funnel.STEPS[1:]]

    def queryset(self, request, queryset):
        step = funnel.STEP_BY_KEY.get(self.value() or "")
        return queryset.filter(step.q) if step else queryset


class StoppedFilter(admin.SimpleListFilter):
    """The funnel's drop-off counts link here: reached this step, not the next one."""

    title = "stopped after"
    parameter_name = "stopped"

    def lookups(self, request, model_admin):
        return [(s.key, s.label) for s in funnel.STEPS[:-1]]

    def queryset(self, request, queryset):
        if self.value() in {s.key for s in funnel.STEPS[:-1]}:
            return queryset.filter(funnel.stopped_q(self.value()))
        return queryset


class FilledFilter(admin.SimpleListFilter):
    title = "filled a trade of"
    parameter_name = "filled"

    def lookups(self, request, model_admin):
        return StrategyType.choices

    def queryset(self, request, queryset):
        if self.value() in StrategyType.values:
            return queryset.filter(funnel.filled_q(self.value()))
        return queryset


class IssuedRangeFilter(admin.ListFilter):
    """Token issued between two UTC dates (inclusive), as the funnel's date range selects."""

    title = "token issued"
    template = "admin/walkthrough/progress/issued_filter.html"
    parameters = ("issued_from", "issued_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return bool(self.used_parameters)

    def expected_parameters(self):
        return list(self.parameters)

    def choices(self, changelist):
        yield {
            "selected": False,
            "query_string": changelist.get_query_string(remove=self.parameters),
            "display": "Any date",
        }
        yield {
            "selected": True,
            "query_string": changelist.get_query_string(),
            "display": " to ".join(self.used_parameters.get(name, "…") for name in self.parameters),
        }

    def queryset(self, request, queryset):
        dates = {}
        for name in self.parameters:
            value = self.used_parameters.get(name)
            if value:
                try:
                    dates[name] = dt.date.fromisoformat(value)
                except ValueError:
                    raise IncorrectLookupParameters(f"{name} is not a date") from None
        return queryset.filter(funnel.IssuedRange(dates.get("issued_from"), dates.get("issued_to")).q())


class FunnelForm(forms.Form):
    by = forms.ChoiceField(choices=list(funnel.GROUP_BY.items()), required=False, label="Group by")
    bad_date = "Enter a date as YYYY-MM-DD, for example 2026-07-01."
    start = forms.DateField(
        required=False,
        label="Tokens issued from",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": bad_date},
    )
    end = forms.DateField(
        required=False,
        label="to",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": bad_date},
    )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(
                f"The range starts ({data['start']}) after it ends ({data['end']}): swap the two dates."
            )
        return data


class InviteForm(forms.Form):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 60}),
        max_length=MAX_INVITES * 260,
        help_text=f"One address per line, or separated by commas or spaces; up to {MAX_INVITES}.",
    )
    track = forms.ChoiceField(choices=Track.choices, initial=Track.FULL, widget=forms.RadioSelect)

    def clean_emails(self) -> list[str]:
        emails, invalid = [], []
        for item in re.split(r"[\s,;]+", self.cleaned_data["emails"]):
            if not item:
                continue
            try:
                email = services.normalize_email(item)
            except RuleViolation:
                invalid.append(item)
                continue
            if email not in emails:
                emails.append(email)
        if invalid:
            raise forms.ValidationError(
                [f"Not a valid email address: {item}" for item in invalid]
                + ["Nothing was issued: correct or remove these addresses and send the list again."]
            )
        if not emails:
            raise forms.ValidationError("Enter at least one email address.")
        if len(emails) > MAX_INVITES:
            raise forms.ValidationError(
                f"At most {MAX_INVITES} addresses at a time; this list has {len(emails)}. "
                "Nothing was issued: split the list."
            )
        return emails

    def clean(self):
        data = super().clean()
        if "emails" in data and data.get("track"):
            # A re-issue keeps the tester's track (walkthrough_token_issue): say so before issuing.
            other = (
                Progress.objects.filter(tester_email__in=data["emails"])
                .exclude(track=data["track"])
                .order_by("tester_email")
                .values_list("tester_email", "track")
            )
            errors = [
                f"{email} is already a tester on the {Track(track).label} track; a re-issue keeps the track."
                for email, track in other
            ]
            if errors:
                self.add_error(
                    "emails", [*errors, "Nothing was issued: invite these addresses with their own track."]
                )
        return data


def _invite(request, *, emails: list[str], track: str) -> list[tuple[str, str, bool]]:
    """Every address gets a new token in one transaction; the admin log names addresses only."""
    existing = set(Progress.objects.filter(tester_email__in=emails).values_list("tester_email", flat=True))
    issued = []
    with transaction.atomic():
        for email in emails:
            progress, raw = services.walkthrough_token_issue(email=email, track=track)
            issued.append((progress, raw, email in existing))
        for flag, reissued in ((ADDITION, False), (CHANGE, True)):
            pks = [p.pk for p, _, again in issued if again is reissued]
            if pks:
                verb = "re-issued (the old token no longer works)" if reissued else "issued"
                LogEntry.objects.log_actions(
                    user_id=request.user.pk,
                    queryset=Progress.objects.filter(pk__in=pks),
                    action_flag=flag,
                    change_message=f"Invited on the invite page ({Track(track).label}); token {verb}.",
                )
    return [(p.tester_email, raw, again) for p, raw, again in issued]


# Fixed-choice filters (issue 11): the choices are data, never SELECT DISTINCT over 1M rows.
SurveyQuestionFilter = fixed_choices_filter(
    field="question_id",
    parameter="question_id__exact",
    title="question",
    choices=lambda: [(q["id"], q["id"].replace("_", " ")) for q in scenarios.survey()["questions"]],
)
SurveyAnswerValueFilter = fixed_choices_filter(
    field="answer",
    parameter="answer__exact",
    title="answer",
    choices=lambda: sorted(
        {
            (c["value"], f"{c['value']} · {c['label']}")
            for q in scenarios.survey()["questions"]
            for c in q["choices"]
        }
    ),
)
EventScreenFilter = fixed_choices_filter(
    field="screen",
    parameter="screen__exact",
    title="screen",
    choices=lambda: list(SCREENS.items()),
)


@admin.register(Progress)
class ProgressAdmin(admin.ModelAdmin):
    list_display = ["tester_email", "track", "intent_bucket", "screen", "is_completed", "updated_at"]
    list_filter = [
        intent_bucket_filter("intent_bucket"),
        "track",
        ScreenFilter,
        CompletedFilter,
        ReachedFilter,
        StoppedFilter,
        FilledFilter,
        IssuedRangeFilter,
    ]
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

    @admin.display(description="furthest screen", ordering="current_screen")
    def screen(self, obj: Progress) -> str:
        return SCREENS.get(obj.current_screen, str(obj.current_screen))

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
        funnel = self.admin_site.admin_view(self.funnel_view)
        invite = self.admin_site.admin_view(self.invite_view)
        return [
            # The funnel keeps the cohort view's URL: bookmarks and the analyst tests use it.
            path("cohort/", funnel, name="walkthrough_progress_cohort"),
            path("invite/", invite, name="walkthrough_progress_invite"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_invite": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: the page offers no Save (the token action lives on the list).
        extra_context = {**(extra_context or {}), **NO_SAVE}
        return super().change_view(request, object_id, form_url, extra_context)

    def funnel_view(self, request):
        """SPEC A2: the funnel per bucket, track or both, weekly cohorts, and its CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = FunnelForm(request.GET or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Walkthrough funnel",
            "form": form,
        }
        if form.is_bound and not form.is_valid():
            # Bad input is a 400 with the reason on the page, never an unfiltered report or a 500.
            if request.GET.get("format") == "csv":
                return HttpResponse(form.errors.as_text(), content_type="text/plain", status=400)
            return TemplateResponse(request, "admin/walkthrough/progress/cohort.html", context, status=400)
        data = form.cleaned_data if form.is_bound else {}
        by = data.get("by") or "intent_bucket"
        issued = funnel.IssuedRange(data.get("start"), data.get("end"))
        # Without a range: the beat-refreshed snapshot, "as of" its time (issue 11); a range is live.
        report = funnel.funnel_report(by=by, issued=issued, snapshot=True)
        if request.GET.get("format") == "csv":
            return funnel_csv(report)
        changelist = reverse("admin:walkthrough_progress_changelist")
        context.update(
            report=report,
            group_label=funnel.GROUP_BY[by],
            steps=funnel.STEPS,
            strategies=StrategyType.choices,
            rows=[_row_view(row, issued, changelist) for row in report.rows],
            weeks=[_week_view(week, changelist) for week in report.weeks],
            survey_questions=scenarios.survey()["questions"],
            csv_query=_csv_query(request),
            snapshot_minutes=settings.FUNNEL_SNAPSHOT_INTERVAL_SECONDS // 60,
        )
        return TemplateResponse(request, "admin/walkthrough/progress/cohort.html", context)

    def invite_view(self, request):
        """SPEC A8: issue tokens to a list of addresses at once; each raw token is shown once."""
        # Inviting writes testers: the change permission, which analysts never have (SPEC A4).
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST if request.method == "POST" else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Invite testers",
            "form": form,
            "max_invites": MAX_INVITES,
        }
        if request.method != "POST" or not form.is_valid():
            status = 400 if form.is_bound else 200
            return TemplateResponse(request, "admin/walkthrough/progress/invite.html", context, status=status)
        emails, track = form.cleaned_data["emails"], form.cleaned_data["track"]
        try:
            issued = _invite(request, emails=emails, track=track)
        except (ConflictError, RuleViolation):
            # A race with another operator's issue or re-issue: nothing was issued.
            form.add_error(
                None, "Another change to these testers happened meanwhile; nothing was issued. Try again."
            )
            return TemplateResponse(request, "admin/walkthrough/progress/invite.html", context, status=409)
        context.update(title="Invited testers", issued=issued, track=Track(track), stamp=dt.date.today())
        # Shown once, in this response only (admin views send no-store): no message, no session.
        return TemplateResponse(request, "admin/walkthrough/progress/invite_done.html", context)


def _share(part: int, whole: int) -> float:
    """A bar's length: part of the row's testers, in % (an SVG rect width of 100 is full)."""
    return round(100 * part / whole, 1) if whole else 0.0


def _row_query(key: tuple[str, str], issued: funnel.IssuedRange) -> QueryDict:
    """The changelist filters that select exactly one funnel row's testers."""
    query = QueryDict(mutable=True)
    bucket, track = key
    if bucket != "*":
        query["intent_bucket"] = NOT_SET if bucket == funnel.NOT_SET else bucket
    if track != "*":
        query["track__exact"] = track
    if issued.start:
        query["issued_from"] = issued.start.isoformat()
    if issued.end:
        query["issued_to"] = issued.end.isoformat()
    return query


def _link(changelist: str, base: QueryDict, **extra: str) -> str:
    query = base.copy()
    for name, value in extra.items():
        query[name] = value
    return f"{changelist}?{query.urlencode()}" if query else changelist


def _row_view(row: funnel.FunnelRow, issued: funnel.IssuedRange, changelist: str) -> dict:
    base = _row_query(row.key, issued)
    steps = []
    for i, cell in enumerate(row.steps):
        steps.append(
            {
                "cell": cell,
                "url": _link(changelist, base, **({"reached": cell.step.key} if i else {})),
                "share": _share(cell.reached, row.testers),
                "dropped_url": _link(changelist, base, stopped=row.steps[i - 1].step.key) if i else "",
                "median": funnel.duration(cell.timing.median),
                "p90": funnel.duration(cell.timing.p90),
                "strategies": [
                    {
                        "value": s,
                        "label": StrategyType(s).label,
                        "n": n,
                        "url": _link(changelist, base, filled=s),
                    }
                    for s, n in cell.strategies
                ],
            }
        )
    return {"row": row, "steps": steps, "overall_share": _share(row.steps[-1].reached, row.testers)}


def _week_view(week: funnel.WeekRow, changelist: str) -> dict:
    issued = funnel.IssuedRange(week.monday, week.monday + dt.timedelta(days=6))
    base = _row_query(funnel.TOTAL, issued)
    return {
        "week": week,
        "url": _link(changelist, base),
        "completed_url": _link(changelist, base, reached="survey"),
        "share": _share(week.completed, week.testers),
    }


def _csv_query(request) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


def _fmt(value) -> str:
    return "" if value is None else str(value)


def funnel_csv(report: funnel.Funnel) -> HttpResponse:
    """Exactly the page's numbers: the funnel rows, then the weekly rows (column `section`)."""
    questions = scenarios.survey()["questions"]
    response = HttpResponse(content_type="text/csv")
    range_label = report.issued.label
    if report.as_of:  # a snapshot's CSV says when its numbers are from
        range_label += f"-as-of-{report.as_of.astimezone(dt.UTC):%Y%m%dT%H%MZ}"
    response["Content-Disposition"] = (
        f'attachment; filename="walkthrough-funnel-{report.by}-issued-{range_label}.csv"'
    )
    step_columns = []
    for i, step in enumerate(funnel.STEPS):
        step_columns.append(f"{step.key}_testers")
        if i:
            step_columns += [f"{step.key}_conversion_pct", f"{step.key}_dropped"]
        if step.screen:
            step_columns += [f"{step.key}_timed", f"{step.key}_median_s", f"{step.key}_p90_s"]
        if step.key == "trade":
            step_columns += [f"trade_{s}_testers" for s in StrategyType.values]
    survey_columns = [f"survey_{q['id']}_{c['value']}_pct" for q in questions for c in q["choices"]]
    header = [
        "section",
        "group_by",
        "issued_range",
        "row",
        *step_columns,
        "overall_conversion_pct",
        *[f"survey_{q['id']}_answered" for q in questions],
        *survey_columns,
        f"survey_{funnel.SCALE_QUESTION}_mean",
    ]
    writer = csv.writer(response)
    writer.writerow(header)
    for row in report.rows:
        cells = []
        for i, cell in enumerate(row.steps):
            cells.append(cell.reached)
            if i:
                cells += [_fmt(cell.conversion), cell.dropped]
            if cell.step.screen:
                cells += [cell.timing.timed, _fmt(cell.timing.median), _fmt(cell.timing.p90)]
            cells += [n for _, n in cell.strategies]
        scale = next(q for q in row.survey if q.id == funnel.SCALE_QUESTION)
        writer.writerow(
            [
                "funnel",
                report.by,
                range_label,
                row.label,
                *cells,
                _fmt(row.overall),
                *[q.answered for q in row.survey],
                *[share for q in row.survey for _, _, _, share in q.answers],
                _fmt(scale.mean),
            ]
        )
    for week in report.weeks:
        line = dict.fromkeys(header, "")
        line.update(
            {
                "section": "week",
                "group_by": report.by,
                "issued_range": range_label,
                "row": week.label,
                "issued_testers": week.testers,
                "survey_testers": week.completed,
                "overall_conversion_pct": _fmt(week.completion),
            }
        )
        writer.writerow(line.values())
    return response


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
        return obj.progress.get_intent_bucket_display()

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # rows the walkthrough wrote: the admin shows them, without a Save button


@admin.register(PaperTrade)
class PaperTradeAdmin(TesterColumnsMixin, admin.ModelAdmin):
    list_display = ["id", "tester_email", "intent_bucket", "strategy_type", "net_credit", "filled_at"]
    list_filter = [intent_bucket_filter("progress__intent_bucket"), "strategy_type"]
    readonly_fields = ["progress", "strategy_type", "legs_json", *IC_COLUMNS, "filled_at"]
    fields = readonly_fields


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(TesterColumnsMixin, admin.ModelAdmin):
    list_display = ["tester_email", "intent_bucket", "question", "answer_label", "submitted_at"]
    list_filter = [
        intent_bucket_filter("progress__intent_bucket"),
        SurveyQuestionFilter,
        SurveyAnswerValueFilter,
    ]
    readonly_fields = ["progress", "question_id", "answer", "submitted_at"]
    fields = readonly_fields

    @admin.display(description="question", ordering="question_id")
    def question(self, obj: SurveyAnswer) -> str:
        return _survey_labels().get(obj.question_id, (obj.question_id, {}))[0]

    @admin.display(description="answer", ordering="answer")
    def answer_label(self, obj: SurveyAnswer) -> str:
        return _survey_labels().get(obj.question_id, ("", {}))[1].get(obj.answer, obj.answer)


def _survey_labels() -> dict[str, tuple[str, dict[str, str]]]:
    """question_id -> (id as shown, {answer value: label}); prompts are long, so the id stays."""
    return {
        q["id"]: (
            q["id"].replace("_", " "),
            {c["value"]: f"{c['value']} · {c['label']}" for c in q["choices"]},
        )
        for q in scenarios.survey()["questions"]
    }


@admin.register(ScreenEvent)
class ScreenEventAdmin(admin.ModelAdmin):
    """Append-only screen events, read-only: the funnel's time-to-step is computed from them,
    so nobody adds, edits or deletes one here (the purge and dsr_delete remove them)."""

    list_display = ["id", "tester_email", "intent_bucket", "screen", "strategy_type", "created_at"]
    list_filter = [EventScreenFilter, "strategy_type"]
    list_select_related = ["progress"]
    search_fields = ["^progress__tester_email"]
    paginator = EstimatedCountPaginator
    list_per_page = LIST_PER_PAGE
    readonly_fields = ["progress", "screen", "strategy_type", "created_at"]
    fields = readonly_fields
    ordering = ["-created_at", "-id"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="tester", ordering="progress__tester_email")
    def tester_email(self, obj: ScreenEvent) -> str:
        return obj.progress.tester_email

    @admin.display(description="intent bucket", ordering="progress__intent_bucket")
    def intent_bucket(self, obj: ScreenEvent) -> str | None:
        return obj.progress.intent_bucket
