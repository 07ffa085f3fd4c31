"""Blank paper forms: the same bytes until a template changes, so rendered once per process.
`?fillable=1` gives a variant with PDF form fields, for filling in on screen before printing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request

from ..auth import login_only
from ..forms import FORMS
from ..render.pdf import blank_pdf

bp = Blueprint("blank", __name__, url_prefix="/blank")

# Paper forms that are not a FormSpec of their own (the day-note sheet) are added here.
EXTRA_BLANKS: dict[str, str] = {"day-notes": "day_notes.html"}  # §7.5, §8.6


def blanks() -> dict[str, str]:
    return {
        **{s.slug: s.blank_template for s in FORMS.values() if s.blank_template},
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
