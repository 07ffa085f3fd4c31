"""The start page's follow-ups in a real browser (issue 16, part E): the section fits 375 and
1280 px and is clean of serious axe findings, and "Klar" removes a follow-up with the page's own
form and token."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from browser_support import SHOTS, browser, live_server, log_in, needs_browser  # noqa: F401
from flask import Flask
from test_browser_layout import State, check_state, context_at  # noqa: F401
from test_follow_ups import remember, rows

from portal.clock import today

pytestmark = needs_browser


def test_the_follow_ups_fit_both_widths_and_are_clean_of_axe_findings(
        app: Flask, context_at: Callable[[str], Any]) -> None:  # noqa: F811
    day = today()
    remember(app, "secretary", "0655588", "checklist", day + timedelta(days=80))
    remember(app, "secretary", "0655599", "local_protection", day + timedelta(days=10))
    remember(app, "manager", "0700003", "local_protection", day + timedelta(days=40))
    problems: list[str] = []
    for viewport in ("375px", "1280px"):
        page = context_at(viewport)
        for user in ("secretary", "manager"):
            log_in(page, user)
            problems += check_state(page, State(user, "/"), {}, viewport)
            assert page.locator("#follow-ups-title").is_visible()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"follow-ups-{user}-{viewport}.png"), full_page=True)
    assert not problems, "\n".join(problems)


def test_klar_removes_the_follow_up(app: Flask, context_at: Callable[[str], Any]) -> None:  # noqa: F811
    remember(app, "secretary", "0655588", "checklist", today() + timedelta(days=5))
    page = context_at("1280px")
    log_in(page, "secretary")
    with page.expect_navigation():
        page.get_by_role("button", name="Klar").click()
    assert page.url.endswith("/")
    assert "Uppföljningen är markerad som klar" in page.content()
    assert rows(app) == []
