"""Tester authentication (SPEC W1): `Authorization: Bearer <token>`, HMAC-SHA256 at rest.

Every outcome that is not a known, current token (missing header, malformed, unknown,
revoked by re-issue) answers the same 401 body, and takes the same path to get there: the
HMAC is always computed and the one indexed lookup always runs. Failures are counted per
client address (see AuthFailureThrottle); past the `walkthrough_auth_failure` rate every
attempt answers 429.
"""

from __future__ import annotations

import contextlib
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
# One body for every failure (SPEC W1); it also names the scheme the routes take (issue 10).
UNAUTHORIZED_DETAIL = (
    'Missing or invalid walkthrough token; send "Authorization: Bearer <walkthrough token>".'
)


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(raw: str) -> str:
    return hmac.new(settings.BETA_TOKEN_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


class AuthFailureThrottle(SimpleRateThrottle):
    """Counts token attempts per client address in fixed windows; successes are handed back.

    Every attempt is counted *before* the token is checked, with an atomic cache increment,
    so concurrent guesses cannot all slip past the limit between a read and a write; a
    valid token then returns its count (successes never count against an address). Past the
    limit every attempt answers 429 until the window ends, valid tokens included: otherwise
    a guesser could keep going and spot a hit by its status. The address is REMOTE_ADDR, or
    the hop NUM_PROXIES back in X-Forwarded-For, so a client cannot pick its own identity.
    """

    scope = "walkthrough_auth_failure"

    def _key(self, request) -> str:
        self.now = self.timer()
        self.window = int(self.now // self.duration)
        ident = f"{self.get_ident(request)}:{self.window}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def attempt(self, request) -> bool:
        """Count one attempt; False when the address is over the limit for this window."""
        self.key = self._key(request)
        # Every authenticated request passes here, so the usual case is one increment; only
        # the window's first attempt creates the key (and of two racing creators, the one
        # whose add() loses increments what the other created).
        try:
            count = self.cache.incr(self.key)
        except ValueError:
            created = self.cache.add(self.key, 1, self.duration + 1)
            count = 1 if created else self.cache.incr(self.key)
        return count <= self.num_requests

    def succeeded(self) -> None:
        """A valid token: take its attempt back."""
        with contextlib.suppress(ValueError):  # the window's key expired meanwhile
            self.cache.decr(self.key)

    def wait(self) -> float:
        return max((self.window + 1) * self.duration - self.now, 1)


class WalkthroughTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        throttle = AuthFailureThrottle()
        if not throttle.attempt(request):
            raise exceptions.Throttled(wait=throttle.wait())
        raw = self._raw_token(request)
        # Hash and look up even when the header is missing or malformed: one timing path.
        digest = token_hash(raw or "")
        progress = Progress.objects.filter(token_hash=digest).first()
        if raw is None or progress is None or not hmac.compare_digest(progress.token_hash, digest):
            raise exceptions.AuthenticationFailed(UNAUTHORIZED_DETAIL)
        throttle.succeeded()
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
