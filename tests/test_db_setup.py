"""A connection PostgreSQL dropped (a restart, a failover, an idle timeout) is replaced before a
request uses it: portal/db_setup.py pings a pooled connection that lay idle, and only then."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from portal import db_setup
from portal.extensions import db
from portal.views import main


def _backend_pid(app: Flask) -> int:
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()
    return int(pid)


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_after_idling(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    dropped = _backend_pid(app)  # the pooled connection the next request gets
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    import psycopg

    with psycopg.connect(url, autocommit=True) as other:  # the server ends it, as a restart would
        other.execute("SELECT pg_terminate_backend(%s)", (dropped,))
    monkeypatch.setattr(db_setup, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert client.get("/healthz").status_code == 200  # pinged, found dead, replaced
    assert _backend_pid(app) != dropped


@pytest.mark.postgres
def test_a_connection_back_from_a_request_moments_ago_is_not_pinged(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    from sqlalchemy import event

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert client.get("/healthz").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    # The health check's own statements (its write, rolled back), no ping before them.
    assert statements == [
        "SET LOCAL lock_timeout = '2s'", "SET LOCAL statement_timeout = '5s'", main.PROBE_WRITE
    ]
