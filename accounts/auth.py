"""API keys for the journal (SPEC 0: credentials only as digests): django-rest-knox underneath.

`Authorization: Token <key>` is unchanged for clients. Knox stores a SHA-512 digest and the
key's first 15 characters (the lookup prefix), never the key; keys expire after
API_KEY_TTL_DAYS and are revoked by deleting their row (admin, `drf_create_token --reset`,
`dsr_delete`).
"""

from __future__ import annotations

import re

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from config.throttling import APIKeyFailureThrottle

# Knox keys are 64 hex characters; keys migrated from DRF's tokens are 40 (0004_i12_api_key_digests).
KEY_RE = re.compile(rb"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
INVALID = "Invalid token."


class APIKeyAuthentication(KnoxTokenAuthentication):
    """Knox's TokenAuthentication, refusing a malformed key before it reaches the database.

    Knox decodes the key as UTF-8 and filters on its prefix: a non-UTF-8 byte would be a 500,
    and a NUL byte is a 500 on PostgreSQL. Anything that is not a key's shape is 'Invalid token.'.
    """

    def authenticate(self, request):
        try:
            return self._authenticate(request)
        except exceptions.AuthenticationFailed:
            # SPEC P5: failures per client address, like walkthrough tokens (SPEC W1); a valid
            # key never reaches this counter, so it always passes.
            throttle = APIKeyFailureThrottle()
            if not throttle.attempt(request):
                raise exceptions.Throttled(wait=throttle.wait()) from None
            raise

    def _authenticate(self, request):
        auth = get_authorization_header(request).split()
        ours = len(auth) == 2 and auth[0].lower() == self.authenticate_header(request).lower().encode()
        if ours and not KEY_RE.match(auth[1]):
            raise exceptions.AuthenticationFailed(INVALID)
        return super().authenticate(request)

    def _cleanup_token(self, auth_token) -> bool:
        # Knox also scans every other key of the user on each request (one more query per
        # request); an expired key is refused and deleted when it is presented, which is enough.
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def authenticate_header(self, request) -> str:
        # The keyword clients send ("Token"); also the WWW-Authenticate value of a 401.
        return "Token"


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.auth.APIKeyAuthentication"
    name = "tokenAuth"  # the name DRF's own TokenAuthentication had: the schema is unchanged
    priority = 1  # ahead of drf-spectacular's contrib extension for knox's base class

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }
