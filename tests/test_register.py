"""The access register's service (portal/register.py) on plain values, in an app context: one
definition of an active grant that every question of the register shares, applying an order LVS
has carried out (§2.2; its checks again: §7.2 fee handlers, §1.3 local protection, §2.1 the person
limit), what ends soon and the register page. The whole path through the pages is in
test_access_order.py and test_trust_access.py."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal import register
from portal.clock import today, utcnow
from portal.extensions import db
from portal.models import AuditEvent, Grant, LocalProtection, Submission, Unit, User

CASE = "0655588"


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


def user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def unit(name: str) -> Unit:
    found = db.session.scalar(select(Unit).where(Unit.name == name))
    assert found is not None
    return found


def person(username: str, action: str = "add", position: str = "socialsekreterare") -> dict[str, str]:
    return {"action": action, "full_name": username.title(), "username": username,
            "email": f"{username}@goteborg.se", "position": position}


def order(by: str, *persons: dict[str, str], case: str = CASE, flagged: bool = False,
          **changes: Any) -> Submission:
    """An access order as submissions.create stores it (plain content), waiting for LVS."""
    orderer = user(by)
    day = today()
    data: dict[str, Any] = {
        "case_number": case, "city_district": "Centrum", "unit_type": orderer.unit.unit_type,
        "unit_name": orderer.unit.name, "persons": list(persons),
        "valid_from": day.isoformat(), "valid_to": (day + timedelta(days=180)).isoformat(),
        "local_protection": False, "local_protection_until": None, **changes}
    sub = Submission(form="access_order", unit_id=orderer.unit_id, submitted_by_id=orderer.id,
                     case_number=case, data=data, flagged=flagged)
    db.session.add(sub)
    db.session.flush()
    return sub


def grant(username: str, valid_from: date, valid_to: date, *, unit_name: str = "Myndighet Centrum",
          revoked: bool = False, case: str = CASE) -> Grant:
    """A row of the register as an earlier order left it."""
    u, lvs = unit(unit_name), user("lvs")
    source = order("manager", person(username))
    g = Grant(case_number=case, username=username, full_name=username.title(),
              email=f"{username}@goteborg.se", position="socialsekreterare", unit_id=u.id,
              unit_name=u.name, unit_type=u.unit_type, valid_from=valid_from, valid_to=valid_to,
              granted_by_id=lvs.id, order_id=source.id,
              revoked_at=utcnow() if revoked else None)
    db.session.add(g)
    db.session.flush()
    return g


def names(grants: list[Grant]) -> list[str]:
    return sorted(g.username for g in grants)


def events(action: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.outcome, e.detail, e.object_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


# --- one definition of an active grant ---------------------------------------------------------


def register_of_many_kinds(day: date) -> None:
    grant("running", day - timedelta(days=10), day + timedelta(days=100))
    grant("later", day + timedelta(days=5), day + timedelta(days=20))  # starts later: counts
    grant("lastday", day - timedelta(days=10), day)  # its last day is today: counts
    grant("ended", day - timedelta(days=10), day - timedelta(days=1))
    grant("revoked", day - timedelta(days=10), day + timedelta(days=100), revoked=True)


def test_an_active_grant_is_not_revoked_and_not_over_and_may_start_later(ctx: None) -> None:
    day = today()
    register_of_many_kinds(day)
    active = db.session.scalars(select(Grant).where(register.active_on(day))).all()
    assert names(list(active)) == ["lastday", "later", "running"]


def test_every_question_of_the_register_counts_the_same_grants(ctx: None) -> None:
    """The person limit, the removal at case closure, the register page and the reminders all
    read active_on: a grant that starts later counts in each, an ended or revoked one in none."""
    day = today()
    register_of_many_kinds(day)
    unit_id = unit("Myndighet Centrum").id
    expected = ["lastday", "later", "running"]
    assert sorted(register.holders(CASE, unit_id, day)) == expected
    assert names(register.grants_to_remove(CASE, unit_id, day)) == expected
    assert names(register.page(user("lvs"), day, 1, 100).grants) == expected
    assert names(register.page(user("manager"), day, 1, 100).grants) == expected
    ending, _ = register.ending_soon(unit_id, day, 30)
    assert names(ending) == ["lastday", "later"]  # "running" ends in 100 days


# --- the register page ---------------------------------------------------------------------------


def test_the_page_shows_a_manager_their_own_unit_and_lvs_every_unit(ctx: None) -> None:
    day = today()
    grant("centrum", day, day + timedelta(days=60))
    grant("nordost", day, day + timedelta(days=60), unit_name="Myndighet Nordost")
    db.session.add(LocalProtection(case_number=CASE, unit_id=unit("Myndighet Nordost").id,
                                   until=day + timedelta(days=40),
                                   order_id=order("other_manager").id,
                                   recorded_by_id=user("lvs").id))
    db.session.flush()
    mine = register.page(user("manager"), day, 1, 100)
    assert names(mine.grants) == ["centrum"] and mine.protections == [] and not mine.more
    everyone = register.page(user("lvs"), day, 1, 100)
    assert names(everyone.grants) == ["centrum", "nordost"]
    assert [p.unit.name for p in everyone.protections] == ["Myndighet Nordost"]
    assert names(register.page(user("other_manager"), day, 1, 100).grants) == ["nordost"]


def test_the_page_is_in_case_order_a_page_at_a_time(ctx: None) -> None:
    day = today()
    for i in range(5):
        grant(f"p{i}", day, day + timedelta(days=60), case=f"06555{9 - i:02d}")
    first = register.page(user("lvs"), day, 1, 2)
    assert [g.case_number for g in first.grants] == ["0655505", "0655506"] and first.more
    last = register.page(user("lvs"), day, 3, 2)
    assert [g.case_number for g in last.grants] == ["0655509"] and not last.more
    assert register.page(user("lvs"), day, 4, 2).grants == []


# --- what ends soon ------------------------------------------------------------------------------


def test_ending_soon_lists_the_units_grants_and_protections_within_the_days(ctx: None) -> None:
    day = today()
    grant("soon", day - timedelta(days=100), day + timedelta(days=30))
    grant("later", day, day + timedelta(days=31))
    grant("elsewhere", day, day + timedelta(days=3), unit_name="Myndighet Nordost")
    centrum = unit("Myndighet Centrum").id
    for until in (day + timedelta(days=2), day + timedelta(days=60), day - timedelta(days=1)):
        db.session.add(LocalProtection(case_number=CASE, unit_id=centrum, until=until,
                                       order_id=order("manager").id,
                                       recorded_by_id=user("lvs").id))
    db.session.flush()
    grants, protections = register.ending_soon(centrum, day, 30)
    assert names(grants) == ["soon"]
    assert [p.until for p in protections] == [day + timedelta(days=2)]
    everywhere, _ = register.ending_soon(None, day, 30)
    assert [g.username for g in everywhere] == ["elsewhere", "soon"]  # soonest first
    assert names(register.ending_soon(centrum, day, 31)[0]) == ["later", "soon"]


# --- applying an order (§2.2) -------------------------------------------------------------------


def test_applying_an_order_grants_each_person_in_the_ordering_unit(ctx: None) -> None:
    day = today()
    sub = order("manager", person("anna01"), person("bengt02"),
                unit_name="Någon annan enhet", unit_type="avgift")  # what the order says: ignored
    register.apply_order(sub, user("lvs"), day)
    grants = db.session.scalars(select(Grant).order_by(Grant.username)).all()
    assert [g.username for g in grants] == ["anna01", "bengt02"]
    centrum = unit("Myndighet Centrum")
    for g in grants:
        assert (g.unit_id, g.unit_name, g.unit_type) == (centrum.id, centrum.name, "myndighet")
        assert (g.valid_from, g.valid_to) == (day, day + timedelta(days=180))
        assert (g.granted_by_id, g.order_id, g.revoked_at) == (user("lvs").id, sub.id, None)
    assert sub.flagged is False


def test_applying_an_order_only_flushes_the_request_commits(ctx: None) -> None:
    register.apply_order(order("manager", person("anna01")), user("lvs"), today())
    assert db.session.scalar(select(Grant.username)) == "anna01"  # flushed: visible here
    db.session.rollback()  # as the request does on an error after the hook
    assert db.session.scalars(select(Grant)).all() == []


def test_a_new_grant_replaces_the_old_one_and_a_removal_ends_it(ctx: None) -> None:
    day = today()
    old = grant("anna01", day - timedelta(days=30), day + timedelta(days=10))
    extension = order("manager", person("ANNA01"), valid_to=(day + timedelta(days=300)).isoformat())
    register.apply_order(extension, user("lvs"), day)
    assert old.revoked_at is not None and old.revoke_order_id == extension.id
    assert [g.valid_to for g in register.grants_to_remove(CASE, old.unit_id, day)] == [
        day + timedelta(days=300)]
    removal = order("manager", person("anna01", action="remove"))
    register.apply_order(removal, user("lvs"), day)
    assert register.holders(CASE, old.unit_id, day) == []
    assert db.session.scalar(select(Grant.revoke_order_id).where(
        Grant.order_id == extension.id)) == removal.id


def test_a_fee_handler_row_never_becomes_a_grant(ctx: None) -> None:
    """§7.2, again when LVS marks it done: the user "fee" belongs to an avgift unit, and the
    position avgiftshandläggare is refused whoever holds it."""
    sub = order("manager", person("anna01"), person("fee"),
                person("bengt02", position="avgiftshandläggare"))
    register.apply_order(sub, user("lvs"), today())
    assert db.session.scalars(select(Grant.username)).all() == ["anna01"]
    assert sub.flagged is True
    assert events("grant_refused") == [("refused", "R-NO-FEE-HANDLER rad 2", sub.public_id),
                                       ("refused", "R-NO-FEE-HANDLER rad 3", sub.public_id)]


def test_local_protection_is_recorded_only_for_a_myndighet_managers_order(ctx: None) -> None:
    until = today() + timedelta(days=60)
    changes = {"local_protection": True, "local_protection_until": until.isoformat()}
    mine = order("manager", person("anna01"), **changes)
    register.apply_order(mine, user("lvs"), today())
    assert db.session.scalars(select(LocalProtection.until)).all() == [until]
    home = order("hemtjanst_manager", person("bengt02"), case="0655599", **changes)
    register.apply_order(home, user("lvs"), today())
    assert db.session.scalars(select(LocalProtection.order_id)).all() == [mine.id]
    assert home.flagged is True and mine.flagged is False
    assert events("local_protection_refused") == [("refused", "R-LOCAL-MAX", home.public_id)]


def test_over_the_limit_without_justification_is_recorded_and_flagged(ctx: None) -> None:
    """Orders carried out in another sequence than they were checked: the grants exist in
    Treserva, so the register records them; the order is flagged and the audit log says so."""
    day = today()
    limit = register.person_limit("myndighet")
    for i in range(limit):
        grant(f"had{i}", day, day + timedelta(days=60))
    sub = order("manager", person("one_more"))
    register.apply_order(sub, user("lvs"), day)
    assert len(register.holders(CASE, sub.unit_id, day)) == limit + 1
    assert sub.flagged is True
    assert events("person_limit_exceeded") == [
        ("flagged", f"{limit + 1} > {limit}", sub.public_id)]


def test_over_the_limit_with_a_justification_is_not_flagged_again(ctx: None) -> None:
    day = today()
    for i in range(register.person_limit("myndighet")):
        grant(f"had{i}", day, day + timedelta(days=60))
    # The justification is sealed and shredded before LVS marks it done: flagged when
    # submitted stands for justified (register.order_justified).
    sub = order("manager", person("one_more"), flagged=True)
    register.apply_order(sub, user("lvs"), day)
    assert events("person_limit_exceeded") == []
    assert register.order_justified(sub, {"justification": "x" * 3}) is False
    assert register.order_justified(sub, {"justification": "Motiverat " * 10}) is True


def test_the_pages_name_the_configured_reminder_days(app: Flask, as_user) -> None:
    """REMINDER_DAYS is what the register and the start page say, not a 30 written in them."""
    app.config["REMINDER_DAYS"] = 12
    manager = as_user("manager")
    assert "Markerade rader upphör inom 12 dagar." in manager.get("/register").get_data(as_text=True)
    assert "Inget upphör inom 12 dagar." in manager.get("/").get_data(as_text=True)
