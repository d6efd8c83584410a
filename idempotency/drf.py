"""`@idempotent(owner=...)` for DRF view methods that create (SPEC O3), and its schema parts."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from idempotency import services
from idempotency.models import IdempotencyKey

REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=services.KEY_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": services.KEY_MAX_LENGTH,
        "pattern": services.KEY_PATTERN,
    },
    description=(
        "Makes the request safe to retry: within 24 hours the same key with the same body replays "
        "the first answer (with `Idempotent-Replayed: true`) and writes nothing; the same key with "
        "another body is a 409. Keys are per credential. Send a new random value (a UUID) per "
        "new request. docs/api.md."
    ),
)
IDEMPOTENCY_CONFLICT = OpenApiResponse(
    description=(
        "Conflicts with the current state, or the Idempotency-Key was already used for a "
        "different request (the detail names the key)."
    ),
)


def idempotent(*, owner: Callable[[Request], str]):
    """Wrap a view method so an `Idempotency-Key` makes it safe to retry.

    `owner(request)` names the credential the key belongs to. Without the header the method
    runs exactly as before (no query added). With it, the key's claim, the method's writes
    and the stored answer commit together or not at all.
    """

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            raw = request.headers.get(services.KEY_HEADER)
            if raw is None:
                return handler(view, request, *args, **kwargs)
            key = services.key_validate(raw)
            request_hash = services.request_fingerprint(
                method=request.method, path=request.path, data=request.data
            )
            with transaction.atomic():
                claim = services.key_claim(owner=owner(request), key=key, request_hash=request_hash)
                if isinstance(claim, IdempotencyKey):
                    replay = Response(claim.response_body, status=claim.status_code)
                    replay[REPLAYED_HEADER] = "true"
                    return replay
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    # A 4xx is this request's answer and is kept like a success; anything the
                    # handler cannot answer propagates and rolls the claim back.
                    response = view.handle_exception(exc)
                if response.status_code >= 500:
                    transaction.set_rollback(True)  # keep nothing: the retry runs again
                    return response
                services.key_complete(key_id=claim, status_code=response.status_code, body=response.data)
                return response

        return wrapper

    return decorate


def idempotent_write(*, owner: Callable[[Request], str], summary: str, request, responses: dict):
    """A write's whole declaration: `@idempotent` and its OpenAPI operation (the key header,
    the 409), so no write documents the key without honouring it, or the other way round."""

    def decorate(handler):
        schema = extend_schema(
            summary=summary,
            request=request,
            parameters=[IDEMPOTENCY_KEY_PARAMETER],
            responses={**responses, 409: IDEMPOTENCY_CONFLICT},
        )
        return schema(idempotent(owner=owner)(handler))

    return decorate
