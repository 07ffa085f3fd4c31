"""Target 4: the pages that grow with stored data, and the purge, over a large database.

gen_scale.py fills the database once (bench/.data/scale.db; on PostgreSQL the database
skydd_bench_scale, the same rows) and it is reused; the real migrations are applied on top each
run, so a new index shows here. Timed through the test client as the users who see them: the LVS
queue and the access register as LVS (all units), the audit trail as one unit's manager. Every SQL
statement a page runs is captured and explained (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) into
bench/.data/explain-<db>.txt. `flask purge` runs on a copy of the database (the purge changes it).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    AUDIT_KEY,
    DATA,
    SECRET_KEY,
    VENV_BIN,
    emit,
    login_test_client,
    make_app,
    median,
    ms,
    pg_available,
    pg_drop,
    say,
    skip,
)
from bench.gen_scale import SCALE_KEYS, SQLITE_URL, ensure

RUNS = int(os.environ.get("BENCH_SCALE_RUNS", "30"))
PG_SCALE = os.environ.get("BENCH_PG_SCALE_URL",
                          "postgresql://postgres@127.0.0.1:54330/skydd_bench_scale")
PAGES = [  # (figure, user, path)
    ("LVS queue page", "lvs0", "/lvs/queue"),
    ("register page (LVS, all units)", "lvs0", "/register"),
    ("audit page of a unit (its manager)", "chef01", "/audit"),
]
TABLES = ("submissions", "grants", "audit_events", "local_protections")


def capture(app: Any, call: Any) -> list[tuple[str, Any]]:
    """The SQL statements (with parameters) run while `call` runs."""
    from sqlalchemy import event

    from portal.extensions import db

    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen


def explain(app: Any, statements: list[tuple[str, Any]]) -> str:
    from portal.extensions import db

    out = []
    with app.app_context(), db.engine.connect() as conn:
        pg = db.engine.dialect.name == "postgresql"
        for sql, params in statements:
            if not any(f"FROM {t}" in sql for t in TABLES) or sql.lstrip().startswith("INSERT"):
                continue
            prefix = "EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) " if pg else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + sql, params).fetchall()
            plan = "\n".join(r[0] for r in rows) if pg else "\n".join(
                "  " * (0 if r[1] == 0 else 1) + r[3] for r in rows)
            short = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", " ".join(sql.split()))
            out.append(short + "\n" + plan)
        conn.rollback()
    return "\n\n".join(out)


def timed_pages(app: Any, label: str) -> str:
    report = []
    clients: dict[str, Any] = {}
    for figure, user, path in PAGES:
        client = clients.get(user) or clients.setdefault(user, login_test_client(app, user))
        for _ in range(3):
            assert client.get(path).status_code == 200
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            resp = client.get(path)
            times.append(time.perf_counter() - t0)
            assert resp.status_code == 200
        statements = capture(app, lambda c=client, p=path: c.get(p))
        emit(f"Scale ({label}): {figure} (median)", ms(median(times)), 50.0, ".1f", " ms",
             note=f"{len(resp.data) // 1024} KiB page, {len(statements)} SQL statements, "
                  f"median of {RUNS}")
        report.append(f"## {figure}: GET {path}\n\n{explain(app, statements)}")
    return "\n\n".join(report)


def purge(url: str, label: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FIELD_KEYS")}
    with tempfile.TemporaryDirectory(prefix="skydd-purge-") as tmp:
        shutil.copytree(SCALE_KEYS, Path(tmp) / "keys")  # a copy: the purge may not touch them
        env |= {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "PRODUCTION": "1",
                "FIELD_KEYS_DIR": str(Path(tmp) / "keys"), "AUDIT_KEY": AUDIT_KEY,
                # One process, no logins: production's check of the limiter's store for many
                # workers (issue 11, M6) does not apply.
                "WEB_CONCURRENCY": "1"}
        t0 = time.perf_counter()
        done = subprocess.run([str(VENV_BIN / "flask"), "--app", "portal", "purge"], env=env,
                              capture_output=True, text=True, timeout=300)
        secs = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    counts = ", ".join(line.strip() for line in done.stdout.splitlines() if ":" in line)
    emit(f"Scale ({label}): flask purge (wall, process start to exit)", secs, 10.0, ".2f", " s",
         note=counts or f"exit {done.returncode}",
         status="FAIL" if done.returncode else None)


def run_sqlite() -> None:
    t0 = time.perf_counter()
    if ensure(SQLITE_URL):
        say(f"made the SQLite scale database in {time.perf_counter() - t0:.0f} s (kept for later runs)")
    path = Path(SQLITE_URL[len("sqlite:///"):])
    instance = Path(tempfile.mkdtemp(prefix="skydd-scale-"))
    app = make_app(SQLITE_URL, instance, FIELD_KEYS_DIR=str(SCALE_KEYS))
    from portal.db_setup import upgrade_schema
    from portal.extensions import db

    with app.app_context():
        upgrade_schema()
    (DATA / "explain-sqlite.txt").write_text(timed_pages(app, "SQLite") + "\n")
    with app.app_context():
        db.session.remove()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    copy = DATA / "scale-purge.db"
    shutil.copyfile(path, copy)
    try:
        purge(f"sqlite:///{copy}", "SQLite")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
    shutil.rmtree(instance, ignore_errors=True)


def run_pg() -> None:
    why = pg_available(PG_SCALE)
    if why:
        for figure, _, _ in PAGES:
            skip(f"Scale (PostgreSQL): {figure} (median)", "≤ 50.0 ms", why)
        skip("Scale (PostgreSQL): flask purge", "≤ 10.00 s", why)
        return
    t0 = time.perf_counter()
    if ensure(PG_SCALE):
        say(f"made the PostgreSQL scale database in {time.perf_counter() - t0:.0f} s")
    instance = Path(tempfile.mkdtemp(prefix="skydd-scale-"))
    app = make_app(PG_SCALE, instance, FIELD_KEYS_DIR=str(SCALE_KEYS))
    from portal.db_setup import upgrade_schema
    from portal.extensions import db

    with app.app_context():
        upgrade_schema()
    (DATA / "explain-postgresql.txt").write_text(timed_pages(app, "PostgreSQL") + "\n")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    import psycopg

    base, _, name = PG_SCALE.rpartition("/")
    copy = f"{name}_purge"
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    try:
        purge(f"{base}/{copy}", "PostgreSQL")
    finally:
        pg_drop(f"{base}/{copy}")
    shutil.rmtree(instance, ignore_errors=True)


def main() -> None:
    which = sys.argv[1:] or ["sqlite", "postgresql"]
    if "sqlite" in which:
        run_sqlite()
    if "postgresql" in which:
        run_pg()


if __name__ == "__main__":
    main()
