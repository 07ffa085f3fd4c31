"""Application logs: request id, user id and action — never personnummer, names or form content.

Lines name the endpoint (not the path or query) and the status; views log actions by code name only."""

from __future__ import annotations

import logging
import secrets
import sys
import traceback
from types import TracebackType

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from werkzeug.wrappers import Response

FORMAT = "%(asctime)s %(levelname)s req=%(request_id)s user=%(user_id)s %(name)s: %(message)s"


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def withheld_traceback(exc_info: ExcInfo) -> str:
    """A traceback that says where and what type of error, never the exception's message:
    messages quote the values they failed on (SQL parameters, int('…'), a date string), and
    those values may be a personnummer or anything typed into a form. Database error codes stay."""
    lines: list[str] = []
    seen: set[int] = set()

    def walk(exc: BaseException | None) -> None:
        if exc is None or id(exc) in seen:
            return
        seen.add(id(exc))
        if exc.__cause__ is not None:
            walk(exc.__cause__)
            lines.append(CAUSE)
        elif exc.__context__ is not None and not exc.__suppress_context__:
            walk(exc.__context__)
            lines.append(CONTEXT)
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(exc.__traceback__))
        codes = [
            c
            for c in (getattr(exc, "sqlstate", None), getattr(exc, "sqlite_errorname", None))
            if isinstance(c, str)
        ]
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        code = f" [{', '.join(codes)}]" if codes else ""
        lines.append(f"{name}{code}: (message withheld: it may quote personal data)\n")

    walk(exc_info[1])
    return "".join(lines).rstrip("\n")


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            # Before any formatter: every handler then prints this text, not the message.
            record.exc_text = withheld_traceback(record.exc_info)  # type: ignore[arg-type]
        record.request_id = "-"
        record.user_id = "-"
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            try:
                if current_user and current_user.is_authenticated:
                    record.user_id = str(current_user.id)
            except Exception:  # noqa: S110 - logging must never fail a request
                pass
        return True


def install(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("portal")
    if not any(isinstance(f, RequestContextFilter) for h in logger.handlers for f in h.filters):
        logger.addHandler(handler)
    if not any(isinstance(f, RequestContextFilter) for f in logger.filters):
        # Flask logs a request's exception on this logger (app.logger): scrub it for every
        # handler anyone attaches, not only ours.
        logger.addFilter(RequestContextFilter())
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
