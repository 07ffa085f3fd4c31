"""Browser tests: the portal served on 127.0.0.1 and driven by Playwright in Debian's Chromium
(/usr/bin/chromium, never a downloaded browser). Without Chromium or Playwright the tests skip with a
reason — except in CI (CI=true), where that is an error: CI installs Chromium and must run them."""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _why_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium)"
    return None


MISSING = _why_missing()
if MISSING and os.environ.get("CI") == "true":
    raise RuntimeError(f"browser tests cannot run in CI: {MISSING}")


# Module-level mark for the browser test modules: skip with the reason, never silently.
needs_browser = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


# Every browser test module imports the fixtures below, which makes each module's `browser` its own
# session fixture; Playwright's sync API allows one instance per thread, so they share one.
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session, shared by every module that imports this fixture."""
    if not _SHARED:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _SHARED.update(playwright=playwright, users=0,
                       browser=playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS))
    _SHARED["users"] += 1
    yield _SHARED["browser"]
    _SHARED["users"] -= 1
    if not _SHARED["users"]:
        _SHARED["browser"].close()
        _SHARED["playwright"].stop()
        _SHARED.clear()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app (fresh database, CSRF on as in production) on a free loopback port."""
    from werkzeug.serving import make_server

    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="sv-SE",
                                  viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Any, username: str) -> None:
    """Log in through the login form, quickly (fill, not type): for tests whose point is not the
    login page. Clears the cookies first, so it also switches users."""
    from conftest import PASSWORD

    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.press("#password", "Enter")
    assert page.url.endswith("/"), f"{username} could not log in"


def fill_actualisation(page: Any) -> None:
    """Fill in the actualisation request's required fields quickly (fill, not type), with one
    proposed person: for tests whose point is what happens after (the caller adds the rest)."""
    from portal.clock import today

    page.fill("#personnummer", "19121212-1212")
    page.fill("#full_name", "Tolvan Tolvansson")
    page.fill("#concerns", "Ansökan om hemtjänst")
    page.fill("#preliminary_case_type", "Hemtjänst")
    page.check("input[name=kind][value='ansökan']")
    page.fill("#received_date", today().isoformat())
    page.check("input[name=arrival_method][value='telefon']")
    page.fill("#arrived_from", "den enskilde")
    page.fill("#proposed_persons-0-full_name", "Anna Andersson")
    page.fill("#proposed_persons-0-username", "anna01")
