"""The one machine every form runs through. A form module describes itself with a FormSpec:
its WTForms class, who may submit and process it, how it is stored, checked, worded and printed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField

from ..rules import Violation

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def today() -> date:
    """The routine's dates are Swedish calendar dates."""
    return datetime.now(STOCKHOLM).date()


@dataclass(frozen=True)
class FormSpec:
    key: str  # code name, e.g. "access_order"
    slug: str  # URL name, e.g. "access-order"
    title: str  # Swedish title
    form_class: type[FlaskForm]
    submit_roles: frozenset[str]
    process_roles: frozenset[str]  # who works the queue for this form
    storage: Literal["none", "plain", "encrypted"]
    distribution_list: str  # key of DISTRIBUTION_LISTS
    to_data: Callable[[Any], dict[str, Any]]
    check: Callable[[dict[str, Any], Any, date], list[Violation]]
    subject: Callable[[dict[str, Any]], str]
    page_template: str
    message_template: str
    pdf_template: str
    blank_template: str
    case_number: Callable[[dict[str, Any]], str | None] = lambda data: None
    flagged: Callable[[dict[str, Any], Any, date], bool] = lambda data, user, day: False
    on_done: Callable[[Any, Any, date], None] | None = None
    prefill: Callable[[Any, Any], None] | None = None
    handle_rows: Callable[[Any], bool] | None = None
    # "all": every holder of a process role (LVS); "unit": only those in the submission's unit
    # (a unit's managers register its deviation reports).
    process_scope: Literal["all", "unit"] = "all"
    # What the processor does, in words on the button and in the flash ("Markera som klar").
    done_label: str = "Markera som klar"
    # Render-only forms (storage "none"): the page that shows the result of a valid post.
    result_template: str | None = None
    # A PDF of a render-only form; may add attachments (the checklist's signed data).
    pdf_attachments: Callable[[dict[str, Any]], list[Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def edit_rows(rows: FieldList, formdata: Any, limit: int) -> bool:
    """Add a row (`add_person`) or remove row i (`remove_person=i`) without JavaScript; True when
    the post was only that. At most `limit` rows, at least one; a bad index changes nothing."""
    if "add_person" in formdata:
        if len(rows.entries) < limit:
            rows.append_entry()
        return True
    if "remove_person" in formdata:
        raw = formdata["remove_person"]
        if (
            raw.isdigit()
            and len(raw) <= 3
            and len(rows.entries) > 1
            and int(raw) < len(rows.entries)
        ):
            kept = [e.data for i, e in enumerate(rows.entries) if i != int(raw)]
            while rows.entries:
                rows.pop_entry()
            for row in kept:
                rows.append_entry(row)
        return True
    return False


def iter_fields(form: Any) -> Iterator[Field]:
    """Every leaf field, FieldList rows included, with its HTML name (persons-0-email)."""
    for f in form:
        if isinstance(f, FieldList):
            yield f
            for entry in f.entries:
                yield from iter_fields(entry.form) if isinstance(entry, FormField) else [entry]
        elif isinstance(f, FormField):
            yield from iter_fields(f.form)
        else:
            yield f


def attach_violations(form: Any, violations: list[Violation]) -> None:
    """Put each rule violation at its field, unless the field already shows a format error."""
    by_name = {f.name: f for f in iter_fields(form)}
    for v in violations:
        target = by_name.get(v.field)
        if target is None:
            target = by_name.get(v.field.split("-")[0])  # a row-level rule falls back to the list
        if target is None:
            form.form_errors.append(v.message)
            continue
        if not isinstance(target.errors, list):
            target.errors = list(target.errors)
        if v.message not in target.errors and (isinstance(target, FieldList) or not target.errors):
            target.errors.append(v.message)


def error_summary(form: Any) -> list[tuple[str, str]]:
    """(field id, message) pairs for the summary at the top of the page."""
    out: list[tuple[str, str]] = [("", m) for m in form.form_errors]
    for f in iter_fields(form):
        if isinstance(f, FieldList):
            out.extend((f.id, m) for m in f.errors if isinstance(m, str))
        else:
            out.extend((f.id, m) for m in f.errors if isinstance(m, str))
    return out


def has_errors(form: Any) -> bool:
    return bool(error_summary(form))
