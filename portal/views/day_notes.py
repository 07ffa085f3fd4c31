"""Daganteckningar (§7.5, §8.6; spec §3.5): staff without access to the case write day notes under
the client's fictional name in a fictional file (fiktiv akt) of their unit; a manager of the unit,
who has the access, compiles them into Treserva's journal at least weekly and marks them compiled.

Who sees what: staff and managers of the file's unit only (anyone else: 404). The file's case
number is shown to the unit's managers only, never to staff and never on the sheet. Every view,
print, note, compilation and closing is audited, without the note text or the fictional name.
Notes are deleted two calendar months after they were written, compiled or not (portal.retention).

Note text is stored encrypted (portal.crypto: under the note's own data key, bound to the note
and its unit), and the key is deleted with the note."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from .. import audit, crypto, rules
from ..auth import roles_required
from ..clock import aware, local, utcnow
from ..extensions import db
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import DataRequired, _l
from ..models import DayNote, FictionalFile, new_public_id
from ..render.pdf import render_pdf

bp = Blueprint("day_notes", __name__, url_prefix="/day-notes")

NOTE_MAX = 4000


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class FileForm(FlaskForm):
    """A manager opens a fictional file (§8.2: fictional name, see the checklist)."""

    fictional_name = StringField(
        _l("Fiktivt namn"),
        filters=[strip],
        validators=[DataRequired(_l("Ange det fiktiva namnet.")), Length(max=120)],
    )
    case_number = StringField(
        _l("Ärendenummer i Treserva (valfritt)"), filters=[strip], validators=[Length(max=32)]
    )


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("Anteckning"),
        filters=[strip],
        validators=[
            DataRequired(_l("Skriv anteckningen.")),
            Length(max=NOTE_MAX, message=_l("Högst %(n)s tecken.", n=NOTE_MAX)),
        ],
    )


# --- note text: encrypted at rest ----------------------------------------------------------------


def set_text(note: DayNote, text: str) -> None:
    """Under the note's own data key, bound to the note and its file's unit (crypto.seal); the
    key is deleted with the note (portal/retention.py)."""
    crypto.seal(note, "text_enc", text.encode("utf-8"))
    note.text = None


def get_text(note: DayNote) -> str:
    if note.text_enc is not None:
        return crypto.unseal(note, "text_enc").decode("utf-8")
    return note.text or ""


# --- queries -------------------------------------------------------------------------------------


def _file_or_404(public_id: str) -> FictionalFile:
    """A fictional file of the user's own unit; any other id is 404 (deny by default)."""
    file = db.session.scalar(
        select(FictionalFile).where(
            FictionalFile.public_id == public_id, FictionalFile.unit_id == current_user.unit_id
        )
    )
    if file is None:
        audit.record("day_notes_denied", object_type="fictional_file", outcome="denied")
        db.session.commit()
        abort(404)
    return file


def _notes(file: FictionalFile, uncompiled_only: bool = False) -> list[DayNote]:
    # Each note's data key in the same query (crypto.unseal reads it for every note shown).
    q = select(DayNote).where(DayNote.file_id == file.id).options(joinedload(DayNote.data_key))
    if uncompiled_only:
        q = q.where(DayNote.compiled_at.is_(None))
    return list(db.session.scalars(q.order_by(DayNote.written_at, DayNote.id)))


def uncompiled_summary(unit_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per open file of the unit with notes not yet compiled: how many, since when, and whether the
    oldest is older than DAY_NOTES_COMPILE_DAYS (§8.6: compile at least once a week)."""
    now = now or utcnow()
    limit = timedelta(days=current_app.config["DAY_NOTES_COMPILE_DAYS"])
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
        }
        for f, n, oldest in rows
    ]


def compiled_text(notes: list[DayNote]) -> str:
    """The notes as one text for Treserva's journal: date and time, the note, the signature."""
    parts = []
    for note in notes:
        parts.append(
            f"{local(note.written_at)}\n{get_text(note).strip()}\nSignatur: {note.author.full_name}"
        )
    return "\n\n".join(parts)


def _is_manager() -> bool:
    return bool(current_user.has_role("unit_manager"))


def _record(action: str, file: FictionalFile, **kw: Any) -> None:
    """Audit without the fictional name or any note text (the file's public id says which)."""
    audit.record(
        action,
        object_type="fictional_file",
        object_id=file.public_id,
        unit_id=file.unit_id,
        case_number=file.case_number,
        **kw,
    )


# --- views ---------------------------------------------------------------------------------------


def _index_page(form: FileForm | None, status: int = 200) -> Any:
    files = list(
        db.session.scalars(
            select(FictionalFile)
            .where(FictionalFile.unit_id == current_user.unit_id)
            .order_by(FictionalFile.closed_at.is_not(None), FictionalFile.fictional_name)
        )
    )
    counts = dict(
        db.session.execute(
            select(DayNote.file_id, func.count(DayNote.id))
            .join(FictionalFile, FictionalFile.id == DayNote.file_id)
            .where(FictionalFile.unit_id == current_user.unit_id, DayNote.compiled_at.is_(None))
            .group_by(DayNote.file_id)
        ).all()
    )
    audit.record(
        "fictional_files_listed", object_type="fictional_file", unit_id=current_user.unit_id
    )
    db.session.commit()
    return render_template(
        "day_notes/index.html",
        files=files,
        counts=counts,
        form=form,
        errors=error_summary(form) if form else [],
        is_manager=_is_manager(),
    ), status


@bp.route("/", methods=["GET"])
@roles_required("staff", "unit_manager")
def index() -> Any:
    return _index_page(FileForm() if _is_manager() else None)


@bp.route("/", methods=["POST"])
@roles_required("unit_manager")
def create_file() -> Any:
    form = FileForm()
    if not validate_input(form):  # over a limit: no rule sees the input (issue 11 H1)
        return _index_page(form, 422)
    name = (form.fictional_name.data or "").strip()
    case_number = (form.case_number.data or "").strip()
    violations = rules.check_note_text(name, "fictional_name")
    if case_number:
        violations += rules.check_case_number(
            case_number, "case_number", current_app.config["CASE_NUMBER_PATTERN"]
        )
    attach_violations(form, violations)
    if error_summary(form):
        return _index_page(form, 422)
    file = FictionalFile(
        public_id=new_public_id(),
        unit_id=current_user.unit_id,
        fictional_name=name,
        case_number=case_number or None,
    )
    db.session.add(file)
    db.session.flush()
    _record("fictional_file_created", file)
    db.session.commit()
    flash(_("Den fiktiva akten är skapad."))
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


def _show_page(file: FictionalFile, form: NoteForm, status: int = 200) -> Any:
    notes = _notes(file)
    _record("day_notes_viewed", file)
    db.session.commit()
    return render_template(
        "day_notes/show.html",
        file=file,
        notes=notes,
        form=form,
        text=get_text,
        local=local,
        errors=error_summary(form),
        is_manager=_is_manager(),
    ), status


@bp.route("/<file_id>")
@roles_required("staff", "unit_manager")
def show(file_id: str) -> Any:
    return _show_page(_file_or_404(file_id), NoteForm(formdata=None))


@bp.route("/<file_id>/notes", methods=["POST"])
@roles_required("staff", "unit_manager")
def add_note(file_id: str) -> Any:
    file = _file_or_404(file_id)
    form = NoteForm()
    if file.closed_at is not None:
        form.form_errors.append(_("Akten är stängd. Nya anteckningar kan inte skrivas i den."))
        return _show_page(file, form, 409)
    if not validate_input(form):  # over a limit: no rule sees the input (issue 11 H1)
        return _show_page(file, form, 422)
    text = (form.text.data or "").strip()
    attach_violations(form, rules.check_note_text(text, "text"))  # R-NOTE-PNR (§7.5)
    if error_summary(form):
        return _show_page(file, form, 422)
    note = DayNote(
        public_id=new_public_id(), file=file, author_id=current_user.id, written_at=utcnow()
    )
    set_text(note, text)
    db.session.add(note)
    db.session.flush()
    _record("day_note_added", file, detail=f"anteckning {note.public_id}")
    db.session.commit()
    flash(_("Anteckningen är sparad."))
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


@bp.route("/<file_id>/compile", methods=["GET"])
@roles_required("unit_manager")
def compile_view(file_id: str) -> Any:
    file = _file_or_404(file_id)
    notes = _notes(file, uncompiled_only=True)
    _record("day_notes_compile_viewed", file, detail=f"antal: {len(notes)}")
    db.session.commit()
    return render_template(
        "day_notes/compile.html", file=file, notes=notes, text=compiled_text(notes)
    )


@bp.route("/<file_id>/compile", methods=["POST"])
@roles_required("unit_manager")
def compile_done(file_id: str) -> Any:
    """Mark compiled exactly the notes the manager saw (a note written meanwhile stays open)."""
    file = _file_or_404(file_id)
    wanted = set(request.form.getlist("note"))
    now = utcnow()
    count = 0
    for note in _notes(file, uncompiled_only=True):
        if note.public_id in wanted:
            note.compiled_at, note.compiled_by_id = now, current_user.id
            count += 1
    _record("day_notes_compiled", file, detail=f"antal: {count}")
    db.session.commit()
    flash(
        ngettext(
            "%(num)d anteckning är markerad som sammanställd i journalen.",
            "%(num)d anteckningar är markerade som sammanställd i journalen.",
            count,
        )
    )
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


@bp.route("/<file_id>/close", methods=["POST"])
@roles_required("unit_manager")
def close(file_id: str) -> Any:
    """§7.7, §8.10: the case ends; no new notes. What is written is still deleted on schedule."""
    file = _file_or_404(file_id)
    if file.closed_at is None:
        file.closed_at = utcnow()
        _record("fictional_file_closed", file)
        db.session.commit()
        flash(_("Akten är stängd."))
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


@bp.route("/<file_id>/sheet.pdf")
@roles_required("staff", "unit_manager")
def sheet(file_id: str) -> Any:
    """The paper sheet with the fictional name and unit filled in: never the case number."""
    file = _file_or_404(file_id)
    _record("day_note_sheet_printed", file)
    db.session.commit()
    body = render_pdf(
        "day_notes.html", fictional_name=file.fictional_name, unit_name=file.unit.name
    )
    # The file name says what it is and our reference, never the (fictional) name.
    name = f"daganteckningar-{file.public_id[:8]}.pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
