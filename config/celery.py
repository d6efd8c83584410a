"""Celery application: `celery -A config worker -B` runs the worker with beat."""

import os

from celery import Celery, signals

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
