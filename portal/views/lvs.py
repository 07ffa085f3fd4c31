"""LVS processing: the queue of orders not yet carried out, oldest first, and marking one done."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
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
from wtforms import Field, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from .. import rules
from .. import submissions as svc
from ..auth import roles_required
from ..clock import local_date, today
from ..forms import BY_KEY
from ..forms.base import (
    attach_violations,
    error_summary,
    free_text_violations,
    validate_input,
)

bp = Blueprint("lvs", __name__, url_prefix="/lvs")
FORM_TITLES = {key: spec.title for key, spec in BY_KEY.items()}
# Queue rows per page, oldest first (a backlog of hundreds stays fast; bench/README.md).
PAGE = 100


class DoneForm(FlaskForm):
    reply = TextAreaField(
        "Svar till beställaren (valfritt)",
        validators=[
            Optional(),
            Length(max=2000, message="Svaret är för långt (högst 2000 tecken)."),
        ],
    )
    version = HiddenField(validators=[Length(max=10)])  # digits; int() of more would raise
    # Actualisation (§2.4, §2.5): the case number LVS created in Treserva; kept on the tombstone.
    case_number = StringField("Ärendenummer", validators=[Optional(), Length(max=32)])

    def validate_reply(self, field: Field) -> None:
        # A plain form's reply is kept in plain text (SPEC §1.2; an encrypted form's is not kept
        # at all, FormSpec.keeps_reply). Over its limit it is not looked at (issue 11 H1).
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


def _age_days(sub: Any) -> int:
    return (today() - local_date(sub.created_at)).days


@bp.route("/queue")
@roles_required("lvs")
def queue() -> Any:
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    items = svc.queue("lvs", current_user, offset=(page - 1) * PAGE, limit=PAGE + 1)
    return render_template(
        "lvs/queue.html",
        items=items[:PAGE],
        more=len(items) > PAGE,
        page=page,
        age=_age_days,
        titles=FORM_TITLES,
    )


@bp.route("/queue.json")
@roles_required("lvs")
def queue_json() -> Any:
    return jsonify(
        [
            {
                "id": s.public_id,
                "form": s.form,
                "case_number": s.case_number,
                "created_at": s.created_at.isoformat(),
                "age_days": _age_days(s),
                "flagged": s.flagged,
                "unit": s.unit.name,
            }
            for s in svc.queue("lvs", current_user)
        ]
    )


@bp.route("/submissions/<public_id>/done", methods=["POST"])
@roles_required("lvs")
def done(public_id: str) -> Any:
    return process(public_id)


def process(public_id: str) -> Any:
    """Mark a submission done (LVS) or registered (a unit's managers): one path for every form."""
    sub = svc.get_visible(public_id, current_user)
    if not svc.may_process(sub, current_user):
        abort(404)
    spec = svc.spec_of(sub)
    form = DoneForm()
    if validate_input(form):  # the same checks as every form: bidi controls, R-NOTE-PNR (M3)
        attach_violations(form, free_text_violations(form))
    errors = error_summary(form)
    if errors:
        flash(" ".join(message for _field, message in errors))
        return redirect(url_for("submissions.show", public_id=public_id), 303)
    version = form.version.data or ""
    expected = int(version) if version.isascii() and version.isdigit() else None  # not "²" (L2)
    try:
        svc.mark_done(sub, current_user, form.reply.data or "", expected)
    except svc.AlreadyProcessed:
        return render_template(
            "errors/error.html",
            title="Redan hanterad",
            text="Någon annan har redan hanterat den här blanketten. Inget ändrades.",
        ), 409
    flash(spec.extra.get("done_flash", "Markerad som klar."))
    if current_user.has_role("lvs") and "lvs" in spec.process_roles:
        return redirect(url_for("lvs.queue"), 303)
    return redirect(url_for("main.start"), 303)
