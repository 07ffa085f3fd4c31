"""Issue 11, login throttling and accounts: the limiter counts in one store shared by every worker
(M6), behind the load balancer per client (M6, ProxyFix), a throttled name answers exactly like a
wrong password (M6), a guesser at one address cannot lock the real user out at another (L1), new
passwords are checked against a blocklist and the account commands end every session (L5), and a
session without its timestamps counts as expired."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from conftest import IN_CI, PASSWORD, login
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import select, text
from test_auth import csrf_token
from test_cli import output, run

import portal
from portal import auth, create_app
from portal.clock import utcnow
from portal.extensions import db
from portal.models import AuditEvent, LoginThrottle, User

GENERIC = "Fel användarnamn eller lösenord."
WRONG = "inte rätt lösenord"
ROOT = Path(__file__).resolve().parents[1]
NEW_PASSWORD = "grön kanelbulle vid älven 9"


def client_at(app: Flask, address: str, forwarded_for: str | None = None) -> FlaskClient:
    """A browser at `address` (what the server sees), optionally behind a proxy that says it
    forwards for `forwarded_for`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))
        db.session.expunge_all()
        return rows


def user_row(app: Flask, username: str) -> User:
    with app.app_context():
        row = db.session.scalar(select(User).where(User.username == username))
        assert row is not None
        _ = row.roles  # loaded before the session closes
        db.session.expunge(row)
        return row


@pytest.fixture
def sibling_app(app: Flask) -> Iterator[Callable[..., Flask]]:
    """sibling_app(**config): another app (another worker) on the same database and instance
    folder as `app`; its pooled connections are closed after the test, not left to the garbage
    collector (psycopg warns then, in whichever test runs)."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        base = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "TESTING",
                                           "WTF_CSRF_ENABLED")}
        sibling = create_app({**base, **config}, instance_path=app.instance_path)
        sibling.test_client_class = app.test_client_class
        made.append(sibling)
        return sibling

    yield make
    for sibling in made:
        with sibling.app_context():
            db.session.remove()
            db.engine.dispose()


# --- a throwaway redis-server --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_REDIS_URL when CI started a server, else a redis-server of our own on a free loopback
    port, without persistence. Without redis-server the tests that need it are skipped, except in
    CI, where they fail."""
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    server = shutil.which("redis-server")
    if server is None:
        if IN_CI:
            pytest.fail("CI=true but redis-server is missing: apt-get install redis-server")
        pytest.skip("needs redis-server (Debian: apt-get install redis-server) for the "
                    "shared limiter store")
    import redis

    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The server, emptied: nothing counted by an earlier test (or the other CI pass) remains."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
    return redis_server


# --- M6: one store for every worker --------------------------------------------------------------

WORKER = """
import json, sys
from portal import create_app
job = json.loads(sys.argv[1])
app = create_app(job["config"], instance_path=job["instance"])
client = app.test_client()
codes = [client.post("/login", data={"username": f"{job['name']}{i}", "password": "inte rätt"})
         .status_code for i in range(job["tries"])]
print(json.dumps(codes))
"""


def _worker(app: Flask, store: str, prefix: str, name: str, tries: int) -> list[int]:
    """One gunicorn worker: its own process, its own limiter, the same database."""
    job = {"instance": app.instance_path, "name": name, "tries": tries, "config": {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"], "TESTING": True, "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": store, "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_RATE_PER_ADDRESS": f"{tries} per 10 minutes"}}
    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(job)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_m6_two_workers_sharing_redis_allow_exactly_the_configured_failures(
        app: Flask, redis_url: str) -> None:
    limit = 4
    with app.app_context():
        db.engine.dispose()  # the workers write the same database
    prefix = uuid.uuid4().hex
    shared = _worker(app, redis_url, prefix, "a", limit) + _worker(app, redis_url, prefix, "b", limit)
    assert shared.count(429) == limit, shared
    assert len(shared) - shared.count(429) == limit  # the configured number, not twice it
    # The same two workers each counting in memory (as before) let twice the limit through:
    # what the shared store prevents.
    apart = _worker(app, "memory://", "", "c", limit) + _worker(app, "memory://", "", "d", limit)
    assert 429 not in apart, apart


def test_m6_production_refuses_the_memory_store_with_several_workers(
        app: Flask, monkeypatch: pytest.MonkeyPatch, redis_url: str, tmp_path: Path,
        sibling_app: Callable[..., Flask]) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    keys = tmp_path / "keys-outside-instance"
    keys.mkdir(mode=0o700)
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI=memory://.*redis://"):
        sibling_app(PRODUCTION=True, RATELIMIT_STORAGE_URI="memory://",
                    FIELD_KEYS_DIR=str(keys))
    app.config.update(PRODUCTION=True, RATELIMIT_STORAGE_URI="memory://")
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        portal._check_limiter_storage(app)
    app.config["RATELIMIT_STORAGE_URI"] = redis_url
    portal._check_limiter_storage(app)  # a shared store: starts
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    portal._check_limiter_storage(app)  # one worker: memory is shared by all (one) of them
    monkeypatch.delenv("WEB_CONCURRENCY")
    with pytest.raises(RuntimeError):  # gunicorn.conf.py's default: two per core and one more
        portal._check_limiter_storage(app)


def test_m6_the_store_and_the_proxy_hops_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, redis_url: str,
        sibling_app: Callable[..., Flask]) -> None:
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", redis_url)
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    other = sibling_app()
    assert other.config["RATELIMIT_STORAGE_URI"] == redis_url
    assert other.config["PROXY_FIX_X_FOR"] == 1
    other.config["LOGIN_RATE_PER_ADDRESS"] = "2 per 10 minutes"
    browser = client_at(other, "192.0.2.10", forwarded_for="10.9.8.7")
    codes = [login(browser, "finns_inte", WRONG).status_code for _ in range(3)]
    assert codes == [422, 422, 429]  # counted in Redis


# --- M6: ProxyFix ---------------------------------------------------------------------------------


def test_m6_behind_one_proxy_each_client_is_limited_on_its_own(
        sibling_app: Callable[..., Flask]) -> None:
    behind = sibling_app(PROXY_FIX_X_FOR=1, LOGIN_RATE_PER_ADDRESS="3 per 10 minutes")
    balancer = "192.0.2.1"
    first = client_at(behind, balancer, forwarded_for="10.0.0.1")
    for _ in range(3):
        assert login(first, "finns_inte", WRONG).status_code == 422
    assert login(first, "finns_inte", WRONG).status_code == 429
    # Another user behind the same balancer is not blocked by the first one's failures.
    second = client_at(behind, balancer, forwarded_for="10.0.0.2")
    assert login(second, "manager").status_code == 303
    # And the failures were recorded against the client's address, not the balancer's.
    with behind.app_context():
        sources = set(db.session.scalars(select(LoginThrottle.source)))
        remote = {e.remote_addr for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login_failed"))}
    assert sources == {"10.0.0.1"} and remote == {"10.0.0.1"}


def test_m6_without_proxy_hops_the_forwarded_header_is_ignored(
        sibling_app: Callable[..., Flask]) -> None:
    direct = sibling_app(LOGIN_RATE_PER_ADDRESS="3 per 10 minutes")
    assert direct.config["PROXY_FIX_X_FOR"] == 0
    for n in range(3):
        assert login(client_at(direct, "198.51.100.7", f"10.0.1.{n}"), "x", WRONG).status_code == 422
    # A new X-Forwarded-For does not make a new client: spoofing does not bypass the limit.
    assert login(client_at(direct, "198.51.100.7", "10.0.1.99"), "x", WRONG).status_code == 429


# --- M6: a throttled name answers like a wrong password ------------------------------------------


class CountingHasher:
    def __init__(self, real: PasswordHasher) -> None:
        self.real, self.verified = real, 0

    def verify(self, hash: str, password: str) -> bool:
        self.verified += 1
        return self.real.verify(hash, password)

    def hash(self, password: str) -> str:
        return self.real.hash(password)


def _answer(client: FlaskClient, username: str, password: str) -> tuple[int, str]:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
    # The page's own token, whatever it is: a signed token carries its second, so one signed a
    # second later than the one posted differs (seen under load).
    page = re.sub(r'(name="csrf_token" type="hidden" value=")[^"]*"', r'\1TOKEN"',
                  resp.get_data(as_text=True)).replace(username, "NAME")
    return resp.status_code, page


def test_m6_locked_unknown_and_wrong_password_answer_alike(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    guesser = client_at(app, "10.0.2.1")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _answer(guesser, "manager", WRONG)[0] == 422
    counting = CountingHasher(auth._hasher)
    monkeypatch.setattr(auth, "_hasher", counting)
    answers, calls = {}, {}
    cases = {
        "locked": (guesser, "manager", PASSWORD),  # the right password, while this address waits
        "wrong": (client_at(app, "10.0.2.2"), "manager", WRONG),
        "unknown": (client_at(app, "10.0.2.3"), "finns_inte", WRONG),
    }
    for case, (client, username, password) in cases.items():
        counting.verified = 0
        answers[case] = _answer(client, username, password)
        calls[case] = counting.verified
    assert answers["locked"] == answers["wrong"] == answers["unknown"]
    assert answers["wrong"][0] == 422 and GENERIC in answers["wrong"][1]
    assert calls == {"locked": 1, "wrong": 1, "unknown": 1}  # the same work, the same time
    assert [e.outcome for e in events(app, "login_failed")][-3:] == ["locked", "failed", "failed"]


# --- L1: lock per account and source, growing delays, an admin unlock ----------------------------


def test_l1_an_attacker_elsewhere_cannot_lock_the_real_user_out(app: Flask) -> None:
    attacker = client_at(app, "10.6.6.6")
    for _ in range(20):
        assert login(attacker, "lvs", WRONG).status_code == 422
    # The attacker's address waits (and its per-address limit of 20 is used up).
    assert login(attacker, "lvs").status_code in (422, 429)
    real_user = client_at(app, "10.1.1.1")
    assert login(real_user, "lvs").status_code == 303
    assert real_user.get("/lvs/queue").status_code == 200


def test_l1_the_attackers_delay_grows_and_nothing_typed_is_kept(app: Flask) -> None:
    first = app.config["LOGIN_LOCKOUT"]
    attacker = client_at(app, "10.6.6.7")

    def waits() -> timedelta:
        with app.app_context():
            row = db.session.scalar(select(LoginThrottle))
            assert row is not None and row.locked_until is not None
            until = row.locked_until.replace(tzinfo=utcnow().tzinfo)
            return until - utcnow()

    with freeze_time() as frozen:
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            login(attacker, "lvs", WRONG)
        assert waits() == first
        login(attacker, "lvs", WRONG)  # while it waits: refused, the delay not extended
        assert waits() == first
        delays = []
        for _ in range(3):
            frozen.tick(waits() + timedelta(seconds=1))
            assert login(attacker, "lvs", WRONG).status_code == 422
            delays.append(waits())
        assert delays == [first * 2, first * 4, first * 8]
        # The cap holds.
        for _ in range(10):
            frozen.tick(waits() + timedelta(seconds=1))
            login(attacker, "lvs", WRONG)
        assert waits() == app.config["LOGIN_LOCKOUT_MAX"]
    with app.app_context():
        dump = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM login_throttle"))
                        for v in row)
    assert WRONG not in dump and "lvs" not in dump.split()  # an HMAC, never the typed text


def test_l1_unlock_clears_every_address_and_is_audited(app: Flask) -> None:
    attacker = client_at(app, "10.6.6.8")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(attacker, "lvs", WRONG)
    assert login(attacker, "lvs").status_code == 422  # waits, even with the right password
    result = run(app, "users", "unlock", "lvs")
    assert result.exit_code == 0, output(result)
    with app.app_context():
        assert db.session.scalar(select(LoginThrottle)) is None
    assert login(attacker, "lvs").status_code == 303
    unlocked = events(app, "login_unlocked")
    assert [(e.object_id, e.outcome) for e in unlocked] == [(user_row(app, "lvs").public_id, "ok")]
    assert run(app, "users", "unlock", "finns_inte").exit_code != 0


# --- L5: a password blocklist; deactivate, set-roles, set-password -------------------------------


def _create(app: Flask, password: str) -> Any:
    return run(app, "users", "create", "nyenhetschef", "--full-name", "Nina Nyström",
               "--email", "nyenhetschef@goteborg.se", "--unit", "Myndighet Centrum",
               "--role", "unit_manager", "--password-stdin", input=password + "\n")


@pytest.mark.parametrize(("password", "reason"), [
    ("password1234", "vanligt"),        # a leaked password
    ("P@ssw0rd2024!", "vanligt"),       # the same in leetspeak
    ("Sommar2024!!", "vanligt"),        # a Swedish favourite with a year
    ("123456789012", "vanligt"),        # digits only
    ("nyenhetschef2024", "användarnamnet"),
    ("Nina Nyström 1975", "namnet"),
    ("aaaaaaaaaaaaaa", "mönster"),      # one character over and over
    ("qwertyuiopåasdf", "mönster"),     # along the keyboard
    ("lösenordlösenord", "mönster"),    # one piece over and over
])
def test_l5_users_create_refuses_blocklisted_passwords(
        app: Flask, password: str, reason: str) -> None:
    result = _create(app, password)
    assert result.exit_code != 0
    assert reason in output(result)
    assert password not in output(result)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "nyenhetschef")) is None
    refused = events(app, "password_refused")
    assert len(refused) == 1 and refused[0].outcome == "refused"
    assert refused[0].detail and refused[0].detail.startswith("R-PASSWORD-")
    assert password not in (refused[0].detail or "")


def test_l5_users_create_accepts_a_long_uncommon_password(app: Flask) -> None:
    result = _create(app, NEW_PASSWORD)
    assert result.exit_code == 0, output(result)
    assert login(app.test_client(), "nyenhetschef", NEW_PASSWORD).status_code == 303


def _logged_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 303
    assert client.get("/").status_code == 200
    return client


def test_l5_set_password_checks_the_blocklist_and_ends_every_session(app: Flask) -> None:
    client = _logged_in(app, "manager")
    before = user_row(app, "manager").session_version
    refused = run(app, "users", "set-password", "manager", "--password-stdin",
                  input="Eva Enhetschef 1!\n")
    assert refused.exit_code != 0 and "namnet" in output(refused)
    assert user_row(app, "manager").session_version == before
    assert run(app, "users", "set-password", "manager", input=NEW_PASSWORD + "\n").exit_code != 0
    done = run(app, "users", "set-password", "manager", "--password-stdin",
               input=NEW_PASSWORD + "\n")
    assert done.exit_code == 0, output(done)
    assert NEW_PASSWORD not in output(done)
    assert user_row(app, "manager").session_version == before + 1
    assert client.get("/").status_code == 302  # the old session is dead
    assert login(app.test_client(), "manager").status_code == 422
    assert login(app.test_client(), "manager", NEW_PASSWORD).status_code == 303
    assert [e.object_id for e in events(app, "password_set")] == [user_row(app, "manager").public_id]
    assert [e.detail for e in events(app, "password_refused")] == ["R-PASSWORD-PERSONAL"]


def test_l5_deactivate_ends_every_session_and_is_audited(app: Flask) -> None:
    client = _logged_in(app, "secretary")
    result = run(app, "users", "deactivate", "secretary")
    assert result.exit_code == 0, output(result)
    row = user_row(app, "secretary")
    assert not row.active
    assert client.get("/").status_code == 302
    assert login(app.test_client(), "secretary").status_code == 422
    assert [e.object_id for e in events(app, "user_deactivated")] == [row.public_id]
    assert run(app, "users", "deactivate", "finns_inte").exit_code != 0


def test_l5_set_roles_replaces_the_roles_ends_every_session_and_is_audited(app: Flask) -> None:
    client = _logged_in(app, "lvs")
    assert client.get("/lvs/queue").status_code == 200
    result = run(app, "users", "set-roles", "lvs", "--role", "staff", "--role", "staff")
    assert result.exit_code == 0, output(result)
    row = user_row(app, "lvs")
    assert "lvs" not in row.roles and "staff" in row.roles
    assert client.get("/").status_code == 302  # the session with the old roles is dead
    again = _logged_in(app, "lvs")
    assert again.get("/lvs/queue").status_code == 403
    changed = events(app, "user_roles_changed")
    assert [e.object_id for e in changed] == [row.public_id]
    assert changed[0].detail and "lvs ->" in changed[0].detail
    bad = run(app, "users", "set-roles", "lvs", "--role", "kung")
    assert bad.exit_code != 0
    assert user_row(app, "lvs").roles == row.roles


# --- a session without its timestamps -------------------------------------------------------------


@pytest.mark.parametrize("missing", [("login_at",), ("last_seen",), ("login_at", "last_seen")])
def test_a_session_without_its_timestamps_counts_as_expired(
        app: Flask, missing: tuple[str, ...]) -> None:
    client = _logged_in(app, "manager")
    with client.session_transaction() as session:
        assert "_user_id" in session
        for key in missing:
            del session[key]
    resp = client.get("/register")
    assert resp.status_code == 302
    assert resp.headers["Location"].split("?")[0].endswith("/login")
    assert client.get("/").status_code == 302  # and it stays logged out


def test_the_throttle_keeps_a_keyed_name(app: Flask) -> None:
    """The HMAC depends on SECRET_KEY: someone with the database alone cannot test names."""
    with app.app_context():
        key = auth.throttle_key("lvs")
        app.config["SECRET_KEY"] = "another-" + "y" * 24
        assert auth.throttle_key("lvs") != key
        assert auth.throttle_key(" LVS ") == auth.throttle_key("lvs")
        assert re.fullmatch(r"[0-9a-f]{64}", key)
