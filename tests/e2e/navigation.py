"""Browser helpers shared by the admin tests."""

from __future__ import annotations

from collections.abc import Callable


def navigate(driver, action: Callable[[], object], timeout: float = 15) -> None:
    """Run ``action`` (a click or a form submit) and wait until the page it opens has loaded.

    ``click()`` returns before the browser has left the old page, so reading the DOM straight
    after it can see the old page, or hold its elements as they detach mid-read
    (StaleElementReferenceException). Waiting for the old document to go stale, then for the
    new one to finish loading, makes every following read see the new page.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    action()
    wait = WebDriverWait(driver, timeout)
    wait.until(EC.staleness_of(old_page))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
