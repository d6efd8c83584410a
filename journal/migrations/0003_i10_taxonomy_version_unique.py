"""The taxonomy version's uniqueness becomes a named constraint (issue 10: every unique rule is
a named constraint, `journal_taxonomyversion_version_unique`).

Labels reference `version` by a foreign key, which depends on the existing unique constraint,
so it cannot be dropped and re-added: on PostgreSQL the constraint is renamed in place; on
SQLite (whose inline UNIQUE has no name) a named unique index is added. Reversible.
"""

from django.db import migrations, models

TABLE = "sentiment_taxonomy_versions"
NAME = "journal_taxonomyversion_version_unique"


def _postgres_unique_name(cursor, exclude: str | None = None) -> str | None:
    cursor.execute(
        """
        SELECT con.conname FROM pg_constraint con
        JOIN pg_class rel ON rel.oid = con.conrelid
        JOIN pg_attribute att ON att.attrelid = rel.oid AND att.attnum = ANY (con.conkey)
        WHERE rel.relname = %s AND con.contype = 'u' AND att.attname = 'version'
          AND array_length(con.conkey, 1) = 1 AND rel.relnamespace = to_regnamespace(current_schema())
        """,
        [TABLE],
    )
    names = [row[0] for row in cursor.fetchall() if row[0] != exclude]
    return names[0] if names else None


def forward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            old = _postgres_unique_name(cursor, exclude=NAME)
            if old is not None:
                cursor.execute(f'ALTER TABLE {TABLE} RENAME CONSTRAINT "{old}" TO "{NAME}"')
        else:
            cursor.execute(f'CREATE UNIQUE INDEX "{NAME}" ON {TABLE} ("version")')


def backward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'ALTER TABLE {TABLE} RENAME CONSTRAINT "{NAME}" TO "{TABLE}_version_key"')
        else:
            cursor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [("journal", "0002_seed_taxonomy_v1")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.AlterField(
                    model_name="sentimenttaxonomyversion",
                    name="version",
                    field=models.PositiveIntegerField(),
                ),
                migrations.AddConstraint(
                    model_name="sentimenttaxonomyversion",
                    constraint=models.UniqueConstraint(fields=("version",), name=NAME),
                ),
            ],
        )
    ]
