"""Reservrapport för rapportering av avvikelser (§4.2): staff without access to the protected case
report a deviation under the fictional name (or "ej person"); a manager of their unit, who has the
access, registers it in Treserva's deviation module. Then the paper form is destroyed (§4.2) and
here the content is purged: only a tombstone (who, when, which unit) stays.

Event time: two fields, `event_date` (YYYY-MM-DD) and `event_time` (HH:MM), as the spec's form
encoding asks; the stored data also carries `event_at` ("YYYY-MM-DD HH:MM") for the message.
`reported_by` comes from the login, never from the form."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms 3.2 predates WTForms 3.3's SelectChoice
from wtforms.validators import Length

from .. import rules
from ..clock import aware, local_date, utcnow
from ..extensions import db
from ..i18n import N_, DataRequired, InputRequired, _l
from ..models import Submission, Unit, User
from .base import CheckContext, DoneInput, StoredForm

KEY = "deviation"

FREE_TEXT_FIELDS = ("fictional_name", "description", "immediate_action", "handed_to")


def _strip_filter(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class DeviationForm(FlaskForm):
    event_date = DateField(
        _l("Datum för händelsen"),
        validators=[InputRequired(_l("Ange datumet (ÅÅÅÅ-MM-DD)."))],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
    )
    event_time = TimeField(
        "Klockslag",
        validators=[InputRequired(_l("Ange klockslaget (TT:MM)."))],
        format="%H:%M",
        render_kw={"type": "time"},
    )
    unit = SelectField(_l("Enhet där det hände"), choices=[])
    fictional_name = StringField(_l("Fiktivt namn"), validators=[Length(max=120)])
    no_person = BooleanField(_l("Ej person – avvikelsen gäller ingen enskild person"))
    category = SelectField(_l("Typ av avvikelse"), choices=[])
    description = TextAreaField(
        _l("Vad hände?"),
        filters=[_strip_filter],
        validators=[DataRequired(_l("Beskriv vad som hände.")), Length(max=4000)],
    )
    immediate_action = TextAreaField(_l("Vad gjordes direkt?"), validators=[Length(max=2000)])
    handed_to = StringField(
        _l("Lämnad till"),
        filters=[_strip_filter],
        validators=[
            DataRequired(_l("Ange vem med behörighet som ska registrera avvikelsen.")),
            Length(max=120),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = db.session.scalars(select(Unit.name).order_by(Unit.name)).all()
        self.unit.choices = [SelectChoice(name) for name in units]
        self.category.choices = [SelectChoice("", "Välj typ")] + [
            SelectChoice(code, label)
            for code, label in current_app.config["DEVIATION_CATEGORIES"].items()
        ]


def _strip(value: str | None) -> str:
    return (value or "").strip()


MSG_FICTIONAL_NAME = N_(
    "Skriv det fiktiva namnet, eller kryssa i ”Ej person” (§4.2). Aldrig det riktiga namnet."
)
MSG_CATEGORY = N_("Välj typ av avvikelse.")


class Waiting(NamedTuple):
    """A report waiting for registration, as the start page of its unit's managers shows it."""

    sub: Submission
    age_days: int
    flagged: bool  # older than DEVIATION_FLAG_DAYS: the managers are told it will be purged
    purge_on: date  # the Swedish date its content is purged unless registered before
    days_left: int  # whole days (rounded up) until then


def unregistered(unit_id: int, now: datetime | None = None) -> list[Waiting]:
    """The unit's reports not yet registered in Treserva, oldest first; flagged when older than
    DEVIATION_FLAG_DAYS, purged at DEVIATION_RETENTION_DAYS (SPEC §3.4, portal/retention.py)."""
    now = aware(now or utcnow())
    limit = timedelta(days=current_app.config["DEVIATION_FLAG_DAYS"])
    kept = timedelta(days=current_app.config["DEVIATION_RETENTION_DAYS"])
    subs = db.session.scalars(
        select(Submission)
        .where(
            Submission.form == KEY,
            Submission.unit_id == unit_id,
            Submission.status == "submitted",
        )
        .order_by(Submission.created_at, Submission.id)
    )
    out = []
    for sub in subs:
        age = now - aware(sub.created_at)
        purge_at = aware(sub.created_at) + kept
        left = max(0, math.ceil((purge_at - now).total_seconds() / 86400))
        out.append(Waiting(sub, age.days, age > limit, local_date(purge_at), left))
    return out


class Deviation(StoredForm):
    """Reservrapport (§4.2): encrypted at rest (the description may hold client details), read by
    the reporter and the unit's managers, purged when a manager registers it in Treserva."""

    key = KEY
    title = "Reservrapport för rapportering av avvikelser"
    form_class = DeviationForm
    submit_roles = frozenset({"staff", "unit_manager", "social_secretary"})
    process_roles = frozenset({"unit_manager"})
    process_scope = "unit"
    storage = "encrypted"
    distribution_list = "unit_managers"
    has_blank = True
    position = 40
    # The reporter reads their own report until it is registered (submissions.load_data).
    submitter_reads = True
    # Registering throws any reply away with the content: no reply box (show.html).
    wants_reply = False
    done_label = N_("Registrerad i Treserva")
    done_hint = N_(
        "Registrera avvikelsen på personen i Treservas avvikelsemodul. Markera sedan här: "
        "innehållet raderas och bara uppgiften att rapporten fanns sparas (§4.2)."
    )
    done_flash = N_(
        "Avvikelsen är markerad som registrerad i Treserva. Innehållet är raderat här; förstör "
        "pappersblanketten i sekretessåtervinningen (§4.2)."
    )
    sealed_text = N_(
        "Rapporten är skickad till enhetschefen på din enhet. Innehållet är krypterat och "
        "raderas när avvikelsen är registrerad i Treserva (§4.2)."
    )
    status_labels = {
        "submitted": N_("Väntar på registrering hos enhetschefen"),
        "purged": N_("Registrerad i Treserva, innehållet raderat"),
        # DEVIATION_RETENTION_DAYS (portal/retention.py); the label names the default.
        "expired": N_("Raderad efter 30 dagar utan registrering"),
    }

    def prefill(self, form: DeviationForm, user: User, day: date) -> None:
        form.unit.data = user.unit.name

    def to_data(self, form: DeviationForm, user: User) -> dict[str, Any]:
        day, time = form.event_date.data, form.event_time.data
        no_person = bool(form.no_person.data)
        return {
            "event_date": day.isoformat() if isinstance(day, date) else None,
            "event_time": time.strftime("%H:%M") if time else None,
            "event_at": f"{day.isoformat()} {time.strftime('%H:%M')}" if day and time else None,
            "unit": form.unit.data or "",
            # "Ej person" wins: a name typed before ticking it is not kept.
            "fictional_name": "" if no_person else _strip(form.fictional_name.data),
            "no_person": no_person,
            "category": form.category.data or "",
            "category_label": current_app.config["DEVIATION_CATEGORIES"].get(
                form.category.data, ""
            ),
            "description": _strip(form.description.data),
            "immediate_action": _strip(form.immediate_action.data),
            "reported_by": user.full_name,
            "handed_to": _strip(form.handed_to.data),
        }

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        out: list[rules.Violation] = []
        if data["event_date"]:
            out += rules.check_date_not_future(
                date.fromisoformat(data["event_date"]), ctx.today, "event_date"
            )
        if not data["no_person"] and not data["fictional_name"]:
            out.append(rules.Violation("R-REQUIRED", "fictional_name", MSG_FICTIONAL_NAME))
        if data["category"] not in ctx.config["DEVIATION_CATEGORIES"]:
            out.append(rules.Violation("R-REQUIRED", "category", MSG_CATEGORY))
        for name in FREE_TEXT_FIELDS:  # R-NOTE-PNR: the fictional name only, never a personnummer
            out += rules.check_note_text(data[name], name)
        return out

    def subject(self, data: dict[str, Any]) -> str:
        """No name, fictional or real, in the subject line (§2.2, §5.9): only the unit."""
        return f"Avvikelse – reservrapport, {data['unit']}"

    def case_number(self, data: dict[str, Any]) -> str | None:
        return None  # a deviation report names no case (§4.2: the fictional name only)

    def on_done(self, sub: Submission, done: DoneInput) -> None:
        """Registered in Treserva: the form is destroyed (§4.2), so its content goes; a
        tombstone stays. Also at DEVIATION_RETENTION_DAYS unregistered (portal/retention.py)."""
        self.purge(sub, "purged")
