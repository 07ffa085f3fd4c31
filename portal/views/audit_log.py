"""The audit trail: admins see all, a unit manager their own unit's events."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..auth import roles_required
from ..clock import local
from ..extensions import db
from ..models import AuditEvent

bp = Blueprint("audit", __name__)
PAGE = 100


@bp.route("/audit")
@roles_required("admin", "unit_manager")
def index() -> Any:
    # Bounded: an offset past what the database's integers hold is a 500, not an empty page.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    q = select(AuditEvent)
    if not current_user.has_role("admin"):
        q = q.where(AuditEvent.unit_id == current_user.unit_id)
    events = db.session.scalars(
        q.order_by(AuditEvent.seq.desc()).offset((page - 1) * PAGE).limit(PAGE + 1)
    ).all()
    return render_template(
        "audit/index.html", events=events[:PAGE], more=len(events) > PAGE, page=page, local=local
    )
