"""A tiny URLconf for the flag-gate tests: one DRF view and one plain view behind flags."""

from django.http import JsonResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from flags.permissions import FlagGateMixin, flag_required, require_flag


class GatedView(FlagGateMixin, APIView):
    permission_classes = [flag_required("FLAG_SENTIMENT_JOURNAL"), IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


@require_flag("FLAG_STRATEGY_TEMPLATES_V2")
def plain_view(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("gated/", GatedView.as_view()), path("plain/", plain_view)]
handler404 = "config.api.json_not_found"
