"""`make bench`: every benchmark in its own process, then one table of every figure with its
target and PASS/FAIL, the machine and the date; the table (and the query plans of the scale
benchmark) also go into bench/README.md between its markers.

    .venv/bin/python -m bench.run                # all
    .venv/bin/python -m bench.run blank audit    # some: blank pdf memory page audit scale http
                                                 #       startup firstpdf
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

from bench._common import BENCH, DATA, LOGS, ROOT, machine, pg_available

BENCHES = {  # name -> (module and arguments, what)
    "blank": (["bench.bench_pdf", "blank"], "target 2: blank paper forms"),
    "pdf": (["bench.bench_pdf", "ratio"], "target 1: filled PDFs vs WeasyPrint alone"),
    "memory": (["bench.bench_process", "memory"], "target 6: a worker's memory over 1,000 PDFs"),
    "page": (["bench.bench_pages"], "target 8: form pages, server time vs Jinja alone"),
    "audit": (["bench.bench_audit"], "target 5: audit write cost; chain under 8 writers"),
    "scale": (["bench.bench_scale"], "target 4: pages and purge over 1M audit events"),
    "http": (["bench.bench_http"], "target 3: gunicorn saturation and open loop"),
    "startup": (["bench.bench_process", "startup"], "target 7: start-up"),
    "firstpdf": (["bench.bench_process", "firstpdf"], "target 9: a worker's first PDF vs warm"),
}
# Run side by side to stay within 10 minutes: the memory figure is no time, and the PDF figure is
# a ratio whose two arms alternate in one process, so both arms see the same neighbour.
TOGETHER = {"pdf": "memory"}
README = BENCH / "README.md"


def start(name: str) -> subprocess.Popen[str]:
    args, what = BENCHES[name]
    print(f"\n== {name}: {what}", flush=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    err = open(LOGS / f"{name}.log", "w")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=err, text=True)


def run_one(name: str, beside: subprocess.Popen[str] | None = None,
            ) -> tuple[list[dict[str, Any]], int, float]:
    """Run `name`, printing as it goes; `beside` (already started) is waited for too."""
    results = []
    t0 = time.perf_counter()
    proc = start(name)
    procs = [proc] + ([beside] if beside else [])
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            r = json.loads(line[len("RESULT "):])
            results.append(r)
            print(f"  {r['status']:<4}  {r['figure']}: {r['measured']} (target {r['target']})",
                  flush=True)
        else:
            print(line, end="", flush=True)
    if beside is not None:
        assert beside.stdout is not None
        print("  (waiting for the benchmark beside it)", flush=True)
        for line in beside.stdout:
            if line.startswith("RESULT "):
                r = json.loads(line[len("RESULT "):])
                results.append(r)
                print(f"  {r['status']:<4}  {r['figure']}: {r['measured']} "
                      f"(target {r['target']})", flush=True)
            else:
                print(line, end="", flush=True)
    code = max(p.wait() for p in procs)
    secs = time.perf_counter() - t0
    if code:
        print(f"  !! {name} exited {code}; see {LOGS}", flush=True)
    return results, code, secs


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| figure | measured | target | result | note |", "|---|---|---|---|---|"]
    for r in results:
        note = r.get("note", "").replace("|", "/")
        rows.append(f"| {r['figure']} | {r['measured']} | {r['target']} | {r['status']} | {note} |")
    return "\n".join(rows)


def replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        return text
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main() -> int:
    names = sys.argv[1:] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
        return 2
    m = machine()
    started = datetime.now().astimezone()
    pg = pg_available()
    print(f"Skyddsportalen benchmarks, {started:%Y-%m-%d %H:%M %Z}; nproc {m['nproc']}, "
          f"memory {m['memory_gib']} GiB, Python {m['python']}, load average at start "
          f"{m['loadavg'][0]:.2f}; PostgreSQL: {pg or 'yes'}", flush=True)
    if LOGS.exists():  # this run's logs only
        for old in LOGS.glob("*.log"):
            old.unlink()
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    durations = {}
    t0 = time.perf_counter()
    for name in names:
        if name in TOGETHER.values() and any(k in names for k in TOGETHER):
            continue  # started beside its partner
        partner = TOGETHER.get(name)
        beside = start(partner) if partner in names else None
        res, code, secs = run_one(name, beside)
        results += res
        durations[name if beside is None else f"{name}+{partner}"] = secs
        if code:
            failed.append(name)
    total = time.perf_counter() - t0
    end_load = machine()["loadavg"]
    header = (f"Run {started:%Y-%m-%d %H:%M %Z} · nproc {m['nproc']} · memory {m['memory_gib']} GiB · "
              f"Python {m['python']} · load average {m['loadavg'][0]:.2f} at start, "
              f"{end_load[0]:.2f} at end · {total / 60:.1f} min ("
              + ", ".join(f"{n} {s:.0f} s" for n, s in durations.items()) + ")")
    out = table(results)
    print("\n" + header + "\n\n" + out, flush=True)
    counts = {s: sum(r["status"] == s for r in results) for s in ("PASS", "FAIL", "SKIP", "INFO")}
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items() if n), flush=True)
    if failed:
        print(f"benchmark(s) that did not finish: {', '.join(failed)} (logs in {LOGS})", flush=True)
    if names == list(BENCHES) and not failed and README.exists():
        text = replace_between(README.read_text(), "last-run", header + "\n\n" + out)
        plans = []
        for db in ("sqlite", "postgresql"):
            f = DATA / f"explain-{db}.txt"
            if f.exists():
                plans.append(f"### {db}\n\n```\n{f.read_text().strip()}\n```")
        if plans:
            text = replace_between(text, "explain", "\n\n".join(plans))
        README.write_text(text)
        print(f"(table written to {README.relative_to(ROOT)})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
