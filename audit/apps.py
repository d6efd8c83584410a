from django.apps import AppConfig


class AuditConfig(AppConfig):
    # The bottom layer: every app may import it; it imports no app of this project (SPEC P2).
    name = "audit"
    verbose_name = "Change log"
