"""The access register (behörighetsregister, SPEC §3.1): who holds or is about to hold access to
a case in a unit. The person limit and the fee-handler rule are counted from here, from the
server's own data, never from what a form says about the orderer (SPEC §1.3)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from .extensions import db
from .models import Grant, Submission, Unit, User

ACCESS_ORDER = "access_order"


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
                Grant.revoked_at.is_(None),
                Grant.valid_to >= day,
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


def fee_handler_usernames(usernames: Iterable[str]) -> list[str]:
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
        .where(
            Grant.case_number == case_number,
            Grant.unit_id == unit_id,
            Grant.revoked_at.is_(None),
            Grant.valid_to >= day,
        )
        .order_by(Grant.valid_from, Grant.id)
    ).all()
    seen: set[str] = set()
    unique = []
    for g in grants:  # one row per person, however many grants the register holds for them
        if g.username.lower() not in seen:
            seen.add(g.username.lower())
            unique.append(g)
    return unique
