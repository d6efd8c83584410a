"""The project's URLs plus the two floors the benchmark compares against (never deployed).

- `bench/bare-django`: a plain Django view, the throughput ceiling of this stack.
- `bench/bare-drf-tester`: a DRF view with the walkthrough's token authentication and nothing
  else, the floor of a screen GET (same auth query, no scenario work).
"""

from django.http import HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns
from walkthrough.auth import IsWalkthroughTester, WalkthroughTokenAuthentication


def bare_django(request):
    return HttpResponse(b'{"ok": true}', content_type="application/json")


class BareTesterView(APIView):
    authentication_classes = [WalkthroughTokenAuthentication]
    permission_classes = [IsWalkthroughTester]
    throttle_classes: list = []

    def get(self, request):
        return Response({"screen": "2"})


urlpatterns = [
    path("bench/bare-django", bare_django),
    path("bench/bare-drf-tester", BareTesterView.as_view()),
    *project_urlpatterns,
]
