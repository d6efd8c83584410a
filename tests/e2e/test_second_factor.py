"""SPEC P1 in Chromium: no staff page without a second factor; sensitive actions re-ask for the code."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from flags.store import is_enabled
from tests.e2e.conftest import ADMIN_PASSWORD, admin_login, downloaded
from tests.e2e.navigation import navigate
from tests.second_factor import totp_code, totp_device
from walkthrough.models import Progress

# Inviting needs the current copy signed off (SPEC W16).
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("signed_off_copy")]

STAFF_PAGES = [
    "/admin/",
    "/admin/flags/flagoverride/",
    "/admin/flags/flagaudit/",
    "/admin/walkthrough/progress/",
    "/admin/walkthrough/progress/invite/",
    "/admin/walkthrough/progress/cohort/",
    "/admin/walkthrough/progress/cohort/?by=track&format=csv",
    "/admin/journal/tradesentimentlabel/",
    "/admin/knox/authtoken/",
    "/admin/accounts/user/",
    "/admin/otp_totp/totpdevice/",
    "/admin/enrol/",
]


def _on_login_page(driver) -> bool:
    from selenium.webdriver.common.by import By

    return "/admin/login/" in driver.current_url and bool(driver.find_elements(By.NAME, "code"))


def test_without_a_valid_code_no_staff_page_answers_but_the_login(browser, live_server, admin_user):
    from selenium.webdriver.common.by import By

    driver = browser
    totp_device(admin_user)
    for code in ("", "000000", "12345678901234567890"):
        driver.get(f"{live_server.url}/admin/login/")
        driver.find_element(By.NAME, "username").send_keys(admin_user.get_username())
        driver.find_element(By.NAME, "password").send_keys(ADMIN_PASSWORD)
        driver.find_element(By.NAME, "code").send_keys(code)
        navigate(driver, driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
        assert _on_login_page(driver), code
        assert "correct username, password and code" in driver.page_source
        for path in STAFF_PAGES:
            driver.get(f"{live_server.url}{path}")
            assert _on_login_page(driver), (code, path)
            assert "user-tools" not in driver.page_source, (code, path)


def test_operator_invites_flips_a_flag_and_exports_after_re_entering_the_code(
    browser, live_server, admin_user, downloads
):
    import time_machine
    from django.utils import timezone
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    admin_login(driver, live_server, admin_user)

    def reenter_code():
        assert driver.find_element(By.ID, "reauth-form")
        driver.find_element(By.NAME, "reauth-code").send_keys(totp_code(admin_user))
        navigate(driver, driver.find_element(By.CSS_SELECTOR, "#reauth-form input[type=submit]").click)

    # Eleven minutes after the login's code: every sensitive action asks for a new one. The web
    # server runs in this process, so its clock travels too.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11), tick=True) as clock:
        driver.get(f"{live_server.url}/admin/walkthrough/progress/invite/")
        driver.find_element(By.NAME, "emails").send_keys("ann@example.com\nbo@example.com")
        navigate(driver, driver.find_element(By.CSS_SELECTOR, "#invite-form input[type=submit]").click)
        assert not Progress.objects.exists()
        reenter_code()
        emails = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#new-tokens tbody tr .email")}
        assert emails == {"ann@example.com", "bo@example.com"}

        clock.shift(dt.timedelta(minutes=11))
        driver.get(f"{live_server.url}/admin/flags/flagoverride/")
        row = driver.find_element(By.ID, "flag-FLAG_SENTIMENT_JOURNAL")
        Select(row.find_element(By.NAME, "state")).select_by_value("on")
        row.find_element(By.NAME, "reason").send_keys("cohort 2")
        navigate(driver, row.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
        assert not is_enabled("FLAG_SENTIMENT_JOURNAL")
        reenter_code()
        assert "FLAG_SENTIMENT_JOURNAL set to on" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
        assert is_enabled("FLAG_SENTIMENT_JOURNAL")

        clock.shift(dt.timedelta(minutes=11))
        driver.get(f"{live_server.url}/admin/walkthrough/progress/cohort/?by=track")
        navigate(driver, driver.find_element(By.ID, "cohort-csv").click)
        assert not list(downloads.glob("*.csv"))
        driver.find_element(By.NAME, "reauth-code").send_keys(totp_code(admin_user))
        driver.find_element(By.CSS_SELECTOR, "#reauth-form input[type=submit]").click()  # a download
        rows = list(csv.DictReader(io.StringIO(downloaded(driver, downloads).read_text())))
        # The CSV's long form counts the two testers invited above.
        assert rows and max(int(row["n"]) for row in rows if row.get("n", "").isdigit()) == 2
