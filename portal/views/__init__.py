"""Blueprints. Every view declares the roles it admits (portal.auth.roles_required)."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import audit_log, auth, blank, cases, day_notes, forms, lvs, main, register, submissions

    for module in (auth, main, forms, submissions, lvs, register, audit_log, blank, day_notes,
                   cases):
        app.register_blueprint(module.bp)
    from . import admin  # issue 15, part AD: user and unit administration

    app.register_blueprint(admin.bp)
    from . import sso  # issue 15, part O: sign-in with the city account

    app.register_blueprint(sso.bp)
    from . import follow_ups  # issue 16, part E: follow-ups on the start page

    app.register_blueprint(follow_ups.bp)
