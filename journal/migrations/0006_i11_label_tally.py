# Issue 11: each user's label count, kept by triggers on the label table (journal.models.LabelTally).
# PostgreSQL: one statement-level trigger per event over its transition table, so a DELETE of a
# whole journal (10,000 rows) or the 90-day purge updates each user's tally once, not per row.
# SQLite (the zero-service default): row triggers. Existing labels are counted once here.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRESQL = [
    """
    CREATE FUNCTION journal_label_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO journal_label_tallies AS tally (user_id, labels)
        SELECT user_id, count(*) FROM inserted GROUP BY user_id
        ON CONFLICT (user_id) DO UPDATE SET labels = tally.labels + EXCLUDED.labels;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION journal_label_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE journal_label_tallies AS tally SET labels = tally.labels - gone.labels
        FROM (SELECT user_id, count(*) AS labels FROM deleted GROUP BY user_id) AS gone
        WHERE tally.user_id = gone.user_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER journal_label_tally_inserted AFTER INSERT ON trade_sentiment_labels
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
    EXECUTE FUNCTION journal_label_tally_inserted()
    """,
    """
    CREATE TRIGGER journal_label_tally_deleted AFTER DELETE ON trade_sentiment_labels
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION journal_label_tally_deleted()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS journal_label_tally_inserted ON trade_sentiment_labels",
    "DROP TRIGGER IF EXISTS journal_label_tally_deleted ON trade_sentiment_labels",
    "DROP FUNCTION IF EXISTS journal_label_tally_inserted()",
    "DROP FUNCTION IF EXISTS journal_label_tally_deleted()",
]
SQLITE = [
    """
    CREATE TRIGGER journal_label_tally_inserted AFTER INSERT ON trade_sentiment_labels FOR EACH ROW BEGIN
        INSERT INTO journal_label_tallies (user_id, labels) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET labels = labels + 1;
    END
    """,
    """
    CREATE TRIGGER journal_label_tally_deleted AFTER DELETE ON trade_sentiment_labels FOR EACH ROW BEGIN
        UPDATE journal_label_tallies SET labels = labels - 1 WHERE user_id = OLD.user_id;
    END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS journal_label_tally_inserted",
    "DROP TRIGGER IF EXISTS journal_label_tally_deleted",
]
BACKFILL = "INSERT INTO journal_label_tallies (user_id, labels) SELECT user_id, count(*) FROM trade_sentiment_labels GROUP BY user_id"


def _statements(vendor: str, *, forward: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL if forward else POSTGRESQL_REVERSE
    if vendor == "sqlite":
        return SQLITE if forward else SQLITE_REVERSE
    raise NotImplementedError(f"journal 0006: no label tally triggers for {vendor}")


def triggers_create(apps, schema_editor):
    # The count and the triggers in one transaction: no label lands between the two unseen.
    for sql in [BACKFILL, *_statements(schema_editor.connection.vendor, forward=True)]:
        schema_editor.execute(sql)


def triggers_drop(apps, schema_editor):
    for sql in _statements(schema_editor.connection.vendor, forward=False):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_i12_api_key_digests"),
        ("journal", "0005_i11_journal_serial_reads"),
    ]

    operations = [
        migrations.CreateModel(
            name="LabelTally",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("labels", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "journal_label_tallies",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("labels__gte", 0)), name="journal_labeltally_labels_not_negative"
                    )
                ],
            },
        ),
        migrations.RunPython(triggers_create, triggers_drop, elidable=False),
    ]
