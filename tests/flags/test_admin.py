"""SPEC A5: flags page in the admin; the audit is read-only."""

from __future__ import annotations

import pytest

from flags.models import FlagAudit, FlagOverride
from flags.store import is_enabled

pytestmark = pytest.mark.django_db
URL = "/admin/flags/flagoverride/"


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client


def test_page_lists_every_flag_with_value_and_source(ops_client, monkeypatch):
    monkeypatch.setenv("FLAG_STRATEGY_TEMPLATES_V2", "1")
    html = ops_client.get(URL).content.decode()
    for name in ("FLAG_WALKTHROUGH_PERSONA_ROUTING", "FLAG_SENTIMENT_JOURNAL", "FLAG_STRATEGY_TEMPLATES_V2"):
        assert f'id="flag-{name}"' in html
    row = html.split('id="flag-FLAG_STRATEGY_TEMPLATES_V2"')[1].split("</tr>")[0]
    assert 'class="flag-value">ON' in row and 'class="flag-source">environment' in row


def test_page_warns_when_the_environment_holds_an_override_on_off(ops_client, monkeypatch):
    monkeypatch.setenv("FLAG_SENTIMENT_JOURNAL", "0")
    ops_client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "cohort 2"})
    html = ops_client.get(URL).content.decode()
    row = html.split('id="flag-FLAG_SENTIMENT_JOURNAL"')[1].split("</tr>")[0]
    assert 'class="flag-value">OFF' in row and 'class="flag-source">environment' in row
    assert "Held OFF by FLAG_SENTIMENT_JOURNAL=0" in row
    assert "holds it OFF" in html  # the page-level warning message
    assert "decided by environment" in html  # the audit entry names the deciding source
    monkeypatch.delenv("FLAG_SENTIMENT_JOURNAL")
    html = ops_client.get(URL).content.decode()
    assert "holds it OFF" not in html and "Held OFF" not in html


def test_override_needs_a_reason(ops_client):
    response = ops_client.post(
        URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "  "}, follow=True
    )
    assert "Nothing changed" in response.content.decode()
    assert not FlagOverride.objects.exists() and not FlagAudit.objects.exists()


def test_override_with_reason_is_applied_and_audited(ops_client, operator):
    response = ops_client.post(
        URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "beta cohort"}
    )
    assert response.status_code == 302
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")
    audit = FlagAudit.objects.get()
    assert (audit.actor, audit.actor_label, audit.reason) == (operator, "admin:operator", "beta cohort")


def test_audit_is_read_only_even_for_superusers(ops_client):
    ops_client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "x"})
    audit = FlagAudit.objects.get()
    assert ops_client.get("/admin/flags/flagaudit/").status_code == 200
    assert ops_client.get("/admin/flags/flagaudit/add/").status_code == 403
    assert ops_client.get(f"/admin/flags/flagaudit/{audit.pk}/delete/").status_code == 403
    every_field = {
        "name": "FLAG_SENTIMENT_JOURNAL",
        "old_value": "unset",
        "new_value": "off",
        "reason": "rewritten",
        "actor_label": "admin:someone-else",
    }
    response = ops_client.post(f"/admin/flags/flagaudit/{audit.pk}/change/", every_field)
    assert response.status_code == 403
    audit.refresh_from_db()
    assert (audit.reason, audit.new_value, audit.actor_label) == ("x", "on", "admin:operator")


def test_the_stock_change_form_cannot_bypass_the_audit(ops_client):
    """Only the audited list form changes an override; the generic change view just redirects."""
    ops_client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "beta cohort"})
    override = FlagOverride.objects.get()
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")

    response = ops_client.post(
        f"{URL}{override.pk}/change/",
        {"name": "FLAG_SENTIMENT_JOURNAL", "enabled": "", "reason": "sneaky"},
    )

    assert response.status_code == 302 and response["Location"] == URL
    override.refresh_from_db()
    assert (override.enabled, override.reason) == (True, "beta cohort")
    assert FlagAudit.objects.count() == 1
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")


def test_analyst_can_view_but_not_change(client, django_user_model):
    from django.contrib.auth.models import Group

    analyst = django_user_model.objects.create_user("ana", password="pw-ana-12345", is_staff=True)
    analyst.groups.add(Group.objects.get(name="Analyst"))
    client.force_login(analyst)
    assert client.get(URL).status_code == 200
    assert (
        client.post(URL, {"name": "FLAG_SENTIMENT_JOURNAL", "state": "on", "reason": "x"}).status_code == 403
    )
    assert not FlagOverride.objects.exists()
