"""Operational endpoints that sit outside the API apps."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from kombu import Connection

logger = logging.getLogger(__name__)


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


@csrf_exempt  # a probe's stray POST gets the JSON 405 below, not an HTML CSRF page
@never_cache
def healthz(request):
    """Database, broker and cache reachability: 200 when all answer, 503 naming what is down."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    checks = {"database": _database_ok(), "broker": _broker_ok(), "cache": _cache_ok()}
    body: dict[str, object] = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    down = [name for name, ok in checks.items() if not ok]
    body["status"] = "unavailable" if down else "ok"
    if down:
        body["down"] = down
        response = JsonResponse(body, status=503)
        response["Retry-After"] = "30"
        return response
    return JsonResponse(body, status=200)
