"""The retention machinery: every rule runs, each run is audited with counts only. The purge job
(`flask purge`, the timer: scheduler.purge_job) commits each rule with its audit event."""
from __future__ import annotations

from sqlalchemy import select

from portal import audit, retention, scheduler
from portal.extensions import db
from portal.models import AuditEvent


def test_every_retention_rule_runs_and_is_audited_with_counts(app):
    with app.app_context():
        counts = scheduler.purge_job()
        assert set(counts) == set(retention.RULES)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).all()
        assert {e.object_id for e in events} == set(retention.RULES)
        assert all(e.detail and e.detail.startswith("antal: ") for e in events)
        assert audit.verify().ok


def test_purge_twice_purges_nothing_the_second_time(app):
    with app.app_context():
        scheduler.purge_job()
        assert all(n == 0 for n in scheduler.purge_job().values())


def test_scheduled_purge_runs_the_same_rules(app):
    counts = scheduler.run_once(app)
    assert counts is not None and set(counts) == set(retention.RULES)


def test_purge_command_prints_counts_only(app):
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0
    for name in retention.RULES:
        assert f"{name}: " in result.output
