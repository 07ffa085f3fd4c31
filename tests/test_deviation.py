"""Reservrapport för rapportering av avvikelser (routine §4.2, SPEC §3.4) the whole way: a member of
staff without access reports under the fictional name, the rules refuse a personnummer, a street
address or phone number (R-NOTE-ADDRESS) and a future date, the report is handed to one of the
unit's managers and planners and waits encrypted for them (flagged after 7 days), one of them
registers it in Treserva on the person and its content is purged, leaving a tombstone.

Issue 13 ("wrong today" 1): "ej person" is Treserva's category for staff without access, not "no
individual": the report keeps the fictional name, "no individual at all" is a separate choice, and
the manager is told to register it on the person."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import html, submit_form
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from pypdf import PdfReader
from sqlalchemy import select

from portal.clock import STOCKHOLM, today
from portal.extensions import db
from portal.models import AuditEvent, Submission

FICTIONAL = "Gunnel Gran"
DESCRIPTION = "Gunnel föll i badrummet vid morgonbesöket."
PNR = "19121212-1212"


def report(**overrides: Any) -> dict[str, str]:
    data = {
        "event_date": today().isoformat(),
        "event_time": "07:45",
        "unit": "Hemtjänst Hisingen",
        "fictional_name": FICTIONAL,
        "category": "fall",
        "description": DESCRIPTION,
        "immediate_action": "Hjälpte upp henne och ringde sjuksköterskan.",
        "handed_to": "Hugo Hemtjänstchef",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(client: FlaskClient, data: dict[str, str] | None = None) -> str:
    return submit_form(client, "/forms/deviation", data or report())


def load(app: Flask, public_id: str) -> Submission:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        db.session.expunge(sub)
        return sub


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


# --- the whole path ----------------------------------------------------------------------------


def test_staff_reports_and_a_manager_of_the_unit_registers_it_and_the_content_is_purged(
        app: Flask, as_user) -> None:
    staff = as_user("staff")
    assert staff.get("/forms/deviation").status_code == 200
    public_id = submit(staff)

    sub = load(app, public_id)
    assert sub.form == "deviation" and sub.status == "submitted"
    assert sub.data is None and sub.data_enc is not None and sub.data_key_id  # encrypted at rest
    assert DESCRIPTION.encode() not in sub.data_enc and FICTIONAL.encode() not in sub.data_enc

    manager = as_user("hemtjanst_manager")
    start = html(manager.get("/"))
    assert "Avvikelser att registrera i Treserva" in start and public_id in start

    page = html(manager.get(f"/submissions/{public_id}"))
    assert DESCRIPTION in page and FICTIONAL in page
    assert "Registrerad i Treserva" in page  # the processing button

    message = manager.get(f"/submissions/{public_id}/message")
    assert message.mimetype == "text/plain"
    lines = html(message).splitlines()
    assert lines[0] == "Till: Enhetschef och planerare för enheten"
    assert lines[1] == "Ämne: Avvikelse – reservrapport, Hemtjänst Hisingen"
    assert lines[2] == ""
    assert DESCRIPTION in html(message) and "Rapporterad av: Stina Medarbetare" in html(message)

    pdf = manager.get(f"/submissions/{public_id}/pdf")
    assert pdf.mimetype == "application/pdf"
    assert FICTIONAL not in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.data)
    assert "Reservrapport" in text and FICTIONAL in text

    resp = manager.post(f"/submissions/{public_id}/done",
                        data={"version": str(sub.version), "reply": ""})
    assert resp.status_code == 303
    sub = load(app, public_id)
    assert sub.status == "purged" and sub.purged_at is not None
    assert sub.data is None and sub.data_enc is None and sub.data_key_id is None and sub.reply is None
    assert sub.processed_by_id is not None and sub.processed_at is not None  # the tombstone

    # Gone from the start page; the pages say it is purged; the message and PDF are 410.
    assert public_id not in html(manager.get("/"))
    for client in (staff, manager):
        shown = html(client.get(f"/submissions/{public_id}"))
        assert "raderat" in shown and DESCRIPTION not in shown
    assert manager.get(f"/submissions/{public_id}/message").status_code == 410
    assert manager.get(f"/submissions/{public_id}/pdf").status_code == 410

    with app.app_context():
        actions = list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == public_id)))
        details = " ".join(d or "" for d in db.session.scalars(select(AuditEvent.detail)))
    assert "submission_created" in actions and "submission_processed" in actions
    assert FICTIONAL not in details and DESCRIPTION not in details


def test_the_reporter_sees_their_own_report_until_it_is_registered(app: Flask, as_user) -> None:
    staff = as_user("staff")
    public_id = submit(staff)
    page = html(staff.get(f"/submissions/{public_id}"))
    assert DESCRIPTION in page and FICTIONAL in page
    assert "Registrerad i Treserva" not in page  # the reporter cannot register it
    with app.app_context():  # the reporter's decrypting read is audited too
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "protected_content_read",
            AuditEvent.object_id == public_id)) is not None
    manager = as_user("hemtjanst_manager")
    manager.post(f"/submissions/{public_id}/done", data={"version": "1"})
    page = html(staff.get(f"/submissions/{public_id}"))
    assert DESCRIPTION not in page and "raderat" in page


def test_subject_line_never_holds_the_fictional_name(app: Flask, as_user) -> None:
    public_id = submit(as_user("staff"))
    text = html(as_user("hemtjanst_manager").get(f"/submissions/{public_id}/message"))
    subject = text.splitlines()[1]
    assert FICTIONAL not in subject and "Gunnel" not in subject


def test_reported_by_comes_from_the_login_not_from_the_form(app: Flask, as_user) -> None:
    public_id = submit(as_user("staff"), report(reported_by="Någon Annan"))
    data = as_user("hemtjanst_manager").get(f"/submissions/{public_id}.json").get_json()
    assert data["reported_by"] == "Stina Medarbetare"
    assert data["event_date"] == today().isoformat() and data["event_time"] == "07:45"
    assert data["event_at"] == f"{today().isoformat()} 07:45"
    assert data["category"] == "fall" and data["handed_to"] == "Hugo Hemtjänstchef"


def test_no_individual_needs_no_fictional_name_and_is_not_called_ej_person(
        app: Flask, as_user) -> None:
    public_id = submit(as_user("staff"), report(fictional_name="", no_individual="y"))
    manager = as_user("hemtjanst_manager")
    text = html(manager.get(f"/submissions/{public_id}/message"))
    assert "Gäller: Ingen enskild person" in text and "ingen enskild person" in text
    assert 'under "ej person"' not in text and "Gäller: Ej person" not in text
    data = manager.get(f"/submissions/{public_id}.json").get_json()
    assert data["no_individual"] is True and data["fictional_name"] == ""


def test_the_message_tells_to_register_it_on_the_person_from_the_fictional_name(
        app: Flask, as_user) -> None:
    """Issue 13: the message said to register it "under 'ej person'" when the reporter ticked what
    the form called "Ej person"; now the report names the person and the manager registers it on
    the person, "ej person" being only what the reporter could choose without access."""
    public_id = submit(as_user("staff"))
    manager = as_user("hemtjanst_manager")
    text = html(manager.get(f"/submissions/{public_id}/message"))
    body = " ".join(text.splitlines()[3:])
    assert "på personen" in body and "från det fiktiva namnet" in body and FICTIONAL in body
    assert "ej person" in body and 'under "ej person"' not in body
    assert f"Gäller: {FICTIONAL} (fiktivt namn)" in text
    page = " ".join(html(manager.get(f"/submissions/{public_id}")).split())
    assert "på personen" in page and "från det fiktiva namnet" in page
    pdf = " ".join(pdf_text(manager.get(f"/submissions/{public_id}/pdf").data).split())
    assert FICTIONAL in pdf and "på personen" in pdf and "fiktiva namnet" in pdf


def test_the_form_asks_for_no_individual_as_a_choice_of_its_own(app: Flask, as_user) -> None:
    page = html(as_user("staff").get("/forms/deviation"))
    assert 'name="no_individual"' in page and 'name="no_person"' not in page
    assert "Ej person –" not in page  # the old label that read "ej person" as "nobody"
    assert "ingen enskild person alls" in page and "”ej person”" in page


def test_a_fictional_name_and_no_individual_at_once_is_refused_not_the_name_dropped(
        app: Flask, as_user) -> None:
    """Issue 13: ticking the box dropped the name without a word, so a report about the person
    could never be registered on the person. Now the reporter chooses one, at the field."""
    resp = as_user("staff").post("/forms/deviation", data=report(no_individual="y"))
    assert resp.status_code == 422
    page = html(resp)
    assert _error_at(page, "no_individual") and FICTIONAL in page  # the name is kept
    with app.app_context():
        assert db.session.scalar(select(Submission)) is None


@pytest.mark.parametrize(("role", "handed_to"), [("hemtjanst_manager", "Petra Planerare"),
                                                 ("secretary", "Eva Enhetschef")])
def test_unit_managers_and_social_secretaries_may_file_too(
        app: Flask, as_user, role: str, handed_to: str) -> None:
    submit(as_user(role), report(handed_to=handed_to))


# --- handed to one of the unit's managers and planners ---------------------------------------


def test_handed_to_offers_the_managers_and_planners_of_the_reporters_unit(
        app: Flask, as_user) -> None:
    page = html(as_user("staff").get("/forms/deviation"))
    assert '<select' in page and 'name="handed_to"' in page
    assert '<option value="Hugo Hemtjänstchef">' in page
    assert '<option value="Petra Planerare">' in page
    for other in ("Eva Enhetschef", "Olle Annanchef", "Stina Medarbetare", "Lena LVS"):
        assert other not in page.split('name="handed_to"', 1)[1].split("</select>", 1)[0]


@pytest.mark.parametrize("handed_to", ["Eva Enhetschef", "Stina Medarbetare", "Någon Annan",
                                       f"Gäller {PNR}"])
def test_handed_to_outside_the_units_managers_and_planners_is_refused(
        app: Flask, as_user, handed_to: str) -> None:
    resp = as_user("staff").post("/forms/deviation", data=report(handed_to=handed_to))
    assert resp.status_code == 422
    page = html(resp)
    assert _error_at(page, "handed_to") and "enhetschef eller planerare" in page
    assert '<option value="Hugo Hemtjänstchef">' in page  # the unit's own are offered again
    with app.app_context():
        assert db.session.scalar(select(Submission)) is None


def test_a_unit_without_managers_or_planners_is_told_to_use_paper(app: Flask, as_user) -> None:
    resp = as_user("fee").post("/forms/deviation", data=report())  # Avgiftshandläggning: none
    assert resp.status_code == 422
    assert _error_at(html(resp), "handed_to") and "tom blankett" in html(resp)


def test_a_deactivated_manager_is_not_offered(app: Flask, as_user) -> None:
    from portal.models import User
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "planner"))
        assert user is not None
        user.active = False
        db.session.commit()
    staff = as_user("staff")
    assert '<option value="Petra Planerare">' not in html(staff.get("/forms/deviation"))
    resp = staff.post("/forms/deviation", data=report(handed_to="Petra Planerare"))
    assert resp.status_code == 422 and _error_at(html(resp), "handed_to")


def test_back_from_the_preview_keeps_the_chosen_person(app: Flask, as_user) -> None:
    staff = as_user("staff")
    preview = staff.post("/forms/deviation", data=report(preview="1"))
    assert preview.status_code == 200 and "Lämnad till: Hugo Hemtjänstchef" in html(preview)
    back = html(staff.post("/forms/deviation", data=report(edit="1")))
    assert '<option selected value="Hugo Hemtjänstchef">' in back \
        or '<option value="Hugo Hemtjänstchef" selected>' in back


def test_a_planner_of_the_unit_sees_and_registers_the_report(app: Flask, as_user) -> None:
    public_id = submit(as_user("staff"), report(handed_to="Petra Planerare"))
    planner = as_user("planner")
    start = html(planner.get("/"))
    assert "Avvikelser att registrera i Treserva" in start and public_id in start
    page = html(planner.get(f"/submissions/{public_id}"))
    assert DESCRIPTION in page and "Registrerad i Treserva" in page
    assert planner.get(f"/submissions/{public_id}/pdf").status_code == 200
    resp = planner.post(f"/submissions/{public_id}/done", data={"version": "1"})
    assert resp.status_code == 303
    sub = load(app, public_id)
    assert sub.status == "purged" and sub.data_enc is None
    assert public_id not in html(planner.get("/"))


@pytest.mark.parametrize("role", ["lvs", "admin", "planner"])  # a planner registers, has access
def test_other_roles_may_not_file(app: Flask, as_user, role: str) -> None:
    assert as_user(role).get("/forms/deviation").status_code == 403
    assert as_user(role).post("/forms/deviation", data=report()).status_code == 403


# --- the rules ---------------------------------------------------------------------------------


def _error_at(page: str, field: str) -> bool:
    return f'id="{field}-error"' in page


@pytest.mark.parametrize("field", ["fictional_name", "description", "immediate_action"])
def test_personnummer_in_any_free_text_is_refused_and_nothing_is_stored(
        app: Flask, as_user, field: str) -> None:
    value = f"Gäller {PNR}"
    resp = as_user("staff").post("/forms/deviation", data=report(**{field: value}))
    assert resp.status_code == 422
    page = html(resp)
    assert _error_at(page, field) and "personnummer" in page
    assert value in page  # the input is kept
    with app.app_context():
        assert db.session.scalar(select(Submission)) is None


@pytest.mark.parametrize("field", ["fictional_name", "description", "immediate_action"])
@pytest.mark.parametrize(("value", "word"), [("Hon bor på Storgatan 12", "adress"),
                                             ("Ring dottern på 070-123 45 67", "telefonnummer"),
                                             ("Flyttar till 412 58 Göteborg", "adress"),
                                             ("Nås på +46 70 123 45 67", "telefonnummer")])
def test_street_address_or_phone_number_in_any_free_text_is_refused(
        app: Flask, as_user, field: str, value: str, word: str) -> None:
    """R-NOTE-ADDRESS (SPEC §4): no street address and no phone number in a deviation report."""
    resp = as_user("staff").post("/forms/deviation", data=report(**{field: value}))
    assert resp.status_code == 422
    page = html(resp)
    assert _error_at(page, field)
    error = page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert word in error
    assert value in page  # the input is kept
    with app.app_context():
        assert db.session.scalar(select(Submission)) is None


def test_times_dates_and_doses_in_the_description_are_not_taken_for_an_address(
        app: Flask, as_user) -> None:
    submit(as_user("staff"), report(
        description="Kl 14.30 den 2026-12-01 föll hon. Fick 2 x 500 mg. Ärende 0655588.",
        immediate_action="Ringde sjuksköterskan kl 14:35."))


def test_event_date_in_the_future_is_refused(app: Flask, as_user) -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()
    resp = as_user("staff").post("/forms/deviation", data=report(event_date=tomorrow))
    assert resp.status_code == 422
    assert _error_at(html(resp), "event_date") and "senare än i dag" in html(resp)
    assert tomorrow in html(resp)


def test_missing_fields_are_each_shown_at_their_field(app: Flask, as_user) -> None:
    resp = as_user("staff").post("/forms/deviation", data=report(
        event_date="", event_time="", fictional_name="", category="", description="   ",
        handed_to="", immediate_action="Kvar"))
    assert resp.status_code == 422
    page = html(resp)
    for field in ("event_date", "event_time", "fictional_name", "category", "description",
                  "handed_to"):
        assert _error_at(page, field), field
    assert "Kvar" in page


def test_a_malformed_time_is_refused(app: Flask, as_user) -> None:
    resp = as_user("staff").post("/forms/deviation", data=report(event_time="25:99"))
    assert resp.status_code == 422 and _error_at(html(resp), "event_time")


# --- who may see and register ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_manager", "manager", "lvs", "fee", "secretary"])
def test_nobody_outside_the_reporters_unit_sees_or_registers_it(
        app: Flask, as_user, who: str) -> None:
    public_id = submit(as_user("staff"))
    client = as_user(who)
    for path in ("", "/message", "/pdf", ".json"):
        assert client.get(f"/submissions/{public_id}{path}").status_code == 404, path
    assert client.post(f"/submissions/{public_id}/done", data={"version": "1"}).status_code in (403, 404)
    assert public_id not in html(client.get("/"))
    assert load(app, public_id).status == "submitted"


def test_the_reporter_cannot_register_their_own_report(app: Flask, as_user) -> None:
    staff = as_user("staff")
    public_id = submit(staff)
    assert staff.post(f"/submissions/{public_id}/done", data={"version": "1"}).status_code == 404
    assert load(app, public_id).status == "submitted"


def test_deviation_reports_are_not_in_the_lvs_queue(app: Flask, as_user) -> None:
    public_id = submit(as_user("staff"))
    assert public_id not in html(as_user("lvs").get("/lvs/queue"))


# --- the 7-day flag (SPEC §3.4) ----------------------------------------------------------------


def test_an_unregistered_report_is_flagged_once_older_than_seven_days(app: Flask, as_user) -> None:
    submitted = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)
    with freeze_time(submitted):
        public_id = submit(as_user("staff"), report(event_date="2026-03-02"))
    with freeze_time(submitted + timedelta(days=7, minutes=-1)):
        page = html(as_user("hemtjanst_manager").get("/"))
        assert public_id in page and "Äldre än 7 dagar" not in page
    with freeze_time(submitted + timedelta(days=7, minutes=1)):
        page = html(as_user("hemtjanst_manager").get("/"))
        assert public_id in page and "Äldre än 7 dagar" in page


# --- paper -------------------------------------------------------------------------------------


def test_blank_form_says_to_destroy_it_after_registration(app: Flask, as_user) -> None:
    resp = as_user("staff").get("/blank/deviation.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = " ".join(pdf_text(resp.data).split())
    assert "Reservrapport för rapportering av avvikelser" in text
    assert "sekretessåtervinningen" in text and "förstöras" in text
    for label in ("Fiktivt namn", "Gäller ingen enskild person alls", "Fall", "Läkemedel",
                  "Utebliven insats", "Annat", "enhetschef eller planerare"):
        assert label in text
    # "Ej person" explained as Treserva's category for staff without access, not as a box.
    assert "bara välja kategorin ”ej person”" in text and "gäller ändå personen" in text
    assert "på personen" in text and "utifrån det fiktiva namnet" in text
