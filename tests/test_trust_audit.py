"""Issue 11, H3: the audit log cannot be rewritten by whoever can write the database.

The chain is keyed (HMAC-SHA-256 under a key outside the database), its committed head is anchored
outside the database (a file opened O_APPEND, optionally syslog), `flask audit-verify` checks the
chain against the anchors, and on PostgreSQL the portal's own role may only SELECT and INSERT on
audit_events while a TRUNCATE trigger stops even the table's owner. Each attack below passed
`audit-verify` before (an unkeyed SHA-256 chain, nothing outside the database)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import multiprocessing as mp
import re
import secrets
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import PG_URL
from flask import Flask
from sqlalchemy import select, text

from portal import audit, create_app, scheduler
from portal.clock import utcnow
from portal.extensions import db
from portal.models import AuditEvent

ROLES_SQL = Path(__file__).resolve().parent.parent / "deploy" / "postgres-roles.sql"
ANCHOR_LINE = re.compile(r"[1-9]\d* [0-9a-f]{64} \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")


# --- helpers -------------------------------------------------------------------------------------


def write_events(app: Flask, n: int, every: int = 5, reads: tuple[int, ...] = ()) -> None:
    """n events through audit.record, one commit each (as n requests); the i-th in `reads`
    (1-based) is a read of protected content, the event an intruder wants gone."""
    app.config["AUDIT_ANCHOR_EVERY"] = every
    with app.app_context():
        for i in range(1, n + 1):
            action = "protected_content_read" if i in reads else "submission_viewed"
            audit.record(action, object_type="actualisation", object_id=f"ref{i:03d}",
                         unit_id=1, case_number="0655588")
            db.session.commit()


def verify(app: Flask, **kwargs: Any) -> audit.VerifyResult:
    with app.app_context():
        return audit.verify(**kwargs)


def rows(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        db.session.expunge_all()
        return found


def anchor_lines(app: Flask) -> list[str]:
    with app.app_context():
        path = audit.anchor_path()
    return path.read_text(encoding="ascii").splitlines(keepends=True) if path.exists() else []


def pg(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


@contextmanager
def intruder(app: Flask) -> Iterator[None]:
    """A session with the database's full rights and the append-only triggers out of the way: on
    SQLite the triggers are dropped (this test's own file); on PostgreSQL the superuser turns
    ordinary triggers off for its session (no other session is affected)."""
    with app.app_context():
        if pg(app):
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            db.session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            db.session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        yield
        db.session.commit()


def payload(ev: Any) -> bytes:
    """The event's fields as portal/audit.py serialises them (the format is no secret)."""
    fields = [ev.seq, audit._ts(ev.created_at), ev.user_id, ev.username, ev.action,
              ev.object_type, ev.object_id, ev.unit_id, ev.case_number, ev.outcome, ev.detail,
              ev.remote_addr, ev.prev_hash]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256(ev: Any) -> str:
    return hashlib.sha256(payload(ev)).hexdigest()


def hmac_under(key: bytes) -> Callable[[Any], str]:
    return lambda ev: hmac.new(key, payload(ev), hashlib.sha256).hexdigest()


def rechain(app: Flask, mac: Callable[[Any], str], drop: Callable[[AuditEvent], bool]) -> int:
    """The attack: delete the events `drop` picks, renumber the rest 1..n and recompute every
    link and MAC with `mac`. Returns how many events are left."""
    with intruder(app):
        for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all():
            if drop(ev):
                db.session.delete(ev)
        db.session.flush()
        prev = audit.GENESIS
        kept = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        for seq, ev in enumerate(kept, start=1):
            ev.seq, ev.prev_hash = seq, prev
            ev.hash = prev = mac(ev)
            db.session.flush()
        return len(kept)


def cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit-verify", *args])
    out = result.output
    try:
        out += result.stderr
    except ValueError:  # older Click: stderr mixed into output already
        pass
    return result.exit_code, out


# --- the key -------------------------------------------------------------------------------------


def test_h3_the_chain_is_an_hmac_under_a_key_outside_the_database(app: Flask) -> None:
    write_events(app, 4)
    with app.app_context():
        key = audit.chain_key()
        key_file = Path(app.instance_path) / "keys" / "audit.secret"
    assert key_file.is_file() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    evs = rows(app)
    assert [e.seq for e in evs] == [1, 2, 3, 4]
    for ev in evs:
        assert ev.hash == hmac_under(key)(ev)
        assert ev.hash != sha256(ev)  # not the unkeyed chain anyone could recompute
    # The key is nowhere in the database.
    with app.app_context():
        dump = "\n".join(str(tuple(r)) for r in db.session.execute(select(AuditEvent.__table__)))
    assert base64.b64encode(key).decode() not in dump and key.hex() not in dump


def test_h3_the_key_comes_from_audit_key_when_set(app: Flask) -> None:
    key = secrets.token_bytes(32)
    app.config["AUDIT_KEY"] = base64.b64encode(key).decode()
    write_events(app, 2)
    assert all(ev.hash == hmac_under(key)(ev) for ev in rows(app))
    assert not (Path(app.instance_path) / "keys" / "audit.secret").exists()
    assert verify(app).ok


def test_h3_a_lost_key_is_refused_not_replaced(app: Flask) -> None:
    write_events(app, 3)
    (Path(app.instance_path) / "keys" / "audit.secret").unlink()
    audit._keys.clear()  # as a new worker process would start
    audit._by_settings.clear()
    with app.app_context():
        with pytest.raises(audit.AuditKeyMissing):
            audit.record("submission_viewed")
        db.session.rollback()
    assert not (Path(app.instance_path) / "keys" / "audit.secret").exists()
    result = verify(app)
    assert not result.ok and "nyckel saknas" in result.reason


# --- the attacks ---------------------------------------------------------------------------------


def test_h3_an_untouched_log_with_anchors_verifies(app: Flask) -> None:
    write_events(app, 12, every=5)
    with app.app_context():
        assert scheduler.anchor_once(app) == (12, rows(app)[-1].hash)  # the timer's anchor
    lines = anchor_lines(app)
    assert [int(line.split()[0]) for line in lines] == [5, 10, 12]
    assert all(ANCHOR_LINE.fullmatch(line) for line in lines)
    evs = {e.seq: e.hash for e in rows(app)}
    assert all(evs[int(line.split()[0])] == line.split()[1] for line in lines)
    with app.app_context():
        path = audit.anchor_path()
    assert path == Path(app.instance_path) / "audit-anchors.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    result = verify(app)
    assert result.ok and result.checked == 12, result
    assert (result.anchors, result.last_anchor, result.unanchored) == (3, 12, 0)
    code, out = cli(app)
    assert code == 0, out
    assert "12 händelser" in out and "3 ankare" in out


def test_h3_deleting_the_tail_fails(app: Flask) -> None:
    write_events(app, 12, every=5)
    scheduler.anchor_once(app)
    with intruder(app):
        db.session.execute(text("DELETE FROM audit_events WHERE seq > 9"))
    assert [e.seq for e in rows(app)] == list(range(1, 10))
    result = verify(app)
    assert not result.ok
    assert result.broken_seq == 10 and result.checked == 9
    assert "slutar vid händelse 9" in result.reason and "12" in result.reason
    code, out = cli(app)
    assert code == 1 and "händelse 10" in out and "borttagna" in out, out


def test_h3_deleting_everything_fails(app: Flask) -> None:
    write_events(app, 7, every=5)
    with intruder(app):
        db.session.execute(text("DELETE FROM audit_events"))
    assert rows(app) == []
    result = verify(app)
    assert not result.ok and result.checked == 0
    assert "tom" in result.reason and "alla händelser är borttagna" in result.reason
    assert cli(app)[0] == 1


def test_h3_deleting_the_reads_and_rehashing_with_sha256_fails(app: Flask) -> None:
    """The attack of the review: every `protected_content_read` deleted, the rest renumbered and
    re-hashed with plain SHA-256 (which passed before)."""
    write_events(app, 9, every=100, reads=(3, 6))
    left = rechain(app, sha256, drop=lambda ev: ev.action == "protected_content_read")
    assert left == 7 and "protected_content_read" not in {e.action for e in rows(app)}
    result = verify(app)
    assert not result.ok and result.broken_seq == 1
    assert "MAC" in result.reason
    assert cli(app)[0] == 1


def test_h3_rechaining_with_a_wrong_key_fails(app: Flask) -> None:
    write_events(app, 9, every=100, reads=(4,))
    rechain(app, hmac_under(secrets.token_bytes(32)),
            drop=lambda ev: ev.action == "protected_content_read")
    result = verify(app)
    assert not result.ok and result.broken_seq == 1 and "MAC" in result.reason


def test_h3_rechaining_with_the_key_is_caught_by_the_anchors(app: Flask) -> None:
    """Someone with the database AND the key (instance/keys) re-makes a chain that verifies by
    its MACs; the anchors written before show it. (Kept where they cannot reach, e.g. syslog on
    another machine, they hold against that attacker too.)"""
    write_events(app, 12, every=5, reads=(2,))
    with app.app_context():
        key = audit.chain_key()
    rechain(app, hmac_under(key), drop=lambda ev: ev.action == "protected_content_read")
    assert verify(app, anchor_paths=[]).ok  # the MACs alone: a perfect forgery
    result = verify(app)
    assert not result.ok and result.broken_seq == 5
    assert "ankaret" in result.reason


def test_h3_altering_one_event_fails(app: Flask) -> None:
    """One event changed, as is and with its hash and every later one recomputed (SHA-256)."""
    write_events(app, 8, every=5)
    with intruder(app):
        db.session.execute(text("UPDATE audit_events SET username = 'någon' WHERE seq = 6"))
    result = verify(app)
    assert not result.ok and result.broken_seq == 6 and result.checked == 5
    with intruder(app):
        prev = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 5))
        for ev in db.session.scalars(select(AuditEvent).where(AuditEvent.seq >= 6)
                                     .order_by(AuditEvent.seq)):
            ev.prev_hash = prev
            ev.hash = prev = sha256(ev)
    result = verify(app)
    assert not result.ok and result.broken_seq == 6 and result.checked == 5
    code, out = cli(app)
    assert code == 1 and "händelse 6" in out


# --- the anchor sink -----------------------------------------------------------------------------


def test_h3_an_anchor_is_written_only_for_a_committed_event(app: Flask) -> None:
    write_events(app, 2, every=3)
    assert anchor_lines(app) == []
    with app.app_context():
        audit.record("submission_viewed")  # seq 3, the anchor's turn ...
        db.session.rollback()  # ... rolled back: no anchor, now or later
        db.session.commit()
    assert anchor_lines(app) == []
    with app.app_context():
        audit.record("submission_viewed")
        db.session.commit()
    [line] = anchor_lines(app)
    assert line.split()[:2] == ["3", rows(app)[2].hash]


def test_h3_the_timer_anchors_only_the_committed_head(app: Flask) -> None:
    write_events(app, 4, every=100)
    with app.app_context():
        audit.record("submission_viewed")  # seq 5, not committed while the timer runs
        assert scheduler.anchor_once(app) == (4, rows(app)[3].hash)
        db.session.commit()
    assert scheduler.anchor_once(app) == (5, rows(app)[4].hash)
    scheduler.anchor_once(app)  # nothing new: no second line for the same head
    assert [line.split()[0] for line in anchor_lines(app)] == ["4", "5"]
    assert verify(app).ok


class _Stop(BaseException):
    """Ends the timer loop in the test (the loop survives any Exception)."""


def test_h3_the_server_runs_the_anchor_timer(app: Flask, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each server process starts the anchor thread with its first request; the thread anchors
    the committed head every AUDIT_ANCHOR_SECONDS."""
    started: list[tuple[Any, tuple[Any, ...], str]] = []

    def thread(target: Any, args: tuple[Any, ...], name: str, daemon: bool) -> Any:
        assert daemon
        started.append((target, args, name))
        return SimpleNamespace(start=lambda: None)

    # Only the scheduler's view of the threading module: nothing else is affected.
    monkeypatch.setattr(scheduler, "threading", SimpleNamespace(Thread=thread))
    monkeypatch.setattr(scheduler, "_anchor_started", False)
    server = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'server.db'}",
                         "SECRET_KEY": "s" * 32, "PURGE_INTERVAL_SECONDS": 0,
                         "AUDIT_ANCHOR_SECONDS": 7},
                        instance_path=str(tmp_path / "server-instance"))
    server.test_client().get("/no-such-page")
    server.test_client().get("/no-such-page")
    assert started == [(scheduler._anchor_loop, (server, 7.0), "audit-anchor")]
    with server.app_context():
        db.engine.dispose()

    write_events(app, 3, every=100)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 2:
            raise _Stop

    monkeypatch.setattr(scheduler.time, "sleep", sleep)
    with pytest.raises(_Stop):
        scheduler._anchor_loop(app, 300.0)
    assert sleeps == [300.0, 300.0, 300.0]
    assert [line.split()[:2] for line in anchor_lines(app)] == [["3", rows(app)[2].hash]]


def _append_anchors(path: str, worker: int, n: int) -> None:
    sinks = audit.Sinks(path)
    for i in range(n):
        audit.write_anchor(sinks, worker * 100_000 + i + 1, f"{worker:x}" * 64)


def test_h3_anchor_lines_of_many_processes_never_interleave(tmp_path: Path) -> None:
    path = str(tmp_path / "anchors.log")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_anchors, args=(path, w, 300)) for w in range(1, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    anchors = audit.read_anchors([path])
    assert len(anchors) == 1200
    assert all(mac == f"{seq // 100_000:x}" * 64 for seq, mac in anchors.items())


@pytest.mark.parametrize("damage", ["garbage", "cut", "unreadable"])
def test_h3_a_corrupt_or_unreadable_anchor_file_fails(app: Flask, damage: str) -> None:
    write_events(app, 5, every=5)
    with app.app_context():
        path = audit.anchor_path()
    if damage == "garbage":
        with path.open("a") as fh:
            fh.write("7 not-a-mac 2026-01-01T00:00:00Z\n")
        expected = "rad 2 är inget ankare"
    elif damage == "cut":
        with path.open("a") as fh:
            fh.write("7 " + "a" * 30)
        expected = "sista raden är avbruten"
    else:
        path.unlink()
        path.mkdir()
        expected = "kan inte läsas"
    result = verify(app)
    assert not result.ok and expected in result.reason, result
    code, out = cli(app)
    assert code == 1 and expected in out


def test_h3_two_anchors_of_one_seq_that_differ_fail(app: Flask) -> None:
    write_events(app, 5, every=5)
    with app.app_context():
        audit.write_anchor(audit.Sinks(str(audit.anchor_path())), 5, "0" * 64)
    result = verify(app)
    assert not result.ok and result.broken_seq == 5 and "olika MAC" in result.reason


def test_h3_anchors_also_go_to_syslog_when_set(app: Flask) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    try:
        app.config["AUDIT_ANCHOR_SYSLOG"] = f"127.0.0.1:{receiver.getsockname()[1]}"
        write_events(app, 5, every=5)
        message = receiver.recv(4096).decode("utf-8")
    finally:
        receiver.close()
    [line] = anchor_lines(app)
    assert "skyddsportalen: audit-anchor " + line.strip() in message


def test_h3_audit_verify_checks_a_copy_and_other_anchor_files(app: Flask, tmp_path: Path) -> None:
    """A restored backup ends before the live anchors (--copy); anchors exported from syslog can
    be checked instead of the file (--anchors)."""
    write_events(app, 10, every=5)
    exported = tmp_path / "from-syslog.txt"
    exported.write_text("".join(anchor_lines(app)[:1]))  # the anchor at 5
    with intruder(app):
        db.session.execute(text("DELETE FROM audit_events WHERE seq > 7"))
    assert cli(app)[0] == 1
    code, out = cli(app, "--copy")
    assert code == 0 and "saknar händelserna efter 7" in out, out
    code, out = cli(app, "--anchors", str(exported))
    assert code == 0 and "1 ankare" in out, out
    exported.write_text("5 " + "f" * 64 + " 2026-01-01T00:00:00Z\n")
    code, out = cli(app, "--anchors", str(exported))
    assert code == 1 and "händelse 5" in out


# --- migration 0004 ------------------------------------------------------------------------------


@contextmanager
def database_at(tmp_path: Path, revision: str) -> Iterator[Flask]:
    """A database of its own migrated to `revision`: a SQLite file, or on PostgreSQL a new
    database in the test cluster (dropped afterwards)."""
    from portal.db_setup import upgrade_schema

    if PG_URL:
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"skydd_h3_{secrets.token_hex(4)}"
        base = make_url(PG_URL)
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        uri = base.set(database=name).render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{tmp_path / 'migrated.db'}"
    own = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "m" * 32, "TESTING": True},
                     instance_path=str(tmp_path / "mig-instance"))
    try:
        with own.app_context():
            upgrade_schema(revision)
            db.session.remove()
        yield own
    finally:
        with own.app_context():
            db.session.remove()
            db.engine.dispose()
        if PG_URL:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def legacy_chain(app: Flask, n: int, break_at: int | None = None) -> None:
    """n events as the portal wrote them before 0004: plain SHA-256."""
    with app.app_context():
        prev = audit.GENESIS
        for seq in range(1, n + 1):
            ev = SimpleNamespace(seq=seq, created_at=utcnow(), user_id=1, username="manager",
                                 action="submission_viewed", object_type="access_order",
                                 object_id=f"ref{seq}", unit_id=1, case_number="0655588",
                                 outcome="ok", detail=None, remote_addr="127.0.0.1",
                                 prev_hash=prev)
            ev.hash = prev = sha256(ev)
            if seq == break_at:
                ev.detail = "ändrad efteråt"
            db.session.add(AuditEvent(**vars(ev)))
        db.session.commit()


@pytest.mark.parametrize("break_at", [None, 3])
def test_h3_migration_0004_rechains_the_old_chain_and_records_what_it_found(
        tmp_path: Path, break_at: int | None) -> None:
    from flask_migrate import downgrade

    from portal.db_setup import upgrade_schema

    with database_at(tmp_path, "0003_performance_indexes") as own:
        legacy_chain(own, 5, break_at)
        with own.app_context():
            upgrade_schema("0004_audit_keyed")
            db.session.remove()
            result = audit.verify()
            key = audit.chain_key()
        assert result.ok and result.checked == 6, result
        evs = rows(own)
        assert all(ev.hash == hmac_under(key)(ev) for ev in evs)
        last = evs[-1]
        assert (last.seq, last.action, last.object_type) == (6, "audit_chain_keyed", "audit_log")
        if break_at is None:
            assert last.outcome == "ok" and "hel: 5 händelser" in last.detail
        else:
            assert last.outcome == "failed"
            assert "bruten vid händelse 3 (hash stämmer inte)" in last.detail
        with own.app_context():
            downgrade(revision="0003_performance_indexes")
            db.session.remove()
        evs = rows(own)
        assert [e.action for e in evs][-2:] == ["audit_chain_keyed", "audit_chain_unkeyed"]
        prev = audit.GENESIS
        for ev in evs:
            assert ev.prev_hash == prev and ev.hash == sha256(ev)
            prev = ev.hash


# --- PostgreSQL: two roles and the TRUNCATE trigger ---------------------------------------------


def roles_sql(app_role: str, owner: str) -> str:
    """deploy/postgres-roles.sql with its psql variables filled in, as `psql -v` does."""
    script = ROLES_SQL.read_text(encoding="utf-8")
    for name, value in (("app_role", app_role), ("owner", owner)):
        script = script.replace(f':"{name}"', '"' + value.replace('"', '""') + '"')
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    assert not re.search(r":[\"']?[a-z_]+", code), "a psql variable left unfilled"
    return code


def su_conninfo(app: Flask, user: str | None = None) -> str:
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql")
    return (url.set(username=user) if user else url).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_h3_the_app_role_may_only_select_and_insert_on_audit_events(
        app: Flask, tmp_path: Path) -> None:
    import psycopg
    from psycopg import errors

    role = f"skydd_app_{secrets.token_hex(4)}"
    admin = su_conninfo(app)
    app.config["AUDIT_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    with psycopg.connect(admin, autocommit=True) as su:
        owner = su.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'"
                           ).fetchone()[0]  # type: ignore[index]
        su.execute(f'CREATE ROLE "{role}" LOGIN')
        try:
            su.execute(roles_sql(role, owner))
            # The portal itself, logged in as the app role: appends, verifies, anchors.
            portal_as_app = create_app(
                {"SQLALCHEMY_DATABASE_URI": su_conninfo(app, role), "SECRET_KEY": "r" * 32,
                 "TESTING": True, "AUDIT_KEY": app.config["AUDIT_KEY"]},
                instance_path=str(tmp_path / "app-instance"))
            try:
                write_events(portal_as_app, 4, every=2)
                result = verify(portal_as_app)
                assert result.ok and result.checked == 4 and result.anchors == 2, result
            finally:
                with portal_as_app.app_context():
                    db.session.remove()
                    db.engine.dispose()
            with psycopg.connect(su_conninfo(app, role), autocommit=True) as conn:
                assert conn.execute("SELECT count(*) FROM audit_events").fetchone() == (4,)
                conn.execute("UPDATE units SET name = name")  # its other tables: as before
                conn.execute("DELETE FROM grants WHERE false")
                for sql in (
                    "UPDATE audit_events SET detail = 'x' WHERE seq = 1",
                    "DELETE FROM audit_events WHERE seq = 4",
                    "TRUNCATE audit_events",
                    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
                    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate",
                    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
                    "DROP TRIGGER audit_events_no_change ON audit_events",
                    "SET session_replication_role = replica",
                    "UPDATE alembic_version SET version_num = version_num",
                    "CREATE TABLE own_table (x int)",
                ):
                    with pytest.raises(errors.InsufficientPrivilege):
                        conn.execute(sql)
            assert verify(app).ok and len(rows(app)) == 4
        finally:
            su.execute(f'DROP OWNED BY "{role}"')
            su.execute(f'DROP ROLE "{role}"')
        assert su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None


@pytest.mark.postgres
def test_h3_the_truncate_trigger_stops_even_the_owner(app: Flask) -> None:
    """Tested as the superuser the tests run as, and as a plain owner role (made and given the
    table inside a transaction that is rolled back: nothing outlives the test)."""
    import psycopg
    from psycopg import errors

    write_events(app, 3)
    with psycopg.connect(su_conninfo(app)) as su:
        with pytest.raises(errors.RaiseException, match="append-only"):
            with su.transaction():
                su.execute("TRUNCATE audit_events")
        owner = f"skydd_owner_{secrets.token_hex(4)}"
        with su.transaction(force_rollback=True):
            su.execute(f'CREATE ROLE "{owner}"')
            su.execute(f'ALTER TABLE audit_events OWNER TO "{owner}"')
            su.execute(f'SET LOCAL ROLE "{owner}"')
            with pytest.raises(errors.RaiseException, match="append-only"):
                with su.transaction():
                    su.execute("TRUNCATE audit_events")
            with pytest.raises(errors.RaiseException, match="append-only"):
                with su.transaction():
                    su.execute("DELETE FROM audit_events")
    with psycopg.connect(su_conninfo(app)) as su:
        assert su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None
    assert len(rows(app)) == 3 and verify(app).ok
