"""Target 3: HTTP under load, gunicorn with the production settings on 127.0.0.1.

(a) Saturation (INFO, no target): closed loop, a fixed number of connections, requests/s for the
    access-order page GET and the valid access-order POST, each divided by what a bare Flask app
    (bench/bare_app.py) on the same gunicorn settings does for the same final HTML / the same 303
    in the same run. Portal and bare arms alternate in short rounds.
(b) Open loop: 50 requests/s for 60 s, each sent at its planned time whatever the server does
    (70 % page GETs, 25 % valid POSTs, 5 % PDFs); latency counts from the planned time, so a slow
    server cannot slow the client down and hide its queue. The PDFs' p95 against a PDF alone is
    INFO: on two cores a PDF queues behind its neighbours (bench/README.md).

gunicorn runs with production's workers, so with production's shared limiter store: a throwaway
redis-server (more than one worker refuses memory://, issue 11 M6).

Logged-in users: eight unit managers, each with a session from /login and a CSRF token from the
form page. The production session cookie is Secure, so the client keeps it itself and sends it
back in a Cookie header (the load runs over plain HTTP on loopback). The client is bench/_rawhttp.py
(asyncio streams, a connection per request as gunicorn's sync workers close it anyway): httpx's
pool grew dearer with every request in flight and, once the server backed up, the client measured
itself. Requests still unanswered 30 s after the last was sent count as errors.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench._common import (
    PASSWORD,
    access_order_form,
    csrf_token,
    emit,
    make_app,
    median,
    migrate_and_seed,
    ms,
    percentile,
    pg_available,
    pg_drop,
    pg_recreate,
    pg_url,
    production_env,
    say,
    shared_limiter_store,
    start_gunicorn,
    stop,
    throwaway_dir,
)
from bench._rawhttp import ERRORS, RawClient, Response

CONNECTIONS = int(os.environ.get("BENCH_HTTP_CONNECTIONS", "8"))
ROUNDS = 2
ROUND_SECONDS = float(os.environ.get("BENCH_HTTP_ROUND_SECONDS", "4"))
RATE = 50.0
OPEN_SECONDS = float(os.environ.get("BENCH_OPEN_SECONDS", "60"))
MIX = (("page", 0.70), ("post", 0.25), ("pdf", 0.05))
SESSIONS = 8
# Which parts to run: "saturation", "open" or both (the default), e.g. while working on one.
PARTS = os.environ.get("BENCH_HTTP_PARTS", "saturation,open").split(",")
PG_HTTP = pg_url().rsplit("/", 1)[0] + "/skydd_bench_http"


def session_cookie(resp: Response, old: str | None = None) -> str | None:
    for header in resp.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == "skydd_session":
            return "skydd_session=" + rest.split(";", 1)[0]
    return old


@dataclass
class Session:
    cookie: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie}


async def log_in(client: RawClient, base: str, username: str) -> Session:
    r = await client.get(base + "/login")
    cookie = session_cookie(r)
    assert cookie, "no session cookie from /login"
    r = await client.post(base + "/login", headers={"Cookie": cookie}, data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_token(r.text)})
    assert r.status_code == 303, f"login {username}: {r.status_code}"
    cookie = session_cookie(r, cookie)
    r = await client.get(base + "/forms/access-order", headers={"Cookie": cookie})
    assert r.status_code == 200, r.status_code
    return Session(session_cookie(r, cookie) or cookie, csrf_token(r.text))


@dataclass
class Load:
    """What one kind of request is and what a correct answer looks like.

    Every POST orders access to a case of its own: the person limit counts a case's pending
    orders (SPEC §3.1, issue 11 M1), and thousands of orders of one case waiting for LVS would
    measure a case no unit has, each POST reading all of them."""

    base: str
    sessions: list[Session]
    pdf_path: str = ""
    form: dict[str, str] = field(default_factory=lambda: access_order_form(rows=1))
    cases: Iterator[int] = field(default_factory=lambda: itertools.count(1_000_001, 7919))

    async def send(self, client: RawClient, kind: str, i: int) -> bool:
        s = self.sessions[i % len(self.sessions)]
        if kind == "page":
            r = await client.get(self.base + "/forms/access-order", headers=s.headers)
            return r.status_code == 200 and b"</html>" in r.content
        if kind == "post":
            case = f"{next(self.cases) % 10_000_000:07d}"
            r = await client.post(self.base + "/forms/access-order", headers=s.headers,
                                  data={**self.form, "case_number": case, "csrf_token": s.token})
            return r.status_code == 303 and "/submissions/" in r.headers.get("location", "")
        r = await client.get(self.base + self.pdf_path, headers=s.headers)
        return r.status_code == 200 and r.content.startswith(b"%PDF")


async def closed_loop(client: RawClient, load: Load, kind: str, seconds: float,
                      connections: int = CONNECTIONS, cap: int = 50_000) -> tuple[int, int, float]:
    """`connections` workers send back to back for `seconds`; (ok, errors, elapsed)."""
    ok = errors = started = 0
    end = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal ok, errors, started
        while time.perf_counter() < end and started < cap:
            started += 1
            try:
                good = await load.send(client, kind, w)
            except ERRORS:
                good = False
            ok, errors = ok + good, errors + (not good)

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker(w) for w in range(connections))),
                           timeout=seconds + 60)
    return ok, errors, time.perf_counter() - t0


async def saturation(portal: Load, bare: Load) -> None:
    async with RawClient(timeout=30) as client:
        for kind, label in (("page", "GET access-order page"), ("post", "valid access-order POST")):
            rate = {"portal": [0, 0, 0.0], "bare": [0, 0, 0.0]}
            for _ in range(ROUNDS):
                for name, load in (("portal", portal), ("bare", bare)):
                    await closed_loop(client, load, kind, 1.0)  # warm-up, not counted
                    ok, err, secs = await closed_loop(client, load, kind, ROUND_SECONDS)
                    rate[name][0] += ok
                    rate[name][1] += err
                    rate[name][2] += secs
            p = rate["portal"][0] / rate["portal"][2]
            b = rate["bare"][0] / rate["bare"][2]
            errors = rate["portal"][1] + rate["bare"][1]
            say(f"{label}: portal {p:.0f}/s, bare Flask {b:.0f}/s, errors {errors}")
            # INFO (issue 12): the page target (≥ 0.5×) drove a cache that served stale pages;
            # the portal's own work on a page is target 8 (bench_pages.py), against Jinja.
            emit(f"HTTP saturation, {label}: portal ÷ bare Flask", p / b, None, ".3f", "×",
                 note=f"{p:.0f} vs {b:.0f} req/s, {CONNECTIONS} connections, "
                      f"{ROUNDS}×{ROUND_SECONDS:.0f} s per arm, errors {errors}",
                 status="FAIL" if errors else None)


async def single_pdf(client: RawClient, load: Load, n: int = 15) -> float:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        assert await load.send(client, "pdf", i)
        times.append(time.perf_counter() - t0)
    return median(times)


async def open_loop(load: Load) -> None:
    n = int(RATE * OPEN_SECONDS)
    rng = random.Random(6)
    kinds = [k for k, _ in MIX]
    plan = rng.choices(kinds, weights=[w for _, w in MIX], k=n)
    lat: dict[str, list[float]] = {k: [] for k in kinds}
    errors: dict[str, int] = {k: 0 for k in kinds}
    lag: list[float] = []
    async with RawClient(timeout=30) as client:
        # Warm every worker (the first PDF in a process loads WeasyPrint), then the floor.
        await asyncio.gather(*(load.send(client, k, i) for i in range(8)
                               for k in ("pdf", "page")))
        one_pdf = await single_pdf(client, load)
        say(f"single-request PDF (idle server, median of 15): {ms(one_pdf):.0f} ms")

        async def one(kind: str, i: int, due: float) -> None:
            lag.append(time.perf_counter() - due)
            try:
                good = await load.send(client, kind, i)
            except ERRORS:
                good = False
            if good:
                lat[kind].append(time.perf_counter() - due)
            else:
                errors[kind] += 1

        t0 = time.perf_counter() + 0.2
        tasks = []
        for i, kind in enumerate(plan):
            due = t0 + i / RATE
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(kind, i, due)))
        done, pending = await asyncio.wait(tasks, timeout=30)
        for t in pending:
            t.cancel()
        lost = len(pending)
        sent_over = time.perf_counter() - t0
    total_err = sum(errors.values()) + lost
    say(f"open loop: {n} requests planned over {OPEN_SECONDS:.0f} s, done in {sent_over:.1f} s; "
        f"client lag p99 {ms(percentile(lag, 99)):.1f} ms; errors {total_err}")
    for kind, label, target in (("page", "pages", 25.0), ("post", "POSTs", 80.0)):
        emit(f"Open loop 50/s: {label} p95", ms(percentile(lat[kind], 95)), target, ".1f", " ms",
             note=f"{len(lat[kind])} requests, median {ms(median(lat[kind])):.1f} ms, "
                  f"p99 {ms(percentile(lat[kind], 99)):.1f} ms")
    pdf95 = percentile(lat["pdf"], 95)
    # INFO (issue 12): on two cores a PDF in flight shares them with its neighbours (README).
    emit("Open loop 50/s: PDF p95 ÷ single-request PDF", pdf95 / one_pdf, None, ".2f", "×",
         note=f"p95 {ms(pdf95):.0f} ms vs {ms(one_pdf):.0f} ms alone, {len(lat['pdf'])} PDFs")
    emit("Open loop 50/s: errors", float(total_err), 0.0, ".0f",
         note=" ".join(f"{k} {v}" for k, v in errors.items()) + f" unfinished {lost}")


async def prepare(base: str, bare_base: str) -> tuple[Load, Load, str, str]:
    async with RawClient(timeout=30) as client:
        sessions = [await log_in(client, base, f"manager{i}") for i in range(1, SESSIONS + 1)]
        load = Load(base, sessions)
        s = sessions[0]
        r = await client.post(base + "/forms/access-order", headers=s.headers,
                              data={**load.form, "csrf_token": s.token})
        assert r.status_code == 303, r.status_code
        load.pdf_path = r.headers["location"] + "/pdf"
        page = await client.get(base + "/forms/access-order", headers=s.headers)
        return load, Load(bare_base, [Session("", "")]), page.text, r.headers["location"]


def main() -> None:
    """PostgreSQL on loopback when it answers (as in production), else SQLite."""
    pg = pg_available(PG_HTTP) is None
    if pg:
        pg_recreate(PG_HTTP)
    try:
        with throwaway_dir() as tmp:
            url = PG_HTTP if pg else f"sqlite:///{tmp / 'portal.db'}"
            say(f"database: {'PostgreSQL (throwaway)' if pg else 'SQLite (throwaway)'}")
            run(url, tmp)
    finally:
        if pg:
            pg_drop(PG_HTTP)


def run(url: str, tmp: Path) -> None:
    app = make_app(url, tmp / "instance")
    migrate_and_seed(app)
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()
    with shared_limiter_store() as limiter:  # production's workers need it (issue 11, M6)
        serve(tmp, production_env(url, tmp / "instance", limiter))


def serve(tmp: Path, env: dict[str, str]) -> None:
    portal = start_gunicorn("portal:create_app()", env, log_name="gunicorn-portal")
    bare = None
    try:
        # The bare app needs the portal's final HTML first; its port is fixed now.
        from bench._common import free_port

        bare_port = free_port()
        load, bare_load, html, location = asyncio.run(
            prepare(portal.base, f"http://127.0.0.1:{bare_port}"))
        html_file = tmp / "page.html"
        html_file.write_text(html)
        bare_env = {**env, "BENCH_BARE_HTML": str(html_file), "BENCH_BARE_LOCATION": location}
        bare = start_gunicorn("bench.bare_app:create_app()", bare_env,
                              log_name="gunicorn-bare", port=bare_port)
        if "saturation" in PARTS:
            cpu0 = os.times()
            asyncio.run(saturation(load, bare_load))
            cpu1 = os.times()
            say(f"load client CPU during saturation: "
                f"{(cpu1.user + cpu1.system - cpu0.user - cpu0.system):.1f} s")
        stop(bare)
        bare = None
        if "open" in PARTS:
            asyncio.run(open_loop(load))
    finally:
        if bare is not None:
            stop(bare)
        stop(portal)


if __name__ == "__main__":
    main()
