"""Request-wide behaviour: security headers, idle and absolute session timeouts, error pages (each
rolls the request's work back; a denial's audit event in its own transaction), the request's one
commit (portal/transaction.py)."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from . import transaction
from .crypto import CryptoError
from .submissions import AlreadyProcessed, NotVisible

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# 14-M: the favicon (static/favicon.svg, same origin: img-src 'self' above admits it) is kept by
# the browser for a year; a new icon takes a new file name. Other static files are revalidated.
LONG_CACHED_STATIC = frozenset({"favicon.svg"})
LONG_CACHE_SECONDS = 365 * 24 * 3600


def _logged_out(message: str) -> Response:
    logout_user()
    session.clear()
    flash(message)
    return redirect(url_for("auth.login"))


def install(app: Flask) -> None:
    transaction.install(app)

    @app.before_request
    def enforce_timeouts() -> Any:
        if not current_user.is_authenticated:
            return None
        now = time.time()
        idle = app.config["IDLE_TIMEOUT"].total_seconds()
        absolute = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
        last, started = session.get("last_seen"), session.get("login_at")
        # A session without its timestamps counts as expired (issue 11), never as fresh.
        if not isinstance(last, int | float) or not isinstance(started, int | float):
            return _logged_out(_("Din inloggning har gått ut. Logga in igen."))
        if now - last > idle or now - started > absolute:
            if now - started > absolute:
                return _logged_out(
                    _("Du har varit inloggad i 8 timmar och har loggats ut. Logga in igen.")
                )
            return _logged_out(
                _("Du har loggats ut eftersom du inte varit aktiv på 15 minuter. Logga in igen.")
            )
        if now - last >= app.config["LAST_SEEN_RESOLUTION"].total_seconds():
            session["last_seen"] = now
        return None

    @app.after_request
    def security_headers(resp: Response) -> Response:
        h = resp.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        # Nothing to another site; the portal's own pages send their address with a request to
        # the portal. Behind TLS terminated in front (deploy/nginx.conf) a request is secure,
        # and Flask-WTF then refuses a POST without a same-origin Referer (issue 15, part I:
        # under no-referrer every form failed there).
        h["Referrer-Policy"] = "same-origin"
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if app.config["PRODUCTION"]:
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            # Pages and files may show protected content: never kept by a browser or proxy.
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        elif (request.view_args or {}).get("filename") in LONG_CACHED_STATIC:
            resp.cache_control.no_cache = None
            resp.cache_control.public = True
            resp.cache_control.max_age = LONG_CACHE_SECONDS
        return resp

    def error_page(status: int, title: str, text: str) -> tuple[str, int]:
        """The one error page: a heading and a sentence, in Swedish."""
        return render_template("errors/error.html", title=title, text=text), status

    # Every error handler starts by rolling the request's work back (portal/transaction.py): the
    # request's one commit, after it, finds nothing to commit but the handler's own audit event.

    @app.errorhandler(HTTPException)
    def other_http_error(e: HTTPException) -> Any:
        transaction.rollback()
        return e

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError) -> Any:
        transaction.rollback()
        return error_page(
            400,
            title=_("Formuläret har gått ut"),
            text=_(
                "Sidan var för gammal eller saknade sin säkerhetskod. Ladda om sidan "
                "och försök igen."
            ),
        )

    @app.errorhandler(403)
    def forbidden(e: Any) -> Any:
        if isinstance(e, transaction.Denied):
            transaction.denial(e.action, **e.event)
        else:
            transaction.rollback()
        return error_page(
            403,
            title=_("Du saknar behörighet"),
            text=_("Din roll får inte använda den här sidan."),
        )

    @app.errorhandler(NotVisible)
    def not_visible(e: NotVisible) -> Any:
        """A submission that does not exist or is not the user's to see: 404 either way, and
        the attempt audited (never which of the two it was)."""
        transaction.denial(
            "submission_denied", object_type="submission", object_id=None, outcome="denied"
        )
        return not_found(e)

    @app.errorhandler(AlreadyProcessed)
    def already_processed(e: AlreadyProcessed) -> Any:
        transaction.rollback()
        return error_page(
            409,
            title=_("Redan hanterad"),
            text=_("Någon annan har redan hanterat den här blanketten. Inget ändrades."),
        )

    @app.errorhandler(404)
    def not_found(e: Any) -> Any:
        transaction.rollback()
        return error_page(
            404,
            title=_("Sidan finns inte"),
            text=_("Sidan finns inte, eller så har du inte tillgång till den."),
        )

    @app.errorhandler(413)
    def too_large(e: Any) -> Any:
        transaction.rollback()
        return error_page(413, title=_("För stort"), text=_("Det du skickade är för stort."))

    @app.errorhandler(429)
    def too_many(e: Any) -> Any:
        transaction.rollback()
        if request.endpoint == "auth.login":
            from .views.auth import locked_page

            return locked_page()
        return error_page(
            429,
            title=_("För många försök"),
            text=_("För många misslyckade inloggningar. Vänta en stund och försök igen."),
        )

    @app.errorhandler(CryptoError)
    def unreadable(e: CryptoError) -> Any:
        """Issue 11 L8: encrypted content that does not open (altered bytes, moved from another
        row, its data key missing) is a clear page and an audit event, never a bare 500."""
        args = request.view_args or {}
        object_id = args.get("public_id") or args.get("file_id")
        # The reason names a key id at most, never content.
        app.logger.error("encrypted content could not be read (%s): %s", request.endpoint, e)
        transaction.denial(
            "protected_content_unreadable",
            object_type="encrypted",
            object_id=str(object_id)[:64] if object_id else None,
            outcome="failed",
            detail=str(request.endpoint)[:255],
        )
        return error_page(
            500,
            title=_("Innehållet kan inte läsas"),
            text=_(
                "Det krypterade innehållet kunde inte läsas: det har ändrats eller saknar sin "
                "nyckel. Inget har ändrats. Kontakta systemförvaltaren och ange tiden; händelsen "
                "är loggad."
            ),
        )

    @app.errorhandler(500)
    def server_error(e: Any) -> Any:
        # Whatever the request half did is undone ("Inget sparades"), and a session whose flush
        # failed is usable again: the page's own queries (the header's user) must not fail too.
        # The session stays as it came (a login whose commit failed does not log in).
        transaction.failed()
        return error_page(
            500,
            title=_("Något gick fel"),
            text=_(
                "Ett fel uppstod. Inget sparades. Försök igen, eller kontakta systemförvaltaren."
            ),
        )
