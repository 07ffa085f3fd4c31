"""Security headers on every response (ASVS V14.4): every route of the table in
test_routes_by_role, as every role, carries a Content-Security-Policy without 'unsafe-inline'
(default-src 'self', frame-ancestors 'none', form-action 'self'), nosniff, no referrer, a
Permissions-Policy, HSTS only in production, and Cache-Control: no-store (every page and file may
show protected content). The CSP can stay strict because no template or static file holds an
inline script, an event-handler attribute or a style attribute; a test scans them, and every
rendered page."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from test_routes_by_role import (  # noqa: F401 (fixtures)
    CASES,
    Portal,
    check_status,
    portal,
)

from portal import ROOT

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"


def csp_directives(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def assert_security_headers(resp: Any, production: bool = False) -> None:
    h = resp.headers
    csp = csp_directives(h.get("Content-Security-Policy", ""))
    assert csp.get("default-src") == ["'self'"], csp
    assert csp.get("frame-ancestors") == ["'none'"], csp
    assert csp.get("form-action") == ["'self'"], csp
    assert csp.get("object-src") == ["'none'"], csp
    assert csp.get("base-uri") in (["'none'"], ["'self'"]), csp
    for directive in ("script-src", "style-src"):  # if set, no looser than default-src
        assert csp.get(directive, ["'self'"]) == ["'self'"], csp
    for values in csp.values():
        for value in values:
            assert value.lower() not in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:",
                                         "https:", "'unsafe-hashes'"), csp
    assert h.get("X-Content-Type-Options") == "nosniff"
    # Never to another site; to the portal itself, as Flask-WTF's HTTPS check needs
    # (tests/test_deployment.py::test_forms_work_through_nginx_with_tls_terminated_there).
    assert h.get("Referrer-Policy") == "same-origin"
    policy = h.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy, policy
    assert h.get("X-Frame-Options") == "DENY"
    if production:
        hsts = h.get("Strict-Transport-Security", "")
        age = re.search(r"max-age=(\d+)", hsts)
        assert age and int(age.group(1)) >= 31536000, hsts
        assert "includesubdomains" in hsts.lower()
    else:
        assert "Strict-Transport-Security" not in h


def assert_not_cached(resp: Any) -> None:
    assert "no-store" in resp.headers.get("Cache-Control", ""), resp.headers


# --- inline script and style: in the files, and in what is rendered --------------------------

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
TAG = re.compile(r"<([a-zA-Z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
HANDLER = re.compile(r"(?:^|\s)on[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"(?:^|\s)style\s*=", re.I)


def inline_code(text: str) -> list[str]:
    """What a strict CSP would block (or what needs 'unsafe-inline'): script bodies, scripts
    without src, on*= handlers, style= attributes, <style> elements, javascript: URLs."""
    text = JINJA_COMMENT.sub("", text)
    found = []
    for attrs, body in SCRIPT.findall(text):
        if body.strip() or "src=" not in attrs:
            found.append(f"<script{attrs}>{body.strip()[:40]}")
    for name, attrs in TAG.findall(text):
        if name.lower() == "style":
            found.append("<style>")
        if HANDLER.search(attrs):
            found.append(f"<{name}{attrs[:60]}> (on…= handler)")
        if STYLE_ATTR.search(attrs):
            found.append(f"<{name}{attrs[:60]}> (style attribute)")
        if "javascript:" in attrs.lower():
            found.append(f"<{name}{attrs[:60]}> (javascript: URL)")
    return found


def browser_files() -> list[Path]:
    """Everything a browser may render: the page templates and static files that are markup."""
    files = sorted(TEMPLATES.rglob("*.html"))
    files += sorted(p for p in STATIC.rglob("*") if p.suffix.lower() in (".html", ".htm", ".svg"))
    return files


def test_the_scan_finds_what_it_looks_for() -> None:
    bad = ('<script>alert(1)</script>', '<script src="/static/js/portal.js"> x() </script>',
           '<script nonce="a"></script>', '<button onclick="go()">', '<p style="color:red">',
           '<style>p{}</style>', '<a href="javascript:alert(1)">', '<img src=x onerror=alert(1)>',
           '<div\n  class="x"\n  onmouseover = "y">')
    for snippet in bad:
        assert inline_code(snippet), snippet
    good = ('<script src="{{ url_for(\'static\', filename=\'js/portal.js\') }}" defer></script>',
            '<button data-copy-target="message-text">', '<p class="hint">one=two</p>',
            '{# <p style="x"> in a comment #}', '<input name="online" value="on">')
    for snippet in good:
        assert not inline_code(snippet), snippet


def test_no_template_or_static_file_has_inline_script_or_style() -> None:
    files = browser_files()
    assert TEMPLATES / "base.html" in files
    found = {str(p.relative_to(ROOT)): inline_code(p.read_text(encoding="utf-8")) for p in files}
    assert not {k: v for k, v in found.items() if v}


def test_render_kw_of_every_field_adds_no_handler_or_style(app: Flask) -> None:
    """Attributes that come from Python rather than a template (WTForms render_kw)."""
    from test_input import all_forms, fields_of

    for name, form_class in all_forms().items():
        for f in fields_of(app, form_class):
            with app.test_request_context():
                rendered = str(f())
            assert not inline_code(rendered), (name, f.name, rendered)


# --- every route, every role ----------------------------------------------------------------


@pytest.mark.parametrize("method, path, role, expected, data", CASES)
def test_headers_by_route_and_role(portal: Portal, method: str, path: str, role: str,
                                   expected: Any, data: dict[str, str] | None) -> None:
    resp = portal.request(method, path, role, data)
    check_status(resp, expected)  # the response is the one the table means
    assert_security_headers(resp)
    assert_not_cached(resp)
    if resp.mimetype == "text/html" and resp.status_code != 302:
        assert not inline_code(resp.get_data(as_text=True))


def test_error_responses_carry_the_headers_too(portal: Portal) -> None:
    client = portal.client("manager")
    responses = [
        client.get("/logout"),  # 405
        client.post("/forms/access-order", data={"justification": "x" * (7 * 1024 * 1024)}),
        client.get("/no-such-page"),
    ]
    assert [r.status_code for r in responses] == [405, 413, 404]
    responses.append(client.post("/forms/access-order", data={}, csrf=False))
    assert responses[-1].status_code == 400
    for resp in responses:
        assert_security_headers(resp)
        assert_not_cached(resp)


def test_static_files_carry_the_headers(portal: Portal) -> None:
    for path, mimetype in (("/static/css/portal.css", "text/css"),
                           ("/static/js/portal.js", "text/javascript")):
        resp = portal.client("anonymous").get(path)
        assert resp.status_code == 200
        assert resp.mimetype == mimetype
        assert_security_headers(resp)
        resp.close()


# --- production: HSTS -------------------------------------------------------------------------


@pytest.fixture
def production(app: Flask) -> Iterator[Flask]:
    app.config.update(PRODUCTION=True, SESSION_COOKIE_SECURE=True)
    yield app


def test_hsts_only_in_production(production: Flask) -> None:
    from conftest import PASSWORD

    client = production.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # behind the TLS proxy
    anonymous = [client.get("/login"), client.get("/healthz"), client.get("/"),
                 client.get("/no-such-page")]
    assert [r.status_code for r in anonymous] == [200, 200, 302, 404]
    resp = client.post("/login", data={"username": "lvs", "password": PASSWORD})
    assert resp.status_code == 303
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("skydd_session="))
    assert "secure" in [a.strip().lower() for a in cookie.split(";")]
    pages = [client.get("/"), client.get("/lvs/queue"), client.get("/blank/deviation.pdf"),
             client.get("/submissions/no-such-id-00000000"), client.get("/audit")]
    assert [r.status_code for r in pages] == [200, 200, 200, 404, 403]
    for r in [*anonymous, resp, *pages]:
        assert_security_headers(r, production=True)
        assert_not_cached(r)
