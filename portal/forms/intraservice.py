"""Tickets to Intraservice (SPEC §3.6): render only, the case number only, nothing stored.

Two tickets of the routine go to Intraservice's support (support.intraservice@…, config
DISTRIBUTION_LISTS["intraservice"]) rather than to a Treserva list:

- SAMSA removal (§3.6): a person already in SAMSA who gets protected personal data is to have the
  address of record and personal contacts removed and consents blocked. The social secretary asks
  LVS for SAMSA to send the ticket; "Viktigt att skriva i ämnesraden att det gäller SAMSA och
  borttag av personuppgifter". The ticket carries the case number and a fixed text, never who the
  person is: Intraservice is told to call the sender.
- Trygghetsjouren's access (§9.2): LVS at Trygghetsjouren (the unit manager's delegate) orders
  access to a case "genom att uppge ärendenummer och vilka personer på Trygghetsjouren som ska ha
  tillgång till ärendet". Names and usernames of staff are not client data (SPEC §1.1); the case
  has no other data here. More people than the unit type's limit (config PERSON_LIMITS, §9.2)
  needs a written justification, printed in the ticket.
- Its removal, at a closing or when someone leaves: the same way back, since Trygghetsjouren's
  grants never go to the LVS list (portal/cases.py, by_intraservice). No limit applies.

R-NOTE-PNR runs at every text field (the machine); the subject holds fixed words and the case
number (R-PNR-SUBJECT).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Form, FormField, RadioField, StringField, TextAreaField
from wtforms.validators import Length

from .. import rules
from ..i18n import N_, InputRequired, _l
from ..models import User
from .base import ByPurpose, CheckContext, Purpose, RowList, edit_rows
from .messages import case_subject_rules

MSG_NO_PURPOSE = N_("Välj vilket ärende till Intraservice det gäller.")
MSG_PURPOSE_NOT_YOURS = N_(
    "Det här ärendet till Intraservice skickas inte från din roll eller enhet enligt rutinen "
    "(%(section)s)."
)
MSG_NO_PERSON = N_(
    "Ange minst en person på Trygghetsjouren som ska ha tillgång till ärendet (§9.2)."
)
MSG_NAME = N_("Ange personens fullständiga namn.")
MSG_USERNAME = N_("Ange personens användarnamn (staden-konto).")
MSG_SAME_PERSON = N_("Samma användarnamn står på två rader.")
MSG_JUSTIFY = N_(
    "Fler än %(limit)s personer på Trygghetsjouren ska få tillgång: skriv en motivering på minst "
    "%(min)s tecken (§2.1, §9.2)."
)


SAMSA = Purpose(
    code="samsa_removal",
    label="SAMSA: borttag av personuppgifter (socialsekreterare eller LVS, §3.6)",
    section="§3.6",
    # §3.6: "socialsekreterare [ska] direkt be LVS för SAMSA skicka ett ärende": the social
    # secretary of the case prepares it, LVS sends it; both at Myndighet.
    roles=frozenset({"social_secretary", "lvs"}),
    unit_types=frozenset({"myndighet"}),
    subject="SAMSA – borttag av personuppgifter",
)
TJ_ACCESS = Purpose(
    code="tj_access",
    label="Behörighet för Trygghetsjourens personal (LVS på Trygghetsjouren, §9.2)",
    section="§9.2",
    # §9.2: the unit manager of Trygghetsjouren has delegated ordering access to LVS there.
    roles=frozenset({"lvs", "unit_manager"}),
    unit_types=frozenset({"trygghetsjouren"}),
    subject="Behörighet Treserva för Trygghetsjouren",
)
# Access that was ordered by a ticket is removed by one, by the same senders: a closing or a
# person who leaves never sends Trygghetsjouren's grants to the LVS list (cases.by_intraservice).
TJ_REMOVAL = replace(
    TJ_ACCESS,
    code="tj_access_removal",
    label="Borttag av behörighet för Trygghetsjourens personal (LVS på Trygghetsjouren, §9.2)",
    subject="Borttag av behörighet Treserva för Trygghetsjouren",
)
PURPOSES: tuple[Purpose, ...] = (SAMSA, TJ_ACCESS, TJ_REMOVAL)
#: The tickets that name Trygghetsjouren's staff, row by row.
STAFF_PURPOSES = (TJ_ACCESS, TJ_REMOVAL)
BY_CODE = {p.code: p for p in PURPOSES}


class StaffRow(Form):
    """One member of Trygghetsjouren's staff who is to have access (§9.2)."""

    full_name = StringField(_l("Fullständigt namn"), validators=[Length(max=120)])
    username = StringField(_l("Användarnamn (staden-konto)"), validators=[Length(max=64)])


class IntraserviceForm(FlaskForm):
    """Ärende till Intraservice (§3.6, §9.2)."""

    purpose = RadioField(
        _l("Ärendet gäller"),
        choices=[(p.code, p.label) for p in PURPOSES],
        validate_choice=False,  # refused by the rule, in Swedish, at the field
    )
    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    persons = RowList(FormField(StaffRow), min_entries=1)  # at most MAX_PERSON_ROWS
    justification = TextAreaField(_l("Motivering"), validators=[Length(max=1000)])


def intraservice_data(form: IntraserviceForm) -> dict[str, Any]:
    """What the ticket says: the case number, and for Trygghetsjouren's access the staff rows
    that are filled in; nothing else that is posted."""
    purpose = BY_CODE.get(form.purpose.data or "")
    data: dict[str, Any] = {
        "purpose": purpose.code if purpose else "",
        "case_number": (form.case_number.data or "").strip(),
        "section": purpose.section if purpose else "",
        "heading": purpose.subject if purpose else "",
        "persons": [],
        "justification": "",
    }
    if purpose in STAFF_PURPOSES:
        data["persons"] = [
            {
                "row": i,
                "full_name": (e.form.full_name.data or "").strip(),
                "username": (e.form.username.data or "").strip(),
            }
            for i, e in enumerate(form.persons.entries)
            if (e.form.full_name.data or "").strip() or (e.form.username.data or "").strip()
        ]
    if purpose is TJ_ACCESS:
        data["justification"] = (form.justification.data or "").strip()
    return data


def intraservice_subject(data: dict[str, Any]) -> str:
    """§3.6: the subject says SAMSA and "borttag av personuppgifter"; the case number, nothing
    else."""
    purpose = BY_CODE.get(data.get("purpose") or "")
    opening = purpose.subject if purpose else "Ärende"
    return f"{opening}, ärende {data['case_number']}"


def _staff_rules(
    data: dict[str, Any], ctx: CheckContext, limited: bool
) -> list[rules.Violation]:
    """§9.2: who at Trygghetsjouren is to have access (or lose it), each by name and username;
    more than the unit type's limit to be given access needs a justification (§2.1,
    R-PERSON-LIMIT; `limited`)."""
    persons = data["persons"]
    if not persons:
        return [rules.Violation("R-REQUIRED", "persons-0-full_name", MSG_NO_PERSON)]
    out: list[rules.Violation] = []
    seen: set[str] = set()
    for p in persons:
        prefix = f"persons-{p['row']}-"
        if not p["full_name"]:
            out.append(rules.Violation("R-REQUIRED", prefix + "full_name", MSG_NAME))
        if not p["username"]:
            out.append(rules.Violation("R-REQUIRED", prefix + "username", MSG_USERNAME))
            continue
        found = rules.check_username(
            p["username"], prefix + "username", ctx.config["USERNAME_PATTERN"]
        )
        out += found
        if not found and p["username"].lower() in seen:
            out.append(rules.Violation("R-DUPLICATE", prefix + "username", MSG_SAME_PERSON))
        seen.add(p["username"].lower())
    if not limited:
        return out
    limit = int(ctx.config["PERSON_LIMITS"].get("trygghetsjouren", 0))
    least = int(ctx.config["JUSTIFICATION_MIN_LENGTH"])
    if len(persons) > limit and len(data["justification"]) < least:
        out.append(
            rules.Violation(
                "R-PERSON-LIMIT", "justification", MSG_JUSTIFY, {"limit": limit, "min": least}
            )
        )
    return out


def check_intraservice(data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
    """A ticket of the routine that this user sends, a case number that is one, and for
    Trygghetsjouren's access the people by name and username."""
    out: list[rules.Violation] = []
    purpose = BY_CODE.get(data.get("purpose") or "")
    if purpose is None:
        out.append(rules.Violation("R-REQUIRED", "purpose", MSG_NO_PURPOSE))
    elif not purpose.allows(ctx.user):
        out.append(
            rules.Violation(
                "R-TICKET-SENDER", "purpose", MSG_PURPOSE_NOT_YOURS, {"section": purpose.section}
            )
        )
    out += case_subject_rules(data, intraservice_subject(data), ctx.config["CASE_NUMBER_PATTERN"])
    if purpose in STAFF_PURPOSES:
        out += _staff_rules(data, ctx, limited=purpose is TJ_ACCESS)
    return out


class Intraservice(ByPurpose):
    """Ärende till Intraservice: SAMSA (§3.6) och Trygghetsjourens behörighet och borttag av den
    (§9.2)."""

    key = "intraservice"
    title = "Ärende till Intraservice"
    form_class = IntraserviceForm
    purposes = PURPOSES
    distribution_list = "intraservice"
    # §3.6, §9.2: a ticket to Intraservice's support address, not a Treserva message; for SAMSA
    # the social secretary asks LVS for SAMSA to send it.
    treserva_step = N_(
        "Det här skickas inte i Treserva: rutinen kräver ett ärende till %(to)s – kopiera texten "
        "och skicka den dit (SAMSA: genom LVS för SAMSA, §3.6; Trygghetsjourens behörighet: "
        "§9.2)."
    )
    position = 90

    def edit_rows(
        self, form: IntraserviceForm, formdata: MultiDict[str, Any], user: User, day: date
    ) -> bool:
        self.offer(form, user)
        return edit_rows(form.persons, formdata, form.persons.limit)

    def to_data(self, form: IntraserviceForm, user: User) -> dict[str, Any]:
        self.offer(form, user)  # a page shown again offers only the user's own tickets
        return intraservice_data(form)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_intraservice(data, ctx)

    def subject(self, data: dict[str, Any]) -> str:
        return intraservice_subject(data)
