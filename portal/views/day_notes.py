"""Daganteckningar (§7.5, §8.6; spec §3.5), the pages: parse the form, call the service
(portal/day_notes.py), redirect. A file outside the user's unit is 404, its attempt audited; the
request commits what the service did (portal/transaction.py).

The routine has staff write day notes by hand (§7.1): unless DAY_NOTES_DIGITAL is on, the
fictional files serve the paper sheets only (blank, or prefilled with the fictional name) and the
case's closing; writing a note answers 404 and compiling is offered only for notes written while
the setting was on (so that a switch-off never lets them be purged uncompiled unseen).

Who does what: staff write; a unit manager opens and closes files; a unit manager or a planner
(SPEC §2: "compile the unit's day notes") sees the case number and compiles."""

from __future__ import annotations

from typing import Any, NoReturn

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
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from .. import day_notes, paper_kit, transaction
from ..auth import roles_required
from ..clock import local, today
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import DataRequired, _l
from ..models import FictionalFile
from ..render import file_names
from ..transaction import Denied

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
        _l("Ärendenummer i Treserva (frivilligt)"), filters=[strip], validators=[Length(max=32)]
    )


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("Anteckning"),
        render_kw={"rows": 8, "class": "note-text"},  # room to write (issue 14 item 9)
        filters=[strip],
        validators=[
            DataRequired(_l("Skriv anteckningen.")),
            Length(max=NOTE_MAX, message=_l("Högst %(n)s tecken.", n=NOTE_MAX)),
        ],
    )


def _file(public_id: str) -> FictionalFile:
    """The user's unit's file, or 404 with the attempt audited (deny by default)."""
    try:
        return day_notes.file_of(public_id, current_user)
    except day_notes.NotVisible:
        _not_found()


def _not_found() -> NoReturn:
    transaction.denial("day_notes_denied", object_type="fictional_file", outcome="denied")
    abort(404)


COMPILERS = ("unit_manager", "planner")
WRITERS = ("staff", "unit_manager")  # write notes, print the prefilled sheet


def _is_manager() -> bool:
    return bool(current_user.has_role("unit_manager"))


def _may_compile() -> bool:
    return bool(current_user.has_role(*COMPILERS))


def _may_write() -> bool:
    return bool(current_user.has_role(*WRITERS))


def _digital() -> bool:
    return bool(current_app.config["DAY_NOTES_DIGITAL"])


def _index_page(form: FileForm | None, status: int = 200) -> Any:
    shown = day_notes.overview(current_user)
    return render_template(
        "day_notes/index.html",
        files=shown.files,
        counts=shown.uncompiled,
        form=form,
        errors=error_summary(form) if form else [],
        is_manager=_is_manager(),
        may_compile=_may_compile(),
        may_write=_may_write(),
        digital=_digital(),
    ), status


@bp.route("/", methods=["GET"])
@roles_required("staff", *COMPILERS)
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
    attach_violations(form, day_notes.check_file(name, case_number))
    if error_summary(form):
        return _index_page(form, 422)
    file = day_notes.create_file(current_user, name, case_number)
    flash(_("Den fiktiva akten är skapad."))
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


def _show_page(file: FictionalFile, form: NoteForm, status: int = 200) -> Any:
    return render_template(
        "day_notes/show.html",
        file=file,
        notes=day_notes.read_notes(file, current_user),
        form=form,
        text=day_notes.note_text,
        local=local,
        errors=error_summary(form),
        is_manager=_is_manager(),
        may_compile=_may_compile(),
        may_write=_may_write(),
        digital=_digital(),
        uncompiled=day_notes.uncompiled_count(file),
        kit_sheets=[  # issue 16, part C; the day-note sheet has its own button
            sheet
            for sheet in paper_kit.SHEETS.values()
            if sheet.slug != paper_kit.DAY_NOTES and sheet.prefills_for(current_user)
        ],
    ), status


@bp.route("/<file_id>")
@roles_required("staff", *COMPILERS)
def show(file_id: str) -> Any:
    return _show_page(_file(file_id), NoteForm(formdata=None))


@bp.route("/<file_id>/notes", methods=["POST"])
@roles_required(*WRITERS)
def add_note(file_id: str) -> Any:
    if not _digital():  # §7.1: by hand, on the sheet; no page takes a note
        abort(404)
    file = _file(file_id)
    form = NoteForm()
    if file.closed_at is not None:  # said before any check of the text: it cannot be written
        form.form_errors.append(_("Akten är stängd. Nya anteckningar kan inte skrivas i den."))
        return _show_page(file, form, 409)
    if not validate_input(form):  # over a limit: no rule sees the input (issue 11 H1)
        return _show_page(file, form, 422)
    text = (form.text.data or "").strip()
    attach_violations(form, day_notes.check_note(text))  # R-NOTE-PNR, R-NOTE-ADDRESS (§7.5)
    if error_summary(form):
        return _show_page(file, form, 422)
    day_notes.add_note(file, current_user, text)
    flash(_("Anteckningen är sparad."))
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


def _compilable(file_id: str) -> FictionalFile:
    """The file to compile; with digital notes off only while it holds notes written when they
    were on (404 otherwise: there is nothing digital to compile)."""
    file = _file(file_id)
    if not _digital() and not day_notes.uncompiled_count(file):
        abort(404)
    return file


@bp.route("/<file_id>/compile", methods=["GET"])
@roles_required(*COMPILERS)
def compile_view(file_id: str) -> Any:
    file = _compilable(file_id)
    notes, text = day_notes.to_compile(file, current_user)
    return render_template("day_notes/compile.html", file=file, notes=notes, text=text)


@bp.route("/<file_id>/compile", methods=["POST"])
@roles_required(*COMPILERS)
def compile_done(file_id: str) -> Any:
    """Mark compiled exactly the notes the manager saw (a note written meanwhile stays open)."""
    file = _compilable(file_id)
    count = day_notes.mark_compiled(file, current_user, request.form.getlist("note"))
    flash(
        ngettext(
            "Markerad som sammanställd i journalen: %(num)d anteckning.",
            "Markerade som sammanställda i journalen: %(num)d anteckningar.",
            count,
        )
    )
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


@bp.route("/<file_id>/close", methods=["GET"])
@roles_required("unit_manager")
def close_confirm(file_id: str) -> Any:
    """The step before closing (issue 14 item 3): closing cannot be undone and starts the
    file's deletion, so a page says what happens and holds the real button. Checked as closing
    is: a unit manager, of the file's unit (404 otherwise, audited)."""
    file = _file(file_id)
    if file.closed_at is not None:  # nothing to confirm: the file's page says it is closed
        return redirect(url_for("day_notes.show", file_id=file.public_id), 303)
    return render_template(
        "day_notes/close_confirm.html",
        file=file,
        uncompiled=day_notes.uncompiled_count(file),
        may_compile=_may_compile(),
        digital=_digital(),
    )


@bp.route("/<file_id>/close", methods=["POST"])
@roles_required("unit_manager")
def close(file_id: str) -> Any:
    """§7.7, §8.10: the case ends; no new notes. What is written is still deleted on schedule."""
    file = _file(file_id)
    if day_notes.close(file, current_user):
        flash(_("Akten är stängd."))
    return redirect(url_for("day_notes.show", file_id=file.public_id), 303)


@bp.route("/<file_id>/sheet.pdf")
@roles_required(*WRITERS)
def sheet(file_id: str) -> Any:
    """The day-note sheet with the fictional name and unit filled in: never the case number (the
    paper kit's ``day-notes`` sheet, at its older address)."""
    return _prefilled(file_id, paper_kit.DAY_NOTES)


@bp.route("/<file_id>/kit/<slug>.pdf")
@roles_required("staff", *COMPILERS)
def kit(file_id: str, slug: str) -> Any:
    """A sheet of the paper kit (portal/paper_kit.py) with the fictional name and unit filled in
    (issue 16, part C): the key receipt, the handlingsplan, the file record, the day-note sheet.
    404 for a sheet that is never prefilled, 403 for one the user's role or unit type does not
    use, 404 for a file outside the user's unit (as the file's page)."""
    return _prefilled(file_id, slug)


def _prefilled(file_id: str, slug: str) -> Any:
    sheet = paper_kit.prefillable(slug)
    if sheet is None:
        abort(404)
    if not sheet.prefills_for(current_user):
        raise Denied(detail=f"paper kit {sheet.slug}")
    file = _file(file_id)
    body = paper_kit.print_prefilled(sheet, file, current_user)
    # The file name says what it is and the day, never the (fictional) name.
    name = sheet.filled_filename(today())
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": file_names.disposition("inline", name)},
    )
