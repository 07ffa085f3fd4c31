"""Translation helpers. Source language is Swedish: the msgids are the Swedish texts, and the sv
catalogue (portal/translations/sv) maps each to itself; another language is a new catalogue."""

from __future__ import annotations

import functools
from typing import Any

from babel import support
from flask import Request, current_app, has_request_context, request
from flask_babel import get_locale, gettext
from flask_babel.speaklater import LazyString
from markupsafe import escape
from wtforms import validators
from wtforms.i18n import messages_path
from wtforms.validators import StopValidation

# N_ marks a module-level text for extraction; translate it where it is shown (gettext(CONST)).
# One marker for the whole portal, defined where no Flask is imported (rules.py is pure).
from .rules import N_ as N_


def select_locale() -> str:
    """Swedish, unless config LANGUAGES lists more and the browser's Accept-Language prefers one."""
    languages: list[str] = current_app.config.get("LANGUAGES") or ["sv"]
    default: str = current_app.config.get("BABEL_DEFAULT_LOCALE", "sv")
    if len(languages) < 2 or not has_request_context():
        return default
    return request.accept_languages.best_match(languages) or default


def _plain(error: StopValidation) -> StopValidation:
    # A lazy message (lazy_gettext) is raised as str: views and templates keep only str errors.
    # wtforms raises StopValidation with the message as its one argument.
    message = error.args[0] if error.args else ""
    return StopValidation(str(message) if message is not None else "")


class InputRequired(validators.InputRequired):
    """wtforms' InputRequired with a lazily translated message, raised as str."""

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except StopValidation as error:
            raise _plain(error) from None


class DataRequired(validators.DataRequired):
    """wtforms' DataRequired with a lazily translated message, raised as str."""

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except StopValidation as error:
            raise _plain(error) from None


class LazyText(LazyString):
    """A lazily translated plain text: escaped in HTML like any str (flask_babel's LazyString
    passes through unescaped, which would change labels containing quotes)."""

    def __html__(self) -> str:
        return str(escape(str(self)))


def _l(text: str, **variables: Any) -> LazyText:
    """lazy_gettext for class-level texts (labels, validator messages)."""
    return LazyText(gettext, text, **variables)


@functools.cache
def _wtforms_catalogue(locale: str) -> support.Translations | support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class PortalRequest(Request):
    """Flask-WTF reads WTForms' own messages ("Not a valid choice") from ``request.
    wtforms_translations`` and, when that is unset, parses the catalogue file anew on every
    request that makes a form (≈ 6 % of a form page, bench/README.md). Here it comes from a
    per-process cache, looked up only when a form asks."""

    @property
    def wtforms_translations(self) -> support.Translations | support.NullTranslations:
        return _wtforms_catalogue(str(get_locale()))

    @wtforms_translations.setter
    def wtforms_translations(self, value: Any) -> None:  # Flask-WTF stores what it loaded
        pass
