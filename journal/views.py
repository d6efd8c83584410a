"""Journal HTTP API (SPEC J1, J2, J4–J8, J11, J12). Thin: parse, call a service, serialise.

Every label route names FLAG_SENTIMENT_JOURNAL in its own permission_classes and mixes in
FlagGateMixin, so an OFF flag answers 404 before authentication, like an unknown URL
(SPEC F5, ADR 0133 D3). Every get_queryset starts from `for_user(request.user)` (SPEC J5).
"""

from __future__ import annotations

import functools

from django.core.paginator import Paginator as DjangoPaginator
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import APIKeyAuthentication as TokenAuthentication
from config.schema import ApiAutoSchema
from core.errors import RuleViolation
from flags.permissions import FlagGateMixin, flag_required
from flags.store import is_enabled
from idempotency.drf import idempotent_write
from journal import export, services, stats
from journal.filters import LIST_PARAMS, BacktestFilter, ExportForm, LabelFilter, StatsFilter
from journal.models import (
    BacktestPageRows,
    LabelTally,
    PaperOrder,
    SentimentTaxonomyVersion,
    TradeSentimentLabel,
)
from journal.serializers import (
    BACKTEST_ROW_COLUMNS,
    LABEL_LIST_COLUMNS,
    BacktestRowSerializer,
    JournalDeletedSerializer,
    JournalExportSerializer,
    LabelCreateSerializer,
    LabelDetailSerializer,
    LabelSerializer,
    LabelUpdateSerializer,
    PaperOrderCloseSerializer,
    PaperOrderSerializer,
    PaperOrderTicketSerializer,
    StatsSerializer,
    TaxonomySerializer,
    backtest_row_items,
    label_list_items,
)

JOURNAL_FLAG = "FLAG_SENTIMENT_JOURNAL"

# Token first: DRF answers 401 (with WWW-Authenticate) rather than 403 to a request without
# credentials only when the first authenticator names a scheme. Sessions still work.
AUTHENTICATION = [TokenAuthentication, SessionAuthentication]

# No flag named and no feature described (SPEC F5): the same words whether the journal is on or off.
NOT_FOUND = OpenApiResponse(description="Not found: missing or someone else's.")
CONFLICT = OpenApiResponse(description="Conflicts with the current state (duplicate, locked, closed).")
BAD_REQUEST = OpenApiResponse(description="Invalid input; field errors.")


def _user_key_owner(request) -> str:
    return f"user:{request.user.pk}"


# The journal's writes: an Idempotency-Key belongs to the user, whatever the credential.
_idempotent_write = functools.partial(idempotent_write, owner=_user_key_owner)


class _CountedPaginator(DjangoPaginator):
    """A Django paginator told its row count instead of running COUNT(*)."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count  # the cached_property's slot


class JournalPagination(PageNumberPagination):
    """DRF's paging, except that an empty `?page=` is an invalid page (404), not page 1.

    A view that already knows how many rows match (the backtest summary has just counted them;
    the unfiltered label list has the user's tally) sets `known_count`, and no COUNT(*) runs.
    """

    known_count: int | None = None

    def django_paginator_class(self, queryset, page_size):
        if self.known_count is None:
            return DjangoPaginator(queryset, page_size)
        return _CountedPaginator(queryset, page_size, count=self.known_count)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise NotFound("Invalid page.")
        return super().get_page_number(request, paginator)


class BacktestPagination(JournalPagination):
    """Page of backtest rows plus a `summary` over every matching row, not just this page."""

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["summary"] = SUMMARY_SCHEMA
        paginated["required"] = [*paginated.get("required", []), "summary"]
        return paginated


# --- Paper orders (SPEC J1): exist whatever the journal flag says ---------------------------


@extend_schema_view(
    list=extend_schema(summary="The user's paper orders, newest first"),
    retrieve=extend_schema(
        summary="One of the user's paper orders", responses={200: PaperOrderSerializer, 404: NOT_FOUND}
    ),
)
class PaperOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticated]
    serializer_class = PaperOrderSerializer
    pagination_class = JournalPagination
    filterset_class = None

    def get_queryset(self):
        return PaperOrder.objects.for_user(self.request.user)

    @_idempotent_write(
        summary="Open a paper order",
        request=PaperOrderTicketSerializer,
        responses={201: PaperOrderSerializer, 400: BAD_REQUEST},
    )
    def create(self, request):
        # SPEC J1: the order ticket's pre_label exists only while the journal is on.
        journal_on = is_enabled(JOURNAL_FLAG, request=request)
        ticket = PaperOrderTicketSerializer(data=request.data, context={"journal_on": journal_on})
        ticket.is_valid(raise_exception=True)
        data = ticket.validated_data
        pre_label = data.get("pre_label") if journal_on else None
        order, _label = services.paper_order_open(
            user=request.user,
            symbol=data["symbol"],
            strategy_type=data["strategy_type"],
            quantity=data["quantity"],
            legs=data["legs"],
            pre_label=pre_label,
        )
        return Response(PaperOrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @_idempotent_write(
        summary="Close an open paper order",
        request=PaperOrderCloseSerializer,
        responses={200: PaperOrderSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def close(self, request, pk: int):
        body = PaperOrderCloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.paper_order_close(
            user=request.user, order_id=pk, realized_pnl=body.validated_data.get("realized_pnl")
        )
        return Response(PaperOrderSerializer(order).data)

    @extend_schema(
        summary="Cancel an open paper order",
        request=None,
        responses={200: PaperOrderSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def cancel(self, request, pk: int):
        order = services.paper_order_cancel(user=request.user, order_id=pk)
        return Response(PaperOrderSerializer(order).data)


# --- Labels (SPEC J4–J7) -----------------------------------------------------------------------


class SentimentLabelViewSet(FlagGateMixin, viewsets.GenericViewSet):
    """`/api/sentiment-labels/` and `/api/sentiment-labels/{id}/`."""

    authentication_classes = AUTHENTICATION
    permission_classes = [flag_required(JOURNAL_FLAG), IsAuthenticated]
    pagination_class = JournalPagination
    filterset_class = LabelFilter

    def get_queryset(self):
        labels = TradeSentimentLabel.objects.for_user(self.request.user)
        if self.action == "retrieve":
            return labels  # the one read that loads journal_note (SPEC J6)
        return labels.without_note()

    def get_serializer_class(self):
        return {
            "retrieve": LabelDetailSerializer,
            "create": LabelCreateSerializer,
            "partial_update": LabelUpdateSerializer,
            "destroy_all": JournalDeletedSerializer,
        }.get(self.action, LabelSerializer)

    @extend_schema(
        summary="The user's labels (journal_note_present, never the note)",
        responses=LabelSerializer(many=True),
    )
    def list(self, request):
        # `.values()` rows, not model instances: LabelSerializer's JSON for a fraction of the
        # cost (journal.serializers.label_list_items).
        rows = self.get_queryset().values(*LABEL_LIST_COLUMNS)
        if set(request.query_params) - set(LIST_PARAMS):
            rows = self.filter_queryset(rows)  # filters, and a 400 for a parameter it does not take
        else:
            # Every label of the user: the trigger-kept tally is that count (journal.models).
            self.paginator.known_count = LabelTally.objects.count_for_user(request.user)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(label_list_items(page))

    @_idempotent_write(
        summary="Label one of the user's trades",
        request=LabelCreateSerializer,
        responses={201: LabelSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def create(self, request):
        body = LabelCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        label = services.label_create(user=request.user, **body.validated_data)
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="One label, including its journal_note",
        responses={200: LabelDetailSerializer, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk: int):
        return Response(LabelDetailSerializer(self.get_object()).data)

    @extend_schema(
        summary="Change a label or its note (post_label locks 24h after the close)",
        request=LabelUpdateSerializer,
        responses={200: LabelSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT},
    )
    def partial_update(self, request, pk: int):
        body = LabelUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        label = services.label_update(user=request.user, label_id=pk, **body.validated_data)
        return Response(LabelSerializer(label).data)

    @extend_schema(summary="Delete one label (the order stays)", responses={204: None, 404: NOT_FOUND})
    def destroy(self, request, pk: int):
        services.label_delete(user=request.user, label_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="sentiment_labels_destroy_all",
        summary="Delete the user's whole journal (paper orders stay)",
        request=None,
        responses={200: JournalDeletedSerializer},
    )
    def destroy_all(self, request):
        # It deletes the whole journal only when asked plainly: `?trade_id=4` must never be
        # read as "delete that one" and then delete everything.
        if request.query_params:
            raise RuleViolation(
                {
                    "detail": (
                        "DELETE /api/sentiment-labels/ deletes the whole journal and takes no query "
                        f"parameters (got: {', '.join(sorted(request.query_params))}). To delete one "
                        "label, DELETE /api/sentiment-labels/{id}/."
                    )
                }
            )
        deleted = services.journal_delete_all(user=request.user)
        return Response({"deleted": deleted})


_GROUP_SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "nullable": True, "description": "Label code; null = not labelled."},
        "trades": {"type": "integer"},
        "closed_trades": {"type": "integer"},
        "realized_pnl": {"type": "string", "format": "decimal", "nullable": True},
    },
    "required": ["label", "trades", "closed_trades", "realized_pnl"],
}
SUMMARY_SCHEMA = {
    "type": "object",
    "description": "Counts and summed realized P&L of the matching trades. Descriptive only.",
    "properties": {
        "trades": {"type": "integer"},
        "closed_trades": {"type": "integer"},
        "realized_pnl": {"type": "string", "format": "decimal", "nullable": True},
        "by_pre_label": {"type": "array", "items": _GROUP_SCHEMA},
        "by_post_label": {"type": "array", "items": _GROUP_SCHEMA},
    },
    "required": ["trades", "closed_trades", "realized_pnl", "by_pre_label", "by_post_label"],
}


class BacktestFilterView(FlagGateMixin, ListAPIView):
    """`GET /api/sentiment-labels/backtest-filter/` (SPEC J8): labels joined to paper orders."""

    authentication_classes = AUTHENTICATION
    permission_classes = [flag_required(JOURNAL_FLAG), IsAuthenticated]
    serializer_class = BacktestRowSerializer
    filterset_class = BacktestFilter
    pagination_class = BacktestPagination

    def get_queryset(self):
        return TradeSentimentLabel.objects.backtest_for_user(self.request.user)

    @extend_schema(summary="Filter the user's labelled trades, with a descriptive summary")
    def get(self, request):
        matching = self.filter_queryset(self.get_queryset())
        # Two statements at any size (SPEC J8): the summary, whose overall count is
        # also the paginator's, and one page.
        summary = matching.backtest_summary()
        self.paginator.known_count = summary["trades"]
        rows = matching.backtest_rows().values(*BACKTEST_ROW_COLUMNS)
        page = self.paginate_queryset(BacktestPageRows(rows, count=summary["trades"]))
        response = self.get_paginated_response(backtest_row_items(page))
        response.data["summary"] = summary
        return response


class SentimentTaxonomyView(FlagGateMixin, GenericAPIView):
    """`GET /api/sentiment-taxonomy/` (SPEC J2): every version's pickers, newest is current."""

    authentication_classes = AUTHENTICATION
    permission_classes = [flag_required(JOURNAL_FLAG), IsAuthenticated]
    serializer_class = TaxonomySerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        # Shared reference data, not per-user rows: every user reads the same pickers.
        return SentimentTaxonomyVersion.objects.order_by("version")

    @extend_schema(summary="Label pickers of every taxonomy version", responses={200: TaxonomySerializer})
    def get(self, request):
        versions = list(self.get_queryset())
        body = {"current_version": versions[-1].version if versions else None, "versions": versions}
        return Response(TaxonomySerializer(body).data)


class FilteredAnswerSchema(ApiAutoSchema):
    """One answer filtered like a list: drf-spectacular documents the filters of lists only."""

    def get_filter_backends(self):
        return getattr(self.view, "filter_backends", [])


class JournalStatsView(FlagGateMixin, GenericAPIView):
    """`GET /api/sentiment-labels/stats/` (SPEC J11): descriptive figures over the user's closed,
    labelled trades, filtered like the backtest filter (journal.stats holds the definitions)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [flag_required(JOURNAL_FLAG), IsAuthenticated]
    serializer_class = StatsSerializer
    filterset_class = StatsFilter
    pagination_class = None
    schema = FilteredAnswerSchema()

    def get_queryset(self):
        return TradeSentimentLabel.objects.backtest_for_user(self.request.user)

    @extend_schema(
        summary="Descriptive statistics of the user's closed, labelled trades",
        responses={200: StatsSerializer, 400: BAD_REQUEST},
    )
    def get(self, request):
        # Three statements at any size: token+user, the taxonomy (the filter's code check and
        # the display text share it), the reduction of the matching trades to group rows.
        taxonomy = list(SentimentTaxonomyVersion.objects.values("version", "pre_labels", "post_labels"))
        filterset = StatsFilter(request.query_params, queryset=self.get_queryset(), request=request)
        filterset.form.taxonomy_rows = taxonomy
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        rows = filterset.qs.stats_group_rows()
        return Response(stats.journal_stats(rows, pickers=stats.pickers_from_rows(taxonomy)))


class FormatIsAParameter(DefaultContentNegotiation):
    """`?format=` is the export's own parameter here, not DRF's renderer override (which would
    answer 404 to `?format=csv`): the export streams its own body, errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class JournalExportView(FlagGateMixin, APIView):
    """`GET /api/sentiment-labels/export/?format=json|csv` (SPEC J12): the owner's own orders,
    labels and notes, streamed as an attachment. Never logged (journal.export)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [flag_required(JOURNAL_FLAG), IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FormatIsAParameter

    @extend_schema(
        summary="Download the user's own paper orders, labels and notes",
        parameters=[
            OpenApiParameter(
                "format", str, enum=list(export.EXPORT_FORMATS), default="json", description="json or csv."
            )
        ],
        responses={
            (200, "application/json"): JournalExportSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One row per label, its order beside it."
            ),
            400: BAD_REQUEST,
        },
    )
    def get(self, request):
        form = ExportForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        export_format = form.cleaned_data["format"] or "json"
        body = export.journal_export(user=request.user, export_format=export_format)
        response = StreamingHttpResponse(body, content_type=export.CONTENT_TYPES[export_format])
        filename = export.export_filename(export_format=export_format, now=timezone.now())
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
