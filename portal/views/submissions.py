"""One submission: page, message, PDF, JSON. Visible to its owner, its unit's managers and whoever
processes it; everyone else gets 404. Every view is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template
from flask_login import current_user

from .. import submissions as svc
from ..auth import login_only
from ..render.messages import render_message
from ..render.pdf import render_pdf
from .auth import reauth_redirect, recently_authenticated

bp = Blueprint("submissions", __name__, url_prefix="/submissions")


def _load(public_id: str, action: str) -> tuple[Any, Any]:
    sub = svc.get_visible(public_id, current_user)
    _require_recent_auth(sub)
    svc.log_view(sub, current_user, action)
    return sub, svc.spec_of(sub)


def _require_recent_auth(sub: Any) -> None:
    """LVS re-enters its password before it reads sealed content (the personnummer of an
    actualisation request) if it last did so more than REAUTH_MINUTES ago (ASVS V3.7.1).
    Decided before anything is read or audited as read."""
    spec = svc.spec_of(sub)
    sealed = spec.storage == "encrypted" and sub.data_enc is not None and sub.purged_at is None
    if (
        sealed
        and "lvs" in spec.process_roles
        and svc.may_process(sub, current_user)
        and not recently_authenticated()
    ):
        abort(reauth_redirect())


def _no_content(sub: Any) -> Response:
    """Purged content is gone (410); sealed content is not this user's to read (403)."""
    if sub.purged_at is not None:
        return Response("Innehållet är raderat enligt rutinen.\n", 410, mimetype="text/plain")
    return Response(
        "Innehållet visas bara för den som hanterar blanketten.\n", 403, mimetype="text/plain"
    )


@bp.route("/<public_id>")
@login_only
def show(public_id: str) -> Any:
    sub, spec = _load(public_id, "submission_viewed")
    data = svc.load_data(sub, current_user)
    message = render_message(spec, data, svc.meta(sub)) if data else None
    return render_template(
        "submissions/show.html",
        sub=sub,
        spec=spec,
        data=data,
        meta=svc.meta(sub),
        message=message,
        may_process=svc.may_process(sub, current_user),
    )


@bp.route("/<public_id>/message")
@login_only
def message(public_id: str) -> Any:
    sub, spec = _load(public_id, "message_fetched")
    data = svc.load_data(sub, current_user)
    if not data:
        return _no_content(sub)
    text = render_message(spec, data, svc.meta(sub)).as_text()
    return Response(text, mimetype="text/plain")


@bp.route("/<public_id>/pdf")
@login_only
def pdf(public_id: str) -> Any:
    sub, spec = _load(public_id, "pdf_fetched")
    data = svc.load_data(sub, current_user)
    if not data:
        return _no_content(sub)
    body = render_pdf(spec.pdf_template, order=data, data=data, meta=svc.meta(sub))
    # The file name says the form and our reference, never personal data.
    name = f"{spec.slug}-{sub.public_id[:8]}.pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@bp.route("/<public_id>.json")
@login_only
def as_json(public_id: str) -> Any:
    sub, spec = _load(public_id, "json_fetched")
    # The form's fields at the top level under their form names; our own facts under "submission".
    return jsonify(
        {
            **(svc.load_data(sub, current_user) or {}),
            "submission": {
                "id": sub.public_id,
                "form": spec.key,
                "status": sub.status,
                "created_at": sub.created_at.isoformat(),
                "processed_at": sub.processed_at.isoformat() if sub.processed_at else None,
                "case_number": sub.case_number,
                "flagged": sub.flagged,
            },
        }
    )


@bp.route("/<public_id>/done", methods=["POST"])
@login_only
def done(public_id: str) -> Any:
    """The same processing for forms handled outside LVS (e.g. a unit's managers)."""
    from .lvs import process

    return process(public_id)
