from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.metrics import metrics_view
from config.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/walkthrough/", include("walkthrough.urls")),
    path("api/", include("journal.urls")),
]

handler400 = "config.api.json_bad_request"
handler403 = "config.api.json_permission_denied"
handler404 = "config.api.json_not_found"
handler500 = "config.api.json_server_error"
