"""Idempotency keys (SPEC O3): claim a key for a request, replay an earlier answer, purge.

A client that may retry a POST sends `Idempotency-Key: <its own unique value>`. The first
request with a key claims it and runs; its answer (any status below 500) is stored with the
key in the same transaction as the request's writes. Within KEY_TTL the same key with the
same method, path and body replays that answer and writes nothing; with anything else it is
a 409 naming the key. A 5xx answer keeps nothing, so the retry runs again. docs/api.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from core.errors import ConflictError, RuleViolation
from idempotency.models import IdempotencyKey

KEY_HEADER = "Idempotency-Key"
KEY_TTL = dt.timedelta(hours=24)
KEY_MAX_LENGTH = 255
# Visible ASCII only: a key is echoed in a 409 and must stay one plain header value.
KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)

_CLAIM_SQL = (
    f"INSERT INTO {IdempotencyKey._meta.db_table} (owner, idempotency_key, request_hash, created_at) "  # noqa: S608
    "VALUES (%s, %s, %s, %s) ON CONFLICT (owner, idempotency_key) DO NOTHING RETURNING id"
)


def key_validate(raw: str) -> str:
    if not _KEY_RE.fullmatch(raw):
        raise RuleViolation(
            {KEY_HEADER: [f"Send 1 to {KEY_MAX_LENGTH} visible ASCII characters (a UUID is a good key)."]}
        )
    return raw


def request_fingerprint(*, method: str, path: str, data: object) -> str:
    """SHA-256 of what makes two requests "the same": method, path and the JSON body's value
    (key order and whitespace do not count)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


def key_claim(
    *, owner: str, key: str, request_hash: str, now: dt.datetime | None = None
) -> int | IdempotencyKey:
    """The new key's id when this request is the first with it, else the earlier request's row.

    Must run inside the request's transaction. On PostgreSQL a concurrent first request
    holding the same key makes the INSERT wait until it commits (its row is then replayed) or
    rolls back (this request claims the key). A different body under the key is a 409.
    """
    now = now or timezone.now()
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [owner, key, request_hash, now])
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        earlier = IdempotencyKey.objects.filter(owner=owner, idempotency_key=key).first()
        expired = now - KEY_TTL
        if earlier is None or earlier.created_at <= expired:
            # Gone since (purged), or past its 24 hours and not yet purged: free again.
            IdempotencyKey.objects.filter(owner=owner, idempotency_key=key, created_at__lte=expired).delete()
            continue
        if earlier.request_hash != request_hash:
            raise ConflictError(
                f'Idempotency-Key "{key}" was already used for another request (a different method, '
                "path or body) in the last 24 hours; send a new key for a new request."
            )
        return earlier
    raise ConflictError(f'Idempotency-Key "{key}" is in use by another request; retry in a moment.')


def key_complete(*, key_id: int, status_code: int, body: object) -> None:
    """Store the answer the claiming request gave (inside the same transaction)."""
    IdempotencyKey.objects.filter(pk=key_id).update(status_code=status_code, response_body=body)


def keys_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete keys past KEY_TTL (beat, hourly); returns how many."""
    cutoff = (now or timezone.now()) - KEY_TTL
    with transaction.atomic():
        deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
