"""Beat tasks: thin callers of services (SPEC W11)."""

from celery import shared_task

from walkthrough.services import funnel_snapshot_refresh, walkthrough_purge_after_program


@shared_task(name="walkthrough.tasks.purge_walkthrough_data", soft_time_limit=300, time_limit=360)
def purge_walkthrough_data() -> dict[str, int]:
    """Purge every beta_walkthrough_* row 30 days after BETA_PROGRAM_ENDS_AT (no-op before)."""
    return walkthrough_purge_after_program()


@shared_task(name="walkthrough.tasks.refresh_funnel_snapshot", soft_time_limit=300, time_limit=360)
def refresh_funnel_snapshot() -> int:
    """The whole-programme funnel the admin page shows "as of"."""
    return funnel_snapshot_refresh()
