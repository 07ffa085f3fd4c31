"""The text for the assignment document (uppdragsdokument, §5.9), and reading it back (§5.12).

The checklist never travels as a file (routine 2021 §2): the next version starts from the text
the portal gave for the assignment document, copied out of Treserva and pasted back. The format
is the portal's own, written and read through one layout made from the schema (``TEXT_LAYOUT``:
each section's ``text`` heading, each field's ``text`` label), so the two cannot drift::

    * TYP AV SKYDD                          a heading (only for the reader)
    * Typ av skydd: Skyddad folkbokföring   a field: its label, a colon, its value
    * Hotbild: first line of the text       a text's first line on the label line ...
    | second line                           ... and each further line after a bar
    * Rutinen §8.8, underleverantörer ...   a rule the section states (Statement), after
                                            its fields: a known line, nothing to read

A line that starts with neither "*" nor "|" continues the line above (a paste that wrapped a long
line), so wrapping, indentation, trailing or non-breaking spaces, tabs, CRLF and blank lines do
not change what is read. In values every "*" and "|" is written twice, so a wrapped value can
never look like the start of a line. Text values are kept in one canonical shape (clean_text)
by to_data, which makes parse_text(assignment_text(data)) == data exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from ...i18n import N_
from .form import day, whole_number
from .schema import CHOICES, RETIRED_LABELS, SCHEMA, SECTIONS, clean_text

START = "BÖRJAN PÅ CHECKLISTAN (Skyddsportalen)"
END = "SLUT PÅ CHECKLISTAN"
TITLE = re.compile(r"checklista skyddade personuppgifter, version \d{0,6}|skyddade personuppgifter")

#: (heading, ((label, field), ...)) in SCHEMA order, from the schema. Labels never hold a colon.
TEXT_LAYOUT: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = tuple(
    (section.text, tuple((f.text, f.name) for f in section.fields)) for section in SECTIONS
)
TEXT_LINES: tuple[tuple[str, str], ...] = tuple(line for _, lines in TEXT_LAYOUT for line in lines)
LABELS: dict[str, str] = {name: label for label, name in TEXT_LINES}
#: The routine's rules each section states (Statement.text), by the section's heading.
STATEMENT_LINES: dict[str, tuple[str, ...]] = {
    section.text: tuple(st.text for st in section.statements) for section in SECTIONS
}
_YES, _NO = "Ja", "Nej"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})


def _key(text: str) -> str:
    """How a label, heading or answer is recognised: case, width, dashes and spacing aside."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_DASHES).casefold().split())


def _escape(text: str) -> str:
    return text.replace("*", "**").replace("|", "||")


def _unescape(text: str) -> str:
    return text.replace("**", "*").replace("||", "|")


def _shown(name: str, value: Any) -> str:
    """A field's value as written after its label (the first line only, for a text)."""
    kind = SCHEMA[name]
    if kind == "bool":
        return _YES if value else _NO
    if kind == "choice":
        return dict(CHOICES[name]).get(value, "") if value else ""
    if kind == "int":
        return "" if value is None else str(value)
    return _escape(str(value or ""))


def assignment_text(data: Mapping[str, Any]) -> str:
    """The text for the assignment document (uppdragsdokument, §5.9): every field, always, in the
    order of TEXT_LAYOUT, each section's statements after its fields. parse_text reads it back."""
    out = ["SKYDDADE PERSONUPPGIFTER", f"* {START}"]
    for heading, lines in TEXT_LAYOUT:
        out += ["", f"* {heading}"]
        for label, name in lines:
            value = data.get(name)
            if SCHEMA[name] == "text":
                first, *rest = clean_text(str(value or "")).split("\n")
                out.append(f"* {label}: {_escape(first)}".rstrip())
                out += [f"| {_escape(line)}".rstrip() for line in rest]
            else:
                out.append(f"* {label}: {_shown(name, value)}".rstrip())
        out += [f"* {statement}" for statement in STATEMENT_LINES[heading]]
    out += ["", f"* {END}"]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Problem:
    """A line of a pasted text that was not read: its number (None for a line that is missing),
    and what is wrong, as a message template (MSG_*) translated where it is shown."""

    line: int | None
    template: str
    label: str = ""

    @property
    def message(self) -> str:
        return str(_(self.template, line=self.line, label=self.label))


@dataclass
class Parsed:
    data: dict[str, Any]  # only the fields that were read
    problems: list[Problem]


MSG_UNKNOWN = N_("Rad %(line)s känns inte igen och har inte lästs in.")
MSG_BROKEN = N_("Rad %(line)s (%(label)s): svaret går inte att läsa och har inte fyllts i.")
MSG_TWICE = N_(
    "Rad %(line)s (%(label)s): uppgiften står flera gånger i texten och har inte fyllts i."
)
MSG_STRAY = N_("Rad %(line)s hör inte till någon textruta och har inte lästs in.")
MSG_ABSENT = N_("%(label)s: raden saknas i texten, uppgiften har inte fyllts i.")


def _value(name: str, text: str) -> tuple[bool, Any]:
    """(read, value) for the text after a field's label."""
    kind = SCHEMA[name]
    if kind == "text":
        return True, clean_text(text)
    text = " ".join(text.split())
    if kind == "bool":
        answer = {_key(_YES): True, _key(_NO): False}.get(_key(text))
        return answer is not None, answer
    if kind == "choice":
        if not text:
            return True, ""
        codes = {_key(label): code for code, label in CHOICES[name]}
        return _key(text) in codes, codes.get(_key(text))
    if kind == "date":
        if not text:
            return True, None
        read = day(text) if _ISO_DAY.fullmatch(text) else None
        return read is not None, text if read else None
    if not text:
        return True, None
    value = whole_number(text)
    return value is not None, value


def _records(text: str) -> list[tuple[int, str, str]]:
    """(first line number, mark "*" or "|" or "", content) per logical line: a marked line with
    the unmarked lines that continue it joined by one space; an unmarked line with nothing above
    it (text before the checklist) stands alone with mark "". Linear: parts are joined once."""
    records: list[tuple[int, str, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        mark = line[0] if line[0] in "*|" and not line.startswith(("**", "||")) else ""
        if mark:
            records.append((number, mark, [line[1:].strip()]))
        elif records and records[-1][1]:
            records[-1][2].append(line)
        else:
            records.append((number, "", [line]))
    return [(number, mark, " ".join(p for p in parts if p)) for number, mark, parts in records]


def parse_text(text: str) -> Parsed:
    """The checklist in a pasted assignment-document text: every field that reads exactly, and a
    problem for every line that does not (never a guess). Linear in the text's length."""
    by_label = {_key(label): name for label, name in TEXT_LINES}
    headings = {_key(heading) for heading, _ in TEXT_LAYOUT}
    statements = {_key(text) for texts in STATEMENT_LINES.values() for text in texts}
    retired = {_key(label) for label in RETIRED_LABELS}
    records = _records(text)
    start, end = _key(START), _key(END)
    starts = [
        i for i, (_, mark, content) in enumerate(records) if mark == "*" and _key(content) == start
    ]
    if starts:
        records = records[starts[0] + 1 :]
    data: dict[str, Any] = {}
    more: dict[str, list[str]] = {}  # a text's further lines, joined once at the end
    seen: dict[str, int] = {}
    twice: set[str] = set()
    problems: list[Problem] = []
    # The text field that "|" lines continue; "" when they belong to a line already reported.
    current: str | None = None
    for number, mark, content in records:
        if mark == "|":
            if current is None:
                problems.append(Problem(number, MSG_STRAY))
                current = ""
            elif current in data:
                more.setdefault(current, []).append(_unescape(content))
            continue
        current = None
        if mark == "":
            if not TITLE.fullmatch(_key(content)):
                problems.append(Problem(number, MSG_UNKNOWN))
            continue
        if _key(content) == end:
            break
        if _key(content) in statements:
            continue  # a rule the checklist states: the same in every version
        label, colon, rest = content.partition(":")
        if colon and _key(label) in retired:
            continue  # a field that earlier versions had (schema.RETIRED_LABELS)
        name = by_label.get(_key(label)) if colon else None
        if name is None:
            if colon or _key(content) not in headings:
                problems.append(Problem(number, MSG_UNKNOWN))
                current = ""
            continue
        if name in seen:
            twice.add(name)
            problems.append(Problem(number, MSG_TWICE, LABELS[name]))
            current = ""
            continue
        seen[name] = number
        read, value = _value(name, _unescape(rest))
        if not read:
            problems.append(Problem(number, MSG_BROKEN, LABELS[name]))
            continue
        data[name] = value
        current = name if SCHEMA[name] == "text" else None
    for name, lines in more.items():
        data[name] = clean_text("\n".join([data[name], *lines]))
    for name in twice:
        data.pop(name, None)
    if seen:
        problems += [
            Problem(None, MSG_ABSENT, label) for label, name in TEXT_LINES if name not in seen
        ]
    return Parsed(data={name: data[name] for name in SCHEMA if name in data}, problems=problems)


class ImportRefused(Exception):
    """A pasted text that cannot start a checklist: ``reason`` for the audit log (no content),
    ``message`` in Swedish for the user, at the text field."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


MSG_MISSING = N_("Klistra in checklistans text från uppdragsdokumentet.")
MSG_TOO_LARGE = N_(
    "Texten är längre än %(kb)s kB. En checklista från Skyddsportalen är mycket kortare – "
    "kopiera bara checklistans text ur uppdragsdokumentet."
)
MSG_NO_CHECKLIST = N_(
    "Texten innehåller ingen checklista från Skyddsportalen. Kopiera checklistans text ur "
    "uppdragsdokumentet i Treserva, från raden ”BÖRJAN PÅ CHECKLISTAN” till ”SLUT PÅ "
    "CHECKLISTAN”, eller fyll i checklistan på nytt."
)


def read_text(text: str, max_bytes: int) -> Parsed:
    """The pasted text of an earlier version, judged before anything of it is read: at most
    ``max_bytes`` in UTF-8, and at least one field of the checklist in it."""
    if len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes:
        raise ImportRefused("too_large", _(MSG_TOO_LARGE, kb=max_bytes // 1024))
    if not text.strip():
        raise ImportRefused("missing", _(MSG_MISSING))
    parsed = parse_text(text)
    if not parsed.data:
        raise ImportRefused("no_checklist", _(MSG_NO_CHECKLIST))
    return parsed
