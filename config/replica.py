"""The read replica (SPEC O2): analysts' reads go to it, everything else to the primary.

With `DATABASE_REPLICA_URL` set, settings add a `replica` database. A request may read from it
only when all of these hold:

- it is an analyst's read: a GET of a view marked `@analyst_read` (the funnel page and its CSV)
  or of an admin changelist of an analyst app (`ANALYST_APPS`);
- it has written nothing yet (a read after a write in the same request sees that write);
- the primary connection is not inside a transaction (its reads belong to it);
- the replica answers, at most `DATABASE_REPLICA_MAX_LAG_SECONDS` behind (checked once per
  request; the funnel page shows the lag and, when it fell back, why).

Everything else (writes, the API, Celery tasks, management commands) uses the primary, and
without `DATABASE_REPLICA_URL` there is no replica at all.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
# Admin changelists of these apps are analysts' reads (SPEC A4: the Analyst group's apps,
# minus flags: an operator who just changed a flag must see it on the next page).
ANALYST_APPS = frozenset({"walkthrough", "journal"})
# After the replica failed to answer, this process asks the primary for this long before
# trying the replica again, so a dead replica costs one connect timeout, not one per page.
RETRY_AFTER_FAILURE_SECONDS = 10.0

# Replay lag in seconds: 0 when everything received has been replayed (an idle primary is
# not lag); otherwise the age of the last transaction replayed (NULL, unknown, when the
# replica has replayed none since it started).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT NULL
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


@dataclass(frozen=True)
class ReplicaStatus:
    """Where this request's analyst reads went, and why (shown on the funnel page)."""

    alias: str
    lag_seconds: float | None
    reason: str = ""

    @property
    def on_replica(self) -> bool:
        return self.alias == REPLICA

    @property
    def text(self) -> str:
        if self.on_replica:
            return f"Read from the replica: replay lag {self.lag_seconds:.1f} s."
        return f"Read from the primary: {self.reason}."


@dataclass
class _RequestState:
    analyst: bool = False
    wrote: bool = False
    status: ReplicaStatus | None = field(default=None)


_state: ContextVar[_RequestState | None] = ContextVar("replica_request_state", default=None)
_failed_at: float | None = None


def configured() -> bool:
    return REPLICA in connections.settings


def analyst_read(view: Callable) -> Callable:
    """Mark a view (a function or a bound admin method) as an analyst's read: its GETs may be
    answered from the replica. The mark survives `admin_view` and other `wraps` decorators."""

    @functools.wraps(view)
    def marked(*args, **kwargs):
        return view(*args, **kwargs)

    marked.analyst_read = True  # type: ignore[attr-defined]
    return marked


def _measure_lag() -> float | None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(LAG_SQL)
        lag = cursor.fetchone()[0]
        return None if lag is None else float(lag)


def _check() -> ReplicaStatus:
    global _failed_at
    if _failed_at is not None and time.monotonic() - _failed_at < RETRY_AFTER_FAILURE_SECONDS:
        return ReplicaStatus(PRIMARY, None, "the replica did not answer a moment ago")
    try:
        lag = _measure_lag()
    except DatabaseError:
        _failed_at = time.monotonic()
        logger.warning("replica: unreachable; analyst reads use the primary", exc_info=True)
        with contextlib.suppress(DatabaseError):
            connections[REPLICA].close()
        return ReplicaStatus(PRIMARY, None, "the replica is unreachable")
    _failed_at = None
    limit = settings.DATABASE_REPLICA_MAX_LAG_SECONDS
    if lag is None:
        return ReplicaStatus(PRIMARY, None, "the replica's replay lag is unknown (nothing replayed yet)")
    if lag > limit:
        return ReplicaStatus(PRIMARY, lag, f"the replica's replay lag is {lag:.1f} s, more than {limit} s")
    return ReplicaStatus(REPLICA, lag)


def read_status() -> ReplicaStatus | None:
    """This request's analyst-read status; None without a replica or outside an analyst read."""
    state = _state.get()
    if state is None or not state.analyst or not configured():
        return None
    if state.wrote:
        return ReplicaStatus(PRIMARY, None, "this request wrote to the primary")
    if connections[PRIMARY].in_atomic_block:
        return ReplicaStatus(PRIMARY, None, "inside a transaction on the primary")
    if state.status is None:
        state.status = _check()
    return state.status


@contextlib.contextmanager
def request_scope(*, analyst: bool = False):
    """One request's routing state: fresh, so nothing carries over to the next request."""
    token = _state.set(_RequestState(analyst=analyst))
    try:
        yield _state.get()
    finally:
        _state.reset(token)


def analyst_stream(rows: Iterable):
    """Iterate a streamed export's rows as an analyst's read.

    A StreamingHttpResponse's body runs after the view and its middleware have returned, so
    its reads would otherwise go to the primary: wrap the body's iterable in this."""
    with request_scope(analyst=True):
        yield from rows


class ReplicaRouter:
    """Database router: the replica for analysts' reads only (see the module docstring)."""

    def db_for_read(self, model, **hints) -> str:
        status = read_status()
        return REPLICA if status is not None and status.on_replica else PRIMARY

    def db_for_write(self, model, **hints) -> str:
        state = _state.get()
        if state is not None:
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Rows read from the replica are rows of the primary: they may point at each other.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return False if db == REPLICA else None


class ReplicaRoutingMiddleware:
    """Give each request its own routing state and mark analysts' reads (SPEC O2)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_scope():
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        state = _state.get()
        if state is not None and request.method in ("GET", "HEAD") and _is_analyst_read(request, view_func):
            state.analyst = True


def _is_analyst_read(request, view_func) -> bool:
    if getattr(view_func, "analyst_read", False):
        return True
    match = request.resolver_match
    if match is None or match.namespace != "admin" or not (match.url_name or "").endswith("_changelist"):
        return False
    return match.url_name.split("_", 1)[0] in ANALYST_APPS
