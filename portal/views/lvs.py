"""LVS processing: the queue of orders not yet carried out, oldest first, and marking one done."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from .. import submissions as svc
from ..auth import roles_required
from ..forms.base import today

bp = Blueprint("lvs", __name__, url_prefix="/lvs")


class DoneForm(FlaskForm):
    reply = TextAreaField("Svar till beställaren (valfritt)", validators=[Optional(), Length(max=2000)])
    version = HiddenField()


def _age_days(sub: Any) -> int:
    from datetime import datetime

    return (today() - datetime.fromisoformat(svc.local(sub.created_at)).date()).days


@bp.route("/queue")
@roles_required("lvs")
def queue() -> Any:
    items = svc.queue("lvs")
    return render_template("lvs/queue.html", items=items, age=_age_days, labels=svc.STATUS_LABELS)


@bp.route("/queue.json")
@roles_required("lvs")
def queue_json() -> Any:
    return jsonify([
        {
            "id": s.public_id,
            "form": s.form,
            "case_number": s.case_number,
            "created_at": s.created_at.isoformat(),
            "age_days": _age_days(s),
            "flagged": s.flagged,
            "unit": s.unit.name,
        }
        for s in svc.queue("lvs")
    ])


@bp.route("/submissions/<public_id>/done", methods=["POST"])
@roles_required("lvs")
def done(public_id: str) -> Any:
    sub = svc.get_visible(public_id, current_user)
    form = DoneForm()
    if not form.validate():
        flash("Svaret är för långt (högst 2000 tecken).")
        return redirect(url_for("submissions.show", public_id=public_id), 303)
    expected = int(form.version.data) if (form.version.data or "").isdigit() else None
    try:
        svc.mark_done(sub, current_user, form.reply.data or "", expected)
    except svc.AlreadyProcessed:
        return render_template(
            "errors/error.html", title="Redan hanterad",
            text="Någon annan har redan markerat den här beställningen som klar. Inget ändrades."), 409
    flash("Markerad som klar. Behörighetsregistret är uppdaterat.")
    return redirect(url_for("lvs.queue"), 303)


