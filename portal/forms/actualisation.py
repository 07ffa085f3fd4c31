"""Aktualisering av skyddad person (§2.4): a social secretary asks LVS to create the actualisation
in Treserva for a protected person who has had no case before (the secretary gets "Behörighet
saknas" and cannot add the person herself).

Holds the personnummer and name, so it is stored encrypted and read by LVS only, each read
audited (SPEC §1.1, §1.4). When LVS marks it done, the content is purged and a tombstone stays
with the case number LVS created; unprocessed, it is purged after RETENTION_ACTUALISATION_DAYS
(portal/retention.py) and the secretary sees that on her start page."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import Form, FormField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms 3.2 predates WTForms 3.3's SelectChoice
from wtforms.validators import Length, Optional

from .. import audit, rules
from ..extensions import db
from ..i18n import N_, InputRequired, _l
from ..models import Submission, Unit, User
from .base import CheckContext, DoneInput, RowList, StoredForm, edit_rows
from .fields import IsoDateField

RECEIVED_DATE_MSG = N_("Ange mottaget datum som ÅÅÅÅ-MM-DD.")
KINDS = [("anmälan", "Anmälan"), ("ansökan", "Ansökan")]
ARRIVAL_METHODS = [
    ("telefon", "Telefon"),
    ("brev", "Brev"),
    ("besök", "Besök"),
    ("e-tjänst", "E-tjänst"),
    ("annat", "Annat"),
]
# Point 11: the request came from the individual; any other text (e.g. "anhörig") means "from
# someone else" (§2.4 p. 11).
INDIVIDUAL = "den enskilde"
DEFAULT_UNIT_TYPE = "myndighet"  # the social secretary's own kind of unit (§2.1)
TEXT_FIELDS = (
    "receiving_unit",
    "recipient",
    "recipient_position",
    "activity",
    "full_name",
    "concerns",
    "preliminary_case_type",
    "arrived_from",
    "reporter_name",
    "reporter_contact",
    "text",
)


def _required(label: str) -> InputRequired:
    return InputRequired(_l("%(label)s måste fyllas i.", label=label))


class ProposedPersonForm(Form):
    """A member of staff who should get access to the new case (§2.1)."""

    full_name = StringField(_l("Fullständigt namn"), validators=[Length(max=120)])
    username = StringField(_l("Användarnamn (staden-konto)"), validators=[Length(max=64)])
    position = StringField(
        _l("Befattning"), validators=[Length(max=64)], render_kw={"list": "positions"}
    )


class ActualisationForm(FlaskForm):
    """The eleven points of §2.4 in the routine's order, then who should get access and the text."""

    receiving_unit = StringField(
        _l("1. Mottagande enhet"), validators=[_required("Mottagande enhet"), Length(max=120)]
    )
    recipient = StringField(
        _l("2. Mottagare"), validators=[_required("Mottagare"), Length(max=120)]
    )
    recipient_position = StringField(
        _l("3. Befattning"), validators=[_required("Befattning"), Length(max=64)]
    )
    activity = StringField(
        _l("4. Verksamhet"), default="ÄO", validators=[_required("Verksamhet"), Length(max=32)]
    )
    personnummer = StringField(
        _l("5. Personnummer eller samordningsnummer"), validators=[Length(max=20)]
    )
    full_name = StringField(
        _l("5. Namn på den skyddade personen"), validators=[_required("Namnet"), Length(max=120)]
    )
    concerns = StringField(
        _l("6. Vad aktualiseringen avser"),
        validators=[_required("Vad aktualiseringen avser"), Length(max=200)],
    )
    preliminary_case_type = StringField(
        _l("7. Preliminär ärendetyp"),
        validators=[_required("Preliminär ärendetyp"), Length(max=120)],
    )
    kind = RadioField(
        _l("8. Avser"),
        choices=[SelectChoice(v, label) for v, label in KINDS],
        # types-WTForms 3.2 predates WTForms 3.3's invalid_choice_message.
        invalid_choice_message=N_("Välj anmälan eller ansökan."),  # type: ignore[call-arg]
    )
    received_date = IsoDateField(_l("9. Mottaget datum"), RECEIVED_DATE_MSG, required=True)
    arrival_method = RadioField(
        _l("10. Ankomstsätt"),
        choices=[SelectChoice(v, label) for v, label in ARRIVAL_METHODS],
        invalid_choice_message=N_("Välj ankomstsätt."),  # type: ignore[call-arg]
    )
    arrived_from = StringField(
        _l("11. Ankom ifrån"), validators=[_required("Ankom ifrån"), Length(max=120)]
    )
    reporter_name = StringField(
        _l("Anmälarens eller den sökandes namn"), validators=[Length(max=120)]
    )
    reporter_contact = StringField(
        _l("Kontaktuppgifter (frivilligt)"), validators=[Length(max=200)]
    )
    proposed_persons = RowList(FormField(ProposedPersonForm), min_entries=1)  # MAX_PERSON_ROWS
    text = TextAreaField(
        _l("Text till Treservas textruta"), validators=[Optional(), Length(max=4000)]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.personnummer.render_kw = {
            "autocomplete": "off",
            "inputmode": "numeric",
            "spellcheck": "false",
        }
        self.full_name.render_kw = {"autocomplete": "off", "spellcheck": "false"}
        self.receiving_unit.render_kw = {"list": "units"}
        self.recipient_position.render_kw = {"list": "positions"}
        self.arrived_from.render_kw = {"list": "arrived-from"}

    def person_limit(self) -> int:
        return person_limit(self.receiving_unit.data or "")

    def unit_names(self) -> list[str]:
        return list(db.session.scalars(select(Unit.name).order_by(Unit.name)))


def receiving_unit_type(name: str) -> str:
    """The unit type of the receiving unit when it is a unit we know, else Myndighet's."""
    unit_type = db.session.scalar(
        select(Unit.unit_type).where(func.lower(Unit.name) == (name or "").strip().lower())
    )
    return unit_type or DEFAULT_UNIT_TYPE


def person_limit(receiving_unit: str) -> int:
    limits = current_app.config["PERSON_LIMITS"]
    return int(limits.get(receiving_unit_type(receiving_unit), limits[DEFAULT_UNIT_TYPE]))


def normalise_personnummer(text: str) -> str:
    """ÅÅÅÅMMDD-NNNN, the form Treserva and Skatteverket print; the input as typed if invalid."""
    from personnummer import personnummer as pnr_lib

    try:
        long = pnr_lib.parse(text).format(True)
    except Exception:  # noqa: BLE001 - the rule reports an invalid number; keep what was typed
        return text
    return f"{long[:8]}-{long[8:]}"


def _clean(value: Any) -> str:
    return (value or "").strip() if isinstance(value, str) else ""


def _no_fee_handler(data: dict[str, Any]) -> list[rules.Violation]:
    """R-NO-FEE-HANDLER: nobody in a fee-handling unit is proposed for access (§7.2)."""
    fee_handlers = db.session.scalars(
        select(User.username).join(Unit).where(Unit.unit_type == "avgift")
    )
    found = rules.check_no_fee_handler(
        receiving_unit_type(data["receiving_unit"]),
        [{"action": "add", **p} for p in data["proposed_persons"]],
        list(fee_handlers),
    )
    return [
        dataclasses.replace(
            v, field="receiving_unit" if v.field == "unit_type" else "proposed_" + v.field
        )
        for v in found
    ]


class Actualisation(StoredForm):
    """Begäran om aktualisering (§2.4): encrypted, read by LVS only (each read audited), purged
    when LVS has created the actualisation in Treserva; its case number stays."""

    key = "actualisation"
    title = "Begäran om aktualisering av skyddad person"
    pdf_words = "Begäran om aktualisering"
    form_class = ActualisationForm
    submit_roles = frozenset({"social_secretary"})
    process_roles = frozenset({"lvs"})
    storage = "encrypted"
    pnr_fields = frozenset({"personnummer"})  # R-PNR-VALID checks it, not R-NOTE-PNR
    distribution_list = "lvs"
    has_blank = True
    position = 20
    asks_case_number = True
    done_label = N_("Markera som klar och radera innehållet")
    done_hint = N_(
        "Gör kontrollerna i rutinen §2.5 och skapa aktualiseringen i Treserva. Skriv det nya "
        "ärendenumret nedan och markera som klar: personnummer, namn och all annan text raderas "
        "då ur portalen. Kvar finns bara att begäran fanns, vem som skickade och hanterade den, "
        "när, och ärendenumret."
    )
    done_flash = N_("Markerad som klar. Innehållet är raderat; ärendenumret finns kvar.")
    done_confirm = N_(
        "Innehållet i begäran – personnummer, namn och all annan text – raderas ur portalen och "
        "kan inte återskapas, inte heller av LVS. Kvar finns bara att begäran fanns, vem som "
        "skickade och hanterade den, när, och ärendenumret du skriver här."
    )
    # §2.4: "Skicka en begäran i ett meddelande i Treserva till sändlistan ..."
    treserva_step = N_(
        "Rutinen kräver att begäran också skickas i Treserva: kopiera meddelandet och skicka det "
        "med Treservas meddelandefunktion till sändlistan %(to)s (§2.4)."
    )
    sent_flash = N_("Begäran om aktualisering är skickad till LVS.")
    sealed_text = N_(
        "Innehållet är krypterat och kan bara läsas av LVS. Det raderas när LVS har skapat "
        "aktualiseringen i Treserva, eller efter %(days)s dagar om ingen har hanterat begäran."
    )

    def prefill(self, form: ActualisationForm, user: User, day: date) -> None:
        """The secretary's own unit and name, which is the usual case (§2.4 p. 1–3)."""
        form.receiving_unit.data = user.unit.name
        form.recipient.data = user.full_name
        form.recipient_position.data = "socialsekreterare"
        form.activity.data = "ÄO"

    def edit_rows(
        self, form: ActualisationForm, formdata: MultiDict[str, Any], user: User, day: date
    ) -> bool:
        """Add or remove a proposed person without JavaScript; True when the post was only
        that."""
        rows = form.proposed_persons
        return edit_rows(rows, formdata, min(form.person_limit(), rows.limit))

    def to_data(self, form: ActualisationForm, user: User) -> dict[str, Any]:
        data: dict[str, Any] = {name: _clean(form[name].data) for name in TEXT_FIELDS}
        pnr = _clean(form.personnummer.data)
        valid = not rules.check_personnummer(pnr, "personnummer")
        data["personnummer"] = normalise_personnummer(pnr) if valid else pnr
        if data["arrived_from"].casefold() == INDIVIDUAL:
            data["arrived_from"] = INDIVIDUAL
        data["kind"] = form.kind.data if form.kind.data in dict(KINDS) else ""
        method = form.arrival_method.data
        data["arrival_method"] = method if method in dict(ARRIVAL_METHODS) else ""
        data["received_date"] = (
            form.received_date.data.isoformat() if form.received_date.data else None
        )
        persons = []
        for entry in form.proposed_persons.entries:
            row = {k: _clean(entry.form[k].data) for k in ("full_name", "username", "position")}
            if any(row.values()):
                persons.append(row)
        data["proposed_persons"] = persons
        # The subject names the city district of the secretary's unit (SPEC §3.2).
        data["city_district"] = user.unit.city_district
        return data

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        out = rules.check_personnummer(data["personnummer"], "personnummer")
        if data["received_date"]:
            out += rules.check_date_not_future(
                date.fromisoformat(data["received_date"]), ctx.today, "received_date"
            )
        out += rules.check_reporter(data["kind"], data["arrived_from"], data["reporter_name"])
        out += rules.check_subject(
            self.subject(data), "full_name", forbidden_names=[data["full_name"]]
        )
        persons = data["proposed_persons"]
        for i, p in enumerate(persons):
            for key, message in (
                ("full_name", N_("Fullständigt namn måste fyllas i för den föreslagna personen.")),
                ("username", N_("Användarnamn måste fyllas i för den föreslagna personen.")),
            ):
                if not p[key]:
                    out.append(
                        rules.Violation("R-REQUIRED", f"proposed_persons-{i}-{key}", message)
                    )
        out += _no_fee_handler(data)
        limit = person_limit(data["receiving_unit"])
        if len(persons) > limit:
            out.append(
                rules.Violation(
                    "R-PERSON-LIMIT",
                    "proposed_persons",
                    N_(
                        "Högst %(limit)s personer kan föreslås för den mottagande enhetens "
                        "enhetstyp. Begränsa antalet till ett minimum (§2.1)."
                    ),
                    {"limit": limit},
                )
            )
        return out

    def subject(self, data: dict[str, Any]) -> str:
        """Never the personnummer or the name (§2.2: skriv aldrig personnummer)."""
        return (
            f"Begäran om aktualisering, skyddade personuppgifter, {data.get('city_district', '')}"
        )

    def case_number(self, data: dict[str, Any]) -> str | None:
        return None  # the case is created by LVS (§2.5), given when marking it done

    def on_done(self, sub: Submission, done: DoneInput) -> None:
        """LVS has created the actualisation in Treserva (§2.5): keep its case number (from the
        processing form, validated there), purge the rest."""
        if done.case_number:
            sub.case_number = done.case_number
        self.purge(sub, "purged")
        audit.submission_event(sub, "protected_content_purged", done.user, detail="hanterad av LVS")
