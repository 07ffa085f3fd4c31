"""Target 8: a form page's server time ÷ the same page rendered by Jinja alone.

The numerator is the whole WSGI application answering ``GET /forms/<slug>`` for a logged-in user
(called directly with a prepared environ, so no client or socket is timed): the session cookie,
the user's query, the form built and prefilled, the template, the one commit, the security
headers, the access log line. The floor is the same template rendered by ``render_template`` with
the same form and context, in a request context pushed once per round, so the request machinery is
not in it: the template name and the form come the way the page gets them (``kind.page_template``,
``kind.new_form(user, day)``, ``error_summary(form)``; portal/forms/base.py), and any other name
the view hands its template is taken from the view's own render (``template_rendered``). Before
timing, the floor's HTML is checked to be the served page byte for byte (CSRF tokens masked): the
two arms render the same page. The difference is the portal's own per-request work.

Server requests and floor renders alternate in rounds, after a warm-up; medians.
"""
from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable
from typing import Any

from bench._common import (
    emit,
    login_test_client,
    make_app,
    median,
    migrate_and_seed,
    ms,
    say,
    throwaway_dir,
)

ROUNDS = int(os.environ.get("BENCH_PAGE_ROUNDS", "20"))
PER_ROUND = 5
WARMUP = 5
# (slug, who fills it in): the page the load tests use, and the largest form.
PAGES = (("access-order", "manager1"), ("checklist", "secretary"))
TOKEN = re.compile(rb'(name="csrf_token"[^>]*?value=")[^"]+(")')


def masked(html: bytes) -> bytes:
    """The page with its CSRF tokens (a fresh signature per request) blanked out."""
    return TOKEN.sub(rb"\1-\2", html)


def server(app: Any, path: str, cookie: str) -> Callable[[], bytes]:
    """One GET of `path` through the whole WSGI app, as gunicorn calls it; the body."""
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=path, base_url="http://localhost",
                             headers={"Cookie": cookie})
    base = builder.get_environ()
    builder.close()

    def call() -> bytes:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(b"")
        status: list[str] = []

        def start_response(s: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(s)
            return lambda data: None

        body = app(environ, start_response)
        try:
            out = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        assert status and status[0].startswith("200"), status
        return out

    return call


def view_context(app: Any, call: Callable[[], bytes], template: str) -> dict[str, Any]:
    """What the view itself handed `template` (its render's context without what the context
    processors add): the names beyond the kind, the form and the errors are reused as they are."""
    from flask import template_rendered

    seen: list[dict[str, Any]] = []

    def spy(sender: Any, template: Any, context: dict[str, Any], **extra: Any) -> None:
        seen.append((template.name, dict(context)))

    with template_rendered.connected_to(spy, app):
        call()
    found = [c for name, c in seen if name == template]
    assert found, f"the page did not render {template} (rendered: {[n for n, _ in seen]})"
    with app.test_request_context("/"):
        injected: dict[str, Any] = {}
        app.update_template_context(injected)
    return {k: v for k, v in found[0].items() if k not in injected}


class Floor:
    """The same page by Jinja alone: a request context pushed for a round (its session the
    user's cookie), the form made the way the page makes it, then only ``render_template``."""

    def __init__(self, app: Any, path: str, cookie: str, slug: str, view: dict[str, Any]):
        self.app, self.path, self.cookie, self.slug, self.view = app, path, cookie, slug, view

    def context(self) -> tuple[str, dict[str, Any]]:
        from flask_login import current_user

        from portal.clock import today
        from portal.forms import FORMS
        from portal.forms.base import error_summary

        kind = FORMS[self.slug]
        user = current_user._get_current_object()
        form = kind.new_form(user, today())
        ctx = {**self.view, "kind": kind, "form": form, "errors": error_summary(form)}
        return kind.page_template, ctx

    def round(self, n: int) -> tuple[list[float], bytes]:
        from flask import render_template

        times = []
        with self.app.test_request_context(self.path, headers={"Cookie": self.cookie}):
            template, ctx = self.context()
            html = render_template(template, **ctx)  # loads the user once: not timed
            for _ in range(n):
                t0 = time.perf_counter()
                render_template(template, **ctx)
                times.append(time.perf_counter() - t0)
        return times, html.encode()


def page_ratio(app: Any, slug: str, username: str) -> None:
    from portal.forms import FORMS

    client = login_test_client(app, username)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookie = f"{cookie_name}={client.get_cookie(cookie_name).value}"
    path = f"/forms/{slug}"
    get = server(app, path, cookie)
    view = view_context(app, get, FORMS[slug].page_template)
    view = {k: v for k, v in view.items() if k not in ("kind", "spec", "form", "errors")}
    floor = Floor(app, path, cookie, slug, view)

    served = get()
    _, rendered = floor.round(0)
    if masked(served) != masked(rendered):
        a, b = masked(served), masked(rendered)
        at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                  min(len(a), len(b)))
        raise AssertionError(f"{path}: Jinja alone renders another page than the server, "
                             f"from byte {at}: {a[at - 80:at + 80]!r} vs {b[at - 80:at + 80]!r}")
    for _ in range(WARMUP):
        get()
    floor.round(WARMUP)
    portal_t: list[float] = []
    floor_t: list[float] = []
    for _ in range(ROUNDS):  # alternate, so drift and neighbours' load hit both arms alike
        for _ in range(PER_ROUND):
            t0 = time.perf_counter()
            get()
            portal_t.append(time.perf_counter() - t0)
        floor_t += floor.round(PER_ROUND)[0]
    p, f = median(portal_t), median(floor_t)
    say(f"{path}: server {ms(p):.2f} ms, Jinja alone {ms(f):.2f} ms "
        f"({len(served) // 1024} KiB page, medians of {len(portal_t)})")
    emit(f"Form page {path}: server time ÷ Jinja alone", p / f, 1.5, ".2f", "×",
         note=f"server {ms(p):.2f} ms vs Jinja {ms(f):.2f} ms, same template, form and "
              f"context; medians of {len(portal_t)}; SQLite")


def main() -> None:
    with throwaway_dir() as tmp:
        app = make_app(f"sqlite:///{tmp / 'portal.db'}", tmp / "instance")
        migrate_and_seed(app)
        for slug, username in PAGES:
            page_ratio(app, slug, username)


if __name__ == "__main__":
    main()
