"""The scheduled purge runs once per interval across every process that schedules it (issue 15,
part I: several instances): the server's workers on every instance and `flask scheduler` look every
tick whether it is due, by the audit log's newest `purge` event, under PostgreSQL's advisory lock.
tests/test_deployment.py watches the same with two gunicorn instances and a scheduler process."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from portal import create_app, retention, scheduler
from portal.clock import utcnow
from portal.extensions import db
from portal.models import AuditEvent


class _Stop(BaseException):
    """Ends the scheduler's loop in the test (the loop survives any Exception)."""


def purge_events(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "purge")
        ) or 0


def test_a_purge_that_ran_within_the_interval_is_not_run_again(app: Flask) -> None:
    assert scheduler.run_once(app, 3600) is not None
    ran = purge_events(app)
    assert ran == len(retention.RULES)
    # Another worker or instance wakes up a moment later: nothing is due.
    assert scheduler.run_once(app, 3600) is None
    assert purge_events(app) == ran


def test_the_purge_falls_due_again_after_its_interval(app: Flask) -> None:
    scheduler.run_once(app, 3600)
    with app.app_context():
        assert not scheduler.purge_due(3600, utcnow() + timedelta(seconds=3590))
        assert scheduler.purge_due(3600, utcnow() + timedelta(seconds=3601))
        assert scheduler.purge_due(0)  # no interval: whenever the lock is free


def test_a_purge_by_hand_counts_as_the_last_run(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["purge"]).exit_code == 0
    assert scheduler.run_once(app, 3600) is None
    assert purge_events(app) == len(retention.RULES)


def test_a_process_purges_when_it_starts_if_the_purge_is_due(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop looks before its first sleep: a worker restarted (a deploy, gunicorn's worker
    replacement) more often than the interval still purges. Before, each process slept a whole
    interval first, so the purge never ran while the workers were restarted within the hour."""
    app.config["SCHEDULER_TICK_SECONDS"] = 60
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        raise _Stop

    monkeypatch.setattr(scheduler.time, "sleep", sleep)
    with pytest.raises(_Stop):
        scheduler._loop(app, 3600.0)
    assert purge_events(app) == len(retention.RULES)
    assert sleeps == [60.0]  # then it looks every tick, not every interval


def test_the_tick_is_never_longer_than_the_interval(app: Flask) -> None:
    app.config["SCHEDULER_TICK_SECONDS"] = 60
    assert scheduler.tick_seconds(app, 3600) == 60
    assert scheduler.tick_seconds(app, 5) == 5


def test_the_scheduler_command_refuses_without_an_interval(app: Flask) -> None:
    app.config["PURGE_INTERVAL_SECONDS"] = 0
    result = app.test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code != 0
    assert "PURGE_INTERVAL_SECONDS" in str(result.exception)


def test_the_scheduler_command_runs_the_due_purge(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def sleep(seconds: float) -> None:
        raise _Stop

    monkeypatch.setattr(scheduler.time, "sleep", sleep)
    with pytest.raises(_Stop):
        app.test_cli_runner().invoke(args=["scheduler"], catch_exceptions=False)
    assert purge_events(app) == len(retention.RULES)


def _purge_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    """The purge threads a server started by its first requests, with the environment `env`."""
    started: list[str] = []

    def thread(target: Any, args: tuple[Any, ...], name: str, daemon: bool) -> Any:
        started.append(name)
        return SimpleNamespace(start=lambda: None)

    monkeypatch.setattr(scheduler, "threading", SimpleNamespace(Thread=thread))
    monkeypatch.setattr(scheduler, "_started", False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    server = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'server.db'}",
                         "SECRET_KEY": "s" * 32, "AUDIT_ANCHOR_SECONDS": 0},
                        instance_path=str(tmp_path / "server-instance"))
    server.test_client().get("/no-such-page")
    server.test_client().get("/no-such-page")
    with server.app_context():
        db.engine.dispose()
    return started


def test_the_server_schedules_the_purge_by_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _purge_threads(tmp_path, monkeypatch) == ["purge"]


def test_where_the_scheduler_unit_runs_the_jobs_the_workers_do_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _purge_threads(tmp_path, monkeypatch, SCHEDULER_IN_SERVER="0") == []


@pytest.mark.postgres
def test_while_another_process_holds_the_lock_nothing_runs(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": scheduler._PG_PURGE_LOCK})
        try:
            assert scheduler.run_once(app, 0) is None
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": scheduler._PG_PURGE_LOCK})
            other.commit()
    assert purge_events(app) == 0
    assert scheduler.run_once(app, 0) is not None
