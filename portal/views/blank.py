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
from ..render.pdf import blank_pdf

bp = Blueprint("blank", __name__, url_prefix="/blank")

#: Paper forms that are not a form kind: the day-note sheet (§7.5, §8.6; blank here, prefilled
#: with a fictional file's name in portal/day_notes.py print_sheet).
EXTRA_BLANKS: dict[str, str] = {"day-notes": "day_notes.html"}


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
    suffix = "-ifyllbar" if fillable else ""
    return Response(
        blank_pdf(template, forms=fillable),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="blankett-{name}{suffix}.pdf"'},
    )
