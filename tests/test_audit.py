"""The audit log (SPEC §1.4, routine `003`: afterwards it must be possible to see who has taken part
of protected data): the events written, nothing protected in them, the hash chain that shows any
change, the append-only trigger, `flask audit-verify`, and who may read the log."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from conftest import USERS, login, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from portal import audit
from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent
from portal.rules import contains_personnummer

PNR = "19121212-1212"
ORDER_NAMES = ["Anna Andersson", "Bengt Berg"]
# The columns that hold words; hash and prev_hash are hex and may look like anything.
TEXT_COLUMNS = ("username", "action", "object_type", "object_id", "case_number", "outcome",
                "detail", "remote_addr")


def client_for(app: Flask, username: str) -> FlaskClient:
    c = app.test_client()
    assert login(c, username).status_code == 303
    return c


def valid_order(**overrides: str) -> dict[str, str]:
    day = today()
    return order_form(valid_from=day.isoformat(),
                      valid_to=(day + timedelta(days=90)).isoformat(), **overrides)


def submit(client: FlaskClient, **overrides: str) -> str:
    return submit_form(client, "/forms/access-order", valid_order(**overrides))


def events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        db.session.expunge_all()
        return list(rows)


def the_whole_path(app: Flask) -> str:
    """Everything that writes an event, once: returns the order's public id."""
    anon = app.test_client()
    assert login(anon, "manager", "fel lösenord").status_code == 422
    assert login(anon, PNR, "fel lösenord").status_code == 422  # a personnummer typed as name
    manager = client_for(app, "manager")
    # An order refused for a personnummer in the case number and person names: nothing logged.
    bad = manager.post("/forms/access-order", data=valid_order(
        case_number=PNR, **{"persons-1-full_name": ORDER_NAMES[1], "persons-1-action": "add",
                            "persons-1-username": "bengt02",
                            "persons-1-email": "bengt@goteborg.se",
                            "persons-1-position": "socialsekreterare"}))
    assert bad.status_code == 422
    public_id = submit(manager, **{"persons-1-full_name": ORDER_NAMES[1],
                                   "persons-1-action": "add", "persons-1-username": "bengt02",
                                   "persons-1-email": "bengt@goteborg.se",
                                   "persons-1-position": "socialsekreterare"})
    for suffix in ("", "/pdf", "/message"):
        assert manager.get(f"/submissions/{public_id}{suffix}").status_code == 200
    assert client_for(app, "staff").get("/lvs/queue").status_code == 403
    lvs = client_for(app, "lvs")
    assert lvs.post(f"/lvs/submissions/{public_id}/done",
                    data={"reply": "Klart, Anna Andersson har fått behörighet.",
                          "version": "1"}).status_code == 303
    assert manager.post("/logout").status_code == 303
    return public_id


def test_every_step_writes_its_event(app: Flask) -> None:
    public_id = the_whole_path(app)
    rows = events(app)
    by_action: dict[str, list[AuditEvent]] = {}
    for ev in rows:
        by_action.setdefault(ev.action, []).append(ev)

    failed = by_action["login_failed"]
    assert len(failed) == 2 and all(e.outcome == "failed" for e in failed)
    assert failed[0].username == "manager" and failed[1].username is None
    assert {e.username for e in by_action["login"]} == {"manager", "staff", "lvs"}
    assert [e.username for e in by_action["logout"]] == ["manager"]
    [denied] = by_action["access_denied"]
    assert (denied.username, denied.outcome) == ("staff", "denied")
    for action, who in (("submission_created", "manager"), ("submission_viewed", "manager"),
                        ("pdf_fetched", "manager"), ("message_fetched", "manager"),
                        ("submission_processed", "lvs")):
        [ev] = by_action[action]
        assert (ev.username, ev.object_id, ev.case_number, ev.object_type) == (
            who, public_id, "0655588", "access_order"), action
        assert ev.unit_id is not None
    # The refused order left no trace but its absence.
    assert len(by_action["submission_created"]) == 1


def test_no_personnummer_or_person_name_in_any_audit_row(app: Flask) -> None:
    the_whole_path(app)
    # The people in the order by full, first and last name; the users by full name (their
    # usernames are what the log is for).
    names = [part for name in ORDER_NAMES for part in (name, *name.split())]
    names += [full for full, _, _ in USERS.values()]
    rows = events(app)
    assert rows
    for ev in rows:
        for column in TEXT_COLUMNS:
            value = getattr(ev, column)
            if not value:
                continue
            assert not contains_personnummer(value), (ev.seq, column, value)
            assert PNR not in value
            for name in names:
                assert name.casefold() not in value.casefold(), (ev.seq, column, value)


def test_the_chain_verifies(app: Flask) -> None:
    the_whole_path(app)
    with app.app_context():
        result = audit.verify()
        assert result.ok, result
        assert result.checked == audit.count() >= 10


# --- tampering -------------------------------------------------------------------------------


def some_events(app: Flask, n: int = 8) -> None:
    """A short chain written straight through audit.record (the tamper tests need no requests)."""
    with app.app_context():
        for i in range(n):
            audit.record("submission_viewed", object_type="access_order", object_id=f"ref{i:03d}",
                         unit_id=1, case_number="0655588", detail=f"händelse {i}")
        db.session.commit()
        assert audit.verify().ok


@contextmanager
def triggers_dropped(app: Flask) -> Iterator[None]:
    """Take away the append-only trigger the way an intruder with database rights could; on a
    shared PostgreSQL database put it back afterwards."""
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            db.session.execute(text("DROP TRIGGER audit_events_no_change ON audit_events"))
        else:
            db.session.execute(text("DROP TRIGGER audit_events_no_update"))
            db.session.execute(text("DROP TRIGGER audit_events_no_delete"))
        db.session.commit()
    try:
        yield
    finally:
        if dialect == "postgresql":
            with app.app_context():
                db.session.execute(text(
                    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
                    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"))
                db.session.commit()


def tamper(app: Flask, sql: str, seq: int) -> None:
    with app.app_context():
        result = db.session.execute(text(sql), {"seq": seq})
        assert result.rowcount == 1
        db.session.commit()


def test_changing_a_row_breaks_the_chain_at_that_row(app: Flask) -> None:
    some_events(app)
    with triggers_dropped(app):
        tamper(app, "UPDATE audit_events SET detail = 'ändrad' WHERE seq = :seq", 4)
        with app.app_context():
            result = audit.verify()
            assert not result.ok
            assert result.broken_seq == 4
            assert result.checked == 3


def test_deleting_a_middle_row_breaks_the_chain(app: Flask) -> None:
    some_events(app)
    with triggers_dropped(app):
        tamper(app, "DELETE FROM audit_events WHERE seq = :seq", 5)
        with app.app_context():
            result = audit.verify()
            assert not result.ok
            assert result.broken_seq == 5


def test_the_append_only_trigger_refuses_update_and_delete(app: Flask) -> None:
    some_events(app)
    before = [(e.seq, e.hash, e.detail) for e in events(app)]
    for sql in ("UPDATE audit_events SET detail = 'ändrad' WHERE seq = 2",
                "DELETE FROM audit_events WHERE seq = 2"):
        with app.app_context():
            with pytest.raises(DBAPIError):
                db.session.execute(text(sql))
                db.session.commit()
            db.session.rollback()
    assert [(e.seq, e.hash, e.detail) for e in events(app)] == before
    with app.app_context():
        assert audit.verify().ok


def cli_output(result: object) -> str:
    out = getattr(result, "output", "") or ""
    try:
        out += getattr(result, "stderr", "") or ""
    except ValueError:  # older Click: stderr not captured separately
        pass
    return out


def test_flask_audit_verify_exits_0_then_1_after_tampering(app: Flask) -> None:
    some_events(app)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit-verify"])
    assert ok.exit_code == 0, cli_output(ok)
    with triggers_dropped(app):
        tamper(app, "UPDATE audit_events SET username = 'någon annan' WHERE seq = :seq", 6)
        broken = runner.invoke(args=["audit-verify"])
        assert broken.exit_code == 1
        assert re.search(r"(?<!\d)6(?!\d)", cli_output(broken)), cli_output(broken)


# --- who reads the log -------------------------------------------------------------------------


def test_admin_sees_all_events_and_a_manager_only_their_units(app: Flask) -> None:
    manager, other = client_for(app, "manager"), client_for(app, "other_manager")
    submit(manager, case_number="0655588")
    submit(other, case_number="0655599", unit_name="Myndighet Nordost", city_district="Nordost")

    admin_page = client_for(app, "admin").get("/audit")
    assert admin_page.status_code == 200
    page = admin_page.get_data(as_text=True)
    assert "0655588" in page and "0655599" in page
    # Swedish labels, not the codes (issue 14 item 5; tests/test_audit_page.py)
    assert "other_manager" in page and "Blankett skickad" in page and "Inloggning" in page

    own = manager.get("/audit")
    assert own.status_code == 200
    page = own.get_data(as_text=True)
    assert "0655588" in page
    assert "0655599" not in page and "other_manager" not in page

    page = other.get("/audit").get_data(as_text=True)
    assert "0655599" in page and "0655588" not in page


def test_sqlite_runs_in_wal_with_normal_sync_and_overwrites_deleted_data(tmp_path) -> None:
    """The embedded database's settings on every connection (portal/db_setup.py): WAL with
    synchronous=NORMAL (durable across a crash of the portal; the audit write costs no fsync per
    page view), foreign keys enforced, deleted content overwritten."""
    from portal import create_app

    own = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                      "SECRET_KEY": "s" * 32, "PURGE_INTERVAL_SECONDS": 0},
                     instance_path=str(tmp_path))
    with own.app_context():
        pragma = {name: db.session.execute(text(f"PRAGMA {name}")).scalar()
                  for name in ("journal_mode", "synchronous", "foreign_keys", "secure_delete")}
        db.engine.dispose()
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1,
                      "secure_delete": 1}
