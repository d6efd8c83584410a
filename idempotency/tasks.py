"""Beat task of the idempotency keys (SPEC O3). Thin: calls the service, logs a count."""

from __future__ import annotations

import logging

from celery import shared_task

from idempotency import services

logger = logging.getLogger(__name__)


@shared_task(name="idempotency.tasks.purge_idempotency_keys", soft_time_limit=300, time_limit=360)
def purge_idempotency_keys() -> int:
    purged = services.keys_purge_expired()
    logger.info("idempotency: purged %d key(s) older than 24 hours", purged)
    return purged
