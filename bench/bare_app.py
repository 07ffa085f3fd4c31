"""The floor for the HTTP figures: a bare Flask app that answers like the portal's access-order page
without doing anything — the same final HTML for GET (read once from BENCH_BARE_HTML), and for POST
the form parsed and the same 303 the portal sends. Run by gunicorn with the portal's settings."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, redirect, request


def create_app() -> Flask:
    app = Flask(__name__)
    html = Path(os.environ["BENCH_BARE_HTML"]).read_bytes()
    location = os.environ.get("BENCH_BARE_LOCATION", "/submissions/x")

    @app.route("/forms/access-order", methods=["GET", "POST"])
    def page() -> Response:
        if request.method == "POST":
            request.form.get("case_number")
            return redirect(location, 303)  # type: ignore[return-value]
        return Response(html, mimetype="text/html")

    @app.route("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    return app
