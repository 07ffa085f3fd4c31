"""`flask --app portal …` commands of SPEC §6.

Each command is a module-level click command that runs in the app context (`with_appcontext`,
as in Flask's tutorial, flaskr's db.py); `init_app` adds them all to the app's command line.
README.md's command table lists every one of them (tests/test_cli.py checks it).

Each command is one unit of work: what it changes and its audit events commit together in
`with transaction():` (portal/transaction.py), or nothing does. The helpers below only flush."""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from . import accounts, audit, crypto, day_notes, submissions
from .clock import today, utcnow
from .db_setup import upgrade_schema
from .extensions import db
from .forms import stored
from .forms.base import CheckContext, DoneInput, free_text_violations, validate_input
from .models import ROLES, DataKey, Submission, Unit, User
from .scheduler import purge_job
from .transaction import transaction

DEMO_UNITS = [
    ("Myndighet Centrum", "myndighet", "Centrum"),
    ("Hemtjänst Hisingen", "hemtjanst", "Hisingen"),
    ("BoSam Centrum", "bosam", "Centrum"),
    ("Vigårda vård- och omsorgsboende", "boende", "Hisingen"),
    ("Trygghetsjouren", "trygghetsjouren", "Centrum"),
    ("LVS Myndighet", "myndighet", "Centrum"),
    ("Systemförvaltning", "myndighet", "Centrum"),
]
# username, full name, unit, roles (the first one marks that the demo has run)
DEMO_USERS = [
    ("enhetschef", "Eva Enhetschef", "Myndighet Centrum", ["unit_manager"]),
    ("socialsekreterare", "Sara Socialsekreterare", "Myndighet Centrum", ["social_secretary"]),
    ("medarbetare", "Mats Medarbetare", "Hemtjänst Hisingen", ["staff"]),
    ("hemtjanstchef", "Hugo Hemtjänstchef", "Hemtjänst Hisingen", ["unit_manager"]),
    ("planerare", "Petra Planerare", "Hemtjänst Hisingen", ["planner"]),
    # A boendesekreterare on BoSam (§6.1): the hand-over to a residence, the contract message.
    ("boendesekreterare", "Britt Boendesekreterare", "BoSam Centrum", ["social_secretary"]),
    # A municipal residence's unit manager: "uppdrag mottaget", the contract message (§7.2, §10).
    ("boendechef", "Bodil Boendechef", "Vigårda vård- och omsorgsboende", ["unit_manager"]),
    # Trygghetsjouren's unit manager: its staff's access goes by an Intraservice ticket (§9.2).
    ("tjchef", "Tea Trygghetsjouren", "Trygghetsjouren", ["unit_manager"]),
    ("lvs", "Lena LVS", "LVS Myndighet", ["lvs"]),
    ("admin", "Adam Systemförvaltare", "Systemförvaltning", ["admin"]),
]
# Issue 13: one fictional case that two units share, so that every flow of the case's life can
# be tried at once (closing, people who leave, hand-overs, day notes, deviation reports). The
# case number is the routine's own example (002); the name is made up.
DEMO_CASE = "0655588"
DEMO_FICTIONAL_NAME = "Gunnel Gran"
# The access orders LVS has carried out: (orderer, district, persons as (username, position),
# local protection reason or None). Only a Myndighet unit's manager may order local protection.
DEMO_ORDERS = [
    (
        "enhetschef",
        "Centrum",
        [("enhetschef", "enhetschef"), ("socialsekreterare", "socialsekreterare")],
        "Hot från tidigare partner; skyddet gäller mot honom.",
    ),
    (
        "hemtjanstchef",
        "Hisingen",
        [("hemtjanstchef", "enhetschef"), ("planerare", "planerare")],
        None,
    ),
]
# Day notes in the hemtjänst unit's fictional file: (days ago, author, text). Two are older than
# six weeks (the warning of issue 13) and younger than two months (the purge, §8.6).
DEMO_NOTES = [
    (45, "medarbetare", "Handlade mat och hjälpte till med disken. Gunnel var på gott humör."),
    (43, "medarbetare", "Promenad till parken, ca 30 minuter. Inget särskilt att notera."),
    (3, "medarbetare", "Morgonbesök: frukost och medicin enligt lista. Allt väl."),
    (1, "medarbetare", "Kvällsbesöket flyttat en timme framåt på Gunnels egen begäran."),
]
# A deviation reserve report waiting for registration (§4.2), as the form posts it; fields that
# the form does not have are ignored by it.
DEMO_DEVIATION = {
    "unit": "Hemtjänst Hisingen",
    "fictional_name": DEMO_FICTIONAL_NAME,
    "category": "informationssakerhet",
    "description": "En okänd person frågade efter Gunnel vid porten. Inget lämnades ut.",
    "immediate_action": "Gick in med Gunnel och ringde enhetschefen direkt.",
    "handed_to": "Hugo Hemtjänstchef",
}

# Issue 14: something waiting in LVS's queue from the first login, so that LVS's own flow (read
# the request, asked for the password again; create the case in Treserva; mark it done) and the
# social secretary's list of what she sent can be tried at once. A request to actualise a person
# who has had no case (§2.4), as the form posts it; the person is Skatteverket's well-known test
# person (19121212-1212), not a real one.
DEMO_ACTUALISATION = {
    "receiving_unit": "Myndighet Centrum",
    "recipient": "Sara Socialsekreterare",
    "recipient_position": "socialsekreterare",
    "activity": "ÄO",
    "personnummer": "19121212-1212",
    "full_name": "Tolvan Tolvansson",
    "concerns": "Ansökan om hemtjänst",
    "preliminary_case_type": "Hemtjänst",
    "kind": "ansökan",
    "arrival_method": "telefon",
    "arrived_from": "den enskilde",
    "proposed_persons-0-full_name": "Sara Socialsekreterare",
    "proposed_persons-0-username": "socialsekreterare",
    "proposed_persons-0-position": "socialsekreterare",
    "text": "Behöver hjälp med inköp och städning. Post via förmedlingsadress.",
}


# --- users and units: the rules and changes live in portal/accounts.py (the admin's pages use
# the same); a refusal rolls the command's work back and is audited in a transaction of its own.


@contextmanager
def _account_change() -> Iterator[None]:
    """One command's unit of work on users or units: committed, or, when a rule refuses it
    (accounts.Refused), rolled back, the refusal audited alone, and the reasons printed."""
    try:
        with transaction():
            yield
    except accounts.Refused as refused:
        with transaction():
            accounts.record_refusal(refused)
        raise click.ClickException("\n".join(v.message for v in refused.violations)) from None


def _create_unit(name: str, unit_type: str, district: str) -> Unit:
    return accounts.create_unit(name, unit_type, district)


def _user(username: str) -> User:
    user = accounts.user_by_username(username)
    if user is None:
        raise click.ClickException(f"användaren {username!r} finns inte")
    return user


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        raise click.UsageError("ange --password-stdin och skicka lösenordet på standard input")
    return sys.stdin.readline().rstrip("\r\n")


def _create_user(
    username: str, full_name: str, email: str, unit_name: str, roles: list[str], password: str
) -> User:
    unit = accounts.unit_by_name(unit_name)
    return accounts.create_user(
        username, full_name, email, unit, roles, password, unit_name=unit_name
    )


class BackupRefused(Exception):
    """Why no backup was made, in Swedish for the operator."""


def _backup(path: Path) -> str:
    """Copy the database to a new file at `path`, readable by its owner only; return how."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return _backup_sqlite(path)
    if url.get_backend_name() == "postgresql":
        return _backup_postgres(path)
    raise BackupRefused(f"Säkerhetskopiering stöds inte för databasen {url.get_backend_name()}.")


def _new_private_file(path: Path) -> int:
    """Create `path` with mode 0600, refusing an existing file (no overwrite, no symlink race)."""
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise BackupRefused(
            f"Filen {path} finns redan. Välj ett nytt filnamn; "
            "en säkerhetskopia skriver aldrig över en fil."
        ) from None
    except OSError as exc:
        raise BackupRefused(f"Kan inte skapa {path}: {exc.strerror}.") from None
    os.fchmod(fd, 0o600)  # whatever the umask
    return fd


def _backup_sqlite(path: Path) -> str:
    """SQLite's online backup API: a consistent copy while the portal runs (WAL included)."""
    import sqlite3

    os.close(_new_private_file(path))
    try:
        raw = db.engine.raw_connection()
        try:
            target = sqlite3.connect(path)
            try:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
                # One self-contained file: no -wal/-shm beside the copy.
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
        finally:
            raw.close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return "sqlite"


def _backup_postgres(path: Path) -> str:
    """pg_dump in its custom format when it is installed, the password in the environment (never
    on the command line, where other users see it); otherwise how to run it by hand."""
    import shutil
    import subprocess

    url = db.engine.url
    host = url.host or url.query.get("host")  # ?host=/run/postgresql: a Unix socket
    where: list[str] = []
    if isinstance(host, str) and host:
        where += ["--host", host]
    if url.port:
        where += ["--port", str(url.port)]
    if url.username:
        where += ["--username", url.username]
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        shown = " ".join(
            ["pg_dump", "--format=custom", "--file", str(path), *where, url.database or ""]
        )
        raise BackupRefused(
            "PostgreSQL säkerhetskopieras med pg_dump, som inte finns installerat här. Kör:\n"
            f"  {shown}\n"
            "med lösenordet i miljövariabeln PGPASSWORD eller i ~/.pgpass "
            "(aldrig på kommandoraden)."
        )
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    sslmode = url.query.get("sslmode")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    fd = _new_private_file(path)
    try:
        with os.fdopen(fd, "wb") as out:
            # Fixed argv from pg_dump on PATH and the configured URL; no shell, password in env.
            done = subprocess.run(  # noqa: S603
                [
                    pg_dump,
                    "--format=custom",
                    "--no-password",
                    *where,
                    "--dbname",
                    url.database or "",
                ],
                stdout=out,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if done.returncode != 0:
        path.unlink(missing_ok=True)
        message = done.stderr.decode("utf-8", "replace").strip()
        if url.password:
            message = message.replace(str(url.password), "***")
        raise BackupRefused(f"pg_dump misslyckades (kod {done.returncode}): {message}")
    return "pg_dump"


# --- commands -----------------------------------------------------------------------------------


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema (Alembic migrations)."""
    upgrade_schema()
    click.echo("Databasen är uppdaterad.")


@click.group("units")
def units() -> None:
    """Units (enheter)."""


@units.command("create")
@click.argument("name")
@click.option("--type", "unit_type", required=True)
@click.option("--district", required=True)
@with_appcontext
def units_create(name: str, unit_type: str, district: str) -> None:
    """A unit NAME of a configured unit type, in a configured city district."""
    with _account_change():
        _create_unit(name, unit_type, district)
    click.echo(f"Enheten {name} skapad.")


@click.group("users")
def users() -> None:
    """Users."""


@users.command("create")
@click.argument("username")
@click.option("--full-name", required=True)
@click.option("--email", required=True)
@click.option("--unit", "unit_name", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(
    username: str,
    full_name: str,
    email: str,
    unit_name: str,
    roles: tuple[str, ...],
    password_stdin: bool,
) -> None:
    """A user USERNAME of a unit with these roles (password from standard input)."""
    password = _read_password(password_stdin)
    with _account_change():
        _create_user(username, full_name, email, unit_name, list(roles), password)
    click.echo(f"Användaren {username} skapad.")


# Each change below is audited in the same transaction (portal/accounts.py); a new password,
# new roles and a deactivation end every session of the user (its session version goes up).


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_set_password(username: str, password_stdin: bool) -> None:
    """A new password for USERNAME (from standard input, never on the command line)."""
    password = _read_password(password_stdin)
    with _account_change():
        accounts.set_password(_user(username), password)
    click.echo(f"Nytt lösenord för {username}; alla dess inloggningar är avslutade.")


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username: str) -> None:
    """USERNAME can no longer log in; every session of it ends now."""
    with _account_change():
        accounts.deactivate(_user(username))
    click.echo(f"Användaren {username} är avaktiverad; alla dess inloggningar är avslutade.")


@users.command("set-roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@with_appcontext
def users_set_roles(username: str, roles: tuple[str, ...]) -> None:
    """USERNAME's roles become exactly these; every session of it ends now."""
    wanted = list(dict.fromkeys(roles))
    with _account_change():
        accounts.set_roles(_user(username), wanted)
    click.echo(
        f"Användaren {username} har nu rollerna {', '.join(sorted(wanted))}; "
        "alla dess inloggningar är avslutade."
    )


@users.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Forget USERNAME's failed logins from every address: no address waits any longer."""
    with _account_change():
        sources = accounts.unlock(_user(username))
    click.echo(
        f"Användaren {username} är upplåst ({sources} adresser väntade eller hade "
        "misslyckade försök)."
    )


# --- demo data (issue 13) ------------------------------------------------------------------------


def _demo_form(key: str, fields: dict[str, str], user: User) -> Submission:
    """A stored form made as the form page makes it (portal/views/forms.py ``fill``): the posted
    fields through the form class, its format validation, ``to_data`` and the form's rules, then
    the submission service. Demo data that breaks a rule is refused, never stored."""
    kind = stored(key)
    ctx = CheckContext(user=user, today=today(), config=current_app.config)
    with current_app.test_request_context(method="POST", data=fields):
        form = kind.form_class(meta={"csrf": False})
        if not validate_input(form) or form.errors:
            raise click.ClickException(f"demodatan för {key} är ogiltig: {sorted(form.errors)}")
        data = kind.to_data(form, user)
        problems = kind.check(data, ctx) + free_text_violations(form, kind.pnr_fields)
    if problems:
        codes = ", ".join(f"{v.code} ({v.field})" for v in problems)
        raise click.ClickException(f"demodatan för {key} bryter mot reglerna: {codes}")
    return submissions.create(kind, data, ctx)


def _demo_case(users: dict[str, User]) -> None:
    """The shared case: an access order per unit, carried out by LVS (grants in Myndighet
    Centrum and Hemtjänst Hisingen, local protection in Myndighet Centrum); the hemtjänst unit's
    fictional file of the case with notes, two of them older than six weeks; a deviation report
    waiting for registration; and an actualisation request waiting in LVS's queue. Through the
    portal's own services, so encrypted as theirs are."""
    day = today()
    for orderer, district, persons, reason in DEMO_ORDERS:
        fields = {
            "case_number": DEMO_CASE,
            "city_district": district,
            "valid_from": day.isoformat(),
            "valid_to": (day + timedelta(days=180)).isoformat(),
        }
        for i, (username, position) in enumerate(persons):
            fields |= {
                f"persons-{i}-action": "add",
                f"persons-{i}-full_name": users[username].full_name,
                f"persons-{i}-username": username,
                f"persons-{i}-email": users[username].email,
                f"persons-{i}-position": position,
            }
        if reason:
            fields |= {
                "local_protection": "y",
                "local_protection_until": (day + timedelta(days=60)).isoformat(),
                "local_protection_reason": reason,
            }
        order = _demo_form("access_order", fields, users[orderer])
        submissions.mark_done(
            order, DoneInput(user=users["lvs"], today=day, reply="Klart i Treserva.")
        )
    manager = users["hemtjanstchef"]
    file = day_notes.create_file(manager, DEMO_FICTIONAL_NAME, DEMO_CASE)
    now = utcnow()
    file.created_at = now - timedelta(days=max(n[0] for n in DEMO_NOTES) + 5)
    for days_ago, author, text in DEMO_NOTES:
        problems = day_notes.check_note(text)
        if problems:
            codes = ", ".join(v.code for v in problems)
            raise click.ClickException(f"en demoanteckning bryter mot reglerna: {codes}")
        note = day_notes.add_note(file, users[author], text)
        note.written_at = now - timedelta(days=days_ago, hours=2)
    event = (day - timedelta(days=1)).isoformat()
    _demo_form(
        "deviation",
        {**DEMO_DEVIATION, "event_date": event, "event_time": "10:15", "event_at": f"{event}T10:15"},
        users["medarbetare"],
    )
    _demo_form(
        "actualisation",
        {**DEMO_ACTUALISATION, "received_date": day.isoformat()},
        users["socialsekreterare"],
    )
    db.session.flush()


# The demo turns digital day notes on (SPEC §3.5: a setting, default off, that a deployment's
# routine owner decides); `make run` reads instance/config.py when it starts the server.
DEMO_SETTING = "DAY_NOTES_DIGITAL"


def _demo_settings(instance: Path) -> str:
    """Write DAY_NOTES_DIGITAL = True into instance/config.py unless the file sets it already
    (an operator's own choice stays); what was done, for the command's output."""
    path = instance / "config.py"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if re.search(rf"^\s*{DEMO_SETTING}\s*=", text, re.MULTILINE):
        return f"{DEMO_SETTING} står redan i {path}; den lämnas som den är."
    block = (
        "# flask demo: digital day notes (SPEC §3.5). The routine says by hand (§7.1); set it\n"
        f"# to False, or remove the line, for paper sheets.\n{DEMO_SETTING} = True\n"
    )
    if text:
        block = ("\n" if text.endswith("\n") else "\n\n") + block
    # Like every file in instance/, readable by the portal's own account only (portal/files.py).
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "a", encoding="utf-8") as fh:
        fh.write(block)
    return f"{DEMO_SETTING} = True skrivet i {path} (digitala daganteckningar)."


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Demo units, one user per role and a shared case to try every flow on; passwords printed
    once and kept in instance/ (0600); digital day notes turned on in instance/config.py."""
    if current_app.config["PRODUCTION"]:
        raise click.ClickException("demo körs aldrig i produktion")
    path = Path(current_app.instance_path) / "demo-credentials.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if db.session.scalar(select(User).where(User.username == DEMO_USERS[0][0])):
        raise click.ClickException(f"demodata finns redan; lösenorden står i {path}")
    lines = []
    with _account_change():
        for name, unit_type, district in DEMO_UNITS:
            if not db.session.scalar(select(Unit).where(Unit.name == name)):
                _create_unit(name, unit_type, district)
        users: dict[str, User] = {}
        for username, full_name, unit_name, roles in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            users[username] = _create_user(
                username, full_name, f"{username}@goteborg.se", unit_name, roles, password
            )
            lines.append(f"{username}\t{password}\t{','.join(roles)}")
        _demo_case(users)
        # The file first, inside the transaction: users whose passwords nobody knows must not
        # be committed.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("användarnamn\tlösenord\troller\n" + "\n".join(lines) + "\n")
        os.chmod(path, 0o600)
    click.echo("Demoanvändare (lösenorden visas bara nu och finns i " + str(path) + "):")
    for line in lines:
        click.echo("  " + line)
    click.echo(
        f"Demoärende {DEMO_CASE}: behörigheter i Myndighet Centrum och Hemtjänst Hisingen, lokalt "
        f"skydd i Myndighet Centrum, fiktiv akt {DEMO_FICTIONAL_NAME} med daganteckningar och en "
        "reservrapport som väntar på registrering; i LVS-kön väntar en begäran om aktualisering."
    )
    click.echo(_demo_settings(path.parent))


@click.command("purge")
@with_appcontext
def purge() -> None:
    """Apply every retention rule now; print counts only."""
    counts = purge_job()
    if not counts:
        click.echo("Inga gallringsregler.")
    for name, n in counts.items():
        click.echo(f"{name}: {n}")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduled jobs (the purge every PURGE_INTERVAL_SECONDS) in the foreground until
    stopped: the scheduler unit (deploy/skyddsportalen-scheduler.service). One per host is fine:
    they and the server's workers run each job once per interval between them."""
    from . import scheduler

    scheduler.serve(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("notices")
@with_appcontext
def notices_command() -> None:
    """Send the notices by e-mail that are due now (issue 15); print counts only. Exit 1 when
    some could not be sent: they are tried again at the next run."""
    from . import notices

    if not notices.enabled():
        click.echo("E-postaviseringar är avstängda (SMTP_HOST saknas).")
        return
    try:
        counts = notices.run()
    except notices.NoticeConfigError as error:
        raise click.ClickException(str(error)) from None
    if counts is None:
        click.echo("En annan körning skickar aviseringar just nu.")
        return
    for code, n in counts.sent.items():
        click.echo(f"{code}: {n}")
    click.echo(f"redan skickade i dag: {counts.already}")
    click.echo(f"misslyckade: {counts.failed}")
    if counts.failed:
        sys.exit(1)


@click.command("audit-verify")
@click.option(
    "--anchors",
    "anchor_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Check against these anchor files (e.g. lines exported from syslog) instead of "
    "AUDIT_ANCHOR_PATH. Repeatable.",
)
@click.option(
    "--copy",
    "is_copy",
    is_flag=True,
    help="The database is a copy (a restored backup): anchors after its end are expected.",
)
@with_appcontext
def audit_verify(anchor_paths: tuple[Path, ...], is_copy: bool) -> None:
    """Check the audit log's MAC chain and its anchors; exit 1 at the first fault."""
    result = audit.verify(anchor_paths=anchor_paths or None, allow_shorter=is_copy)
    if not result.ok:
        at = f" vid händelse {result.broken_seq}" if result.broken_seq is not None else ""
        click.echo(f"Granskningsloggen är bruten{at}: {result.reason}", err=True)
        sys.exit(1)
    click.echo(f"Granskningsloggen är hel: {result.checked} händelser kontrollerade.")
    if result.last_anchor is None:
        click.echo("Varning: inga ankare finns; loggens längd kan inte kontrolleras.", err=True)
        return
    click.echo(
        f"{result.anchors} ankare stämmer; det senaste gäller händelse {result.last_anchor}."
    )
    if is_copy and result.last_anchor > result.checked:
        click.echo(f"Kopian saknar händelserna efter {result.checked} som ankarna visar.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """A consistent copy of the database (mode 0600); never overwrites a file."""
    try:
        how = _backup(path)
    except BackupRefused as refused:
        click.echo(str(refused), err=True)
        sys.exit(1)
    # A backup holds every stored value (SPEC §1.4: who has taken part of protected data).
    with transaction():
        audit.record("backup_made", object_type="database", detail=how)
    click.echo(f"Säkerhetskopian är sparad i {path} (endast läsbar för dig).")


@click.command("rotate-keys")
@click.option(
    "--no-new-key",
    is_flag=True,
    help="Re-encrypt under the current key only (FIELD_KEYS: put the new key first).",
)
@click.option(
    "--remove-old",
    is_flag=True,
    help="Delete key files no stored value uses (old backups become unreadable).",
)
@with_appcontext
def rotate_keys(no_new_key: bool, remove_old: bool) -> None:
    """Make a new current key-encryption key and re-wrap every data key under it (the content
    is not re-encrypted); older values get a data key of their own. Counts only."""
    try:
        with transaction():
            # A transaction per batch of rows, not one for the whole rotation: its write locks
            # (the whole database on SQLite) are held for one batch, so the portal's requests and
            # purges go on meanwhile; what is re-wrapped stays so if it stops half-way (run it
            # again: rows under the current key are skipped).
            result = crypto.rotate(make_new_key=not no_new_key, end_batch=db.session.commit)
            if remove_old and result.failed == 0:
                # After the batches' commits: a key file goes only when nothing committed uses it.
                result.removed_keys = crypto.remove_unused_keys()
            audit.record(
                "keys_rotated",
                object_type="key",
                object_id=result.current,
                detail=f"omkrypterade: {result.reencrypted}, misslyckade: {result.failed}",
            )
    except crypto.KeysMissing as missing:
        click.echo(str(missing), err=True)
        sys.exit(1)
    if not no_new_key and not result.new_key:
        click.echo(
            "Nycklarna kommer från FIELD_KEYS: lägg den nya nyckeln först där; "
            "värdena krypteras om till den första nyckeln."
        )
    click.echo(f"Aktuell nyckel: {result.current}")
    click.echo(f"Omkrypterade: {result.reencrypted}")
    if result.converted:
        click.echo(f"Varav äldre värden som fått en egen datanyckel: {result.converted}")
    click.echo(f"Redan under aktuell nyckel: {result.already_current}")
    click.echo(f"Ändrade under tiden (hoppades över): {result.skipped}")
    click.echo(f"Kunde inte dekrypteras: {result.failed}")
    if result.removed_keys:
        click.echo(f"Borttagna nycklar: {len(result.removed_keys)}")
    if result.failed:
        sys.exit(1)


@click.group("keys")
def keys() -> None:
    """Field encryption keys (key ids and counts only, never a key)."""


@keys.command("status")
@with_appcontext
def keys_status() -> None:
    """Key ids, which is current, and how many stored values each encrypts."""
    try:
        ring = crypto.keyring()
    except crypto.KeysMissing as missing:
        click.echo(str(missing), err=True)
        sys.exit(1)
    used = crypto.key_usage()
    click.echo(f"Källa: {'FIELD_KEYS' if ring.source == 'env' else crypto.keys_dir()}")
    click.echo("Krypterade kolumner: " + ", ".join(c.label for c in crypto.encrypted_columns()))
    for kid in ring.keys:
        mark = " (aktuell)" if kid == ring.current else ""
        click.echo(f"{kid}{mark}: {used.pop(kid, 0)} värden")
    # Every record's own data key is wrapped by one of the keys above (crypto-shredding).
    click.echo(f"Datanycklar: {db.session.scalar(select(func.count(DataKey.id)))}")
    for kid, n in used.items():
        click.echo(f"{kid} (saknas!): {n} värden")
    if used:
        sys.exit(1)


COMMANDS: tuple[click.Command, ...] = (
    init_db,
    units,
    users,
    demo,
    purge,
    notices_command,  # issue 15, part N
    scheduler_command,
    audit_verify,
    backup,
    rotate_keys,
    keys,
)


def init_app(app: Flask) -> None:
    """Add the portal's commands to `flask --app portal`."""
    for command in COMMANDS:
        app.cli.add_command(command)
