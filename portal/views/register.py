"""The access register (behörighetsregister): who has access to which case until when.
LVS sees all; a unit manager sees their own unit (§4.1 self-check; portal/register.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from .. import register
from ..auth import roles_required
from ..clock import today

bp = Blueprint("register", __name__)
# Grants per page: a large city's register holds thousands of active grants (bench/README.md).
PAGE = 100


@bp.route("/register")
@roles_required("lvs", "unit_manager")
def index() -> Any:
    day = today()
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    shown = register.page(current_user, day, number, PAGE)
    return render_template(
        "register/index.html",
        grants=shown.grants,
        more=shown.more,
        page=number,
        protections=shown.protections,
        horizon=day + timedelta(days=current_app.config["REMINDER_DAYS"]),
        day=day,
    )
