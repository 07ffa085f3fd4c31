"""Passwords (argon2id) and access control: deny by default, each view names the roles it admits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_login import current_user
from sqlalchemy import Select, bindparam, select

from . import audit
from .extensions import db, login_manager
from .models import AccountMixin, Unit, User, UserRole

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
    try:
        return (
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
            and user is not None
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: int
    public_id: str
    name: str
    unit_type: str
    city_district: str


@dataclass(frozen=True, slots=True)
class CurrentUser(AccountMixin):
    """The logged-in user as every request sees it: read from the database on each request (so
    a role taken away or a deactivation counts at once) with one plain query. Loading the ORM
    ``User`` with its roles and unit cost ≈ 0.4 ms more a request (bench/README.md); code that
    changes the user (logout, re-authentication) takes the ORM row with :meth:`row`."""

    id: int
    public_id: str
    username: str
    full_name: str
    email: str
    unit_id: int
    unit: UnitInfo
    roles: frozenset[str]
    active: bool
    session_version: int

    def row(self) -> User:
        """The ORM row, for changing the user."""
        return db.session.get_one(User, self.id)


@functools.cache
def _user_query() -> Select[Any]:
    """The user, its unit and its roles (one row per role) in one query, built once."""
    users, units, roles = User.__table__, Unit.__table__, UserRole.__table__
    return (
        select(
            users.c.id, users.c.public_id, users.c.username, users.c.full_name, users.c.email,
            users.c.unit_id, users.c.active, users.c.session_version, units.c.public_id,
            units.c.name, units.c.unit_type, units.c.city_district, roles.c.role,
        )
        .select_from(users.join(units, units.c.id == users.c.unit_id).outerjoin(
            roles, roles.c.user_id == users.c.id))
        .where(users.c.public_id == bindparam("public_id"))
    )  # fmt: skip


@login_manager.user_loader
def load_user(user_id: str) -> CurrentUser | None:
    public_id, _, version = user_id.partition(":")
    rows = db.session.execute(_user_query(), {"public_id": public_id}).all()
    if not rows:
        return None
    (uid, upid, username, full_name, email, unit_id, active, session_version, unit_pid,
     unit_name, unit_type, district, _role) = rows[0]  # fmt: skip
    if not active or str(session_version) != version:
        return None
    return CurrentUser(
        id=uid,
        public_id=upid,
        username=username,
        full_name=full_name,
        email=email,
        unit_id=unit_id,
        unit=UnitInfo(unit_id, unit_pid, unit_name, unit_type, district),
        roles=frozenset(r[-1] for r in rows if r[-1] is not None),
        active=bool(active),
        session_version=session_version,
    )


def roles_required(*roles: str) -> Callable[[F], F]:
    """Admit only logged-in users holding one of `roles`; others get 403 (and an audit event)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                audit.record("access_denied", outcome="denied", detail=view.__name__)
                db.session.commit()
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def login_only(view: F) -> F:
    """Any logged-in user (the start page, logout)."""
    return roles_required("staff", "social_secretary", "unit_manager", "lvs", "admin")(view)
