"""Request/response hardening for the API (docs/reliability.md).

Only `/api/` is touched here: the admin keeps Django's own limits and caching rules.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.http import JsonResponse
from rest_framework.exceptions import APIException

API_PREFIX = "/api/"
# Public, credential-free documents: caching them is harmless and useful.
PUBLIC_API_PATHS = ("/api/schema/", "/api/docs/")


def too_large_response(limit: int) -> JsonResponse:
    return JsonResponse(
        {"detail": f"Request body too large: send at most {limit} bytes ({limit // 1024} KiB)."},
        status=413,
    )


class BodyTooLarge(APIException):
    """Raised by BoundedStream once a body passes the cap; DRF answers it as a JSON 413."""

    status_code = 413

    def __init__(self):
        limit = settings.API_MAX_BODY_BYTES
        super().__init__(f"Request body too large: send at most {limit} bytes ({limit // 1024} KiB).")


class BoundedStream(io.RawIOBase):
    """Reads at most `limit` bytes from `stream`; one byte more raises BodyTooLarge.

    For bodies whose size is not declared up front (chunked transfer, or a server that passes
    the stream through): nothing past the cap is ever buffered.
    """

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, reader, size: int | None) -> bytes:
        # Never ask for more than one byte past the cap, whatever the caller wants.
        room = self._limit + 1 - self._read
        size = room if size is None or size < 0 else min(size, room)
        chunk = reader(size) if size > 0 else b""
        self._read += len(chunk)
        if self._read > self._limit:
            raise BodyTooLarge
        return chunk


class APIBodyLimitMiddleware:
    """SPEC 0 "request bodies are capped": API_MAX_BODY_BYTES on every /api/ request.

    DRF reads the request stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies
    to the JSON API. A declared Content-Length over the cap is refused before a byte is read;
    any other body is read through BoundedStream.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        limit = settings.API_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return too_large_response(limit)
        if hasattr(request, "_stream"):
            request._stream = BoundedStream(request._stream, limit)
        return self.get_response(request)

    def process_exception(self, request, exception):
        # A plain Django view under /api/ that read past the cap: the same 413, not a 500.
        if isinstance(exception, BodyTooLarge):
            return too_large_response(settings.API_MAX_BODY_BYTES)
        return None


class APIHeadersMiddleware:
    """`Cache-Control: no-store` on API answers; `Permissions-Policy` on every response.

    Every /api/ route except the public schema and docs answers per user (the single-label GET
    carries the private note), so no shared or browser cache may keep a copy (SPEC 0).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX) and not request.path.startswith(PUBLIC_API_PATHS):
            response["Cache-Control"] = "no-store"
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
