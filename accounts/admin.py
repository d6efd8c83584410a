from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Account", {"fields": ("cancelled_at",)}))
    list_display = (*BaseUserAdmin.list_display, "cancelled_at")
    list_filter = (*BaseUserAdmin.list_filter, "cancelled_at")
