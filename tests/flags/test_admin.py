"""SPEC A5: flags page in the admin; the audit is read-only."""

from __future__ import annotations

import pytest

from audit.models import ChangeLogEntry
from flags.models import FlagAudit, FlagOverride
from flags.store import is_enabled

pytestmark = pytest.mark.django_db
URL = "/admin/flags/flagoverride/"


def test_page_lists_every_flag_with_value_and_source(admin_client, monkeypatch):
    monkeypatch.setenv("FLAG_STRATEGY_TEMPLATES_V2", "1")
    html = admin_client.get(URL).content.decode()
    for name in ("FLAG_WALKTHROUGH_PERSONA_ROUTING", "FLAG_SENTIMENT_JOURNAL", "FLAG_STRATEGY_TEMPLATES_V2"):
        assert f'id="flag-{name}"' in html
    row = html.split('id="flag-FLAG_STRATEGY_TEMPLATES_V2"')[1].split("</tr>")[0]
    assert 'class="flag-value">ON' in row and 'class="flag-source">environment' in row


def test_page_warns_when_the_environment_holds_an_override_on_off(admin_client, monkeypatch):
    monkeypatch.setenv("FLAG_SENTIMENT_JOURNAL", "0")
    admin_client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "cohort 2"})
    html = admin_client.get(URL).content.decode()
    row = html.split('id="flag-FLAG_SENTIMENT_JOURNAL"')[1].split("</tr>")[0]
    assert 'class="flag-value">OFF' in row and 'class="flag-source">environment' in row
    assert "Held OFF by FLAG_SENTIMENT_JOURNAL=0" in row
    assert "holds it OFF" in html  # the page-level warning message
    assert "decided by environment" in html  # the audit entry names the deciding source
    monkeypatch.delenv("FLAG_SENTIMENT_JOURNAL")
    html = admin_client.get(URL).content.decode()
    assert "holds it OFF" not in html and "Held OFF" not in html


def test_override_needs_a_reason(admin_client):
    response = admin_client.post(
        URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "  "}, follow=True
    )
    assert "Nothing changed" in response.content.decode()
    assert not FlagOverride.objects.exists() and not FlagAudit.objects.exists()


def test_override_with_reason_is_applied_and_audited(admin_client, operator):
    response = admin_client.post(
        URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "beta cohort"}
    )
    assert response.status_code == 302
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")
    audit = FlagAudit.objects.get()
    assert (audit.actor, audit.actor_label, audit.reason) == (operator, "admin:operator", "beta cohort")


def test_override_is_in_the_change_log_read_only_even_for_superusers(admin_client):
    """SPEC F3, P2: the flag audit feeds the change log, the one read-only place to look."""
    admin_client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "x"})
    entry = ChangeLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_repr, entry.reason) == (
        "operator",
        "flag.override",
        "FLAG_SENTIMENT_JOURNAL",
        "x",
    )
    assert (entry.before, entry.after) == (
        {"override": "unset"},
        {"override": "on", "effective": "on", "decided_by": "database"},
    )
    assert entry.request_id  # the admin request's id
    page = admin_client.get(URL).content.decode()
    assert "/admin/audit/changelogentry/?action=flag.override" in page
    log = admin_client.get("/admin/audit/changelogentry/?action=flag.override")
    assert log.status_code == 200 and "FLAG_SENTIMENT_JOURNAL" in log.content.decode()
    # The old audit page is gone: one place to look.
    assert admin_client.get("/admin/flags/flagaudit/").status_code == 404
    assert admin_client.get("/admin/audit/changelogentry/add/").status_code == 403
    assert admin_client.get(f"/admin/audit/changelogentry/{entry.pk}/delete/").status_code == 403
    every_field = {
        "actor": "someone-else",
        "action": "flag.override",
        "object_repr": "x",
        "reason": "rewritten",
    }
    response = admin_client.post(f"/admin/audit/changelogentry/{entry.pk}/change/", every_field)
    assert response.status_code == 403
    entry.refresh_from_db()
    assert (entry.reason, entry.actor) == ("x", "operator")


def test_the_stock_change_form_cannot_bypass_the_audit(admin_client):
    """Only the audited list form changes an override; the generic change view just redirects."""
    admin_client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "beta cohort"})
    override = FlagOverride.objects.get()
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")

    response = admin_client.post(
        f"{URL}{override.pk}/change/",
        {"name": "FLAG_SENTIMENT_JOURNAL", "enabled": "", "reason": "sneaky"},
    )

    assert response.status_code == 302 and response["Location"] == URL
    override.refresh_from_db()
    assert (override.enabled, override.reason) == (True, "beta cohort")
    assert FlagAudit.objects.count() == 1
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")


def test_analyst_can_view_but_not_change(analyst_client):
    client = analyst_client
    assert client.get(URL).status_code == 200
    assert (
        client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "x"}).status_code == 403
    )
    assert not FlagOverride.objects.exists()
