"""Engine settings per database, and the schema migrations (Alembic through Flask-Migrate)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import event, exc
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


# A pooled connection idle for longer than this is pinged before use (see _ping_if_idle).
PING_AFTER_IDLE_SECONDS = 10.0


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        _ping_if_idle(engine)
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


def _ping_if_idle(engine: Engine) -> None:
    """Replace a connection the server dropped (a restart, a failover, an idle timeout) before a
    request uses it, as ``pool_pre_ping`` does, but only for a connection that lay idle in the pool:
    ``pool_pre_ping`` pings on every checkout, two or three round trips to PostgreSQL on every
    request (bench/README.md). A connection returned within the last few seconds was working then.
    SQLAlchemy's pessimistic-disconnect recipe: raising DisconnectionError on checkout makes the
    pool discard the connection and try a fresh one."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"connection dropped: {type(error).__name__}") from error
