"""Prometheus metrics (SPEC O4) at /metrics, behind a bearer token (METRICS_TOKEN).

Two kinds of numbers:
- per web process, counted where they happen: request latency per URL pattern, responses by
  status, 429s, flag decisions by source. Under gunicorn every worker writes its samples to
  files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes and wipes it), and a scrape of any
  worker sums them all (prometheus_client's multiprocess mode).
- facts that live elsewhere, read at scrape time: the lock sweep's last success (its mark row)
  and the funnel snapshot's age (the snapshot rows), from the database; Celery task outcomes
  and the rows the sweep locked, which the worker (another dyno) adds to counters in the
  shared cache (Redis in production).

docs/reliability.md ("Metrics") lists every name.
"""

from __future__ import annotations

import hmac
import logging
import os

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TASK_OUTCOMES = ("succeeded", "failed", "retried")
_CACHE_PREFIX = "metrics:"

REQUEST_SECONDS = Histogram(
    "raxx_http_request_duration_seconds",
    "Time from the first middleware to the answer, by URL pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESPONSES = Counter(
    "raxx_http_responses", "Answers by URL pattern and status.", ["method", "route", "status"]
)
THROTTLED = Counter(
    "raxx_throttle_rejections", "429 answers (throttles and lockouts) by URL pattern.", ["route"]
)
FLAG_DECISIONS = Counter(
    "raxx_flag_decisions", "Flag reads by flag and the source that decided it (SPEC F2).", ["flag", "source"]
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"  # a client cannot mint label values
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    RESPONSES.labels(method, route, str(status)).inc()
    if status == 429:
        THROTTLED.labels(route).inc()


def count_flag_decision(*, flag: str, source: str) -> None:
    FLAG_DECISIONS.labels(flag, source).inc()


# --- Counters kept in the shared cache (the worker runs elsewhere) --------------------------


def _cache_add(name: str, amount: int = 1) -> None:
    key = _CACHE_PREFIX + name
    try:
        if not cache.add(key, amount, timeout=None):
            cache.incr(key, amount)
    except Exception:  # a metric must never fail the task it counts
        logger.warning("metrics: cache unavailable; %s not counted", name, exc_info=True)


def record_task_outcome(*, task: str, outcome: str) -> None:
    _cache_add(f"celery:{task}:{outcome}")


def record_lock_sweep(*, rows: int) -> None:
    _cache_add("lock_sweep_rows", rows)


def _task_names() -> list[str]:
    from config.celery import app

    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


class OperationsCollector:
    """The numbers that live in the database and the shared cache, read at scrape time."""

    def describe(self):
        return []  # no database access at registration

    def collect(self):
        yield from self._database()
        yield from self._cached()

    def _database(self):
        from journal.services import lock_sweep_last_success
        from walkthrough.models import FunnelSnapshot

        try:
            last = lock_sweep_last_success()
            oldest = FunnelSnapshot.objects.aggregate(oldest=Min("computed_at"))["oldest"]
        except Exception:
            logger.warning("metrics: database unavailable; skipping its metrics", exc_info=True)
            return
        sweep = GaugeMetricFamily(
            "raxx_lock_sweep_last_success_timestamp_seconds",
            "Unix time of the last committed J7 lock sweep (absent before the first).",
        )
        if last is not None:
            sweep.add_metric([], last.timestamp())
        yield sweep
        age = GaugeMetricFamily(
            "raxx_funnel_snapshot_age_seconds", "Age of the oldest funnel snapshot (absent before the first)."
        )
        if oldest is not None:
            age.add_metric([], (timezone.now() - oldest).total_seconds())
        yield age

    def _cached(self):
        names = _task_names()
        keys = [f"celery:{task}:{outcome}" for task in names for outcome in TASK_OUTCOMES]
        try:
            values = cache.get_many([_CACHE_PREFIX + key for key in [*keys, "lock_sweep_rows"]])
        except Exception:
            logger.warning("metrics: cache unavailable; skipping its metrics", exc_info=True)
            return
        tasks = CounterMetricFamily(
            "raxx_celery_tasks",
            "Celery task runs by task and outcome (all workers).",
            labels=["task", "outcome"],
        )
        for task in names:
            for outcome in TASK_OUTCOMES:
                tasks.add_metric([task, outcome], values.get(f"{_CACHE_PREFIX}celery:{task}:{outcome}", 0))
        yield tasks
        rows = CounterMetricFamily("raxx_lock_sweep_rows", "Post labels locked by the J7 sweep (all runs).")
        rows.add_metric([], values.get(f"{_CACHE_PREFIX}lock_sweep_rows", 0))
        yield rows


_operations = OperationsCollector()
REGISTRY.register(_operations)


def scrape_registry():
    """Under gunicorn, all workers' samples; otherwise this process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_operations)
        return registry
    return REGISTRY


@csrf_exempt
@never_cache
def metrics_view(request):
    """GET /metrics with `Authorization: Bearer <METRICS_TOKEN>`; 404 while no token is set."""
    token = settings.METRICS_TOKEN
    if not token:
        return JsonResponse({"detail": "Not found."}, status=404)
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = JsonResponse({"detail": 'Send "Authorization: Bearer <METRICS_TOKEN>".'}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
