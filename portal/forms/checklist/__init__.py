"""Checklista vid ärenden med skyddade personuppgifter (§3, §5.3, §5.5, §5.9, §5.11, §5.12; 2021
routine `001` §3.5–3.7, §5.2–5.3.3).

The social secretary fills it in together with the client (§5.3), prints it for the locked physical
file (§5.5), pastes its text into the assignment document (uppdragsdokument, §5.9), goes through it
at the planning meeting (§5.11) and updates it at every follow-up (§5.12); the client is offered a
copy (§7.3).

**Nothing of it is stored on the server** (a render-only form), **and it never travels as a data
file** (routine 2021 §2): the PDF is for the locked paper file only, carries no embedded data and
is shown inline to print. The next version starts from the text the portal gave for the
assignment document: the social secretary copies it from the uppdragsdokument in Treserva and
pastes it into ``POST /forms/checklist/import`` (field ``text``); ``parse_text`` reads it back
through the same layout that ``assignment_text`` writes it with, and lists every line it cannot
read, never guessing. The audit log gets only who made or imported which version number, and when.

The package, written around one schema:

- ``schema.py``: every field once (name, widget, label, text label, max length, choices, hint),
  in sections, with the routine's rules a section states rather than asks (``Statement``: "no
  subcontractors", §8.8); the field names are the HTML names and the keys of ``data``;
- ``form.py``: the WTForms class made from it, and form <-> data;
- ``checks.py``: the rules, one function per section;
- ``text.py``: the assignment-document text and its reader.

The page (templates/forms/checklist.html) and the print (pdf_templates/checklist.html, blank and
filled) iterate over the schema's sections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from flask_wtf import FlaskForm

from ... import follow_ups
from ...i18n import N_
from ...render import file_names, pdf
from ...rules import Violation
from ..base import CheckContext, RenderOnlyForm
from .checks import SECTION_RULES, check_checklist
from .form import ChecklistForm, form_values, to_data
from .form import day as day_of
from .schema import (
    CHOICES,
    FIELDS,
    INFO_ITEMS,
    RETIRED_LABELS,
    SCHEMA,
    SECTIONS,
    STATEMENTS,
    Field,
    Section,
    Statement,
    clean_text,
    line_cap,
)
from .text import (
    END,
    MSG_ABSENT,
    MSG_BROKEN,
    MSG_MISSING,
    MSG_NO_CHECKLIST,
    MSG_STRAY,
    MSG_TOO_LARGE,
    MSG_TWICE,
    MSG_UNKNOWN,
    START,
    TEXT_LAYOUT,
    ImportRefused,
    Parsed,
    Problem,
    assignment_text,
    parse_text,
    read_text,
)

if TYPE_CHECKING:
    from ...models import User

__all__ = [
    "CHOICES",
    "END",
    "FIELDS",
    "INFO_ITEMS",
    "MSG_ABSENT",
    "MSG_BROKEN",
    "MSG_MISSING",
    "MSG_NO_CHECKLIST",
    "MSG_STRAY",
    "MSG_TOO_LARGE",
    "MSG_TWICE",
    "MSG_UNKNOWN",
    "RETIRED_LABELS",
    "SCHEMA",
    "SECTIONS",
    "SECTION_RULES",
    "START",
    "STATEMENTS",
    "TEXT_LAYOUT",
    "Checklist",
    "ChecklistForm",
    "Field",
    "ImportRefused",
    "Parsed",
    "Problem",
    "Restored",
    "Section",
    "Statement",
    "assignment_text",
    "check_checklist",
    "clean_text",
    "form_values",
    "line_cap",
    "parse_text",
    "read_text",
    "restore",
    "subject",
    "to_data",
]

# The print template lays the checklist out from the same sections (pdf_templates/checklist.html,
# blank and filled): the print environment knows them by this name.
pdf.add_template_global("checklist_sections", SECTIONS)


def subject(data: Mapping[str, Any]) -> str:
    """The heading of the text for the assignment document: version number only, never a name."""
    return f"Checklista skyddade personuppgifter, version {data.get('version') or 1}"


def _prefill(form: Any, user: User, day: date, version: str) -> None:
    form.version.data = version
    form.version_date.data = day
    form.filled_in_by.data = user.full_name


@dataclass
class Restored:
    form: FlaskForm  # a ChecklistForm
    previous_version: int | None


def restore(data: Mapping[str, Any], user: User, day: date) -> Restored:
    """The form for the next version: every field as it was, the version raised by one, dated
    ``day`` and filled in by ``user`` (§5.12). A version that could not be read stays empty for
    the user to fill in, never guessed."""
    previous = data.get("version") if isinstance(data.get("version"), int) else None
    form = ChecklistForm(formdata=None, **form_values(data))
    _prefill(form, user, day, "" if previous is None else str(previous + 1))
    return Restored(form, previous)


class Checklist(RenderOnlyForm):
    """Checklista vid ärenden med skyddade personuppgifter: checked, shown as the text for the
    assignment document and printed for the locked file; never stored."""

    key = "checklist"
    title = "Checklista vid ärenden med skyddade personuppgifter"
    form_class = ChecklistForm
    submit_roles = frozenset({"social_secretary"})
    distribution_list = "assignment_document"
    # §5.9, §5.12: the checklist goes into the assignment document in Treserva, not in a message.
    treserva_step = N_(
        "Rutinen kräver att checklistan läggs in i uppdragsdokumentet i Treserva: kopiera texten "
        "och klistra in den där – den skickas inte som meddelande (§5.9, §5.12)."
    )
    has_blank = True
    position = 30
    result_template = "forms/checklist_result.html"
    # For the locked paper file: no embedded data (H2), the default PDF/UA-1 (tagged for screen
    # readers), shown in the browser to print rather than saved as a file.
    pdf_disposition: ClassVar[Literal["attachment", "inline"]] = "inline"
    #: The schema's sections, for the page (templates/forms/checklist.html).
    sections: ClassVar[tuple[Section, ...]] = SECTIONS
    pdf_words = "checklista"

    def prefill(self, form: Any, user: User, day: date) -> None:
        """Version 1, dated today, filled in by the user."""
        _prefill(form, user, day, "1")

    def to_data(self, form: Any, user: User) -> dict[str, Any]:
        return to_data(form)

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[Violation]:
        return check_checklist(data, ctx.today, ctx.config["CASE_NUMBER_PATTERN"])

    def subject(self, data: dict[str, Any]) -> str:
        return subject(data)

    def remember(self, data: dict[str, Any], user: User, day: date) -> None:
        """Issue 16, part E: the next follow-up (§5.12) and, with lokalt skydd, its end (§1.3)
        are remembered for the social secretary as the case number and the date, nothing else
        of the checklist (portal/follow_ups.py)."""
        case = data.get("case_number")
        due = day_of(data.get("next_follow_up"))
        follow_ups.remember(user, case, follow_ups.CHECKLIST, due, day)
        if data.get("protection_kind") == "lokalt_skydd":
            until = day_of(data.get("local_protection_until"))
            follow_ups.remember(user, case, follow_ups.LOCAL_PROTECTION, until, day)

    def pdf_filename(self, data: Mapping[str, Any], day: date) -> str:
        """``checklista-v2-2026-12-01.pdf``: the version and the version's date (``day`` when it
        has none), never the case number (issue 14 item 10)."""
        version = data.get("version")
        return file_names.dated(
            self.pdf_words or self.title,
            day_of(data.get("version_date")) or day,
            version if isinstance(version, int) and not isinstance(version, bool) else None,
        )
