"""`manage.py copy_signoff --operator USERNAME --note TEXT` (SPEC W16).

Signs off the walkthrough copy release testers would meet now (its copy_version and the digest
of the scenario files); inviting testers is refused until this is done for the current copy.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from walkthrough import scenarios
from walkthrough.services import copy_signoff_record


class Command(BaseCommand):
    help = "Record an operator's sign-off of the current walkthrough copy (copy_version)."

    def add_arguments(self, parser):
        parser.add_argument("--operator", required=True, help="The signing operator's username.")
        parser.add_argument("--note", required=True, help="What was reviewed (required, not blank).")

    def handle(self, *args, operator: str, note: str, **options):
        user = get_user_model().objects.filter(username=operator).first()
        if user is None:
            raise CommandError(f"No user named {operator!r}.")
        try:
            signoff = copy_signoff_record(operator=user, note=note)
        except DomainError as exc:
            detail = exc.detail
            if isinstance(detail, dict):
                detail = " ".join(m for messages in detail.values() for m in messages)
            raise CommandError(str(detail)) from None
        self.stdout.write(
            f"Signed off the walkthrough copy {signoff.copy_version} "
            f"(files {scenarios.copy_digest()[:12]}) as {signoff.operator_label} at "
            f"{signoff.signed_at:%Y-%m-%d %H:%M} UTC. Testers can be invited."
        )
