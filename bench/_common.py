"""What every benchmark shares: a throwaway database with users, a logged-in client, gunicorn with
the production settings, statistics, and the result lines `run.py` collects.

A benchmark prints one line per figure, ``RESULT {json}``; run.py gathers them into the table.
Figures are ratios or times measured in one run against a floor measured in the same run."""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
LOGS = DATA / "logs"
VENV_BIN = Path(sys.executable).parent
PASSWORD = "bänk-lösenord-2026"
SECRET_KEY = "bench-secret-" + "k" * 40
# The audit chain's HMAC key (issue 11, H3): one for every run, so that a cached scale database
# (its chain made by gen_scale.py) stays verifiable and writable from any throwaway instance.
AUDIT_KEY = "YmVuY2gtYXVkaXQta2V5LW5vdC1hLXNlY3JldC0zMmI="
PG_DEFAULT = "postgresql://postgres@127.0.0.1:54330/skydd_bench"

# The production gunicorn command of README.md ("Production"): gunicorn.conf.py's settings (sync
# workers, 2 × cores + 1, preload); BENCH_GUNICORN_WORKERS overrides the number of workers.
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "0")) or None


# --- results ------------------------------------------------------------------------------------

@dataclass
class Result:
    figure: str
    measured: str
    target: str
    status: str  # PASS | FAIL | SKIP | INFO
    note: str = ""
    value: float | None = None


def emit(figure: str, value: float | None, target: float | None, fmt: str, unit: str = "",
         *, higher_is_better: bool = False, note: str = "", status: str | None = None) -> Result:
    """Print one figure as a RESULT line (and readably)."""
    measured = "–" if value is None else f"{value:{fmt}}{unit}"
    if target is None:
        tgt, st = "–", status or "INFO"
    else:
        tgt = f"{'≥' if higher_is_better else '≤'} {target:{fmt}}{unit}"
        if status:
            st = status
        elif value is None:
            st = "FAIL"
        else:
            st = "PASS" if (value >= target if higher_is_better else value <= target) else "FAIL"
    r = Result(figure, measured, tgt, st, note, value)
    print("RESULT " + json.dumps(asdict(r), ensure_ascii=False), flush=True)
    return r


def skip(figure: str, target: str, why: str) -> Result:
    r = Result(figure, "–", target, "SKIP", why)
    print("RESULT " + json.dumps(asdict(r), ensure_ascii=False), flush=True)
    return r


def say(msg: str) -> None:
    print(f"  · {msg}", flush=True)


# --- statistics ---------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return percentile(values, 50)


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def ms(seconds: float) -> float:
    return seconds * 1000.0


# --- the machine --------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "loadavg": os.getloadavg(),
        "python": sys.version.split()[0],
    }


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(p) for p in (task / "children").read_text().split()]
    return out


# --- databases ----------------------------------------------------------------------------------

@contextlib.contextmanager
def throwaway_dir(prefix: str = "skydd-bench-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def pg_url() -> str:
    return os.environ.get("BENCH_PG_URL", PG_DEFAULT)


def pg_available(url: str | None = None) -> str | None:
    """None when PostgreSQL answers (the database is created if missing), else why not."""
    url = url or pg_url()
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return "psycopg missing"
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(base + "/postgres", connect_timeout=3, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as error:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return f"PostgreSQL not reachable at {base.split('@')[-1]} ({type(error).__name__})"
    return None


def pg_recreate(url: str) -> None:
    """Drop and create the database `url` names (a throwaway one)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the app ------------------------------------------------------------------------------------

def make_app(uri: str, instance: Path, **config: Any) -> Any:
    """The portal on `uri`, as the tests make it but with CSRF on; its log lines go to a file."""
    from portal import create_app

    cfg = {"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": SECRET_KEY, "PURGE_INTERVAL_SECONDS": 0,
           "FIELD_KEYS_DIR": str(instance / "keys"), "AUDIT_KEY": AUDIT_KEY, **config}
    app = create_app(cfg, instance_path=str(instance))
    LOGS.mkdir(parents=True, exist_ok=True)
    stream = open(LOGS / "portal-inprocess.log", "a")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger("portal").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return app


# (username, full name, unit, roles)
UNITS = [
    ("Myndighet Centrum", "myndighet", "Centrum"),
    ("Hemtjänst Hisingen", "hemtjanst", "Hisingen"),
    ("LVS Myndighet", "myndighet", "Centrum"),
    ("Systemförvaltning", "myndighet", "Centrum"),
]
USERS = [
    ("secretary", "Sara Socialsekreterare", "Myndighet Centrum", ["social_secretary"]),
    ("lvs", "Lena LVS", "LVS Myndighet", ["lvs"]),
    ("admin", "Adam Systemförvaltare", "Systemförvaltning", ["admin"]),
] + [(f"manager{i}", f"Eva Enhetschef {i}", "Myndighet Centrum", ["unit_manager"])
     for i in range(1, 9)]


def migrate_and_seed(app: Any) -> None:
    """The real migrations, then units and users (one argon2 hash for all)."""
    from portal.auth import hash_password
    from portal.db_setup import upgrade_schema
    from portal.extensions import db
    from portal.models import Unit, User, UserRole

    with app.app_context():
        upgrade_schema()
        units = {}
        for name, unit_type, district in UNITS:
            units[name] = Unit(name=name, unit_type=unit_type, city_district=district)
            db.session.add(units[name])
        db.session.flush()
        pw = hash_password(PASSWORD)
        for username, full_name, unit, roles in USERS:
            db.session.add(User(username=username, full_name=full_name,
                                email=f"{username}@goteborg.se", unit_id=units[unit].id,
                                password_hash=pw, role_rows=[UserRole(role=r) for r in roles]))
        db.session.commit()


CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no csrf_token in the page")
    return found.group(1)


def login_test_client(app: Any, username: str) -> Any:
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 303, resp.status_code
    return client


# --- the forms as a browser posts them ----------------------------------------------------------

def access_order_form(rows: int = 1, case_number: str = "0655588") -> dict[str, str]:
    """A valid access order with `rows` person rows (over the person limit: with a justification)."""
    today = date.today()
    data = {
        "case_number": case_number,
        "city_district": "Centrum",
        # No unit fields: the ordering unit is the orderer's own (SPEC §3.1, issue 11 M1).
        "valid_from": today.isoformat(),
        "valid_to": (today + timedelta(days=180)).isoformat(),
    }
    for i in range(rows):
        data |= {
            f"persons-{i}-action": "add",
            f"persons-{i}-full_name": f"Anna Andersson {i}",
            f"persons-{i}-username": f"anna{i:02d}",
            f"persons-{i}-email": f"anna.andersson{i}@goteborg.se",
            f"persons-{i}-position": "socialsekreterare",
        }
    if rows > 3:
        data["justification"] = "Stor personalgrupp under sommaren, alla behöver läsa ärendet."
    return data


def checklist_form() -> dict[str, str]:
    """Every section of the checklist filled in (checked boxes send "y")."""
    from portal.forms import checklist

    day = date.today()
    data = {
        "case_number": "0655588",
        "protection_kind": "skyddad_folkbokforing",
        "skatteverket_decision_date": (day - timedelta(days=30)).isoformat(),
        "threat_picture": "Tidigare partner har hotat den enskilde vid upprepade tillfällen.",
        "protected_from_relatives": "y",
        "protected_from_former_partner": "y",
        "protected_from_note": "Tidigare partner och dennes bror.",
        "children_in_household": "no",
        "children_note": "Vuxna barn, bor inte hos den enskilde.",
        "fictional_name_agreed": "yes",
        "fictional_name": "Greta Solvik",
        "post_route": "forwarding_service",
        "post_note": "Fakturor via förmedlingsuppdraget.",
        "digital_mailbox": "yes",
        "email_agreed": "yes",
        "email_client_wants": "y",
        "email_risks_explained": "y",
        "email_encrypted": "y",
        "phone_call_back": "y",
        "phone_code": "Blåklint 47",
        "visit_identity_check": "y",
        "communication_note": "Ring helst förmiddagar.",
        "consent_performer": "y",
        "consent_health_care": "y",
        "consent_relatives": "y",
        "consent_others": "y",
        "consent_others_text": "God man",
        "myndighet_contact": "Ansvarig socialsekreterare, ersättare förste socialsekreterare.",
        "performer_communication": "Meddelanden i Treserva med ärendenummer; telefon vid brådska.",
        "home_visits": "Personal presenterar sig med fiktivt namn; öppna inte för okända.",
        "outings": "Inga promenader i bostadsområdet utan överenskommelse.",
        "photography": "Ingen fotografering.",
        "acute_situations": "Ring 112; uppgifter får lämnas ut till ambulans och polis.",
        "key_handling": "Nyckel registreras med fiktivt namn i nyckelskåpet.",
        "safety_alarm": "y",
        "safety_alarm_by_phone": "y",
        "chilled_food": "y",
        "food_delivery_note": "Levereras till hemtjänstlokalen, personal tar med.",
        "legal_representative": "god_man",
        "legal_representative_informed": "y",
        "private_funds": "y",
        "private_funds_note": "Inköp av dagligvaror enligt rutinen.",
        "samsa": "removal_requested",
        "practice_note": "Inga gruppdiskussioner om ärendet.\nTala i enrum med berörd personal.",
        "next_follow_up": (day + timedelta(days=90)).isoformat(),
        "copy_offered": "y",
        "version": "1",
        "version_date": day.isoformat(),
        "filled_in_by": "Sara Socialsekreterare",
    }
    for item in checklist.INFO_ITEMS:
        data[item] = "y"
        data[f"{item}_date"] = day.isoformat()
    return data


# --- gunicorn -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    started: float  # perf_counter at Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.proc.pid)


def production_env(database_url: str, instance: Path, limiter: str | None = None,
                   ) -> dict[str, str]:
    """The environment of README's production command. `limiter`: RATELIMIT_STORAGE_URI, the
    shared store production needs with more than one worker (``shared_limiter_store``)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLASK_DEBUG", "DATABASE_URL", "FIELD_KEYS", "WEB_CONCURRENCY",
                        "RATELIMIT_STORAGE_URI")}
    env |= {"PRODUCTION": "1", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": database_url,
            "FIELD_KEYS_DIR": str(instance / "keys"), "AUDIT_KEY": AUDIT_KEY,
            "PYTHONUNBUFFERED": "1"}
    if limiter:
        env["RATELIMIT_STORAGE_URI"] = limiter
    return env


@contextlib.contextmanager
def shared_limiter_store() -> Iterator[str]:
    """A throwaway redis-server on loopback (no persistence) as the limiter's shared store:
    production with more than one worker refuses memory:// (issue 11, M6). Its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server not found: production's shared limiter store "
                           "(RATELIMIT_STORAGE_URI) is needed for more than one worker")
    import redis

    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    with throwaway_dir("skydd-bench-redis-") as tmp, open(LOGS / "redis.log", "ab") as log:
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(tmp)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
            deadline = time.perf_counter() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if proc.poll() is not None or time.perf_counter() > deadline:
                        raise
                    time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_gunicorn(app_spec: str, env: dict[str, str], *, workers: int | None = GUNICORN_WORKERS,
                   log_name: str = "gunicorn", wait: bool = True, port: int | None = None) -> Server:
    """gunicorn as README.md runs it in production, on 127.0.0.1 only. `workers` is set as
    production sets it, WEB_CONCURRENCY (gunicorn.conf.py and the app's start-time check read
    it); more than one needs the shared limiter store in `env` (``shared_limiter_store``)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    if workers:
        env = {**env, "WEB_CONCURRENCY": str(workers)}
    log = open(LOGS / f"{log_name}.log", "ab")  # noqa: SIM115 - closed with the process
    cmd = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
           "-b", f"127.0.0.1:{port}", app_spec]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = Server(proc, port, started)
    if wait:
        wait_healthy(server, timeout=30)
    return server


def wait_healthy(server: Server, timeout: float, path: str = "/healthz",
                 interval: float = 0.005) -> float:
    """Poll until `path` answers 200; the wall time since the process started."""
    import httpx

    deadline = time.perf_counter() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"server exited with {server.proc.returncode}")
            try:
                if client.get(server.base + path).status_code == 200:
                    return time.perf_counter() - server.started
            except httpx.TransportError:
                pass
            time.sleep(interval)
    raise TimeoutError(f"no 200 on {path} within {timeout} s")


def stop(server: Server) -> None:
    """SIGTERM to the gunicorn master we started (it stops its workers), then wait."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait()
