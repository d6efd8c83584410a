from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The project's user model; `cancelled_at` starts the journal's 90-day retention (SPEC J10)."""

    cancelled_at = models.DateTimeField(null=True, blank=True, help_text="When the account was cancelled.")

    class Meta(AbstractUser.Meta):
        db_table = "accounts_user"
