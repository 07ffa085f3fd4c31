"""Issue 11: the portal's files, its health check and its error page hold against someone else on the
machine and against a broken disk or database.

M5: everything the portal writes is its own account's alone (0600 files, 0700 folders), and it
refuses to start over a database, -wal/-shm, secret key or key file others may read.
L6: /healthz proves a write (read-only database, full disk: 503); the 500 page rolls the session
back first; gunicorn's error log withholds exception messages and query strings as the app's does."""
from __future__ import annotations

import errno
import logging
import os
import runpy
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import PASSWORD, _seed
from flask import Flask
from freezegun import freeze_time
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from portal import ROOT, create_app
from portal.extensions import db
from portal.files import UnsafeFileModes, sqlite_path
from portal.logs import WithheldFormatter
from portal.models import AuditEvent, Submission, Unit

MARKER = "Qzmarker Ingrid Persson 8d1f"  # stands for a name or a value typed into a form


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask a shell usually gives (022): the portal must not rely on a stricter one."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def make_db(path: Path, file_mode: int = 0o600) -> None:
    """A SQLite database in WAL mode, as the portal leaves one, with the given mode."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    os.chmod(path, file_mode)


# --- M5: files on disk ---------------------------------------------------------------------------


def test_m5_a_fresh_app_makes_instance_0700_and_every_file_0600(
        tmp_path: Path, loose_umask: None, password_hash: str) -> None:
    """No setting but the instance folder: the app makes instance/, the database (with -wal and
    -shm), secret_key and the field keys, and a deviation report is stored. All owner-only."""
    instance = tmp_path / "instance"
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, instance_path=str(instance))
    from portal.db_setup import upgrade_schema

    with app.app_context():
        upgrade_schema()
        _seed(password_hash)
    client = app.test_client()
    assert client.post("/login", data={"username": "staff", "password": PASSWORD}).status_code == 303
    resp = client.post("/forms/deviation", data={
        "event_date": "2026-01-05", "event_time": "07:45", "unit": "Hemtjänst Hisingen",
        "fictional_name": "Gunnel Gran", "category": "fall", "description": "Föll i hallen.",
        "handed_to": "Hugo Hemtjänstchef"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    database = instance / "portal.db"
    with app.app_context():  # a connection is open: -wal and -shm exist
        db.session.execute(text("SELECT 1"))
        assert Path(f"{database}-wal").exists() and Path(f"{database}-shm").exists()
        assert mode(instance) == 0o700
        files = [p for p in instance.rglob("*") if p.is_file()]
        folders = [p for p in instance.rglob("*") if p.is_dir()]
        assert {database, Path(f"{database}-wal"), instance / "secret_key"} <= set(files)
        assert any(p.parent.name == "keys" for p in files), "no key file was made"
        assert {str(p): oct(mode(p)) for p in files if mode(p) != 0o600} == {}
        assert {str(p): oct(mode(p)) for p in folders if mode(p) != 0o700} == {}
        db.engine.dispose()


def test_m5_the_test_apps_instance_and_database_copy_are_owner_only(app: Flask) -> None:
    assert mode(Path(app.instance_path)) == 0o700
    database = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    assert database is None or mode(database) == 0o600  # None: the PostgreSQL pass


def test_m5_an_instance_folder_checked_out_0755_is_narrowed_to_0700(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)  # noqa: S103 - as git checks it out
    (instance / ".gitkeep").touch()
    os.chmod(instance / ".gitkeep", 0o644)  # as git checks it out too; it holds nothing
    create_app({"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'p.db'}"},
               instance_path=str(instance))
    assert mode(instance) == 0o700


@pytest.mark.parametrize(("loose", "loose_mode"), [
    ("portal.db", 0o644),
    ("portal.db", 0o640),  # group-readable is readable by others too
    ("portal.db-wal", 0o644),
    ("portal.db-shm", 0o644),
    ("secret_key", 0o644),
    ("keys/k0001.key", 0o644),
    ("keys/audit.secret", 0o604),
    ("config.py", 0o644),  # instance/config.py may hold a database password
])
def test_m5_a_secret_file_others_may_read_refuses_to_start(
        tmp_path: Path, loose: str, loose_mode: int) -> None:
    instance = tmp_path / "instance"
    (instance / "keys").mkdir(parents=True, mode=0o700)
    os.chmod(instance, 0o700)
    make_db(instance / "portal.db")
    path = instance / loose
    if not path.exists():
        path.write_text("X = 1\n")
    os.chmod(path, loose_mode)
    with pytest.raises(UnsafeFileModes) as refused:
        create_app({"SECRET_KEY": "s" * 32}, instance_path=str(instance))
    message = str(refused.value)
    assert str(path) in message and f"chmod 600 {path}" in message
    # The same files, owner-only: it starts.
    os.chmod(path, 0o600)
    create_app({"SECRET_KEY": "s" * 32}, instance_path=str(instance))


def test_m5_a_key_folder_outside_instance_is_checked_too(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "k0001.key").write_text("x\n")
    os.chmod(keys / "k0001.key", 0o644)
    config = {"SECRET_KEY": "s" * 32, "FIELD_KEYS_DIR": str(keys),
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"}
    with pytest.raises(UnsafeFileModes, match="chmod 600 .*k0001.key"):
        create_app(config, instance_path=str(tmp_path / "instance"))


def test_m5_a_database_given_as_a_sqlite_uri_is_checked(tmp_path: Path) -> None:
    database = tmp_path / "p.db"
    make_db(database, 0o644)
    uri = f"sqlite:///file:{database}?mode=rw&uri=true"
    with pytest.raises(UnsafeFileModes, match=f"chmod 600 {database}"):
        create_app({"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": uri},
                   instance_path=str(tmp_path / "instance"))


def test_m5_gunicorn_sets_the_private_umask_before_it_opens_its_logs() -> None:
    old = os.umask(0o022)
    try:
        settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        assert os.umask(0o022) == 0o077
        assert settings["umask"] == 0o077
    finally:
        os.umask(old)


# --- L6: the health check ------------------------------------------------------------------------


def test_l6_healthz_answers_503_on_a_read_only_database(
        tmp_path: Path, migrated_sqlite: Path | None, migrated_pg: str | None) -> None:
    """SQLite: the file opened read-only. PostgreSQL: every transaction read-only (a replica, a
    database set read-only). Reading works in both, so only a write tells."""
    if migrated_sqlite is not None:
        database = tmp_path / "ro.db"
        shutil.copy(migrated_sqlite, database)
        read_only_uri = f"sqlite:///file:{database}?mode=ro&uri=true"
        uri = f"sqlite:///{database}"
    else:
        assert migrated_pg is not None
        uri = migrated_pg
        read_only_uri = make_url(uri).update_query_dict(
            {"options": "-c default_transaction_read_only=on"}).render_as_string(False)
    # No purge thread: it would outlive the test and fail on the read-only database (it did,
    # in CI's log, after the PostgreSQL pass had ended).
    readonly = create_app({"SQLALCHEMY_DATABASE_URI": read_only_uri, "SECRET_KEY": "s" * 32,
                           "SCHEDULER_IN_SERVER": False},
                          instance_path=str(tmp_path / "instance"))
    with readonly.app_context():
        assert db.session.execute(text("SELECT count(*) FROM units")).scalar() is not None
        db.session.remove()
    resp = readonly.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_data(as_text=True) == "unavailable"  # no detail for anyone who asks
    writable = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "s" * 32,
                           "SCHEDULER_IN_SERVER": False},
                          instance_path=str(tmp_path / "instance"))
    assert writable.test_client().get("/healthz").status_code == 200
    with readonly.app_context():
        db.engine.dispose()
    with writable.app_context():
        db.engine.dispose()


def test_l6_healthz_answers_503_when_the_disk_is_full(
        app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import portal.views.main as main

    assert client.get("/healthz").status_code == 200

    def no_space(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(main.tempfile, "TemporaryFile", no_space)
    resp = client.get("/healthz")
    assert resp.status_code == 503 and resp.get_data(as_text=True) == "unavailable"


def test_healthz_writes_nothing_and_leaves_no_lock(app: Flask, client: Any) -> None:
    with app.app_context():
        before = db.session.execute(select(Unit.id, Unit.name).order_by(Unit.id)).all()
        db.session.rollback()
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        assert db.session.execute(select(Unit.id, Unit.name).order_by(Unit.id)).all() == before
        # Another writer gets the lock at once: the check's transaction was rolled back.
        db.session.add(Unit(name="Boende Majorna", unit_type="boende", city_district="Sydväst"))
        db.session.commit()


# --- L6: the 500 page after a failed flush -------------------------------------------------------


def test_l6_the_500_page_rolls_back_a_session_whose_flush_failed(app: Flask, as_user: Any) -> None:
    """A view's flush fails (a unique name taken). The Swedish 500 page is shown, nothing of the
    request is stored, and what runs after the error handler can query the session again."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    after: list[int] = []

    def breaks_the_session() -> str:
        db.session.add(Unit(name="Myndighet Centrum", unit_type="myndighet",
                            city_district="Centrum"))
        db.session.flush()  # IntegrityError: the session needs a rollback
        return "not reached"

    app.add_url_rule("/test-breaks-session", "breaks_the_session", breaks_the_session)

    @app.after_request
    def query_after(resp: Any) -> Any:  # stands for any query after the error (audit, header)
        after.append(int(db.session.scalar(select(func.count(Unit.id))) or 0))
        return resp

    client = as_user("manager")
    after.clear()
    resp = client.get("/test-breaks-session")
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "Något gick fel" in page and "Inget sparades" in page
    assert len(after) == 1, "the query after the error failed: the session was not rolled back"
    with app.app_context():
        assert db.session.scalar(
            select(func.count(Unit.id)).where(Unit.name == "Myndighet Centrum")) == 1


# --- L6: gunicorn's error log --------------------------------------------------------------------


@pytest.fixture
def gunicorn_logger(tmp_path: Path) -> Iterator[Any]:
    """gunicorn's logger as gunicorn.conf.py configures it (the way gunicorn loads that file),
    writing its error and access logs to files."""
    from gunicorn.config import Config

    cfg = Config()
    old = os.umask(0o022)  # as a shell starts gunicorn
    try:
        for key, value in runpy.run_path(str(ROOT / "gunicorn.conf.py")).items():
            if key in cfg.settings:
                cfg.set(key.lower(), value)
        cfg.set("errorlog", str(tmp_path / "error.log"))
        cfg.set("accesslog", str(tmp_path / "access.log"))
        yield cfg.logger_class(cfg)
    finally:
        os.umask(old)
        for name in ("gunicorn.error", "gunicorn.access"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
                handler.close()


def test_l6_gunicorn_error_log_withholds_messages_and_query_strings(
        gunicorn_logger: Any, tmp_path: Path) -> None:
    log = gunicorn_logger
    handlers = [h for h in logging.getLogger("gunicorn.error").handlers
                if type(h).__module__ == "logging"]  # gunicorn's, not pytest's
    assert handlers and all(isinstance(h.formatter, WithheldFormatter) for h in handlers)
    try:
        int(f"personnummer för {MARKER}")
    except ValueError:
        # What gunicorn's worker logs when the app raises past Flask (base.py handle_error).
        log.exception("Error handling request %s %s", "POST", f"/forms/deviation?namn={MARKER}")
    log.warning(f"Invalid request from ip=127.0.0.1: Invalid Request Line 'GET /?q={MARKER}'")
    log.debug("Closing connection. %s", ConnectionError(MARKER))
    for handler in handlers:
        handler.flush()
    written = (tmp_path / "error.log").read_text()
    assert "Error handling request POST /forms/deviation?…" in written
    assert "builtins.ValueError: (message withheld" in written  # where and what type stay
    assert "Invalid request from ip=127.0.0.1: (withheld" in written
    assert "Qzmarker" not in written and "Persson" not in written
    assert mode(tmp_path / "error.log") == 0o600  # opened under the portal's umask


def test_l6_gunicorn_access_lines_carry_no_query_cookie_or_referrer_query(
        gunicorn_logger: Any, tmp_path: Path) -> None:
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/register?username={MARKER}",
               "PATH_INFO": "/register", "QUERY_STRING": f"username={MARKER}",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": f"https://portal.example/register?case={MARKER}",
               "HTTP_USER_AGENT": "test"}
    req = SimpleNamespace(headers=[("COOKIE", f"skydd_session={MARKER}")])
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = gunicorn_logger.atoms(resp, req, environ, timedelta(milliseconds=5))
    assert "Qzmarker" not in repr(atoms)
    gunicorn_logger.cfg.set("access_log_format", '%(r)s %(q)s %(f)s %({cookie}i)s %(U)s')
    gunicorn_logger.access(resp, req, environ, timedelta(milliseconds=5))
    for handler in logging.getLogger("gunicorn.access").handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    assert "/register" in written and "Qzmarker" not in written


# --- Also: unregistered deviation reports are purged after DEVIATION_RETENTION_DAYS --------------


DEVIATION = {"event_date": "2026-03-02", "event_time": "07:45", "unit": "Hemtjänst Hisingen",
             "fictional_name": "Gunnel Gran", "category": "fall",
             "description": "Gunnel föll i badrummet vid morgonbesöket.",
             "handed_to": "Hugo Hemtjänstchef"}


def _load(app: Flask, public_id: str) -> Any:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        db.session.expunge(sub)
        return sub


def test_also_an_unregistered_deviation_is_flagged_with_its_purge_date_and_kept_at_29_days(
        app: Flask, as_user: Any) -> None:
    submitted = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Stockholm; days of 24 h
    with freeze_time(submitted):
        resp = as_user("staff").post("/forms/deviation", data=DEVIATION)
        assert resp.status_code == 303
        public_id = resp.headers["Location"].rsplit("/", 1)[1]
    with freeze_time(submitted + timedelta(days=6)):  # not flagged yet: no purge notice
        page = as_user("hemtjanst_manager").get("/").get_data(as_text=True)
        assert public_id in page and "Raderas 2026-04-01" not in page
    with freeze_time(submitted + timedelta(days=7, minutes=1)):  # the managers are told at 7 days
        page = as_user("hemtjanst_manager").get("/").get_data(as_text=True)
        assert "Äldre än 7 dagar" in page
        assert "Raderas 2026-04-01 (om 23 dagar) om den inte registreras." in page
    with freeze_time(submitted + timedelta(days=29)):
        result = app.test_cli_runner().invoke(args=["purge"])
        assert result.exit_code == 0 and "deviation_unregistered: 0" in result.output
        page = as_user("hemtjanst_manager").get("/").get_data(as_text=True)
        assert public_id in page
        assert "Raderas 2026-04-01 (om 1 dag) om den inte registreras." in page
        assert "En rapport som inte registrerats inom 30 dagar raderas." in page
    sub = _load(app, public_id)
    assert sub.status == "submitted" and sub.data_enc is not None and sub.purged_at is None


def test_also_an_unregistered_deviation_is_purged_at_30_days_and_its_tombstone_kept(
        app: Flask, as_user: Any) -> None:
    submitted = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Stockholm; days of 24 h
    with freeze_time(submitted):
        resp = as_user("staff").post("/forms/deviation", data=DEVIATION)
        public_id = resp.headers["Location"].rsplit("/", 1)[1]
        registered = as_user("staff").post("/forms/deviation", data=DEVIATION)
        kept_id = registered.headers["Location"].rsplit("/", 1)[1]
    with freeze_time(submitted + timedelta(days=1)):  # one is registered in time: not expired
        manager = as_user("hemtjanst_manager")
        version = str(_load(app, kept_id).version)
        assert manager.post(f"/submissions/{kept_id}/done",
                            data={"version": version, "reply": ""}).status_code == 303
    with freeze_time(submitted + timedelta(days=30, minutes=1)):
        result = app.test_cli_runner().invoke(args=["purge"])
        assert result.exit_code == 0, result.output
        assert "deviation_unregistered: 1" in result.output  # counts only
        assert "Gunnel" not in result.output
        again = app.test_cli_runner().invoke(args=["purge"])
        assert "deviation_unregistered: 0" in again.output  # nothing purged twice
        manager_page = as_user("hemtjanst_manager").get("/").get_data(as_text=True)
        staff = as_user("staff")
        staff_page = staff.get("/").get_data(as_text=True)
        shown = staff.get(f"/submissions/{public_id}").get_data(as_text=True)
    sub = _load(app, public_id)
    assert sub.status == "expired" and sub.purged_at is not None
    assert sub.data is None and sub.data_enc is None and sub.data_key_id is None
    assert sub.submitted_by_id is not None and sub.unit_id is not None  # the tombstone
    assert _load(app, kept_id).status == "purged"  # registered: stays as it was
    assert public_id not in manager_page  # nothing left to register
    assert "Raderad efter 30 dagar utan registrering" in staff_page
    assert "skicka en ny begäran" not in staff_page  # that hint is the actualisation's
    assert "Gunnel" not in shown
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_id == public_id,
            AuditEvent.action == "protected_content_purged")).all()
        assert [e.detail for e in events] == ["ej registrerad inom gallringstiden"]
        counts = db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "purge",
            AuditEvent.object_id == "deviation_unregistered")).all()
        assert "antal: 1" in counts


def test_also_the_deviation_retention_period_is_a_setting(app: Flask, as_user: Any) -> None:
    app.config["DEVIATION_RETENTION_DAYS"] = 10
    submitted = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Stockholm; days of 24 h
    with freeze_time(submitted):
        resp = as_user("staff").post("/forms/deviation", data=DEVIATION)
        public_id = resp.headers["Location"].rsplit("/", 1)[1]
    with freeze_time(submitted + timedelta(days=8)):
        page = as_user("hemtjanst_manager").get("/").get_data(as_text=True)
        assert "Raderas 2026-03-12 (om 2 dagar)" in page
    with freeze_time(submitted + timedelta(days=10, minutes=1)):
        result = app.test_cli_runner().invoke(args=["purge"])
        assert "deviation_unregistered: 1" in result.output
    assert _load(app, public_id).status == "expired"
