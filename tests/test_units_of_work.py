"""Issue 12, item 3: one transaction per unit of work. A request commits once, after its view
(portal/transaction.py); a denial's audit event is written by the 403 handler in its own short
transaction; a CLI command or a scheduled job is `with transaction():`, committing in steps only
where the command says why (the purge per rule, the key rotation per batch)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_URL, login
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from test_cli import output, run

from portal import crypto, retention, scheduler
from portal.extensions import db, limiter
from portal.models import AuditEvent, DataKey, LoginThrottle, Unit, User

WRONG = "inte rätt lösenord"


def actions(app: Flask, action: str) -> list[AuditEvent]:
    """The committed audit events of `action` (read in an app context of their own)."""
    with app.app_context():
        rows = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))
        db.session.expunge_all()
        return rows


# --- requests ------------------------------------------------------------------------------------


def test_a_forbidden_request_leaves_its_denial_in_the_audit_log(app: Flask, as_user) -> None:
    """roles_required raises transaction.Denied; the 403 handler writes the event and commits it
    on its own (the request's work rolled back)."""
    staff = as_user("staff")
    assert staff.get("/lvs/queue").status_code == 403
    [denied] = actions(app, "access_denied")
    assert (denied.username, denied.outcome) == ("staff", "denied")
    assert denied.detail == "queue"  # the view refused, never content


def test_a_failed_login_is_kept_when_the_limiter_fails_after_the_page(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request's commit runs before the limiter's after_request, whose deduction for a failed
    login may fail (its store gone): the throttle row and the audit event are kept anyway."""

    def store_gone(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("rate limit store unreachable")

    monkeypatch.setattr(limiter.limiter, "hit", store_gone)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 page, as in production
    assert login(app.test_client(), "lvs", WRONG).status_code == 500
    [failed] = actions(app, "login_failed")
    assert (failed.username, failed.outcome) == ("lvs", "failed")
    with app.app_context():
        assert db.session.scalar(select(LoginThrottle.failures)) == 1


def test_a_login_is_committed_by_the_request(app: Flask) -> None:
    client = app.test_client()
    assert login(client, "lvs").status_code == 303
    assert [e.username for e in actions(app, "login")] == ["lvs"]
    assert client.get("/lvs/queue").status_code == 200


# --- the purge -------------------------------------------------------------------------------------


def test_the_purge_commits_rule_by_rule_and_a_failing_rule_undoes_only_itself(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(now: datetime) -> int:
        db.session.add(Unit(name="Halvfärdig", unit_type="myndighet", city_district="Centrum"))
        db.session.flush()
        raise RuntimeError("a rule that fails")

    monkeypatch.setitem(retention.RULES, "broken", broken)  # the last rule
    with app.app_context(), pytest.raises(RuntimeError):
        scheduler.purge_job()
    # Every rule before it is committed with its audit event; the failing rule left nothing.
    purged = {e.object_id for e in actions(app, "purge")}
    assert purged == set(retention.RULES) - {"broken"}
    with app.app_context():
        assert db.session.scalar(select(Unit).where(Unit.name == "Halvfärdig")) is None


def test_run_rule_only_flushes(app: Flask) -> None:
    with app.app_context():
        assert retention.run_rule("day_notes", datetime.now()) == 0
        assert db.session.scalar(select(func.count(AuditEvent.seq))) == 1  # this session sees it
        db.session.rollback()
    assert actions(app, "purge") == []


@pytest.fixture
def other_connection() -> Iterator[Any]:
    """A PostgreSQL connection outside the app's pool (another instance's)."""
    assert PG_URL is not None
    engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                           poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_the_scheduled_purge_holds_its_lock_for_the_run_and_releases_it(
        app: Flask, other_connection: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The purge commits per rule, and every commit hands the session's connection back to the
    pool: the session-level lock is held on a connection of its own, else it is released on the
    wrong connection (a warning, nothing released) and kept for ever by an idle pooled one."""
    lock = {"k": scheduler._PG_PURGE_LOCK}
    take = text("SELECT pg_try_advisory_lock(:k)")
    seen: list[bool] = []

    def probe(now: datetime) -> int:
        seen.append(other_connection.execute(take, lock).scalar())
        return 0

    monkeypatch.setitem(retention.RULES, "probe", probe)
    with app.app_context():  # more than one idle connection in the pool, as in a busy worker
        conns = [db.engine.connect() for _ in range(3)]
        for c in conns:
            c.close()
    counts = scheduler.run_once(app)
    assert counts is not None and set(counts) == set(retention.RULES)
    assert seen == [False]  # held during the run
    # Released afterwards: another instance can take it (and gives it back).
    assert other_connection.execute(take, lock).scalar() is True
    assert other_connection.execute(text("SELECT pg_advisory_unlock(:k)"), lock).scalar() is True
    # While another instance purges, this one does not.
    assert other_connection.execute(take, lock).scalar() is True
    try:
        assert scheduler.run_once(app) is None
    finally:
        other_connection.execute(text("SELECT pg_advisory_unlock(:k)"), lock)


# --- commands --------------------------------------------------------------------------------------


def test_a_command_that_fails_half_way_stores_nothing(app: Flask) -> None:
    """`demo` creates its users (the seeded app has its units), then writes the passwords' file:
    when the file cannot be written, none of them is committed."""
    app.config["PRODUCTION"] = False
    (Path(app.instance_path) / "demo-credentials.txt").mkdir(parents=True)  # not writable as a file
    result = run(app, "demo")
    assert result.exit_code != 0, output(result)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "enhetschef")) is None
    assert actions(app, "user_created") == []


def test_an_unused_key_file_goes_only_when_nothing_committed_needs_it(app: Flask, as_user) -> None:
    """Key files are removed after the rotation's commits; a re-wrap not yet committed (that may
    still roll back) does not free the key it still needs."""
    from test_actualisation import form, submit

    submit(as_user("secretary"), form())
    with app.app_context():
        old = crypto.keyring().current
        result = crypto.rotate()  # flushes only: the re-wrap is not committed
        assert result.reencrypted == 1 and result.current != old
        assert crypto.remove_unused_keys() == []
        assert (crypto.keys_dir() / f"{old}.key").exists()
        db.session.commit()
        assert crypto.remove_unused_keys() == [old]
        assert not (crypto.keys_dir() / f"{old}.key").exists()
        assert db.session.scalar(select(DataKey.kek_id)) == result.current


def test_a_login_whose_commit_fails_does_not_log_in(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 500 page sends no session cookie: the browser keeps the one it came with, so a login
    that was not saved (its audit event and session version rolled back) has not happened."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 page, as in production
    client = app.test_client()

    real, calls = db.session.commit, []

    def commit_fails_once() -> None:  # the request's commit; the 500 page's own ones go through
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database gone at commit")
        real()

    monkeypatch.setattr(db.session, "commit", commit_fails_once)
    assert login(client, "lvs").status_code == 500
    monkeypatch.undo()
    start = client.get("/")
    assert start.status_code == 302 and "/login" in start.headers["Location"]
    assert actions(app, "login") == []
