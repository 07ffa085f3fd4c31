"""HTML kept in memory: parts of pages that are the same for many requests but for the CSRF token
(a form's empty page, the site header with its logout form). WTForms' widgets and the menu's
gettext and url_for calls made them the dearest part of a page (bench/README.md); each is rendered
once per process and key, kept in a bounded dict per app (the templates read its config), and
this request's token put in where the slot stands.

A key must hold everything the kept HTML reads; tests/test_kept_html.py compares kept pages
with fresh renders. In development (debug or TEMPLATES_AUTO_RELOAD) nothing is kept, so a
template edit shows at once."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app, has_app_context
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

# Where the token goes: letters, digits and dashes, so HTML escaping leaves it as it is.
TOKEN_SLOT = "csrf-slot-" + secrets.token_hex(16)
# Entries per store before it is emptied: a form's kept page is 4–27 KB, so a store holds at most
# ≈ 14 MB (the checklist's for 512 users), the headers' ≈ 1 MB.
MAX_ENTRIES = 512
T = TypeVar("T")


def developing() -> bool:
    """Development (debug or TEMPLATES_AUTO_RELOAD): templates are read anew, nothing is kept.
    Also decides whether the PDF templates and stylesheet are looked at again (render/pdf.py)."""
    return has_app_context() and bool(
        current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD")
    )


def keeping() -> bool:
    return not developing()


def kept(name: str, key: Hashable, make: Callable[[], T]) -> T:
    """What is kept under `key` in the app's store `name`, made by `make()` the first time."""
    store: dict[Hashable, Any] = current_app.extensions.setdefault(f"portal_kept_{name}", {})
    html = store.get(key)
    if html is None:
        if len(store) >= MAX_ENTRIES:
            store.clear()
        html = store[key] = make()
    return html


def slot_token() -> str:
    """Stands for csrf_token() in a template rendered to be kept."""
    return TOKEN_SLOT


def with_token(html: Markup) -> Markup:
    """This request's CSRF token (the one Flask-WTF's forms and csrf_token() give) in the slot."""
    return html.replace(TOKEN_SLOT, generate_csrf()) if TOKEN_SLOT in html else html
