"""Tickets to Intraservice (SPEC §3.6): SAMSA removal (routine §3.6) and Trygghetsjouren's access
for named staff (§9.2). Render only, the case number only; nothing stored, only the fact audited."""

from __future__ import annotations

import io
import re
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
from portal.models import AuditEvent, Submission, Unit, User, UserRole

CASE = "0655588"
PNR = "19121212-1212"
INTRASERVICE = "Intraservice support (support.intraservice@intraservice.goteborg.se)"


# --- helpers -------------------------------------------------------------------------------------


def page(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def offered(text: str) -> set[str]:
    return set(re.findall(r'type="radio" value="([^"]+)"', text)) | set(
        re.findall(r'value="([^"]+)" type="radio"', text))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def last_audit_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def audit_rows(app: Flask, after_id: int) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > after_id)
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


@pytest.fixture
def tj(app: Flask, password_hash: str):  # type: ignore[no-untyped-def]
    """tj("lvs") -> a logged-in client of a user with that role at Trygghetsjouren."""

    def make(role: str) -> FlaskClient:
        username = f"tj_{role}"
        with app.app_context():
            unit = db.session.scalar(select(Unit).where(Unit.name == "Trygghetsjouren"))
            if unit is None:
                unit = Unit(name="Trygghetsjouren", unit_type="trygghetsjouren",
                            city_district="Centrum")
                db.session.add(unit)
                db.session.flush()
            db.session.add(User(username=username, full_name="Tina Trygg",
                                email=f"{username}@goteborg.se", unit_id=unit.id,
                                password_hash=password_hash, role_rows=[UserRole(role=role)]))
            db.session.commit()
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 303
        return client

    return make


def access_form(*people: tuple[str, str], **extra: str) -> dict[str, str]:
    data = {"purpose": "tj_access", "case_number": CASE}
    for i, (name, username) in enumerate(people):
        data[f"persons-{i}-full_name"] = name
        data[f"persons-{i}-username"] = username
    data.update(extra)
    return data


STAFF = [("Jonas Jourledare", "jonjo01"), ("Li Larmoperatör", "lilar02")]


# --- SAMSA removal (§3.6) ------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["secretary", "lvs"])
def test_samsa_ticket_says_samsa_and_borttag_av_personuppgifter_with_the_case_number_only(
        app: Flask, as_user, username: str) -> None:
    client = as_user(username)
    get = client.get("/forms/intraservice")
    assert get.status_code == 200 and offered(page(get)) == {"samsa_removal"}
    assert 'name="persons-0-username"' not in page(get)  # no staff rows for SAMSA
    resp = client.post("/forms/intraservice", data={"purpose": "samsa_removal",
                                                    "case_number": CASE})
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == f"Till: {INTRASERVICE}"
    assert lines[1] == f"Ämne: SAMSA – borttag av personuppgifter, ärende {CASE}"
    body = "\n".join(lines[3:])
    assert "folkbokföringsadress" in body and "spärra samtycken" in body and "(rutinen §3.6)" in body
    assert "Myndighet" not in body and "Centrum" not in body  # no unit, no district


def test_samsa_ignores_staff_rows_and_anything_else_posted(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/intraservice", data={
        **access_form(*STAFF), "purpose": "samsa_removal", "full_name": "Karin Ekström",
        "address": "Storgatan 1"})
    assert resp.status_code == 200
    text = "\n".join(message_lines(resp))
    for word in ("Karin", "Storgatan", "Jonas", "jonjo01"):
        assert word not in text


def test_samsa_pdf(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/intraservice", data={
        "purpose": "samsa_removal", "case_number": CASE, "as_pdf": "1"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert (resp.headers["Content-Disposition"]
            == f'attachment; filename="arende-till-intraservice-{today().isoformat()}.pdf"')
    printed = pdf_text(resp.data)
    assert CASE in printed and "SAMSA – borttag av personuppgifter" in printed
    assert "support.intraservice@intraservice.goteborg.se" in printed
    assert str(PdfReader(io.BytesIO(resp.data)).metadata.title) == \
        f"Ärende till Intraservice ärende {CASE}"


# --- Trygghetsjouren's access for named staff (§9.2) ----------------------------------------------


@pytest.mark.parametrize("role", ["lvs", "unit_manager"])
def test_trygghetsjouren_orders_access_for_named_staff(app: Flask, tj, role: str) -> None:
    client = tj(role)
    get = client.get("/forms/intraservice")
    assert get.status_code == 200 and offered(page(get)) == {"tj_access", "tj_access_removal"}
    resp = client.post("/forms/intraservice", data=access_form(*STAFF))
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == f"Till: {INTRASERVICE}"
    assert lines[1] == f"Ämne: Behörighet Treserva för Trygghetsjouren, ärende {CASE}"
    body = "\n".join(lines)
    assert "- Jonas Jourledare (användarnamn jonjo01)" in body
    assert "- Li Larmoperatör (användarnamn lilar02)" in body
    assert "(rutinen §9.2)" in body and "Motivering" not in body
    pdf = client.post("/forms/intraservice", data={**access_form(*STAFF), "as_pdf": "1"})
    assert pdf.mimetype == "application/pdf"
    printed = pdf_text(pdf.data)
    assert all(part in printed for part in ("Jonas Jourledare", "jonjo01", "lilar02", CASE))


def test_a_staff_row_without_name_or_username_is_refused_at_its_field(app: Flask, tj) -> None:
    client = tj("lvs")
    resp = client.post("/forms/intraservice", data=access_form(("Jonas Jourledare", ""),
                                                               ("", "lilar02")))
    assert resp.status_code == 422
    text = page(resp)
    assert "användarnamn" in field_error(text, "persons-0-username")
    assert "namn" in field_error(text, "persons-1-full_name")
    assert 'value="Jonas Jourledare"' in text and 'value="lilar02"' in text  # input kept


def test_no_staff_at_all_is_refused(app: Flask, tj) -> None:
    resp = tj("lvs").post("/forms/intraservice", data=access_form())
    assert resp.status_code == 422
    assert "minst en person" in field_error(page(resp), "persons-0-full_name")


def test_a_bad_or_repeated_username_is_refused(app: Flask, tj) -> None:
    resp = tj("lvs").post("/forms/intraservice", data=access_form(
        ("Jonas Jourledare", "jönjo"), ("Li Larmoperatör", "lilar02"), ("Li Igen", "LILAR02")))
    assert resp.status_code == 422
    text = page(resp)
    assert "a–z" in field_error(text, "persons-0-username")
    assert "två rader" in field_error(text, "persons-2-username")


def test_a_personnummer_in_a_staff_row_is_refused_by_the_machine(app: Flask, tj) -> None:
    resp = tj("lvs").post("/forms/intraservice", data=access_form((f"Jonas {PNR}", "jonjo01")))
    assert resp.status_code == 422
    assert "personnummer" in field_error(page(resp), "persons-0-full_name")
    assert 'id="message-text"' not in page(resp)


def test_more_people_than_the_limit_need_a_justification(app: Flask, tj) -> None:
    client = tj("lvs")
    four = [*STAFF, ("Karl Kväll", "karkv03"), ("Nina Natt", "ninna04")]
    assert app.config["PERSON_LIMITS"]["trygghetsjouren"] == 3
    refused = client.post("/forms/intraservice", data=access_form(*four, justification="kort"))
    assert refused.status_code == 422
    assert "motivering" in field_error(page(refused), "justification")
    assert re.search(r">\s*kort</textarea>", page(refused))  # input kept
    why = "Nattpersonal behöver täcka frånvaro under semestern."
    resp = client.post("/forms/intraservice", data=access_form(*four, justification=why))
    assert resp.status_code == 200, page(resp)
    assert f"Motivering till fler personer än gränsen: {why}" in "\n".join(message_lines(resp))
    three = client.post("/forms/intraservice", data=access_form(*four[:3]))
    assert three.status_code == 200


def test_a_row_can_be_added_without_javascript(app: Flask, tj) -> None:
    resp = tj("lvs").post("/forms/intraservice", data={**access_form(STAFF[0]),
                                                       "add_person": "1"})
    assert resp.status_code == 200
    assert 'name="persons-1-username"' in page(resp) and 'value="jonjo01"' in page(resp)
    assert 'id="message-text"' not in page(resp)


def test_a_ticket_the_user_does_not_send_is_refused_at_its_field(app: Flask, as_user,
                                                                  tj) -> None:
    resp = as_user("secretary").post("/forms/intraservice", data=access_form(*STAFF))
    assert resp.status_code == 422
    assert "§9.2" in field_error(page(resp), "purpose")
    assert f'value="{CASE}"' in page(resp)
    samsa = tj("lvs").post("/forms/intraservice", data={"purpose": "samsa_removal",
                                                        "case_number": CASE})
    assert samsa.status_code == 422 and "§3.6" in field_error(page(samsa), "purpose")


def test_a_personnummer_as_case_number_is_refused_and_kept(app: Flask, as_user) -> None:
    resp = as_user("lvs").post("/forms/intraservice", data={"purpose": "samsa_removal",
                                                            "case_number": PNR})
    assert resp.status_code == 422
    assert "personnummer" in field_error(page(resp), "case_number")
    assert f'value="{PNR}"' in page(resp)


# --- who may, and nothing stored -----------------------------------------------------------------


@pytest.mark.parametrize("username", ["staff", "manager", "hemtjanst_manager", "planner",
                                      "other_manager", "admin", "fee"])
def test_a_role_that_sends_no_ticket_gets_403_and_it_is_audited(
        app: Flask, as_user, username: str) -> None:
    client = as_user(username)
    before = last_audit_id(app)
    assert client.get("/forms/intraservice").status_code == 403
    assert client.post("/forms/intraservice", data={"purpose": "samsa_removal",
                                                    "case_number": CASE}).status_code == 403
    denied = [r for r in audit_rows(app, before) if r.outcome == "denied"]
    assert len(denied) == 2 and all("intraservice" in (r.detail or "") for r in denied)


def test_staff_at_trygghetsjouren_get_403(app: Flask, tj) -> None:
    assert tj("staff").get("/forms/intraservice").status_code == 403


def test_nothing_is_stored_only_the_fact_is_audited(app: Flask, tj) -> None:
    before_subs, before_audit = count(app, Submission), last_audit_id(app)
    client = tj("lvs")
    assert client.post("/forms/intraservice", data=access_form(*STAFF)).status_code == 200
    assert client.post("/forms/intraservice",
                       data={**access_form(*STAFF), "as_pdf": "1"}).status_code == 200
    assert count(app, Submission) == before_subs
    rows = [r for r in audit_rows(app, before_audit) if r.action != "login"]
    assert [(r.action, r.object_type, r.case_number) for r in rows] == [
        ("message_rendered", "intraservice", CASE), ("pdf_rendered", "intraservice", CASE)]
    for row in rows:  # who was given access is in the ticket, not in the log
        assert "jonjo01" not in (row.detail or "") and "Jonas" not in (row.detail or "")


def test_it_is_a_render_only_form_without_blank(app: Flask) -> None:
    kind = FORMS["intraservice"]
    assert isinstance(kind, RenderOnlyForm) and kind.storage == "none" and not kind.has_blank
    with app.app_context():
        lvs = db.session.scalar(select(User).where(User.username == "lvs"))
        assert kind.may_submit(lvs)


# --- Trygghetsjouren's access removed the way it came (§9.2) ------------------------------------


def test_trygghetsjouren_removes_its_staffs_access_by_a_ticket(app: Flask, tj) -> None:
    """A closing or someone who leaves never sends Trygghetsjouren's grants to the LVS list
    (cases.by_intraservice): LVS at Trygghetsjouren removes them by an Intraservice ticket. No
    person limit applies to a removal, and nothing is stored."""
    client = tj("lvs")
    before, since = count(app, Submission), last_audit_id(app)
    people = STAFF + [("Mia Mottagare", "miamo03"), ("Nils Natt", "nilna04")]
    resp = client.post("/forms/intraservice",
                       data=access_form(*people, purpose="tj_access_removal"))
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == f"Till: {INTRASERVICE}"
    assert lines[1] == f"Ämne: Borttag av behörighet Treserva för Trygghetsjouren, ärende {CASE}"
    body = "\n".join(lines[3:])
    assert "ska inte längre ha tillgång" in body and "Ta bort behörigheten" in body
    assert "Tilldela" not in body
    for name, username in people:
        assert f"- {name} (användarnamn {username})" in body
    assert count(app, Submission) == before
    assert [e.action for e in audit_rows(app, since)] == ["message_rendered"]
    pdf = client.post("/forms/intraservice",
                      data=access_form(*STAFF, purpose="tj_access_removal", as_pdf="1"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Borttag av behörighet" in pdf_text(pdf.data)


def test_a_removal_ticket_needs_its_people_and_is_trygghetsjourens_own(
        app: Flask, tj, as_user) -> None:
    resp = tj("lvs").post("/forms/intraservice", data=access_form(purpose="tj_access_removal"))
    assert resp.status_code == 422
    assert "Trygghetsjouren" in field_error(page(resp), "persons-0-full_name")
    resp = as_user("lvs").post("/forms/intraservice",
                               data=access_form(*STAFF, purpose="tj_access_removal"))
    assert resp.status_code == 422
    assert "§9.2" in field_error(page(resp), "purpose")
