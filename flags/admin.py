"""Flags in the admin (SPEC A5): every flag's effective value and source, overrides, audit."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from config.api import RuleViolation
from flags.models import FlagAudit, FlagOverride, OverrideState
from flags.registry import registry
from flags.services import flag_override_set
from flags.store import current_snapshot


class FlagOverrideForm(forms.Form):
    name = forms.ChoiceField(choices=())
    state = forms.ChoiceField(choices=OverrideState.choices)
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
            form = FlagOverrideForm(request.POST)
            if form.is_valid():
                try:
                    flag_override_set(
                        name=form.cleaned_data["name"],
                        state=form.cleaned_data["state"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                        actor_label=f"admin:{request.user.get_username()}",
                    )
                except RuleViolation as exc:
                    self.message_user(request, str(exc.detail), messages.ERROR)
                else:
                    self.message_user(
                        request,
                        f"{form.cleaned_data['name']} set to {form.cleaned_data['state']}.",
                        messages.SUCCESS,
                    )
                    return redirect(request.path)
            else:
                errors = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())
                self.message_user(request, f"Nothing changed. {errors}", messages.ERROR)

        snapshot = current_snapshot()
        held_off = [name for name, value in snapshot.items() if value.held_off_by_environment]
        if request.method == "GET":
            for name in held_off:
                # SPEC F2: OFF wins. The operator's ON does nothing until the environment changes.
                self.message_user(
                    request,
                    f"{name}: the database override is ON, but {name}=0 in this server's environment "
                    f"holds it OFF. Remove the environment variable (or set it to 1) to turn it on.",
                    messages.WARNING,
                )
        overrides = {o.name: o for o in FlagOverride.objects.select_related("updated_by")}
        rows = [
            {
                "spec": flag,
                "value": snapshot[name],
                "override": overrides.get(name),
                "current_state": (
                    OverrideState.UNSET
                    if name not in overrides
                    else (OverrideState.ON if overrides[name].enabled else OverrideState.OFF)
                ),
            }
            for name, flag in registry().items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Feature flags",
            "opts": self.model._meta,
            "rows": rows,
            "states": OverrideState.choices,
            "can_change": can_change,
            "recent_audit": FlagAudit.objects.all()[:10],
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_list_template, context)


@admin.register(FlagAudit)
class FlagAuditAdmin(admin.ModelAdmin):
    """Append-only: nobody edits or deletes history, not even a superuser."""

    list_display = (
        "created_at",
        "name",
        "old_value",
        "new_value",
        "effective_value",
        "decided_by",
        "actor_label",
        "reason",
    )
    list_filter = ("name", "new_value", "decided_by")
    search_fields = ("name", "reason", "actor_label")
    readonly_fields = [f.name for f in FlagAudit._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
