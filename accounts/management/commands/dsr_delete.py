"""`manage.py dsr_delete EMAIL`: a data-subject request, carried out at once (SPEC W11, J10)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.services import dsr_delete


class Command(BaseCommand):
    help = (
        "Delete a person's walkthrough rows and journal labels and revoke their API keys and "
        "sessions (paper orders stay)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address. Nothing was deleted.") from None
        counts = dsr_delete(email=email)
        for table, count in counts.items():
            self.stdout.write(f"{table}: {count} deleted")
        self.stdout.write(self.style.SUCCESS(f"Deleted {sum(counts.values())} row(s) in total."))
