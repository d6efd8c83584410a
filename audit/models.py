"""The back office's one change log (SPEC P2): who changed what, from what to what, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The actor of a write made by a management command (SPEC P2).
COMMAND = "command"


class Action:
    """The actions recorded so far. A new one is a line here, no migration (no CHECK on them)."""

    FLAG_OVERRIDE = "flag.override"
    TOKEN_ISSUE = "walkthrough.token_issue"
    TOKEN_REISSUE = "walkthrough.token_reissue"
    TAXONOMY_CREATE = "journal.taxonomy_create"
    TAXONOMY_UPDATE = "journal.taxonomy_update"
    TAXONOMY_DELETE = "journal.taxonomy_delete"
    API_KEY_CREATE = "accounts.api_key_create"
    API_KEY_REVOKE = "accounts.api_key_revoke"
    EXPORT = "export"  # any export of personal data: admin CSV downloads, access requests
    # The admin's stock add / change / delete pages (accounts, groups, second-factor devices).
    ADMIN_ADD = "admin.add"
    ADMIN_CHANGE = "admin.change"
    ADMIN_DELETE = "admin.delete"
    ERASURE = "accounts.erasure"
    COPY_SIGNOFF = "walkthrough.copy_signoff"


class ChangeLogQuerySet(models.QuerySet):
    def about(self, *, email: str) -> ChangeLogQuerySet:
        """Entries whose subject is this person (an access request's view of the log)."""
        return self.filter(subject=email.strip().lower())  # stored lower-case: the index serves it


class ChangeLogEntry(models.Model):
    """One write made through the admin or a command, or one export of personal data. Append-only.

    `actor` is text (the username, or `command`), so an entry keeps its author after the author's
    erasure, under the pseudonym the erasure gives them. `object_repr` names the object in words
    (the invited address, the flag); `subject` is the email of the person the entry is about, if
    any: access requests and erasure find entries by it.
    """

    created_at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The account that acted, if any; the erasure of that account finds its entries by it.",
    )
    action = models.CharField(max_length=60)
    object_repr = models.CharField("object", max_length=300)
    subject = models.CharField(
        max_length=254, blank=True, default="", help_text="Email of the person this entry is about, if any."
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")

    objects = ChangeLogQuerySet.as_manager()

    class Meta:
        verbose_name = "change"
        verbose_name_plural = "change log"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin's newest-first list.
            models.Index(fields=["-created_at", "-id"], name="audit_changelog_created_idx"),
            # Access requests and erasure: the entries about one person.
            models.Index(fields=["subject"], name="audit_changelog_subject_idx", condition=~Q(subject="")),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(actor=""), name="audit_changelogentry_actor_required"),
            models.CheckConstraint(condition=~Q(action=""), name="audit_changelogentry_action_required"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_repr}"
