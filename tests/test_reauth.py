"""Re-authentication before reading protected content (ASVS V3.7.1): LVS gives its password
again before it reads an actualisation request's content (the personnummer, §2.4) when it last did
so more than REAUTH_MINUTES ago. The way back after /reauth goes to a local path only; a wrong
password counts as a failed login (lockout, audit)."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import PASSWORD, login, order_form
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import select
from test_auth import csrf_token
from test_routes_by_role import PNR, actualisation_form, created_id, deviation_form

from portal.auth import throttle_key, throttled
from portal.clock import utcnow
from portal.extensions import db
from portal.models import AuditEvent, LoginThrottle, User
from portal.views.auth import REAUTH_FAILURE, local_path

SUFFIXES = ("", "/pdf", "/message", ".json")
JUST_OVER = timedelta(minutes=5, seconds=1)


def actualisation(app: Flask) -> str:
    client = app.test_client()
    assert login(client, "secretary").status_code == 303
    return created_id(client.post("/forms/actualisation", data=actualisation_form()),
                      "/submissions/")


def lvs(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert login(client, "lvs").status_code == 303
    return client


def reauth(client: FlaskClient, next_path: str, password: str = PASSWORD, *,
           csrf: bool = True) -> Any:
    options = {} if csrf else {"csrf": False}
    return client.post("/reauth", query_string={"next": next_path}, data={"password": password},
                       **options)


def sent_to_reauth(resp: Any, path: str) -> None:
    assert resp.status_code == 303, resp.status
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/reauth"
    assert parse_qs(location.query) == {"next": [path]}


def events(app: Flask, action: str, object_id: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        q = select(AuditEvent).where(AuditEvent.action == action)
        if object_id is not None:
            q = q.where(AuditEvent.object_id == object_id)
        rows = list(db.session.scalars(q.order_by(AuditEvent.seq)))
        for row in rows:
            db.session.expunge(row)
        return rows


def user(app: Flask, username: str) -> User:
    with app.app_context():
        row = db.session.scalar(select(User).where(User.username == username))
        assert row is not None
        db.session.expunge(row)
        return row


def failures(app: Flask, username: str, source: str = "127.0.0.1") -> int:
    """Failed logins counted for `username` from `source` (issue 11, L1: per account and
    source, no longer on the user's row)."""
    with app.app_context():
        row = db.session.scalar(select(LoginThrottle).where(
            LoginThrottle.account_key == throttle_key(username), LoginThrottle.source == source))
        return row.failures if row else 0


def test_login_sets_the_time_of_authentication(app: Flask) -> None:
    with freeze_time("2026-03-10 09:00:00"):
        client = lvs(app)
        with client.session_transaction() as session:
            assert session["auth_at"] == time.time()


def test_within_five_minutes_of_login_lvs_reads_without_a_password(app: Flask) -> None:
    public_id = actualisation(app)
    with freeze_time() as frozen:
        client = lvs(app)
        frozen.tick(timedelta(minutes=5))
        for suffix in SUFFIXES:
            resp = client.get(f"/submissions/{public_id}{suffix}")
            assert resp.status_code == 200, suffix
        assert PNR in client.get(f"/submissions/{public_id}").get_data(as_text=True)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_after_five_minutes_lvs_is_sent_to_reauth_and_nothing_is_read(app: Flask,
                                                                      suffix: str) -> None:
    public_id = actualisation(app)
    with freeze_time() as frozen:
        client = lvs(app)
        frozen.tick(JUST_OVER)
        path = f"/submissions/{public_id}{suffix}"
        resp = client.get(path)
        sent_to_reauth(resp, path)
        assert PNR not in resp.get_data(as_text=True)
    # Neither read nor viewed: the content was never decrypted.
    assert events(app, "protected_content_read", public_id) == []
    assert all(e.username != "lvs" for e in events(app, "submission_viewed", public_id))


def test_a_session_without_a_time_of_authentication_must_reauthenticate(app: Flask) -> None:
    public_id = actualisation(app)
    client = lvs(app)
    with client.session_transaction() as session:
        del session["auth_at"]  # a session from before re-authentication existed
    sent_to_reauth(client.get(f"/submissions/{public_id}"), f"/submissions/{public_id}")


def test_the_password_sends_lvs_back_and_the_content_is_read(app: Flask) -> None:
    public_id = actualisation(app)
    path = f"/submissions/{public_id}/pdf"
    with freeze_time() as frozen:
        client = lvs(app)
        frozen.tick(timedelta(minutes=12))
        sent_to_reauth(client.get(path), path)
        page = client.get("/reauth", query_string={"next": path})
        assert page.status_code == 200
        assert "Bekräfta med ditt lösenord" in page.get_data(as_text=True)
        resp = reauth(client, path)
        assert resp.status_code == 303
        assert resp.headers["Location"] == path
        with client.session_transaction() as session:
            assert session["auth_at"] == time.time()
        assert client.get(path).status_code == 200
        # Good for another five minutes, then asked again.
        frozen.tick(timedelta(minutes=2))
        assert client.get(f"/submissions/{public_id}").status_code == 200
        frozen.tick(timedelta(minutes=3, seconds=1))
        sent_to_reauth(client.get(path), path)
    assert [e.username for e in events(app, "reauthenticated")] == ["lvs"]
    assert [e.username for e in events(app, "protected_content_read", public_id)] == ["lvs", "lvs"]


def test_a_wrong_password_is_422_generic_and_counts_as_a_failed_login(app: Flask) -> None:
    public_id = actualisation(app)
    path = f"/submissions/{public_id}"
    with freeze_time() as frozen:
        client = lvs(app)
        frozen.tick(JUST_OVER)
        resp = reauth(client, path, "inte rätt lösenord")
        assert resp.status_code == 422
        page = resp.get_data(as_text=True)
        assert REAUTH_FAILURE in page
        assert PNR not in page
        assert failures(app, "lvs") == 1
        failed = events(app, "login_failed")
        assert [(e.username, e.outcome, e.detail) for e in failed] == [
            ("lvs", "failed", "omautentisering")]
        sent_to_reauth(client.get(path), path)  # still not readable
        with client.session_transaction() as session:
            assert time.time() - session["auth_at"] > 300
    assert events(app, "protected_content_read", public_id) == []


def test_an_empty_password_is_422_and_not_a_failed_login(app: Flask) -> None:
    client = lvs(app)
    resp = client.post("/reauth", data={"password": ""})
    assert resp.status_code == 422
    assert "Ange ditt lösenord." in resp.get_data(as_text=True)
    assert failures(app, "lvs") == 0


def test_five_wrong_passwords_lock_the_account(app: Flask) -> None:
    public_id = actualisation(app)
    path = f"/submissions/{public_id}"
    with freeze_time() as frozen:
        client = lvs(app)
        frozen.tick(JUST_OVER)
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            assert reauth(client, path, "inte rätt lösenord").status_code == 422
        with app.app_context():
            assert throttled("lvs", "127.0.0.1", utcnow())
        locked = reauth(client, path)  # the right password, too late
        assert locked.status_code == 429
        assert "låst" in locked.get_data(as_text=True)
        sent_to_reauth(client.get(path), path)
        # Logging in again from this address waits as well: it is the same count. The login
        # answers like a wrong password (issue 11, M6), not with a 429 as before.
        assert login(app.test_client(), "lvs").status_code == 422
        frozen.tick(app.config["LOGIN_LOCKOUT"] - timedelta(minutes=1))
        assert client.get("/").status_code == 200  # idle timer reset; still locked
        frozen.tick(timedelta(minutes=1, seconds=1))
        assert reauth(client, path).status_code == 303
        assert client.get(path).status_code == 200
    assert {e.outcome for e in events(app, "login_failed")} == {"failed", "locked"}


@pytest.mark.parametrize("target", [
    "https://evil.example/x",
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "javascript:alert(1)",
    "http:/evil.example",
    "evil.example",
    "",
])
def test_the_way_back_is_a_local_path_only(app: Flask, target: str) -> None:
    client = lvs(app)
    resp = reauth(client, target)
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/"
    page = client.get("/reauth", query_string={"next": target}).get_data(as_text=True)
    assert "evil.example" not in page and "javascript:" not in page


def test_a_local_path_is_kept(app: Flask) -> None:
    with app.test_request_context():
        for path in ("/lvs/queue", "/submissions/abc/pdf", "/audit?page=2"):
            assert local_path(path) == path
            assert local_path("//evil.example" + path) == "/"
    client = lvs(app)
    resp = reauth(client, "/audit?page=2")
    assert resp.status_code == 303 and resp.headers["Location"] == "/audit?page=2"


def test_reauth_needs_its_csrf_token(app: Flask) -> None:
    public_id = actualisation(app)
    app.config["WTF_CSRF_ENABLED"] = True
    path = f"/submissions/{public_id}"
    with freeze_time() as frozen:
        client = app.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
        assert client.post("/login", data={"username": "lvs", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 303
        frozen.tick(JUST_OVER)
        sent_to_reauth(client.get(path), path)
        assert reauth(client, path, csrf=False).status_code == 400
        page = client.get("/reauth", query_string={"next": path}).get_data(as_text=True)
        resp = client.post("/reauth", query_string={"next": path},
                           data={"password": PASSWORD, "csrf_token": csrf_token(page)})
        assert resp.status_code == 303 and resp.headers["Location"] == path
        assert client.get(path).status_code == 200


def test_only_sealed_content_read_by_lvs_asks_for_the_password(app: Flask, as_user) -> None:
    """An access order holds no client data; the secretary sees only that her request exists;
    a missing or foreign id is 404 before anything else."""
    secretary = as_user("secretary")
    actualisation_id = created_id(secretary.post("/forms/actualisation",
                                                 data=actualisation_form()), "/submissions/")
    order_id = created_id(as_user("manager").post("/forms/access-order", data=order_form()),
                          "/submissions/")
    deviation_id = created_id(as_user("staff").post("/forms/deviation", data=deviation_form()),
                              "/submissions/")
    with freeze_time() as frozen:
        client, secretary, manager, hemtjanst = (
            lvs(app), as_user("secretary"), as_user("manager"), as_user("hemtjanst_manager"))
        frozen.tick(timedelta(minutes=10))
        assert client.get(f"/submissions/{order_id}").status_code == 200
        assert client.get("/lvs/queue").status_code == 200
        assert client.get(f"/submissions/{deviation_id}").status_code == 404
        assert client.get("/submissions/no-such-id-000000").status_code == 404
        assert secretary.get(f"/submissions/{actualisation_id}").status_code == 200
        assert manager.get(f"/submissions/{actualisation_id}.json").status_code == 200
        # A deviation report is read by the unit's managers, not LVS: not asked (see report).
        assert hemtjanst.get(f"/submissions/{deviation_id}").status_code == 200


def test_purged_content_needs_no_password(app: Flask) -> None:
    public_id = actualisation(app)
    with freeze_time() as frozen:
        client = lvs(app)
        assert client.post(f"/lvs/submissions/{public_id}/done",
                           data={"reply": "", "version": "1", "case_number": "0655599"}
                           ).status_code == 303
        frozen.tick(timedelta(minutes=10))
        assert client.get(f"/submissions/{public_id}").status_code == 200
        assert client.get(f"/submissions/{public_id}/pdf").status_code == 410
