"""Checklista vid ärenden med skyddade personuppgifter (§3, §5.3, §5.5, §5.9, §5.11, §5.12; 2021
routine `001` §3.5–3.7, §5.2–5.3.3).

The social secretary fills it in together with the client (§5.3), prints it for the locked physical
file (§5.5), pastes its text into the assignment document (uppdragsdokument, §5.9), goes through it
at the planning meeting (§5.11) and updates it at every follow-up (§5.12); the client is offered a
copy (§7.3).

**Nothing of it is stored on the server** (storage "none"), **and it never travels as a data
file** (routine 2021 §2): the PDF is for the locked paper file only, carries no embedded data and
is shown inline to print. The next version starts from the text the portal gave for the
assignment document: the social secretary copies it from the uppdragsdokument in Treserva and
pastes it into ``POST /forms/checklist/import`` (field ``text``); ``parse_text`` reads it back
through the same table (``TEXT_LAYOUT``) that ``assignment_text`` writes it with, and lists every
line it cannot read, never guessing. The audit log gets only who made or imported which version
number, and when.

Field names (HTML names, keys of ``data``), by section:

- case: ``case_number`` (optional Treserva ärendenummer: the only identifier the portal may keep).
- kind of protection: ``protection_kind`` (``skyddad_folkbokforing`` | ``sekretessmarkering`` |
  ``lokalt_skydd``), ``local_protection_until`` (lokalt skydd only, at most three months, §1.3),
  ``skatteverket_decision_date`` (date of Skatteverket's decision, if known).
- threat picture: ``threat_picture`` (as agreed to record), ``protected_from_relatives``,
  ``protected_from_former_partner`` (`001` §5.3), ``protected_from_note``,
  ``children_in_household`` (``yes`` | ``no``), ``children_note``.
- information given (a tick and a date each): ``info_handling`` / ``info_handling_date`` (how
  protected cases are handled, §5.3), ``info_own_responsibility`` / ``…_date`` (tell authorities
  and companies, `001` §5.2), ``info_no_anonymity`` / ``…_date`` (§3.7), ``info_care_meaning`` /
  ``…_date`` (what it means in home care / residential care, §5.11, §8.2), ``info_documented`` /
  ``…_date`` (documented in the journal).
- fictional name: ``fictional_name_agreed`` (``yes`` | ``no``), ``fictional_name`` (§7.5, §8.2).
- communication: ``post_route`` (``forwarding_service`` = Skatteverket's förmedlingsuppdrag |
  ``special_address`` = a special forwarding address from Skatteverket | ``own_address`` = an
  address the authority has, with the client's approval, never with skyddad folkbokföring,
  `001` §3.1), ``post_note``,
  ``digital_mailbox`` (``yes`` | ``no``, Mina meddelanden, §3.2), ``email_agreed`` (``yes`` |
  ``no``) with ``email_client_wants``, ``email_risks_explained``, ``email_encrypted`` (§3.2),
  ``phone_call_back`` (§3.3), ``phone_code`` (`001` §3.6), ``visit_identity_check`` (`001` §3.5),
  ``communication_note``.
- consent: ``consent_performer``, ``consent_health_care``, ``consent_relatives``,
  ``consent_others``, ``consent_others_text`` (`004`; §7.4).
- contact: ``myndighet_contact`` (who the performer contacts at Myndighet),
  ``performer_communication`` (how handler and performer communicate, §5.9, §5.12, `001` §5.3.3).
- protection in practice (`001` §5.3.3 p. 1): ``home_visits``, ``outings``, ``photography``,
  ``acute_situations``, ``key_handling`` (§8.4), ``safety_alarm`` + ``safety_alarm_by_phone``
  (§9.4: by phone, never LarmApp), ``chilled_food`` + ``food_delivery_note`` (`004`),
  ``no_subcontractors`` (§8.8), ``private_funds`` + ``private_funds_note`` (§8.9), ``samsa``
  (``not_registered`` | ``removal_requested``, §3.6), ``practice_note``.
- follow-up: ``next_follow_up``, ``copy_offered`` (§7.3), ``version``, ``version_date``,
  ``filled_in_by`` (§5.12).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from flask import current_app
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from .. import rules
from ..clock import today as today_in_sweden
from ..i18n import N_, _l
from .base import FormSpec

DATE_MSG = N_("Ange datumet som ÅÅÅÅ-MM-DD.")

PROTECTION_KINDS = [
    ("skyddad_folkbokforing", "Skyddad folkbokföring (§1.1)"),
    ("sekretessmarkering", "Sekretessmarkering (§1.2)"),
    ("lokalt_skydd", "Lokalt skydd i avvaktan på Skatteverkets beslut (§1.3)"),
]
YES_NO = [("yes", "Ja"), ("no", "Nej")]
POST_ROUTES = [
    ("forwarding_service", "Via Skatteverkets förmedlingsuppdrag (§3.1)"),
    ("special_address", "Till en särskild förmedlingsadress som Skatteverket meddelat (§3.1)"),
    (
        "own_address",
        "Till en adress som myndigheten har, med den enskildes godkännande "
        "(inte vid skyddad folkbokföring)",
    ),
]
SAMSA_CHOICES = [
    ("not_registered", "Inte registrerad i SAMSA – registreras inte (§3.6)"),
    ("removal_requested", "Fanns i SAMSA – LVS för SAMSA har ombetts ta bort uppgifterna (§3.6)"),
]

Kind = Literal["text", "bool", "date", "choice", "int"]

# The contract: every field in form order with the kind of its value in `data` (see the docstring).
SCHEMA: dict[str, Kind] = {
    "case_number": "text",
    "protection_kind": "choice",
    "local_protection_until": "date",
    "skatteverket_decision_date": "date",
    "threat_picture": "text",
    "protected_from_relatives": "bool",
    "protected_from_former_partner": "bool",
    "protected_from_note": "text",
    "children_in_household": "choice",
    "children_note": "text",
    "info_handling": "bool",
    "info_handling_date": "date",
    "info_own_responsibility": "bool",
    "info_own_responsibility_date": "date",
    "info_no_anonymity": "bool",
    "info_no_anonymity_date": "date",
    "info_care_meaning": "bool",
    "info_care_meaning_date": "date",
    "info_documented": "bool",
    "info_documented_date": "date",
    "fictional_name_agreed": "choice",
    "fictional_name": "text",
    "post_route": "choice",
    "post_note": "text",
    "digital_mailbox": "choice",
    "email_agreed": "choice",
    "email_client_wants": "bool",
    "email_risks_explained": "bool",
    "email_encrypted": "bool",
    "phone_call_back": "bool",
    "phone_code": "text",
    "visit_identity_check": "bool",
    "communication_note": "text",
    "consent_performer": "bool",
    "consent_health_care": "bool",
    "consent_relatives": "bool",
    "consent_others": "bool",
    "consent_others_text": "text",
    "myndighet_contact": "text",
    "performer_communication": "text",
    "home_visits": "text",
    "outings": "text",
    "photography": "text",
    "acute_situations": "text",
    "key_handling": "text",
    "safety_alarm": "bool",
    "safety_alarm_by_phone": "bool",
    "chilled_food": "bool",
    "food_delivery_note": "text",
    "no_subcontractors": "bool",
    "private_funds": "bool",
    "private_funds_note": "text",
    "samsa": "choice",
    "practice_note": "text",
    "next_follow_up": "date",
    "copy_offered": "bool",
    "version": "int",
    "version_date": "date",
    "filled_in_by": "text",
}

CHOICES: dict[str, list[tuple[str, str]]] = {
    "protection_kind": PROTECTION_KINDS,
    "children_in_household": YES_NO,
    "fictional_name_agreed": YES_NO,
    "post_route": POST_ROUTES,
    "digital_mailbox": YES_NO,
    "email_agreed": YES_NO,
    "samsa": SAMSA_CHOICES,
}

# Each piece of information given to the client: the tick and its date (§5.3).
INFO_ITEMS = (
    "info_handling",
    "info_own_responsibility",
    "info_no_anonymity",
    "info_care_meaning",
    "info_documented",
)


LINE_CAP_MESSAGE = N_("Högst %(n)s rader. Skriv kortare, eller slå ihop rader.")


def line_cap(max_chars: int) -> int:
    """Most lines in a text area of ``max_chars`` (L7): a line per 100 characters, about a printed
    line, so a field of line breaks prints no longer than one full of words, and the fullest
    checklist stays within some eight pages (4000 -> 40, 2000 -> 20, 1000 -> 10)."""
    return max(1, max_chars // 100)


def clean_text(value: str) -> str:
    """A text value in its one shape: NFC, lines split as str.splitlines does (CRLF, CR, …), every
    run of white space in a line one space (tabs, non-breaking spaces), no space at a line's ends,
    no blank lines first or last. A paste through another system cannot change more than this."""
    lines = [" ".join(line.split()) for line in unicodedata.normalize("NFC", value).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


class MaxLines:
    """At most ``n`` lines (L7: a text area of line breaks alone printed for pages and seconds)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, str) and len(field.data.splitlines()) > self.n:
            raise ValidationError(
                _("Skriv på en rad.") if self.n == 1 else _(LINE_CAP_MESSAGE, n=self.n)
            )


def _max(n: int) -> list[Any]:
    """A one-line field: at most ``n`` characters, on one line."""
    return [Length(max=n, message=_l("Högst %(n)s tecken.", n=n)), MaxLines(1)]


def _text(label: str, n: int = 2000) -> TextAreaField:
    """A text area: at most ``n`` characters and line_cap(n) lines."""
    length = Length(max=n, message=_l("Högst %(n)s tecken.", n=n))
    return TextAreaField(label, validators=[length, MaxLines(line_cap(n))])


class IsoDateField(DateField):
    """A date as YYYY-MM-DD, with the portal's own Swedish message when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_(DATE_MSG)) from error


def _date(label: str) -> IsoDateField:
    return IsoDateField(
        label, validators=[Optional()], format="%Y-%m-%d", render_kw={"type": "date"}
    )


def _radio(label: str, key: str) -> RadioField:
    # validate_choice off: the rule below says what is missing, in Swedish (R-REQUIRED).
    return RadioField(label, choices=CHOICES[key], validate_choice=False)


class ChecklistForm(FlaskForm):
    """Checklista vid ärenden med skyddade personuppgifter: one field per point of the checklist."""

    case_number = StringField(_l("Ärendenummer i Treserva (frivilligt)"), validators=_max(32))

    protection_kind = _radio(_l("Vilken typ av skydd har den enskilde?"), "protection_kind")
    local_protection_until = _date(_l("Lokalt skydd gäller till och med"))
    skatteverket_decision_date = _date(_l("Datum för Skatteverkets beslut (om känt)"))

    threat_picture = _text(_l("Hotbild, så som ni kommit överens om att dokumentera den"), 4000)
    protected_from_relatives = BooleanField(_l("Skyddet gäller även mot anhöriga"))
    protected_from_former_partner = BooleanField(_l("Skyddet gäller även mot tidigare partner"))
    protected_from_note = _text(
        _l("Mot vem skyddet gäller (utan namn och adress om möjligt)"), 1000
    )
    children_in_household = _radio(_l("Finns det barn i hushållet?"), "children_in_household")
    children_note = _text(_l("Om barnen"), 1000)

    info_handling = BooleanField(
        _l("Hur ärenden för personer med skyddade personuppgifter hanteras")
    )
    info_handling_date = _date(_l("Datum"))
    info_own_responsibility = BooleanField(
        _l("Eget ansvar att själv berätta om skyddet för myndigheter, organisationer och företag")
    )
    info_own_responsibility_date = _date(_l("Datum"))
    info_no_anonymity = BooleanField(_l("Ingen rätt till anonymitet i det egna ärendet"))
    info_no_anonymity_date = _date(_l("Datum"))
    info_care_meaning = BooleanField(
        _l("Vad skyddet innebär i hemtjänst eller på vård- och omsorgsboende")
    )
    info_care_meaning_date = _date(_l("Datum"))
    info_documented = BooleanField(_l("Att informationen getts är dokumenterat i journalen"))
    info_documented_date = _date(_l("Datum"))

    fictional_name_agreed = _radio(
        _l("Har ni kommit överens om ett fiktivt namn?"), "fictional_name_agreed"
    )
    fictional_name = StringField(_l("Fiktivt namn"), validators=_max(120))

    post_route = _radio(_l("Post till den enskilde skickas"), "post_route")
    post_note = _text(_l("Övrigt om post (skriv aldrig bostadsadressen)"), 1000)
    digital_mailbox = _radio(
        _l("Har den enskilde en digital brevlåda (Mina meddelanden)?"), "digital_mailbox"
    )
    email_agreed = _radio(_l("Får e-post användas?"), "email_agreed")
    email_client_wants = BooleanField(_l("Den enskilde vill själv att e-post används"))
    email_risks_explained = BooleanField(_l("Riskerna med e-post är förklarade"))
    email_encrypted = BooleanField(_l("E-post krypteras alltid, inga personuppgifter i ämnesraden"))
    phone_call_back = BooleanField(
        _l(
            "Telefon: vi ringer alltid tillbaka och kontrollerar vem som ringer innan något lämnas "
            "ut"
        )
    )
    phone_code = StringField(_l("Överenskommen telefonkod"), validators=_max(60))
    visit_identity_check = BooleanField(_l("Besök: identiteten kontrolleras med legitimation"))
    communication_note = _text(_l("Övrigt om kommunikationen"), 2000)

    consent_performer = BooleanField(_l("Utföraren (hemtjänst, boende, Trygghetsjouren)"))
    consent_health_care = BooleanField(_l("Hälso- och sjukvården"))
    consent_relatives = BooleanField(_l("Anhöriga"))
    consent_others = BooleanField(_l("Andra"))
    consent_others_text = StringField(_l("Vilka andra"), validators=_max(500))

    myndighet_contact = _text(_l("Utförarens kontakt på Myndighet"), 1000)
    performer_communication = _text(
        _l("Så kommunicerar handläggare och utförare med varandra"), 2000
    )

    home_visits = _text(_l("Besök i hemmet"), 2000)
    outings = _text(_l("Utflykter och aktiviteter utanför hemmet"), 2000)
    photography = _text("Fotografering", 1000)
    acute_situations = _text(_l("Agerande vid akuta situationer"), 2000)
    key_handling = _text("Nycklar", 1000)
    safety_alarm = BooleanField(_l("Den enskilde har eller ska få trygghetslarm"))
    safety_alarm_by_phone = BooleanField(
        _l(
            "Larm ringes alltid ut via telefon till den som ska åtgärda larmet, aldrig via "
            "LarmAppen"
        )
    )
    chilled_food = BooleanField(_l("Matleverans som kyld mat"))
    food_delivery_note = _text(_l("Så levereras maten"), 1000)
    no_subcontractors = BooleanField(
        _l("Inga underleverantörer: alla insatser utförs av egen personal")
    )
    private_funds = BooleanField(
        _l("Privata medel hanteras (planering enligt rutinen 'Privata medel')")
    )
    private_funds_note = _text(_l("Om privata medel"), 1000)
    samsa = _radio("SAMSA", "samsa")
    practice_note = _text(_l("Övriga överenskommelser"), 2000)

    next_follow_up = _date(_l("Nästa uppföljning av checklistan"))
    copy_offered = BooleanField(_l("Den enskilde har erbjudits en kopia av checklistan"))
    version = StringField("Versionsnummer", validators=_max(6), render_kw={"inputmode": "numeric"})
    version_date = _date(_l("Versionens datum"))
    filled_in_by = StringField(_l("Ifylld av"), validators=_max(120))


# --- form <-> data ------------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


def to_data(form: ChecklistForm) -> dict[str, Any]:
    """The form as plain JSON values, in SCHEMA order (dates ISO, ticks bool, choices str)."""
    data: dict[str, Any] = {}
    for name, kind in SCHEMA.items():
        value = form[name].data
        if kind == "text":  # one shape, so that the assignment text reads back exactly
            data[name] = clean_text(value or "")
        elif kind == "bool":
            data[name] = bool(value)
        elif kind == "date":
            data[name] = _iso(value)
        elif kind == "choice":
            data[name] = value or ""
        else:
            data[name] = _int(value)
    if data["protection_kind"] != "lokalt_skydd":
        data["local_protection_until"] = None  # only lokalt skydd has an end date (§1.3)
    return data


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as values for ``ChecklistForm(formdata=None, **values)`` (dates as ``date``)."""
    values: dict[str, Any] = {}
    for name, kind in SCHEMA.items():
        value = data.get(name)
        if kind == "date":
            values[name] = _day(value)
        elif kind == "int":
            values[name] = "" if value is None else str(value)
        else:
            values[name] = value
    return values


# --- the rules ----------------------------------------------------------------------------------


def _required(field: str, message: str) -> rules.Violation:
    return rules.Violation("R-REQUIRED", field, message)


def check_checklist(
    data: Mapping[str, Any], today: date, case_number_pattern: str = r"\d{7}"
) -> list[rules.Violation]:
    """Every rule of the checklist, on plain values (no Flask): required answers, lokalt skydd at
    most three months (§1.3), no future dates, a date for each piece of information given (§5.3),
    e-mail only on the client's terms (§3.2), alarm by phone (§9.4), a follow-up date (§5.12)."""
    out: list[rules.Violation] = []
    get = data.get
    if get("case_number"):
        out += rules.check_case_number(get("case_number"), "case_number", case_number_pattern)

    # Kind of protection (§1.1–1.3).
    kind = get("protection_kind")
    if kind not in dict(PROTECTION_KINDS):
        out.append(_required("protection_kind", "Välj vilken typ av skydd den enskilde har."))
    if kind == "lokalt_skydd":
        until = _day(get("local_protection_until"))
        limit = rules.add_months(today, 3)
        if until is None:
            out.append(
                rules.Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    "Ange till vilket datum det lokala skyddet gäller.",
                )
            )
        elif until <= today:
            out.append(
                rules.Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    "Det lokala skyddet måste gälla efter dagens datum. Har "
                    "Skatteverket beslutat? Välj då den typen av skydd.",
                )
            )
        elif until > limit:
            out.append(
                rules.Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    "Lokalt skydd gäller högst tre månader (§1.3). Sista "
                    f"möjliga datum är {limit.isoformat()}.",
                )
            )
    out += rules.check_date_not_future(
        _day(get("skatteverket_decision_date")), today, "skatteverket_decision_date"
    )

    # Threat picture (§5.9, `001` §5.2).
    if not str(get("threat_picture") or "").strip():
        out.append(
            _required(
                "threat_picture",
                "Beskriv hotbilden så som ni kommit överens om att dokumentera den, "
                "eller skriv att den enskilde inte vill att den dokumenteras.",
            )
        )
    if get("children_in_household") not in ("yes", "no"):
        out.append(_required("children_in_household", "Svara på om det finns barn i hushållet."))

    # Information given: each tick has its date, each date its tick (§5.3).
    for item in INFO_ITEMS:
        ticked, day = bool(get(item)), _day(get(f"{item}_date"))
        if ticked and day is None:
            out.append(_required(f"{item}_date", "Ange datum då informationen gavs."))
        elif day is not None and not ticked:
            out.append(
                _required(item, "Kryssa i rutan om informationen har getts, eller ta bort datumet.")
            )
        out += rules.check_date_not_future(day, today, f"{item}_date")

    # Fictional name (§7.5, §8.2).
    agreed = get("fictional_name_agreed")
    if agreed not in ("yes", "no"):
        out.append(
            _required("fictional_name_agreed", "Svara på om ni kommit överens om ett fiktivt namn.")
        )
    if agreed == "yes" and not str(get("fictional_name") or "").strip():
        out.append(_required("fictional_name", "Skriv det fiktiva namnet."))
    out += rules.check_note_text(str(get("fictional_name") or ""), "fictional_name")

    # Communication (§3.1–3.3, `001` §3.1, §3.5, §3.6).
    route = get("post_route")
    if route not in dict(POST_ROUTES):
        out.append(_required("post_route", "Välj hur post ska skickas till den enskilde."))
    elif route == "own_address" and kind == "skyddad_folkbokforing":
        out.append(
            rules.Violation(
                "R-CHECKLIST-POST",
                "post_route",
                "Vid skyddad folkbokföring skickas post via Skatteverket "
                "(förmedlingsuppdrag eller särskild förmedlingsadress, §3.1).",
            )
        )
    if get("digital_mailbox") not in ("yes", "no"):
        out.append(
            _required("digital_mailbox", "Svara på om den enskilde har en digital brevlåda.")
        )
    email = get("email_agreed")
    if email not in ("yes", "no"):
        out.append(_required("email_agreed", "Svara på om e-post får användas."))
    elif email == "yes":
        for name, text in (
            ("email_client_wants", "E-post får bara användas om den enskilde själv vill (§3.2)."),
            ("email_risks_explained", "Berätta om riskerna med e-post innan den används (§3.2)."),
            ("email_encrypted", "E-post till den enskilde ska alltid krypteras (§3.2)."),
        ):
            if not get(name):
                out.append(rules.Violation("R-CHECKLIST-EMAIL", name, text))

    # Consent to pass information on (`004`, §7.4).
    if get("consent_others") and not str(get("consent_others_text") or "").strip():
        out.append(_required("consent_others_text", "Skriv vilka andra samtycket gäller."))

    # Protection in practice.
    if get("safety_alarm") and not get("safety_alarm_by_phone"):
        out.append(
            rules.Violation(
                "R-CHECKLIST-ALARM",
                "safety_alarm_by_phone",
                "Larm från personer med skyddade personuppgifter ringes alltid "
                "ut via telefon, aldrig via LarmAppen (§9.4). Kryssa i rutan "
                "när det är överenskommet.",
            )
        )
    if get("samsa") not in dict(SAMSA_CHOICES):
        out.append(_required("samsa", "Svara på hur det är med SAMSA (§3.6)."))

    # Follow-up and version (§5.12).
    version_day = _day(get("version_date"))
    version = get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        out.append(_required("version", "Ange versionsnumret, ett heltal från 1."))
    if version_day is None:
        out.append(_required("version_date", "Ange versionens datum."))
    out += rules.check_date_not_future(version_day, today, "version_date")
    follow_up = _day(get("next_follow_up"))
    if follow_up is None:
        out.append(
            _required("next_follow_up", "Ange när checklistan ska följas upp nästa gång (§5.12).")
        )
    elif follow_up <= max(today, version_day or today):
        out.append(
            rules.Violation(
                "R-CHECKLIST-FOLLOWUP",
                "next_follow_up",
                "Nästa uppföljning måste ligga efter dagens datum.",
            )
        )
    elif kind == "lokalt_skydd":
        until = _day(get("local_protection_until"))
        if until is not None and follow_up > until:
            out.append(
                rules.Violation(
                    "R-CHECKLIST-FOLLOWUP",
                    "next_follow_up",
                    f"Följ upp senast när det lokala skyddet upphör ({until.isoformat()}, §1.3).",
                )
            )
    if not str(get("filled_in_by") or "").strip():
        out.append(_required("filled_in_by", "Skriv vem som fyllde i checklistan."))
    return list(dict.fromkeys(out))


def check(data: dict[str, Any], user: Any, day: date) -> list[rules.Violation]:
    return check_checklist(data, day, current_app.config["CASE_NUMBER_PATTERN"])


def subject(data: dict[str, Any]) -> str:
    """The heading of the text for the assignment document: version number only, never a name."""
    return f"Checklista skyddade personuppgifter, version {data.get('version') or 1}"


def prefill(form: ChecklistForm, user: Any) -> None:
    form.version.data = "1"
    form.version_date.data = today_in_sweden()
    form.filled_in_by.data = user.full_name


# --- the text for the assignment document, and reading it back (§5.9, §5.12) -------------------
#
# The checklist never travels as a file (routine 2021 §2): the next version starts from the text
# the portal gave for the assignment document, copied out of Treserva and pasted back. The format
# is the portal's own, written and read through the one table below, so the two cannot drift:
#
#     * TYP AV SKYDD                          a heading (only for the reader)
#     * Typ av skydd: Skyddad folkbokföring   a field: its label, a colon, its value
#     * Hotbild: first line of the text       a text's first line on the label line ...
#     | second line                           ... and each further line after a bar
#
# A line that starts with neither "*" nor "|" continues the line above (a paste that wrapped a long
# line), so wrapping, indentation, trailing or non-breaking spaces, tabs, CRLF and blank lines do
# not change what is read. In values every "*" and "|" is written twice, so a wrapped value can
# never look like the start of a line. Text values are kept in one canonical shape (clean_text)
# by to_data, which makes parse_text(assignment_text(data)) == data exact.

START = "BÖRJAN PÅ CHECKLISTAN (Skyddsportalen)"
END = "SLUT PÅ CHECKLISTAN"
TITLE = re.compile(r"checklista skyddade personuppgifter, version \d{0,6}|skyddade personuppgifter")

# (heading, ((label, field), ...)) in SCHEMA order. Labels never hold a colon.
TEXT_LAYOUT: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("ÄRENDE", (("Ärendenummer", "case_number"),)),
    (
        "TYP AV SKYDD",
        (
            ("Typ av skydd", "protection_kind"),
            ("Lokalt skydd gäller till och med", "local_protection_until"),
            ("Datum för Skatteverkets beslut", "skatteverket_decision_date"),
        ),
    ),
    (
        "HOTBILD",
        (
            ("Hotbild", "threat_picture"),
            ("Skyddet gäller även mot anhöriga", "protected_from_relatives"),
            ("Skyddet gäller även mot tidigare partner", "protected_from_former_partner"),
            ("Mot vem skyddet gäller", "protected_from_note"),
            ("Barn i hushållet", "children_in_household"),
            ("Om barnen", "children_note"),
        ),
    ),
    (
        "INFORMATION SOM DEN ENSKILDE HAR FÅTT",
        (
            ("Hur ärenden med skyddade personuppgifter hanteras", "info_handling"),
            ("Hur ärenden med skyddade personuppgifter hanteras, datum", "info_handling_date"),
            (
                "Eget ansvar att berätta om skyddet för myndigheter och företag",
                "info_own_responsibility",
            ),
            (
                "Eget ansvar att berätta om skyddet för myndigheter och företag, datum",
                "info_own_responsibility_date",
            ),
            ("Ingen rätt till anonymitet i det egna ärendet", "info_no_anonymity"),
            ("Ingen rätt till anonymitet i det egna ärendet, datum", "info_no_anonymity_date"),
            ("Vad skyddet innebär i hemtjänst eller på boende", "info_care_meaning"),
            ("Vad skyddet innebär i hemtjänst eller på boende, datum", "info_care_meaning_date"),
            ("Dokumenterat i journalen", "info_documented"),
            ("Dokumenterat i journalen, datum", "info_documented_date"),
        ),
    ),
    (
        "FIKTIVT NAMN",
        (
            ("Fiktivt namn överenskommet", "fictional_name_agreed"),
            ("Fiktivt namn (på akter, mappar, dörr, postfack, nyckelskåp)", "fictional_name"),
        ),
    ),
    (
        "KOMMUNIKATION MED DEN ENSKILDE",
        (
            ("Post skickas", "post_route"),
            ("Övrigt om post", "post_note"),
            ("Digital brevlåda (Mina meddelanden)", "digital_mailbox"),
            ("E-post får användas", "email_agreed"),
            ("Den enskilde vill själv att e-post används", "email_client_wants"),
            ("Riskerna med e-post är förklarade", "email_risks_explained"),
            ("E-post krypteras alltid, inga personuppgifter i ämnesraden", "email_encrypted"),
            (
                "Telefon, vi ringer alltid tillbaka och kontrollerar vem som ringer",
                "phone_call_back",
            ),
            ("Överenskommen telefonkod", "phone_code"),
            ("Besök, identiteten kontrolleras med legitimation", "visit_identity_check"),
            ("Övrigt om kommunikationen", "communication_note"),
        ),
    ),
    (
        "SAMTYCKE ATT LÄMNA UPPGIFTER TILL",
        (
            ("Samtycke, utföraren (hemtjänst, boende, Trygghetsjouren)", "consent_performer"),
            ("Samtycke, hälso- och sjukvården", "consent_health_care"),
            ("Samtycke, anhöriga", "consent_relatives"),
            ("Samtycke, andra", "consent_others"),
            ("Vilka andra", "consent_others_text"),
        ),
    ),
    (
        "KONTAKT MELLAN MYNDIGHET OCH UTFÖRARE",
        (
            ("Utförarens kontakt på Myndighet", "myndighet_contact"),
            ("Så kommunicerar handläggare och utförare", "performer_communication"),
        ),
    ),
    (
        "SKYDDET I PRAKTIKEN",
        (
            ("Besök i hemmet", "home_visits"),
            ("Utflykter och aktiviteter utanför hemmet", "outings"),
            ("Fotografering", "photography"),
            ("Agerande vid akuta situationer", "acute_situations"),
            ("Nycklar", "key_handling"),
            ("Trygghetslarm", "safety_alarm"),
            ("Larm ringes alltid ut via telefon, aldrig via LarmAppen", "safety_alarm_by_phone"),
            ("Matleverans som kyld mat", "chilled_food"),
            ("Så levereras maten", "food_delivery_note"),
            ("Inga underleverantörer, alla insatser utförs av egen personal", "no_subcontractors"),
            ("Privata medel hanteras enligt rutinen Privata medel", "private_funds"),
            ("Om privata medel", "private_funds_note"),
            ("SAMSA", "samsa"),
            ("Övriga överenskommelser", "practice_note"),
        ),
    ),
    (
        "UPPFÖLJNING OCH VERSION",
        (
            ("Nästa uppföljning", "next_follow_up"),
            ("Den enskilde har erbjudits en kopia", "copy_offered"),
            ("Version", "version"),
            ("Versionens datum", "version_date"),
            ("Ifylld av", "filled_in_by"),
        ),
    ),
)
TEXT_LINES: tuple[tuple[str, str], ...] = tuple(line for _, lines in TEXT_LAYOUT for line in lines)
LABELS: dict[str, str] = {name: label for label, name in TEXT_LINES}
_YES, _NO = "Ja", "Nej"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})


def _key(text: str) -> str:
    """How a label, heading or answer is recognised: case, width, dashes and spacing aside."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_DASHES).casefold().split())


def _escape(text: str) -> str:
    return text.replace("*", "**").replace("|", "||")


def _unescape(text: str) -> str:
    return text.replace("**", "*").replace("||", "|")


def _shown(name: str, value: Any) -> str:
    """A field's value as written after its label (the first line only, for a text)."""
    kind = SCHEMA[name]
    if kind == "bool":
        return _YES if value else _NO
    if kind == "choice":
        return dict(CHOICES[name]).get(value, "") if value else ""
    if kind == "int":
        return "" if value is None else str(value)
    return _escape(str(value or ""))


def assignment_text(data: Mapping[str, Any]) -> str:
    """The text for the assignment document (uppdragsdokument, §5.9): every field, always, in the
    order of TEXT_LAYOUT. parse_text reads it back."""
    out = ["SKYDDADE PERSONUPPGIFTER", f"* {START}"]
    for heading, lines in TEXT_LAYOUT:
        out += ["", f"* {heading}"]
        for label, name in lines:
            value = data.get(name)
            if SCHEMA[name] == "text":
                first, *rest = clean_text(str(value or "")).split("\n")
                out.append(f"* {label}: {_escape(first)}".rstrip())
                out += [f"| {_escape(line)}".rstrip() for line in rest]
            else:
                out.append(f"* {label}: {_shown(name, value)}".rstrip())
    out += ["", f"* {END}"]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Problem:
    """A line of a pasted text that was not read: its number (None for a line that is missing),
    and what is wrong, as a message template (MSG_*) translated where it is shown."""

    line: int | None
    template: str
    label: str = ""

    @property
    def message(self) -> str:
        return _(self.template, line=self.line, label=self.label)


@dataclass
class Parsed:
    data: dict[str, Any]  # only the fields that were read
    problems: list[Problem]


MSG_UNKNOWN = N_("Rad %(line)s känns inte igen och har inte lästs in.")
MSG_BROKEN = N_("Rad %(line)s (%(label)s): svaret går inte att läsa och har inte fyllts i.")
MSG_TWICE = N_(
    "Rad %(line)s (%(label)s): uppgiften står flera gånger i texten och har inte fyllts i."
)
MSG_STRAY = N_("Rad %(line)s hör inte till någon textruta och har inte lästs in.")
MSG_ABSENT = N_("%(label)s: raden saknas i texten, uppgiften har inte fyllts i.")


def _value(name: str, text: str) -> tuple[bool, Any]:
    """(read, value) for the text after a field's label."""
    kind = SCHEMA[name]
    if kind == "text":
        return True, clean_text(text)
    text = " ".join(text.split())
    if kind == "bool":
        answer = {_key(_YES): True, _key(_NO): False}.get(_key(text))
        return answer is not None, answer
    if kind == "choice":
        if not text:
            return True, ""
        codes = {_key(label): code for code, label in CHOICES[name]}
        return _key(text) in codes, codes.get(_key(text))
    if kind == "date":
        if not text:
            return True, None
        day = _day(text) if _ISO_DAY.fullmatch(text) else None
        return day is not None, text if day else None
    if not text:
        return True, None
    number = _int(text)
    return number is not None, number


def _records(text: str) -> list[tuple[int, str, str]]:
    """(first line number, mark "*" or "|" or "", content) per logical line: a marked line with
    the unmarked lines that continue it joined by one space; an unmarked line with nothing above
    it (text before the checklist) stands alone with mark "". Linear: parts are joined once."""
    records: list[tuple[int, str, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        mark = line[0] if line[0] in "*|" and not line.startswith(("**", "||")) else ""
        if mark:
            records.append((number, mark, [line[1:].strip()]))
        elif records and records[-1][1]:
            records[-1][2].append(line)
        else:
            records.append((number, "", [line]))
    return [(number, mark, " ".join(p for p in parts if p)) for number, mark, parts in records]


def parse_text(text: str) -> Parsed:
    """The checklist in a pasted assignment-document text: every field that reads exactly, and a
    problem for every line that does not (never a guess). Linear in the text's length."""
    by_label = {_key(label): name for label, name in TEXT_LINES}
    headings = {_key(heading) for heading, _ in TEXT_LAYOUT}
    records = _records(text)
    start, end = _key(START), _key(END)
    starts = [
        i for i, (_, mark, content) in enumerate(records) if mark == "*" and _key(content) == start
    ]
    if starts:
        records = records[starts[0] + 1 :]
    data: dict[str, Any] = {}
    more: dict[str, list[str]] = {}  # a text's further lines, joined once at the end
    seen: dict[str, int] = {}
    twice: set[str] = set()
    problems: list[Problem] = []
    # The text field that "|" lines continue; "" when they belong to a line already reported.
    current: str | None = None
    for number, mark, content in records:
        if mark == "|":
            if current is None:
                problems.append(Problem(number, MSG_STRAY))
                current = ""
            elif current in data:
                more.setdefault(current, []).append(_unescape(content))
            continue
        current = None
        if mark == "":
            if not TITLE.fullmatch(_key(content)):
                problems.append(Problem(number, MSG_UNKNOWN))
            continue
        if _key(content) == end:
            break
        label, colon, rest = content.partition(":")
        name = by_label.get(_key(label)) if colon else None
        if name is None:
            if colon or _key(content) not in headings:
                problems.append(Problem(number, MSG_UNKNOWN))
                current = ""
            continue
        if name in seen:
            twice.add(name)
            problems.append(Problem(number, MSG_TWICE, LABELS[name]))
            current = ""
            continue
        seen[name] = number
        read, value = _value(name, _unescape(rest))
        if not read:
            problems.append(Problem(number, MSG_BROKEN, LABELS[name]))
            continue
        data[name] = value
        current = name if SCHEMA[name] == "text" else None
    for name, lines in more.items():
        data[name] = clean_text("\n".join([data[name], *lines]))
    for name in twice:
        data.pop(name, None)
    if seen:
        problems += [
            Problem(None, MSG_ABSENT, label) for label, name in TEXT_LINES if name not in seen
        ]
    return Parsed(data={name: data[name] for name in SCHEMA if name in data}, problems=problems)


class ImportRefused(Exception):
    """A pasted text that cannot start a checklist: ``reason`` for the audit log (no content),
    ``message`` in Swedish for the user, at the text field."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


MSG_MISSING = N_("Klistra in checklistans text från uppdragsdokumentet.")
MSG_TOO_LARGE = N_(
    "Texten är längre än %(kb)s kB. En checklista från Skyddsportalen är mycket kortare – "
    "kopiera bara checklistans text ur uppdragsdokumentet."
)
MSG_NO_CHECKLIST = N_(
    "Texten innehåller ingen checklista från Skyddsportalen. Kopiera checklistans text ur "
    "uppdragsdokumentet i Treserva, från raden ”BÖRJAN PÅ CHECKLISTAN” till ”SLUT PÅ "
    "CHECKLISTAN”, eller fyll i checklistan på nytt."
)


def read_text(text: str, max_bytes: int) -> Parsed:
    """The pasted text of an earlier version, judged before anything of it is read: at most
    ``max_bytes`` in UTF-8, and at least one field of the checklist in it."""
    if len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes:
        raise ImportRefused("too_large", _(MSG_TOO_LARGE, kb=max_bytes // 1024))
    if not text.strip():
        raise ImportRefused("missing", _(MSG_MISSING))
    parsed = parse_text(text)
    if not parsed.data:
        raise ImportRefused("no_checklist", _(MSG_NO_CHECKLIST))
    return parsed


@dataclass
class Restored:
    form: ChecklistForm
    previous_version: int | None


def restore(data: Mapping[str, Any], user: Any, day: date) -> Restored:
    """The form for the next version: every field as it was, the version raised by one, dated
    today and filled in by the current user (§5.12). A version that could not be read stays
    empty for the user to fill in, never guessed."""
    previous = data.get("version") if isinstance(data.get("version"), int) else None
    values = form_values(data)
    values["version"] = "" if previous is None else str(previous + 1)
    values["version_date"] = day
    values["filled_in_by"] = user.full_name
    return Restored(ChecklistForm(formdata=None, **values), previous)


SPEC = FormSpec(
    key="checklist",
    slug="checklist",
    title="Checklista vid ärenden med skyddade personuppgifter",
    form_class=ChecklistForm,
    submit_roles=frozenset({"social_secretary"}),
    process_roles=frozenset(),
    storage="none",
    distribution_list="assignment_document",
    to_data=to_data,
    check=check,
    subject=subject,
    page_template="forms/checklist.html",
    message_template="messages/checklist.txt",
    pdf_template="checklist.html",
    blank_template="blank_checklist.html",
    case_number=lambda data: data.get("case_number") or None,
    prefill=prefill,
    result_template="forms/checklist_result.html",
    # For the locked paper file: no embedded data (H2), the default PDF/UA-1 (tagged for screen
    # readers), shown in the browser to print rather than saved as a file.
    extra={"pdf_disposition": "inline"},
)
