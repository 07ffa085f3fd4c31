"""The access register (behörighetsregister): who has access to which case until when.
LVS sees all; a unit manager sees their own unit (§4.1 self-check)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth import roles_required
from ..clock import today
from ..extensions import db
from ..models import Grant, LocalProtection

bp = Blueprint("register", __name__)
# Grants per page: a large city's register holds thousands of active grants (bench/README.md).
PAGE = 100


@bp.route("/register")
@roles_required("lvs", "unit_manager")
def index() -> Any:
    day = today()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    horizon = day + timedelta(days=current_app.config["REMINDER_DAYS"])
    grants = select(Grant).where(Grant.revoked_at.is_(None), Grant.valid_to >= day)
    protections = select(LocalProtection).where(LocalProtection.until >= day)
    if not current_user.has_role("lvs"):
        grants = grants.where(Grant.unit_id == current_user.unit_id)
        protections = protections.where(LocalProtection.unit_id == current_user.unit_id)
    rows = db.session.scalars(
        grants.order_by(Grant.case_number, Grant.valid_to, Grant.id)
        .offset((page - 1) * PAGE)
        .limit(PAGE + 1)
        # Each row names who granted it and each protection its unit: loaded with the rows,
        # not one query per person or unit.
        .options(joinedload(Grant.granted_by))
    ).all()
    return render_template(
        "register/index.html",
        grants=rows[:PAGE],
        more=len(rows) > PAGE,
        page=page,
        protections=db.session.scalars(
            protections.order_by(LocalProtection.until).options(joinedload(LocalProtection.unit))
        ).all(),
        horizon=horizon,
        day=day,
    )
