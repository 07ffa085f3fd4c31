"""Envelopes (issue 16 item 2; routine §3.1, §3.8; SPEC §3.8) the whole way: the inner-envelope
sheet for Skatteverket's förmedlingsuppdrag and the "SKYDDADE PERSONUPPGIFTER" envelope label,
typed, checked, printed and forgotten.

The sheets are looked at as a reader of the paper sees them: their text (pdftotext), where each
word lies (pdftotext -bbox-layout: the personnummer on the inner envelope's front and nowhere
else, the forwarding address alone on the outer envelope's piece), and the rendered page as an
image (pdftoppm, Pillow): a crop mark at every corner of every piece, white between the marks and
the corner."""

from __future__ import annotations

import io
import logging
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import USERS, field_error, html
from flask import Flask
from flask.testing import FlaskClient
from pdf_support import Word, pdftotext, words
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.audit_trail import ACTIONS
from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS, RenderOnlyForm
from portal.forms.envelopes import ADDRESS_LINE_CHARS, ADDRESS_LINES, NAME_CHARS
from portal.models import AuditEvent
from portal.render import pdf

INNER, LABEL = "/forms/inner-envelope", "/forms/envelope-label"
PNR = "19121212-1212"  # Skatteverket's test number
# Typed forms of another test number, and the long form the sheet prints (ÅÅÅÅMMDD-NNNN).
PNR_TYPED = ("470823-0018", "4708230018", "194708230018", "19470823-0018")
PNR_LONG = "19470823-0018"
RETURN = "Myndighet Centrum\nGöteborgs Stad\nBox 5120\n402 23 Göteborg"
FORWARDING = "Skatteverket\nFörmedlingsuppdrag\nBox 2820\n403 20 Göteborg"
SPECIAL = "Skatteverket\nSärskild förmedling Zwetschgenbaum\nBox 9999\n171 94 Solna"
RECIPIENT = "Quintus Quellenberg"
RECIPIENT_ADDRESS = "Vårdcentralen Xylofongatan\nXylofongatan 3\n413 45 Göteborg"
REQUESTER = USERS["secretary"][0]
REPLY_TO = "Myndighet Centrum\nGöteborgs Stad\nBox 5120\n402 23 Göteborg"
TYPED = ("Zwetschgenbaum", RECIPIENT, "Xylofongatan", "Quellenberg")

A4_WIDTH, A4_HEIGHT = 595.28, 841.89
MM = 72 / 25.4  # points per millimetre
CSS = (pdf.PDF_TEMPLATES / "print.css").read_text(encoding="utf-8")


def inner_form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {"personnummer": PNR, "return_address": RETURN,
                                   "forwarding_address": FORWARDING}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def label_form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {"recipient_name": RECIPIENT,
                                   "recipient_address": RECIPIENT_ADDRESS,
                                   "requester_name": REQUESTER, "reply_to": REPLY_TO}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def sheet(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    resp = client.post(path, data={**form, "as_pdf": "1"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:3000]
    assert resp.mimetype == "application/pdf"
    return resp


# --- where the pieces are: print.css, read as the printer reads it ------------------------------


def _declarations(selector: str) -> dict[str, str]:
    css = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    found = [m for m in re.finditer(r"([^{}]+)\{([^{}]*)\}", css) if m.group(1).strip() == selector]
    assert len(found) == 1, f"one rule for {selector!r} in print.css"
    return {name.strip(): value.strip()
            for name, _, value in (d.partition(":") for d in found[0].group(2).split(";"))
            if name.strip()}


def _mm(value: str) -> float:
    match = re.fullmatch(r"(-?[\d.]+)mm", value)
    assert match, value
    return float(match.group(1))


def page_margins() -> tuple[float, float]:
    """The page area's top left on the paper (mm): @page's margin (top right bottom left)."""
    match = re.search(r"@page\s*\{[^{}]*?margin:\s*([\d.]+)mm\s+[\d.]+mm\s+[\d.]+mm\s+([\d.]+)mm",
                      CSS)
    assert match
    return float(match.group(1)), float(match.group(2))


@dataclass(frozen=True)
class Box:
    """A piece on the paper, in points from the page's top left."""

    left: float
    top: float
    right: float
    bottom: float

    def holds(self, w: Word, slack: float = 0.5) -> bool:
        return (w.x_min >= self.left - slack and w.x_max <= self.right + slack
                and w.y_min >= self.top - slack and w.y_max <= self.bottom + slack)

    def touches(self, w: Word) -> bool:
        return not (w.x_max <= self.left or w.x_min >= self.right
                    or w.y_max <= self.top or w.y_min >= self.bottom)


def piece(name: str) -> Box:
    """The piece ``.cut-piece.<name>`` of print.css where it lands on the paper."""
    rule = _declarations(f".cut-piece.{name}")
    top_margin, left_margin = page_margins()
    left = (left_margin + _mm(rule["left"])) * MM
    top = (top_margin + _mm(rule["top"])) * MM
    return Box(left, top, left + _mm(rule["width"]) * MM, top + _mm(rule["height"]) * MM)


INNER_PIECES = ("envelope-front", "envelope-back", "envelope-outer")
LABEL_PIECES = ("label-envelope", "label-slip")


def inside(box: Box, found: list[Word]) -> list[str]:
    return [w.text for w in found if w.page == 1 and box.touches(w)]


def address_words(text: str) -> list[str]:
    return text.split()


# --- the pages -----------------------------------------------------------------------------------


def test_both_are_registered_print_only_forms_with_a_blank() -> None:
    for slug, key, words_ in (("inner-envelope", "inner_envelope", "innerkuvert"),
                              ("envelope-label", "envelope_label", "kuvertetikett")):
        kind = FORMS[slug]
        assert isinstance(kind, RenderOnlyForm) and kind.key == key
        assert kind.storage == "none" and kind.has_blank and not kind.has_message
        assert kind.submit_roles == frozenset({"social_secretary", "unit_manager", "lvs"})
        assert kind.pdf_disposition == "inline"
        assert kind.pdf_words == words_
    assert FORMS["inner-envelope"].pnr_fields == frozenset({"personnummer"})
    assert FORMS["envelope-label"].pnr_fields == frozenset()
    assert "sheet_checked" in ACTIONS


def test_the_inner_envelope_page_is_prefilled_with_the_own_unit_and_skatteverkets_address(
        as_user: Any, app: Flask) -> None:
    page = html(as_user("secretary").get(INNER))
    assert "Innerkuvert för Skatteverkets förmedlingsuppdrag" in page
    textarea = re.search(r'<textarea[^>]*name="return_address"[^>]*>(.*?)</textarea>', page, re.S)
    assert textarea and "Myndighet Centrum" in textarea.group(1)
    assert "Göteborgs Stad" in textarea.group(1)
    forwarding = re.search(r'<textarea[^>]*name="forwarding_address"[^>]*>(.*?)</textarea>',
                           page, re.S)
    assert forwarding and forwarding.group(1).split() == app.config["FORWARDING_ADDRESS"].split()
    # Check the address on skatteverket.se, and a special address for the person wins (§3.1).
    assert "skatteverket.se" in page and "”förmedlingsadress”" in page
    assert "särskild förmedlingsadress" in page
    assert 'name="as_pdf"' in page and "Skriv ut (PDF)" in page
    assert '/blank/inner-envelope.pdf' in page
    assert re.search(r'<input[^>]*autocomplete="off"[^>]*name="personnummer"', page) or \
        re.search(r'<input[^>]*name="personnummer"[^>]*autocomplete="off"', page)


def test_the_forwarding_address_is_a_setting(as_user: Any, app: Flask) -> None:
    app.config["FORWARDING_ADDRESS"] = "Skatteverket\nNy förmedling\nBox 1\n111 11 Sundsvall"
    page = html(as_user("secretary").get(INNER))
    assert "Ny förmedling" in page and "Box 2820" not in page


def test_the_label_page_is_prefilled_with_the_requester_and_the_unit(as_user: Any) -> None:
    page = html(as_user("manager").get(LABEL))
    assert re.search(r'name="requester_name"[^>]*value="Eva Enhetschef"', page) or \
        re.search(r'value="Eva Enhetschef"[^>]*name="requester_name"', page)
    reply = re.search(r'<textarea[^>]*name="reply_to"[^>]*>(.*?)</textarea>', page, re.S)
    assert reply and "Myndighet Centrum" in reply.group(1)
    assert "SKYDDADE PERSONUPPGIFTER" in page and "§3.8" in page


@pytest.mark.parametrize("username", ["secretary", "manager", "hemtjanst_manager", "lvs"])
def test_social_secretaries_unit_managers_and_lvs_make_both(as_user: Any, username: str) -> None:
    client = as_user(username)
    for path in (INNER, LABEL):
        assert client.get(path).status_code == 200
    assert f'href="{INNER}"' in html(client.get("/"))
    assert f'href="{LABEL}"' in html(client.get("/"))


@pytest.mark.parametrize("username", ["staff", "planner", "admin", "fee"])
def test_others_get_403_and_no_menu_entry(as_user: Any, username: str) -> None:
    client = as_user(username)
    for path, form in ((INNER, inner_form()), (LABEL, label_form())):
        assert client.get(path).status_code == 403
        assert client.post(path, data={**form, "as_pdf": "1"}).status_code == 403
    start = html(client.get("/"))
    assert INNER not in start and LABEL not in start


def test_the_menu_has_the_short_labels(as_user: Any) -> None:
    start = html(as_user("secretary").get("/"))
    assert "Innerkuvert (förmedling)" in start and "Kuvertetikett" in start


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["19121212-1213", "19121312-1212", "1212", "abcdefghij",
                                   "19121212-12120"])
def test_a_personnummer_that_is_not_one_is_refused_at_its_field_with_the_input_kept(
        as_user: Any, typed: str) -> None:
    resp = as_user("secretary").post(INNER, data={**inner_form(personnummer=typed), "as_pdf": "1"})
    page = html(resp)
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert "Personnumret är inte giltigt" in field_error(page, "personnummer")
    assert "Box 5120" in page and "Förmedlingsuppdrag" in page  # the rest kept


def test_every_field_is_required(as_user: Any) -> None:
    client = as_user("secretary")
    page = html(client.post(INNER, data={"personnummer": "", "return_address": "",
                                         "forwarding_address": " ", "as_pdf": "1"}))
    assert "Personnummer måste fyllas i" in field_error(page, "personnummer")
    assert "din egen adress" in field_error(page, "return_address")
    assert "förmedlingsadress" in field_error(page, "forwarding_address")
    resp = client.post(LABEL, data={"as_pdf": "1"})
    page = html(resp)
    assert resp.status_code == 422
    for name in ("recipient_name", "recipient_address", "requester_name", "reply_to"):
        assert field_error(page, name), name


def test_an_address_must_fit_its_piece(as_user: Any) -> None:
    client = as_user("secretary")
    too_many = "\n".join(f"Rad {i}" for i in range(ADDRESS_LINES + 1))
    resp = client.post(INNER, data={**inner_form(return_address=too_many), "as_pdf": "1"})
    assert resp.status_code == 422
    assert f"Högst {ADDRESS_LINES} rader" in field_error(html(resp), "return_address")
    too_long = "Box 2820\n" + "x" * (ADDRESS_LINE_CHARS + 1)
    resp = client.post(LABEL, data={**label_form(recipient_address=too_long), "as_pdf": "1"})
    assert resp.status_code == 422
    assert f"Högst {ADDRESS_LINE_CHARS} tecken" in field_error(html(resp), "recipient_address")
    # Blank lines around the address do not count, nor spaces at the line ends.
    padded = "\n\n" + "\n".join([" " + "y" * ADDRESS_LINE_CHARS + " "] * ADDRESS_LINES) + "\n\n"
    sheet(client, INNER, inner_form(return_address=padded))


@pytest.mark.parametrize("field", ["return_address", "forwarding_address"])
def test_no_personnummer_can_slip_onto_the_back_or_the_outer_envelope(
        as_user: Any, field: str) -> None:
    """R-NOTE-PNR at every field but the personnummer's: the outer envelope carries nothing but
    the forwarding address (§3.1 step 5)."""
    resp = as_user("secretary").post(
        INNER, data={**inner_form(**{field: f"Skatteverket\n{PNR}"}), "as_pdf": "1"})
    assert resp.status_code == 422
    assert "personnummer" in field_error(html(resp), field).lower()


@pytest.mark.parametrize("field", ["recipient_name", "recipient_address", "requester_name",
                                   "reply_to"])
def test_no_personnummer_on_the_label_or_the_slip(as_user: Any, field: str) -> None:
    resp = as_user("secretary").post(
        LABEL, data={**label_form(**{field: f"Kalle {PNR}"}), "as_pdf": "1"})
    assert resp.status_code == 422
    assert "personnummer" in field_error(html(resp), field).lower()


# --- the sheet, as served ------------------------------------------------------------------------


def test_the_sheets_are_served_inline_named_by_sheet_and_day_never_cached(as_user: Any) -> None:
    client = as_user("secretary")
    day = today().isoformat()
    for path, form, name in ((INNER, inner_form(), "innerkuvert"),
                             (LABEL, label_form(), "kuvertetikett")):
        resp = sheet(client, path, form)
        assert resp.headers["Content-Disposition"] == f'inline; filename="{name}-{day}.pdf"'
        assert resp.headers["Cache-Control"] == "no-store"
        assert len(PdfReader(io.BytesIO(resp.data)).pages) == 1


def test_the_file_name_never_carries_the_personnummer_or_a_name() -> None:
    day = today()
    for slug, data in (("inner-envelope", {"personnummer": PNR, "return_address": RETURN}),
                       ("envelope-label", {"recipient_name": RECIPIENT})):
        name = FORMS[slug].pdf_filename(data, day)
        assert name == f"{FORMS[slug].pdf_words}-{day.isoformat()}.pdf"
        assert "1212" not in name and "quellenberg" not in name


@pytest.mark.parametrize("typed", PNR_TYPED)
def test_the_personnummer_is_printed_once_in_the_long_form(as_user: Any, typed: str) -> None:
    data = sheet(as_user("secretary"), INNER, inner_form(personnummer=typed)).data
    text = pdftotext(data)
    assert text.count(PNR_LONG) == 1
    digits = re.sub(r"\D", "", text)
    assert digits.count("194708230018") == 1 and digits.count("4708230018") == 1
    meta = PdfReader(io.BytesIO(data)).metadata
    assert meta is not None and meta.title == "Innerkuvert för Skatteverkets förmedlingsuppdrag"


def test_the_inner_envelope_sheet_says_the_routines_steps(as_user: Any) -> None:
    text = pdftotext(sheet(as_user("secretary"), INNER, inner_form()).data)
    for words_ in ("Innerkuvert för Skatteverkets förmedlingsuppdrag", "rutinen avsnitt 3.1",
                   "Avsändare", "Myndighet Centrum Göteborgs Stad Box 5120 402 23 Göteborg",
                   "Skatteverket Förmedlingsuppdrag Box 2820 403 20 Göteborg",
                   "Lägg brevet i ett kuvert.", "Skicka.", "Inget annat än förmedlingsadressen",
                   "särskild förmedlingsadress", "skatteverket.se", "SKYDDADE PERSONUPPGIFTER"):
        assert words_ in text, words_


def test_the_label_sheet_says_the_routines_steps(as_user: Any) -> None:
    text = pdftotext(sheet(as_user("secretary"), LABEL, label_form()).data)
    for words_ in ("SKYDDADE PERSONUPPGIFTER", RECIPIENT,
                   "Vårdcentralen Xylofongatan Xylofongatan 3 413 45 Göteborg",
                   f"Begäran om uppgifter från: {REQUESTER}",
                   "Uppgifterna skickas till: Myndighet Centrum Göteborgs Stad Box 5120",
                   "rutinen avsnitt 3.8", "i första hand muntligt", "Skicka."):
        assert words_ in text, words_


# --- where everything lies on the paper ---------------------------------------------------------


def _page_words(data: bytes) -> list[Word]:
    sizes, found = words(data)
    assert sizes == [(pytest.approx(A4_WIDTH, abs=0.5), pytest.approx(A4_HEIGHT, abs=0.5))]
    for w in found:  # everything on the A4 page, inside the page margins' outer 5 mm
        assert w.x_min >= 5 * MM and w.x_max <= A4_WIDTH - 5 * MM, w
        assert w.y_min >= 5 * MM and w.y_max <= A4_HEIGHT - 5 * MM, w
    return found


def test_each_piece_holds_its_words_and_nothing_else(as_user: Any) -> None:
    found = _page_words(sheet(as_user("secretary"), INNER, inner_form(
        forwarding_address=SPECIAL)).data)
    front, back, outer = (piece(n) for n in INNER_PIECES)
    # A: the personnummer, and nothing else; it is nowhere else on the sheet.
    assert inside(front, found) == [PNR]
    assert [w for w in found if "1212" in w.text] == [w for w in found if front.holds(w)]
    # B: "Avsändare" and the return address.
    assert inside(back, found) == ["Avsändare", *address_words(RETURN)]
    assert all(back.holds(w) for w in found if back.touches(w))
    # C: the forwarding address, and NOTHING else (§3.1 step 5): no sender, no "skyddade", no
    # title, no caption.
    assert inside(outer, found) == address_words(SPECIAL)
    assert all(outer.holds(w) for w in found if outer.touches(w))
    # The pieces do not overlap each other.
    assert front.bottom < back.top and back.bottom < outer.top


def test_the_label_pieces_hold_their_words(as_user: Any) -> None:
    found = _page_words(sheet(as_user("secretary"), LABEL, label_form()).data)
    label, slip = (piece(n) for n in LABEL_PIECES)
    assert inside(label, found) == ["SKYDDADE", "PERSONUPPGIFTER", *RECIPIENT.split(),
                                    *address_words(RECIPIENT_ADDRESS)]
    assert inside(slip, found) == ["Begäran", "om", "uppgifter", "från:", *REQUESTER.split(),
                                   "Uppgifterna", "skickas", "till:", *address_words(REPLY_TO)]
    assert all(p.holds(w) for p in (label, slip) for w in found if p.touches(w))


def test_the_longest_input_the_form_takes_still_fits_each_piece(as_user: Any) -> None:
    """The widest letters, on every line the limits allow: wrapped, but inside the piece."""
    widest = "\n".join(["W" * ADDRESS_LINE_CHARS] * ADDRESS_LINES)
    client = as_user("secretary")
    found = _page_words(sheet(client, INNER, inner_form(
        return_address=widest, forwarding_address=widest)).data)
    for name in ("envelope-back", "envelope-outer"):
        box = piece(name)
        mine = [w for w in found if box.touches(w)]
        assert sum(len(w.text) for w in mine if set(w.text) == {"W"}) == \
            ADDRESS_LINES * ADDRESS_LINE_CHARS
        assert all(box.holds(w) for w in mine), name
    found = _page_words(sheet(client, LABEL, label_form(
        recipient_name="W" * NAME_CHARS, recipient_address=widest,
        requester_name="M" * NAME_CHARS, reply_to=widest)).data)
    for name in LABEL_PIECES:
        box = piece(name)
        mine = [w for w in found if box.touches(w)]
        assert len(mine) > ADDRESS_LINES and all(box.holds(w) for w in mine), name


# --- the crop marks, on the rendered page -------------------------------------------------------

DPI = 100


def render_page(data: bytes, tmp_path: Path) -> Image.Image:
    stem = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-", str(stem)],
                   input=data, check=True)
    (png,) = tmp_path.glob("page*.png")
    return Image.open(png).convert("L")


def px(points: float) -> int:
    return round(points / 72 * DPI)


def darkest(image: Image.Image, x: float, y: float, radius: int = 1) -> int:
    """The darkest pixel within ``radius`` of the point (x, y) given in points."""
    cx, cy = px(x), px(y)
    return min(int(image.getpixel((i, j)))  # type: ignore[arg-type]
               for i in range(cx - radius, cx + radius + 1)
               for j in range(cy - radius, cy + radius + 1))


def corners(box: Box) -> Iterator[tuple[float, float, int, int]]:
    """Each corner and the directions pointing away from the piece there."""
    yield box.left, box.top, -1, -1
    yield box.right, box.top, 1, -1
    yield box.left, box.bottom, -1, 1
    yield box.right, box.bottom, 1, 1


def assert_marks(image: Image.Image, box: Box) -> None:
    dark, white = 110, 200
    for x, y, sx, sy in corners(box):
        # The marks: 2 to 7 mm out from the corner, on the lines of the piece's edges.
        for along in (3, 4.5, 6):
            assert darkest(image, x + sx * along * MM, y) < dark, (box, x, y, along)
            assert darkest(image, x, y + sy * along * MM) < dark, (box, x, y, along)
        # White between the marks and the corner, at the corner itself, and beside the marks
        # (no frame: the piece is cut along the line between two marks).
        for dx, dy in ((0, 0), (sx * 1, 0), (0, sy * 1), (sx * 4.5, sy * 2.5),
                       (sx * 2.5, sy * 4.5), (-sx * 1.5, 0), (0, -sy * 1.5)):
            assert darkest(image, x + dx * MM, y + dy * MM) > white, (box, x, y, dx, dy)
    # The middle of each edge: no line is drawn there.
    for x, y in (((box.left + box.right) / 2, box.top), ((box.left + box.right) / 2, box.bottom),
                 (box.left, (box.top + box.bottom) / 2), (box.right, (box.top + box.bottom) / 2)):
        assert darkest(image, x, y) > white, (box, x, y)


def test_the_crop_marks_frame_each_piece_of_the_inner_envelope(
        as_user: Any, tmp_path: Path) -> None:
    image = render_page(sheet(as_user("secretary"), INNER, inner_form()).data, tmp_path)
    assert abs(image.size[0] - px(A4_WIDTH)) <= 1 and abs(image.size[1] - px(A4_HEIGHT)) <= 1
    for name in INNER_PIECES:
        assert_marks(image, piece(name))
    # The check can fail: 3 mm off, or another piece's size, and the marks are not there.
    front = piece("envelope-front")
    for wrong in (Box(front.left + 3 * MM, front.top, front.right + 3 * MM, front.bottom),
                  Box(front.left, front.top, front.right, front.bottom + 5 * MM)):
        with pytest.raises(AssertionError):
            assert_marks(image, wrong)


def test_the_crop_marks_frame_each_piece_of_the_label(as_user: Any, tmp_path: Path) -> None:
    image = render_page(sheet(as_user("secretary"), LABEL, label_form()).data, tmp_path)
    for name in LABEL_PIECES:
        assert_marks(image, piece(name))


def test_the_blanks_have_the_same_pieces_with_lines_to_write_on(
        as_user: Any, app: Flask, tmp_path: Path) -> None:
    client = as_user("staff")  # blanks hold no data: every user may print one
    for slug, pieces, name in (("inner-envelope", INNER_PIECES, "innerkuvert"),
                               ("envelope-label", LABEL_PIECES, "kuvertetikett")):
        resp = client.get(f"/blank/{slug}.pdf")
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        assert resp.headers["Content-Disposition"] == f'inline; filename="blankett-{name}.pdf"'
        (tmp_path / slug).mkdir()
        image = render_page(resp.data, tmp_path / slug)
        found = _page_words(resp.data)
        for p in pieces:
            box = piece(p)
            assert_marks(image, box)
            # A line to write on inside every piece: dark pixels across most of its width.
            row_dark = [
                sum(1 for i in range(px(box.left), px(box.right))
                    if int(image.getpixel((i, j))) < 128)  # type: ignore[arg-type]
                for j in range(px(box.top), px(box.bottom))]
            assert max(row_dark) > 0.6 * (px(box.right) - px(box.left)), p
        text = pdftotext(resp.data)
        assert not re.search(r"\d{6}-\d{4}", text)
        if slug == "inner-envelope":
            assert inside(piece("envelope-outer"), found) == []  # lines only
            assert inside(piece("envelope-front"), found) == []
            assert "Avsändare" in inside(piece("envelope-back"), found)
            # Where to send it, from the settings: in the steps, outside the pieces.
            assert "Skatteverket, Förmedlingsuppdrag, Box 2820, 403 20 Göteborg" in text
        else:
            assert inside(piece("label-envelope"), found) == ["SKYDDADE", "PERSONUPPGIFTER"]


def test_a_changed_forwarding_address_changes_the_blank(as_user: Any, app: Flask) -> None:
    client = as_user("secretary")
    before = pdftotext(client.get("/blank/inner-envelope.pdf").data)
    app.config["FORWARDING_ADDRESS"] = "Skatteverket\nNy förmedling\nBox 1\n111 11 Sundsvall"
    after = pdftotext(client.get("/blank/inner-envelope.pdf").data)
    assert "Box 2820" in before and "Ny förmedling, Box 1, 111 11 Sundsvall" in after


# --- nothing kept --------------------------------------------------------------------------------


def events_after(app: Flask, seq: int) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)).all()
        db.session.expunge_all()
        return list(rows)


def last_seq(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.seq))) or 0


def test_each_sheet_is_audited_as_made_by_whom_never_what_it_said(
        app: Flask, as_user: Any) -> None:
    client = as_user("secretary")
    seq = last_seq(app)
    sheet(client, INNER, inner_form())
    sheet(client, LABEL, label_form())
    events = [e for e in events_after(app, seq) if e.action != "login"]
    assert [(e.action, e.object_type, e.username, e.case_number, e.detail, e.outcome)
            for e in events] == [
        ("pdf_rendered", "inner_envelope", "secretary", None, None, "ok"),
        ("pdf_rendered", "envelope_label", "secretary", None, None, "ok")]


def test_a_post_without_as_pdf_is_only_checked_and_shows_no_value(
        app: Flask, as_user: Any) -> None:
    """The page's one button sends as_pdf; a post without it makes nothing and writes none of
    the values into the page, not even as hidden fields."""
    client = as_user("secretary")
    seq = last_seq(app)
    for path, form in ((INNER, inner_form(personnummer="194708230018",
                                          forwarding_address=SPECIAL)),
                       (LABEL, label_form())):
        resp = client.post(path, data=form)
        page = html(resp)
        assert resp.status_code == 200 and resp.mimetype == "text/html"
        assert "inget ark är gjort" in page and "Skriv ut (PDF)" in page
        for typed in (*TYPED, "4708230018", "19470823", "Box 5120"):
            assert typed not in page, typed
        assert set(re.findall(r'<input type="hidden" name="([^"]+)"', page)) <= {"csrf_token"}
    assert [e.action for e in events_after(app, seq)] == ["sheet_checked", "sheet_checked"]


def _db_files(app: Flask) -> list[Path]:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def test_nothing_typed_is_stored_or_logged(app: Flask, as_user: Any, caplog: Any,
                                           capfd: Any) -> None:
    for name in ("portal", *(n for n in logging.root.manager.loggerDict
                             if n.startswith("portal."))):
        logging.getLogger(name).disabled = False  # Alembic's fileConfig turned them off
    client = as_user("secretary")
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]

        def counts() -> dict[str, int]:
            return {t: db.session.scalar(select(func.count()).select_from(
                db.metadata.tables[t])) or 0 for t in tables}

        before = counts()
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    typed_pnrs = ("194708230018", PNR_LONG)
    sheet(client, INNER, inner_form(personnummer=typed_pnrs[0], forwarding_address=SPECIAL))
    client.post(INNER, data={**inner_form(personnummer="19470823-0019",
                                          forwarding_address=SPECIAL), "as_pdf": "1"})
    client.post(INNER, data=inner_form(personnummer=typed_pnrs[0], forwarding_address=SPECIAL))
    sheet(client, LABEL, label_form())
    client.post(LABEL, data={**label_form(recipient_name=""), "as_pdf": "1"})  # refused
    secrets = (*TYPED, *typed_pnrs, "19470823-0019", "4708230018")
    out, err = capfd.readouterr()
    logged = "\n".join([*(r.getMessage() for r in caplog.records), caplog.text, out, err])
    assert "forms.fill" in logged  # the capture sees the portal's own lines
    for typed in secrets:
        assert typed not in logged, typed
    with app.app_context():
        after = counts()
        for e in db.session.scalars(select(AuditEvent)).all():
            row = " ".join(str(v) for v in vars(e).values() if v is not None)
            for typed in secrets:
                assert typed not in row, typed
        # Every value of every table, as the database gives it back.
        for table in db.metadata.sorted_tables:
            for values in db.session.execute(table.select()):
                cells = " ".join(str(v) for v in values if v is not None)
                for typed in secrets:
                    assert typed not in cells, (table.name, typed)
        db.session.remove()
        db.engine.dispose()  # checkpoint the WAL into the file searched below
    assert {t: n for t, n in after.items() if t != "audit_events"} == \
        {t: n for t, n in before.items() if t != "audit_events"}
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        return  # PostgreSQL: the rows above; the file search is SQLite's
    raw = b"".join(path.read_bytes() for path in _db_files(app))
    assert REQUESTER.encode("utf-8") in raw  # the search finds what is stored (the user)
    for typed in secrets:
        assert typed.encode("utf-8") not in raw, typed
