"""Blank paper forms: the same bytes until a template changes, so rendered once per process."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort

from ..auth import login_only
from ..forms import FORMS
from ..render.pdf import blank_pdf

bp = Blueprint("blank", __name__, url_prefix="/blank")


@bp.route("/<name>.pdf")
@login_only
def pdf(name: str) -> Any:
    spec = FORMS.get(name)
    if spec is None:
        abort(404)
    return Response(blank_pdf(spec.blank_template), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="blankett-{spec.slug}.pdf"'})
