"""Screen 4's review stored with the trade (SPEC W15; docs/performance.md): the column, the
review of every trade filled since fills were recorded, then the CHECK that keeps them together."""

from decimal import Decimal

from django.db import migrations, models

from trading.economics import economics_json, position_economics

BATCH = 2000


def fill_reviews(apps, schema_editor):
    trade_model = apps.get_model("walkthrough", "PaperTrade")
    pending = trade_model.objects.filter(fills_json__isnull=False, review_json__isnull=True).only(
        "id", "legs_json", "fills_json"
    )
    batch = []
    for trade in pending.iterator(chunk_size=BATCH):
        fills = [Decimal(f) for f in trade.fills_json]
        trade.review_json = economics_json(position_economics(legs=trade.legs_json, fills=fills))
        batch.append(trade)
        if len(batch) == BATCH:
            trade_model.objects.bulk_update(batch, ["review_json"])
            batch = []
    trade_model.objects.bulk_update(batch, ["review_json"])


class Migration(migrations.Migration):
    dependencies = [
        ("walkthrough", "0009_copy_signoff"),
    ]

    operations = [
        migrations.AddField(
            model_name="papertrade",
            name="review_json",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(fill_reviews, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="papertrade",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("fills_json__isnull", True), ("review_json__isnull", True)),
                    models.Q(("fills_json__isnull", False), ("review_json__isnull", False)),
                    _connector="OR",
                ),
                name="walkthrough_papertrade_review_with_fills",
            ),
        ),
    ]
