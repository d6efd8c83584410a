"""API-wide request plumbing (SPEC 0, docs/api.md): one route per path, JSON errors in every mode."""

from __future__ import annotations

import functools
import json

from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, get_resolver

from config.api import json_not_found

API_PREFIX = "/api/"
# Statuses a client must always be able to parse under /api/, whatever DEBUG says.
JSON_STATUSES = {400, 401, 403, 404, 405, 413, 429}
_HEADERS_KEPT = ("Allow", "WWW-Authenticate", "Retry-After")


def _resolves(path: str, urlconf) -> bool:
    return _resolver_matches(get_resolver(urlconf), path)


@functools.lru_cache(maxsize=2048)
def _resolver_matches(resolver, path: str) -> bool:
    """Whether `resolver` (one URLconf: a changed ROOT_URLCONF is another resolver) matches
    `path`. Cached: the answer never changes for a URLconf, and this check ran the whole URL
    resolution a second time on every API request (docs/performance.md). Bounded, so a
    client sending endless distinct paths costs memory for 2048 of them at most."""
    try:
        resolver.resolve(path)
    except Resolver404:
        return False
    return True


class ApiTrailingSlashMiddleware:
    """Every /api/ route answers the same with or without a trailing slash, without a redirect.

    The path is swapped for its twin before URL resolution, so CommonMiddleware never sees
    a miss it would redirect (APPEND_SLASH; in DEBUG a POST there is a RuntimeError, a 500).
    Must run before CommonMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(API_PREFIX) and path != API_PREFIX:
            urlconf = getattr(request, "urlconf", None)
            if not _resolves(path, urlconf):
                twin = path[:-1] if path.endswith("/") else f"{path}/"
                if _resolves(twin, urlconf):
                    request.path_info = twin
                    request.path = request.path[: len(request.path) - len(path)] + twin
        return self.get_response(request)


class ApiJsonErrorsMiddleware:
    """An error under /api/ is JSON in every mode: DEBUG's HTML 404/400 pages, the browsable
    API's HTML errors and the schema view's YAML errors become the API's JSON bodies.

    A 404 always becomes the one unknown-URL body (config.api.json_not_found), so a route
    hidden behind an OFF flag and an unknown URL stay byte-for-byte alike (SPEC F5).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not request.path_info.startswith(API_PREFIX)
            or response.status_code not in JSON_STATUSES
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code == 404:
            replacement = json_not_found(request)
        else:
            replacement = JsonResponse(_detail(response), status=response.status_code)
            for header in _HEADERS_KEPT:
                if header in response:
                    replacement[header] = response[header]
        replacement["Content-Length"] = str(len(replacement.content))
        return replacement


def _detail(response: HttpResponse) -> dict:
    data = getattr(response, "data", None)  # a DRF Response rendered as HTML or YAML
    if isinstance(data, dict):
        return json.loads(json.dumps(data, default=str))
    if isinstance(data, list):
        return {"detail": json.loads(json.dumps(data, default=str))}
    return {"detail": response.reason_phrase + "."}
