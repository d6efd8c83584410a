"""Idempotency keys (SPEC O3): the first answer to a retried POST, kept for 24 hours."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyKey(models.Model):
    """One client's `Idempotency-Key` and the answer its first request got.

    The row is written in the same transaction as the request's own writes, so it exists
    exactly when they do: a concurrent duplicate waits on the unique index until the first
    request commits (then replays it) or rolls back (then runs itself).
    """

    # The credential the key belongs to: "user:<id>" (API key or session) or "tester:<id>"
    # (walkthrough token). Two credentials never see each other's keys.
    owner = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=255)
    # SHA-256 of the method, the path and the canonical JSON body of the first request.
    request_hash = models.CharField(max_length=64)
    # Empty only inside the first request's own transaction.
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "idempotency_keys"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"], name="idempotency_idempotencykey_unique_owner_key"
            ),
        ]
        indexes = [
            # The beat purge: DELETE ... WHERE created_at < now - 24 h.
            models.Index(fields=["created_at"], name="idempotency_key_created"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.idempotency_key}"
