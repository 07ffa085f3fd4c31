"""Reservrapport för rapportering av avvikelser (§4.2, SPEC §3.4): staff without access to the
protected case report a deviation. In Treserva's deviation module such staff use the category
"ej person"; the deviation still concerns the protected person, so the report names the person by
the fictional name, and the manager or planner it is handed to, who has the access, registers it
in Treserva *on the person* (found from the fictional name). Only a deviation that concerns no
individual at all is reported without a name: a separate choice (`no_individual`), never a way to
leave the name out. Once registered the paper form is destroyed (§4.2) and here the content is
purged: only a tombstone (who, when, which unit) stays.

Event time: two fields, `event_date` (YYYY-MM-DD) and `event_time` (HH:MM), as the spec's form
encoding asks (SPEC §6); the stored data also carries `event_at` ("YYYY-MM-DD HH:MM") for the
message. `reported_by` and the unit (`unit`, the reporter's own unit's name, kept in the data for
the message and the print) come from the login, never from the form: a posted `unit` is ignored
(issue 14: any unit could be picked, LVS and Systemförvaltning too, while the report always goes
to the reporter's own unit). `handed_to` is one of the reporter's unit's managers and planners
(their full name), checked against the database; a unit without any is told so on the page.
Free text is screened by R-NOTE-PNR and R-NOTE-ADDRESS (no street address or phone number)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms 3.2 predates WTForms 3.3's SelectChoice
from wtforms.validators import Length

from .. import audit, crypto, rules
from ..clock import aware, local_date, utcnow
from ..extensions import db
from ..i18n import N_, DataRequired, _l
from ..models import Submission, User
from .base import CheckContext, DoneInput, StoredForm
from .fields import IsoDateField, IsoTimeField

KEY = "deviation"

FREE_TEXT_FIELDS = ("fictional_name", "description", "immediate_action")
#: Who a report is handed to and who registers it: the reporter's unit's managers and planners.
RECIPIENT_ROLES = ("unit_manager", "planner")


def _strip_filter(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class DeviationForm(FlaskForm):
    # Each message names its field and format (issue 14 item 9, portal/forms/fields.py).
    event_date = IsoDateField(
        _l("Datum för händelsen"),
        N_("Ange datum för händelsen som ÅÅÅÅ-MM-DD."),
        required=True,
    )
    event_time = IsoTimeField(
        _l("Klockslag"), N_("Ange klockslag för händelsen som TT:MM."), required=True
    )
    fictional_name = StringField(_l("Fiktivt namn"), validators=[Length(max=120)])
    no_individual = BooleanField(
        _l("Avvikelsen gäller ingen enskild person alls (till exempel ett fel i utrustning)")
    )
    category = SelectField(_l("Typ av avvikelse"), choices=[])
    description = TextAreaField(
        _l("Vad hände?"),
        render_kw={"rows": 8, "class": "note-text"},  # room to write (issue 14 item 9)
        filters=[_strip_filter],
        validators=[DataRequired(_l("Beskriv vad som hände.")), Length(max=4000)],
    )
    immediate_action = TextAreaField(_l("Vad gjordes direkt?"), validators=[Length(max=2000)])
    # One of the unit's managers and planners (`offer_recipients`); the rule checks the choice
    # against the database, in Swedish, at the field (also that one is chosen: a unit without
    # anyone to choose is told that, not "choose someone", Deviation._check_handed_to).
    handed_to = SelectField(
        _l("Lämnad till"),
        choices=[],
        validate_choice=False,
        filters=[_strip_filter],
        validators=[Length(max=120)],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", "Välj typ")] + [
            SelectChoice(code, label)
            for code, label in current_app.config["DEVIATION_CATEGORIES"].items()
        ]
        # Until the user's unit is known (Deviation.prefill, edit_rows, to_data): the posted
        # choice only, so that a page shown again keeps it.
        chosen = self.handed_to.data or ""
        self.handed_to.choices = [SelectChoice("", _l("Välj person"))] + (
            [SelectChoice(chosen)] if chosen else []
        )
        #: Set by offer_recipients: the reporter's unit has no manager or planner to hand it to.
        self.no_recipients = False


def recipients(user: User) -> list[tuple[str, str]]:
    """(full name, role) of the active managers and planners of ``user``'s unit, by name: who a
    report may be handed to and who registers it (SPEC §3.4). One entry per name."""
    users = db.session.scalars(
        select(User)
        .where(User.unit_id == user.unit_id, User.active.is_(True))
        .order_by(User.full_name, User.id)
    )
    out: dict[str, str] = {}
    for u in users:
        if u.has_role(*RECIPIENT_ROLES) and u.full_name not in out:
            out[u.full_name] = "unit_manager" if u.has_role("unit_manager") else "planner"
    return list(out.items())


ROLE_WORDS = {"unit_manager": _l("enhetschef"), "planner": _l("planerare")}


def offer_recipients(form: DeviationForm, user: User) -> None:
    """The handed_to choices: the managers and planners of ``user``'s unit; the page says at
    once when there are none (``no_recipients``), not only after a post."""
    people = recipients(user)
    form.handed_to.choices = [SelectChoice("", _l("Välj person"))] + [
        SelectChoice(name, f"{name} ({ROLE_WORDS[role]})") for name, role in people
    ]
    form.no_recipients = not people


def _strip(value: str | None) -> str:
    return (value or "").strip()


MSG_FICTIONAL_NAME = N_(
    "Skriv det fiktiva namnet (§7.5), aldrig det riktiga: avvikelsen registreras på personen i "
    "Treserva. Bara om avvikelsen inte gäller någon enskild person alls kryssar du i det i stället."
)
MSG_NAME_AND_NO_INDIVIDUAL = N_(
    "Välj ett av två: det fiktiva namnet, eller att avvikelsen inte gäller någon enskild person "
    "alls. Gäller den personen, ta bort krysset: den registreras på personen i Treserva (§4.2)."
)
MSG_CATEGORY = N_("Välj typ av avvikelse.")
MSG_HANDED_TO = N_(
    "Välj en enhetschef eller planerare på din enhet: den som har behörighet och registrerar "
    "avvikelsen i Treserva (§4.2)."
)
MSG_CHOOSE_RECIPIENT = N_("Välj vem på enheten som ska registrera avvikelsen.")
MSG_NO_RECIPIENT = N_(
    "Din enhet har ingen enhetschef eller planerare i portalen. Skriv ut en tom blankett och "
    "lämna den till den som har behörighet i Treserva (§4.2). Be %(contact)s att lägga in "
    "enhetens chef i portalen."
)


class Summary(NamedTuple):
    """The category and whom a report concerns: the fictional name (SPEC §1.1 lets the portal
    keep fictional names), or that it concerns no individual."""

    category_label: str
    fictional_name: str
    no_individual: bool


class Waiting(NamedTuple):
    """A report waiting for registration, as the start page of its unit's managers shows it."""

    sub: Submission
    age_days: int
    flagged: bool  # older than DEVIATION_FLAG_DAYS: the managers are told it will be purged
    purge_on: date  # the Swedish date its content is purged unless registered before
    days_left: int  # whole days (rounded up) until then
    #: What the list shows of the sealed content to its recipients (issue 14: not by date
    #: alone): the category's label and whom it concerns. None when not read (no reader given)
    #: or unreadable (``unreadable``).
    summary: Summary | None = None
    unreadable: bool = False


#: The audit detail of a start page's read of a report's category and fictional name: the
#: self-check (§4.1) tells it from a read of the whole report.
READ_ON_START_PAGE = "startsidan: typ och fiktivt namn"


def _summary(sub: Submission, reader: User) -> Summary:
    """Decrypt ``sub`` for its recipient ``reader`` and keep only what the list shows. The read is
    audited as every decrypting read is (SPEC §1.4, submissions.load_data), in the request's
    transaction; CryptoError goes to the caller."""
    data = crypto.unseal_json(sub, "data_enc")
    audit.submission_event(sub, "protected_content_read", reader, detail=READ_ON_START_PAGE)
    categories = current_app.config["DEVIATION_CATEGORIES"]
    category = str(data.get("category") or "")
    return Summary(
        category_label=str(data.get("category_label") or categories.get(category, category)),
        fictional_name=str(data.get("fictional_name") or ""),
        # no_person: reports stored before issue 13 (templates/submissions/_deviation.html)
        no_individual=bool(data.get("no_individual") or data.get("no_person")),
    )


def unregistered(
    unit_id: int, now: datetime | None = None, reader: User | None = None
) -> list[Waiting]:
    """The unit's reports not yet registered in Treserva, oldest first; flagged when older than
    DEVIATION_FLAG_DAYS, purged at DEVIATION_RETENTION_DAYS (SPEC §3.4, portal/retention.py).

    With ``reader``, one of the unit's managers and planners (the reports' recipients, who may
    read them), each report's category and fictional name are read too, each read audited;
    anyone else gets none (deny by default). Content that does not open is marked, audited and
    skipped, never a failed page."""
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
        .options(
            joinedload(Submission.submitted_by).lazyload(User.role_rows),
            joinedload(Submission.data_key),
        )
    )
    reads = reader is not None and reader.unit_id == unit_id and reader.has_role(*RECIPIENT_ROLES)
    out = []
    for sub in subs:
        age = now - aware(sub.created_at)
        purge_at = aware(sub.created_at) + kept
        left = max(0, math.ceil((purge_at - now).total_seconds() / 86400))
        summary, unreadable = None, False
        if reads and reader is not None and sub.data_enc is not None:
            try:
                summary = _summary(sub, reader)
            except crypto.CryptoError:
                unreadable = True
                audit.submission_event(
                    sub,
                    "protected_content_unreadable",
                    reader,
                    outcome="failed",
                    detail=READ_ON_START_PAGE,
                )
        out.append(
            Waiting(sub, age.days, age > limit, local_date(purge_at), left, summary, unreadable)
        )
    return out


class Deviation(StoredForm):
    """Reservrapport (§4.2): encrypted at rest (the description may hold client details), read by
    the reporter and the unit's managers, purged when a manager registers it in Treserva."""

    key = KEY
    title = "Reservrapport för rapportering av avvikelser"
    pdf_words = "Reservrapport avvikelse"
    form_class = DeviationForm
    submit_roles = frozenset({"staff", "unit_manager", "social_secretary"})
    # The unit's managers and planners register it (§4.2, §8.6; SPEC §2, §3.4).
    process_roles = frozenset(RECIPIENT_ROLES)
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
        "Registrera avvikelsen på personen i Treservas avvikelsemodul: sök fram personen från "
        "det fiktiva namnet (rapportören saknar behörighet och kan bara välja ”ej person”). "
        "Markera sedan här: innehållet raderas och bara uppgiften att rapporten fanns sparas "
        "(§4.2)."
    )
    done_flash = N_(
        "Avvikelsen är markerad som registrerad i Treserva. Innehållet är raderat här; förstör "
        "pappersblanketten i sekretessåtervinningen (§4.2)."
    )
    done_confirm = N_(
        "Innehållet i reservrapporten raderas och kan inte återskapas. Kvar finns bara att "
        "rapporten fanns, vem som skrev och registrerade den, och när. Registrera avvikelsen i "
        "Treserva innan du bekräftar."
    )
    # §4.2: the reporter has no access to the case; the one with access registers the deviation
    # on the person in Treserva's deviation module. The reporter pastes nothing into Treserva.
    treserva_step = N_(
        "Du skickar inget i Treserva: rapporten går till enhetschefer och planerare på din enhet, "
        "och den som har behörighet registrerar avvikelsen på personen i Treservas "
        "avvikelsemodul (§4.2)."
    )
    sent_flash = N_("Avvikelserapporten är skickad till enhetschefer och planerare på din enhet.")
    sealed_text = N_(
        "Rapporten är skickad till enhetschefer och planerare på din enhet. Innehållet är "
        "krypterat och raderas när avvikelsen är registrerad i Treserva (§4.2)."
    )
    status_labels = {
        "submitted": N_("Väntar på registrering hos enhetschef eller planerare"),
        "purged": N_("Registrerad i Treserva, innehållet raderat"),
        # DEVIATION_RETENTION_DAYS (portal/retention.py); the label names the default.
        "expired": N_("Raderad efter 30 dagar utan registrering"),
    }

    def prefill(self, form: DeviationForm, user: User, day: date) -> None:
        offer_recipients(form, user)

    def edit_rows(self, form: DeviationForm, formdata: Any, user: User, day: date) -> bool:
        """No rows to edit: this is where a post learns whose unit's managers to offer."""
        offer_recipients(form, user)
        return False

    def to_data(self, form: DeviationForm, user: User) -> dict[str, Any]:
        offer_recipients(form, user)  # a page shown again offers the unit's own
        day, time = form.event_date.data, form.event_time.data
        return {
            "event_date": day.isoformat() if isinstance(day, date) else None,
            "event_time": time.strftime("%H:%M") if time else None,
            "event_at": f"{day.isoformat()} {time.strftime('%H:%M')}" if day and time else None,
            # The reporter's own unit, from the login (SPEC §3.4), never a posted value.
            "unit": user.unit.name,
            # Both are kept as given: a name and "no individual" at once is refused (check), so
            # that a report about the person never loses its name.
            "fictional_name": _strip(form.fictional_name.data),
            "no_individual": bool(form.no_individual.data),
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
        if data["no_individual"] and data["fictional_name"]:
            out.append(
                rules.Violation("R-REQUIRED", "no_individual", MSG_NAME_AND_NO_INDIVIDUAL)
            )
        elif not data["no_individual"] and not data["fictional_name"]:
            out.append(rules.Violation("R-REQUIRED", "fictional_name", MSG_FICTIONAL_NAME))
        if data["category"] not in ctx.config["DEVIATION_CATEGORIES"]:
            out.append(rules.Violation("R-REQUIRED", "category", MSG_CATEGORY))
        out += self._check_handed_to(data["handed_to"], ctx.user, ctx.config["SUPPORT_CONTACT"])
        for name in FREE_TEXT_FIELDS:  # R-NOTE-PNR: the fictional name only, never a personnummer
            out += rules.check_note_text(data[name], name)
            # R-NOTE-ADDRESS: no street address or phone number (SPEC §4).
            out += rules.check_note_address(data[name], name)
        return out

    @staticmethod
    def _check_handed_to(name: str, user: User, contact: str) -> list[rules.Violation]:
        """One of the reporter's unit's managers and planners, as the database has them now."""
        allowed = recipients(user)
        if not allowed:
            return [
                rules.Violation("R-REQUIRED", "handed_to", MSG_NO_RECIPIENT, {"contact": contact})
            ]
        if not name:
            return [rules.Violation("R-REQUIRED", "handed_to", MSG_CHOOSE_RECIPIENT)]
        if name not in {n for n, _role in allowed}:
            return [rules.Violation("R-REQUIRED", "handed_to", MSG_HANDED_TO)]
        return []

    def subject(self, data: dict[str, Any]) -> str:
        """No name, fictional or real, in the subject line (§2.2, §5.9): only the unit."""
        return f"Avvikelse – reservrapport, {data['unit']}"

    def case_number(self, data: dict[str, Any]) -> str | None:
        return None  # a deviation report names no case (§4.2: the fictional name only)

    def on_done(self, sub: Submission, done: DoneInput) -> None:
        """Registered in Treserva: the form is destroyed (§4.2), so its content goes; a
        tombstone stays. Also at DEVIATION_RETENTION_DAYS unregistered (portal/retention.py)."""
        self.purge(sub, "purged")
