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

from config.throttling import FailureThrottle
from walkthrough.models import Progress, Tester

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "wt_"
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-].
TOKEN_RE = re.compile(r"^wt_[A-Za-z0-9_-]{43}$")
# One body for every failure (SPEC W1); it also names the scheme the routes take.
UNAUTHORIZED_DETAIL = (
    'Missing or invalid walkthrough token; send "Authorization: Bearer <walkthrough token>".'
)


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(raw: str) -> str:
    return hmac.new(settings.BETA_TOKEN_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


class AuthFailureThrottle(FailureThrottle):
    """Failed walkthrough-token attempts per client address (SPEC W1; config/throttling.py).

    Only failures are counted and refused: a token carries 256 random bits, so refusing a valid
    one buys no safety, while one careless client behind a shared address (Heroku's router with
    NUM_PROXIES=0) would otherwise lock every tester out. Past the limit a failure answers 429
    instead of 401 until the window ends.
    """

    scope = "walkthrough_auth_failure"


class WalkthroughTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        raw = self._raw_token(request)
        # Hash and look up even when the header is missing or malformed: one timing path.
        digest = token_hash(raw or "")
        progress = self.lookup(request, digest)
        if raw is not None and progress is not None and hmac.compare_digest(progress.token_hash, digest):
            return Tester(progress), progress
        throttle = AuthFailureThrottle()
        if not throttle.attempt(request):
            raise exceptions.Throttled(wait=throttle.wait())
        raise exceptions.AuthenticationFailed(UNAUTHORIZED_DETAIL)

    @staticmethod
    def lookup(request, digest: str) -> Progress | None:
        """The one indexed lookup, made whatever the header held. A view that reads the
        tester's latest trade anyway (screen 4, `reads_latest_trade = True`: its budget is 1.5x
        a bare view) gets it in the same statement. A view attribute rather than a second
        authentication class: the schema has one walkthrough scheme."""
        view = (request.parser_context or {}).get("view")
        if getattr(view, "reads_latest_trade", False):
            return Progress.objects.with_latest_trade(digest)
        return Progress.objects.filter(token_hash=digest).first()

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
