"""Closing a case (SPEC §3.7): a unit manager (own unit) or LVS (every unit) enters the case number
and what happened, sees what closing ends (`preview`) and confirms (`confirm`). The service is
portal/cases.py; the request commits what it did (portal/transaction.py). The case number is
posted, never put in a URL."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField
from wtforms.validators import Length, ValidationError

from .. import cases, day_notes
from ..auth import roles_required
from ..clock import today
from ..forms import BY_KEY
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import InputRequired, _l

bp = Blueprint("cases", __name__, url_prefix="/cases")


class CloseForm(FlaskForm):
    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    event = RadioField(
        _l("Vad har hänt?"),
        choices=list(cases.EVENTS.items()),
        validators=[InputRequired(_l("Välj vad som har hänt."))],
        validate_choice=False,  # said in Swedish by validate_event
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event.choices = [(k, _(v)) for k, v in cases.EVENTS.items()]

    def validate_event(self, field: Field) -> None:
        if not field.errors and field.data not in cases.EVENTS:
            raise ValidationError(_("Välj vad som har hänt."))


def _page(form: CloseForm, status: int = 200, **ctx: Any) -> Any:
    return render_template(
        "cases/close.html",
        form=form,
        errors=error_summary(form),
        is_lvs=current_user.has_role("lvs"),
        compiled_text=day_notes.compiled_text,
        **ctx,
    ), status


def _messages() -> list[tuple[str, str | None]]:
    """The messages to send at closing, each with the link to its form where the portal has it."""
    return [
        (_(text), url_for("forms.fill", slug=BY_KEY[key].slug) if key in BY_KEY else None)
        for key, text in cases.MESSAGES
    ]


@bp.route("/close", methods=["GET", "POST"])
@roles_required("unit_manager", "lvs")
def close() -> Any:
    form = CloseForm()
    if request.method == "GET":
        return _page(form)
    if not validate_input(form):  # over a limit: no rule sees the input (issue 11 H1)
        return _page(form, 422)
    case = (form.case_number.data or "").strip()
    attach_violations(form, cases.check_case(case))
    if error_summary(form):
        return _page(form, 422)
    day = today()
    if "confirm" not in request.form:
        return _page(form, view=cases.overview(case, current_user, day))
    try:
        closing = cases.close(case, current_user, day)
    except cases.NothingToClose:
        form.case_number.errors = [
            _(
                "Inget att avsluta: ärendet har inga aktiva behörigheter (eller borttaget väntar "
                "redan hos LVS), inget lokalt skydd och ingen fiktiv akt som du kan avsluta."
            )
        ]
        return _page(form, 422)
    return render_template(
        "cases/closed.html",
        case_number=case,
        closing=closing,
        messages=_messages(),
        intraservice_link=(
            url_for("forms.fill", slug=BY_KEY["intraservice"].slug)
            if "intraservice" in BY_KEY
            else None
        ),
    )
