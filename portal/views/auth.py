"""Log in and out. A wrong name or password gets one generic message (nothing about which part)."""
from __future__ import annotations

import time
from typing import Any

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
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from .. import audit
from ..auth import check_password, login_only
from ..extensions import db, limiter
from ..models import User, utcnow

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "Fel användarnamn eller lösenord."
LOCKED = "Kontot är tillfälligt låst efter för många misslyckade försök. Försök igen om en stund."


class LoginForm(FlaskForm):
    username = StringField("Användarnamn", validators=[InputRequired("Ange ditt användarnamn."), Length(max=64)])
    password = PasswordField("Lösenord", validators=[InputRequired("Ange ditt lösenord."), Length(max=256)])


def _aware(value: Any) -> Any:
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _failed(resp: Any) -> bool:
    return resp.status_code != 303


def _account_key() -> str:
    return "account:" + (request.form.get("username") or "").strip().casefold()[:64]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.start"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/login.html", form=form), status
    cfg = current_app.config
    user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
    now = utcnow()
    if user is not None and user.locked_until and _aware(user.locked_until) > now:
        audit.record("login_failed", user=user, outcome="locked")
        db.session.commit()
        return locked_page(form)
    if not check_password(user, form.password.data) or not (user and user.active):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + cfg["LOGIN_LOCKOUT"]
                user.failed_logins = 0
        audit.record("login_failed", user=user, outcome="failed",
                     detail=None if user else "okänt användarnamn")
        db.session.commit()
        form.password.errors = [GENERIC_FAILURE]
        return render_template("auth/login.html", form=form), 422
    user.failed_logins = 0
    user.locked_until = None
    session.clear()  # a fresh session at login (no fixation)
    login_user(user)
    session.permanent = True
    session["login_at"] = session["last_seen"] = time.time()
    audit.record("login", user=user)
    db.session.commit()
    return redirect(url_for("main.start"), 303)


def locked_page(form: LoginForm | None = None) -> Any:
    """The same answer for a locked account and for too many tries at any name (429)."""
    form = form or LoginForm()
    form.password.errors = [LOCKED]
    return render_template("auth/login.html", form=form), 429


@bp.route("/logout", methods=["POST"])
@login_only
def logout() -> Any:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    user.session_version += 1  # every copy of the old cookie dies with it
    audit.record("logout", user=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("Du är utloggad.")
    return redirect(url_for("auth.login"), 303)


