from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import User
from accounts.services import api_keys_revoke
from audit.admin import ChangeLoggedAdminMixin


@admin.register(User)
class UserAdmin(ChangeLoggedAdminMixin, BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Account", {"fields": ("cancelled_at",)}))
    list_display = (*BaseUserAdmin.list_display, "cancelled_at")
    list_filter = (*BaseUserAdmin.list_filter, "cancelled_at")


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ChangeLoggedAdminMixin, BaseGroupAdmin):
    """Django's group pages; each add, change or delete is in the change log (SPEC P2)."""


# Knox's own admin lists each key's digest and, on "add", shows the new key in a message.
# Operators see only who holds a key and until when, and revoke them.
admin.site.unregister(AuthToken)


def _api_key_ref(token: AuthToken) -> str:
    """A row's name on the page: owner and creation time, never the digest (the key's pk).

    A digest in a link, a title or a checkbox value would reach browser history and access
    logs; owner and creation time name one key as well.
    """
    return f"{token.user_id}.{token.created.isoformat()}"


@admin.register(AuthToken)
class APIKeyAdmin(admin.ModelAdmin):
    """API keys: owner, created, expiry, and the Revoke action. No page names a key's digest."""

    list_display = ("user", "created", "expiry")
    list_display_links = None  # no change page: its URL and title would be the digest
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    show_full_result_count = False
    actions = ["revoke"]

    def get_urls(self):
        # The changelist only: the change, history and delete pages are addressed by the digest.
        return [path("", self.admin_site.admin_view(self.changelist_view), name="knox_authtoken_changelist")]

    def has_add_permission(self, request) -> bool:
        return False  # keys are made with `manage.py drf_create_token`, the one place they are shown

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle" aria-label="All">'))
    def action_checkbox(self, obj):
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="Select this key">',
            ACTION_CHECKBOX_NAME,
            _api_key_ref(obj),
        )

    def response_action(self, request, queryset):
        # The page's checkboxes name keys by owner and creation time; the admin's own action
        # machinery selects by primary key, so each reference becomes its digest here, server-side.
        refs = request.POST.getlist(ACTION_CHECKBOX_NAME)
        match = Q(pk__in=[])
        for ref in refs:
            user_id, _, created = ref.partition(".")
            if user_id.isdigit() and created:
                match |= Q(user_id=int(user_id), created=created)
        try:
            digests = list(AuthToken.objects.filter(match).values_list("pk", flat=True))
        except (ValidationError, ValueError):  # a crafted reference with a malformed time
            digests = []
        data = request.POST.copy()
        data.setlist(ACTION_CHECKBOX_NAME, digests)
        request.POST = data
        return super().response_action(request, queryset)

    @admin.action(description="Revoke the selected API keys", permissions=["delete"])
    def revoke(self, request, queryset):
        count = api_keys_revoke(keys=queryset, actor=request.user)
        self.message_user(request, f"Revoked {count} API key(s).")


# django-otp's own device admins show TOTP keys and static codes: secrets that would let anyone
# who can read the page pass as the device. Staff see whose devices exist and delete a lost
# one (its owner then enrols again at the next login, or uses a code from addstatictoken).
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


class SecondFactorDeviceAdmin(ChangeLoggedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # the enrolment page and `manage.py addstatictoken` make devices

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.register(TOTPDevice, SecondFactorDeviceAdmin)
admin.site.register(StaticDevice, SecondFactorDeviceAdmin)
