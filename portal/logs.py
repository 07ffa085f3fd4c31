"""Application logs: request id, user id and action — never personnummer, names or form content.

Lines name the endpoint (not the path or query) and the status; views log actions by code name only."""

from __future__ import annotations

import logging
import re
import secrets
import sys
import traceback
from types import TracebackType
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect as sa_inspect
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


class WithheldFormatter(logging.Formatter):
    """A formatter that prints a traceback only as `withheld_traceback` does: for handlers on
    loggers whose records no filter of ours has seen (gunicorn's error log)."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return withheld_traceback(ei)


# A query string, e.g. in a request line: "GET /forms/x?name=… HTTP/1.1".
_QUERY = re.compile(r"\?[^\s\"']*")
# Servers' messages that quote what the client sent after the colon (gunicorn, werkzeug).
_QUOTING = re.compile(r"^(.*?(?:Invalid request from ip=\S*?(?=: )|Error on request))")
WITHHELD = "(withheld: it may quote the request)"


def scrub_text(text: str) -> str:
    """A server's log message without what a client sent: query strings cut, and where a
    server quotes a bad request or prints a traceback (message and all), the rest withheld."""
    text = _QUERY.sub("?…", text)
    quoting = _QUOTING.match(text)
    if quoting:
        text = f"{quoting.group(1)}: {WITHHELD}"
    return text


def scrub_uri(value: str) -> str:
    """A URI (one value, not a line): everything from its query string on is cut."""
    path, query, _ = value.partition("?")
    return f"{path}?…" if query else path


def _scrub_arg(value: Any) -> Any:
    if isinstance(value, BaseException):
        return f"{type(value).__module__}.{type(value).__qualname__}"
    if isinstance(value, str):
        return scrub_uri(value) if value.startswith(("/", "http:", "https:")) else scrub_text(value)
    if isinstance(value, bytes):
        return "(bytes withheld)"
    return value


class ServerLogFilter(logging.Filter):
    """On the web servers' loggers (werkzeug in development, gunicorn.error in production): a
    request line without its query string, a bad request not quoted, a traceback withheld."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = withheld_traceback(record.exc_info)
        if isinstance(record.msg, str):
            record.msg = scrub_text(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: _scrub_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_scrub_arg(a) for a in record.args)
        return True


class RowFilter(logging.Filter):
    """SQLAlchemy logs the rows a query returns at DEBUG (hide_parameters hides only what is
    sent): the rows' values are withheld, whatever level an operator turns logging up to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.msg, record.args = "Row (withheld)", ()
        return True


def _add_filter_once(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            # Before any formatter: every handler then prints this text, not the message.
            record.exc_text = withheld_traceback(record.exc_info)
        record.request_id = "-"
        record.user_id = "-"
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            record.user_id = _logged_in_id()
        return True


def _logged_in_id() -> str:
    """The id of the user this request loaded, from the session's identity map: no query, so it
    also names the user after a failed flush has left the session needing a rollback (the
    moment an exception is logged, before the 500 handler rolls back)."""
    user = g.get("_login_user")  # Flask-Login's user of this request, if it has loaded one
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    identity = getattr(state, "identity", None)
    return str(identity[0]) if identity else "-"


def install(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(WithheldFormatter(FORMAT))
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
    # Loggers of others that may see a request or a row: scrubbed for every handler (no uploaded
    # content, form value, query string or file name reaches a log; issue 11).
    _add_filter_once(logging.getLogger("werkzeug"), ServerLogFilter)
    _add_filter_once(logging.getLogger("gunicorn.error"), ServerLogFilter)
    _add_filter_once(logging.getLogger("sqlalchemy.engine.Engine"), RowFilter)
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
