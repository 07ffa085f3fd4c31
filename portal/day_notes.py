"""Daganteckningar (§7.5, §8.6; spec §3.5): staff without access to the case write day notes under
the client's fictional name in a fictional file (fiktiv akt) of their unit; a manager of the unit,
who has the access, compiles them into Treserva's journal at least weekly and marks them compiled.

The service: a file is found only within the user's own unit (``NotVisible`` otherwise, never told
apart from a file that does not exist); every view, print, note, compilation and closing is
audited, without the note text or the fictional name. Note text is stored only encrypted
(portal.crypto: under the note's own data key, bound to the note and its unit), and the key is
deleted with the note, two calendar months after it was written (portal.retention).

Nothing here speaks HTTP or commits: the views (portal/views/day_notes.py) turn the exceptions
into pages, and the request commits (portal/transaction.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from . import audit, crypto, rules
from .clock import aware, local, local_date, utcnow
from .extensions import db
from .models import DayNote, FictionalFile, User, new_public_id
from .rules import Violation


class NotVisible(Exception):
    """No fictional file with that id in the user's unit: missing, or another unit's (deny by
    default; the two are not told apart)."""


class FileClosed(Exception):
    """The file is closed (§7.7, §8.10): no new notes."""


# --- note text: encrypted at rest ----------------------------------------------------------------


def note_text(note: DayNote) -> str:
    """The note's text, decrypted (crypto.CryptoError if its key is gone or it was altered)."""
    return crypto.unseal(note, "text_enc").decode("utf-8")


def _seal_text(note: DayNote, text: str) -> None:
    """Under the note's own data key, bound to the note and its file's unit (crypto.seal); the
    key is deleted with the note (portal/retention.py)."""
    crypto.seal(note, "text_enc", text.encode("utf-8"))


def _record(action: str, file: FictionalFile, user: User | None = None, **kw: Any) -> None:
    """Audit without the fictional name or any note text (the file's public id says which)."""
    audit.record(
        action,
        user=user,
        object_type="fictional_file",
        object_id=file.public_id,
        unit_id=file.unit_id,
        case_number=file.case_number,
        **kw,
    )


# --- files ---------------------------------------------------------------------------------------


def file_of(public_id: str, user: User) -> FictionalFile:
    """The fictional file of the user's own unit with this id; NotVisible for any other."""
    file = db.session.scalar(
        select(FictionalFile).where(
            FictionalFile.public_id == public_id, FictionalFile.unit_id == user.unit_id
        )
    )
    if file is None:
        raise NotVisible
    return file


@dataclass(frozen=True)
class Overview:
    """The unit's files, open ones first, and how many uncompiled notes each has (by file id)."""

    files: list[FictionalFile]
    uncompiled: dict[int, int]


def overview(user: User) -> Overview:
    """The files of the user's unit, audited as listed."""
    files = list(
        db.session.scalars(
            select(FictionalFile)
            .where(FictionalFile.unit_id == user.unit_id)
            .order_by(FictionalFile.closed_at.is_not(None), FictionalFile.fictional_name)
        )
    )
    counts = db.session.execute(
        select(DayNote.file_id, func.count(DayNote.id))
        .join(FictionalFile, FictionalFile.id == DayNote.file_id)
        .where(FictionalFile.unit_id == user.unit_id, DayNote.compiled_at.is_(None))
        .group_by(DayNote.file_id)
    ).all()
    audit.record(
        "fictional_files_listed", user=user, object_type="fictional_file", unit_id=user.unit_id
    )
    return Overview(files=files, uncompiled={file_id: n for file_id, n in counts})


def check_file(fictional_name: str, case_number: str) -> list[Violation]:
    """A new file's rules: no personnummer in the fictional name (R-NOTE-PNR); the case number,
    if given, is one (never a mistyped personnummer)."""
    found = rules.check_note_text(fictional_name, "fictional_name")
    if case_number:
        found += rules.check_case_number(
            case_number, "case_number", current_app.config["CASE_NUMBER_PATTERN"]
        )
    return found


def create_file(user: User, fictional_name: str, case_number: str) -> FictionalFile:
    """A manager opens a fictional file in their unit (§8.2), checked by ``check_file``."""
    file = FictionalFile(
        public_id=new_public_id(),
        unit_id=user.unit_id,
        fictional_name=fictional_name,
        case_number=case_number or None,
    )
    db.session.add(file)
    db.session.flush()
    _record("fictional_file_created", file, user)
    return file


def close(file: FictionalFile, user: User) -> bool:
    """§7.7, §8.10: the case ends; no new notes. What is written is still deleted on schedule.
    False if it was closed already (nothing done, nothing audited)."""
    if file.closed_at is not None:
        return False
    file.closed_at = utcnow()
    _record("fictional_file_closed", file, user)
    return True


# --- notes ---------------------------------------------------------------------------------------


def _notes(file: FictionalFile, uncompiled_only: bool = False) -> list[DayNote]:
    # Each note's data key in the same query (crypto.unseal reads it for every note shown).
    q = select(DayNote).where(DayNote.file_id == file.id).options(joinedload(DayNote.data_key))
    if uncompiled_only:
        q = q.where(DayNote.compiled_at.is_(None))
    return list(db.session.scalars(q.order_by(DayNote.written_at, DayNote.id)))


def uncompiled_count(file: FictionalFile) -> int:
    """How many of the file's notes are not yet compiled (no content read, nothing audited)."""
    return int(
        db.session.scalar(
            select(func.count(DayNote.id)).where(
                DayNote.file_id == file.id, DayNote.compiled_at.is_(None)
            )
        )
        or 0
    )


def read_notes(file: FictionalFile, user: User) -> list[DayNote]:
    """Every note of the file, oldest first, audited as viewed."""
    notes = _notes(file)
    _record("day_notes_viewed", file, user)
    return notes


def check_note(text: str) -> list[Violation]:
    """A note's rules: no personnummer (R-NOTE-PNR, §7.5: the fictional name only), no street
    address and no phone number (R-NOTE-ADDRESS: they would tell where the person is, §1.1)."""
    return rules.check_note_text(text, "text") + rules.check_note_address(text, "text")


def add_note(file: FictionalFile, user: User, text: str) -> DayNote:
    """A note by `user` in an open file, checked by ``check_note``; FileClosed if it is closed."""
    if file.closed_at is not None:
        raise FileClosed
    note = DayNote(public_id=new_public_id(), file=file, author_id=user.id, written_at=utcnow())
    _seal_text(note, text)
    db.session.add(note)
    db.session.flush()
    _record("day_note_added", file, user, detail=f"anteckning {note.public_id}")
    return note


def compiled_text(notes: list[DayNote]) -> str:
    """The notes as one text for Treserva's journal: date and time, the note, the signature."""
    return "\n\n".join(
        f"{local(note.written_at)}\n{note_text(note).strip()}\nSignatur: {note.author.full_name}"
        for note in notes
    )


def to_compile(file: FictionalFile, user: User) -> tuple[list[DayNote], str]:
    """The file's uncompiled notes and their text for the journal, audited (how many)."""
    notes = _notes(file, uncompiled_only=True)
    _record("day_notes_compile_viewed", file, user, detail=f"antal: {len(notes)}")
    return notes, compiled_text(notes)


def mark_compiled(file: FictionalFile, user: User, note_ids: Iterable[str]) -> int:
    """Mark compiled exactly the notes the manager saw (their public ids); a note written
    meanwhile stays open. How many were marked."""
    wanted = set(note_ids)
    now = utcnow()
    count = 0
    for note in _notes(file, uncompiled_only=True):
        if note.public_id in wanted:
            note.compiled_at, note.compiled_by_id = now, user.id
            count += 1
    _record("day_notes_compiled", file, user, detail=f"antal: {count}")
    return count


# --- closing (§8.10; SPEC §3.7: the fictional file is compiled and deleted at once) -------------


def _case_files(case_number: str, unit_id: int) -> list[FictionalFile]:
    return list(
        db.session.scalars(
            select(FictionalFile)
            .where(FictionalFile.unit_id == unit_id, FictionalFile.case_number == case_number)
            .order_by(FictionalFile.closed_at.is_not(None), FictionalFile.created_at)
        )
    )


def files_for_case(case_number: str, unit_id: int) -> list[FictionalFile]:
    """The unit's fictional files linked to the case (open ones first; a file closed earlier still
    holds its notes, so it is thrown away at the case's closing too)."""
    return _case_files(case_number.strip(), unit_id) if case_number.strip() else []


def uncompiled_for_case(
    case_number: str, unit_id: int, user: User | None = None
) -> list[DayNote]:
    """The notes of ``files_for_case`` not yet compiled, oldest first (shown first at closing).
    With `user`, each file with such notes is audited as viewed for compiling (how many)."""
    files = files_for_case(case_number, unit_id)
    if not files:
        return []
    notes = list(
        db.session.scalars(
            select(DayNote)
            .where(DayNote.file_id.in_([f.id for f in files]), DayNote.compiled_at.is_(None))
            .options(joinedload(DayNote.data_key))
            .order_by(DayNote.written_at, DayNote.id)
        )
    )
    if user is not None:
        for file in files:
            n = sum(1 for note in notes if note.file_id == file.id)
            if n:
                _record("day_notes_compile_viewed", file, user, detail=f"antal: {n}")
    return notes


def close_for_case(case_number: str, unit_id: int, user: User) -> str:
    """§8.10 at the case's closing: the uncompiled notes of the unit's files of the case are
    compiled (their text returned, to paste into Treserva's journal, and marked compiled), then
    the files and all their notes are deleted at once, each note's data key with it
    (crypto-shredding). Audited per file, without content. Flushes; the caller's transaction
    commits. "" when there was nothing to compile."""
    files = files_for_case(case_number, unit_id)
    notes = uncompiled_for_case(case_number, unit_id)
    text = compiled_text(notes)
    now = utcnow()
    for note in notes:
        note.compiled_at, note.compiled_by_id = now, user.id
    for file in files:
        compiled = sum(1 for note in notes if note.file_id == file.id)
        if compiled:
            _record("day_notes_compiled", file, user, detail=f"antal: {compiled}")
        held = _notes(file)
        for note in held:
            crypto.shred(note, "text_enc")
            db.session.delete(note)
        db.session.flush()  # the notes (and their keys) before the file they belong to
        _record(
            "fictional_file_deleted", file, user, detail=f"antal anteckningar: {len(held)}"
        )
        db.session.delete(file)
    db.session.flush()
    return text


def purge_date(written_at: datetime) -> date:
    """The Swedish date from which a note written at `written_at` is purged (portal.retention:
    RETENTION_DAY_NOTES_MONTHS calendar months after the date it was written)."""
    months = current_app.config["RETENTION_DAY_NOTES_MONTHS"]
    return rules.add_months(local_date(written_at), months)


def uncompiled_summary(unit_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per file of the unit with notes not yet compiled: how many, since when, whether the oldest
    is older than DAY_NOTES_COMPILE_DAYS (§8.6: compile at least once a week), and whether it is
    DAY_NOTES_WARN_DAYS old (SPEC §3.5: six weeks) with the date it will be purged uncompiled."""
    now = now or utcnow()
    limit = timedelta(days=current_app.config["DAY_NOTES_COMPILE_DAYS"])
    warn_days = current_app.config["DAY_NOTES_WARN_DAYS"]  # on Swedish calendar dates
    rows = db.session.execute(
        select(FictionalFile, func.count(DayNote.id), func.min(DayNote.written_at))
        .join(DayNote, DayNote.file_id == FictionalFile.id)
        .where(FictionalFile.unit_id == unit_id, DayNote.compiled_at.is_(None))
        .group_by(FictionalFile.id)
        .order_by(func.min(DayNote.written_at))
    ).all()
    return [
        {
            "file": f,
            "count": n,
            "oldest": local(oldest),
            "flagged": now - aware(oldest) > limit,
            "warned": (local_date(now) - local_date(oldest)).days >= warn_days,
            "purge_on": purge_date(oldest),
        }
        for f, n, oldest in rows
    ]
