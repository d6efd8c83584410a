"""Seed taxonomy version 1 (SPEC J2) from journal/taxonomy/v1.json.

The file is frozen once released: later versions are created in the admin, never by editing
it, so this migration gives the same rows on every database.
"""

import json
from pathlib import Path

from django.db import migrations

V1_FILE = Path(__file__).resolve().parent.parent / "taxonomy" / "v1.json"


def seed_v1(apps, schema_editor):
    Version = apps.get_model("journal", "SentimentTaxonomyVersion")
    data = json.loads(V1_FILE.read_text(encoding="utf-8"))
    Version.objects.using(schema_editor.connection.alias).get_or_create(
        version=data["version"],
        defaults={"pre_labels": data["pre_labels"], "post_labels": data["post_labels"]},
    )


def unseed_v1(apps, schema_editor):
    Version = apps.get_model("journal", "SentimentTaxonomyVersion")
    Version.objects.using(schema_editor.connection.alias).filter(version=1, labels__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("journal", "0001_initial")]
    operations = [migrations.RunPython(seed_v1, unseed_v1)]
