"""Follow-ups without client data (issue 16 item 5; SPEC §1.1): the checklist's next follow-up
(§5.12) and the end of a local protection (§1.3: at most three months, followed up by the unit
manager, "Beslutet dokumenteras i journalen"), remembered for the social secretary or unit manager
who set them as a case number, a kind and a date — nothing else, never free text.

A form remembers one after a valid post (``FormKind.remember``: the checklist's render, the access
order's sending); the start page lists the user's own; the user marks one done (deleted, audited);
the retention rule deletes those whose day has passed (portal/retention.py); closing the case
forgets the case's follow-ups of every user (portal/cases.py). Nothing here speaks HTTP or
commits: the views turn ``NotVisible`` into a 404, and the request commits."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import audit, rules
from .extensions import db
from .models import FollowUp

if TYPE_CHECKING:
    from .models import User

CHECKLIST = "checklist"
LOCAL_PROTECTION = "local_protection"
#: The kinds of follow-up; the start page says each in its own sentence with the routine's §
#: (templates/main/_follow_ups.html).
KINDS = frozenset({CHECKLIST, LOCAL_PROTECTION})
#: Who sets and sees follow-ups: the checklist's social secretary, the access order's unit
#: manager (SPEC §2).
ROLES = ("social_secretary", "unit_manager")


class NotVisible(Exception):
    """No such follow-up of this user (another user's, or none): the view answers 404."""


def _valid_case(case_number: object) -> str | None:
    """The case number as the configured pattern allows it, else None: only a case number ever
    reaches the table (SPEC §1.1), whatever a form let through."""
    if not isinstance(case_number, str):
        return None
    case = case_number.strip()
    if not case or rules.check_case_number(
        case, "case_number", current_app.config["CASE_NUMBER_PATTERN"]
    ):
        return None
    return case


def remember(
    user: User, case_number: object, kind: str, due_on: date | None, today: date
) -> bool:
    """Remember (or move) the user's follow-up of ``kind`` for the case to ``due_on``: one per
    user, case and kind, the latest render's date wins. Nothing (False) when there is no valid
    case number or no date, or the date has passed. One statement, an insert that moves the date
    of the row already there (so two renders at once never make two rows, nor fail)."""
    if kind not in KINDS:
        raise ValueError(kind)
    case = _valid_case(case_number)
    if case is None or due_on is None or due_on < today:
        return False
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(FollowUp).values(user_id=user.id, case_number=case, kind=kind, due_on=due_on)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "case_number", "kind"],
            set_={"due_on": stmt.excluded.due_on},
        )
    )
    return True


def for_user(user: User, today: date) -> list[FollowUp]:
    """The user's own follow-ups still to come (today included), soonest first."""
    return list(
        db.session.scalars(
            select(FollowUp)
            .where(FollowUp.user_id == user.id, FollowUp.due_on >= today)
            .order_by(FollowUp.due_on, FollowUp.case_number, FollowUp.kind)
        )
    )


def done(public_id: str, user: User) -> FollowUp:
    """The user marks their follow-up done: it is deleted, with the audit event
    ``follow_up_done`` (case number, who, when). NotVisible for another user's or an unknown id.
    Flushes."""
    row = db.session.scalar(
        select(FollowUp).where(FollowUp.public_id == public_id, FollowUp.user_id == user.id)
    )
    if row is None:
        raise NotVisible
    audit.record(
        "follow_up_done",
        user=user,
        object_type="follow_up",
        object_id=row.public_id,
        unit_id=user.unit_id,
        case_number=row.case_number,
        detail=row.kind,
    )
    db.session.delete(row)
    db.session.flush()
    return row


def purge_passed(today: date) -> int:
    """Delete every follow-up whose day is before ``today`` (a Swedish calendar date): how many.
    Flushes (the retention rule, portal/retention.py)."""
    return _delete(FollowUp.due_on < today)


def forget_case(case_number: str) -> int:
    """The case is closed: its follow-ups go, of every user. How many. Flushes."""
    return _delete(FollowUp.case_number == case_number)


def _delete(where: ColumnElement[bool]) -> int:
    result = db.session.execute(
        delete(FollowUp).where(where).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
