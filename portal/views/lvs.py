"""LVS processing: the queue of orders not yet carried out, oldest first; marking one done is
portal/views/submissions.py's `done`, also at this blueprint's address (SPEC §6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from .. import submissions as svc
from ..auth import roles_required
from ..clock import iso, local, local_date, today, utcnow
from ..forms import BY_KEY
from . import submissions as submissions_views

bp = Blueprint("lvs", __name__, url_prefix="/lvs")
# Queue rows per page, oldest first (a backlog of hundreds stays fast; bench/README.md).
PAGE = 100


def _age_days(sub: Any) -> int:
    return (today() - local_date(sub.created_at)).days


@bp.route("/queue")
@roles_required("lvs")
def queue() -> Any:
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    items = svc.queue("lvs", current_user, offset=(page - 1) * PAGE, limit=PAGE + 1)
    return render_template(
        "lvs/queue.html",
        items=items[:PAGE],
        more=len(items) > PAGE,
        page=page,
        age=_age_days,
        titles={key: kind.title for key, kind in BY_KEY.items()},
    )


@bp.route("/queue.json")
@roles_required("lvs")
def queue_json() -> Any:
    return jsonify(
        [
            {
                "id": s.public_id,
                "form": s.form,
                "case_number": s.case_number,
                "created_at": iso(s.created_at),  # with its offset (issue 14)
                "age_days": _age_days(s),
                "flagged": s.flagged,
                "unit": s.unit.name,
                # A removal order of a closing or of someone who leaves (portal/cases.py): a
                # marker, no client data (only plain forms have plain data to read it from).
                "closing": bool((s.data or {}).get("closing")),
                "leaving": bool((s.data or {}).get("leaving")),
            }
            for s in svc.queue("lvs", current_user)
        ]
    )


@bp.route("/handled")
@roles_required("lvs")
def handled() -> Any:
    """What LVS handled in the last LVS_HANDLED_DAYS days, newest first (issue 14): the facts
    that remain of each (a purged one is a tombstone), one page at a time. Shows no protected
    content, so reads nothing sealed and audits nothing."""
    cfg = current_app.config
    days, size = int(cfg["LVS_HANDLED_DAYS"]), int(cfg["LVS_HANDLED_PAGE"])
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    rows = svc.handled(
        "lvs", utcnow() - timedelta(days=days), offset=(page - 1) * size, limit=size + 1
    )
    return render_template(
        "lvs/handled.html",
        items=rows[:size],
        more=len(rows) > size,
        page=page,
        days=days,
        titles={key: kind.title for key, kind in BY_KEY.items()},
        status_label=svc.status_label,
        local=local,
    )


# SPEC §6's address for LVS; the one view of marking done is submissions.done.
bp.add_url_rule(
    "/submissions/<public_id>/done",
    endpoint="done",
    view_func=roles_required("lvs")(submissions_views.done),
    methods=["POST"],
)
