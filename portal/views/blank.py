"""Blank paper forms: every form with a blank (``has_blank``) at ``/blank/<slug>.pdf``, its print
template rendered with no data (render/pdf.py ``blank_pdf``: the same bytes for everyone, so
rendered once per process), and the day-note sheet, which is no form of its own.

``?fillable=1`` renders with WeasyPrint's PDF forms on, so that an ``<input>`` in a template would
become a PDF form field; the print templates have none today, so it gives the same form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request

from ..auth import login_only
from ..forms import FORMS
from ..render import file_names
from ..render.pdf import blank_pdf

bp = Blueprint("blank", __name__, url_prefix="/blank")

#: Paper forms that are not a form kind: the day-note sheet (§7.5, §8.6; blank here, prefilled
#: with a fictional file's name in portal/day_notes.py print_sheet).
EXTRA_BLANKS: dict[str, str] = {"day-notes": "day_notes.html"}
#: Their file names' words (render/file_names.py).
EXTRA_WORDS: dict[str, str] = {"day-notes": file_names.DAY_NOTE_SHEET}


def blank_filename(name: str, fillable: bool = False) -> str:
    """The file name of the blank ``name`` (a key of :func:`blanks`): ``blankett-<words>.pdf``,
    Swedish, ASCII, no date (the same bytes for everyone)."""
    kind = FORMS.get(name)
    if kind is not None and kind.has_blank:
        return kind.blank_filename(fillable)
    return file_names.blank(EXTRA_WORDS[name], fillable)


def blanks() -> dict[str, str]:
    """Every blank paper form: its URL name and its print template."""
    return {
        **{kind.slug: kind.pdf_template for kind in FORMS.values() if kind.has_blank},
        **EXTRA_BLANKS,
    }


@bp.route("/<name>.pdf")
@login_only
def pdf(name: str) -> Any:
    template = blanks().get(name)
    if template is None:
        abort(404)
    fillable = request.args.get("fillable") == "1"
    return Response(
        blank_pdf(template, forms=fillable),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": file_names.disposition("inline", blank_filename(name, fillable))
        },
    )
