# Issue 11: no parallel workers for the journal's two tables. Every read of them serves one
# user's page through an index (the label list, the backtest page and summary, the admin
# changelists by their ordering index) and takes a few milliseconds; PostgreSQL still chose a
# parallel plan for the backtest page because it multiplies the selectivities of
# labels.user_id and paper_orders.user_id (always equal) and expects 1 % of the rows, and
# starting the worker took 44 of the page's 57 ms at 1M labels (docs/performance.md). The
# serial plan is the same nested loop: 50 index probes, under 1 ms warm.
# PostgreSQL only (a table storage parameter).

from django.db import migrations

TABLES = ("paper_orders", "trade_sentiment_labels")


def serial_reads(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (parallel_workers = 0)")


def parallel_allowed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("journal", "0004_i11_perf_indexes")]

    operations = [migrations.RunPython(serial_reads, parallel_allowed, elidable=False)]
