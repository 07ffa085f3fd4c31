"""Application logs: request id, user id and action — never personnummer, names or form content.

Lines name the endpoint (not the path or query) and the status; views log actions by code name only."""
from __future__ import annotations

import logging
import secrets
import sys

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from werkzeug.wrappers import Response

FORMAT = "%(asctime)s %(levelname)s req=%(request_id)s user=%(user_id)s %(name)s: %(message)s"


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = "-"
        record.user_id = "-"
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            try:
                if current_user and current_user.is_authenticated:
                    record.user_id = str(current_user.id)
            except Exception:  # noqa: BLE001 - logging must never fail a request
                pass
        return True


def install(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("portal")
    if not any(isinstance(f, RequestContextFilter) for h in logger.handlers for f in h.filters):
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    access = logging.getLogger("portal.access")

    @app.before_request
    def _request_id() -> None:
        g.request_id = secrets.token_hex(8)

    @app.after_request
    def _log_request(resp: Response) -> Response:
        resp.headers["X-Request-ID"] = g.get("request_id", "")
        if request.endpoint != "static":
            access.info("%s %s %s", request.method, request.endpoint or "-", resp.status_code)
        return resp
