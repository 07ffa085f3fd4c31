"""The unit manager's self-check of access (routine §4.1; issue 16, part D): "Egenkontroll
genomförd" on the register page (who, when, what was checked, the register's counts; kept and
audited), the start page's reminder when the last one is SELF_CHECK_MONTHS months old or there is
none, and the register printed as a PDF for the self-check file (the unit manager's own unit, LVS
every unit; the header row on every page)."""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from conftest import count, field_error, html
from flask import Flask
from pdf_support import pdftotext
from pdf_support import words as pdf_words
from pypdf import PdfReader
from sqlalchemy import select

from portal import create_app, self_check
from portal.clock import STOCKHOLM, today
from portal.extensions import db
from portal.models import AuditEvent, Grant, LocalProtection, SelfCheck, Submission, Unit, User
from portal.rules import add_months

CASE = "0655588"
OTHER_CASE = "0655599"
BOTH = {"per_case": "y", "per_employee": "y"}


# --- helpers -----------------------------------------------------------------------------------


def _user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def _unit(name: str) -> Unit:
    found = db.session.scalar(select(Unit).where(Unit.name == name))
    assert found is not None
    return found


def add_grants(app: Flask, unit_name: str, rows: list[tuple[str, str, str]], *,
               revoked: bool = False, protection_until: date | None = None) -> None:
    """Grants of the unit as LVS recorded them from an order: (case, full name, username)."""
    day = today()
    with app.app_context():
        unit, lvs = _unit(unit_name), _user("lvs")
        order = Submission(form="access_order", unit_id=unit.id, submitted_by_id=lvs.id,
                           case_number=rows[0][0] if rows else CASE, data={}, status="done")
        db.session.add(order)
        db.session.flush()
        for case, full_name, username in rows:
            db.session.add(Grant(
                case_number=case, username=username, full_name=full_name,
                email=f"{username}@goteborg.se", position="socialsekreterare", unit_id=unit.id,
                unit_name=unit.name, unit_type=unit.unit_type, valid_from=day,
                valid_to=day + timedelta(days=200), granted_by_id=lvs.id, order_id=order.id,
                revoked_at=datetime.now(UTC) if revoked else None))
        if protection_until is not None:
            db.session.add(LocalProtection(case_number=rows[0][0], unit_id=unit.id,
                                           until=protection_until, order_id=order.id,
                                           recorded_by_id=lvs.id))
        db.session.commit()


def add_self_check(app: Flask, username: str, done_on: date, **ticks: bool) -> None:
    """A self-check recorded earlier, at noon Swedish time of `done_on`."""
    with app.app_context():
        user = _user(username)
        db.session.add(SelfCheck(
            unit_id=user.unit_id, done_by_id=user.id,
            done_at=datetime.combine(done_on, time(12), tzinfo=STOCKHOLM).astimezone(UTC),
            per_case=True, per_employee=True, **ticks))
        db.session.commit()


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def section(page: str, marker: str) -> str:
    """The <section> of a page whose start tag carries `marker`, through its end tag."""
    start = page.index(marker)
    start = page.rindex("<section", 0, start)
    return page[start:page.index("</section>", start)]


# --- recording a self-check ----------------------------------------------------------------------


def test_a_self_check_with_both_perspectives_is_kept_with_the_registers_counts(
        app: Flask, as_user: Any) -> None:
    add_grants(app, "Myndighet Centrum", [(CASE, "Anna Andersson", "anna01"),
                                          (CASE, "Bengt Berg", "bengt02"),
                                          (OTHER_CASE, "Anna Andersson", "anna01")])
    add_grants(app, "Myndighet Centrum", [(OTHER_CASE, "Cilla Ceder", "cilla03")], revoked=True)
    add_grants(app, "Myndighet Nordost", [("0655577", "Nils Nord", "nils04")])
    manager = as_user("manager")
    resp = manager.post("/register/self-check", data={**BOTH, "logs_reviewed": "y"})
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/register#egenkontroll")
    with app.app_context():
        checks = list(db.session.scalars(select(SelfCheck)))
        assert len(checks) == 1
        check = checks[0]
        assert (check.unit.name, check.done_by.username) == ("Myndighet Centrum", "manager")
        assert (check.per_case, check.per_employee, check.rules_followed,
                check.logs_reviewed) == (True, True, False, True)
        # Active grants of the own unit only: not the revoked one, not Nordost's.
        assert (check.active_grants, check.cases) == (3, 2)
        assert abs(datetime.now(UTC) - check.done_at.replace(tzinfo=UTC)) < timedelta(minutes=5)
        manager_unit = check.unit_id
    [event] = events(app, "self_check_recorded")
    assert event.unit_id == manager_unit and event.outcome == "ok"
    assert event.detail == ("kontrollerat: per_case, per_employee, logs_reviewed; "
                            "behörigheter: 3; ärenden: 2")
    page = html(manager.get("/register"))
    assert "Egenkontrollen är registrerad." in page
    # The unit's audit trail shows it in Swedish.
    assert "Egenkontroll genomförd" in html(manager.get("/audit?action=self_check_recorded"))
    listed = section(page, 'id="egenkontroll"')
    listed = listed[listed.index('<table class="self-checks"'):]
    assert "Eva Enhetschef (manager)" in listed
    assert "per ärende, per medarbetare, loggranskning" in listed
    assert "regler och rutiner" not in listed


def test_a_missing_perspective_is_refused_at_its_field_and_nothing_is_kept(
        app: Flask, as_user: Any) -> None:
    manager = as_user("manager")
    resp = manager.post("/register/self-check",
                        data={"per_case": "y", "rules_followed": "y"})
    assert resp.status_code == 422
    page = html(resp)
    assert field_error(page, "per_employee") == (
        "Fel: Kontrollera behörigheterna per medarbetare innan du registrerar egenkontrollen.")
    assert 'id="per_case-error"' not in page
    # What was ticked is kept; the register is shown around the form.
    assert re.search(r'<input[^>]*checked[^>]*id="per_case"|<input[^>]*id="per_case"[^>]*checked',
                     page)
    assert re.search(r'<input[^>]*id="rules_followed"[^>]*checked|<input[^>]*checked[^>]*'
                     r'id="rules_followed"', page)
    assert "<h1>Behörighetsregister</h1>" in page
    assert count(app, SelfCheck) == 0
    [refusal] = events(app, "self_check_refused")
    assert refusal.outcome == "refused" and refusal.detail == "saknas: per_employee"
    # Neither ticked: both fields say so.
    page = html(manager.post("/register/self-check", data={}))
    assert "per ärende innan" in field_error(page, "per_case")
    assert "per medarbetare innan" in field_error(page, "per_employee")
    assert count(app, SelfCheck) == 0
    assert events(app, "self_check_recorded") == []


def test_only_a_unit_manager_records_a_self_check(app: Flask, as_user: Any) -> None:
    for username in ("lvs", "secretary", "staff", "planner", "admin"):
        assert as_user(username).post("/register/self-check", data=BOTH).status_code == 403
    assert count(app, SelfCheck) == 0
    # LVS sees the register as before: no self-check form, no section.
    page = html(as_user("lvs").get("/register"))
    assert 'id="egenkontroll"' not in page and "/register/self-check" not in page
    assert "Skriv ut registret (PDF)" in page


def test_a_self_check_without_the_csrf_token_is_refused(app: Flask, as_user: Any) -> None:
    resp = as_user("manager").post("/register/self-check", data=BOTH, csrf=False)
    assert resp.status_code == 400
    assert count(app, SelfCheck) == 0


def test_the_register_lists_the_units_earlier_self_checks_newest_first(
        app: Flask, as_user: Any) -> None:
    day = today()
    add_self_check(app, "manager", day - timedelta(days=400))
    add_self_check(app, "manager", day - timedelta(days=10), logs_reviewed=True)
    add_self_check(app, "other_manager", day - timedelta(days=5))  # another unit's
    for n in range(self_check.HISTORY):
        add_self_check(app, "hemtjanst_manager", day - timedelta(days=20 + n))
    listed = section(html(as_user("manager").get("/register")), 'id="egenkontroll"')
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d) \d\d:\d\d</td>", listed)
    assert rows == [(day - timedelta(days=10)).isoformat(), (day - timedelta(days=400)).isoformat()]
    assert "Olle Annanchef" not in listed
    listed = section(html(as_user("hemtjanst_manager").get("/register")), 'id="egenkontroll"')
    assert len(re.findall(r"<tr><td>\d{4}-", listed)) == self_check.HISTORY
    assert f"Nyast först; högst de {self_check.HISTORY} senaste visas." in listed


# --- the reminder on the start page ------------------------------------------------------------


def reminder_of(page: str) -> str:
    return section(page, 'id="egenkontroll-start"')


def test_the_start_page_reminds_when_no_self_check_was_ever_done(app: Flask, as_user: Any) -> None:
    page = html(as_user("manager").get("/"))
    box = reminder_of(page)
    assert "Egenkontroll av behörigheter (§4.1)" in box
    assert "Ingen egenkontroll är registrerad för enheten ännu." in box
    assert 'href="/register#egenkontroll"' in box
    # Not for roles without a unit to check.
    for username in ("lvs", "secretary", "staff", "planner"):
        assert 'id="egenkontroll-start"' not in html(as_user(username).get("/"))


def test_the_start_page_reminds_when_the_last_is_older_than_the_setting(
        app: Flask, as_user: Any) -> None:
    done = today() - timedelta(days=75)
    add_self_check(app, "manager", done)
    manager = as_user("manager")
    # Two and a half months old: not due with the default six months ...
    box = reminder_of(html(manager.get("/")))
    assert "Nästa egenkontroll senast" in box and "dags för en ny" not in box
    assert add_months(done, 6).isoformat() in box
    # ... due when the setting says two.
    app.config["SELF_CHECK_MONTHS"] = 2
    box = reminder_of(html(manager.get("/")))
    assert f"Senast gjord {done.isoformat()} av Eva Enhetschef." in box
    assert "Det har gått minst 2 månader sedan dess: det är dags för en ny." in box
    assert 'href="/register#egenkontroll"' in box
    assert "Nästa egenkontroll senast" not in box


def test_a_fresh_self_check_says_when_the_next_is_due_and_does_not_remind(
        app: Flask, as_user: Any) -> None:
    manager = as_user("manager")
    assert manager.post("/register/self-check", data=BOTH).status_code == 303
    box = reminder_of(html(manager.get("/")))
    next_due = add_months(today(), 6).isoformat()
    assert f"Nästa egenkontroll senast {next_due} (senast gjord {today().isoformat()})." in box
    assert "dags för en ny" not in box and "Ingen egenkontroll" not in box
    # Another unit's manager is still reminded: the check is the unit's.
    assert "Ingen egenkontroll är registrerad" in reminder_of(html(as_user("other_manager").get("/")))


def test_the_self_check_is_due_on_the_day_it_is_the_settings_months_old(app: Flask) -> None:
    done = date(2026, 8, 31)
    add_self_check(app, "manager", done)
    with app.app_context():
        unit_id = _user("manager").unit_id
        assert unit_id is not None
        due = self_check.reminder(unit_id, date(2027, 2, 27), 6)
        assert due.next_due == date(2027, 2, 28) and not due.due  # clamped to February's end
        assert self_check.reminder(unit_id, date(2027, 2, 28), 6).due
        assert self_check.reminder(unit_id, date(2026, 9, 30), 1).due
        assert not self_check.reminder(unit_id, date(2026, 9, 29), 1).due


def test_the_setting_comes_from_the_environment_as_a_number(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELF_CHECK_MONTHS", "3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                      "SECRET_KEY": "s" * 32}, instance_path=str(tmp_path / "instance"))
    assert app.config["SELF_CHECK_MONTHS"] == 3


# --- the register as a PDF ---------------------------------------------------------------------


def test_the_register_prints_the_own_units_rows_with_the_last_self_check(
        app: Flask, as_user: Any) -> None:
    add_grants(app, "Myndighet Centrum", [(CASE, "Anna Andersson", "anna01"),
                                          (OTHER_CASE, "Bengt Berg", "bengt02")],
               protection_until=today() + timedelta(days=40))
    add_grants(app, "Myndighet Nordost", [("0655577", "Nils Nordin", "nils04")])
    add_self_check(app, "manager", today() - timedelta(days=3), rules_followed=True)
    resp = as_user("manager").get("/register.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        f'inline; filename="behorighetsregister-{today().isoformat()}.pdf"')
    assert resp.headers["Cache-Control"] == "no-store"
    text = pdftotext(resp.data)
    assert "Behörighetsregister" in text and "rutinen avsnitt 4.1" in text
    assert ("Ärende Namn Användarnamn Befattning Enhet Från Till och med" in text), text
    assert "Enhet Urval Utskrivet av Utskrivet Myndighet Centrum Alla aktiva behörigheter " \
        "Eva Enhetschef (manager)" in text
    assert f"{CASE} Anna Andersson anna01 socialsekreterare Myndighet Centrum" in text
    assert "Bengt Berg" in text
    assert "Nils Nordin" not in text and "0655577" not in text and "Nordost" not in text
    assert "2 behörigheter i 2 ärenden" in text
    assert "Lokalt skydd" in text and (today() + timedelta(days=40)).isoformat() in text
    assert "Senaste egenkontroll" in text
    assert (f"{(today() - timedelta(days=3)).isoformat()}" in text
            and "per ärende, per medarbetare, regler och rutiner" in text)
    [event] = events(app, "register_printed")
    with app.app_context():
        assert event.unit_id == _user("manager").unit_id
    assert event.detail == "rader: 2; filter: inga"
    # LVS prints every unit, with each unit's last self-check (or none).
    text = pdftotext(as_user("lvs").get("/register.pdf").data)
    assert "Alla enheter Alla aktiva behörigheter Lena LVS (lvs)" in text
    assert "Nils Nordin" in text and "Anna Andersson" in text
    assert "Myndighet Nordost Ingen egenkontroll registrerad" in text


def test_the_printed_register_follows_the_filters(app: Flask, as_user: Any) -> None:
    add_grants(app, "Myndighet Centrum", [(CASE, "Anna Andersson", "anna01"),
                                          (OTHER_CASE, "Bengt Berg", "bengt02")])
    manager = as_user("manager")
    page = html(manager.get(f"/register?case={CASE}"))
    assert f'href="/register.pdf?case={CASE}"' in page
    text = pdftotext(manager.get(f"/register.pdf?case={CASE}").data)
    assert "Anna Andersson" in text and "Bengt Berg" not in text
    assert f"Myndighet Centrum ärende {CASE} Eva Enhetschef (manager)" in text
    assert events(app, "register_printed")[0].case_number == CASE
    # A filter that is no case number: the register page with the error, nothing printed.
    resp = manager.get("/register.pdf?case=19121212-1212")
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert len(events(app, "register_printed")) == 1
    # Other roles may not print it.
    for username in ("secretary", "staff", "planner", "admin"):
        assert as_user(username).get("/register.pdf").status_code == 403


def test_a_long_register_prints_landscape_with_the_header_row_on_every_page(
        app: Flask, as_user: Any) -> None:
    rows = [(f"07{n:05d}", f"Person Nummer{n:02d}", f"person{n:02d}") for n in range(45)]
    add_grants(app, "Myndighet Centrum", rows)
    data = as_user("manager").get("/register.pdf").data
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        box = page.mediabox
        assert float(box.width) > float(box.height)  # landscape A4
        assert round(float(box.width) * 25.4 / 72) == 297
    for number in range(1, len(reader.pages) + 1):
        text = pdftotext(data, "-f", str(number), "-l", str(number))
        if "Person Nummer" in text:
            assert "Ärende Namn Användarnamn Befattning Enhet Från Till och med" in text, number
    text = pdftotext(data)
    assert all(f"Person Nummer{n:02d}" in text for n in range(45))
    assert f"Sida 1 av {len(reader.pages)}" in text
    # Layout boxes: inside the page's 16 mm side margins, the header row above every row.
    boxes, rows_pages = word_boxes(data), 0
    assert len(boxes) == len(reader.pages) and all(words for _, words in boxes)
    for number, (width, words) in enumerate(boxes, 1):
        margin = 16 / 25.4 * 72
        assert all(margin - 1 <= x0 and x1 <= width - margin + 1 for _, x0, _, x1, _ in words)
        heads = [y0 for w, _, y0, _, _ in words if w == "Användarnamn"]
        rows = [y0 for w, _, y0, _, _ in words if re.fullmatch(r"person\d\d", w)]
        if rows:
            assert len(heads) == 1 and heads[0] < min(rows), number
            rows_pages += 1
    assert rows_pages >= 2


def word_boxes(data: bytes) -> list[tuple[float, list[tuple[str, float, float, float, float]]]]:
    """Per page: its width and its words as (text, xMin, yMin, xMax, yMax) in points."""
    sizes, found = pdf_words(data)
    return [(width, [(w.text, w.x_min, w.y_min, w.x_max, w.y_max) for w in found
                     if w.page == number])
            for number, (width, _) in enumerate(sizes, start=1)]


def test_a_register_too_long_to_print_asks_for_a_filter(
        app: Flask, as_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.views import register as register_view

    monkeypatch.setattr(register_view, "PDF_MAX_ROWS", 2)
    add_grants(app, "Myndighet Centrum", [(CASE, "Anna Andersson", "anna01"),
                                          (CASE, "Bengt Berg", "bengt02"),
                                          (OTHER_CASE, "Cilla Ceder", "cilla03")])
    manager = as_user("manager")
    resp = manager.get("/register.pdf")
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert "Registret har fler än 2 behörigheter" in field_error(html(resp), "case")
    assert events(app, "register_printed") == []
    resp = manager.get(f"/register.pdf?case={CASE}")
    assert resp.status_code == 200 and "Bengt Berg" in pdftotext(resp.data)
