"""The checklist's WTForms class, made from the schema (as Indico's ``make_survey_form`` makes a
survey's), and the conversions between the form and ``data``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms import Field as FormField
from wtforms.validators import Length, ValidationError

from ...i18n import N_, _l
from ..fields import IsoDateField
from .schema import SCHEMA, SECTIONS, Field, clean_text, line_cap

LINE_CAP_MESSAGE = N_("Högst %(n)s rader. Skriv kortare, eller slå ihop rader.")


class MaxLines:
    """At most ``n`` lines (L7: a text area of line breaks alone printed for pages and seconds)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, str) and len(field.data.splitlines()) > self.n:
            raise ValidationError(
                _("Skriv på en rad.") if self.n == 1 else _(LINE_CAP_MESSAGE, n=self.n)
            )


def _length(n: int) -> Length:
    return Length(max=n, message=_l("Högst %(n)s tecken.", n=n))


def make_field(f: Field) -> FormField:
    """The WTForms field of one schema field: a one-line text at most ``max_length`` characters
    on one line, a text area at most ``max_length`` characters and line_cap lines, a tick, an ISO
    date (its message naming it), radios (whose missing answer the rules name, R-REQUIRED), or a
    number as text."""
    if f.widget in ("line", "int", "area") and f.max_length is None:
        raise ValueError(f"checklist field {f.name}: a text needs its max_length")
    n = f.max_length or 0
    if f.widget == "line" or f.widget == "int":
        kw = {"inputmode": "numeric"} if f.widget == "int" else None
        return StringField(f.label, validators=[_length(n), MaxLines(1)], render_kw=kw)
    if f.widget == "area":
        return TextAreaField(f.label, validators=[_length(n), MaxLines(line_cap(n))])
    if f.widget == "bool":
        return BooleanField(f.label)
    if f.widget == "date":
        return IsoDateField(f.label, f.message or "")
    # validate_choice off: the rules say what is missing, in Swedish (R-REQUIRED).
    return RadioField(f.label, choices=list(f.choices), validate_choice=False)


def make_form(name: str, fields: list[Field]) -> type[FlaskForm]:
    """A FlaskForm subclass with one field per schema field, in schema order."""
    return type(name, (FlaskForm,), {f.name: make_field(f) for f in fields})


ChecklistForm = make_form("ChecklistForm", [f for s in SECTIONS for f in s.fields])
ChecklistForm.__doc__ = "Checklista vid ärenden med skyddade personuppgifter: one field per point."


def _iso(value: date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def day(value: Any) -> date | None:
    """An ISO date string as a date; anything else None."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def whole_number(value: Any) -> int | None:
    """A version number as the portal writes it: ASCII digits, at most six; else None."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


def to_data(form: Any) -> dict[str, Any]:
    """The form as plain JSON values, in SCHEMA order (dates ISO, ticks bool, choices str)."""
    data: dict[str, Any] = {}
    for name, kind in SCHEMA.items():
        value = form[name].data
        if kind == "text":  # one shape, so that the assignment text reads back exactly
            data[name] = clean_text(value or "")
        elif kind == "bool":
            data[name] = bool(value)
        elif kind == "date":
            data[name] = _iso(value)
        elif kind == "choice":
            data[name] = value or ""
        else:
            data[name] = whole_number(value)
    if data["protection_kind"] != "lokalt_skydd":
        data["local_protection_until"] = None  # only lokalt skydd has an end date (§1.3)
    return data


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as values for ``ChecklistForm(formdata=None, **values)`` (dates as ``date``)."""
    values: dict[str, Any] = {}
    for name, kind in SCHEMA.items():
        value = data.get(name)
        if kind == "date":
            values[name] = day(value)
        elif kind == "int":
            values[name] = "" if value is None else str(value)
        else:
            values[name] = value
    return values
