"""`manage.py drf_create_token USERNAME`: DRF's command name and output, for knox keys.

Scripts parse "Generated token <key> for user <username>", so the line is unchanged. Unlike
DRF's command it always makes a new key: only digests are stored, so an existing key cannot be
shown again. `--reset` (`-r`) revokes the user's other keys first.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from knox.models import AuthToken

from accounts.services import api_key_create, api_keys_revoke
from audit.models import COMMAND


class Command(BaseCommand):
    help = "Create a new API key for a user (shown once; only its digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username", type=str)
        parser.add_argument(
            "-r", "--reset", action="store_true", dest="reset", help="Revoke the user's other keys first."
        )

    def handle(self, *args, username: str, reset: bool, **options):
        user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"Cannot create the Token: user {username} does not exist")
        with transaction.atomic():
            if reset:
                api_keys_revoke(keys=AuthToken.objects.filter(user=user), actor=COMMAND)
            key = api_key_create(user=user, actor=COMMAND)
        self.stdout.write(f"Generated token {key} for user {username}")
