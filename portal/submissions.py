"""The submission service: store, show to whom it may be shown, process, render. It flushes and
never commits (the request does, portal/transaction.py), writes each audit event in the caller's
transaction, and speaks no HTTP: it raises NotVisible and AlreadyProcessed, which the error
handlers (portal/web.py) answer with 404 and 409."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from . import audit, crypto
from .clock import local, utcnow
from .extensions import db
from .forms import BY_KEY, StoredForm, stored
from .forms.base import CheckContext, DoneInput
from .i18n import N_
from .models import Submission, User, new_public_id

STATUS_LABELS = {
    "submitted": N_("Väntar på LVS"),
    "done": N_("Klar"),
    "purged": N_("Klar, innehållet raderat"),
    "expired": N_("Raderad efter 30 dagar utan hantering"),
}


def status_label(sub: Submission) -> str:
    """The state in words; a form may word it its own way (StoredForm.status_labels)."""
    own = kind_of(sub).status_labels
    return str(gettext(own.get(sub.status) or STATUS_LABELS.get(sub.status, sub.status)))


class NotVisible(Exception):
    """The submission does not exist, or is not the user's to see or process (answered 404,
    never telling which)."""


class AlreadyProcessed(Exception):
    """Somebody else marked it done first (answered 409; nothing changed)."""


def kind_of(sub: Submission) -> StoredForm:
    """The form the submission was made with."""
    return stored(sub.form)


def create(
    kind: StoredForm, data: dict[str, Any], ctx: CheckContext, unit_id: int | None = None
) -> Submission:
    """Store a checked form's data for ``ctx.user``'s unit (or ``unit_id``: LVS ordering the
    removals of a closing for the unit that holds the grants): encrypted where the form says, the
    audit event in the same transaction. Flushes; the request commits."""
    user = ctx.user
    plain, sealed = split_sealed(kind, data)
    sub = Submission(
        public_id=new_public_id(),
        form=kind.key,
        unit_id=user.unit_id if unit_id is None else unit_id,
        submitted_by_id=user.id,
        case_number=kind.case_number(data),
        flagged=kind.flagged(data, ctx),
        data=plain,
    )
    if sealed:
        # Under the row's own data key, bound to its table, column, id, form and unit (SPEC §1.1;
        # crypto.seal): the whole content of an encrypted form, a plain form's sealed fields.
        crypto.seal_json(sub, "data_enc", sealed)
    db.session.add(sub)
    db.session.flush()
    record_event(sub, "submission_created", user)
    return sub


def split_sealed(
    kind: StoredForm, data: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(what is stored plain, what is sealed): an encrypted form seals everything; a plain form
    seals its `sealed_fields` that hold something (an empty one stays plain, so that after the
    purge a removed field can be told from one never filled in)."""
    if kind.storage == "encrypted":
        return None, data
    sealed = {k: data[k] for k in kind.sealed_fields if data.get(k)}
    return {k: v for k, v in data.items() if k not in sealed}, sealed


def may_process(sub: Submission, user: User) -> bool:
    return kind_of(sub).may_process(user, sub)


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
    kind = kind_of(sub)
    if kind.storage == "plain" and kind.sealed_fields:
        data = dict(sub.data or {})
        if sub.data_enc is None:
            return {k: None for k in kind.sealed_fields} | data
        data.update(crypto.unseal_json(sub, "data_enc"))
        record_event(sub, "protected_content_read", user)
        return data
    if kind.storage == "encrypted":
        # Only the processor reads the content (and the submitter, where the form says so, e.g.
        # a deviation report until it is registered); everyone else sees the tombstone facts
        # (status, dates). Every decrypting read is audited (SPEC §1.4).
        own = kind.submitter_reads and sub.submitted_by_id == user.id
        if sub.data_enc is None or not (own or may_process(sub, user)):
            return None
        data = crypto.unseal_json(sub, "data_enc")
        record_event(sub, "protected_content_read", user)
        return data
    return sub.data


def get_visible(public_id: str, user: User) -> Submission:
    """The submission, if it exists and is the user's to see (``may_see``); else NotVisible."""
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
        raise NotVisible
    return sub


def record_event(sub: Submission, action: str, user: User, detail: str | None = None) -> None:
    """An audit event about one submission, in the caller's transaction (never its content)."""
    audit.submission_event(sub, action, user, detail=detail)


def log_view(sub: Submission, user: User, what: str) -> None:
    """Audit a read. It commits with the request, before the response leaves: a page or file is
    never shown whose reading is not in the log (a failed commit answers 500)."""
    record_event(sub, what, user)


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
            kind_of(sub).distribution_list
        ],
        "reply": sub.reply or "",
    }


def queue(
    process_role: str, user: User | None = None, *, offset: int = 0, limit: int | None = None
) -> list[Submission]:
    """Unprocessed submissions of the forms this role processes, oldest first; forms processed
    per unit only for the user's own unit. `offset`/`limit` give one page of it."""
    kinds = [
        k for k in BY_KEY.values() if isinstance(k, StoredForm) and process_role in k.process_roles
    ]
    everywhere = [k.key for k in kinds if k.process_scope == "all"]
    own_unit = [k.key for k in kinds if k.process_scope == "unit"]
    cond: ColumnElement[bool] = Submission.form.in_(everywhere)
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


def handled(
    process_role: str, since: datetime, *, offset: int = 0, limit: int | None = None
) -> list[Submission]:
    """What holders of ``process_role`` marked done since ``since`` (LVS's list of what it handled,
    issue 14), newest first: the forms processed everywhere by that role (not per unit). Purged
    ones are tombstones: only their facts (who, when, unit, case number) remain."""
    kinds = [
        k.key
        for k in BY_KEY.values()
        if isinstance(k, StoredForm) and process_role in k.process_roles
        and k.process_scope == "all"
    ]
    return list(
        db.session.scalars(
            select(Submission)
            .where(
                Submission.form.in_(kinds),
                Submission.processed_at.is_not(None),
                Submission.processed_at >= since,
            )
            .order_by(Submission.processed_at.desc(), Submission.id.desc())
            .options(
                joinedload(Submission.unit),
                joinedload(Submission.processed_by).lazyload(User.role_rows),
            )
            .offset(offset)
            .limit(limit)
        )
    )


def mark_done(sub: Submission, done: DoneInput, expected_version: int | None = None) -> None:
    """The processor marks a submission done, and the form carries out what that means
    (StoredForm.on_done). NotVisible for a user who does not process it; AlreadyProcessed when
    another user got there first (its version changed), with nothing of this one kept."""
    kind = kind_of(sub)
    user = done.user
    if not kind.may_process(user, sub):
        raise NotVisible
    if sub.status != "submitted" or (
        expected_version is not None and sub.version != expected_version
    ):
        raise AlreadyProcessed
    sub.status = "done"
    sub.processed_by_id = user.id
    sub.processed_at = utcnow()
    # An encrypted form keeps no reply: it would outlive the purged content (issue 11 M3).
    sub.reply = (done.reply.strip() or None) if kind.keeps_reply else None
    # The sealed fields' step is done (SPEC §3.1): gone with their data key. Shredded in memory
    # before on_done, so that the row is written once, in one version, by on_done's first query
    # or the flush below (not earlier: two processors race on that write).
    sealed = kind.storage == "plain" and sub.data_enc is not None
    if sealed:
        crypto.shred(sub, "data_enc")
    try:
        kind.on_done(sub, done)
        if sealed:
            record_event(sub, "protected_content_purged", user, detail="förseglade fält raderade")
        record_event(sub, "submission_processed", user)
        db.session.flush()  # the version check: another processor's write makes this one stale
    except StaleDataError as exc:
        raise AlreadyProcessed from exc
