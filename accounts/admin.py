from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from knox.models import AuthToken

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Account", {"fields": ("cancelled_at",)}))
    list_display = (*BaseUserAdmin.list_display, "cancelled_at")
    list_filter = (*BaseUserAdmin.list_filter, "cancelled_at")


# Knox's own admin lists each key's digest and, on "add", shows the new key in a message.
# Operators see only who holds a key and until when, and revoke by deleting (issue 12).
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class APIKeyAdmin(admin.ModelAdmin):
    """API keys: owner, created, expiry. Never the key (rows are keyed by its digest, no credential)."""

    list_display = ("user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    fields = ("user", "created", "expiry")
    readonly_fields = ("user", "created", "expiry")
    show_full_result_count = False
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are made with `manage.py drf_create_token`, the one place they are shown

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Revoke the selected API keys", permissions=["delete"])
    def revoke(self, request, queryset):
        count, _ = queryset.delete()
        self.message_user(request, f"Revoked {count} API key(s).")
