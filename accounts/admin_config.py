"""django.contrib.admin with the back office's site (accounts/admin_site.py) as `admin.site`.

Its own module: apps.py may hold only the accounts app's config (Django picks it by default),
and this one is loaded before any model, so it names the site by its dotted path.
"""

from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.BackOfficeSite"
