"""Operational endpoints that sit outside the API apps."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from kombu import Connection

from config.api import retry_after_seconds

logger = logging.getLogger(__name__)

# When this process started: a deploy whose lock sweep has never run anywhere is given the
# same three intervals from here before /healthz blames beat (docs/reliability.md).
PROCESS_STARTED = time.monotonic()
# Missed sweeps before /healthz names beat (SPEC O4).
BEAT_MISSED_INTERVALS = 3


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any driver error means "not reachable"
        logger.warning("healthz: database check failed", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        url = settings.CELERY_BROKER_URL
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        with Connection(url, transport_options=options, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return True
    except Exception:
        logger.warning("healthz: broker check failed", exc_info=True)
        return False


def _cache_ok() -> bool:
    # The failed-token throttle's store (Redis in production). Down means it fails open.
    try:
        cache.set("healthz:probe", "1", timeout=10)
        return cache.get("healthz:probe") == "1"
    except Exception:
        logger.warning("healthz: cache check failed", exc_info=True)
        return False


def beat_status() -> tuple[bool, str | None]:
    """(beat is keeping up, when the lock sweep last succeeded as ISO 8601 or None).

    Beat is behind once the sweep (SPEC J7, every JOURNAL_LOCK_INTERVAL_SECONDS) has not
    succeeded for BEAT_MISSED_INTERVALS intervals. Before any sweep has ever run (a fresh
    database), this process's own age stands in, so a new deploy is not unhealthy while beat
    starts and runs its first sweep, but a beat that never starts is named all the same.
    """
    from journal.services import lock_sweep_last_success

    allowed = BEAT_MISSED_INTERVALS * settings.JOURNAL_LOCK_INTERVAL_SECONDS
    last = lock_sweep_last_success()
    if last is None:
        return time.monotonic() - PROCESS_STARTED <= allowed, None
    return (timezone.now() - last).total_seconds() <= allowed, last.isoformat()


def _beat_ok(body: dict[str, object]) -> bool:
    try:
        ok, body["beat_last_success"] = beat_status()
        return ok
    except Exception:  # the database check names an outage; this one only says "unknown"
        logger.warning("healthz: beat check failed", exc_info=True)
        body["beat_last_success"] = None
        return True


@csrf_exempt  # a probe's stray POST gets the JSON 405 below, not an HTML CSRF page
@never_cache
def healthz(request):
    """Database, broker and cache reachability and beat's lock sweep (SPEC O4): 200 when all
    are well, 503 naming what is down."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    checks = {"database": _database_ok(), "broker": _broker_ok(), "cache": _cache_ok()}
    body: dict[str, object] = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    if checks["database"]:  # beat's record is in the database; while it is down, that is named
        checks["beat"] = _beat_ok(body)
        body["beat"] = "ok" if checks["beat"] else "behind"
    down = [name for name, ok in checks.items() if not ok]
    body["status"] = "unavailable" if down else "ok"
    if down:
        body["down"] = down
        response = JsonResponse(body, status=503)
        response["Retry-After"] = str(retry_after_seconds())
        return response
    return JsonResponse(body, status=200)
