"""SPEC A5/A7: an operator flips a flag in the admin, in a real browser."""

from __future__ import annotations

import pytest

from flags.models import FlagAudit
from flags.store import is_enabled
from tests.e2e.navigation import navigate

pytestmark = pytest.mark.browser


def test_operator_overrides_a_flag_with_a_reason(admin_browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = admin_browser
    driver.get(f"{live_server.url}/admin/")
    navigate(driver, driver.find_element(By.LINK_TEXT, "Feature flags").click)
    row = driver.find_element(By.ID, "flag-FLAG_SENTIMENT_JOURNAL")
    assert row.find_element(By.CLASS_NAME, "flag-value").text == "OFF"
    assert row.find_element(By.CLASS_NAME, "flag-source").text == "default"

    # The browser itself refuses an empty reason (required field): nothing is submitted.
    Select(row.find_element(By.NAME, "state")).select_by_value("on")
    row.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    reason = row.find_element(By.NAME, "reason")
    assert driver.execute_script("return arguments[0].validity.valueMissing", reason)
    assert row.is_displayed(), "the page did not navigate away"
    assert not FlagAudit.objects.exists()

    row = driver.find_element(By.ID, "flag-FLAG_SENTIMENT_JOURNAL")
    Select(row.find_element(By.NAME, "state")).select_by_value("on")
    row.find_element(By.NAME, "reason").send_keys("open the journal to cohort 2")
    navigate(driver, row.find_element(By.CSS_SELECTOR, "input[type=submit]").click)

    assert "FLAG_SENTIMENT_JOURNAL set to on" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    row = driver.find_element(By.ID, "flag-FLAG_SENTIMENT_JOURNAL")
    assert row.find_element(By.CLASS_NAME, "flag-value").text == "ON"
    assert row.find_element(By.CLASS_NAME, "flag-source").text == "database"
    assert is_enabled("FLAG_SENTIMENT_JOURNAL")

    # The page links to the change log, filtered to flag changes (SPEC P2: one place to look).
    navigate(driver, driver.find_element(By.LINK_TEXT, "change log").click)
    assert "open the journal to cohort 2" in driver.find_element(By.ID, "result_list").text
    driver.save_screenshot("/tmp/raxx-flags-admin.png")


def test_operator_rolls_persona_routing_out_to_half_the_testers(admin_browser, live_server):
    """SPEC F8: the operator's rollout journey; the page shows the effective percentage."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    flag = "FLAG_WALKTHROUGH_PERSONA_ROUTING"
    driver = admin_browser
    driver.get(f"{live_server.url}/admin/flags/flagoverride/")
    row = driver.find_element(By.ID, f"flag-{flag}")
    assert row.find_element(By.CLASS_NAME, "flag-percent").text == "0 %"
    Select(row.find_element(By.NAME, "state")).select_by_value("on")
    row.find_element(By.NAME, "rollout").send_keys("50")
    row.find_element(By.NAME, "reason").send_keys("holdout study")
    navigate(driver, row.find_element(By.CSS_SELECTOR, "input[type=submit]").click)

    message = driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert f"{flag} set to on for 50 % of subjects" in message
    row = driver.find_element(By.ID, f"flag-{flag}")
    assert row.find_element(By.CLASS_NAME, "flag-value").text == "ON"
    assert row.find_element(By.CLASS_NAME, "flag-percent").text == "50 %"
    audit = FlagAudit.objects.get()
    assert (audit.new_value, audit.new_rollout, audit.reason) == ("on", 50, "holdout study")
    assert not is_enabled(flag)  # a partial rollout: on only for the testers it names
