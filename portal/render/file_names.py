"""The file names of the PDFs the portal serves (issue 14 item 10).

A name says in Swedish what the file is and, for a filled form, its date — and nothing else: no
case number, no name, no personnummer, no reference that could be looked up (SPEC §1.2: nothing
identifying in a file name). ASCII only (å→a, ä→a, ö→o, any other character a hyphen), so that
every browser, mail client and file system keeps the name as written and the header needs no
encoding. Examples: ``behorighetsbestallning-2026-12-01.pdf``, ``checklista-v2-2026-12-01.pdf``,
``blankett-daganteckning.pdf``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

#: The words of the day-note sheet, which is no form kind of its own (blank and prefilled).
DAY_NOTE_SHEET = "daganteckning"

#: Every name this module makes: lower-case ASCII words joined by hyphens, ending in ``.pdf``.
NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.pdf")


def ascii_words(text: str) -> str:
    """``text`` as lower-case ASCII words joined by hyphens: "Behörighetsbeställning" ->
    "behorighetsbestallning", "Meddelande till avgiftshandläggare – hemtjänst" ->
    "meddelande-till-avgiftshandlaggare-hemtjanst"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def dated(words: str, day: date, version: int | None = None) -> str:
    """A filled form's file name: its words, the version where it has one, the day."""
    stem = ascii_words(words)
    if version is not None:
        stem += f"-v{version}"
    return _checked(f"{stem}-{day.isoformat()}.pdf")


def blank(words: str, fillable: bool = False) -> str:
    """A blank paper form's file name: the same bytes for everyone, so no date."""
    return _checked(f"blankett-{ascii_words(words)}{'-ifyllbar' if fillable else ''}.pdf")


def disposition(how: Literal["inline", "attachment"], name: str) -> str:
    """The Content-Disposition header of a PDF called ``name`` (one of this module's names)."""
    return f'{how}; filename="{_checked(name)}"'


def _checked(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError("a PDF file name is lower-case ASCII words and hyphens")
    return name
