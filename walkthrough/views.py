"""Walkthrough screens (SPEC W3–W9): thin views over scenarios (data) and services (rules).

The scenario is resolved on every request from the request's flag snapshot (SPEC W5), so a
kill switch on FLAG_WALKTHROUGH_PERSONA_ROUTING applies to the very next request.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.throttling import WriteRateThrottle
from core.errors import ConflictError
from flags.permissions import FlagGateMixin, flag_required
from flags.store import flag_value, is_enabled
from idempotency.drf import IDEMPOTENCY_KEY_PARAMETER, idempotent
from walkthrough import scenarios, screens, services
from walkthrough import serializers as s
from walkthrough.auth import IsWalkthroughTester, WalkthroughTokenAuthentication
from walkthrough.models import Progress, Screen

ROUTING = scenarios.ROUTING_FLAG
SELF_SELECT = "FLAG_BETA_WALKTHROUGH_SELF_SELECT"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=OpenApiTypes.OBJECT, description=description)


ERRORS = {
    401: _error("Missing, malformed, unknown or revoked token (one body for all)."),
    429: _error("Too many failed token attempts from this address, or too many writes by this tester."),
}
WRITE_ERRORS = {
    **ERRORS,
    400: _error("Bad input: field errors; rule errors name the rule and the leg."),
    409: _error(
        "Conflicts with the current state: a POST ahead of the next step (`next_screen`), door answers "
        "after the first trade, or a trade on another route or strategy than served now "
        "(`builder_route`)."
    ),
}
# The trade POSTs also take an Idempotency-Key (SPEC O3).
TRADE_ERRORS = {
    **WRITE_ERRORS,
    409: _error(
        "Conflicts with the current state (a POST ahead of the next step, or a trade on another route "
        "or strategy than served now: `builder_route`), or the Idempotency-Key was already used for "
        "a different request (the detail names the key)."
    ),
}

# A route of the self-select flag: while it is off, the answer of an unknown URL (SPEC F5).
FLAG_OFF = {404: _error("Not found.")}


def _tester_key_owner(request) -> str:
    return f"tester:{request.auth.pk}"


def _continue_schema(summary: str):
    """A read screen's POST `{}` (screens 2 and 4): the tester moves on to the next screen."""
    return extend_schema(
        request=s.EmptyRequestSerializer,
        responses={200: s.ProgressSummarySerializer, **WRITE_ERRORS},
        summary=summary,
    )


class TesterView(APIView):
    """Base for every walkthrough screen: Bearer-token testers only, the row is `request.auth`."""

    authentication_classes = [WalkthroughTokenAuthentication]
    permission_classes = [IsWalkthroughTester]
    # Failed tokens are throttled inside the authenticator (SPEC W1); a tester's writes here (P5).
    throttle_classes = [WriteRateThrottle]

    @property
    def progress(self) -> Progress:
        return self.request.auth

    def resolution(self) -> scenarios.Resolution:
        return self.resolution_for(self.progress)

    def flags(self) -> scenarios.Flags:
        # R may be rolled out to a share of testers (SPEC F8): the arm is decided per tester.
        routing = flag_value(ROUTING, request=self.request)
        return scenarios.Flags(
            routing=routing.enabled,
            self_select=is_enabled(SELF_SELECT, request=self.request),
            routing_percent=routing.percent,
        )

    def summary(self, progress: Progress | None = None) -> dict:
        progress = progress or self.progress
        position = services.walkthrough_position(progress=progress, flags=self.flags())
        served = position.served
        data = {
            "tester_email": progress.tester_email,
            "track": progress.track,
            "intent_bucket": progress.intent_bucket,
            "current_screen": progress.current_screen,
            "created_at": progress.created_at,
            "updated_at": progress.updated_at,
            "completed_at": progress.completed_at,
            "scenario": served.scenario,
            "strategy_type": served.strategy_type,
            "builder_route": served.builder_route,
            "paper_trades": progress.paper_trades.count(),
            "survey_submitted": progress.survey_answers.exists(),
            # SPEC W9/W13: once the survey is in, the walkthrough is complete: nothing is next.
            "next_screen": None if progress.completed else position.next_screen,
            "completed": progress.completed,
            "copy_version": scenarios.copy_version(),
        }
        return s.ProgressSummarySerializer(data).data

    def resolution_for(self, progress: Progress) -> scenarios.Resolution:
        return services.served_for(progress=progress, flags=self.flags())

    def scenario_screen(self, screen: str, *, builder: bool) -> dict:
        return screens.scenario_screen(self.resolution(), screen, builder=builder)

    def continue_screen(self, request, screen: int) -> Response:
        """POST `{}` on a read screen (2 or 4): the tester moves on."""
        s.EmptyRequestSerializer(data=request.data).is_valid(raise_exception=True)
        progress = services.screen_continue(progress=self.progress, screen=screen, flags=self.flags())
        return Response(self.summary(progress))

    @idempotent(owner=_tester_key_owner)
    def create_trade(self, request, route: str) -> Response:
        body = s.TradeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The scenario is resolved inside the service, under the progress row lock (SPEC W13).
        trade = services.paper_trade_create(
            progress=self.progress,
            route=route,
            strategy_type=body.validated_data["strategy_type"],
            legs=[dict(leg) for leg in body.validated_data["legs"]],
            flags=self.flags(),
        )
        return Response(s.PaperTradeSerializer(trade).data, status=status.HTTP_201_CREATED)


class SummaryView(TesterView):
    @extend_schema(responses={200: s.ProgressSummarySerializer, **ERRORS}, summary="Progress summary")
    def get(self, request):
        return Response(self.summary())


class DoorScreenView(TesterView):
    @extend_schema(responses={200: s.DoorScreenSerializer, **ERRORS}, summary="Screen 1: door")
    def get(self, request):
        return Response(screens.door_screen(self.progress))

    @extend_schema(
        request=s.DoorRequestSerializer,
        responses={200: s.ProgressSummarySerializer, **WRITE_ERRORS},
        summary="Screen 1: answer the persona questions (full) or choose a bucket (self_select)",
    )
    def post(self, request):
        body = s.DoorRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        progress = services.door_answer(
            progress=self.progress,
            answers=body.validated_data.get("answers"),
            intent_bucket=body.validated_data.get("intent_bucket"),
            flags=self.flags(),
        )
        return Response(self.summary(progress))


class ScenarioScreenView(TesterView):
    """Screen 2: the scenario introduction (with the inline guide where the matrix says so)."""

    @extend_schema(responses={200: s.ScenarioScreenSerializer, **ERRORS}, summary="Screen 2: scenario")
    def get(self, request):
        return Response(self.scenario_screen(str(Screen.SCENARIO), builder=False))

    @_continue_schema("Screen 2: continue")
    def post(self, request):
        return self.continue_screen(request, Screen.SCENARIO)


class BuilderScreenView(TesterView):
    """Screen 3: the builder of the scenario served now."""

    screen = str(Screen.BUILDER)
    route = scenarios.BUILDER_SCREEN_3

    @extend_schema(responses={200: s.ScenarioScreenSerializer, **ERRORS}, summary="Screen 3: trade builder")
    def get(self, request):
        return Response(self.scenario_screen(self.screen, builder=True))

    @extend_schema(
        request=s.TradeRequestSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.PaperTradeSerializer, **TRADE_ERRORS},
        summary="Screen 3: fill the paper trade",
    )
    def post(self, request):
        return self.create_trade(request, self.route)


class SimpleBuilderView(FlagGateMixin, BuilderScreenView):
    """/screen/simple/1: 404 while S is off; the vertical-spread builder for the directional row."""

    screen = "simple/1"
    route = scenarios.BUILDER_SIMPLE_1
    permission_classes = [flag_required(SELF_SELECT), IsWalkthroughTester]

    def resolution(self) -> scenarios.Resolution:
        return scenarios.resolve_simple_builder(super().resolution())

    @extend_schema(
        responses={200: s.ScenarioScreenSerializer, **FLAG_OFF, **ERRORS}, summary="Simple builder"
    )
    def get(self, request):
        return super().get(request)

    @extend_schema(
        request=s.TradeRequestSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.PaperTradeSerializer, **FLAG_OFF, **TRADE_ERRORS},
        summary="Simple builder: fill the paper trade",
    )
    def post(self, request):
        return super().post(request)


class ReviewScreenView(TesterView):
    # The token lookup also reads the latest trade: one query for the whole GET.
    reads_latest_trade = True

    @extend_schema(
        responses={200: s.ReviewScreenSerializer, 409: _error("No paper trade filled yet."), **ERRORS},
        summary="Screen 4: review the filled trade",
    )
    def get(self, request):
        trade = services.latest_trade(progress=self.progress)
        served = self.resolution()
        if trade is None:
            position = services.walkthrough_position(progress=self.progress, flags=self.flags())
            raise ConflictError(
                {
                    "detail": "No paper trade to review yet: carry on at next_screen.",
                    "next_screen": position.next_screen,
                }
            )
        return Response(screens.review_screen(served, trade))

    @_continue_schema("Screen 4: continue")
    def post(self, request):
        return self.continue_screen(request, Screen.REVIEW)


class SurveyScreenView(TesterView):
    @extend_schema(responses={200: s.SurveyScreenSerializer, **ERRORS}, summary="Screen 5: survey")
    def get(self, request):
        progress = self.progress
        return Response(screens.survey_screen(progress, services.survey_answers(progress=progress)))

    @extend_schema(
        request=s.SurveyRequestSerializer,
        responses={201: s.SurveyResultSerializer, 200: s.SurveyResultSerializer, **WRITE_ERRORS},
        summary="Screen 5: submit the survey (idempotent)",
    )
    def post(self, request):
        body = s.SurveyRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answers, created = services.survey_submit(
            progress=self.progress, answers=body.validated_data["answers"], flags=self.flags()
        )
        progress = Progress.objects.get(pk=self.progress.pk)
        result = s.SurveyResultSerializer({"answers": answers, "completed_at": progress.completed_at}).data
        return Response(result, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
