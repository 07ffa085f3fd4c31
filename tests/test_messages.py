"""The further messages of the routine (SPEC §3.6), render only: the fee handler when home care
starts, changes or ends (§5.9, §5.13), BoSam to the fee handler on a private-residence contract
(§6.1), Trygghetsjouren with the case number only (§8.5, §9.2); and the removal order at case
closure, filled from the access register (§5.13, §7.7, §8.10). Nothing of a message is stored: only
an audit event."""
from __future__ import annotations

import html as html_lib
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from conftest import BOSAM, PASSWORD, RESIDENCE, add_user, count, login, order_form
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS, RenderOnlyForm
from portal.forms.messages import check_fee_handler, check_trygghetsjouren
from portal.models import AuditEvent, Grant, Submission, Unit, User

CASE = "0655588"
PNR = "19121212-1212"
CLIENT = "Karin Ekström"
ADDRESS = "Skatteverket, förmedlingsuppdrag\nBox 2820\n403 20 Göteborg"


# --- helpers ---------------------------------------------------------------------------------


def page(resp: Any) -> str:
    return resp.get_data(as_text=True)


def message_lines(resp: Any) -> list[str]:
    """The message as the copy box shows it: Till, Ämne, a blank line, the body (SPEC §6)."""
    match = re.search(r'<pre id="message-text"[^>]*>(.*?)</pre>', page(resp), re.S)
    assert match, page(resp)
    return html_lib.unescape(match.group(1)).split("\n")


def field_error(text: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error">(.*?)</p>', text, re.S)
    assert match, f"no error at {field_id}"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def audit_rows(app: Flask, after_id: int = 0) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > after_id)
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def last_audit_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def audit_text(row: AuditEvent) -> str:
    return " ".join(str(getattr(row, c)) for c in ("username", "action", "object_type",
                                                    "object_id", "case_number", "detail",
                                                    "outcome", "remote_addr"))


def fee_form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "kind": "start",
        "case_number": CASE,
        "full_name": CLIENT,
        "postal_address": ADDRESS,
        "start_date": "2026-05-04",
        "safety_alarm": "y",
        "granted_time": "20 timmar per månad",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def contract_form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "case_number": CASE,
        "full_name": CLIENT,
        "postal_address": ADDRESS,
        "residence": "Vigårda privata äldreboende",
        "move_in_date": "2026-06-01",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def bosam(app: Flask, password_hash: str) -> FlaskClient:
    """A boendesekreterare on BoSam (role social_secretary in a bosam unit, §6.1), logged in."""
    add_user(app, password_hash, "bosam", "Britt Boendesekreterare", "social_secretary", BOSAM)
    client = app.test_client()
    assert login(client, "bosam", PASSWORD).status_code == 303
    return client


# --- to the fee handler when home care starts or changes (§5.9) --------------------------------


def test_fee_handler_message_when_home_care_starts(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler", data=fee_form())
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == "Till: Avgiftshandläggare"
    assert lines[1] == f"Ämne: Avgiftsunderlag hemtjänst ärende {CASE}, start"
    assert lines[2] == ""
    body = "\n".join(lines[3:])
    for expected in (f"Vem ärendet gäller: {CLIENT}",
                     "Adress dit post (fakturor/inkomstförfrågan) ska skickas:\n" + ADDRESS,
                     "Insats: hemtjänst",
                     "Startdatum för hemtjänstinsatsen: 2026-05-04",
                     "Trygghetslarm: ja",
                     "Matleverans: nej",
                     "Beviljad tid: 20 timmar per månad",
                     "Avsändare: Sara Socialsekreterare, Myndighet Centrum"):
        assert expected in body
    assert "Förändrad tid" not in body


def test_fee_handler_message_when_the_time_changes(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler", data=fee_form(
        kind="change", start_date=None, granted_time=None, safety_alarm=None, food_delivery="y",
        change_date="2026-07-01", changed_time="30 timmar per månad"))
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[1] == f"Ämne: Avgiftsunderlag hemtjänst ärende {CASE}, ändrad tid"
    body = "\n".join(lines[3:])
    assert "Förändrad tid: 30 timmar per månad, från och med 2026-07-01" in body
    assert "Trygghetslarm: nej" in body and "Matleverans: ja" in body


def test_fee_handler_message_when_the_service_ends(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler", data=fee_form(
        kind="end", start_date=None, granted_time=None, end_date="2026-09-30"))
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[1] == f"Ämne: Avgiftsunderlag hemtjänst ärende {CASE}, avslut"
    assert "Insatsen avslutas: 2026-09-30" in lines


def test_the_name_and_address_are_in_the_body_never_in_the_subject(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler", data=fee_form())
    lines = message_lines(resp)
    subject = lines[1]
    for part in [CLIENT, *CLIENT.split(), "Box 2820", "Göteborg"]:
        assert part not in subject
    assert CLIENT in "\n".join(lines[3:])


def test_personnummer_as_case_number_is_refused_and_nothing_is_kept(app: Flask, as_user) -> None:
    before_subs, before_audit = count(app, Submission), last_audit_id(app)
    resp = as_user("secretary").post("/forms/fee-handler", data=fee_form(case_number=PNR))
    assert resp.status_code == 422
    text = page(resp)
    assert "personnummer" in field_error(text, "case_number")
    assert f'value="{CLIENT}"' in text  # all input kept
    assert "message-text" not in text
    assert count(app, Submission) == before_subs
    assert not [r for r in audit_rows(app, before_audit) if r.action == "message_rendered"]


def test_personnummer_in_the_address_is_refused(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler",
                                     data=fee_form(postal_address=f"{PNR}\nBox 2820"))
    assert resp.status_code == 422
    assert "personnummer" in field_error(page(resp), "postal_address")


def test_start_without_date_and_granted_time_is_refused_at_both_fields(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler",
                                     data=fee_form(start_date=None, granted_time=None))
    assert resp.status_code == 422
    text = page(resp)
    assert "startdatum" in field_error(text, "start_date").lower()
    assert "beviljad tid" in field_error(text, "granted_time").lower()


def test_the_client_name_in_a_subject_is_refused_by_the_rule() -> None:
    """check_subject is run with the client's name: a case number can never carry it, but the rule
    is there for the subject as a whole (R-PNR-SUBJECT, §5.9)."""
    data = {"kind": "start", "case_number": CASE, "full_name": "start", "postal_address": "Box 1",
            "start_date": "2026-05-04", "granted_time": "10 h", "changed_time": "",
            "change_date": None, "end_date": None}
    codes = {(v.code, v.field) for v in check_fee_handler(data, r"\d{7}")}
    assert ("R-PNR-SUBJECT", "case_number") in codes


def test_nothing_is_stored_only_an_audit_event_without_content(app: Flask, as_user) -> None:
    before_subs, before_audit = count(app, Submission), last_audit_id(app)
    client = as_user("secretary")
    assert client.post("/forms/fee-handler", data=fee_form()).status_code == 200
    pdf = client.post("/forms/fee-handler", data={**fee_form(), "as_pdf": "1"})
    assert pdf.status_code == 200
    assert count(app, Submission) == before_subs
    rows = [r for r in audit_rows(app, before_audit) if r.action != "login"]
    assert [(r.action, r.object_type, r.case_number) for r in rows] == [
        ("message_rendered", "fee_handler", CASE), ("pdf_rendered", "fee_handler", CASE)]
    for row in rows:
        text = audit_text(row)
        for part in [*CLIENT.split(), "Box", "2820", "Skatteverket", "20 timmar"]:
            assert part not in text


def test_the_pdf_is_a_pdf_marked_protected_without_the_name_in_title_or_file_name(
        app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/fee-handler", data={**fee_form(), "as_pdf": "1"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    disposition = resp.headers["Content-Disposition"]
    assert "Ekstr" not in disposition and CASE not in disposition
    reader = PdfReader(io.BytesIO(resp.data))
    assert "Ekstr" not in str(reader.metadata.title)
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "SKYDDADE PERSONUPPGIFTER" in text
    assert CLIENT in text and CASE in text and "20 timmar per månad" in text


def test_the_result_page_reposts_the_same_fields_for_the_pdf(app: Flask, as_user) -> None:
    text = page(as_user("secretary").post("/forms/fee-handler", data=fee_form()))
    assert 'name="as_pdf"' in text
    for name, value in (("kind", "start"), ("case_number", CASE), ("start_date", "2026-05-04"),
                        ("safety_alarm", "y"), ("granted_time", "20 timmar per månad")):
        assert f'name="{name}" value="{value}"' in text
    assert 'name="food_delivery"' not in text  # an unticked box is not sent


@pytest.mark.parametrize("username", ["manager", "staff", "lvs", "admin"])
def test_only_a_social_secretary_writes_to_the_fee_handler_about_home_care(
        app: Flask, as_user, username: str) -> None:
    client = as_user(username)
    assert client.get("/forms/fee-handler").status_code == 403
    assert client.post("/forms/fee-handler", data=fee_form()).status_code == 403


# --- from BoSam to the fee handler: private-residence contract (§6.1) --------------------------


def test_bosam_tells_the_fee_handler_about_a_private_residence_contract(
        app: Flask, bosam: FlaskClient) -> None:
    before_subs = count(app, Submission)
    resp = bosam.post("/forms/fee-handler-contract", data=contract_form())
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == "Till: Avgiftshandläggare"
    assert lines[1] == f"Ämne: Hyreskontrakt privat boende upprättat, ärende {CASE}"
    body = "\n".join(lines[3:])
    for expected in (f"Hyreskontrakt för privat boende är upprättat, ärende {CASE}.",
                     f"Vem ärendet gäller: {CLIENT}",
                     "Adress dit den enskildes post ska skickas:\n" + ADDRESS,
                     "Privat boende: Vigårda privata äldreboende",
                     "Inflyttningsdatum: 2026-06-01",
                     "Avsändare: Britt Boendesekreterare, BoSam"):
        assert expected in body
    assert CLIENT not in lines[1]
    assert count(app, Submission) == before_subs


def test_contract_pdf(app: Flask, bosam: FlaskClient) -> None:
    resp = bosam.post("/forms/fee-handler-contract", data={**contract_form(), "as_pdf": "1"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "Vigårda privata äldreboende" in text and "SKYDDADE PERSONUPPGIFTER" in text


def test_contract_with_personnummer_as_case_number_is_refused(app: Flask,
                                                              bosam: FlaskClient) -> None:
    resp = bosam.post("/forms/fee-handler-contract", data=contract_form(case_number="191212121212"))
    assert resp.status_code == 422
    assert "personnummer" in field_error(page(resp), "case_number")


def test_contract_message_is_refused_outside_bosam(app: Flask, as_user) -> None:
    """§6.1 is BoSam's; a municipal residence tells the fee handler itself (§7.2)."""
    client = as_user("secretary")
    assert client.get("/forms/fee-handler-contract").status_code == 403
    resp = client.post("/forms/fee-handler-contract", data=contract_form())
    assert resp.status_code == 403
    assert "message-text" not in page(resp)


def test_contract_link_only_on_the_start_page_of_bosam(app: Flask, as_user,
                                                       bosam: FlaskClient) -> None:
    assert "/forms/fee-handler-contract" in page(bosam.get("/"))
    assert "/forms/fee-handler-contract" not in page(as_user("secretary").get("/"))


@pytest.mark.parametrize("username", ["staff", "lvs", "admin"])
def test_contract_message_wrong_role_is_403(app: Flask, as_user, username: str) -> None:
    assert as_user(username).get("/forms/fee-handler-contract").status_code == 403


# --- to Trygghetsjouren: case number only (§8.5, §9.2) -----------------------------------------


def test_social_secretary_tells_trygghetsjouren_the_assignment_is_sent(app: Flask, as_user) -> None:
    client = as_user("secretary")
    get = client.get("/forms/trygghetsjouren")
    assert get.status_code == 200
    assert 'name="city_district"' not in page(get)  # no district to choose (§8.5, §1.1)
    resp = client.post("/forms/trygghetsjouren", data={
        "purpose": "assignment_sent", "case_number": CASE})
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == "Till: Trygghetsjouren uppdragsmottagare"
    assert lines[1] == f"Ämne: Uppdrag trygghetslarm skickat, ärende {CASE}"
    assert lines[3] == f"Ärende {CASE}."
    body = "\n".join(lines[3:])
    assert "beställa behörighet" in body and "(§9.2)" in body
    assert "Avsändare: Sara Socialsekreterare" in body


def test_home_care_planner_tells_trygghetsjouren_keys_are_collected(app: Flask, as_user) -> None:
    resp = as_user("hemtjanst_manager").post("/forms/trygghetsjouren", data={
        "purpose": "keys_collected", "case_number": CASE})
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[1] == f"Ämne: Nycklar hämtade, ärende {CASE}"
    assert "Nycklarna är hämtade." in "\n".join(lines)


def test_trygghetsjouren_message_has_only_the_case_number(app: Flask, as_user) -> None:
    """No free text at all: whatever else is posted never reaches the message (§8.5)."""
    resp = as_user("secretary").post("/forms/trygghetsjouren", data={
        "purpose": "alarm_returned", "case_number": CASE,
        "full_name": CLIENT, "text": "Karin bor på Storgatan 1"})
    assert resp.status_code == 200
    text = "\n".join(message_lines(resp))
    assert "Karin" not in text and "Storgatan" not in text
    assert "Trygghetslarmet är återlämnat och ska avslutas." in text
    assert not re.search(r"\d{10}", text)


def test_trygghetsjouren_refuses_a_personnummer_as_case_number(app: Flask, as_user) -> None:
    before_subs = count(app, Submission)
    resp = as_user("secretary").post("/forms/trygghetsjouren", data={
        "purpose": "assignment_sent", "case_number": "121212-1212"})
    assert resp.status_code == 422
    assert "personnummer" in field_error(page(resp), "case_number")
    assert count(app, Submission) == before_subs
    assert [v.code for v in check_trygghetsjouren(
        {"purpose": "assignment_sent", "case_number": PNR},
        r"\d{7}")][0] == "R-PNR-SUBJECT"


def test_trygghetsjouren_pdf(app: Flask, as_user) -> None:
    resp = as_user("secretary").post("/forms/trygghetsjouren", data={
        "purpose": "assignment_sent", "case_number": CASE, "as_pdf": "1"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert CASE in text and "SKYDDADE PERSONUPPGIFTER" not in text


def _location_words(app: Flask) -> list[str]:
    """Every city district and every word of every unit's name: indirect location data (§1.1)."""
    with app.app_context():
        units = list(db.session.scalars(select(Unit)))
        words = {w for u in units for w in u.name.split() if len(w) > 3}
        words |= {u.city_district for u in units}
        words |= set(app.config["CITY_DISTRICTS"])
    return sorted(words)


@pytest.mark.parametrize(("username", "purpose"), [
    ("secretary", "assignment_sent"), ("hemtjanst_manager", "keys_collected"),
    ("hemtjanst_manager", "alarm_returned")])
def test_trygghetsjouren_gets_no_district_or_unit_in_subject_message_or_pdf(
        app: Flask, as_user, username: str, purpose: str) -> None:
    """Issue 13 (§8.5, §9.2, SPEC §3.6): the case number only. The subject, the message and the
    PDF once carried the sender's city district (indirect location data, §1.1); a posted
    `city_district` is ignored now, and neither the district nor the unit's name is printed."""
    client = as_user(username)
    posted = {"purpose": purpose, "case_number": CASE, "city_district": "Hisingen"}
    resp = client.post("/forms/trygghetsjouren", data=posted)
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[1].startswith("Ämne: ") and lines[1].endswith(f", ärende {CASE}")
    pdf = client.post("/forms/trygghetsjouren", data={**posted, "as_pdf": "1"})
    assert pdf.mimetype == "application/pdf"
    printed = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert CASE in printed and "Trygghetsjouren uppdragsmottagare" in printed
    for word in _location_words(app):  # whole words: "Hugo Hemtjänstchef" is a staff name
        assert not re.search(rf"\b{word}\b", "\n".join(lines)), word
        assert not re.search(rf"\b{word}\b", printed), word
    assert "Stadsområde" not in printed and "Enhet" not in printed


@pytest.mark.parametrize("username", ["staff", "lvs", "admin"])
def test_trygghetsjouren_wrong_role_is_403(app: Flask, as_user, username: str) -> None:
    client = as_user(username)
    assert client.get("/forms/trygghetsjouren").status_code == 403
    assert client.post("/forms/trygghetsjouren", data={
        "purpose": "assignment_sent", "case_number": CASE}).status_code == 403


def test_render_only_forms_have_no_blank_and_no_queue(app: Flask) -> None:
    for slug in ("fee-handler", "fee-handler-contract", "trygghetsjouren"):
        kind = FORMS[slug]
        assert isinstance(kind, RenderOnlyForm) and kind.storage == "none" and not kind.has_blank


# --- removal order at case closure, from the register (§5.13, §7.7, §8.10) ---------------------


def browser_post(text: str) -> dict[str, str]:
    """What a browser would post from the access order page (inputs, selected options, textareas),
    without the buttons."""
    data: dict[str, str] = {}
    for m in re.finditer(r"<input ([^>]*)>", text):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m.group(1)))
        if "name" not in attrs or attrs.get("type") in ("submit", "button"):
            continue
        if attrs.get("type") == "checkbox" and "checked" not in m.group(1):
            continue
        data[attrs["name"]] = html_lib.unescape(attrs.get("value", ""))
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', text, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', m.group(2))
        if chosen:
            data[m.group(1)] = html_lib.unescape(chosen.group(1))
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', text, re.S):
        data[m.group(1)] = html_lib.unescape(m.group(2)).lstrip("\n")
    return data


def grant(app: Flask, username: str, unit: str, *, case: str = CASE, start: int = -10,
          end: int = 100, revoked: bool = False) -> None:
    """A row of the access register (as LVS would have made it), days relative to today."""
    day = today()
    with app.app_context():
        u = db.session.scalar(select(Unit).where(Unit.name == unit))
        lvs = db.session.scalar(select(User).where(User.username == "lvs"))
        order = Submission(form="access_order", unit_id=u.id, submitted_by_id=lvs.id,
                           case_number=case, status="done", data={})
        db.session.add(order)
        db.session.flush()
        db.session.add(Grant(
            case_number=case, username=username, full_name=f"{username.title()} Personal",
            email=f"{username}@goteborg.se", position="socialsekreterare", unit_id=u.id,
            unit_name=u.name, unit_type=u.unit_type, valid_from=day + timedelta(days=start),
            valid_to=day + timedelta(days=end), granted_by_id=lvs.id, order_id=order.id,
            revoked_at=(order.created_at if revoked else None)))
        db.session.commit()


def register_fixture(app: Flask) -> None:
    grant(app, "anna01", "Myndighet Centrum")
    grant(app, "bengt02", "Myndighet Centrum", start=5, end=200)  # starts later: goes too
    grant(app, "revoked03", "Myndighet Centrum", revoked=True)
    grant(app, "expired04", "Myndighet Centrum", start=-100, end=-1)
    grant(app, "other05", "Myndighet Nordost")  # another unit's grant on the same case
    grant(app, "case06", "Myndighet Centrum", case="0700001")  # another case


def load(client: FlaskClient, case: str = CASE) -> Any:
    data = {k: v for k, v in order_form(case_number=case).items() if not k.startswith("persons-")}
    data.update({"persons-0-action": "add", "persons-0-full_name": "Ska ersättas",
                 "persons-0-username": "replaced", "persons-0-email": "r@goteborg.se",
                 "load_grants": "1"})
    return client.post("/forms/access-order", data=data)


def test_load_grants_fills_remove_rows_from_the_active_grants_of_the_unit(
        app: Flask, as_user) -> None:
    register_fixture(app)
    resp = load(as_user("manager"))
    assert resp.status_code == 200
    posted = browser_post(page(resp))
    rows = {posted[f"persons-{i}-username"]: posted[f"persons-{i}-action"]
            for i in range(10) if f"persons-{i}-username" in posted}
    assert rows == {"anna01": "remove", "bengt02": "remove"}
    assert posted["persons-0-full_name"] == "Anna01 Personal"
    assert posted["persons-0-email"] == "anna01@goteborg.se"
    assert posted["case_number"] == CASE
    assert "unit_name" not in posted  # the orderer's own unit, not a field (issue 11, M1)
    assert count(app, Submission, Submission.form == "access_order",
                 Submission.status == "submitted") == 0  # loading stores nothing


def test_load_grants_without_active_grants_says_so_at_the_case_number(app: Flask, as_user) -> None:
    register_fixture(app)
    text = page(load(as_user("other_manager"), case="0700001"))
    assert field_error(text, "case_number") == (
        "Fel: Inga aktiva behörigheter för ärendet i din enhet.")


def test_load_grants_refuses_a_personnummer_as_case_number(app: Flask, as_user) -> None:
    text = page(load(as_user("manager"), case=PNR))
    assert "personnummer" in field_error(text, "case_number")


def test_removal_order_from_the_register_revokes_the_grants_when_lvs_is_done(
        app: Flask, as_user) -> None:
    register_fixture(app)
    manager, lvs = as_user("manager"), as_user("lvs")
    register = page(manager.get("/register"))
    assert "anna01" in register and "bengt02" in register
    posted = browser_post(page(load(manager)))
    resp = manager.post("/forms/access-order", data=posted)
    assert resp.status_code == 303, page(resp)
    public_id = resp.headers["Location"].rsplit("/", 1)[1]
    message = manager.get(f"/submissions/{public_id}/message").get_data(as_text=True)
    assert f"Ämne: Behörighetsbeställning ärende {CASE}, Centrum" in message
    assert "Ta bort: Anna01 Personal" in message and "Ta bort: Bengt02 Personal" in message
    done = lvs.post(f"/lvs/submissions/{public_id}/done", data={"reply": "", "version": "1"})
    assert done.status_code == 303
    register = page(manager.get("/register"))
    assert "anna01" not in register and "bengt02" not in register
    assert "case06" in register  # another case is untouched
    assert "other05" in page(as_user("other_manager").get("/register"))
    with app.app_context():
        active = db.session.scalars(select(Grant.username).where(
            Grant.case_number == CASE, Grant.revoked_at.is_(None))).all()
    assert sorted(active) == ["expired04", "other05"]  # expired stays expired; other unit stays


# --- from a municipal residence to the fee handler: contract and income (§7.2, §10) ------------


def municipal_form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "case_number": CASE,
        "full_name": CLIENT,
        "postal_address": ADDRESS,
        "move_in_date": "2026-06-01",
        "income": "Pension 14 200 kr/mån, bostadstillägg 3 100 kr/mån",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def residence(app: Flask, password_hash: str) -> FlaskClient:
    """The unit manager of a municipal vård- och omsorgsboende (unit type boende, §7.2)."""
    add_user(app, password_hash, "boende_chef", "Bodil Boendechef", "unit_manager", RESIDENCE)
    client = app.test_client()
    assert login(client, "boende_chef", PASSWORD).status_code == 303
    return client


def test_residence_tells_the_fee_handler_about_a_contract_with_income(
        app: Flask, residence: FlaskClient) -> None:
    before_subs, before_audit = count(app, Submission), count(app, AuditEvent)
    assert residence.get("/forms/fee-handler-contract-municipal").status_code == 200
    resp = residence.post("/forms/fee-handler-contract-municipal", data=municipal_form())
    assert resp.status_code == 200, page(resp)
    lines = message_lines(resp)
    assert lines[0] == "Till: Avgiftshandläggare"
    assert lines[1] == f"Ämne: Hyreskontrakt vård- och omsorgsboende upprättat, ärende {CASE}"
    body = "\n".join(lines[3:])
    for expected in (f"Hyreskontrakt på vård- och omsorgsboende är upprättat, ärende {CASE}.",
                     f"Vem ärendet gäller: {CLIENT}",
                     "Adress dit den enskildes post ska skickas:\n" + ADDRESS,
                     "Inflyttningsdatum: 2026-06-01",
                     "Hyresgästens inkomstuppgifter:\nPension 14 200 kr/mån",
                     "Avsändare: Bodil Boendechef, Vigårda vård- och omsorgsboende"):
        assert expected in body
    assert CLIENT not in lines[1] and "Pension" not in lines[1]
    assert count(app, Submission) == before_subs  # render only: nothing stored
    assert count(app, AuditEvent) == before_audit + 1


def test_municipal_contract_pdf(app: Flask, residence: FlaskClient) -> None:
    resp = residence.post("/forms/fee-handler-contract-municipal",
                          data={**municipal_form(), "as_pdf": "1"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert CLIENT not in resp.headers["Content-Disposition"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "inkomstuppgifter" in text and "SKYDDADE PERSONUPPGIFTER" in text


@pytest.mark.parametrize("field,value,needle", [
    ("income", "", "inkomstuppgifter"),
    ("move_in_date", "", "inflyttningsdatum"),
    ("income", "Pension, pnr 19121212-1212", "personnummer"),
    ("case_number", "191212121212", "personnummer"),
])
def test_municipal_contract_rules_at_their_field(app: Flask, residence: FlaskClient,
                                                 field: str, value: str, needle: str) -> None:
    resp = residence.post("/forms/fee-handler-contract-municipal",
                          data=municipal_form(**{field: value}))
    assert resp.status_code == 422
    assert needle in field_error(page(resp), field).lower()
    assert "Pension" in page(resp) or field == "income"  # input kept


def test_municipal_contract_only_from_a_residence_unit_manager(
        app: Flask, as_user, residence: FlaskClient, bosam: FlaskClient) -> None:
    """§7.2: the residence's unit manager; BoSam's contract is the private one (§6.1)."""
    assert "/forms/fee-handler-contract-municipal" in page(residence.get("/"))
    assert "/forms/fee-handler-contract" not in page(residence.get("/")).replace(
        "/forms/fee-handler-contract-municipal", "")
    for client in (bosam, as_user("manager"), as_user("hemtjanst_manager"),
                   as_user("secretary"), as_user("staff"), as_user("lvs")):
        assert client.get("/forms/fee-handler-contract-municipal").status_code == 403
        resp = client.post("/forms/fee-handler-contract-municipal", data=municipal_form())
        assert resp.status_code == 403
        assert "message-text" not in page(resp)
