"""The paper kit (issue 16 item 3, part C; SPEC §3.8; portal/paper_kit.py): the routine's paper
sheets that are no form kind — the day-note sheet (§7.5, §8.6), the handlingsplan (§7.2, 003),
the key receipt under the fictional name (§8.4), the record of who handled the file (2021 §5.7)
and Trygghetsjouren's out-of-hours sheets (§9.6).

Each is served blank to every logged-in user, listed on the start page of the roles and unit
types it serves and no others, fits A4 inside the margins (word boxes from pdftotext
-bbox-layout, margins as pixels), and — where it can be — is printed prefilled with a fictional
file's name from the file's page, for that file's unit only, audited without the name."""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import pytest
from conftest import TRYGGHETSJOUREN, add_user, html
from flask import Flask
from pdf_support import pdftotext
from pdf_support import words as pdf_words
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select
from test_day_notes import CASE, FICTIONAL, create_file
from test_menus import links_in

from portal import paper_kit
from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS
from portal.models import AuditEvent
from portal.views.day_notes import COMPILERS, WRITERS

KIT = ("day-notes", "action-plan", "key-receipt", "file-record", "out-of-hours-short-term",
       "out-of-hours-home-care", "out-of-hours-alarm")
PREFILLED = ("action-plan", "key-receipt", "file-record")
OUT_OF_HOURS = ("out-of-hours-short-term", "out-of-hours-home-care", "out-of-hours-alarm")
DISCARD = "Kastas i sekretessåtervinning när LVS har dokumenterat i Treserva (§9.6)"

#: What a person with a pen must find on each blank sheet (the routine's points).
TEXTS: dict[str, tuple[str, ...]] = {
    "day-notes": ("Blankett för daganteckning", "Fiktivt namn", "Sammanställd i journalen"),
    "action-plan": (
        "Handlingsplan", "Fiktivt namn", "Vilka uppgifter är särskilt viktiga att skydda?",
        "Vad får det för konsekvenser om de lämnas ut?", "kognitiv svikt",
        "Hur insatsen/ordinationen utförs", "Vilka som ska ha behörighet till ärendet i Treserva",
        "Roll/befattning", "Från (datum)", "Till (datum)",
        "Kommunikation som är överenskommen (se checklistan)", "Datum för uppföljning",
        "Upprättad av (namn)", "Underskrift", "i den ordinarie akten", "i den fiktiva akten"),
    "key-receipt": (
        "Nyckelkvittens", "SKYDDADE PERSONUPPGIFTER", "Fiktivt namn",
        "aldrig det riktiga namnet eller adressen", "Nyckelnummer", "Antal nycklar",
        "Registrerad i nyckelskåpet under det fiktiva namnet", "förvaras i den ordinarie akten",
        "Till/från (namn)", "Bevittnad av", "Underskrift"),
    "file-record": (
        "Förteckning över vem som hanterat akten", "SKYDDADE PERSONUPPGIFTER", "Fiktiv akt",
        "Enhet", "Datum", "Tid ut", "Tid tillbaka", "Namn", "Roll", "Varför", "Signatur",
        "inlåst i arkivskåp dygnet runt"),
    "out-of-hours-short-term": (
        "korttidsplats", "Korttidsenheten", "Sjuksköterska på Hälso- och sjukvårdsenheten",
        "Att en person med skyddade personuppgifter kommer till korttiden",
        "Orsak till placering", "Inskriven i hälso- och sjukvården",
        "kontaktuppgifter till närstående", "Övrig relevant information", "ÄO särskilt boende",
        "Lämnad till LVS", "Boendesamordningen (BoSam)", "nästa vardag"),
    "out-of-hours-home-care": (
        "hemtjänst", "Hemtjänsten", "Att Trygghetsjouren har beviljat insatser",
        "Orsak till insatserna", "Inskriven i hälso- och sjukvården",
        "kontaktuppgifter till närstående", "Övrig relevant information", "ÄO Hemtjänst",
        "Lämnad till LVS", "socialsekreterare uppringd nästkommande vardag"),
    "out-of-hours-alarm": (
        "trygghetslarm", "Larmenheten", "behöver hämta nycklar",
        "Namn (det som står i porten/på dörren) och adress", "ÄO Hemtjänst", "Lämnad till LVS",
        "Socialsekreterare uppringd nästa vardag"),
}

# A4 in points and the page's margins (print.css @page: 24 mm 16 mm 20 mm 16 mm).
MM = 72 / 25.4
PAGE_W, PAGE_H = 595.28, 841.89
LEFT, RIGHT, TOP, BOTTOM = 16 * MM, PAGE_W - 16 * MM, 24 * MM, PAGE_H - 20 * MM


def words_by_page(data: bytes) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word's box (xMin, yMin, xMax, yMax, text) in points, page by page."""
    sizes, found = pdf_words(data)
    return [[(w.x_min, w.y_min, w.x_max, w.y_max, w.text) for w in found if w.page == number]
            for number in range(1, len(sizes) + 1)]


def page_images(data: bytes, tmp_path: Any, name: str) -> list[Image.Image]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(path), str(tmp_path / name)], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob(f"{name}-*.png"))]


@pytest.fixture
def tj_user(app: Flask, password_hash: str) -> str:
    """A jourledare (staff) of a Trygghetsjouren unit."""
    add_user(app, password_hash, "tj_staff", "Tove Jour", "staff", TRYGGHETSJOUREN)
    return "tj_staff"


# --- the registry ------------------------------------------------------------------------------


def test_the_kit_has_the_sheets_the_issue_names_and_none_shadows_a_form() -> None:
    assert tuple(paper_kit.SHEETS) == KIT
    assert not set(KIT) & set(FORMS)
    assert {s.slug for s in paper_kit.SHEETS.values() if s.prefillable} == {"day-notes",
                                                                               *PREFILLED}
    for sheet in paper_kit.SHEETS.values():
        assert sheet.prefill_roles <= sheet.roles, sheet.slug


def test_the_day_note_sheet_serves_whom_the_day_note_pages_serve(app: Flask) -> None:
    """Moved from the menu's EXTRA_* lists: listed for the users of /day-notes/ (staff, unit
    managers, planners), prefilled by those who write the notes (§7.1)."""
    sheet = paper_kit.SHEETS["day-notes"]
    assert sheet.roles == app.view_functions["day_notes.index"].allowed_roles
    assert sheet.roles == {"staff", *COMPILERS}
    assert sheet.prefill_roles == set(WRITERS)


# --- every sheet blank: its texts, A4, inside the margins --------------------------------------


@pytest.mark.parametrize("slug", KIT)
def test_every_sheet_renders_blank_with_its_texts_inside_the_a4_margins(
    as_user: Any, slug: str, tmp_path: Any
) -> None:
    resp = as_user("staff").get(f"/blank/{slug}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdftotext(resp.data)
    for words in TEXTS[slug]:
        assert words in text, (slug, words)
    reader = PdfReader(io.BytesIO(resp.data))
    assert 1 <= len(reader.pages) <= 2, slug
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)

    header = {"Göteborgs", "Stad", "—", "Äldre", "samt", "vård-", "och", "omsorgsförvaltningen",
              "SKYDDADE", "PERSONUPPGIFTER"}
    pages = words_by_page(resp.data)
    for number, words in enumerate(pages, start=1):
        for x0, y0, x1, y1, word in words:
            assert x0 >= LEFT - 0.5 and x1 <= RIGHT + 0.5, (slug, number, word)
            if y1 <= TOP:  # the running header, in the top margin
                assert word in header, (slug, number, word)
            elif y0 >= BOTTOM:  # the running footer: "Skapad … · Rutin … Sida n av m"
                assert re.fullmatch(r"Skapad|[\d:-]+|·|Rutin|beslutad|Sida|av", word), (
                    slug, number, word)
        # Every page but the header and footer has content of the sheet: no empty page.
        assert any(y0 > TOP and y1 < BOTTOM for _, y0, _, y1, _ in words), (slug, number)
    # Lines and boxes too: nothing is drawn in the left or right margin (pixels of the page at
    # 70 dpi: 16 mm is 44 px; 2 mm of slack).
    for image in page_images(resp.data, tmp_path, slug):
        width, height = image.size
        margin = int((16 - 2) / 25.4 * 70)
        for box in ((0, 0, margin, height), (width - margin, 0, width, height)):
            assert image.crop(box).getextrema()[0] >= 250, (slug, box)


@pytest.mark.parametrize("slug", [s for s in KIT if s != "day-notes"])
def test_a_sheet_of_two_pages_breaks_cleanly(as_user: Any, slug: str) -> None:
    """A section's heading stays with what is written under it; a register's rows never split
    (print.css .keep, table.grid tr)."""
    data = as_user("staff").get(f"/blank/{slug}.pdf").data
    pages = [pdftotext(data, "-f", str(n), "-l", str(n))
             for n in range(1, len(PdfReader(io.BytesIO(data)).pages) + 1)]
    together = {
        "action-plan": [("5. Vilka som ska ha behörighet", "Till (datum)"),
                        ("6. Kommunikation", "Besök: identitetskontroll"),
                        ("7. Uppföljning och upprättande", "Underskrift")],
        "key-receipt": [("Utlämnade och återlämnade nycklar", "Bevittnad av")],
        "file-record": [("Uttag och återlämning", "Tid tillbaka")],
    }.get(slug, [("Dokumentation och överlämning", "Lämnad till LVS"), ("Vad som sagts",
                                                                         "Övrig relevant")])
    for heading, below in together:
        on = [n for n, text in enumerate(pages) if heading in text]
        assert len(on) == 1 and below in pages[on[0]], (slug, heading)
    if slug in OUT_OF_HOURS:  # the instruction to throw it away comes first, on page 1
        assert DISCARD in pages[0]


def test_the_out_of_hours_sheets_say_when_they_are_thrown_away(as_user: Any) -> None:
    """§9.6: documented on paper, thrown away in the confidential recycling once LVS has
    documented it in Treserva: with lines for who did each and when; marked as protected."""
    staff = as_user("staff")
    for slug in OUT_OF_HOURS:
        text = pdftotext(staff.get(f"/blank/{slug}.pdf").data)
        assert DISCARD in text, slug
        for words in ("LVS dokumenterat: datum", "Underskrift (LVS)", "Kastad: datum",
                      "SKYDDADE PERSONUPPGIFTER", "Jourledare (namn)",
                      "Checklistans innehåll stämt av direkt med personen"):
            assert words in text, (slug, words)
        assert "Ja: lämnas till LVS" in text and "Nej" in text, slug


def test_the_blank_file_names_are_swedish_words(as_user: Any) -> None:
    staff = as_user("staff")
    expected = {
        "day-notes": "blankett-daganteckning.pdf",
        "action-plan": "blankett-handlingsplan.pdf",
        "key-receipt": "blankett-nyckelkvittens.pdf",
        "file-record": "blankett-forteckning-hanterat-akten.pdf",
        "out-of-hours-short-term": "blankett-jourtid-korttid.pdf",
        "out-of-hours-home-care": "blankett-jourtid-hemtjanst.pdf",
        "out-of-hours-alarm": "blankett-jourtid-trygghetslarm.pdf",
    }
    for slug, name in expected.items():
        resp = staff.get(f"/blank/{slug}.pdf")
        assert resp.headers["Content-Disposition"] == f'inline; filename="{name}"', slug
    resp = staff.get("/blank/key-receipt.pdf?fillable=1")
    assert resp.headers["Content-Disposition"] == (
        'inline; filename="blankett-nyckelkvittens-ifyllbar.pdf"')


# --- the start page lists each sheet for whom it serves ----------------------------------------

#: Who gets which kit sheet on the start page (fixture users; tj_staff: a Trygghetsjouren unit).
LISTED: dict[str, set[str]] = {
    "staff": {"day-notes"},
    "secretary": {"action-plan", "file-record"},
    "manager": {"day-notes", "action-plan", "file-record"},  # Myndighet: no key receipt (§8.4)
    "hemtjanst_manager": {"day-notes", "action-plan", "key-receipt", "file-record"},
    "planner": {"day-notes", "key-receipt", "file-record"},
    "lvs": {"file-record"},
    "admin": set(),
    "tj_staff": {"day-notes", *OUT_OF_HOURS},
}


@pytest.mark.parametrize("username", sorted(LISTED))
def test_the_start_page_lists_each_sheet_for_the_roles_and_units_it_serves(
    as_user: Any, tj_user: str, username: str
) -> None:
    page = html(as_user(username).get("/"))
    listed = {a["href"] for a in links_in(page, id="blanketter")}
    kit = {href.removeprefix("/blank/").removesuffix(".pdf") for href in listed
           if href.removeprefix("/blank/").removesuffix(".pdf") in paper_kit.SHEETS}
    assert kit == LISTED[username]
    for slug in LISTED[username]:
        # Each with its Swedish title.
        assert f"{paper_kit.SHEETS[slug].title} (PDF)" in page.replace("&#34;", '"'), slug


# --- prefilled with the fictional name ----------------------------------------------------------


def test_the_files_page_links_the_prefilled_sheets_of_the_users_work(as_user: Any) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    links = {
        "hemtjanst_manager": set(PREFILLED),
        "planner": {"key-receipt", "file-record"},
        "staff": set(),
    }
    for username, slugs in links.items():
        page = html(as_user(username).get(f"/day-notes/{file_id}"))
        found = set(re.findall(rf"/day-notes/{file_id}/kit/([a-z-]+)\.pdf", page))
        assert found == slugs, username


@pytest.mark.parametrize("slug", PREFILLED)
def test_a_prefilled_sheet_carries_the_fictional_name_and_unit_never_the_case_number(
    app: Flask, as_user: Any, slug: str
) -> None:
    manager = as_user("hemtjanst_manager")
    file_id = create_file(manager)
    resp = manager.get(f"/day-notes/{file_id}/kit/{slug}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "no-store" in resp.headers["Cache-Control"]
    text = pdftotext(resp.data)
    assert FICTIONAL in text and "Hemtjänst Hisingen" in text
    assert CASE not in text
    # Named by what it is and the day, never the fictional name.
    name = {"action-plan": "handlingsplan", "key-receipt": "nyckelkvittens",
            "file-record": "forteckning-hanterat-akten"}[slug]
    assert resp.headers["Content-Disposition"] == (
        f'inline; filename="{name}-{today().isoformat()}.pdf"')
    assert "gunnel" not in resp.headers["Content-Disposition"].lower()
    # Not in the PDF's title either (what a viewer shows in its window and tab).
    assert FICTIONAL not in str(PdfReader(io.BytesIO(resp.data)).metadata.get("/Title"))

    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "paper_kit_printed").order_by(AuditEvent.id.desc())).first()
        assert event is not None
        assert (event.object_type, event.object_id, event.detail) == (
            "fictional_file", file_id, slug)
        assert event.outcome == "ok"
        for column in (event.detail, event.object_id, event.case_number):
            assert FICTIONAL not in (column or "")


def test_a_prefilled_sheet_is_refused_for_another_units_file(
    app: Flask, as_user: Any, password_hash: str
) -> None:
    """Deny by default: a file outside the user's unit is 404 (as its page), audited."""
    file_id = create_file(as_user("hemtjanst_manager"))
    add_user(app, password_hash, "hem2_chef", "Harald Annan", "unit_manager",
             ("Hemtjänst Nordost", "hemtjanst", "Nordost"))
    other = as_user("hem2_chef")
    for slug in PREFILLED:
        assert other.get(f"/day-notes/{file_id}/kit/{slug}.pdf").status_code == 404, slug
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "day_notes_denied")) is not None
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "paper_kit_printed")) is None


def test_a_sheet_never_prefilled_or_unknown_is_404_and_one_not_of_the_role_403(
    app: Flask, as_user: Any
) -> None:
    manager = as_user("hemtjanst_manager")
    file_id = create_file(manager)
    for slug in (*OUT_OF_HOURS, "no-such-sheet", "access-order", "checklist"):
        assert manager.get(f"/day-notes/{file_id}/kit/{slug}.pdf").status_code == 404, slug
    staff = as_user("staff")  # the unit's staff: the day-note sheet only (§7.1)
    for slug in PREFILLED:
        assert staff.get(f"/day-notes/{file_id}/kit/{slug}.pdf").status_code == 403, slug
    assert staff.get(f"/day-notes/{file_id}/kit/day-notes.pdf").status_code == 200
    # The planner: the key receipt and the file record, not the handlingsplan.
    planner = as_user("planner")
    assert planner.get(f"/day-notes/{file_id}/kit/action-plan.pdf").status_code == 403
    assert planner.get(f"/day-notes/{file_id}/kit/key-receipt.pdf").status_code == 200
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "access_denied", AuditEvent.outcome == "denied")).all()
        assert any(e.detail == "paper kit action-plan" for e in refused)


def test_the_day_note_sheet_is_the_same_print_at_both_addresses(app: Flask, as_user: Any) -> None:
    """The older /sheet.pdf and the kit's day-notes: one print, one audit action (no detail)."""
    staff = as_user("staff")
    file_id = create_file(as_user("hemtjanst_manager"))
    for path in (f"/day-notes/{file_id}/sheet.pdf", f"/day-notes/{file_id}/kit/day-notes.pdf"):
        resp = staff.get(path)
        assert resp.status_code == 200
        assert FICTIONAL in pdftotext(resp.data) and CASE not in pdftotext(resp.data)
        assert resp.headers["Content-Disposition"] == (
            f'inline; filename="daganteckning-{today().isoformat()}.pdf"')
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "day_note_sheet_printed")).all()
        assert len(events) == 2 and {e.detail for e in events} == {None}


def test_the_key_receipt_says_fictional_name_only(as_user: Any) -> None:
    """§8.4: under the fictional name, registered in the key cabinet under it; the real name and
    the address never (a key with an address is the address)."""
    manager = as_user("hemtjanst_manager")
    file_id = create_file(manager)
    for resp in (manager.get("/blank/key-receipt.pdf"),
                 manager.get(f"/day-notes/{file_id}/kit/key-receipt.pdf")):
        text = pdftotext(resp.data)
        assert "Skriv bara det fiktiva namnet – aldrig det riktiga namnet eller adressen" in text
        assert "I nyckelskåpet registreras personen med det fiktiva namnet" in text
        assert "Kvittensen förvaras i den ordinarie akten" in text
