"""Browser helpers shared by the admin tests."""

from __future__ import annotations

from collections.abc import Callable

# Set on the old page's window; a new document gets a new window object without it.
_MARK = "window.__raxxOldPage"


def navigate(driver, action: Callable[[], object], timeout: float = 15) -> None:
    """Run ``action`` (a click or a form submit) and wait until the page it opens has loaded.

    ``click()`` returns before the browser has left the old page, so reading the DOM straight
    after it can see the old page. Waiting on an element of the old page to go stale is not
    enough: while Chrome swaps documents, asking about that element can fail with "Node with
    given id does not belong to the document" instead of a stale-element error (a CI flake).
    So no element is held across the navigation: a mark is set on the old page's window, and
    the wait ends once a document without the mark has finished loading. Errors raised while
    the documents swap are retried until the timeout.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(f"{_MARK} = true;")
    action()

    def new_page_loaded(d) -> bool:
        return bool(d.execute_script(f"return !{_MARK} && document.readyState === 'complete';"))

    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(new_page_loaded)
