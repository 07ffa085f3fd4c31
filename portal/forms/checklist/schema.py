"""The checklist's one field schema: every field once, in form order, grouped by section.

Everything else is made from it: the WTForms class (``form.py``), the page's sections
(templates/forms/checklist.html), the print (pdf_templates/checklist.html, blank and filled) and
the text for the assignment document with its reader (``text.py``). A field's ``text`` label and a
section's ``text`` heading are the words of that text: it is pasted back at the next follow-up
(§5.12), so they never change and are never translated (a choice's label is its answer there).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from ...i18n import N_, LazyText, _l

#: How a field is asked: a one-line text, a text area, a tick, a date, one of ``choices``, or a
#: whole number (the version).
Widget = Literal["line", "area", "bool", "date", "choice", "int"]
#: The kind of its value in ``data`` (JSON): text (both text widgets), bool, date (ISO), choice
#: (the code, "" for none), int (None for none).
Kind = Literal["text", "bool", "date", "choice", "int"]

#: How the print lays out a group of fields (Section.print_blocks).
PrintBlock = Literal["dated", "ticks", "row", "area"]

_KINDS: dict[Widget, Kind] = {
    "line": "text",
    "area": "text",
    "bool": "bool",
    "date": "date",
    "choice": "choice",
    "int": "int",
}

YES_NO = (("yes", "Ja"), ("no", "Nej"))


@dataclass(frozen=True)
class Field:
    """One point of the checklist."""

    #: The HTML name and the key in ``data``.
    name: str
    widget: Widget
    #: The page's label (translated).
    label: LazyText
    #: The label in the assignment text and the print: read back, never translated. No colon.
    text: str
    #: Most characters (line, area, int).
    max_length: int | None = None
    #: (code, label) of a choice; the label is also its answer in the assignment text.
    choices: tuple[tuple[str, str], ...] = ()
    #: A hint under the label on the page (translated).
    hint: LazyText | None = None
    #: A date's message when it cannot be read: which date, and the format (a msgid, issue 14).
    message: str | None = None

    @property
    def kind(self) -> Kind:
        return _KINDS[self.widget]

    @property
    def dated(self) -> bool:
        """A tick whose date follows it (information given, §5.3)."""
        return self.widget == "bool" and self.name in INFO_ITEMS

    @property
    def tick_date(self) -> bool:
        """The date of a dated tick: shown beside its tick, not on its own."""
        return self.widget == "date" and self.name.removesuffix("_date") in INFO_ITEMS

    @property
    def print_block(self) -> PrintBlock:
        """The kind of group the print puts it in (Section.print_blocks)."""
        if self.dated:
            return "dated"
        if self.widget == "bool":
            return "ticks"
        return "area" if self.widget == "area" else "row"

    @property
    def wide(self) -> bool:
        """Printed on a line of its own: a choice of long answers, a long one-line text."""
        if self.widget == "choice":
            return sum(len(label) for _, label in self.choices) > 40
        return self.widget == "line" and (self.max_length or 0) >= 500


@dataclass(frozen=True)
class Statement:
    """A rule of the routine that the checklist states rather than asks (no field, no answer):
    shown on the page, printed in its section and written into the assignment text, the same in
    every version. "Inga underleverantörer" (§8.8) is one: not an agreement with the client that
    could be left out, but what the performer must do."""

    #: On the page (translated).
    label: LazyText
    #: In the assignment text and the print: read back as a known line, never translated.
    text: str


@dataclass(frozen=True)
class Section:
    """A part of the checklist: a fieldset on the page, a heading in the print and the text."""

    #: The page's legend and the print's heading (translated).
    title: LazyText
    #: The heading in the assignment text (only for the reader; never changes).
    text: str
    fields: tuple[Field, ...]
    #: A hint under the legend (translated).
    hint: LazyText | None = None
    #: The routine's rules that the section states, after its fields (Statement).
    statements: tuple[Statement, ...] = ()

    @property
    def print_blocks(self) -> list[tuple[PrintBlock, list[Field]]]:
        """The section as the print lays it out (pdf_templates/checklist.html): dated ticks in
        one table, other ticks two to a row, short answers up to three to a row (a wide one
        alone), each text area on its own."""
        blocks: list[tuple[PrintBlock, list[Field]]] = []
        for f in self.fields:
            last = blocks[-1] if blocks else None
            if f.tick_date:
                continue  # in the table of dated ticks
            block = f.print_block
            joins = last is not None and last[0] == block
            if last is not None and block == "row":  # up to three short answers, a wide one alone
                joins = joins and len(last[1]) < 3 and not (f.wide or last[1][0].wide)
            elif block == "area":
                joins = False
            if last is not None and joins:
                last[1].append(f)
            else:
                blocks.append((block, [f]))
        return blocks


def _f(
    name: str,
    widget: Widget,
    label: LazyText,
    text: str,
    max_length: int | None = None,
    *,
    choices: tuple[tuple[str, str], ...] = (),
    hint: LazyText | None = None,
    message: str | None = None,
) -> Field:
    if widget == "date" and not message:
        raise ValueError(f"checklist field {name}: a date needs its message")
    return Field(name, widget, label, text, max_length, choices, hint, message)


#: Each piece of information given to the client: a tick and its date ``<name>_date`` (§5.3).
INFO_ITEMS = (
    "info_handling",
    "info_own_responsibility",
    "info_no_anonymity",
    "info_care_meaning",
    "info_documented",
)


def _informed(
    name: str, label: LazyText, text: str, date_label: LazyText, date_message: str
) -> tuple[Field, Field]:
    """A piece of information given: the tick and its date. Each date has a label of its own (not
    five fields all called "Datum", issue 14); the text label stays as read back."""
    return (
        _f(name, "bool", label, text),
        _f(f"{name}_date", "date", date_label, f"{text}, datum", message=date_message),
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        _l("Ärende"),
        "ÄRENDE",
        (
            _f(
                "case_number",
                "line",
                _l("Ärendenummer i Treserva (frivilligt)"),
                "Ärendenummer",
                32,
                hint=_l(
                    "Frivilligt. Ärendenumret i Treserva, bara siffror (t.ex. 0655588) – aldrig "
                    "personnummer."
                ),
            ),
        ),
    ),
    Section(
        _l("Typ av skydd"),
        "TYP AV SKYDD",
        (
            _f(
                "protection_kind",
                "choice",
                _l("Vilken typ av skydd har den enskilde?"),
                "Typ av skydd",
                choices=(
                    ("skyddad_folkbokforing", "Skyddad folkbokföring (§1.1)"),
                    ("sekretessmarkering", "Sekretessmarkering (§1.2)"),
                    ("lokalt_skydd", "Lokalt skydd i avvaktan på Skatteverkets beslut (§1.3)"),
                ),
                hint=_l(
                    "Skyddad folkbokföring ger starkare skydd än sekretessmarkering. Lokalt skydd "
                    "beslutas av enhetschef på Myndighet vid en akut situation (§1.1–1.3)."
                ),
            ),
            _f(
                "local_protection_until",
                "date",
                _l("Lokalt skydd gäller till och med"),
                "Lokalt skydd gäller till och med",
                hint=_l(
                    "Bara vid lokalt skydd: gäller högst tre månader och följs upp av enhetschef "
                    "(§1.3)."
                ),
                message=N_("Ange slutdatum för det lokala skyddet som ÅÅÅÅ-MM-DD."),
            ),
            _f(
                "skatteverket_decision_date",
                "date",
                _l("Datum för Skatteverkets beslut (om känt)"),
                "Datum för Skatteverkets beslut",
                hint=_l("Om det är känt."),
                message=N_("Ange datum för Skatteverkets beslut som ÅÅÅÅ-MM-DD."),
            ),
        ),
    ),
    Section(
        _l("Hotbild"),
        "HOTBILD",
        (
            _f(
                "threat_picture",
                "area",
                _l("Hotbild, så som ni kommit överens om att dokumentera den"),
                "Hotbild",
                4000,
                hint=_l(
                    "Skriv det ni kommit överens om att dokumentera. Utföraren ska få veta hur "
                    "hotbilden ser ut (§5.9). Skriv inte var den enskilde bor."
                ),
            ),
            _f(
                "protected_from_relatives",
                "bool",
                _l("Skyddet gäller även mot anhöriga"),
                "Skyddet gäller även mot anhöriga",
            ),
            _f(
                "protected_from_former_partner",
                "bool",
                _l("Skyddet gäller även mot tidigare partner"),
                "Skyddet gäller även mot tidigare partner",
            ),
            _f(
                "protected_from_note",
                "area",
                _l("Mot vem skyddet gäller (utan namn och adress om möjligt)"),
                "Mot vem skyddet gäller",
                1000,
            ),
            _f(
                "children_in_household",
                "choice",
                _l("Finns det barn i hushållet?"),
                "Barn i hushållet",
                choices=YES_NO,
                hint=_l(
                    "Barn och unga är den största riskgruppen eftersom de ofta inte själva kan "
                    "bevaka sitt skydd."
                ),
            ),
            _f(
                "children_note",
                "area",
                _l("Om barnen"),
                "Om barnen",
                1000,
                hint=_l(
                    "Till exempel om barnen också har skydd. Inga kontaktuppgifter till skola "
                    "eller förskola."
                ),
            ),
        ),
        hint=_l(
            "Tänk på att en person kan ha skyddade personuppgifter i förhållande till anhöriga "
            "eller en tidigare partner (rutinen 2021 §5.3)."
        ),
    ),
    Section(
        _l("Information till den enskilde"),
        "INFORMATION SOM DEN ENSKILDE HAR FÅTT",
        (
            *_informed(
                "info_handling",
                _l("Hur ärenden för personer med skyddade personuppgifter hanteras"),
                "Hur ärenden med skyddade personuppgifter hanteras",
                _l("Datum för informationen om hur ärenden hanteras"),
                N_("Ange datum för informationen om hur ärenden hanteras som ÅÅÅÅ-MM-DD."),
            ),
            *_informed(
                "info_own_responsibility",
                _l(
                    "Eget ansvar att själv berätta om skyddet för myndigheter, organisationer "
                    "och företag"
                ),
                "Eget ansvar att berätta om skyddet för myndigheter och företag",
                _l("Datum för informationen om eget ansvar"),
                N_("Ange datum för informationen om eget ansvar som ÅÅÅÅ-MM-DD."),
            ),
            *_informed(
                "info_no_anonymity",
                _l("Ingen rätt till anonymitet i det egna ärendet"),
                "Ingen rätt till anonymitet i det egna ärendet",
                _l("Datum för informationen om anonymitet"),
                N_("Ange datum för informationen om anonymitet som ÅÅÅÅ-MM-DD."),
            ),
            *_informed(
                "info_care_meaning",
                _l("Vad skyddet innebär i hemtjänst eller på vård- och omsorgsboende"),
                "Vad skyddet innebär i hemtjänst eller på boende",
                _l("Datum för informationen om vad skyddet innebär"),
                N_("Ange datum för informationen om vad skyddet innebär som ÅÅÅÅ-MM-DD."),
            ),
            *_informed(
                "info_documented",
                _l("Att informationen getts är dokumenterat i journalen"),
                "Dokumenterat i journalen",
                _l("Datum för dokumentationen i journalen"),
                N_("Ange datum för dokumentationen i journalen som ÅÅÅÅ-MM-DD."),
            ),
        ),
        hint=_l(
            "Kryssa i det du har informerat om och skriv datum (§5.3, §3.7). Kryss och datum "
            "hör ihop."
        ),
    ),
    Section(
        _l("Fiktivt namn"),
        "FIKTIVT NAMN",
        (
            _f(
                "fictional_name_agreed",
                "choice",
                _l("Har ni kommit överens om ett fiktivt namn?"),
                "Fiktivt namn överenskommet",
                choices=YES_NO,
                hint=_l(
                    "Det fiktiva namnet används på den fiktiva akten, mappar, scheman, dörr, "
                    "postfack och i nyckelskåpet (§7.5, §8.2, §8.4)."
                ),
            ),
            _f(
                "fictional_name",
                "line",
                _l("Fiktivt namn"),
                "Fiktivt namn (på akter, mappar, dörr, postfack, nyckelskåp)",
                120,
            ),
        ),
    ),
    Section(
        _l("Kommunikation med den enskilde"),
        "KOMMUNIKATION MED DEN ENSKILDE",
        (
            _f(
                "post_route",
                "choice",
                _l("Post till den enskilde skickas"),
                "Post skickas",
                choices=(
                    ("forwarding_service", "Via Skatteverkets förmedlingsuppdrag (§3.1)"),
                    (
                        "special_address",
                        "Till en särskild förmedlingsadress som Skatteverket meddelat (§3.1)",
                    ),
                    (
                        "own_address",
                        "Till en adress som myndigheten har, med den enskildes godkännande "
                        "(inte vid skyddad folkbokföring)",
                    ),
                ),
                hint=_l(
                    "Brev skickas via Skatteverkets förmedlingsuppdrag, eller till den särskilda "
                    "förmedlingsadress Skatteverket meddelat (§3.1)."
                ),
            ),
            _f(
                "post_note",
                "area",
                _l("Övrigt om post (skriv aldrig bostadsadressen)"),
                "Övrigt om post",
                1000,
            ),
            _f(
                "digital_mailbox",
                "choice",
                _l("Har den enskilde en digital brevlåda (Mina meddelanden)?"),
                "Digital brevlåda (Mina meddelanden)",
                choices=YES_NO,
                hint=_l(
                    "Socialsekreteraren kan skicka via 'Mina meddelanden' till den som har en "
                    "digital brevlåda; utförare har inte tillgång (§3.2)."
                ),
            ),
            _f(
                "email_agreed",
                "choice",
                _l("Får e-post användas?"),
                "E-post får användas",
                choices=YES_NO,
                hint=_l(
                    "Bara om den enskilde själv vill. Berätta om riskerna. Kryptera alltid, inga "
                    "personuppgifter i ämnesraden (§3.2)."
                ),
            ),
            _f(
                "email_client_wants",
                "bool",
                _l("Den enskilde vill själv att e-post används"),
                "Den enskilde vill själv att e-post används",
            ),
            _f(
                "email_risks_explained",
                "bool",
                _l("Riskerna med e-post är förklarade"),
                "Riskerna med e-post är förklarade",
            ),
            _f(
                "email_encrypted",
                "bool",
                _l("E-post krypteras alltid, inga personuppgifter i ämnesraden"),
                "E-post krypteras alltid, inga personuppgifter i ämnesraden",
            ),
            _f(
                "phone_call_back",
                "bool",
                _l(
                    "Telefon: vi ringer alltid tillbaka och kontrollerar vem som ringer innan "
                    "något lämnas ut"
                ),
                "Telefon, vi ringer alltid tillbaka och kontrollerar vem som ringer",
                hint=_l(
                    "Lämna aldrig ut något utan samtycke och utan att ha kontrollerat vem som "
                    "ringer (§3.3)."
                ),
            ),
            _f(
                "phone_code",
                "line",
                _l("Överenskommen telefonkod"),
                "Överenskommen telefonkod",
                60,
                hint=_l("Överenskoms vid ett personligt möte (rutinen 2021 §3.6)."),
            ),
            _f(
                "visit_identity_check",
                "bool",
                _l("Besök: identiteten kontrolleras med legitimation"),
                "Besök, identiteten kontrolleras med legitimation",
                hint=_l("Säkerställ vid besök att det är rätt person (rutinen 2021 §3.5)."),
            ),
            _f(
                "communication_note",
                "area",
                _l("Övrigt om kommunikationen"),
                "Övrigt om kommunikationen",
                2000,
            ),
        ),
        hint=_l("Kom överens med den enskilde om hur kontakterna ska gå till (§3)."),
    ),
    Section(
        _l("Legal företrädare"),
        "LEGAL FÖRETRÄDARE",
        (
            _f(
                "legal_representative",
                "choice",
                _l("Har den enskilde en legal företrädare?"),
                "Legal företrädare",
                choices=(
                    ("none", "Ingen"),
                    ("god_man", "God man"),
                    ("forvaltare", "Förvaltare"),
                    ("ombud", "Ombud med fullmakt"),
                ),
                hint=_l(
                    "Under kvällar, nätter och helger kan Trygghetsjouren inte ta del av "
                    "checklistan och stämmer av den direkt med den enskilde eller med den legala "
                    "företrädaren (§9.6)."
                ),
            ),
            _f(
                "legal_representative_informed",
                "bool",
                _l(
                    "Företrädaren känner till skyddet och överenskommelserna i checklistan och "
                    "kan stämma av dem med Trygghetsjouren"
                ),
                "Företrädaren känner till skyddet och checklistans överenskommelser",
                hint=_l("Bara om den enskilde har en legal företrädare."),
            ),
        ),
        hint=_l(
            "Skriv inte företrädarens namn eller kontaktuppgifter i checklistan; bara vilken "
            "sorts företrädare det är."
        ),
    ),
    Section(
        _l("Samtycke att lämna uppgifter till"),
        "SAMTYCKE ATT LÄMNA UPPGIFTER TILL",
        (
            _f(
                "consent_performer",
                "bool",
                _l("Utföraren (hemtjänst, boende, Trygghetsjouren)"),
                "Samtycke, utföraren (hemtjänst, boende, Trygghetsjouren)",
            ),
            _f(
                "consent_health_care",
                "bool",
                _l("Hälso- och sjukvården"),
                "Samtycke, hälso- och sjukvården",
            ),
            _f("consent_relatives", "bool", _l("Anhöriga"), "Samtycke, anhöriga"),
            _f("consent_others", "bool", _l("Andra"), "Samtycke, andra"),
            _f(
                "consent_others_text",
                "line",
                _l("Vilka andra"),
                "Vilka andra",
                500,
                hint=_l("Skriv roll eller relation (till exempel god man, dotter), inte namn."),
            ),
        ),
        hint=_l(
            "Den enskilde ska lämna samtycke till att information lämnas över och till vem. "
            "Informationsöverföring mellan hälso- och sjukvård och socialtjänst kräver alltid "
            "samtycke (§7.4)."
        ),
    ),
    Section(
        _l("Kontakt mellan Myndighet och utförare"),
        "KONTAKT MELLAN MYNDIGHET OCH UTFÖRARE",
        (
            _f(
                "myndighet_contact",
                "area",
                _l("Utförarens kontakt på Myndighet"),
                "Utförarens kontakt på Myndighet",
                1000,
                hint=_l(
                    "Vem utföraren ska kontakta på Myndighet, till exempel ansvarig "
                    "socialsekreterare och ersättare (rutinen 2021 §5.3.3)."
                ),
            ),
            _f(
                "performer_communication",
                "area",
                _l("Så kommunicerar handläggare och utförare med varandra"),
                "Så kommunicerar handläggare och utförare",
                2000,
                hint=_l(
                    "Informationsöverföring sker via Treserva; ärendenumret skickas i ett "
                    "meddelande, inga personuppgifter i ämnesraden (§5.9, §5.12)."
                ),
            ),
        ),
    ),
    Section(
        _l("Skyddet i praktiken"),
        "SKYDDET I PRAKTIKEN",
        (
            _f("home_visits", "area", _l("Besök i hemmet"), "Besök i hemmet", 2000),
            _f(
                "outings",
                "area",
                _l("Utflykter och aktiviteter utanför hemmet"),
                "Utflykter och aktiviteter utanför hemmet",
                2000,
            ),
            _f("photography", "area", _l("Fotografering"), "Fotografering", 1000),
            _f(
                "acute_situations",
                "area",
                _l("Agerande vid akuta situationer"),
                "Agerande vid akuta situationer",
                2000,
                hint=_l(
                    "I en akut situation, till exempel när ambulans eller polis behövs, får "
                    "skyddade uppgifter lämnas ut (§3.9)."
                ),
            ),
            _f(
                "key_handling",
                "area",
                _l("Nycklar"),
                "Nycklar",
                1000,
                hint=_l(
                    "Nyckelkvittensen förvaras i den ordinarie akten; i nyckelskåpet används det "
                    "fiktiva namnet (§8.4)."
                ),
            ),
            _f(
                "safety_alarm",
                "bool",
                _l("Den enskilde har eller ska få trygghetslarm"),
                "Trygghetslarm",
            ),
            _f(
                "safety_alarm_by_phone",
                "bool",
                _l(
                    "Larm ringes alltid ut via telefon till den som ska åtgärda larmet, aldrig "
                    "via LarmAppen"
                ),
                "Larm ringes alltid ut via telefon, aldrig via LarmAppen",
                hint=_l(
                    "Larm från personer med skyddade personuppgifter ringes alltid ut via "
                    "telefon (§9.4)."
                ),
            ),
            _f(
                "chilled_food",
                "bool",
                _l("Matleverans som kyld mat"),
                "Matleverans som kyld mat",
                hint=_l(
                    "Personer med skyddade personuppgifter får kyld mat; leveranssättet bedöms i "
                    "det enskilda fallet (Hantering av ärenden med sekretessmarkering och skyddad "
                    "folkbokföring, avsnittet Verkställighet matdistribution). Matdistribution "
                    "läggs inte in som en egen insats (§5.7)."
                ),
            ),
            _f(
                "food_delivery_note",
                "area",
                _l("Så levereras maten"),
                "Så levereras maten",
                1000,
            ),
            _f(
                "private_funds",
                "bool",
                _l("Privata medel hanteras (planering enligt rutinen 'Privata medel')"),
                "Privata medel hanteras enligt rutinen Privata medel",
                hint=_l(
                    "Eftersom underleverantörer inte används kan den enskildes pengar behöva "
                    "hanteras för inköp (§8.9)."
                ),
            ),
            _f(
                "private_funds_note",
                "area",
                _l("Om privata medel"),
                "Om privata medel",
                1000,
            ),
            _f(
                "samsa",
                "choice",
                _l("SAMSA"),
                "SAMSA",
                choices=(
                    ("not_registered", "Inte registrerad i SAMSA – registreras inte (§3.6)"),
                    (
                        "removal_requested",
                        "Fanns i SAMSA – LVS för SAMSA har ombetts ta bort uppgifterna (§3.6)",
                    ),
                ),
                hint=_l(
                    "Personer med skyddad identitet registreras inte i SAMSA. Finns personen där "
                    "ska socialsekreteraren direkt be LVS för SAMSA ta bort uppgifterna (§3.6)."
                ),
            ),
            _f(
                "practice_note",
                "area",
                _l("Övriga överenskommelser"),
                "Övriga överenskommelser",
                2000,
            ),
        ),
        hint=_l(
            "Hur skyddet utformas vid besök i hemmet, utflykter, fotografering och akuta "
            "situationer (rutinen 2021 §5.3.3)."
        ),
        statements=(
            Statement(
                _l(
                    "Rutinen (§8.8): inga serviceinsatser eller andra insatser utförs av "
                    "underleverantörer. Samtliga insatser utförs av hemtjänstens egen personal."
                ),
                "Rutinen §8.8, underleverantörer används inte. Inga serviceinsatser eller andra "
                "insatser utförs av underleverantörer; samtliga insatser utförs av hemtjänstens "
                "egen personal.",
            ),
        ),
    ),
    Section(
        _l("Uppföljning och version"),
        "UPPFÖLJNING OCH VERSION",
        (
            _f(
                "next_follow_up",
                "date",
                _l("Nästa uppföljning av checklistan"),
                "Nästa uppföljning",
                hint=_l(
                    "Skyddsbehovet kan förändras över tid. Följ upp checklistan vid varje "
                    "uppföljning (§5.12)."
                ),
                message=N_("Ange datum för nästa uppföljning som ÅÅÅÅ-MM-DD."),
            ),
            _f(
                "copy_offered",
                "bool",
                _l("Den enskilde har erbjudits en kopia av checklistan"),
                "Den enskilde har erbjudits en kopia",
                hint=_l("Den enskilde erbjuds en kopia till sin akt (§7.3)."),
            ),
            _f(
                "version",
                "int",
                _l("Versionsnummer"),
                "Version",
                6,
                hint=_l(
                    "1 för den första checklistan. Läser du in en tidigare version räknas numret "
                    "upp."
                ),
            ),
            _f(
                "version_date",
                "date",
                _l("Versionens datum"),
                "Versionens datum",
                message=N_("Ange versionens datum som ÅÅÅÅ-MM-DD."),
            ),
            _f("filled_in_by", "line", _l("Ifylld av"), "Ifylld av", 120),
        ),
    ),
)

#: Every statement of the routine, in form order (Section.statements).
STATEMENTS: tuple[Statement, ...] = tuple(st for s in SECTIONS for st in s.statements)
#: Text labels of fields that earlier versions wrote and that are now gone: their lines in a
#: pasted text are known and skipped, never listed as unknown. "Inga underleverantörer" was a tick
#: until the routine's rule (§8.8) became a statement; its answer no longer means anything.
RETIRED_LABELS: tuple[str, ...] = ("Inga underleverantörer, alla insatser utförs av egen personal",)
#: Every field by name, in form order.
FIELDS: dict[str, Field] = {f.name: f for s in SECTIONS for f in s.fields}
#: The contract of ``data``: every field in form order with the kind of its value.
SCHEMA: dict[str, Kind] = {name: f.kind for name, f in FIELDS.items()}
#: (code, label) of each choice field.
CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    name: f.choices for name, f in FIELDS.items() if f.widget == "choice"
}


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
