"""Per-handler flag gates (SPEC F5): an OFF flag makes a route answer 404 like an unknown URL."""

from __future__ import annotations

import contextlib
import functools

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from flags.registry import spec
from flags.store import is_enabled


def _declared(name: str) -> None:
    """Raise UnknownFlag at import time for a name the registry does not declare.

    A registry that does not parse at all is left to the system check (flags.E001), which
    names the broken entry; raising here would turn `manage.py check` into a traceback from
    whichever URLconf imported a gate first. Requests still fail: reading a flag raises.
    """
    with contextlib.suppress(ImproperlyConfigured):
        spec(name)


class FlagRequired(BasePermission):
    """Base class; use `flag_required("FLAG_X")` to get one naming its flag."""

    flag_name: str = ""

    def has_permission(self, request, view) -> bool:
        if not is_enabled(self.flag_name, request=request):
            raise NotFound()
        return True


def flag_required(name: str) -> type[FlagRequired]:
    """A DRF permission class for `permission_classes`; pair the view with FlagGateMixin."""
    _declared(name)  # an unknown name fails at import time, not on the first request
    return type(f"FlagRequired_{name}", (FlagRequired,), {"flag_name": name})


class FlagGateMixin:
    """Check FlagRequired permissions before DRF sees the request at all.

    DRF authenticates before it checks permissions, so a gate inside DRF would answer 401 to a
    bad credential where an unknown URL gets 404; and any DRF response carries `Allow` and
    `Vary: Accept`, which an unknown URL's does not. So the view function itself raises
    Django's Http404 while a flag is off: the request takes the unknown URL's path through
    the 404 handler, byte for byte (SPEC F5, ADR 0133 D3). `initial` checks again for code
    that builds the view another way.
    """

    @classmethod
    def gate_flags(cls) -> list[str]:
        return [p.flag_name for p in cls.permission_classes if issubclass(p, FlagRequired)]

    @classmethod
    def as_view(cls, *args, **kwargs):
        view = super().as_view(*args, **kwargs)
        flags = cls.gate_flags()

        @functools.wraps(view)  # keeps csrf_exempt, cls, actions: DRF and the schema need them
        def gated(request, *view_args, **view_kwargs):
            if not all(is_enabled(name, request=request) for name in flags):
                raise Http404()
            return view(request, *view_args, **view_kwargs)

        return gated

    def initial(self, request, *args, **kwargs):
        for permission in self.get_permissions():
            if isinstance(permission, FlagRequired):
                permission.has_permission(request, self)
        super().initial(request, *args, **kwargs)
