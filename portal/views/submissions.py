"""One submission: page, message, PDF, JSON, and marking it done. Visible to its owner, its unit's
managers and whoever processes it; everyone else gets 404 (submissions.NotVisible, answered and
audited in portal/web.py). Every view is audited."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from .. import rules
from .. import submissions as svc
from ..auth import login_only
from ..clock import iso, local_date, today
from ..forms import StoredForm
from ..forms.base import (
    DoneInput,
    attach_violations,
    error_summary,
    free_text_violations,
    validate_input,
)
from ..i18n import _l
from ..models import Submission
from ..register import ORDER_CHECKS
from ..render import file_names
from ..render.messages import render_message
from ..render.pdf import render_pdf
from .auth import reauth_redirect, recently_authenticated

bp = Blueprint("submissions", __name__, url_prefix="/submissions")


def _load(public_id: str, action: str) -> tuple[Submission, StoredForm]:
    sub = svc.get_visible(public_id, current_user)
    _require_recent_auth(sub)
    svc.log_view(sub, current_user, action)
    return sub, svc.kind_of(sub)


def _require_recent_auth(sub: Any) -> None:
    """LVS re-enters its password before it reads sealed content (the personnummer of an
    actualisation request) if it last did so more than REAUTH_MINUTES ago (ASVS V3.7.1).
    Decided before anything is read or audited as read."""
    kind = svc.kind_of(sub)
    sealed = kind.storage == "encrypted" and sub.data_enc is not None and sub.purged_at is None
    if (
        sealed
        and "lvs" in kind.process_roles
        and svc.may_process(sub, current_user)
        and not recently_authenticated()
    ):
        abort(reauth_redirect())


def _no_content(sub: Any) -> Response:
    """Purged content is gone (410); sealed content is not this user's to read (403)."""
    if sub.purged_at is not None:
        return Response("Innehållet är raderat enligt rutinen.\n", 410, mimetype="text/plain")
    return Response(
        "Innehållet visas bara för den som hanterar blanketten.\n", 403, mimetype="text/plain"
    )


@bp.route("/<public_id>")
@login_only
def show(public_id: str) -> Any:
    sub, kind = _load(public_id, "submission_viewed")
    data = svc.load_data(sub, current_user)
    message = render_message(kind, data, svc.meta(sub)) if data else None
    may_process = kind.may_process(current_user, sub)
    return render_template(
        "submissions/show.html",
        sub=sub,
        kind=kind,
        data=data,
        meta=svc.meta(sub),
        message=message,
        may_process=may_process,
        review=kind.review(sub, today()) if may_process and sub.status == "submitted" else None,
    )


@bp.route("/<public_id>/message")
@login_only
def message(public_id: str) -> Any:
    sub, kind = _load(public_id, "message_fetched")
    data = svc.load_data(sub, current_user)
    if not data:
        return _no_content(sub)
    text = render_message(kind, data, svc.meta(sub)).as_text()
    return Response(text, mimetype="text/plain")


@bp.route("/<public_id>/pdf")
@login_only
def pdf(public_id: str) -> Any:
    sub, kind = _load(public_id, "pdf_fetched")
    data = svc.load_data(sub, current_user)
    if not data:
        return _no_content(sub)
    body = render_pdf(kind.pdf_template, data=data, meta=svc.meta(sub))
    # The file name says what the form is and the day it was sent, never personal data.
    name = kind.pdf_filename(data, local_date(sub.created_at))
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": file_names.disposition("inline", name)},
    )


@bp.route("/<public_id>.json")
@login_only
def as_json(public_id: str) -> Any:
    sub, kind = _load(public_id, "json_fetched")
    # The form's fields at the top level under their form names; our own facts under "submission".
    return jsonify(
        {
            **(svc.load_data(sub, current_user) or {}),
            "submission": {
                "id": sub.public_id,
                "form": kind.key,
                "status": sub.status,
                "created_at": iso(sub.created_at),
                "processed_at": iso(sub.processed_at) if sub.processed_at else None,
                "case_number": sub.case_number,
                "flagged": sub.flagged,
            },
        }
    )


class DoneForm(FlaskForm):
    """What the processor posts with "Markera som klar"."""

    reply = TextAreaField(
        _l("Svar till beställaren (frivilligt)"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("Svaret är för långt (högst 2000 tecken).")),
        ],
    )
    version = HiddenField(validators=[Length(max=10)])  # digits; int() of more would raise
    # Actualisation (§2.4, §2.5): the case number LVS created in Treserva; kept on the tombstone.
    case_number = StringField(_l("Ärendenummer"), validators=[Optional(), Length(max=32)])
    # Access order (§2.5): the checks LVS ticked; only the known ones are kept.
    checks = SelectMultipleField(choices=list(ORDER_CHECKS.items()), validate_choice=False)

    def validate_reply(self, field: Field) -> None:
        # A plain form's reply is kept in plain text (SPEC §1.2; an encrypted form's is not kept
        # at all, StoredForm.keeps_reply). Over its limit it is not looked at (issue 11 H1).
        if field.errors:
            return
        if rules.contains_personnummer(field.data or ""):
            raise ValidationError(
                gettext("Skriv aldrig personnummer i svaret – det sparas i klartext.")
            )

    def validate_case_number(self, field: Field) -> None:
        if field.errors:
            return
        found = rules.check_case_number(
            field.data or "", "case_number", current_app.config["CASE_NUMBER_PATTERN"]
        )
        if found:
            raise ValidationError(found[-1].render(gettext))

    def expected_version(self) -> int | None:
        version = self.version.data or ""
        return int(version) if version.isascii() and version.isdigit() else None  # not "²" (L2)


@bp.route("/<public_id>/done", methods=["POST"])
@login_only
def done(public_id: str) -> Any:
    """Mark a submission done: LVS (also at /lvs/submissions/<id>/done, SPEC §6) or a unit's
    managers (a deviation report registered). One path for every form; the form's on_done does
    what done means for it."""
    sub = svc.get_visible(public_id, current_user)
    kind = svc.kind_of(sub)
    if not kind.may_process(current_user, sub):
        raise svc.NotVisible
    form = DoneForm()
    if validate_input(form):  # the same checks as every form: bidi controls, R-NOTE-PNR (M3)
        attach_violations(form, free_text_violations(form))
    errors = error_summary(form)
    if errors:
        flash(" ".join(message for _field, message in errors))
        # Posted from the confirmation page (issue 14 item 3): back there, where the field is.
        back = "confirm_done" if kind.done_confirm and request.form.get("from_confirm") else "show"
        return redirect(url_for(f"submissions.{back}", public_id=public_id), 303)
    given = DoneInput(
        user=current_user,
        today=today(),
        reply=form.reply.data or "",
        case_number=(form.case_number.data or "").strip() if kind.asks_case_number else "",
        checks=frozenset(c for c in form.checks.data or [] if c in ORDER_CHECKS),
    )
    svc.mark_done(sub, given, form.expected_version())
    flash(gettext(kind.done_flash))
    if current_user.has_role("lvs") and "lvs" in kind.process_roles:
        return redirect(url_for("lvs.queue"), 303)
    return redirect(url_for("main.start"), 303)


@bp.route("/<public_id>/done", methods=["GET"])
@login_only
def confirm_done(public_id: str) -> Any:
    """The step before marking done where that deletes the content for good (the form's
    ``done_confirm``; issue 14 item 3): what goes, in words, and the real form, which posts the
    same fields to ``done`` as the submission page does for other forms (SPEC §6 unchanged).
    Checked as ``done`` is: someone who does not process it gets 404, audited. It shows what the
    submission page shows of it besides the content, so it reads no content (no re-auth)."""
    sub = svc.get_visible(public_id, current_user)
    kind = svc.kind_of(sub)
    if not kind.may_process(current_user, sub):
        raise svc.NotVisible
    if not kind.done_confirm:
        abort(404)  # marking it done deletes nothing for good: its button is on its page
    if sub.status != "submitted":
        return redirect(url_for("submissions.show", public_id=public_id), 303)
    svc.log_view(sub, current_user, "submission_viewed")
    return render_template("submissions/confirm_done.html", sub=sub, kind=kind, meta=svc.meta(sub))
