"""Log in and out, and re-authenticate. A wrong name, a wrong password and a name that must wait
after too many failures from this address all get one answer: the same status, message and
time (issue 11, M6), so nothing tells which names exist or which are throttled. Failures count
per username and source address (auth.note_failure, issue 11 L1) and per address (the
limiter). Before LVS reads sealed content (an actualisation request's personnummer) it re-enters
its password if it last authenticated more than REAUTH_MINUTES ago (ASVS V3.7.1)."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from limits import parse as parse_limit
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import Length

from .. import audit, sso
from ..auth import (
    check_password,
    clear_failures,
    login_only,
    note_failure,
    throttled,
    waits_until,
)
from ..clock import utcnow
from ..extensions import db, limiter
from ..i18n import N_, InputRequired, _l
from ..models import User
from ..passwords import PASSWORD_MAX_LENGTH

bp = Blueprint("auth", __name__)

# One answer for a wrong name, a wrong password and a name this address must wait for: the
# second sentence tells the real user what to do without saying which case it is. It states the
# rule (issue 14: for how long, whom to contact), from the settings, never this name's state.
GENERIC_FAILURE = N_(
    "Fel användarnamn eller lösenord. Efter %(tries)s misslyckade försök från samma dator får du "
    "vänta %(wait)s innan du kan försöka igen, och dubbelt så länge efter varje nytt misslyckat "
    "försök (som längst %(longest)s). Kommer du inte in, kontakta %(contact)s."
)
REAUTH_FAILURE = N_("Fel lösenord.")
# Re-authentication: the user is logged in and knows the account exists, so it is told its wait.
LOCKED = N_(
    "Kontot är tillfälligt låst efter för många misslyckade försök. Försök igen om %(wait)s. "
    "Kommer du inte in, kontakta %(contact)s."
)
# The per-address limit (every name alike, so it tells nothing about any account).
TOO_MANY = N_(
    "För många misslyckade inloggningar från din adress. Vänta upp till %(wait)s och försök "
    "igen. Kommer du inte in, kontakta %(contact)s."
)


def _minutes(delay: timedelta) -> str:
    """A wait in whole minutes (rounded up, at least one), in words."""
    count = max(1, math.ceil(delay.total_seconds() / 60))
    return str(ngettext("%(num)s minut", "%(num)s minuter", count))


def failure_message() -> str:
    """GENERIC_FAILURE with the throttle's settings (portal/config.py)."""
    cfg = current_app.config
    message = _(
        GENERIC_FAILURE,
        tries=cfg["LOGIN_MAX_FAILURES"],
        wait=_minutes(cfg["LOGIN_LOCKOUT"]),
        longest=_minutes(cfg["LOGIN_LOCKOUT_MAX"]),
        contact=cfg["SUPPORT_CONTACT"],
    )
    return str(message)


class LoginForm(FlaskForm):
    # 14-M: the browser's password manager fills in the right fields (WCAG 1.3.5).
    username = StringField(
        _l("Användarnamn"),
        validators=[InputRequired(_l("Ange ditt användarnamn.")), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Lösenord"),
        validators=[InputRequired(_l("Ange ditt lösenord.")), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


def _failed(resp: Any) -> bool:
    # 303: logged in; 302: already logged in (sent to the start page). Neither is a failed login.
    return resp.status_code not in (302, 303)


def _source() -> str:
    """The client's address (after ProxyFix, when configured)."""
    return request.remote_addr or "-"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_PER_ADDRESS"], methods=["POST"], deduct_when=_failed
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.start"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return login_page(form), status
    # Both fields are required (validated above): the `or ""` is for the type checker only.
    name, password = (form.username.data or "").strip(), form.password.data or ""
    source, now = _source(), utcnow()
    user = db.session.scalar(select(User).where(User.username == name))
    waiting = throttled(name, source, now)
    # The password is verified in every case, also while this source waits: the same time.
    right = check_password(user, password)
    # Issue 15, part O: with LOCAL_LOGIN off, a local password admits an admin's break-glass
    # account only; everyone else signs in with the city account. Refused as a wrong password.
    local_refused = bool(right and user and not local_login_allowed(user))
    if waiting or not right or not (user and user.active) or local_refused:
        # A try while the source waits is refused without counting: the real user who mistyped
        # and tries again does not lengthen their own wait.
        starts_wait = not waiting and note_failure(name, source, now) is not None
        detail = "okänt användarnamn" if user is None else None
        if local_refused and not waiting:
            detail = "lokal inloggning avstängd"
        if starts_wait:
            detail = (detail + "; " if detail else "") + "adressen får vänta"
        audit.record(
            "login_failed", user=user, outcome="locked" if waiting else "failed", detail=detail
        )
        # Not an exception: the page answers 422 and the request commits the throttle row and
        # the event (portal/transaction.py), before the limiter counts the failure too.
        form.password.errors = [failure_message()]
        return login_page(form), 422
    clear_failures(name, source)
    session.clear()  # a fresh session at login (no fixation)
    login_user(user)
    session.permanent = True
    session["login_at"] = session["last_seen"] = session["auth_at"] = time.time()
    audit.record("login", user=user)
    return redirect(url_for("main.start"), 303)


def local_login_allowed(user: User) -> bool:
    """A local password signs in everyone while LOCAL_LOGIN is on (the embedded default), else
    only an admin (the break-glass account; issue 15, part O)."""
    return bool(current_app.config["LOCAL_LOGIN"]) or user.has_role("admin")


def login_page(form: LoginForm, sso_error: str | None = None) -> str:
    """The login page: the city account's button when SSO is configured (with why the last try
    failed, `sso_error`), and the password form."""
    return render_template("auth/login.html", form=form, sso=sso.configured(),
                           local_login=current_app.config["LOCAL_LOGIN"], sso_error=sso_error)


def locked_page(form: LoginForm | None = None) -> Any:
    """Too many failed logins from this address, at any names (the limiter's 429)."""
    form = form or LoginForm()
    window = parse_limit(current_app.config["LOGIN_RATE_PER_ADDRESS"]).get_expiry()
    form.password.errors = [
        _(
            TOO_MANY,
            wait=_minutes(timedelta(seconds=window)),
            contact=current_app.config["SUPPORT_CONTACT"],
        )
    ]
    return login_page(form), 429


@bp.route("/logout", methods=["POST"])
@login_only
def logout() -> Any:
    user = current_user
    user.session_version += 1  # every copy of the old cookie dies with it
    by_sso = bool(session.get("sso"))
    audit.record("logout", user=user, detail="stadens konto" if by_sso else None)
    logout_user()
    session.clear()
    flash(_("Du är utloggad."))
    if by_sso:  # RP-initiated logout: the city's provider ends its session too (part O)
        from .sso import logout_redirect

        return logout_redirect()
    return redirect(url_for("auth.login"), 303)


# --- re-authentication (ASVS V3.7.1) -------------------------------------------------------------


class ReauthForm(FlaskForm):
    password = PasswordField(
        _l("Lösenord"),
        validators=[InputRequired(_l("Ange ditt lösenord.")), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


def recently_authenticated() -> bool:
    """The password was given (at login or /reauth) within the last REAUTH_MINUTES."""
    at = session.get("auth_at")
    limit = current_app.config["REAUTH_MINUTES"] * 60
    return isinstance(at, int | float) and 0 <= time.time() - at <= limit


def local_path(target: str | None) -> str:
    """`target` if it is a path on this site, else the start page: never an open redirect."""
    start = url_for("main.start")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return start
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # browsers drop tabs and newlines
        return start
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else start


def reauth_redirect() -> Any:
    """303 to /reauth, coming back to this page afterwards."""
    here = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.reauth", next=here), 303)


def _reauth_page(form: ReauthForm, target: str, status: int) -> Any:
    return render_template(
        "auth/reauth.html", form=form, target=target, minutes=current_app.config["REAUTH_MINUTES"]
    ), status


@bp.route("/reauth", methods=["GET", "POST"])
@login_only
def reauth() -> Any:
    """The password once more. A wrong one counts as a failed login (lockout and audit alike).
    Signed in with the city account: the provider asks instead (prompt=login, max_age; the
    callback checks auth_time; issue 15, part O)."""
    target = local_path(request.args.get("next"))
    if session.get("sso"):
        from .sso import begin

        return begin("reauth", target)
    form = ReauthForm()
    if not form.validate_on_submit():
        return _reauth_page(form, target, 422 if form.is_submitted() else 200)
    user = current_user
    source, now = _source(), utcnow()
    # The user is logged in and knows the account exists: it is told that it must wait.
    until = waits_until(user.username, source, now)
    if until is not None:
        audit.record("login_failed", user=user, outcome="locked", detail="omautentisering")
        form.password.errors = [
            _(LOCKED, wait=_minutes(until - now), contact=current_app.config["SUPPORT_CONTACT"])
        ]
        return _reauth_page(form, target, 429)
    if not check_password(user, form.password.data or ""):
        note_failure(user.username, source, now)
        audit.record("login_failed", user=user, outcome="failed", detail="omautentisering")
        form.password.errors = [_(REAUTH_FAILURE)]
        return _reauth_page(form, target, 422)
    clear_failures(user.username, source)
    session["auth_at"] = time.time()
    audit.record("reauthenticated", user=user)
    return redirect(target, 303)
