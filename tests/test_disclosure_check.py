"""Kontroll före utskick eller utlämnande (routine §3.9, §5.8; 2021 routine §4 p. 3–4; SPEC §3.8;
issue 16 item 1) the whole way: the social secretary or unit manager ticks every check of the
routine before a document leaves, and only then gets the cover sheet (försättsblad) for the
physical file. Nothing typed is stored or logged; the audit log says that a check was made (case
number, who, when)."""

from __future__ import annotations

import html as html_lib
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import USERS, html
from conftest import field_error as shown_error
from flask import Flask
from flask.testing import FlaskClient
from pdf_support import Word, pdftotext, words
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.audit_trail import ACTIONS
from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS, RenderOnlyForm
from portal.forms.disclosure_check import (
    CHECK_NAMES,
    CHECKS,
    MSG_NO_DOCUMENT_KIND,
    MSG_NO_RECIPIENT,
    MSG_NO_RECIPIENT_KIND,
    MSG_NO_SECOND_CHECKER,
    MSG_RECIPIENT_ADDRESS,
    MSG_SECOND_CHECKER_IS_YOU,
    check_disclosure,
)
from portal.models import AuditEvent

PATH = "/forms/disclosure-check"
BLANK = "/blank/disclosure-check.pdf"
CASE = "0655588"
RECIPIENT = "Förvaltningsrätten i Göteborg"
SECOND_CHECKER = "Maja Kontrollantsson"
SECRETARY = USERS["secretary"][0]
TYPED = (RECIPIENT, SECOND_CHECKER)
# A4 in points, and print.css's page margins (24 mm 16 mm 20 mm 16 mm).
A4_WIDTH, A4_HEIGHT = 595.28, 841.89
MM = 72 / 25.4
LEFT, RIGHT = 16 * MM, A4_WIDTH - 16 * MM
TOP, BOTTOM = 24 * MM, A4_HEIGHT - 20 * MM


def disclosure_form(**overrides: str | None) -> dict[str, str]:
    """A valid check from `secretary`: a statement to a court, every tick, a second checker."""
    data: dict[str, str | None] = {
        "case_number": CASE,
        "document_kind": "court_statement",
        "recipient_kind": "court",
        "recipient": RECIPIENT,
        **{name: "y" for name in CHECK_NAMES},
        "second_checker": SECOND_CHECKER,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def field_error(page: str, field_id: str) -> str:
    """The error at a field, without the "Fel:" read out to screen readers before it."""
    return " ".join(shown_error(page, field_id).split()).removeprefix("Fel: ")


def one_line(text: str) -> str:
    return " ".join(html_lib.unescape(text).split())


def page_text(page: str) -> str:
    return one_line(re.sub(r"<[^>]+>", " ", page))


def body_words(data: bytes) -> list[Word]:
    """The words of page 1 between the running header and footer (the page's margins)."""
    return [w for w in words(data)[1] if w.page == 1 and w.y_min >= TOP and w.y_max <= BOTTOM]


def lines_of(found: list[Word]) -> str:
    """Words as a reader reads them: line by line (to the nearest 2 pt), left to right."""
    return " ".join(w.text for w in sorted(found, key=lambda w: (round(w.y_min / 2), w.x_min)))


def check_column(data: bytes) -> tuple[str, list[Word], list[Word]]:
    """The checks table of the cover sheet: the text of its "Kontroll" column line by line, its
    words, and the words of its "Gjord" column (the ticks). Read by position, so that a
    neighbouring cell's text never runs into a check's words (as plain pdftotext may)."""
    found = body_words(data)
    done = next(w for w in found if w.text == "Gjord")  # the table's head: Gjord Kontroll Rutinen
    head = next(w for w in found if w.text == "Kontroll" and abs(w.y_min - done.y_min) < 2)
    right = next(w for w in found if w.text == "Rutinen" and abs(w.y_min - done.y_min) < 2)
    end = next(w for w in found if w.text == "Underskrifter")
    rows = [w for w in found if head.y_max < w.y_min and w.y_max < end.y_min]
    column = [w for w in rows if head.x_min - 1 <= w.x_min and w.x_max < right.x_min]
    ticks = [w for w in rows if done.x_min - 1 <= w.x_min and w.x_max < head.x_min]
    return lines_of(column), column, ticks


def hidden_values(page: str) -> dict[str, str]:
    """What the result page's print form posts (its hidden fields), as a browser would."""
    form = re.search(r'<form method="post"[^>]*>(.*?)</form>', page, re.S)
    assert form, page
    return {
        html_lib.unescape(n): html_lib.unescape(v)
        for n, v in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)
        )
    }


def cover_sheet(client: FlaskClient, form: dict[str, str]) -> Any:
    resp = client.post(PATH, data={**form, "as_pdf": "1"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:3000]
    assert resp.mimetype == "application/pdf"
    return resp


def events_after(app: Flask, seq: int) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
        ).all()
        db.session.expunge_all()
        return list(rows)


def last_seq(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.seq))) or 0


# --- the page ------------------------------------------------------------------------------------


def test_the_page_lists_every_check_of_the_routine_with_its_section(as_user: Any) -> None:
    resp = as_user("secretary").get(PATH)
    page = html(resp)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"].startswith("no-store")
    text = page_text(page)
    for check in CHECKS:
        assert f'name="{check.name}"' in page, check.name
        assert one_line(check.label) in text and check.section in text, check.name
    for name in ("case_number", "document_kind", "recipient_kind", "recipient", "second_checker"):
        assert f'name="{name}"' in page, name
    # Who makes the check comes from the login, never a field.
    assert f"Kontrollen görs av: {SECRETARY}" in text
    assert 'name="checked_by"' not in page
    assert "Skriv ingen adress" in text


def test_the_menu_offers_it_to_social_secretaries_and_unit_managers(as_user: Any) -> None:
    for username in ("secretary", "manager", "hemtjanst_manager"):
        assert "Kontroll före utskick" in html(as_user(username).get("/")), username
    for username in ("staff", "planner", "lvs"):
        assert "Kontroll före utskick" not in html(as_user(username).get("/")), username


def test_the_form_is_registered_as_printed_only() -> None:
    kind = FORMS["disclosure-check"]
    assert isinstance(kind, RenderOnlyForm) and kind.storage == "none"
    assert kind.key == "disclosure_check" and kind.has_blank and not kind.has_message
    assert kind.submit_roles == frozenset({"social_secretary", "unit_manager"})
    assert kind.unit_types is None
    assert kind.pdf_disposition == "inline"
    assert kind.rendered_action(True) == kind.rendered_action(False) == "disclosure_checked"


# --- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_each_missing_tick_is_refused_at_its_field_with_the_input_kept(
    app: Flask, as_user: Any, check: Any
) -> None:
    client = as_user("secretary")
    before = last_seq(app)
    resp = client.post(PATH, data=disclosure_form(**{check.name: None}))
    page = html(resp)
    assert resp.status_code == 422
    assert field_error(page, check.name) == check.message
    # Only that field is in error, and everything typed is kept.
    assert len(re.findall(r'class="error-message"', page)) == 1
    assert f'value="{CASE}"' in page and f'value="{RECIPIENT}"' in page
    assert f'value="{SECOND_CHECKER}"' in page
    for other in CHECK_NAMES:
        tag = re.search(rf'<input[^>]*name="{other}"[^>]*>', page)
        assert tag and (("checked" in tag.group(0)) == (other != check.name)), other
    assert re.search(
        r'<input[^>]*checked[^>]*value="court_statement"|'
        r'<input[^>]*value="court_statement"[^>]*checked',
        page,
    )
    # No cover sheet, no print button, nothing recorded as checked.
    assert 'name="as_pdf"' not in page
    assert "disclosure_checked" not in [e.action for e in events_after(app, before)]
    assert (
        client.post(PATH, data={**disclosure_form(**{check.name: None}), "as_pdf": "1"}).status_code
        == 422
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"document_kind": None}, "document_kind", MSG_NO_DOCUMENT_KIND),
        ({"document_kind": "fax"}, "document_kind", MSG_NO_DOCUMENT_KIND),
        ({"recipient_kind": None}, "recipient_kind", MSG_NO_RECIPIENT_KIND),
        ({"recipient": ""}, "recipient", MSG_NO_RECIPIENT),
        ({"second_checker": "  "}, "second_checker", MSG_NO_SECOND_CHECKER),
        (
            {"second_checker": " sara  SOCIALSEKRETERARE "},
            "second_checker",
            MSG_SECOND_CHECKER_IS_YOU,
        ),
        (
            {"recipient": "Tingsrätten, Box 123, 411 04 Göteborg"},
            "recipient",
            MSG_RECIPIENT_ADDRESS,
        ),
        ({"recipient": "Ring 031-123 45 67"}, "recipient", MSG_RECIPIENT_ADDRESS),
        ({"recipient": "Tolvan 19121212-1212"}, "recipient", None),  # R-NOTE-PNR, the machine's
        ({"case_number": "12345"}, "case_number", None),
        ({"case_number": ""}, "case_number", "Ange ärendenumret."),
    ],
    ids=lambda v: str(v)[:40],
)
def test_what_to_whom_and_by_whom_are_required_and_checked(
    as_user: Any, changes: dict[str, str | None], field: str, message: str | None
) -> None:
    resp = as_user("secretary").post(PATH, data=disclosure_form(**changes))
    page = html(resp)
    assert resp.status_code == 422
    error = field_error(page, field)
    assert error == message if message else error
    assert 'name="as_pdf"' not in page


def test_the_rules_are_plain_functions_of_the_data() -> None:
    data = {
        "case_number": CASE,
        "document_kind": "letter",
        "recipient_kind": "client",
        "recipient": "Den enskilde",
        **{n: True for n in CHECK_NAMES},
        "second_checker": SECOND_CHECKER,
        "checked_by": SECRETARY,
    }
    assert check_disclosure(data, r"\d{7}") == []
    for name in CHECK_NAMES:
        found = check_disclosure({**data, name: False}, r"\d{7}")
        assert [(v.code, v.field) for v in found] == [("R-DISCLOSURE-CHECK", name)]
    # A tick is a tick: a truthy string posted some other way is not one.
    assert check_disclosure({**data, "second_check": "y"}, r"\d{7}")


# --- the result and the cover sheet ----------------------------------------------------------


def test_every_tick_gives_the_result_page_and_then_the_cover_sheet(
    app: Flask, as_user: Any
) -> None:
    client = as_user("secretary")
    resp = client.post(PATH, data=disclosure_form())
    page = html(resp)
    assert resp.status_code == 200, page[:3000]
    assert resp.headers["Cache-Control"].startswith("no-store")
    text = page_text(page)
    assert "Kontrollen är gjord" in text
    assert "Inget av innehållet har sparats i portalen." in text
    assert one_line(FORMS["disclosure-check"].treserva_step) in text
    for check in CHECKS:
        assert one_line(check.label) in text, check.name
    assert RECIPIENT in text and SECOND_CHECKER in text and SECRETARY in text
    # No message and no distribution list: nothing to copy, no "Till:".
    assert "Till:" not in text and "message-text" not in page and "Kopiera" not in text
    assert 'name="as_pdf"' in page
    # The print posts exactly what the page shows (hidden fields), and gets the cover sheet.
    posted = hidden_values(page)
    assert {k: v for k, v in posted.items() if k != "csrf_token"} == disclosure_form()
    sheet = cover_sheet(client, {**posted, "as_pdf": "1"})
    assert sheet.headers["Cache-Control"].startswith("no-store")
    printed = pdftotext(sheet.data)
    for words_ in (
        "SKYDDADE PERSONUPPGIFTER",
        "Försättsblad – kontroll före utlämnande",
        "Förvaras i den fysiska akten överst på handlingen",
        CASE,
        "Sakupplysning eller yttrande till domstol (§5.8)",
        f"Domstol: {RECIPIENT}",
        SECRETARY,
        SECOND_CHECKER,
        today().isoformat(),
        "Underskrift",
    ):
        assert words_ in printed, words_
    column, _, ticks = check_column(sheet.data)
    for check in CHECKS:
        assert one_line(check.label) in column, check.name
        assert check.section in printed, check.name
    # Each check is crossed on the filled sheet, in the "Gjord" column.
    assert [w.text for w in ticks] == ["X"] * len(CHECKS)


def test_a_post_with_as_pdf_gives_the_cover_sheet_inline_named_without_personal_data(
    as_user: Any,
) -> None:
    resp = cover_sheet(
        as_user("manager"),
        disclosure_form(
            document_kind="letter", recipient_kind="client", recipient="Den enskilde själv"
        ),
    )
    disposition = resp.headers["Content-Disposition"]
    assert disposition == f'inline; filename="kontroll-fore-utlamnande-{today().isoformat()}.pdf"'
    for typed in (CASE, RECIPIENT, SECOND_CHECKER, "Den enskilde", "Eva", "Enhetschef"):
        assert typed.lower() not in disposition.lower(), typed
    printed = pdftotext(resp.data)
    assert "Brev" in printed and "Den enskilde själv: Den enskilde själv" in printed
    assert USERS["manager"][0] in printed
    # The PDF's title names the sheet and the case number only.
    title = PdfReader(__import__("io").BytesIO(resp.data)).metadata.title
    assert title == f"Försättsblad, kontroll före utlämnande, ärende {CASE}"


def test_edit_returns_to_the_form_with_every_answer_kept(as_user: Any) -> None:
    client = as_user("secretary")
    posted = hidden_values(html(client.post(PATH, data=disclosure_form())))
    resp = client.post(PATH, data={**posted, "edit": "1"})
    page = html(resp)
    assert resp.status_code == 200 and 'name="as_pdf"' not in page
    assert f'value="{RECIPIENT}"' in page and f'value="{SECOND_CHECKER}"' in page
    assert page.count("checked") >= len(CHECKS) + 2  # every tick and both choices


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["staff", "planner", "lvs", "admin", "fee"])
def test_only_social_secretaries_and_unit_managers_may_check(as_user: Any, username: str) -> None:
    client = as_user(username)
    assert client.get(PATH).status_code == 403
    assert client.post(PATH, data=disclosure_form()).status_code == 403
    assert client.post(PATH, data={**disclosure_form(), "as_pdf": "1"}).status_code == 403


def test_unit_managers_of_any_unit_type_may_check(as_user: Any) -> None:
    for username in ("manager", "hemtjanst_manager", "other_manager"):
        resp = as_user(username).post(PATH, data=disclosure_form())
        assert resp.status_code == 200, username


def test_anonymous_users_are_sent_to_login(client: FlaskClient) -> None:
    for resp in (client.get(PATH), client.post(PATH, data=disclosure_form())):
        assert resp.status_code == 302
        assert resp.headers["Location"].split("?")[0].endswith("/login")


# --- audit, and nothing kept ---------------------------------------------------------------------


def test_each_check_is_audited_with_the_case_number_who_and_when(app: Flask, as_user: Any) -> None:
    assert str(ACTIONS["disclosure_checked"]) == "Kontroll före utlämnande gjord"
    client = as_user("secretary")
    before = last_seq(app)
    client.post(PATH, data=disclosure_form(second_check=None))  # refused: not a check
    assert client.post(PATH, data=disclosure_form()).status_code == 200
    cover_sheet(client, disclosure_form(case_number="0711111"))
    events = [e for e in events_after(app, before) if e.action != "access_denied"]
    assert [
        (e.action, e.outcome, e.username, e.case_number, e.object_type, e.detail) for e in events
    ] == [
        ("disclosure_checked", "ok", "secretary", CASE, "disclosure_check", None),
        ("disclosure_checked", "ok", "secretary", "0711111", "disclosure_check", None),
    ]
    assert all(e.created_at is not None for e in events)
    # The unit manager's audit trail shows it in Swedish.
    page = page_text(html(as_user("manager").get(f"/audit?case={CASE}")))
    assert "Kontroll före utlämnande gjord" in page


def _db_files(app: Flask) -> list[Path]:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def test_nothing_typed_is_stored_or_logged(
    app: Flask, as_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = as_user("secretary")
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]

        def counts() -> dict[str, int]:
            return {
                t: db.session.scalar(select(func.count()).select_from(db.metadata.tables[t])) or 0
                for t in tables
            }

        before = counts()
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    page = html(client.post(PATH, data=disclosure_form()))
    cover_sheet(client, hidden_values(page))
    client.post(PATH, data=disclosure_form(location_removed=None))  # refused, kept on the page
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for typed in TYPED:
        assert typed not in logged, typed
    with app.app_context():
        after = counts()
        events = db.session.scalars(select(AuditEvent)).all()
        for e in events:
            for typed in TYPED:
                assert typed not in " ".join(
                    str(v) for v in (e.detail, e.object_id, e.case_number) if v
                ), typed
        db.session.remove()
        db.engine.dispose()  # checkpoint the WAL into the file searched below
    assert {t: n for t, n in after.items() if t != "audit_events"} == {
        t: n for t, n in before.items() if t != "audit_events"
    }
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        return  # PostgreSQL: the row counts and audit rows above; the file search is SQLite's
    raw = b"".join(path.read_bytes() for path in _db_files(app))
    assert SECRETARY.encode("utf-8") in raw  # the search finds what is stored
    for typed in TYPED:
        assert typed.encode("utf-8") not in raw, typed
    with sqlite3.connect(_db_files(app)[0]) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert not any(isinstance(v, str) and t in v for v in row for t in TYPED)


# --- the blank, and the layout of both -----------------------------------------------------------


def test_the_blank_cover_sheet_has_boxes_and_lines_to_write_on(as_user: Any) -> None:
    resp = as_user("staff").get(BLANK)  # blanks hold no data: every user may print one
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert (
        resp.headers["Content-Disposition"]
        == 'inline; filename="blankett-kontroll-fore-utlamnande.pdf"'
    )
    printed = pdftotext(resp.data)
    for words_ in (
        "SKYDDADE PERSONUPPGIFTER",
        "Försättsblad – kontroll före utlämnande",
        "Förvaras i den fysiska akten överst på handlingen",
        "Ärendenummer",
        "Datum (ÅÅÅÅ-MM-DD)",
        "Beslut",
        "Uppgifter per telefon",
        "Den enskilde själv",
        "Annan myndighet",
        "Kontrollen gjord av, namn",
        "Andra kontrollen gjord av, namn",
        "Underskrift",
    ):
        assert words_ in printed, words_
    column, _, ticks = check_column(resp.data)
    for check in CHECKS:
        assert one_line(check.label) in column, check.name
        assert check.section in printed, check.name
    assert ticks == [] and not re.search(r"\bX\b", printed)  # nothing crossed
    assert SECRETARY not in printed and CASE not in printed


def _check_lines_on_page_one_inside_the_margins(data: bytes, crossed: bool) -> None:
    sizes, found = words(data)
    assert sizes == [(pytest.approx(A4_WIDTH, abs=1), pytest.approx(A4_HEIGHT, abs=1))]
    for w in found:  # nothing outside the paper
        assert w.x_min >= 0 and w.x_max <= A4_WIDTH and w.y_min >= 0 and w.y_max <= A4_HEIGHT
    # The body (below the running header, above the footer) stays inside the side margins.
    for w in body_words(data):
        assert w.x_min >= LEFT - 1 and w.x_max <= RIGHT + 1, w
    column, words_, ticks = check_column(data)
    for check in CHECKS:  # every check's line is on page 1, inside the margins
        assert one_line(check.label) in column, check.name
    assert all(w.x_min >= LEFT - 1 and w.x_max <= RIGHT + 1 for w in words_)
    # On the filled sheet each check's cross is on its own row: level with the first line of
    # the check's words.
    firsts = [next(w for w in words_ if w.text == c.label.split()[0]) for c in CHECKS]
    assert [w.y_min for w in firsts] == sorted(w.y_min for w in firsts)  # in the routine's order
    ticks = sorted(ticks, key=lambda w: w.y_min)
    assert len(ticks) == (len(CHECKS) if crossed else 0)
    for tick, first in zip(ticks, firsts, strict=False):
        assert abs(tick.y_min - first.y_min) < 6, (tick, first)


def test_both_sheets_are_one_a4_page_with_every_check_inside_the_margins(as_user: Any) -> None:
    client = as_user("secretary")
    _check_lines_on_page_one_inside_the_margins(client.get(BLANK).data, crossed=False)
    _check_lines_on_page_one_inside_the_margins(
        cover_sheet(client, disclosure_form()).data, crossed=True
    )
