from django.apps import AppConfig


class AccountsConfig(AppConfig):
    # The Analyst group and its view permissions are kept by migrations alone
    # (accounts/migrations/0003_i10_analyst_permissions.py), not by a post_migrate handler.
    name = "accounts"
    verbose_name = "Accounts"
