"""API plumbing: the JSON exception handler that maps domain errors to statuses (SPEC 0)."""

from __future__ import annotations

import logging
import random
import re

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError as DatabaseUnavailable
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# The domain errors live on the ground floor (core/), so every app can raise them; they are
# re-exported here beside the handler that maps them to statuses.
from core.errors import NOT_FOUND_BODY, ConflictError, DomainError, NotFoundError, RuleViolation

logger = logging.getLogger(__name__)

# A dependency that is down or timing out: the client should retry, not see a 500.
DEPENDENCY_ERRORS = (
    DatabaseUnavailable,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,19}")


def retry_after_seconds() -> int:
    """A 503's Retry-After: RETRY_AFTER_SECONDS to twice that, jittered (settings)."""
    base = settings.RETRY_AFTER_SECONDS
    return random.randint(base, 2 * base)  # noqa: S311 - spreading retries, not a secret


def exception_handler(exc, context):
    if isinstance(exc, DEPENDENCY_ERRORS):
        logger.error("API: a dependency is unavailable: %r", exc, exc_info=exc)
        response = Response(
            {"detail": "Service temporarily unavailable. Retry in a moment (see Retry-After)."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(retry_after_seconds())
        return response
    if isinstance(exc, DomainError):
        body = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        if isinstance(exc.detail, list):
            body = {"detail": exc.detail}
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(dict(NOT_FOUND_BODY), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.NotAuthenticated):
        exc = _wrong_scheme(exc, context) or exc
    return drf_exception_handler(exc, context)


def _wrong_scheme(exc, context) -> exceptions.NotAuthenticated | None:
    """A credential in a scheme the route does not take says which scheme it takes.

    DRF authenticators skip an Authorization header in another scheme, so the request looks
    anonymous and DRF says "credentials were not provided", which misleads a client that sent
    a valid key as `Bearer`. The schemes come from the view's own authenticators, so the hint
    follows whatever a route is configured with.
    """
    request, view = context.get("request"), context.get("view")
    if request is None or view is None:
        return None
    sent = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0].strip()
    if not sent:
        return None
    takes = []
    for authenticator in view.get_authenticators():
        header = authenticator.authenticate_header(request)
        if header:
            takes.append(header.split(" ", 1)[0])
    if not takes or sent.lower() in {scheme.lower() for scheme in takes}:
        return None
    schemes = " or ".join(f'"Authorization: {scheme} <credential>"' for scheme in takes)
    # Echo the scheme word only when it is a plain token; never any part of the credential.
    named = f'the "{sent}" scheme' if SCHEME_RE.fullmatch(sent) else "that scheme"
    hint = exceptions.NotAuthenticated(f"This route does not take {named}; send {schemes}.")
    hint.auth_header = getattr(exc, "auth_header", None)  # WWW-Authenticate, set by APIView
    hint.status_code = exc.status_code
    return hint


def json_not_found(request, exception=None):
    """handler404: unknown URLs answer the same JSON body as a hidden route."""
    return JsonResponse(NOT_FOUND_BODY, status=404)


# Errors raised outside DRF (a bad Host header, a CSRF or permission failure in plain Django
# code, an unhandled exception) keep the API's JSON shape; the admin keeps Django's pages.


def _is_admin(request) -> bool:
    return request.path.startswith("/admin/")


def json_bad_request(request, exception=None):
    if _is_admin(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": "Bad request."}, status=400)


def json_permission_denied(request, exception=None):
    if _is_admin(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


def json_server_error(request):
    if _is_admin(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Server error."}, status=500)


__all__ = [
    "NOT_FOUND_BODY",
    "ConflictError",
    "DomainError",
    "NotFoundError",
    "RuleViolation",
    "exception_handler",
]
