"""Compliance (SPEC J9, J6): no forward-looking copy, no auto-classification, no note in logs."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.db.models import NOT_PROVIDED, signals
from django.test import RequestFactory

from journal.compliance import BANNED_PHRASES_FILE, banned_phrases, find_banned
from journal.models import SentimentTaxonomyVersion, TradeSentimentLabel
from tests.journal.conftest import SENTINEL_NOTE

ROOT = Path(__file__).resolve().parents[2]
JOURNAL = ROOT / "journal"


def _copy_files() -> list[Path]:
    """Every piece of copy users read: journal taxonomy and copy, walkthrough scenarios, docs."""
    files = [
        *JOURNAL.glob("taxonomy/*.json"),
        *JOURNAL.glob("copy/*"),
        *JOURNAL.glob("templates/**/*.html"),
        *(ROOT / "walkthrough" / "scenarios").glob("*.json"),
    ]
    files = [path for path in files if path.is_file() and path != BANNED_PHRASES_FILE]
    assert any(path.parent.name == "scenarios" for path in files), "walkthrough copy moved?"
    return [*files, ROOT / "docs" / "journal.md"]  # must exist: a missing doc fails here


def _readme_journal_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Trade-context journal\n(.*?)(?=^## )", readme, re.S | re.M)
    return match.group(0) if match else ""


def test_the_phrase_list_is_data_and_catches_the_obvious():
    assert {"will", "predict", "forecast", "expected to", "guarantee", "outperform", "signal to buy"} <= set(
        banned_phrases()
    )
    assert find_banned("likely to rise") == ["likely"]
    assert find_banned("This setup WILL outperform.") == ["will", "outperform"]
    assert find_banned("A trader's willingness; expectation; the will_o code") == []


@pytest.mark.parametrize("path", _copy_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_copy_files_have_no_forward_looking_framing(path):
    assert find_banned(path.read_text(encoding="utf-8")) == []


@pytest.mark.django_db
def test_the_openapi_schema_has_no_forward_looking_framing(client):
    """Summaries, descriptions and enums are output too (SPEC J9)."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert find_banned(schema.content.decode()) == []


def test_readme_journal_section_has_no_forward_looking_framing():
    section = _readme_journal_section()
    assert section, "README lacks the Trade-context journal section"
    assert find_banned(section) == []


@pytest.mark.django_db
def test_every_taxonomy_version_in_the_database_is_descriptive():
    for version in SentimentTaxonomyVersion.objects.all():
        assert find_banned(json.dumps([version.pre_labels, version.post_labels])) == [], version


def test_no_signal_receiver_writes_labels():
    for signal in (signals.pre_save, signals.post_save, signals.post_delete):
        assert not signal.has_listeners(TradeSentimentLabel)
    from journal.models import PaperOrder

    for signal in (signals.pre_save, signals.post_save):
        assert not signal.has_listeners(PaperOrder), "closing an order must never classify it"


def test_no_default_classifies_a_trade():
    fields = {f.name: f for f in TradeSentimentLabel._meta.get_fields()}
    for name in ("pre_label", "post_label"):
        assert fields[name].get_default() is None, name
        assert fields[name].db_default is NOT_PROVIDED, name


@pytest.mark.django_db
def test_the_admin_cannot_write_labels(operator):
    model_admin = admin.site._registry[TradeSentimentLabel]
    request = RequestFactory().get("/admin/")
    request.user = operator
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert list(model_admin.get_actions(request)) == ["export_csv"]


@pytest.mark.django_db
def test_note_text_never_reaches_logs(journal_on, alice, alice_client, bob_client, caplog):
    from tests.journal.factories import PaperOrderFactory

    caplog.set_level(logging.DEBUG)
    order = PaperOrderFactory(user=alice)
    created = alice_client.post(
        "/api/sentiment-labels/",
        {"trade_id": order.pk, "pre_label": "planned_setup", "journal_note": SENTINEL_NOTE},
        format="json",
    )
    label_id = created.json()["id"]
    paths = [
        # the happy paths
        alice_client.get(f"/api/sentiment-labels/{label_id}/"),
        alice_client.patch(
            f"/api/sentiment-labels/{label_id}/", {"journal_note": SENTINEL_NOTE}, format="json"
        ),
        alice_client.get("/api/sentiment-labels/"),
        alice_client.get("/api/sentiment-labels/backtest-filter/"),
        # the error paths
        alice_client.post(
            "/api/sentiment-labels/", {"trade_id": order.pk, "journal_note": SENTINEL_NOTE}, format="json"
        ),  # 409 duplicate
        alice_client.patch(
            f"/api/sentiment-labels/{label_id}/", {"journal_note": SENTINEL_NOTE * 50}, format="json"
        ),  # 400 too long
        alice_client.patch(
            f"/api/sentiment-labels/{label_id}/",
            {"journal_note": SENTINEL_NOTE, "post_label": "exited_per_plan"},
            format="json",
        ),  # 409 not closed
        alice_client.patch(
            f"/api/sentiment-labels/{label_id}/",
            {"journal_note": SENTINEL_NOTE, "pre_label": "nope"},
            format="json",
        ),  # 400 bad code
        bob_client.patch(
            f"/api/sentiment-labels/{label_id}/", {"journal_note": SENTINEL_NOTE}, format="json"
        ),
        alice_client.post(
            "/api/sentiment-labels/", f'{{"journal_note": "{SENTINEL_NOTE}"', content_type="application/json"
        ),
    ]
    assert [r.status_code for r in paths] == [200, 200, 200, 200, 409, 400, 409, 400, 404, 400]
    assert caplog.records, "the capture saw nothing; the test would prove nothing"
    for record in caplog.records:
        assert "sentinel-note" not in record.getMessage()
        assert "sentinel-note" not in str(record.args)
    assert "sentinel-note" not in caplog.text
