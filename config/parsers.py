"""The project's request parsers (own module: rest_framework.views imports it at class creation)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """A body nested too deeply for the decoder is a 400, not a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
