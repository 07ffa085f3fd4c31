"""Runs the retention rules on a schedule inside the server (SPEC §6: `purge` also runs on a schedule).

The purge runs once per PURGE_INTERVAL_SECONDS across every process that schedules it (issue 15:
several instances): each worker process of each instance (a daemon thread started on its first
request, unless SCHEDULER_IN_SERVER is off) and `flask scheduler` (the scheduler unit,
deploy/skyddsportalen-scheduler.service) look every SCHEDULER_TICK_SECONDS whether it is due, and
the one that finds it due runs it. Due: no purge in the last interval, by the audit log's newest
`purge` event, whoever wrote it (another worker, another instance, `flask purge`): the log is the
schedule's one memory, shared by the instances through the database. On PostgreSQL the look and
the run happen under a session-level advisory lock, so two processes never both find it due; on
SQLite (one machine, development) two workers may, rarely, both run it: every rule is idempotent
(it selects only what is still to purge), so nothing is purged twice. The purge job itself
(`purge_job`) is also what `flask purge` runs, at once, due or not.

A second daemon thread per worker anchors the audit log's committed head every
AUDIT_ANCHOR_SECONDS (portal/audit.py, issue 11 H3)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import select, text

if TYPE_CHECKING:
    from .notices import Counts

log = logging.getLogger(__name__)
_PG_PURGE_LOCK = 0x5C7D_0002
_started = False
_lock = threading.Lock()


def purge_job(now: datetime | None = None) -> dict[str, int]:
    """The purge (`flask purge`, the timer): every retention rule and its audit event, each rule
    in a transaction of its own, not one for the whole run: a rule that fails does not undo what
    the rules before it purged (content kept past its time is what a purge exists to prevent),
    and the audit chain's lock (held to the commit) is held for one rule, not the whole run.
    Counts per rule; the first failure is raised after its rule's transaction is rolled back."""
    from .clock import utcnow
    from .retention import RULES, run_rule
    from .transaction import transaction

    now = now or utcnow()
    counts: dict[str, int] = {}
    for name in RULES:
        with transaction():
            counts[name] = run_rule(name, now)
    return counts


def purge_due(interval: float, now: datetime | None = None) -> bool:
    """Whether the scheduled purge is due: no `purge` event (retention.run_rule writes one per
    rule, whoever runs it) in the last `interval` seconds. 0 or less: always due. The newest
    event by seq, read backwards along its index: a run writes its events every interval."""
    from .clock import aware, utcnow
    from .extensions import db
    from .models import AuditEvent

    if interval <= 0:
        return True
    last = db.session.scalar(
        select(AuditEvent.created_at)
        .where(AuditEvent.action == "purge")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    db.session.rollback()  # the read's transaction ends here; the purge opens its own
    return last is None or (aware(now or utcnow()) - aware(last)).total_seconds() >= interval


def run_once(app: Flask, interval: float = 0) -> dict[str, int] | None:
    """One scheduled purge; None when another process holds the lock or a purge ran less than
    `interval` seconds ago (0: due whenever the lock is free)."""
    from .extensions import db

    with app.app_context():
        try:
            if db.engine.dialect.name != "postgresql":
                return purge_job() if purge_due(interval) else None
            # A session-level lock, so on a connection of its own, held for the whole run: the
            # job commits per rule, and each commit hands the session's connection back to the
            # pool (a lock taken there would be released, or kept for ever, on the wrong one).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                lock = {"k": _PG_PURGE_LOCK}
                if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), lock).scalar():
                    return None
                try:
                    return purge_job() if purge_due(interval) else None
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), lock)
        finally:
            db.session.remove()


def tick_seconds(app: Flask, interval: float) -> float:
    """How often a scheduling process looks whether the purge is due: SCHEDULER_TICK_SECONDS,
    never longer than the interval. A run then starts at most one tick after it is due, however
    the processes' timers lie (a worker restarted every half hour still purges every hour)."""
    tick = float(app.config.get("SCHEDULER_TICK_SECONDS", 60) or 60)
    return max(0.1, min(tick, interval))


def _loop(app: Flask, interval: float) -> None:
    """Look at once (a process started after the purge fell due runs it now), then every tick."""
    tick = tick_seconds(app, interval)
    while True:
        try:
            counts = run_once(app, interval)
            if counts is not None:
                log.info("scheduled purge done: %s", counts)  # counts only, never content
        except Exception:  # noqa: BLE001 - the loop must survive a failed run
            log.exception("scheduled purge failed")
        time.sleep(tick)


def serve(app: Flask) -> None:
    """The scheduled jobs in the foreground, until the process is stopped: `flask scheduler`,
    the scheduler unit's process. Any number of them (one per host, say) and of workers that
    schedule too run each job once per interval between them (run_once)."""
    interval = float(app.config.get("PURGE_INTERVAL_SECONDS", 0) or 0)
    if interval <= 0:
        raise RuntimeError("PURGE_INTERVAL_SECONDS is 0: the scheduler has nothing to run")
    log.info("scheduler started: purge every %s s", interval)
    start_notices(app)  # its own thread, when configured (issue 15, part N)
    _loop(app, interval)


def anchor_once(app: Flask) -> tuple[int, str] | None:
    """Anchor the audit log's committed head outside the database (portal/audit.py, issue 11 H3):
    every worker does this on its timer, so the log's length is on record however few events
    reach the every-N anchor."""
    from . import audit
    from .extensions import db

    with app.app_context():
        try:
            return audit.anchor_head()
        finally:
            db.session.remove()


def _anchor_loop(app: Flask, interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            anchor_once(app)
        except Exception:  # noqa: BLE001 - the loop must survive a failed run
            log.exception("audit anchor failed")


def install(app: Flask) -> None:
    interval = float(app.config.get("PURGE_INTERVAL_SECONDS", 0) or 0)
    anchor_every = float(app.config.get("AUDIT_ANCHOR_SECONDS", 0) or 0)
    if app.testing:
        return
    if anchor_every > 0:
        _install_anchor_timer(app, anchor_every)
    _install_notice_timer(app)  # issue 15, part N: notices by e-mail (portal/notices.py)
    # Off where a scheduler unit runs the jobs (deploy/skyddsportalen.env.example): the workers
    # then only serve pages. Left on, they run nothing twice (run_once).
    if interval <= 0 or not app.config.get("SCHEDULER_IN_SERVER", True):
        return

    @app.before_request
    def _start_scheduler() -> None:
        global _started
        if _started:
            return
        with _lock:
            if not _started:
                threading.Thread(
                    target=_loop, args=(app, interval), name="purge", daemon=True
                ).start()
                _started = True


_anchor_started = False


def _install_anchor_timer(app: Flask, interval: float) -> None:
    """One audit anchor thread per worker process, started by its first request (as the purge)."""

    @app.before_request
    def _start_anchor_timer() -> None:
        global _anchor_started
        if _anchor_started:
            return
        with _lock:
            if not _anchor_started:
                threading.Thread(
                    target=_anchor_loop, args=(app, interval), name="audit-anchor", daemon=True
                ).start()
                _anchor_started = True


# --- notices by e-mail (issue 15, part N; portal/notices.py) --------------------------------------
# A thread of their own, started by a worker's first request (SCHEDULER_IN_SERVER) and by
# `flask scheduler`, every NOTICE_INTERVAL_SECONDS while SMTP_HOST is set. However many processes
# run it, a notice goes at most once a day per person and kind: notices.run takes a lock (one run
# at a time across instances) and notices_sent remembers the day each one was sent.

_notices_started = False


def notices_once(app: Flask, now: datetime | None = None) -> Counts | None:
    """One scheduled run of the notices; None when they are off (SMTP_HOST unset), before
    NOTICE_EARLIEST_HOUR Swedish time (nobody reads them at night; the first run of the morning
    sends what waits), or while another process sends them."""
    from . import notices
    from .clock import local_date, start_of_day, utcnow
    from .extensions import db

    with app.app_context():
        try:
            if not notices.enabled():
                return None
            now = now or utcnow()
            since_midnight = now - start_of_day(local_date(now))
            if since_midnight.total_seconds() < 3600 * int(app.config["NOTICE_EARLIEST_HOUR"]):
                return None
            return notices.run(local_date(now))
        finally:
            db.session.remove()


def _notice_loop(app: Flask, interval: float) -> None:
    """At once (what waits when a process starts is told), then every interval."""
    while True:
        try:
            counts = notices_once(app)
            if counts is not None:  # counts only, never who or what
                log.info("notices: %d sent, %d failed", counts.total, counts.failed)
        except Exception:  # noqa: BLE001 - the loop must survive a failed run
            log.exception("notices failed")
        time.sleep(interval)


def start_notices(app: Flask) -> None:
    """This process's notice thread, once; nothing while notices are off."""
    global _notices_started
    interval = float(app.config.get("NOTICE_INTERVAL_SECONDS", 0) or 0)
    if interval <= 0 or not app.config.get("SMTP_HOST"):
        return
    with _lock:
        if not _notices_started:
            threading.Thread(
                target=_notice_loop, args=(app, interval), name="notices", daemon=True
            ).start()
            _notices_started = True


def _install_notice_timer(app: Flask) -> None:
    """The notice thread of each worker process, started by its first request (as the purge's)."""
    interval = float(app.config.get("NOTICE_INTERVAL_SECONDS", 0) or 0)
    if interval <= 0 or not app.config.get("SMTP_HOST"):
        return
    if not app.config.get("SCHEDULER_IN_SERVER", True):
        return

    @app.before_request
    def _start_notice_timer() -> None:
        if not _notices_started:
            start_notices(app)
