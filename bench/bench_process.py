"""Targets 6, 7 and 9: one gunicorn worker's memory over many PDFs, start-up time, and the first
PDF a worker renders against its warm PDFs.

6. One sync worker (production settings otherwise) renders PDFs of the Trygghetsjouren message
   (render-only, the smallest filled form, so that a thousand fit in the time), each with another
   case number; its RSS (VmRSS of the worker process) after 100 PDFs and after 1,000.
7. From starting gunicorn (production settings, README's command) to the first 200 on /healthz,
   polled every 5 ms; the median of several cold starts.
9. One sync worker (production settings otherwise) started cold; a unit manager logs in and opens
   a stored access order (10 person rows) — the first user's path up to the print — then
   ``GET /submissions/<id>/pdf`` once (the first PDF of the worker) and 10 times more (warm); the
   ratio first ÷ median of the warm ones per start, the median over several cold starts. What
   the first PDF pays beyond a warm one is what is not ready before the first user: WeasyPrint's
   import, the font configuration, the parsed stylesheet, the print template's compilation.
"""
from __future__ import annotations

import asyncio
import os
import time

from bench._common import (
    access_order_form,
    csrf_token,
    emit,
    login_test_client,
    make_app,
    median,
    migrate_and_seed,
    production_env,
    rss_kib,
    say,
    shared_limiter_store,
    start_gunicorn,
    stop,
    throwaway_dir,
    wait_healthy,
)
from bench._rawhttp import RawClient
from bench.bench_http import log_in

PDFS = int(os.environ.get("BENCH_MEMORY_PDFS", "1000"))
EARLY = 100
STARTS = 5
FIRST_PDF_STARTS = int(os.environ.get("BENCH_FIRST_PDF_STARTS", "5"))
WARM_PDFS = 10


async def pdf_loop(base: str, worker_pid: int) -> dict[int, int]:
    """PDFs two at a time (the worker always has the next one waiting); RSS at checkpoints."""
    rss: dict[int, int] = {}
    async with RawClient(timeout=60) as client:
        s = await log_in(client, base, "manager1")
        r = await client.get(base + "/forms/trygghetsjouren", headers=s.headers)
        from bench._common import csrf_token

        token = csrf_token(r.text)
        done = 0
        lock = asyncio.Lock()

        async def worker(w: int) -> None:
            nonlocal done
            while True:
                async with lock:
                    if done >= PDFS:
                        return
                    done += 1
                    n = done
                r = await client.post(base + "/forms/trygghetsjouren", headers=s.headers, data={
                    "purpose": "assignment_sent", "case_number": f"{1_000_000 + n * 7919 % 8_999_999:07d}",
                    "city_district": "Centrum", "as_pdf": "1", "csrf_token": token})
                assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.status_code
                if n in (1, EARLY, PDFS // 2, PDFS):
                    rss[n] = rss_kib(worker_pid)

        await asyncio.gather(worker(0), worker(1))
    return rss


def main(which: list[str]) -> None:
    with throwaway_dir() as tmp:
        db_path = tmp / "portal.db"
        app = make_app(f"sqlite:///{db_path}", tmp / "instance")
        migrate_and_seed(app)
        env = production_env(f"sqlite:///{db_path}", tmp / "instance")

        if "startup" in which:
            with shared_limiter_store() as limiter:  # production's workers need it (M6)
                startup({**env, "RATELIMIT_STORAGE_URI": limiter})
        if "memory" in which:
            memory(env)
        if "firstpdf" in which:
            first_pdf(app, env)


def startup(env: dict[str, str]) -> None:
    # --- 7: start-up ------------------------------------------------------------------
    times = []
    for _ in range(STARTS):
        server = start_gunicorn("portal:create_app()", env, log_name="gunicorn-startup",
                                wait=False)
        try:
            times.append(wait_healthy(server, timeout=30))
        finally:
            stop(server)
    say("start-up to first 200: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    emit("Start-up: gunicorn start → first 200 on /healthz (median)", median(times), 1.5,
         ".2f", " s", note=f"{STARTS} cold starts, PRODUCTION=1, gunicorn.conf.py ("
                           f"{os.environ.get('BENCH_GUNICORN_WORKERS') or 'its'} workers)")



def memory(env: dict[str, str]) -> None:
    # --- 6: one worker's memory -------------------------------------------------------
    server = start_gunicorn("portal:create_app()", env, workers=1, log_name="gunicorn-memory")
    try:
        (worker,) = server.workers()
        t0 = time.perf_counter()
        rss = asyncio.run(pdf_loop(server.base, worker))
        secs = time.perf_counter() - t0
    finally:
        stop(server)
    growth = (rss[PDFS] - rss[EARLY]) / 1024
    say("worker RSS: " + ", ".join(f"after {n}: {kib / 1024:.1f} MiB" for n, kib in sorted(rss.items()))
        + f" ({PDFS} PDFs in {secs:.0f} s)")
    emit(f"Memory: worker RSS after {PDFS} PDFs − after {EARLY}", growth, 20.0, ".1f", " MiB",
         note=f"{rss[EARLY] / 1024:.0f} → {rss[PDFS] / 1024:.0f} MiB")


def stored_order(app: object) -> str:
    """An access order with 10 person rows, stored through the portal; its page's path."""
    manager = login_test_client(app, "manager1")
    token = csrf_token(manager.get("/forms/access-order").get_data(as_text=True))
    resp = manager.post("/forms/access-order",
                        data={**access_order_form(rows=10), "csrf_token": token})
    assert resp.status_code == 303, resp.status_code
    return str(resp.headers["Location"]).rstrip("/")


async def first_and_warm(base: str, page: str) -> tuple[float, list[float]]:
    """The first user's path on a cold worker: log in, open the submission, its PDF; then warm
    PDFs. (seconds of the first PDF, seconds of each warm one)"""
    async with RawClient(timeout=60) as client:
        s = await log_in(client, base, "manager1")
        r = await client.get(base + page, headers=s.headers)
        assert r.status_code == 200, r.status_code

        async def pdf() -> float:
            t0 = time.perf_counter()
            r = await client.get(base + page + "/pdf", headers=s.headers)
            secs = time.perf_counter() - t0
            assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.status_code
            return secs

        first = await pdf()
        warm = [await pdf() for _ in range(WARM_PDFS)]
    return first, warm


def first_pdf(app: object, env: dict[str, str]) -> None:
    # --- 9: a worker's first PDF ------------------------------------------------------
    page = stored_order(app)
    ratios, firsts, warms = [], [], []
    for _ in range(FIRST_PDF_STARTS):
        server = start_gunicorn("portal:create_app()", env, workers=1,
                                log_name="gunicorn-firstpdf")
        try:
            first, warm = asyncio.run(first_and_warm(server.base, page))
        finally:
            stop(server)
        ratios.append(first / median(warm))
        firsts.append(first)
        warms.append(median(warm))
    say("first PDF of a cold worker: " + ", ".join(f"{t * 1000:.0f}" for t in firsts)
        + " ms; warm (median of " + str(WARM_PDFS) + "): "
        + ", ".join(f"{t * 1000:.0f}" for t in warms) + " ms")
    emit("First PDF after a worker starts ÷ a warm PDF (median)", median(ratios), 1.3, ".2f",
         "×", note=f"first {median(firsts) * 1000:.0f} ms vs warm {median(warms) * 1000:.0f} ms; "
                   f"access order, 10 rows; {FIRST_PDF_STARTS} cold starts of one worker, "
                   f"each after login and the submission's page")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:] or ["startup", "memory", "firstpdf"])
