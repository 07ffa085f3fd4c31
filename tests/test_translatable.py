"""Every text a user reads on a page goes through gettext (SPEC §1.6, issue 14 item 12): no bare
Swedish in the HTML templates or in static/.

Each template under templates/ (``*.html``) is read twice, with no app and no database:

- by Jinja's lexer, as HTML with every ``{{ … }}`` and ``{% … %}`` taken out and the inside of
  every ``{% trans %}`` block blanked: any text between tags, and any attribute a user sees or
  hears (``alt``, ``title``, ``placeholder``, ``aria-label``, a button's ``value``…), that still
  holds a letter was written bare;
- by Jinja's parser, for string constants that reach the page outside ``_()``/``gettext`` calls:
  written out (``{{ 'Fel: ' if errors }}``), handed to a macro (``field(f, hint='…')``), set as
  a variable, or looped over.

``static/js/portal.js`` holds no text of its own: what it shows comes from ``data-`` attributes
that the templates fill through gettext.

Not covered, on purpose: ``templates/messages/*.txt`` are the messages pasted into Treserva, the
routine's Swedish documents rather than the portal's pages (as the subjects, built in Python; the
checklist's is read back at the next follow-up, portal/forms/checklist/schema.py), and
``pdf_templates/`` are the printed forms (part of the paper kit, outside templates/).

A text that is not language (a code, a unit of measure) goes in ALLOWED with its reason."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
JS = ROOT / "static" / "js" / "portal.js"
PAGES = sorted(p for p in TEMPLATES.rglob("*.html"))

# Only lexed and parsed, never rendered; autoescape as the app has it.
ENV = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)

#: (template relative to templates/, text) -> why it is not translated. Keep it small.
ALLOWED: dict[tuple[str, str], str] = {
    # A datalist's options are values the form posts and the server compares with
    # (portal/forms/actualisation.py INDIVIDUAL): translating them would change what is posted.
    ("forms/actualisation.html", "den enskilde"): "posted value, compared by the server",
    # The message as SPEC §6 fixes its text (line 1 "Till: …", line 2 "Ämne: …"; Message.as_text
    # in portal/render/messages.py writes the same words): pasted into Treserva, not the page's.
    ("forms/handover_result.html", "Till: … Ämne: … …"): "the message text of SPEC §6",
}

#: Attributes whose value a user sees or hears.
VISIBLE_ATTRIBUTES = frozenset(
    {"alt", "title", "placeholder", "aria-label", "aria-description", "aria-roledescription",
     "aria-valuetext", "label"}
)
#: Names of the gettext functions (and the {% trans %} blocks, which Jinja makes calls to them).
GETTEXT = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext"})

LETTER = re.compile(r"[^\W\d_]")
#: A string constant that is code, not language: an endpoint, a file, a class, an id (one token,
#: lower-case ASCII). A lone lower-case ASCII word is taken for code too: the price of no noise.
CODE = re.compile(r"[a-z0-9_\-./#:%?=&\[\]]*")
# What stands in for Jinja in the HTML: an expression's value (no letters), a statement.
VALUE, STATEMENT, BLANK = "·", " ", "·"


def _has_letter(text: str) -> bool:
    return bool(LETTER.search(text))


def _keep_lines(value: str, mark: str) -> str:
    """``mark`` with as many line breaks as ``value``, so that line numbers stay the template's."""
    return mark + "\n" * value.count("\n")


def as_html(source: str) -> str:
    """The template as the HTML it writes, Jinja taken out and {% trans %} blocks blanked."""
    out: list[str] = []
    in_trans = False
    tag: str | None = None  # "block" or "variable" while inside {% … %} / {{ … }}
    first_name: str | None = None
    for _lineno, kind, value in ENV.lex(source):
        if kind == "data":
            out.append(_keep_lines(value, BLANK) if in_trans else value)
            continue
        out.append(_keep_lines(value, ""))
        if kind == "block_begin":
            tag, first_name = "block", None
        elif kind == "variable_begin":
            tag = "variable"
            out.append("" if in_trans else VALUE)
        elif kind == "name" and tag == "block" and first_name is None:
            first_name = value
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        elif kind == "block_end":
            tag = None
            out.append(STATEMENT)
        elif kind == "variable_end":
            tag = None
    return "".join(out)


class _Texts(HTMLParser):
    """Collects (line, text) of every bare text and visible attribute with a letter in it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value" and values.get("type") in ("submit", "button", "reset")
            )
            if visible and value and _has_letter(value):
                self.found.append((self.getpos()[0], value.strip()))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip or not _has_letter(data):
            return
        line = self.getpos()[0] + data[: len(data) - len(data.lstrip())].count("\n")
        self.found.append((line, " ".join(data.replace(VALUE, "…").split())))


def bare_html_texts(source: str) -> list[tuple[int, str]]:
    parser = _Texts()
    parser.feed(as_html(source))
    parser.close()
    return parser.found


def _is_gettext(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name in GETTEXT
    )


def _written(node: nodes.Node | None) -> list[nodes.Const]:
    """The string constants an expression can write out, gettext calls left out."""
    if node is None or _is_gettext(node):
        return []
    if isinstance(node, nodes.Const):
        return [node] if isinstance(node.value, str) else []
    if isinstance(node, nodes.CondExpr):
        return _written(node.expr1) + _written(node.expr2)
    if isinstance(node, nodes.Concat):
        return [c for n in node.nodes for c in _written(n)]
    if isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        return _written(node.node) + [c for n in node.args for c in _written(n)]
    if isinstance(node, nodes.Filter | nodes.MarkSafe | nodes.MarkSafeIfAutoescape):
        return _written(node.expr if not isinstance(node, nodes.Filter) else node.node)
    if isinstance(node, nodes.List | nodes.Tuple):
        return [c for n in node.items for c in _written(n)]
    return []


def _outside_gettext(node: nodes.Node) -> list[nodes.Node]:
    """Every node of the tree, but not those inside a gettext call."""
    out: list[nodes.Node] = []
    for child in node.iter_child_nodes():
        if _is_gettext(child):
            continue
        out.append(child)
        out.extend(_outside_gettext(child))
    return out


def bare_constants(source: str) -> list[tuple[int, str]]:
    """String constants a page shows, written outside gettext."""
    found: list[nodes.Const] = []
    for node in _outside_gettext(ENV.parse(source)):
        if isinstance(node, nodes.Output):
            found += [c for n in node.nodes for c in _written(n)]
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
            # A macro's arguments (a hint, a label) are shown by the macro.
            args = [*node.args, *(kw.value for kw in node.kwargs)]
            found += [c for a in args for c in _written(a)]
        elif isinstance(node, nodes.Assign):
            found += _written(node.node)
        elif isinstance(node, nodes.For):
            found += _written(node.iter)
    return [
        (c.lineno, str(c.value).strip())
        for c in found
        if _has_letter(str(c.value)) and not CODE.fullmatch(str(c.value).strip())
    ]


def bare_texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every text the template writes outside gettext, allowed or not."""
    source = path.read_text(encoding="utf-8")
    return sorted(set(bare_html_texts(source) + bare_constants(source)))


def untranslated(path: Path) -> list[str]:
    name = path.relative_to(TEMPLATES).as_posix()
    return [
        f"{name}:{line}: {text!r}"
        for line, text in bare_texts(path)
        if (name, text) not in ALLOWED
    ]


# --- the checker itself: it finds what it should, and nothing else -----------------------------


def test_the_checker_finds_bare_text_and_passes_translated_text() -> None:
    source = (
        '{% extends "base.html" %}{% block title %}Kön{% endblock %}\n'
        '<p>{% trans %}Översatt text{% endtrans %} {{ _("Också översatt") }}</p>\n'
        '<nav aria-label="Sidor i kön"><a href="{{ url_for(\'lvs.queue\', page=2) }}">Nästa</a>'
        "</nav>\n"
        "<td>{{ age }} dagar</td><td>{{ 'Fel: ' if errors }}</td>\n"
        "{{ field(form.x, hint='En ledtråd', class_='info-date') }}\n"
        '<tr{% if s.flagged %} class="flagged"{% endif %}><td>–</td><td>(§2.4)</td></tr>\n'
        '<img alt="{{ _(\'Logga\') }}"><input type="submit" value="Skicka">\n'
        "{# a comment with words #}<!-- an HTML comment -->\n"
        "{% trans n=2 %}{{ n }} rad{% pluralize %}{{ n }} rader{% endtrans %}\n"
    )
    found = sorted(set(bare_html_texts(source) + bare_constants(source)))
    assert found == [
        (1, "Kön"),
        (3, "Nästa"),
        (3, "Sidor i kön"),
        (4, "Fel:"),
        (4, "… dagar"),
        (5, "En ledtråd"),
        (7, "Skicka"),
    ]


def test_allowed_texts_are_still_in_their_templates() -> None:
    """An allowance whose text has gone is removed, so the list stays small and true."""
    for (name, text), reason in ALLOWED.items():
        assert reason
        assert text in [t for _line, t in bare_texts(TEMPLATES / name)], (name, text)


# --- the templates and static/ ------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(TEMPLATES).as_posix() for p in PAGES])
def test_every_text_of_a_template_goes_through_gettext(path: Path) -> None:
    assert untranslated(path) == []


def _js_strings(source: str) -> list[str]:
    source = re.sub(r"^\s*//.*$", "", source, flags=re.M)
    return [m.group(2) for m in re.finditer(r"(['\"])((?:\\.|(?!\1).)*)\1", source)]


def _prose(text: str) -> bool:
    """A JavaScript string that reads as language, not as a selector, event or attribute name."""
    if not _has_letter(text):
        return False
    return bool(
        re.search(r"[^\x00-\x7f]", text)
        or re.search(r"[^\W\d_]\s+[^\W\d_]", text)
        or re.fullmatch(r"[A-ZÅÄÖ][a-zåäö]+[.!?:]?", text)
    )


def test_the_script_has_no_text_of_its_own() -> None:
    assert [s for s in _js_strings(JS.read_text(encoding="utf-8")) if _prose(s)] == []


def test_the_script_reads_its_texts_from_attributes_the_templates_translate() -> None:
    """Each data- attribute the script shows as text is set in a template, through gettext."""
    source = JS.read_text(encoding="utf-8")
    read = set(re.findall(r"[\"'](data-[a-z-]+)[\"']", source))
    read |= {
        "data-" + re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), name)
        for name in re.findall(r"dataset\.([A-Za-z]+)", source)
    }
    texts = read - {"data-copy-target"}  # an element's id, not a text
    assert texts, "the script shows no text from the templates"
    pages = {p: p.read_text(encoding="utf-8") for p in PAGES}
    for attribute in sorted(texts):
        values = [
            m.group(1)
            for text in pages.values()
            for m in re.finditer(rf'{attribute}="([^"]*)"', text)
        ]
        assert values, f"{attribute} is set in no template"
        for value in values:
            assert re.fullmatch(r"\{\{\s*_\(.*\)\s*\}\}", value), (attribute, value)
