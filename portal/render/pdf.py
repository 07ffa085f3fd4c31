"""PDF rendering of the routine's forms (§5 of the spec): HTML/CSS templates through WeasyPrint.

Everything printed goes through here: filled forms (``render_pdf``) and blank paper forms
(``blank_pdf``), both from a form's one print template (``pdf_templates/<key>.html``: with
``data`` and ``meta`` it prints the values, with ``blank`` true it prints lines and boxes to fill
in by hand). Views call these functions and send the bytes.

Why it looks the way it does:
- WeasyPrint is imported lazily, inside the functions, so that app start-up and the CLI do not pay
  for it (about half a second); one ``FontConfiguration`` is shared by every render.
- Rendering may not reach the network or the file system outside ``pdf_templates/`` and ``static/``
  (spec §5): a locked URL fetcher serves only ``file:`` URLs below those folders and refuses the rest.
- PDFs are tagged (PDF/UA-1) with ``lang="sv"`` so that screen readers can read them; the title comes
  from the template's ``<title>`` and names only the form and the case number, never client data.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from flask import current_app, has_app_context

from ..clock import local, utcnow
from ..config import Defaults

if TYPE_CHECKING:  # pragma: no cover - typing only; weasyprint is imported lazily at run time
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher, URLFetcherResponse

ROUTINE_VERSION = "Rutin beslutad 2026-03-02"
HEADER = "Göteborgs Stad — Äldre samt vård- och omsorgsförvaltningen"

_REPO = Path(__file__).resolve().parents[2]
PDF_TEMPLATES: Path = _REPO / "pdf_templates"
STATIC: Path = _REPO / "static"

log = logging.getLogger(__name__)


class ForbiddenURLError(ValueError):
    """A template asked for a resource outside ``pdf_templates/`` and ``static/`` (spec §5).

    WeasyPrint catches it, logs that the resource could not be loaded and goes on rendering
    without it: nothing is fetched.
    """


# --- templates -------------------------------------------------------------------------------


def _isodate(value: date | datetime | str | None) -> str:
    """Dates print as ISO ``YYYY-MM-DD`` whether they come as ``date`` or ISO string."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PDF_TEMPLATES),
        autoescape=True,
        # A key missing from the context is a bug in the caller, not a blank on the paper.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["isodate"] = _isodate
    return env


def add_template_global(name: str, value: Any) -> None:
    """Give every print template a name for something that cannot change while the process runs
    (a form's layout: the checklist's sections), as a form module that owns it says."""
    _environment().globals[name] = value


_DEFAULT_CONFIG = {k: v for k, v in vars(Defaults).items() if k.isupper()}


def _now() -> str:
    return local(utcnow())


def _config() -> Mapping[str, Any]:
    """The settings a print template reads: the app's; the defaults outside an app."""
    return current_app.config if has_app_context() else _DEFAULT_CONFIG


def render_html(template: str, **context: Any) -> str:
    """Render a print template to HTML.

    The context always has ``header``, ``routine_version``, ``generated_at`` (Stockholm time,
    ``YYYY-MM-DD HH:MM``), ``config``, as the HTML templates have it (see :func:`_config`):
    unit-type labels, row counts and limits come from there, never written in a template, and
    ``blank`` (False: a filled print; see :func:`blank_html`). A caller may pass its own values
    for them.
    """
    defaults: dict[str, Any] = {
        "header": HEADER,
        "routine_version": ROUTINE_VERSION,
        "generated_at": _now(),
        "config": _config(),
        "blank": False,
    }
    return _environment().get_template(template).render({**defaults, **context})


def blank_html(template: str) -> str:
    """A form's print template as the blank paper form: no data, no meta, ``blank`` true."""
    return render_html(template, data=None, meta=None, blank=True)


# --- the locked URL fetcher -------------------------------------------------------------------

ALLOWED_ROOTS: tuple[Path, ...] = (PDF_TEMPLATES, STATIC)


def allowed_path(url: str, roots: Iterable[Path] = ALLOWED_ROOTS) -> Path:
    """The real path a ``file:`` URL points to, if it lies inside one of ``roots``.

    Raises :class:`ForbiddenURLError` for any other scheme (http, https, ftp, data, …), for a
    ``file:`` URL naming a host, and for a path that resolves (symlinks and ``..`` followed)
    outside the roots or to something that is not a regular file.
    """
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise ForbiddenURLError("malformed URL") from error
    scheme = parts.scheme.lower()
    if scheme != "file":
        raise ForbiddenURLError(f"scheme {scheme or '(none)'!r} is not allowed")
    if parts.netloc not in ("", "localhost"):
        raise ForbiddenURLError("file URL with a host is not allowed")
    try:
        path = Path(url2pathname(parts.path)).resolve(strict=True)  # url2pathname unquotes
    except (OSError, RuntimeError) as error:
        raise ForbiddenURLError("file does not exist") from error
    if not path.is_file():
        raise ForbiddenURLError("not a regular file")
    for root in roots:
        if path.is_relative_to(root.resolve()):
            return path
    raise ForbiddenURLError("file is outside pdf_templates/ and static/")


@functools.cache
def _fetcher_class() -> type[URLFetcher]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LockedURLFetcher(URLFetcher):
        """Serves files from ``pdf_templates/`` and ``static/``; refuses everything else.

        ``served`` and ``refused`` list the URLs asked for, so that a test (or a log line) can
        see what a render tried to reach.
        """

        def __init__(self, roots: Iterable[Path] = ALLOWED_ROOTS) -> None:
            # Redirects off and only `file` allowed, in case anything reached the parent's fetch.
            super().__init__(allowed_protocols=("file",), allow_redirects=False, timeout=1)
            self.roots = tuple(roots)
            self.served: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
            try:
                path = allowed_path(url, self.roots)
            except ForbiddenURLError as error:
                self.refused.append(url)
                # The reason only, not the URL: a URL could carry text that must not reach a log.
                log.warning("PDF rendering refused a resource: %s", error)
                raise
            self.served.append(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/"):
                content_type += "; charset=utf-8"
            return URLFetcherResponse(
                path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
            )

    return LockedURLFetcher


def make_url_fetcher(roots: Iterable[Path] = ALLOWED_ROOTS) -> Any:
    """A fresh locked fetcher (one per render, so its ``served``/``refused`` lists are its own)."""
    return _fetcher_class()(roots)


# --- PDF ---------------------------------------------------------------------------------------

_font_config: FontConfiguration | None = None
_font_config_lock = threading.Lock()
# WeasyPrint shares Pango font maps through the FontConfiguration and does not promise thread
# safety; renders in one process take turns. (gunicorn workers are processes: they do not wait.)
_render_lock = threading.Lock()


def _get_font_config() -> FontConfiguration:
    global _font_config
    if _font_config is None:
        with _font_config_lock:
            if _font_config is None:
                from weasyprint.text.fonts import FontConfiguration

                _font_config = FontConfiguration()
    return _font_config


STYLESHEET = "print.css"


@functools.cache
def _stylesheet_at_start() -> Any:
    return _parse_stylesheet()


def _developing() -> bool:
    """Development (debug or TEMPLATES_AUTO_RELOAD): the print templates and the stylesheet are
    looked at again on each render, so that an edit shows without a restart."""
    return has_app_context() and bool(
        current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD")
    )


def _parse_stylesheet() -> Any:
    from weasyprint import CSS

    return CSS(
        string=(PDF_TEMPLATES / STYLESHEET).read_text(encoding="utf-8"),
        base_url=PDF_TEMPLATES.as_uri() + "/",
        url_fetcher=make_url_fetcher(),
        font_config=_get_font_config(),
    )


def stylesheet() -> Any:
    """pdf_templates/print.css, parsed once per process (≈ 20 ms a render when each PDF linked
    and parsed it, bench/README.md); in development (see _developing) parsed anew."""
    return _parse_stylesheet() if _developing() else _stylesheet_at_start()


def warm() -> None:
    """Make WeasyPrint ready before the first user asks for a PDF: the import, the fonts, the
    stylesheet and one layout (the blank access order: tables, boxes, every font weight). gunicorn's master
    calls it before it forks the workers (gunicorn.conf.py), so that every worker inherits it and
    its first PDF costs what any other does (bench/README.md, target 9). Every print template is
    compiled too. Only what cannot change is kept: nothing of the rendered sheet."""
    env = _environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    html_to_pdf(blank_html("access_order.html"))


#: Every PDF is tagged PDF/UA-1, for screen readers.
PDF_VARIANT = "pdf/ua-1"


def html_to_pdf(html: str, *, forms: bool = False, url_fetcher: Any = None) -> bytes:
    """Turn print HTML into PDF bytes (PDF/UA-1, :data:`PDF_VARIANT`).

    ``forms`` makes HTML inputs into PDF form fields. ``url_fetcher`` defaults to a fresh locked
    fetcher; tests pass their own to see what was asked for. The print stylesheet
    (:func:`stylesheet`) is always applied: the templates do not link it. Nothing is embedded:
    a PDF carries what it prints and no more (issue 11 H2).
    """
    from weasyprint import HTML

    fetcher = url_fetcher if url_fetcher is not None else make_url_fetcher()
    options: dict[str, Any] = {
        "pdf_forms": forms or None,
        "pdf_variant": PDF_VARIANT,
        "stylesheets": [stylesheet()],
    }
    document = HTML(string=html, base_url=PDF_TEMPLATES.as_uri() + "/", url_fetcher=fetcher)
    font_config = _get_font_config()
    with _render_lock:
        pdf = document.write_pdf(font_config=font_config, **options)
    if not isinstance(pdf, bytes):  # write_pdf() without a target returns the bytes
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf


def render_pdf(template: str, **context: Any) -> bytes:
    """Render a print template with ``context`` to PDF: a form's print with ``data=`` and
    ``meta=`` (see :func:`render_html` for what every print gets; :func:`blank_pdf` for the blank
    one)."""
    return html_to_pdf(render_html(template, **context))


def _templates_fingerprint() -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the print templates: a change makes a new key."""
    with os.scandir(PDF_TEMPLATES) as entries:
        return tuple(
            sorted(
                (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
                for entry in entries
                if entry.is_file()
            )
        )


# `config.NAME`, `config["NAME"]` or `config.get("NAME"`: a setting a print template reads.
_CONFIG_READ = re.compile(
    r"""\bconfig\s*(?:\.\s*get\s*\(\s*["']|\[\s*["']|\.\s*)([A-Z][A-Z0-9_]*)"""
)


@functools.lru_cache(maxsize=4)
def _settings_read(fingerprint: tuple[tuple[str, int, int], ...]) -> tuple[str, ...]:
    """The settings the print templates name (every template: a blank form extends base.html and
    may include others). A template that reads a setting some other way (``config[name]``) must
    name it too, or its blank form would not follow a change of it."""
    names = {
        match.group(1)
        for path in sorted(PDF_TEMPLATES.glob("*.html"))
        for match in _CONFIG_READ.finditer(path.read_text(encoding="utf-8"))
    }
    return tuple(sorted(names))


@functools.lru_cache(maxsize=32)
def _blank_pdf(
    template: str,
    forms: bool,
    fingerprint: tuple[tuple[str, int, int], ...],
    settings: tuple[tuple[str, str], ...],
) -> bytes:
    return html_to_pdf(blank_html(template), forms=forms)


@functools.cache
def _fingerprint_at_start() -> tuple[tuple[str, int, int], ...]:
    return _templates_fingerprint()


def blank_pdf(template: str, forms: bool = False) -> bytes:
    """A form's print template as the blank paper form (:func:`blank_html`), rendered once per
    process and then served from memory; ``forms`` makes its inputs PDF form fields.

    The bytes are kept per template, ``forms``, the templates' files and the values of the
    settings the templates read (unit-type labels, row counts: :func:`_settings_read`), so a
    blank form never shows another app's or an older config. In production the templates change
    only with a deploy, which starts new processes, so the files are looked at once. In
    development (see _developing) the cache key holds their modification times on every request,
    so a template edit shows without a restart.
    """
    fingerprint = _templates_fingerprint() if _developing() else _fingerprint_at_start()
    config = _config()
    settings = tuple((name, repr(config.get(name))) for name in _settings_read(fingerprint))
    return _blank_pdf(template, forms, fingerprint, settings)
