"""Reading the portal's PDFs as a reader of the paper sees them (poppler-utils): the text, and
every word's box in points, for the tests of the paper forms and sheets."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass

XHTML = "{http://www.w3.org/1999/xhtml}"


def pdftotext(data: bytes, *args: str) -> str:
    """The text of a PDF as poppler reads it (``args``: e.g. ``-f 2 -l 2`` for one page), white
    space made single spaces."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", *args, "-", "-"], input=data,
                         capture_output=True, check=True).stdout.decode("utf-8")
    return " ".join(out.split())


@dataclass(frozen=True)
class Word:
    """One word on a page (numbered from 1), its box in points from the page's top left."""

    page: int
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


def words(data: bytes) -> tuple[list[tuple[float, float]], list[Word]]:
    """Each page's size and every word's box in points (pdftotext -bbox-layout), in reading
    order."""
    out = subprocess.run(["pdftotext", "-bbox-layout", "-enc", "UTF-8", "-", "-"], input=data,
                         capture_output=True, check=True).stdout.decode("utf-8")
    root = ET.fromstring(out)  # noqa: S314 - poppler's own output of the portal's own PDF
    sizes, found = [], []
    for number, page in enumerate(root.iter(f"{XHTML}page"), start=1):
        sizes.append((float(page.get("width", 0)), float(page.get("height", 0))))
        for w in page.iter(f"{XHTML}word"):
            found.append(Word(number, w.text or "", float(w.get("xMin", 0)),
                              float(w.get("yMin", 0)), float(w.get("xMax", 0)),
                              float(w.get("yMax", 0))))
    return sizes, found
