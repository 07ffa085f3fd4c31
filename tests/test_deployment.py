"""Several instances, as production runs it (issue 15, part I).

The module starts what production runs, on loopback: a throwaway PostgreSQL (the owner runs the
migrations, the portal logs in as the app role of deploy/postgres-roles.sql), a redis-server, two
gunicorn instances of the portal (gunicorn.conf.py, two workers each, PRODUCTION=1, the
environment from deploy/skyddsportalen.env.example), `flask scheduler` (the scheduler unit's
command) and Debian's nginx with deploy/nginx.conf in front, its plain loopback block and its TLS
block. Then, through them: a session made through one instance works through the other; forms work
behind TLS terminated in nginx; one access order marked done through both at once has one winner
and no double grant; the audit chain stays whole under writes from both; the login limit is one
limit across both, counted per client behind nginx; the scheduled purge runs once per interval
between every process that schedules it.

Marked `deployment`. Without nginx, PostgreSQL, redis-server or gunicorn it is skipped with the
reason, except in CI (CI=true), where that is a failure: .ci/run installs them. It brings its own
PostgreSQL, so CI runs it once, in the SQLite pass.
"""
from __future__ import annotations

import base64
import http.client
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import order_form
from flask import Flask
from sqlalchemy import select

from portal import create_app, retention
from portal.config import ENV_KEYS
from portal.extensions import db
from portal.models import AuditEvent, Grant, Submission

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ENV_TEMPLATE = DEPLOY / "skyddsportalen.env.example"
VENV_BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                 if p.parent.name.isdigit() else 0)
IN_CI = os.environ.get("CI") == "true"
IS_ROOT = os.geteuid() == 0

PASSWORD = "blå krokodil simmar 7319"
PURGE_INTERVAL = 3.0  # seconds; production's is an hour
LOGIN_LIMIT = 6  # failed logins per address (production: 20 per 10 minutes)
# Settings of the gunicorn side, not the portal's (gunicorn.conf.py reads them).
GUNICORN_KEYS = {"WEB_CONCURRENCY", "GUNICORN_BIND", "FORWARDED_ALLOW_IPS"}

pytestmark = pytest.mark.deployment


def _why_missing() -> str | None:
    if not Path(NGINX).exists():
        return "needs nginx (Debian: apt-get install nginx)"
    if not PG_BINS or not (PG_BINS[-1] / "initdb").exists():
        return "needs PostgreSQL's server (Debian: apt-get install postgresql)"
    if not shutil.which("redis-server"):
        return "needs redis-server (Debian: apt-get install redis-server)"
    if not (VENV_BIN / "gunicorn").exists():
        return "needs gunicorn in the virtualenv (make install)"
    if IS_ROOT:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "runs initdb as the user postgres, which does not exist"
    return None


# --- the environment template: no secret, only known settings (no services needed) -------------


def template_values() -> dict[str, str]:
    """KEY=value lines of the environment template, as systemd's EnvironmentFile= reads them."""
    values: dict[str, str] = {}
    for line in ENV_TEMPLATE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), line
            values[key] = value
    return values


def test_the_environment_template_names_only_settings_the_portal_reads() -> None:
    named = set(template_values())
    named |= set(re.findall(r"^#([A-Z_][A-Z0-9_]*)=", ENV_TEMPLATE.read_text(), re.M))
    assert named - set(ENV_KEYS) - GUNICORN_KEYS == set()
    # Every setting production takes from the environment is in the template, set or commented.
    assert set(ENV_KEYS) - named == set()


def test_the_environment_template_holds_no_secret() -> None:
    values = template_values()
    for key in ("SECRET_KEY", "DATABASE_URL", "FIELD_KEYS", "AUDIT_KEY"):
        assert values[key] == "", f"{key} must be filled in from the secret store, not here"
    assert values["PRODUCTION"] == "1"
    assert values["PROXY_FIX_X_FOR"] == "1"  # deploy/nginx.conf is one hop
    assert values["RATELIMIT_STORAGE_URI"].startswith("redis://")


# --- an HTTP client with cookies by hand ---------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str


@dataclass
class Browser:
    """One user's browser. Cookies are kept by hand: under PRODUCTION=1 the session cookie is
    Secure, which a cookie jar would not send over the test's plain HTTP. `source` is the loopback
    address it connects from (127.0.0.2, …: another client, as nginx sees it)."""

    source: str = "127.0.0.1"
    cookies: dict[str, str] = field(default_factory=dict)
    agent: str = "deployment-test"
    tls: ssl.SSLContext | None = None  # trusts the test's own certificate

    def request(self, method: str, url: str, data: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        parts = urlsplit(url)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port,
                                               timeout=60, source_address=(self.source, 0),
                                               context=self.tls)
        else:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                              timeout=60, source_address=(self.source, 0))
        sent = {"User-Agent": self.agent, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                         body=body, headers=sent)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for cookie in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if not value or "max-age=0" in cookie.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Answer(resp.status, resp.msg, text)

    def get(self, url: str, **kw: Any) -> Answer:
        return self.request("GET", url, **kw)

    def post(self, url: str, data: dict[str, Any], **kw: Any) -> Answer:
        return self.request("POST", url, data=data, **kw)

    def copy(self) -> Browser:
        return Browser(source=self.source, cookies=dict(self.cookies), agent=self.agent,
                       tls=self.tls)


def csrf_token(text: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(browser: Browser, base: str, username: str, password: str = PASSWORD) -> Answer:
    page = browser.get(f"{base}/login")
    assert page.status == 200, page.status
    return browser.post(f"{base}/login", {"csrf_token": csrf_token(page.text),
                                          "username": username, "password": password})


# --- the services ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0,
             processes: list[subprocess.Popen[bytes]] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes or []:
            if proc.poll() is not None:
                raise AssertionError(f"{what}: {proc.args!r} exited with {proc.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {timeout} s")


def healthy(base: str) -> bool:
    return Browser().get(f"{base}/healthz").status == 200


@dataclass
class Deployment:
    a: str  # instance A, directly
    b: str  # instance B, directly
    nginx: str  # both, through nginx
    tls: str  # both, through nginx's TLS block (deploy/nginx.conf, uncommented)
    tls_context: ssl.SSLContext
    folder: Path
    cli: Flask  # the portal as its operator's commands see it (the app role)

    def access_log(self, name: str) -> str:
        return (self.folder / f"{name}-access.log").read_text(encoding="utf-8")


def _run(args: list[str], **kw: Any) -> None:
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr.decode(errors='replace')}"


def _private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA, which the test's client trusts)
    and its key, for nginx's TLS block."""
    from datetime import timedelta
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now().astimezone()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    missing = _why_missing()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but the deployment test cannot run: {missing}")
        pytest.skip(missing)
    folder = Path(tempfile.mkdtemp(prefix="skydd-deploy-"))
    folder.chmod(0o711)  # PostgreSQL's own user reaches its data folder inside
    processes: list[subprocess.Popen[bytes]] = []
    pg_bin = PG_BINS[-1]
    pg_data = folder / "pg"
    pg_data.mkdir()
    as_pg: list[str] = []
    if IS_ROOT:
        shutil.chown(pg_data, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    pg_port = free_port()
    cli: Flask | None = None
    try:
        # PostgreSQL: the owner of the schema and the portal's app role (SECURITY.md).
        _run([*as_pg, str(pg_bin / "initdb"), "-D", str(pg_data), "-A", "trust", "-U", "postgres",
              "-E", "UTF8"])
        _run([*as_pg, str(pg_bin / "pg_ctl"), "-D", str(pg_data), "-w", "-l", str(pg_data / "log"),
              "-o", f"-c listen_addresses=127.0.0.1 -p {pg_port} -k {pg_data} -c fsync=off",
              "start"])
        psql = [str(pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q"]
        _run([*psql, "-c", "CREATE ROLE skydd_owner LOGIN", "-c", "CREATE ROLE skydd_app LOGIN",
              "-c", "CREATE DATABASE skydd OWNER skydd_owner"])
        db_url = f"postgresql://{{}}@127.0.0.1:{pg_port}/skydd"

        redis_port = free_port()
        redis_dir = folder / "redis"
        redis_dir.mkdir()
        processes.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(redis_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        # The instance folder every process shares on this host, with the test's short
        # intervals and limit; the keys come from the environment, as in production.
        instance = folder / "instance"
        instance.mkdir(mode=0o700)
        _private_file(instance / "config.py",
                      f"PURGE_INTERVAL_SECONDS = {PURGE_INTERVAL}\n"
                      "SCHEDULER_TICK_SECONDS = 0.2\n"
                      f'LOGIN_RATE_PER_ADDRESS = "{LOGIN_LIMIT} per 10 minutes"\n'
                      # Anchors written often, by every process, into one file.
                      "AUDIT_ANCHOR_EVERY = 5\n")
        state = folder / "state"
        state.mkdir(mode=0o700)
        secrets_ = {
            "SECRET_KEY": secrets.token_hex(32),
            "FIELD_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "AUDIT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "AUDIT_ANCHOR_PATH": str(state / "audit-anchors.log"),
        }
        env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS and k != "FLASK_APP"}
        env.update(template_values())
        env.update(secrets_)
        env.update({
            "DATABASE_URL": db_url.format("skydd_app"),
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
            "WEB_CONCURRENCY": "2",
            # The template leaves the jobs to the scheduler unit; here every worker schedules
            # too, beside `flask scheduler`: five processes, and still one purge per interval.
            "SCHEDULER_IN_SERVER": "1",
        })
        app_spec = f"portal:create_app(instance_path={str(instance)!r})"
        config = {"SQLALCHEMY_DATABASE_URI": db_url.format("skydd_owner"),
                  **{k: v for k, v in secrets_.items()}}

        # Two instances (deploy/skyddsportalen@.service's command). They open no database
        # connection before their first request, so they start (import, warm WeasyPrint, fork)
        # while the schema is made below.
        ports = {"a": free_port(), "b": free_port()}
        for name, port in ports.items():
            processes.append(subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
                 "-b", f"127.0.0.1:{port}",
                 "--access-logfile", str(folder / f"{name}-access.log"),
                 "--error-logfile", str(folder / f"{name}-error.log"), app_spec],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))

        # The operator's steps: migrations as the owner, then the roles file, then units and
        # users through the commands (as the app role).
        owner = create_app(config, instance_path=str(instance))
        result = owner.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        with owner.app_context():
            db.engine.dispose()
        _run([*psql, "-d", "skydd", "-v", "app_role=skydd_app", "-v", "owner=skydd_owner",
              "-f", str(DEPLOY / "postgres-roles.sql")])
        cli = create_app({**config, "SQLALCHEMY_DATABASE_URI": db_url.format("skydd_app")},
                         instance_path=str(instance))
        runner = cli.test_cli_runner()
        for args in (["units", "create", "Myndighet Centrum", "--type", "myndighet",
                      "--district", "Centrum"],
                     ["units", "create", "LVS Myndighet", "--type", "myndighet",
                      "--district", "Centrum"],
                     ["users", "create", "manager", "--full-name", "Eva Enhetschef",
                      "--email", "manager@goteborg.se", "--unit", "Myndighet Centrum",
                      "--role", "unit_manager", "--password-stdin"],
                     ["users", "create", "lvs", "--full-name", "Lena LVS", "--email",
                      "lvs@goteborg.se", "--unit", "LVS Myndighet", "--role", "lvs",
                      "--password-stdin"]):
            result = runner.invoke(args=args, input=PASSWORD + "\n")
            assert result.exit_code == 0, result.output

        # The scheduler unit's command, once the schema is there.
        with open(folder / "scheduler.log", "wb") as log:
            processes.append(subprocess.Popen(
                [str(VENV_BIN / "flask"), "--app", app_spec, "scheduler"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

        # nginx with deploy/nginx.conf: only the ports, the listen address and the log change.
        nginx_dir = folder / "nginx"
        nginx_dir.mkdir()
        nginx_port = free_port()
        site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
        for old, new in (("server 127.0.0.1:8001 ", f"server 127.0.0.1:{ports['a']} "),
                         ("server 127.0.0.1:8002 ", f"server 127.0.0.1:{ports['b']} "),
                         ("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{nginx_port};"),
                         ("/var/log/nginx/skyddsportalen.access.log",
                          str(folder / "nginx-access.log"))):
            # The marked lines once each; the log's path in every server block.
            assert site.count(old) == 1 or old.startswith("/var/log/") and site.count(old) > 0, (
                f"deploy/nginx.conf: expected one {old!r}")
            site = site.replace(old, new)
        # Production's TLS block, uncommented, on a port of its own with a certificate made
        # here; the redirect from port 80 is left out.
        tls_port = free_port()
        cert, key = self_signed(nginx_dir)
        block = re.search(r"^# server \{\n(?:#.*\n)*?# \}\n", site, re.M)
        assert block and "listen 443 ssl" in block.group(0), "deploy/nginx.conf: no TLS block"
        tls_block = re.sub(r"^# ?", "", block.group(0), flags=re.M)
        for old, new in (("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{tls_port} ssl http2;\n"),
                         ("    listen [::]:443 ssl http2;\n", ""),
                         ("/etc/ssl/certs/skyddsportalen.pem", str(cert)),
                         ("/etc/ssl/private/skyddsportalen.key", str(key))):
            assert tls_block.count(old) == 1, f"deploy/nginx.conf's TLS block: no {old!r}"
            tls_block = tls_block.replace(old, new)
        site += tls_block
        (nginx_dir / "site.conf").write_text(site, encoding="utf-8")
        temp = "\n".join(f"    {kind}_temp_path {nginx_dir / kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (nginx_dir / "nginx.conf").write_text(
            ("user root;\n" if IS_ROOT else "")
            + f"pid {nginx_dir / 'nginx.pid'};\n"
            f"error_log {folder / 'nginx-error.log'};\n"
            "worker_processes 1;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"{temp}\n"
            f"    include {nginx_dir / 'site.conf'};\n"
            "}\n", encoding="utf-8")
        nginx_cmd = [NGINX, "-p", str(nginx_dir), "-e", str(folder / "nginx-error.log"),
                     "-c", str(nginx_dir / "nginx.conf")]
        _run([*nginx_cmd, "-t"])
        processes.append(subprocess.Popen([*nginx_cmd, "-g", "daemon off;"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        a, b = (f"http://127.0.0.1:{ports[n]}" for n in ("a", "b"))
        front = f"http://127.0.0.1:{nginx_port}"
        for base in (a, b, front):
            wait_for(lambda base=base: healthy(base), base, processes=processes)
        yield Deployment(a=a, b=b, nginx=front, tls=f"https://127.0.0.1:{tls_port}",
                         tls_context=ssl.create_default_context(cafile=str(cert)),
                         folder=folder, cli=cli)
    finally:
        if cli is not None:
            with cli.app_context():
                db.session.remove()
                db.engine.dispose()
        for proc in reversed(processes):
            if proc.poll() is None:
                # gunicorn: SIGINT is its quick shutdown; redis and nginx stop on it too.
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 3
        for proc in processes:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # gunicorn's master and its workers, the scheduler: a process group of their
                # own (start_new_session), ended together.
                if os.getpgid(proc.pid) == proc.pid:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
                proc.wait(5)
        subprocess.run([*as_pg, str(pg_bin / "pg_ctl"), "-D", str(pg_data), "-m", "immediate",
                        "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def events(dep: Deployment, *where: Any) -> list[AuditEvent]:
    with dep.cli.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(*where).order_by(AuditEvent.seq)))
        db.session.remove()
        return rows


def together(*calls: Callable[[], Answer]) -> list[Answer]:
    """Run the calls at the same moment, each in a thread of its own; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Answer | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(i: int, call: Callable[[], Answer]) -> None:
        barrier.wait()
        try:
            answers[i] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [a for a in answers if isinstance(a, Answer)]


# --- the tests -----------------------------------------------------------------------------------


def test_a_session_made_through_one_instance_works_through_the_other(
        deployment: Deployment) -> None:
    dep = deployment
    user = Browser()
    assert log_in(user, dep.a, "manager").status == 303
    for base in (dep.b, dep.nginx, dep.nginx):  # nginx: both instances in turn
        page = user.get(f"{base}/")
        assert page.status == 200 and "Eva Enhetschef" in page.text, (base, page.status)
    # Logged out through B: the cookie kept from before is dead on A too (the session version
    # lives in the shared database).
    before = user.copy()
    out = user.post(f"{dep.b}/logout", {"csrf_token": csrf_token(user.get(f"{dep.b}/").text)})
    assert out.status == 303
    stale = before.get(f"{dep.a}/")
    assert stale.status == 302 and "/login" in stale.headers["Location"]


def same_origin_referer(policy: str, page: str) -> str | None:
    """What a browser sends as Referer with a same-origin POST from `page`, by the page's
    Referrer-Policy (W3C Referrer Policy): nothing, the origin, or the page's address."""
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(page))
    return {"no-referrer": None, "origin": origin, "strict-origin": origin}.get(policy, page)


def test_forms_work_through_nginx_with_tls_terminated_there(deployment: Deployment) -> None:
    """deploy/nginx.conf's TLS block: nginx tells the portal the request came over HTTPS
    (X-Forwarded-Proto, which gunicorn trusts from loopback), so that the portal's own links (the
    sign-in's redirect address) say https. Flask-WTF then also wants every POST to come with a
    Referer of the portal's own origin, and a browser sends one only where the Referrer-Policy
    lets it: under `no-referrer` every form, the login first, failed (400) behind TLS."""
    dep = deployment
    user = Browser(tls=dep.tls_context)
    page = user.get(f"{dep.tls}/login")
    assert page.status == 200
    referer = same_origin_referer(page.headers["Referrer-Policy"], f"{dep.tls}/login")
    resp = user.post(f"{dep.tls}/login", {"csrf_token": csrf_token(page.text),
                                          "username": "manager", "password": PASSWORD},
                     headers={"Referer": referer} if referer else {})
    assert resp.status == 303, resp.text[:500]
    start = user.get(f"{dep.tls}/")
    assert start.status == 200 and "Eva Enhetschef" in start.text
    assert "max-age=" in start.headers["Strict-Transport-Security"]
    # A POST from another site (a Referer of another origin) is refused: the portal took the
    # request as HTTPS (Flask-WTF checks the Referer only then), as the sign-in's addresses need.
    forged = user.post(f"{dep.tls}/logout", {"csrf_token": csrf_token(start.text)},
                       headers={"Referer": "https://elsewhere.example/"})
    assert forged.status == 400
    assert user.get(f"{dep.tls}/").status == 200  # still logged in


def test_one_order_marked_done_through_both_instances_at_once_has_one_winner(
        deployment: Deployment) -> None:
    dep = deployment
    manager, lvs = Browser(), Browser()
    assert log_in(manager, dep.nginx, "manager").status == 303
    assert log_in(lvs, dep.nginx, "lvs").status == 303
    for n in range(3):  # three races: the two requests overlap differently each time
        form = order_form(case_number=f"07{n:05d}", **{"persons-0-username": f"anna{n:02d}"})
        page = manager.get(f"{dep.nginx}/forms/access-order")
        sent = manager.post(f"{dep.nginx}/forms/access-order",
                            {**form, "csrf_token": csrf_token(page.text)})
        assert sent.status == 303, sent.text[:2000]
        public_id = sent.headers["Location"].rsplit("/", 1)[1]
        shown = lvs.get(f"{dep.nginx}/submissions/{public_id}")
        assert shown.status == 200
        version = re.search(r'name="version" value="(\d+)"', shown.text)
        assert version, "no done form for LVS"
        done = {"csrf_token": csrf_token(shown.text), "version": version.group(1),
                "checks": ["others_with_access", "other_administration", "linked_persons"]}
        answers = together(
            partial(lvs.copy().post, f"{dep.a}/lvs/submissions/{public_id}/done", done),
            partial(lvs.copy().post, f"{dep.b}/lvs/submissions/{public_id}/done", done))
        assert sorted(a.status for a in answers) == [303, 409], [a.status for a in answers]
        with dep.cli.app_context():
            sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
            assert sub is not None and sub.status == "done"
            grants = db.session.scalars(select(Grant).where(Grant.order_id == sub.id)).all()
            assert [g.username for g in grants] == [f"anna{n:02d}"]
            db.session.remove()
        processed = events(dep, AuditEvent.action == "submission_processed",
                           AuditEvent.object_id == public_id)
        assert len(processed) == 1


def test_the_audit_chain_stays_whole_under_writes_from_both_instances(
        deployment: Deployment) -> None:
    dep = deployment
    manager = Browser()
    assert log_in(manager, dep.a, "manager").status == 303
    # Every event but the scheduled purge's, which runs beside the requests.
    before = len(events(dep, AuditEvent.action != "purge"))

    def refused(base: str) -> Callable[[], Answer]:
        def run() -> Answer:
            statuses = {manager.copy().get(f"{base}/lvs/queue").status for _ in range(6)}
            assert statuses == {403}, statuses
            return Answer(403, http.client.HTTPMessage(), "")
        return run

    together(refused(dep.a), refused(dep.b), refused(dep.a), refused(dep.b))
    denied = events(dep, AuditEvent.action == "access_denied")
    assert len(denied) == 24  # not one event lost
    assert len(events(dep, AuditEvent.action != "purge")) == before + 24
    result = dep.cli.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "Granskningsloggen är hel" in result.output
    assert "ankare stämmer" in result.output  # anchors from both instances, in one file


def test_the_login_limit_is_one_limit_across_instances_per_client_behind_nginx(
        deployment: Deployment) -> None:
    dep = deployment

    def posts_to_login() -> list[int]:
        return [sum(1 for line in dep.access_log(n).splitlines() if '"POST /login ' in line)
                for n in ("a", "b")]

    guesser = Browser(source="127.0.0.2")
    token = csrf_token(guesser.get(f"{dep.nginx}/login").text)
    start = posts_to_login()
    statuses = []
    for n in range(LOGIN_LIMIT + 1):
        statuses.append(guesser.post(f"{dep.nginx}/login", {
            "csrf_token": token, "username": f"gissning{n}", "password": "fel lösenord 12345"}
        ).status)
    assert statuses == [422] * LOGIN_LIMIT + [429]
    # nginx spread the guesses over both instances, and they counted them as one.
    def spread() -> list[int]:
        return [now - then for now, then in zip(posts_to_login(), start, strict=True)]

    # gunicorn writes an access log line once its answer is sent: wait for the last one.
    wait_for(lambda: sum(spread()) == LOGIN_LIMIT + 1, "the access logs", timeout=5)
    assert all(n >= 2 for n in spread()), spread()
    # Naming another address in X-Forwarded-For does not help: nginx appends the real one, and
    # the portal reads only that (PROXY_FIX_X_FOR=1).
    spoofed = guesser.post(f"{dep.nginx}/login", {
        "csrf_token": token, "username": "gissning", "password": "fel lösenord 12345"},
        headers={"X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status == 429
    # Another client behind the same nginx is not limited by the guesser.
    other = Browser(source="127.0.0.3")
    assert log_in(other, dep.nginx, "manager", "fel lösenord 12345").status == 422
    assert log_in(other, dep.nginx, "manager").status == 303
    failed = events(dep, AuditEvent.action == "login_failed")
    addresses = {e.remote_addr for e in failed if e.username is None}
    assert addresses == {"127.0.0.2"}, addresses  # the client's own address, never nginx's
    assert not [e for e in events(dep) if e.remote_addr == "198.51.100.7"]


def test_the_scheduled_purge_runs_once_per_interval_between_every_process(
        deployment: Deployment) -> None:
    """Four gunicorn workers and `flask scheduler` all schedule the purge; each run is whole
    (every rule, in order) and starts an interval after the last one ended."""
    dep = deployment
    rules = list(retention.RULES)

    def runs() -> list[list[AuditEvent]]:
        found: list[list[AuditEvent]] = []
        for event in events(dep, AuditEvent.action == "purge"):
            if event.object_id == rules[0] or not found:
                found.append([])
            found[-1].append(event)
        return found

    deadline = time.monotonic() + 4 * PURGE_INTERVAL + 10
    while len(runs()) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    done = runs()
    assert len(done) >= 3, f"{len(done)} purge runs"
    *whole, last = done
    for run in whole:
        assert [e.object_id for e in run] == rules
    assert [e.object_id for e in last] == rules[: len(last)]

    def at(event: AuditEvent) -> datetime:
        return event.created_at

    for previous, run in zip(done, done[1:], strict=False):
        gap = (at(run[0]) - at(previous[-1])).total_seconds()
        assert gap >= PURGE_INTERVAL - 0.05, f"a purge ran {gap:.2f} s after the last one"


def test_no_process_logged_an_error(deployment: Deployment) -> None:
    """Everything above happened without a traceback in any instance's or the scheduler's log
    (a lost race shows as its page, "Redan hanterad", never as an error)."""
    for name in ("a-error.log", "b-error.log", "scheduler.log", "nginx-error.log"):
        text = (deployment.folder / name).read_text(encoding="utf-8", errors="replace")
        bad = [line for line in text.splitlines()
               if "Traceback" in line or " ERROR " in line or "[error]" in line
               or "[crit]" in line or "[emerg]" in line]
        assert not bad, (name, bad[:5])
