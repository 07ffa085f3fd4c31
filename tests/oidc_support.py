"""The city's identity provider for the SSO tests (issue 15, part O): the npm package
`oidc-provider`, pinned in tests/oidc/package-lock.json, installed with `npm ci` into a cache
folder outside the work tree, run by Debian's Node.js on a free loopback port (18200 and up), with
tests/oidc/provider.js. Without node or npm, or when the install fails, the tests skip with the
reason, except in CI (CI=true), where that is an error: CI installs nodejs and npm and must run them.

`python tests/oidc_support.py` installs the package only (.ci/run does it before the suite)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest

HERE = Path(__file__).resolve().parent / "oidc"
NODE = shutil.which("node") or shutil.which("nodejs")
NPM = shutil.which("npm")
IN_CI = os.environ.get("CI") == "true"
CLIENT_ID = "skyddsportalen-test"
CLIENT_SECRET = "test-only-client-secret-" + "x" * 16
# The Flask test client's address (SERVER_NAME localhost): the HTTP tests' callback.
TEST_CLIENT_BASE = "http://localhost"


def cache_dir() -> Path:
    """Where `npm ci` installs: one folder per lock file's content, reused while it is the same."""
    lock = (HERE / "package-lock.json").read_bytes() + (HERE / "package.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()[:16]
    root = Path(os.environ.get("SKYDD_OIDC_CACHE")
                or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                / "skyddsportalen-oidc")
    return root / digest


def install() -> Path:
    """`npm ci` (exactly the lock file) into the cache folder, once; returns the folder."""
    if NODE is None or NPM is None:
        raise RuntimeError("Node.js and npm are not installed (apt-get install nodejs npm)")
    target = cache_dir()
    if (target / "node_modules" / "oidc-provider" / "package.json").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HERE / name, target / name)
    done = subprocess.run(  # noqa: S603 - fixed arguments, npm from PATH
        [NPM, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=target, capture_output=True, text=True, timeout=600, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci failed in {target}: {done.stderr[-2000:]}")
    return target


def _why_missing() -> str | None:
    if NODE is None:
        return "Node.js is not installed (apt-get install nodejs npm)"
    if NPM is None:
        return "npm is not installed (apt-get install npm)"
    return None


MISSING = _why_missing()
if MISSING and IN_CI:
    raise RuntimeError(f"SSO tests cannot run in CI: {MISSING}")

needs_node = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def free_port(start: int) -> int:
    """The first port from `start` on that nobody listens on (loopback)."""
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {start}")


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    #: The port the browser test's live server must use (registered as a redirect URI).
    browser_port: int

    def portal_config(self) -> dict[str, object]:
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": self.client_id,
                "OIDC_CLIENT_SECRET": self.client_secret}


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    """The provider, started once for the session and stopped after it."""
    try:
        folder = install()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if IN_CI:
            raise
        pytest.skip(f"the OpenID provider could not be installed: {exc}")
    shutil.copy(HERE / "provider.js", folder / "provider.js")
    port = free_port(18200)
    browser_port = free_port(port + 1)
    bases = [TEST_CLIENT_BASE, f"http://127.0.0.1:{browser_port}"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(f"{b}/login/sso/callback" for b in bases),
        "OIDC_POST_LOGOUT_REDIRECT_URIS": ",".join(f"{b}/login" for b in bases),
    }
    log = (folder / "provider.log").open("w")
    proc = subprocess.Popen(  # noqa: S603 - node from PATH, our script
        [str(NODE), "provider.js"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while "ready " not in (folder / "provider.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenID provider did not start: "
                                   + (folder / "provider.log").read_text()[-2000:])
            time.sleep(0.05)
        yield Provider(f"http://127.0.0.1:{port}", CLIENT_ID, CLIENT_SECRET, browser_port)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# --- the browser's side, with requests ------------------------------------------------------------

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def provider_login(authorize_url: str, login: str, callback_base: str = TEST_CLIENT_BASE,
                   session: object | None = None) -> str:
    """Go to the provider's authorization URL as a browser would, sign in as `login` in its
    development form (any password), and return the URL it sends the browser back to."""
    import requests

    http = session if isinstance(session, requests.Session) else requests.Session()
    url = authorize_url
    for _ in range(10):
        resp = http.get(url, allow_redirects=False, timeout=10)
        if resp.status_code in (302, 303):
            url = urljoin(url, resp.headers["Location"])
            if url.startswith(callback_base):
                return url
            continue
        assert resp.status_code == 200, (resp.status_code, resp.text[:2000])
        match = FORM_ACTION.search(resp.text)
        assert match, resp.text[:2000]
        resp = http.post(urljoin(url, match.group(1)),
                         data={"prompt": "login", "login": login, "password": "x"},
                         allow_redirects=False, timeout=10)
        assert resp.status_code in (302, 303), (resp.status_code, resp.text[:2000])
        url = urljoin(url, resp.headers["Location"])
        if url.startswith(callback_base):
            return url
    raise AssertionError(f"the provider never sent the browser back (last: {url})")


if __name__ == "__main__":
    try:
        print(f"oidc-provider installed in {install()}")
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
