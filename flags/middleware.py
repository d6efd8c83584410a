from django.utils.functional import SimpleLazyObject

from flags.store import current_snapshot


class FlagSnapshotMiddleware:
    """Give each request one lazily taken, immutable flag snapshot (SPEC F4)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.flags = SimpleLazyObject(current_snapshot)
        return self.get_response(request)
