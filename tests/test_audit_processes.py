"""Several server processes append audit events at once: the chain stays whole, no collision.
(On PostgreSQL an advisory lock serialises appends; on SQLite the write lock is taken first.)
They share the audit key and the anchor file, as gunicorn's workers do: every anchor line they
append at once is whole (issue 11, H3)."""
from __future__ import annotations

import base64
import multiprocessing as mp
import tempfile
from pathlib import Path

from portal import audit, create_app
from portal.extensions import db

AUDIT_KEY = base64.b64encode(b"a" * 32).decode()


def _append(uri: str, n: int, anchors: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "k" * 32, "TESTING": True,
                      "AUDIT_KEY": AUDIT_KEY, "AUDIT_ANCHOR_PATH": anchors,
                      "AUDIT_ANCHOR_EVERY": 3},
                     instance_path=tempfile.mkdtemp())
    with app.app_context():
        for i in range(n):
            audit.record("test_append", detail=str(i))
            db.session.commit()


def _empty_pg(uri: str, tmp_path: Path) -> None:
    from conftest import _truncate_pg

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "k" * 32},
                     instance_path=str(tmp_path))
    with app.app_context():
        _truncate_pg()
        db.engine.dispose()


def test_four_processes_appending_at_once_keep_the_chain_whole(
        tmp_path: Path, migrated_sqlite: Path | None, migrated_pg: str | None) -> None:
    if migrated_pg:
        uri = migrated_pg
        _empty_pg(uri, tmp_path)
    else:
        assert migrated_sqlite is not None
        target = tmp_path / "shared.db"
        target.write_bytes(migrated_sqlite.read_bytes())
        uri = f"sqlite:///{target}"
    ctx = mp.get_context("fork")
    anchors = str(tmp_path / "anchors.log")
    procs = [ctx.Process(target=_append, args=(uri, 60, anchors)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "k" * 32,
                      "AUDIT_KEY": AUDIT_KEY, "AUDIT_ANCHOR_PATH": anchors},
                     instance_path=str(tmp_path))
    with app.app_context():
        result = audit.verify()
        db.session.remove()  # its connection back to the pool, where dispose() closes it
        db.engine.dispose()
    if migrated_pg:
        _empty_pg(uri, tmp_path)
    assert result.ok and result.checked == 240, result
    assert result.anchors >= 10 and result.last_anchor == 240, result
