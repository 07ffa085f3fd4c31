"""Passwords (argon2id) and access control: deny by default, each view names the roles it admits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_login import current_user
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from . import audit
from .extensions import db, login_manager
from .models import User

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


@functools.cache
def _user_query() -> Select[tuple[User]]:
    """The user with its roles and its unit in one query. Every logged-in request runs it, so the
    statement is built once (SQLAlchemy caches its SQL; building it is what this saves)."""
    return (
        select(User)
        .where(User.public_id == bindparam("public_id"))
        .options(joinedload(User.role_rows), joinedload(User.unit))
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    public_id, _, version = user_id.partition(":")
    user = db.session.scalars(_user_query(), {"public_id": public_id}).unique().one_or_none()
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


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
