"""Targets 1 and 2: filled-form PDFs against WeasyPrint alone, and blank paper forms.

1. The portal's whole path for a filled PDF — the access order with 10 person rows (GET
   /submissions/<id>/pdf: session, load, audit, template, WeasyPrint) and the full checklist (POST
   /forms/checklist with as_pdf: validate, rules, audit, template, WeasyPrint) — against
   WeasyPrint alone on the very HTML the portal rendered, in the same process with the same
   FontConfiguration, stylesheet and PDF variant. Requests and floor renders alternate, after a
   warm-up.
2. Blank paper forms through the test client (rendered once per process, then from memory).
"""
from __future__ import annotations

import os
import time
from typing import Any

from bench._common import (
    access_order_form,
    checklist_form,
    csrf_token,
    emit,
    login_test_client,
    make_app,
    median,
    migrate_and_seed,
    ms,
    say,
    throwaway_dir,
)

RUNS = int(os.environ.get("BENCH_PDF_RUNS", "30"))
WARMUP = 3
BLANK_RUNS = 200


def capture_html(call: Any) -> tuple[str, dict[str, Any]]:
    """Run `call` once and keep the HTML and options the portal handed to WeasyPrint."""
    from portal.render import pdf

    seen: list[tuple[str, dict[str, Any]]] = []
    original = pdf.html_to_pdf

    def spy(html: str, **kwargs: Any) -> bytes:
        seen.append((html, kwargs))
        return original(html, **kwargs)

    pdf.html_to_pdf = spy
    try:
        call()
    finally:
        pdf.html_to_pdf = original
    assert len(seen) == 1, "one render per request expected"
    return seen[0]


def floor_render(html: str, forms: bool) -> bytes:
    """WeasyPrint alone: the same HTML, base URL, stylesheet, fonts, variant and form fields. The
    stylesheet object is the portal's (parsed once per process, as the portal does), so both
    sides style the same way and neither parses it per render."""
    import weasyprint

    from portal.render import pdf

    return weasyprint.HTML(string=html, base_url=pdf.PDF_TEMPLATES.as_uri() + "/").write_pdf(
        font_config=pdf._get_font_config(), stylesheets=[pdf.stylesheet()],
        pdf_variant=pdf.PDF_VARIANT, pdf_forms=forms or None)


def compare(name: str, request: Any, html: str, forms: bool) -> None:
    for _ in range(WARMUP):
        request()
        floor_render(html, forms)
    portal_t: list[float] = []
    floor_t: list[float] = []
    for _ in range(RUNS):  # alternate, so drift and neighbours' load hit both arms alike
        t0 = time.perf_counter()
        request()
        t1 = time.perf_counter()
        floor_render(html, forms)
        t2 = time.perf_counter()
        portal_t.append(t1 - t0)
        floor_t.append(t2 - t1)
    p, f = median(portal_t), median(floor_t)
    say(f"{name}: portal {ms(p):.1f} ms, WeasyPrint alone {ms(f):.1f} ms (medians of {RUNS})")
    emit(f"PDF {name}: portal ÷ WeasyPrint alone", p / f, 1.15, ".3f", "×",
         note=f"portal {ms(p):.0f} ms vs {ms(f):.0f} ms, median of {RUNS}")


def main(which: list[str]) -> None:
    with throwaway_dir() as tmp:
        app = make_app(f"sqlite:///{tmp / 'portal.db'}", tmp / "instance")
        migrate_and_seed(app)
        if "blank" in which:
            blank(app)
        if "ratio" in which:
            ratio(app)


def ratio(app: Any) -> None:
    # --- 1a: access order with 10 person rows, stored, fetched as PDF -------------------
    manager = login_test_client(app, "manager1")
    token = csrf_token(manager.get("/forms/access-order").get_data(as_text=True))
    resp = manager.post("/forms/access-order",
                        data={**access_order_form(rows=10), "csrf_token": token})
    assert resp.status_code == 303, resp.status_code
    url = resp.headers["Location"].rstrip("/") + "/pdf"

    def get_order_pdf() -> None:
        r = manager.get(url)
        assert r.status_code == 200 and r.data.startswith(b"%PDF"), r.status_code

    html, opts = capture_html(get_order_pdf)
    compare("access order, 10 rows", get_order_pdf, html, bool(opts.get("forms")))

    # --- 1b: full checklist, render-only, as PDF -----------------------------------------
    secretary = login_test_client(app, "secretary")
    token = csrf_token(secretary.get("/forms/checklist").get_data(as_text=True))
    form = {**checklist_form(), "as_pdf": "1", "csrf_token": token}

    def post_checklist_pdf() -> None:
        r = secretary.post("/forms/checklist", data=form)
        assert r.status_code == 200 and r.data.startswith(b"%PDF"), r.status_code

    html, opts = capture_html(post_checklist_pdf)
    compare("full checklist", post_checklist_pdf, html, bool(opts.get("forms")))


def blank(app: Any) -> None:
    # --- 2: blank paper forms -----------------------------------------------------------
    from portal.views.blank import blanks

    manager = login_test_client(app, "manager1")

    names = sorted(blanks())
    for n in names:  # the one render per process
        assert manager.get(f"/blank/{n}.pdf").status_code == 200
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(BLANK_RUNS // len(names) + 1):
        for n in names:
            t0 = time.perf_counter()
            r = manager.get(f"/blank/{n}.pdf")
            times[n].append(time.perf_counter() - t0)
            assert r.status_code == 200 and r.data.startswith(b"%PDF")
    every = [t for ts in times.values() for t in ts]
    worst = max(names, key=lambda n: median(times[n]))
    emit("Blank paper form, per request (median)", ms(median(every)), 2.0, ".2f", " ms",
         note=f"{len(every)} requests over {len(names)} forms; slowest form "
              f"{worst} {ms(median(times[worst])):.2f} ms")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:] or ["blank", "ratio"])
