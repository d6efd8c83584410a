"""`manage.py issue_walkthrough_token EMAIL [--track full|self_select]` (SPEC W1).

The raw token is the last line of the output, so scripts can take it with `tail -n 1`.
"""

from django.core.management.base import BaseCommand, CommandError

from config.api import DomainError
from walkthrough.models import Track
from walkthrough.services import walkthrough_token_issue


class Command(BaseCommand):
    help = "Issue (or re-issue, revoking the old one) a beta walkthrough token for a tester."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--track", choices=Track.values, default=None, help="New testers default to full."
        )

    def handle(self, *args, email: str, track: str | None, **options):
        try:
            progress, raw = walkthrough_token_issue(email=email, track=track)
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from None
        self.stdout.write(
            f"Issued a walkthrough token for {progress.tester_email} (track {progress.track}). "
            "It is shown once; any earlier token no longer works."
        )
        self.stdout.write(raw)
