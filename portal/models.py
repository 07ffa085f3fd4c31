"""The portal's tables. No client-identifying data in plain text: what the routine lets us keep is
case numbers, staff data, fictional names, timestamps and who did what (SPEC §1.1)."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .extensions import Model

ROLES = ("staff", "social_secretary", "unit_manager", "planner", "lvs", "admin")


def new_public_id() -> str:
    """Random, unguessable id for URLs (never the database integer)."""
    return secrets.token_urlsafe(16)


class Unit(Model):
    """Enhet: a unit of ÄVO, of one unit type (enhetstyp) in one city district (stadsområde)."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    unit_type: Mapped[str] = mapped_column(String(32))
    city_district: Mapped[str] = mapped_column(String(64))

    users: Mapped[list[User]] = relationship(back_populates="unit")


class User(UserMixin, Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    # NULL: no unit yet (a first sign-in with the city account, issue 15; migration 0008). Such a
    # user has no role either (portal/accounts.py refuses roles without a unit), so no view that
    # reads the user's unit admits them (roles_required): typed as set for those views. Code that
    # any user reaches (the site header, the user loader, the admin's pages) checks for None.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Raised at logout and password change: every cookie that names an older version is dead.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Unused since issue 11 (L1): failed logins count per account and source in login_throttle.
    # Kept, so that migration 0006 does not rebuild the users table; drop them in a later one.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def get_id(self) -> str:
        """Flask-Login's id in the session cookie: raising session_version ends every session."""
        return f"{self.public_id}:{self.session_version}"


class UserRole(Model):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class LoginThrottle(Model):
    """Failed logins for one username from one source address (issue 11, L1), so that a
    delay holds the guesser back without locking the real user out from another address. The
    username is kept as an HMAC under SECRET_KEY (auth.throttle_key): a password typed into the
    name field is not readable here; nothing typed in the password field is ever kept. Rows of
    unknown names are kept alike, so the throttle tells nothing about which names exist."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("account_key", "source"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Submission(Model):
    """One submitted form. `data` holds what the form's storage policy allows: plain JSON for forms
    without client data, AES-GCM ciphertext for those with it; both are emptied by the purge, and the
    row stays as a tombstone (id, form, who, when, case number)."""

    __tablename__ = "submissions"
    # The LVS queue: unprocessed, oldest first (migration 0003; bench/README.md).
    __table_args__ = (Index("ix_submissions_status_created_at", "status", "created_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    form: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    processed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    case_number: Mapped[str | None] = mapped_column(String(32), index=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))
    reply: Mapped[str | None] = mapped_column(Text)
    # The row's own data key (portal/crypto.py, issue 11 H4): data_enc is sealed under it; the
    # purge deletes it. key_id is set only on values written before migration 0005 (under the
    # key-encryption key itself) until `flask rotate-keys` gives them a data key.
    data_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_keys.id", ondelete="SET NULL"), unique=True, index=True
    )
    # Optimistic lock: two LVS users marking the same order done — one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    processed_by: Mapped[User | None] = relationship(foreign_keys=[processed_by_id])
    data_key: Mapped[DataKey | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def sealed_context(self) -> tuple[str, int | None]:
        """(form, unit) that a sealed value of this row is bound to (crypto.Binding)."""
        return self.form, self.unit_id


class Grant(Model):
    """A row of the access register: who has access to which case, for which unit, until when (§2.2).
    Which rows are active is one SQL expression, portal.register.active_on."""

    __tablename__ = "grants"
    # The access register: not revoked, in case order, a page at a time (migration 0003).
    __table_args__ = (
        Index("ix_grants_revoked_at_case_number", "revoked_at", "case_number", "valid_to", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    case_number: Mapped[str] = mapped_column(String(32), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    position: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit_name: Mapped[str] = mapped_column(String(120))
    unit_type: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date, index=True)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_order_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))

    unit: Mapped[Unit] = relationship()
    granted_by: Mapped[User] = relationship(foreign_keys=[granted_by_id])
    order: Mapped[Submission] = relationship(foreign_keys=[order_id])


class LocalProtection(Model):
    """Lokalt skydd on a case, up to three months pending Skatteverket's decision (§1.3). The reason
    stays in the order; this row only says which case until when."""

    __tablename__ = "local_protections"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(32), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    until: Mapped[date] = mapped_column(Date, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[Unit] = relationship()


class AuditEvent(Model):
    """Append-only audit log, chained by HMAC-SHA-256 under a key outside the database and anchored
    outside it (portal/audit.py). Never protected content: who, what, which object, outcome."""

    __tablename__ = "audit_events"
    # A unit's audit page: its newest events by seq (migration 0003; replaces an index on unit_id).
    __table_args__ = (
        UniqueConstraint("seq"),
        Index("ix_audit_events_unit_id_seq", "unit_id", "seq"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    case_number: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(255))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class FictionalFile(Model):
    """Fiktiv akt (§7.5, §8.2): the fictional name a unit's staff write day notes under. Its link to
    the Treserva case number is shown to the unit's managers only (SPEC §3.5)."""

    __tablename__ = "fictional_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    fictional_name: Mapped[str] = mapped_column(String(120))
    case_number: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    unit: Mapped[Unit] = relationship()


class DayNote(Model):
    """One day note (daganteckning, §7.5, §8.6) in a fictional file. Its text is kept only
    encrypted, in `text_enc` under the note's data key (portal/day_notes.py). Every note is
    deleted two calendar months after it was written, compiled or not (§8.6)."""

    __tablename__ = "day_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("fictional_files.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))
    # The note's own data key (as Submission.data_key_id): deleted with the note.
    data_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_keys.id", ondelete="SET NULL"), unique=True, index=True
    )
    compiled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    compiled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    file: Mapped[FictionalFile] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    compiled_by: Mapped[User | None] = relationship(foreign_keys=[compiled_by_id])
    data_key: Mapped[DataKey | None] = relationship()

    def sealed_context(self) -> tuple[str, int | None]:
        """("day_note", the file's unit) that the note's text is bound to (crypto.Binding)."""
        return "day_note", self.file.unit_id


class DataKey(Model):
    """A record's own data key (crypto-shredding, SPEC §1.1; issue 11 H4): 256 random bits, kept
    only wrapped (AES-256-GCM) by a key-encryption key that is never in the database. Purging the
    record deletes this row, after which its ciphertext cannot be read from any copy of the
    database, WAL or backup. `kek_id` names the key-encryption key; rotation re-wraps."""

    __tablename__ = "data_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(32))  # the record's table, e.g. "submissions"
    kek_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NoticeSent(Model):
    """The day a notice of one kind last went by e-mail to one user (issue 15, part N;
    portal/notices.py): at most one a day per person and kind. Only the kind's code and the day:
    nothing about what was waiting. A send the server did not accept leaves no row."""

    __tablename__ = "notices_sent"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    sent_on: Mapped[date] = mapped_column(Date)


class SelfCheck(Model):
    """Egenkontroll (§4.1): a unit manager recorded that the unit's access was checked, from the
    clients' side (per case) and the employees' (per employee). Kept, for the self-check file: who,
    when, what was checked; nothing about any client (issue 16)."""

    __tablename__ = "self_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    done_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    per_case: Mapped[bool] = mapped_column(Boolean, default=False)
    per_employee: Mapped[bool] = mapped_column(Boolean, default=False)
    rules_followed: Mapped[bool] = mapped_column(Boolean, default=False)
    logs_reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The register as it was checked: how many active grants and cases (counts only).
    active_grants: Mapped[int] = mapped_column(Integer, default=0)
    cases: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[Unit] = relationship()
    done_by: Mapped[User] = relationship()


class FollowUp(Model):
    """A follow-up its user set, without client data (SPEC §1.1, issue 16): the checklist's next
    follow-up (§5.12) or the end of a local protection (§1.3), as a case number and a date, for
    the social secretary or unit manager who set it. Shown on their start page; deleted when they
    mark it done or when its day has passed (portal/retention.py)."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("user_id", "case_number", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_number: Mapped[str] = mapped_column(String(32))
    #: "checklist" (next follow-up, §5.12) or "local_protection" (its end, §1.3).
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
