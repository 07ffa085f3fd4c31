"""Fill in a form: one view for every form of the routine; the form's module says the rest."""

from __future__ import annotations

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
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from .. import audit, submissions
from ..auth import login_only
from ..clock import local, today, utcnow
from ..forms import FORMS, RenderOnlyForm, checklist, stored
from ..forms.base import (
    CheckContext,
    FormKind,
    attach_violations,
    error_summary,
    free_text_violations,
    validate_input,
)
from ..render import file_names
from ..render.messages import render_message
from ..render.pdf import render_pdf
from ..transaction import Denied

bp = Blueprint("forms", __name__, url_prefix="/forms")
# The checklist's text for the assignment document: templates/messages/checklist.txt writes it
# with the same table that the import reads it back with (portal/forms/checklist/).
bp.add_app_template_global(checklist.assignment_text, "checklist_assignment_text")


def _kind_for(slug: str) -> FormKind:
    """The form at /forms/<slug>: 404 if there is none, 403 (audited) if the user may not."""
    kind = FORMS.get(slug)
    if kind is None:
        abort(404)
    if not kind.may_submit(current_user):
        raise Denied(f"form {kind.key}")
    return kind


def _page(kind: FormKind, form: Any, status: int = 200, **ctx: Any) -> Any:
    errors = ctx.pop("errors", None)
    return render_template(
        kind.page_template,
        kind=kind,
        form=form,
        errors=error_summary(form) if errors is None else errors,
        **ctx,
    ), status


@bp.route("/<slug>", methods=["GET", "POST"])
@login_only
def fill(slug: str) -> Any:
    """Fill in, check, then store (and go to the submission) or show the result: every form."""
    kind = _kind_for(slug)
    if request.method == "GET":
        return _page(kind, kind.new_form(current_user, today()))
    form = kind.form_class()
    if "edit" in request.form or kind.edit_rows(form, request.form, current_user, today()):
        return _page(kind, form)  # back from the confirmation page, or a row added/removed
    if not validate_input(form):
        # A field over its limit (H1): the format errors are shown, no rule sees the input.
        audit.record(
            "form_refused",
            object_type=kind.key,
            unit_id=current_user.unit_id,
            outcome="refused",
            detail="over_limit",
        )
        return _page(kind, form, 422)
    data = kind.to_data(form, current_user)
    ctx = CheckContext(user=current_user, today=today(), config=current_app.config)
    attach_violations(form, kind.check(data, ctx))
    # R-NOTE-PNR at every other text field (M3, M4), after the form's own rules: their words win.
    attach_violations(form, free_text_violations(form, kind.pnr_fields))
    if error_summary(form):
        return _page(kind, form, 422)
    if isinstance(kind, RenderOnlyForm):
        kind.remember(data, current_user, ctx.today)
        return _render_only(kind, form, data)
    if "preview" in request.form:
        return _confirm(kind, form, data)
    sent = stored(kind.key)
    sub = submissions.create(sent, data, ctx)
    sent.remember(data, current_user, ctx.today)
    # Said on the submission page, in the form's own words (issue 14 item 4).
    flash(gettext(sent.sent_flash))
    return redirect(url_for("submissions.show", public_id=sub.public_id), 303)


def _draft_meta(kind: FormKind) -> dict[str, Any]:
    lists = current_app.config["DISTRIBUTION_LISTS"]
    return {
        "orderer": current_user.full_name,
        "orderer_unit": current_user.unit.name,
        "created_at": local(utcnow()),
        "reference": "(ges när du skickar)",
        "status": "Inte skickad",
        # A form that is only printed names no list (FormKind.has_message).
        "distribution_list": lists[kind.distribution_list] if kind.has_message else "",
    }


def _confirm(kind: FormKind, form: Any, data: dict[str, Any]) -> Any:
    """The message exactly as it will be sent, before anything is stored (nothing is, yet)."""
    message = render_message(kind, data, _draft_meta(kind))
    return render_template("forms/confirm.html", kind=kind, form=form, message=message)


def _render_only(kind: RenderOnlyForm, form: Any, data: dict[str, Any]) -> Any:
    """Nothing stored: the result is shown (or printed) at once, and only the fact is audited."""
    as_pdf = "as_pdf" in request.form
    audit.record(
        kind.rendered_action(as_pdf),
        object_type=kind.key,
        unit_id=current_user.unit_id,
        case_number=kind.case_number(data),
    )
    meta = _draft_meta(kind)
    if as_pdf:
        return Response(
            render_pdf(kind.pdf_template, data=data, meta=meta),
            mimetype="application/pdf",
            headers={
                "Content-Disposition": file_names.disposition(
                    kind.pdf_disposition, kind.pdf_filename(data, today())
                )
            },
        )
    message = render_message(kind, data, meta) if kind.has_message else None
    return render_template(
        kind.result_template, kind=kind, form=form, data=data, meta=meta, message=message
    )


@bp.route("/checklist/import", methods=["POST"])
@login_only
def checklist_import() -> Any:
    """Paste the assignment-document text of an earlier checklist to fill in its next version
    (§5.12). Only the field ``text`` is read, at most CHECKLIST_IMPORT_MAX_BYTES, parsed in memory;
    nothing is stored, and the audit log gets who imported which version, never content."""
    kind = _kind_for("checklist")
    limit = current_app.config["CHECKLIST_IMPORT_MAX_BYTES"]
    text = ""
    try:
        text = _pasted_text()
        parsed = checklist.read_text(text, limit)
    except checklist.ImportRefused as refused:
        audit.record(
            "checklist_imported",
            object_type=kind.key,
            unit_id=current_user.unit_id,
            outcome="refused",
            detail=refused.reason,
        )
        kept_text = text if refused.reason != "too_large" else ""  # never echo an oversized post
        form = kind.form_class(formdata=None)
        kind.prefill(form, current_user, today())
        return _page(
            kind, form, 422, errors=[], import_error=refused.message, import_text=kept_text
        )
    restored = checklist.restore(parsed.data, current_user, today())
    audit.record(
        "checklist_imported",
        object_type=kind.key,
        unit_id=current_user.unit_id,
        case_number=parsed.data.get("case_number") or None,
        detail=f"version {restored.previous_version or '?'}, "
        f"{len(parsed.problems)} lines not read",
    )
    return _page(
        kind,
        restored.form,
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
