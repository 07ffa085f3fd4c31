"""One transaction per unit of work (Indico's ``RH.process``).

A request: services and form hooks only flush; the request commits once, after its view returned,
before the response leaves (``install``); any exception rolls everything back, and the error
handlers (portal/web.py) write the audit event of a denial or failure in a short transaction of
their own (``denial``). A command or a scheduled job: ``with transaction():``.

So the audit event of a change commits with the change, or neither does; and a page is never
shown unless what it did and its audit events are committed (a failed commit answers 500)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from flask import Flask, has_request_context, session
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response

from .extensions import db


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block did, or roll it back if it raised (the CLI, the scheduler)."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def rollback() -> None:
    """Undo what the request did; a dead connection does not stop the error page."""
    with suppress(Exception):
        db.session.rollback()


def failed() -> None:
    """A request that failed (500) changes nothing: its work is rolled back, and its session
    cookie is not sent, so the browser keeps the one it came with. A login, a re-authentication
    or a logout whose commit failed has not happened (SESSION_REFRESH_EACH_REQUEST is off: an
    unmodified session sets no cookie)."""
    rollback()
    if has_request_context():
        session.modified = False


def denial(action: str, **event: Any) -> None:
    """An error handler's own short transaction: the request's work is rolled back, the audit
    event of the denial (or failure) is written and committed alone. Never raises: the error
    page is shown even if the database is gone (the log has the error)."""
    from . import audit

    rollback()
    try:
        audit.record(action, **event)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the page still answers; the failure is logged
        rollback()
        from flask import current_app

        current_app.logger.exception("audit event %s could not be written", action)


class Denied(Forbidden):
    """403 for a user whose role (or unit) may not use a page. The 403 handler writes the audit
    event (``action``, ``detail``: what was refused, never content) in its own transaction."""

    def __init__(self, detail: str, action: str = "access_denied", **event: Any) -> None:
        super().__init__()
        self.action = action
        self.event: dict[str, Any] = {"outcome": "denied", "detail": detail, **event}


def install(app: Flask) -> None:
    @app.after_request
    def commit_request(response: Response) -> Response:
        """The request's one commit. After an error handler it finds nothing to commit (the
        handler rolled back); when it fails, Flask answers 500 and the 500 handler rolls back."""
        db.session.commit()
        return response
