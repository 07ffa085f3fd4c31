"""User administration in a real browser (issue 15): the admin creates a user and gives it a
unit and a role with the keyboard only, a mistake is shown at its field with the input kept, and
every admin page is clean of serious and critical axe findings at 1280 and 375 px."""
from __future__ import annotations

from typing import Any

from browser_support import (  # noqa: F401
    browser,
    live_server,
    log_in,
    needs_browser,
    page,
    shot,
)
from flask import Flask
from sqlalchemy import select
from test_browser import axe_clean, tab_to, type_into

from portal.extensions import db
from portal.models import AuditEvent, Unit, User

pytestmark = needs_browser


def follow(page: Any, selector: str) -> None:
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")




def fits(page: Any, what: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{what} is {width[0]} px wide in a {width[1]} px window"


def test_the_admin_creates_a_user_and_gives_a_role_by_keyboard(page: Any, app: Flask) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, "admin")
    follow(page, 'a[href="/admin/users"]')
    follow(page, 'a[href="/admin/users/new"]')
    assert page.locator("h1").inner_text() == "Ny användare"
    # A mistake first: an e-mail outside the city's domain.
    type_into(page, "#username", "nina.ny")
    type_into(page, "#full_name", "Nina Ny")
    type_into(page, "#email", "nina@gmail.com")
    tab_to(page, "#unit")
    page.keyboard.type("Hemtj")  # the select's type-ahead picks "Hemtjänst Hisingen"
    assert page.locator("#unit option:checked").inner_text() == "Hemtjänst Hisingen"
    tab_to(page, "#roles-staff")
    page.keyboard.press("Space")
    assert page.is_checked("#roles-staff")
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "goteborg.se" in page.locator("#email-error").inner_text()
    assert page.input_value("#full_name") == "Nina Ny"  # input kept
    assert page.is_checked("#roles-staff")
    axe_clean(page, "new user with an error (1280)")
    shot(page, "admin-ny-anvandare-fel")
    # Corrected, sent by keyboard.
    type_into(page, "#email", "nina.ny@goteborg.se")
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Användare nina.ny"
    # Another role, on the roles page, by keyboard.
    follow(page, 'a[href$="/roles"]')
    tab_to(page, "#roles-planner")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Rollerna är sparade" in page.locator(".notice").inner_text()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "nina.ny"))
        assert user is not None and user.roles == {"staff", "planner"}
        assert user.unit.name == "Hemtjänst Hisingen" and user.email == "nina.ny@goteborg.se"
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"user_refused", "user_created", "user_roles_changed"} <= actions


def test_every_admin_page_is_clean_of_serious_axe_findings_at_1280_and_375(
        page: Any, app: Flask) -> None:
    with app.app_context():
        staff = db.session.scalar(select(User.public_id).where(User.username == "staff"))
        unit = db.session.scalar(select(Unit.public_id).where(Unit.name == "Myndighet Centrum"))
    paths = ["/admin/users", "/admin/users?q=s&role=staff", "/admin/users/new",
             f"/admin/users/{staff}", f"/admin/users/{staff}/roles",
             f"/admin/users/{staff}/password", "/admin/units", "/admin/units/new",
             f"/admin/units/{unit}"]
    log_in(page, "admin")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            assert page.goto(path).status == 200, path
            fits(page, f"{path} at {width}")
            axe_clean(page, f"{path} at {width}")
        shot(page, f"admin-enhet-{width}")
