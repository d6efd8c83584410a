"""The Analyst group's view permissions, kept by migrations alone (issue 10, SPEC A4).

Permission rows normally appear only in post_migrate, after every migration has run; this
migration creates them for the analyst apps itself, then gives the group exactly their view
permissions. A later migration that adds a model to an analyst app runs `sync` again
(`RunPython(sync, migrations.RunPython.noop)`, importing it from this module), after its
own model migration.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

ANALYST_GROUP = "Analyst"
ANALYST_APPS = ("walkthrough", "journal", "flags")


def sync(apps, schema_editor):
    using = schema_editor.connection.alias
    for label in ANALYST_APPS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=ANALYST_GROUP)
    group.permissions.set(
        Permission.objects.using(using).filter(
            content_type__app_label__in=ANALYST_APPS, codename__startswith="view_"
        )
    )


def clear(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(schema_editor.connection.alias).filter(name=ANALYST_GROUP).first()
    if group is not None:
        group.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_analyst_group"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("walkthrough", "0003_screen_events"),
        ("journal", "0003_i10_taxonomy_version_unique"),
        ("flags", "0002_verbose_names"),
    ]
    operations = [migrations.RunPython(sync, clear)]
