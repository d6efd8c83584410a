"""Beat tasks of the journal (SPEC J7, J10). Thin: each calls one service and logs a count.

Neither task ever writes a label's content (SPEC J9): one sets the lock timestamp, the other
deletes rows past retention. They run whatever FLAG_SENTIMENT_JOURNAL says, so switching the
journal off and on again never reopens a window that had already closed.
"""

from __future__ import annotations

import logging

from celery import shared_task

from config import metrics
from journal import services

logger = logging.getLogger(__name__)


@shared_task(name="journal.tasks.lock_post_labels", soft_time_limit=60, time_limit=90)
def lock_post_labels() -> int:
    locked = services.labels_lock_due()
    metrics.record_lock_sweep(rows=locked)
    logger.info("journal: locked %d post label(s)", locked)
    return locked


@shared_task(name="journal.tasks.purge_cancelled_account_labels", soft_time_limit=300, time_limit=360)
def purge_cancelled_account_labels() -> int:
    purged = services.labels_purge_cancelled_accounts()
    logger.info("journal: purged %d label(s) of accounts cancelled 90+ days ago", purged)
    return purged
