from django.apps import AppConfig


class WalkthroughConfig(AppConfig):
    name = "walkthrough"

    def ready(self) -> None:
        from walkthrough import checks  # noqa: F401  registers the system checks
