"""Each role's main task in a real browser, by keyboard alone, checked with axe-core."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from browser_support import browser, live_server, needs_browser, page, shot  # noqa: F401
from conftest import PASSWORD

pytestmark = needs_browser
SERIOUS = {"serious", "critical"}


FOCUSED_MATCHES = "s => !!document.activeElement && document.activeElement.matches(s)"
FOCUSED_BUTTON = ("t => !!document.activeElement && document.activeElement.tagName === 'BUTTON'"
                  " && document.activeElement.textContent.trim() === t")


def tab_to(page: Any, selector: str, limit: int = 150, check: str = FOCUSED_MATCHES) -> None:
    """Press Tab until `selector` has focus: proves it can be reached by keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(check, selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def type_into(page: Any, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def type_date(page: Any, selector: str, value: date) -> None:
    """Type a date into a native date input, segment by segment, as a keyboard user does. Headless
    Chromium here lays the segments out in its built-in (US) order whatever the page's locale."""
    tab_to(page, selector)
    page.keyboard.type(value.strftime("%m%d%Y"))
    assert page.input_value(selector) == value.isoformat()


def type_time(page: Any, selector: str, hhmm: str) -> None:
    tab_to(page, selector)
    hour, minute = (int(x) for x in hhmm.split(":"))
    page.keyboard.type(f"{hour % 12 or 12:02d}{minute:02d}{'P' if hour >= 12 else 'A'}")
    assert page.input_value(selector) == hhmm


def login(page: Any, username: str) -> None:
    page.goto("/login")
    type_into(page, "#username", username)
    type_into(page, "#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text().startswith("Välkommen")


def follow_link(page: Any, name: str) -> None:
    """Reach a link by Tab and open it with Enter."""
    href = page.get_by_role("link", name=name).first.get_attribute("href")
    tab_to(page, f'a[href="{href}"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")


def axe_clean(page: Any, what: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [(v["id"], v["impact"], v["help"]) for v in results.response["violations"]
           if v.get("impact") in SERIOUS]
    assert not bad, f"axe on {what}: {bad}"


def press_button(page: Any, text: str) -> None:
    tab_to(page, text, check=FOCUSED_BUTTON)
    page.keyboard.press("Enter")


def test_unit_manager_orders_access_by_keyboard_then_copies_and_prints(page: Any) -> None:
    login(page, "manager")
    axe_clean(page, "start page (unit manager)")
    shot(page, "start-enhetschef")
    follow_link(page, "Beställ behörighet")
    axe_clean(page, "access order form")
    today = date.today()
    type_into(page, "#case_number", "0655588")
    type_into(page, "#persons-0-full_name", "Anna Andersson")
    type_into(page, "#persons-0-username", "anna01")
    type_into(page, "#persons-0-email", "anna.andersson@goteborg.se")
    type_into(page, "#persons-0-position", "socialsekreterare")
    # A second row, added and then filled in, without losing the first.
    press_button(page, "Lägg till en person")
    page.wait_for_selector("#persons-1-full_name")
    assert page.input_value("#persons-0-full_name") == "Anna Andersson"
    type_into(page, "#persons-1-full_name", "Bengt Berg")
    type_into(page, "#persons-1-username", "bengt02")
    type_into(page, "#persons-1-email", "bengt.berg@goteborg.se")
    type_into(page, "#persons-1-position", "planerare")  # a select: type-ahead picks the option
    type_date(page, "#valid_from", today)
    type_date(page, "#valid_to", today + timedelta(days=400))
    shot(page, "behorighetsbestallning")
    press_button(page, "Granska beställningen")
    # Over one year: the error summary takes focus and links to the field.
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert "högst ett år" in page.locator(".error-summary").inner_text()
    assert page.input_value("#persons-1-username") == "bengt02"
    axe_clean(page, "access order form with errors")
    shot(page, "behorighetsbestallning-fel")
    tab_to(page, '.error-summary a[href="#valid_to"]')
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "valid_to"
    page.keyboard.type((today + timedelta(days=180)).strftime("%m%d%Y"))
    press_button(page, "Granska beställningen")
    # The confirmation page shows the message exactly as it will be sent; nothing is stored yet.
    page.wait_for_selector("text=Granska innan du skickar")
    preview = page.locator("#message-text").inner_text()
    axe_clean(page, "confirmation page")
    shot(page, "granska-bestallning")
    press_button(page, "Skicka")
    page.wait_for_url("**/submissions/*")
    axe_clean(page, "submission page")
    shot(page, "inskickad-bestallning")

    message = page.locator("#message-text").inner_text()
    def without_reference(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Referens")]

    assert without_reference(message) == without_reference(preview)  # sent as previewed
    assert message.startswith("Till: ÄVO Myndighet LVS admin sekretessbehörighet\nÄmne: Behörighetsbeställning ärende 0655588, Centrum\n\n")
    press_button(page, "Kopiera meddelandet")
    page.wait_for_selector(".copy-status:not(:empty)")  # no string eval: the CSP forbids it
    assert page.locator(".copy-status").inner_text() == "Kopierat."
    assert page.evaluate("navigator.clipboard.readText()").strip() == message.strip()

    pdf_href = page.get_by_role("link", name="Skriv ut (PDF)").get_attribute("href")
    pdf = page.context.request.get(pdf_href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    page.emulate_media(media="print")
    assert not page.locator("nav[aria-label='Huvudmeny']").is_visible()
    assert not page.get_by_role("button", name="Kopiera meddelandet").is_visible()
    assert page.locator("#message-text").is_visible()
    shot(page, "inskickad-bestallning-utskrift")


def test_lvs_works_the_queue_by_keyboard(page: Any, app: Any, as_user: Any) -> None:
    from conftest import order_form

    app.config["WTF_CSRF_ENABLED"] = False  # the order arrives through the test client
    created = as_user("manager").post("/forms/access-order", data=order_form())
    app.config["WTF_CSRF_ENABLED"] = True
    assert created.status_code == 303
    login(page, "lvs")
    axe_clean(page, "start page (LVS)")
    shot(page, "start-lvs")
    follow_link(page, "Öppna kön")
    axe_clean(page, "LVS queue")
    shot(page, "lvs-ko")
    follow_link(page, "Behörighetsbeställning")
    type_into(page, "#reply", "Klart. Skapa PIN-kod enligt guiden i datorhjälpen.")
    press_button(page, "Markera som klar")
    page.wait_for_url("**/lvs/queue")
    assert "Kön är tom." in page.content()
    follow_link(page, "Behörighetsregister")
    assert "anna01" in page.content()
    axe_clean(page, "access register")
    shot(page, "behorighetsregister")


def test_social_secretary_sends_an_actualisation_request(page: Any) -> None:
    login(page, "secretary")
    axe_clean(page, "start page (social secretary)")
    shot(page, "start-socialsekreterare")
    page.goto("/forms/actualisation")
    axe_clean(page, "actualisation form")
    shot(page, "aktualisering")
    type_into(page, "#personnummer", "19121212-1212")
    type_into(page, "#full_name", "Testperson Skyddad")
    type_into(page, "#concerns", "Ansökan om hemtjänst")
    type_into(page, "#preliminary_case_type", "Hemtjänst")
    page.check("#kind-1")
    type_date(page, "#received_date", date.today())
    page.check("#arrival_method-0")
    type_into(page, "#arrived_from", "den enskilde")
    press_button(page, "Granska begäran")
    page.wait_for_selector("text=Granska innan du skickar")
    press_button(page, "Skicka")
    page.wait_for_url("**/submissions/*")
    assert "19121212" not in page.content()
    axe_clean(page, "sent actualisation (tombstone view)")


def test_staff_reports_a_deviation_and_prints_a_blank_form(page: Any) -> None:
    login(page, "staff")
    axe_clean(page, "start page (staff)")
    shot(page, "start-medarbetare")
    page.goto("/forms/deviation")
    axe_clean(page, "deviation form")
    type_date(page, "#event_date", date.today())
    type_time(page, "#event_time", "09:30")
    type_into(page, "#fictional_name", "Rosa Lind")
    tab_to(page, "#category")
    page.keyboard.type("Fall")  # a closed select picks the option that starts with what is typed
    assert page.input_value("#category") == "fall"
    type_into(page, "#description", "Brukaren föll i hallen vid morgonbesöket.")
    tab_to(page, "#handed_to")  # a select of the unit's managers and planners
    page.keyboard.type("Hugo")
    assert page.input_value("#handed_to") == "Hugo Hemtjänstchef"
    press_button(page, "Granska rapporten")
    page.wait_for_selector(".error-summary, .message")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    press_button(page, "Skicka")
    page.wait_for_url("**/submissions/*")
    shot(page, "avvikelse-skickad")
    blank = page.context.request.get("/blank/deviation.pdf")
    assert blank.status == 200 and blank.body().startswith(b"%PDF")


@pytest.mark.parametrize("user,path", [
    (None, "/login"),
    ("manager", "/register"),
    ("manager", "/audit"),
    ("manager", "/day-notes/"),
    ("staff", "/day-notes/"),
    ("secretary", "/forms/checklist"),
    ("secretary", "/forms/fee-handler"),
    ("manager", "/forms/trygghetsjouren"),
    ("admin", "/audit"),
])
def test_no_serious_accessibility_violation(page: Any, user: str | None, path: str) -> None:
    if user:
        login(page, user)
    page.goto(path)
    assert page.locator("html").get_attribute("lang") == "sv"
    axe_clean(page, path)
    shot(page, f"{user or 'anonym'}{path.replace('/', '-').rstrip('-')}")
