"""gunicorn's logger for the portal (gunicorn.conf.py `logger_class`): its logs are written as the
portal's own are (portal/logs.py). A traceback says where and what type, never the exception's
message; a request is named without its query string; a bad request is not quoted; an access line
(off unless `--access-logfile` is given) carries no query string, cookie or credentials.

A module of its own: only gunicorn imports it, so `flask …` and the tests never import gunicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from gunicorn.glogging import Logger

from .logs import ServerLogFilter, WithheldFormatter

if TYPE_CHECKING:
    from collections.abc import MutableMapping
    from datetime import timedelta

    from gunicorn.config import Config
    from gunicorn.glogging import _AtomsDict
    from gunicorn.http import Request
    from gunicorn.http.wsgi import Response

# Atoms (request headers `{…}i`, environ `{…}e`) that carry a session, a credential or a query.
WITHHELD_ATOMS = ("cookie", "authorization", "csrf", "query_string", "q")


class WithheldLogger(Logger):
    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        if not any(isinstance(f, ServerLogFilter) for f in self.error_log.filters):
            # On the logger, before any handler: every handler gets the scrubbed record.
            self.error_log.addFilter(ServerLogFilter())
        for handler in self.error_log.handlers:
            fmt = handler.formatter._fmt if handler.formatter else None  # noqa: SLF001
            handler.setFormatter(WithheldFormatter(fmt or self.error_fmt, self.datefmt))

    def atoms(
        self,
        resp: Response,
        req: Request,
        environ: MutableMapping[str, Any],
        request_time: timedelta,
    ) -> _AtomsDict:
        """Every value a format may name, without a query string (cut from its "?"), a cookie or
        a credential: whatever access_log_format an operator sets."""
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = " ".join(
            str(environ.get(k, "-")) for k in ("REQUEST_METHOD", "PATH_INFO", "SERVER_PROTOCOL")
        )
        out: dict[str, Any] = {}
        for key, value in atoms.items():
            name = key[1:-2].lower() if key.startswith("{") else key  # "{cookie}i" -> cookie
            if any(w == name or (len(w) > 1 and w in name) for w in WITHHELD_ATOMS):
                out[key] = "-"
            elif isinstance(value, str):
                out[key] = value.partition("?")[0]
            else:
                out[key] = value
        # The shape gunicorn's own atoms() returns: the stub's TypedDict names the one-letter
        # atoms only, not the `{header}i` / `{header}o` / `{variable}e` keys beside them.
        return cast("_AtomsDict", out)
