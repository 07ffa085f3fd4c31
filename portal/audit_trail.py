"""The audit trail as people read it (granskningslogg; SPEC §2: an admin the whole log, a unit
manager the events of their own unit's cases; the routine's §4.1 self-check, SECURITY.md).

- Labels: every action and outcome code the portal writes has its Swedish label here, in one
  place (tests/test_audit_page.py finds every code the code base writes and fails on one without a
  label, so no event reaches the page in English).
- `entries()`: one page of events, newest first, with the actor's full name (joined from users by
  id *and* username, so a deleted user, or an id reused later, shows the username it had), filtered
  by case number, username, action and Swedish calendar dates, in the reader's scope.
- `csv_extract()`: the same rows as a spreadsheet file for Swedish Excel: UTF-8 with BOM, `;`,
  Swedish headers, and every cell that a spreadsheet would run as a formula prefixed with `'`.
- `chain_state()`: the hash chain checked now (portal/audit.py `verify`), never cached.

A unit manager sees a filtered subset of the global chain: their page and file carry no chain
number (its gaps would look like deleted rows), only the time; an admin's carry it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import Row, Select, and_, func, select

from . import audit
from .clock import local, start_of_day
from .extensions import db
from .i18n import LazyText, _l
from .models import AuditEvent, User

# --- labels ---------------------------------------------------------------------------------------

#: Every action code written (portal/, migrations/), and those older versions wrote, in Swedish.
ACTIONS: dict[str, LazyText] = {
    # signing in and out
    "login": _l("Inloggning"),
    "logout": _l("Utloggning"),
    "login_failed": _l("Misslyckad inloggning"),
    "reauthenticated": _l("Lösenordet angivet igen"),
    "login_unlocked": _l("Inloggning upplåst"),
    # signing in with the city account (issue 15, part O)
    "sso_login": _l("Inloggning med stadens konto"),
    "sso_login_failed": _l("Misslyckad inloggning med stadens konto"),
    "sso_user_created": _l("Ny användare från stadens konto"),
    "sso_roles_changed": _l("Roller ändrade från stadens konto"),
    # accounts, units, keys (flask commands)
    "user_created": _l("Användare skapad"),
    "user_deactivated": _l("Användare avaktiverad"),
    "user_roles_changed": _l("Användarens roller ändrade"),
    "password_set": _l("Lösenord bytt"),
    "password_refused": _l("Lösenord avvisat"),
    "unit_created": _l("Enhet skapad"),
    # user and unit administration (issue 15: /admin and the commands, portal/accounts.py)
    "user_changed": _l("Användarens uppgifter ändrade"),
    "user_reactivated": _l("Användare aktiverad igen"),
    "user_refused": _l("Ändring av användare avvisad"),
    "unit_changed": _l("Enhet ändrad"),
    "unit_refused": _l("Ändring av enhet avvisad"),
    "backup_made": _l("Säkerhetskopia gjord"),
    "keys_rotated": _l("Krypteringsnycklar bytta"),
    # who may see what
    "access_denied": _l("Nekad åtkomst till sida"),
    "submission_denied": _l("Nekad åtkomst till blankett"),
    "day_notes_denied": _l("Nekad åtkomst till daganteckningar"),
    # stored forms
    "submission_created": _l("Blankett skickad"),
    "submission_viewed": _l("Blankett visad"),
    "message_fetched": _l("Meddelandetext hämtad"),
    "pdf_fetched": _l("PDF hämtad"),
    "json_fetched": _l("JSON-export hämtad"),
    "submission_processed": _l("Blankett markerad som hanterad"),
    "protected_content_read": _l("Skyddat innehåll läst"),
    "protected_content_purged": _l("Skyddat innehåll raderat"),
    "protected_content_unreadable": _l("Skyddat innehåll kunde inte läsas"),
    # the routine's rules
    "access_order_refused": _l("Behörighetsbeställning avvisad"),
    "grant_refused": _l("Behörighet avvisad"),
    "local_protection_refused": _l("Lokalt skydd avvisat"),
    "person_limit_exceeded": _l("Fler personer än gränsen"),
    "form_refused": _l("Blankett avvisad"),
    # render-only forms and the checklist
    "pdf_rendered": _l("PDF skapad"),
    "message_rendered": _l("Meddelande skapat"),
    "checklist_imported": _l("Checklista inläst"),
    "checklist_version": _l("Checklista skapad"),  # written before issue 12
    # issue 16, part A: the check before disclosing (case number, who, when; nothing else)
    "disclosure_checked": _l("Kontroll före utlämnande gjord"),
    # issue 16, part B: an envelope sheet checked but not printed (a post without as_pdf)
    "sheet_checked": _l("Ark kontrollerat, inte utskrivet"),
    # fictional files and day notes
    "fictional_files_listed": _l("Fiktiva akter listade"),
    "fictional_file_created": _l("Fiktiv akt skapad"),
    "fictional_file_closed": _l("Fiktiv akt stängd"),
    "fictional_file_deleted": _l("Fiktiv akt raderad"),
    "day_note_sheet_printed": _l("Daganteckningsblad utskrivet"),
    # issue 16, part C: a paper-kit sheet prefilled with the fictional name (detail: its slug)
    "paper_kit_printed": _l("Blankett med fiktivt namn utskriven"),
    "day_notes_viewed": _l("Daganteckningar visade"),
    "day_note_added": _l("Daganteckning skriven"),
    "day_notes_compile_viewed": _l("Daganteckningar visade för sammanställning"),
    "day_notes_compiled": _l("Daganteckningar markerade som sammanställda"),
    # cases, retention, the log itself
    "case_closed": _l("Ärende avslutat"),
    # follow-ups on the start page (issue 16, part E)
    "follow_up_done": _l("Uppföljning markerad klar"),
    "follow_up_denied": _l("Nekad åtkomst till uppföljning"),
    "purge": _l("Gallring"),
    "audit_chain_keyed": _l("Granskningsloggen nyckelsäkrad"),
    "audit_chain_unkeyed": _l("Granskningsloggens nyckel borttagen"),
    "audit_log_exported": _l("Loggutdrag hämtat"),
    # notices by e-mail (issue 15, part N; detail: the kind's code, or how many failed)
    "notice_sent": _l("E-postavisering skickad"),
    "notices_failed": _l("E-postaviseringar kunde inte skickas"),
    # the self-check of access and the printed register (issue 16, part D; §4.1)
    "self_check_recorded": _l("Egenkontroll genomförd"),
    "self_check_refused": _l("Egenkontroll avvisad"),
    "register_printed": _l("Behörighetsregistret utskrivet"),
}

#: Every outcome code written.
OUTCOMES: dict[str, LazyText] = {
    "ok": _l("Genomfört"),
    "denied": _l("Nekad"),
    "refused": _l("Avvisad"),
    "failed": _l("Misslyckades"),
    "locked": _l("Spärrad"),
    "flagged": _l("Flaggad"),
}

#: Object types that are not a form's key (those are named by the form's title).
OBJECT_TYPES: dict[str, LazyText] = {
    "submission": _l("Blankett"),
    "fictional_file": _l("Fiktiv akt"),
    "user": _l("Användare"),
    "unit": _l("Enhet"),
    "case": _l("Ärende"),
    "database": _l("Databas"),
    "key": _l("Nyckel"),
    "retention": _l("Gallringsregel"),
    "audit_log": _l("Granskningslogg"),
    "encrypted": _l("Krypterat innehåll"),
    "notices": _l("E-postaviseringar"),
    "self_check": _l("Egenkontroll"),  # issue 16, part D
    "register": _l("Behörighetsregister"),  # issue 16, part D
    "follow_up": _l("Uppföljning"),  # issue 16, part E
}

def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else gettext("Okänd händelse (%(code)s)", code=code)


def outcome_label(code: str) -> str:
    label = OUTCOMES.get(code)
    return str(label) if label is not None else gettext("Okänt utfall (%(code)s)", code=code)


def object_label(code: str | None) -> str:
    if not code:
        return ""
    label = OBJECT_TYPES.get(code)
    if label is not None:
        return str(label)
    from .forms import BY_KEY  # the registry imports every form module: only when needed

    kind = BY_KEY.get(code)
    return gettext(kind.title) if kind is not None else code


def action_choices() -> list[tuple[str, str]]:
    """(code, label) of every action, by label: the filter's list."""
    return sorted(((code, str(label)) for code, label in ACTIONS.items()), key=lambda c: c[1])


# --- the rows a reader sees -----------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the reader narrowed the log to; every value already checked (views/audit_log.py)."""

    case: str | None = None
    username: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def query_args(self) -> dict[str, str]:
        """The filters as the page's query string has them (pagination, the CSV link)."""
        values = {
            "case": self.case,
            "username": self.username,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {k: v for k, v in values.items() if v}

    def describe(self) -> str:
        """For the export's audit event: which filters, with staff and case values only."""
        return ", ".join(f"{k}={v}" for k, v in self.query_args().items()) or "inga"


@dataclass(frozen=True)
class Entry:
    """One event as the page and the file show it: labels translated, times local."""

    seq: int
    at: str
    full_name: str | None
    username: str | None
    action: str
    action_label: str
    outcome: str
    outcome_label: str
    object_label: str
    object_id: str
    case_number: str


def may_see_all(user: Any) -> bool:
    return bool(user.has_role("admin"))


# The columns shown, read as plain rows (no ORM objects: an extract may hold 100,000).
_SHOWN = (
    AuditEvent.seq,
    AuditEvent.created_at,
    AuditEvent.username,
    AuditEvent.action,
    AuditEvent.outcome,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.case_number,
)


def _query(user: Any, filters: Filters) -> Select[*tuple[Any, ...]]:
    """The reader's events with their actor's current full name: an admin every unit's, a unit
    manager their own unit's. The user is joined by id and username: an id whose row was deleted
    or reused by another account gives no name, and the page shows the username recorded."""
    q = select(*_SHOWN, User.full_name).outerjoin(
        User, and_(User.id == AuditEvent.user_id, User.username == AuditEvent.username)
    )
    if not may_see_all(user):
        q = q.where(AuditEvent.unit_id == user.unit_id)
    if filters.case:
        q = q.where(AuditEvent.case_number == filters.case)
    if filters.username:
        q = q.where(AuditEvent.username == filters.username)
    if filters.action:
        q = q.where(AuditEvent.action == filters.action)
    if filters.date_from:
        q = q.where(AuditEvent.created_at >= start_of_day(filters.date_from))
    if filters.date_to:
        q = q.where(AuditEvent.created_at < start_of_day(filters.date_to + timedelta(days=1)))
    return q


def _entry(ev: Row[Any]) -> Entry:
    return Entry(
        seq=ev.seq,
        at=local(ev.created_at),
        full_name=ev.full_name,
        username=ev.username,
        action=ev.action,
        action_label=action_label(ev.action),
        outcome=ev.outcome,
        outcome_label=outcome_label(ev.outcome),
        object_label=object_label(ev.object_type),
        object_id=ev.object_id or "",
        case_number=ev.case_number or "",
    )


def entries(user: Any, filters: Filters, page: int, size: int) -> tuple[list[Entry], bool]:
    """One page of the reader's events, newest first, and whether an older page exists."""
    rows = db.session.execute(
        _query(user, filters)
        .order_by(AuditEvent.seq.desc())
        .offset((page - 1) * size)
        .limit(size + 1)
    ).all()
    return [_entry(row) for row in rows[:size]], len(rows) > size


def count(user: Any, filters: Filters) -> int:
    """How many events the reader's filters match (the extract's size, before it is made)."""
    q = select(func.count()).select_from(_query(user, filters).subquery())
    return int(db.session.scalar(q) or 0)


# --- the CSV extract (§4.1 self-check) -----------------------------------------------------------

# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A cell that a spreadsheet shows as text, never runs: a formula start gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _columns(all_units: bool) -> list[str]:
    head = [gettext("Nr i kedjan")] if all_units else []
    return head + [
        gettext("Tid"),
        gettext("Namn"),
        gettext("Användarnamn"),
        gettext("Händelse"),
        gettext("Utfall"),
        gettext("Ärende"),
        gettext("Objekt"),
        gettext("Objektets id"),
    ]


def _cells(e: Entry, all_units: bool) -> list[object]:
    head: list[object] = [e.seq] if all_units else []
    return head + [
        e.at,
        e.full_name or "",
        e.username or "",
        e.action_label,
        e.outcome_label,
        e.case_number,
        e.object_label,
        e.object_id,
    ]


def _all_entries(user: Any, filters: Filters, batch: int = 2000) -> Iterator[Entry]:
    """Every matching event, newest first, read in batches by seq (no growing OFFSET)."""
    below: int | None = None
    while True:
        q = _query(user, filters)
        if below is not None:
            q = q.where(AuditEvent.seq < below)
        rows = db.session.execute(q.order_by(AuditEvent.seq.desc()).limit(batch)).all()
        yield from map(_entry, rows)
        if len(rows) < batch:
            return
        below = rows[-1].seq


def csv_extract(user: Any, filters: Filters) -> tuple[bytes, int]:
    """The reader's events as a CSV file for Swedish Excel, and how many rows it holds."""
    all_units = may_see_all(user)
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: Excel then reads UTF-8 (å, ä, ö)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([cell(c) for c in _columns(all_units)])
    rows = 0
    for e in _all_entries(user, filters):
        writer.writerow([cell(c) for c in _cells(e, all_units)])
        rows += 1
    return out.getvalue().encode("utf-8"), rows


def record_export(user: Any, filters: Filters, rows: int) -> None:
    """The extract is itself an event, in the request's transaction (SPEC §1.4)."""
    audit.record(
        "audit_log_exported",
        user=user,
        object_type="audit_log",
        unit_id=user.unit_id,
        case_number=filters.case,
        detail=f"rader: {rows}; filter: {filters.describe()}",
    )


# --- the chain's state (admins) ------------------------------------------------------------------


@dataclass(frozen=True)
class ChainState:
    """The chain checked in this request: whole, or where it breaks and why."""

    ok: bool
    checked: int
    first: int  # the first seq checked (1 unless only the newest were)
    last: int  # the last seq checked
    broken_seq: int | None
    reason: str
    unanchored: int
    page_of_break: int | None  # the page of the unfiltered log that shows the broken event


def chain_state(config: Mapping[str, Any], page_size: int) -> ChainState:
    """portal/audit.py `verify` now, over the newest AUDIT_PAGE_VERIFY_NEWEST events (0: all).
    Never cached: an edit made a second ago shows at once."""
    newest = int(config.get("AUDIT_PAGE_VERIFY_NEWEST") or 0)
    result = audit.verify(newest=newest or None)
    head = int(db.session.scalar(select(func.max(AuditEvent.seq))) or 0)
    first = max(head - newest, 0) + 1 if newest else 1
    page = None
    if result.broken_seq is not None:
        newer = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.seq > result.broken_seq)
        )
        page = int(newer or 0) // page_size + 1
    return ChainState(
        ok=result.ok,
        checked=result.checked,
        first=first,
        last=first + result.checked - 1,
        broken_seq=result.broken_seq,
        reason=result.reason,
        unanchored=result.unanchored,
        page_of_break=page,
    )
