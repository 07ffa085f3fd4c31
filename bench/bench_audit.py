"""Target 5: what the audit write costs a request, and the chain under concurrent writers.

- The same request with and without the audit write, alternating, in one process: GET
  /submissions/<id> (its view writes `submission_viewed` and commits). The "without" arm replaces
  portal.audit.record with a no-op; the commit stays (then with nothing to write). On SQLite, and
  on PostgreSQL when it answers.
- Eight threads append at once on PostgreSQL (audit.record takes pg_advisory_xact_lock); then
  `flask audit-verify` must find the whole chain intact, and seq must run 1..n without a gap.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench._common import (
    AUDIT_KEY,
    SECRET_KEY,
    VENV_BIN,
    access_order_form,
    csrf_token,
    emit,
    login_test_client,
    make_app,
    median,
    migrate_and_seed,
    ms,
    pg_available,
    pg_drop,
    pg_recreate,
    pg_url,
    say,
    skip,
    throwaway_dir,
)

PAIRS = int(os.environ.get("BENCH_AUDIT_PAIRS", "300"))
THREADS = 8
PER_THREAD = 100


def request_cost(app: Any, label: str) -> None:
    import portal.audit

    client = login_test_client(app, "manager1")
    token = csrf_token(client.get("/forms/access-order").get_data(as_text=True))
    resp = client.post("/forms/access-order", data={**access_order_form(), "csrf_token": token})
    url = resp.headers["Location"]
    real = portal.audit.record

    def noop(*args: Any, **kwargs: Any) -> None:
        return None

    def get() -> float:
        t0 = time.perf_counter()
        r = client.get(url)
        assert r.status_code == 200, r.status_code
        return time.perf_counter() - t0

    for _ in range(20):
        get()
    with_t, without_t = [], []
    try:
        for _ in range(PAIRS):
            portal.audit.record = real
            with_t.append(get())
            portal.audit.record = noop  # type: ignore[assignment]
            without_t.append(get())
    finally:
        portal.audit.record = real
    w, wo = median(with_t), median(without_t)
    emit(f"Audit write added to a request ({label})", ms(w - wo), 1.0, ".2f", " ms",
         note=f"GET /submissions/<id>: {ms(w):.2f} ms with, {ms(wo):.2f} ms without, "
              f"medians of {PAIRS} alternating")


def concurrent_chain(app: Any, url: str, tmp: Path) -> None:
    from portal import audit
    from portal.extensions import db

    with app.app_context():
        before = audit.count()
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(PER_THREAD):
                    audit.record("bench_concurrent", object_type="bench", object_id=f"{n}-{i}")
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(f"{type(error).__name__}: {error}"[:200])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    with app.app_context():
        from sqlalchemy import func, select

        from portal.models import AuditEvent

        n, lo, hi = db.session.execute(
            select(func.count(), func.min(AuditEvent.seq), func.max(AuditEvent.seq))).one()
        db.session.remove()
        db.engine.dispose()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FIELD_KEYS")}
    env |= {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "FIELD_KEYS_DIR": str(tmp / "keys"),
            "AUDIT_KEY": AUDIT_KEY,
            "AUDIT_ANCHOR_PATH": str(tmp / "instance" / "audit-anchors.log")}
    verify = subprocess.run([str(VENV_BIN / "flask"), "--app", "portal", "audit-verify"],
                            env=env, capture_output=True, text=True, timeout=120)
    expected = before + THREADS * PER_THREAD
    ok = (not errors and verify.returncode == 0 and n == expected and lo == 1 and hi == n)
    say(f"{THREADS} threads × {PER_THREAD} events in {secs:.2f} s; audit-verify: "
        f"{(verify.stdout or verify.stderr).strip()}")
    emit(f"Audit chain, {THREADS} threads appending at once (PostgreSQL)", None, None, "",
         status="PASS" if ok else "FAIL",
         note=f"{n} events, seq {lo}..{hi}, expected {expected}; audit-verify exit "
              f"{verify.returncode}" + (f"; errors: {errors[0]}" if errors else ""))


def main() -> None:
    with throwaway_dir() as tmp:
        app = make_app(f"sqlite:///{tmp / 'portal.db'}", tmp / "instance")
        migrate_and_seed(app)
        request_cost(app, "SQLite")
    why = pg_available()
    if why:
        skip("Audit write added to a request (PostgreSQL)", "≤ 1.00 ms", why)
        skip(f"Audit chain, {THREADS} threads appending at once (PostgreSQL)", "PASS", why)
        return
    url = pg_url()
    pg_recreate(url)
    try:
        with throwaway_dir() as tmp:
            app = make_app(url, tmp / "instance")
            migrate_and_seed(app)
            request_cost(app, "PostgreSQL")
            concurrent_chain(app, url, tmp)
    finally:
        pg_drop(url)


if __name__ == "__main__":
    main()
