"""The routine's validation rules as pure functions (SPEC §4).

No Flask, no database: every rule takes plain values and returns a list of violations, each with a
rule code, the form field it concerns and a Swedish message. Rules never raise on bad input; they
report it. Section numbers (§) refer to the routine in force (seeds/000).
"""

from __future__ import annotations

import calendar
import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from personnummer import personnummer as pnr_lib  # the package's API module


@dataclass(frozen=True)
class Violation:
    code: str
    field: str
    message: str


# --- helpers ------------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamped to the month's last day (Nov 30 + 3 -> Feb 28/29)."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, years: int) -> date:
    """Add calendar years; Feb 29 becomes Feb 28 in a non-leap year."""
    return add_months(d, 12 * years)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _norm(value: Any) -> str:
    """Comparison form: NFC (a decomposed 'ä' equals 'ä'), single spaces, casefolded."""
    return " ".join(unicodedata.normalize("NFC", _text(value)).split()).casefold()


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _safe_limit(d: date, months: int) -> date:
    try:
        return add_months(d, months)
    except (ValueError, OverflowError):
        return date.max


def _get(row: Any, key: str) -> str:
    value = row.get(key) if isinstance(row, Mapping) else getattr(row, key, "")
    return _text(value)


def _items(values: Any) -> list[Any]:
    """A list argument's items. One string is one item (not its letters); a missing or broken
    list (None, a number, a date) has none."""
    if isinstance(values, str):
        return [values]
    if isinstance(values, Iterable) and not isinstance(values, (bytes, bytearray)):
        return list(values)
    return []


def _usernames(values: Iterable[str] | None) -> set[str]:
    return {n for n in (_norm(v) for v in _items(values)) if n}


# --- personnummer -------------------------------------------------------------------------------

# Any 10- or 12-digit personnummer/samordningsnummer shape, valid check digit or not: 6 or 8 digits,
# an optional separator (hyphen, plus, or a dash pasted from a word processor) with optional spaces,
# then 4 digits, not adjacent to other digits. \d also catches non-ASCII digits.
_DASHES = "\\-+\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_PNR_SHAPE = re.compile(rf"(?<!\d)(?:\d{{2}})?\d{{6}}\s*[{_DASHES}]?\s*\d{{4}}(?!\d)")
_PNR_INPUT = re.compile(r"(?:\d{2})?\d{6}[-+]?\d{4}", re.ASCII)

MSG_NEVER_PNR = (
    "Skriv aldrig personnummer eller samordningsnummer här – det hamnar i ärenderaden (§2.2)."
)


def contains_personnummer(text: str) -> bool:
    return bool(_PNR_SHAPE.search(_text(text)))


def check_subject(subject: str, field: str, forbidden_names: Iterable[str] = ()) -> list[Violation]:
    """R-PNR-SUBJECT: no personnummer and no client name in a subject line (§2.2, §5.9)."""
    out: list[Violation] = []
    text = _norm(subject)
    if contains_personnummer(text):
        out.append(Violation("R-PNR-SUBJECT", field, MSG_NEVER_PNR))
    names = [n for n in (_norm(x) for x in _items(forbidden_names)) if len(n) >= 2]
    if any(n in text for n in names):
        out.append(
            Violation(
                "R-PNR-SUBJECT",
                field,
                "Ärenderaden får inte innehålla den enskildes namn. "
                "Skriv bara ärendenummer och stadsområde (§2.2).",
            )
        )
    return out


def check_personnummer(value: str, field: str) -> list[Violation]:
    """R-PNR-VALID: a real personnummer or samordningsnummer (day + 60), Luhn check digit (§2.4)."""
    text = _text(value).strip()
    if not text:
        return [Violation("R-PNR-VALID", field, "Personnummer måste fyllas i.")]
    if not _PNR_INPUT.fullmatch(text) or not pnr_lib.valid(text):
        return [
            Violation(
                "R-PNR-VALID",
                field,
                "Personnumret är inte giltigt. Skriv ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN "
                "och kontrollera datum och sista siffran.",
            )
        ]
    return []


def check_note_text(text: str, field: str) -> list[Violation]:
    """R-NOTE-PNR: day notes and deviation reports carry the fictional name only (§4.2, §7.5)."""
    if contains_personnummer(text):
        return [
            Violation(
                "R-NOTE-PNR",
                field,
                "Texten ser ut att innehålla ett personnummer eller samordningsnummer. "
                "Ta bort det och använd bara det fiktiva namnet (§7.5).",
            )
        ]
    return []


# --- single-field rules -------------------------------------------------------------------------


def check_case_number(value: str, field: str, pattern: str = r"\d{7}") -> list[Violation]:
    """R-CASE-NUMBER: Treserva case number, digits only; it goes into the subject line (§2.2)."""
    text = _text(value).strip()
    if not text:
        return [Violation("R-CASE-NUMBER", field, "Ärendenummer måste fyllas i.")]
    out: list[Violation] = []
    if contains_personnummer(text):
        out.append(Violation("R-PNR-SUBJECT", field, MSG_NEVER_PNR))
    try:
        matches = re.fullmatch(pattern, text) is not None
    except (re.error, TypeError):
        matches = re.fullmatch(r"\d{7}", text) is not None
    if not (text.isascii() and text.isdigit() and matches):
        out.append(
            Violation(
                "R-CASE-NUMBER",
                field,
                "Ärendenumret ska vara ärendets nummer i Treserva, bara siffror "
                "(till exempel 0655588).",
            )
        )
    return out


def check_period(
    valid_from: date | None,
    valid_to: date | None,
    today: date,
    from_field: str = "valid_from",
    to_field: str = "valid_to",
) -> list[Violation]:
    """R-PERIOD-MAX: access for at most one year at a time, no backdating (§2.2)."""
    start, end, now = _as_date(valid_from), _as_date(valid_to), _as_date(today)
    out: list[Violation] = []
    if start is None:
        out.append(
            Violation(
                "R-PERIOD-MAX",
                from_field,
                "Ange från vilket datum behörigheten ska gälla (ÅÅÅÅ-MM-DD).",
            )
        )
    elif now is not None and start < now:
        out.append(
            Violation("R-PERIOD-MAX", from_field, "Behörigheten kan inte börja före dagens datum.")
        )
    if end is None:
        out.append(
            Violation(
                "R-PERIOD-MAX",
                to_field,
                "Ange till vilket datum behörigheten ska gälla (ÅÅÅÅ-MM-DD).",
            )
        )
    elif start is not None:
        if end <= start:
            out.append(
                Violation("R-PERIOD-MAX", to_field, "Slutdatumet måste vara efter startdatumet.")
            )
        elif end > _safe_limit(start, 12):
            out.append(
                Violation(
                    "R-PERIOD-MAX",
                    to_field,
                    "Behörigheten får gälla högst ett år i taget (§2.2). Sista "
                    f"möjliga datum är {_safe_limit(start, 12).isoformat()}.",
                )
            )
    return out


def check_local_protection(
    requested: bool,
    until: date | None,
    reason: str,
    today: date,
    unit_type: str,
    orderer_is_myndighet_manager: bool,
) -> list[Violation]:
    """R-LOCAL-MAX: Myndighet unit manager decides, up to three months, with a reason (§1.3)."""
    if not requested:
        return []
    out: list[Violation] = []
    end, now = _as_date(until), _as_date(today)
    if end is None:
        out.append(
            Violation(
                "R-LOCAL-MAX",
                "local_protection_until",
                "Ange till vilket datum det lokala skyddet ska gälla (ÅÅÅÅ-MM-DD).",
            )
        )
    elif now is not None:
        limit = _safe_limit(now, 3)
        if end <= now:
            out.append(
                Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    "Slutdatumet för lokalt skydd måste vara efter dagens datum.",
                )
            )
        elif end > limit:
            out.append(
                Violation(
                    "R-LOCAL-MAX",
                    "local_protection_until",
                    "Lokalt skydd gäller högst tre månader (§1.3). Sista möjliga "
                    f"datum är {limit.isoformat()}.",
                )
            )
    if len(_text(reason).strip()) < 10:
        out.append(
            Violation(
                "R-LOCAL-MAX",
                "local_protection_reason",
                "Ange orsaken till det lokala skyddet, minst 10 tecken (§1.3).",
            )
        )
    if _norm(unit_type) != "myndighet" or orderer_is_myndighet_manager is not True:
        out.append(
            Violation(
                "R-LOCAL-MAX",
                "local_protection",
                "Bara enhetschef på Myndighet kan beställa lokalt skydd (§1.3).",
            )
        )
    return out


def _limit(value: Any) -> int:
    """A missing or broken limit counts as 0: the strictest reading (deny by default)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _person_count(
    active_usernames: Iterable[str], additions: Iterable[str], removals: Iterable[str]
) -> int:
    return len((_usernames(active_usernames) | _usernames(additions)) - _usernames(removals))


def exceeds_person_limit(
    active_usernames: Iterable[str], additions: Iterable[str], removals: Iterable[str], limit: int
) -> bool:
    """True when the case would have more people with access than the unit type allows (§2.1)."""
    return _person_count(active_usernames, additions, removals) > _limit(limit)


def check_person_limit(
    active_usernames: Iterable[str],
    additions: Iterable[str],
    removals: Iterable[str],
    limit: int,
    justification: str,
    min_justification: int = 20,
) -> list[Violation]:
    """R-PERSON-LIMIT: keep the number of people with access to a minimum (§2.1, §8.1)."""
    count, limit = _person_count(active_usernames, additions, removals), _limit(limit)
    # A broken minimum falls back to the routine's 20 characters (SPEC §2), never to none.
    valid = isinstance(min_justification, int) and not isinstance(min_justification, bool)
    needed = min_justification if valid else 20
    if count > limit and len(_text(justification).strip()) < needed:
        return [
            Violation(
                "R-PERSON-LIMIT",
                "justification",
                f"Efter beställningen skulle {count} personer ha behörighet till "
                f"ärendet, men högst {limit} gäller för enhetstypen (§2.1). Skriv en "
                f"motivering på minst {needed} tecken.",
            )
        ]
    return []


def check_no_fee_handler(
    unit_type: str, persons: Sequence[Mapping[str, str]], fee_handler_usernames: Iterable[str] = ()
) -> list[Violation]:
    """R-NO-FEE-HANDLER: fee handlers never get access to protected cases (§7.2)."""
    message = (
        "Avgiftshandläggare ska inte få behörighet till ärenden med skyddade "
        "personuppgifter (§7.2)."
    )
    fee_handlers = _usernames(fee_handler_usernames)
    out: list[Violation] = []
    for i, row in enumerate(_items(persons)):
        if _norm(_get(row, "action")) != "add":
            continue
        if _norm(unit_type) == "avgift":
            out.append(Violation("R-NO-FEE-HANDLER", "unit_type", message))
        if "avgiftshandläggare" in _norm(_get(row, "position")):
            out.append(Violation("R-NO-FEE-HANDLER", f"persons-{i}-position", message))
        if _norm(_get(row, "username")) in fee_handlers:
            out.append(Violation("R-NO-FEE-HANDLER", f"persons-{i}-username", message))
    return list(dict.fromkeys(out))


_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def check_email_domain(email: str, allowed_domains: Iterable[str], field: str) -> list[Violation]:
    """R-EMAIL-DOMAIN: the staff member's e-mail in the city's domain, no subdomains (§2.2)."""
    text = _text(email).strip()
    allowed = [d for d in (_norm(x).lstrip("@") for x in _items(allowed_domains)) if d]
    if not text:
        return [Violation("R-EMAIL-DOMAIN", field, "E-postadress måste fyllas i.")]
    local, at, domain = text.rpartition("@")
    if not at or not _EMAIL_LOCAL.fullmatch(local) or "@" in local or not domain:
        return [
            Violation(
                "R-EMAIL-DOMAIN",
                field,
                "Ange en giltig e-postadress, till exempel fornamn.efternamn@"
                f"{allowed[0] if allowed else 'goteborg.se'}.",
            )
        ]
    if domain.casefold() not in allowed:
        shown = " eller ".join("@" + d for d in allowed) or "en tillåten domän"
        return [
            Violation(
                "R-EMAIL-DOMAIN", field, f"E-postadressen måste sluta på {shown} (stadens adress)."
            )
        ]
    return []


def check_date_not_future(value: date | None, today: date, field: str) -> list[Violation]:
    """R-DATE-PAST: a received date or event time cannot be in the future (§2.4, §4.2)."""
    d, now = _as_date(value), _as_date(today)
    if d is not None and now is not None and d > now:
        return [Violation("R-DATE-PAST", field, "Datumet kan inte vara senare än i dag.")]
    return []


def check_reporter(kind: str, arrived_from: str, reporter_name: str) -> list[Violation]:
    """R-REPORTER: an anmälan, or one not from the individual, names the reporter (§2.4 p. 11)."""
    needed = _norm(kind) == "anmälan" or _norm(arrived_from) != "den enskilde"
    if needed and not _text(reporter_name).strip():
        return [
            Violation(
                "R-REPORTER",
                "reporter_name",
                "Ange namnet på den som gjorde anmälan eller ansökan, eftersom den inte "
                "kom från den enskilde (§2.4 punkt 11).",
            )
        ]
    return []


# --- the access order (§2.2) --------------------------------------------------------------------


@dataclass
class PersonRow:
    action: str
    full_name: str
    username: str
    email: str
    position: str


@dataclass
class AccessOrderInput:
    case_number: str
    city_district: str
    unit_type: str
    unit_name: str
    persons: list[PersonRow]
    valid_from: date | None
    valid_to: date | None
    local_protection: bool
    local_protection_until: date | None
    local_protection_reason: str
    justification: str


def access_order_subject(case_number: str, city_district: str) -> str:
    """Subject line: case number and city district only, never a personnummer (§2.2)."""
    case, district = _text(case_number).strip(), _text(city_district).strip()
    return f"Behörighetsbeställning ärende {case}, {district}"


def check_access_order(
    order: AccessOrderInput,
    *,
    today: date,
    active_usernames: Iterable[str],
    person_limit: int,
    allowed_domains: Iterable[str],
    case_number_pattern: str,
    orderer_is_myndighet_manager: bool,
    fee_handler_usernames: Iterable[str] = (),
) -> list[Violation]:
    """Every rule that applies to an access order (§1.3, §2.1, §2.2, §7.2)."""
    domains = _items(allowed_domains)
    rows = _items(order.persons)
    out = check_case_number(order.case_number, "case_number", case_number_pattern)
    subject = access_order_subject(order.case_number, order.city_district)
    out += check_subject(subject, "case_number")
    if not rows:
        out.append(Violation("R-REQUIRED", "persons", "Lägg till minst en person."))
    additions: list[str] = []
    removals: list[str] = []
    for i, row in enumerate(rows):
        action = _norm(_get(row, "action"))
        if action not in ("add", "remove"):
            out.append(
                Violation(
                    "R-REQUIRED",
                    f"persons-{i}-action",
                    "Välj om personen ska läggas till eller tas bort.",
                )
            )
        for key, label in (
            ("full_name", "Fullständigt namn"),
            ("username", "Användarnamn (staden-konto)"),
        ):
            if not _get(row, key).strip():
                out.append(
                    Violation("R-REQUIRED", f"persons-{i}-{key}", f"{label} måste fyllas i.")
                )
        if action == "add" or _get(row, "email").strip():
            out += check_email_domain(_get(row, "email"), domains, f"persons-{i}-email")
        if action == "add":
            additions.append(_get(row, "username"))
        elif action == "remove":
            removals.append(_get(row, "username"))
    if additions:
        out += check_period(order.valid_from, order.valid_to, today)
    out += check_local_protection(
        order.local_protection,
        order.local_protection_until,
        order.local_protection_reason,
        today,
        order.unit_type,
        orderer_is_myndighet_manager,
    )
    out += check_no_fee_handler(
        order.unit_type,
        [dataclasses.asdict(r) if isinstance(r, PersonRow) else r for r in rows],
        fee_handler_usernames,
    )
    if additions:  # an order that only removes never needs a justification (§2.1: fewer people)
        out += check_person_limit(
            active_usernames, additions, removals, person_limit, order.justification
        )
    return list(dict.fromkeys(out))
