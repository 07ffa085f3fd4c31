"""Hand-overs between units (SPEC §3.6; routine §5.9, §5.10, §6.1, §6.2, §7.2): render only, the
case number only, each to the recipient of its purpose; nothing stored, only the fact audited."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pytest
from conftest import PASSWORD, count, field_error, login, message_lines
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS, RenderOnlyForm
from portal.forms.base import CheckContext
from portal.forms.handover import PURPOSES, check_handover
from portal.models import AuditEvent, Submission, Unit, User, UserRole

CASE = "0655588"
PNR = "19121212-1212"


# --- helpers -------------------------------------------------------------------------------------


def page(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def offered(text: str) -> set[str]:
    return set(re.findall(r'name="purpose" type="radio" value="([^"]+)"', text)) | set(
        re.findall(r'type="radio" name="purpose" value="([^"]+)"', text))


def pdf_text(data: bytes) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def last_audit_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def audit_rows(app: Flask, after_id: int) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > after_id)
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def location_words(app: Flask) -> list[str]:
    """Every city district and every word of every unit's name (indirect location data, §1.1)."""
    with app.app_context():
        units = list(db.session.scalars(select(Unit)))
        words = {w for u in units for w in u.name.split() if len(w) > 3}
        words |= {u.city_district for u in units} | set(app.config["CITY_DISTRICTS"])
    return sorted(words)


@pytest.fixture
def user_in(app: Flask, password_hash: str):  # type: ignore[no-untyped-def]
    """user_in("bosam", "BoSam Centrum", "bosam", ["social_secretary"]) -> a logged-in client of a
    new user in a new unit of that type."""

    def make(username: str, unit_name: str, unit_type: str, roles: list[str]) -> FlaskClient:
        with app.app_context():
            unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
            if unit is None:
                unit = Unit(name=unit_name, unit_type=unit_type, city_district="Sydväst")
                db.session.add(unit)
                db.session.flush()
            db.session.add(User(username=username, full_name=f"Test {username.title()}",
                                email=f"{username}@goteborg.se", unit_id=unit.id,
                                password_hash=password_hash,
                                role_rows=[UserRole(role=r) for r in roles]))
            db.session.commit()
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 303
        return client

    return make


@pytest.fixture
def sender(as_user, user_in):  # type: ignore[no-untyped-def]
    """sender(purpose) -> a client of a user the routine has send that hand-over."""

    def make(purpose: str) -> FlaskClient:
        if purpose in ("assignment", "assignment_updated"):
            return as_user("secretary")  # Myndighet's social secretary (§5.9, §5.10)
        if purpose == "case_number_to_residence":  # the boendesekreterare on BoSam (§6.1)
            return user_in("bosam", "BoSam Vård", "bosam", ["social_secretary"])
        return as_user("hemtjanst_manager")  # the performer's unit manager (§7.2)

    return make


# (purpose, recipient on top, subject's fixed words, words of the fixed text)
EXPECTED = [
    ("assignment", "Uppdragsmottagare hos utföraren", "Uppdrag skickat", "(§5.9, §7.2, §8.2)"),
    ("assignment_updated", "Uppdragsmottagare hos utföraren",
     "Uppdraget uppdaterat med checklistan", "uppdaterat med checklistan"),
    ("case_number_to_residence", "Enhetschef på boendet",
     "Ärendenummer för beställning av behörighet",
     "'ÄVO Myndighet LVS admin sekretessbehörighet'"),
    ("assignment_received", "Ansvarig socialsekreterare", "Uppdrag mottaget",
     "Uppdraget är mottaget (§7.2)."),
]


# --- each purpose: its recipient, a subject of fixed words and the case number --------------------


def test_the_page_offers_only_the_users_own_hand_overs(app: Flask, as_user, user_in) -> None:
    get = as_user("secretary").get("/forms/handover")
    assert get.status_code == 200
    assert offered(page(get)) == {"assignment", "assignment_updated"}
    assert "no-store" in get.headers["Cache-Control"]
    performer = page(as_user("hemtjanst_manager").get("/forms/handover"))
    assert offered(performer) == {"assignment_received"}
    bosam = page(user_in("bosam", "BoSam Vård", "bosam", ["unit_manager"]).get("/forms/handover"))
    assert offered(bosam) == {"case_number_to_residence"}


@pytest.mark.parametrize(("purpose", "recipient", "subject", "text"), EXPECTED)
def test_each_hand_over_goes_to_its_recipient_with_the_case_number_only(
        app: Flask, sender, purpose: str, recipient: str, subject: str, text: str) -> None:
    resp = sender(purpose).post("/forms/handover", data={"purpose": purpose, "case_number": CASE})
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == f"Till: {recipient}"
    assert lines[1] == f"Ämne: {subject}, ärende {CASE}"
    assert lines[2] == "" and lines[3] == f"Ärende {CASE}."
    body = "\n".join(lines[3:])
    assert text in body and "Avsändare: " in body
    # No unit and no district: which unit took the case is location data (§1.1). (The LVS
    # list's name, which BoSam's text cites, is no unit.)
    body = body.replace(app.config["DISTRIBUTION_LISTS"]["lvs"], "")
    for word in location_words(app):
        assert not re.search(rf"\b{word}\b", body), word
    assert "no-store" in resp.headers["Cache-Control"]


def test_the_recipient_comes_from_the_config(app: Flask, as_user) -> None:
    app.config["HANDOVER_RECIPIENTS"] = {**app.config["HANDOVER_RECIPIENTS"],
                                         "assignment": "Hemtjänstens uppdragsmottagare"}
    resp = as_user("secretary").post("/forms/handover",
                                     data={"purpose": "assignment", "case_number": CASE})
    assert message_lines(resp)[0] == "Till: Hemtjänstens uppdragsmottagare"


def test_nothing_posted_besides_purpose_and_case_number_reaches_the_message(
        app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/handover", data={
        "purpose": "assignment", "case_number": CASE, "full_name": "Karin Ekström",
        "text": "Karin bor på Storgatan 1", "recipient": "Boende Kviberg"})
    assert resp.status_code == 200
    text = "\n".join(message_lines(resp))
    for word in ("Karin", "Storgatan", "Kviberg"):
        assert word not in text
    assert not re.search(r"\d{10}", text)


# --- refused at the field, input kept (422) ------------------------------------------------------


def test_a_personnummer_as_case_number_is_refused_at_the_field_and_kept(
        app: Flask, as_user) -> None:
    before = count(app, Submission)
    resp = as_user("secretary").post("/forms/handover",
                                     data={"purpose": "assignment", "case_number": PNR})
    assert resp.status_code == 422
    text = page(resp)
    assert "personnummer" in field_error(text, "case_number")
    assert f'value="{PNR}"' in text  # the input is kept
    assert re.search(r'<input checked[^>]*value="assignment"', text)  # the choice kept
    assert 'id="message-text"' not in text
    assert count(app, Submission) == before


def test_an_empty_or_malformed_case_number_is_refused(app: Flask, as_user) -> None:
    client = as_user("secretary")
    empty = client.post("/forms/handover", data={"purpose": "assignment", "case_number": ""})
    assert empty.status_code == 422 and field_error(page(empty), "case_number")
    letters = client.post("/forms/handover", data={"purpose": "assignment", "case_number": "Karin"})
    assert letters.status_code == 422 and field_error(page(letters), "case_number")
    assert 'value="Karin"' in page(letters)


def test_a_purpose_the_user_does_not_send_is_refused_at_its_field(app: Flask, as_user) -> None:
    """The social secretary does not tell herself the assignment is received (§7.2): refused at
    `purpose`, the case number kept; the page offers her own purposes only."""
    resp = as_user("secretary").post("/forms/handover",
                                     data={"purpose": "assignment_received", "case_number": CASE})
    assert resp.status_code == 422
    text = page(resp)
    assert "§7.2" in field_error(text, "purpose")
    assert f'value="{CASE}"' in text
    assert offered(text) == {"assignment", "assignment_updated"}
    performer = as_user("hemtjanst_manager").post(
        "/forms/handover", data={"purpose": "assignment", "case_number": CASE})
    assert performer.status_code == 422 and "§5.9" in field_error(page(performer), "purpose")


def test_no_purpose_or_an_unknown_one_is_refused(app: Flask, as_user) -> None:
    client = as_user("secretary")
    for data in ({"case_number": CASE}, {"purpose": "everything", "case_number": CASE}):
        resp = client.post("/forms/handover", data=data)
        assert resp.status_code == 422
        assert "Välj vad överlämningen gäller" in field_error(page(resp), "purpose")


def test_the_rule_refuses_a_personnummer_in_the_subject_and_a_foreign_purpose(app: Flask) -> None:
    with app.app_context():
        secretary = db.session.scalar(select(User).where(User.username == "secretary"))
        codes = {(v.code, v.field) for v in check_handover(
            {"purpose": "assignment_received", "case_number": PNR}, secretary, r"\d{7}")}
    assert ("R-PNR-SUBJECT", "case_number") in codes
    assert ("R-HANDOVER-SENDER", "purpose") in codes


# --- the PDF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "recipient", "subject", "text"), EXPECTED)
def test_the_pdf_names_the_recipient_and_the_case_number_only(
        app: Flask, sender, purpose: str, recipient: str, subject: str, text: str) -> None:
    resp = sender(purpose).post("/forms/handover",
                                data={"purpose": purpose, "case_number": CASE, "as_pdf": "1"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    assert (resp.headers["Content-Disposition"]
            == f'attachment; filename="overlamning-i-treserva-{today().isoformat()}.pdf"')
    printed = pdf_text(resp.data)
    assert recipient in printed and CASE in printed and subject in printed
    assert str(PdfReader(io.BytesIO(resp.data)).metadata.title) == f"Överlämning ärende {CASE}"
    printed = " ".join(printed.split()).replace(app.config["DISTRIBUTION_LISTS"]["lvs"], "")
    for word in location_words(app):
        assert not re.search(rf"\b{word}\b", printed), word


def test_the_result_page_reposts_the_same_fields_for_the_pdf(app: Flask, as_user) -> None:
    text = page(as_user("secretary").post(
        "/forms/handover", data={"purpose": "assignment_updated", "case_number": CASE}))
    assert 'name="as_pdf"' in text
    assert 'name="purpose" value="assignment_updated"' in text
    assert f'name="case_number" value="{CASE}"' in text


# --- who may: deny by default --------------------------------------------------------------------


@pytest.mark.parametrize("username", ["staff", "manager", "other_manager", "planner", "lvs",
                                      "admin", "fee"])
def test_a_role_that_sends_no_hand_over_gets_403_and_it_is_audited(
        app: Flask, as_user, username: str) -> None:
    client = as_user(username)
    before = last_audit_id(app)
    assert client.get("/forms/handover").status_code == 403
    assert client.post("/forms/handover",
                       data={"purpose": "assignment", "case_number": CASE}).status_code == 403
    denied = [r for r in audit_rows(app, before) if r.outcome == "denied"]
    assert len(denied) == 2 and all("handover" in (r.detail or "") for r in denied)
    assert "/forms/handover" not in page(client.get("/"))


def test_a_social_secretary_outside_myndighet_or_bosam_gets_403(app: Flask, user_in) -> None:
    client = user_in("tjss", "Trygghetsjouren", "trygghetsjouren", ["social_secretary"])
    assert client.get("/forms/handover").status_code == 403


def test_the_start_page_links_it_for_those_who_send_one(app: Flask, as_user) -> None:
    assert "/forms/handover" in page(as_user("secretary").get("/"))
    assert "/forms/handover" in page(as_user("hemtjanst_manager").get("/"))


# --- nothing stored, the fact audited ------------------------------------------------------------


def test_nothing_is_stored_only_the_fact_is_audited(app: Flask, as_user) -> None:
    before_subs, before_audit = count(app, Submission), last_audit_id(app)
    client = as_user("secretary")
    data = {"purpose": "assignment", "case_number": CASE}
    assert client.post("/forms/handover", data=data).status_code == 200
    assert client.post("/forms/handover", data={**data, "as_pdf": "1"}).status_code == 200
    assert count(app, Submission) == before_subs
    rows = [r for r in audit_rows(app, before_audit) if r.action != "login"]
    assert [(r.action, r.object_type, r.case_number, r.username) for r in rows] == [
        ("message_rendered", "handover", CASE, "secretary"),
        ("pdf_rendered", "handover", CASE, "secretary")]


def test_a_refused_post_stores_nothing(app: Flask, as_user) -> None:
    before_subs, before_audit = count(app, Submission), last_audit_id(app)
    as_user("secretary").post("/forms/handover", data={"purpose": "assignment", "case_number": PNR})
    assert count(app, Submission) == before_subs
    assert all(PNR not in str(r.case_number) and "1212" not in (r.detail or "")
               for r in audit_rows(app, before_audit))


def test_it_is_a_render_only_form_without_blank(app: Flask) -> None:
    kind = FORMS["handover"]
    assert isinstance(kind, RenderOnlyForm) and kind.storage == "none" and not kind.has_blank
    assert {p.code for p in PURPOSES} == set(app.config["HANDOVER_RECIPIENTS"])


def test_check_context_user_decides_not_the_post(app: Flask) -> None:
    """The rule is handed the user (CheckContext); nothing posted says who sends."""
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.username == "hemtjanst_manager"))
        ctx = CheckContext(user=manager, today=date.today(), config=app.config)
        assert FORMS["handover"].check({"purpose": "assignment_received", "case_number": CASE},
                                       ctx) == []
