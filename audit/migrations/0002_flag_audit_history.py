"""Copy the flag audit's history into the change log, so there is one place to look (SPEC P2, F3).

Flag changes recorded before the change log existed keep their time, actor, values and reason:
"admin:alice" becomes the actor "alice", "cli:..." becomes "command".
"""

from django.db import migrations


def _actor(label: str) -> str:
    source, _, name = label.partition(":")
    if source == "admin" and name:
        return name
    return "command"


def copy(apps, schema_editor):
    using = schema_editor.connection.alias
    FlagAudit = apps.get_model("flags", "FlagAudit")
    ChangeLogEntry = apps.get_model("audit", "ChangeLogEntry")
    ChangeLogEntry.objects.using(using).bulk_create(
        ChangeLogEntry(
            created_at=row.created_at,
            actor=_actor(row.actor_label),
            actor_user_id=row.actor_id,
            action="flag.override",
            object_repr=row.name,
            before={"override": row.old_value},
            after={"override": row.new_value, "effective": row.effective_value, "decided_by": row.decided_by}
            if row.decided_by
            else {"override": row.new_value},
            reason=row.reason,
        )
        for row in FlagAudit.objects.using(using).order_by("id").iterator()
    )


def uncopy(apps, schema_editor):
    ChangeLogEntry = apps.get_model("audit", "ChangeLogEntry")
    # Every flag change is in the flag audit too (it feeds the change log), so nothing is lost.
    ChangeLogEntry.objects.using(schema_editor.connection.alias).filter(action="flag.override").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_change_log"),
        ("flags", "0003_i12_audit_decided_by"),
    ]
    operations = [migrations.RunPython(copy, uncopy)]
