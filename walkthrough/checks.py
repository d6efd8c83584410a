"""The walkthrough's start-up checks (registered by WalkthroughConfig.ready)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Warning, register

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def _web_processes() -> int:
    try:
        return int(os.environ.get("WEB_CONCURRENCY", "") or 1)
    except ValueError:
        return 1


@register()
def check_throttle_cache_is_shared(app_configs=None, **kwargs) -> list[Warning]:
    """The failed-token counter must be shared when more than one process serves requests.

    With a per-process cache each gunicorn worker counts on its own, so the effective limit is
    the rate times the number of workers. Process count is WEB_CONCURRENCY (Heroku sets it on
    every dyno; the Procfile passes it to gunicorn).
    """
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or backend not in PER_PROCESS_CACHES or _web_processes() <= 1:
        return []
    cache = backend.rsplit(".", 1)[-1]
    message = (
        f"The walkthrough's failed-token throttle counts in a per-process cache ({cache}) while "
        f"WEB_CONCURRENCY={_web_processes()} processes serve requests: each counts on its own."
    )
    hint = "Set REDIS_URL so the counter lives in Redis, shared by every process."
    return [Warning(message, hint=hint, id="config.W001")]
