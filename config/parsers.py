"""The project's request parsers (own module: rest_framework.views imports it at class creation)."""

from django.conf import settings
from rest_framework import exceptions, parsers


def _depth_exceeds(value, limit: int) -> bool:
    """True when lists/objects nest deeper than `limit` (iterative: no recursion of our own)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """JSON bodies nested deeper than API_MAX_JSON_DEPTH are a 400 (docs/reliability.md).

    The decoder's own RecursionError (about 1,000 levels) is a 400 too, never a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_DEPTH
        message = f"JSON parse error - the body is nested too deeply (at most {limit} levels)."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(message) from None
        if _depth_exceeds(data, limit):
            raise exceptions.ParseError(message)
        return data
