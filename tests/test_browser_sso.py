"""Issue 15, part O in a real browser: Chromium signs in with the city account through the real
OpenID provider (tests/oidc_support.py), reaches its start page, and logs out of both the portal
and the provider (RP-initiated logout) back to the login page."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import ARGS, browser, needs_browser, shot  # noqa: F401
from flask import Flask
from oidc_support import Provider, needs_node, oidc_provider  # noqa: F401

from portal import sso

pytestmark = [needs_browser, needs_node]


@pytest.fixture
def sso_server(app: Flask, oidc_provider: Provider) -> Iterator[str]:  # noqa: F811
    """The test app with the provider configured, served on the port the provider knows as the
    client's redirect URI (tests/oidc_support.py)."""
    from werkzeug.serving import make_server

    app.config.update(oidc_provider.portal_config(), WTF_CSRF_ENABLED=True)
    sso.init_app(app)
    server = make_server("127.0.0.1", oidc_provider.browser_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{oidc_provider.browser_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def sso_page(browser: Any, sso_server: str) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(base_url=sso_server, locale="sv-SE",
                                  viewport={"width": 1200, "height": 900})
    # The provider's development pages import a web font; nothing leaves the machine.
    context.route("https://fonts.googleapis.com/**", lambda route: route.abort())
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def test_sign_in_with_the_city_account_and_log_out_of_both(
        sso_page: Any, sso_server: str, oidc_provider: Provider) -> None:  # noqa: F811
    page = sso_page
    page.goto("/login")
    page.get_by_role("link", name="Logga in med stadens konto").click()
    # The provider's own sign-in form (its development interaction: any password).
    page.wait_for_url(f"{oidc_provider.issuer}/interaction/**")
    page.fill("input[name=login]", "lvs")
    page.fill("input[name=password]", "valfritt")
    page.click("button[type=submit]")
    page.wait_for_url(f"{sso_server}/")
    shot(page, "sso-signed-in")
    assert "Lena LVS" in page.content()
    page.goto("/lvs/queue")
    assert page.url == f"{sso_server}/lvs/queue"
    # Logging out of the portal asks the provider to end its session too.
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{oidc_provider.issuer}/session/end**")
    page.click("button[name=logout][value=yes]")
    page.wait_for_url(f"{sso_server}/login?**")
    assert "Du är utloggad." in page.content()
    # The provider's session is gone as well: the next sign-in asks for the login again.
    page.get_by_role("link", name="Logga in med stadens konto").click()
    page.wait_for_url(f"{oidc_provider.issuer}/interaction/**")
    assert page.locator("input[name=login]").is_visible()


def test_a_first_sign_in_sees_one_page_to_contact_the_administrator(
        sso_page: Any, sso_server: str, oidc_provider: Provider) -> None:  # noqa: F811
    from test_browser_layout import AXE, axe_script

    page = sso_page
    page.goto("/login")
    # The login page with the city account's button: clean of serious and critical axe findings.
    page.evaluate(axe_script())
    assert page.evaluate(AXE) == []
    page.get_by_role("link", name="Logga in med stadens konto").click()
    page.wait_for_url(f"{oidc_provider.issuer}/interaction/**")
    page.fill("input[name=login]", "helt.ny")
    page.fill("input[name=password]", "valfritt")
    page.click("button[type=submit]")
    page.wait_for_url(f"{sso_server}/login/sso/callback**")
    assert page.get_by_role("heading", level=1).inner_text() == "Kontakta systemförvaltaren"
    page.evaluate(axe_script())
    assert page.evaluate(AXE) == []
    shot(page, "sso-waiting")
    # No session: the start page sends them to the login page.
    page.goto("/")
    assert page.url.startswith(f"{sso_server}/login")
