"""Sign-in with the city account (issue 15, part O; portal/sso.py decides who gets in). GET
/login/sso sends the browser to the city's identity provider; the provider sends it back to GET
/login/sso/callback with a code, which Authlib exchanges (state, PKCE verifier) for a verified ID
token (signature, issuer, audience, expiry, nonce). The same callback answers LVS's
re-authentication (prompt=login, max_age; auth_time checked). Every sign-in and every failure is
audited; no claim value goes into a URL, a log line or an audit event's detail."""

from __future__ import annotations

import time
from typing import Any

from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user
from joserfc.errors import JoseError

from .. import audit, sso
from ..i18n import N_
from .auth import LoginForm, local_path, login_page

bp = Blueprint("sso", __name__)

_FLOW = "sso_flow"  # this browser's sign-in in progress: its state, purpose, when, where to

FAILED = N_(
    "Inloggningen med stadens konto gick inte att slutföra. Försök igen. Kommer du inte in, "
    "kontakta %(contact)s."
)
INACTIVE = N_("Ditt konto i Skyddsportalen är avstängt. Kontakta %(contact)s.")


def begin(purpose: str, target: str) -> Any:
    """Send the browser to the provider. A re-authentication asks for a fresh login
    (prompt=login) no older than REAUTH_MINUTES (max_age). Authlib keeps state, nonce and the
    PKCE verifier in the session; this flow's purpose is kept beside them, bound to its state."""
    redirect_uri = url_for("sso.callback", _external=True)
    extra: dict[str, Any] = {}
    if purpose == "reauth":
        extra = {"prompt": "login", "max_age": current_app.config["REAUTH_MINUTES"] * 60}
    client = sso.client()
    try:  # the first use reads the provider's discovery document
        rv = client.create_authorization_url(redirect_uri, **extra)
    except OSError as exc:  # the provider did not answer (requests' errors are OSErrors)
        return _failure(f"leverantören svarar inte: {type(exc).__name__}", status=502)
    client.save_authorize_data(redirect_uri=redirect_uri, **rv)
    session[_FLOW] = {"state": rv["state"], "purpose": purpose, "at": time.time(),
                      "next": target}
    return redirect(rv["url"], 303)


@bp.route("/login/sso")
def start() -> Any:
    """Sign in with the city account (anyone; a signed-in user goes to the start page)."""
    if not sso.configured():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("main.start"))
    return begin("login", url_for("main.start"))


def _failure(code: str, user: Any = None, status: int = 400) -> Any:
    """The login page with the failure at the top, and its audit event."""
    audit.record("sso_login_failed", user=user, outcome="failed", detail=code)
    message = _(FAILED, contact=current_app.config["SUPPORT_CONTACT"])
    return login_page(LoginForm(formdata=None), sso_error=message), status


@bp.route("/login/sso/callback")
def callback() -> Any:
    """The provider's answer. Authlib checks state (this browser's, used once), exchanges the
    code with the PKCE verifier and verifies the ID token and its nonce."""
    if not sso.configured():
        abort(404)
    flow = session.pop(_FLOW, None)
    state = request.args.get("state")
    purpose = "login"
    if isinstance(flow, dict) and state and flow.get("state") == state:
        purpose = flow.get("purpose", "login")
    try:
        token = sso.client().authorize_access_token(
            leeway=current_app.config["OIDC_LEEWAY_SECONDS"]
        )
        claims = token.get("userinfo")
        if not claims:
            raise sso.SsoRefused("ingen ID-token")
        if purpose == "reauth":
            return _reauthenticated(dict(claims), flow)
        return _signed_in(dict(claims))
    except sso.SsoRefused as refused:
        if refused.kind == "inactive":
            audit.record("sso_login_failed", user=refused.user, outcome="failed",
                         detail=refused.code)
            text = _(INACTIVE, contact=current_app.config["SUPPORT_CONTACT"])
            return render_template("auth/sso_refused.html", text=text), 403
        return _failure(refused.code, user=refused.user)
    except OAuthError as exc:
        # The provider's error code (access_denied, login_required…) or Authlib's (a state not
        # this browser's, or used before): protocol words, never a claim value.
        return _failure(f"{type(exc).__name__}: {exc.error}"[:200])
    except JoseError as exc:  # the ID token: signature, issuer, audience, expiry, nonce
        # The description names the claim ("Invalid claim: 'nonce'"), never its value.
        return _failure(f"ID-token: {type(exc).__name__}: {exc.description}"[:200])
    except OSError as exc:  # the provider did not answer (requests' errors are OSErrors)
        return _failure(f"leverantören svarar inte: {type(exc).__name__}", status=502)


def _signed_in(claims: dict[str, Any]) -> Any:
    result = sso.sign_in(claims)
    user = result.user
    if not result.admitted:
        # Known to the portal now, but without unit or role: no session, one page.
        audit.record("sso_login_failed", user=user, outcome="failed",
                     detail="väntar på behörighet")
        return render_template(
            "auth/sso_waiting.html", contact=current_app.config["SUPPORT_CONTACT"]
        ), 403
    session.clear()  # a fresh session at login (no fixation)
    login_user(user)
    session.permanent = True
    now = time.time()
    at = sso.auth_time(claims)
    session["login_at"] = session["last_seen"] = now
    # The last time the person authenticated at the provider (never later than now): LVS's
    # re-authentication counts from it.
    session["auth_at"] = min(at, now) if at is not None else now
    session["sso"] = True
    audit.record("sso_login", user=user)
    return redirect(url_for("main.start"), 303)


def _reauthenticated(claims: dict[str, Any], flow: Any) -> Any:
    if not current_user.is_authenticated or not session.get("sso"):
        raise sso.SsoRefused("omautentisering utan inloggning")
    user = current_user._get_current_object()
    at = sso.check_reauthentication(claims, user, float(flow.get("at", 0)))
    session["auth_at"] = min(at, time.time())
    audit.record("reauthenticated", user=user, detail="stadens konto")
    return redirect(local_path(flow.get("next")), 303)


def logout_redirect() -> Any:
    """RP-initiated logout: the provider ends its session too and sends the browser back to the
    login page. Only the client id is sent (no ID token kept in the cookie to hint with)."""
    client = sso.client()
    try:
        metadata = client.load_server_metadata()
    except OSError:  # the provider is away: the portal's own logout stands (it is committed)
        metadata = {}
    if not metadata.get("end_session_endpoint"):
        return redirect(url_for("auth.login"), 303)
    response = client.logout_redirect(
        post_logout_redirect_uri=url_for("auth.login", _external=True),
        client_id=current_app.config["OIDC_CLIENT_ID"],
    )
    response.status_code = 303
    return response
