"""gunicorn's production settings. gunicorn reads this file from the directory it starts in:

    PRODUCTION=1 SECRET_KEY=… DATABASE_URL=postgresql://… .venv/bin/gunicorn 'portal:create_app()'

Options given on the command line (`-b`, `-w`) win over these. Measured in bench/ (README there).
"""

import os

# Every file made from here on is the portal's account's alone (issue 11, M5): gunicorn's error
# log (opened before the app is loaded), the SQLite database, instance/ and its keys. create_app
# sets it again; `umask` below covers gunicorn's own temporary files and sockets.
os.umask(0o077)
umask = 0o077

# Behind the load balancer's TLS terminator, on loopback (or the host's private address).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: each request has a process to itself, so a PDF (0.2–1 s of CPU) never holds the
# GIL over a page. Two per core and one more, so that pages are served while PDFs render.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * len(os.sched_getaffinity(0)) + 1)
worker_class = "sync"

# Import the app once in the master, then fork: start-up pays the imports once, not per worker.
# The app opens no database connection and starts no thread before the fork (the retention
# scheduler starts on a worker's first request).
preload_app = True



def when_ready(server: object) -> None:
    """In the master, after the app is loaded and before the workers are forked: WeasyPrint
    imported, its fonts and the print stylesheet ready, one layout done (portal/render/pdf.py
    `warm`), so that no worker's first PDF pays for them (bench/README.md, target 9)."""
    from portal.render.pdf import warm

    warm()


# A request that runs this long is a bug or an attack; the worker is replaced.
timeout = 60
graceful_timeout = 30

# Logs without personal data (SPEC §1.2): the error log's tracebacks say where and what type, never
# the exception's message (it may quote a form value); a request is named without its query string.
logger_class = "portal.gunicorn_log.WithheldLogger"
# The access log is off unless `--access-logfile` is given; if it is, a line names the method,
# path and status only (WithheldLogger also drops the query string, referrer's query and cookies).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
