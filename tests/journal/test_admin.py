"""Journal back office (SPEC A6): read-only labels with no note, taxonomy versions, orders."""

from __future__ import annotations

import pytest

from audit.models import ChangeLogEntry
from journal.models import SentimentTaxonomyVersion, TradeSentimentLabel
from tests.journal.conftest import SENTINEL_NOTE

pytestmark = pytest.mark.django_db

LABELS = "/admin/journal/tradesentimentlabel/"
ORDERS = "/admin/journal/paperorder/"
TAXONOMY = "/admin/journal/sentimenttaxonomyversion/"


def test_label_pages_never_contain_the_note(admin_client, alice_label):
    pages = {
        "list": admin_client.get(LABELS),
        "search by note text": admin_client.get(LABELS, {"q": "exited at my stop"}),
        "search by email": admin_client.get(LABELS, {"q": "alice@example.com"}),
        "filtered": admin_client.get(LABELS, {"taxonomy_version__version__exact": "1"}),
        "view": admin_client.get(f"{LABELS}{alice_label.pk}/change/"),
        "history": admin_client.get(f"{LABELS}{alice_label.pk}/history/"),
        "order": admin_client.get(f"{ORDERS}{alice_label.trade_id}/change/"),
        "orders": admin_client.get(ORDERS),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert "sentinel-note" not in response.content.decode(), name
    assert "journal note present" in pages["list"].content.decode().lower()
    assert pages["search by note text"].context["cl"].result_count == 0
    assert f"{LABELS}{alice_label.pk}/change/" in pages["search by email"].content.decode()


@pytest.mark.parametrize(
    "lookup",
    ["journal_note__icontains", "journal_note__startswith", "journal_note", "journal_note__regex"],
)
def test_the_changelist_cannot_be_filtered_by_note_text(admin_client, alice_label, lookup):
    """A query-string filter on the note would make the row count an oracle for its text."""
    hit = admin_client.get(LABELS, {lookup: SENTINEL_NOTE[:8]})
    miss = admin_client.get(LABELS, {lookup: "zzz-not-in-any-note"})
    assert hit.status_code == miss.status_code == 400
    assert f"{LABELS}{alice_label.pk}/change/" not in hit.content.decode()


def test_csv_export_has_no_note(admin_client, alice_label):
    response = admin_client.post(
        LABELS, {"action": "export_csv", "_selected_action": [alice_label.pk], "index": 0}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv" and response.streaming  # SPEC P5: flat memory
    body = b"".join(response.streaming_content).decode()
    assert "journal_note_present" in body.splitlines()[0]
    assert "journal_note," not in body
    assert ",True," in body.splitlines()[1]
    assert SENTINEL_NOTE not in body
    # SPEC P2: personal data leaving the back office is in the change log: who, what, how much.
    entry = ChangeLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.after) == ("operator", "export", {"rows": 1})
    assert entry.object_repr == "trade_sentiment_labels CSV (no note text)"


@pytest.mark.parametrize("url", [f"{LABELS}add/", f"{ORDERS}add/"])
def test_no_one_adds_labels_or_orders_in_the_admin(admin_client, url):
    assert admin_client.get(url).status_code == 403


def test_labels_are_read_only(admin_client, alice_label):
    response = admin_client.post(f"{LABELS}{alice_label.pk}/change/", {"pre_label": "practice_trade"})
    assert response.status_code == 403
    assert admin_client.post(f"{LABELS}{alice_label.pk}/delete/", {"post": "yes"}).status_code == 403
    alice_label.refresh_from_db()
    assert alice_label.pre_label == "planned_setup"


def test_operator_creates_a_taxonomy_version(admin_client):
    response = admin_client.post(
        f"{TAXONOMY}add/",
        {
            "pre_labels": '[{"code": "sized_per_plan", "display": "Position sized per plan"}]',
            "post_labels": '[{"code": "exited_per_plan", "display": "Exited as planned"}]',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    v2 = SentimentTaxonomyVersion.objects.get(version=2)
    assert v2.pre_codes() == {"sized_per_plan"}
    entry = ChangeLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_repr, entry.before) == (
        "operator",
        "journal.taxonomy_create",
        "taxonomy version 2",
        None,
    )
    assert entry.after["pre_labels"] == [{"code": "sized_per_plan", "display": "Position sized per plan"}]


@pytest.mark.parametrize(
    "pre_labels",
    [
        '[{"code": "x", "display": "This setup will pay"}]',
        '[{"code": "Bad Code", "display": "ok"}]',
        "[]",
        "nope",
    ],
)
def test_bad_taxonomy_versions_are_refused_with_a_message(admin_client, pre_labels):
    response = admin_client.post(
        f"{TAXONOMY}add/",
        {"pre_labels": pre_labels, "post_labels": '[{"code": "b", "display": "B"}]'},
    )
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert SentimentTaxonomyVersion.objects.count() == 1


def v1_page(action: str) -> str:
    """Version 1's admin page by its real primary key: not 1 once a flush has re-seeded it."""
    return f"{TAXONOMY}{SentimentTaxonomyVersion.objects.get(version=1).pk}/{action}/"


def test_a_version_in_use_is_read_only_in_the_admin(admin_client, alice_label):
    page = admin_client.get(v1_page("change"))
    assert page.status_code == 200
    assert 'name="pre_labels"' not in page.content.decode()
    response = admin_client.post(
        v1_page("change"),
        {"pre_labels": '[{"code": "a", "display": "A"}]', "post_labels": '[{"code": "b", "display": "B"}]'},
    )
    assert response.status_code == 403
    assert admin_client.post(v1_page("delete"), {"post": "yes"}).status_code == 403
    assert SentimentTaxonomyVersion.objects.get(version=1).pre_codes() != {"a"}


def test_an_unused_version_can_be_edited(admin_client):
    TradeSentimentLabel.objects.all().delete()
    response = admin_client.post(
        v1_page("change"),
        {"pre_labels": '[{"code": "a", "display": "A"}]', "post_labels": '[{"code": "b", "display": "B"}]'},
    )
    assert response.status_code == 302
    assert SentimentTaxonomyVersion.objects.get(version=1).pre_codes() == {"a"}
    entry = ChangeLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_repr) == (
        "operator",
        "journal.taxonomy_update",
        "taxonomy version 1",
    )
    assert entry.before["pre_labels"] != entry.after["pre_labels"] == [{"code": "a", "display": "A"}]


def test_deleting_an_unused_version_is_recorded(admin_client):
    TradeSentimentLabel.objects.all().delete()
    assert admin_client.post(v1_page("delete"), {"post": "yes"}).status_code == 302
    assert not SentimentTaxonomyVersion.objects.exists()
    entry = ChangeLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_repr) == (
        "operator",
        "journal.taxonomy_delete",
        "taxonomy version 1",
    )
    assert entry.before["pre_labels"] and entry.after is None


def test_changelists_do_not_grow_queries_with_rows(admin_client, alice, django_assert_max_num_queries):
    from tests.journal.factories import LabelFactory

    for _ in range(3):
        LabelFactory(user=alice)
    admin_client.get(LABELS)
    with django_assert_max_num_queries(12) as small:
        admin_client.get(LABELS)
    for _ in range(20):
        LabelFactory(user=alice)
    with django_assert_max_num_queries(len(small.captured_queries)):
        admin_client.get(LABELS)
    with django_assert_max_num_queries(12):
        admin_client.get(TAXONOMY)
