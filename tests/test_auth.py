"""Logging in and staying logged in (SPEC §2, §6): one generic message for a wrong name or password,
lockout after repeated failures, session cookies that die at logout and after 15 idle minutes, CSRF
on every POST, and the headers every page carries."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD, login, order_form
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import func, select

from portal.clock import today
from portal.extensions import db
from portal.models import Submission

GENERIC = "Fel användarnamn eller lösenord."
COOKIE = "skydd_session"


def text(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined]


def test_wrong_password_and_unknown_user_get_the_same_generic_message(client: FlaskClient) -> None:
    wrong = login(client, "manager", "inte rätt lösenord")
    unknown = login(client, "finns_inte", "inte rätt lösenord")
    assert wrong.status_code == unknown.status_code
    assert wrong.status_code in (401, 422)
    assert GENERIC in text(wrong) and GENERIC in text(unknown)
    # Nothing else tells the two apart: the pages differ only in the username echoed back (and the
    # CSRF token, which carries the second it was made in: two logins can straddle a second).
    def same(page: str, name: str) -> str:
        return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "TOKEN", page).replace(name, "X")

    assert same(text(wrong), "manager") == same(text(unknown), "finns_inte")


def test_five_failures_make_this_address_wait_even_for_the_right_password(
        app: Flask, client: FlaskClient) -> None:
    """Issue 11 (M6, L1): the address that failed five times waits, and is answered exactly like
    a wrong password (once a 429 saying "låst"); other addresses and accounts are not affected."""
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "manager", "inte rätt lösenord").status_code != 303
    locked = login(client, "manager")
    assert locked.status_code == 422
    assert GENERIC in text(locked)
    assert "/" not in locked.headers.get("Location", "")
    # Another account is not affected, nor the same account from another address.
    assert login(app.test_client(), "lvs").status_code == 303
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert login(elsewhere, "manager").status_code == 303


def test_lock_ends_after_the_lockout_period(app: Flask) -> None:
    with freeze_time() as frozen:
        client = app.test_client()
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            login(client, "manager", "inte rätt lösenord")
        assert login(client, "manager").status_code == 422
        frozen.tick(app.config["LOGIN_LOCKOUT"] + timedelta(seconds=1))
        assert login(client, "manager").status_code == 303


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient) -> None:
    resp = login(client, "manager")
    assert resp.status_code == 303
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]
    assert cookies, resp.headers
    attrs = [a.strip().lower() for a in cookies[-1].split(";")]
    assert "httponly" in attrs
    assert any(a.startswith("samesite=") and a != "samesite=none" for a in attrs)


def test_logout_makes_an_old_copy_of_the_session_cookie_useless(app: Flask) -> None:
    client = app.test_client()
    assert login(client, "manager").status_code == 303
    assert client.get("/").status_code == 200
    stolen = client.get_cookie(COOKIE)
    assert stolen is not None
    copy = stolen.value

    resp = client.post("/logout")
    assert resp.status_code == 303
    assert resp.headers["Location"].split("?")[0].endswith("/login")

    thief = app.test_client()
    thief.set_cookie(COOKIE, copy)
    again = thief.get("/")
    assert again.status_code == 302
    assert again.headers["Location"].split("?")[0].endswith("/login")
    assert thief.get("/register").status_code == 302


def test_logout_needs_post(app: Flask, as_user) -> None:
    client = as_user("manager")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_sixteen_idle_minutes_log_the_user_out(app: Flask) -> None:
    with freeze_time() as frozen:
        client = app.test_client()
        assert login(client, "manager").status_code == 303
        frozen.tick(timedelta(minutes=14))
        assert client.get("/").status_code == 200  # activity resets the clock
        frozen.tick(timedelta(minutes=14))
        assert client.get("/").status_code == 200
        frozen.tick(timedelta(minutes=16))
        resp = client.get("/register")
        assert resp.status_code == 302
        assert resp.headers["Location"].split("?")[0].endswith("/login")
        # And it stays logged out.
        assert client.get("/").status_code == 302


# --- CSRF (SPEC §6: a missing or wrong token answers 400) -------------------------------------


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, "no csrf_token on the page"
    return match.group(1)


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_login_without_csrf_token_is_400_and_with_it_works(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    assert login(client, "manager", csrf=False).status_code == 400
    assert client.post("/login", data={"username": "manager", "password": PASSWORD,
                                       "csrf_token": "fel"}).status_code == 400
    token = csrf_token(text(client.get("/login")))
    resp = client.post("/login", data={"username": "manager", "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 303


def test_access_order_without_csrf_token_is_400_and_stores_nothing(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    token = csrf_token(text(client.get("/login")))
    assert client.post("/login", data={"username": "manager", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 303
    day = today()
    data = order_form(valid_from=day.isoformat(), valid_to=(day + timedelta(days=30)).isoformat())

    assert client.post("/forms/access-order", data=data, csrf=False).status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0

    token = csrf_token(text(client.get("/forms/access-order")))
    resp = client.post("/forms/access-order", data={**data, "csrf_token": token})
    assert resp.status_code == 303
    assert client.post("/logout", csrf=False).status_code == 400  # logout is a POST too
    token = csrf_token(text(client.get("/")))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/", "/forms/access-order", "/register", "/audit"])
def test_pages_are_not_cached_and_carry_security_headers(app: Flask, as_user, path: str) -> None:
    client = as_user("manager") if path != "/login" else app.test_client()
    resp = client.get(path)
    assert resp.status_code == 200
    assert "no-store" in resp.headers.get("Cache-Control", "")
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def test_files_are_not_cached_either(app: Flask, as_user) -> None:
    resp = as_user("manager").get("/blank/access-order.pdf")
    assert resp.status_code == 200
    assert "no-store" in resp.headers.get("Cache-Control", "")


def test_only_the_login_has_rate_limits(app: Flask) -> None:
    """Flask-Limiter as documented: no default limits, one per-view limit on the login. No other
    view is limited (a limit there would turn away staff at work), and the login's applies."""
    portal_dir = Path(__file__).resolve().parents[1] / "portal"
    limited = [
        f"{path.relative_to(portal_dir)}:{no}"
        for path in sorted(portal_dir.rglob("*.py"))
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.match(r"\s*@limiter\.limit", line)
    ]
    assert limited and all(place.startswith("views/auth.py:") for place in limited), limited
    app.config["LOGIN_RATE_PER_ADDRESS"] = "1 per hour"
    client = app.test_client()
    assert login(client, "manager").status_code == 303
    for _ in range(5):  # pages and posts of a logged-in user: never counted
        for resp in (client.get("/"), client.get("/forms/access-order"),
                     client.post("/forms/access-order", data=order_form(case_number="x"))):
            assert resp.status_code in (200, 422)
            assert "X-RateLimit-Limit" not in resp.headers
    other = app.test_client()
    assert login(other, "manager", "wrong password").status_code == 422
    assert login(other, "manager", "wrong password").status_code == 429  # the login's limit


def test_the_session_cookie_is_sent_again_only_when_the_last_activity_moved(app: Flask) -> None:
    """last_seen is written at most once a minute: between, a page sends no new cookie (a signed
    cookie less per request); after a minute it does, and the idle clock counts from there."""
    with freeze_time() as frozen:
        client = app.test_client()
        assert login(client, "manager").status_code == 303
        client.get("/")  # the first page after login may put a new CSRF token in the session
        frozen.tick(timedelta(seconds=20))
        resp = client.get("/")
        assert resp.status_code == 200
        assert "Set-Cookie" not in resp.headers
        frozen.tick(timedelta(seconds=50))
        resp = client.get("/")
        assert resp.status_code == 200
        assert "skydd_session=" in resp.headers.get("Set-Cookie", "")
        frozen.tick(timedelta(minutes=14, seconds=30))
        assert client.get("/").status_code == 200  # 14.5 min after the last written activity
        frozen.tick(timedelta(minutes=15, seconds=1))
        assert client.get("/").status_code == 302
