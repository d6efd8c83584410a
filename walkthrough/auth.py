"""Tester authentication (SPEC W1): `Authorization: Bearer <token>`, HMAC-SHA256 at rest.

Every outcome that is not a known, current token (missing header, malformed, unknown,
revoked by re-issue) answers the same 401 body, and takes the same path to get there: the
HMAC is always computed and the one indexed lookup always runs. Failures are counted per
client address; past the `walkthrough_auth_failure` rate every attempt answers 429.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from walkthrough.models import Progress, Tester

TOKEN_PREFIX = "wt_"
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-].
TOKEN_RE = re.compile(r"^wt_[A-Za-z0-9_-]{43}$")
UNAUTHORIZED_DETAIL = "Missing or invalid walkthrough token."


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(raw: str) -> str:
    return hmac.new(settings.BETA_TOKEN_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


class AuthFailureThrottle(SimpleRateThrottle):
    """Counts failed token attempts per client address; successes are never recorded."""

    scope = "walkthrough_auth_failure"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _load(self, request) -> None:
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def blocked(self, request) -> bool:
        self._load(request)
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class WalkthroughTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        throttle = AuthFailureThrottle()
        if throttle.blocked(request):
            raise exceptions.Throttled(wait=throttle.wait())
        raw = self._raw_token(request)
        # Hash and look up even when the header is missing or malformed: one timing path.
        digest = token_hash(raw or "")
        progress = Progress.objects.filter(token_hash=digest).first()
        if raw is None or progress is None or not hmac.compare_digest(progress.token_hash, digest):
            throttle.record_failure(request)
            raise exceptions.AuthenticationFailed(UNAUTHORIZED_DETAIL)
        return Tester(progress), progress

    def _raw_token(self, request) -> str | None:
        try:
            header = get_authorization_header(request).decode("ascii")
        except UnicodeDecodeError:
            return None
        parts = header.split(" ")
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower() or not TOKEN_RE.match(parts[1]):
            return None
        return parts[1]

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="walkthrough"'


class IsWalkthroughTester(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Progress)


class WalkthroughTokenScheme(OpenApiAuthenticationExtension):
    target_class = "walkthrough.auth.WalkthroughTokenAuthentication"
    name = "walkthroughBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Walkthrough tester token (SPEC W1)."}
