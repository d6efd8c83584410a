"""`manage.py seed_demo`: an admin login and demo data for `make run`. Safe to run again."""

from django.core.management.base import BaseCommand

from accounts.demo import seed_admin


class Command(BaseCommand):
    help = "Create the demo admin user and demo walkthrough/journal data (idempotent)."

    def handle(self, *args, **options):
        from journal.demo import seed_demo as seed_journal
        from walkthrough.demo import seed_demo as seed_walkthrough

        username, password = seed_admin()
        seed_walkthrough(stdout=self.stdout)
        seed_journal(stdout=self.stdout)
        self.stdout.write("")
        self.stdout.write(f"Admin:   http://127.0.0.1:8000/admin/  user {username!r}  password {password!r}")
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/   health: http://127.0.0.1:8000/healthz")
