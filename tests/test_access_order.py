"""Behörighetsbeställning (routine §2.2, SPEC §3.1) the whole way, as the routine reads: the unit
manager orders, the rules refuse what the routine forbids, LVS works the queue and marks the order
done, the access register follows, and the message, PDF and JSON say what the order says."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from conftest import count, html, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, Grant, LocalProtection, Submission, Unit, User, UserRole

CASE = "0655588"
PERSONNAMES = ["Anna Andersson", "Bengt Berg", "Cecilia Carlsson", "David Dahl"]


# --- helpers ---------------------------------------------------------------------------------


def form(**overrides: Any) -> dict[str, str]:
    """A valid order dated by the portal's own calendar (Stockholm), so tests do not depend on the
    machine's time zone near midnight."""
    day = today()
    base = {"valid_from": day.isoformat(), "valid_to": (day + timedelta(days=180)).isoformat()}
    base.update(overrides)
    return order_form(**base)


def person(i: int, name: str, username: str, action: str = "add") -> dict[str, str]:
    first = name.split()[0].lower()
    return {
        f"persons-{i}-action": action,
        f"persons-{i}-full_name": name,
        f"persons-{i}-username": username,
        f"persons-{i}-email": f"{first}@goteborg.se",
        f"persons-{i}-position": "socialsekreterare",
    }


def three_persons() -> dict[str, str]:
    rows: dict[str, str] = {}
    for i, (name, user) in enumerate(zip(PERSONNAMES[:3], ["anna01", "bengt02", "cecilia03"], strict=True)):
        rows.update(person(i, name, user))
    return rows


def submit(client: FlaskClient, data: dict[str, str]) -> str:
    """Post a valid order; return its public id from the 303."""
    return submit_form(client, "/forms/access-order", data)


def mark_done(client: FlaskClient, public_id: str, reply: str = "Klart i Treserva.",
              version: str = "1") -> Any:
    return client.post(f"/lvs/submissions/{public_id}/done", data={"reply": reply, "version": version})


def field_error(page: str, field_id: str) -> str:
    """The error text the page shows at one field (templates/_macros.html: id="<field>-error")."""
    marker = f'id="{field_id}-error"'
    assert marker in page, f"no error shown at {field_id}"
    start = page.index(marker)
    return page[start:page.index("</p>", start)]


def assert_refused(app: Flask, resp: Any) -> str:
    """422, and nothing stored: no submission row, no submission_created event (SPEC §4, §6)."""
    assert resp.status_code == 422
    assert count(app, Submission) == 0
    assert count(app, AuditEvent, AuditEvent.action == "submission_created") == 0
    return html(resp)


# --- submitting ------------------------------------------------------------------------------


def test_unit_manager_submits_a_valid_order_and_is_sent_to_it(app: Flask, as_user) -> None:
    manager = as_user("manager")
    public_id = submit(manager, form())
    with app.app_context():
        sub = db.session.scalar(select(Submission))
        assert sub is not None and sub.public_id == public_id
        assert (sub.form, sub.status, sub.case_number) == ("access_order", "submitted", CASE)
        assert sub.submitted_by.username == "manager"
        assert sub.unit.name == "Myndighet Centrum"
        assert not sub.flagged
    page = manager.get(f"/submissions/{public_id}")
    assert page.status_code == 200
    assert CASE in html(page) and "Anna Andersson" in html(page)


def test_invalid_order_is_refused_with_errors_at_fields_and_all_input_kept(app: Flask, as_user) -> None:
    values = form(**{
        "persons-0-email": "anna.andersson@gmail.com",   # R-EMAIL-DOMAIN
        "persons-0-position": "förste socialsekreterare",
        "valid_to": (today() + timedelta(days=400)).isoformat(),  # R-PERIOD-MAX
        "justification": "Motivering som bara står kvar här.",
        "local_protection_reason": "Hotbild mot den enskilde, väntar på beslut.",
    })
    resp = as_user("manager").post("/forms/access-order", data=values)
    page = assert_refused(app, resp)
    assert "@goteborg.se" in field_error(page, "persons-0-email")
    assert "högst ett år" in field_error(page, "valid_to")
    assert "Formuläret innehåller fel" in page  # the summary at the top
    for name, value in values.items():
        if name in ("unit_type", "unit_name"):
            continue  # not fields: the ordering unit is the orderer's own (SPEC §3.1)
        assert str(escape(value)) in page, f"{name}={value!r} was not kept"


def test_add_person_button_adds_a_row_and_keeps_input(app: Flask, as_user) -> None:
    values = form(**{"add_person": "1"})
    resp = as_user("manager").post("/forms/access-order", data=values)
    assert resp.status_code == 200
    page = html(resp)
    assert 'name="persons-1-full_name"' in page
    assert 'name="persons-2-full_name"' not in page
    for key in ("case_number", "persons-0-full_name", "persons-0-username", "persons-0-email",
                "valid_from", "valid_to"):
        assert str(escape(values[key])) in page
    assert count(app, Submission) == 0


def test_remove_person_button_removes_that_row_and_keeps_the_others(app: Flask, as_user) -> None:
    values = form(**person(1, "Bengt Berg", "bengt02"), **{"remove_person": "0"})
    resp = as_user("manager").post("/forms/access-order", data=values)
    assert resp.status_code == 200
    page = html(resp)
    assert "Anna Andersson" not in page and "anna01" not in page
    assert 'name="persons-0-full_name"' in page and 'name="persons-1-full_name"' not in page
    assert 'value="Bengt Berg"' in page and 'value="bengt02"' in page
    assert str(escape(values["case_number"])) in page
    assert count(app, Submission) == 0


def test_personnummer_typed_as_case_number_is_refused(app: Flask, as_user) -> None:
    resp = as_user("manager").post("/forms/access-order", data=form(case_number="19121212-1212"))
    page = assert_refused(app, resp)
    error = field_error(page, "case_number")
    assert "Skriv aldrig personnummer eller samordningsnummer" in error  # R-PNR-SUBJECT


def test_access_period_over_one_year_is_refused(app: Flask, as_user) -> None:
    start = today()
    resp = as_user("manager").post("/forms/access-order", data=form(
        valid_from=start.isoformat(), valid_to=(start + timedelta(days=367)).isoformat()))
    page = assert_refused(app, resp)
    assert "högst ett år i taget" in field_error(page, "valid_to")


def test_email_outside_goteborg_se_is_refused(app: Flask, as_user) -> None:
    resp = as_user("manager").post("/forms/access-order",
                                   data=form(**{"persons-0-email": "anna@example.com"}))
    page = assert_refused(app, resp)
    assert "@goteborg.se" in field_error(page, "persons-0-email")


def local_protection(days: int = 60) -> dict[str, str]:
    return {
        "local_protection": "y",
        "local_protection_until": (today() + timedelta(days=days)).isoformat(),
        "local_protection_reason": "Akut hotbild, Skatteverkets beslut inväntas.",
    }


def test_local_protection_by_a_myndighet_unit_manager_is_accepted(app: Flask, as_user) -> None:
    public_id = submit(as_user("manager"), form(**local_protection()))
    lvs = as_user("lvs")
    assert mark_done(lvs, public_id).status_code == 303
    with app.app_context():
        lp = db.session.scalar(select(LocalProtection))
        assert lp is not None and lp.case_number == CASE
        assert lp.until == today() + timedelta(days=60)


def test_local_protection_by_a_home_care_manager_is_refused(app: Flask, as_user) -> None:
    data = form(**local_protection(), city_district="Hisingen")
    resp = as_user("hemtjanst_manager").post("/forms/access-order", data=data)
    page = assert_refused(app, resp)
    assert "Bara enhetschef på Myndighet" in field_error(page, "local_protection")


# --- the person limit (§2.1) -----------------------------------------------------------------


def grant_three(app: Flask, as_user) -> tuple[FlaskClient, FlaskClient]:
    manager, lvs = as_user("manager"), as_user("lvs")
    assert mark_done(lvs, submit(manager, form(**three_persons()))).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Grant)
                                 .where(Grant.revoked_at.is_(None))) == 3
    return manager, lvs


def fourth(**extra: str) -> dict[str, str]:
    return form(**person(0, "David Dahl", "david04"), **extra)


def test_fourth_person_on_a_myndighet_case_is_refused_without_justification(
        app: Flask, as_user) -> None:
    manager, _ = grant_three(app, as_user)
    before = count(app, Submission)
    resp = manager.post("/forms/access-order", data=fourth())
    assert resp.status_code == 422
    assert count(app, Submission) == before
    error = field_error(html(resp), "justification")
    assert "4 personer" in error and "högst 3" in error


def test_fourth_person_with_justification_is_accepted_and_flagged_for_lvs(
        app: Flask, as_user) -> None:
    manager, lvs = grant_three(app, as_user)
    short = manager.post("/forms/access-order", data=fourth(justification="För kort motiv."))
    assert short.status_code == 422  # 15 characters: under the 20 SPEC §2 asks for
    public_id = submit(manager, fourth(
        justification="Ansvarig socialsekreterare är föräldraledig i sex månader."))
    queue = lvs.get("/lvs/queue.json").get_json()
    [item] = [q for q in queue if q["id"] == public_id]
    assert item["flagged"] is True
    assert item["case_number"] == CASE
    page = html(lvs.get("/lvs/queue"))
    assert "Över gränsen" in page or 'class="flagged"' in page


# --- LVS processing and the access register ---------------------------------------------------


def test_lvs_sees_orders_in_the_queue_oldest_first(app: Flask, as_user) -> None:
    manager = as_user("manager")
    first = submit(manager, form(case_number="0655501"))
    second = submit(manager, form(case_number="0655502"))
    lvs = as_user("lvs")
    queue = lvs.get("/lvs/queue.json")
    assert queue.status_code == 200
    ids = [q["id"] for q in queue.get_json()]
    assert ids == [first, second]
    page = html(lvs.get("/lvs/queue"))
    assert page.index("0655501") < page.index("0655502")
    assert f"/submissions/{first}" in page


def test_lvs_marks_done_and_the_register_shows_the_grants_to_the_right_people(
        app: Flask, as_user) -> None:
    manager = as_user("manager")
    public_id = submit(manager, form(**person(1, "Bengt Berg", "bengt02")))
    lvs = as_user("lvs")
    resp = mark_done(lvs, public_id, reply="Behörigheten är lagd. Skapa PIN-kod.")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/lvs/queue")
    assert lvs.get("/lvs/queue.json").get_json() == []
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        assert sub.status == "done" and sub.processed_by.username == "lvs"
        assert sub.reply == "Behörigheten är lagd. Skapa PIN-kod."
        grants = db.session.scalars(select(Grant).order_by(Grant.username)).all()
        assert [(g.username, g.case_number, g.order_id) for g in grants] == [
            ("anna01", CASE, sub.id), ("bengt02", CASE, sub.id)]
        assert all(g.unit.name == "Myndighet Centrum" and g.granted_by.username == "lvs"
                   for g in grants)
    for who in (lvs, manager):
        page = html(who.get("/register"))
        assert "anna01" in page and "bengt02" in page and CASE in page
    other = html(as_user("other_manager").get("/register"))
    assert "anna01" not in other and "bengt02" not in other and CASE not in other
    assert "Behörigheten är lagd" in html(manager.get(f"/submissions/{public_id}"))


def test_a_removal_order_ends_the_grant(app: Flask, as_user) -> None:
    manager, lvs = as_user("manager"), as_user("lvs")
    assert mark_done(lvs, submit(manager, form())).status_code == 303
    removal = submit(manager, form(**{"persons-0-action": "remove", "valid_from": "",
                                      "valid_to": ""}))
    assert mark_done(lvs, removal).status_code == 303
    with app.app_context():
        grant = db.session.scalar(select(Grant).where(Grant.username == "anna01"))
        assert grant is not None and grant.revoked_at is not None
        sub = db.session.scalar(select(Submission).where(Submission.public_id == removal))
        assert sub is not None and grant.revoke_order_id == sub.id
        assert grant.revoked_by_id == sub.processed_by_id
    assert "anna01" not in html(manager.get("/register"))
    assert "anna01" not in html(lvs.get("/register"))


def test_second_lvs_marking_the_same_order_done_gets_409_and_nothing_changes(
        app: Flask, as_user) -> None:
    public_id = submit(as_user("manager"), form())
    lvs, lvs2 = as_user("lvs"), as_user("lvs2")
    # Both opened the order while it was version 1; lvs is first.
    assert mark_done(lvs, public_id, reply="Första svaret.", version="1").status_code == 303
    with app.app_context():
        before = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert before is not None
        snapshot = (before.status, before.processed_by_id, before.processed_at, before.reply,
                    before.version)
    resp = mark_done(lvs2, public_id, reply="Andra svaret.", version="1")
    assert resp.status_code == 409
    assert "Redan hanterad" in html(resp)
    assert mark_done(lvs2, public_id, reply="Andra svaret.", version="").status_code == 409
    with app.app_context():
        after = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert after is not None
        assert (after.status, after.processed_by_id, after.processed_at, after.reply,
                after.version) == snapshot
        assert db.session.scalar(select(func.count()).select_from(Grant)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "submission_processed")) == 1


# --- what comes out: message, PDF, JSON ------------------------------------------------------


def test_message_is_plain_text_to_the_lvs_list_with_the_subject_line(app: Flask, as_user) -> None:
    manager = as_user("manager")
    public_id = submit(manager, form())
    resp = manager.get(f"/submissions/{public_id}/message")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    lines = html(resp).split("\n")
    assert lines[0] == "Till: ÄVO Myndighet LVS admin sekretessbehörighet"
    assert lines[1] == f"Ämne: Behörighetsbeställning ärende {CASE}, Centrum"
    assert lines[2] == ""
    body = "\n".join(lines[3:])
    assert "Anna Andersson" in body and "anna01" in body
    assert "anna.andersson@goteborg.se" in body
    assert "PIN-kod" in body  # the reminder LVS passes on (§2.2)


def test_pdf_names_the_case_but_no_person_in_its_file_name_or_title(app: Flask, as_user) -> None:
    manager = as_user("manager")
    public_id = submit(manager, form(**person(1, "Bengt Berg", "bengt02")))
    resp = manager.get(f"/submissions/{public_id}/pdf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    for personal in ("Anna", "Andersson", "anna01", "Bengt", "Berg", "bengt02", "Eva", "Enhetschef"):
        assert personal.lower() not in disposition.lower()
    reader = PdfReader(io.BytesIO(resp.data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert CASE in text
    meta = reader.metadata
    assert meta is not None and meta.title is not None
    assert CASE in meta.title
    all_meta = " ".join(str(v) for v in meta.values())
    for personal in ("Anna", "Andersson", "Bengt", "Berg", "Eva Enhetschef"):
        assert personal not in all_meta


def test_json_has_the_form_field_names_at_top_level(app: Flask, as_user) -> None:
    manager = as_user("manager")
    values = form(**local_protection())
    public_id = submit(manager, values)
    resp = manager.get(f"/submissions/{public_id}.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    data = json.loads(resp.data)
    for key in ("case_number", "city_district", "unit_type", "unit_name", "persons", "valid_from",
                "valid_to", "local_protection", "local_protection_until",
                "local_protection_reason", "justification"):
        assert key in data, key
    assert data["case_number"] == CASE
    assert data["city_district"] == "Centrum"
    assert data["valid_from"] == values["valid_from"]
    assert data["local_protection"] is True
    assert data["persons"] == [{
        "action": "add", "full_name": "Anna Andersson", "username": "anna01",
        "email": "anna.andersson@goteborg.se", "position": "socialsekreterare"}]


# --- the manager's start page (reminders) ------------------------------------------------------


def test_start_page_of_the_manager_lists_grants_ending_within_30_days(app: Flask, as_user) -> None:
    manager, lvs = as_user("manager"), as_user("lvs")
    soon = today() + timedelta(days=20)
    later = today() + timedelta(days=180)
    assert mark_done(lvs, submit(manager, form(valid_to=soon.isoformat()))).status_code == 303
    assert mark_done(lvs, submit(manager, form(
        case_number="0655599", valid_to=later.isoformat(),
        **person(0, "Bengt Berg", "bengt02")))).status_code == 303
    page = html(manager.get("/"))
    assert "anna01" in page and soon.isoformat() in page
    assert "bengt02" not in page and later.isoformat() not in page
    # Another unit's manager is not reminded of this unit's grants.
    assert "anna01" not in html(as_user("other_manager").get("/"))


# --- unit names with Å, Ä, Ö ---------------------------------------------------------------------


def orgryte_manager(app: Flask, password_hash: str) -> None:
    """A Myndighet unit whose name starts with Ö, and its unit manager."""
    with app.app_context():
        unit = Unit(name="Örgryte Myndighet", unit_type="myndighet", city_district="Centrum")
        db.session.add(unit)
        db.session.flush()
        db.session.add(User(username="orgryte_manager", full_name="Örjan Chef",
                            email="orjan.chef@goteborg.se", unit_id=unit.id,
                            password_hash=password_hash,
                            role_rows=[UserRole(role="unit_manager")]))
        db.session.commit()


def test_person_limit_counts_the_grants_of_a_unit_named_with_a_swedish_letter(
        app: Flask, as_user, password_hash: str) -> None:
    orgryte_manager(app, password_hash)
    manager, lvs = as_user("orgryte_manager"), as_user("lvs")
    first = submit(manager, form(**three_persons()))
    assert mark_done(lvs, first).status_code == 303
    with app.app_context():  # the unit is the orderer's own, whatever the post's unit_name says
        assert {g.unit_name for g in db.session.scalars(select(Grant))} == {"Örgryte Myndighet"}
    resp = manager.post("/forms/access-order", data=fourth())
    assert resp.status_code == 422


def test_a_removal_order_ends_the_grant_of_a_unit_named_with_a_swedish_letter(
        app: Flask, as_user, password_hash: str) -> None:
    orgryte_manager(app, password_hash)
    manager, lvs = as_user("orgryte_manager"), as_user("lvs")
    assert mark_done(lvs, submit(manager, form())).status_code == 303
    removal = submit(manager, form(**{"persons-0-action": "remove"}))
    assert mark_done(lvs, removal).status_code == 303
    with app.app_context():
        grant = db.session.scalar(select(Grant).where(Grant.username == "anna01"))
        assert grant is not None and grant.revoked_at is not None


# --- Trygghetsjouren's access goes by Intraservice (issue 13, item 2; §2.1, §9.2) ------------------


def tj_manager(app: Flask, password_hash: str) -> None:
    """A Trygghetsjouren unit and its unit manager (LVS på Trygghetsjouren orders its access)."""
    with app.app_context():
        unit = Unit(name="Trygghetsjouren", unit_type="trygghetsjouren", city_district="Centrum")
        db.session.add(unit)
        db.session.flush()
        db.session.add(User(username="tj_manager", full_name="Tina Jourchef",
                            email="tina.jourchef@goteborg.se", unit_id=unit.id,
                            password_hash=password_hash,
                            role_rows=[UserRole(role="unit_manager")]))
        db.session.commit()


def test_an_access_order_from_trygghetsjouren_is_refused_and_points_to_intraservice(
        app: Flask, as_user, password_hash: str) -> None:
    """Issue 13 item 2: a Trygghetsjouren order went to the ÄVO LVS list like any other; its
    access goes by a ticket to Intraservice (§9.2). Refused at the field, input kept, nothing
    stored, and the refusal audited."""
    tj_manager(app, password_hash)
    manager = as_user("tj_manager")
    resp = manager.post("/forms/access-order", data=form(**{"preview": "1"}))
    page = assert_refused(app, resp)
    error = field_error(page, "persons")
    assert "Intraservice" in error and "§9.2" in error
    assert 'value="Anna Andersson"' in page and f'value="{CASE}"' in page  # input kept
    # Adding and removing alike: a removal-only order goes the same way.
    removal = manager.post("/forms/access-order", data=form(**{"persons-0-action": "remove"}))
    assert "Intraservice" in field_error(assert_refused(app, removal), "persons")
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.outcome, AuditEvent.detail, AuditEvent.case_number)
            .where(AuditEvent.action == "access_order_refused")
        ).all()
    assert [tuple(e) for e in events] == [("refused", "R-TJ-INTRASERVICE", CASE)] * 2
    assert as_user("lvs").get("/lvs/queue.json").get_json() == []


def test_the_blank_access_order_offers_every_unit_type_but_trygghetsjouren(app: Flask) -> None:
    """Issue 13 item 2: the blank offered Trygghetsjouren a box. Left out by its key, whatever
    its label says; the other types are the config's."""
    from portal.render import pdf

    app.config["UNIT_TYPES"] = {**app.config["UNIT_TYPES"], "trygghetsjouren": "TJ Testetikett"}
    with app.app_context():
        text = pdf.blank_html("access_order.html")
        printed = "\n".join(page.extract_text() or "" for page in
                            PdfReader(io.BytesIO(pdf.blank_pdf("access_order.html"))).pages)
    for key, label in app.config["UNIT_TYPES"].items():
        assert (label in text) is (key != "trygghetsjouren"), label
    assert "TJ Testetikett" not in printed and "Trygghetsjouren" not in printed
    assert "Hemtjänst" in printed and "BoSam" in printed


# --- local protection renewed (issue 13, item 5; §1.3) ---------------------------------------------


def protected_once(app: Flask, as_user) -> tuple[FlaskClient, FlaskClient]:
    """The case has had local protection: ordered by the Myndighet manager, carried out by LVS."""
    manager, lvs = as_user("manager"), as_user("lvs")
    first = submit(manager, form(**local_protection(30)))
    with app.app_context():
        assert not db.session.scalar(select(Submission.flagged))
    assert mark_done(lvs, first).status_code == 303
    return manager, lvs


def flagged_of(app: Flask, public_id: str) -> bool:
    with app.app_context():
        return bool(db.session.scalar(select(Submission.flagged)
                                      .where(Submission.public_id == public_id)))


def test_local_protection_again_for_the_same_case_is_flagged_with_the_earlier_periods(
        app: Flask, as_user) -> None:
    """Issue 13 item 5: local protection could be renewed in three-month steps for ever, each
    order looking like the first. A new one for a case that already had one is flagged for LVS,
    whose page shows the earlier periods; the orderer's page does not."""
    manager, lvs = protected_once(app, as_user)
    first_until = (today() + timedelta(days=30)).isoformat()
    renewal = submit(manager, form(**local_protection(80), **person(0, "Anna Andersson", "anna01")))
    assert flagged_of(app, renewal)
    [item] = [q for q in lvs.get("/lvs/queue.json").get_json() if q["id"] == renewal]
    assert item["flagged"] is True
    page = html(lvs.get(f"/submissions/{renewal}"))
    assert 'id="earlier-protections"' in page and "haft lokalt skydd tidigare" in page
    periods = page.split('id="earlier-protections"', 1)[1].split("</div>", 1)[0]
    assert f"Myndighet Centrum: lagt {today().isoformat()}, till och med {first_until}" in periods
    assert 'id="earlier-protections"' not in html(manager.get(f"/submissions/{renewal}"))
    # Once LVS has carried out the renewal, its own period is not "earlier" on its page.
    assert mark_done(lvs, renewal).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LocalProtection)) == 2


def test_local_protection_of_the_case_in_another_unit_counts_and_another_case_does_not(
        app: Flask, as_user) -> None:
    """Local protection is the case's (§1.3): an earlier one from another Myndighet unit counts;
    another case's, or an order without local protection, is not flagged for it."""
    protected_once(app, as_user)
    other = as_user("other_manager")
    renewal = submit(other, form(**local_protection(60), city_district="Nordost"))
    assert flagged_of(app, renewal)
    page = html(as_user("lvs").get(f"/submissions/{renewal}"))
    assert "Myndighet Centrum: lagt" in page.split('id="earlier-protections"', 1)[1]
    elsewhere = submit(other, form(**local_protection(60), case_number="0655599"))
    without = submit(other, form(**person(0, "Bengt Berg", "bengt02")))
    assert not flagged_of(app, elsewhere) and not flagged_of(app, without)
    assert 'id="earlier-protections"' not in html(as_user("lvs").get(f"/submissions/{elsewhere}"))


def test_message_and_pdf_remind_that_the_local_protection_decision_is_in_the_journal(
        app: Flask, as_user) -> None:
    """Issue 13 item 5 (§1.3: "Beslutet dokumenteras i journalen"): the order with local
    protection says so in its message and its PDF; an order without it does not."""
    manager = as_user("manager")
    with_lp = submit(manager, form(**local_protection()))
    without = submit(manager, form(case_number="0655599"))
    reminder = "dokumenteras i journalen (§1.3)"
    assert reminder in html(manager.get(f"/submissions/{with_lp}/message"))
    assert reminder not in html(manager.get(f"/submissions/{without}/message"))

    def pdf_text(public_id: str) -> str:
        data = manager.get(f"/submissions/{public_id}/pdf").data
        return " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
                        .split())

    assert "dokumenteras i journalen" in pdf_text(with_lp)
    assert "dokumenteras i journalen" not in pdf_text(without)
