"""Follow-ups on the start page (issue 16, part E; §1.3, §5.12): the user marks their own done."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import follow_ups, transaction
from ..auth import roles_required

bp = Blueprint("follow_ups", __name__, url_prefix="/follow-ups")


@bp.route("/<public_id>/done", methods=["POST"])
@roles_required(*follow_ups.ROLES)
def done(public_id: str) -> Any:
    """Delete the user's own follow-up (audited); another user's or an unknown id is 404, and
    the attempt is audited."""
    try:
        follow_ups.done(public_id, current_user)
    except follow_ups.NotVisible:
        transaction.denial("follow_up_denied", object_type="follow_up", outcome="denied")
        abort(404)
    flash(_("Uppföljningen är markerad som klar och borttagen."))
    return redirect(url_for("main.start"), 303)
