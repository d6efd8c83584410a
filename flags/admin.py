"""Flags in the admin (SPEC A5): every flag's effective value and source, overrides, audit.

The audit of override changes is read in the change log (SPEC P2), the back office's one place
to look; the flag audit table feeds it and has no page of its own.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.reauth import reauth_challenge
from audit.models import Action, ChangeLogEntry
from core.errors import RuleViolation
from flags.models import FlagOverride, OverrideState
from flags.registry import registry
from flags.services import flag_override_set
from flags.store import current_snapshot


class FlagOverrideForm(forms.Form):
    name = forms.ChoiceField(choices=())
    state = forms.ChoiceField(choices=OverrideState.choices)
    # SPEC F8: with On, the whole percentage of subjects it reaches; blank is everyone.
    rollout = forms.IntegerField(required=False, min_value=1, max_value=100)
    reason = forms.CharField(max_length=500, strip=True, widget=forms.TextInput(attrs={"size": 40}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = [(name, name) for name in registry()]


@admin.register(FlagOverride)
class FlagOverrideAdmin(admin.ModelAdmin):
    """One page lists all flags; each row has a small form to override or clear it."""

    change_list_template = "admin/flags/flagoverride/flags.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The stock change form would write the row without an audit entry or a cache
        # invalidation. Overrides change only through the audited form on the list (SPEC F3).
        return redirect("admin:flags_flagoverride_changelist")

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            if (challenge := reauth_challenge(request)) is not None:
                return challenge  # SPEC P1: a flag change wants a code from the last 10 minutes
            if self._override_from_form(request):
                return redirect(request.path)
        snapshot = current_snapshot()
        if request.method == "GET":
            self._warn_held_off(request, snapshot)
        context = {
            **self.admin_site.each_context(request),
            "title": "Feature flags",
            "opts": self.model._meta,
            "rows": _flag_rows(snapshot),
            "states": OverrideState.choices,
            "can_change": can_change,
            "recent_changes": ChangeLogEntry.objects.filter(action=Action.FLAG_OVERRIDE)[:10],
            "change_log_url": reverse("admin:audit_changelogentry_changelist")
            + f"?action={Action.FLAG_OVERRIDE}",
            "can_view_change_log": request.user.has_perm("audit.view_changelogentry"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_list_template, context)

    def _override_from_form(self, request) -> bool:
        """Apply the posted override through the audited service; say what happened."""
        form = FlagOverrideForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())
            self.message_user(request, f"Nothing changed. {errors}", messages.ERROR)
            return False
        name, state, rollout = (
            form.cleaned_data["name"],
            form.cleaned_data["state"],
            form.cleaned_data["rollout"],
        )
        try:
            flag_override_set(
                name=name,
                state=state,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                actor_label=f"admin:{request.user.get_username()}",
                rollout=rollout,
            )
        except RuleViolation as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return False
        share = f" for {rollout} % of subjects" if rollout else ""
        now = current_snapshot()[name].state
        self.message_user(request, f"{name} set to {state}{share} (now {now}).", messages.SUCCESS)
        return True

    def _warn_held_off(self, request, snapshot) -> None:
        for name, value in snapshot.items():
            if value.held_off_by_environment:
                # SPEC F2: OFF wins. The operator's ON does nothing until the environment changes.
                self.message_user(
                    request,
                    f"{name}: the database override is ON, but {name}=0 in this server's environment "
                    f"holds it OFF. Remove the environment variable (or set it to 1) to turn it on.",
                    messages.WARNING,
                )


def _flag_rows(snapshot) -> list[dict]:
    """Every declared flag with its effective value and its override row, if any."""
    overrides = {o.name: o for o in FlagOverride.objects.select_related("updated_by")}
    rows = []
    for name, flag in registry().items():
        override = overrides.get(name)
        if override is None:
            state = OverrideState.UNSET
        else:
            state = OverrideState.ON if override.enabled else OverrideState.OFF
        rows.append({"spec": flag, "value": snapshot[name], "override": override, "current_state": state})
    return rows
