"""Checklista vid ärenden med skyddade personuppgifter (§3, §5.3, §5.5, §5.9, §5.11, §5.12; 2021
routine `001` §3.5–3.7, §5.2–5.3.3).

The social secretary fills it in together with the client (§5.3), prints it for the locked physical
file (§5.5), pastes its text into the assignment document (uppdragsdokument, §5.9), goes through it
at the planning meeting (§5.11) and updates it at every follow-up (§5.12); the client is offered a
copy (§7.3).

**Nothing of it is stored on the server** (storage "none"). The PDF carries the form's data as an
embedded JSON file, signed with HMAC-SHA256 under a key derived from the app's SECRET_KEY, so that
uploading the PDF of an earlier version (``POST /forms/checklist/import``) restores the form for the
next version. The audit log gets only who made or imported which version number, and when. (A new
SECRET_KEY makes earlier PDFs unreadable for the import; their printed text stays valid.) The PDF
is the renderer's default PDF/UA-1 (tagged, for screen readers); the attachment survives in it, as
it would in PDF/A-3a or -3b.

Field names (HTML names, JSON keys in the attachment, keys of ``data``), by section:

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

import hashlib
import hmac
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from flask import current_app
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from .. import audit, rules
from ..extensions import db
from ..i18n import N_, _l
from .base import FormSpec
from .base import today as today_in_sweden

log = logging.getLogger(__name__)

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


def _max(n: int) -> Length:
    return Length(max=n, message=_l("Högst %(n)s tecken.", n=n))


def _text(label: str, n: int = 2000) -> TextAreaField:
    return TextAreaField(label, validators=[_max(n)])


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

    case_number = StringField(_l("Ärendenummer i Treserva (frivilligt)"), validators=[_max(32)])

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
    fictional_name = StringField(_l("Fiktivt namn"), validators=[_max(120)])

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
    phone_code = StringField(_l("Överenskommen telefonkod"), validators=[_max(60)])
    visit_identity_check = BooleanField(_l("Besök: identiteten kontrolleras med legitimation"))
    communication_note = _text(_l("Övrigt om kommunikationen"), 2000)

    consent_performer = BooleanField(_l("Utföraren (hemtjänst, boende, Trygghetsjouren)"))
    consent_health_care = BooleanField(_l("Hälso- och sjukvården"))
    consent_relatives = BooleanField(_l("Anhöriga"))
    consent_others = BooleanField(_l("Andra"))
    consent_others_text = StringField(_l("Vilka andra"), validators=[_max(500)])

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
    version = StringField(
        "Versionsnummer", validators=[_max(6)], render_kw={"inputmode": "numeric"}
    )
    version_date = _date(_l("Versionens datum"))
    filled_in_by = StringField(_l("Ifylld av"), validators=[_max(120)])


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
        if kind == "text":  # browsers send CRLF from text areas; the PDF and the text want LF
            data[name] = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
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


# --- the signed attachment ----------------------------------------------------------------------

ATTACHMENT_NAME = "skyddsportalen-checklista.json"
ENVELOPE = "skyddsportalen-checklista"
FORMAT = 1
_KEY_LABEL = b"checklist-v1"
MAX_ATTACHMENT_BYTES = 256 * 1024  # the JSON of a full checklist is a few kilobytes


def _mac_key(secret_key: str | bytes) -> bytes:
    """A sub-key for this purpose only: HMAC(SECRET_KEY, "checklist-v1")."""
    key = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
    return hmac.new(key, _KEY_LABEL, hashlib.sha256).digest()


def seal(data: Mapping[str, Any], secret_key: str | bytes) -> bytes:
    """The attachment: the data as a JSON string and the HMAC-SHA256 of exactly those bytes."""
    payload = json.dumps(
        {"form": "checklist", "format": FORMAT, "data": dict(data)},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    mac = hmac.new(_mac_key(secret_key), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    envelope = {"envelope": ENVELOPE, "format": FORMAT, "payload": payload, "hmac_sha256": mac}
    return json.dumps(envelope, ensure_ascii=False, indent=1).encode("utf-8")


class ImportRefused(Exception):
    """An uploaded file that cannot restore a checklist: ``reason`` for the audit log (no
    content), ``message`` in Swedish for the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


MSG_MISSING = N_("Välj PDF-filen för den tidigare checklistan.")
MSG_TOO_LARGE = (
    "Filen är större än 5 MB. En checklista från Skyddsportalen är mycket mindre – "
    "kontrollera att du valt rätt fil."
)
MSG_NOT_PDF = "Filen är inte en PDF. Välj PDF-filen för en checklista som skapats i Skyddsportalen."
MSG_MALFORMED = N_("Filen går inte att läsa. Den kan vara skadad. Fyll i checklistan på nytt.")
MSG_FOREIGN = (
    "PDF-filen är inte en checklista från Skyddsportalen (checklistans uppgifter "
    "finns inte i filen). Fyll i checklistan på nytt."
)
MSG_ALTERED = (
    "Checklistans uppgifter i filen har ändrats efter att PDF:en skapades, eller så "
    "kommer filen från en annan portal. Den kan inte läsas in. Fyll i checklistan på "
    "nytt utifrån den utskrivna versionen."
)


def unseal(raw: bytes, secret_key: str | bytes) -> dict[str, Any]:
    """The data of a sealed attachment, after the HMAC is checked in constant time."""
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ImportRefused("altered", MSG_ALTERED) from error
    if not isinstance(envelope, dict) or envelope.get("envelope") != ENVELOPE:
        raise ImportRefused("foreign", MSG_FOREIGN)
    payload, mac = envelope.get("payload"), envelope.get("hmac_sha256")
    if not isinstance(payload, str) or not isinstance(mac, str):
        raise ImportRefused("altered", MSG_ALTERED)
    expected = hmac.new(_mac_key(secret_key), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("utf-8")):
        raise ImportRefused("altered", MSG_ALTERED)
    try:
        content = json.loads(payload)
    except ValueError as error:  # signed by us, so never; but refuse rather than crash
        raise ImportRefused("malformed", _(MSG_MALFORMED)) from error
    if (
        not isinstance(content, dict)
        or content.get("form") != "checklist"
        or content.get("format") != FORMAT
        or not isinstance(content.get("data"), dict)
    ):
        raise ImportRefused("malformed", _(MSG_MALFORMED))
    return _validated(content["data"])


def _validated(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every SCHEMA key with a value of its kind; anything else means the file is not usable."""
    out: dict[str, Any] = {}
    for name, kind in SCHEMA.items():
        value = data.get(name)
        ok = {
            "text": isinstance(value, str),
            "bool": isinstance(value, bool),
            "date": value is None or _day(value) is not None,
            "choice": isinstance(value, str),
            "int": value is None or (isinstance(value, int) and not isinstance(value, bool)),
        }[kind]
        if not ok:
            raise ImportRefused("malformed", _(MSG_MALFORMED))
        out[name] = value
    return out


def attachments(data: dict[str, Any]) -> list[Any]:
    """The PDF's embedded, signed data; called only when the checklist's PDF is made, so this is
    where that version is audited (who, when, version number, case number — no content)."""
    audit.record(
        "checklist_version",
        object_type="checklist",
        unit_id=current_user.unit_id,
        case_number=data.get("case_number") or None,
        detail=f"version {data.get('version')}",
    )
    db.session.commit()
    return [
        (
            ATTACHMENT_NAME,
            seal(data, current_app.config["SECRET_KEY"]),
            "Checklistans uppgifter, signerade, för nästa version (Skyddsportalen)",
        )
    ]


def read_pdf(raw: bytes, secret_key: str | bytes, max_bytes: int) -> dict[str, Any]:
    """The checklist data inside an uploaded PDF. Judges the content, never the file name."""
    if not raw:
        raise ImportRefused("missing", _(MSG_MISSING))
    if len(raw) > max_bytes:
        raise ImportRefused("too_large", MSG_TOO_LARGE)
    if b"%PDF-" not in raw[:1024]:
        raise ImportRefused("not_pdf", MSG_NOT_PDF)
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        found = [f.content for f in reader.attachment_list if f.name == ATTACHMENT_NAME]
    except Exception as error:  # noqa: BLE001 - any parser failure means a broken file
        log.info("checklist import: unreadable PDF (%s)", type(error).__name__)
        raise ImportRefused("malformed", _(MSG_MALFORMED)) from error
    if not found:
        raise ImportRefused("foreign", MSG_FOREIGN)
    if len(found) > 1 or len(found[0]) > MAX_ATTACHMENT_BYTES:
        raise ImportRefused("altered", MSG_ALTERED)
    return unseal(found[0], secret_key)


@dataclass
class Restored:
    form: ChecklistForm
    previous_version: int | None


def restore(data: Mapping[str, Any], user: Any, day: date) -> Restored:
    """The form for the next version: every field as it was, the version raised by one, dated
    today and filled in by the current user (§5.12)."""
    previous = data.get("version") if isinstance(data.get("version"), int) else None
    values = form_values(data)
    values["version"] = str((previous or 0) + 1)
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
    pdf_attachments=attachments,
    # PDF/A-3 is the standard made for embedded data files; level a keeps the tagging for
    # screen readers that PDF/UA gives the other forms.
    extra={"pdf_variant": "pdf/a-3a"},
)
