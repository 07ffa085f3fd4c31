"""Sign-in with the city account (staden-konto) through the city's OpenID provider (issue 15,
part O). Authlib's Flask client does the protocol: discovery from OIDC_ISSUER, the authorization
code flow with state, nonce and PKCE (S256), the ID token's signature, issuer, audience, expiry
and nonce. This module decides who gets in: a known, active user matched by username (the part
of OIDC_USERNAME_CLAIM before '@'); an unknown name becomes a user with no role and no unit, who
is told to contact the administrator; roles never come from the request, only from the
provider's role claim through OIDC_ROLE_MAP when that is configured, re-read at every sign-in.
Services here flush and never commit (portal/transaction.py)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_client import OAuth
from flask import Flask, Response, current_app
from sqlalchemy import func, select

from . import audit
from .extensions import db
from .models import ROLES, User, UserRole

CLIENT_NAME = "city"
SCOPE = "openid profile email"
# Never a password: argon2 cannot verify it (auth.check_password answers False), so a user made
# by a first sign-in has no local password until an admin sets one.
NO_PASSWORD = "!sso-only"  # noqa: S105 - not a password: a hash nothing verifies
_EXTENSION = "skydd_oidc"


class SsoRefused(Exception):
    """The provider's answer does not let this person in. `code` goes into the audit event's
    detail (no personal data), `kind` picks the page the person sees."""

    def __init__(self, code: str, kind: str = "failed", user: User | None = None) -> None:
        super().__init__(code)
        self.code, self.kind, self.user = code, kind, user


def configured(app: Flask | None = None) -> bool:
    """SSO is on when the issuer and the client's id and secret are all set."""
    cfg = (app or current_app).config
    return bool(cfg.get("OIDC_ISSUER") and cfg.get("OIDC_CLIENT_ID")
                and cfg.get("OIDC_CLIENT_SECRET"))


def init_app(app: Flask) -> None:
    """An Authlib client of this app's own (tests make many apps with different providers),
    registered when SSO is configured. A role map naming a role the portal lacks stops start-up:
    a typo would otherwise silently give nobody that role."""
    values = list(app.config["OIDC_ROLE_MAP"].values())
    unknown = sorted(str(v) for v in values if not isinstance(v, str) or v not in ROLES)
    if unknown:
        raise RuntimeError(f"OIDC_ROLE_MAP names roles the portal does not have: {unknown}")
    if not configured(app):
        return
    oauth = OAuth(app)
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            # Every request to the provider (discovery, keys, token) gives up after this.
            "default_timeout": app.config["OIDC_TIMEOUT_SECONDS"],
        },
    )
    app.extensions[_EXTENSION] = oauth
    if not app.extensions.get(_EXTENSION + "_csp"):
        app.extensions[_EXTENSION + "_csp"] = True
        _allow_forms_to_the_provider(app)


def _allow_forms_to_the_provider(app: Flask) -> None:
    """The logout form (on every page) and the re-authentication form answer with a redirect to
    the provider (its end-session and authorization endpoints). A browser holds such a redirect
    to the page's CSP form-action ('self'), so the provider's origin is added there, and only
    there. Whichever of this hook and portal/web.py's headers hook runs first, the header ends
    the same: web.py only sets it where no hook did (setdefault)."""
    from .web import CSP

    @app.after_request
    def form_action_to_provider(response: Response) -> Response:
        if not configured(app):
            return response
        parts = urlsplit(app.config["OIDC_ISSUER"])
        origin = f"{parts.scheme}://{parts.netloc}"
        csp = response.headers.get("Content-Security-Policy", CSP)
        if "form-action 'self'" in csp and origin not in csp:
            response.headers["Content-Security-Policy"] = csp.replace(
                "form-action 'self'", f"form-action 'self' {origin}"
            )
        return response


def client() -> Any:
    """This app's Authlib client (a FlaskOAuth2App)."""
    return current_app.extensions[_EXTENSION].create_client(CLIENT_NAME)


def username_from(claims: dict[str, Any]) -> str:
    """The staden-konto name: the username claim's part before '@', lower-cased; it must match
    USERNAME_PATTERN (ASCII only, issue 11 M1/M2)."""
    value = claims.get(current_app.config["OIDC_USERNAME_CLAIM"])
    name = value.split("@", 1)[0].strip().lower() if isinstance(value, str) else ""
    if not name or re.fullmatch(current_app.config["USERNAME_PATTERN"], name, re.ASCII) is None:
        raise SsoRefused("användarnamnet saknas eller är ogiltigt")
    return name


def mapped_roles(claims: dict[str, Any]) -> frozenset[str] | None:
    """The roles the provider's role claim gives through OIDC_ROLE_MAP; None when no map is
    configured (then roles are the portal's own, set by an admin)."""
    cfg = current_app.config
    claim, role_map = cfg["OIDC_ROLE_CLAIM"], cfg["OIDC_ROLE_MAP"]
    if not claim or not role_map:
        return None
    value = claims.get(claim)
    groups = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return frozenset(role_map[g] for g in groups if isinstance(g, str) and g in role_map)


@dataclass
class SignIn:
    user: User
    # False: the person may not have a session yet (no unit or no role): the waiting page.
    admitted: bool


def sign_in(claims: dict[str, Any]) -> SignIn:
    """The portal's user for the provider's verified claims. Raises SsoRefused for a name that
    is no city account name and for a deactivated user. Flushes; never commits."""
    name = username_from(claims)
    user = db.session.scalar(select(User).where(func.lower(User.username) == name))
    if user is None:
        user = _first_sign_in(name, claims)
        return SignIn(user, admitted=False)
    if not user.active:
        raise SsoRefused("inaktiverat konto", kind="inactive", user=user)
    if user.unit_id is None:
        return SignIn(user, admitted=False)
    roles = mapped_roles(claims)
    if roles is not None and roles != user.roles:
        before = ", ".join(sorted(user.roles)) or "inga"
        user.role_rows = [UserRole(role=r) for r in sorted(roles)]
        db.session.flush()
        after = ", ".join(sorted(roles)) or "inga"
        audit.record("sso_roles_changed", user=user, object_type="user",
                     object_id=user.public_id, detail=f"{before} -> {after}")
    return SignIn(user, admitted=bool(user.roles))


def _first_sign_in(name: str, claims: dict[str, Any]) -> User:
    """A user for a city account the portal has not seen: no role, no unit, no password. An
    admin gives it a unit and roles (/admin/users, "väntar på behörighet")."""
    full_name = claims.get("name")
    email = claims.get("email")
    user = User(
        username=name,
        full_name=full_name[:120] if isinstance(full_name, str) and full_name else name,
        email=email[:254] if isinstance(email, str) else "",
        unit_id=None,
        password_hash=NO_PASSWORD,
        active=True,
        role_rows=[],
    )
    db.session.add(user)
    db.session.flush()
    audit.record("sso_user_created", user=user, object_type="user", object_id=user.public_id)
    return user


def auth_time(claims: dict[str, Any]) -> float | None:
    value = claims.get("auth_time")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def check_reauthentication(claims: dict[str, Any], user: User, requested_at: float) -> float:
    """An ID token answering a re-authentication (prompt=login, max_age): the same person, who
    authenticated at the provider after the portal asked and no longer ago than max_age (with
    the clock leeway). Returns the auth_time. Raises SsoRefused."""
    if username_from(claims) != user.username.lower():
        raise SsoRefused("omautentisering av en annan användare", user=user)
    at = auth_time(claims)
    if at is None:
        raise SsoRefused("omautentisering utan auth_time", user=user)
    cfg = current_app.config
    leeway = cfg["OIDC_LEEWAY_SECONDS"]
    now = time.time()
    if at < requested_at - leeway or now - at > cfg["REAUTH_MINUTES"] * 60 + leeway:
        raise SsoRefused("omautentiseringen är för gammal (auth_time)", user=user)
    return at
