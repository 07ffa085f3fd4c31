"""Kontroll före utskick eller utlämnande (routine §3.9, §5.8; the 2021 routine `001` §4 p. 3–4;
SPEC §3.8, issue 16 item 1).

The classic way a protected person is exposed is an address left in a decision, a statement to a
court or a letter. Before anything leaves the office, the social secretary or unit manager who
sends it goes through the routine's checks, each a tick: data on where the person is removed (also
when it goes to the person themselves), the recipient told of the protection (the court by the
social secretary, §5.8), only name and personnummer in writing, the support in OSL 22:2–3
considered, and a second person with access in the case has checked the document (2021 §4 p. 4).
Only when every tick is given does the cover sheet (försättsblad) print; it goes into the
physical file on top of the document.

Render only, nothing stored (SPEC §3.8): the audit log gets that a check was made
(``disclosure_checked``: case number, who, when), never what, to whom or by whom besides. The
form makes no message for Treserva (``has_message`` False): the page and the print say what to do
instead. Who made the check is the logged-in user, never a field.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import Length

from .. import rules
from ..i18n import N_, InputRequired, _l
from ..models import User
from ..render import pdf
from .base import CheckContext, RenderOnlyForm

# What is sent or disclosed, and to whom (codes are the form's values, SPEC §6).
DOCUMENT_KINDS: tuple[tuple[str, str], ...] = (
    ("decision", N_("Beslut")),
    ("court_statement", N_("Sakupplysning eller yttrande till domstol (§5.8)")),
    ("letter", N_("Brev")),
    ("copies", N_("Kopior av handlingar (utlämnande av allmän handling)")),
    ("phone", N_("Uppgifter per telefon")),
)
RECIPIENT_KINDS: tuple[tuple[str, str], ...] = (
    ("client", N_("Den enskilde själv")),
    ("court", N_("Domstol")),
    ("authority", N_("Annan myndighet")),
    ("other", N_("Annan mottagare")),
)

MSG_NO_DOCUMENT_KIND = N_("Välj vad som skickas eller lämnas ut.")
MSG_NO_RECIPIENT_KIND = N_("Välj vem som tar emot uppgifterna.")
MSG_NO_RECIPIENT = N_("Ange vem som tar emot uppgifterna, t.ex. Förvaltningsrätten i Göteborg.")
MSG_RECIPIENT_ADDRESS = N_(
    "Skriv bara vem som tar emot uppgifterna – ingen adress och inget telefonnummer. "
    "Försättsbladet ligger i akten (§3.9)."
)
MSG_NO_SECOND_CHECKER = N_("Ange namnet på den som gjorde den andra kontrollen.")
MSG_SECOND_CHECKER_IS_YOU = N_(
    "Den andra kontrollen görs av ytterligare en person med behörighet i ärendet, inte av dig "
    "(2021 års rutin §4 p. 4)."
)
#: The recipient and the second checker: a name of a court, an authority or a person, one line.
NAME_MAX = 120


@dataclass(frozen=True)
class Check:
    """One check before disclosing: the tick's field name (HTML name, SPEC §6), the routine's
    words (the label), its § (the hint, printed beside the tick) and the message when it is not
    ticked."""

    name: str
    label: str
    section: str
    message: str


CHECKS: tuple[Check, ...] = (
    Check(
        "location_removed",
        # §3.9: "Ta bort uppgifter som talar om var personen befinner sig som bostadsadresser,
        # arbetsgivare, namn på skolor och liknande. Det gäller även om du lämnar ut till den
        # enskilde."; §5.8: no address or other contact details in statements to a court;
        # 2021 §4 p. 3: "till såväl den enskilde som till annan mottagare".
        N_(
            "Uppgifter om var personen befinner sig – bostadsadress, arbetsgivare, skola och "
            "liknande – är borttagna, även när uppgifterna lämnas till den enskilde själv."
        ),
        N_("§3.9, §5.8; 2021 års rutin §4 p. 3"),
        N_(
            "Ta bort uppgifter om var personen befinner sig och kryssa sedan i. Det gäller även "
            "när uppgifterna lämnas till den enskilde (§3.9, §5.8)."
        ),
    ),
    Check(
        "recipient_told",
        # §3.9: "Uppmärksamma myndigheten eller person som ska ta emot uppgifterna att personen
        # har skyddade personuppgifter."; §5.8: the social secretary informs the court.
        N_(
            "Mottagaren är uppmärksammad på att personen har skyddade personuppgifter. En "
            "domstol informeras om skyddet av socialsekreteraren."
        ),
        N_("§3.9, §5.8"),
        N_(
            "Uppmärksamma mottagaren på att personen har skyddade personuppgifter och kryssa "
            "sedan i (§3.9, §5.8)."
        ),
    ),
    Check(
        "name_pnr_only",
        # §3.9: "Om du ska lämna ut personuppgifter utöver namn och personnummer ska du lämna
        # dem muntligt via telefon."
        N_(
            "Skriftligt lämnas bara namn och personnummer. Personuppgifter utöver det lämnas "
            "muntligt per telefon."
        ),
        N_("§3.9"),
        N_(
            "Lämna skriftligt bara namn och personnummer – mer lämnas muntligt per telefon – "
            "och kryssa sedan i (§3.9)."
        ),
    ),
    Check(
        "osl_considered",
        # §3.9: "kontrollera att du har stöd av lagen (22 kap. 2–3 §§ OSL) att lämna ut
        # uppgifterna. Om uppgifterna inte kan lämnas ut ska ett avslag göras, se
        # delegationsordningen."
        N_(
            "Det är prövat att det finns stöd i lagen att lämna ut uppgifterna (22 kap. 2–3 §§ "
            "OSL). Kan de inte lämnas ut görs ett avslag enligt delegationsordningen."
        ),
        N_("§3.9"),
        N_(
            "Pröva att det finns stöd i 22 kap. 2–3 §§ OSL och kryssa sedan i. Kan uppgifterna "
            "inte lämnas ut görs ett avslag enligt delegationsordningen, och inget lämnas ut "
            "(§3.9)."
        ),
    ),
    Check(
        "second_check",
        # 2021 §4 p. 4: "tillse att ytterligare en person som har behörighet i ärendet
        # kontrollerar att adress- och andra skyddade personuppgifter är borttagna på dokument
        # innan utskick."
        N_(
            "Ytterligare en person med behörighet i ärendet har kontrollerat att adress- och "
            "andra skyddade personuppgifter är borttagna innan utskick."
        ),
        N_("2021 års rutin §4 p. 4"),
        N_(
            "Låt ytterligare en person med behörighet i ärendet kontrollera handlingen och "
            "kryssa sedan i (2021 års rutin §4 p. 4)."
        ),
    ),
)
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)

# The print (pdf_templates/disclosure_check.html, blank and filled) lays out the same checks and
# choices: the print environment knows them by these names.
pdf.add_template_global("disclosure_checks", CHECKS)
pdf.add_template_global("disclosure_document_kinds", DOCUMENT_KINDS)
pdf.add_template_global("disclosure_recipient_kinds", RECIPIENT_KINDS)


def _choices(pairs: tuple[tuple[str, str], ...]) -> list[tuple[str, Any]]:
    return [(code, _l(label)) for code, label in pairs]


def _name_field(label: str, missing: str) -> StringField:
    return StringField(_l(label), validators=[InputRequired(_l(missing)), Length(max=NAME_MAX)])


class DisclosureCheckForm(FlaskForm):
    """Kontroll före utskick eller utlämnande: what, to whom, the ticks (§3.9, §5.8, 2021 §4)."""

    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    # validate_choice off: the rules say what is missing, in Swedish (R-REQUIRED).
    document_kind = RadioField(
        _l("Vad som skickas eller lämnas ut"),
        choices=_choices(DOCUMENT_KINDS),
        validate_choice=False,
    )
    recipient_kind = RadioField(
        _l("Vem som tar emot uppgifterna"),
        choices=_choices(RECIPIENT_KINDS),
        validate_choice=False,
    )
    recipient = _name_field("Mottagare", MSG_NO_RECIPIENT)
    location_removed = BooleanField(_l(CHECKS[0].label))
    recipient_told = BooleanField(_l(CHECKS[1].label))
    name_pnr_only = BooleanField(_l(CHECKS[2].label))
    osl_considered = BooleanField(_l(CHECKS[3].label))
    second_check = BooleanField(_l(CHECKS[4].label))
    second_checker = _name_field(
        "Namn på den som gjorde den andra kontrollen", MSG_NO_SECOND_CHECKER
    )


def _text(form: Any, name: str) -> str:
    return " ".join((form[name].data or "").split())


def disclosure_data(form: DisclosureCheckForm, user: User) -> dict[str, Any]:
    """The check as shown and printed: the posted values, and who made it from the login."""
    data: dict[str, Any] = {
        "case_number": _text(form, "case_number"),
        "document_kind": form.document_kind.data or "",
        "recipient_kind": form.recipient_kind.data or "",
        "recipient": _text(form, "recipient"),
    }
    data.update({name: bool(form[name].data) for name in CHECK_NAMES})
    data["second_checker"] = _text(form, "second_checker")
    data["checked_by"] = user.full_name
    return data


def _same_person(a: str, b: str) -> bool:
    def key(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    return bool(key(a)) and key(a) == key(b)


def check_disclosure(data: dict[str, Any], pattern: str) -> list[rules.Violation]:
    """The routine's checks before anything leaves (§3.9, §5.8, 2021 §4 p. 3–4): a case number
    that is one, what and to whom chosen, the recipient without an address, every tick given,
    and the second check by someone else than the one who makes this one."""
    out = rules.check_case_number(data.get("case_number") or "", "case_number", pattern)
    if data.get("document_kind") not in dict(DOCUMENT_KINDS):
        out.append(rules.Violation("R-REQUIRED", "document_kind", MSG_NO_DOCUMENT_KIND))
    if data.get("recipient_kind") not in dict(RECIPIENT_KINDS):
        out.append(rules.Violation("R-REQUIRED", "recipient_kind", MSG_NO_RECIPIENT_KIND))
    recipient = data.get("recipient") or ""
    if not recipient:
        out.append(rules.Violation("R-REQUIRED", "recipient", MSG_NO_RECIPIENT))
    elif any(rules.contains_address_or_phone(recipient)):
        out.append(rules.Violation("R-NOTE-ADDRESS", "recipient", MSG_RECIPIENT_ADDRESS))
    out += [
        rules.Violation("R-DISCLOSURE-CHECK", c.name, c.message)
        for c in CHECKS
        if data.get(c.name) is not True
    ]
    checker = data.get("second_checker") or ""
    if not checker:
        out.append(rules.Violation("R-REQUIRED", "second_checker", MSG_NO_SECOND_CHECKER))
    elif _same_person(checker, data.get("checked_by") or ""):
        out.append(
            rules.Violation("R-DISCLOSURE-CHECK", "second_checker", MSG_SECOND_CHECKER_IS_YOU)
        )
    return out


class DisclosureCheck(RenderOnlyForm):
    """Kontroll före utskick eller utlämnande: every tick given, then the cover sheet for the
    physical file; never stored, its making audited (``disclosure_checked``)."""

    key = "disclosure_check"
    title = "Kontroll före utskick eller utlämnande"
    form_class = DisclosureCheckForm
    submit_roles = frozenset({"social_secretary", "unit_manager"})
    # No message: the check is printed as a cover sheet for the file, and the journal entry is
    # the sender's own words in Treserva (no list, no "Till:", see FormKind.has_message).
    has_message = False
    treserva_step = N_(
        "Lägg försättsbladet överst på handlingen i den fysiska akten och dokumentera i journalen "
        "i Treserva att handlingen är kontrollerad före utskick. Inget skickas i Treserva "
        "härifrån (§3.9, §5.8)."
    )
    has_blank = True
    position = 35
    result_template = "forms/disclosure_check_result.html"
    # For the physical file: shown in the browser to print, not saved as a file (as the
    # checklist's).
    pdf_disposition: ClassVar[Literal["attachment", "inline"]] = "inline"
    pdf_words = "kontroll före utlämnande"
    #: The checks, choices and limits, for the page (templates/forms/disclosure_check.html).
    checks: ClassVar[tuple[Check, ...]] = CHECKS
    document_kinds: ClassVar[dict[str, str]] = dict(DOCUMENT_KINDS)
    recipient_kinds: ClassVar[dict[str, str]] = dict(RECIPIENT_KINDS)

    def to_data(self, form: DisclosureCheckForm, user: User) -> dict[str, Any]:
        return disclosure_data(form, user)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_disclosure(data, ctx.config["CASE_NUMBER_PATTERN"])

    def rendered_action(self, as_pdf: bool) -> str:
        """A valid post is a check made by the routine (§3.9, 2021 §4), shown or printed."""
        return "disclosure_checked"
