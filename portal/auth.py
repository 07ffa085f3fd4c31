"""Passwords (argon2id) and access control: deny by default, each view names the roles it admits."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from .clock import aware
from .extensions import db, login_manager
from .models import ROLES, LoginThrottle, User
from .transaction import Denied

_hasher = PasswordHasher()  # argon2id with the library's current defaults


@functools.cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong name costs as much time as a wrong
    password. Made on first use, not at import: every worker's start-up would pay ≈ 0.3 s."""
    return _hasher.hash("not-a-real-password-0000")


F = TypeVar("F", bound=Callable[..., Any])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Exactly one argon2 verification whatever the case (known or unknown name, locked or
    not): the answer's time tells nothing about which names exist (issue 11, M6)."""
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)  # raises if wrong
    except (VerificationError, InvalidHashError):
        return False
    return user is not None  # the dummy hash verified: still no user


# --- login throttling per account and source (issue 11, L1) ------------------------------------


def throttle_key(username: str) -> str:
    """The username as the throttle keeps it: an HMAC under SECRET_KEY of the name as typed
    (trimmed, case-folded), so that a password typed into the name field is not kept readable."""
    name = username.strip().casefold()[:64]
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"login-throttle\0" + name.encode(), hashlib.sha256).hexdigest()


def _throttle_row(account_key: str, source: str) -> LoginThrottle | None:
    return db.session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.account_key == account_key, LoginThrottle.source == source
        )
    )


def throttled(username: str, source: str, now: datetime) -> bool:
    """Whether `source` must still wait before it may try `username` again."""
    return waits_until(username, source, now) is not None


def waits_until(username: str, source: str, now: datetime) -> datetime | None:
    """Until when `source` must wait before it may try `username` again; None: it need not."""
    row = _throttle_row(throttle_key(username), source[:64])
    until = aware(row.locked_until) if row else None
    return until if until is not None and until > now else None


def note_failure(username: str, source: str, now: datetime) -> datetime | None:
    """Count a failed login for `username` from `source`; return until when that source now
    waits (None: not yet). From the LOGIN_MAX_FAILURES-th failure on, each failure sets a delay
    twice the last one, from LOGIN_LOCKOUT up to LOGIN_LOCKOUT_MAX. Flushes; never commits."""
    cfg = current_app.config
    key, source = throttle_key(username), source[:64]
    forget = cfg["LOGIN_THROTTLE_FORGET"]
    db.session.execute(  # old rows go, so that the table holds at most a day of failures
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - forget,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
    )
    row = _throttle_row(key, source)
    if row is None:
        # Two failures at once from one source: the second insert is a no-op, not an error.
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(
            dialect.insert(LoginThrottle)
            .values(account_key=key, source=source, failures=0, last_failure_at=now)
            .on_conflict_do_nothing(index_elements=["account_key", "source"])
        )
        row = _throttle_row(key, source)
        assert row is not None  # noqa: S101 - inserted just above in this transaction
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - cfg["LOGIN_MAX_FAILURES"]
    if over >= 0:
        delay = min(cfg["LOGIN_LOCKOUT"] * 2 ** min(over, 32), cfg["LOGIN_LOCKOUT_MAX"])
        row.locked_until = now + delay
    db.session.flush()
    return aware(row.locked_until) if over >= 0 else None


def clear_failures(username: str, source: str) -> None:
    """A successful login from `source` forgets that source's failures for `username`."""
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.account_key == throttle_key(username),
            LoginThrottle.source == source[:64],
        )
    )


def unlock(username: str) -> int:
    """Forget every failed login for `username` from every source (the admin's unlock); return
    how many sources waited or had failures."""
    result = db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.account_key == throttle_key(username))
    )
    return int(getattr(result, "rowcount", 0) or 0)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user the session cookie names, read from the database on every request (so a role
    taken away or a deactivation counts at once) with its unit and roles in one query. A
    deactivated user, or a cookie of an older session version (logout, password change), is
    nobody."""
    public_id, _, version = user_id.partition(":")
    user = db.session.scalars(
        select(User)
        .options(joinedload(User.unit), joinedload(User.role_rows))
        .where(User.public_id == public_id)
        .execution_options(populate_existing=True)  # as stored now, also in a reused session
    ).unique().one_or_none()
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def roles_required(*roles: str) -> Callable[[F], F]:
    """Admit only logged-in users holding one of `roles`; others get 403 (`Denied`: the error
    handler writes its audit event)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                # The 403 handler writes the audit event, in a transaction of its own.
                raise Denied(detail=view.__name__)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def login_only(view: F) -> F:
    """Any logged-in user (the start page, logout)."""
    return roles_required(*ROLES)(view)
