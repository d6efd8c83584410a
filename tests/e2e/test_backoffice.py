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

from tests.e2e.conftest import admin_login
from tests.e2e.navigation import navigate
from tests.factories import UserFactory
from tests.walkthrough.factories import ProgressFactory
from tests.walkthrough.funnel_data import build_cohort

pytestmark = pytest.mark.browser
IMG = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("SAVE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "raxx-screenshots"
)


@pytest.fixture
def analyst(transactional_db):
    from django.contrib.auth.models import Group

    from accounts.services import ANALYST_GROUP, analyst_group_sync

    # Transactional tests flush the tables the data migration filled: make the group again.
    Group.objects.get_or_create(name=ANALYST_GROUP)
    user = UserFactory(username="ana", is_staff=True)
    user.groups.add(analyst_group_sync())
    return user


@pytest.fixture
def downloads(browser, tmp_path):
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    return tmp_path


def downloaded(driver, folder: Path) -> Path:
    """The one finished download in `folder`: a non-empty *.csv (Chromium writes *.crdownload,
    or a hidden temporary file, until it is done; the final name can appear before its bytes)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def done(_):
        files = [f for f in folder.glob("*.csv") if f.stat().st_size > 0]
        return files[0] if files else False

    return WebDriverWait(driver, 15).until(done)


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
    assert trade.find_element(By.CSS_SELECTOR, ".conv").text.startswith("80.0%")
    assert trade.find_element(By.CSS_SELECTOR, ".time").text == "10 min 0 s · 14 min 0 s"
    assert trade.find_element(By.CSS_SELECTOR, "rect.bar-fg").get_attribute("width") == "66.7"
    shot(driver, "funnel")

    # Follow "reviewed: 3" of the income row to exactly those testers.
    navigate(driver, income.find_element(By.CSS_SELECTOR, ".step-review a.n").click)
    emails = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#result_list .field-tester_email")}
    assert emails == {"a@example.com", "b@example.com", "h@example.com"}
    shot(driver, "funnel-to-list")

    driver.back()
    driver.find_element(By.ID, "cohort-csv").click()
    path = downloaded(driver, downloads)
    assert path.name == "walkthrough-funnel-intent_bucket-issued-2026-07-01_to_2026-07-31.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    total_row = next(r for r in rows if r["row"] == "Total")
    assert (total_row["issued_testers"], total_row["overall_conversion_pct"]) == ("8", "50.0")


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
