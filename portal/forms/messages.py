"""Further messages of the routine (SPEC §3.6): render only, nothing stored.

Each is a pre-formatted Treserva message (distribution list, subject, body) and a PDF to print. A
valid post shows the message at once; the portal keeps no content, only an audit event that says who
made which kind of message for which case (forms view `_render_only`).

- Fee handler, home care (§5.9, §5.13): the social secretary tells the fee handler who the client
  is, where invoices go, and the granted or changed time. Name and postal address belong in the body
  (the fee handler needs them), never in the subject.
- Fee handler, private-residence contract (§6.1): the BoSam case officer (boendesekreterare) who
  drew up the contract for a private residence tells the fee handler.
- Fee handler, municipal-residence contract (§7.2, §10): the residence's unit manager tells the
  fee handler that the contract is made, with the tenant's income details.
- Trygghetsjouren (§8.5, §8.10, §9.2, §9.5): the case number and a fixed text only, no personal
  data.

The checks are plain functions of the form's data (no Flask, no database), like portal/rules.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import Length

from .. import rules
from ..i18n import N_, InputRequired, _l
from ..models import User
from .base import CheckContext, RenderOnlyForm
from .fields import IsoDateField

# Each date's message names it and its format (issue 14): for a date that cannot be read, and for
# a missing one where the message needs it.
START_DATE_MSG = N_("Ange startdatum för hemtjänstinsatsen som ÅÅÅÅ-MM-DD.")
CHANGE_DATE_MSG = N_("Ange från vilket datum tiden ändras, som ÅÅÅÅ-MM-DD.")
END_DATE_MSG = N_("Ange datum då insatsen avslutas, som ÅÅÅÅ-MM-DD.")
MOVE_IN_DATE_MSG = N_("Ange inflyttningsdatum som ÅÅÅÅ-MM-DD.")
MSG_PNR_IN_MESSAGE = N_(
    "Skriv inte personnummer eller samordningsnummer i meddelandet. "
    "Avgiftshandläggaren behöver bara namn och postadress (§5.9)."
)


def _text(form: Any, name: str) -> str:
    return (form[name].data or "").strip()


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def required(data: dict[str, Any], field: str, message: str) -> list[rules.Violation]:
    return [] if data.get(field) else [rules.Violation("R-REQUIRED", field, message)]


def no_personnummer(data: dict[str, Any], fields: tuple[str, ...]) -> list[rules.Violation]:
    """Data minimisation (SPEC §1.1): the message carries what the routine lists, never a
    personnummer."""
    return [
        rules.Violation("R-PNR-MESSAGE", f, MSG_PNR_IN_MESSAGE)
        for f in fields
        if rules.contains_personnummer(data.get(f) or "")
    ]


def case_subject_rules(
    data: dict[str, Any], subject: str, pattern: str, names: tuple[str, ...] = ()
) -> list[rules.Violation]:
    """The case number goes into the subject line: digits only, and no personnummer or client name
    in the subject (§2.2, §5.9: "Inga personuppgifter får förekomma i ämnesraden")."""
    out = rules.check_case_number(data["case_number"], "case_number", pattern)
    out += rules.check_subject(subject, "case_number", forbidden_names=[n for n in names if n])
    return list(dict.fromkeys(out))


# --- to the fee handler when home care starts, changes or ends (§5.9, §5.13) ------------------

HOME_CARE_KINDS = [
    ("start", "Hemtjänst startar"),
    ("change", "Ändrad tid"),
    ("end", "Insatsen avslutas (§5.13)"),
]
HOME_CARE_SUBJECT = {"start": "start", "change": "ändrad tid", "end": "avslut"}


class FeeHandlerForm(FlaskForm):
    """Meddelande till avgiftshandläggare om hemtjänst (§5.9)."""

    kind = RadioField(_l("Meddelandet gäller"), choices=HOME_CARE_KINDS, default="start")
    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    full_name = StringField(
        _l("Vem ärendet gäller (för- och efternamn)"),
        validators=[InputRequired(_l("Ange den enskildes för- och efternamn.")), Length(max=120)],
    )
    postal_address = TextAreaField(
        _l("Adress dit den enskildes post ska skickas"),
        validators=[
            InputRequired(_l("Ange adressen dit fakturor och inkomstförfrågan ska skickas.")),
            Length(max=400),
        ],
    )
    start_date = IsoDateField(_l("Startdatum för hemtjänstinsatsen"), START_DATE_MSG)
    safety_alarm = BooleanField(_l("Trygghetslarm"))
    food_delivery = BooleanField(_l("Matleverans"))
    granted_time = StringField(_l("Beviljad tid"), validators=[Length(max=120)])
    change_date = IsoDateField(_l("Ändrad tid från och med"), CHANGE_DATE_MSG)
    changed_time = StringField(_l("Förändrad tid"), validators=[Length(max=120)])
    end_date = IsoDateField(_l("Insatsen avslutas från och med"), END_DATE_MSG)


def fee_handler_data(form: FeeHandlerForm) -> dict[str, Any]:
    return {
        "kind": form.kind.data or "start",
        "case_number": _text(form, "case_number"),
        "full_name": _text(form, "full_name"),
        "postal_address": _text(form, "postal_address"),
        "start_date": _iso(form.start_date.data),
        "safety_alarm": bool(form.safety_alarm.data),
        "food_delivery": bool(form.food_delivery.data),
        "granted_time": _text(form, "granted_time"),
        "change_date": _iso(form.change_date.data),
        "changed_time": _text(form, "changed_time"),
        "end_date": _iso(form.end_date.data),
    }


def fee_handler_subject(data: dict[str, Any]) -> str:
    """Case number only, never the name (§5.9)."""
    kind = HOME_CARE_SUBJECT.get(data.get("kind") or "", "")
    return f"Avgiftsunderlag hemtjänst ärende {data['case_number']}, {kind}"


def check_fee_handler(data: dict[str, Any], pattern: str) -> list[rules.Violation]:
    """§5.9: who, where the post goes, home care, start date, alarm/food, granted and changed time;
    §5.13: the end of the service."""
    out = case_subject_rules(data, fee_handler_subject(data), pattern, (data["full_name"],))
    kind = data["kind"]
    if kind == "start":
        out += required(data, "start_date", START_DATE_MSG)
        out += required(
            data,
            "granted_time",
            N_("Ange beviljad tid, så att avgiften debiteras utifrån rätt nivå (§5.9)."),
        )
    elif kind == "change":
        out += required(data, "change_date", CHANGE_DATE_MSG)
        out += required(
            data, "changed_time", N_("Ange den förändrade tiden, så att avgiften kan justeras (§5.9).")
        )
    elif kind == "end":
        out += required(data, "end_date", END_DATE_MSG)
    out += no_personnummer(data, ("full_name", "postal_address", "granted_time", "changed_time"))
    return out


class FeeHandler(RenderOnlyForm):
    """Meddelande till avgiftshandläggare om hemtjänst (§5.9, §5.13)."""

    key = "fee_handler"
    title = "Meddelande till avgiftshandläggare – hemtjänst"
    form_class = FeeHandlerForm
    submit_roles = frozenset({"social_secretary"})  # §5.9, §5.13: socialsekreteraren meddelar
    distribution_list = "fee_handler"
    # §5.9: "Socialsekreteraren meddelar avgiftshandläggare i Treserva"; §5.13 likewise.
    treserva_step = N_(
        "Rutinen kräver att avgiftshandläggaren får det här i Treserva: kopiera meddelandet och "
        "skicka det med Treservas meddelandefunktion till %(to)s (§5.9, §5.13)."
    )
    position = 50

    def to_data(self, form: FeeHandlerForm, user: User) -> dict[str, Any]:
        return fee_handler_data(form)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_fee_handler(data, ctx.config["CASE_NUMBER_PATTERN"])

    def subject(self, data: dict[str, Any]) -> str:
        return fee_handler_subject(data)


# --- from BoSam to the fee handler: private-residence contract (§6.1) ----------------------------


class ContractMessageForm(FlaskForm):
    """What both contract messages to the fee handler say first (§6.1, §7.2): the case, who, and
    where the post goes."""

    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    full_name = StringField(
        _l("Vem ärendet gäller (för- och efternamn)"),
        validators=[InputRequired(_l("Ange den enskildes för- och efternamn.")), Length(max=120)],
    )
    postal_address = TextAreaField(
        _l("Adress dit den enskildes post ska skickas"),
        validators=[
            InputRequired(_l("Ange adressen dit den enskildes post ska skickas.")),
            Length(max=400),
        ],
    )


def contract_message_data(form: ContractMessageForm) -> dict[str, Any]:
    return {
        "case_number": _text(form, "case_number"),
        "full_name": _text(form, "full_name"),
        "postal_address": _text(form, "postal_address"),
    }


class ContractForm(ContractMessageForm):
    """Meddelande till avgiftshandläggare om hyreskontrakt på privat boende (§6.1)."""

    residence = StringField(
        _l("Vilket privat boende det gäller"),
        validators=[InputRequired(_l("Ange vilket privat boende det gäller.")), Length(max=160)],
    )
    move_in_date = IsoDateField(_l("Inflyttningsdatum"), MOVE_IN_DATE_MSG)


def contract_data(form: ContractForm) -> dict[str, Any]:
    return {
        **contract_message_data(form),
        "residence": _text(form, "residence"),
        "move_in_date": _iso(form.move_in_date.data),
    }


def contract_subject(data: dict[str, Any]) -> str:
    return f"Hyreskontrakt privat boende upprättat, ärende {data['case_number']}"


def check_contract(data: dict[str, Any], pattern: str) -> list[rules.Violation]:
    """§6.1: who, that the contract is made, where the post goes, which private residence, and the
    move-in date."""
    out: list[rules.Violation] = []
    out += case_subject_rules(data, contract_subject(data), pattern, (data["full_name"],))
    out += required(data, "move_in_date", MOVE_IN_DATE_MSG)
    out += no_personnummer(data, ("full_name", "postal_address", "residence"))
    return out


class Contract(RenderOnlyForm):
    """Meddelande till avgiftshandläggare om hyreskontrakt på privat boende (§6.1)."""

    key = "fee_handler_contract"
    title = "Meddelande till avgiftshandläggare – hyreskontrakt privat boende"
    form_class = ContractForm
    # §6.1: the boendesekreterare on BoSam draws up the contract and informs the fee handler; the
    # BoSam unit manager may stand in (§6.1, absence). A boendesekreterare is a case officer with
    # access to the case, so the portal's coarse role for it is social_secretary; `staff` are
    # those without Treserva access (SPEC §2) and cannot send Treserva messages.
    submit_roles = frozenset({"social_secretary", "unit_manager"})
    # Only a BoSam unit sends it (§6.1; municipal residences tell the fee handler themselves,
    # §7.2): other unit types get 403 and do not see it on the start page.
    unit_types = frozenset({"bosam"})
    distribution_list = "fee_handler"
    # §6.1: the boendesekreterare "informerar avgiftshandläggare i Treserva".
    treserva_step = N_(
        "Rutinen kräver att avgiftshandläggaren får det här i Treserva: kopiera meddelandet och "
        "skicka det med Treservas meddelandefunktion till %(to)s (§6.1)."
    )
    position = 60

    def to_data(self, form: ContractForm, user: User) -> dict[str, Any]:
        return contract_data(form)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_contract(data, ctx.config["CASE_NUMBER_PATTERN"])

    def subject(self, data: dict[str, Any]) -> str:
        return contract_subject(data)


# --- from a municipal residence to the fee handler: contract and income (§7.2, §10) -------------


class MunicipalContractForm(ContractMessageForm):
    """Meddelande till avgiftshandläggare om hyreskontrakt på kommunalt vård- och omsorgsboende
    (§7.2, §10)."""

    move_in_date = IsoDateField(_l("Inflyttningsdatum"), MOVE_IN_DATE_MSG)
    income = TextAreaField(
        _l("Hyresgästens inkomstuppgifter"),
        validators=[
            InputRequired(
                _l("Ange hyresgästens inkomstuppgifter, som avgiftshandläggaren behöver (§7.2).")
            ),
            Length(max=1000),
        ],
    )


def municipal_contract_data(form: MunicipalContractForm) -> dict[str, Any]:
    return {
        **contract_message_data(form),
        "move_in_date": _iso(form.move_in_date.data),
        "income": _text(form, "income"),
    }


def municipal_contract_subject(data: dict[str, Any]) -> str:
    return f"Hyreskontrakt vård- och omsorgsboende upprättat, ärende {data['case_number']}"


def check_municipal_contract(data: dict[str, Any], pattern: str) -> list[rules.Violation]:
    """§7.2: that the contract is made, and the tenant's income details; who and where the post
    goes, as in §6.1, so that the fee handler can invoice by hand (§10)."""
    out: list[rules.Violation] = []
    out += case_subject_rules(
        data, municipal_contract_subject(data), pattern, (data["full_name"],)
    )
    out += required(data, "move_in_date", MOVE_IN_DATE_MSG)
    out += no_personnummer(data, ("full_name", "postal_address", "income"))
    return out


class MunicipalContract(RenderOnlyForm):
    """Meddelande till avgiftshandläggare om hyreskontrakt på kommunalt boende (§7.2, §10)."""

    key = "fee_handler_contract_municipal"
    title = "Meddelande till avgiftshandläggare – hyreskontrakt vård- och omsorgsboende"
    form_class = MunicipalContractForm
    # §7.2: "enhetschef/uppdragsmottagare på vård- och omsorgsboendet" draws up the contract and
    # tells the fee handler, with the tenant's income details; §10: "Hyreskontrakt på skyddade
    # personer läggs upp av ansvariga på boendet". Only a residence (unit type boende) sends it;
    # a private residence's contract is BoSam's (Contract above).
    submit_roles = frozenset({"unit_manager"})
    unit_types = frozenset({"boende"})
    distribution_list = "fee_handler"
    # §7.2: the residence tells the fee handler of the contract and the income; as the other
    # fee-handler messages of the routine (§5.9, §6.1), in Treserva.
    treserva_step = N_(
        "Rutinen kräver att avgiftshandläggaren får veta att kontraktet är upprättat, med "
        "inkomstuppgifterna: kopiera meddelandet och skicka det med Treservas "
        "meddelandefunktion till %(to)s (§7.2)."
    )
    position = 61

    def to_data(self, form: MunicipalContractForm, user: User) -> dict[str, Any]:
        return municipal_contract_data(form)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_municipal_contract(data, ctx.config["CASE_NUMBER_PATTERN"])

    def subject(self, data: dict[str, Any]) -> str:
        return municipal_contract_subject(data)


# --- to Trygghetsjouren: the case number only (§8.5, §8.10, §9.2, §9.5) --------------------------

# (code, choice label, subject opening, fixed body text)
TRYGGHETSJOUREN_PURPOSES: list[tuple[str, str, str, str]] = [
    (
        "assignment_sent",
        "Uppdraget är skickat (socialsekreterare, §9.2)",
        "Uppdrag trygghetslarm skickat",
        "Uppdraget om trygghetslarm eller trygghetskamera är skickat till Trygghetsjouren i Treserva. "
        "Ärendenumret behövs för att Trygghetsjouren ska kunna beställa behörighet till ärendet "
        "(§9.2).",
    ),
    (
        "keys_collected",
        "Nycklarna är hämtade (planerare hemtjänst, §8.5)",
        "Nycklar hämtade",
        "Nycklarna är hämtade. Trygghetsjouren kan boka tid för installation av trygghetslarmet "
        "(§8.5, §9.3).",
    ),
    (
        "alarm_returned",
        "Trygghetslarmet är återlämnat och ska avslutas "
        "(planerare hemtjänst natt och larm, §8.10, §9.5)",
        "Trygghetslarm återlämnat",
        "Trygghetslarmet är återlämnat och ska avslutas. Avsluta abonnemanget och radera larmkod och "
        "larmsändare i larmmottagningssystemet (§8.10, §9.5).",
    ),
]
_PURPOSE = {code: (subject, text) for code, _label, subject, text in TRYGGHETSJOUREN_PURPOSES}


class TrygghetsjourenForm(FlaskForm):
    """Meddelande till Trygghetsjouren: bara ärendenumret (§8.5, §9.2)."""

    purpose = RadioField(
        _l("Meddelandet gäller"),
        choices=[(c, label) for c, label, _s, _t in TRYGGHETSJOUREN_PURPOSES],
        default="assignment_sent",
    )
    # The case number and nothing else: no city district either, which is indirect location
    # data (§1.1, §8.5: "enbart ärendenumret").
    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )


def trygghetsjouren_data(form: TrygghetsjourenForm) -> dict[str, Any]:
    purpose = form.purpose.data if form.purpose.data in _PURPOSE else "assignment_sent"
    return {
        "purpose": purpose,
        "case_number": _text(form, "case_number"),
        "text": _PURPOSE[purpose][1],
    }


def trygghetsjouren_subject(data: dict[str, Any]) -> str:
    """Fixed words and the case number only (§8.5, §9.2)."""
    opening = _PURPOSE.get(data.get("purpose") or "", ("Trygghetslarm", ""))[0]
    return f"{opening}, ärende {data['case_number']}"


def check_trygghetsjouren(data: dict[str, Any], pattern: str) -> list[rules.Violation]:
    """§8.5: "I meddelande ska enbart ärendenumret stå, det får inte stå några personuppgifter." The
    form has no free text, so the case number is all there is to check."""
    return case_subject_rules(data, trygghetsjouren_subject(data), pattern)


class Trygghetsjouren(RenderOnlyForm):
    """Meddelande till Trygghetsjouren: bara ärendenumret (§8.5, §8.10, §9.2, §9.5)."""

    key = "trygghetsjouren"
    title = "Meddelande till Trygghetsjouren"
    form_class = TrygghetsjourenForm
    # §9.2: the social secretary; §8.5, §8.10: the home-care planner, who in the portal's coarse
    # roles is a unit_manager (§8.1: enhetschef and planerare are those with access in home care).
    submit_roles = frozenset({"social_secretary", "unit_manager"})
    distribution_list = "trygghetsjouren"
    # §8.5, §9.2: a message in Treserva to Trygghetsjouren's list, the case number only.
    treserva_step = N_(
        "Rutinen kräver meddelandet i Treserva: kopiera det och skicka det med Treservas "
        "meddelandefunktion till sändlistan %(to)s – bara ärendenumret, inga personuppgifter "
        "(§8.5, §9.2)."
    )
    position = 70

    def to_data(self, form: TrygghetsjourenForm, user: User) -> dict[str, Any]:
        return trygghetsjouren_data(form)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_trygghetsjouren(data, ctx.config["CASE_NUMBER_PATTERN"])

    def subject(self, data: dict[str, Any]) -> str:
        return trygghetsjouren_subject(data)

