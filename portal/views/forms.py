"""Fill in a form: one view for every form of the routine; the form's module says the rest."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit, submissions
from ..auth import login_only
from ..extensions import db
from ..forms import FORMS
from ..forms.base import FormSpec, attach_violations, error_summary, today
from ..render.messages import render_message
from ..render.pdf import render_pdf

bp = Blueprint("forms", __name__, url_prefix="/forms")


def _spec_for(slug: str) -> FormSpec:
    spec = FORMS.get(slug)
    if spec is None:
        abort(404)
    if not current_user.has_role(*spec.submit_roles):
        audit.record("access_denied", outcome="denied", detail=f"form {spec.key}")
        db.session.commit()
        abort(403)
    return spec


def _page(spec: FormSpec, form: Any, status: int = 200) -> Any:
    return render_template(spec.page_template, spec=spec, form=form,
                           errors=error_summary(form)), status


@bp.route("/<slug>", methods=["GET", "POST"])
@login_only
def fill(slug: str) -> Any:
    spec = _spec_for(slug)
    form = spec.form_class()
    if request.method == "GET":
        if spec.prefill:
            spec.prefill(form, current_user)
        return _page(spec, form)
    if spec.handle_rows and spec.handle_rows(form):
        return _page(spec, form)
    form.validate()
    data = spec.to_data(form)
    attach_violations(form, spec.check(data, current_user, today()))
    if error_summary(form):
        return _page(spec, form, 422)
    if spec.storage == "none":
        return _render_only(spec, form, data)
    sub = submissions.create(spec, data, current_user)
    return redirect(url_for("submissions.show", public_id=sub.public_id), 303)


def _render_only(spec: FormSpec, form: Any, data: dict[str, Any]) -> Any:
    """Nothing stored: the result is shown (or printed) at once, and only the fact is audited."""
    as_pdf = "as_pdf" in request.form
    audit.record("pdf_rendered" if as_pdf else "message_rendered", object_type=spec.key,
                 unit_id=current_user.unit_id, case_number=spec.case_number(data))
    db.session.commit()
    meta = {"orderer": current_user.full_name, "orderer_unit": current_user.unit.name,
            "created_at": submissions.local(submissions.utcnow())}
    if as_pdf:
        attachments = spec.pdf_attachments(data) if spec.pdf_attachments else None
        body = render_pdf(spec.pdf_template, data=data, meta=meta, attachments=attachments)
        return Response(body, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{spec.slug}.pdf"'})
    message = render_message(spec, data, meta)
    return render_template(spec.result_template or "forms/result.html", spec=spec, form=form,
                           data=data, meta=meta, message=message)
