"""Fill in a form: one view for every form of the routine; the form's module says the rest."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from .. import audit, submissions
from ..auth import login_only
from ..clock import local, today, utcnow
from ..extensions import db
from ..forms import FORMS, checklist
from ..forms.base import (
    FormSpec,
    attach_violations,
    error_summary,
    free_text_violations,
    validate_input,
)
from ..render.messages import render_message
from ..render.pdf import render_pdf

bp = Blueprint("forms", __name__, url_prefix="/forms")
# The checklist's text for the assignment document: templates/messages/checklist.txt writes it
# with the same table that the import reads it back with (portal/forms/checklist.py).
bp.add_app_template_global(checklist.assignment_text, "checklist_assignment_text")


def _spec_for(slug: str) -> FormSpec:
    spec = FORMS.get(slug)
    if spec is None:
        abort(404)
    unit_types = spec.extra.get("unit_types")
    if not current_user.has_role(*spec.submit_roles) or (
        unit_types and current_user.unit.unit_type not in unit_types
    ):
        audit.record("access_denied", outcome="denied", detail=f"form {spec.key}")
        db.session.commit()
        abort(403)
    return spec


def _page(spec: FormSpec, form: Any, status: int = 200) -> Any:
    return render_template(
        spec.page_template, spec=spec, form=form, errors=error_summary(form)
    ), status


@bp.route("/<slug>", methods=["GET", "POST"])
@login_only
def fill(slug: str) -> Any:
    spec = _spec_for(slug)
    if request.method == "GET":
        return _page(spec, _prefilled(spec))
    form = spec.form_class()
    if "edit" in request.form or (spec.handle_rows and spec.handle_rows(form)):
        return _page(spec, form)  # back from the confirmation page, or a row added/removed
    if not validate_input(form):
        # A field over its limit (H1): the format errors are shown, no rule sees the input.
        audit.record(
            "form_refused",
            object_type=spec.key,
            unit_id=current_user.unit_id,
            outcome="refused",
            detail="over_limit",
        )
        db.session.commit()
        return _page(spec, form, 422)
    data = spec.to_data(form)
    attach_violations(form, spec.check(data, current_user, today()))
    # R-NOTE-PNR at every other text field (M3, M4), after the form's own rules: their words win.
    attach_violations(form, free_text_violations(form, spec.pnr_fields))
    if error_summary(form):
        return _page(spec, form, 422)
    if spec.storage == "none":
        return _render_only(spec, form, data)
    if "preview" in request.form:
        return _confirm(spec, form, data)
    sub = submissions.create(spec, data, current_user)
    return redirect(url_for("submissions.show", public_id=sub.public_id), 303)


def _prefilled(spec: FormSpec) -> Any:
    """A GET's form: prefilled from the user (name, unit) and today's date where the form says."""
    form = spec.form_class()
    if spec.prefill:
        spec.prefill(form, current_user)
    return form


def _draft_meta(spec: FormSpec) -> dict[str, Any]:
    return {
        "orderer": current_user.full_name,
        "orderer_unit": current_user.unit.name,
        "created_at": local(utcnow()),
        "reference": "(ges när du skickar)",
        "status": "Inte skickad",
        "distribution_list": current_app.config["DISTRIBUTION_LISTS"][spec.distribution_list],
    }


def _confirm(spec: FormSpec, form: Any, data: dict[str, Any]) -> Any:
    """The message exactly as it will be sent, before anything is stored (nothing is, yet)."""
    message = render_message(spec, data, _draft_meta(spec))
    return render_template("forms/confirm.html", spec=spec, form=form, message=message)


def _render_only(spec: FormSpec, form: Any, data: dict[str, Any]) -> Any:
    """Nothing stored: the result is shown (or printed) at once, and only the fact is audited."""
    as_pdf = "as_pdf" in request.form
    audit.record(
        "pdf_rendered" if as_pdf else "message_rendered",
        object_type=spec.key,
        unit_id=current_user.unit_id,
        case_number=spec.case_number(data),
    )
    db.session.commit()
    meta = _draft_meta(spec)
    if as_pdf:
        attachments = spec.pdf_attachments(data) if spec.pdf_attachments else None
        body = render_pdf(
            spec.pdf_template,
            data=data,
            meta=meta,
            attachments=attachments,
            variant=spec.extra.get("pdf_variant", "pdf/ua-1"),
        )
        return Response(
            body,
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'{spec.extra.get("pdf_disposition", "attachment")}; '
                f'filename="{spec.slug}.pdf"'
            },
        )
    message = render_message(spec, data, meta)
    return render_template(
        spec.result_template or "forms/result.html",
        spec=spec,
        form=form,
        data=data,
        meta=meta,
        message=message,
    )


@bp.route("/checklist/import", methods=["POST"])
@login_only
def checklist_import() -> Any:
    """Paste the assignment-document text of an earlier checklist to fill in its next version
    (§5.12). Only the field ``text`` is read, at most CHECKLIST_IMPORT_MAX_BYTES, parsed in memory;
    nothing is stored, and the audit log gets who imported which version, never content."""
    spec = _spec_for(checklist.SPEC.slug)
    limit = current_app.config["CHECKLIST_IMPORT_MAX_BYTES"]
    text = ""
    try:
        text = _pasted_text()
        parsed = checklist.read_text(text, limit)
    except checklist.ImportRefused as refused:
        audit.record(
            "checklist_imported",
            object_type=spec.key,
            unit_id=current_user.unit_id,
            outcome="refused",
            detail=refused.reason,
        )
        db.session.commit()
        form = spec.form_class(formdata=None)
        checklist.prefill(form, current_user)
        kept_text = text if refused.reason != "too_large" else ""  # never echo an oversized post
        return render_template(
            spec.page_template,
            spec=spec,
            form=form,
            errors=[],
            import_error=refused.message,
            import_text=kept_text,
        ), 422
    restored = checklist.restore(parsed.data, current_user, today())
    audit.record(
        "checklist_imported",
        object_type=spec.key,
        unit_id=current_user.unit_id,
        case_number=parsed.data.get("case_number") or None,
        detail=f"version {restored.previous_version or '?'}, "
        f"{len(parsed.problems)} lines not read",
    )
    db.session.commit()
    return render_template(
        spec.page_template,
        spec=spec,
        form=restored.form,
        errors=[],
        imported_version=restored.previous_version,
        import_problems=parsed.problems,
        import_text=text if parsed.problems else "",
    )


def _pasted_text() -> str:
    """The field ``text`` and nothing else: a file posted beside it is never opened."""
    try:
        text = request.form.get("text", "")
    except RequestEntityTooLarge as error:  # over Werkzeug's form limits: refused like any large
        raise checklist.ImportRefused(
            "too_large",
            gettext(
                checklist.MSG_TOO_LARGE, kb=current_app.config["CHECKLIST_IMPORT_MAX_BYTES"] // 1024
            ),
        ) from error
    return text
