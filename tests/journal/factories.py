"""Journal factories. Test setup only: product code writes labels through journal.services."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import factory
from django.utils import timezone

from journal import demo
from journal.models import OrderStatus, PaperOrder, SentimentTaxonomyVersion, TradeSentimentLabel
from tests.factories import UserFactory

V1_FILE = Path(__file__).resolve().parents[2] / "journal" / "taxonomy" / "v1.json"


def seed_taxonomy_v1() -> SentimentTaxonomyVersion:
    """Migration 0002's v1, from the same frozen file: a transactional test's flush empties it."""
    data = json.loads(V1_FILE.read_text(encoding="utf-8"))
    version, _ = SentimentTaxonomyVersion.objects.get_or_create(
        version=1, defaults={"pre_labels": data["pre_labels"], "post_labels": data["post_labels"]}
    )
    return version


# The demo's iron condor is the canonical valid ticket; tests and demo share one copy.
CONDOR_LEGS = demo.CONDOR_LEGS


class PaperOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaperOrder

    user = factory.SubFactory(UserFactory)
    symbol = "SPY"
    strategy_type = "iron_condor"
    legs_json = factory.LazyFunction(lambda: [dict(leg) for leg in CONDOR_LEGS])
    quantity = 1
    status = OrderStatus.OPEN
    opened_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))

    class Params:
        closed = factory.Trait(
            status=OrderStatus.CLOSED,
            closed_at=factory.LazyFunction(timezone.now),
            realized_pnl="10.00",
        )
        cancelled = factory.Trait(status=OrderStatus.CANCELLED)


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TradeSentimentLabel

    user = factory.SubFactory(UserFactory)
    trade = factory.SubFactory(PaperOrderFactory, user=factory.SelfAttribute("..user"))
    pre_label = "planned_setup"
    taxonomy_version = factory.LazyFunction(lambda: SentimentTaxonomyVersion.objects.get(version=1))
