"""User and unit administration in the browser (issue 15; SPEC §2, §6): /admin/users and
/admin/units for the admin only. Every action through HTTP as the browser posts it, its audit
event, refusals at their fields with the input kept and nothing stored, re-authentication before
roles, a deactivated user logged out at their next request (on another instance too), the
lock-out guard, and the command line refusing with the same rules (portal/accounts.py)."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, CsrfClient, field_error, html, login
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, LoginThrottle, Unit, User

NEW_PASSWORD = "grön kanelbulle vid älven 9"
WRONG = "inte rätt lösenord"


def user_row(app: Flask, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        _ = user.roles, user.unit  # loaded before the session closes
        db.session.expunge(user)
        return user


def unit_row(app: Flask, name: str) -> Unit | None:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == name))
        if unit is not None:
            db.session.expunge(unit)
        return unit


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))
        for row in rows:
            db.session.expunge(row)
        return rows


def unit_id(app: Flask, name: str) -> str:
    unit = unit_row(app, name)
    assert unit is not None
    return unit.public_id


def new_user_form(app: Flask, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "username": "nina.ny", "full_name": "Nina Ny", "email": "nina.ny@goteborg.se",
        "unit": unit_id(app, "Myndighet Centrum"), "roles": ["social_secretary"],
        "password": "", "password_repeat": "",
    }
    data.update(overrides)
    return data


def stale(client: FlaskClient) -> None:
    """The password was last given an hour ago (re-authentication is due)."""
    with client.session_transaction() as session:
        session["auth_at"] = time.time() - 3600


def run(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=input)


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/units",
                                  "/admin/units/new"])
def test_only_the_admin_reaches_the_admin_pages_and_a_refusal_is_audited(
        app: Flask, as_user, path: str) -> None:
    for role in ("staff", "manager", "lvs", "planner"):
        assert as_user(role).get(path).status_code == 403
    assert as_user("admin").get(path).status_code == 200
    denied = events(app, "access_denied")
    assert len(denied) == 4 and {e.username for e in denied} == {"staff", "manager", "lvs",
                                                                 "planner"}


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app: Flask, as_user) -> None:
    admin = as_user("admin")
    resp = admin.post("/admin/users/new", data=new_user_form(app), csrf=False)
    assert resp.status_code == 400
    target = user_row(app, "staff")
    assert admin.post(f"/admin/users/{target.public_id}/deactivate", csrf=False).status_code == 400
    assert user_row(app, "staff").active
    assert not events(app, "user_created") and not events(app, "user_deactivated")


def test_admin_pages_are_never_cached(as_user) -> None:
    resp = as_user("admin").get("/admin/users")
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_admin_menu_lists_users_and_units(as_user) -> None:
    page = html(as_user("admin").get("/"))
    assert 'href="/admin/users"' in page and 'href="/admin/units"' in page
    assert 'href="/admin/users"' not in html(as_user("manager").get("/"))


# --- users ---------------------------------------------------------------------------------------


def test_the_admin_creates_a_user_who_can_then_log_in(app: Flask, as_user) -> None:
    admin = as_user("admin")
    resp = admin.post("/admin/users/new", data=new_user_form(
        app, roles=["social_secretary", "unit_manager"], password=NEW_PASSWORD,
        password_repeat=NEW_PASSWORD))
    assert resp.status_code == 303, html(resp)
    user = user_row(app, "nina.ny")
    assert resp.headers["Location"] == f"/admin/users/{user.public_id}"
    assert user.roles == {"social_secretary", "unit_manager"}
    assert user.unit.name == "Myndighet Centrum" and user.email == "nina.ny@goteborg.se"
    [event] = events(app, "user_created")
    assert (event.username, event.object_id, event.outcome) == ("admin", user.public_id, "ok")
    assert "social_secretary,unit_manager" in (event.detail or "")
    assert NEW_PASSWORD not in str(event.detail)
    assert "Nina Ny" in html(admin.get("/admin/users"))
    assert login(app.test_client(), "nina.ny", NEW_PASSWORD).status_code == 303


def test_a_user_without_a_password_cannot_log_in_locally(app: Flask, as_user) -> None:
    assert as_user("admin").post("/admin/users/new", data=new_user_form(app)).status_code == 303
    for guess in ("!", "", PASSWORD):
        assert login(app.test_client(), "nina.ny", guess).status_code == 422


@pytest.mark.parametrize("field, value, code_field", [
    ("username", "nina ny", "username"),               # R-USERNAME: pattern
    ("username", "staff", "username"),                 # taken
    ("username", "", "username"),
    ("email", "nina@gmail.com", "email"),              # R-EMAIL-DOMAIN
    ("full_name", "", "full_name"),
    ("roles", ["kung"], "roles"),                      # not a role of models.ROLES
    ("unit", "", "roles"),                             # a role needs a unit
    ("password", "kort123", "password"),               # the password rules
])
def test_a_bad_user_is_refused_at_its_field_input_kept_nothing_stored(
        app: Flask, as_user, field: str, value: Any, code_field: str) -> None:
    admin = as_user("admin")
    data = new_user_form(app, **{field: value})
    if field == "password":
        data["password_repeat"] = value
    before = len(events(app, "user_created"))
    resp = admin.post("/admin/users/new", data=data)
    assert resp.status_code == 422
    page = html(resp)
    assert field_error(page, code_field)
    assert 'value="Nina Ny"' in page or field == "full_name"
    assert 'value="nina.ny@goteborg.se"' in page or field == "email"
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "nina.ny")) is None
    assert len(events(app, "user_created")) == before
    refused = events(app, "password_refused" if field == "password" else "user_refused")
    assert refused and refused[-1].outcome == "refused" and refused[-1].username == "admin"
    assert "kort123" not in str(refused[-1].detail)


def test_the_command_line_and_the_page_refuse_with_the_same_rule(app: Flask, as_user) -> None:
    """One module (portal/accounts.py): the same words for the same mistake."""
    page = html(as_user("admin").post(
        "/admin/users/new", data=new_user_form(app, email="nina@gmail.com")))
    result = run(app, "users", "create", "nina.ny", "--full-name", "Nina Ny",
                 "--email", "nina@gmail.com", "--unit", "Myndighet Centrum",
                 "--role", "staff", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code != 0
    message = field_error(page, "email").replace("Fel:", "").strip()
    assert message and message in result.output
    refusals = events(app, "user_refused")
    assert len(refusals) == 2 and all("R-EMAIL-DOMAIN" in (e.detail or "") for e in refusals)
    # and a bad username alike
    page = html(as_user("admin").post("/admin/users/new",
                                      data=new_user_form(app, username="nína")))
    result = run(app, "users", "create", "nína", "--full-name", "Nina Ny",
                 "--email", "nina@goteborg.se", "--unit", "Myndighet Centrum",
                 "--role", "staff", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert field_error(page, "username").replace("Fel:", "").strip() in result.output


def test_the_admin_edits_name_email_and_unit(app: Flask, as_user) -> None:
    admin = as_user("admin")
    target = user_row(app, "staff")
    resp = admin.post(f"/admin/users/{target.public_id}", data={
        "full_name": "Stina Ny", "email": "stina.ny@goteborg.se",
        "unit": unit_id(app, "Myndighet Nordost")})
    assert resp.status_code == 303
    after = user_row(app, "staff")
    assert (after.full_name, after.email, after.unit.name) == (
        "Stina Ny", "stina.ny@goteborg.se", "Myndighet Nordost")
    [event] = events(app, "user_changed")
    assert event.username == "admin" and event.object_id == target.public_id
    assert "Hemtjänst Hisingen -> Myndighet Nordost" in (event.detail or "")
    # A bad e-mail: refused at its field, name kept as typed, nothing changed.
    resp = admin.post(f"/admin/users/{target.public_id}", data={
        "full_name": "Stina Annan", "email": "stina@example.com", "unit": ""})
    assert resp.status_code == 422
    assert "R-EMAIL" not in html(resp) and field_error(html(resp), "email")
    assert 'value="Stina Annan"' in html(resp)
    assert user_row(app, "staff").full_name == "Stina Ny"


def test_an_unknown_user_or_unit_is_404(as_user) -> None:
    admin = as_user("admin")
    assert admin.get("/admin/users/no-such-user-00000000").status_code == 404
    assert admin.get("/admin/units/no-such-unit-00000000").status_code == 404
    assert admin.post("/admin/users/no-such-user-00000000/deactivate").status_code == 404


# --- roles and re-authentication -----------------------------------------------------------------


def test_changing_roles_needs_the_password_again(app: Flask, as_user) -> None:
    admin = as_user("admin")
    target = user_row(app, "staff")
    stale(admin)
    resp = admin.get(f"/admin/users/{target.public_id}/roles")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/reauth?next=")
    resp = admin.post(f"/admin/users/{target.public_id}/roles", data={"roles": ["lvs"]})
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/reauth")
    assert user_row(app, "staff").roles == {"staff"}
    refused = events(app, "user_refused")
    assert [e.object_id for e in refused] == [target.public_id]
    # Creating a user gives roles too.
    assert admin.get("/admin/users/new").status_code == 303
    # After the password, it goes.
    resp = admin.post(f"/reauth?next=/admin/users/{target.public_id}/roles",
                      data={"password": PASSWORD})
    assert resp.headers["Location"] == f"/admin/users/{target.public_id}/roles"
    resp = admin.post(f"/admin/users/{target.public_id}/roles", data={"roles": ["staff", "lvs"]})
    assert resp.status_code == 303
    assert user_row(app, "staff").roles == {"staff", "lvs"}
    [event] = events(app, "user_roles_changed")
    assert event.detail == "roller: staff -> lvs,staff" and event.username == "admin"


def test_a_role_change_ends_the_users_sessions(app: Flask, as_user) -> None:
    staff = as_user("staff")
    assert staff.get("/forms/deviation").status_code == 200
    target = user_row(app, "staff")
    resp = as_user("admin").post(f"/admin/users/{target.public_id}/roles",
                                 data={"roles": ["staff", "planner"]})
    assert resp.status_code == 303
    resp = staff.get("/forms/deviation")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_role_needs_a_unit_and_a_user_with_roles_keeps_one(app: Flask, as_user) -> None:
    admin = as_user("admin")
    target = user_row(app, "staff")
    resp = admin.post(f"/admin/users/{target.public_id}", data={
        "full_name": "Stina Medarbetare", "email": "staff@goteborg.se", "unit": ""})
    assert resp.status_code == 422 and field_error(html(resp), "unit")
    assert user_row(app, "staff").unit.name == "Hemtjänst Hisingen"


def test_an_admin_cannot_take_their_own_admin_role_or_deactivate_themself(
        app: Flask, as_user) -> None:
    admin = as_user("admin")
    me = user_row(app, "admin")
    page = html(admin.get(f"/admin/users/{me.public_id}"))
    assert "Du kan inte avaktivera dig själv" in page
    assert f"/admin/users/{me.public_id}/deactivate" not in page  # no button for it
    resp = admin.post(f"/admin/users/{me.public_id}/roles", data={"roles": ["lvs"]})
    assert resp.status_code == 422
    assert "systemförvaltare" in field_error(html(resp), "roles")
    resp = admin.post(f"/admin/users/{me.public_id}/deactivate")
    assert resp.status_code == 409 and "avaktivera dig själv" in html(resp)
    me_after = user_row(app, "admin")
    assert me_after.active and me_after.roles == {"admin"}
    refused = events(app, "user_refused")
    assert len(refused) == 2 and all("R-SELF" in (e.detail or "") for e in refused)
    # Adding a role to oneself is allowed, and this session goes on.
    resp = admin.post(f"/admin/users/{me.public_id}/roles", data={"roles": ["admin", "lvs"]})
    assert resp.status_code == 303
    assert admin.get("/admin/users").status_code == 200


# --- deactivation, reactivation, passwords, unlock -----------------------------------------------


def test_deactivation_logs_the_user_out_at_their_next_request_on_every_instance(
        app: Flask, as_user, tmp_path: Path) -> None:
    lvs = as_user("lvs")
    assert lvs.get("/lvs/queue").status_code == 200
    # A second instance of the portal on the same database (as production runs two).
    other = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")},
                        "TESTING": True}, instance_path=str(tmp_path / "other"))
    other.test_client_class = CsrfClient
    there = other.test_client()
    cookie = lvs.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    there.set_cookie(cookie.key, cookie.value)
    assert there.get("/lvs/queue").status_code == 200
    target = user_row(app, "lvs")
    resp = as_user("admin").post(f"/admin/users/{target.public_id}/deactivate")
    assert resp.status_code == 303
    for client in (lvs, there):
        resp = client.get("/lvs/queue")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert login(app.test_client(), "lvs").status_code == 422
    [event] = events(app, "user_deactivated")
    assert (event.username, event.object_id) == ("admin", target.public_id)
    with other.app_context():
        db.engine.dispose()
    # Reactivated: may log in again, with the roles it had.
    assert as_user("admin").post(
        f"/admin/users/{target.public_id}/reactivate").status_code == 303
    assert events(app, "user_reactivated")
    assert as_user("lvs").get("/lvs/queue").status_code == 200


def test_the_admin_sets_a_password_under_the_password_rules(app: Flask, as_user) -> None:
    admin = as_user("admin")
    lvs = as_user("lvs")
    target = user_row(app, "lvs")
    url = f"/admin/users/{target.public_id}/password"
    resp = admin.post(url, data={"password": "lenalvslena1", "password_repeat": "lenalvslena1"})
    assert resp.status_code == 422 and field_error(html(resp), "password")
    assert events(app, "password_refused")[-1].object_id == target.public_id
    resp = admin.post(url, data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD + "x"})
    assert resp.status_code == 422 and field_error(html(resp), "password_repeat")
    assert login(app.test_client(), "lvs", PASSWORD).status_code == 303  # unchanged so far
    resp = admin.post(url, data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert resp.status_code == 303
    assert lvs.get("/lvs/queue").status_code == 302  # its sessions ended
    assert login(app.test_client(), "lvs", PASSWORD).status_code == 422
    assert login(app.test_client(), "lvs", NEW_PASSWORD).status_code == 303
    [event] = events(app, "password_set")
    assert event.username == "admin" and NEW_PASSWORD not in str(event.detail)
    stale(admin)
    assert admin.get(url).status_code == 303  # the password again first


def test_an_admin_setting_their_own_password_stays_logged_in_here_only(
        app: Flask, as_user) -> None:
    here, elsewhere = as_user("admin"), as_user("admin")
    me = user_row(app, "admin")
    resp = here.post(f"/admin/users/{me.public_id}/password",
                     data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert resp.status_code == 303
    assert here.get("/admin/users").status_code == 200
    assert elsewhere.get("/admin/users").status_code == 302


def test_the_admin_unlocks_a_user_who_had_to_wait(app: Flask, as_user) -> None:
    guesser = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(guesser, "lvs", WRONG)
    assert login(guesser, "lvs").status_code == 422  # waits, even with the right password
    target = user_row(app, "lvs")
    assert as_user("admin").post(f"/admin/users/{target.public_id}/unlock").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(LoginThrottle)) is None
    assert login(guesser, "lvs").status_code == 303
    [event] = events(app, "login_unlocked")
    assert (event.username, event.object_id, event.detail) == ("admin", target.public_id,
                                                               "adresser: 1")


# --- users waiting for a unit and roles (the first sign-in with the city account) ---------------


def waiting_user(app: Flask, username: str = "ny.kollega") -> User:
    """A user as the first sign-in with the city account makes one: no unit, no role."""
    from portal import accounts

    with app.app_context():
        accounts.create_user(username, "Ny Kollega", f"{username}@goteborg.se", None, [], None)
        db.session.commit()
    return user_row(app, username)


def test_users_waiting_for_a_role_are_listed_first_and_can_be_given_one(
        app: Flask, as_user) -> None:
    new = waiting_user(app)
    assert new.unit_id is None and not new.roles
    admin = as_user("admin")
    page = html(admin.get("/admin/users"))
    assert "1 användare väntar på behörighet" in page
    names = re.findall(r'<a href="/admin/users/[\w-]+">([^<]+)</a>', page)
    assert names[0] == "ny.kollega" and len(names) > 5
    assert "Ingen enhet" in page and "Väntar på behörighet" in page
    # A role before a unit is refused; a unit, then roles.
    url = f"/admin/users/{new.public_id}"
    resp = admin.post(f"{url}/roles", data={"roles": ["staff"]})
    assert resp.status_code == 422 and "enhet" in field_error(html(resp), "roles")
    assert admin.post(url, data={"full_name": "Ny Kollega", "email": "ny.kollega@goteborg.se",
                                 "unit": unit_id(app, "Hemtjänst Hisingen")}).status_code == 303
    assert admin.post(f"{url}/roles", data={"roles": ["staff"]}).status_code == 303
    assert user_row(app, "ny.kollega").roles == {"staff"}
    assert "väntar på behörighet" not in html(admin.get("/admin/users"))


def test_a_waiting_user_who_logs_in_gets_a_page_not_an_error(app: Flask, as_user,
                                                             password_hash: str) -> None:
    """A user without a unit reaches pages that show the site header (unit None)."""
    new = waiting_user(app)
    with app.app_context():
        row = db.session.get(User, new.id)
        assert row is not None
        row.password_hash = password_hash
        db.session.commit()
    client = app.test_client()
    assert login(client, "ny.kollega").status_code == 303
    resp = client.get("/")
    assert resp.status_code < 500
    assert "Ny Kollega" in html(resp) or resp.status_code in (302, 303, 403)


def test_the_list_filters_by_name_unit_and_role(app: Flask, as_user) -> None:
    admin = as_user("admin")

    def listed(**query: str) -> list[str]:
        page = html(admin.get("/admin/users", query_string=query))
        return re.findall(r'<a href="/admin/users/[\w-]+">([^<]+)</a>', page)

    assert listed(q="lena") == ["lvs"]
    assert sorted(listed(role="lvs")) == ["lvs", "lvs2"]
    assert sorted(listed(unit=unit_id(app, "Hemtjänst Hisingen"))) == [
        "hemtjanst_manager", "planner", "staff"]
    assert listed(q="%") == []  # a wildcard is a character here


# --- units ---------------------------------------------------------------------------------------


def test_the_admin_creates_and_changes_a_unit(app: Flask, as_user) -> None:
    admin = as_user("admin")
    resp = admin.post("/admin/units/new", data={"name": "Boende Majorna", "unit_type": "boende",
                                                "district": "Sydväst"})
    assert resp.status_code == 303
    unit = unit_row(app, "Boende Majorna")
    assert unit is not None and (unit.unit_type, unit.city_district) == ("boende", "Sydväst")
    [created] = events(app, "unit_created")
    assert (created.username, created.object_id) == ("admin", unit.public_id)
    resp = admin.post(f"/admin/units/{unit.public_id}", data={
        "name": "Boende Majorna Norra", "unit_type": "hemtjanst", "district": "Centrum"})
    assert resp.status_code == 303
    after = unit_row(app, "Boende Majorna Norra")
    assert after is not None and (after.unit_type, after.city_district) == ("hemtjanst",
                                                                            "Centrum")
    [changed] = events(app, "unit_changed")
    assert "Boende Majorna -> Boende Majorna Norra" in (changed.detail or "")
    assert "Boende Majorna Norra" in html(admin.get("/admin/units"))


@pytest.mark.parametrize("data, field", [
    ({"name": "Myndighet Centrum", "unit_type": "boende", "district": "Sydväst"}, "name"),
    ({"name": "", "unit_type": "boende", "district": "Sydväst"}, "name"),
    ({"name": "Ny enhet", "unit_type": "sjukhus", "district": "Sydväst"}, "unit_type"),
    ({"name": "Ny enhet", "unit_type": "boende", "district": "Stockholm"}, "district"),
])
def test_a_bad_unit_is_refused_at_its_field_and_nothing_is_stored(
        app: Flask, as_user, data: dict[str, str], field: str) -> None:
    resp = as_user("admin").post("/admin/units/new", data=data)
    assert resp.status_code == 422 and field_error(html(resp), field)
    assert unit_row(app, "Ny enhet") is None
    [refused] = events(app, "unit_refused")
    assert refused.outcome == "refused" and refused.username == "admin"
    # the same rule on the command line
    result = run(app, "units", "create", data["name"] or "x", "--type", data["unit_type"],
                 "--district", data["district"])
    assert result.exit_code != 0 or not data["name"]


# --- migration 0008 ------------------------------------------------------------------------------


def test_migration_0008_keeps_users_roles_and_their_references(tmp_path: Path) -> None:
    """On SQLite the users table is rebuilt to drop NOT NULL from unit_id: the roles (ON DELETE
    CASCADE) and the rows that refer to users must all be there afterwards."""
    from sqlalchemy import text

    from portal.db_setup import upgrade_schema

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "t" * 32, "TESTING": True},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade_schema("0007_day_note_text_dropped")
        db.session.execute(text(
            "INSERT INTO units (id, public_id, name, unit_type, city_district) "
            "VALUES (1, 'u1', 'Enhet', 'myndighet', 'Centrum')"))
        db.session.execute(text(
            "INSERT INTO users (id, public_id, username, full_name, email, unit_id, "
            "password_hash, active, session_version, failed_logins, created_at) VALUES "
            "(1, 'p1', 'anna', 'Anna', 'anna@goteborg.se', 1, 'x', 1, 3, 0, '2026-01-01')"))
        db.session.execute(text("INSERT INTO user_roles (user_id, role) VALUES (1, 'lvs')"))
        db.session.execute(text(
            "INSERT INTO submissions (id, public_id, form, status, unit_id, submitted_by_id, "
            "created_at, flagged, version) VALUES (1, 's1', 'access_order', 'submitted', 1, 1, "
            "'2026-01-01', 0, 1)"))
        db.session.commit()
        upgrade_schema("0008_user_admin")
        roles = db.session.execute(text("SELECT user_id, role FROM user_roles")).all()
        assert [tuple(r) for r in roles] == [(1, "lvs")]
        assert db.session.execute(text("SELECT session_version FROM users")).scalar() == 3
        assert db.session.execute(text("SELECT count(*) FROM submissions")).scalar() == 1
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.execute(text("UPDATE users SET unit_id = NULL"))
        db.session.commit()
        with pytest.raises(SystemExit):  # flask_migrate's answer to the RuntimeError
            _downgrade()
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0008_user_admin")
        db.session.execute(text("UPDATE users SET unit_id = 1"))
        db.session.commit()
        _downgrade()  # every user has a unit: NOT NULL again, nothing lost
        roles = db.session.execute(text("SELECT user_id, role FROM user_roles")).all()
        assert [tuple(r) for r in roles] == [(1, "lvs")]
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0007_day_note_text_dropped")
        db.session.remove()
        db.engine.dispose()


def _downgrade() -> None:
    from flask import current_app
    from flask_migrate import downgrade

    from portal.db_setup import init_migrations

    init_migrations(current_app)
    downgrade(revision="0007_day_note_text_dropped")
