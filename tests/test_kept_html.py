"""HTML kept in memory (portal/render/kept.py): a form's empty page (portal/views/forms.py) and the
site header (portal/web.py). A kept page must be exactly what a fresh render gives, for every form
and everyone who may fill it in, with this session's own CSRF tokens, and never show another
user's values."""
from __future__ import annotations

import io
import re

import pytest
from conftest import PASSWORD, UNITS, USERS, login, order_form
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time

from portal.forms import FORMS

UNIT_TYPES = {name: unit_type for name, unit_type, _district in UNITS}
# Every (form, user) pair where the user may open the form: role, and for some forms unit type.
PAIRS = [
    (spec.slug, username)
    for spec in FORMS.values()
    for username, (_name, unit, roles) in USERS.items()
    if set(roles) & spec.submit_roles
    and UNIT_TYPES[unit] in spec.extra.get("unit_types", UNIT_TYPES.values())
]


TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


def _page(app: Flask, username: str, slug: str) -> tuple[int, str]:
    """The page as this user gets it, each in a session of its own (the logout form's CSRF token,
    signed per session, is masked)."""
    client = app.test_client()
    assert login(client, username).status_code == 303
    resp = client.get(f"/forms/{slug}")
    return resp.status_code, TOKEN.sub(r'\1…"', resp.get_data(as_text=True))


@pytest.mark.parametrize(("slug", "username"), PAIRS)
def test_the_kept_page_is_the_page_a_fresh_render_gives(app: Flask, slug: str,
                                                        username: str) -> None:
    app.config["TEMPLATES_AUTO_RELOAD"] = True  # development: rendered every time
    fresh = _page(app, username, slug)
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    first = _page(app, username, slug)
    kept = _page(app, username, slug)
    assert first == kept == fresh
    assert fresh[0] == 200


def test_a_kept_page_never_shows_another_users_values(app: Flask) -> None:
    _, centrum = _page(app, "manager", "access-order")
    _, hisingen = _page(app, "hemtjanst_manager", "access-order")
    # The ordering unit is shown as a fact of the page (issue 11, M1), not as a field's value.
    assert "<dd>Myndighet Centrum</dd>" in centrum
    assert "<dd>Hemtjänst Hisingen</dd>" in hisingen and "Myndighet Centrum" not in hisingen
    _, again = _page(app, "manager", "access-order")
    assert again == centrum
    _, deviation = _page(app, "staff", "deviation")
    assert "Stina Medarbetare" in deviation


def test_the_next_day_gets_its_own_page(app: Flask) -> None:
    with freeze_time("2026-11-24 10:00"):
        _, first = _page(app, "secretary", "checklist")
    with freeze_time("2026-11-25 10:00"):
        _, second = _page(app, "secretary", "checklist")
    assert 'value="2026-11-24"' in first and 'value="2026-11-25"' in second


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _csrf_login(app: Flask, username: str) -> FlaskClient:
    """A client logged in through the login form with its CSRF token (CSRF checks on)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token.group(1)}).status_code == 303
    return client


def test_each_kept_page_carries_the_sessions_own_valid_token(csrf_app: Flask) -> None:
    tokens = []
    for _ in range(2):
        client = _csrf_login(csrf_app, "manager")
        page = client.get("/forms/access-order").get_data(as_text=True)
        assert "csrf-slot-" not in page
        form_token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"',
                               page)
        assert form_token, "the form carries a CSRF token"
        tokens.append(form_token.group(1))
        # The token in the kept page is this session's: the order goes through with it.
        resp = client.post("/forms/access-order",
                           data=order_form(csrf_token=form_token.group(1)))
        assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    assert tokens[0] != tokens[1]


class _Recorder:
    """Stands for the user in a prefill function and notes every attribute it reads."""

    def __init__(self, seen: set[str], path: str = "") -> None:
        self._seen, self._path = seen, path

    def __getattr__(self, name: str) -> object:
        path = f"{self._path}{name}"
        self._seen.add(path)
        if name == "unit":
            return _Recorder(self._seen, "unit.")
        return "Testvärde"


@pytest.mark.parametrize("slug", sorted(s.slug for s in FORMS.values() if s.prefill))
def test_prefill_reads_only_what_the_kept_page_is_keyed_by(app: Flask, slug: str) -> None:
    """The key of a kept page (portal/views/forms.py) is the user's name and unit, the day and the
    language: a prefill that read anything else (an e-mail address, a role) would show one user's
    value to another."""
    spec = next(s for s in FORMS.values() if s.slug == slug)
    seen: set[str] = set()
    with app.test_request_context():
        spec.prefill(spec.form_class(), _Recorder(seen))  # type: ignore[misc]
    allowed = {"full_name", "unit", "unit.id", "unit.name", "unit.unit_type",
               "unit.city_district"}
    assert seen <= allowed, seen - allowed


def test_the_checklist_import_form_carries_the_sessions_own_token(csrf_app: Flask) -> None:
    """csrf_token() called inside kept content (the checklist's import form) is this session's."""
    tokens = []
    for _ in range(2):
        client = _csrf_login(csrf_app, "secretary")
        page = client.get("/forms/checklist").get_data(as_text=True)
        form = re.search(r'<form[^>]*action="/forms/checklist/import".*?</form>', page, re.S)
        assert form, "the checklist page has its import form"
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0))
        assert token and "csrf-slot-" not in token.group(1)
        tokens.append(token.group(1))
        resp = client.post("/forms/checklist/import",
                           data={"csrf_token": token.group(1), "file": (io.BytesIO(b"x"), "a.pdf")},
                           content_type="multipart/form-data")
        assert resp.status_code == 422  # refused as no checklist, not 400 for a wrong token
    assert tokens[0] != tokens[1]


# --- the site header (portal/web.py: site_header) ---------------------------------------------


def _start(app: Flask, username: str) -> str:
    client = app.test_client()
    assert login(client, username).status_code == 303
    return TOKEN.sub(r'\1…"', client.get("/").get_data(as_text=True))


@pytest.mark.parametrize("username", sorted(USERS))
def test_the_kept_header_is_the_header_a_fresh_render_gives(app: Flask, username: str) -> None:
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    fresh = _start(app, username)
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    assert _start(app, username) == _start(app, username) == fresh
    assert USERS[username][0] in fresh


def test_the_kept_header_shows_each_user_their_own_menu(app: Flask) -> None:
    lvs, staff = _start(app, "lvs"), _start(app, "staff")
    assert "LVS-kö" in lvs and "LVS-kö" not in staff
    assert "Stina Medarbetare" in staff and "Stina Medarbetare" not in lvs


def test_logout_works_with_the_token_in_the_kept_header(csrf_app: Flask) -> None:
    tokens = []
    for _ in range(2):
        client = _csrf_login(csrf_app, "staff")
        page = client.get("/").get_data(as_text=True)
        logout = re.search(r'<form class="logout".*?value="([^"]+)"', page, re.S)
        assert logout and "csrf-slot-" not in logout.group(1)
        tokens.append(logout.group(1))
        assert client.post("/logout", data={"csrf_token": logout.group(1)}).status_code == 303
        assert client.get("/").status_code == 302  # logged out
    assert tokens[0] != tokens[1]


def test_a_store_of_kept_html_is_bounded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.render import kept

    monkeypatch.setattr(kept, "MAX_ENTRIES", 3)
    made: list[int] = []
    with app.app_context():
        for i in range(10):
            assert kept.kept("bounded", i, lambda i=i: made.append(i) or f"<p>{i}</p>") == f"<p>{i}</p>"
        assert kept.kept("bounded", 9, lambda: "never made") == "<p>9</p>"  # kept, not made again
        assert len(app.extensions["portal_kept_bounded"]) <= 3
    assert made == list(range(10))
