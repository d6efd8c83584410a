from django.conf import settings
from django.db import models
from django.db.models import Q


class OverrideState(models.TextChoices):
    ON = "on", "On"
    OFF = "off", "Off"
    UNSET = "unset", "No override"


class FlagOverride(models.Model):
    """An operator's database override of one flag: the highest-precedence source (SPEC F2)."""

    name = models.CharField(max_length=100)
    enabled = models.BooleanField()
    # SPEC F8: ON for this whole percentage of subjects (flags.rollout); NULL is ON for everyone.
    rollout_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "feature flag"
        verbose_name_plural = "feature flags"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="flags_flagoverride_name_unique"),
            models.CheckConstraint(condition=~Q(reason=""), name="flags_flagoverride_reason_required"),
            # Only an ON is rolled out, to 0 < P <= 100 % (SPEC F8); an OFF is OFF for everyone.
            models.CheckConstraint(
                condition=Q(rollout_percent__isnull=True)
                | Q(enabled=True, rollout_percent__gte=1, rollout_percent__lte=100),
                name="flags_flagoverride_rollout_range",
            ),
        ]

    def __str__(self) -> str:
        if not self.enabled:
            return f"{self.name}=off"
        return f"{self.name}=on" + (f" for {self.rollout_percent} %" if self.rollout_percent else "")


class FlagAudit(models.Model):
    """One row per override change: who, when, old and new value, why (SPEC F3). Append-only."""

    name = models.CharField(max_length=100)
    old_value = models.CharField(max_length=5, choices=OverrideState.choices)
    new_value = models.CharField(max_length=5, choices=OverrideState.choices)
    # The rollout percentage before and after (SPEC F8); NULL when the state is not a rollout.
    old_rollout = models.PositiveSmallIntegerField(null=True, blank=True)
    new_rollout = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who acted, kept as text so the audit survives the user's deletion ("admin:alice", "cli:root").
    actor_label = models.CharField(max_length=150)
    # The effective value just after the change and the source that decided it (SPEC F2: OFF
    # wins), as the process making the change saw it; blank on rows written before the column existed.
    effective_value = models.CharField(max_length=3, blank=True, default="")
    decided_by = models.CharField(max_length=11, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "flag change"
        verbose_name_plural = "flag audit log"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="flags_flagaudit_reason_required"),
            models.CheckConstraint(
                condition=Q(old_value__in=OverrideState.values) & Q(new_value__in=OverrideState.values),
                name="flags_flagaudit_values_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.old_state} → {self.new_state}"

    @property
    def old_state(self) -> str:
        return _state_label(self.old_value, self.old_rollout)

    @property
    def new_state(self) -> str:
        return _state_label(self.new_value, self.new_rollout)


def _state_label(value: str, rollout: int | None) -> str:
    return f"{value} {rollout} %" if rollout is not None else value
