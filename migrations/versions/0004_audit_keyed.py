"""audit chain keyed (HMAC-SHA-256) and TRUNCATE refused (issue 11, H3)

Revision ID: 0004_audit_keyed
Revises: 0003_performance_indexes
Create Date: 2026-12-01

The chain's MAC becomes HMAC-SHA-256 under the audit key (portal/audit.py); the columns stay
(`prev_hash`, `hash`: 64 hex digits either way).

Existing events were chained with plain SHA-256, which anyone who can write the database can
recompute: they prove nothing against that attacker, before or after this migration. So the
migration checks the old chain once (seq from 1 without a gap, every link, every SHA-256), then
re-chains every event under the key and appends one event, `audit_chain_keyed`, whose outcome
("ok"/"failed") and detail say whether the old chain was whole and, if not, where it broke. From
here on that finding is itself under the key: nobody without the key can change it. What this
cannot do is vouch for the events before the upgrade beyond what the old chain showed. The key
comes from the app the migration runs in (`flask init-db`): AUDIT_KEY or the key folder's
audit.secret, made here if the log has events and no key exists yet. An empty log needs no key.

The migration is meant to run with the portal stopped, as every migration; it takes the chain's
advisory lock on PostgreSQL anyway. Downgrade re-chains with plain SHA-256 (appending an
`audit_chain_unkeyed` event the same way) and drops the TRUNCATE trigger.

PostgreSQL also gets a BEFORE TRUNCATE statement trigger: TRUNCATE fires no row trigger, so the
append-only triggers of 0001 did not stop it. The row (and this) trigger can still be dropped or
disabled by the table's owner or a superuser: the app's own role must be neither
(deploy/postgres-roles.sql), and the anchors outside the database show what such a person did.

The event's serialisation is copied here as it is at this revision, so that a later change of
portal/audit.py does not change what this migration computes.
"""
import hashlib
import hmac
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision = '0004_audit_keyed'
down_revision = '0003_performance_indexes'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
APPEND_ONLY_MSG = "audit_events is append-only"  # as in 0001
PG_LOCK_KEY = 0x5C7D_0001  # portal/audit.py: the lock that serialises chain appends
BATCH = 5000

_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.Integer),
    sa.column("username", sa.String),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.String),
    sa.column("unit_id", sa.Integer),
    sa.column("case_number", sa.String),
    sa.column("outcome", sa.String),
    sa.column("detail", sa.String),
    sa.column("remote_addr", sa.String),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def _ts(value):
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _payload(row, prev_hash):
    fields = [
        row["seq"], _ts(row["created_at"]), row["user_id"], row["username"], row["action"],
        row["object_type"], row["object_id"], row["unit_id"], row["case_number"], row["outcome"],
        row["detail"], row["remote_addr"], prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _sha256(payload):
    return hashlib.sha256(payload).hexdigest()


def _hmac(key):
    return lambda payload: hmac.new(key, payload, hashlib.sha256).hexdigest()


def _audit_key():
    from portal import crypto

    return crypto.named_secret("audit")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("""
            CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
        """)
    if _has_events(bind):
        _rechain(bind, old=_sha256, new=_hmac(_audit_key()), action="audit_chain_keyed",
                 what="SHA-256-kedja")


def downgrade():
    bind = op.get_bind()
    if _has_events(bind):
        _rechain(bind, old=_hmac(_audit_key()), new=_sha256, action="audit_chain_unkeyed",
                 what="HMAC-kedja")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")


def _has_events(bind):
    return bind.execute(sa.select(_events.c.id).limit(1)).first() is not None


def _rechain(bind, old, new, action, what):
    """Check the chain under `old`, rewrite every link and MAC under `new`, and append an event
    that records what the check found."""
    pg = bind.dialect.name == "postgresql"
    if pg:
        bind.execute(sa.text(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})"))
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
    update = (
        sa.update(_events)
        .where(_events.c.id == sa.bindparam("_id"))
        .values(prev_hash=sa.bindparam("_prev"), hash=sa.bindparam("_mac"))
    )
    broken = None  # (seq, why) of the first fault of the old chain
    old_prev, new_prev, expected, last_seq = GENESIS, GENESIS, 1, 0
    while True:
        rows = bind.execute(
            sa.select(_events).where(_events.c.seq > last_seq).order_by(_events.c.seq).limit(BATCH)
        ).mappings().all()
        if not rows:
            break
        changes = []
        for row in rows:
            if broken is None:
                if row["seq"] != expected:
                    broken = (expected, "händelse saknas")
                elif row["prev_hash"] != old_prev:
                    broken = (row["seq"], "föregående hash stämmer inte")
                elif not hmac.compare_digest(old(_payload(row, row["prev_hash"])), row["hash"]):
                    broken = (row["seq"], "hash stämmer inte")
            mac = new(_payload(row, new_prev))
            changes.append({"_id": row["id"], "_prev": new_prev, "_mac": mac})
            old_prev, new_prev, expected, last_seq = row["hash"], mac, row["seq"] + 1, row["seq"]
        bind.execute(update, changes)
    if pg:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
    else:
        op.execute(f"""
            CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MSG}'); END;
        """)
    if broken is None:
        outcome, detail = "ok", f"tidigare {what} hel: {last_seq} händelser, omkedjade"
    else:
        outcome = "failed"
        detail = (f"tidigare {what} bruten vid händelse {broken[0]} ({broken[1]}); "
                  f"{last_seq} händelser omkedjade")
    row = {
        "seq": last_seq + 1, "created_at": datetime.now(UTC), "user_id": None, "username": None,
        "action": action, "object_type": "audit_log", "object_id": None, "unit_id": None,
        "case_number": None, "outcome": outcome, "detail": detail, "remote_addr": None,
    }
    row["prev_hash"] = new_prev
    row["hash"] = new(_payload(row, new_prev))
    bind.execute(sa.insert(_events).values(**row))
