"""Issue 14 items 2 and 3 in a real browser. Enter in a text field of the access order or the
actualisation reviews the form (the confirm page, or the page with its errors), with the typed
rows intact: it never loads the case's grants as removal rows and never adds an empty row. And a
fictional file is closed by keyboard through its confirmation page, which says what happens."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from browser_support import (  # noqa: F401
    browser,
    fill_actualisation,
    live_server,
    needs_browser,
    page,
)
from flask import Flask
from sqlalchemy import select
from test_browser import axe_clean, follow_link, login, press_button, tab_to

from portal.clock import today
from portal.extensions import db
from portal.models import Grant, Submission, Unit, User

pytestmark = needs_browser

CASE = "0655588"
OLD_HOLDER = "gammal09"  # holds the case in the manager's unit: what "load grants" would load


def old_grant(app: Flask) -> None:
    day = today()
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "Myndighet Centrum"))
        lvs = db.session.scalar(select(User).where(User.username == "lvs"))
        assert unit is not None and lvs is not None
        order = Submission(form="access_order", unit_id=unit.id, submitted_by_id=lvs.id,
                           case_number=CASE, status="done", data={})
        db.session.add(order)
        db.session.flush()
        db.session.add(Grant(
            case_number=CASE, username=OLD_HOLDER, full_name="Gustav Gammal",
            email=f"{OLD_HOLDER}@goteborg.se", position="socialsekreterare", unit_id=unit.id,
            unit_name=unit.name, unit_type=unit.unit_type, valid_from=day - timedelta(days=5),
            valid_to=day + timedelta(days=100), granted_by_id=lvs.id, order_id=order.id))
        db.session.commit()


def reviewed(page: Any) -> str:
    """The page a review post answers with: the confirm page, or the form with its errors."""
    page.wait_for_load_state()
    title = page.locator("h1").inner_text()
    errors = page.locator(".error-summary").count()
    assert title.startswith("Granska innan du skickar") or errors, (
        f"Enter did not review the form: {title!r}, {page.url}")
    return page.content()


def test_enter_in_a_text_field_reviews_the_access_order_with_the_rows_intact(
        page: Any, app: Flask) -> None:
    old_grant(app)
    login(page, "manager")
    page.goto("/forms/access-order")
    axe_clean(page, "access order (with its hidden default button)")
    page.fill("#case_number", CASE)
    page.fill("#persons-0-full_name", "Anna Andersson")
    page.fill("#persons-0-username", "anna01")
    page.fill("#persons-0-email", "anna.andersson@goteborg.se")
    page.select_option("#persons-0-position", "socialsekreterare")
    page.fill("#valid_from", today().isoformat())
    page.fill("#valid_to", (today() + timedelta(days=90)).isoformat())
    # Enter in a text field: the first submit button in the form is the one that runs.
    page.focus("#persons-0-email")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    content = reviewed(page)
    assert "anna01" in content and "Anna Andersson" in content  # the typed row, intact
    assert OLD_HOLDER not in content  # never the case's grants as removal rows
    assert "Raderna ersattes" not in content

    # With two rows (each with its row button) and Enter in the case number field.
    page.goto("/forms/access-order")
    page.fill("#case_number", CASE)
    page.fill("#persons-0-full_name", "Anna Andersson")
    page.fill("#persons-0-username", "anna01")
    with page.expect_navigation():
        page.get_by_role("button", name="Lägg till en person").click()
    assert page.locator(".person-row").count() == 2
    page.fill("#persons-1-full_name", "Bertil Bengtsson")
    page.fill("#persons-1-username", "bertil02")
    page.focus("#case_number")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    content = reviewed(page)
    assert "anna01" in content and "bertil02" in content
    assert OLD_HOLDER not in content and "Raderna ersattes" not in content


def test_enter_in_a_text_field_reviews_the_actualisation_without_adding_a_row(
        page: Any) -> None:
    login(page, "secretary")
    page.goto("/forms/actualisation")
    axe_clean(page, "actualisation (with its hidden default button)")
    assert page.locator(".person-row").count() == 1
    fill_actualisation(page)
    page.fill("#proposed_persons-0-position", "socialsekreterare")
    page.focus("#full_name")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    content = reviewed(page)
    assert "Tolvan Tolvansson" in content and "anna01" in content
    if page.locator("form .person-row").count():  # the errors page: still the one row
        assert page.locator(".person-row").count() == 1

    # Two rows (a "Ta bort" button in each), Enter in the second row: reviewed, still two.
    page.goto("/forms/actualisation")
    page.fill("#proposed_persons-0-full_name", "Anna Andersson")
    with page.expect_navigation():
        page.get_by_role("button", name="Lägg till en person").click()
    assert page.locator(".person-row").count() == 2
    page.fill("#proposed_persons-1-full_name", "Bertil Bengtsson")
    page.focus("#proposed_persons-1-full_name")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    reviewed(page)  # the empty form has errors: the errors page, with both rows kept
    # The hidden default button is never reached by Tab: the visible buttons are.
    assert page.locator("[data-default-submit]").get_attribute("tabindex") == "-1"
    assert page.locator(".person-row").count() == 2
    assert page.input_value("#proposed_persons-0-full_name") == "Anna Andersson"
    assert page.input_value("#proposed_persons-1-full_name") == "Bertil Bengtsson"


def test_a_manager_closes_a_fictional_file_through_its_confirmation_by_keyboard(
        page: Any, as_user: Any) -> None:
    manager = as_user("hemtjanst_manager")
    resp = manager.post("/day-notes/", data={"fictional_name": "Gunnel Gran"})
    assert resp.status_code == 303
    file_path = resp.headers["Location"]
    login(page, "hemtjanst_manager")
    page.goto(file_path)
    # The page's "Stäng akten …" is a link to the confirmation, reached and opened by keyboard.
    follow_link(page, "Stäng akten …")
    assert page.url.endswith(f"{file_path}/close")
    assert page.locator("h1").inner_text().startswith("Stäng akten")
    assert "Akten kan inte öppnas igen" in page.locator("#deleted-text").inner_text()
    axe_clean(page, "confirmation before closing a fictional file")
    # "Avbryt" is reachable by Tab after the real button, which says what it deletes.
    assert page.get_by_role("button", name="Stäng akten").get_attribute(
        "aria-describedby") == "deleted-text"
    tab_to(page, "form a.button")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Avbryt"
    page.goto(f"{file_path}/close")
    press_button(page, "Stäng akten")
    page.wait_for_url(re.compile(re.escape(file_path) + "$"))
    assert "Akten är stängd." in page.content()
    assert page.get_by_role("link", name="Stäng akten …").count() == 0
