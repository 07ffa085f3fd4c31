"""Every purge rule in one place (SPEC §1.1: keep client data only while a step needs it).

Each rule is a function `(now) -> int` (how many it purged) registered in RULES. `run_rule` applies
one and writes its audit event with its count; it only flushes. The purge job (`flask purge` and
the timer: scheduler.purge_job) runs every rule, each in a transaction of its own. Every rule is
idempotent (it selects only what is still to purge), so two instances running it at once purge
nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from . import audit, crypto
from .clock import aware, local_date, start_of_day
from .extensions import db
from .rules import add_months

Rule = Callable[[datetime], int]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def run_rule(name: str, now: datetime) -> int:
    """Apply the rule `name` as of `now` and write its audit event (the count only); flushes, the
    caller commits."""
    count = RULES[name](now)
    audit.record("purge", object_type="retention", object_id=name, detail=f"antal: {count}")
    return count


# --- rules: each form's purge rule below, in the form's order (SPEC §3) -------------------------


# --- day notes (§8.6; SPEC §3.5) ------------------------------------------------------------------


def day_notes_last_purged_date(today: date, months: int) -> date:
    """The latest written date whose notes are purged on `today`.

    The rule, on Swedish calendar dates: a note written on day D is deleted from the day
    add_months(D, months) on, compiled or not (§8.6: kept "i högst två månader"). add_months
    clamps to the month's end, so with two months a note of 2026-01-31 goes on 2026-03-31 (not on
    2026-03-30), and notes of 2025-12-29…31 all go on 2026-02-28."""
    last = add_months(today, -months)
    while add_months(last + timedelta(days=1), months) <= today:
        last += timedelta(days=1)
    return last


@rule("day_notes")
def purge_day_notes(now: datetime) -> int:
    from flask import current_app

    from .models import DayNote

    last = day_notes_last_purged_date(
        local_date(now), current_app.config["RETENTION_DAY_NOTES_MONTHS"]
    )
    # Everything written before the start (Stockholm time) of the day after `last`, as UTC.
    due = DayNote.written_at < start_of_day(last + timedelta(days=1))
    keys = db.session.scalars(select(DayNote.data_key_id).where(due)).all()
    result = db.session.execute(
        delete(DayNote).where(due).execution_options(synchronize_session=False)
    )
    # Their data keys go in the same transaction: the text is then unreadable in any copy
    # (crypto-shredding; the WAL is checkpointed after the commit, portal/crypto.py).
    crypto.shred_keys(keys)
    purged = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if purged:
        crypto.mark_shredded()  # a note written before data keys has no key, but its pages go too
    return purged


@rule("fictional_files_closed")
def purge_closed_fictional_files(now: datetime) -> int:
    """§8.10: when the case has ended the fictional file goes too: a closed file is deleted once
    the day-note rule has removed its last note (its name and case-number link with it)."""
    from .models import DayNote, FictionalFile

    has_notes = select(DayNote.id).where(DayNote.file_id == FictionalFile.id).exists()
    result = db.session.execute(
        delete(FictionalFile)
        .where(FictionalFile.closed_at.is_not(None), ~has_notes)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@rule("actualisation_unprocessed")
def purge_unprocessed_actualisations(now: datetime) -> int:
    """§2.4 (SPEC §3.2): an actualisation request LVS has not handled within
    RETENTION_ACTUALISATION_DAYS loses its content (personnummer, name); the tombstone stays with
    status "expired", which its submitter sees on the start page."""
    from .forms import stored

    return _expire_unprocessed(
        now,
        "actualisation",
        "RETENTION_ACTUALISATION_DAYS",
        stored("actualisation").purge,
        "ej hanterad inom gallringstiden",
    )


@rule("deviation_unregistered")
def purge_unregistered_deviations(now: datetime) -> int:
    """§4.2 (SPEC §3.4): a deviation reserve report nobody registered in Treserva within
    DEVIATION_RETENTION_DAYS loses its content (the description may name the person); the
    tombstone stays with status "expired". Its unit's managers saw it flagged, with this date,
    on their start page from DEVIATION_FLAG_DAYS on (forms/deviation.py `unregistered`)."""
    from .forms import stored

    return _expire_unprocessed(
        now,
        "deviation",
        "DEVIATION_RETENTION_DAYS",
        stored("deviation").purge,
        "ej registrerad inom gallringstiden",
    )


def _expire_unprocessed(
    now: datetime, form: str, days_setting: str, purge: Callable[[Any, str], None], detail: str
) -> int:
    """Purge (crypto-shred) every submission of `form` still unprocessed after the setting's days,
    leaving a tombstone with status "expired", each purge audited."""
    from flask import current_app

    from .models import Submission

    cutoff = aware(now) - timedelta(days=current_app.config[days_setting])
    expired = db.session.scalars(
        select(Submission).where(
            Submission.form == form,
            Submission.status == "submitted",
            Submission.purged_at.is_(None),
            Submission.created_at <= cutoff,
        )
    ).all()
    for sub in expired:
        purge(sub, "expired")
        audit.record(
            "protected_content_purged",
            object_type=sub.form,
            object_id=sub.public_id,
            unit_id=sub.unit_id,
            detail=detail,
        )
    return len(expired)


# --- follow-ups (issue 16, part E; §1.3, §5.12) ---------------------------------------------------


@rule("follow_ups_passed")
def purge_passed_follow_ups(now: datetime) -> int:
    """A follow-up (a case number and a date, portal/follow_ups.py) goes once its day has passed:
    from the Swedish calendar day after its date."""
    from . import follow_ups

    return follow_ups.purge_passed(local_date(now))


# --- data keys (issue 11 H4) ------------------------------------------------------------------------


@rule("data_keys_orphaned")
def purge_orphaned_data_keys(now: datetime) -> int:
    """Last: a data key whose record is gone by a path that did not delete it (a fictional file
    deleted with its notes by the database's cascade) is deleted here, within the hour."""
    return crypto.purge_orphaned_keys()
