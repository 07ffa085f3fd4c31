"""Notices by e-mail (issue 15): a person who has something waiting in the portal is told so, at
most once a Swedish calendar day per kind, with nothing about any case.

What a notice may say is fixed: its subject is one of the sentences in KINDS, its body fixed words
and the portal's address (PUBLIC_URL). No case number, name, unit or count: an e-mail leaves the
portal for mail servers, mailboxes and phones that the routine does not cover (SPEC §1.1, §1.2).

Who has what waiting is what their start page shows (portal/views/main.py), asked of the same
services: the LVS queue (submissions.queue), grants and local protections ending soon
(register.ending_soon), uncompiled day notes (day_notes.uncompiled_summary), unregistered
deviation reports (forms.deviation.unregistered, without a reader: no content is decrypted), and
for admins an active user with no role (a first sign-in with the city account).

Sending: SMTP through the standard library (smtplib), off while SMTP_HOST is unset. A notice
counts as sent only once the server has accepted it: then the day is recorded in `notices_sent`
and the send audited (`notice_sent`, detail: the kind), together in one transaction (should that
commit fail after the server accepted, the next run sends it again: a notice may come twice, it
is never lost). A send that fails records nothing, so the next run tries again; a server that is
down or refuses the connection ends the run (the rest wait for the next one). One run at a time
across instances (`run`): a PostgreSQL advisory lock, or on SQLite (one machine) a lock file in
instance/.

The scheduler (portal/scheduler.py) runs this every NOTICE_INTERVAL_SECONDS, and
`flask --app portal notices` runs it now."""

from __future__ import annotations

import fcntl
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import exists, select, text

from . import audit, register, submissions
from .clock import today
from .day_notes import uncompiled_summary
from .extensions import db
from .forms.deviation import unregistered
from .i18n import N_
from .models import NoticeSent, User, UserRole
from .transaction import transaction

log = logging.getLogger(__name__)
_PG_NOTICE_LOCK = 0x5C7D_0003  # the purge's is 0x5C7D_0002 (portal/scheduler.py)
LOCK_FILE = "notices.lock"


@dataclass(frozen=True)
class Kind:
    """One kind of notice: its code (kept in notices_sent and the audit detail), the sentence
    that is its subject, the roles it goes to, and whether a user has something of it waiting."""

    code: str
    subject: str  # marked with N_, translated when sent
    roles: frozenset[str]
    waiting: Callable[[User, date, dict[Any, bool]], bool]


def _lvs_queue(user: User, day: date, seen: dict[Any, bool]) -> bool:
    if "lvs" not in seen:  # the same for every LVS user: forms processed everywhere
        seen["lvs"] = bool(submissions.queue("lvs", user, limit=1))
    return seen["lvs"]


def _ending(user: User, day: date, seen: dict[Any, bool]) -> bool:
    key = ("ending", user.unit_id)
    if key not in seen:
        grants, protections = register.ending_soon(
            user.unit_id, day, current_app.config["REMINDER_DAYS"]
        )
        seen[key] = bool(grants or protections)
    return seen[key]


def _day_notes(user: User, day: date, seen: dict[Any, bool]) -> bool:
    key = ("day_notes", user.unit_id)
    if key not in seen:
        seen[key] = bool(uncompiled_summary(user.unit_id))
    return seen[key]


def _deviations(user: User, day: date, seen: dict[Any, bool]) -> bool:
    key = ("deviations", user.unit_id)
    if key not in seen:  # no reader: nothing is decrypted, nothing audited as read
        seen[key] = bool(unregistered(user.unit_id))
    return seen[key]


def _new_users(user: User, day: date, seen: dict[Any, bool]) -> bool:
    if "new_users" not in seen:
        seen["new_users"] = bool(db.session.scalar(select(waiting_for_roles().exists())))
    return seen["new_users"]


def waiting_for_roles() -> Any:
    """Active users with no role (väntar på behörighet): made by a first sign-in with the city
    account, they wait for an admin to give them a unit and roles. The rule of
    accounts.is_waiting, as a query."""
    return select(User.id).where(
        User.active.is_(True), ~exists().where(UserRole.user_id == User.id)
    )


# In the order of the routine: LVS's queue; what the unit's managers and planners see on their
# start page (the ending grants only for managers, who order extensions: SPEC §2); the admin's.
KINDS: tuple[Kind, ...] = (
    Kind(
        "lvs_queue",
        N_("Det finns beställningar att hantera i Skyddsportalen"),
        frozenset({"lvs"}),
        _lvs_queue,
    ),
    Kind(
        "ending_soon",
        N_("Behörigheter eller lokalt skydd i din enhet upphör snart"),
        frozenset({"unit_manager"}),
        _ending,
    ),
    Kind(
        "day_notes",
        N_("Daganteckningar väntar på sammanställning"),
        frozenset({"unit_manager", "planner"}),
        _day_notes,
    ),
    Kind(
        "deviation",
        N_("En avvikelse väntar på registrering"),
        frozenset({"unit_manager", "planner"}),
        _deviations,
    ),
    Kind(
        "new_user",
        N_("En ny användare väntar på behörighet"),
        frozenset({"admin"}),
        _new_users,
    ),
)
BY_CODE = {kind.code: kind for kind in KINDS}
# Kinds that concern the user's own unit: a user without a unit has none of them.
UNIT_KINDS = frozenset({"ending_soon", "day_notes", "deviation"})

BODY = N_(
    "Logga in i Skyddsportalen för att se vad som väntar."
)
LINK = N_("Skyddsportalen: %(url)s")
FOOTER = N_(
    "Meddelandet skickas automatiskt, högst en gång om dagen för varje slag av uppgift, och "
    "säger med avsikt inget om vad som väntar. Svara inte på det."
)


class NoticeConfigError(RuntimeError):
    """The SMTP settings cannot be used as they are (no sender; a password without STARTTLS)."""


@dataclass
class Counts:
    """What a run did, as counts only (the command prints them, the scheduler logs them)."""

    sent: dict[str, int] = field(default_factory=lambda: {k.code: 0 for k in KINDS})
    already: int = 0  # sent earlier the same day
    failed: int = 0  # not accepted: nothing recorded, tried again next run

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def enabled() -> bool:
    """Notices go out only when an SMTP server is configured."""
    return bool(current_app.config.get("SMTP_HOST"))


def _flag(value: Any) -> bool:
    """A setting from instance/config.py (bool) or the environment (text)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    sender: str
    timeout: float

    @classmethod
    def from_config(cls, cfg: Any) -> SmtpSettings:
        sender = cfg.get("SMTP_SENDER")
        if not sender:
            raise NoticeConfigError("SMTP_HOST is set but SMTP_SENDER is not")
        settings = cls(
            host=str(cfg["SMTP_HOST"]),
            port=int(cfg["SMTP_PORT"]),
            starttls=_flag(cfg["SMTP_STARTTLS"]),
            username=cfg.get("SMTP_USERNAME") or None,
            password=cfg.get("SMTP_PASSWORD") or None,
            sender=str(sender),
            timeout=float(cfg["SMTP_TIMEOUT"]),
        )
        if settings.username and not settings.starttls:
            # Never a password in plain text over the network.
            raise NoticeConfigError("SMTP_USERNAME is set but SMTP_STARTTLS is off")
        return settings


def message(kind: Kind, to: str, sender: str) -> EmailMessage:
    """The notice: fixed words and the portal's address, nothing else (no name, not even the
    recipient's, in a header or the body)."""
    subject = gettext(kind.subject)
    lines = [subject + ".", "", gettext(BODY)]
    url = current_app.config.get("PUBLIC_URL")
    if url:
        lines += ["", gettext(LINK, url=url)]
    lines += ["", "-- ", gettext(FOOTER)]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    # The sender's domain, not this machine's name, in the id.
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    msg.set_content("\n".join(lines) + "\n")
    return msg


class ServerUnavailable(Exception):
    """The SMTP server cannot be reached or refuses us as a whole: end the run."""


class Mailer:
    """One SMTP connection for a run, opened at the first message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls:
                # Verified against the system's trust store; never a fall-back to plain text
                # (no STARTTLS offered: SMTPNotSupportedError, the run ends).
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username and s.password is not None:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Raises ServerUnavailable when the server is gone or refuses the sender; any other
        SMTP error concerns this message alone."""
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
            raise
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ServerUnavailable(type(error).__name__) from None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def due(day: date) -> tuple[list[tuple[int, str, str]], int]:
    """(user id, e-mail address, kind code) of every notice to send on `day`, and how many were
    due but sent earlier that day. Active users with an address only; the per-unit kinds only
    for users with a unit."""
    sent_today = {
        (user_id, code)
        for user_id, code in db.session.execute(
            select(NoticeSent.user_id, NoticeSent.kind).where(NoticeSent.sent_on >= day)
        )
    }
    roles = {kind for k in KINDS for kind in k.roles}
    users = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.id.in_(
            select(UserRole.user_id).where(UserRole.role.in_(roles))
        ))
        .order_by(User.id)
    )
    seen: dict[Any, bool] = {}
    out, already = [], 0
    for user in users:
        if not (user.email or "").strip():
            continue
        for kind in KINDS:
            if not user.has_role(*kind.roles):
                continue
            # unit_id is NULL for a user with no unit yet (migration 0008), typed as set
            if kind.code in UNIT_KINDS and not user.unit_id:
                continue
            if not kind.waiting(user, day, seen):
                continue
            if (user.id, kind.code) in sent_today:
                already += 1
                continue
            out.append((user.id, user.email.strip(), kind.code))
    return out, already


def _record(user_id: int, code: str, day: date) -> None:
    """The day this notice went out, and its audit event; flushes (the caller commits)."""
    row = db.session.get(NoticeSent, (user_id, code))
    if row is None:
        db.session.add(NoticeSent(user_id=user_id, kind=code, sent_on=day))
    else:
        row.sent_on = day
    user = db.session.get(User, user_id)
    audit.record(
        "notice_sent",
        object_type="user",
        object_id=user.public_id if user is not None else None,
        detail=code,
    )


def send_due(day: date | None = None) -> Counts:
    """Send every notice due today; see the module's docstring. Call in an app context; the
    caller makes sure one run at a time (`run`)."""
    day = day or today()
    counts = Counts()
    if not enabled():
        return counts
    settings = SmtpSettings.from_config(current_app.config)
    with transaction():  # a read: ended before the first SMTP round trip
        todo, counts.already = due(day)
    mailer = Mailer(settings)
    try:
        for i, (user_id, address, code) in enumerate(todo):
            try:
                mailer.send(message(BY_CODE[code], address, settings.sender))
            except ServerUnavailable as error:
                counts.failed += len(todo) - i
                log.warning("notices: SMTP server unavailable (%s); %d left for the next run",
                            error, len(todo) - i)
                break
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                counts.failed += 1
                log.warning("notices: one notice refused (%s)", type(error).__name__)
                continue
            with transaction():
                _record(user_id, code, day)
            counts.sent[code] += 1
    finally:
        mailer.close()
    if counts.failed:
        with transaction():
            audit.record("notices_failed", object_type="notices", outcome="failed",
                         detail=f"antal: {counts.failed}")
    return counts


@contextmanager
def _one_run() -> Iterator[bool]:
    """True when this process may run now: no other instance is sending. PostgreSQL: a
    session-level advisory lock on a connection of its own (the run commits per notice, handing
    the session's connection back to the pool). SQLite, one machine: a lock file in instance/."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            lock = {"k": _PG_NOTICE_LOCK}
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), lock).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), lock)
        return
    folder = Path(current_app.instance_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def run(day: date | None = None) -> Counts | None:
    """One run of the notices (the scheduler, `flask notices`); None when another instance is
    running them now."""
    with _one_run() as mine:
        if not mine:
            return None
        return send_due(day)
