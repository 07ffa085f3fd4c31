"""Before anything leaves the office (issue 16), in a real browser and by keyboard only: the check
before disclosing is filled in with Tab, Space and typing, Enter shows "Kontrollen är gjord", and
its print button gives the cover sheet; the inner envelope's sheet comes with Enter from the
personnummer field. Every page is checked with axe."""
from __future__ import annotations

from typing import Any

from browser_support import browser, live_server, log_in, needs_browser, page  # noqa: F401
from test_browser import axe_clean, press_button, tab_to, type_into

pytestmark = needs_browser


def tick(page: Any, selector: str) -> None:  # noqa: F811
    """Reach a checkbox or radio button with Tab and choose it with Space, as a keyboard user."""
    tab_to(page, selector)
    page.keyboard.press("Space")
    assert page.is_checked(selector), selector


def choose(page: Any, group: str, index: int) -> None:  # noqa: F811
    """Choose a radio button as a keyboard user: Tab into the group (its first button), Space,
    then the arrow keys to the one wanted."""
    tick(page, f"#{group}-0")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    assert page.is_checked(f"#{group}-{index}")


def pdf_from(page: Any, press: Any) -> Any:  # noqa: F811
    """The response of the POST that ``press`` makes: the browser shows the PDF inline."""
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        press()
    resp = response.value
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    # (Its bytes are the unit tests' business: the browser hands its PDF viewer, not the file.)
    return resp


def test_the_check_before_disclosing_by_keyboard_gives_the_cover_sheet(page: Any) -> None:  # noqa: F811
    log_in(page, "secretary")
    page.goto("/forms/disclosure-check")
    axe_clean(page, "the check before disclosing")
    type_into(page, "#case_number", "0655588")
    choose(page, "document_kind", 1)  # a statement to a court (§5.8)
    choose(page, "recipient_kind", 1)  # a court
    type_into(page, "#recipient", "Förvaltningsrätten i Göteborg")
    for name in ("location_removed", "recipient_told", "name_pnr_only", "osl_considered",
                 "second_check"):
        tick(page, f"#{name}")
    type_into(page, "#second_checker", "Karin Kollega")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Kontrollen är gjord" in page.content()
    axe_clean(page, "the check's result page")
    resp = pdf_from(page, lambda: press_button(page, "Skriv ut försättsbladet (PDF)"))
    assert 'filename="kontroll-fore-utlamnande-' in resp.headers["content-disposition"]


def test_a_missing_tick_keeps_the_cover_sheet_back_and_says_so_at_the_field(
        page: Any) -> None:  # noqa: F811
    log_in(page, "manager")
    page.goto("/forms/disclosure-check")
    type_into(page, "#case_number", "0655588")
    choose(page, "document_kind", 0)
    choose(page, "recipient_kind", 0)
    type_into(page, "#recipient", "Den enskilde")
    for name in ("location_removed", "recipient_told", "name_pnr_only", "osl_considered"):
        tick(page, f"#{name}")  # not the second person's check
    type_into(page, "#second_checker", "Karin Kollega")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Kontrollen är gjord" not in page.content()
    # The error at the tick, and the tick says it is described by it (for a screen reader).
    assert "kryssa sedan i" in page.inner_text("#second_check-error")
    assert "second_check-error" in (page.get_attribute("#second_check", "aria-describedby") or "")
    assert page.input_value("#second_checker") == "Karin Kollega"  # the input is kept
    assert page.is_checked("#location_removed")
    axe_clean(page, "the check with an error")


def test_the_inner_envelope_prints_with_enter(page: Any) -> None:  # noqa: F811
    log_in(page, "secretary")
    page.goto("/forms/inner-envelope")
    axe_clean(page, "the inner envelope")
    type_into(page, "#personnummer", "19121212-1212")
    resp = pdf_from(page, lambda: page.keyboard.press("Enter"))
    disposition = resp.headers["content-disposition"]
    assert 'filename="innerkuvert-' in disposition and "1212" not in disposition
