"""The funnel page of the back office (SPEC A2): its form, its view, its links and its CSV.

The numbers come from the read side, walkthrough/funnel.py; this module only shows them. The
changelist filters every count links to live here too, so a link and the filter that answers
it are written side by side: each builds its condition from the same funnel.Step /
funnel.IssuedRange as the count. ProgressAdmin serves the page (`funnel_view`) at
/admin/walkthrough/progress/cohort/ and lists the filters (`LINK_FILTERS`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_POST

from accounts.reauth import reauth_challenge
from audit.services import export_record
from config import replica
from walkthrough import funnel, scenarios, services, timing
from walkthrough.models import NOT_SET, Progress, RoutingArm, StrategyType, Track, bucket_label

TEMPLATE = "admin/walkthrough/progress/cohort.html"


# --- the changelist filters the funnel's counts link to ----------------------------------------


class ReachedFilter(admin.SimpleListFilter):
    """The funnel's "reached" counts link here: the very same condition (funnel.Step.q)."""

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


class ArmFilter(admin.SimpleListFilter):
    """The routing arm (SPEC F8), with "not set": the funnel's arm filter links here."""

    title = "routing arm"
    parameter_name = "arm"

    def lookups(self, request, model_admin):
        return [*RoutingArm.choices, (NOT_SET, "Not set")]

    def queryset(self, request, queryset):
        if self.value() in {*RoutingArm.values, NOT_SET}:
            return queryset.filter(funnel.Filters(arm=self.value()).q())
        return queryset


class ScenarioServedFilter(admin.SimpleListFilter):
    """The scenario a tester's stored bucket and arm mean (funnel.scenario_served)."""

    title = "scenario served"
    parameter_name = "scenario"

    def lookups(self, request, model_admin):
        return funnel.scenario_choices()

    def queryset(self, request, queryset):
        if self.value() in dict(funnel.scenario_choices()):
            return queryset.filter(funnel.Filters(scenario=self.value()).q())
        return queryset


LINK_FILTERS = [
    ReachedFilter,
    StoppedFilter,
    FilledFilter,
    IssuedRangeFilter,
    ArmFilter,
    ScenarioServedFilter,
]


def _row_query(key: tuple[str, str], issued: funnel.IssuedRange, filters: funnel.Filters) -> QueryDict:
    """The changelist filters that select exactly one funnel row's testers (under the filters)."""
    query = QueryDict(mutable=True)
    bucket = key[0] if key[0] != "*" else filters.bucket
    track = key[1] if key[1] != "*" else filters.track
    if bucket:
        query["intent_bucket"] = bucket  # a bucket value, or NOT_SET: the bucket filter takes both
    if track:
        query["track__exact"] = track
    if filters.arm:
        query["arm"] = filters.arm
    if filters.scenario:
        query["scenario"] = filters.scenario
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


# --- the page ----------------------------------------------------------------------------------

BAD_DATE = "Enter a date as YYYY-MM-DD, for example 2026-07-01."
ANY = [("", "any")]


def _date_field(label: str) -> forms.DateField:
    # ISO only: Django's default formats would take 12/01/2026 and guess which is the month.
    return forms.DateField(
        required=False,
        label=label,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": BAD_DATE},
    )


class FunnelForm(forms.Form):
    by = forms.ChoiceField(choices=list(funnel.GROUP_BY.items()), required=False, label="Group by")
    start = _date_field("Tokens issued from")
    end = _date_field("to")
    bucket = forms.ChoiceField(required=False, label="Bucket")
    track = forms.ChoiceField(required=False, label="Track")
    scenario = forms.ChoiceField(required=False, label="Scenario served")
    arm = forms.ChoiceField(required=False, label="Routing arm")
    window = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=funnel.MAX_WINDOW_DAYS,
        label="Conversion window (days)",
        widget=forms.NumberInput(attrs={"placeholder": funnel.DEFAULT_WINDOW_DAYS, "size": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bucket"].choices = [
            *ANY,
            *((b, bucket_label(b)) for b in [*scenarios.buckets(), NOT_SET]),
        ]
        self.fields["track"].choices = [*ANY, *Track.choices]
        self.fields["scenario"].choices = [*ANY, *funnel.scenario_choices()]
        self.fields["arm"].choices = [*ANY, *RoutingArm.choices, (NOT_SET, "Not set")]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(
                f"The range starts ({data['start']}) after it ends ({data['end']}): swap the two dates."
            )
        return data

    def report_args(self) -> dict:
        data = self.cleaned_data if self.is_bound else {}
        return {
            "by": data.get("by") or "intent_bucket",
            "issued": funnel.IssuedRange(data.get("start"), data.get("end")),
            "filters": funnel.Filters(
                **{name: data.get(name) or None for name in ("bucket", "track", "scenario", "arm")}
            ),
            "window_days": data.get("window") or funnel.DEFAULT_WINDOW_DAYS,
        }


def _is_operator(request, model_admin: admin.ModelAdmin) -> bool:
    """Operators change testers; analysts only view (SPEC A4): they get pseudonymous ids."""
    return model_admin.has_change_permission(request)


def funnel_view(request, *, model_admin: admin.ModelAdmin):
    """SPEC A2, A9: the funnel with its intervals, filters, cohorts and exports."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = FunnelForm(request.GET or None)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Walkthrough funnel",
        "form": form,
    }
    export = request.GET.get("format")
    if form.is_bound and not form.is_valid():
        # Bad input is a 400 with the reason on the page, never an unfiltered report or a 500.
        if export:
            return HttpResponse(form.errors.as_text(), content_type="text/plain", status=400)
        return TemplateResponse(request, TEMPLATE, context, status=400)
    args = form.report_args()
    # Without a range: the beat-refreshed snapshot, "as of" its time; a range is live.
    report = funnel.funnel_report(**args, snapshot=True)
    if export in EXPORTS:
        # SPEC P1: an export wants a code from the last 10 minutes (accounts/reauth.py).
        if (challenge := reauth_challenge(request)) is not None:
            return challenge
        what, write = EXPORTS[export]
        _record(request, what)
        return write(report)
    changelist = reverse("admin:walkthrough_progress_changelist")
    context.update(
        report=report,
        group_label=funnel.GROUP_BY[args["by"]],
        steps=funnel.STEPS,
        rows=[_row_view(row, report, changelist) for row in report.rows],
        weeks=[_week_view(week, report, changelist) for week in report.weeks],
        histograms=_histogram_views(report),
        csv_query=_query(request, format="csv"),
        weeks_query=_query(request, format="weeks"),
        snapshot_minutes=settings.FUNNEL_SNAPSHOT_INTERVAL_SECONDS // 60,
        snapshot_age=timezone.now() - report.as_of if report.as_of else None,
        live_testers=Progress.objects.count() if report.as_of else None,
        can_refresh=_is_operator(request, model_admin),
        is_operator=_is_operator(request, model_admin),
        # Where these numbers were read: the replica and its lag, or why the primary (SPEC O2).
        replica=replica.read_status(),
    )
    return TemplateResponse(request, TEMPLATE, context)


@require_POST
def refresh_view(request, *, model_admin: admin.ModelAdmin):
    """An operator's "refresh now": recompute the snapshot at once, one refresh at a time."""
    if not _is_operator(request, model_admin):
        raise PermissionDenied
    stored = services.funnel_snapshot_refresh()
    if stored is None:
        messages.warning(request, "A refresh is already running: its numbers appear when it finishes.")
    else:
        messages.success(request, "The funnel snapshot was recomputed just now.")
    target = reverse("admin:walkthrough_progress_cohort")
    query = request.POST.get("query", "")
    return redirect(f"{target}?{query}" if query else target)


def dropoff_view(request, *, model_admin: admin.ModelAdmin):
    """The testers behind one drop-off cell, as CSV (SPEC A9): who reached `step` of one row and
    stopped there. Emails for operators, pseudonymous ids for analysts; streamed in id order."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = FunnelForm(request.GET)
    step = request.GET.get("stopped", "")
    group = request.GET.get("group", "*|*").split("|")
    if not form.is_valid() or step not in {s.key for s in funnel.STEPS[:-1]} or len(group) != 2:
        return HttpResponse(
            "Unknown cell: pick a drop-off count on the funnel page.", content_type="text/plain", status=400
        )
    if (challenge := reauth_challenge(request)) is not None:
        return challenge  # SPEC P1: personal data leaving the back office
    args = form.report_args()
    row_filters = _row_filters(args["filters"], (group[0], group[1]))
    testers = Progress.objects.filter(args["issued"].q(), row_filters.q(), funnel.stopped_q(step))
    operator = _is_operator(request, model_admin)
    _record(request, f"walkthrough drop-off list CSV ({'emails' if operator else 'pseudonymous ids'})")
    header = [
        "tester",
        "intent_bucket",
        "track",
        "routing_arm",
        "token_issued_at",
        "furthest_screen",
        "stopped_after",
    ]
    fields = ("tester_email", "intent_bucket", "track", "routing_arm", "created_at", "current_screen")
    rows = (
        [
            email if operator else pseudonym(pk),
            bucket or "",
            track,
            arm or "",
            issued.isoformat(),
            screen,
            step,
        ]
        # The body runs after the view returns: its reads are an analyst's, on the replica
        # when it is fresh enough (SPEC O2), like the funnel page's own.
        for pk, email, bucket, track, arm, issued, screen in replica.analyst_stream(_keyset(testers, fields))
    )
    label = "emails" if operator else "ids"
    return _stream_csv(f"walkthrough-dropoff-{step}-{args['issued'].label}-{label}.csv", header, rows)


def _row_filters(filters: funnel.Filters, key: tuple[str, str]) -> funnel.Filters:
    """The page's filters narrowed to one row of its table."""
    bucket = key[0] if key[0] != "*" else filters.bucket
    track = key[1] if key[1] != "*" else filters.track
    return funnel.Filters(bucket=bucket, track=track, scenario=filters.scenario, arm=filters.arm)


def pseudonym(pk: int) -> str:
    """A tester's stable id for analysts: the same in every export, never the email or the pk."""
    return "t-" + salted_hmac("walkthrough.funnel.dropoff", str(pk)).hexdigest()[:16]


def _keyset(queryset, fields: tuple[str, ...], size: int = 2000) -> Iterator[tuple]:
    """Rows in id order, `size` at a time by keyset (WHERE id > last): flat memory with no
    server-side cursor, which PgBouncer in transaction mode does not allow (SPEC O1, P5)."""
    last = 0
    while True:
        batch = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:size])
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def _record(request, what: str) -> None:
    """SPEC A9, P2: every export is recorded in the change log (who, what, when, which filter)."""
    query = request.GET.copy()
    query.pop("format", None)
    export_record(actor=request.user, what=what, query=query.urlencode())


def _query(request, **extra: str) -> str:
    query = request.GET.copy()
    for name, value in extra.items():
        query[name] = value
    return query.urlencode()


def _share(part: int, whole: int) -> float:
    """A bar's length: part of the row's testers, in % (an SVG rect width of 100 is full)."""
    return round(100 * part / whole, 1) if whole else 0.0


def _row_view(row: funnel.FunnelRow, report: funnel.Funnel, changelist: str) -> dict:
    base = _row_query(row.key, report.issued, report.filters)
    steps = []
    for i, cell in enumerate(row.steps):
        steps.append(
            {
                "cell": cell,
                "url": _link(changelist, base, **({"reached": cell.step.key} if i else {})),
                "share": _share(cell.reached, row.testers),
                "dropped_url": _link(changelist, base, stopped=row.steps[i - 1].step.key) if i else "",
                "dropoff_csv": _dropoff_link(report, row, row.steps[i - 1].step.key) if i else "",
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


def _page_query(report: funnel.Funnel) -> QueryDict:
    query = QueryDict(mutable=True)
    query["by"] = report.by
    if report.issued.start:
        query["start"] = report.issued.start.isoformat()
    if report.issued.end:
        query["end"] = report.issued.end.isoformat()
    for name, value in report.filters.query().items():
        query[name] = value
    return query


def _dropoff_link(report: funnel.Funnel, row: funnel.FunnelRow, stopped: str) -> str:
    query = _page_query(report)
    query["group"] = f"{row.key[0]}|{row.key[1]}"
    query["stopped"] = stopped
    return f"{reverse('admin:walkthrough_progress_cohort_dropoff')}?{query.urlencode()}"


def _week_view(week: funnel.WeekRow, report: funnel.Funnel, changelist: str) -> dict:
    issued = funnel.IssuedRange(week.monday, week.monday + dt.timedelta(days=6))
    base = _row_query(funnel.TOTAL, issued, report.filters)
    return {
        "week": week,
        "url": _link(changelist, base),
        "completed_url": _link(changelist, base, reached="survey"),
        "share": _share(week.completed, week.testers),
    }


def _histogram_views(report: funnel.Funnel) -> list[dict]:
    views = []
    total = report.total
    for cell in total.steps:
        counts = report.histograms.get(cell.step.key)
        if counts is None:
            continue
        views.append(
            {
                "step": cell.step,
                "svg": timing.histogram_svg(counts, title=f"Time to {cell.step.label.lower()}"),
                "timed": sum(counts),
                "median": funnel.duration(cell.timing.median),
                "p90": funnel.duration(cell.timing.p90),
            }
        )
    return views


# --- the exports: streamed CSV -----------------------------------------------------------------


class _Echo:
    """csv.writer's file: each row comes back as text for the stream."""

    def write(self, value: str) -> str:
        return value


def _stream_csv(filename: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _file_label(report: funnel.Funnel) -> str:
    label = report.issued.label
    for name, value in report.filters.query().items():
        label += f"-{name}-{value.strip('_')}"
    if report.as_of:  # a snapshot's CSV says when its numbers are from
        label += f"-as-of-{report.as_of.astimezone(dt.UTC):%Y%m%dT%H%MZ}"
    return label


LONG_HEADER = ["group", "step", "n", "reached", "rate", "ci_low", "ci_high", "median_seconds", "p90_seconds"]


def group_value(key: tuple[str, str]) -> str:
    """The CSV's `group`: the value of the page's group-by (the bucket alone when grouped by bucket)."""
    return " × ".join(("not_set" if part == NOT_SET else part) for part in key if part != "*")


def funnel_csv(report: funnel.Funnel) -> StreamingHttpResponse:
    """Long form (SPEC A9): one row per group × step, no total row mixed in; filters narrow the
    rows, `group` stays the group-by's value. `n` is the previous step's testers (the group's
    testers for the first step), `rate` = reached / n with its 95 % Wilson interval."""

    def rows() -> Iterator[list]:
        for row in report.rows:
            if row.is_total:
                continue
            for cell in row.steps:
                interval = cell.rate.interval
                yield [
                    group_value(row.key),
                    cell.step.key,
                    cell.rate.n,
                    cell.reached,
                    _fmt(cell.rate.rate),
                    _fmt(interval.low if interval else None),
                    _fmt(interval.high if interval else None),
                    _fmt(cell.timing.median if cell.step.screen else None, 1),
                    _fmt(cell.timing.p90 if cell.step.screen else None, 1),
                ]

    return _stream_csv(
        f"walkthrough-funnel-{report.by}-issued-{_file_label(report)}.csv", LONG_HEADER, rows()
    )


WEEKS_HEADER = [
    "week",
    "monday",
    "testers",
    "completed_in_window",
    "rate",
    "ci_low",
    "ci_high",
    "window_days",
    "maturing",
]


def weeks_csv(report: funnel.Funnel) -> StreamingHttpResponse:
    """The weekly cohorts, their own CSV: completion within the window, and whether maturing."""

    def rows() -> Iterator[list]:
        for week in report.weeks:
            interval = week.rate.interval
            yield [
                week.label,
                week.monday.isoformat(),
                week.testers,
                week.completed,
                _fmt(week.rate.rate),
                _fmt(interval.low if interval else None),
                _fmt(interval.high if interval else None),
                report.window_days,
                "yes" if week.maturing else "no",
            ]

    return _stream_csv(f"walkthrough-weekly-cohorts-issued-{_file_label(report)}.csv", WEEKS_HEADER, rows())


# ?format=... of the funnel page: what the change log calls it, and the file.
EXPORTS = {
    "csv": ("walkthrough funnel CSV (long form, aggregates)", funnel_csv),
    "weeks": ("walkthrough weekly cohorts CSV (aggregates)", weeks_csv),
}
