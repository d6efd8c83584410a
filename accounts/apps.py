from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Permission rows exist only after post_migrate, so the Analyst group (created by a
        # data migration) gets its view permissions here, idempotently, after every migrate.
        post_migrate.connect(_sync_analyst, dispatch_uid="accounts.analyst_group_sync")
        # Project-wide start-up checks (issue 12); config/ is not an app, so they register here.
        from config import checks  # noqa: F401


def _sync_analyst(sender, using="default", **kwargs) -> None:
    from accounts.services import analyst_group_sync

    analyst_group_sync(using=using)
