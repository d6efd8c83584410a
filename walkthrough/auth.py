"""Tester authentication (SPEC W1): `Authorization: Bearer <token>`, HMAC-SHA256 at rest.

Every outcome that is not a known, current token (missing header, malformed, unknown,
revoked by re-issue) answers the same 401 body, and takes the same path to get there: the
HMAC is always computed and the one indexed lookup always runs. Failures are counted per
client address (see AuthFailureThrottle); past the `walkthrough_auth_failure` rate a failure
answers 429, while a valid token always passes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from walkthrough.models import Progress, Tester

logger = logging.getLogger(__name__)

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
    """Counts *failed* token attempts per client address in fixed windows (SPEC W1, issue 12).

    Only failures are counted and only failures are refused: a valid token always passes,
    even from an address over the limit, because a token carries 256 random bits and refusing
    it buys no safety, while one careless client behind a shared address (Heroku's router with
    NUM_PROXIES=0) would otherwise lock every tester out. Past the limit a failure answers 429
    instead of 401 until the window ends. The count is one atomic cache increment per failure,
    so concurrent guesses cannot slip past the limit between a read and a write. A valid token
    costs no cache call at all. The address is REMOTE_ADDR, or the hop NUM_PROXIES back in
    X-Forwarded-For, so a client cannot pick its own identity.

    If the cache is unreachable the throttle fails open (logs an error, answers 401): an outage
    of Redis must not turn every walkthrough request into a 500 (issue 12 item 2).
    """

    scope = "walkthrough_auth_failure"

    def _key(self, request) -> str:
        self.now = self.timer()
        self.window = int(self.now // self.duration)
        ident = f"{self.get_ident(request)}:{self.window}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def attempt(self, request) -> bool:
        """Count one failure; False when the address is now over the limit for this window."""
        self.key = self._key(request)
        try:
            try:
                count = self.cache.incr(self.key)
            except ValueError:
                # The window's first failure creates the key; of two racing creators, the one
                # whose add() loses increments what the other created.
                created = self.cache.add(self.key, 1, self.duration + 1)
                count = 1 if created else self.cache.incr(self.key)
        except Exception:
            logger.error("walkthrough: failure throttle cache unavailable; not throttling", exc_info=True)
            return True
        return count <= self.num_requests

    def wait(self) -> float:
        return max((self.window + 1) * self.duration - self.now, 1)


class WalkthroughTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        raw = self._raw_token(request)
        # Hash and look up even when the header is missing or malformed: one timing path.
        digest = token_hash(raw or "")
        progress = Progress.objects.filter(token_hash=digest).first()
        if raw is not None and progress is not None and hmac.compare_digest(progress.token_hash, digest):
            return Tester(progress), progress
        throttle = AuthFailureThrottle()
        if not throttle.attempt(request):
            raise exceptions.Throttled(wait=throttle.wait())
        raise exceptions.AuthenticationFailed(UNAUTHORIZED_DETAIL)

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
