"""Daganteckningar (routine §7.5, §8.6, SPEC §3.5) the whole way: a manager opens a fictional file,
staff write notes under the fictional name only (a personnummer is refused), the manager copies
the uncompiled notes into Treserva's journal and marks them compiled, the paper sheet prints
with the fictional name and never the case number, other units see nothing, and every note is
deleted two calendar months after it was written, compiled or not."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from conftest import count, html
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from pypdf import PdfReader
from sqlalchemy import select

from portal import day_notes, retention, scheduler
from portal.clock import STOCKHOLM
from portal.extensions import db
from portal.models import AuditEvent, DayNote, FictionalFile, User

FICTIONAL = "Gunnel Gran"
CASE = "0655588"
NOTE = "Gunnel ville gå ut på promenad, vi gick till parken."


def pdf_text(body: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages).split())


def create_file(manager: FlaskClient, name: str = FICTIONAL, case: str = CASE) -> str:
    resp = manager.post("/day-notes/", data={"fictional_name": name, "case_number": case})
    assert resp.status_code == 303, html(resp)
    return resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def add_note(client: FlaskClient, file_id: str, text: str = NOTE) -> None:
    resp = client.post(f"/day-notes/{file_id}/notes", data={"text": text})
    assert resp.status_code == 303, html(resp)


def note_ids(page: str) -> list[str]:
    return re.findall(r'name="note" value="([^"]+)"', page)


# --- the whole path ----------------------------------------------------------------------------


def test_staff_write_notes_and_the_manager_compiles_them(app: Flask, as_user) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)

    index = html(staff.get("/day-notes/"))
    assert FICTIONAL in index and file_id in index
    add_note(staff, file_id)

    with app.app_context():
        note = db.session.scalar(select(DayNote))
        assert note is not None and note.text_enc is not None  # the only place it is kept
        assert NOTE.encode() not in note.text_enc  # encrypted at rest

    page = html(staff.get(f"/day-notes/{file_id}"))
    assert NOTE in page and "Stina Medarbetare" in page

    compile_page = html(manager.get(f"/day-notes/{file_id}/compile"))
    text = re.search(r'<pre id="compile-text"[^>]*>(.*?)</pre>', compile_page, re.S)
    assert text is not None and 'data-copy-target="compile-text"' in compile_page
    lines = text.group(1).splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", lines[0])  # date and time
    assert lines[1] == NOTE
    assert lines[2] == "Signatur: Stina Medarbetare"

    resp = manager.post(f"/day-notes/{file_id}/compile", data={"note": note_ids(compile_page)})
    assert resp.status_code == 303
    assert count(app, DayNote, DayNote.compiled_at.is_(None)) == 0
    assert "Alla anteckningar är sammanställda" in html(manager.get(f"/day-notes/{file_id}/compile"))

    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        actions = [e.action for e in events]
        details = " ".join(e.detail or "" for e in events)
    for action in ("fictional_file_created", "fictional_files_listed", "day_note_added",
                   "day_notes_viewed", "day_notes_compile_viewed", "day_notes_compiled"):
        assert action in actions, action
    assert "antal: 1" in details
    assert NOTE not in details and FICTIONAL not in details  # never the content in the audit log


def test_a_note_written_while_the_manager_compiles_stays_uncompiled(app: Flask, as_user) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)
    add_note(staff, file_id, "Första anteckningen.")
    seen = note_ids(html(manager.get(f"/day-notes/{file_id}/compile")))
    add_note(staff, file_id, "Skriven under tiden.")
    manager.post(f"/day-notes/{file_id}/compile", data={"note": seen})
    left = html(manager.get(f"/day-notes/{file_id}/compile"))
    assert "Skriven under tiden." in left and "Första anteckningen." not in left


def test_a_note_with_a_personnummer_is_refused_at_the_field_and_kept(app: Flask, as_user) -> None:
    staff = as_user("staff")
    file_id = create_file(as_user("hemtjanst_manager"))
    text = "Gunnels bror 19121212-1212 ringde."
    resp = staff.post(f"/day-notes/{file_id}/notes", data={"text": text})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="text-error"' in page and "personnummer" in page
    assert text in page  # input kept
    assert count(app, DayNote) == 0


def test_an_empty_note_is_refused(app: Flask, as_user) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    resp = as_user("staff").post(f"/day-notes/{file_id}/notes", data={"text": "  "})
    assert resp.status_code == 422 and 'id="text-error"' in html(resp)


def test_creating_a_file_checks_name_and_case_number(app: Flask, as_user) -> None:
    manager = as_user("hemtjanst_manager")
    resp = manager.post("/day-notes/", data={"fictional_name": "191212121212", "case_number": "12ab"})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="fictional_name-error"' in page and 'id="case_number-error"' in page
    assert "12ab" in page
    assert count(app, FictionalFile) == 0
    create_file(manager, case="")  # the case number is optional
    assert count(app, FictionalFile, FictionalFile.case_number.is_(None)) == 1


# --- the case number: the unit's managers only -------------------------------------------------


def test_the_case_number_is_never_shown_to_staff(app: Flask, as_user) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)
    add_note(staff, file_id)
    assert CASE in html(manager.get("/day-notes/"))
    assert CASE in html(manager.get(f"/day-notes/{file_id}"))
    for path in ("/day-notes/", f"/day-notes/{file_id}", "/"):
        assert CASE not in html(staff.get(path)), path
    sheet = staff.get(f"/day-notes/{file_id}/sheet.pdf")
    assert CASE not in pdf_text(sheet.data)


def test_the_sheet_is_prefilled_with_fictional_name_and_unit_only(app: Flask, as_user) -> None:
    manager = as_user("hemtjanst_manager")
    file_id = create_file(manager)
    resp = as_user("staff").get(f"/day-notes/{file_id}/sheet.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert FICTIONAL not in resp.headers["Content-Disposition"]
    assert "Gunnel" not in resp.headers["Content-Disposition"]
    text = pdf_text(resp.data)
    assert FICTIONAL in text and "Hemtjänst Hisingen" in text and CASE not in text
    assert "SKYDDADE PERSONUPPGIFTER" not in text  # the fictional file must not stand out (§7.2)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "day_note_sheet_printed")) is not None


def test_the_blank_sheet_has_the_columns_of_the_routine(app: Flask, as_user) -> None:
    resp = as_user("staff").get("/blank/day-notes.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    # "Sammanställd i journalen" heads its own date and signature columns (issue 14 item 10).
    for column in ("Datum", "Tid", "Anteckning", "Signatur", "Sammanställd i journalen",
                   "Fiktivt namn"):
        assert column in text
    assert CASE not in text


# --- other units and other roles ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_manager", "manager", "fee"])
def test_other_units_get_404_everywhere(app: Flask, as_user, who: str) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    add_note(as_user("staff"), file_id)
    client = as_user(who)
    assert FICTIONAL not in html(client.get("/day-notes/"))
    assert client.get(f"/day-notes/{file_id}").status_code == 404
    assert client.get(f"/day-notes/{file_id}/sheet.pdf").status_code == 404
    assert client.post(f"/day-notes/{file_id}/notes", data={"text": "x"}).status_code == 404
    if who != "fee":  # managers of other units: the manager routes answer 404 too
        assert client.get(f"/day-notes/{file_id}/compile").status_code == 404
        assert client.post(f"/day-notes/{file_id}/compile", data={"note": "x"}).status_code == 404
        assert client.post(f"/day-notes/{file_id}/close").status_code == 404
    assert count(app, DayNote) == 1
    assert count(app, DayNote, DayNote.compiled_at.is_not(None)) == 0


def test_a_nonexistent_file_is_404(app: Flask, as_user) -> None:
    assert as_user("staff").get("/day-notes/doesnotexist").status_code == 404


@pytest.mark.parametrize("who", ["lvs", "secretary", "admin"])
def test_roles_without_day_notes_get_403(app: Flask, as_user, who: str) -> None:
    assert as_user(who).get("/day-notes/").status_code == 403


def test_staff_may_not_create_compile_or_close(app: Flask, as_user) -> None:
    staff = as_user("staff")
    file_id = create_file(as_user("hemtjanst_manager"))
    add_note(staff, file_id)
    assert staff.post("/day-notes/", data={"fictional_name": "X"}).status_code == 403
    assert staff.get(f"/day-notes/{file_id}/compile").status_code == 403
    assert staff.post(f"/day-notes/{file_id}/compile", data={"note": "x"}).status_code == 403
    assert staff.post(f"/day-notes/{file_id}/close").status_code == 403
    assert count(app, DayNote, DayNote.compiled_at.is_not(None)) == 0


def test_a_closed_file_takes_no_new_notes(app: Flask, as_user) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)
    assert manager.post(f"/day-notes/{file_id}/close").status_code == 303
    resp = staff.post(f"/day-notes/{file_id}/notes", data={"text": NOTE})
    assert resp.status_code == 409 and "stängd" in html(resp)
    assert count(app, DayNote) == 0


# --- start page: compile at least weekly (§8.6) ------------------------------------------------


def test_uncompiled_notes_older_than_seven_days_are_flagged_for_the_manager(
        app: Flask, as_user) -> None:
    written = datetime(2026, 3, 2, 10, 0, tzinfo=STOCKHOLM)
    with freeze_time(written):
        file_id = create_file(as_user("hemtjanst_manager"))
        add_note(as_user("staff"), file_id)
    with freeze_time(written + timedelta(days=6)):
        page = html(as_user("hemtjanst_manager").get("/"))
        assert "Daganteckningar att sammanställa" in page and FICTIONAL in page
        assert "Äldre än 7 dagar" not in page
    with freeze_time(written + timedelta(days=7, minutes=1)):
        page = html(as_user("hemtjanst_manager").get("/"))
        assert "Äldre än 7 dagar" in page
        staff_page = html(as_user("staff").get("/"))
        assert "Daganteckningar att sammanställa" not in staff_page


# --- retention: two calendar months (§8.6) -----------------------------------------------------


@pytest.mark.parametrize(("today", "last_purged"), [
    ("2026-03-31", "2026-01-31"),  # two months, 59 days
    ("2026-03-30", "2026-01-30"),
    ("2026-03-01", "2026-01-01"),  # 59 days as well
    ("2026-02-28", "2025-12-31"),  # clamped: notes of Dec 29–31 all go on Feb 28
    ("2024-02-29", "2023-12-31"),  # leap year
    ("2024-02-28", "2023-12-28"),
    ("2026-06-30", "2026-04-30"),
])
def test_the_last_written_date_purged_on_a_day(today: str, last_purged: str) -> None:
    assert retention.day_notes_last_purged_date(date.fromisoformat(today), 2) == \
        date.fromisoformat(last_purged)


def _write_at(as_user: Any, when: datetime, file_id: str | None = None, text: str = NOTE) -> str:
    with freeze_time(when):
        if file_id is None:
            file_id = create_file(as_user("hemtjanst_manager"))
        add_note(as_user("staff"), file_id, text)
    return file_id


def _purge_at(app: Flask, when: datetime) -> dict[str, int]:
    with freeze_time(when), app.app_context():
        return scheduler.purge_job()


def test_a_note_of_january_31_is_purged_on_march_31_not_march_30(app: Flask, as_user) -> None:
    # 00:30 in Stockholm is still January 30 in UTC: the Swedish date is what counts.
    _write_at(as_user, datetime(2026, 1, 31, 0, 30, tzinfo=STOCKHOLM))
    assert _purge_at(app, datetime(2026, 3, 30, 23, 59, 59, tzinfo=STOCKHOLM))["day_notes"] == 0
    assert count(app, DayNote) == 1
    assert _purge_at(app, datetime(2026, 3, 31, 0, 0, 1, tzinfo=STOCKHOLM))["day_notes"] == 1
    assert count(app, DayNote) == 0
    with app.app_context():
        purges = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "purge", AuditEvent.object_id == "day_notes")).all()
    assert [p.detail for p in purges] == ["antal: 0", "antal: 1"]


def test_notes_are_purged_compiled_or_not_and_younger_ones_stay(app: Flask, as_user) -> None:
    file_id = _write_at(as_user, datetime(2026, 1, 1, 12, 0, tzinfo=STOCKHOLM), text="Gammal 1")
    _write_at(as_user, datetime(2026, 1, 1, 13, 0, tzinfo=STOCKHOLM), file_id, "Gammal 2")
    _write_at(as_user, datetime(2026, 1, 2, 9, 0, tzinfo=STOCKHOLM), file_id, "Yngre")
    with app.app_context():  # one of the old ones compiled, one not
        first = db.session.scalars(select(DayNote).order_by(DayNote.written_at)).first()
        assert first is not None
        first.compiled_at = first.written_at
        db.session.commit()
    # 2026-03-01 is 59 days after 2026-01-01: two calendar months.
    assert _purge_at(app, datetime(2026, 3, 1, 0, 5, tzinfo=STOCKHOLM))["day_notes"] == 2
    with app.app_context():
        assert [n.written_at.day for n in db.session.scalars(select(DayNote))] == [2]


def test_a_closed_file_goes_when_its_last_note_is_purged(app: Flask, as_user) -> None:
    file_id = _write_at(as_user, datetime(2026, 1, 10, 12, 0, tzinfo=STOCKHOLM))
    with freeze_time(datetime(2026, 1, 20, 12, 0, tzinfo=STOCKHOLM)):
        assert as_user("hemtjanst_manager").post(f"/day-notes/{file_id}/close").status_code == 303
    open_file = create_file(as_user("hemtjanst_manager"), name="Tore Tall")
    counts = _purge_at(app, datetime(2026, 2, 10, 12, 0, tzinfo=STOCKHOLM))
    assert counts["fictional_files_closed"] == 0 and count(app, FictionalFile) == 2
    counts = _purge_at(app, datetime(2026, 3, 10, 12, 0, tzinfo=STOCKHOLM))
    assert counts["day_notes"] == 1 and counts["fictional_files_closed"] == 1
    with app.app_context():
        assert [f.public_id for f in db.session.scalars(select(FictionalFile))] == [open_file]


# --- the service on plain values (portal/day_notes.py) ------------------------------------------


def _user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def test_the_service_finds_a_file_only_in_the_users_unit(app: Flask) -> None:
    with app.app_context():
        manager = _user("hemtjanst_manager")
        file = day_notes.create_file(manager, FICTIONAL, CASE)
        assert day_notes.file_of(file.public_id, _user("staff")) is file
        for stranger in ("manager", "other_manager", "fee"):
            with pytest.raises(day_notes.NotVisible):
                day_notes.file_of(file.public_id, _user(stranger))
        with pytest.raises(day_notes.NotVisible):
            day_notes.file_of("no-such-file", manager)
        db.session.rollback()


def test_the_service_seals_the_note_and_only_flushes(app: Flask) -> None:
    with app.app_context():
        file = day_notes.create_file(_user("hemtjanst_manager"), FICTIONAL, "")
        note = day_notes.add_note(file, _user("staff"), NOTE)
        assert note.text_enc is not None and NOTE.encode() not in note.text_enc
        assert day_notes.note_text(note) == NOTE
        notes, text = day_notes.to_compile(file, _user("hemtjanst_manager"))
        assert notes == [note] and text.endswith(f"{NOTE}\nSignatur: Stina Medarbetare")
        db.session.rollback()  # as the request does on an error: nothing was committed
        assert db.session.scalars(select(FictionalFile)).all() == []
        assert db.session.scalars(select(AuditEvent)).all() == []


def test_the_service_marks_compiled_only_the_notes_named(app: Flask) -> None:
    with app.app_context():
        manager, staff = _user("hemtjanst_manager"), _user("staff")
        file = day_notes.create_file(manager, FICTIONAL, "")
        seen = day_notes.add_note(file, staff, "Första.")
        day_notes.add_note(file, staff, "Under tiden.")
        assert day_notes.mark_compiled(file, manager, [seen.public_id, "not-a-note"]) == 1
        assert [n.compiled_by_id for n in day_notes.read_notes(file, manager)] == [manager.id, None]
        assert [s["count"] for s in day_notes.uncompiled_summary(manager.unit_id)] == [1]
        db.session.commit()
    with app.app_context():
        details = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "day_notes_compiled")).all()
        assert details == ["antal: 1"]


def test_the_service_closes_once_and_then_takes_no_note(app: Flask) -> None:
    with app.app_context():
        manager = _user("hemtjanst_manager")
        file = day_notes.create_file(manager, FICTIONAL, "")
        assert day_notes.close(file, manager) is True
        assert day_notes.close(file, manager) is False
        with pytest.raises(day_notes.FileClosed):
            day_notes.add_note(file, _user("staff"), NOTE)
        closed = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "fictional_file_closed")).all()
        assert len(closed) == 1 and count_notes() == 0
        db.session.rollback()


def count_notes() -> int:
    return len(db.session.scalars(select(DayNote)).all())


def test_another_units_attempt_is_audited_and_changes_nothing(app: Flask, as_user) -> None:
    """The denial's audit event is written in its own transaction (portal/transaction.py) by the
    view that answers 404: the attempt is on record, and nothing of the request is kept."""
    file_id = create_file(as_user("hemtjanst_manager"))
    other = as_user("other_manager")
    assert other.post(f"/day-notes/{file_id}/close").status_code == 404
    assert other.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}).status_code == 404
    with app.app_context():
        denied = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "day_notes_denied")).all()
        assert [(e.outcome, e.username, e.object_type) for e in denied] == [
            ("denied", "other_manager", "fictional_file")] * 2
        file = db.session.scalar(select(FictionalFile))
        assert file is not None and file.closed_at is None
    assert count(app, DayNote) == 0


# --- closing (§8.10; SPEC §3.7): compiled and thrown away at once --------------------------------


def _case_file(name: str, case: str, unit_user: str = "hemtjanst_manager") -> FictionalFile:
    return day_notes.create_file(_user(unit_user), name, case)


def test_files_for_case_are_the_units_files_of_that_case_only(app: Flask) -> None:
    with app.app_context():
        unit_id = _user("hemtjanst_manager").unit_id
        mine = _case_file(FICTIONAL, CASE)
        closed = _case_file("Tore Tall", CASE)
        day_notes.close(closed, _user("hemtjanst_manager"))
        _case_file("Ulla Udd", "0655599")  # another case of the unit
        _case_file("Vera Vass", "")  # no case number
        other_unit = _case_file("Gunnel Gran", CASE, "manager")  # the same case in another unit
        found = day_notes.files_for_case(CASE, unit_id)
        assert found == [mine, closed]  # open first; a file closed earlier still holds notes
        assert other_unit not in found
        assert day_notes.files_for_case(f" {CASE} ", unit_id) == [mine, closed]
        assert day_notes.files_for_case("", unit_id) == []
        assert day_notes.files_for_case(CASE, _user("other_manager").unit_id) == []
        db.session.rollback()


def test_uncompiled_for_case_is_oldest_first_across_the_files(app: Flask) -> None:
    with app.app_context():
        manager, staff = _user("hemtjanst_manager"), _user("staff")
        first, second = _case_file(FICTIONAL, CASE), _case_file("Tore Tall", CASE)
        with freeze_time(datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)):
            done = day_notes.add_note(first, staff, "Sammanställd redan.")
        with freeze_time(datetime(2026, 3, 3, 9, 0, tzinfo=STOCKHOLM)):
            newer = day_notes.add_note(first, staff, "Nyare.")
        with freeze_time(datetime(2026, 3, 2, 12, 0, tzinfo=STOCKHOLM)):
            older = day_notes.add_note(second, staff, "Äldre.")
        day_notes.mark_compiled(first, manager, [done.public_id])
        assert day_notes.uncompiled_for_case(CASE, manager.unit_id) == [older, newer]
        assert day_notes.uncompiled_for_case(CASE, _user("manager").unit_id) == []
        assert not db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "day_notes_compile_viewed")).all()
        day_notes.uncompiled_for_case(CASE, manager.unit_id, user=manager)  # audited when shown
        viewed = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "day_notes_compile_viewed")).all()
        assert sorted(viewed) == ["antal: 1", "antal: 1"]
        db.session.rollback()


def test_close_for_case_compiles_then_deletes_files_notes_and_keys(app: Flask) -> None:
    from portal.models import DataKey

    with app.app_context():
        manager, staff = _user("hemtjanst_manager"), _user("staff")
        file, other_case = _case_file(FICTIONAL, CASE), _case_file("Ulla Udd", "0655599")
        with freeze_time(datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)):
            compiled = day_notes.add_note(file, staff, "Redan i journalen.")
            day_notes.add_note(file, staff, NOTE)
        kept = day_notes.add_note(other_case, staff, "Annat ärende.").public_id
        day_notes.mark_compiled(file, manager, [compiled.public_id])
        db.session.commit()
        keys_before = len(db.session.scalars(select(DataKey)).all())
        assert keys_before == 3

        text = day_notes.close_for_case(CASE, manager.unit_id, manager)
        assert text == f"2026-03-02 09:00\n{NOTE}\nSignatur: Stina Medarbetare"
        assert "Redan i journalen." not in text  # compiled before: not pasted twice
        db.session.commit()  # the request's commit (the service only flushes)

    with app.app_context():
        assert [f.fictional_name for f in db.session.scalars(select(FictionalFile))] == ["Ulla Udd"]
        assert [n.public_id for n in db.session.scalars(select(DayNote))] == [kept]
        assert len(db.session.scalars(select(DataKey)).all()) == 1  # both notes' keys shredded
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
            ["day_notes_compiled", "fictional_file_deleted"])).order_by(AuditEvent.seq)).all()
        assert [(e.action, e.detail, e.case_number, e.username) for e in events][-2:] == [
            ("day_notes_compiled", "antal: 1", CASE, "hemtjanst_manager"),
            ("fictional_file_deleted", "antal anteckningar: 2", CASE, "hemtjanst_manager"),
        ]
        everything = " ".join(f"{e.detail} {e.object_id}" for e in db.session.scalars(
            select(AuditEvent)))
        assert NOTE not in everything and FICTIONAL not in everything


def test_close_for_case_only_flushes_and_another_units_files_stay(app: Flask) -> None:
    with app.app_context():
        manager = _user("hemtjanst_manager")
        other = _case_file(FICTIONAL, CASE, "manager")  # the case's file in Myndighet Centrum
        day_notes.add_note(other, _user("manager"), NOTE)
        mine = _case_file(FICTIONAL, CASE)
        day_notes.add_note(mine, _user("staff"), NOTE)
        db.session.commit()
        assert day_notes.close_for_case(CASE, manager.unit_id, manager).endswith(
            f"{NOTE}\nSignatur: Stina Medarbetare")
        assert day_notes.close_for_case(CASE, manager.unit_id, manager) == ""  # nothing left
        db.session.rollback()  # an error later in the closing request: nothing is lost
        assert len(db.session.scalars(select(FictionalFile)).all()) == 2
        assert count_notes() == 2
        assert day_notes.close_for_case(CASE, manager.unit_id, manager) != ""
        db.session.commit()
    with app.app_context():
        left = db.session.scalars(select(FictionalFile)).all()
        assert [f.unit.name for f in left] == ["Myndighet Centrum"] and count_notes() == 1


# --- R-NOTE-ADDRESS: no street address, no phone number (SPEC §3.5, §4) --------------------------


@pytest.mark.parametrize("text", [
    "Gunnel har flyttat till Storgatan 12.",
    "Ring dottern på 070-123 45 67.",
    "Vi gick till Ｓｔｏｒｇａｔａｎ １２ idag.",  # normalised first, as for R-NOTE-PNR
    "Ring 031\u2011123\u00a045\u00a067 i kväll.",
])
def test_a_note_with_an_address_or_phone_number_is_refused(
        app: Flask, as_user, text: str) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    resp = as_user("staff").post(f"/day-notes/{file_id}/notes", data={"text": text})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="text-error"' in page and ("adress" in page or "telefonnummer" in page)
    assert count(app, DayNote) == 0


def test_check_note_screens_for_personnummer_address_and_phone() -> None:
    assert [v.code for v in day_notes.check_note(NOTE)] == []
    found = day_notes.check_note("19121212-1212 bor på Storgatan 12, tel 070-123 45 67.")
    assert sorted(v.code for v in found) == ["R-NOTE-ADDRESS", "R-NOTE-ADDRESS", "R-NOTE-PNR"]
    assert {v.field for v in found} == {"text"}


# --- DAY_NOTES_DIGITAL off (the default; §7.1: by hand): paper sheets only -----------------------


def test_digital_day_notes_are_off_by_default() -> None:
    from portal.config import Defaults

    assert Defaults.DAY_NOTES_DIGITAL is False


@pytest.fixture
def paper(app: Flask) -> Flask:
    app.config["DAY_NOTES_DIGITAL"] = False
    return app


def test_with_digital_notes_off_no_note_can_be_written(paper: Flask, as_user) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)  # a file still serves the prefilled sheet and the closing
    for client in (staff, manager):
        assert client.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}).status_code == 404
        page = html(client.get(f"/day-notes/{file_id}"))
        assert 'name="text"' not in page and "för hand" in page
        assert f"/day-notes/{file_id}/sheet.pdf" in page
        assert f"/day-notes/{file_id}/compile" not in page
    assert count(app=paper, model=DayNote) == 0
    assert manager.get(f"/day-notes/{file_id}/compile").status_code == 404
    assert manager.post(f"/day-notes/{file_id}/compile", data={"note": "x"}).status_code == 404


def test_with_digital_notes_off_the_paper_sheets_are_offered(paper: Flask, as_user) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)
    index = html(staff.get("/day-notes/"))
    assert FICTIONAL in index and "för hand" in index and "Ej sammanställda" not in index
    assert f"/day-notes/{file_id}/sheet.pdf" in index and "/blank/day-notes.pdf" in index
    sheet = staff.get(f"/day-notes/{file_id}/sheet.pdf")
    assert sheet.status_code == 200 and FICTIONAL in pdf_text(sheet.data)
    assert staff.get("/blank/day-notes.pdf").status_code == 200
    start = html(staff.get("/"))
    assert "blankett med det fiktiva namnet" in start and "Skriv daganteckningar" not in start
    assert "Daganteckningar att sammanställa" not in html(manager.get("/"))
    assert manager.post(f"/day-notes/{file_id}/close").status_code == 303  # closing still works


def test_with_digital_notes_switched_off_earlier_notes_can_still_be_compiled(
        app: Flask, as_user) -> None:
    """Notes written while the setting was on are not left to be purged unseen."""
    manager = as_user("hemtjanst_manager")
    file_id = create_file(manager)
    add_note(as_user("staff"), file_id)
    app.config["DAY_NOTES_DIGITAL"] = False
    start = html(manager.get("/"))
    assert "Daganteckningar att sammanställa" in start and f"/day-notes/{file_id}/compile" in start
    page = html(manager.get(f"/day-notes/{file_id}/compile"))
    assert NOTE in page
    assert manager.post(f"/day-notes/{file_id}/compile",
                        data={"note": note_ids(page)}).status_code == 303
    assert count(app, DayNote, DayNote.compiled_at.is_(None)) == 0
    assert manager.get(f"/day-notes/{file_id}/compile").status_code == 404  # nothing left
    assert "Daganteckningar att sammanställa" not in html(manager.get("/"))


def test_with_digital_notes_on_staff_are_offered_to_write(app: Flask, as_user) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    staff = as_user("staff")
    assert "Skriv daganteckningar" in html(staff.get("/"))
    assert 'name="text"' in html(staff.get(f"/day-notes/{file_id}"))


# --- the planner compiles like the unit manager, and nothing else (SPEC §2) ----------------------


def test_the_planner_compiles_the_units_notes(app: Flask, as_user) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    add_note(as_user("staff"), file_id)
    planner = as_user("planner")
    start = html(planner.get("/"))
    assert "Daganteckningar att sammanställa" in start and f"/day-notes/{file_id}/compile" in start
    assert FICTIONAL in html(planner.get("/day-notes/"))
    page = html(planner.get(f"/day-notes/{file_id}/compile"))
    assert NOTE in page and CASE in page  # the planner has access to the case (§8.1, §8.6)
    resp = planner.post(f"/day-notes/{file_id}/compile", data={"note": note_ids(page)})
    assert resp.status_code == 303
    with app.app_context():
        note = db.session.scalar(select(DayNote))
        assert note is not None and note.compiled_by is not None
        assert note.compiled_by.username == "planner"


def test_the_planner_may_not_open_write_close_or_print(app: Flask, as_user) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    planner = as_user("planner")
    assert planner.post("/day-notes/", data={"fictional_name": "Tore Tall"}).status_code == 403
    assert planner.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}).status_code == 403
    assert planner.post(f"/day-notes/{file_id}/close").status_code == 403
    assert planner.get(f"/day-notes/{file_id}/sheet.pdf").status_code == 403
    page = html(planner.get(f"/day-notes/{file_id}"))
    assert 'name="text"' not in page and "sheet.pdf" not in page and "Stäng akten" not in page
    assert count(app, FictionalFile) == 1 and count(app, DayNote) == 0


def test_another_units_file_is_404_for_the_planner(app: Flask, as_user) -> None:
    file_id = create_file(as_user("manager"))  # Myndighet Centrum
    add_note(as_user("manager"), file_id)
    planner = as_user("planner")
    assert planner.get(f"/day-notes/{file_id}").status_code == 404
    assert planner.get(f"/day-notes/{file_id}/compile").status_code == 404
    assert planner.post(f"/day-notes/{file_id}/compile", data={"note": "x"}).status_code == 404
    assert FICTIONAL not in html(planner.get("/"))


# --- six weeks uncompiled: warned with the purge date (SPEC §3.5) --------------------------------


def test_notes_uncompiled_at_six_weeks_are_warned_with_their_purge_date(
        app: Flask, as_user) -> None:
    written = datetime(2026, 3, 2, 10, 0, tzinfo=STOCKHOLM)
    _write_at(as_user, written)
    warning = "Den äldsta har inte sammanställts på 42 dagar. Den raderas 2026-05-02"
    # Six weeks on Swedish calendar dates (summer time begins in between: 2026-03-29).
    with freeze_time(datetime(2026, 4, 12, 23, 59, tzinfo=STOCKHOLM)):
        for who in ("hemtjanst_manager", "planner"):
            page = html(as_user(who).get("/"))
            assert "Äldre än 7 dagar" in page and warning not in page, who
    with freeze_time(datetime(2026, 4, 13, 0, 1, tzinfo=STOCKHOLM)):
        for who in ("hemtjanst_manager", "planner"):
            assert warning in html(as_user(who).get("/")), who
        for who in ("staff", "manager"):
            assert "raderas 2026-05-02" not in html(as_user(who).get("/")), who
    # And the purge date is the day the retention rule takes the note.
    assert _purge_at(app, datetime(2026, 5, 1, 23, 59, tzinfo=STOCKHOLM))["day_notes"] == 0
    assert _purge_at(app, datetime(2026, 5, 2, 0, 1, tzinfo=STOCKHOLM))["day_notes"] == 1


@pytest.mark.parametrize(("written", "purged"), [
    (datetime(2026, 1, 31, 0, 30, tzinfo=STOCKHOLM), date(2026, 3, 31)),
    (datetime(2025, 12, 30, 23, 30, tzinfo=STOCKHOLM), date(2026, 2, 28)),
])
def test_the_purge_date_follows_the_retention_rule(app: Flask, written: datetime,
                                                   purged: date) -> None:
    with app.app_context():
        assert day_notes.purge_date(written) == purged
        assert retention.day_notes_last_purged_date(purged, 2) >= written.date()
        assert retention.day_notes_last_purged_date(purged - timedelta(days=1), 2) < \
            written.date()


# --- the sheet's title (routine: "Blankett för daganteckning", §7.5, §8.6) ----------------------


def test_the_sheet_has_the_routines_title_and_no_protection_marking(app: Flask, as_user) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    staff = as_user("staff")
    for resp in (staff.get("/blank/day-notes.pdf"), staff.get(f"/day-notes/{file_id}/sheet.pdf")):
        text = pdf_text(resp.data)
        assert text.startswith("Blankett för daganteckning") or \
            "Blankett för daganteckning Dokumentationsblankett med det fiktiva namnet" in text
        assert "skyddade personuppgifter" not in text.lower()  # the fictional file must not stand out
        title = PdfReader(io.BytesIO(resp.data)).metadata
        assert title is not None and title.title == "Blankett för daganteckning"
