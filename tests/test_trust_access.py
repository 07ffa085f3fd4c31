"""Issue 11, the access order's findings: the person limit (M1), fee handlers (M2) and the
configured positions (M4), each counted from the server's own data, never from what the orderer's
form says (SPEC §1.3, §3.1, §4). Each test failed on the code before the fix."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from conftest import count, html, store
from flask import Flask
from sqlalchemy import func, select
from test_access_order import (
    CASE,
    field_error,
    form,
    mark_done,
    person,
    submit,
    three_persons,
)

from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, Grant, LocalProtection, Submission, Unit, User, UserRole

# --- helpers ---------------------------------------------------------------------------------


def rows(*people: tuple[str, str], action: str = "add", start: int = 0) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (name, username) in enumerate(people, start=start):
        out.update(person(i, name, username, action))
    return out


OTHERS = (("David Dahl", "david04"), ("Erik Ek", "erik05"), ("Fia Fors", "fia06"))


def active_grants(app: Flask, case: str = CASE) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Grant.username).where(
            Grant.case_number == case, Grant.revoked_at.is_(None))))


def the_submission(app: Flask, public_id: str) -> dict[str, Any]:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        return {"flagged": sub.flagged, "status": sub.status, "data": sub.data}


def events(app: Flask, action: str) -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        return [(e.outcome, e.detail, e.object_id) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def bypassing_check(app: Flask, username: str, data: dict[str, Any]) -> str:
    """Store an order as submissions.create does, without the form's check: an order placed at
    the same moment as another (both checked before either was stored), or one stored before
    this fix. on_done must hold against it."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return store("access_order", data, user).public_id


def order_data(*people: tuple[str, str], action: str = "add", **changes: Any) -> dict[str, Any]:
    day = today()
    data: dict[str, Any] = {
        "case_number": CASE, "city_district": "Centrum", "unit_type": "myndighet",
        "unit_name": "Myndighet Centrum",
        "persons": [{"action": action, "full_name": name, "username": username,
                     "email": f"{username}@goteborg.se", "position": "socialsekreterare"}
                    for name, username in people],
        "valid_from": day.isoformat(), "valid_to": (day + timedelta(days=180)).isoformat(),
        "local_protection": False, "local_protection_until": None,
        "local_protection_reason": "", "justification": "",
    }
    data.update(changes)
    return data


def add_user(app: Flask, password_hash: str, username: str, unit: str,
             roles: tuple[str, ...] = ("staff",)) -> None:
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.name == unit))
        db.session.add(User(username=username, full_name=f"{username.title()} Testsson",
                            email=f"{username}@goteborg.se", unit_id=unit_id,
                            password_hash=password_hash,
                            role_rows=[UserRole(role=r) for r in roles]))
        db.session.commit()


# --- M1: the person limit (R-PERSON-LIMIT, §2.1) ------------------------------------------------


def test_m1_unit_type_from_the_orderers_unit(app: Flask, as_user) -> None:
    """A Myndighet manager who posts unit_type=hemtjanst (limit 4) still gets Myndighet's 3; the
    stored, shown and granted unit is the manager's own, whatever the post says."""
    manager = as_user("manager")
    page = html(manager.get("/forms/access-order"))
    assert 'name="unit_type"' not in page and 'name="unit_name"' not in page
    assert "Myndighet Centrum" in page  # shown as a fact, not asked

    forged = {"unit_type": "hemtjanst", "unit_name": "Hemtjänst Hisingen"}
    four = form(**three_persons(), **person(3, "David Dahl", "david04"), **forged)
    resp = manager.post("/forms/access-order", data=four)
    assert resp.status_code == 422
    error = field_error(html(resp), "justification")
    assert "4 personer" in error and "högst 3" in error
    assert count(app, Submission) == 0

    public_id = submit(manager, form(**forged))
    stored = the_submission(app, public_id)["data"]
    assert (stored["unit_type"], stored["unit_name"]) == ("myndighet", "Myndighet Centrum")
    exported = json.loads(manager.get(f"/submissions/{public_id}.json").data)
    assert (exported["unit_type"], exported["unit_name"]) == ("myndighet", "Myndighet Centrum")
    message = html(manager.get(f"/submissions/{public_id}/message"))
    assert "Beställande enhet: Myndighet Centrum (Myndighet)" in message
    assert "Hemtjänst" not in message
    assert mark_done(as_user("lvs"), public_id).status_code == 303
    with app.app_context():
        grant = db.session.scalar(select(Grant))
        assert grant is not None
        assert (grant.unit_type, grant.unit_name) == ("myndighet", "Myndighet Centrum")

    # The other way round: a home-care manager gets home care's 4 even when posting Myndighet.
    home = as_user("hemtjanst_manager")
    ok = home.post("/forms/access-order", data=form(
        case_number="0655599", city_district="Hisingen", unit_type="myndighet",
        unit_name="Myndighet Centrum", **three_persons(), **person(3, "David Dahl", "david04")))
    assert ok.status_code == 303, html(ok)


def test_m1_pending_orders_are_counted(app: Flask, as_user) -> None:
    """Three orders of three used to give nine grants: the orders waiting for LVS count."""
    manager, lvs = as_user("manager"), as_user("lvs")
    first = submit(manager, form(**three_persons()))
    resp = manager.post("/forms/access-order", data=form(**rows(*OTHERS)))
    assert resp.status_code == 422
    error = field_error(html(resp), "justification")
    assert "6 personer" in error and "väntar hos LVS" in error
    assert count(app, Submission) == 1
    # Another case, or another unit's order of the same case, is not counted.
    submit(manager, form(case_number="0655599", **rows(*OTHERS)))
    home = as_user("hemtjanst_manager")
    submit(home, form(city_district="Hisingen", **rows(*OTHERS)))
    # With a justification it goes through, flagged for LVS.
    justified = submit(manager, form(
        **rows(*OTHERS), justification="Tre vikarier under sommaren, ansvarig är sjukskriven."))
    assert the_submission(app, justified)["flagged"] is True

    # A pending removal does not make room until LVS has carried it out...
    assert mark_done(lvs, first).status_code == 303
    assert mark_done(lvs, justified).status_code == 303
    removal = submit(manager, form(**rows(("Anna Andersson", "anna01"), action="remove"),
                                   valid_from="", valid_to=""))
    assert manager.post("/forms/access-order", data=form(
        case_number="0655577", **rows(*OTHERS))).status_code == 303  # another case: fine
    resp = manager.post("/forms/access-order", data=form(**rows(("Gustav Gren", "gustav07"))))
    assert resp.status_code == 422
    assert "7 personer" in field_error(html(resp), "justification")
    # ...but once it is done, the count follows the register.
    assert mark_done(lvs, removal).status_code == 303
    assert len(active_grants(app)) == 5


def test_m1_grants_starting_later_are_counted(app: Flask, as_user) -> None:
    """Grants from next month are people with access all the same: counting only today's let an
    order of future grants and one of today's both pass."""
    manager, lvs = as_user("manager"), as_user("lvs")
    later = today() + timedelta(days=30)
    assert mark_done(lvs, submit(manager, form(
        **three_persons(), valid_from=later.isoformat(),
        valid_to=(later + timedelta(days=90)).isoformat()))).status_code == 303
    resp = manager.post("/forms/access-order", data=form(**rows(("David Dahl", "david04"))))
    assert resp.status_code == 422
    assert "4 personer" in field_error(html(resp), "justification")


def test_m1_add_and_remove_same_username_refused(app: Flask, as_user) -> None:
    """`remove anna01` + `add anna01` + `add david04` on a full case counted as three and gave
    four grants. Now each username appears once per order."""
    manager, lvs = as_user("manager"), as_user("lvs")
    assert mark_done(lvs, submit(manager, form(**three_persons()))).status_code == 303
    trick = form(**rows(("Anna Andersson", "anna01"), action="remove"),
                 **rows(("Anna Andersson", "ANNA01"), ("David Dahl", "david04"), start=1))
    resp = manager.post("/forms/access-order", data=trick)
    assert resp.status_code == 422
    page = html(resp)
    for row in (0, 1):
        assert "både läggas till och tas bort" in field_error(page, f"persons-{row}-username")
    twice = form(**rows(("David Dahl", "david04"), ("David Dahl", " David04 ")))
    resp = manager.post("/forms/access-order", data=twice)
    assert resp.status_code == 422
    assert "redan på en annan rad" in field_error(html(resp), "persons-1-username")
    assert count(app, Submission) == 1  # only the first, done order
    assert active_grants(app) == ["anna01", "bengt02", "cecilia03"]


def test_m1_on_done_rechecks_the_limit(app: Flask, as_user) -> None:
    """Two orders placed at the same moment each passed the check; marking the second done finds
    the case over the limit without a justification: the grants are recorded (they exist in
    Treserva), the order is flagged and the audit log says so. LVS was told before."""
    manager, lvs = as_user("manager"), as_user("lvs")
    first = submit(manager, form())  # anna01
    second = bypassing_check(app, "manager", order_data(*OTHERS))
    # Stored after the first, it is over the limit counting the first: LVS sees it flagged.
    assert the_submission(app, second)["flagged"] is True
    page = html(lvs.get(f"/submissions/{first}"))
    assert "Kontroll mot behörighetsregistret" in page
    assert "har 1 person behörighet" in page and "1 annan beställning" in page
    assert mark_done(lvs, second).status_code == 303
    page = html(lvs.get(f"/submissions/{first}"))
    assert "Över gränsen utan motivering" in page
    assert mark_done(lvs, first).status_code == 303
    assert active_grants(app) == ["anna01", "david04", "erik05", "fia06"]
    assert the_submission(app, first)["flagged"] is True
    assert events(app, "person_limit_exceeded") == [("flagged", "4 > 3", first)]
    # An order within the limit is not flagged when done.
    within = submit(manager, form(case_number="0655599"))
    assert mark_done(lvs, within).status_code == 303
    assert the_submission(app, within)["flagged"] is False
    assert len(events(app, "person_limit_exceeded")) == 1


def test_m1_local_protection_follows_the_orderers_unit_when_done(app: Flask, as_user) -> None:
    """R-LOCAL-MAX by the server's data at submission (the post's unit_type aside) and again when
    LVS marks an order done (one stored before this fix said unit_type=myndighet)."""
    home = as_user("hemtjanst_manager")
    resp = home.post("/forms/access-order", data=form(
        city_district="Hisingen", local_protection="y",
        local_protection_until=(today() + timedelta(days=30)).isoformat(),
        local_protection_reason="Akut hotbild, beslut inväntas."))
    assert resp.status_code == 422
    assert "Bara enhetschef på Myndighet" in field_error(html(resp), "local_protection")
    stored = bypassing_check(app, "hemtjanst_manager", order_data(
        ("Anna Andersson", "anna01"), local_protection=True,
        local_protection_until=(today() + timedelta(days=30)).isoformat(),
        local_protection_reason="Akut hotbild, beslut inväntas."))
    assert mark_done(as_user("lvs"), stored).status_code == 303
    assert count(app, LocalProtection) == 0
    assert the_submission(app, stored)["flagged"] is True
    assert events(app, "local_protection_refused") == [("refused", "R-LOCAL-MAX", stored)]


# --- M2: fee handlers never get access (R-NO-FEE-HANDLER, §7.2) ---------------------------------


def test_m2_add_from_fee_unit_refused(app: Flask, as_user, password_hash: str) -> None:
    """A manager of a fee unit who posts unit_type=myndighet is still a fee unit: no additions,
    at submission and again when LVS marks an order done."""
    add_user(app, password_hash, "feechef", "Avgiftshandläggning", ("unit_manager",))
    fee_manager = as_user("feechef")
    resp = fee_manager.post("/forms/access-order", data=form(
        unit_type="myndighet", unit_name="Myndighet Centrum"))
    assert resp.status_code == 422
    assert "avgiftsenhet" in html(resp)
    assert count(app, Submission) == 0
    assert [e[0:2] for e in events(app, "access_order_refused")] == [
        ("refused", "R-NO-FEE-HANDLER")]
    # Removing is allowed: it lowers the count.
    submit(fee_manager, form(**rows(("Anna Andersson", "anna01"), action="remove"),
                             valid_from="", valid_to=""))
    # An order of the fee unit stored without the check (before this fix) gives no grant.
    stored = bypassing_check(app, "feechef", order_data(("Anna Andersson", "anna01")))
    lvs = as_user("lvs")
    assert "Rad 1: avgiftshandläggare" in html(lvs.get(f"/submissions/{stored}"))
    assert mark_done(lvs, stored).status_code == 303
    assert active_grants(app) == []
    assert the_submission(app, stored)["flagged"] is True
    assert events(app, "grant_refused") == [("refused", "R-NO-FEE-HANDLER rad 1", stored)]


def test_m2_grant_to_fee_handler_user_refused(app: Flask, as_user, password_hash: str) -> None:
    """A user of a fee unit is refused by the users table, letter case aside; and when the user
    joined a fee unit after the order was placed, marking it done grants the others only."""
    manager, lvs = as_user("manager"), as_user("lvs")
    resp = manager.post("/forms/access-order", data=form(
        **rows(("Frida Avgift", "FEE"))))
    assert resp.status_code == 422
    assert "Avgiftshandläggare" in field_error(html(resp), "persons-0-username")
    # Look-alike letters (fullwidth, Cyrillic е) are not a city account's name.
    for disguised in ("\uff46\uff45\uff45", "f\u0435e"):
        resp = manager.post("/forms/access-order", data=form(**rows(("Frida Avgift", disguised))))
        assert resp.status_code == 422
        assert "staden-kontot" in field_error(html(resp), "persons-0-username")
    public_id = submit(manager, form(**rows(("Anna Andersson", "anna01"),
                                            ("Nora Ny", "nora08"))))
    add_user(app, password_hash, "nora08", "Avgiftshandläggning")  # joins the fee unit
    assert "Rad 2: avgiftshandläggare" in html(lvs.get(f"/submissions/{public_id}"))
    assert mark_done(lvs, public_id).status_code == 303
    assert active_grants(app) == ["anna01"]
    assert the_submission(app, public_id)["flagged"] is True
    assert events(app, "grant_refused") == [("refused", "R-NO-FEE-HANDLER rad 2", public_id)]


# --- M4: the position from the configured list --------------------------------------------------


def test_m4_position_from_configured_list(app: Flask, as_user) -> None:
    manager = as_user("manager")
    page = html(manager.get("/forms/access-order"))
    assert '<select id="persons-0-position" name="persons-0-position">' in page
    for position in app.config["POSITIONS"]:
        assert f'<option value="{position}">' in page
    for bad in ("Anna Andersson, Storgatan 1", "chef för allt", ""):
        resp = manager.post("/forms/access-order", data=form(**{"persons-0-position": bad}))
        assert resp.status_code == 422, bad
        assert "Välj befattning i listan" in field_error(html(resp), "persons-0-position")
    assert count(app, Submission) == 0
    # A removal row may leave it empty; a listed one (letter case aside) is taken.
    removal = {**rows(("Anna Andersson", "anna01"), action="remove"), "persons-0-position": ""}
    submit(manager, form(**removal, valid_from="", valid_to=""))
    submit(manager, form(case_number="0655599", **{"persons-0-position": "Planerare"}))
    # The list is configuration.
    app.config["POSITIONS"] = ["stödassistent"]
    assert manager.post("/forms/access-order", data=form(
        case_number="0655577")).status_code == 422
    submit(manager, form(case_number="0655577", **{"persons-0-position": "stödassistent"}))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 3
