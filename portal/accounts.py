"""User and unit administration (issue 15): the one home of the rules and changes that the
command line (`flask users …`, `flask units …`, portal/cli.py) and the admin's pages
(/admin/users, /admin/units, portal/views/admin.py) share, so both refuse the same things with
the same words.

Plain values in: no request, no form. Each change flushes and writes its audit event (who did it
is the logged-in admin, or nobody on the command line; what changed, never a client's data) in
the caller's transaction; it never commits. A refusal raises `Refused` before anything changes,
carrying the violations at their fields (Swedish messages); the caller rolls back and records
it with `record_refusal` (the command in a transaction of its own, the page in the request's).

Rules: R-USERNAME (the configured pattern, unique), R-REQUIRED (name), R-EMAIL-DOMAIN (the city's
domains), R-ROLE (a role of models.ROLES, and a unit for any role), R-UNIT (the unit exists; a
configured unit type and city district; a unique name), the password rules of portal/passwords.py,
and the lock-out guard R-SELF: an admin cannot take their own admin role or deactivate themself."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from . import audit, rules
from .auth import hash_password
from .auth import unlock as forget_failures
from .extensions import db
from .i18n import N_
from .models import ROLES, Unit, User, UserRole
from .passwords import password_problems
from .rules import Violation

#: password_hash of a user with no local password (argon2 cannot verify it: no login with it).
NO_PASSWORD = "!"  # noqa: S105 - not a password: a hash no password verifies against
FULL_NAME_MAX = 120
UNIT_NAME_MAX = 120

NAME_REQUIRED = N_("Ange namnet.")
NAME_TOO_LONG = N_("Namnet får ha högst %(n)s tecken.")
NAME_CONTROL = N_("Namnet får inte innehålla styrtecken.")
USERNAME_REQUIRED = N_("Ange användarnamnet.")
USERNAME_TAKEN = N_("Det finns redan en användare med användarnamnet %(username)s.")
UNKNOWN_ROLE = N_("Okänd roll: %(role)s.")
ROLE_NEEDS_UNIT = N_("En användare med en roll måste höra till en enhet. Välj enhet först.")
UNKNOWN_UNIT = N_("Enheten %(unit)s finns inte.")
UNIT_TAKEN = N_("Det finns redan en enhet som heter %(unit)s.")
UNKNOWN_TYPE = N_("Enhetstypen %(value)s är okänd. Välj bland: %(choices)s.")
UNKNOWN_DISTRICT = N_("Stadsområdet %(value)s är okänt. Välj bland: %(choices)s.")
SELF_ADMIN = N_(
    "Du kan inte ta bort din egen roll som systemförvaltare: då kan ingen rätta det om du "
    "ändrar fel. Be en annan systemförvaltare."
)
SELF_DEACTIVATE = N_(
    "Du kan inte avaktivera dig själv: då kan ingen rätta det. Be en annan systemförvaltare."
)
PASSWORDS_DIFFER = N_("Lösenorden är inte lika. Skriv samma lösenord två gånger.")


class Refused(Exception):
    """A change that breaks a rule; nothing was changed. `target`: the user or unit concerned,
    if it exists (a unit: a refused unit change); `password`: the password was refused."""

    def __init__(
        self,
        violations: Sequence[Violation],
        target: User | Unit | None = None,
        *,
        unit: bool = False,
        password: bool = False,
    ) -> None:
        super().__init__("; ".join(v.message for v in violations))
        self.violations = list(violations)
        self.target = target
        self.unit = unit or isinstance(target, Unit)
        self.password = password

    @property
    def codes(self) -> str:
        return ",".join(dict.fromkeys(v.code for v in self.violations))


def record_refusal(refused: Refused) -> None:
    """The refusal's audit event: which rules (their codes, as `flask users` always wrote them);
    never the input itself."""
    target = refused.target
    audit.record(
        "unit_refused"
        if refused.unit
        else ("password_refused" if refused.password else "user_refused"),
        object_type="unit" if refused.unit else "user",
        object_id=target.public_id if target is not None else None,
        unit_id=_unit_id(target),
        outcome="refused",
        detail=refused.codes,
    )


def _unit_id(target: User | Unit | None) -> int | None:
    if isinstance(target, Unit):
        return target.id
    return target.unit_id if target is not None else None


# --- look-ups -------------------------------------------------------------------------------------


def user_by_username(username: str) -> User | None:
    found: User | None = db.session.scalar(select(User).where(User.username == username.strip()))
    return found


def user_by_public_id(public_id: str) -> User | None:
    found: User | None = db.session.scalar(select(User).where(User.public_id == public_id))
    return found


def unit_by_name(name: str) -> Unit | None:
    found: Unit | None = db.session.scalar(select(Unit).where(Unit.name == name.strip()))
    return found


def unit_by_public_id(public_id: str) -> Unit | None:
    found: Unit | None = db.session.scalar(select(Unit).where(Unit.public_id == public_id))
    return found


def unit_of(user: User) -> Unit | None:
    """The user's unit, None for a user without one (migration 0008; models.User.unit_id)."""
    return user.unit


# --- rules ----------------------------------------------------------------------------------------


def _name_violations(value: str, field: str, most: int) -> list[Violation]:
    text = value.strip()
    if not text:
        return [Violation("R-REQUIRED", field, NAME_REQUIRED)]
    if len(text) > most:
        return [Violation("R-LENGTH", field, NAME_TOO_LONG, {"n": most})]
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in text) or rules.contains_bidi_control(
        text
    ):
        return [Violation("R-TEXT", field, NAME_CONTROL)]
    return []


def username_violations(username: str, *, existing: User | None = None) -> list[Violation]:
    """R-USERNAME: the configured pattern (ASCII), and no other user by that name."""
    text = username.strip()
    if not text:
        return [Violation("R-REQUIRED", "username", USERNAME_REQUIRED)]
    found = rules.check_username(text, "username", current_app.config["USERNAME_PATTERN"])
    if found:
        return found
    other = user_by_username(text)
    if other is not None and other is not existing:
        return [Violation("R-USERNAME", "username", USERNAME_TAKEN, {"username": text})]
    return []


def role_violations(roles: Iterable[str], unit: Unit | None) -> list[Violation]:
    """R-ROLE: known roles only; any role needs a unit (a user without a unit has no role)."""
    wanted = list(roles)
    out = [
        Violation("R-ROLE", "roles", UNKNOWN_ROLE, {"role": role})
        for role in wanted
        if role not in ROLES
    ]
    if wanted and unit is None:
        out.append(Violation("R-ROLE", "roles", ROLE_NEEDS_UNIT))
    return out


def details_violations(
    full_name: str, email: str, *, unit_name: str | None = None, unit: Unit | None = None
) -> list[Violation]:
    """Full name, e-mail (R-EMAIL-DOMAIN) and, when one was named, that the unit exists."""
    out = _name_violations(full_name, "full_name", FULL_NAME_MAX)
    out += rules.check_email_domain(
        email, current_app.config["ALLOWED_EMAIL_DOMAINS"], "email"
    )
    if unit_name and unit is None:
        out.append(Violation("R-UNIT", "unit", UNKNOWN_UNIT, {"unit": unit_name}))
    return out


def password_violations(
    password: str, user_name: str, full_name: str, repeated: str | None = None
) -> list[Violation]:
    """The password rules (portal/passwords.py, issue 11 L5); `repeated`, when given, the same."""
    found = password_problems(
        password,
        username=user_name,
        full_name=full_name,
        min_length=current_app.config["PASSWORD_MIN_LENGTH"],
    )
    if not found and repeated is not None and repeated != password:
        found = [Violation("R-PASSWORD-REPEAT", "password_repeat", PASSWORDS_DIFFER)]
    return found


def _choice_violation(value: str, choices: Sequence[str], field: str, msgid: str) -> list[Violation]:
    if value in choices:
        return []
    return [Violation("R-UNIT", field, msgid, {"value": value, "choices": ", ".join(choices)})]


def unit_violations(
    name: str, unit_type: str, district: str, *, existing: Unit | None = None
) -> list[Violation]:
    """A unit's name (unique), a configured unit type and a configured city district."""
    cfg = current_app.config
    out = _name_violations(name, "name", UNIT_NAME_MAX)
    if not out:
        other = unit_by_name(name)
        if other is not None and other is not existing:
            out.append(Violation("R-UNIT", "name", UNIT_TAKEN, {"unit": name.strip()}))
    out += _choice_violation(unit_type, list(cfg["UNIT_TYPES"]), "unit_type", UNKNOWN_TYPE)
    out += _choice_violation(district, list(cfg["CITY_DISTRICTS"]), "district", UNKNOWN_DISTRICT)
    return out


# --- users ----------------------------------------------------------------------------------------


def _event(user: User, action: str, detail: str | None = None) -> None:
    audit.record(
        action, object_type="user", object_id=user.public_id, unit_id=user.unit_id, detail=detail
    )


def _roles_text(roles: Iterable[str]) -> str:
    return ",".join(sorted(roles)) or "-"


def _wanted(roles: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(r.strip() for r in roles if r.strip()))


def create_user(
    username: str,
    full_name: str,
    email: str,
    unit: Unit | None,
    roles: Iterable[str],
    password: str | None,
    *,
    unit_name: str | None = None,
    password_repeat: str | None = None,
) -> User:
    """A new user. `unit_name`: the unit as the caller named it, when `unit` was looked up from
    it (None: not found); `password` None: no local password (sign-in with the city account)."""
    wanted = _wanted(roles)
    found = username_violations(username)
    found += details_violations(full_name, email, unit_name=unit_name, unit=unit)
    found += role_violations(wanted, unit)
    if password is not None:
        found += password_violations(password, username.strip(), full_name, password_repeat)
    if found:
        raise Refused(found, password=all(v.field.startswith("password") for v in found))
    user = User(
        username=username.strip(),
        full_name=full_name.strip(),
        email=email.strip(),
        unit_id=unit.id if unit is not None else None,
        password_hash=hash_password(password) if password is not None else NO_PASSWORD,
        role_rows=[UserRole(role=r) for r in wanted],
    )
    db.session.add(user)
    db.session.flush()
    _event(
        user,
        "user_created",
        f"roller: {_roles_text(wanted)}; lokalt lösenord: {'ja' if password else 'nej'}",
    )
    return user


@dataclass(frozen=True)
class Change:
    """What `update_user` changed: the names of the fields (for the page's message)."""

    fields: tuple[str, ...]


def update_user(
    user: User, full_name: str, email: str, unit: Unit | None, *, unit_name: str | None = None
) -> Change:
    """A user's full name, e-mail and unit. Taking the unit away is refused while the user has
    a role (R-ROLE)."""
    found = details_violations(full_name, email, unit_name=unit_name, unit=unit)
    if unit is None and user.roles:
        found.append(Violation("R-ROLE", "unit", ROLE_NEEDS_UNIT))
    if found:
        raise Refused(found, user)
    changed: list[str] = []
    parts: list[str] = []
    if user.full_name != full_name.strip():
        user.full_name = full_name.strip()
        changed.append("full_name")
        parts.append("namn")
    if user.email != email.strip():
        user.email = email.strip()
        changed.append("email")
        parts.append("e-post")
    new_unit_id = unit.id if unit is not None else None
    if user.unit_id != new_unit_id:
        old = unit_of(user)
        before = old.name if old is not None else "-"
        user.unit_id = new_unit_id  # type: ignore[assignment]  # None: no unit (migration 0008)
        user.unit = unit  # type: ignore[assignment]
        changed.append("unit")
        parts.append(f"enhet: {before} -> {unit.name if unit is not None else '-'}")
    if changed:
        db.session.flush()
        _event(user, "user_changed", "ändrat: " + ", ".join(parts))
    return Change(tuple(changed))


def set_roles(user: User, roles: Iterable[str], actor: User | None = None) -> bool:
    """The user's roles become exactly `roles`; every session of the user ends (its session
    version goes up). `actor`: the admin making the change (None on the command line), who may
    not take their own admin role. Returns whether anything changed."""
    wanted = _wanted(roles)
    found = role_violations(wanted, unit_of(user))
    if actor is not None and actor.id == user.id and "admin" in user.roles and (
        "admin" not in wanted
    ):
        found.append(Violation("R-SELF", "roles", SELF_ADMIN))
    if found:
        raise Refused(found, user)
    before = set(user.roles)
    if before == set(wanted):
        return False
    user.role_rows = [r for r in user.role_rows if r.role in wanted]
    user.role_rows += [UserRole(role=r) for r in wanted if r not in before]
    user.session_version += 1
    db.session.flush()
    _event(user, "user_roles_changed", f"roller: {_roles_text(before)} -> {_roles_text(wanted)}")
    return True


def deactivate(user: User, actor: User | None = None) -> None:
    """The user can no longer sign in, and every session of it ends now: the user loader reads
    `active` and the session version from the database at every request, on every instance."""
    if actor is not None and actor.id == user.id:
        raise Refused([Violation("R-SELF", "user", SELF_DEACTIVATE)], user)
    user.active = False
    user.session_version += 1
    db.session.flush()
    _event(user, "user_deactivated")


def reactivate(user: User) -> None:
    """The user may sign in again (with the roles it had)."""
    user.active = True
    db.session.flush()
    _event(user, "user_reactivated")


def set_password(user: User, password: str, password_repeat: str | None = None) -> None:
    """A new local password (a break-glass account); every session of the user ends. A refused
    password is audited as `password_refused` (which rules, never the password)."""
    found = password_violations(password, user.username, user.full_name, password_repeat)
    if found:
        raise Refused(found, user, password=True)
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.flush()
    _event(user, "password_set")


def unlock(user: User) -> int:
    """Forget the user's failed logins from every address (the login throttle, migration
    0006); returns how many addresses waited or had failures."""
    sources = forget_failures(user.username)
    _event(user, "login_unlocked", f"adresser: {sources}")
    return sources


def waiting_first(users: Iterable[User]) -> list[User]:
    """Active users without a role ("väntar på behörighet") first, then by username."""
    return sorted(users, key=lambda u: (not (u.active and not u.roles), u.username.casefold()))


def is_waiting(user: User) -> bool:
    """An active user with no role: a first sign-in with the city account, or all roles taken."""
    return bool(user.active and not user.roles)


def users_matching(
    name: str = "", unit: Unit | None = None, role: str = "", limit: int = 500
) -> list[User]:
    """Users whose username or full name contains `name`, of `unit`, holding `role`; waiting
    users first."""
    query = select(User)
    text = name.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            User.username.ilike(pattern, escape="\\") | User.full_name.ilike(pattern, escape="\\")
        )
    if unit is not None:
        query = query.where(User.unit_id == unit.id)
    if role:
        query = query.where(User.role_rows.any(UserRole.role == role))
    return waiting_first(db.session.scalars(query.order_by(User.username).limit(limit)))


# --- units ----------------------------------------------------------------------------------------


def create_unit(name: str, unit_type: str, district: str) -> Unit:
    found = unit_violations(name, unit_type, district)
    if found:
        raise Refused(found, unit=True)
    unit = Unit(name=name.strip(), unit_type=unit_type, city_district=district)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit_created", object_type="unit", object_id=unit.public_id, unit_id=unit.id)
    return unit


def update_unit(unit: Unit, name: str, unit_type: str, district: str) -> Change:
    """Rename a unit, change its type or district. Grants keep the unit's name and type as they
    were when granted (the register's rows are history)."""
    found = unit_violations(name, unit_type, district, existing=unit)
    if found:
        raise Refused(found, unit)
    changed: list[str] = []
    parts: list[str] = []
    if unit.name != name.strip():
        parts.append(f"namn: {unit.name} -> {name.strip()}")
        unit.name = name.strip()
        changed.append("name")
    if unit.unit_type != unit_type:
        parts.append(f"typ: {unit.unit_type} -> {unit_type}")
        unit.unit_type = unit_type
        changed.append("unit_type")
    if unit.city_district != district:
        parts.append(f"stadsområde: {unit.city_district} -> {district}")
        unit.city_district = district
        changed.append("district")
    if changed:
        db.session.flush()
        audit.record(
            "unit_changed",
            object_type="unit",
            object_id=unit.public_id,
            unit_id=unit.id,
            detail="; ".join(parts),
        )
    return Change(tuple(changed))


def units_by_name() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.name)))


def user_counts() -> dict[int, int]:
    """Active users per unit id."""
    rows: Any = db.session.execute(
        select(User.unit_id, func.count(User.id))
        .where(User.active.is_(True), User.unit_id.is_not(None))
        .group_by(User.unit_id)
    )
    return {int(unit_id): int(n) for unit_id, n in rows}
