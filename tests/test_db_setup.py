"""A connection PostgreSQL dropped (a restart, a failover, an idle timeout) is replaced before a
request uses it: the PostgreSQL engine pings a pooled connection before handing it out
(pool_pre_ping, set by portal/config.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from portal.config import Defaults, load_config
from portal.extensions import db


def _backend_pid(app: Flask) -> int:
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()
    return int(pid)


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    dropped = _backend_pid(app)  # the pooled connection the next request gets
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    import psycopg

    with psycopg.connect(url, autocommit=True) as other:  # the server ends it, as a restart would
        other.execute("SELECT pg_terminate_backend(%s)", (dropped,))
    assert client.get("/healthz").status_code == 200  # pinged, found dead, replaced
    assert _backend_pid(app) != dropped


def _options(uri: str, instance: Path) -> dict[str, object]:
    app = Flask(__name__, instance_path=str(instance))
    load_config(app, {"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "t" * 32})
    return dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])


def test_only_a_postgresql_engine_pings_before_use(tmp_path: Path) -> None:
    assert _options("postgres://u@127.0.0.1:1/none", tmp_path) == {
        "pool_pre_ping": True, "hide_parameters": True}
    assert _options(f"sqlite:///{tmp_path / 'x.db'}", tmp_path) == {"hide_parameters": True}
    assert Defaults.SQLALCHEMY_ENGINE_OPTIONS == {"hide_parameters": True}  # not changed in place
