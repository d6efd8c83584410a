"""Headless Chromium (Debian's package) driven by Selenium against the live server (SPEC A7)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.e2e.navigation import navigate
from tests.factories import UserFactory
from tests.second_factor import totp_code

ADMIN_PASSWORD = "correct horse battery staple"


CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy")


def csp_violations(driver) -> list[str]:
    """CSP violations Chromium reported on its console since the last call (drains the log)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if any(marker in entry.get("message", "") for marker in CSP_MARKERS)
    ]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    profile = tempfile.mkdtemp(prefix="raxx-chromium-")
    # The closed network refuses Chromium's background calls; these flags keep it quiet.
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    # Console messages, so every browser test can assert the CSP blocked nothing (issue 12).
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(3)
    try:
        yield driver
        # Every browser test: the pages it opened worked under the CSP, with nothing refused.
        violations = csp_violations(driver)
    finally:
        driver.quit()
    assert not violations, f"CSP violations in Chromium's console: {violations}"


def admin_login(driver, live_server, user, password: str = ADMIN_PASSWORD) -> None:
    """A real login on the admin's one page: username, password and the app's current code (SPEC P1)."""
    from selenium.webdriver.common.by import By

    code = totp_code(user)  # the user's authenticator device exists before the page is opened
    driver.get(f"{live_server.url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(user.get_username())
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.NAME, "code").send_keys(code)
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
    assert driver.find_elements(By.ID, "user-tools"), "admin login failed"
    assert "/admin/login/" not in driver.current_url, "admin login failed"


@pytest.fixture
def admin_user(transactional_db):
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_browser(browser, live_server, admin_user):
    """A Chromium session logged in to the admin as a superuser."""
    admin_login(browser, live_server, admin_user)
    return browser


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
