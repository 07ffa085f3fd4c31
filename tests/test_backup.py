"""`flask --app portal backup PATH` (SPEC §6): a consistent copy of the database, readable by its
owner only, that never overwrites a file. SQLite through the online backup API; PostgreSQL through
pg_dump (password in the environment, never on the command line) or a Swedish hint how to run it."""
from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_URL, _seed, store
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from portal import audit, create_app
from portal.extensions import db
from portal.models import AuditEvent, Submission, Unit, User


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def output(result: Any) -> str:
    out = result.output or ""
    try:
        out += result.stderr or ""
    except ValueError:
        pass
    return out


def make_data(app: Flask) -> str:
    """A stored access order and its audit event; returns the order's public id."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "manager"))
        data = {"case_number": "0655588", "city_district": "Centrum", "unit_type": "myndighet",
                "unit_name": "Myndighet Centrum",
                "persons": [{"action": "add", "full_name": "Anna Andersson",
                             "username": "anna01", "email": "anna.andersson@goteborg.se",
                             "position": "socialsekreterare"}],
                "valid_from": "2026-01-01", "valid_to": "2026-06-30", "local_protection": False,
                "local_protection_until": None, "local_protection_reason": "",
                "justification": ""}
        sub = store("access_order", data, user)
        return sub.public_id


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Unit, User, Submission, AuditEvent)}


@pytest.fixture
def sqlite_app(request: pytest.FixtureRequest, tmp_path: Path,
               password_hash: str) -> Iterator[Flask]:
    """The test app on SQLite; in the PostgreSQL pass a SQLite app of its own (built by the same
    migrations), so that the SQLite backup is tested in both passes and neither shows a skip."""
    if not PG_URL:
        yield request.getfixturevalue("app")
        return
    from portal.db_setup import upgrade_schema

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'own.db'}",
                      "SECRET_KEY": "sqlite-" + "x" * 25, "TESTING": True},
                     instance_path=str(tmp_path / "own-instance"))
    with app.app_context():
        upgrade_schema()
        _seed(password_hash)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sqlite_backup_is_a_working_copy_whose_audit_chain_verifies(
        sqlite_app: Flask, tmp_path: Path) -> None:
    app = sqlite_app
    public_id = make_data(app)
    with app.app_context():
        before = counts()
    target = tmp_path / "backups" / "portal-backup.db"
    target.parent.mkdir()
    result = run(app, "backup", str(target))
    assert result.exit_code == 0, output(result)
    assert "Säkerhetskopian är sparad" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # One self-contained file: no WAL beside it that the copy would need.
    assert sorted(p.name for p in target.parent.iterdir()) == ["portal-backup.db"]

    # The audit chain is keyed (issue 11, H3): a restored copy is verified under the same key.
    with app.app_context():
        audit_key = base64.b64encode(audit.chain_key()).decode()
    copy = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                       "SECRET_KEY": "restore-" + "x" * 24, "TESTING": True,
                       "AUDIT_KEY": audit_key},
                      instance_path=str(tmp_path / "restore-instance"))
    with copy.app_context():
        assert counts() == before
        result_chain = audit.verify()
        assert result_chain.ok and result_chain.checked == before["AuditEvent"]
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.data["persons"][0]["username"] == "anna01"
        db.engine.dispose()
    # The backup itself is audited in the live database (SPEC §1.4), after the copy was taken.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "backup_made")) == 1
        assert audit.verify().ok


def test_sqlite_backup_holds_what_was_committed_while_the_portal_had_the_database_open(
        sqlite_app: Flask, tmp_path: Path) -> None:
    """The online API copies a consistent snapshot, WAL content included (the live database runs in
    WAL mode, so a plain file copy could miss committed rows)."""
    app = sqlite_app
    with app.app_context():
        db.session.execute(select(1))  # a pooled connection holds the database open
        make_data(app)
        before = counts()
        target = tmp_path / "snapshot.db"
        result = run(app, "backup", str(target))
        assert result.exit_code == 0, output(result)
    copy = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                       "SECRET_KEY": "restore-" + "x" * 24, "TESTING": True},
                      instance_path=str(tmp_path / "restore-instance"))
    with copy.app_context():
        assert counts() == before
        db.engine.dispose()


def test_backup_refuses_to_overwrite_an_existing_file(app: Flask, tmp_path: Path) -> None:
    target = tmp_path / "existing.db"
    target.write_bytes(b"an earlier backup")
    result = run(app, "backup", str(target))
    assert result.exit_code == 1
    assert "finns redan" in output(result)
    assert target.read_bytes() == b"an earlier backup"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "backup_made")) == 0


def test_backup_refuses_a_symlink_in_place_of_the_file(app: Flask, tmp_path: Path) -> None:
    """A link planted where the backup will go must not redirect it (or truncate its target)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    link = tmp_path / "backup.db"
    link.symlink_to(victim)
    result = run(app, "backup", str(link))
    assert result.exit_code == 1
    assert victim.read_text() == "do not touch"


def test_backup_into_a_missing_folder_says_so_and_leaves_nothing(
        app: Flask, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "b.db"
    result = run(app, "backup", str(target))
    assert result.exit_code == 1
    assert "Kan inte skapa" in output(result)
    assert not target.exists()


# --- PostgreSQL -------------------------------------------------------------------------------

FAKE_PG = "postgresql://skydd:hemligt-losen@db.example.internal:5433/skyddsportalen"


def test_postgres_without_pg_dump_prints_how_to_run_it_without_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No database is touched: the hint comes before any connection."""
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    app = create_app({"SQLALCHEMY_DATABASE_URI": FAKE_PG, "SECRET_KEY": "pg-" + "x" * 29,
                      "TESTING": True}, instance_path=str(tmp_path / "instance"))
    target = tmp_path / "pg.dump"
    result = run(app, "backup", str(target))
    text = output(result)
    assert result.exit_code == 1
    assert "pg_dump --format=custom" in text
    assert "db.example.internal" in text and "5433" in text and "skyddsportalen" in text
    assert "--username skydd" in text and "PGPASSWORD" in text
    assert "hemligt-losen" not in text
    assert not target.exists()


@pytest.mark.postgres
def test_postgres_backup_runs_pg_dump_with_the_password_in_the_environment(
        app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_dump from PATH writes the custom format into a new 0600 file; the password (trust
    authentication ignores it here) travels in PGPASSWORD, never in argv, never printed."""
    assert PG_URL and shutil.which("pg_dump"), "the PostgreSQL pass needs pg_dump on PATH"
    make_data(app)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(password="hemligt-losen")
    live = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                       "SECRET_KEY": "pg-" + "x" * 29, "TESTING": True},
                      instance_path=str(tmp_path / "instance"))
    seen: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def spy(args: list[str], **kwargs: Any) -> Any:
        seen.append((list(args), dict(kwargs.get("env") or {})))
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    target = tmp_path / "pg.dump"
    result = run(live, "backup", str(target))
    assert result.exit_code == 0, output(result)
    assert "hemligt-losen" not in output(result)
    (argv, env), = seen
    assert os.path.basename(argv[0]) == "pg_dump" and "--format=custom" in argv
    assert not any("hemligt-losen" in a for a in argv)
    assert env["PGPASSWORD"] == "hemligt-losen"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom-format header
    # The dump restores: pg_restore can list the submissions table's data in it.
    if shutil.which("pg_restore"):
        listing = real_run(["pg_restore", "--list", str(target)], capture_output=True, text=True,
                           check=True).stdout
        assert "TABLE DATA public submissions" in listing
        assert "TABLE DATA public audit_events" in listing
    with live.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "backup_made")) == 1
        # The session's connection back to the pool first: dispose() closes only pooled ones
        # (one still checked out would go to the garbage collector, which psycopg warns about).
        db.session.remove()
        db.engine.dispose()
    target2 = tmp_path / "again.dump"
    target2.write_bytes(b"keep")
    again = run(live, "backup", str(target2))
    assert again.exit_code == 1 and target2.read_bytes() == b"keep"
    with live.app_context():
        db.engine.dispose()

