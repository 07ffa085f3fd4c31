"""Append-only, keyed, anchored audit log (SPEC §1.4, `003`: it must afterwards be possible to see
who has taken part of protected data).

The chain. Each event carries (column `hash`) the HMAC-SHA-256 of its own fields and of the previous
event's MAC (`prev_hash`; the first event links to GENESIS), under the audit key: `AUDIT_KEY`
(base64, 32 bytes; from the environment in production) or else `<keys dir>/audit.secret` (0600,
beside the field keys, made on a fresh install), `crypto.named_secret("audit")`. The key is never in
the database, so whoever can write the database but not read the key cannot make an altered,
shortened-inside or re-chained log verify. Each process reads the key once per place it comes from
(the setting's value or the file's path): bytes that cannot change for a given source. A missing
key while the log has events is refused (AuditKeyMissing), never replaced by a new key. Keep the
key with the other secrets and in their backup: without it the log cannot be verified.

Anchors. A MAC chain cannot show that its end was cut off, nor that everything was deleted. So the
committed head `(seq, MAC, time)` is appended, one line each, to a sink outside the database: every
AUDIT_ANCHOR_EVERY events (after the commit that wrote the N-th event: the committed head is read
on a connection of its own, so a rolled-back event is never anchored) and every
AUDIT_ANCHOR_SECONDS by the server's timer (portal/scheduler.py). The sink is the file
AUDIT_ANCHOR_PATH (default instance/audit-anchors.log), opened O_APPEND and mode 0600, one
os.write per line so that the lines of several worker processes never interleave, and optionally
syslog (AUDIT_ANCHOR_SYSLOG: "/dev/log", "host:port" for UDP, or "1"), which can leave the machine.
Never rotate or truncate the anchor file; it grows by some 100 bytes a line.

`verify()` (and `flask audit-verify`) walks the chain: seq 1, 2, … without a gap, every link,
every MAC, and the MAC at each anchored seq equal to the anchor's; it fails on a chain that ends
before the last anchor (the tail deleted), on an empty log when anchors exist (all deleted), and
on an anchor file it cannot read or parse. A copy (a restored backup) may end before the live
anchors: `allow_shorter` (`audit-verify --copy`). After restoring a backup into production the
live anchors show the events lost since it was taken: keep that anchor file as the record of the
loss, and start a new one (move it aside) before the portal writes again.

Interface: `record(action, …)` adds an event to the session's transaction; `verify(…)` returns a
VerifyResult (ok, checked, broken_seq, reason, and anchors matched, last_anchor, unanchored);
`anchor_head()` anchors the committed head now; `chain_key()` is the key; `read_anchors(paths)`
parses anchor files (raising AnchorFileError).

Events are added to the caller's transaction: the change and its audit event commit together or
not at all. Migration 0004 re-chained the events written under the older unkeyed SHA-256 chain
and appended an `audit_chain_keyed` event saying whether that older chain was whole.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import SysLogHandler
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, false, func, insert, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import Session

from . import crypto
from .clock import utcnow
from .extensions import db
from .models import AuditEvent, User

GENESIS = "0" * 64
# Any fixed 64-bit number: the advisory lock that serialises chain appends on PostgreSQL.
_PG_LOCK_KEY = 0x5C7D_0001
_HEAD = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_EVENTS = AuditEvent.__table__
# The lock that serialises appends, held until the transaction ends. PostgreSQL: an advisory lock.
_PG_LOCK = select(func.pg_advisory_xact_lock(_PG_LOCK_KEY))
# SQLite: take the write lock before reading the head, so that two processes (gunicorn workers)
# cannot both read the same head and collide on seq: a write statement that touches no row still
# opens the write transaction, held until commit.
_SQLITE_LOCK = update(_EVENTS).where(false()).values(seq=_EVENTS.c.seq)
_INSERT = insert(_EVENTS)

KEY_NAME = "audit"
# session.info key: the N-th event was written in this transaction; anchor the head after commit.
_ANCHOR_DUE = "audit_anchor_due"
_ANCHOR_LINE = re.compile(
    r"([1-9][0-9]{0,17}) ([0-9a-f]{64}) ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z)"
)

log = logging.getLogger(__name__)


class AuditKeyMissing(RuntimeError):
    """The log has events but the audit key is gone: refuse, never make a new key (the events
    written so far could not be verified any more)."""


# --- the key --------------------------------------------------------------------------------------

_keys: dict[tuple[str, str], bytes] = {}
# The same, looked up by the settings that decide the source (crypto.keys_dir() is a function of
# FIELD_KEYS_DIR and the instance path): a dict lookup per event instead of building a path.
_by_settings: dict[tuple[Any, ...], bytes] = {}


def _key_source() -> tuple[str, str]:
    setting = current_app.config.get("AUDIT_KEY")
    if setting:
        return ("setting", str(setting))
    return ("file", str(crypto.keys_dir() / f"{KEY_NAME}.secret"))


def _key_exists(source: tuple[str, str]) -> bool:
    return source[0] == "setting" or Path(source[1]).is_file()


def chain_key() -> bytes:
    """The running app's audit key, read once per process for each source (see the module)."""
    cfg = current_app.config
    settings = (cfg.get("AUDIT_KEY"), cfg.get("FIELD_KEYS_DIR"), current_app.instance_path)
    key = _by_settings.get(settings)
    if key is not None:
        return key
    source = _key_source()
    key = _keys.get(source)
    if key is None:
        if not _key_exists(source) and _has_events():
            raise AuditKeyMissing(
                f"Granskningsloggens nyckel saknas ({source[1]}), men loggen har händelser. "
                "Ingen ny nyckel skapas: ange AUDIT_KEY eller lägg tillbaka nyckelfilen."
            )
        key = _keys[source] = crypto.named_secret(KEY_NAME)
    _by_settings[settings] = key
    return key


def _has_events() -> bool:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(_HEAD).first() is not None


# --- one event ------------------------------------------------------------------------------------


def _ts(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def event_hash(ev: AuditEvent | SimpleNamespace | Row[Any], key: bytes) -> str:
    """The event's MAC: HMAC-SHA-256 under `key` of its fields and the previous event's MAC."""
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
    return hmac.new(key, raw.encode("utf-8"), hashlib.sha256).hexdigest()


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
) -> None:
    """Add one event to the current transaction. Never pass protected content in `detail`.

    On the session's own connection (so in its transaction): take the chain's lock, read its
    head, insert the event after it (one Core INSERT). The lock is held until the transaction
    ends, so appends of concurrent requests and processes queue and the chain has no fork. The
    key comes from the process's cache; every AUDIT_ANCHOR_EVERY-th event marks the session so
    that the head is anchored once the transaction has committed."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()
    key = chain_key()
    session = db.session
    bind = session.get_bind()
    conn = session.connection()
    # PostgreSQL takes its lock in a statement of its own: READ COMMITTED gives the head's read a
    # snapshot taken after the lock was granted, so it sees the last append committed before.
    conn.execute(_PG_LOCK if bind.dialect.name == "postgresql" else _SQLITE_LOCK)
    last = conn.exec_driver_sql(_HEAD).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ev = _event(seq, prev, user, action, object_type, object_id, unit_id, case_number,
                outcome, detail, key)
    conn.execute(_INSERT, vars(ev))  # the event's fields are the table's columns
    every = int(current_app.config.get("AUDIT_ANCHOR_EVERY") or 0)
    if every > 0 and seq % every == 0 and isinstance(bind, Engine):
        session.info[_ANCHOR_DUE] = (bind, _sinks())
    session.flush()  # as before: what the caller added is flushed with its event


def _event(seq: int, prev: str, user: User | None, action: str, object_type: str | None,
           object_id: str | None, unit_id: int | None, case_number: str | None, outcome: str,
           detail: str | None, key: bytes) -> SimpleNamespace:
    ev = SimpleNamespace(
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
    ev.hash = event_hash(ev, key)
    return ev


# --- anchors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sinks:
    """Where anchors go: the append-only file, and syslog when configured."""

    path: str
    syslog: str | None = None


def _sinks() -> Sinks:
    cfg = current_app.config
    path = cfg.get("AUDIT_ANCHOR_PATH") or os.path.join(
        current_app.instance_path, "audit-anchors.log"
    )
    return Sinks(str(path), str(cfg.get("AUDIT_ANCHOR_SYSLOG") or "") or None)


def anchor_path() -> Path:
    return Path(_sinks().path)


@event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    due = session.info.pop(_ANCHOR_DUE, None)
    if due is None:
        return
    engine, sinks = due
    try:
        _anchor_committed_head(engine, sinks)
    except Exception:  # noqa: BLE001 - the event is committed; the next anchor covers it
        log.exception("audit anchor could not be written")


@event.listens_for(Session, "after_rollback")
def _forget_anchor(session: Session) -> None:
    session.info.pop(_ANCHOR_DUE, None)


def anchor_head() -> tuple[int, str] | None:
    """Anchor the committed head now (the scheduler's timer); None when the log is empty."""
    return _anchor_committed_head(db.engine, _sinks())


_written: dict[str, tuple[int, str]] = {}  # per sink file: the last anchor this process wrote
_write_lock = threading.Lock()


def _anchor_committed_head(engine: Engine, sinks: Sinks) -> tuple[int, str] | None:
    """Read the head on a connection of its own (so: only what is committed) and anchor it."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(_HEAD).first()
    if row is None:
        return None
    head = (int(row[0]), str(row[1]))
    with _write_lock:
        if _written.get(sinks.path) == head:
            return head
        write_anchor(sinks, *head)
        _written[sinks.path] = head
    return head


def write_anchor(sinks: Sinks, seq: int, mac: str, at: datetime | None = None) -> None:
    """Append one anchor line: a single os.write on an O_APPEND descriptor, so that lines from
    several processes never interleave; fsynced, since it is the evidence of the log's length."""
    when = (at or utcnow()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{seq} {mac} {when}"
    if not _ANCHOR_LINE.fullmatch(line):
        raise ValueError("not an anchor")
    data = (line + "\n").encode("ascii")
    path = Path(sinks.path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
        if os.write(fd, data) != len(data):
            raise OSError("anchor line written only in part")
        os.fsync(fd)
    finally:
        os.close(fd)
    if sinks.syslog:
        _syslog(sinks.syslog).info("audit-anchor %s", line)


_syslog_loggers: dict[str, logging.Logger] = {}


def _syslog(address: str) -> logging.Logger:
    """A logger of its own (not in the logging tree, so no other handler sees it) per address:
    "/dev/log" or another socket path, "host:port" (UDP), or "1"/"true" for /dev/log."""
    logger = _syslog_loggers.get(address)
    if logger is None:
        target: str | tuple[str, int]
        if address.lower() in ("1", "true", "yes"):
            target = "/dev/log"
        elif address.startswith("/"):
            target = address
        else:
            host, _, port = address.rpartition(":")
            target = (host or "localhost", int(port or 514))
        handler = SysLogHandler(address=target, facility=SysLogHandler.LOG_AUTH)
        handler.setFormatter(logging.Formatter("skyddsportalen: %(message)s"))
        logger = logging.Logger("skyddsportalen.audit-anchor", logging.INFO)
        logger.propagate = False
        logger.addHandler(handler)
        _syslog_loggers[address] = logger
    return logger


class AnchorFileError(Exception):
    """An anchor file could not be read or parsed; `seq` when two anchors disagree."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


def read_anchors(paths: Iterable[str | Path]) -> dict[int, str]:
    """seq -> MAC of every anchor line in the files; a missing file holds no anchors. Raises
    AnchorFileError for a file that cannot be read, a line that is not an anchor (a partial last
    line included), or two anchors of one seq with different MACs (the chain was re-made)."""
    anchors: dict[int, str] = {}
    for path in map(Path, paths):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise AnchorFileError(
                f"ankarfilen {path} kan inte läsas ({exc.strerror or type(exc).__name__})"
            ) from None
        lines = data.split(b"\n")
        if lines[-1]:
            raise AnchorFileError(f"ankarfilen {path} är skadad: sista raden är avbruten")
        for number, raw in enumerate(lines[:-1], start=1):
            match = _ANCHOR_LINE.fullmatch(raw.decode("ascii", "replace"))
            if match is None:
                raise AnchorFileError(
                    f"ankarfilen {path} är skadad: rad {number} är inget ankare"
                )
            seq, mac = int(match[1]), match[2]
            if anchors.setdefault(seq, mac) != mac:
                raise AnchorFileError(
                    f"två ankare för händelse {seq} har olika MAC: kedjan har skrivits om", seq
                )
    return anchors


# --- verification ---------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    anchors: int = 0  # anchors whose event was found and matched
    last_anchor: int | None = None  # the highest anchored seq
    unanchored: int = 0  # events after the last anchor (the timer anchors them soon)


def verify(
    batch: int = 5000,
    anchor_paths: Iterable[str | Path] | None = None,
    allow_shorter: bool = False,
    newest: int | None = None,
) -> VerifyResult:
    """Walk the chain in order; report the first event whose seq, link, MAC or anchor is wrong,
    then a chain that ends before its last anchor (see the module). `anchor_paths`: the anchor
    files to check against (default the configured one). `allow_shorter`: the database is a copy
    (a backup), so anchors after its end are expected. `newest`: check only the newest that many
    events, linked to the stored MAC of the event before them (the audit page, which must answer
    in time; the whole chain is `flask audit-verify`'s). Rows are read as plain rows, never ORM
    objects, so a request's session is left as it was."""
    try:
        anchors = read_anchors([anchor_path()] if anchor_paths is None else anchor_paths)
    except AnchorFileError as exc:
        return VerifyResult(False, 0, exc.seq, str(exc))
    last_anchor = max(anchors, default=None)
    source = _key_source()
    key = _keys.get(source) or (crypto.named_secret(KEY_NAME) if _key_exists(source) else None)
    prev, expected_seq, checked, matched = GENESIS, 1, 0, 0
    last_seq = 0

    def broken(seq: int | None, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, reason, matched, last_anchor)

    if newest:
        head = db.session.scalar(select(func.max(_EVENTS.c.seq))) or 0
        if head > newest:
            last_seq = head - newest
            before = db.session.scalar(select(_EVENTS.c.hash).where(_EVENTS.c.seq == last_seq))
            if before is None:
                return broken(last_seq, "händelse saknas (borttagen)")
            prev, expected_seq = before, last_seq + 1

    while True:
        rows = db.session.execute(
            select(*_EVENTS.c)
            .where(_EVENTS.c.seq > last_seq)
            .order_by(_EVENTS.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        if key is None:
            return broken(rows[0].seq, f"granskningsloggens nyckel saknas ({source[1]})")
        for ev in rows:
            if ev.seq != expected_seq:
                return broken(expected_seq, "händelse saknas (borttagen)")
            if ev.prev_hash != prev:
                return broken(ev.seq, "kedjan bruten (föregående MAC stämmer inte)")
            if not hmac.compare_digest(event_hash(ev, key), ev.hash):
                return broken(
                    ev.seq, "innehållet ändrat eller kedjan omskriven (MAC stämmer inte)"
                )
            anchored = anchors.get(ev.seq)
            if anchored is not None:
                if not hmac.compare_digest(anchored, ev.hash):
                    return broken(ev.seq, "händelsen stämmer inte med ankaret: kedjan omskriven")
                matched += 1
            prev, expected_seq, last_seq = ev.hash, ev.seq + 1, ev.seq
            checked += 1
    if last_anchor is not None and last_anchor > last_seq and not allow_shorter:
        if checked == 0:
            return broken(1, f"loggen är tom, men ankaret visar {last_anchor} händelser: "
                             "alla händelser är borttagna")
        return broken(last_seq + 1, f"kedjan slutar vid händelse {last_seq}, men ankaret visar "
                                    f"händelse {last_anchor}: händelser i slutet är borttagna")
    covered = max((s for s in anchors if s <= last_seq), default=0)
    return VerifyResult(True, checked, anchors=matched, last_anchor=last_anchor,
                        unanchored=last_seq - covered)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def submission_event(
    sub: Any, action: str, user: Any, *, outcome: str = "ok", detail: str | None = None
) -> None:
    """An audit event about one submission (who, which form, which row, unit, case number), in the
    caller's transaction; never its content."""
    record(
        action,
        user=user,
        object_type=sub.form,
        object_id=sub.public_id,
        unit_id=sub.unit_id,
        case_number=sub.case_number,
        outcome=outcome,
        detail=detail,
    )
