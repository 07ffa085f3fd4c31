"""Issue 14 items 6 and 11 in a real browser: a unit without a manager or planner sees at once, at
the top of the deviation report, that it cannot hand the report to anyone here and whom to
contact; the manager's start page names each waiting report by fictional name and category; LVS's
list of what it handled and a flagged order's context read well at 375 px and pass axe."""
from __future__ import annotations

from typing import Any

from browser_support import browser, live_server, needs_browser, page  # noqa: F401
from conftest import submit_form
from test_browser import axe_clean, login
from test_decision_context import _over_the_limit
from test_deviation import FICTIONAL, report

pytestmark = needs_browser

NARROW = {"width": 375, "height": 800}
WIDE = {"width": 1280, "height": 900}


def _fits(page: Any, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{what}: {width} px wide"


def test_the_deviation_report_tells_a_unit_without_recipients_at_once(page: Any) -> None:
    login(page, "fee")  # Avgiftshandläggning: no manager or planner in the portal
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        page.goto("/forms/deviation")
        notice = page.locator("#no-recipients")
        assert notice.is_visible()
        assert "ingen enhetschef eller planerare" in notice.inner_text()
        # At the top: above the form's first field, in the first screenful.
        top = notice.bounding_box()
        assert top is not None and top["y"] < page.locator("#event_date").bounding_box()["y"]
        assert top["y"] < size["height"]
        assert page.locator('[name="unit"]').count() == 0
        _fits(page, f"deviation form without recipients at {size['width']} px")
        axe_clean(page, f"deviation form without recipients at {size['width']} px")


def test_the_manager_sees_waiting_reports_by_name_and_category(page: Any, as_user: Any) -> None:
    submit_form(as_user("staff"), "/forms/deviation", report())
    login(page, "hemtjanst_manager")
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        page.goto("/")
        row = page.locator("section[aria-labelledby='dev-title'] tbody tr").first
        assert f"{FICTIONAL} (fiktivt namn)" in row.inner_text() and "Fall" in row.inner_text()
        link = row.get_by_role("link", name=f"{FICTIONAL} (fiktivt namn)")
        assert link.count() == 1
        _fits(page, f"manager's start page at {size['width']} px")
        axe_clean(page, f"manager's start page with a deviation at {size['width']} px")


def test_lvs_handled_list_and_flag_context_at_both_widths(page: Any, as_user: Any) -> None:
    flagged = _over_the_limit(as_user)
    login(page, "lvs")
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        page.goto(f"/submissions/{flagged}")
        context = page.locator("#flag-context")
        assert "Dora Dahl (dora04), Hemtjänst Hisingen" in context.inner_text()
        _fits(page, f"flagged order at {size['width']} px")
        axe_clean(page, f"flagged order at {size['width']} px")
        page.goto("/lvs/queue")
        page.get_by_role("link", name="Hanterat de senaste 30 dagarna").click()
        page.wait_for_url("**/lvs/handled")
        assert page.locator("tbody tr").count() == 2  # the two orders granted above
        _fits(page, f"LVS handled list at {size['width']} px")
        axe_clean(page, f"LVS handled list at {size['width']} px")
