"""Fill a database with a large municipality's worth of stored data, fast (target 4).

100,000 processed submissions (access orders done; actualisations and deviation reports purged to
tombstones), a queue of unprocessed ones, 10,000 active grants (and inactive ones beside them),
local protections, fictional files with day notes (half of them old enough to purge), unprocessed
actualisations past their 30 days, and 1,000,000 audit events whose hash chain is valid (each hash
computed with portal.audit.event_hash). Bulk inserts: executemany on SQLite; PostgreSQL gets
the same rows from the SQLite file by COPY.

    python -m bench.gen_scale                       # bench/.data/scale.db
    python -m bench.gen_scale postgresql://postgres@127.0.0.1:54330/skydd_bench_scale

The database is built by the real migrations first. bench_scale.py calls `ensure()`, which builds
it once into bench/.data/ (or the PostgreSQL database) and reuses it while GEN_VERSION matches.
"""
from __future__ import annotations

import json
import random
import secrets
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench._common import DATA, PASSWORD, make_app, say

GEN_VERSION = "5"  # change when what is generated changes: cached databases are rebuilt
N_UNITS = 40
PROCESSED = 100_000
QUEUE = 250  # unprocessed orders and actualisations in the LVS queue (with the 50 below: 300)
EXPIRED_ACTUALISATIONS = 50  # unprocessed for over 30 days: the purge empties them
ACTIVE_GRANTS = 10_000
INACTIVE_GRANTS = 10_000  # half revoked, half run out
LOCAL_PROTECTIONS = 300
FILES = 400
DAY_NOTES = 20_000
AUDIT_EVENTS = 1_000_000
CHUNK = 20_000

rng = random.Random(2026)


def pid() -> str:
    return secrets.token_urlsafe(16)


def case() -> str:
    return f"{rng.randrange(0, 10_000_000):07d}"


def stamp_path(url: str) -> Path:
    safe = url.rsplit("/", 1)[-1].replace(".", "_")
    return DATA / f"scale-{safe}.stamp"


# --- rows ---------------------------------------------------------------------------------------

def build(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows except the audit events (those come as a stream)."""
    from portal.auth import hash_password

    pw = hash_password(PASSWORD)
    types = ["myndighet", "hemtjanst", "boende", "bosam"]
    districts = ["Centrum", "Hisingen", "Nordost", "Sydväst"]
    units = [{"id": i, "public_id": pid(), "name": f"Enhet {i:02d} {types[i % 4]}",
              "unit_type": types[i % 4], "city_district": districts[i % 4]}
             for i in range(1, N_UNITS + 1)]
    units.append({"id": N_UNITS + 1, "public_id": pid(), "name": "LVS Myndighet",
                  "unit_type": "myndighet", "city_district": "Centrum"})
    users, roles = [], []

    def user(username: str, unit_id: int, role: str) -> int:
        uid = len(users) + 1
        users.append({"id": uid, "public_id": pid(), "username": username,
                      "full_name": f"Person {uid}", "email": f"{username}@goteborg.se",
                      "unit_id": unit_id, "password_hash": pw, "active": True,
                      "session_version": 1, "failed_logins": 0, "locked_until": None,
                      "created_at": now - timedelta(days=700)})
        roles.append({"user_id": uid, "role": role})
        return uid

    managers, staff = {}, {}
    for u in units[:N_UNITS]:
        managers[u["id"]] = user(f"chef{u['id']:02d}", u["id"], "unit_manager")
        staff[u["id"]] = [user(f"ss{u['id']:02d}{k}", u["id"], "social_secretary") for k in range(4)]
    lvs = [user(f"lvs{k}", N_UNITS + 1, "lvs") for k in range(5)]
    user("admin", N_UNITS + 1, "admin")

    subs: list[dict[str, Any]] = []

    def sub(form: str, status: str, unit_id: int, created: datetime, **kw: Any) -> dict[str, Any]:
        row = {"id": len(subs) + 1, "public_id": pid(), "form": form, "status": status,
               "unit_id": unit_id, "submitted_by_id": rng.choice(staff[unit_id] + [managers[unit_id]]),
               "processed_by_id": None, "created_at": created, "processed_at": None,
               "purged_at": None, "case_number": case(), "flagged": False, "data": None,
               "data_enc": None, "key_id": None, "reply": None, "version": 1} | kw
        subs.append(row)
        return row

    span = 730 * 86400
    for i in range(PROCESSED):
        created = now - timedelta(seconds=span * (1 - i / PROCESSED) + 3600)
        done_at = created + timedelta(hours=rng.randrange(1, 72))
        unit_id = rng.randrange(1, N_UNITS + 1)
        kind = rng.random()
        if kind < 0.6:
            n = rng.randrange(1, 4)
            data = {"case_number": "", "city_district": "Centrum", "unit_type": "myndighet",
                    "unit_name": units[unit_id - 1]["name"],
                    "persons": [{"action": "add", "full_name": f"Namn {k}", "username": f"u{k}",
                                 "email": f"u{k}@goteborg.se", "position": "socialsekreterare"}
                                for k in range(n)],
                    "valid_from": created.date().isoformat(),
                    "valid_to": (created.date() + timedelta(days=300)).isoformat(),
                    "local_protection": False, "local_protection_until": None,
                    "local_protection_reason": "", "justification": ""}
            row = sub("access_order", "done", unit_id, created, processed_by_id=rng.choice(lvs),
                      processed_at=done_at, data=data)
            data["case_number"] = row["case_number"]
        elif kind < 0.85:
            sub("actualisation", "purged", unit_id, created, processed_by_id=rng.choice(lvs),
                processed_at=done_at, purged_at=done_at)
        else:
            sub("deviation", "purged", unit_id, created, processed_by_id=managers[unit_id],
                processed_at=done_at, purged_at=done_at, case_number=None)
    for i in range(QUEUE):  # the LVS queue: recent, unprocessed
        created = now - timedelta(minutes=10 * (QUEUE - i))
        unit_id = rng.randrange(1, N_UNITS + 1)
        if i % 6:
            sub("access_order", "submitted", unit_id, created, flagged=i % 17 == 0,
                data={"case_number": case(), "persons": []})
        else:
            sub("actualisation", "submitted", unit_id, created, data_enc=secrets.token_bytes(300),
                key_id="k0001", case_number=None)
    for i in range(EXPIRED_ACTUALISATIONS):  # past the 30 days: purged by `flask purge`
        sub("actualisation", "submitted", rng.randrange(1, N_UNITS + 1),
            now - timedelta(days=31 + i % 20), data_enc=secrets.token_bytes(300), key_id="k0001",
            case_number=None)

    orders = [s["id"] for s in subs if s["form"] == "access_order" and s["status"] == "done"]
    today = now.date()
    grants = []
    for i in range(ACTIVE_GRANTS + INACTIVE_GRANTS):
        unit_id = rng.randrange(1, N_UNITS + 1)
        active = i < ACTIVE_GRANTS
        revoked = not active and i % 2 == 0
        start = today - timedelta(days=rng.randrange(0, 300))
        end = (today + timedelta(days=rng.randrange(0, 365)) if active or revoked
               else today - timedelta(days=rng.randrange(1, 300)))
        grants.append({
            "id": i + 1, "public_id": pid(), "case_number": case(), "username": f"user{i % 3000}",
            "full_name": f"Medarbetare {i % 3000}", "email": f"user{i % 3000}@goteborg.se",
            "position": "socialsekreterare", "unit_id": unit_id,
            "unit_name": units[unit_id - 1]["name"], "unit_type": units[unit_id - 1]["unit_type"],
            "valid_from": start, "valid_to": end, "granted_by_id": rng.choice(lvs),
            "order_id": rng.choice(orders),
            "revoked_at": now - timedelta(days=rng.randrange(1, 100)) if revoked else None,
            "revoked_by_id": rng.choice(lvs) if revoked else None,
            "revoke_order_id": rng.choice(orders) if revoked else None})
    protections = [{"id": i + 1, "case_number": case(), "unit_id": rng.randrange(1, N_UNITS + 1),
                    "until": today + timedelta(days=rng.randrange(-30, 90)),
                    "order_id": rng.choice(orders), "recorded_by_id": rng.choice(lvs),
                    "recorded_at": now - timedelta(days=rng.randrange(1, 60))}
                   for i in range(LOCAL_PROTECTIONS)]
    files = [{"id": i + 1, "public_id": pid(), "unit_id": 1 + i % N_UNITS,
              "fictional_name": f"Fiktiv {i}", "case_number": case(),
              "created_at": now - timedelta(days=200),
              "closed_at": now - timedelta(days=70) if i % 8 == 0 else None}
             for i in range(FILES)]
    notes = []
    for i in range(DAY_NOTES):
        f = files[i % FILES]
        old = i % 2 == 0 or f["closed_at"] is not None  # closed files: only old notes
        written = now - timedelta(days=rng.randrange(65, 120) if old else rng.randrange(0, 55))
        notes.append({"id": i + 1, "public_id": pid(), "file_id": f["id"],
                      "author_id": rng.choice(staff[f["unit_id"]]), "written_at": written,
                      # Kept only encrypted (issue 11): ciphertext-sized bytes; nothing here
                      # reads it (the pages measured do not show notes, the purge deletes).
                      "text_enc": secrets.token_bytes(90), "key_id": "k0001",
                      "compiled_at": written + timedelta(days=3) if old else None,
                      "compiled_by_id": managers[f["unit_id"]] if old else None})
    return {"units": units, "users": users, "user_roles": roles, "submissions": subs,
            "grants": grants, "local_protections": protections, "fictional_files": files,
            "day_notes": notes}


ACTIONS = [("submission_viewed", 30), ("pdf_fetched", 15), ("message_fetched", 10),
           ("submission_created", 15), ("submission_processed", 10), ("login", 12),
           ("protected_content_read", 5), ("json_fetched", 3)]


def audit_rows(users: list[dict[str, Any]], subs: list[dict[str, Any]], now: datetime,
               n: int = AUDIT_EVENTS) -> Iterator[dict[str, Any]]:
    """A valid chain: seq 1..n, each MAC over its fields and the previous MAC (event_hash) under
    the app's audit key (AUDIT_KEY of bench/_common.py)."""
    from portal.audit import GENESIS, chain_key, event_hash

    key = chain_key()

    start = now - timedelta(days=730)
    step = (730 * 86400 - 7200) / n
    prev = GENESIS
    kinds = rng.choices([a for a, _ in ACTIONS], weights=[w for _, w in ACTIONS], k=n)
    who = rng.choices(users, k=n)
    what = rng.choices(subs, k=n)
    for i in range(n):
        u, s, action = who[i], what[i], kinds[i]
        is_login = action == "login"
        row = {"id": i + 1, "seq": i + 1,
               "created_at": start + timedelta(seconds=i * step + rng.random()),
               "user_id": u["id"], "username": u["username"], "action": action,
               "object_type": None if is_login else s["form"],
               "object_id": None if is_login else s["public_id"],
               "unit_id": None if is_login else s["unit_id"],
               "case_number": None if is_login else s["case_number"],
               "outcome": "ok", "detail": None, "remote_addr": "127.0.0.1", "prev_hash": prev}
        row["hash"] = prev = event_hash(SimpleNamespace(**row), key)  # type: ignore[arg-type]
        yield row


# --- writing ------------------------------------------------------------------------------------

def chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_value(v: Any) -> Any:
    """What SQLAlchemy would store on SQLite (its DATETIME format, ISO dates, JSON text)."""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")  # UTC fields, as for utcnow() values
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    return v


def write_sqlite(db: Any, tables: dict[str, Iterable[dict[str, Any]]]) -> None:
    """executemany on the driver's connection, in large chunks, one transaction."""
    meta = db.metadata.tables
    raw = db.engine.raw_connection()
    try:
        raw.execute("PRAGMA synchronous=OFF")  # this connection only: it is thrown away after
        for name, rows in tables.items():
            t0 = time.perf_counter()
            cols = [c.name for c in meta[name].columns]
            sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608 - names from the metadata
            n = 0
            for batch in chunks(rows):
                # A nullable column the rows do not name is NULL (a column added to the model
                # since; the migrations made the schema). A NOT NULL one missing fails here.
                raw.executemany(sql, [tuple(_sqlite_value(r.get(c)) for c in cols)
                                      for r in batch])
                n += len(batch)
            say(f"{name}: {n:,} rows in {time.perf_counter() - t0:.1f} s")
        raw.commit()
        raw.execute("ANALYZE")
        raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def copy_to_pg(sqlite_path: Path, db: Any) -> None:
    """PostgreSQL gets the very rows of the SQLite database (the same hash chain), by COPY."""
    import sqlite3

    meta = db.metadata
    src = sqlite3.connect(sqlite_path)
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET TIME ZONE 'UTC'")  # SQLite holds the UTC fields without a zone
        for table in meta.sorted_tables:
            t0 = time.perf_counter()
            cols = [c.name for c in table.columns]
            booleans = {i for i, c in enumerate(table.columns) if c.type.python_type is bool}
            n = 0
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:
                for row in src.execute(f"SELECT {', '.join(cols)} FROM {table.name}"):  # noqa: S608 - names from the metadata
                    if booleans:
                        row = tuple(bool(v) if i in booleans and v is not None else v
                                    for i, v in enumerate(row))
                    cp.write_row(row)
                    n += 1
            if "id" in cols and n:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 - names from the metadata
                            f"(SELECT max(id) FROM {table.name}))")
            if n:
                say(f"{table.name}: {n:,} rows in {time.perf_counter() - t0:.1f} s")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        src.close()


SQLITE_URL = f"sqlite:///{DATA / 'scale.db'}"
# The key folder of the scale databases (FIELD_KEYS_DIR): they hold encrypted content, so the
# portal refuses to start over them without key files (issue 11, L8). Made with the SQLite one.
SCALE_KEYS = DATA / "scale-keys"


def generate(url: str) -> None:
    """Build the database at `url` from nothing. SQLite: generated (the file is replaced);
    PostgreSQL: a copy of the SQLite one (made first if missing), so both hold the same rows."""
    import tempfile

    from bench._common import pg_recreate

    t0 = time.perf_counter()
    pg = not url.startswith("sqlite:///")
    if pg:
        ensure(SQLITE_URL)
        pg_recreate(url)
    else:
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.rmtree(SCALE_KEYS, ignore_errors=True)
    instance = Path(tempfile.mkdtemp(prefix="skydd-gen-"))
    app = make_app(url, instance, FIELD_KEYS_DIR=str(SCALE_KEYS))
    from portal.crypto import load_files
    from portal.db_setup import upgrade_schema
    from portal.extensions import db

    load_files(SCALE_KEYS)  # the first key file, if there is none yet

    now = datetime.now(UTC)
    with app.app_context():
        upgrade_schema()
        if pg:
            copy_to_pg(Path(SQLITE_URL[len("sqlite:///"):]), db)
        else:
            rows = build(now)
            say(f"rows built in {time.perf_counter() - t0:.1f} s")
            write_sqlite(db, {**rows, "audit_events": audit_rows(rows["users"],
                                                                  rows["submissions"], now)})
        db.engine.dispose()
    stamp_path(url).parent.mkdir(parents=True, exist_ok=True)
    stamp_path(url).write_text(json.dumps({"version": GEN_VERSION, "url": url,
                                           "made": now.isoformat()}))
    say(f"{'PostgreSQL' if pg else 'SQLite'} scale database made in {time.perf_counter() - t0:.0f} s")


def ensure(url: str) -> bool:
    """Generate unless a database of this GEN_VERSION is already there; True if generated."""
    stamp = stamp_path(url)
    if (stamp.exists() and json.loads(stamp.read_text()).get("version") == GEN_VERSION
            and any(SCALE_KEYS.glob("*.key"))):
        if not url.startswith("sqlite:///"):
            import psycopg

            try:
                with psycopg.connect(url, connect_timeout=3) as conn:
                    row = conn.execute("SELECT count(*) FROM submissions").fetchone()
                    if row and row[0] >= PROCESSED:
                        return False
            except Exception:  # noqa: BLE001, S110 - missing or broken: build it again
                pass
        elif Path(url[len("sqlite:///"):]).exists():
            return False
    generate(url)
    return True


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else SQLITE_URL)
