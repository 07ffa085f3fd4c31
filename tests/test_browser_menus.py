"""Issue 14, item 8 in a real browser: every role's menu holds exactly the pages the role may open
(each link answers 200 for the role, every page or form the menu leaves out answers 403), the
current page is marked with aria-current, and every entry is reached by Tab, at 1200 and 375 px."""
from __future__ import annotations

from typing import Any

from browser_support import browser, live_server, log_in, needs_browser, page, shot  # noqa: F401
from flask import Flask, url_for

from portal.forms import FORMS
from portal.menu import PAGES

pytestmark = needs_browser

MENU = "nav[aria-label='Huvudmeny']"
ROLES = ["staff", "secretary", "manager", "hemtjanst_manager", "planner", "lvs", "admin"]
FOCUSED_HREF = "() => document.activeElement && document.activeElement.getAttribute('href')"
IN_MENU = f"() => !!document.activeElement && !!document.activeElement.closest(\"{MENU}\")"




def menu_hrefs(page: Any) -> list[str]:
    return page.locator(f"{MENU} a").evaluate_all("as => as.map(a => a.getAttribute('href'))")


def tabbed_through_menu(page: Any) -> list[str]:
    """Tab from the top of the page through the menu: the links focused, in order."""
    page.locator("body").focus()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    seen: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(IN_MENU):
            seen.append(page.evaluate(FOCUSED_HREF))
        elif seen:
            break  # left the menu
    return seen


def candidates(app: Flask) -> set[str]:
    with app.test_request_context():
        pages = {url_for(p.endpoint) for p in PAGES if p.endpoint in app.view_functions}
    return pages | {f"/forms/{slug}" for slug in FORMS}


def test_each_roles_menu_lists_what_it_may_open_marked_and_by_keyboard(
        page: Any, app: Flask, as_user: Any) -> None:
    every = candidates(app)
    for username in ROLES:
        log_in(page, username)
        hrefs = menu_hrefs(page)
        assert hrefs[0] == "/" and len(hrefs) == len(set(hrefs)), (username, hrefs)
        # Exactly what the role may open: each link 200, what it leaves out 403.
        client = as_user(username)
        for href in hrefs:
            assert client.get(href.split("#")[0]).status_code == 200, (username, href)
        for href in every - {h.split("#")[0] for h in hrefs}:
            assert client.get(href).status_code == 403, (username, href)
        # The current page: Start here; every link reached by Tab, in the menu's order.
        assert page.locator(f"{MENU} a[aria-current]").evaluate_all(
            "as => as.map(a => [a.getAttribute('href'), a.getAttribute('aria-current')])"
        ) == [["/", "page"]], username
        assert tabbed_through_menu(page) == hrefs, username
        # Open the last entry by keyboard: it is marked as the current page, Start no longer.
        target = [h for h in hrefs if "#" not in h][-1]
        for _ in range(len(hrefs) + 5):
            if page.evaluate(FOCUSED_HREF) == target:
                break
            page.keyboard.press("Shift+Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        marked = page.locator(f"{MENU} a[aria-current='page']")
        assert marked.count() == 1 and marked.get_attribute("href") == target, username
        # At 375 px the menu wraps inside the page, and Tab still reaches every entry in order.
        page.set_viewport_size({"width": 375, "height": 800})
        page.goto("/")
        assert page.evaluate(  # the menu's part; the whole page is part L's sweep
            "document.querySelector('.site-header').scrollWidth <= window.innerWidth")
        for left, right, width in page.locator(f"{MENU} a").evaluate_all(
                "as => as.map(a => { const r = a.getBoundingClientRect();"
                " return [r.left, r.right, r.width]; })"):
            assert left >= 0 and right <= 375 and width > 0, (username, left, right)
        assert tabbed_through_menu(page) == hrefs, username
        if username == "secretary":
            shot(page, "meny-375-socialsekreterare")
        page.set_viewport_size({"width": 1200, "height": 900})
