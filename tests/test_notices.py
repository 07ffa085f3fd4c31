"""Notices by e-mail (issue 15, portal/notices.py) against a real SMTP server on loopback
(aiosmtpd): whoever has something waiting gets one e-mail a day per kind, with fixed words and the
portal's address only (no case number, name or count); a server that is down loses nothing (the
next run delivers); STARTTLS is verified and never falls back to plain text; off without SMTP_HOST;
the scheduler and `flask notices` run the same job, one run at a time."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import USERS, order_form, submit_form
from flask import Flask
from sqlalchemy import select

from portal import audit, create_app, notices, scheduler
from portal.clock import STOCKHOLM, today
from portal.extensions import db
from portal.models import AuditEvent, NoticeSent, Unit, User

SENDER = "skyddsportalen-noreply@goteborg.se"
# No digit in it, so that the test can say the whole message holds none.
PUBLIC_URL = "https://skyddsportalen.intranat.goteborg.se/"
CASE, OTHER_CASE = "0655588", "0712345"
FICTIONAL = "Gunnel Gran"
SUBJECTS = {
    "lvs_queue": "Det finns beställningar att hantera i Skyddsportalen",
    "ending_soon": "Behörigheter eller lokalt skydd i din enhet upphör snart",
    "day_notes": "Daganteckningar väntar på sammanställning",
    "deviation": "En avvikelse väntar på registrering",
    "new_user": "En ny användare väntar på behörighet",
}


# --- a real SMTP server on loopback -----------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    tls: bool
    login: bytes | None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return str(self.message.get_content())


class Inbox:
    """aiosmtpd's handler: keeps what it accepted; refuses the recipients in `refuse`."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        data = session.auth_data if session.authenticated else None
        login = data.login if isinstance(data, LoginPassword) else None
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg,
                                          session.ssl is not None, login))
        return "250 Message accepted for delivery"

    def pairs(self) -> set[tuple[str, str]]:
        """(recipient, subject) of every message."""
        return {(m.rcpt_tos[0], m.subject) for m in self.messages}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def start_server(inbox: Inbox, port: int | None = None, **smtp: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **smtp)
    controller.start()
    return controller


@pytest.fixture
def server(inbox: Inbox) -> Iterator[Controller]:
    controller = start_server(inbox)
    yield controller
    controller.stop()


def use_server(app: Flask, port: int, **more: Any) -> None:
    app.config.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": False,
                       "SMTP_SENDER": SENDER, "SMTP_TIMEOUT": 5, "PUBLIC_URL": PUBLIC_URL,
                       **more})


def run(app: Flask, day: date | None = None) -> notices.Counts:
    with app.app_context():
        counts = notices.run(day)
        db.session.remove()
    assert counts is not None
    return counts


def sent_rows(app: Flask) -> set[tuple[str, str]]:
    with app.app_context():
        return {(u, k) for u, k in db.session.execute(
            select(User.username, NoticeSent.kind).join(User, User.id == NoticeSent.user_id))}


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.seq)))
        db.session.expunge_all()
        return rows


# --- something waiting of every kind -----------------------------------------------------------


def waiting_everywhere(app: Flask, as_user: Any) -> None:
    """An order in LVS's queue; a grant of Myndighet Centrum that ends in ten days; a deviation
    report and an uncompiled day note in Hemtjänst Hisingen; a user waiting for roles."""
    manager, lvs = as_user("manager"), as_user("lvs")
    day = date.today()
    ending = submit_form(manager, "/forms/access-order", order_form(
        valid_from=day.isoformat(), valid_to=(day + timedelta(days=10)).isoformat()))
    done = lvs.post(f"/lvs/submissions/{ending}/done",
                    data={"reply": "Klart i Treserva.", "version": "1"})
    assert done.status_code == 303, done.get_data(as_text=True)
    submit_form(manager, "/forms/access-order", order_form(
        case_number=OTHER_CASE, **{"persons-0-username": "bertil02",
                                   "persons-0-full_name": "Bertil Berg",
                                   "persons-0-email": "bertil.berg@goteborg.se"}))
    staff, hemtjanst = as_user("staff"), as_user("hemtjanst_manager")
    submit_form(staff, "/forms/deviation", {
        "event_date": today().isoformat(), "event_time": "07:45", "unit": "Hemtjänst Hisingen",
        "fictional_name": FICTIONAL, "category": "fall",
        "description": "Gunnel föll i badrummet vid morgonbesöket.",
        "immediate_action": "Hjälpte upp henne.", "handed_to": "Hugo Hemtjänstchef"})
    resp = hemtjanst.post("/day-notes/", data={"fictional_name": FICTIONAL, "case_number": CASE})
    assert resp.status_code == 303
    file_id = resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    resp = staff.post(f"/day-notes/{file_id}/notes", data={"text": "Gunnel ville gå ut."})
    assert resp.status_code == 303
    with app.app_context():  # as a first sign-in with the city account makes one
        db.session.add(User(username="nyanvandare", full_name="Nina Ny",
                            email="nyanvandare@goteborg.se", unit_id=None, password_hash="!"))
        db.session.commit()


EXPECTED = {
    ("lvs@goteborg.se", SUBJECTS["lvs_queue"]),
    ("lvs2@goteborg.se", SUBJECTS["lvs_queue"]),
    ("manager@goteborg.se", SUBJECTS["ending_soon"]),
    ("hemtjanst_manager@goteborg.se", SUBJECTS["deviation"]),
    ("hemtjanst_manager@goteborg.se", SUBJECTS["day_notes"]),
    ("planner@goteborg.se", SUBJECTS["deviation"]),
    ("planner@goteborg.se", SUBJECTS["day_notes"]),
    ("admin@goteborg.se", SUBJECTS["new_user"]),
}


def names_and_numbers(app: Flask) -> list[str]:
    """Everything that would identify a case, a person or a unit."""
    with app.app_context():
        units = list(db.session.scalars(select(Unit.name)))
    people = [full for full, _unit, _roles in USERS.values()] + ["Nina Ny"]
    return [CASE, OTHER_CASE, FICTIONAL, "Gunnel", "Anna Andersson", "anna01", "Bertil",
            *units, *people, "Myndighet", "Hemtjänst", "Hisingen", "Centrum"]


def test_each_person_with_something_waiting_gets_one_notice_per_kind_and_nothing_about_a_case(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port)
    counts = run(app)
    assert counts.total == len(EXPECTED) and counts.failed == 0
    assert counts.sent == {"lvs_queue": 2, "ending_soon": 1, "day_notes": 2, "deviation": 2,
                           "new_user": 1}
    # Only these: staff, social secretaries, the other unit's manager, the new user get nothing.
    assert inbox.pairs() == EXPECTED
    assert len(inbox.messages) == len(EXPECTED)
    forbidden = names_and_numbers(app)
    for m in inbox.messages:
        assert m.mail_from == SENDER and len(m.rcpt_tos) == 1
        assert m.message["To"] == m.rcpt_tos[0] and m.message["From"] == SENDER
        assert m.message["Auto-Submitted"] == "auto-generated"
        text = f"{m.subject}\n{m.body}"
        assert PUBLIC_URL in m.body
        assert m.body.startswith(m.subject + ".")
        assert not re.search(r"\d", text), text  # no case number, no count, no date
        for word in forbidden:
            assert word not in text and word not in str(m.message), word
    # Every send audited: the kind only; no content was read to find what waits.
    sent = events(app, "notice_sent")
    assert sorted(e.detail or "" for e in sent) == sorted(
        code for code, subject in SUBJECTS.items() for _ in
        [p for p in EXPECTED if p[1] == subject])
    assert all(e.object_type == "user" and e.user_id is None and e.case_number is None
               for e in sent)
    assert events(app, "protected_content_read") == []
    with app.app_context():
        assert audit.verify().ok
    assert sent_rows(app) == {(to.split("@")[0], code) for to, subject in EXPECTED
                              for code in SUBJECTS if SUBJECTS[code] == subject}


def test_at_most_one_a_day_per_kind_and_again_the_next_day(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port)
    day = today()
    assert run(app, day).total == len(EXPECTED)
    again = run(app, day)
    assert again.total == 0 and again.already == len(EXPECTED) and again.failed == 0
    assert len(inbox.messages) == len(EXPECTED)
    # Something new of a kind already told today: no second e-mail that day.
    submit_form(as_user("manager"), "/forms/access-order", order_form(
        case_number="0799999", **{"persons-0-username": "cecilia03"}))
    assert run(app, day).total == 0
    # The next day, whoever still has something waiting is told again, once.
    assert run(app, day + timedelta(days=1)).total == len(EXPECTED)
    assert run(app, day + timedelta(days=1)).total == 0
    assert len(inbox.messages) == 2 * len(EXPECTED)
    assert len(events(app, "notice_sent")) == 2 * len(EXPECTED)


def test_nothing_waiting_nothing_sent(app: Flask, server: Controller, inbox: Inbox) -> None:
    use_server(app, server.port)
    counts = run(app)
    assert counts.total == 0 and counts.already == 0 and counts.failed == 0
    assert inbox.messages == [] and sent_rows(app) == set()


def test_deactivated_users_and_users_without_an_address_get_none(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "lvs2")).active = False
        db.session.scalar(select(User).where(User.username == "planner")).email = ""
        db.session.commit()
    use_server(app, server.port)
    run(app)
    recipients = {to for to, _ in inbox.pairs()}
    assert "lvs2@goteborg.se" not in recipients and "planner@goteborg.se" not in recipients
    assert "lvs@goteborg.se" in recipients


def test_a_server_that_is_down_loses_nothing_and_the_next_run_delivers(
        app: Flask, as_user: Any, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    port = free_port()  # nothing listens there yet
    use_server(app, port)
    down = run(app)
    assert down.total == 0 and down.failed == len(EXPECTED)
    assert sent_rows(app) == set() and events(app, "notice_sent") == []
    failed = events(app, "notices_failed")
    assert [(e.outcome, e.detail) for e in failed] == [("failed", f"antal: {len(EXPECTED)}")]
    # The command says so, with counts only, and exits 1.
    result = app.test_cli_runner().invoke(args=["notices"])
    assert result.exit_code == 1 and f"misslyckade: {len(EXPECTED)}" in result.output
    controller = start_server(inbox, port)
    try:
        up = run(app)
    finally:
        controller.stop()
    assert up.total == len(EXPECTED) and up.failed == 0
    assert inbox.pairs() == EXPECTED and len(inbox.messages) == len(EXPECTED)


def test_a_refused_recipient_is_tried_again_and_the_others_are_delivered(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port)
    inbox.refuse = {"lvs@goteborg.se"}
    first = run(app)
    assert first.failed == 1 and first.total == len(EXPECTED) - 1
    assert ("lvs", "lvs_queue") not in sent_rows(app)
    inbox.refuse = set()
    second = run(app)
    assert second.sent["lvs_queue"] == 1 and second.total == 1
    assert inbox.pairs() == EXPECTED and len(inbox.messages) == len(EXPECTED)


def test_without_smtp_host_nothing_is_sent(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port, SMTP_HOST=None)
    with app.app_context():
        assert not notices.enabled()
    assert run(app).total == 0
    result = app.test_cli_runner().invoke(args=["notices"])
    assert result.exit_code == 0 and "avstängda" in result.output
    with app.app_context():
        assert scheduler.notices_once(app) is None
    assert inbox.messages == [] and sent_rows(app) == set()


def test_the_command_prints_counts_only(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port)
    result = app.test_cli_runner().invoke(args=["notices"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == ["lvs_queue: 2", "ending_soon: 1", "day_notes: 2", "deviation: 2",
                     "new_user: 1", "redan skickade i dag: 0", "misslyckade: 0"]
    assert inbox.pairs() == EXPECTED


def test_one_run_at_a_time(app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    """While one process sends (the lock: PostgreSQL advisory, SQLite a lock file), another
    run does nothing; afterwards it runs."""
    waiting_everywhere(app, as_user)
    use_server(app, server.port)
    with app.app_context():
        with notices._one_run() as mine:  # a connection, or an open file, of its own
            assert mine
            assert notices.run() is None  # as another process would find it
        db.session.remove()
    assert inbox.messages == []
    assert run(app).total == len(EXPECTED)


# --- TLS and passwords ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's trust anchor) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_starttls_with_a_password_delivers_over_tls(
        app: Flask, as_user: Any, inbox: Inbox, certificate: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    waiting_everywhere(app, as_user)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"portal", b"smtp-hemlighet")
        return AuthResult(success=ok, handled=False, auth_data=data)

    controller = start_server(inbox, tls_context=tls_context(certificate), require_starttls=True,
                              auth_required=True, authenticator=authenticator)
    # The portal verifies the server against the system's trust store: here, the test's anchor.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    try:
        # A wrong password: the server refuses the login, nothing is sent or recorded.
        use_server(app, controller.port, SMTP_STARTTLS=True, SMTP_USERNAME="portal",
                   SMTP_PASSWORD="fel-hemlighet")
        refused = run(app)
        assert refused.total == 0 and refused.failed == len(EXPECTED)
        assert inbox.messages == [] and sent_rows(app) == set()
        app.config["SMTP_PASSWORD"] = "smtp-hemlighet"
        counts = run(app)
    finally:
        controller.stop()
    assert counts.total == len(EXPECTED) and counts.failed == 0
    assert inbox.pairs() == EXPECTED
    assert all(m.tls and m.login == b"portal" for m in inbox.messages)


def test_starttls_never_falls_back_to_plain_text(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    """SMTP_STARTTLS on and a server that does not offer it: nothing is sent, nothing recorded."""
    waiting_everywhere(app, as_user)
    use_server(app, server.port, SMTP_STARTTLS=True)
    counts = run(app)
    assert counts.total == 0 and counts.failed == len(EXPECTED)
    assert inbox.messages == [] and sent_rows(app) == set()


def test_a_server_certificate_nobody_trusts_is_refused(
        app: Flask, as_user: Any, inbox: Inbox, certificate: tuple[Path, Path],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting_everywhere(app, as_user)
    controller = start_server(inbox, tls_context=tls_context(certificate), require_starttls=True)
    empty = tmp_path / "no-anchors.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    try:
        use_server(app, controller.port, SMTP_STARTTLS=True)
        counts = run(app)
    finally:
        controller.stop()
    assert counts.total == 0 and counts.failed == len(EXPECTED)
    assert inbox.messages == [] and sent_rows(app) == set()


def test_a_password_is_never_sent_without_starttls(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port, SMTP_USERNAME="portal", SMTP_PASSWORD="smtp-hemlighet")
    with app.app_context(), pytest.raises(notices.NoticeConfigError):
        notices.run()
    result = app.test_cli_runner().invoke(args=["notices"])
    assert result.exit_code == 1 and "SMTP_STARTTLS" in result.output
    assert "smtp-hemlighet" not in result.output
    assert inbox.messages == [] and sent_rows(app) == set()


def test_settings_from_the_environment_are_typed(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    for key, value in {"SMTP_HOST": "smtp.goteborg.se", "SMTP_PORT": "25",
                       "SMTP_STARTTLS": "false", "SMTP_SENDER": SENDER,
                       "SMTP_TIMEOUT": "2.5"}.items():
        monkeypatch.setenv(key, value)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'env.db'}",
                      "SECRET_KEY": "e" * 32, "TESTING": True},
                     instance_path=str(tmp_path / "instance"))
    settings = notices.SmtpSettings.from_config(app.config)
    assert (settings.host, settings.port, settings.starttls, settings.timeout) == (
        "smtp.goteborg.se", 25, False, 2.5)
    monkeypatch.delenv("SMTP_SENDER")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'env.db'}",
                      "SECRET_KEY": "e" * 32, "TESTING": True},
                     instance_path=str(tmp_path / "instance"))
    with pytest.raises(notices.NoticeConfigError):
        notices.SmtpSettings.from_config(app.config)


# --- the scheduler ------------------------------------------------------------------------------


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 5, tzinfo=STOCKHOLM).astimezone(dt.UTC)


def test_the_scheduler_sends_from_the_morning_on(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox) -> None:
    waiting_everywhere(app, as_user)
    use_server(app, server.port, NOTICE_EARLIEST_HOUR=7)
    day = today()
    assert scheduler.notices_once(app, at(day, 6)) is None  # nobody reads them at night
    assert inbox.messages == []
    counts = scheduler.notices_once(app, at(day, 7))
    assert counts is not None and counts.total == len(EXPECTED)
    counts = scheduler.notices_once(app, at(day, 15))  # the hourly run later that day
    assert counts is not None and counts.total == 0 and counts.already == len(EXPECTED)
    assert inbox.pairs() == EXPECTED and len(inbox.messages) == len(EXPECTED)


class _Stop(BaseException):
    """Ends the timer loop in the test (the loop survives any Exception)."""


def test_the_server_starts_the_notice_thread_and_it_sends(
        app: Flask, as_user: Any, server: Controller, inbox: Inbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[Any, tuple[Any, ...], str]] = []

    def thread(target: Any, args: tuple[Any, ...], name: str, daemon: bool) -> Any:
        assert daemon
        started.append((target, args, name))
        return SimpleNamespace(start=lambda: None)

    monkeypatch.setattr(scheduler, "threading", SimpleNamespace(Thread=thread))
    monkeypatch.setattr(scheduler, "_notices_started", False)
    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'server.db'}",
            "SECRET_KEY": "s" * 32, "PURGE_INTERVAL_SECONDS": 0, "AUDIT_ANCHOR_SECONDS": 0}
    # Off without an SMTP server: no thread.
    quiet = create_app(base, instance_path=str(tmp_path / "quiet"))
    quiet.test_client().get("/no-such-page")
    assert started == []
    served = create_app({**base, "SMTP_HOST": "127.0.0.1", "NOTICE_INTERVAL_SECONDS": 11},
                        instance_path=str(tmp_path / "served"))
    served.test_client().get("/no-such-page")
    served.test_client().get("/no-such-page")
    assert started == [(scheduler._notice_loop, (served, 11.0), "notices")]
    # The scheduler unit's process (`flask scheduler`, where the workers schedule nothing)
    # starts it too, beside the purge's loop.
    monkeypatch.setattr(scheduler, "_notices_started", False)
    monkeypatch.setattr(scheduler, "_loop", lambda app, interval: None)
    unit = create_app({**base, "SMTP_HOST": "127.0.0.1", "NOTICE_INTERVAL_SECONDS": 13,
                       "PURGE_INTERVAL_SECONDS": 3600, "SCHEDULER_IN_SERVER": False},
                      instance_path=str(tmp_path / "unit"))
    unit.test_client().get("/no-such-page")  # its workers would start none
    assert len(started) == 1
    scheduler.serve(unit)
    assert started[1:] == [(scheduler._notice_loop, (unit, 13.0), "notices")]
    for server_app in (quiet, served, unit):
        with server_app.app_context():
            db.engine.dispose()

    # The loop itself, on the test's app: it sends at once, then sleeps the interval.
    waiting_everywhere(app, as_user)
    use_server(app, server.port, NOTICE_EARLIEST_HOUR=0)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        raise _Stop

    monkeypatch.setattr(scheduler, "time", SimpleNamespace(sleep=sleep))
    with pytest.raises(_Stop):
        scheduler._notice_loop(app, 11.0)
    assert sleeps == [11.0]
    assert inbox.pairs() == EXPECTED
