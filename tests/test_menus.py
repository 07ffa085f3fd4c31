"""Issue 14, items 8 and 13 (part M): every role's menu lists what it may do and nothing else, the
start page lists the same and the blanks of its work; the set-up (login field autocomplete, a
favicon, `make run PORT=…`)."""
from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import USERS, html
from flask import Flask

from portal.forms import FORMS
from portal.menu import PAGES
from portal.web import CSP

ROOT = Path(__file__).resolve().parents[1]


class Links(HTMLParser):
    """The links inside one element (by id or tag and aria-label), with their attributes."""

    def __init__(self, inside: dict[str, str]) -> None:
        super().__init__()
        self.inside, self.depth, self.links = inside, 0, []  # type: ignore[var-annotated]
        self.tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if self.depth:
            if tag == self.tag:
                self.depth += 1
            if tag == "a":
                self.links.append(a)
        elif all(a.get(k) == v for k, v in self.inside.items()):
            self.tag, self.depth = tag, 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == self.tag:
            self.depth -= 1


def links_in(page: str, **inside: str) -> list[dict[str, Any]]:
    parser = Links({k.rstrip("_").replace("_", "-"): v for k, v in inside.items()})
    parser.feed(page)
    return parser.links


def menu(page: str) -> list[dict[str, Any]]:
    return links_in(page, aria_label="Huvudmeny")


def path_of(href: str) -> str:
    return href.split("#", 1)[0]


ROLES = [u for u in USERS if u not in ("lvs2", "other_manager")]


def candidates(app: Flask) -> set[str]:
    """Every page a menu may list: the menu's pages and every form."""
    with app.test_request_context():
        from flask import url_for

        pages = {url_for(p.endpoint) for p in PAGES if p.endpoint in app.view_functions}
    return pages | {f"/forms/{slug}" for slug in FORMS}


# --- item 8: the menu by role ------------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_the_menu_holds_exactly_the_pages_the_role_may_open(app: Flask, as_user,
                                                              username: str) -> None:
    """Each link of the menu answers 200 for its user; every page and form the menu could list
    but does not answers 403 (SPEC §2: deny by default): menu and routes agree."""
    client = as_user(username)
    hrefs = [a["href"] for a in menu(html(client.get("/")))]
    assert hrefs[0] == "/" and len(hrefs) == len(set(hrefs))
    links = [path_of(href) for href in hrefs]
    for href in links:
        assert client.get(href).status_code == 200, (username, href)
    listed = set(links)
    for href in candidates(app) - listed:
        assert client.get(href).status_code == 403, (username, href)


def test_the_social_secretary_has_more_than_start(as_user) -> None:
    """The issue's finding: the social secretary's menu had only "Start"."""
    links = {path_of(a["href"]) for a in menu(html(as_user("secretary").get("/")))}
    assert {"/forms/actualisation", "/forms/checklist", "/forms/deviation",
            "/forms/fee-handler", "/forms/trygghetsjouren"} <= links


@pytest.mark.parametrize(("username", "expected"), [
    ("staff", {"/", "/day-notes/", "/forms/deviation"}),
    ("planner", {"/", "/day-notes/"}),
    ("lvs", {"/", "/lvs/queue", "/lvs/handled", "/register", "/register/person", "/cases/close"}),
    ("admin", {"/", "/audit"}),
    ("manager", {"/", "/register", "/register/person", "/cases/close", "/day-notes/", "/audit",
                 "/forms/access-order", "/forms/deviation", "/forms/trygghetsjouren"}),
])
def test_each_role_sees_its_own_pages(as_user, username: str, expected: set[str]) -> None:
    links = {path_of(a["href"]) for a in menu(html(as_user(username).get("/")))}
    assert expected <= links, expected - links
    # Nothing of another role's work (the planner: the planner's tasks only, SPEC §2).
    others = {"/lvs/queue", "/register", "/audit", "/cases/close", "/forms/access-order",
              "/forms/actualisation", "/forms/checklist"} - expected
    assert not others & links, others & links


def test_the_planner_on_paper_day_notes_has_no_day_notes_link(app: Flask, as_user) -> None:
    """With DAY_NOTES_DIGITAL off a planner has nothing to compile in the portal: neither the
    menu nor the start page links the day notes (they agree), staff still get the sheets."""
    app.config["DAY_NOTES_DIGITAL"] = False
    planner = html(as_user("planner").get("/"))
    assert "/day-notes/" not in {path_of(a["href"]) for a in menu(planner)}
    assert "/day-notes/" not in {a["href"] for a in links_in(planner, class_="actions")}
    staff = html(as_user("staff").get("/"))
    assert "/day-notes/" in {path_of(a["href"]) for a in menu(staff)}
    assert "blankett med det fiktiva namnet" in staff


def test_the_current_page_is_marked(app: Flask, as_user) -> None:
    manager = as_user("manager")

    def current(path: str) -> dict[str, str]:
        return {path_of(a["href"]): a["aria-current"] for a in menu(html(manager.get(path)))
                if a.get("aria-current")}

    assert current("/") == {"/": "page"}
    assert current("/register") == {"/register": "page"}
    assert current("/forms/access-order") == {"/forms/access-order": "page"}
    # A page below a menu entry marks it "true", not "page" (WAI-ARIA aria-current).
    file_id = _a_fictional_file(manager)
    assert current(f"/day-notes/{file_id}") == {"/day-notes/": "true"}
    assert current("/forms/no-such-form") == {}  # the 404 page: nothing current


def _a_fictional_file(client: Any) -> str:
    resp = client.post("/day-notes/", data={"fictional_name": "Rosa Lind", "case_number": ""})
    assert resp.status_code == 303
    return str(resp.headers["Location"]).rstrip("/").rsplit("/", 1)[1]


@pytest.mark.parametrize("username", ROLES)
def test_the_start_page_lists_what_the_menu_lists(as_user, username: str) -> None:
    page = html(as_user(username).get("/"))
    in_menu = {path_of(a["href"]) for a in menu(page)} - {"/"}
    on_start = {a["href"] for a in links_in(page, class_="actions") if "/blank/" not in a["href"]}
    assert on_start == in_menu


def test_the_blank_checklist_is_with_the_other_blanks(as_user) -> None:
    """Built from the registry (has_blank): the blanks of the forms the user fills in or
    processes, and the day-note sheet for those of the day notes; each is served."""
    secretary = as_user("secretary")
    page = html(secretary.get("/"))
    blanks = {a["href"] for a in links_in(page, id="blanketter")}
    assert {"/blank/checklist.pdf", "/blank/actualisation.pdf", "/blank/deviation.pdf"} <= blanks
    assert "/blank/access-order.pdf" not in blanks  # a unit manager's form
    assert "Checklista vid ärenden med skyddade personuppgifter (PDF)" in page
    # The menu leads to them.
    assert "/#blanketter" in {a["href"] for a in menu(page)}
    lvs = {a["href"] for a in links_in(html(as_user("lvs").get("/")), id="blanketter")}
    assert {"/blank/access-order.pdf", "/blank/actualisation.pdf"} <= lvs  # what LVS processes
    staff = {a["href"] for a in links_in(html(as_user("staff").get("/")), id="blanketter")}
    assert {"/blank/deviation.pdf", "/blank/day-notes.pdf"} <= staff
    resp = secretary.get("/blank/checklist.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"


def test_a_user_with_no_blanks_gets_no_blank_link(as_user) -> None:
    page = html(as_user("admin").get("/"))
    assert 'id="blanketter"' not in page
    assert "/#blanketter" not in {a["href"] for a in menu(page)}


def test_nobody_logged_in_has_no_menu(client) -> None:
    assert menu(html(client.get("/login"))) == []


# --- item 13: set-up ----------------------------------------------------------------------------


def _input(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert found, name
    return found.group(0)


def test_the_login_fields_say_what_they_are_for_the_password_manager(client, as_user) -> None:
    page = html(client.get("/login"))
    assert 'autocomplete="username"' in _input(page, "username")
    assert 'autocomplete="current-password"' in _input(page, "password")
    assert 'type="password"' in _input(page, "password")
    # Asked again before protected content (portal/views/auth.py reauth): the same password.
    reauth = html(as_user("lvs").get("/reauth"))
    assert 'autocomplete="current-password"' in _input(reauth, "password")


def test_a_favicon_is_linked_served_and_kept_long(client) -> None:
    page = html(client.get("/login"))
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link and link.group(1) == "/static/favicon.svg"  # same origin, no network fetch
    assert "img-src 'self'" in CSP  # the CSP admits it
    with client.get(link.group(1)) as resp:  # a static file: closed when read
        assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
        assert resp.data.lstrip().startswith(b"<svg") and b"<script" not in resp.data
        assert resp.cache_control.max_age == 365 * 24 * 3600 and resp.cache_control.public
        assert not resp.cache_control.no_store and not resp.cache_control.no_cache
    # The style sheet is not kept long (it changes with a release).
    with client.get("/static/css/portal.css") as css:
        assert css.status_code == 200 and css.cache_control.max_age is None


def _make_run(*args: str) -> str:
    # Under `make test` the environment carries the outer make's flags (MAKEFLAGS, MAKELEVEL),
    # which make the inner one print "Entering/Leaving directory": run it as a user would.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True, env=env)
    return result.stdout.strip().splitlines()[-1]


def test_make_run_takes_a_port() -> None:
    assert _make_run("PORT=5001").endswith("flask --app portal run --host 127.0.0.1 --port 5001")
    assert _make_run().endswith("--port 5000")
