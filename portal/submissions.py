"""The submission service: store, show to whom it may be shown, process, render. One transaction
per call, the audit event inside it."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from . import audit, crypto
from .clock import local, today, utcnow
from .extensions import db
from .forms import BY_KEY
from .forms.base import FormSpec
from .models import Submission, User, new_public_id

STATUS_LABELS = {
    "submitted": "Väntar på LVS",
    "done": "Klar",
    "purged": "Klar, innehållet raderat",
    "expired": "Raderad efter 30 dagar utan hantering",
}


def status_label(sub: Submission) -> str:
    """The state in words; a form may word it its own way (spec.extra["status_labels"])."""
    own = spec_of(sub).extra.get("status_labels", {})
    return own.get(sub.status) or STATUS_LABELS.get(sub.status, sub.status)


class AlreadyProcessed(Exception):
    """Somebody else marked it done first."""


def spec_of(sub: Submission) -> FormSpec:
    return BY_KEY[sub.form]


def create(spec: FormSpec, data: dict[str, Any], user: User) -> Submission:
    if spec.storage == "none":
        raise ValueError(f"{spec.key} is render-only")
    plain, sealed = split_sealed(spec, data)
    sub = Submission(
        public_id=new_public_id(),
        form=spec.key,
        unit_id=user.unit_id,
        submitted_by_id=user.id,
        case_number=spec.case_number(data),
        flagged=spec.flagged(data, user, today()),
        data=plain,
    )
    if sealed:
        # Under the row's own data key, bound to its table, column, id, form and unit (SPEC §1.1;
        # crypto.seal): the whole content of an encrypted form, a plain form's sealed fields.
        crypto.seal_json(sub, "data_enc", sealed)
    try:
        db.session.add(sub)
        db.session.flush()
        record_event(sub, "submission_created", user)
        db.session.commit()
    except BaseException:
        # All or nothing: whatever the caller does next (an audit event of the failure, its own
        # commit) must not carry half a submission with it.
        db.session.rollback()
        raise
    return sub


def split_sealed(
    spec: FormSpec, data: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(what is stored plain, what is sealed): an encrypted form seals everything; a plain form
    seals its `sealed_fields` that hold something (an empty one stays plain, so that after the
    purge a removed field can be told from one never filled in)."""
    if spec.storage == "encrypted":
        return None, data
    sealed = {k: data[k] for k in spec.sealed_fields if data.get(k)}
    return {k: v for k, v in data.items() if k not in sealed}, sealed


def may_process(sub: Submission, user: User) -> bool:
    spec = spec_of(sub)
    if not user.has_role(*spec.process_roles):
        return False
    return spec.process_scope == "all" or user.unit_id == sub.unit_id


def may_see(sub: Submission, user: User) -> bool:
    """Owner, a manager of the submission's unit, or whoever processes this form (deny by default)."""
    if sub.submitted_by_id == user.id:
        return True
    if user.has_role("unit_manager") and user.unit_id == sub.unit_id:
        return True
    return may_process(sub, user)


def load_data(sub: Submission, user: User) -> dict[str, Any] | None:
    """The form's content as the form names it, or None once purged. Callers have checked may_see.
    A plain form's sealed fields are opened for whoever sees the form (each read audited); once
    purged they read None (the pages say the text was removed)."""
    if sub.purged_at is not None:
        return None
    spec = spec_of(sub)
    if spec.storage == "plain" and spec.sealed_fields:
        data = dict(sub.data or {})
        if sub.data_enc is None:
            return {k: None for k in spec.sealed_fields} | data
        data.update(crypto.unseal_json(sub, "data_enc"))
        log_view(sub, user, "protected_content_read")
        return data
    if spec.storage == "encrypted":
        # Only the processor reads the content (and the submitter, where the form says so, e.g.
        # a deviation report until it is registered); everyone else sees the tombstone facts
        # (status, dates). Every decrypting read is audited (SPEC §1.4).
        own = spec_of(sub).extra.get("submitter_reads") and sub.submitted_by_id == user.id
        if sub.data_enc is None or not (own or may_process(sub, user)):
            return None
        data = crypto.unseal_json(sub, "data_enc")
        record_event(sub, "protected_content_read", user)
        db.session.commit()
        return data
    return sub.data


def get_visible(public_id: str, user: User) -> Submission:
    """404 for an id that does not exist or is not the user's to see."""
    sub = db.session.scalar(
        select(Submission)
        .where(Submission.public_id == public_id)
        # What the pages show of it (submissions.meta) in the same query; the users' roles are
        # not needed to show their names.
        .options(
            joinedload(Submission.unit),
            joinedload(Submission.submitted_by).lazyload(User.role_rows),
            joinedload(Submission.processed_by).lazyload(User.role_rows),
        )
    )
    if sub is None or not may_see(sub, user):
        audit.record(
            "submission_denied",
            user=user,
            object_type="submission",
            object_id=None,
            outcome="denied",
        )
        db.session.commit()
        abort(404)
    return sub


def record_event(sub: Submission, action: str, user: User, detail: str | None = None) -> None:
    """An audit event about one submission, in the caller's transaction (never its content)."""
    audit.submission_event(sub, action, user, detail=detail)


def log_view(sub: Submission, user: User, what: str) -> None:
    """Audit a read, and commit it before anything is shown. The event is the only write, so
    what the request has loaded stays true: it is not expired and read again after the commit."""
    record_event(sub, what, user)
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def meta(sub: Submission) -> dict[str, Any]:
    return {
        "created_at": local(sub.created_at),
        "processed_at": local(sub.processed_at) if sub.processed_at else "",
        "orderer": sub.submitted_by.full_name,
        "orderer_unit": sub.unit.name,
        "processed_by": sub.processed_by.full_name if sub.processed_by else "",
        "reference": sub.public_id[:8],
        "status": status_label(sub),
        "distribution_list": current_app.config["DISTRIBUTION_LISTS"][
            spec_of(sub).distribution_list
        ],
        "reply": sub.reply or "",
    }


def queue(
    process_role: str, user: User | None = None, *, offset: int = 0, limit: int | None = None
) -> list[Submission]:
    """Unprocessed submissions of the forms this role processes, oldest first; forms processed
    per unit only for the user's own unit. `offset`/`limit` give one page of it."""
    specs = [s for s in BY_KEY.values() if process_role in s.process_roles]
    everywhere = [s.key for s in specs if s.process_scope == "all"]
    own_unit = [s.key for s in specs if s.process_scope == "unit"]
    cond = Submission.form.in_(everywhere)
    if own_unit and user is not None:
        cond = cond | (Submission.form.in_(own_unit) & (Submission.unit_id == user.unit_id))
    return list(
        db.session.scalars(
            select(Submission)
            .where(cond, Submission.status == "submitted")
            .order_by(Submission.created_at, Submission.id)
            # The queue shows each row's unit: one query, not one per unit (bench/README.md).
            .options(joinedload(Submission.unit))
            .offset(offset)
            .limit(limit)
        )
    )


def mark_done(sub: Submission, user: User, reply: str, expected_version: int | None = None) -> None:
    """LVS marks a submission done. Raises AlreadyProcessed when another user got there first."""
    spec = spec_of(sub)
    if not may_process(sub, user):
        abort(404)
    if sub.status != "submitted" or (
        expected_version is not None and sub.version != expected_version
    ):
        raise AlreadyProcessed
    try:
        sub.status = "done"
        sub.processed_by_id = user.id
        sub.processed_at = utcnow()
        # An encrypted form keeps no reply: it would outlive the purged content (issue 11 M3).
        sub.reply = (reply.strip() or None) if spec.keeps_reply else None
        # The sealed fields' step is done (SPEC §3.1): gone with their data key. Shredded in
        # memory before on_done, so that the row is written once, in one version, by on_done's
        # first query or the commit (not earlier: two LVS users race on that write).
        sealed = spec.storage == "plain" and sub.data_enc is not None
        if sealed:
            crypto.shred(sub, "data_enc")
        if spec.on_done:
            spec.on_done(sub, user, today())
        if sealed:
            record_event(sub, "protected_content_purged", user, detail="förseglade fält raderade")
        record_event(sub, "submission_processed", user)
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise AlreadyProcessed from exc
    except BaseException:
        # A failure half-way through on_done (some grants made, not all) leaves nothing behind,
        # even if the caller commits something else in the same session afterwards.
        db.session.rollback()
        raise
