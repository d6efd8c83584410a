"""`manage.py dsr_export EMAIL --out FILE`: an access request (SPEC P4, GDPR Art. 15)."""

import json
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction

from accounts.services import dsr_export


class Command(BaseCommand):
    help = "Write one JSON document of everything stored about a person (recorded in the change log)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--out", required=True, help="The file to write; it must not exist yet.")

    def handle(self, *args, email: str, out: str, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address. Nothing was exported.") from None
        try:
            # Created here, readable by its owner only, and never over an existing file.
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"Cannot create {out}: {exc.strerror}. Nothing was exported.") from None
        try:
            with transaction.atomic(), os.fdopen(fd, "w", encoding="utf-8") as file:
                # The change-log entry commits only if the whole document was written.
                document = dsr_export(email=email)
                json.dump(document, file, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True)
                file.write("\n")
        except BaseException:
            os.unlink(out)
            raise
        self.stdout.write(self.style.SUCCESS(f"Wrote everything stored about {email} to {out}."))
