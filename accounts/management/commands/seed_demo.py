"""`manage.py seed_demo`: an admin login and demo data for `make run`. Safe to run again."""

from django.core.management.base import BaseCommand

from accounts.demo import apps_seed, seed_admin


class Command(BaseCommand):
    help = "Create the demo admin user and demo walkthrough/journal data (idempotent)."

    def handle(self, *args, **options):
        staff = seed_admin()
        apps_seed(stdout=self.stdout)
        self.stdout.write("")
        for username, password, code in staff:
            self.stdout.write(
                f"Admin:   http://127.0.0.1:8000/admin/  user {username!r}  password {password!r}  "
                f"code {code!r}  (single-use; `manage.py addstatictoken {username}` prints another)"
            )
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/   health: http://127.0.0.1:8000/healthz")
