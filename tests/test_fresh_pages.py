"""Every page is rendered for its request (issue 12, item 4): what the database holds now shows
on the next request, without waiting for midnight or a restart. A unit added while the app runs
is offered on the deviation and actualisation forms at once (the kept pages of
portal/render/kept.py named neither the units table nor the day's changes to it, and served the
old list), a changed name shows in the header, each user sees their own values and menu, and
every form carries this session's own CSRF token."""
from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, login, order_form
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import select

from portal.extensions import db
from portal.models import Unit, User

TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')
NEW_UNIT = "Boende Nordost Solrosen"


def _page(client: FlaskClient, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def _fresh_client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 303
    return client


def _csrf_login(app: Flask, username: str) -> FlaskClient:
    """A client logged in through the login form with its CSRF token (CSRF checks on)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token.group(1)}).status_code == 303
    return client


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    return app


# --- the regression: a unit added while the app runs --------------------------------------------


# The deviation report offered every unit until issue 14 (part D): now its unit is the
# reporter's own, from the login, and the actualisation's receiving unit is the list to check.
@pytest.mark.parametrize(("slug", "username"), [("actualisation", "secretary")])
def test_a_unit_added_with_the_cli_is_offered_on_the_next_get(app: Flask, slug: str,
                                                               username: str) -> None:
    client = _fresh_client(app, username)
    assert NEW_UNIT not in _page(client, f"/forms/{slug}")  # the form as it was, seen once
    result = app.test_cli_runner().invoke(
        args=["units", "create", NEW_UNIT, "--type", "boende", "--district", "Nordost"]
    )
    assert result.exit_code == 0, result.output
    assert f'value="{NEW_UNIT}"' in _page(client, f"/forms/{slug}")
    # Another user of the same name and unit gets the same fresh list.
    assert f'value="{NEW_UNIT}"' in _page(_fresh_client(app, username), f"/forms/{slug}")


def test_a_unit_added_through_the_model_is_offered_on_the_next_get(app: Flask) -> None:
    client = _fresh_client(app, "secretary")
    assert NEW_UNIT not in _page(client, "/forms/actualisation")
    with app.app_context():
        db.session.add(Unit(name=NEW_UNIT, unit_type="boende", city_district="Nordost"))
        db.session.commit()
    assert f'value="{NEW_UNIT}"' in _page(client, "/forms/actualisation")


def test_a_changed_name_shows_in_the_header_on_the_next_request(app: Flask) -> None:
    client = _fresh_client(app, "staff")
    assert "Stina Medarbetare (Hemtjänst Hisingen)" in _page(client, "/")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff"))
        assert user is not None
        user.full_name = "Stina Nyberg"
        db.session.commit()
    page = _page(client, "/")
    assert "Stina Nyberg (Hemtjänst Hisingen)" in page and "Stina Medarbetare" not in page
    # The form's prefill reads the name of this request too.
    assert "Stina Nyberg" in _page(client, "/forms/deviation")


# --- each user's own page (moved from tests/test_kept_html.py) ----------------------------------


def _masked(app: Flask, username: str, path: str) -> str:
    """The page as this user gets it in a session of its own, the CSRF tokens masked."""
    return TOKEN.sub(r'\1…"', _page(_fresh_client(app, username), path))


def test_each_user_sees_their_own_values_on_a_form(app: Flask) -> None:
    centrum = _masked(app, "manager", "/forms/access-order")
    hisingen = _masked(app, "hemtjanst_manager", "/forms/access-order")
    # The ordering unit is shown as a fact of the page (issue 11, M1), not as a field's value.
    assert "<dd>Myndighet Centrum</dd>" in centrum
    assert "<dd>Hemtjänst Hisingen</dd>" in hisingen and "Myndighet Centrum" not in hisingen
    assert _masked(app, "manager", "/forms/access-order") == centrum
    assert "Stina Medarbetare" in _masked(app, "staff", "/forms/deviation")


def test_the_next_day_the_form_is_prefilled_with_that_day(app: Flask) -> None:
    with freeze_time("2026-11-24 10:00"):
        first = _masked(app, "secretary", "/forms/checklist")
    with freeze_time("2026-11-25 10:00"):
        second = _masked(app, "secretary", "/forms/checklist")
    assert 'value="2026-11-24"' in first and 'value="2026-11-25"' in second


def test_each_user_sees_their_own_menu(app: Flask) -> None:
    lvs, staff = _masked(app, "lvs", "/"), _masked(app, "staff", "/")
    assert "LVS-kö" in lvs and "LVS-kö" not in staff
    assert "Stina Medarbetare" in staff and "Stina Medarbetare" not in lvs


# --- this session's own CSRF token (moved from tests/test_kept_html.py) -------------------------


def test_a_form_page_carries_the_sessions_own_valid_token(csrf_app: Flask) -> None:
    tokens = []
    for _ in range(2):
        client = _csrf_login(csrf_app, "manager")
        page = _page(client, "/forms/access-order")
        form_token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"',
                               page)
        assert form_token, "the form carries a CSRF token"
        tokens.append(form_token.group(1))
        # The token in the page is this session's: the order goes through with it.
        resp = client.post("/forms/access-order",
                           data=order_form(csrf_token=form_token.group(1)))
        assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    assert tokens[0] != tokens[1]


def test_the_checklist_import_form_carries_the_sessions_own_token(csrf_app: Flask) -> None:
    tokens = []
    for _ in range(2):
        client = _csrf_login(csrf_app, "secretary")
        page = _page(client, "/forms/checklist")
        form = re.search(r'<form[^>]*action="/forms/checklist/import".*?</form>', page, re.S)
        assert form, "the checklist page has its import form"
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0))
        assert token
        tokens.append(token.group(1))
        resp = client.post("/forms/checklist/import",
                           data={"csrf_token": token.group(1), "text": "ingen checklista"})
        assert resp.status_code == 422  # refused as no checklist, not 400 for a wrong token
    assert tokens[0] != tokens[1]


def test_logout_works_with_the_token_in_the_header(csrf_app: Flask) -> None:
    tokens = []
    for _ in range(2):
        client = _csrf_login(csrf_app, "staff")
        logout = re.search(r'<form class="logout".*?value="([^"]+)"', _page(client, "/"), re.S)
        assert logout
        tokens.append(logout.group(1))
        assert client.post("/logout", data={"csrf_token": logout.group(1)}).status_code == 303
        assert client.get("/").status_code == 302  # logged out
    assert tokens[0] != tokens[1]
