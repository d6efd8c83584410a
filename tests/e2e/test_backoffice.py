"""SPEC A2, A7, A8: an analyst reads the funnel and an operator invites testers, in Chromium.

Each test saves the screenshots docs/backoffice.md shows, so the guide's pictures are the pages
these tests just checked. They go to docs/img/ only with SAVE_SCREENSHOTS=1 (to refresh the
guide); otherwise to a scratch folder, so a test run leaves the work tree clean (the invite page
shows fresh random tokens on every run).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from pathlib import Path

import pytest

from tests.e2e.conftest import admin_login, downloaded
from tests.e2e.navigation import navigate
from tests.walkthrough.factories import ProgressFactory
from tests.walkthrough.funnel_data import build_cohort

# Inviting needs the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("signed_off_copy")]
IMG = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("SAVE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "raxx-screenshots"
)


def shot(driver, name: str, width: int = 1280) -> None:
    """Screenshot at a 1280 px window, after checking nothing scrolls sideways (SPEC A7 polish)."""
    driver.set_window_size(width, 1000)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 120, 600), 2400))
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: {overflow}px wider than a {width}px window"
    IMG.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(IMG / f"{name}.png"))


def test_analyst_reads_the_funnel_filters_follows_a_count_and_downloads_the_csv(
    browser, live_server, analyst, downloads
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    build_cohort()
    ProgressFactory(tester_email="late@example.com", created_at=dt.datetime(2026, 8, 3, tzinfo=dt.UTC))
    driver = browser
    admin_login(driver, live_server, analyst)

    driver.get(f"{live_server.url}/admin/")
    block = driver.find_element(By.ID, "beta-programme")
    assert block.find_element(By.ID, "headline-testers").text == "9"
    assert not block.find_elements(By.ID, "invite-link")  # analysts cannot invite
    shot(driver, "admin-index")
    navigate(driver, block.find_element(By.ID, "funnel-link").click)

    # A date range: the tester issued in August drops out.
    driver.find_element(By.NAME, "start").send_keys("07/01/2026")
    driver.find_element(By.NAME, "end").send_keys("07/31/2026")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#cohort-form input[type=submit]").click)
    assert "start=2026-07-01" in driver.current_url and "end=2026-07-31" in driver.current_url
    total = driver.find_element(By.CSS_SELECTOR, "#cohort-table tr.total-row")
    assert total.find_element(By.CSS_SELECTOR, ".step-issued .n").text == "8"
    income = driver.find_element(By.CSS_SELECTOR, "#cohort-table tr[data-group='income|*']")
    trade = income.find_element(By.CSS_SELECTOR, ".step-trade")
    assert trade.find_element(By.CSS_SELECTOR, ".n").text == "4"
    assert trade.find_element(By.CSS_SELECTOR, ".rate").text.startswith("80.0% of 5")
    assert trade.find_element(By.CSS_SELECTOR, ".time").text == "10 min 0 s · 14 min 0 s"
    assert trade.find_element(By.CSS_SELECTOR, "rect.bar-fg").get_attribute("width") == "66.7"
    shot(driver, "funnel")

    # Follow "reviewed: 3" of the income row to exactly those testers.
    navigate(driver, income.find_element(By.CSS_SELECTOR, ".step-review a.n").click)
    emails = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#result_list .field-tester_email")}
    assert emails == {"a@example.com", "b@example.com", "h@example.com"}
    shot(driver, "funnel-to-list")
    driver.back()

    # SPEC A9: narrow to one bucket and read a cell's n, rate and interval.
    Select(driver.find_element(By.NAME, "bucket")).select_by_value("income")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#cohort-form input[type=submit]").click)
    assert "bucket=income" in driver.current_url and "start=2026-07-01" in driver.current_url
    groups = [
        r.get_attribute("data-group")
        for r in driver.find_elements(By.CSS_SELECTOR, "#cohort-table tr.cohort-row")
    ]
    assert groups == ["income|*", "*|*"]  # the other buckets are folded away
    scenario = driver.find_element(By.CSS_SELECTOR, "#cohort-table tr[data-group='income|*'] .step-scenario")
    assert "too-few" in scenario.get_attribute("class")
    rate = scenario.find_element(By.CSS_SELECTOR, ".rate").text.split("\n")
    assert rate == ["83.3% of 6", "[0.436–0.970]", "too few to compare"]
    shot(driver, "funnel-one-bucket")

    # The long CSV of what the page shows.
    driver.find_element(By.ID, "cohort-csv").click()
    path = downloaded(driver, downloads)
    assert path.name == "walkthrough-funnel-intent_bucket-issued-2026-07-01_to_2026-07-31-bucket-income.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {r["group"] for r in rows} == {"income"} and len(rows) == 6
    scenario_row = next(r for r in rows if r["step"] == "scenario")
    assert (scenario_row["n"], scenario_row["reached"], scenario_row["ci_low"]) == ("6", "5", "0.4365")
    path.unlink()

    # The drop-off list of one cell: who stopped before the scenario step (pseudonymous ids).
    scenario.find_element(By.CSS_SELECTOR, "a.dropoff-csv").click()
    path = downloaded(driver, downloads)
    assert path.name.startswith("walkthrough-dropoff-door-") and path.name.endswith("-ids.csv")
    (tester,) = list(csv.DictReader(io.StringIO(path.read_text())))
    assert tester["tester"].startswith("t-") and tester["stopped_after"] == "door"


def test_operator_refreshes_the_funnel_snapshot(admin_browser, live_server):
    """SPEC A9: the snapshot's age on the page, and an operator's "refresh now"."""
    from selenium.webdriver.common.by import By

    from walkthrough.services import funnel_snapshot_refresh

    build_cohort()
    funnel_snapshot_refresh(now=dt.datetime(2026, 7, 20, 8, 30, tzinfo=dt.UTC))
    ProgressFactory(tester_email="new@example.com")
    driver = admin_browser
    driver.get(f"{live_server.url}/admin/walkthrough/progress/cohort/")
    note = driver.find_element(By.ID, "as-of-note")
    assert "As of 2026-07-20 08:30 UTC" in note.text
    assert "9 testers now, 8 in this snapshot" in driver.find_element(By.ID, "live-count").text
    shot(driver, "funnel-snapshot-age")
    navigate(driver, driver.find_element(By.ID, "refresh-now").click)
    assert "recomputed just now" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert "9 testers now, as in this snapshot" in driver.find_element(By.ID, "live-count").text
    assert driver.find_element(By.CSS_SELECTOR, "#cohort-table tr.total-row .step-issued .n").text == "9"


def test_operator_invites_three_testers_and_a_token_works(admin_browser, live_server, downloads):
    from rest_framework.test import APIClient
    from selenium.webdriver.common.by import By

    driver = admin_browser
    driver.get(f"{live_server.url}/admin/")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#beta-programme #invite-link").click)

    # One bad address: the page lists it and issues nothing.
    driver.find_element(By.NAME, "emails").send_keys("ann@example.com\nbo@example\ncy@example.com")
    driver.find_element(By.CSS_SELECTOR, "input[name=track][value=self_select]").click()
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#invite-form input[type=submit]").click)
    assert "Not a valid email address: bo@example" in driver.find_element(By.ID, "invite-errors").text
    shot(driver, "invite-errors")

    field = driver.find_element(By.NAME, "emails")
    field.clear()
    field.send_keys("ann@example.com, bo@example.com\ncy@example.com")
    driver.find_element(By.CSS_SELECTOR, "input[name=track][value=self_select]").click()
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#invite-form input[type=submit]").click)

    rows = driver.find_elements(By.CSS_SELECTOR, "#new-tokens tbody tr")
    tokens = {
        r.find_element(By.CLASS_NAME, "email").text: r.find_element(By.CLASS_NAME, "token").text for r in rows
    }
    assert sorted(tokens) == ["ann@example.com", "bo@example.com", "cy@example.com"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['bo@example.com']}")
    me = api.get("/api/walkthrough/").json()
    assert (me["tester_email"], me["track"]) == ("bo@example.com", "self_select")
    shot(driver, "invite-tokens")

    # The CSV comes from the page itself (static JS): the same three tokens.
    driver.find_element(By.ID, "download-tokens").click()
    rows = list(csv.DictReader(io.StringIO(downloaded(driver, downloads).read_text())))
    assert {r["email"]: r["token"] for r in rows} == tokens
    assert {r["track"] for r in rows} == {"self_select"}


def test_analyst_cannot_open_the_invite_page(browser, live_server, analyst):
    from selenium.webdriver.common.by import By

    driver = browser
    admin_login(driver, live_server, analyst)
    driver.get(f"{live_server.url}/admin/walkthrough/progress/invite/")
    assert not driver.find_elements(By.ID, "invite-form")
    assert "403" in driver.page_source or "permission" in driver.page_source.lower()


@pytest.mark.parametrize("model", ["progress", "papertrade", "surveyanswer"])
def test_walkthrough_changelists_fit_a_1280_px_window(admin_browser, live_server, model):
    build_cohort()
    admin_browser.get(f"{live_server.url}/admin/walkthrough/{model}/")
    shot(admin_browser, f"list-{model}")


@pytest.mark.parametrize("url", ["/admin/walkthrough/progress/", "/admin/audit/changelogentry/"])
def test_the_progress_list_and_the_change_log_fit_1366_px_with_the_sidebar_open(
    admin_browser, live_server, url
):
    """SPEC A9: no column cut off at a common laptop width, navigation sidebar open."""
    from selenium.webdriver.common.by import By

    from flags.services import flag_override_set

    build_cohort()
    flag_override_set(
        name="FLAG_WALKTHROUGH_PERSONA_ROUTING",
        state="on",
        rollout=80,
        reason="holdout",
        actor_label="cli:ops",
    )
    admin_browser.set_window_size(1366, 900)
    admin_browser.get(f"{live_server.url}{url}")
    assert admin_browser.find_element(By.ID, "nav-sidebar").is_displayed()
    results = admin_browser.find_element(By.CSS_SELECTOR, "#changelist .results")
    hidden = admin_browser.execute_script(
        "return arguments[0].scrollWidth - arguments[0].clientWidth", results
    )
    page = admin_browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert (hidden, page) == (0, 0), f"{url}: {hidden}px of the list and {page}px of the page cut off"
