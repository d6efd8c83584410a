"""The database holds the invariants (SPEC J1–J3), whoever writes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from core.errors import ConflictError, RuleViolation
from journal import services
from journal.models import SentimentTaxonomyVersion, TradeSentimentLabel
from tests.journal.factories import LabelFactory, PaperOrderFactory

pytestmark = pytest.mark.django_db


def _violates(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_note_longer_than_2000_is_refused_by_the_database(alice_label):
    _violates(lambda: TradeSentimentLabel.objects.filter(pk=alice_label.pk).update(journal_note="x" * 2001))
    TradeSentimentLabel.objects.filter(pk=alice_label.pk).update(journal_note="x" * 2000)


def test_unknown_source_table_is_refused_by_the_database(alice_label):
    _violates(
        lambda: TradeSentimentLabel.objects.filter(pk=alice_label.pk).update(source_table="live_orders")
    )


def test_one_label_per_trade_in_the_database(alice, alice_label):
    _violates(lambda: LabelFactory(user=alice, trade=alice_label.trade))


def test_trade_id_is_a_real_foreign_key():
    # Django creates FKs DEFERRABLE INITIALLY DEFERRED, so ask the schema rather than a write.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "trade_sentiment_labels")
    foreign_keys = {tuple(c["columns"]): c["foreign_key"] for c in constraints.values() if c["foreign_key"]}
    assert foreign_keys[("trade_id",)] == ("paper_orders", "id")
    assert foreign_keys[("taxonomy_version",)] == ("sentiment_taxonomy_versions", "version")


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "closed"},  # closed without closed_at
        {"status": "weird"},
        {"quantity": 0},
        {"strategy_type": "strangle"},
        {"realized_pnl": "1.00"},  # P&L on an open order
    ],
)
def test_paper_order_checks(alice, changes):
    order = PaperOrderFactory(user=alice)
    _violates(lambda: type(order).objects.filter(pk=order.pk).update(**changes))


def test_taxonomy_v1_is_seeded_with_structural_labels():
    v1 = SentimentTaxonomyVersion.objects.get(version=1)
    assert len(v1.pre_labels) >= 3 and len(v1.post_labels) >= 3
    assert not v1.pre_codes() & v1.post_codes()
    assert SentimentTaxonomyVersion.objects.current() == v1


def test_a_version_in_use_is_immutable(alice_label):
    v1 = alice_label.taxonomy_version
    before = list(v1.pre_labels)
    with pytest.raises(ConflictError):
        services.taxonomy_version_update(
            version=v1,
            pre_labels=[*before, {"code": "extra", "display": "Extra"}],
            post_labels=v1.post_labels,
        )
    with pytest.raises(ConflictError):
        services.taxonomy_version_ensure_mutable(version=v1)
    assert SentimentTaxonomyVersion.objects.get(version=1).pre_labels == before


def test_an_unused_version_can_still_change():
    v2 = services.taxonomy_version_create(
        pre_labels=[{"code": "a", "display": "A"}], post_labels=[{"code": "b", "display": "B"}]
    )
    assert v2.version == 2
    services.taxonomy_version_update(
        version=v2, pre_labels=[{"code": "a2", "display": "A2"}], post_labels=v2.post_labels
    )
    assert SentimentTaxonomyVersion.objects.get(version=2).pre_codes() == {"a2"}


@pytest.mark.parametrize(
    ("pre", "post"),
    [
        ([], [{"code": "b", "display": "B"}]),
        ([{"code": "Bad Code", "display": "A"}], [{"code": "b", "display": "B"}]),
        ([{"code": "a", "display": "A"}, {"code": "a", "display": "Again"}], [{"code": "b", "display": "B"}]),
        ([{"code": "a", "display": ""}], [{"code": "b", "display": "B"}]),
        ([{"code": "a"}], [{"code": "b", "display": "B"}]),
        ([{"code": "a", "display": "This setup will work"}], [{"code": "b", "display": "B"}]),
        ("not a list", [{"code": "b", "display": "B"}]),
    ],
)
def test_bad_pickers_are_refused(pre, post):
    with pytest.raises(RuleViolation):
        services.taxonomy_version_create(pre_labels=pre, post_labels=post)
    assert SentimentTaxonomyVersion.objects.count() == 1
