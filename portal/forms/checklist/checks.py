"""The checklist's rules, one function per section of the schema, on plain values (no Flask):
each takes ``data`` and today's date and returns its violations; ``check_checklist`` runs them
all, in the order of the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from ... import rules
from ...rules import N_, Violation
from .form import day
from .schema import CHOICES, FIELDS, INFO_ITEMS

Rule = Callable[[Mapping[str, Any], date], list[Violation]]


def _required(field: str, msgid: str) -> Violation:
    return Violation("R-REQUIRED", field, msgid)


def _text(data: Mapping[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()


def case(data: Mapping[str, Any], pattern: str) -> list[Violation]:
    """The case (ÄRENDE): the Treserva case number when given, the only identifier the portal
    may keep, in the configured form and never a personnummer (§2.2)."""
    if not data.get("case_number"):
        return []
    return rules.check_case_number(data["case_number"], "case_number", pattern)


def protection(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Kind of protection (§1.1–1.3): one of the three; lokalt skydd ends after today and within
    three months; Skatteverket's decision is not in the future."""
    out: list[Violation] = []
    kind = data.get("protection_kind")
    if kind not in dict(CHOICES["protection_kind"]):
        out.append(_required("protection_kind", N_("Välj vilken typ av skydd den enskilde har.")))
    if kind == "lokalt_skydd":
        until = day(data.get("local_protection_until"))
        limit = rules.add_months(today, 3)
        field = "local_protection_until"
        if until is None:
            msgid = N_("Ange till vilket datum det lokala skyddet gäller.")
            out.append(Violation("R-LOCAL-MAX", field, msgid))
        elif until <= today:
            msgid = N_(
                "Det lokala skyddet måste gälla efter dagens datum. Har Skatteverket beslutat? "
                "Välj då den typen av skydd."
            )
            out.append(Violation("R-LOCAL-MAX", field, msgid))
        elif until > limit:
            msgid = N_(
                "Lokalt skydd gäller högst tre månader (§1.3). Sista möjliga datum är %(date)s."
            )
            out.append(Violation("R-LOCAL-MAX", field, msgid, {"date": limit.isoformat()}))
    out += rules.check_date_not_future(
        day(data.get("skatteverket_decision_date")), today, "skatteverket_decision_date"
    )
    return out


def threat(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Threat picture (§5.9, `001` §5.2): written, or that the client wants none written; an
    answer on children in the household."""
    out: list[Violation] = []
    if not _text(data, "threat_picture"):
        msgid = N_(
            "Beskriv hotbilden så som ni kommit överens om att dokumentera den, eller skriv att "
            "den enskilde inte vill att den dokumenteras."
        )
        out.append(_required("threat_picture", msgid))
    if data.get("children_in_household") not in ("yes", "no"):
        msgid = N_("Svara på om det finns barn i hushållet.")
        out.append(_required("children_in_household", msgid))
    return out


def information(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Information given: each tick has its date, each date its tick, none in the future (§5.3)."""
    out: list[Violation] = []
    for item in INFO_ITEMS:
        ticked, given = bool(data.get(item)), day(data.get(f"{item}_date"))
        if ticked and given is None:  # the date's own message: which date, and its format
            out.append(_required(f"{item}_date", FIELDS[f"{item}_date"].message or ""))
        elif given is not None and not ticked:
            msgid = N_("Kryssa i rutan om informationen har getts, eller ta bort datumet.")
            out.append(_required(item, msgid))
        out += rules.check_date_not_future(given, today, f"{item}_date")
    return out


def fictional_name(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Fictional name (§7.5, §8.2): an answer, the name when agreed, never a personnummer."""
    out: list[Violation] = []
    agreed = data.get("fictional_name_agreed")
    if agreed not in ("yes", "no"):
        msgid = N_("Svara på om ni kommit överens om ett fiktivt namn.")
        out.append(_required("fictional_name_agreed", msgid))
    if agreed == "yes" and not _text(data, "fictional_name"):
        out.append(_required("fictional_name", N_("Skriv det fiktiva namnet.")))
    out += rules.check_note_text(str(data.get("fictional_name") or ""), "fictional_name")
    return out


_EMAIL_TERMS = (
    ("email_client_wants", N_("E-post får bara användas om den enskilde själv vill (§3.2).")),
    ("email_risks_explained", N_("Berätta om riskerna med e-post innan den används (§3.2).")),
    ("email_encrypted", N_("E-post till den enskilde ska alltid krypteras (§3.2).")),
)


def communication(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Communication (§3.1–3.3, `001` §3.1): a post route, never the authority's address with
    skyddad folkbokföring; answers on the digital mailbox and e-mail, e-mail only on the
    client's terms (§3.2)."""
    out: list[Violation] = []
    route = data.get("post_route")
    if route not in dict(CHOICES["post_route"]):
        out.append(_required("post_route", N_("Välj hur post ska skickas till den enskilde.")))
    elif route == "own_address" and data.get("protection_kind") == "skyddad_folkbokforing":
        msgid = N_(
            "Vid skyddad folkbokföring skickas post via Skatteverket (förmedlingsuppdrag eller "
            "särskild förmedlingsadress, §3.1)."
        )
        out.append(Violation("R-CHECKLIST-POST", "post_route", msgid))
    if data.get("digital_mailbox") not in ("yes", "no"):
        msgid = N_("Svara på om den enskilde har en digital brevlåda.")
        out.append(_required("digital_mailbox", msgid))
    email = data.get("email_agreed")
    if email not in ("yes", "no"):
        out.append(_required("email_agreed", N_("Svara på om e-post får användas.")))
    elif email == "yes":
        out += [
            Violation("R-CHECKLIST-EMAIL", name, msgid)
            for name, msgid in _EMAIL_TERMS
            if not data.get(name)
        ]
    return out


def representative(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Legal representative (§9.6): an answer, since Trygghetsjouren reconciles the checklist
    with the client or the representative out of hours; the tick that the representative knows
    the agreements only when there is one. Only the kind of representative is kept, never a name
    or contact details of that third party."""
    out: list[Violation] = []
    kind = data.get("legal_representative")
    if kind not in dict(CHOICES["legal_representative"]):
        msgid = N_("Svara på om den enskilde har en legal företrädare (§9.6).")
        out.append(_required("legal_representative", msgid))
    elif kind == "none" and data.get("legal_representative_informed"):
        msgid = N_(
            "Den enskilde har ingen legal företrädare. Ta bort krysset, eller välj vilken sorts "
            "företrädare den enskilde har."
        )
        out.append(Violation("R-CHECKLIST-REPRESENTATIVE", "legal_representative_informed", msgid))
    return out


def consent(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Consent to pass information on (`004`, §7.4): "others" named."""
    if data.get("consent_others") and not _text(data, "consent_others_text"):
        return [_required("consent_others_text", N_("Skriv vilka andra samtycket gäller."))]
    return []


def practice(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Protection in practice: alarms by phone (§9.4), an answer on SAMSA (§3.6)."""
    out: list[Violation] = []
    if data.get("safety_alarm") and not data.get("safety_alarm_by_phone"):
        msgid = N_(
            "Larm från personer med skyddade personuppgifter ringes alltid ut via telefon, "
            "aldrig via LarmAppen (§9.4). Kryssa i rutan när det är överenskommet."
        )
        out.append(Violation("R-CHECKLIST-ALARM", "safety_alarm_by_phone", msgid))
    if data.get("samsa") not in dict(CHOICES["samsa"]):
        out.append(_required("samsa", N_("Svara på hur det är med SAMSA (§3.6).")))
    return out


def follow_up(data: Mapping[str, Any], today: date) -> list[Violation]:
    """Follow-up and version (§5.12): a version number and date, a next follow-up after today
    (and no later than lokalt skydd ends, §1.3), who filled it in."""
    out: list[Violation] = []
    version_day = day(data.get("version_date"))
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        out.append(_required("version", N_("Ange versionsnumret, ett heltal från 1.")))
    if version_day is None:
        out.append(_required("version_date", N_("Ange versionens datum.")))
    out += rules.check_date_not_future(version_day, today, "version_date")
    next_day = day(data.get("next_follow_up"))
    until = day(data.get("local_protection_until"))
    if next_day is None:
        msgid = N_("Ange när checklistan ska följas upp nästa gång (§5.12).")
        out.append(_required("next_follow_up", msgid))
    elif next_day <= max(today, version_day or today):
        msgid = N_("Nästa uppföljning måste ligga efter dagens datum.")
        out.append(Violation("R-CHECKLIST-FOLLOWUP", "next_follow_up", msgid))
    elif data.get("protection_kind") == "lokalt_skydd" and until is not None and next_day > until:
        msgid = N_("Följ upp senast när det lokala skyddet upphör (%(date)s, §1.3).")
        out.append(
            Violation("R-CHECKLIST-FOLLOWUP", "next_follow_up", msgid, {"date": until.isoformat()})
        )
    if not _text(data, "filled_in_by"):
        out.append(_required("filled_in_by", N_("Skriv vem som fyllde i checklistan.")))
    return out


#: The other sections' rules in the order of the page (the contact section has none).
SECTION_RULES: tuple[Rule, ...] = (
    protection,
    threat,
    information,
    fictional_name,
    communication,
    representative,
    consent,
    practice,
    follow_up,
)


def check_checklist(
    data: Mapping[str, Any], today: date, case_number_pattern: str = r"\d{7}"
) -> list[Violation]:
    """Every rule of the checklist, section by section; a violation found twice is listed once."""
    out = case(data, case_number_pattern)
    for rule in SECTION_RULES:
        out += rule(data, today)
    return list(dict.fromkeys(out))
