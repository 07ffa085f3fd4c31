"""Runs the retention rules on a schedule inside the server (SPEC §6: `purge` also runs on a schedule).

Each worker process starts one daemon thread on its first request. With several instances they may
all wake up: on PostgreSQL a session-level advisory lock lets one purge at a time, and every rule is
idempotent anyway (it selects only what is still to purge), so nothing is purged twice. The purge
job itself (`purge_job`) is also what `flask purge` runs.

A second daemon thread per worker anchors the audit log's committed head every
AUDIT_ANCHOR_SECONDS (portal/audit.py, issue 11 H3)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from flask import Flask
from sqlalchemy import text

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


def run_once(app: Flask) -> dict[str, int] | None:
    """One scheduled purge; None when another instance holds the lock."""
    from .extensions import db

    with app.app_context():
        try:
            if db.engine.dialect.name != "postgresql":
                return purge_job()
            # A session-level lock, so on a connection of its own, held for the whole run: the
            # job commits per rule, and each commit hands the session's connection back to the
            # pool (a lock taken there would be released, or kept for ever, on the wrong one).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                lock = {"k": _PG_PURGE_LOCK}
                if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), lock).scalar():
                    return None
                try:
                    return purge_job()
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), lock)
        finally:
            db.session.remove()


def _loop(app: Flask, interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            counts = run_once(app)
            if counts is not None:
                log.info("scheduled purge done: %s", counts)  # counts only, never content
        except Exception:  # noqa: BLE001 - the loop must survive a failed run
            log.exception("scheduled purge failed")


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
    if interval <= 0:
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
