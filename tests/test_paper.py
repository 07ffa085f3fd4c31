"""Paper (issue 14 item 10): what a person with a pen needs on every blank form, and PDF file
names that say what a file is without saying whom it is about.

Sizes are checked where they are decided (the print template and print.css), the texts on the
rendered PDF (pdftotext, as a reader of the paper sees them)."""

from __future__ import annotations

import io
import re
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pdf_support import pdftotext
from pypdf import PdfReader
from test_access_order import form as order_form
from test_access_order import person, submit
from test_checklist import checklist_form
from test_day_notes import create_file

from portal.clock import today
from portal.forms import FORMS, checklist
from portal.forms.checklist import FIELDS
from portal.render import file_names, pdf
from portal.views.blank import blank_filename, blanks

CSS = (pdf.PDF_TEMPLATES / "print.css").read_text(encoding="utf-8")
MM_PER_PT = 25.4 / 72


# --- helpers ---------------------------------------------------------------------------------


def rule(selector: str) -> dict[str, str]:
    """The declarations of the print.css rule whose selector list is exactly ``selector``."""
    found = [m for m in re.finditer(r"([^{}]+)\{([^{}]*)\}", re.sub(r"/\*.*?\*/", "", CSS, flags=re.S))
             if m.group(1).strip() == selector]
    assert len(found) == 1, f"one rule for {selector!r} in print.css"
    return {name.strip(): value.strip()
            for name, _, value in (d.partition(":") for d in found[0].group(2).split(";"))
            if name.strip()}


def length_mm(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(mm|pt)", value).groups()  # type: ignore[union-attr]
    return float(number) * (1 if unit == "mm" else MM_PER_PT)


def points(value: str) -> float:
    return float(re.fullmatch(r"([\d.]+)pt", value).group(1))  # type: ignore[union-attr]


def element(html: str, marker: str) -> str:
    """The element (div, td or tr) whose start tag carries ``marker``, through its end tag."""
    start = html.index(marker)
    start = html.rindex("<", 0, start + 1)
    tag = re.match(r"<(\w+)", html[start:]).group(1)  # type: ignore[union-attr]
    depth, pos = 0, start
    for m in re.finditer(rf"<(/?){tag}\b", html[start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            pos = start + m.end()
            break
    return html[start:html.index(">", pos) + 1]


def blank(template: str, app: Flask) -> str:
    with app.test_request_context():
        return pdf.blank_html(template)


# --- the day-note sheet ------------------------------------------------------------------------


def test_the_day_note_sheet_gives_each_note_several_lines_to_write_on(app: Flask) -> None:
    """It had one line per note (14 rows of 13 mm): now seven notes, each a 25 mm row with
    three ruled lines, on one page; the compiled-by columns are a date and a signature of
    their own."""
    html = blank("day_notes.html", app)
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    rows = re.findall(r"<tr>.*?</tr>", body, flags=re.S)
    assert len(rows) == 7
    for row in rows:
        note = element(row, 'class="note-lines"')
        assert note.count('class="write-line"') == 3
    row_height = length_mm(rule("table.day-notes td")["height"])
    line_height = length_mm(rule("table.day-notes td.note-lines .write-line")["height"])
    assert row_height >= 24 and line_height >= 7.5 and 3 * line_height <= row_height + 0.5
    assert 'colspan="2"' in html and "Sammanställd i journalen" in html

    data = pdf.html_to_pdf(html)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    text = pdftotext(data)
    for column in ("Datum", "Tid", "Anteckning", "Signatur", "Sammanställd i journalen"):
        assert column in text, column


# --- labels and boxes ----------------------------------------------------------------------


def test_labels_and_hints_are_at_least_8_5_pt_and_black() -> None:
    """They were 7–7.5 pt grey (#333, #555): hard to read on paper."""
    for selector in (".label", ".hint"):
        declarations = rule(selector)
        assert points(declarations["font-size"]) >= 8.5, selector
        assert declarations["color"] == "#000", selector
    assert points(rule("table.grid th")["font-size"]) >= 8.5
    assert points(rule("table.grid td")["font-size"]) >= 8.5  # the checklist's information given
    assert points(rule("table.grid.paper td.tick-cell")["font-size"]) >= 8.5
    # No grey text anywhere on paper: every colour print.css gives text is black.
    colours = re.findall(r"(?<![-\w])color:\s*([^;]+);", CSS)
    assert colours and set(colours) == {"#000"}


def test_boxes_and_lines_are_big_enough_for_a_pen() -> None:
    assert length_mm(rule(".write-line")["height"]) >= 7.5
    box = rule(".tick-box")
    assert length_mm(box["width"]) >= 3.5 and length_mm(box["height"]) >= 3.5


# --- the checklist -----------------------------------------------------------------------------


def test_the_hotbild_box_gives_room_to_write(app: Flask) -> None:
    """It was a 22 mm box: now at least 50 mm of ruled lines; every other text at least three."""
    html = blank("checklist.html", app)
    line = length_mm(rule(".write-line")["height"])
    threat = element(html, 'data-field="threat_picture"')
    assert threat.count('class="write-line"') * line >= 50
    for name, f in FIELDS.items():
        if f.widget == "area":
            area = element(html, f'data-field="{name}"')
            assert area.count('class="write-line"') >= 3, name


def _web_fields(page: str) -> list[str]:
    """The names of the fields of the checklist's form on its page (not the import form)."""
    start = page.index('action="/forms/checklist"')
    form = page[start:page.index("</form>", start)]
    names = re.findall(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"', form)
    return list(dict.fromkeys(n for n in names if n != "csrf_token"))


def test_every_web_checklist_field_is_on_the_blank_by_its_label(app: Flask, as_user: Any) -> None:
    """Five fields of the web form had no label on paper: the dates of the five pieces of
    information given, a bare column without a heading that said so, in rows too low to write
    a date in. Every field the page asks is now on the blank, by its print label, so they cannot
    drift apart again."""
    client = as_user("secretary")
    web = _web_fields(client.get("/forms/checklist").get_data(as_text=True))
    assert set(web) == set(FIELDS)  # the page asks the schema's fields, no more, no fewer
    blank_pdf = client.get("/blank/checklist.pdf").data
    text = pdftotext(blank_pdf)
    html = unescape(blank("checklist.html", app))
    assert "Datum då den gavs (ÅÅÅÅ-MM-DD)" in text
    for name in web:
        f = FIELDS[name]
        assert f'data-field="{name}"' in html, name
        if f.tick_date:  # in its tick's row, under "Datum då den gavs"
            tick = FIELDS[name.removesuffix("_date")]
            row = element(html, f'<tr data-field="{tick.name}"')
            assert tick.text in row and f'<td data-field="{name}"' in row, name
            assert tick.text in text, name
        else:
            assert f.text in text, name
            for _, label in f.choices:
                assert label in text, label


def test_the_filled_checklist_prints_every_field_too(as_user: Any) -> None:
    client = as_user("secretary")
    day = today()
    resp = client.post("/forms/checklist", data={**checklist_form(), "as_pdf": "1"})
    text = pdftotext(resp.data)
    assert "Datum då den gavs (ÅÅÅÅ-MM-DD)" in text
    # Each of the five dates is printed in its row (the same day here, so count them).
    assert text.count(day.isoformat()) >= len(checklist.INFO_ITEMS)
    for f in FIELDS.values():
        if not f.tick_date:
            assert f.text in text, f.name


# --- every blank, rendered once ----------------------------------------------------------------

#: What a person with a pen must find on each blank: its title, labels and the signature (a
#: label and its hint apart: a hint may take a line of its own).
BLANK_TEXTS: dict[str, tuple[str, ...]] = {
    "access-order": ("Behörighetsbeställning", "Ärendenummer", "Stadsområde", "Centrum",
                     "Sydväst", "Lägg till", "Ta bort", "Giltig från", "(ÅÅÅÅ-MM-DD)",
                     "Orsak (ska anges)", "Underskrift"),
    "actualisation": ("Begäran om aktualisering", "5. Personnummer", "(ÅÅÅÅMMDD-NNNN)",
                      "9. Mottaget datum", "11. Ankom ifrån", "Annan:",
                      "Text till Treservas textruta", "Underskrift"),
    "checklist": ("Checklista vid ärenden med skyddade personuppgifter", "Hotbild",
                  "Datum då den gavs", "Socialsekreterarens underskrift"),
    "deviation": ("Reservrapport för rapportering av avvikelser", "Datum", "Tid", "(TT:MM)",
                  "Gäller ingen enskild person alls", "Vad hände?",
                  "Underskrift", "Registrerad på personen i Treserva av"),
    "day-notes": ("Blankett för daganteckning", "Fiktivt namn", "Sammanställd i journalen"),
    # issue 16, part C: the rest of the paper kit (tests/test_paper_kit.py checks them closer)
    "action-plan": ("Handlingsplan", "Fiktivt namn", "kognitiv svikt", "Underskrift"),
    "key-receipt": ("Nyckelkvittens", "SKYDDADE PERSONUPPGIFTER", "Nyckelnummer", "Bevittnad av"),
    "file-record": ("Förteckning över vem som hanterat akten", "Tid ut", "Tid tillbaka",
                    "Signatur"),
    "out-of-hours-short-term": ("korttidsplats", "Kastas i sekretessåtervinning", "Underskrift"),
    "out-of-hours-home-care": ("hemtjänst", "Kastas i sekretessåtervinning", "Underskrift"),
    "out-of-hours-alarm": ("trygghetslarm", "Kastas i sekretessåtervinning", "Underskrift"),
    # issue 16, part B: the envelope sheets (tests/test_envelopes.py checks them closer)
    "inner-envelope": ("Innerkuvert för Skatteverkets förmedlingsuppdrag", "Avsändare",
                       "ÅÅÅÅMMDD-NNNN", "bara förmedlingsadressen"),
    "envelope-label": ("Kuvertetikett", "SKYDDADE PERSONUPPGIFTER",
                       "Begäran om uppgifter från:", "Uppgifterna skickas till:"),
    # issue 16, part A: the cover sheet (tests/test_disclosure_check.py checks it closer)
    "disclosure-check": ("Försättsblad – kontroll före utlämnande", "SKYDDADE PERSONUPPGIFTER",
                         "Förvaras i den fysiska akten överst på handlingen", "Underskrift"),
}


def test_every_blank_renders_with_its_texts_and_a_swedish_file_name(as_user: Any) -> None:
    assert set(BLANK_TEXTS) == set(blanks())
    staff = as_user("staff")
    for name in blanks():
        resp = staff.get(f"/blank/{name}.pdf")
        assert resp.status_code == 200 and resp.mimetype == "application/pdf", name
        filename = blank_filename(name)
        assert resp.headers["Content-Disposition"] == f'inline; filename="{filename}"'
        assert re.fullmatch(r"blankett-[a-z]+(-[a-z]+)*\.pdf", filename), filename
        text = pdftotext(resp.data)
        for words in BLANK_TEXTS[name]:
            assert words in text, (name, words)
    assert blank_filename("day-notes") == "blankett-daganteckning.pdf"
    assert blank_filename("access-order") == "blankett-behorighetsbestallning.pdf"
    assert blank_filename("checklist", fillable=True) == "blankett-checklista-ifyllbar.pdf"


def test_a_label_stays_with_its_line_on_a_blank(app: Flask) -> None:
    """Page breaks do not split a field from its label: every text area with its label, each
    table of tick boxes, and the signature lines are kept on one page."""
    for template in ("checklist.html", "access_order.html", "actualisation.html",
                     "deviation.html"):
        html = blank(template, app)
        for area in re.finditer(r'<div class="write-area">', html):
            before = html[:area.start()]
            keeps = list(re.finditer(r'<div class="keep[ "]', before))
            assert keeps, template
            assert before.count("</div>", keeps[-1].start()) == 0, template
    keep = rule(".keep")
    assert keep["break-inside"] == "avoid"


# --- PDF file names ----------------------------------------------------------------------------

PERSONAL = ("0655588", "Tolvan", "Tolvansson", "19121212", "1212", "Gunnel", "Gran", "Sara")
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-\d{4}-\d{2}-\d{2}\.pdf")


@pytest.mark.parametrize("slug", sorted(FORMS))
def test_every_forms_pdf_name_says_what_and_when_never_who(slug: str) -> None:
    kind = FORMS[slug]
    data = {"case_number": "0655588", "full_name": "Tolvan Tolvansson",
            "personnummer": "19121212-1212", "fictional_name": "Gunnel Gran",
            "reported_by": "Sara", "version": 3, "version_date": "2026-11-30"}
    name = kind.pdf_filename(data, date(2026, 12, 1))
    assert NAME.fullmatch(name), name
    assert name.isascii()
    for personal in PERSONAL:
        assert personal.lower() not in name, (slug, personal)
    if kind.has_blank:
        assert re.fullmatch(r"blankett-[a-z]+(-[a-z]+)*\.pdf", kind.blank_filename()), slug


def test_the_names_the_issue_asks_for() -> None:
    day = date(2026, 12, 1)
    assert FORMS["access-order"].pdf_filename({}, day) == "behorighetsbestallning-2026-12-01.pdf"
    assert (FORMS["checklist"].pdf_filename({"version": 2, "version_date": "2026-12-01"}, day)
            == "checklista-v2-2026-12-01.pdf")
    # Without a version or a readable version date: the day it was made.
    assert (FORMS["checklist"].pdf_filename({"version": None, "version_date": "x"}, day)
            == "checklista-2026-12-01.pdf")
    assert (FORMS["deviation"].pdf_filename({}, day) == "reservrapport-avvikelse-2026-12-01.pdf")
    assert file_names.ascii_words("Överlämning – hemtjänst, Åre") == "overlamning-hemtjanst-are"
    with pytest.raises(ValueError):
        file_names.disposition("inline", 'a"; filename="x.pdf')


def test_the_served_pdfs_are_named_by_form_and_day(app: Flask, as_user: Any) -> None:
    day = today().isoformat()
    manager = as_user("manager")
    public_id = submit(manager, order_form(**person(1, "Bengt Berg", "bengt02")))
    resp = manager.get(f"/submissions/{public_id}/pdf")
    assert resp.headers["Content-Disposition"] == (
        f'inline; filename="behorighetsbestallning-{day}.pdf"')

    secretary = as_user("secretary")
    resp = secretary.post("/forms/checklist", data={**checklist_form(version="2"), "as_pdf": "1"})
    assert resp.headers["Content-Disposition"] == f'inline; filename="checklista-v2-{day}.pdf"'

    file_id = create_file(as_user("hemtjanst_manager"))
    resp = as_user("staff").get(f"/day-notes/{file_id}/sheet.pdf")
    assert resp.headers["Content-Disposition"] == f'inline; filename="daganteckning-{day}.pdf"'


def test_no_print_template_hides_a_field_in_grey_or_tiny_type() -> None:
    """Inline styles in the print templates follow print.css: no text under 8 pt, no grey."""
    for path in sorted(Path(pdf.PDF_TEMPLATES).glob("*.html")):
        source = path.read_text(encoding="utf-8")
        for size in re.findall(r"font-size:\s*([\d.]+)pt", source):
            assert float(size) >= 8, (path.name, size)
        assert not re.findall(r"(?<![-\w])color:\s*#(?!000)", source), path.name
