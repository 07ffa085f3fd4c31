"""Sign-in with the city account (issue 15, part O) against a real OpenID provider
(tests/oidc_support.py: the npm package oidc-provider on loopback). The browser's side of the
flow is played with requests through the provider's development login form; the portal is the
Flask test client, whose Authlib client talks to the provider for real (discovery, keys, token)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from conftest import PASSWORD, html, login
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from oidc_support import Provider, needs_node, oidc_provider, provider_login  # noqa: F401
from sqlalchemy import select

from portal import sso
from portal.clock import utcnow
from portal.extensions import db
from portal.models import AuditEvent, User, UserRole

pytestmark = needs_node

WAITING = "Kontakta systemförvaltaren"


@pytest.fixture
def sso_app(app: Flask, oidc_provider: Provider) -> Iterator[Flask]:  # noqa: F811
    """The test app with the provider configured (as instance/config.py would set it)."""
    app.config.update(oidc_provider.portal_config())
    sso.init_app(app)
    yield app


@pytest.fixture
def client(sso_app: Flask) -> FlaskClient:
    return sso_app.test_client()


def start(client: FlaskClient, path: str = "/login/sso") -> str:
    """The portal's redirect to the provider's authorization endpoint."""
    resp = client.get(path)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    return resp.headers["Location"]


def callback(client: FlaskClient, url: str) -> Any:
    parts = urlsplit(url)
    assert parts.path == "/login/sso/callback", url
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: FlaskClient, login_name: str) -> Any:
    return callback(client, provider_login(start(client), login_name))


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def logged_in_as(client: FlaskClient) -> str | None:
    with client.session_transaction() as s:
        uid = s.get("_user_id")
    return str(uid).split(":")[0] if uid else None


def public_id(app: Flask, username: str) -> str:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user.public_id


def with_param(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- a good sign-in ---------------------------------------------------------------------------


def test_login_page_offers_the_city_account(client: FlaskClient) -> None:
    page = html(client.get("/login"))
    assert "Logga in med stadens konto" in page
    assert 'href="/login/sso"' in page


def test_login_page_without_sso_has_no_city_button(app: Flask) -> None:
    page = html(app.test_client().get("/login"))
    assert "stadens konto" not in page
    assert app.test_client().get("/login/sso").status_code == 404


def test_authorization_request_carries_state_nonce_and_pkce_s256(
        client: FlaskClient, oidc_provider: Provider) -> None:  # noqa: F811
    url = start(client)
    assert url.startswith(oidc_provider.issuer + "/")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [oidc_provider.client_id]
    assert query["redirect_uri"] == ["http://localhost/login/sso/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert "openid" in query["scope"][0].split()
    assert "prompt" not in query  # a plain sign-in may use the provider's session


def test_a_known_user_signs_in_with_the_city_account(sso_app: Flask, client: FlaskClient) -> None:
    resp = sign_in(client, "lvs")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/")
    assert logged_in_as(client) == public_id(sso_app, "lvs")
    assert client.get("/lvs/queue").status_code == 200
    [event] = events(sso_app, "sso_login")
    with sso_app.app_context():
        assert db.session.get(User, event.user_id).username == "lvs"  # type: ignore[union-attr]
    with client.session_transaction() as s:
        assert s["sso"] is True
        assert not any(k.startswith("_state_") for k in s)  # the flow's state is used up


def test_the_username_is_the_claims_part_before_the_at_sign(
        sso_app: Flask, client: FlaskClient) -> None:
    # The provider sends preferred_username "admin@goteborg.se"; "ADMIN@…" matches it too.
    assert sign_in(client, "ADMIN").status_code == 303
    assert logged_in_as(client) == public_id(sso_app, "admin")


# --- failures -----------------------------------------------------------------------------------


def test_a_wrong_nonce_is_refused(sso_app: Flask, client: FlaskClient) -> None:
    """The provider signs an ID token for another nonce than this browser's (an injected or
    replayed answer): the token is refused, nobody is signed in."""
    url = with_param(start(client), nonce="a-nonce-this-browser-never-made-0123456789")
    resp = callback(client, provider_login(url, "lvs"))
    assert resp.status_code == 400
    page = html(resp)
    assert "gick inte att slutföra" in page
    # The login page as ever: the city account's button and the password form for another try.
    assert "Logga in med stadens konto" in page and "Logga in med lösenord" in page
    assert logged_in_as(client) is None
    [event] = events(sso_app, "sso_login_failed")
    assert "nonce" in (event.detail or "")
    assert not events(sso_app, "sso_login")


def test_a_replayed_state_is_refused(sso_app: Flask, client: FlaskClient) -> None:
    back = provider_login(start(client), "lvs")
    assert callback(client, back).status_code == 303
    client.post("/logout")
    # The same answer (code and state) once more, in the same browser: the state is used up.
    resp = callback(client, back)
    assert resp.status_code == 400
    assert logged_in_as(client) is None
    [event] = events(sso_app, "sso_login_failed")
    assert "MismatchingStateError" in (event.detail or "")


def test_a_state_from_another_browser_is_refused(sso_app: Flask, client: FlaskClient) -> None:
    other = sso_app.test_client()
    back = provider_login(start(other), "lvs")  # the attacker's own flow
    start(client)  # the victim has a flow of its own
    resp = callback(client, back)
    assert resp.status_code == 400 and logged_in_as(client) is None
    assert len(events(sso_app, "sso_login_failed")) == 1


def test_an_expired_id_token_is_refused(sso_app: Flask, client: FlaskClient) -> None:
    """The provider's ID tokens live 600 s (tests/oidc/provider.js); the portal's clock is
    beyond that and the leeway when the answer arrives."""
    back = provider_login(start(client), "lvs")
    later = utcnow() + timedelta(seconds=600 + sso_app.config["OIDC_LEEWAY_SECONDS"] + 30)
    with freeze_time(later):
        resp = callback(client, back)
    assert resp.status_code == 400 and logged_in_as(client) is None
    [event] = events(sso_app, "sso_login_failed")
    assert "ExpiredTokenError" in (event.detail or "")


def test_an_unknown_user_is_created_without_role_or_unit_and_sees_one_page(
        sso_app: Flask, client: FlaskClient) -> None:
    resp = sign_in(client, "ny.person")
    assert resp.status_code == 403
    assert WAITING in html(resp)
    assert logged_in_as(client) is None
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ny.person"))
        assert user is not None
        assert user.unit_id is None and user.roles == frozenset() and user.active
        assert user.full_name == "Test ny.person" and user.email == "ny.person@goteborg.se"
        # No local password: the login form cannot let this account in.
        assert user.password_hash == sso.NO_PASSWORD
    assert [e.action for e in events(sso_app, "sso_user_created")] == ["sso_user_created"]
    # Every other page sends them to the login page; a second sign-in shows the same page and
    # makes no second user.
    assert client.get("/").status_code == 302
    resp = sign_in(client, "ny.person")
    assert resp.status_code == 403 and WAITING in html(resp)
    assert len(events(sso_app, "sso_user_created")) == 1
    assert len(events(sso_app, "sso_login_failed")) == 2


def test_a_deactivated_user_is_refused(sso_app: Flask, client: FlaskClient) -> None:
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "lvs"))
        assert user is not None
        user.active = False
        db.session.commit()
    resp = sign_in(client, "lvs")
    assert resp.status_code == 403
    assert "avstängt" in html(resp)
    assert logged_in_as(client) is None
    [event] = events(sso_app, "sso_login_failed")
    assert event.detail == "inaktiverat konto"


def test_an_abandoned_sign_in_is_refused_and_audited(sso_app: Flask, client: FlaskClient) -> None:
    url = start(client)
    state = parse_qs(urlsplit(url).query)["state"][0]
    resp = client.get(f"/login/sso/callback?error=access_denied&state={state}")
    assert resp.status_code == 400 and logged_in_as(client) is None
    [event] = events(sso_app, "sso_login_failed")
    assert "access_denied" in (event.detail or "")


# --- roles --------------------------------------------------------------------------------------


def test_roles_never_come_from_the_claims_without_a_role_map(
        sso_app: Flask, client: FlaskClient) -> None:
    # "gruppad.lvs" has the group SP-LVS at the provider; no map is configured.
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff"))
        assert user is not None
        db.session.add(User(username="gruppad.lvs", full_name="G", email="g@goteborg.se",
                            unit_id=user.unit_id, password_hash="x",
                            role_rows=[UserRole(role="staff")]))
        db.session.commit()
    assert sign_in(client, "gruppad.lvs").status_code == 303
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "gruppad.lvs"))
        assert user is not None and user.roles == {"staff"}
    assert not events(sso_app, "sso_roles_changed")


def test_a_role_map_sets_roles_from_the_group_claim_at_every_sign_in(
        sso_app: Flask, client: FlaskClient) -> None:
    sso_app.config.update(OIDC_ROLE_CLAIM="groups",
                          OIDC_ROLE_MAP={"SP-LVS": "lvs", "SP-Enhetschef": "unit_manager"})
    with sso_app.app_context():
        unit = db.session.scalar(select(User.unit_id).where(User.username == "lvs"))
        for name in ("gruppad.lvs", "tidigare.lvs"):
            db.session.add(User(username=name, full_name=name, email=f"{name}@goteborg.se",
                                unit_id=unit, password_hash="x",
                                role_rows=[UserRole(role="staff")]))
        db.session.commit()
    assert sign_in(client, "gruppad.lvs").status_code == 303
    assert client.get("/lvs/queue").status_code == 200
    [event] = events(sso_app, "sso_roles_changed")
    assert event.detail == "staff -> lvs"
    # The same groups next time: no change, no event.
    client.post("/logout")
    assert sign_in(client, "gruppad.lvs").status_code == 303
    assert len(events(sso_app, "sso_roles_changed")) == 1
    # A user whose groups give no role loses the roles it had, and gets no session.
    client.post("/logout")
    resp = sign_in(client, "tidigare.lvs")
    assert resp.status_code == 403 and WAITING in html(resp)
    assert logged_in_as(client) is None
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "tidigare.lvs"))
        assert user is not None and user.roles == frozenset()
    assert events(sso_app, "sso_roles_changed")[-1].detail == "staff -> inga"


def test_a_role_map_naming_an_unknown_role_stops_start_up(sso_app: Flask) -> None:
    sso_app.config["OIDC_ROLE_MAP"] = {"SP-Admin": "superuser"}
    with pytest.raises(RuntimeError, match="superuser"):
        sso.init_app(sso_app)


def test_roles_in_the_request_are_ignored(sso_app: Flask, client: FlaskClient) -> None:
    back = provider_login(start(client), "staff")
    resp = callback(client, back + "&role=admin&roles=admin&groups=SP-Admin")
    assert resp.status_code == 303
    assert client.get("/audit").status_code == 403


# --- re-authentication (LVS before protected content) -------------------------------------------


def test_reauthentication_goes_to_the_provider_with_prompt_login_and_max_age(
        sso_app: Flask, client: FlaskClient) -> None:
    assert sign_in(client, "lvs").status_code == 303
    url = start(client, "/reauth?next=/lvs/queue")
    query = parse_qs(urlsplit(url).query)
    assert query["prompt"] == ["login"]
    assert query["max_age"] == [str(sso_app.config["REAUTH_MINUTES"] * 60)]
    # prompt=login: the provider asks for the login again even though its session is alive.
    resp = callback(client, provider_login(url, "lvs"))
    assert resp.status_code == 303 and resp.headers["Location"] == "/lvs/queue"
    assert logged_in_as(client) == public_id(sso_app, "lvs")
    [event] = events(sso_app, "reauthenticated")
    assert event.detail == "stadens konto"


def test_reauthentication_with_a_stale_auth_time_is_refused(
        sso_app: Flask, client: FlaskClient) -> None:
    assert sign_in(client, "lvs").status_code == 303
    back = provider_login(start(client, "/reauth?next=/lvs/queue"), "lvs")
    with client.session_transaction() as s:
        auth_at_before = s["auth_at"]
    # The answer arrives after max_age: its auth_time is too old (the token itself is valid).
    later = utcnow() + timedelta(seconds=sso_app.config["REAUTH_MINUTES"] * 60
                                 + sso_app.config["OIDC_LEEWAY_SECONDS"] + 30)
    with freeze_time(later):
        resp = callback(client, back)
        # (Read under the same clock: the cookie was signed at `later`.)
        with client.session_transaction() as s:
            assert s["auth_at"] == auth_at_before
    assert resp.status_code == 400
    [event] = events(sso_app, "sso_login_failed")
    assert "auth_time" in (event.detail or "")
    assert not events(sso_app, "reauthenticated")


def test_reauthentication_as_another_person_is_refused(
        sso_app: Flask, client: FlaskClient) -> None:
    assert sign_in(client, "lvs").status_code == 303
    resp = callback(client, provider_login(start(client, "/reauth?next=/lvs/queue"), "lvs2"))
    assert resp.status_code == 400
    assert logged_in_as(client) == public_id(sso_app, "lvs")
    [event] = events(sso_app, "sso_login_failed")
    assert "annan användare" in (event.detail or "")


# --- logout, local passwords ----------------------------------------------------------------------


def test_logout_of_an_sso_session_ends_the_providers_session_too(
        sso_app: Flask, client: FlaskClient, oidc_provider: Provider) -> None:  # noqa: F811
    assert sign_in(client, "lvs").status_code == 303
    resp = client.post("/logout")
    assert resp.status_code == 303
    target = resp.headers["Location"]
    assert target.startswith(oidc_provider.issuer + "/session/end")
    query = parse_qs(urlsplit(target).query)
    assert query["client_id"] == [oidc_provider.client_id]
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert logged_in_as(client) is None
    # The provider accepts the request (a registered client and address): its sign-out page.
    import requests

    page = requests.get(target, timeout=10)
    assert page.status_code == 200 and "logout" in page.text.lower()


def test_a_local_logout_stays_local(sso_app: Flask, client: FlaskClient) -> None:
    assert login(client, "lvs").status_code == 303
    resp = client.post("/logout")
    assert resp.headers["Location"] == "/login"


def test_local_login_off_admits_only_admins_break_glass_accounts(
        sso_app: Flask, client: FlaskClient) -> None:
    sso_app.config["LOCAL_LOGIN"] = False
    page = html(client.get("/login"))
    assert "Reservinloggning för systemförvaltare" in page
    resp = login(client, "lvs")
    assert resp.status_code == 422
    assert "Fel användarnamn eller lösenord" in html(resp)
    assert logged_in_as(client) is None
    [event] = events(sso_app, "login_failed")
    assert event.detail == "lokal inloggning avstängd"
    assert login(client, "admin", PASSWORD).status_code == 303
    # The city account still signs in everyone.
    client.post("/logout")
    assert sign_in(client, "lvs").status_code == 303


def test_forms_may_lead_to_the_provider_and_nowhere_else(
        client: FlaskClient, oidc_provider: Provider) -> None:  # noqa: F811
    """The logout and re-authentication forms answer with a redirect to the provider, which a
    browser holds to the page's CSP form-action (found by tests/test_browser_sso.py): the
    provider's origin is admitted there, and only there."""
    csp = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["form-action"] == f"'self' {oidc_provider.issuer}"
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"


def test_a_name_that_is_no_city_account_name_is_refused(
        sso_app: Flask, client: FlaskClient) -> None:
    # preferred_username "åsa@goteborg.se": not ASCII (USERNAME_PATTERN), so no user is made.
    resp = sign_in(client, "åsa")
    assert resp.status_code == 400 and logged_in_as(client) is None
    with sso_app.app_context():
        assert db.session.scalar(select(User).where(User.username == "åsa")) is None
    [event] = events(sso_app, "sso_login_failed")
    assert event.detail == "användarnamnet saknas eller är ogiltigt"


def test_production_sets_sso_from_the_environment(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, oidc_provider: Provider) -> None:  # noqa: F811
    from portal import create_app

    monkeypatch.setenv("OIDC_ISSUER", oidc_provider.issuer)
    monkeypatch.setenv("OIDC_CLIENT_ID", oidc_provider.client_id)
    monkeypatch.setenv("OIDC_CLIENT_SECRET", oidc_provider.client_secret)
    monkeypatch.setenv("OIDC_ROLE_CLAIM", "groups")
    monkeypatch.setenv("OIDC_ROLE_MAP", '{"SP-LVS": "lvs"}')
    monkeypatch.setenv("LOCAL_LOGIN", "0")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "TESTING": True,
                      "SECRET_KEY": "x" * 32}, instance_path=str(tmp_path / "instance"))
    assert app.config["OIDC_ROLE_MAP"] == {"SP-LVS": "lvs"}
    assert app.config["LOCAL_LOGIN"] is False
    assert sso.configured(app)
    # The environment template's empty line means no map; a map that is no JSON object stops.
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "TESTING": True,
              "SECRET_KEY": "x" * 32}
    monkeypatch.setenv("OIDC_ROLE_MAP", "")
    assert create_app(config, instance_path=str(tmp_path / "i2")).config["OIDC_ROLE_MAP"] == {}
    for wrong in ("SP-LVS=lvs", '["lvs"]'):
        monkeypatch.setenv("OIDC_ROLE_MAP", wrong)
        with pytest.raises(RuntimeError, match="OIDC_ROLE_MAP"):
            create_app(config, instance_path=str(tmp_path / "i3"))


def test_a_provider_that_does_not_answer_is_a_clear_failure(
        sso_app: Flask, oidc_provider: Provider) -> None:  # noqa: F811
    """An issuer nobody listens on: the sign-in fails with the login page and the advice,
    audited, never a 500."""
    from oidc_support import free_port

    sso_app.config["OIDC_ISSUER"] = f"http://127.0.0.1:{free_port(18400)}"
    sso.init_app(sso_app)
    resp = sso_app.test_client().get("/login/sso")
    assert resp.status_code == 502
    assert "gick inte att slutföra" in html(resp)
    [event] = events(sso_app, "sso_login_failed")
    assert (event.detail or "").startswith("leverantören svarar inte")


def test_logout_while_the_provider_is_away_still_logs_out(
        sso_app: Flask, client: FlaskClient, oidc_provider: Provider) -> None:  # noqa: F811
    from oidc_support import free_port

    assert sign_in(client, "lvs").status_code == 303
    # A restarted portal that cannot reach the provider (a fresh client: no metadata cached).
    sso_app.config["OIDC_ISSUER"] = f"http://127.0.0.1:{free_port(18400)}"
    sso.init_app(sso_app)
    resp = client.post("/logout")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert logged_in_as(client) is None
    assert client.get("/").status_code == 302
    assert len(events(sso_app, "logout")) == 1
