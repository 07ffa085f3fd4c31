"""The start page (what the user may do, what waits) and the health check."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from sqlalchemy import select, text

from .. import follow_ups, register, self_check, submissions
from ..auth import login_only
from ..clock import local_date, today
from ..day_notes import uncompiled_summary
from ..extensions import db
from ..forms import FORMS
from ..forms.deviation import unregistered
from ..menu import main_menu
from ..models import Submission

bp = Blueprint("main", __name__)
# 14-M: the menu and the start page's tasks and blanks, one list per user (portal/menu.py).
bp.add_app_template_global(main_menu, "main_menu")


@bp.route("/")
@login_only
def start() -> Any:
    user, day = current_user, today()
    ctx: dict[str, Any] = {
        "own": list(
            db.session.scalars(
                select(Submission)
                .where(Submission.submitted_by_id == user.id)
                .order_by(Submission.created_at.desc())
                .limit(20)
            )
        ),
        "status_labels": submissions.STATUS_LABELS,
        "status_label": submissions.status_label,
        "form_titles": {kind.key: kind.title for kind in FORMS.values()},
    }
    if user.has_role("lvs"):
        ctx["queue"] = submissions.queue("lvs", user)
        if ctx["queue"]:  # the oldest waits longest: its age in days (the queue is oldest first)
            oldest = local_date(ctx["queue"][0].created_at)
            ctx["oldest_days"] = (day - oldest).days
    if user.has_role("unit_manager"):
        ctx["grants_ending"], ctx["protections_ending"] = register.ending_soon(
            user.unit_id, day, current_app.config["REMINDER_DAYS"]
        )
        # Issue 16, part D: the unit's self-check of access (§4.1), due or when it is next.
        ctx["self_check"] = self_check.reminder(user.unit_id, day)
    if user.has_role("unit_manager", "planner"):  # SPEC §2: the planner's tasks, and only these
        # §4.2 deviation reports to register; §8.6 day notes to compile at least weekly.
        # Issue 14: with each report's category and fictional name, read (and audited) for
        # the recipients, not by date alone.
        ctx["deviations"] = unregistered(user.unit_id, reader=user)
        ctx["uncompiled"] = uncompiled_summary(user.unit_id)
    if user.has_role(*follow_ups.ROLES):  # issue 16, part E: the user's own follow-ups
        ctx["follow_ups"] = follow_ups.for_user(user, day)
        ctx["follow_ups_soon"] = day + timedelta(days=current_app.config["REMINDER_DAYS"])
    return render_template("main/start.html", **ctx)


# One real row is written and the write rolled back: a read-only database, a role that may not
# write or a replica fails it (the statement needs the write permission even when no row matches).
PROBE_WRITE = "UPDATE units SET name = name WHERE id = (SELECT min(id) FROM units)"


def database_takes_a_write() -> bool:
    """Begin, write, roll back, on a connection of its own (the request's session is untouched).
    SQLite: BEGIN IMMEDIATE takes the database's write lock, as a real save would."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:  # never queue behind a long lock: a slow answer is an unhealthy one
            conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            conn.exec_driver_sql("SET LOCAL statement_timeout = '5s'")
        conn.execute(text(PROBE_WRITE))
        conn.rollback()
    return True


def disk_takes_a_write() -> bool:
    """A rolled-back write never reaches the disk, so a full disk is proved otherwise: a page
    written and synced to an unnamed file beside the SQLite database and in instance/ (the key
    files, the audit anchors), gone on close."""
    from ..files import sqlite_path

    folders = [Path(current_app.instance_path)]
    database = sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if database is not None:
        folders.append(database.resolve().parent)
    for folder in dict.fromkeys(folders):
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    return True


@bp.route("/healthz")
def healthz() -> Any:
    """200 when the database answers and takes a write and the disk has room (SPEC §6); 503
    otherwise, with no detail (anyone may ask)."""
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    try:
        database_takes_a_write()
        disk_takes_a_write()
    except Exception:  # noqa: BLE001 - any failure to write means not healthy
        return "unavailable", 503, plain
    return "ok", 200, plain
