"""Engine settings per database, and the schema migrations (Alembic through Flask-Migrate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def init_migrations(app: Flask) -> None:
    """Bind Flask-Migrate to the app. Alembic costs ≈ 0.2 s to import and a web worker never
    migrates, so this runs only for the CLI and before an upgrade (bench/README.md, start-up)."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    from .extensions import db

    Migrate(app, db, directory=str(MIGRATIONS))


def bind_migrations_for_cli(app: Flask) -> None:
    """`flask db …` (Flask-Migrate's commands) when the app is made by the flask command line,
    which makes it inside a click context; gunicorn and the tests do not, and skip the import."""
    if click.get_current_context(silent=True) is not None:
        init_migrations(app)


def upgrade_schema(revision: str = "head") -> None:
    """Apply the migrations up to `revision` on the current app's database."""
    from flask_migrate import upgrade

    init_migrations(current_app)
    upgrade(revision=revision)


def configure_engine(engine: Engine) -> None:
    """SQLite's settings on each new connection. PostgreSQL needs none here: its engine options
    (pool_pre_ping) come from portal/config.py."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")
        # WAL's recommended durability: a commit is safe from a crash of the portal (or any
        # process) at once, and from a power cut or OS crash from the next checkpoint; the file is
        # never corrupted. FULL would fsync on every commit, ≈ 1 ms for each audit event of a page
        # view (bench/README.md, target 5). Production runs PostgreSQL, durable on every commit.
        cur.execute("PRAGMA synchronous=NORMAL")
        # Overwrite deleted content so purged data does not linger in free pages.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()
