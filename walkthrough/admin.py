"""Walkthrough back office (SPEC A1–A3, A8): progress, the funnel with CSV, invites, trades, survey."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.template.response import TemplateResponse
from django.urls import path

from accounts.reauth import reauth_challenge, reauth_required
from config import replica
from core.admin import LargeTableAdmin, ReadOnlyAdmin, fixed_choices_filter
from core.errors import ConflictError, RuleViolation
from walkthrough import funnel_page, preview, scenarios, screens, services
from walkthrough.admin_preview import CopySignoffAdmin  # noqa: F401 (registers the W16 pages)
from walkthrough.forms import MAX_INVITES, InviteForm
from walkthrough.models import (
    IC_COLUMNS,
    NOT_SET,
    PaperTrade,
    Progress,
    Screen,
    ScreenEvent,
    SurveyAnswer,
    Track,
    bucket_label,
)

# The beta programme block (funnel, invites, flags, headline numbers) sits on the admin index.
admin.site.index_template = "admin/walkthrough/index.html"
NO_SAVE = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}


def intent_bucket_filter(field_path: str) -> type[admin.SimpleListFilter]:
    """Bucket filter with a "not set" choice; `field_path` reaches the bucket via a join (A3)."""

    class IntentBucketFilter(admin.SimpleListFilter):
        title = "intent bucket"
        parameter_name = "intent_bucket"

        def lookups(self, request, model_admin):
            return [(b, bucket_label(b)) for b in [*scenarios.buckets(), NOT_SET]]

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
# its choices are data, never a DISTINCT scan.
ScreenFilter = fixed_choices_filter(
    field="current_screen",
    parameter="current_screen__exact",
    title="furthest screen",
    choices=lambda: [(s.value, s.title) for s in Screen],
)


def _tester_record(object_id: str) -> dict:
    """The tester's page (SPEC W15, W16): each trade with its review and payoff picture, and the
    survey answers with their questions."""
    progress = Progress.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
    if progress is None:
        return {}
    trades = [
        {
            "trade": trade,
            "review": (review := screens.trade_review(trade)),
            "figures": preview.review_figures(review),
            "picture": preview.trade_picture(trade),
        }
        for trade in PaperTrade.objects.for_progress(progress)
    ]
    questions = {q["id"]: q for q in scenarios.survey()["questions"]}
    answers = []
    for answer in SurveyAnswer.objects.filter(progress=progress).order_by("question_id"):
        question = questions.get(answer.question_id, {"prompt": answer.question_id, "choices": []})
        labels = {c["value"]: c["label"] for c in question["choices"]}
        answers.append((question["prompt"], labels.get(answer.answer, answer.answer), answer.submitted_at))
    return {"tester_trades": trades, "tester_answers": answers}


def _unsigned_copy() -> str | None:
    """Why inviting is refused right now (the copy is not signed off), or None."""
    try:
        services.copy_signoff_require()
    except services.CopyNotSignedOff as refused:
        return refused.detail
    return None


# Fixed-choice filters: the choices are data, never SELECT DISTINCT over 1M rows.
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
    choices=lambda: [(s.value, s.title) for s in Screen],
)


@admin.register(Progress)
class ProgressAdmin(LargeTableAdmin):
    list_display = ["tester_email", "track", "intent_bucket", "screen", "is_completed", "updated_at"]
    list_filter = [
        intent_bucket_filter("intent_bucket"),
        "track",
        ScreenFilter,
        CompletedFilter,
        *funnel_page.LINK_FILTERS,
    ]
    # Exact address or prefix, served by wt_progress_email_prefix.
    search_fields = ["^tester_email"]
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
    change_list_template = "admin/walkthrough/progress/change_list.html"
    change_form_template = "admin/walkthrough/progress/change_form.html"

    class Media:
        css = {"all": ["walkthrough/lists.css"]}

    def has_add_permission(self, request) -> bool:
        return False  # testers are created by issuing a token (command or the action below)

    @admin.display(description="furthest screen", ordering="current_screen")
    def screen(self, obj: Progress) -> str:
        return Screen.title_of(obj.current_screen)

    @admin.display(boolean=True, description="completed", ordering="completed_at")
    def is_completed(self, obj: Progress) -> bool:
        return obj.completed

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # `?token_hash__startswith=...` would reveal the hash prefix by prefix (SPEC A1).
        if "token_hash" in lookup.split(LOOKUP_SEP):
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.action(description="Issue a new token (revokes the old one; shown once)", permissions=["change"])
    @reauth_required
    def issue_new_token(self, request, queryset):
        emails = list(queryset.order_by("tester_email").values_list("tester_email", flat=True))
        try:
            tokens = services.walkthrough_tokens_issue(
                emails=emails, actor=request.user, via=services.IssuedVia.TOKEN_ACTION
            )
        except services.CopyNotSignedOff as refused:  # SPEC W16: nothing issued before the sign-off
            self.message_user(request, refused.detail, level=messages.ERROR)
            return None
        issued = [(token.progress.tester_email, token.raw) for token in tokens]
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
        funnel = self.admin_site.admin_view(
            replica.analyst_read(partial(funnel_page.funnel_view, model_admin=self))
        )
        dropoff = self.admin_site.admin_view(partial(funnel_page.dropoff_view, model_admin=self))
        refresh = self.admin_site.admin_view(partial(funnel_page.refresh_view, model_admin=self))
        invite = self.admin_site.admin_view(self.invite_view)
        return [
            # The funnel keeps the cohort view's URL: bookmarks and the analyst tests use it.
            path("cohort/", funnel, name="walkthrough_progress_cohort"),
            path("cohort/dropoff/", dropoff, name="walkthrough_progress_cohort_dropoff"),
            path("cohort/refresh/", refresh, name="walkthrough_progress_cohort_refresh"),
            path("invite/", invite, name="walkthrough_progress_invite"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_invite": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: the page offers no Save (the token action lives on the list).
        extra_context = {**(extra_context or {}), **NO_SAVE, **_tester_record(object_id)}
        return super().change_view(request, object_id, form_url, extra_context)

    def invite_view(self, request):
        """SPEC A8: issue tokens to a list of addresses at once; each raw token is shown once."""
        # Inviting writes testers: the change permission, which analysts never have (SPEC A4).
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and (challenge := reauth_challenge(request)) is not None:
            return challenge  # SPEC P1: inviting wants a code from the last 10 minutes
        form = InviteForm(request.POST if request.method == "POST" else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Invite testers",
            "form": form,
            "max_invites": MAX_INVITES,
            "unsigned": _unsigned_copy(),
        }
        if context["unsigned"] and request.method == "POST":
            # SPEC W16: refused while the current copy has no sign-off; nothing is issued.
            return TemplateResponse(request, "admin/walkthrough/progress/invite.html", context, status=409)
        if request.method != "POST" or not form.is_valid():
            status = 400 if form.is_bound else 200
            return TemplateResponse(request, "admin/walkthrough/progress/invite.html", context, status=status)
        emails, track = form.cleaned_data["emails"], form.cleaned_data["track"]
        try:
            tokens = services.walkthrough_tokens_issue(
                emails=emails, track=track, actor=request.user, via=services.IssuedVia.INVITE_PAGE
            )
        except (ConflictError, RuleViolation):
            # A race with another operator's issue or re-issue: nothing was issued.
            form.add_error(
                None, "Another change to these testers happened meanwhile; nothing was issued. Try again."
            )
            return TemplateResponse(request, "admin/walkthrough/progress/invite.html", context, status=409)
        issued = [(token.progress.tester_email, token.raw, token.reissued) for token in tokens]
        context.update(title="Invited testers", issued=issued, track=Track(track), stamp=dt.date.today())
        # Shown once, in this response only (admin views send no-store): no message, no session.
        return TemplateResponse(request, "admin/walkthrough/progress/invite_done.html", context)


class TesterRowsAdmin(ReadOnlyAdmin, LargeTableAdmin):
    """Rows the walkthrough wrote, joined to their tester: email and intent bucket (SPEC A3).

    Shown without a Save button; trades and answers may be deleted by an operator.
    """

    deletable = True
    list_select_related = ["progress"]
    search_fields = ["^progress__tester_email"]

    @admin.display(description="tester", ordering="progress__tester_email")
    def tester_email(self, obj) -> str:
        return obj.progress.tester_email

    @admin.display(description="intent bucket", ordering="progress__intent_bucket")
    def intent_bucket(self, obj) -> str | None:
        return obj.progress.get_intent_bucket_display()


@admin.register(PaperTrade)
class PaperTradeAdmin(TesterRowsAdmin):
    list_display = ["id", "tester_email", "intent_bucket", "strategy_type", "net_credit", "filled_at"]
    list_filter = [intent_bucket_filter("progress__intent_bucket"), "strategy_type"]
    readonly_fields = ["progress", "strategy_type", "legs_json", *IC_COLUMNS, "filled_at"]
    fields = readonly_fields


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(TesterRowsAdmin):
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
class ScreenEventAdmin(TesterRowsAdmin):
    """Append-only screen events: the funnel's time-to-step is computed from them, so nobody
    adds, edits or deletes one here (the purge and dsr_delete remove them)."""

    deletable = False
    list_display = ["id", "tester_email", "intent_bucket", "screen", "strategy_type", "created_at"]
    list_filter = [EventScreenFilter, "strategy_type"]
    readonly_fields = ["progress", "screen", "strategy_type", "created_at"]
    fields = readonly_fields
    ordering = ["-created_at", "-id"]
