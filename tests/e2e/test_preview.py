"""SPEC W16 in a real browser: an operator opens every W5 row of the preview, sees screens 1-5
and the payoff picture drawn (no CSP violation), then signs off the copy and can invite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.navigation import navigate
from walkthrough import preview
from walkthrough.models import CopySignoff, Progress

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


def test_operator_previews_all_five_rows_with_pictures_then_signs_off(admin_browser, live_server, tmp_path):
    from selenium.webdriver.common.by import By

    driver = admin_browser
    driver.get(f"{live_server.url}/admin/walkthrough/copysignoff/")
    navigate(driver, driver.find_element(By.ID, "open-preview").click)
    rows = driver.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    assert [r.get_attribute("data-row") for r in rows] == [r.key for r in preview.MATRIX_ROWS]
    assert "Not signed off yet" in driver.find_element(By.ID, "signoff-state").text

    folder = SCREENSHOTS if os.environ.get("SAVE_SCREENSHOTS") == "1" else tmp_path
    for index, key in enumerate(r.key for r in preview.MATRIX_ROWS):
        driver.get(f"{live_server.url}/admin/walkthrough/copysignoff/preview/")
        link = driver.find_elements(By.CSS_SELECTOR, "#matrix a.open-row")[index]
        navigate(driver, link.click)
        assert driver.find_element(By.CSS_SELECTOR, "#content-main").get_attribute("data-row") == key
        screens = [
            s.get_attribute("data-screen") for s in driver.find_elements(By.CSS_SELECTOR, "section.bo-screen")
        ]
        assert screens[:3] == ["1", "1", "2"] and screens[4:] == ["4", "5"]
        assert screens[3] in ("3", "simple/1")
        svg = driver.find_element(By.CSS_SELECTOR, "figure.payoff-figure svg.payoff")
        # Drawn by the browser at a readable size: the picture is really laid out, not just markup.
        assert 500 <= svg.size["width"] <= 600 and svg.size["height"] > 250
        assert driver.find_elements(By.CSS_SELECTOR, "svg.payoff circle.breakeven")
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.payoff line.strike")) >= 1
        assert driver.find_element(By.CSS_SELECTOR, ".bo-review li.max-loss").text.startswith("At expiry")
        if key == "income":
            svg.screenshot(str(folder / "payoff-preview.png"))

    driver.get(f"{live_server.url}/admin/walkthrough/copysignoff/preview/")
    driver.find_element(By.ID, "signoff-note").send_keys("Read all five rows against the checklist.")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#signoff-form input[type=submit]").click)
    assert "Signed off by" in driver.find_element(By.ID, "signoff-state").text
    assert CopySignoff.objects.get().note == "Read all five rows against the checklist."

    driver.get(f"{live_server.url}/admin/walkthrough/progress/invite/")
    assert not driver.find_elements(By.ID, "copy-unsigned")
    driver.find_element(By.NAME, "emails").send_keys("tess@example.com")
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "#invite-form input[type=submit]").click)
    assert Progress.objects.filter(tester_email="tess@example.com").exists()
