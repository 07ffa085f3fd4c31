"""Consistency under failure (issue 4, item 7; STYLE.md: one transaction per request, the audit
event in the same transaction as the change it records).

A failure in the middle of a submit or of LVS marking an order done leaves nothing half-written: no
submission, no grant, no audit event; the user gets the Swedish error page. Two LVS users marking
the same order done at the same moment: one wins, the other is told (409) — on PostgreSQL, with
two real connections, because that is where two requests really run at once."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import count, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from portal import audit, forms, submissions
from portal.clock import today
from portal.extensions import db
from portal.forms.base import CheckContext, DoneInput
from portal.models import AuditEvent, Grant, LocalProtection, Submission, User
from portal.transaction import transaction


class Injected(RuntimeError):
    """The failure a test injects in the middle of a transaction."""


# --- helpers ---------------------------------------------------------------------------------


def order(**overrides: str) -> dict[str, str]:
    """A valid order of two people with local protection: on_done writes three rows."""
    day = today()
    data = {
        "valid_from": day.isoformat(),
        "valid_to": (day + timedelta(days=180)).isoformat(),
        "persons-1-action": "add",
        "persons-1-full_name": "Bengt Berg",
        "persons-1-username": "bengt02",
        "persons-1-email": "bengt.berg@goteborg.se",
        "persons-1-position": "förste socialsekreterare",
        "local_protection": "y",
        "local_protection_until": (day + timedelta(days=60)).isoformat(),
        "local_protection_reason": "Hot från tidigare partner, beslut från Skatteverket väntas.",
    }
    data.update(overrides)
    return order_form(**data)


def submit(client: FlaskClient) -> str:
    return submit_form(client, "/forms/access-order", order())


def mark_done(client: FlaskClient, public_id: str, version: str = "1") -> Any:
    return client.post(f"/lvs/submissions/{public_id}/done",
                       data={"reply": "Klart i Treserva.", "version": version})


def events(app: Flask, action: str) -> int:
    return count(app, AuditEvent, AuditEvent.action == action)


def assert_error_page(resp: Any) -> None:
    """The Swedish 500 page, which says that nothing was saved."""
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "Något gick fel" in page and "Inget sparades" in page
    assert "Traceback" not in page and "Injected" not in page


def fail_after(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    """audit.record(action) writes its event (flushed into the transaction), then fails: the
    latest possible moment before the commit."""
    real = audit.record

    def record(name: str, **kwargs: Any) -> AuditEvent:
        ev = real(name, **kwargs)
        if name == action:
            raise Injected(f"after {name}")
        return ev

    monkeypatch.setattr(audit, "record", record)


def fail_at_second_grant(monkeypatch: pytest.MonkeyPatch) -> list[Grant]:
    """on_done fails while creating grants: the first person's grant is added (and flushed by the
    second person's query), the second one raises."""
    added: list[Grant] = []
    real_add = db.session.add

    def add(obj: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(obj, Grant):
            if added:
                raise Injected("second grant")
            added.append(obj)
        real_add(obj, *args, **kwargs)

    monkeypatch.setattr(db.session, "add", add)
    return added


Hook = Callable[..., None]


def with_on_done(monkeypatch: pytest.MonkeyPatch, wrap: Callable[[Hook], Hook]) -> None:
    """Replace the access order's on_done hook on the form the service reads."""
    kind = forms.BY_KEY["access_order"]
    monkeypatch.setattr(kind, "on_done", wrap(kind.on_done))


@pytest.fixture
def errors_as_pages(app: Flask) -> Flask:
    """Let the 500 handler answer, as in production (TESTING would re-raise the exception)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


# --- a failing submit --------------------------------------------------------------------------


def test_a_failure_after_the_submission_insert_stores_nothing(
        errors_as_pages: Flask, as_user, monkeypatch: pytest.MonkeyPatch) -> None:
    app = errors_as_pages
    manager = as_user("manager")
    with app.app_context():
        events_before = audit.count()
    fail_after(monkeypatch, "submission_created")
    resp = manager.post("/forms/access-order", data=order())
    assert_error_page(resp)
    assert count(app, Submission) == 0
    assert events(app, "submission_created") == 0
    with app.app_context():
        assert audit.count() == events_before
        assert audit.verify().ok
    # Nothing stuck: once the failure is gone the same post goes through.
    monkeypatch.undo()
    assert manager.post("/forms/access-order", data=order()).status_code == 303
    assert count(app, Submission) == 1


def test_a_unit_of_work_leaves_the_session_clean_after_a_failing_submission(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service only flushes; its unit of work (a request, or `transaction()` for a command)
    rolls back on the failure, so a caller that goes on (records an audit event and commits, as
    error paths do) does not commit half of the submission with it."""
    fail_after(monkeypatch, "submission_created")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "manager"))
        assert user is not None
        kind = forms.stored("access_order")
        data = {"case_number": "0655588", "city_district": "Centrum", "unit_type": "myndighet",
                "unit_name": "Myndighet Centrum", "persons": [], "valid_from": None,
                "valid_to": None, "local_protection": False, "local_protection_until": None,
                "local_protection_reason": "", "justification": ""}
        ctx = CheckContext(user=user, today=today(), config=app.config)
        with pytest.raises(Injected), transaction():
            submissions.create(kind, data, ctx)
        monkeypatch.undo()
        audit.record("access_denied", user=user, outcome="denied", detail="efter felet")
        db.session.commit()
    assert count(app, Submission) == 0
    assert events(app, "submission_created") == 0
    assert events(app, "access_denied") == 1


# --- a failing "done" ------------------------------------------------------------------------


def assert_order_untouched(app: Flask, public_id: str) -> None:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        assert (sub.status, sub.version, sub.processed_by_id, sub.processed_at, sub.reply) == (
            "submitted", 1, None, None, None)
    assert count(app, Grant) == 0
    assert count(app, LocalProtection) == 0
    assert events(app, "submission_processed") == 0
    with app.app_context():
        assert audit.verify().ok


@pytest.mark.parametrize("where", ["second grant", "after the audit event", "after on_done"])
def test_a_failure_while_lvs_marks_done_leaves_the_order_waiting_and_no_grant(
        errors_as_pages: Flask, as_user, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    app = errors_as_pages
    manager, lvs = as_user("manager"), as_user("lvs")
    public_id = submit(manager)
    if where == "second grant":
        added = fail_at_second_grant(monkeypatch)
    elif where == "after the audit event":
        fail_after(monkeypatch, "submission_processed")
    else:
        def wrap(real: Callable[..., None]) -> Callable[..., None]:
            def on_done(sub: Submission, done: DoneInput) -> None:
                real(sub, done)
                db.session.flush()  # the grants and the local protection are in the transaction
                raise Injected("after on_done")
            return on_done
        with_on_done(monkeypatch, wrap)

    assert_error_page(mark_done(lvs, public_id))
    if where == "second grant":
        assert len(added) == 1  # the failure really came half-way through the grants
    assert_order_untouched(app, public_id)
    # Still in the queue, and LVS can do it again once the failure is gone.
    assert [i["id"] for i in lvs.get("/lvs/queue.json").get_json()] == [public_id]
    monkeypatch.undo()
    assert mark_done(lvs, public_id).status_code == 303
    assert count(app, Grant) == 2 and count(app, LocalProtection) == 1
    assert events(app, "submission_processed") == 1


def test_a_unit_of_work_leaves_the_session_clean_after_a_failing_done(
        app: Flask, as_user, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit of work rolls back: a later commit in the same session (an audit event of the
    failure, say) carries none of the half-made grants or the status change."""
    public_id = submit(as_user("manager"))
    fail_at_second_grant(monkeypatch)
    with app.app_context():
        lvs = db.session.scalar(select(User).where(User.username == "lvs"))
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert lvs is not None and sub is not None
        with pytest.raises(Injected), transaction():
            submissions.mark_done(sub, DoneInput(user=lvs, today=today(), reply="Klart."), 1)
        monkeypatch.undo()
        audit.record("access_denied", user=lvs, outcome="denied", detail="efter felet")
        db.session.commit()
    assert_order_untouched(app, public_id)


# --- two LVS users at once (PostgreSQL) ------------------------------------------------------


def _race_on_done(monkeypatch: pytest.MonkeyPatch, barrier: threading.Barrier) -> None:
    """Both requests wait here until both have loaded the order, checked that it is still waiting
    and set it done in memory; then both write at once."""
    def wrap(real: Callable[..., None]) -> Callable[..., None]:
        def on_done(sub: Submission, done: DoneInput) -> None:
            barrier.wait()
            real(sub, done)
        return on_done
    with_on_done(monkeypatch, wrap)


def _assert_processed_once(app: Flask, public_id: str) -> None:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.status == "done" and sub.version == 2
    assert count(app, Grant) == 2, "the order was carried out twice"
    assert count(app, LocalProtection) == 1
    assert events(app, "submission_processed") == 1
    with app.app_context():
        assert audit.verify().ok


@pytest.mark.postgres
def test_postgres_runs_read_committed(app: Flask) -> None:
    """The race tests below are about PostgreSQL's default isolation level."""
    with app.app_context():
        assert db.session.execute(text("SHOW transaction_isolation")).scalar() == "read committed"


@pytest.mark.postgres
@pytest.mark.parametrize("version", ["1", ""])
def test_two_lvs_users_marking_done_at_once_one_wins_the_other_gets_409(
        app: Flask, as_user, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    public_id = submit(as_user("manager"))
    clients = {"lvs": as_user("lvs"), "lvs2": as_user("lvs2")}
    barrier = threading.Barrier(2, timeout=15)
    _race_on_done(monkeypatch, barrier)
    answers: dict[str, int] = {}
    failures: list[BaseException] = []

    def post(name: str) -> None:
        try:
            answers[name] = mark_done(clients[name], public_id, version).status_code
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures, failures
    assert sorted(answers.values()) == [303, 409], answers
    _assert_processed_once(app, public_id)
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        winner = [n for n, code in answers.items() if code == 303][0]
        assert sub.processed_by.username == winner


@pytest.mark.postgres
def test_mark_done_serialises_two_sessions_that_loaded_the_same_row(
        app: Flask, as_user, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service itself, two sessions on two connections: each loads the order, both pass the
    status check, both write. The loser's UPDATE waits for the winner's row lock, then finds the
    version changed (READ COMMITTED re-reads the row) and raises AlreadyProcessed."""
    public_id = submit(as_user("manager"))
    barrier = threading.Barrier(2, timeout=15)
    _race_on_done(monkeypatch, barrier)
    outcome: dict[str, str] = {}

    def work(username: str) -> None:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
            assert user is not None and sub is not None
            done = DoneInput(user=user, today=today(), reply=f"Klart av {username}.")
            try:
                with transaction():  # the request's one commit, as a unit of work
                    submissions.mark_done(sub, done)
                outcome[username] = "won"
            except submissions.AlreadyProcessed:
                outcome[username] = "told"
            except BaseException as exc:  # noqa: BLE001
                outcome[username] = repr(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("lvs", "lvs2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome.values()) == ["told", "won"], outcome
    _assert_processed_once(app, public_id)
