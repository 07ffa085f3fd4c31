"""Follow-ups without client data (issue 16 item 5; routine §1.3, §5.12; SPEC §1.1), the whole way:
the social secretary's checklist and the unit manager's access order with local protection leave
a reminder of a case number, a kind and a date for the one who set it — nothing else — that their
start page lists with a "Klar" button; it goes when marked done, when its day has passed
(`flask purge`) or when the case is closed."""
from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from conftest import count, html, order_form, submit_form
from flask import Flask
from sqlalchemy import select, text
from test_cases import granted
from test_checklist import FICTIONAL, PHONE_CODE, THREAT, _db_files, checklist_form

from portal import follow_ups, retention, scheduler
from portal.clock import STOCKHOLM, today
from portal.extensions import db
from portal.models import AuditEvent, FollowUp, User

CASE = "0655588"
CHECKLIST_LINE = "uppföljning med checklistan senast"
PROTECTION_LINE = "lokalt skydd upphör"


def rows(app: Flask) -> list[tuple[str, str, str, date]]:
    """Every follow-up as (username, case number, kind, date), sorted."""
    with app.app_context():
        found = db.session.execute(
            select(User.username, FollowUp.case_number, FollowUp.kind, FollowUp.due_on)
            .join(User, User.id == FollowUp.user_id)
        ).all()
        return sorted((u, c, k, d) for u, c, k, d in found)


def days(n: int) -> date:
    return today() + timedelta(days=n)


def render(client: Any, as_pdf: bool = False, **overrides: str | None) -> Any:
    data = checklist_form(**overrides)
    if as_pdf:
        data["as_pdf"] = "1"
    resp = client.post("/forms/checklist", data=data)
    assert resp.status_code == 200, html(resp)[:2000]
    return resp


def remember(app: Flask, username: str, case: str, kind: str, due: date) -> str:
    """A follow-up of the user made through the service (as a form's hook makes it), committed;
    its public id."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        assert follow_ups.remember(user, case, kind, due, today())
        db.session.commit()
        return str(db.session.scalar(select(FollowUp.public_id).where(
            FollowUp.user_id == user.id, FollowUp.case_number == case, FollowUp.kind == kind)))


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


# --- what is remembered ------------------------------------------------------------------------


def test_a_checklist_remembers_its_next_follow_up_once_and_a_later_render_moves_it(
        app: Flask, as_user: Any) -> None:
    client = as_user("secretary")
    render(client, next_follow_up=days(60).isoformat())
    assert rows(app) == [("secretary", CASE, "checklist", days(60))]
    # The PDF for the locked file of the next version: the same reminder, moved, never a second.
    render(client, as_pdf=True, next_follow_up=days(90).isoformat())
    assert rows(app) == [("secretary", CASE, "checklist", days(90))]
    render(client, next_follow_up=days(30).isoformat())  # moved earlier too: the latest wins
    assert rows(app) == [("secretary", CASE, "checklist", days(30))]


def test_a_checklist_with_local_protection_remembers_its_end_too(
        app: Flask, as_user: Any) -> None:
    client = as_user("secretary")
    render(client, as_pdf=True, protection_kind="lokalt_skydd",
           local_protection_until=days(45).isoformat(), next_follow_up=days(40).isoformat())
    assert rows(app) == [("secretary", CASE, "checklist", days(40)),
                         ("secretary", CASE, "local_protection", days(45))]
    render(client, protection_kind="lokalt_skydd",
           local_protection_until=days(50).isoformat(), next_follow_up=days(40).isoformat())
    assert rows(app) == [("secretary", CASE, "checklist", days(40)),
                         ("secretary", CASE, "local_protection", days(50))]


def test_a_checklist_without_a_case_number_remembers_nothing(app: Flask, as_user: Any) -> None:
    client = as_user("secretary")
    render(client, case_number="")  # the case number is optional on the checklist
    render(client, case_number="", protection_kind="lokalt_skydd",
           local_protection_until=days(45).isoformat(), next_follow_up=days(40).isoformat())
    assert rows(app) == []
    render(client, case_number="0655599", next_follow_up=days(1).isoformat())
    assert rows(app) == [("secretary", "0655599", "checklist", days(1))]


def test_a_past_date_is_not_remembered(app: Flask) -> None:
    """The checklist refuses a past follow-up date itself; the service refuses it for any form
    (today is still remembered: it is not passed)."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "secretary"))
        assert user is not None
        assert not follow_ups.remember(user, CASE, "checklist", days(-1), today())
        assert not follow_ups.remember(user, CASE, "checklist", None, today())
        assert follow_ups.remember(user, "0655511", "checklist", today(), today())  # today: yes
        # Only a case number by the configured pattern reaches the table, never other text.
        assert not follow_ups.remember(user, "19121212-1212", "checklist", days(5), today())
        assert not follow_ups.remember(user, "Greta 0655588", "checklist", days(5), today())
        with pytest.raises(ValueError):
            follow_ups.remember(user, CASE, "anything", days(5), today())
        db.session.commit()
    assert rows(app) == [("secretary", "0655511", "checklist", today())]


def test_the_reminder_holds_only_the_case_number_kind_and_date(
        app: Flask, as_user: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = as_user("secretary")
    lokalt = {"protection_kind": "lokalt_skydd", "local_protection_until": days(45).isoformat(),
              "next_follow_up": days(40).isoformat()}
    render(client, as_pdf=True, **lokalt)
    render(client, **lokalt)
    with app.app_context():
        columns = {c.name for c in FollowUp.__table__.columns}
        assert columns == {"id", "public_id", "user_id", "case_number", "kind", "due_on",
                           "created_at"}
        # Every text of every row of every table: nothing typed into the checklist but the
        # case number and the dates.
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).all():
                for value in row:
                    for typed in (THREAT, FICTIONAL, PHONE_CODE):
                        assert not (isinstance(value, str) and typed in value), table.name
        db.session.remove()
        db.engine.dispose()  # checkpoint the WAL into the file searched below
    for typed in (THREAT, FICTIONAL, PHONE_CODE):
        assert typed not in caplog.text
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        return  # PostgreSQL: the rows above; the file search is for SQLite
    raw = b"".join(path.read_bytes() for path in _db_files(app))
    assert CASE.encode() in raw  # the search finds what is stored
    for typed in (THREAT, FICTIONAL, PHONE_CODE):
        assert typed.encode("utf-8") not in raw, typed
    with sqlite3.connect(_db_files(app)[0]) as conn:
        stored = conn.execute("SELECT case_number, kind, due_on FROM follow_ups").fetchall()
    assert sorted(stored) == [(CASE, "checklist", days(40).isoformat()),
                              (CASE, "local_protection", days(45).isoformat())]


def test_an_access_order_with_local_protection_is_remembered_for_the_unit_manager(
        app: Flask, as_user: Any) -> None:
    manager = as_user("manager")
    submit_form(manager, "/forms/access-order", order_form(case_number="0700001"))
    assert rows(app) == []  # no local protection: nothing to follow up
    submit_form(manager, "/forms/access-order", order_form(
        case_number="0700002", local_protection="y",
        local_protection_until=days(60).isoformat(),
        local_protection_reason="Akut hotbild, Skatteverkets beslut inväntas."))
    assert rows(app) == [("manager", "0700002", "local_protection", days(60))]


def test_a_refused_form_remembers_nothing(app: Flask, as_user: Any) -> None:
    resp = as_user("secretary").post("/forms/checklist", data=checklist_form(
        next_follow_up=days(30).isoformat(), threat_picture=""))
    assert resp.status_code == 422
    resp = as_user("manager").post("/forms/access-order", data=order_form(
        local_protection="y", local_protection_until=days(200).isoformat(),
        local_protection_reason="Akut hotbild, Skatteverkets beslut inväntas."))
    assert resp.status_code == 422  # over three months (§1.3)
    assert rows(app) == []


def test_remembering_twice_is_one_row(app: Flask) -> None:
    remember(app, "secretary", CASE, "checklist", days(10))
    remember(app, "secretary", CASE, "checklist", days(20))
    remember(app, "manager", CASE, "checklist", days(5))  # another user's: a row of their own
    assert rows(app) == [("manager", CASE, "checklist", days(5)),
                         ("secretary", CASE, "checklist", days(20))]


# --- the start page ------------------------------------------------------------------------------


def test_the_start_page_lists_the_owners_follow_ups_in_date_order(
        app: Flask, as_user: Any) -> None:
    remember(app, "secretary", "0655588", "checklist", days(80))
    remember(app, "secretary", "0655599", "local_protection", days(10))
    remember(app, "manager", "0700003", "local_protection", days(40))
    page = html(as_user("secretary").get("/"))
    assert "Dina uppföljningar" in page
    first = f"Ärende 0655599: lokalt skydd upphör {days(10).isoformat()} – följ upp och " \
        "dokumentera beslutet i journalen (§1.3)"
    second = f"Ärende 0655588: uppföljning med checklistan senast {days(80).isoformat()} (§5.12)"
    assert first in page and second in page
    assert page.index(first) < page.index(second)
    assert "0700003" not in page  # the manager's own, not the secretary's
    # Within REMINDER_DAYS (30): flagged; later: not.
    start, end = page.index('<table class="follow-ups">'), page.index("</table>", page.index(
        '<table class="follow-ups">'))
    table_rows = page[start:end].split("<tr")[2:]
    assert len(table_rows) == 2
    assert 'class="flagged"' in table_rows[0] and "Inom 30 dagar" in table_rows[0]
    assert 'class="flagged"' not in table_rows[1] and "Inom 30 dagar" not in table_rows[1]
    assert page.count(">Klar</button>") == 2
    manager_page = html(as_user("manager").get("/"))
    assert f"Ärende 0700003: lokalt skydd upphör {days(40).isoformat()}" in manager_page
    assert "0655599" not in manager_page


@pytest.mark.parametrize("username", ["staff", "planner", "lvs", "admin"])
def test_other_roles_have_no_follow_ups_section(as_user: Any, username: str) -> None:
    assert "Dina uppföljningar" not in html(as_user(username).get("/"))


def test_the_forms_say_what_is_remembered(as_user: Any) -> None:
    checklist_page = html(as_user("secretary").get("/forms/checklist"))
    assert "Ärendenumret och datumet sparas som påminnelse på din startsida tills datumet " \
        "passerat eller du markerar den klar. Inget annat sparas." in checklist_page
    order_page = html(as_user("manager").get("/forms/access-order"))
    assert "sparas som påminnelse på din startsida" in order_page


# --- done --------------------------------------------------------------------------------------


def test_marking_ones_own_follow_up_done_deletes_it_with_an_audit_event(
        app: Flask, as_user: Any) -> None:
    public_id = remember(app, "secretary", CASE, "checklist", days(10))
    client = as_user("secretary")
    resp = client.post(f"/follow-ups/{public_id}/done")
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    assert rows(app) == []
    done = events(app, "follow_up_done")
    assert [(e.username, e.case_number, e.object_id, e.outcome) for e in done] == [
        ("secretary", CASE, public_id, "ok")]
    page = html(client.get("/"))
    assert "Uppföljningen är markerad som klar" in page and CASE not in page
    # Twice: it is gone.
    assert client.post(f"/follow-ups/{public_id}/done").status_code == 404


def test_another_users_follow_up_is_404_and_stays(app: Flask, as_user: Any) -> None:
    public_id = remember(app, "secretary", CASE, "checklist", days(10))
    for username in ("manager", "other_manager"):
        assert as_user(username).post(f"/follow-ups/{public_id}/done").status_code == 404
    assert as_user("secretary").post("/follow-ups/no-such-id-00000000/done").status_code == 404
    assert rows(app) == [("secretary", CASE, "checklist", days(10))]
    assert events(app, "follow_up_done") == []
    denied = events(app, "follow_up_denied")
    assert [(e.username, e.outcome) for e in denied] == [
        ("manager", "denied"), ("other_manager", "denied"), ("secretary", "denied")]


def test_done_needs_the_csrf_token_and_a_role_that_has_follow_ups(
        app: Flask, as_user: Any) -> None:
    public_id = remember(app, "secretary", CASE, "checklist", days(10))
    assert as_user("secretary").post(
        f"/follow-ups/{public_id}/done", csrf=False).status_code == 400
    for username in ("staff", "lvs", "admin"):
        assert as_user(username).post(f"/follow-ups/{public_id}/done").status_code == 403
    anonymous = app.test_client()
    resp = anonymous.post(f"/follow-ups/{public_id}/done")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert rows(app) == [("secretary", CASE, "checklist", days(10))]


def test_done_from_the_start_page_button(app: Flask, as_user: Any) -> None:
    """The button as the page has it: its form posts to the follow-up with the page's token."""
    import re

    public_id = remember(app, "secretary", CASE, "local_protection", days(3))
    client = as_user("secretary")
    page = html(client.get("/"))
    form = re.search(rf'<form method="post" action="(/follow-ups/{public_id}/done)">\s*'
                     r'<input type="hidden" name="csrf_token" value="([^"]+)">', page)
    assert form
    resp = client.post(form.group(1), data={"csrf_token": form.group(2)}, csrf=False)
    assert resp.status_code == 303
    assert rows(app) == []


# --- purged when passed, forgotten at closing ------------------------------------------------------


def _set_due(app: Flask, due: date) -> None:
    """Time passes: the follow-ups' day moves to `due` (the service never stores a past date)."""
    with app.app_context():
        db.session.execute(text("UPDATE follow_ups SET due_on = :d"), {"d": due})
        db.session.commit()


def test_the_retention_rule_deletes_follow_ups_whose_day_has_passed(app: Flask) -> None:
    remember(app, "secretary", "0655588", "checklist", days(5))
    remember(app, "secretary", "0655599", "checklist", days(5))
    remember(app, "manager", "0700003", "local_protection", days(6))
    _set_due(app, days(-1))
    remember(app, "secretary", "0655511", "checklist", today())  # today: not passed yet
    with app.app_context():
        counts = scheduler.purge_job()
        assert counts["follow_ups_passed"] == 3
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "purge", AuditEvent.object_id == "follow_ups_passed"))
        assert event is not None and event.detail == "antal: 3"
    assert rows(app) == [("secretary", "0655511", "checklist", today())]
    # The next Swedish day (just after midnight in Stockholm) it goes too.
    midnight = datetime.combine(days(1), datetime.min.time(), tzinfo=STOCKHOLM)
    with app.app_context():
        assert retention.run_rule("follow_ups_passed", midnight + timedelta(minutes=1)) == 1
        db.session.commit()
    assert rows(app) == []


def test_flask_purge_prints_the_count_of_passed_follow_ups(app: Flask) -> None:
    remember(app, "secretary", CASE, "checklist", days(5))
    _set_due(app, days(-2))
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "follow_ups_passed: 1" in result.output
    assert CASE not in result.output
    assert rows(app) == []


def test_closing_the_case_forgets_its_follow_ups_of_every_user(app: Flask, as_user: Any) -> None:
    granted(as_user, "manager", ("Anna Andersson", "anna01"), local_protection="y",
            local_protection_until=days(60).isoformat(),
            local_protection_reason="Akut hotbild, Skatteverkets beslut inväntas.")
    remember(app, "secretary", CASE, "checklist", days(30))
    remember(app, "secretary", "0655599", "checklist", days(30))  # another case: stays
    assert ("manager", CASE, "local_protection", days(60)) in rows(app)
    manager = as_user("manager")
    preview = manager.post("/cases/close", data={"case_number": CASE, "event": "closed"})
    assert preview.status_code == 200
    assert len(rows(app)) == 3  # the preview changes nothing
    resp = manager.post("/cases/close", data={"case_number": CASE, "event": "closed",
                                              "confirm": "1"})
    assert resp.status_code == 200, html(resp)[:2000]
    assert rows(app) == [("secretary", "0655599", "checklist", days(30))]
    assert count(app, AuditEvent, AuditEvent.action == "case_closed") == 1


def test_a_closing_refused_for_nothing_to_close_forgets_nothing(app: Flask, as_user: Any) -> None:
    """A case the manager has nothing of is not closed, so nobody's reminders go."""
    remember(app, "secretary", CASE, "checklist", days(30))
    resp = as_user("other_manager").post("/cases/close", data={
        "case_number": CASE, "event": "closed", "confirm": "1"})
    assert resp.status_code == 422
    assert rows(app) == [("secretary", CASE, "checklist", days(30))]


def test_a_deleted_user_takes_their_follow_ups(app: Flask) -> None:
    """The foreign key cascades: a follow-up never outlives its user."""
    remember(app, "secretary", CASE, "checklist", days(30))
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "secretary"))
        db.session.execute(text("DELETE FROM user_roles WHERE user_id = :u"), {"u": user.id})
        db.session.execute(text("DELETE FROM users WHERE id = :u"), {"u": user.id})
        db.session.commit()
    assert rows(app) == []

