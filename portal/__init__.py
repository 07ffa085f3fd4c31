"""Skyddsportalen: the forms of ÄVO's routine for protected personal data (skyddade personuppgifter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def _limit_only(app: Flask, endpoints: frozenset[str]) -> None:
    """Run Flask-Limiter's per-request check only where a view has a limit (the login): it has no
    default limits, and its check costs ≈ 8 % of every other request (bench/README.md)."""
    from flask import request

    from .extensions import limiter

    funcs = app.before_request_funcs[None]
    check = funcs[funcs.index(limiter._check_request_limit)]

    def check_limited_views_only() -> None:
        if request.endpoint in endpoints:
            check()

    funcs[funcs.index(check)] = check_limited_views_only


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Config, extensions, blueprints, CLI, headers. Nothing else."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from .config import load_config

    load_config(app, config)

    from . import auth  # noqa: F401  (registers the user loader)
    from .extensions import babel, csrf, db, limiter, login_manager

    db.init_app(app)
    csrf.init_app(app)
    from flask_babel import gettext

    from .i18n import N_, PortalRequest, select_locale

    app.request_class = PortalRequest
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    from .views.auth import LIMITED_ENDPOINTS

    _limit_only(app, LIMITED_ENDPOINTS)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Logga in för att fortsätta.")
    login_manager.localize_callback = gettext
    login_manager.session_protection = "strong"

    from .db_setup import bind_migrations_for_cli, configure_engine

    bind_migrations_for_cli(app)

    with app.app_context():
        configure_engine(db.engine)

    from .views import register_blueprints

    register_blueprints(app)

    from . import logs, scheduler, web

    logs.install(app)
    web.install(app)
    scheduler.install(app)

    from .cli import register_cli

    register_cli(app)
    return app
