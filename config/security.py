"""Helpers that settings name by dotted path (django-axes)."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """The client address every throttle uses: REMOTE_ADDR, or the hop NUM_PROXIES back."""
    return BaseThrottle().get_ident(request)
