"""The pages that grow with stored data show 100 rows at a time (issue 6, bench/README.md): the
access register (§4.1) and the LVS queue (oldest first), each with links to the next page."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal.clock import today, utcnow
from portal.extensions import db
from portal.models import Grant, Submission, Unit, User


def _unit_and_users(name: str = "Myndighet Centrum") -> tuple[Unit, User, User]:
    unit = db.session.scalar(select(Unit).where(Unit.name == name))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    lvs = db.session.scalar(select(User).where(User.username == "lvs"))
    assert unit and manager and lvs
    return unit, manager, lvs


def _grants(n: int) -> None:
    unit, manager, lvs = _unit_and_users()
    order = Submission(form="access_order", status="done", unit_id=unit.id,
                       submitted_by_id=manager.id, case_number="0655588", data={})
    db.session.add(order)
    db.session.flush()
    day = today()
    db.session.add_all(
        Grant(case_number=f"{i:07d}", username=f"user{i:03d}", full_name=f"Person {i}",
              email=f"user{i}@goteborg.se", position="socialsekreterare", unit_id=unit.id,
              unit_name=unit.name, unit_type=unit.unit_type, valid_from=day,
              valid_to=day + timedelta(days=100), granted_by_id=lvs.id, order_id=order.id)
        for i in range(n))
    db.session.commit()


def test_the_register_shows_a_hundred_grants_a_page_in_case_order(app: Flask, as_user: Any) -> None:
    with app.app_context():
        _grants(205)
    for who in ("lvs", "manager"):
        client = as_user(who)
        first = client.get("/register").get_data(as_text=True)
        assert first.count("<td>user") == 100
        assert "user000" in first and "user099" in first and "user100" not in first
        assert "/register?page=2" in first and "Föregående sida" not in first
        last = client.get("/register?page=3").get_data(as_text=True)
        assert last.count("<td>user") == 5 and "user204" in last
        assert "/register?page=2" in last and "Nästa sida" not in last
        assert "Inga fler" in client.get("/register?page=9").get_data(as_text=True)


def test_a_small_register_has_no_page_links(app: Flask, as_user: Any) -> None:
    with app.app_context():
        _grants(3)
    page = as_user("lvs").get("/register").get_data(as_text=True)
    assert page.count("<td>user") == 3 and "Sida 1" not in page


def test_the_lvs_queue_shows_the_oldest_hundred_first(app: Flask, as_user: Any) -> None:
    with app.app_context():
        unit, manager, _ = _unit_and_users()
        start = utcnow() - timedelta(days=2)
        db.session.add_all(
            Submission(form="access_order", status="submitted", unit_id=unit.id,
                       submitted_by_id=manager.id, case_number=f"{i:07d}", data={},
                       created_at=start + timedelta(minutes=i))
            for i in range(130))
        db.session.commit()
    lvs = as_user("lvs")
    first = lvs.get("/lvs/queue").get_data(as_text=True)
    assert "0000000" in first and "0000099" in first and "0000100" not in first
    assert "/lvs/queue?page=2" in first
    second = lvs.get("/lvs/queue?page=2").get_data(as_text=True)
    assert "0000100" in second and "0000129" in second and "0000099" not in second
    assert "Nästa sida" not in second
    assert len(lvs.get("/lvs/queue.json").get_json()) == 130  # the JSON export stays whole
