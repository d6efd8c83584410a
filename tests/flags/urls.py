"""A tiny URLconf for the flag-gate tests: one DRF view behind a flag."""

from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from flags.permissions import FlagGateMixin, flag_required


class GatedView(FlagGateMixin, APIView):
    permission_classes = [flag_required("FLAG_SENTIMENT_JOURNAL"), IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("gated/", GatedView.as_view())]
handler404 = "config.api.json_not_found"
