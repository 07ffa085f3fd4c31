"""The access register (behörighetsregister, SPEC §3.1): who holds or is about to hold access to
a case in a unit. Its one home: the active-grant predicate (``active_on``, written once as SQL),
applying an access order LVS has carried out (``apply_order``), the grants a closing case removes,
what ends soon, and the register page. The person limit and the fee-handler rule are counted from
here, from the server's own data, never from what a form says about the orderer (SPEC §1.3).
Nothing here commits: the request (or the command) does (portal/transaction.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, false, func, select
from sqlalchemy.orm import joinedload

from . import audit, rules
from .clock import utcnow
from .extensions import db
from .i18n import N_
from .models import Grant, LocalProtection, Submission, Unit, User

ACCESS_ORDER = "access_order"


def active_on(day: date) -> ColumnElement[bool]:
    """The one definition of an active grant, as SQL: not revoked and not over on `day`. A
    grant that starts later counts (it is access all the same: the person limit, a removal order
    and the register page must all see it); one that ended before `day` does not."""
    return and_(Grant.revoked_at.is_(None), Grant.valid_to >= day)


def holders(case_number: str, unit_id: int, day: date) -> list[str]:
    """Usernames with a grant of the case for the unit that is not revoked and not over: those
    that run today and those that start later (a grant from next month is a person with access
    all the same; counting only today's would let an order of future grants pass the limit).

    Grants belong to the unit that ordered them (its id, not a typed unit name, so that spelling
    and letter case cannot split one unit's count)."""
    return list(
        db.session.scalars(
            select(Grant.username)
            .where(
                Grant.case_number == case_number,
                Grant.unit_id == unit_id,
                active_on(day),
            )
            .distinct()
        )
    )


def pending_orders(case_number: str, unit_id: int, exclude_id: int | None = None) -> list[Any]:
    """The content of the unit's access orders of the case that wait for LVS (submitted, not
    done), oldest first; `exclude_id` leaves out the order being processed."""
    query = select(Submission.data).where(
        Submission.form == ACCESS_ORDER,
        Submission.status == "submitted",
        Submission.unit_id == unit_id,
        Submission.case_number == case_number,
    )
    if exclude_id is not None:
        query = query.where(Submission.id != exclude_id)
    return list(db.session.scalars(query.order_by(Submission.created_at, Submission.id)))


def pending_additions(case_number: str, unit_id: int, exclude_id: int | None = None) -> list[str]:
    """Everyone the unit's pending access orders of the case add (SPEC §3.1: the limit counts
    active grants and pending orders)."""
    out: list[str] = []
    for data in pending_orders(case_number, unit_id, exclude_id):
        persons = data.get("persons") if isinstance(data, dict) else None
        for p in persons if isinstance(persons, list) else []:
            if isinstance(p, dict) and p.get("action") == "add" and p.get("username"):
                out.append(str(p["username"]))
    return out


def pending_removals(case_number: str, unit_id: int) -> set[str]:
    """Everyone (letter case folded) the unit's pending access orders of the case remove: a
    closing or a person's removal does not order their removal twice."""
    out: set[str] = set()
    for data in pending_orders(case_number, unit_id):
        persons = data.get("persons") if isinstance(data, dict) else None
        for p in persons if isinstance(persons, list) else []:
            if isinstance(p, dict) and p.get("action") == "remove" and p.get("username"):
                out.add(str(p["username"]).lower())
    return out


def fee_handler_usernames(usernames: Iterable[object]) -> list[str]:
    """Which of these usernames belong to users of an `avgift` unit (§7.2), by the users table,
    letter case ignored."""
    wanted = sorted({u.strip().lower() for u in usernames if isinstance(u, str) and u.strip()})
    if not wanted:
        return []
    return list(
        db.session.scalars(
            select(User.username)
            .join(Unit, Unit.id == User.unit_id)
            .where(Unit.unit_type == "avgift", func.lower(User.username).in_(wanted))
        )
    )


def grants_to_remove(case_number: str, unit_id: int, day: date) -> list[Grant]:
    """Every grant of the case for the unit that is not revoked and not yet over: those that still
    run and those that start later, one per person. When a case closes, all of them go (§5.13,
    §7.7, §8.10)."""
    grants = db.session.scalars(
        select(Grant)
        .where(Grant.case_number == case_number, Grant.unit_id == unit_id, active_on(day))
        .order_by(Grant.valid_from, Grant.id)
    ).all()
    seen: set[str] = set()
    unique = []
    for g in grants:  # one row per person, however many grants the register holds for them
        if g.username.lower() not in seen:
            seen.add(g.username.lower())
            unique.append(g)
    return unique


def ending_soon(
    unit_id: int | None, day: date, reminder_days: int
) -> tuple[list[Grant], list[LocalProtection]]:
    """Active grants and local protections of the unit (None: every unit) that end within
    `reminder_days` of `day`, soonest first (§2.2: a grant lasts at most a year; §1.3: local
    protection three months), so that the manager orders an extension or a removal in time."""
    horizon = day + timedelta(days=reminder_days)
    grants = select(Grant).where(active_on(day), Grant.valid_to <= horizon)
    protections = select(LocalProtection).where(
        LocalProtection.until >= day, LocalProtection.until <= horizon
    )
    if unit_id is not None:
        grants = grants.where(Grant.unit_id == unit_id)
        protections = protections.where(LocalProtection.unit_id == unit_id)
    return (
        list(db.session.scalars(grants.order_by(Grant.valid_to))),
        list(db.session.scalars(protections.order_by(LocalProtection.until))),
    )


def unit_counts(unit_id: int, day: date) -> tuple[int, int]:
    """How many active grants the unit holds on `day`, and in how many cases: what the §4.1
    self-check records of the register as it was checked (portal/self_check.py)."""
    grants, cases = db.session.execute(
        select(func.count(Grant.id), func.count(Grant.case_number.distinct())).where(
            Grant.unit_id == unit_id, active_on(day)
        )
    ).one()
    return int(grants or 0), int(cases or 0)


@dataclass(frozen=True)
class RegisterPage:
    """One page of the register as a user may see it."""

    grants: list[Grant]  # active grants, in case order
    more: bool  # a next page exists
    protections: list[LocalProtection]  # local protections not over, soonest end first


def page(
    user: User,
    day: date,
    number: int,
    per_page: int,
    case: str | None = None,
    username: str | None = None,
) -> RegisterPage:
    """Page `number` (1-based) of the active grants, and every local protection not over: all
    units' for LVS, the user's own unit's for anyone else (§4.1 self-check). Who may see the
    register at all is the view's decision. `case` keeps one case's grants and protections;
    `username` one person's grants (letter case ignored), and then no protection (it names no
    person) (SPEC §6: the register's filters)."""
    grants = select(Grant).where(active_on(day))
    protections = select(LocalProtection).where(LocalProtection.until >= day)
    if not user.has_role("lvs"):
        grants = grants.where(Grant.unit_id == user.unit_id)
        protections = protections.where(LocalProtection.unit_id == user.unit_id)
    if case:
        grants = grants.where(Grant.case_number == case)
        protections = protections.where(LocalProtection.case_number == case)
    if username:
        grants = grants.where(func.lower(Grant.username) == username.lower())
        protections = protections.where(false())
    rows = db.session.scalars(
        grants.order_by(Grant.case_number, Grant.valid_to, Grant.id)
        .offset((number - 1) * per_page)
        .limit(per_page + 1)
        # Each row names who granted it and each protection its unit: loaded with the rows,
        # not one query per person or unit.
        .options(joinedload(Grant.granted_by))
    ).all()
    return RegisterPage(
        grants=list(rows[:per_page]),
        more=len(rows) > per_page,
        protections=list(
            db.session.scalars(
                protections.order_by(LocalProtection.until).options(
                    joinedload(LocalProtection.unit)
                )
            )
        ),
    )


# --- a case's and a person's grants across units (SPEC §3.7) -------------------------------------


def case_grants(case_number: str, unit_id: int | None, day: date) -> list[Grant]:
    """Every active grant of the case, in one unit or (None) in every unit, by unit and name:
    what a closing removes (§5.13, §7.7, §8.10) and what LVS checks before it gives access
    (§2.5: "Kontrollera om andra redan har behörighet till ärendet")."""
    query = select(Grant).where(Grant.case_number == case_number, active_on(day))
    if unit_id is not None:
        query = query.where(Grant.unit_id == unit_id)
    return list(
        db.session.scalars(
            query.order_by(Grant.unit_name, Grant.unit_id, Grant.username, Grant.valid_from)
        )
    )


def case_protections(case_number: str, unit_id: int | None, day: date) -> list[LocalProtection]:
    """The case's local protections not over, in one unit or (None) in every unit."""
    query = select(LocalProtection).where(
        LocalProtection.case_number == case_number, LocalProtection.until >= day
    )
    if unit_id is not None:
        query = query.where(LocalProtection.unit_id == unit_id)
    return list(
        db.session.scalars(
            query.order_by(LocalProtection.until).options(joinedload(LocalProtection.unit))
        )
    )


def person_grants(username: str, unit_id: int | None, day: date) -> list[Grant]:
    """Every active grant of one person (letter case ignored), in one unit or (None) in every
    unit, by unit and case: someone who leaves or changes post loses them all (§2.1, 002)."""
    query = select(Grant).where(func.lower(Grant.username) == username.lower(), active_on(day))
    if unit_id is not None:
        query = query.where(Grant.unit_id == unit_id)
    return list(
        db.session.scalars(
            query.order_by(Grant.unit_name, Grant.unit_id, Grant.case_number, Grant.valid_from)
        )
    )


def removal_rows(grants: Iterable[Grant]) -> list[dict[str, str]]:
    """An access order's person rows that remove these grants, one per person, as
    forms.access_order.load_grants fills them in (a position not in the list is left out: a
    removal row needs none)."""
    positions = set(current_app.config["POSITIONS"])
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for g in grants:
        if g.username.lower() in seen:
            continue
        seen.add(g.username.lower())
        rows.append(
            {
                "action": "remove",
                "full_name": g.full_name,
                "username": g.username,
                "email": g.email,
                "position": g.position if g.position in positions else "",
            }
        )
    return rows


#: The checks LVS makes before it gives access (§2.5), ticked when it marks an order done and
#: kept with the order. Keys are stored; the texts are msgids, translated where shown.
ORDER_CHECKS: dict[str, str] = {
    "others_with_access": N_(
        "Kontrollerat om andra redan har behörighet till ärendet och om någon ska tas bort"
    ),
    "other_administration": N_("Undersökt om ärendet hanteras i annan förvaltning"),
    "linked_persons": N_("Kontrollerat om personen har kopplingar till andra i systemet"),
}


# --- applying an access order (§2.2) --------------------------------------------------------------


def person_limit(unit_type: str) -> int:
    """The unit type's most people per case (§2.1); an unknown type admits none."""
    limit = current_app.config["PERSON_LIMITS"].get(unit_type, 0)
    return limit if isinstance(limit, int) else 0


def usernames(data: dict[str, Any], action: str) -> list[str]:
    """The usernames of an order's rows with `action` ("add" or "remove")."""
    return [p["username"] for p in data.get("persons", []) if p.get("action") == action]


def fee_handler_rows(data: dict[str, Any], unit_type: str) -> set[int]:
    """Indexes of the rows that would give a fee handler access (§7.2), by the server's data: an
    addition ordered from an `avgift` unit, for a user of an `avgift` unit, or for the position
    avgiftshandläggare (rules.check_no_fee_handler decides)."""
    persons = data.get("persons", [])
    found = rules.check_no_fee_handler(
        unit_type, persons, fee_handler_usernames(usernames(data, "add"))
    )
    rows: set[int] = set()
    for v in found:
        if v.field == "persons":  # the ordering unit itself: every addition
            rows |= {i for i, p in enumerate(persons) if p.get("action") == "add"}
        else:
            rows.add(int(v.field.split("-")[1]))
    return rows


def order_justified(sub: Submission, data: dict[str, Any]) -> bool:
    """The order carries a justification for exceeding the limit (at least the configured length).

    A written justification is a sealed field (SPEC §3.1): the plain content no longer holds it,
    and it is shredded before on_done runs (submissions.mark_done). Then the order counts as
    justified if it was flagged when submitted, i.e. over the limit then, which check admits only
    with a justification long enough. One justified for a smaller excess than it has now is not
    told apart: it stays flagged, as it was."""
    if "justification" not in data:
        return sub.flagged
    text = str(data.get("justification") or "")
    return len(text.strip()) >= int(current_app.config["JUSTIFICATION_MIN_LENGTH"])


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def apply_order(sub: Submission, user: User, day: date) -> None:
    """LVS (`user`) has carried the order out in Treserva on `day`: each row becomes a grant or a
    removal, in the unit that ordered it (the submission's unit, server data; never what the
    order says). Flushes; never commits (the request does, with the order marked done).

    Checked again here, in the grants' transaction, against the register as it is now:
    - a row that would give a fee handler access (§7.2) never becomes a grant: it is skipped, the
      order flagged and the refusal audited; so is local protection from any unit but Myndighet's
      managers (§1.3);
    - if the case now has more people than the unit type allows and the order has no
      justification (orders carried out in another sequence, or placed at the same moment), the
      grants are recorded all the same (the register must show everyone who has access in
      Treserva, or no removal order would ever find them) and the order is flagged, with an audit
      event, so that LVS and the unit manager see it."""
    data = sub.data or {}
    # One unit's orders are carried out one at a time (PostgreSQL: a row lock on the unit until
    # this transaction ends; SQLite writes one at a time anyway), so that two orders marked done
    # at the same moment cannot each count the register without the other's grants.
    db.session.execute(select(Unit.id).where(Unit.id == sub.unit_id).with_for_update())
    unit = sub.unit
    case = data["case_number"]
    refused = fee_handler_rows(data, unit.unit_type)
    justified = order_justified(sub, data)
    now = utcnow()
    for i, p in enumerate(data.get("persons", [])):
        if i in refused:
            audit.submission_event(
                sub,
                "grant_refused",
                user,
                outcome="refused",
                detail=f"R-NO-FEE-HANDLER rad {i + 1}",
            )
            continue
        # Every unrevoked grant of the person, also one already over (not active_on): the order
        # that replaces or removes it is recorded as its end.
        current = db.session.scalars(
            select(Grant).where(
                Grant.case_number == case,
                func.lower(Grant.username) == p["username"].lower(),
                Grant.unit_id == sub.unit_id,
                Grant.revoked_at.is_(None),
            )
        ).all()
        for g in current:  # a new grant replaces the old one; a removal ends it
            g.revoked_at, g.revoked_by_id, g.revoke_order_id = now, user.id, sub.id
        if p["action"] == "add":
            db.session.add(
                Grant(
                    case_number=case,
                    username=p["username"],
                    full_name=p["full_name"],
                    email=p["email"],
                    position=p["position"],
                    unit_id=sub.unit_id,
                    unit_name=unit.name,
                    unit_type=unit.unit_type,
                    valid_from=_date(data["valid_from"]) or day,
                    valid_to=_date(data["valid_to"]) or day,
                    granted_by_id=user.id,
                    order_id=sub.id,
                )
            )
    if data.get("local_protection") and data.get("local_protection_until"):
        # R-LOCAL-MAX again, by the server's data: only a Myndighet unit's manager (§1.3).
        if unit.unit_type == "myndighet" and sub.submitted_by.has_role("unit_manager"):
            db.session.add(
                LocalProtection(
                    case_number=case,
                    unit_id=sub.unit_id,
                    until=date.fromisoformat(data["local_protection_until"]),
                    order_id=sub.id,
                    recorded_by_id=user.id,
                )
            )
        else:
            sub.flagged = True
            audit.submission_event(
                sub, "local_protection_refused", user, outcome="refused", detail="R-LOCAL-MAX"
            )
    if refused:
        sub.flagged = True
    db.session.flush()
    persons = data.get("persons", [])
    added = [i for i, p in enumerate(persons) if p.get("action") == "add" and i not in refused]
    if not added or justified:
        return
    count = len({u.casefold() for u in holders(case, sub.unit_id, day)})
    limit = person_limit(unit.unit_type)
    if count > limit:
        sub.flagged = True
        audit.submission_event(
            sub, "person_limit_exceeded", user, outcome="flagged", detail=f"{count} > {limit}"
        )
