from django.apps import AppConfig


class WalkthroughConfig(AppConfig):
    name = "walkthrough"
