"""The audit log page in a real browser (issue 14 item 5): an admin sees where the chain breaks and
reaches that event, a bad filter is shown at its field, the page fits 375 px, axe finds nothing
serious, and the CSV link downloads a file with a Swedish name without personal data."""
from __future__ import annotations

from datetime import date
from typing import Any

from browser_support import browser, live_server, needs_browser, page  # noqa: F401
from flask import Flask
from sqlalchemy import select
from test_audit import tamper, triggers_dropped
from test_browser import axe_clean, login, tab_to, type_date

from portal import audit
from portal.clock import today
from portal.extensions import db
from portal.models import Unit

pytestmark = needs_browser
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_an_admin_finds_the_break_filters_and_downloads_the_extract(page: Any, app: Flask) -> None:
    with app.app_context():
        centrum = db.session.scalar(select(Unit.id).where(Unit.name == "Myndighet Centrum"))
        for i in range(6):
            audit.record("submission_viewed", object_type="access_order",
                         object_id=f"{i:032d}", unit_id=centrum, case_number="0655588")
        db.session.commit()
    with triggers_dropped(app):
        tamper(app, "UPDATE audit_events SET case_number = '0655599' WHERE seq = :seq", 4)
    login(page, "admin")
    page.goto("/audit")
    state = page.locator(".chain-state").inner_text()
    assert "Kedjan är bruten vid händelse 4." in state
    axe_clean(page, "audit log, chain broken (admin, 1280 px)")
    tab_to(page, 'a[href="/audit?page=1#h-4"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit?page=1#h-4")
    assert page.locator("#h-4.chain-break").is_visible()

    type_date(page, "#date_from", date(2026, 11, 20))
    type_date(page, "#date_to", date(2026, 11, 10))
    page.keyboard.press("Enter")  # the filter form's one button
    page.wait_for_url("**/audit?*date_to=2026-11-10*")
    error = page.locator("#date_to-error").inner_text()
    assert "Till och med-datumet kan inte vara före från och med-datumet." in error
    assert page.input_value("#date_to") == "2026-11-10"  # input kept
    axe_clean(page, "audit log with a filter error (1280 px)")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/audit?case=0655588")
    assert page.evaluate(FITS), "the audit page scrolls sideways at 375 px"
    axe_clean(page, "audit log filtered (375 px)")
    with page.expect_download() as download:
        page.get_by_role("link", name="Hämta som CSV-fil för Excel").click()
    assert download.value.suggested_filename == f"loggutdrag-{today().isoformat()}.csv"
