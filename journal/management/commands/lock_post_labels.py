"""`manage.py lock_post_labels`: run the 24h lock sweep once (SPEC J7) and print the count."""

from django.core.management.base import BaseCommand

from journal.services import labels_lock_due


class Command(BaseCommand):
    help = "Lock post_label on every label whose trade closed 24h ago or earlier; prints the count."

    def handle(self, *args, **options):
        locked = labels_lock_due()
        self.stdout.write(f"Locked {locked} post label(s).")
