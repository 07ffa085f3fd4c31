"""Skyddsportalen: the forms of ÄVO's routine for protected personal data (skyddade personuppgifter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def _worker_count() -> int:
    """gunicorn's workers as gunicorn.conf.py sets them: WEB_CONCURRENCY, else two per core and
    one more."""
    import os

    value = os.environ.get("WEB_CONCURRENCY")
    return int(value) if value else 2 * len(os.sched_getaffinity(0)) + 1


def _check_limiter_storage(app: Flask) -> None:
    """Production with more than one worker refuses the limiter's memory:// store: each worker
    would count failed logins on its own, N workers letting N times the limit through (issue 11,
    M6)."""
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if app.config["PRODUCTION"] and uri.startswith("memory://") and _worker_count() > 1:
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI={uri} counts failed logins per worker process, and "
            f"{_worker_count()} workers would let {_worker_count()} times the limit through. "
            "Set RATELIMIT_STORAGE_URI to a shared store (redis://host:6379/0) in production, "
            "or run one worker (WEB_CONCURRENCY=1)."
        )


def _behind_proxies(app: Flask) -> None:
    """Take the client's address from X-Forwarded-For as set by PROXY_FIX_X_FOR trusted proxies
    (the load balancer), so that throttling counts per user, not per balancer (issue 11, M6).
    0: the header is ignored, so that a client cannot choose its own address."""
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0
        )


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Config, extensions, blueprints, CLI, headers. Nothing else."""
    from .files import check_private, private_umask

    private_umask()  # before anything is written: every file 0600, every folder 0700 (M5)
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from .config import load_config

    load_config(app, config)
    check_private(app)  # refuse to start over secret files others may read (M5)

    from . import auth  # noqa: F401  (registers the user loader)
    from .extensions import babel, csrf, db, limiter, login_manager

    db.init_app(app)
    csrf.init_app(app)
    from flask_babel import gettext

    from .i18n import N_, PortalRequest, select_locale

    app.request_class = PortalRequest
    babel.init_app(app, locale_selector=select_locale)
    _check_limiter_storage(app)
    limiter.init_app(app)
    _behind_proxies(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Logga in för att fortsätta.")
    login_manager.localize_callback = gettext
    login_manager.session_protection = "strong"

    from .db_setup import bind_migrations_for_cli, configure_engine

    bind_migrations_for_cli(app)

    with app.app_context():
        configure_engine(db.engine)
        from .crypto import refuse_missing_keys

        try:
            # A lost key folder is refused here, not replaced (issue 11 L8). Test apps are built
            # by the hundred over one shared test database, each with a fresh instance/: for them
            # the same refusal comes at the first use of the keys (crypto.keyring).
            if not app.config.get("TESTING"):
                refuse_missing_keys()
        finally:
            db.engine.dispose()  # no connection is carried into gunicorn's forked workers

    from . import sso
    from .views import register_blueprints

    sso.init_app(app)  # issue 15, part O: the city's OpenID provider, when configured
    register_blueprints(app)

    from . import cli, logs, scheduler, web

    logs.install(app)
    web.install(app)
    scheduler.install(app)
    cli.init_app(app)
    return app
