"""API abuse limits (SPEC W1, P5): fixed-window counters in the shared cache.

- Failed credentials per client address: walkthrough tokens (walkthrough/auth.py) and API keys
  (accounts/auth.py). Only failures are counted and only failures are refused: a valid
  credential always passes, because refusing it buys no safety while one careless client
  behind a shared address would otherwise lock everyone out.
- Authenticated writes per credential (SPEC P5): per API key, per walkthrough tester, per
  session user. Reads are never limited here.

A count is one atomic cache increment, so concurrent requests cannot slip past the limit between
a read and a write; windows are fixed (`Retry-After` is the time to the next one). If the cache
is unreachable the counters fail open and log an error: a Redis outage must not turn requests
into 500s (docs/reliability.md, outages).
"""

from __future__ import annotations

import logging

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class FixedWindowThrottle(SimpleRateThrottle):
    """One counter per (scope, identity, window); `attempt` counts and says whether it is allowed."""

    def get_rate(self) -> str:
        # The live setting, not DRF's import-time copy: tests and `settings` overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def _key(self, ident: str) -> str:
        self.now = self.timer()
        self.window = int(self.now // self.duration)
        return self.cache_format % {"scope": self.scope, "ident": f"{ident}:{self.window}"}

    def count(self, ident: str) -> bool:
        """Count one event for `ident`; False when it is over the limit for this window."""
        self.key = self._key(ident)
        try:
            try:
                count = self.cache.incr(self.key)
            except ValueError:
                # The window's first event creates the key; of two racing creators, the one
                # whose add() loses increments what the other created.
                created = self.cache.add(self.key, 1, self.duration + 1)
                count = 1 if created else self.cache.incr(self.key)
        except Exception:
            logger.error("%s: throttle cache unavailable; not throttling", self.scope, exc_info=True)
            return True
        return count <= self.num_requests

    def wait(self) -> float:
        return max((self.window + 1) * self.duration - self.now, 1)


class FailureThrottle(FixedWindowThrottle):
    """Failed credential attempts per client address; the authenticator calls `attempt`.

    The address is REMOTE_ADDR, or the hop NUM_PROXIES back in X-Forwarded-For, so a client
    cannot pick its own identity. A valid credential costs no cache call at all.
    """

    def attempt(self, request) -> bool:
        return self.count(self.get_ident(request))


class APIKeyFailureThrottle(FailureThrottle):
    """Failed `Authorization: Token` attempts per address (SPEC P5, like SPEC W1)."""

    scope = "api_key_failure"


class WriteRateThrottle(FixedWindowThrottle):
    """Authenticated writes (POST, PUT, PATCH, DELETE) per credential (SPEC P5).

    The identity is the credential the request authenticated with: an API key (its stored
    digest), a walkthrough tester (their progress row) or, for a session, the user. Each API
    key of one user counts on its own; a tester has one token at a time.
    """

    scope = "api_write"
    tester_scope = "walkthrough_write"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        auth, user = request.auth, request.user
        meta = getattr(auth, "_meta", None)
        if meta is not None and meta.label_lower == "walkthrough.progress":
            scope, ident = self.tester_scope, f"tester:{auth.pk}"
        elif meta is not None:
            scope, ident = self.scope, f"{meta.label_lower}:{auth.pk}"
        elif getattr(user, "is_authenticated", False):
            scope, ident = self.scope, f"user:{user.pk}"
        else:
            return True  # anonymous requests are refused by authentication, not counted here
        self.scope = scope
        # Read per request (not the import-time copy): the rate depends on who is writing.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return self.count(ident)
