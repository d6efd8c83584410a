"""Domain errors: a business rule said no. Services raise them; config.api maps them to JSON."""

from __future__ import annotations

# One body for every 404: a hidden row, another user's row, a flag-off route and an unknown
# URL must be indistinguishable (SPEC F5, J5).
NOT_FOUND_BODY = {"detail": "Not found."}


class DomainError(Exception):
    """A business rule said no; services raise these and the handler maps them to a status."""

    status_code = 400

    def __init__(self, detail: str | dict | list):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class RuleViolation(DomainError):
    """Bad input that only the domain can judge (400). `detail` may be a field→messages dict."""


class NotFoundError(DomainError):
    status_code = 404

    def __init__(self, detail: str = "Not found."):
        super().__init__(NOT_FOUND_BODY["detail"])


class ConflictError(DomainError):
    """The request is well-formed but clashes with the current state (409)."""

    status_code = 409
