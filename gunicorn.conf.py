"""gunicorn's production settings. gunicorn reads this file from the directory it starts in:

    PRODUCTION=1 SECRET_KEY=… DATABASE_URL=postgresql://… .venv/bin/gunicorn 'portal:create_app()'

Options given on the command line (`-b`, `-w`) win over these. Measured in bench/ (README there).
"""

import os

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

# A request that runs this long is a bug or an attack; the worker is replaced.
timeout = 60
graceful_timeout = 30
