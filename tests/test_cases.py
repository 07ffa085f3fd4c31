"""Closing a case, a protection that ends, a person who dies (SPEC §3.7; routine §2.3, §5.13,
§7.7, §8.10, 004), the whole way through the pages: the manager or LVS sees what closing ends,
confirms, one removal order per unit goes to the LVS queue marked as a closing, the local
protection ends, a unit manager's fictional file is compiled and thrown away at once, and nothing
about the person is kept but one audit event (case number, who, when)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from conftest import count, html, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, DayNote, FictionalFile, Grant, LocalProtection, Submission

CASE = "0655588"
PNR = "19121212-1212"


# --- helpers ---------------------------------------------------------------------------------


def row(i: int, name: str, username: str, position: str = "socialsekreterare") -> dict[str, str]:
    return {
        f"persons-{i}-action": "add", f"persons-{i}-full_name": name,
        f"persons-{i}-username": username, f"persons-{i}-email": f"{username}@goteborg.se",
        f"persons-{i}-position": position,
    }


def granted(as_user: Any, manager: str, *persons: tuple[str, str], case: str = CASE,
            **extra: str) -> str:
    """Access to the case for the manager's unit, ordered by the manager and carried out by LVS
    through the pages; the order's public id."""
    day = today()
    data = order_form(case_number=case, valid_from=day.isoformat(),
                      valid_to=(day + timedelta(days=180)).isoformat(), **extra)
    for key in [k for k in data if k.startswith("persons-")]:
        del data[key]
    for i, (name, username) in enumerate(persons):
        data.update(row(i, name, username))
    public_id = submit_form(as_user(manager), "/forms/access-order", data)
    resp = as_user("lvs").post(f"/lvs/submissions/{public_id}/done", data={"version": "1"})
    assert resp.status_code == 303
    return public_id


def two_units(as_user: Any) -> None:
    """The case has access in Myndighet Centrum (with local protection) and Hemtjänst Hisingen."""
    granted(as_user, "manager", ("Anna Andersson", "anna01"), ("Bengt Berg", "bengt02"),
            local_protection="y",
            local_protection_until=(today() + timedelta(days=60)).isoformat(),
            local_protection_reason="Akut hotbild, Skatteverkets beslut inväntas.")
    granted(as_user, "hemtjanst_manager", ("Hanna Hem", "hanna05"))


def close(client: FlaskClient, step: str, case: str = CASE, event: str = "closed") -> Any:
    return client.post("/cases/close", data={"case_number": case, "event": event, step: "1"})


def active(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted((g.unit_name, g.username) for g in db.session.scalars(
            select(Grant).where(Grant.revoked_at.is_(None))))


def closing_orders(app: Flask) -> list[tuple[str, list[str], str]]:
    """(unit, usernames removed, status) of every access order marked as a closing."""
    with app.app_context():
        subs = db.session.scalars(
            select(Submission).where(Submission.form == "access_order").order_by(Submission.id))
        return [(s.unit.name, [p["username"] for p in s.data["persons"]
                               if p["action"] == "remove"], s.status)
                for s in subs if s.data and s.data.get("closing")]


def file_with_note(as_user: Any, case: str = CASE) -> str:
    resp = as_user("hemtjanst_manager").post(
        "/day-notes/", data={"fictional_name": "Gunnel Gran", "case_number": case})
    assert resp.status_code == 303
    file_id = resp.headers["Location"].rsplit("/", 1)[1]
    resp = as_user("staff").post(f"/day-notes/{file_id}/notes",
                                 data={"text": "Handlade mat och tog en promenad."})
    assert resp.status_code == 303
    return file_id


# --- preview ---------------------------------------------------------------------------------


def test_lvs_sees_every_units_grants_and_a_manager_only_their_own(app: Flask, as_user) -> None:
    two_units(as_user)
    page = html(close(as_user("lvs"), "preview"))
    assert "anna01" in page and "bengt02" in page and "hanna05" in page
    assert "Myndighet Centrum, till och med" in page  # the local protection
    page = html(close(as_user("hemtjanst_manager"), "preview"))
    assert "hanna05" in page and "anna01" not in page and "Inget aktivt lokalt skydd" in page
    page = html(close(as_user("other_manager"), "preview"))
    assert "hanna05" not in page and "anna01" not in page
    assert "Det finns inget att avsluta" in page and 'name="confirm"' not in page
    # a preview changes nothing
    assert count(app, Submission, Submission.status == "submitted") == 0
    assert count(app, AuditEvent, AuditEvent.action == "case_closed") == 0


def test_a_managers_preview_shows_the_uncompiled_day_notes_first(app: Flask, as_user) -> None:
    granted(as_user, "hemtjanst_manager", ("Hanna Hem", "hanna05"))
    file_with_note(as_user)
    page = html(close(as_user("hemtjanst_manager"), "preview"))
    assert "Handlade mat och tog en promenad." in page
    assert page.index("Handlade mat") < page.index("hanna05")  # the notes first
    assert "1 fiktiv akt" in page


# --- confirm ---------------------------------------------------------------------------------


def test_lvs_closing_makes_one_removal_order_per_unit_marked_as_closing(app: Flask,
                                                                        as_user) -> None:
    two_units(as_user)
    lvs = as_user("lvs")
    resp = close(lvs, "confirm", event="deceased")
    assert resp.status_code == 200
    page = html(resp)
    assert "Borttagsbeställning för Myndighet Centrum (2 personer)" in page
    assert "Borttagsbeställning för Hemtjänst Hisingen (1 person)" in page
    assert closing_orders(app) == [
        ("Myndighet Centrum", ["anna01", "bengt02"], "submitted"),
        ("Hemtjänst Hisingen", ["hanna05"], "submitted"),
    ]
    queue = html(lvs.get("/lvs/queue"))
    assert queue.count("<strong>Avslut</strong>") == 2
    listed = lvs.get("/lvs/queue.json").get_json()
    assert [(i["closing"], i["leaving"]) for i in listed] == [(True, False), (True, False)]
    # the local protection of the case ended (its last day yesterday): not in force today
    with app.app_context():
        lp = db.session.scalar(select(LocalProtection))
        assert lp is not None and lp.until == today() - timedelta(days=1)
    assert "Inga aktiva lokala skydd" in html(lvs.get("/register"))
    # the grants stay until LVS has removed them in Treserva and marks each order done
    assert len(active(app)) == 3
    with app.app_context():
        ids = list(db.session.scalars(select(Submission.public_id).where(
            Submission.status == "submitted")))
    for public_id in ids:
        shown = html(lvs.get(f"/submissions/{public_id}"))
        assert "Avslut: ärendet är avslutat" in shown
        assert lvs.get(f"/submissions/{public_id}/pdf").status_code == 200
        assert lvs.get(f"/submissions/{public_id}/message").status_code == 200
        version = re.search(r'name="version" value="(\d+)"', shown)
        assert version is not None
        assert lvs.post(f"/lvs/submissions/{public_id}/done",
                        data={"version": version.group(1)}).status_code == 303
    assert active(app) == []


def test_the_unit_manager_of_a_holding_unit_sees_the_order_lvs_made_for_it(app: Flask,
                                                                          as_user) -> None:
    two_units(as_user)
    close(as_user("lvs"), "confirm")
    with app.app_context():
        hem = db.session.scalar(select(Submission.public_id).where(
            Submission.status == "submitted", Submission.case_number == CASE,
            Submission.unit.has(name="Hemtjänst Hisingen")))
    assert as_user("hemtjanst_manager").get(f"/submissions/{hem}").status_code == 200
    assert as_user("other_manager").get(f"/submissions/{hem}").status_code == 404


def test_a_manager_closes_only_their_own_unit(app: Flask, as_user) -> None:
    two_units(as_user)
    resp = close(as_user("manager"), "confirm", event="protection_ended")
    assert resp.status_code == 200
    assert closing_orders(app) == [("Myndighet Centrum", ["anna01", "bengt02"], "submitted")]
    with app.app_context():
        lp = db.session.scalar(select(LocalProtection))
        assert lp is not None and lp.until < today()


def test_a_manager_closing_compiles_and_deletes_the_fictional_file_at_once(app: Flask,
                                                                          as_user) -> None:
    granted(as_user, "hemtjanst_manager", ("Hanna Hem", "hanna05"))
    file_id = file_with_note(as_user)
    resp = close(as_user("hemtjanst_manager"), "confirm")
    assert resp.status_code == 200
    page = html(resp)
    assert "Handlade mat och tog en promenad." in page  # to paste into Treserva's journal
    assert "Signatur: Stina Medarbetare" in page
    assert count(app, FictionalFile) == 0 and count(app, DayNote) == 0
    assert as_user("staff").get(f"/day-notes/{file_id}").status_code == 404


def test_a_fictional_file_alone_is_enough_to_close(app: Flask, as_user) -> None:
    file_with_note(as_user)
    resp = close(as_user("hemtjanst_manager"), "confirm")
    assert resp.status_code == 200 and count(app, FictionalFile) == 0
    assert closing_orders(app) == []


def test_lvs_closing_leaves_the_units_fictional_file_to_its_manager(app: Flask, as_user) -> None:
    granted(as_user, "hemtjanst_manager", ("Hanna Hem", "hanna05"))
    file_with_note(as_user)
    assert close(as_user("lvs"), "confirm").status_code == 200
    assert count(app, FictionalFile) == 1 and count(app, DayNote) == 1


def test_closing_keeps_one_audit_event_and_not_what_happened(app: Flask, as_user) -> None:
    two_units(as_user)
    close(as_user("lvs"), "preview", event="deceased")
    close(as_user("lvs"), "confirm", event="deceased")
    with app.app_context():
        closed = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case_closed")))
        assert len(closed) == 1
        ev = closed[0]
        assert ev.case_number == CASE and ev.user_id is not None and ev.detail is None
        every = db.session.scalars(select(AuditEvent)).all()
        for e in every:
            assert "deceased" not in f"{e.action} {e.detail} {e.object_type}"
            assert "avlid" not in f"{e.detail}"
        for s in db.session.scalars(select(Submission)):
            assert "deceased" not in str(s.data) and "avlid" not in str(s.data)


def test_confirming_twice_orders_no_removal_twice(app: Flask, as_user) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"))
    lvs = as_user("lvs")
    assert close(lvs, "confirm").status_code == 200
    resp = close(lvs, "confirm")
    assert resp.status_code == 422
    assert "Inget att avsluta" in html(resp)
    assert len(closing_orders(app)) == 1
    assert count(app, AuditEvent, AuditEvent.action == "case_closed") == 1


def test_the_messages_to_send_are_listed_with_their_forms(app: Flask, as_user) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"))
    page = html(close(as_user("manager"), "confirm"))
    assert "Meddelanden att skicka" in page
    assert 'href="/forms/fee-handler"' in page and 'href="/forms/trygghetsjouren"' in page
    assert "Utföraren: uppdraget upphör." in page


# --- refused ---------------------------------------------------------------------------------


def test_a_personnummer_as_case_number_is_refused_at_the_field_with_input_kept(
        app: Flask, as_user) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"))
    resp = close(as_user("manager"), "confirm", case=PNR, event="deceased")
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="case_number-error"' in page
    assert re.search(r'<input checked[^>]*value="deceased"', page)
    assert closing_orders(app) == []
    assert count(app, AuditEvent, AuditEvent.action == "case_closed") == 0


def test_no_event_or_an_unknown_one_is_refused_at_the_field(app: Flask, as_user) -> None:
    c = as_user("lvs")
    resp = c.post("/cases/close", data={"case_number": CASE, "preview": "1"})
    assert resp.status_code == 422 and 'id="event-error"' in html(resp)
    assert f'value="{CASE}"' in html(resp)
    resp = close(c, "confirm", event="moved")
    assert resp.status_code == 422 and 'id="event-error"' in html(resp)


def test_nothing_to_close_is_said_at_the_case_number(app: Flask, as_user) -> None:
    resp = close(as_user("manager"), "confirm")
    assert resp.status_code == 422 and 'id="case_number-error"' in html(resp)
    assert count(app, AuditEvent, AuditEvent.action == "case_closed") == 0


def test_only_unit_managers_and_lvs_may_close_and_a_refusal_is_audited(app: Flask,
                                                                       as_user) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"))
    for username in ("staff", "secretary", "planner", "admin"):
        c = as_user(username)
        assert c.get("/cases/close").status_code == 403
        assert close(c, "confirm").status_code == 403
    assert count(app, AuditEvent, AuditEvent.action == "access_denied") >= 8
    assert closing_orders(app) == [] and len(active(app)) == 1


def test_a_post_without_the_csrf_token_is_refused(app: Flask, as_user) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"))
    resp = as_user("manager").post(
        "/cases/close", data={"case_number": CASE, "event": "closed", "confirm": "1"},
        csrf=False)
    assert resp.status_code == 400
    assert closing_orders(app) == []


def test_a_managers_closing_leaves_another_units_fictional_file_alone(app: Flask,
                                                                     as_user) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"))
    file_with_note(as_user)  # Hemtjänst Hisingen's file of the same case
    page = html(close(as_user("manager"), "confirm"))
    assert "Handlade mat" not in page
    assert count(app, FictionalFile) == 1 and count(app, DayNote) == 1


def test_a_trygghetsjouren_grant_is_removed_by_intraservice_not_by_an_order(app: Flask,
                                                                           as_user) -> None:
    """§9.2: Trygghetsjouren's access goes by an Intraservice ticket, never to the ÄVO LVS list
    (a grant of theirs from before that rule is still in the register)."""
    source = granted(as_user, "manager", ("Anna Andersson", "anna01"))
    with app.app_context():
        from portal.models import Unit, User

        tj = Unit(name="Trygghetsjouren", unit_type="trygghetsjouren", city_district="Centrum")
        db.session.add(tj)
        db.session.flush()
        lvs = db.session.scalar(select(User).where(User.username == "lvs"))
        order = db.session.scalar(select(Submission).where(Submission.public_id == source))
        assert lvs is not None and order is not None
        db.session.add(Grant(case_number=CASE, username="tove07", full_name="Tove Trygg",
                             email="tove07@goteborg.se", position="samordnare", unit_id=tj.id,
                             unit_name=tj.name, unit_type=tj.unit_type, valid_from=today(),
                             valid_to=today() + timedelta(days=30), granted_by_id=lvs.id,
                             order_id=order.id))
        db.session.commit()
    page = html(close(as_user("lvs"), "confirm"))
    assert closing_orders(app) == [("Myndighet Centrum", ["anna01"], "submitted")]
    assert "Behörigheter i Trygghetsjouren tas inte bort med en beställning" in page
    resp = as_user("lvs").post("/register/person/remove", data={"username": "tove07"})
    assert resp.status_code == 422
    assert "genom ett ärende till Intraservice" in html(resp)
