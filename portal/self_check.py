"""Egenkontroll av behörigheter (§4.1, issue 16 item 4): the unit manager regularly checks who has
access to the unit's protected cases, from the client's side (per case) and the employees' (per
employee), follows up that the rules are followed and reviews the logs per ÄVO's routine.

The portal keeps that it was done: who, when, what was checked, and how many active grants and
cases the register held then (counts only; nothing about any client, SPEC §1.1). The start page
reminds the unit manager when the unit's last self-check is SELF_CHECK_MONTHS calendar months old
(or there is none), counted on Swedish calendar dates. The register prints as a PDF for the
self-check file (`print_register`). Nothing here commits: the request does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from . import audit, register
from .clock import local, local_date, utcnow
from .extensions import db
from .i18n import N_
from .models import SelfCheck, User
from .render.pdf import render_pdf
from .rules import add_months

#: What a self-check covers (§4.1), in the routine's order: the field names of the page's form
#: and the columns of `self_checks`. The texts are msgids, translated where shown.
CHECKS: dict[str, str] = {
    "per_case": N_("Behörigheterna är kontrollerade per ärende, utifrån den enskildes perspektiv"),
    "per_employee": N_("Behörigheterna är kontrollerade per medarbetare"),
    "rules_followed": N_("Uppföljt att regler och rutiner kring skyddade personuppgifter följs"),
    "logs_reviewed": N_("Loggranskning gjord enligt ÄVO:s rutin för loggranskning"),
}
#: The same, short: the list of earlier self-checks and the printed register.
SHORT: dict[str, str] = {
    "per_case": N_("per ärende"),
    "per_employee": N_("per medarbetare"),
    "rules_followed": N_("regler och rutiner"),
    "logs_reviewed": N_("loggranskning"),
}
#: Without these two a self-check is not one (§4.1: "utifrån den enskildes perspektiv och
#: medarbetares").
REQUIRED: tuple[str, ...] = ("per_case", "per_employee")
#: How many earlier self-checks the register page lists, newest first.
HISTORY = 10


class TooLong(ValueError):
    """More grants than one printout holds: the caller asks for a filter."""


class Incomplete(ValueError):
    """A self-check without the checks §4.1 requires: nothing is recorded."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


def missing(ticks: dict[str, bool]) -> list[str]:
    """The required checks that are not ticked."""
    return [name for name in REQUIRED if not ticks.get(name)]


def save(user: User, ticks: dict[str, bool], day: date) -> SelfCheck:
    """`user` (a unit manager) has done the §4.1 self-check of their unit on `day`: kept with the
    register's counts of that moment, and audited in the same transaction. Raises Incomplete,
    storing nothing, when a required check is not ticked. Flushes; never commits."""
    lacking = missing(ticks)
    if lacking:
        raise Incomplete(lacking)
    if user.unit_id is None:  # a unit manager always has a unit; no unit, nothing to check
        raise Incomplete(["unit"])
    grants, cases = register.unit_counts(user.unit_id, day)
    check = SelfCheck(
        unit_id=user.unit_id,
        done_by_id=user.id,
        **{name: bool(ticks.get(name)) for name in CHECKS},
        active_grants=grants,
        cases=cases,
    )
    db.session.add(check)
    db.session.flush()
    audit.record(
        "self_check_recorded",
        user=user,
        object_type="self_check",
        unit_id=user.unit_id,
        detail=(
            f"kontrollerat: {', '.join(n for n in CHECKS if ticks.get(n))}; "
            f"behörigheter: {grants}; ärenden: {cases}"
        ),
    )
    return check


def refused(user: User, lacking: list[str]) -> None:
    """A self-check posted without a required check: the refusal is audited (which checks were
    missing), nothing else is kept."""
    audit.record(
        "self_check_refused",
        user=user,
        object_type="self_check",
        unit_id=user.unit_id,
        outcome="refused",
        detail=f"saknas: {', '.join(lacking)}",
    )


def history(unit_id: int, limit: int = HISTORY) -> list[SelfCheck]:
    """The unit's self-checks, newest first, at most `limit`."""
    return list(
        db.session.scalars(
            select(SelfCheck)
            .where(SelfCheck.unit_id == unit_id)
            .order_by(SelfCheck.done_at.desc(), SelfCheck.id.desc())
            .limit(limit)
            .options(joinedload(SelfCheck.done_by))
        )
    )


def latest(unit_id: int) -> SelfCheck | None:
    """The unit's last self-check, or None."""
    found = history(unit_id, 1)
    return found[0] if found else None


def latest_per_unit(unit_ids: list[int]) -> dict[int, SelfCheck]:
    """The last self-check of each of these units that has one (the printed register)."""
    if not unit_ids:
        return {}
    newest = (
        select(SelfCheck.unit_id, func.max(SelfCheck.done_at).label("done_at"))
        .where(SelfCheck.unit_id.in_(sorted(set(unit_ids))))
        .group_by(SelfCheck.unit_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(SelfCheck)
        .join(
            newest,
            (SelfCheck.unit_id == newest.c.unit_id) & (SelfCheck.done_at == newest.c.done_at),
        )
        .order_by(SelfCheck.id)
        .options(joinedload(SelfCheck.done_by), joinedload(SelfCheck.unit))
    )
    return {check.unit_id: check for check in rows}


def checked(check: SelfCheck) -> list[str]:
    """The codes of what the self-check covered, in the routine's order."""
    return [name for name in CHECKS if getattr(check, name)]


def months() -> int:
    """SELF_CHECK_MONTHS as a number of months (at least one; the environment gives text)."""
    return max(int(current_app.config["SELF_CHECK_MONTHS"]), 1)


@dataclass(frozen=True)
class Reminder:
    """The start page's view of the unit's self-check: the last one (or None), the day the next
    is due (None: never done, due now) and whether it is due on the day asked about."""

    last: SelfCheck | None
    next_due: date | None
    due: bool

    @property
    def last_day(self) -> date | None:
        return local_date(self.last.done_at) if self.last is not None else None


def reminder(unit_id: int, day: date, period: int | None = None) -> Reminder:
    """Is the unit's self-check due on `day` (a Swedish calendar date)? It is when there is none,
    or from the day the last one is `period` (default SELF_CHECK_MONTHS) calendar months old:
    done 2026-06-01, due 2026-12-01 (rules.add_months clamps to a month's last day)."""
    period = months() if period is None else period
    last = latest(unit_id)
    if last is None:
        return Reminder(last=None, next_due=None, due=True)
    next_due = add_months(local_date(last.done_at), period)
    return Reminder(last=last, next_due=next_due, due=day >= next_due)


# --- the register printed for the self-check file -----------------------------------------------


def _by_name(item: tuple[int, str]) -> tuple[str, int]:
    return item[1].casefold(), item[0]


def print_register(
    user: User, day: date, case: str | None, username: str | None, max_rows: int
) -> bytes:
    """The access register as the register page shows it to `user` (LVS: every unit; a unit
    manager: their own), with the page's filters, as a PDF for the self-check file (§4.1): every
    active grant, the local protections and the last self-check of each unit shown. The print is
    an audit event (how many rows, which filters: case numbers and usernames only). Raises
    TooLong, printing nothing, over `max_rows` grants."""
    shown = register.page(user, day, 1, max_rows, case=case, username=username)
    if shown.more:
        raise TooLong(max_rows)
    lvs = user.has_role("lvs")
    # The units the printout shows (a unit manager: their own), each with its last self-check.
    units = (
        {g.unit_id: g.unit_name for g in shown.grants}
        | {p.unit_id: p.unit.name for p in shown.protections}
        if lvs or user.unit is None
        else {user.unit.id: user.unit.name}
    )
    checks = latest_per_unit(list(units))
    filters = {"case": case, "username": username}
    chosen = ", ".join(f"{k}={v}" for k, v in filters.items() if v) or "inga"
    audit.record(
        "register_printed",
        user=user,
        object_type="register",
        unit_id=user.unit_id,
        case_number=case,
        detail=f"rader: {len(shown.grants)}; filter: {chosen}",
    )
    return render_pdf(
        "register.html",
        grants=shown.grants,
        protections=shown.protections,
        cases=len({g.case_number for g in shown.grants}),
        unit_name=None if lvs or user.unit is None else user.unit.name,
        filters=filters,
        printed_by=user.full_name,
        printed_by_username=user.username,
        printed_at=local(utcnow()),
        checks=[(name, checks.get(uid)) for uid, name in sorted(units.items(), key=_by_name)],
        check_codes=checked,
        check_short=SHORT,  # print templates are Swedish, as the paper kit
        local=local,
    )
