"""Blank paper forms at ``/blank/<slug>.pdf``: every form with a blank (``has_blank``) and every
sheet of the paper kit (portal/paper_kit.py: the day-note sheet, the handlingsplan, the key
receipt, the file record, Trygghetsjouren's out-of-hours sheets), each from its print template
rendered with no data (render/pdf.py ``blank_pdf``: the same bytes for everyone, so rendered once
per process). Open to every logged-in user: a blank holds no data; the start page lists to each
user the blanks of their work (portal/menu.py).

``?fillable=1`` renders with WeasyPrint's PDF forms on, so that an ``<input>`` in a template would
become a PDF form field; the print templates have none today, so it gives the same form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request

from .. import paper_kit
from ..auth import login_only
from ..forms import FORMS
from ..render import file_names
from ..render.pdf import blank_pdf

bp = Blueprint("blank", __name__, url_prefix="/blank")


def blank_filename(name: str, fillable: bool = False) -> str:
    """The file name of the blank ``name`` (a key of :func:`blanks`): ``blankett-<words>.pdf``,
    Swedish, ASCII, no date (the same bytes for everyone)."""
    kind = FORMS.get(name)
    if kind is not None and kind.has_blank:
        return kind.blank_filename(fillable)
    return paper_kit.SHEETS[name].blank_filename(fillable)


def blanks() -> dict[str, str]:
    """Every blank paper form: its URL name and its print template."""
    return {
        **{kind.slug: kind.pdf_template for kind in FORMS.values() if kind.has_blank},
        **{sheet.slug: sheet.template for sheet in paper_kit.SHEETS.values()},
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
