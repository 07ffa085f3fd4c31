"""Closing a case, a protection that ends, and people who leave (SPEC §3.7; routine §2.1, §2.3,
§5.13, §7.7, §8.10, 002, 004).

When a case closes, the protection ends at Skatteverket or the person dies, every access to the
case goes: one removal order per unit that holds grants (an access order whose rows all remove,
in the LVS queue, marked as a closing), the unit's local protection ends, and a unit manager's
fictional file of the case is compiled and thrown away at once (§8.10). When a member of staff
leaves or changes post, their grants go the same way (§2.1, 002).

Nothing about the person is kept: the closing leaves one audit event (case number, who, when),
not what happened. A unit manager acts for their own unit, LVS for every unit. Nothing here speaks
HTTP or commits: the views turn the exceptions into pages, and the request commits
(portal/transaction.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app

from . import audit, day_notes, follow_ups, register, rules, submissions
from .extensions import db
from .forms import stored
from .forms.base import CheckContext
from .i18n import N_
from .models import DayNote, Grant, LocalProtection, Submission, User

#: What happened to the case (SPEC §3.7). Only the form asks it: it is never stored, not even in
#: the audit log (it would say something about the person).
EVENTS: dict[str, str] = {
    "closed": N_("Ärendet är avslutat (§5.13, §7.7, §8.10)"),
    "protection_ended": N_("Skyddet har upphört hos Skatteverket (§2.3, §5.3)"),
    "deceased": N_("Den enskilde har avlidit (§5.13)"),
}

#: The messages to send when a case closes: (form key, what to tell). The form is linked where
#: the portal has it.
MESSAGES: tuple[tuple[str, str], ...] = (
    ("fee_handler", N_("Avgiftshandläggaren: avgiften för insatsen upphör.")),
    ("trygghetsjouren", N_("Trygghetsjouren: trygghetslarmet återlämnas.")),
    ("handover", N_("Utföraren: uppdraget upphör.")),
)


class NothingToClose(Exception):
    """The case has no active grant (whose removal does not already wait at LVS), local
    protection or fictional file the user may end."""


class NothingToRemove(Exception):
    """The person has no active grant the user may remove (whose removal does not already
    wait at LVS)."""


def check_case(case_number: str) -> list[rules.Violation]:
    """The case number by the configured pattern (never a personnummer)."""
    return rules.check_case_number(
        case_number, "case_number", current_app.config["CASE_NUMBER_PATTERN"]
    )


def grant_scope(user: User) -> int | None:
    """Whose grants the user acts on: LVS every unit's (None), anyone else their own unit's."""
    return None if user.has_role("lvs") else user.unit_id


def file_unit(user: User) -> int | None:
    """The unit whose fictional files the user compiles at a closing: a unit manager's own."""
    return user.unit_id if user.has_role("unit_manager") else None


@dataclass(frozen=True)
class CaseView:
    """What closing the case would end, as the user may see it."""

    case_number: str
    grants: list[Grant]
    protections: list[LocalProtection]
    notes: list[DayNote] = field(default_factory=list)  # the unit's uncompiled day notes
    files: int = 0  # the unit's fictional files of the case

    @property
    def empty(self) -> bool:
        return not (self.grants or self.protections or self.files)


def overview(case_number: str, user: User, day: date) -> CaseView:
    """The case's active grants and local protections (LVS: in every unit; a manager: their
    own unit), and for a unit manager the unit's uncompiled day notes of the case, first (their
    reading is audited by portal/day_notes.py)."""
    scope, own = grant_scope(user), file_unit(user)
    return CaseView(
        case_number=case_number,
        grants=register.case_grants(case_number, scope, day),
        protections=register.case_protections(case_number, scope, day),
        notes=day_notes.uncompiled_for_case(case_number, own, user) if own else [],
        files=len(day_notes.files_for_case(case_number, own)) if own else 0,
    )


def removal_orders(grants: Iterable[Grant], user: User, day: date, marker: str) -> list[Submission]:
    """One access order per unit and case that removes these grants, stored in that unit's name
    (LVS removes them there: register.apply_order works on the order's unit) and queued for LVS;
    a person whose removal from the case already waits at LVS is left out, and so is a grant of
    a unit whose access goes by an Intraservice ticket (Trygghetsjouren, §9.2:
    ``by_intraservice``).
    `marker` is a key set true in the order's data ("closing" or "leaving"): no client data."""
    groups: dict[tuple[int, str], list[Grant]] = {}
    for g in grants:
        if g.unit_type not in rules.INTRASERVICE_ACCESS_UNIT_TYPES:  # §9.2: not to the LVS list
            groups.setdefault((g.unit_id, g.case_number), []).append(g)
    for (unit_id, case), held in list(groups.items()):
        waiting = register.pending_removals(case, unit_id)  # already ordered: not twice
        groups[(unit_id, case)] = [g for g in held if g.username.lower() not in waiting]
        if not groups[(unit_id, case)]:
            del groups[(unit_id, case)]
    kind = stored(register.ACCESS_ORDER)
    ctx = CheckContext(user=user, today=day, config=current_app.config)
    orders = []
    for (unit_id, case), held in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        unit = held[0].unit
        data: dict[str, Any] = {
            "case_number": case,
            "city_district": unit.city_district,
            "unit_type": unit.unit_type,
            "unit_name": unit.name,
            "persons": register.removal_rows(held),
            "valid_from": None,
            "valid_to": None,
            "local_protection": False,
            "local_protection_until": None,
            "local_protection_reason": "",
            "justification": "",
            marker: True,
        }
        # In the name of the unit that holds the grants (LVS closes for every unit).
        orders.append(submissions.create(kind, data, ctx, unit_id=unit_id))
    return orders


def by_intraservice(grants: Iterable[Grant]) -> list[str]:
    """The units among these grants whose access is removed by an Intraservice ticket, not by an
    access order (Trygghetsjouren, §9.2): the pages say so."""
    return sorted(
        {g.unit_name for g in grants if g.unit_type in rules.INTRASERVICE_ACCESS_UNIT_TYPES}
    )


@dataclass(frozen=True)
class Closing:
    """What a closing did."""

    orders: list[Submission]
    ended: list[LocalProtection]
    compiled: str  # the unit's uncompiled day notes, to paste into Treserva's journal
    files: int  # fictional files thrown away
    intraservice: list[str] = field(default_factory=list)  # units to remove by Intraservice


def close(case_number: str, user: User, day: date) -> Closing:
    """Close the case for the user's scope: removal orders for every active grant (one per
    unit), local protection ended (its last day yesterday: from today it is not in force), a unit
    manager's fictional files of the case compiled and deleted, every user's follow-ups of the
    case forgotten (portal/follow_ups.py), and one audit event "case_closed"
    (case number, who, when). NothingToClose when there is nothing to end. Flushes."""
    scope, own = grant_scope(user), file_unit(user)
    grants = register.case_grants(case_number, scope, day)
    protections = register.case_protections(case_number, scope, day)
    files = len(day_notes.files_for_case(case_number, own)) if own else 0
    orders = removal_orders(grants, user, day, "closing")
    intraservice = by_intraservice(grants)
    if not (orders or protections or files or intraservice):
        raise NothingToClose  # nothing flushed: removal_orders made none
    for p in protections:
        p.until = day - timedelta(days=1)
    compiled = day_notes.close_for_case(case_number, own, user) if own and files else ""
    follow_ups.forget_case(case_number)  # issue 16, part E: every user's reminders of the case
    audit.record(
        "case_closed",
        user=user,
        object_type="case",
        unit_id=user.unit_id,
        case_number=case_number,
    )
    db.session.flush()
    return Closing(
        orders=orders,
        ended=protections,
        compiled=compiled,
        files=files,
        intraservice=intraservice,
    )


def person_grants(username: str, user: User, day: date) -> list[Grant]:
    """The person's active grants the user may see: LVS every unit's, a manager their own."""
    return register.person_grants(username, grant_scope(user), day)


def remove_person(username: str, user: User, day: date) -> list[Submission]:
    """Removal orders for every active grant of the person the user may remove (§2.1, 002), one
    per unit and case (an access order is of one case). NothingToRemove when there is none."""
    orders = removal_orders(person_grants(username, user, day), user, day, "leaving")
    if not orders:
        raise NothingToRemove
    return orders
