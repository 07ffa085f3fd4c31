"""Begäran om aktualisering av skyddad person (routine §2.4, SPEC §3.2) the whole way: the social
secretary sends the eleven points, the rules refuse what the routine forbids, only LVS reads the
content (every read audited), LVS marks it done with the new case number and the content is
purged; unhandled, it is purged after 30 days. The personnummer and the name never reach the
database file in plain text."""
from __future__ import annotations

import io
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import count, html, login, submit_form
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import select, text

from portal import rules, scheduler
from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, DataKey, Submission

PNR = "19121212-1212"  # Skatteverket's test number (Tolvan Tolvansson)
PNR_FORMS = ["19121212-1212", "191212121212", "121212-1212", "1212121212"]
NAME = "Tolvan Tolvansson"
COORDINATION = "19701063-0015"  # samordningsnummer: day + 60
CASE = "0655599"
FIELDS = ["receiving_unit", "recipient", "recipient_position", "activity", "personnummer",
          "full_name", "concerns", "preliminary_case_type", "kind", "received_date",
          "arrival_method", "arrived_from", "reporter_name", "reporter_contact",
          "proposed_persons-0-full_name", "text"]


# --- helpers ---------------------------------------------------------------------------------


def form(**overrides: Any) -> dict[str, str]:
    """A valid request as the browser posts it: an ansökan from the individual herself."""
    data: dict[str, Any] = {
        "receiving_unit": "Myndighet Centrum",
        "recipient": "Sara Socialsekreterare",
        "recipient_position": "socialsekreterare",
        "activity": "ÄO",
        "personnummer": PNR,
        "full_name": NAME,
        "concerns": "Ansökan om hemtjänst",
        "preliminary_case_type": "Hemtjänst",
        "kind": "ansökan",
        "received_date": today().isoformat(),
        "arrival_method": "telefon",
        "arrived_from": "den enskilde",
        "reporter_name": "",
        "reporter_contact": "",
        "proposed_persons-0-full_name": "Anna Andersson",
        "proposed_persons-0-username": "anna01",
        "proposed_persons-0-position": "socialsekreterare",
        "text": "Behöver hjälp med inköp och städning. Post via förmedlingsadress.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(client: FlaskClient, data: dict[str, str] | None = None) -> str:
    return submit_form(client, "/forms/actualisation", data or form())


def field_error(page: str, field_id: str) -> str:
    m = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    assert m, f"no error at {field_id}"
    return m.group(1)


def reads(app: Flask, public_id: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent.username).where(AuditEvent.action == "protected_content_read",
                                              AuditEvent.object_id == public_id)
            .order_by(AuditEvent.seq)))


def sub_row(app: Flask, public_id: str) -> Submission:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        db.session.expunge(sub)
        return sub


def mark_done(client: FlaskClient, public_id: str, case_number: str = CASE,
              reply: str = "Aktualiseringen är skapad. Logga ut och in igen.") -> Any:
    return client.post(f"/lvs/submissions/{public_id}/done",
                       data={"reply": reply, "version": "1", "case_number": case_number})


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split())


# --- the form --------------------------------------------------------------------------------


def test_form_has_the_eleven_points_in_the_routines_order(as_user) -> None:
    resp = as_user("secretary").get("/forms/actualisation")
    assert resp.status_code == 200
    page = html(resp)
    positions = [page.index(f'name="{name}"') for name in FIELDS]
    assert positions == sorted(positions)
    assert re.search(r"<input[^>]*name=\"activity\"[^>]*value=\"ÄO\"", page)
    assert 'value="Myndighet Centrum"' in page  # the secretary's own unit, prefilled
    for value in ("anmälan", "ansökan", "telefon", "brev", "besök", "e-tjänst", "annat"):
        assert f'value="{value}"' in page
    assert "§2.4" in page and "ÄVO Myndighet LVS admin sekretessbehörighet" in page


@pytest.mark.parametrize("username", ["manager", "staff", "lvs", "admin"])
def test_only_a_social_secretary_may_send_the_request(app: Flask, as_user, username: str) -> None:
    client = as_user(username)
    assert client.get("/forms/actualisation").status_code == 403
    assert client.post("/forms/actualisation", data=form()).status_code == 403
    with app.app_context():
        assert count(app, Submission) == 0


# --- the whole path --------------------------------------------------------------------------


def test_request_goes_to_lvs_who_reads_it_audited_and_marks_it_done(app: Flask, as_user) -> None:
    secretary, lvs = as_user("secretary"), as_user("lvs")
    public_id = submit(secretary)

    sub = sub_row(app, public_id)
    assert (sub.form, sub.status, sub.case_number) == ("actualisation", "submitted", None)
    assert sub.data is None and sub.data_enc and sub.data_key_id

    queue = lvs.get("/lvs/queue.json").get_json()
    assert [item["id"] for item in queue] == [public_id]
    assert reads(app, public_id) == []  # the queue shows no content

    page = html(lvs.get(f"/submissions/{public_id}"))
    assert PNR in page and NAME in page and "Anna Andersson" in page
    # Marking it done deletes it for good: a confirmation page asks for the new case number
    # (issue 14 item 3), and reads no content.
    assert f'href="/submissions/{public_id}/done"' in page
    assert "Nytt ärendenummer i Treserva" in html(lvs.get(f"/submissions/{public_id}/done"))
    assert reads(app, public_id) == ["lvs"]

    message = html(lvs.get(f"/submissions/{public_id}/message"))
    to, subject, blank, *body = message.split("\n")
    assert to == "Till: ÄVO Myndighet LVS admin sekretessbehörighet"
    assert subject == "Ämne: Begäran om aktualisering, skyddade personuppgifter, Centrum"
    assert blank == ""
    assert rules.check_subject(subject, "subject", forbidden_names=[NAME]) == []
    assert f"5. Personnummer och namn: {PNR}, {NAME}" in body
    assert "11. Ankom ifrån: den enskilde" in body

    resp = lvs.get(f"/submissions/{public_id}/pdf")
    assert resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert "1212" not in disposition and "Tolvan" not in disposition
    printed = pdf_text(resp.data)
    assert "SKYDDADE PERSONUPPGIFTER" in printed and PNR in printed and NAME in printed

    exported = lvs.get(f"/submissions/{public_id}.json").get_json()
    assert exported["personnummer"] == PNR and exported["full_name"] == NAME
    assert exported["proposed_persons"] == [
        {"full_name": "Anna Andersson", "username": "anna01", "position": "socialsekreterare"}]
    assert exported["submission"]["status"] == "submitted"
    assert reads(app, public_id) == ["lvs"] * 4  # page, message, PDF, JSON: each read audited

    resp = mark_done(lvs, public_id)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/lvs/queue")

    sub = sub_row(app, public_id)
    assert sub.status == "purged" and sub.purged_at is not None and sub.processed_at is not None
    assert sub.data is None and sub.data_enc is None and sub.data_key_id is None
    assert sub.case_number == CASE  # the tombstone keeps the case number LVS created
    assert lvs.get("/lvs/queue.json").get_json() == []

    after = html(lvs.get(f"/submissions/{public_id}"))
    assert PNR not in after and NAME not in after and "Innehållet är raderat" in after
    assert lvs.get(f"/submissions/{public_id}/message").status_code == 410
    assert lvs.get(f"/submissions/{public_id}/pdf").status_code == 410
    assert "personnummer" not in lvs.get(f"/submissions/{public_id}.json").get_json()

    start = html(secretary.get("/"))
    assert "Begäran om aktualisering av skyddad person" in start
    assert CASE in start and "Klar, innehållet raderat" in start
    with app.app_context():
        actions = list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == public_id)))
        assert "protected_content_purged" in actions and "submission_processed" in actions


def test_no_reply_is_kept_on_the_tombstone(app: Flask, as_user) -> None:
    """Issue 11 M3: a reply outlived the purged content in plain text (it used to be kept with
    the name blanked out). The tombstone keeps the case number LVS created, and no reply at all;
    the page asks for none."""
    secretary, lvs = as_user("secretary"), as_user("lvs")
    public_id = submit(secretary)
    assert 'name="reply"' not in html(lvs.get(f"/submissions/{public_id}"))
    reply = "Aktualiseringen för Tolvan TOLVANSSON är skapad; Tolvanssons ärende har nr 0655599."
    assert mark_done(lvs, public_id, reply=reply).status_code == 303
    sub = sub_row(app, public_id)
    assert sub.status == "purged" and sub.reply is None and sub.case_number == CASE
    assert "Tolvan" not in html(secretary.get(f"/submissions/{public_id}"))


def test_done_without_a_case_number_still_purges(app: Flask, as_user) -> None:
    public_id = submit(as_user("secretary"))
    assert mark_done(as_user("lvs"), public_id, case_number="").status_code == 303
    sub = sub_row(app, public_id)
    assert sub.status == "purged" and sub.data_enc is None and sub.case_number is None


@pytest.mark.parametrize("case_number, reply", [
    ("abc", "Klart."),
    (PNR, "Klart."),
    (CASE, f"Klart för {PNR}."),
])
def test_done_with_a_bad_case_number_or_a_personnummer_in_the_reply_changes_nothing(
        app: Flask, as_user, case_number: str, reply: str) -> None:
    public_id = submit(as_user("secretary"))
    lvs = as_user("lvs")
    resp = mark_done(lvs, public_id, case_number=case_number, reply=reply)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(public_id)
    sub = sub_row(app, public_id)
    assert sub.status == "submitted" and sub.data_enc is not None and sub.reply is None


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("pnr", [
    "19121212-1213",  # wrong check digit
    "19121312-1212",  # month 13
    "19120230-1212",  # 30 February
    "121212-121",  # too short
    "Tolvan",
    "",
])
def test_invalid_personnummer_is_refused_with_input_kept_and_nothing_stored(
        app: Flask, as_user, pnr: str) -> None:
    data = form(personnummer=pnr, reporter_contact="070-123 45 67")
    resp = as_user("secretary").post("/forms/actualisation", data=data)
    assert resp.status_code == 422
    page = html(resp)
    assert "Personnum" in field_error(page, "personnummer")
    for key in ("personnummer", "full_name", "concerns", "reporter_contact", "text"):
        assert str(escape(data[key])) in page
    with app.app_context():
        assert count(app, Submission) == 0


@pytest.mark.parametrize("pnr, stored", [
    (COORDINATION, COORDINATION),
    ("701063-0015", COORDINATION),
    ("191212121212", PNR),
    ("121212+1212", PNR),  # "+": a hundred years or older
    ("1212121212", "20121212-1212"),  # ten digits without "+": younger than a hundred
])
def test_samordningsnummer_and_every_personnummer_form_are_accepted(
        app: Flask, as_user, pnr: str, stored: str) -> None:
    public_id = submit(as_user("secretary"), form(personnummer=pnr))
    exported = as_user("lvs").get(f"/submissions/{public_id}.json").get_json()
    assert exported["personnummer"] == stored  # as Treserva prints it: ÅÅÅÅMMDD-NNNN


def test_received_date_in_the_future_is_refused(app: Flask, as_user) -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()
    resp = as_user("secretary").post("/forms/actualisation", data=form(received_date=tomorrow))
    assert resp.status_code == 422
    assert "senare än i dag" in field_error(html(resp), "received_date")
    with app.app_context():
        assert count(app, Submission) == 0


def test_received_date_today_and_earlier_are_accepted(as_user) -> None:
    secretary = as_user("secretary")
    submit(secretary, form(received_date=today().isoformat()))
    submit(secretary, form(received_date=(today() - timedelta(days=40)).isoformat()))


@pytest.mark.parametrize("overrides", [
    {"kind": "anmälan"},  # an anmälan always names the reporter
    {"arrived_from": "annan"},  # from someone other than the individual
    {"arrived_from": "anhörig (dotter)"},  # free text is someone else too
])
def test_reporter_is_required_for_anmalan_or_when_not_from_the_individual(
        app: Flask, as_user, overrides: dict[str, str]) -> None:
    secretary = as_user("secretary")
    resp = secretary.post("/forms/actualisation", data=form(**overrides))
    assert resp.status_code == 422
    assert "§2.4 punkt 11" in field_error(html(resp), "reporter_name")
    with app.app_context():
        assert count(app, Submission) == 0
    submit(secretary, form(reporter_name="Kim Anmälare", **overrides))


def test_den_enskilde_is_recognised_whatever_the_case(as_user) -> None:
    submit(as_user("secretary"), form(arrived_from="Den enskilde"))


def test_missing_points_are_each_reported_at_their_field(app: Flask, as_user) -> None:
    empty = {key: "" for key in FIELDS}
    resp = as_user("secretary").post("/forms/actualisation", data=empty)
    assert resp.status_code == 422
    page = html(resp)
    for key in ("receiving_unit", "recipient", "recipient_position", "activity", "personnummer",
                "full_name", "concerns", "preliminary_case_type", "kind", "received_date",
                "arrival_method", "arrived_from"):
        field_error(page, key)


def _persons(n: int) -> dict[str, str]:
    rows: dict[str, str] = {}
    for i in range(n):
        rows.update({f"proposed_persons-{i}-full_name": f"Person {i}",
                     f"proposed_persons-{i}-username": f"user{i}",
                     f"proposed_persons-{i}-position": "socialsekreterare"})
    return rows


def test_more_proposed_persons_than_the_unit_types_limit_is_refused(app: Flask, as_user) -> None:
    secretary = as_user("secretary")
    resp = secretary.post("/forms/actualisation", data=form(**_persons(4)))
    assert resp.status_code == 422
    assert "Högst 3 personer" in field_error(html(resp), "proposed_persons")
    submit(secretary, form(**_persons(3)))
    # Hemtjänst allows four (§8.1).
    submit(secretary, form(receiving_unit="Hemtjänst Hisingen", **_persons(4)))


def test_a_proposed_person_needs_name_and_username(as_user) -> None:
    resp = as_user("secretary").post("/forms/actualisation", data=form(**{
        "proposed_persons-0-username": ""}))
    assert resp.status_code == 422
    assert "Användarnamn" in field_error(html(resp), "proposed_persons-0-username")


def test_a_fee_handler_is_never_proposed(as_user) -> None:
    resp = as_user("secretary").post("/forms/actualisation", data=form(**{
        "proposed_persons-0-username": "fee"}))
    assert resp.status_code == 422
    assert "§7.2" in field_error(html(resp), "proposed_persons-0-username")


def test_person_rows_are_added_without_javascript_up_to_the_limit(as_user) -> None:
    secretary = as_user("secretary")
    page = html(secretary.post("/forms/actualisation", data=form(add_person="1")))
    assert 'name="proposed_persons-1-full_name"' in page
    assert "Lägg till en person" in page
    page = html(secretary.post("/forms/actualisation", data=form(add_person="1", **_persons(3))))
    assert 'name="proposed_persons-3-full_name"' not in page
    assert "Lägg till en person" not in page


# --- paper ------------------------------------------------------------------------------------


def test_blank_form_is_a4_with_the_eleven_points_and_the_instructions(as_user) -> None:
    resp = as_user("secretary").get("/blank/actualisation.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert (resp.headers["Content-Disposition"]
            == 'inline; filename="blankett-begaran-om-aktualisering.pdf"')
    reader = PdfReader(io.BytesIO(resp.data))
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    printed = pdf_text(resp.data)
    labels = ["1. Mottagande enhet", "2. Mottagare", "3. Befattning", "4. Verksamhet",
              "5. Personnummer", "5. Namn", "6. Vad aktualiseringen avser",
              "7. Preliminär ärendetyp", "8. Avser", "9. Mottaget datum", "10. Ankomstsätt",
              "11. Ankom ifrån"]
    positions = [printed.index(label) for label in labels]
    assert positions == sorted(positions)
    assert "ÄVO Myndighet LVS admin sekretessbehörighet" in printed
    assert "Skriv aldrig personnummer" in printed and "SKYDDADE PERSONUPPGIFTER" in printed


def test_the_filled_pdf_title_names_the_form_only(app: Flask, as_user) -> None:
    public_id = submit(as_user("secretary"))
    reader = PdfReader(io.BytesIO(as_user("lvs").get(f"/submissions/{public_id}/pdf").data))
    assert reader.metadata is not None
    assert reader.metadata.title == "Begäran om aktualisering av skyddad person"


# --- who may read what -----------------------------------------------------------------------


def test_the_submitter_sees_only_the_tombstone_facts(app: Flask, as_user) -> None:
    secretary = as_user("secretary")
    public_id = submit(secretary)
    page = html(secretary.get(f"/submissions/{public_id}"))
    assert PNR not in page and NAME not in page and "Anna Andersson" not in page
    assert "Väntar på LVS" in page and "kan bara läsas av LVS" in page
    exported = secretary.get(f"/submissions/{public_id}.json").get_json()
    assert set(exported) == {"submission"} and exported["submission"]["status"] == "submitted"
    assert secretary.get(f"/submissions/{public_id}/message").status_code == 403
    assert secretary.get(f"/submissions/{public_id}/pdf").status_code == 403
    assert secretary.post(f"/lvs/submissions/{public_id}/done",
                          data={"version": "1"}).status_code == 403
    assert reads(app, public_id) == []
    start = html(secretary.get("/"))
    assert "Begäran om aktualisering av skyddad person" in start and "Väntar på LVS" in start


def test_the_units_manager_sees_the_facts_and_no_content(app: Flask, as_user) -> None:
    public_id = submit(as_user("secretary"))
    manager = as_user("manager")  # Myndighet Centrum, the secretary's unit
    page = html(manager.get(f"/submissions/{public_id}"))
    assert PNR not in page and NAME not in page
    assert "personnummer" not in manager.get(f"/submissions/{public_id}.json").get_json()
    assert manager.get(f"/submissions/{public_id}/message").status_code == 403
    assert reads(app, public_id) == []


@pytest.mark.parametrize("username", ["other_manager", "staff", "admin", "fee"])
def test_other_roles_get_404(app: Flask, as_user, username: str) -> None:
    public_id = submit(as_user("secretary"))
    client = as_user(username)
    for path in ("", "/pdf", "/message"):
        assert client.get(f"/submissions/{public_id}{path}").status_code == 404
    assert client.get(f"/submissions/{public_id}.json").status_code == 404
    assert reads(app, public_id) == []


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(app: Flask, as_user) -> None:
    from portal import crypto

    secretary = as_user("secretary")
    first, second = submit(secretary), submit(secretary, form(full_name="Annan Person"))
    with app.app_context():
        a = db.session.scalar(select(Submission).where(Submission.public_id == first))
        b = db.session.scalar(select(Submission).where(Submission.public_id == second))
        b.data_enc = a.data_enc  # the ciphertext copied to the other row (and its data key)
        with pytest.raises(crypto.CryptoError):
            crypto.unseal_json(b, "data_enc")
        b.data_key = a.data_key
        with pytest.raises(crypto.CryptoError):
            crypto.unseal_json(b, "data_enc")
        assert crypto.unseal_json(a, "data_enc")["full_name"] == NAME
        db.session.rollback()


# --- nothing in plain text in the database file ----------------------------------------------


def _needles() -> list[bytes]:
    return [v.encode("utf-8") for v in (*PNR_FORMS, "20121212-1212", "201212121212", NAME,
                                        "Tolvansson")]


def _pg_bytes(app: Flask) -> bytes:
    """PostgreSQL keeps its files elsewhere: every value of every table, as the server gives it
    (bytea as its raw bytes), is what is at rest there."""
    out = bytearray()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                for value in row:
                    out += value if isinstance(value, bytes) else str(value).encode()
                    out += b"\0"
    return bytes(out)


def _db_bytes(app: Flask) -> bytes:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite"):
        return _pg_bytes(app)
    path = Path(uri.removeprefix("sqlite:///"))
    out = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(str(path) + suffix)
        if extra.exists():
            out += extra.read_bytes()
    return out


def _assert_not_in_db(app: Flask) -> None:
    raw = _db_bytes(app)
    assert b"Sara Socialsekreterare" in raw  # the search sees plain text where it is
    found = [n for n in _needles() if n in raw]
    assert found == [], f"found in the database file: {found}"
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():  # after a checkpoint, the main file holds every page
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
    raw = _db_bytes(app)
    assert [n for n in _needles() if n in raw] == []


def test_the_database_file_never_holds_the_personnummer_or_the_name(app: Flask, as_user) -> None:
    secretary, lvs = as_user("secretary"), as_user("lvs")
    # A refused post stores nothing either.
    assert secretary.post("/forms/actualisation",
                          data=form(kind="anmälan")).status_code == 422
    public_id = submit(secretary)
    submit(secretary, form(personnummer="121212-1212"))
    assert PNR in html(lvs.get(f"/submissions/{public_id}"))
    _assert_not_in_db(app)
    assert mark_done(lvs, public_id).status_code == 303
    _assert_not_in_db(app)
    with freeze_time(datetime.now(UTC) + timedelta(days=31)):
        with app.app_context():
            assert scheduler.purge_job()["actualisation_unprocessed"] == 1
    _assert_not_in_db(app)


# --- retention: 30 days unhandled --------------------------------------------------------------


@pytest.mark.parametrize("days, purged", [(29, False), (30, True), (31, True)])
def test_an_unhandled_request_is_purged_after_30_days(
        app: Flask, as_user, days: int, purged: bool) -> None:
    created = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with freeze_time(created):  # logged in then too: a session signed "in the future" is refused
        client = app.test_client()
        assert login(client, "secretary").status_code == 303
        public_id = submit(client, form(received_date=date(2026, 3, 1).isoformat()))
    with freeze_time(created + timedelta(days=days)):
        with app.app_context():
            counts = scheduler.purge_job()
    assert counts["actualisation_unprocessed"] == (1 if purged else 0)
    sub = sub_row(app, public_id)
    if not purged:
        assert sub.status == "submitted" and sub.data_enc is not None and sub.purged_at is None
        return
    assert sub.status == "expired" and sub.data_enc is None and sub.data_key_id is None
    assert sub.purged_at is not None
    assert as_user("lvs").get("/lvs/queue.json").get_json() == []
    secretary = as_user("secretary")
    start = html(secretary.get("/"))
    assert "Raderad efter 30 dagar utan hantering" in start
    page = html(secretary.get(f"/submissions/{public_id}"))
    assert "Raderad efter 30 dagar utan hantering" in page
    # LVS can no longer mark it done: nothing to process.
    resp = mark_done(as_user("lvs"), public_id)
    assert resp.status_code == 409


def test_handled_requests_are_not_touched_by_the_retention_rule(app: Flask, as_user) -> None:
    public_id = submit(as_user("secretary"))
    mark_done(as_user("lvs"), public_id)
    with freeze_time(datetime.now(UTC) + timedelta(days=60)):
        with app.app_context():
            assert scheduler.purge_job()["actualisation_unprocessed"] == 0
    assert sub_row(app, public_id).status == "purged"


# --- keys ------------------------------------------------------------------------------------


def test_rotate_keys_reencrypts_every_value_and_prints_counts_only(app: Flask, as_user) -> None:
    secretary, lvs = as_user("secretary"), as_user("lvs")
    ids = [submit(secretary), submit(secretary)]
    done = submit(secretary)
    mark_done(lvs, done)
    before = {i: sub_row(app, i) for i in ids}
    with app.app_context():
        old_kid = db.session.get(DataKey, before[ids[0]].data_key_id).kek_id
        wrapped = {i: db.session.get(DataKey, before[i].data_key_id).wrapped for i in ids}

    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Omkrypterade: 2" in result.output and "Kunde inte dekrypteras: 0" in result.output
    assert all(n.decode() not in result.output for n in _needles())

    for i in ids:
        after = sub_row(app, i)
        with app.app_context():  # the data key is re-wrapped under the new key; content as it was
            key = db.session.get(DataKey, after.data_key_id)
            assert key.kek_id != old_kid and key.wrapped != wrapped[i]
        assert after.data_enc == before[i].data_enc
        assert after.version == before[i].version  # an open LVS page can still mark it done
        assert lvs.get(f"/submissions/{i}.json").get_json()["personnummer"] == PNR
    keys = Path(app.instance_path) / "keys"
    files = sorted(p.name for p in keys.glob("*.key"))
    assert files == ["k0001.key", "k0002.key"]
    assert all((os.stat(keys / f).st_mode & 0o777) == 0o600 for f in files)

    again = app.test_cli_runner().invoke(args=["rotate-keys", "--no-new-key", "--remove-old"])
    assert again.exit_code == 0 and "Omkrypterade: 0" in again.output
    assert sorted(p.name for p in keys.glob("*.key")) == ["k0002.key"]
    assert mark_done(lvs, ids[0]).status_code == 303

    status = app.test_cli_runner().invoke(args=["keys", "status"])
    assert "k0002 (aktuell): 1 värden" in status.output
