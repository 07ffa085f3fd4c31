"""Append-only, tamper-evident audit log (SPEC §1.4, `003`: it must afterwards be possible to see
who has taken part of protected data).

Each event carries the SHA-256 of its own fields and of the previous event's hash, so altering or
removing a row breaks the chain from there on; `flask audit-verify` finds the first break. Events
are added to the caller's transaction: the change and its audit event commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select, text

from .extensions import db
from .models import AuditEvent, User, utcnow

GENESIS = "0" * 64
# Any fixed 64-bit number: the advisory lock that serialises chain appends on PostgreSQL.
_PG_LOCK_KEY = 0x5C7D_0001


def _ts(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def event_hash(ev: AuditEvent) -> str:
    payload = [
        ev.seq,
        _ts(ev.created_at),
        ev.user_id,
        ev.username,
        ev.action,
        ev.object_type,
        ev.object_id,
        ev.unit_id,
        ev.case_number,
        ev.outcome,
        ev.detail,
        ev.remote_addr,
        ev.prev_hash,
    ]
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def record(
    action: str,
    *,
    user: User | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    unit_id: int | None = None,
    case_number: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
) -> AuditEvent:
    """Add one event to the current transaction. Never pass protected content in `detail`."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()  # type: ignore[attr-defined]
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # Take the write lock before reading the last seq, so that two processes (gunicorn
        # workers) cannot both read the same head and collide on seq: a write statement that
        # touches no row still opens the write transaction, held until commit.
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ev = AuditEvent(
        seq=seq,
        created_at=utcnow(),
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        case_number=case_number,
        outcome=outcome,
        detail=(detail or None) and detail[:255],
        remote_addr=request.remote_addr if has_request_context() else None,
        prev_hash=prev,
    )
    ev.hash = event_hash(ev)
    session.add(ev)
    session.flush()
    return ev


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first event whose hash, link or sequence is wrong."""
    prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "händelse saknas (borttagen)")
            if ev.prev_hash != prev:
                return VerifyResult(
                    False, checked, ev.seq, "kedjan bruten (föregående hash stämmer inte)"
                )
            if event_hash(ev) != ev.hash:
                return VerifyResult(False, checked, ev.seq, "innehållet ändrat (hash stämmer inte)")
            prev, expected_seq, last_seq = ev.hash, ev.seq + 1, ev.seq
            checked += 1
        db.session.expunge_all()
    return VerifyResult(True, checked)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
