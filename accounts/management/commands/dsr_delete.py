"""`manage.py dsr_delete EMAIL`: erase a person at once (SPEC P3, W11, J10)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.services import dsr_delete


class Command(BaseCommand):
    help = (
        "Erase a person: delete their walkthrough rows, journal labels, API keys, sessions and "
        "login logs; keep their change-log and admin-log entries under a pseudonym; keep their "
        "account, inactive and naming no one, with its paper orders."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address. Nothing was deleted.") from None
        erasure = dsr_delete(email=email)
        for table, count in erasure.deleted.items():
            self.stdout.write(f"{table}: {count} deleted")
        for table, count in erasure.pseudonymised.items():
            self.stdout.write(f"{table}: {count} pseudonymised")
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {sum(erasure.deleted.values())} row(s) in total; what stays names "
                f"{erasure.pseudonym} instead."
            )
        )
