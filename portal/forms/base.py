"""The one machine every form runs through. A form module describes itself with a FormSpec:
its WTForms class, who may submit and process it, how it is stored, checked, worded and printed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from flask import current_app
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import Length

from .. import rules
from ..i18n import N_
from ..rules import Violation


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
    # A plain form's fields that may hold protected text (issue 11 M4): kept encrypted under the
    # submission's data key and purged when it is marked done (portal/submissions.py).
    sealed_fields: tuple[str, ...] = ()
    # Fields meant to hold a personnummer (the actualisation's `personnummer`, checked by
    # R-PNR-VALID instead): exempt from R-NOTE-PNR, which every other text field gets (issue 11
    # M3, M4; free_text_violations). HTML names, as in the form.
    pnr_fields: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def keeps_reply(self) -> bool:
        """Whether the processor's reply to the submitter is kept (and asked for). Only on a plain
        form: an encrypted one's reply would outlive its purged content in plain text on the
        tombstone (issue 11 M3), so none is kept; a form may also say it wants none."""
        return self.storage == "plain" and bool(self.extra.get("reply", True))


# --- rows of a form (FieldList) ------------------------------------------------------------------

ROW_INDEX_DIGITS = 3  # no form has more than 999 rows


def row_index(raw: str) -> int | None:
    """A row number as the portal writes it, ASCII digits, at most three; else None (L2: "²" is
    str.isdigit() but int() refuses it, and int() of 5000 digits raises)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= ROW_INDEX_DIGITS:
        return int(raw)
    return None


class RowList(FieldList):
    """FieldList for every list of rows in portal/forms: a posted key whose row number is not one
    the portal writes (persons-²-full_name, persons-<5000 digits>-email) is ignored, where
    WTForms' own reading answered 500 (issue 11 L2).

    At most `max_entries` rows: by default the config's MAX_PERSON_ROWS (every list of rows is a
    list of people), read when the form is built, so that the form, the page's "Högst n rader" and
    its add-row button (templates/forms/access_order.html) have one source."""

    def __init__(self, *args: Any, max_entries: int | None = None, **kwargs: Any) -> None:
        if max_entries is None:
            max_entries = current_app.config["MAX_PERSON_ROWS"]
        super().__init__(*args, max_entries=max_entries, **kwargs)
        self.type = "FieldList"  # what the templates know it by (_macros.html)

    def _extract_indices(self, prefix: str, formdata: Any) -> Iterator[int]:
        start = prefix + self._separator
        for key in formdata:
            if isinstance(key, str) and key.startswith(start):
                index = row_index(key[len(start) :].split(self._field_separator, 1)[0])
                if index is not None:
                    yield index


def edit_rows(rows: FieldList, formdata: Any, limit: int) -> bool:
    """Add a row (`add_person`) or remove row i (`remove_person=i`) without JavaScript; True when
    the post was only that. At most `limit` rows, at least one; a bad index changes nothing."""
    if "add_person" in formdata:
        if len(rows.entries) < limit:
            rows.append_entry()
        return True
    if "remove_person" in formdata:
        index = row_index(formdata["remove_person"])
        if index is not None and len(rows.entries) > 1 and index < len(rows.entries):
            kept = [e.data for i, e in enumerate(rows.entries) if i != index]
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
    """Put each rule violation at its field, unless the field already shows a format error. The
    message is translated here, where it reaches the page (rules.Violation.render)."""
    by_name = {f.name: f for f in iter_fields(form)}
    for v in violations:
        message = v.render(gettext)
        target = by_name.get(v.field)
        if target is None:
            target = by_name.get(v.field.split("-")[0])  # a row-level rule falls back to the list
        if target is None:
            form.form_errors.append(message)
            continue
        if not isinstance(target.errors, list):
            target.errors = list(target.errors)
        if message not in target.errors and (isinstance(target, FieldList) or not target.errors):
            target.errors.append(message)


def error_summary(form: Any) -> list[tuple[str, str]]:
    """(field id, message) pairs for the summary at the top of the page."""
    out: list[tuple[str, str]] = [("", m) for m in form.form_errors]
    for f in iter_fields(form):
        if isinstance(f, FieldList):
            out.extend((f.id, m) for m in f.errors if isinstance(m, str))
        else:
            out.extend((f.id, m) for m in f.errors if isinstance(m, str))
    return out


# --- the checks every form gets (issue 11 H1, M3, M4) ---------------------------------------------

EARLIEST_YEAR = 1900
MSG_EARLY_DATE = N_("Datumet kan inte vara före år 1900.")


def _over_limit(f: Field) -> bool:
    """The field's input is longer than its Length(max=…)."""
    if not isinstance(f.data, str):
        return False
    return any(
        isinstance(v, Length) and v.max is not None and 0 <= v.max < len(f.data)
        for v in f.validators
    )


def _leaves(form: Any) -> Iterator[Field]:
    """Every field that holds a value: no lists, no CSRF token."""
    return (f for f in iter_fields(form) if not isinstance(f, FieldList | CSRFTokenField))


def _add_error(f: Field, message: str) -> None:
    if not isinstance(f.errors, list):
        f.errors = list(f.errors)
    f.errors.append(message)


def validate_input(form: Any) -> bool:
    """Format validation, one mechanism for every form: the form's own validators, then at each
    field without an error yet: no bidi control characters in any text (SPEC §4, issue 11 M3),
    no date before 1900. Errors go to their fields; input is kept.

    Returns False when some field's input is over its Length limit (H1): the caller answers with
    the format errors and runs no rule on the input, so the rules only ever see bounded text."""
    form.validate()
    for f in _leaves(form):
        if f.errors:
            continue
        if isinstance(f.data, str) and rules.contains_bidi_control(f.data):
            _add_error(f, gettext(rules.MSG_BIDI))
        elif isinstance(f.data, date) and f.data.year < EARLIEST_YEAR:
            _add_error(f, gettext(MSG_EARLY_DATE))
    return not any(_over_limit(f) for f in _leaves(form))


def free_text_violations(form: Any, pnr_fields: frozenset[str] = frozenset()) -> list[Violation]:
    """R-NOTE-PNR at every field of the form that holds text (free text, and any choice posted
    as text), but those meant to hold a personnummer (`pnr_fields`) and those with an error
    already (over a limit: never looked at). Only after validate_input said the input is usable."""
    return [
        v
        for f in _leaves(form)
        if isinstance(f.data, str) and not f.errors and f.name not in pnr_fields
        for v in rules.check_free_text(f.data, f.name)
    ]
