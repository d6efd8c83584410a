"""SPEC A2/A7: an operator opens the walkthrough cohort view in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.navigation import navigate
from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory

# The token action needs the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("signed_off_copy")]


def test_operator_reads_funnel_numbers_and_groups_by_track(admin_browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    PaperTradeFactory(progress=ProgressFactory(intent_bucket="income", current_screen=4))
    ProgressFactory(intent_bucket="income", current_screen=2)
    ProgressFactory(intent_bucket=None, track="self_select")

    driver = admin_browser
    driver.get(f"{live_server.url}/admin/walkthrough/progress/")
    navigate(driver, driver.find_element(By.ID, "cohort-link").click)

    income = driver.find_element(By.CSS_SELECTOR, "#cohort-table tr[data-group='income|*']")
    assert income.find_element(By.CSS_SELECTOR, ".step-issued .n").text == "2"
    assert income.find_element(By.CSS_SELECTOR, ".step-door .n").text == "2"
    assert income.find_element(By.CSS_SELECTOR, ".step-trade .n").text == "1"
    bar = income.find_element(By.CSS_SELECTOR, ".step-trade rect.bar-fg")
    assert bar.get_attribute("width") == "50.0"  # an SVG attribute: no inline style (CSP)
    not_set = driver.find_element(
        By.CSS_SELECTOR, "#cohort-table tr[data-group='__not_set__|*'] .step-issued .n"
    )
    assert not_set.text == "1"

    Select(driver.find_element(By.NAME, "by")).select_by_value("track")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#cohort-form input[type=submit]").click)
    rows = {
        r.get_attribute("data-group"): r.find_element(By.CSS_SELECTOR, ".step-issued .n").text
        for r in driver.find_elements(By.CSS_SELECTOR, "#cohort-table tr.cohort-row")
    }
    assert rows == {"*|full": "2", "*|self_select": "1", "*|*": "3"}
    assert "format=csv" in driver.find_element(By.ID, "cohort-csv").get_attribute("href")


def test_operator_issues_a_token_and_sees_it_once(admin_browser, live_server):
    from rest_framework.test import APIClient
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from walkthrough.services import walkthrough_token_issue

    progress, old = walkthrough_token_issue(email="tess@example.com")
    driver = admin_browser
    driver.get(f"{live_server.url}/admin/walkthrough/progress/")
    driver.find_element(By.CSS_SELECTOR, f"input.action-select[value='{progress.pk}']").click()
    Select(driver.find_element(By.NAME, "action")).select_by_value("issue_new_token")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "button[name=index]").click)

    token = driver.find_element(By.CSS_SELECTOR, "#new-tokens code.token").text
    assert token.startswith("wt_") and token != old
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/walkthrough/").json()["tester_email"] == "tess@example.com"

    navigate(driver, driver.find_element(By.LINK_TEXT, "Back to walkthrough progress").click)
    assert token not in driver.page_source
