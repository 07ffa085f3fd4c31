"""The start page (what the user may do, what waits) and the health check."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from sqlalchemy import select, text

from .. import submissions
from ..auth import login_only
from ..extensions import db
from ..forms import FORMS
from ..forms.base import today
from ..forms.deviation import unregistered
from ..models import Grant, LocalProtection, Submission
from .day_notes import uncompiled_summary

bp = Blueprint("main", __name__)


def ending_soon(unit_id: int | None) -> tuple[list[Grant], list[LocalProtection]]:
    """Grants and local protections that end within REMINDER_DAYS (§2.2: max one year; §1.3: three months)."""
    day = today()
    horizon = day + timedelta(days=current_app.config["REMINDER_DAYS"])
    g = select(Grant).where(
        Grant.revoked_at.is_(None), Grant.valid_to >= day, Grant.valid_to <= horizon
    )
    lp = select(LocalProtection).where(
        LocalProtection.until >= day, LocalProtection.until <= horizon
    )
    if unit_id is not None:
        g, lp = g.where(Grant.unit_id == unit_id), lp.where(LocalProtection.unit_id == unit_id)
    return (
        list(db.session.scalars(g.order_by(Grant.valid_to))),
        list(db.session.scalars(lp.order_by(LocalProtection.until))),
    )


@bp.route("/")
@login_only
def start() -> Any:
    user = current_user
    ctx: dict[str, Any] = {
        "forms": [s for s in FORMS.values() if user.has_role(*s.submit_roles)],
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
        "form_titles": {s.key: s.title for s in FORMS.values()},
    }
    if user.has_role("lvs"):
        ctx["queue"] = submissions.queue("lvs", user)
        if ctx["queue"]:  # the oldest waits longest: its age in days (the queue is oldest first)
            oldest = submissions.local(ctx["queue"][0].created_at)[:10]
            ctx["oldest_days"] = (today() - date.fromisoformat(oldest)).days
    if user.has_role("unit_manager"):
        ctx["grants_ending"], ctx["protections_ending"] = ending_soon(user.unit_id)
        # §4.2 deviation reports to register; §8.6 day notes to compile at least weekly.
        ctx["deviations"] = unregistered(user.unit_id)
        ctx["uncompiled"] = uncompiled_summary(user.unit_id)
    return render_template("main/start.html", **ctx)


@bp.route("/healthz")
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means not healthy
        return "database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
