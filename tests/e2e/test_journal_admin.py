"""The journal admin in headless Chromium (SPEC A6, A7): labels show no note text."""

from __future__ import annotations

import pytest

from tests.e2e.navigation import navigate
from tests.factories import UserFactory

NOTE = "browser-sentinel-note: sized down after the gap"


@pytest.mark.browser
def test_operator_browses_labels_without_seeing_notes(admin_browser, live_server):
    from selenium.webdriver.common.by import By

    from tests.journal.factories import LabelFactory, seed_taxonomy_v1

    version = seed_taxonomy_v1()  # a transactional test may have flushed the migration's seed
    trader = UserFactory(username="carol", email="carol@example.com")
    label = LabelFactory(user=trader, journal_note=NOTE)

    admin_browser.get(f"{live_server.url}/admin/journal/tradesentimentlabel/")
    assert "journal note present" in admin_browser.page_source.lower()
    assert "browser-sentinel-note" not in admin_browser.page_source

    search = admin_browser.find_element(By.ID, "searchbar")
    search.send_keys("carol@example.com")
    navigate(admin_browser, search.submit)
    link = admin_browser.find_element(By.CSS_SELECTOR, f'a[href*="/tradesentimentlabel/{label.pk}/change/"]')
    navigate(admin_browser, link.click)
    assert f"/tradesentimentlabel/{label.pk}/change/" in admin_browser.current_url
    assert "planned_setup" in admin_browser.page_source
    assert "browser-sentinel-note" not in admin_browser.page_source
    # Read-only: no save button on a label.
    assert not admin_browser.find_elements(By.NAME, "_save")

    # By primary key, which is not 1 on PostgreSQL once a flush has re-seeded the version.
    admin_browser.get(f"{live_server.url}/admin/journal/sentimenttaxonomyversion/{version.pk}/change/")
    assert f"/sentimenttaxonomyversion/{version.pk}/change/" in admin_browser.current_url
    assert not admin_browser.find_elements(By.NAME, "_save"), "a version in use is read-only"
