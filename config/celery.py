"""Celery application: `celery -A config worker -B` runs the worker with beat."""

import os

from celery import Celery, signals

from config import request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("raxx")
# Every CELERY_* Django setting configures the app; the broker and the beat schedule live there.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _fail_fast(**kwargs) -> None:
    """Workers and beat refuse to start on a broken flag registry or FLAG_* variable (SPEC F2).

    Celery logs an exception raised by a signal handler and carries on, so the error becomes
    SystemExit, which it lets through: the process exits non-zero, naming the problem.
    """
    from django.core.exceptions import ImproperlyConfigured

    from flags.registry import assert_ready

    try:
        assert_ready()
    except ImproperlyConfigured as error:
        raise SystemExit(f"refusing to start: {error}") from None


# SPEC O4: a task carries the request id of the request that dispatched it (config/request_id.py).
signals.before_task_publish.connect(request_id.add_request_id_to_task, weak=False)
signals.task_prerun.connect(request_id.bind_task_request_id, weak=False)
signals.task_postrun.connect(request_id.unbind_task_request_id, weak=False)


# SPEC O4: task outcomes, counted in the shared cache for /metrics (config/metrics.py).
@signals.task_success.connect
def _task_succeeded(sender=None, **kwargs) -> None:
    from config.metrics import record_task_outcome

    record_task_outcome(task=sender.name, outcome="succeeded")


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs) -> None:
    from config.metrics import record_task_outcome

    record_task_outcome(task=sender.name, outcome="failed")


@signals.task_retry.connect
def _task_retried(sender=None, **kwargs) -> None:
    from config.metrics import record_task_outcome

    record_task_outcome(task=sender.name, outcome="retried")
