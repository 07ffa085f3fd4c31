"""The paper kit (issue 16 item 3; SPEC §3.8): the paper sheets of the routine that are no form
kind, each described once here and served from its print template.

- ``/blank/<slug>.pdf`` (portal/views/blank.py): every sheet blank, for every logged-in user
  (a blank holds no data); the start page (``#blanketter``, portal/menu.py) lists each sheet for
  the users it serves (``Sheet.serves``: its roles and, where the routine limits it, unit types).
- ``/day-notes/<file_id>/kit/<slug>.pdf`` (portal/views/day_notes.py): a sheet marked
  prefillable, with a fictional file's fictional name and unit filled in (never the case number,
  never the real name), for the users of the file's unit it is prefilled for
  (``Sheet.prefills_for``); audited like every print of the file (``print_prefilled``).

A sheet is printed, never typed into: nothing written on it reaches the portal. The day-note
sheet (§7.5, §8.6) is one of them; its older prefilled address ``/day-notes/<id>/sheet.pdf``
serves the same print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from . import audit
from .i18n import N_
from .models import ROLES
from .render import file_names
from .render.pdf import render_pdf

if TYPE_CHECKING:
    from .models import FictionalFile, User


@dataclass(frozen=True)
class Sheet:
    """One paper sheet of the kit."""

    #: The URL name (English): ``/blank/<slug>.pdf``.
    slug: str
    #: Its print template in pdf_templates/ (extends base.html; ``blank`` true on the blank print,
    #: ``fictional_name`` and ``unit_name`` on a prefilled one).
    template: str
    #: The Swedish title on the start page (a msgid: ``gettext(sheet.title)`` where it is shown).
    title: str
    #: The words of its file names (render/file_names.py): ``blankett-<words>.pdf`` blank,
    #: ``<words>-<date>.pdf`` prefilled; Swedish, never a name.
    words: str
    #: The roles whose work it is (SPEC §2 codes): listed on their start page.
    roles: frozenset[str]
    #: The unit types it serves (None: every unit type), where the routine limits it.
    unit_types: frozenset[str] | None = None
    #: Who may print it prefilled with a fictional file's name (from the file's page; a subset of
    #: ``roles``); empty: blank only.
    prefill_roles: frozenset[str] = frozenset()

    @property
    def prefillable(self) -> bool:
        return bool(self.prefill_roles)

    def serves(self, user: User) -> bool:
        """Whether the sheet is part of ``user``'s work: one of its roles, in one of its unit
        types (a user without a unit has no role: refused by the first test)."""
        if not user.has_role(*self.roles):
            return False
        return self.unit_types is None or user.unit.unit_type in self.unit_types

    def prefills_for(self, user: User) -> bool:
        """Whether ``user`` may print it prefilled with a fictional file's name (the file being
        of the user's unit is the caller's check: day_notes.file_of)."""
        return self.prefillable and self.serves(user) and user.has_role(*self.prefill_roles)

    def blank_filename(self, fillable: bool = False) -> str:
        return file_names.blank(self.words, fillable)

    def filled_filename(self, day: date) -> str:
        return file_names.dated(self.words, day)


#: The day-note sheet's slug (its prefilled print keeps its own audit action).
DAY_NOTES = "day-notes"


def _roles(*roles: str) -> frozenset[str]:
    unknown = set(roles) - set(ROLES)
    if unknown:  # a typo would silently serve nobody
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return frozenset(roles)


#: Trygghetsjouren's out-of-hours sheets serve everyone who works there (§9.6: the jourledare
#: documents on paper; LVS at Trygghetsjouren documents in Treserva).
_TRYGGHETSJOUREN = frozenset({"trygghetsjouren"})

SHEETS: dict[str, Sheet] = {
    sheet.slug: sheet
    for sheet in (
        # Daganteckning / dokumentationsblankett (§7.5, §8.6): for those of the day notes (the
        # roles of /day-notes/); prefilled by those who write notes (views/day_notes.py WRITERS).
        Sheet(
            slug=DAY_NOTES,
            template="day_notes.html",
            title=N_("Daganteckningar (dokumentationsblankett)"),
            words=file_names.DAY_NOTE_SHEET,
            roles=_roles("staff", "unit_manager", "planner"),
            prefill_roles=_roles("staff", "unit_manager"),
        ),
        # Handlingsplan (§7.2; 003: a risk assessment and action plan in every case): drawn up by
        # the performer's unit manager (uppdragsmottagare), with the social secretary.
        Sheet(
            slug="action-plan",
            template="action_plan.html",
            title=N_("Handlingsplan (§7.2)"),
            words="handlingsplan",
            roles=_roles("unit_manager", "social_secretary"),
            prefill_roles=_roles("unit_manager"),
        ),
        # Nyckelkvittens (§8.4): "vanligen enhetschef eller planerare" in home care.
        Sheet(
            slug="key-receipt",
            template="key_receipt.html",
            title=N_("Nyckelkvittens under det fiktiva namnet (§8.4)"),
            words="nyckelkvittens",
            roles=_roles("unit_manager", "planner"),
            unit_types=frozenset({"hemtjanst"}),
            prefill_roles=_roles("unit_manager", "planner"),
        ),
        # Förteckning över vem som hanterat akten (2021 §5.7: "Dokumentation av de personer som
        # har haft tillgång till akten ska ske"): everyone who keeps a locked paper file.
        Sheet(
            slug="file-record",
            template="file_record.html",
            title=N_("Förteckning över vem som hanterat akten (2021 §5.7)"),
            words="forteckning hanterat akten",
            roles=_roles("unit_manager", "social_secretary", "planner", "lvs"),
            prefill_roles=_roles("unit_manager", "planner"),
        ),
        # Trygghetsjouren, jourtid (§9.6): what the jourledare told whom, documented on paper and
        # thrown away once LVS has documented it in Treserva. Never prefilled: no fictional file.
        Sheet(
            slug="out-of-hours-short-term",
            template="out_of_hours_short_term.html",
            title=N_("Trygghetsjouren jourtid: korttidsplats (§9.6)"),
            words="jourtid korttid",
            roles=frozenset(ROLES),
            unit_types=_TRYGGHETSJOUREN,
        ),
        Sheet(
            slug="out-of-hours-home-care",
            template="out_of_hours_home_care.html",
            title=N_("Trygghetsjouren jourtid: hemtjänst (§9.6)"),
            words="jourtid hemtjanst",
            roles=frozenset(ROLES),
            unit_types=_TRYGGHETSJOUREN,
        ),
        Sheet(
            slug="out-of-hours-alarm",
            template="out_of_hours_alarm.html",
            title=N_("Trygghetsjouren jourtid: trygghetslarm (§9.6)"),
            words="jourtid trygghetslarm",
            roles=frozenset(ROLES),
            unit_types=_TRYGGHETSJOUREN,
        ),
    )
}


def sheets_for(user: User) -> list[Sheet]:
    """The sheets of ``user``'s work, in the kit's order (the start page's blanks)."""
    return [sheet for sheet in SHEETS.values() if sheet.serves(user)]


def prefillable(slug: str) -> Sheet | None:
    """The sheet at ``slug`` if it can be prefilled with a fictional file's name; else None."""
    sheet = SHEETS.get(slug)
    return sheet if sheet is not None and sheet.prefillable else None


def print_prefilled(sheet: Sheet, file: FictionalFile, user: User) -> bytes:
    """``sheet`` with the fictional file's fictional name and unit filled in: never the case
    number. Audited once it is rendered (the audit chain's lock is not held while WeasyPrint
    works), as every print of the file: the file's public id, unit and case number, the sheet's
    slug; never the fictional name. The day-note sheet's event is the one it always was."""
    body = render_pdf(sheet.template, fictional_name=file.fictional_name, unit_name=file.unit.name)
    if sheet.slug == DAY_NOTES:
        _record("day_note_sheet_printed", file, user)
    else:
        _record("paper_kit_printed", file, user, detail=sheet.slug)
    return body


def _record(action: str, file: FictionalFile, user: User, detail: str | None = None) -> None:
    audit.record(
        action,
        user=user,
        object_type="fictional_file",
        object_id=file.public_id,
        unit_id=file.unit_id,
        case_number=file.case_number,
        detail=detail,
    )
