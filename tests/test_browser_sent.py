"""Issue 14 item 4 in a real browser: the actualisation's preview leads the keyboard to the copy
button before the send button (its sender cannot read the text once it is sent), and after "Skicka"
the submission page announces that it was sent (role="status")."""
from __future__ import annotations

from typing import Any

from browser_support import (  # noqa: F401
    browser,
    fill_actualisation,
    live_server,
    needs_browser,
    page,
)
from conftest import PASSWORD
from test_browser import FOCUSED_BUTTON, axe_clean

pytestmark = needs_browser


def _focused_button(page: Any) -> str | None:
    return page.evaluate(  # type: ignore[no-any-return]
        "() => { const e = document.activeElement;"
        " return e && e.tagName === 'BUTTON' ? e.textContent.trim() : null; }")


def test_actualisation_preview_copy_first_then_send_and_the_flash_is_announced(
        page: Any) -> None:
    page.goto("/login")
    page.fill("#username", "secretary")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")

    # The form, filled in quickly: what is tested here is the preview and the sent page.
    page.goto("/forms/actualisation")
    fill_actualisation(page)
    page.fill("#text", "Behöver hjälp med inköp.")
    page.get_by_role("button", name="Granska begäran").last.click()
    page.wait_for_selector("text=Granska innan du skickar")

    # The copy step is on the page, before the message, and the send button refers to it.
    warning = page.locator("#copy-first")
    assert "Kopiera meddelandet nu – du kan inte se texten efter att du skickat." in (
        warning.inner_text())
    send = page.get_by_role("button", name="Skicka", exact=True)
    assert send.get_attribute("aria-describedby") == "copy-first"
    axe_clean(page, "actualisation preview")

    # By keyboard from the top of the page: the copy button comes before the send button.
    page.locator("main").focus()
    reached: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        label = _focused_button(page)
        if label and label not in reached:
            reached.append(label)
        if label == "Skicka":
            break
    assert "Kopiera meddelandet" in reached and "Skicka" in reached, reached
    assert reached.index("Kopiera meddelandet") < reached.index("Skicka"), reached

    # Copying takes the message exactly as shown.
    message = page.locator("#message-text").inner_text()
    page.get_by_role("button", name="Kopiera meddelandet").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".copy-status:not(:empty)")  # no string eval: the CSP forbids it
    assert page.evaluate("navigator.clipboard.readText()").strip() == message.strip()
    assert "Tolvan Tolvansson" in message

    # Send by keyboard; the submission page says it was sent, as a status message.
    assert page.evaluate(FOCUSED_BUTTON, "Kopiera meddelandet")
    for _ in range(5):
        page.keyboard.press("Tab")
        if _focused_button(page) == "Skicka":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/submissions/*")
    status = page.get_by_role("status").filter(has_text="skickad")
    assert status.count() == 1
    assert status.inner_text().strip() == "Begäran om aktualisering är skickad till LVS."
    # The text is LVS's now; the page reminds the sender where the message goes.
    assert "Tolvan" not in page.content()
    assert "Texten visas inte för dig efter att du skickat" in page.locator("main").inner_text()
    axe_clean(page, "sent actualisation, as its sender")
