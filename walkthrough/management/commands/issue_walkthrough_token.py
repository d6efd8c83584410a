"""`manage.py issue_walkthrough_token EMAIL [--track full|self_select] [--by USERNAME]` (SPEC W1).

The raw token is the last line of the output, so scripts can take it with `tail -n 1`. The
issue is a change-log entry by `command`, or with `--by` by that staff user, as the invite
page and the admin action write theirs (walkthrough.services.walkthrough_tokens_issue).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from walkthrough.models import Track
from walkthrough.services import IssuedVia, walkthrough_tokens_issue


class Command(BaseCommand):
    help = "Issue (or re-issue, revoking the old one) a beta walkthrough token for a tester."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--track", choices=Track.values, default=None, help="New testers default to full."
        )
        parser.add_argument(
            "--by",
            default=None,
            metavar="USERNAME",
            help="The staff user the change log names (default: command).",
        )

    def handle(self, *args, email: str, track: str | None, by: str | None, **options):
        actor = None
        if by is not None:
            User = get_user_model()
            actor = User._default_manager.filter(**{User.USERNAME_FIELD: by}, is_staff=True).first()
            if actor is None:
                raise CommandError(f"No staff user {by!r}. Nothing was issued.")
        try:
            (issued,) = walkthrough_tokens_issue(
                emails=[email], track=track, actor=actor, via=IssuedVia.COMMAND
            )
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from None
        self.stdout.write(
            f"Issued a walkthrough token for {issued.progress.tester_email} "
            f"(track {issued.progress.track}). It is shown once; any earlier token no longer works."
        )
        self.stdout.write(issued.raw)
