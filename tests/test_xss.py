"""Script in a field stays text (ASVS V5.3): a payload in every free-text field of every form comes
out escaped in the HTML pages (the form page on 422, the submission page, the result page of the
render-only forms, the register, the day-notes pages), as the same literal text in the text/plain
messages, and as printed text in the PDFs: WeasyPrint never sees it as markup, so it fetches
nothing it names (file:///etc/passwd, http://127.0.0.1:…)."""
from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pypdf import PdfReader
from test_input import VALID, fields_of, is_date, is_text, max_length, poster  # noqa: F401
from test_routes_by_role import created_id

from portal.forms import FORMS
from portal.forms.envelopes import AddressLines
from portal.render import pdf

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
SHORT = "\"'><svg onload=alert(1)>"  # for fields shorter than PAYLOAD
# Fields whose format a rule checks (digits, an address, a number): they refuse any payload, so
# they carry it only in the 422 test.
FORMAT_FIELDS = {"case_number", "personnummer", "email", "version", "username"}


def payload_for(f: Any) -> str:
    if any(isinstance(v, AddressLines) for v in f.validators):
        # An address of short lines (the envelope sheets, issue 16 part B): the payload on two.
        return PAYLOAD.replace("><img", ">\n<img")
    limit = max_length(f) or len(PAYLOAD)
    return PAYLOAD if limit >= len(PAYLOAD) else SHORT[:limit]


# --- what "inert" means -----------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every element and attribute of a page, and the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_bodies.append(data)


def assert_inert(page: str, shown: tuple[str, ...] = (PAYLOAD,)) -> None:
    """No element or attribute came from a payload, and each payload in `shown` is on the page
    as escaped text (so the check is not passing on a page that simply dropped it)."""
    elements = _Elements()
    elements.feed(page)
    assert not elements.script_bodies
    for tag, attrs in elements.tags:
        assert tag not in ("svg", "style"), tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        if tag == "img":
            assert attrs.get("src") != "x", attrs
    for text in (PAYLOAD, SHORT):
        assert text not in page
    for text in shown:
        assert str(escape(text)) in page, text


def html(resp: Any) -> str:
    assert resp.mimetype == "text/html", resp.mimetype
    return resp.get_data(as_text=True)


def flat(text: str) -> str:
    return "".join(text.split())


def pdf_text(body: bytes) -> str:
    return flat(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages))


def assert_printed_as_text(body: bytes, *texts: str) -> None:
    assert body.startswith(b"%PDF-")
    printed = pdf_text(body)
    for text in texts:
        assert flat(text) in printed, text
    for page in PdfReader(io.BytesIO(body)).pages:  # no image came from an <img> in a field
        resources = page.get("/Resources") or {}
        xobjects = resources.get("/XObject") or {}
        assert not any(xobjects[name].get("/Subtype") == "/Image" for name in xobjects)


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every locked URL fetcher a render makes: what each was asked for."""
    made: list[Any] = []
    real = pdf.make_url_fetcher

    def recording(*args: Any, **kwargs: Any) -> Any:
        fetcher = real(*args, **kwargs)
        made.append(fetcher)
        return fetcher

    monkeypatch.setattr(pdf, "make_url_fetcher", recording)
    yield made


def assert_fetched_only_templates(made: list[Any]) -> None:
    assert made, "no PDF was rendered"
    roots = [pdf.PDF_TEMPLATES.resolve(), pdf.STATIC.resolve()]
    for fetcher in made:
        assert fetcher.refused == []
        for url in fetcher.served:
            assert url.startswith("file://"), url
            path = Path(url.removeprefix("file://")).resolve()
            assert any(path.is_relative_to(root) for root in roots), url


# --- the forms --------------------------------------------------------------------------------


def text_fields(app: Flask, slug: str) -> list[Any]:
    return [f for f in fields_of(app, FORMS[slug].form_class) if is_text(f)]


def with_payloads(app: Flask, slug: str, every: bool) -> tuple[dict[str, str], tuple[str, ...]]:
    """A valid post of `slug` with a payload in each free-text field (`every`: in the format
    fields as well, which makes the post invalid)."""
    data = VALID[slug][1]()
    used = set()
    for f in text_fields(app, slug):
        if every or f.short_name not in FORMAT_FIELDS:
            data[f.name] = payload_for(f)
            used.add(data[f.name])
    if slug == "checklist":
        data["fictional_name_agreed"] = "yes"
    return data, tuple(used)


@pytest.mark.parametrize("slug", list(VALID))
def test_the_form_page_of_a_refused_post_shows_the_payload_as_text(
        app: Flask, poster: Callable[[str], FlaskClient], slug: str) -> None:
    data, used = with_payloads(app, slug, every=True)
    dates = [f for f in fields_of(app, FORMS[slug].form_class) if is_date(f)]
    if dates:  # refused for certain, whatever the text fields hold
        data[dates[0].name] = "x"
    elif slug == "envelope-label":  # names and addresses only: refused by an empty one
        data["recipient_name"] = ""
    resp = poster(slug).post(f"/forms/{slug}", data=data)
    assert resp.status_code == 422
    assert_inert(html(resp), used)


RENDER_ONLY = [slug for slug, spec in FORMS.items() if spec.storage == "none"]
STORED = [slug for slug, spec in FORMS.items() if spec.storage != "none"]
# Who reads a stored form's content: LVS the access orders and actualisations, the unit's
# managers the deviation reports (and the reporter until it is registered).
READERS = {"access-order": ("manager", "lvs"), "actualisation": ("lvs",),
           "deviation": ("staff", "hemtjanst_manager")}
# Render-only forms whose result page (a post without as_pdf) shows none of the values, escaped
# or not: the envelope sheets (issue 16, part B; the inner envelope's holds a personnummer).
SHOWS_NO_VALUES = {"inner-envelope", "envelope-label"}


def test_the_lists_cover_every_form() -> None:
    assert set(RENDER_ONLY) | set(STORED) == set(VALID)
    assert set(READERS) == set(STORED)


@pytest.mark.parametrize("slug", [s for s in RENDER_ONLY
                                  if s not in ("trygghetsjouren", "handover")])
def test_render_only_forms_show_and_print_the_payload_as_text(
        app: Flask, poster: Callable[[str], FlaskClient], fetches: list[Any], slug: str) -> None:
    data, used = with_payloads(app, slug, every=False)
    assert used
    client = poster(slug)
    resp = client.post(f"/forms/{slug}", data=data)
    assert resp.status_code == 200
    page = html(resp)
    assert_inert(page, () if slug in SHOWS_NO_VALUES else used)
    if slug in SHOWS_NO_VALUES:
        assert not any(str(escape(value)) in page for value in used)
    assert "error-summary" not in page
    body = client.post(f"/forms/{slug}", data={**data, "as_pdf": "1"})
    assert body.mimetype == "application/pdf"
    assert_printed_as_text(body.data, *used)
    assert_fetched_only_templates(fetches)


def test_trygghetsjouren_has_no_free_text(app: Flask) -> None:
    """§8.5: the case number only; nothing but the 422 page can show a payload."""
    assert [f.short_name for f in text_fields(app, "trygghetsjouren")] == ["case_number"]


def test_a_hand_over_has_no_free_text(app: Flask) -> None:
    """SPEC §3.6: the case number only; nothing but the 422 page can show a payload."""
    assert [f.short_name for f in text_fields(app, "handover")] == ["case_number"]


@pytest.mark.parametrize("slug", STORED)
def test_a_stored_submission_shows_prints_and_sends_the_payload_as_text(
        app: Flask, poster: Callable[[str], FlaskClient], as_user: Callable[[str], FlaskClient],
        fetches: list[Any], slug: str) -> None:
    data, used = with_payloads(app, slug, every=False)
    assert used
    public_id = created_id(poster(slug).post(f"/forms/{slug}", data=data), "/submissions/")
    for reader in READERS[slug]:
        client = as_user(reader)
        assert_inert(html(client.get(f"/submissions/{public_id}")), used)
        message = client.get(f"/submissions/{public_id}/message")
        assert message.mimetype == "text/plain"
        assert message.headers["X-Content-Type-Options"] == "nosniff"
        text = message.get_data(as_text=True)
        for value in used:
            assert value in text  # literal: a text message is not HTML
        assert "&lt;" not in text and "&#34;" not in text
        exported = client.get(f"/submissions/{public_id}.json")
        assert exported.mimetype == "application/json"
        assert set(used) <= {v for v in _strings(exported.get_json())}
        assert_printed_as_text(client.get(f"/submissions/{public_id}/pdf").data, *used)
    assert_fetched_only_templates(fetches)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_the_register_and_start_page_show_granted_names_as_text(
        app: Flask, as_user: Callable[[str], FlaskClient]) -> None:
    data, used = with_payloads(app, "access-order", every=False)
    public_id = created_id(as_user("manager").post("/forms/access-order", data=data),
                           "/submissions/")
    lvs = as_user("lvs")
    assert lvs.post(f"/lvs/submissions/{public_id}/done",
                    data={"reply": PAYLOAD, "version": "1"}).status_code == 303
    manager = as_user("manager")
    for client in (lvs, manager):
        assert_inert(html(client.get("/register")), used)
    assert_inert(html(manager.get("/")), ())
    assert_inert(html(manager.get(f"/submissions/{public_id}")), (PAYLOAD,))  # the LVS reply
    assert_inert(html(lvs.get("/lvs/queue")), ())
    assert_inert(html(as_user("admin").get("/audit")), ())


# --- day notes ----------------------------------------------------------------------------------


def test_day_notes_pages_and_sheet_show_the_payload_as_text(
        app: Flask, as_user: Callable[[str], FlaskClient], fetches: list[Any]) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    name = PAYLOAD  # 56 characters: within the fictional name's 120
    file_id = created_id(manager.post("/day-notes/", data={"fictional_name": name}),
                         "/day-notes/")
    assert staff.post(f"/day-notes/{file_id}/notes", data={"text": PAYLOAD}).status_code == 303
    for client in (staff, manager):
        assert_inert(html(client.get("/day-notes/")), (name,))
        assert_inert(html(client.get(f"/day-notes/{file_id}")), (name,))
    assert_inert(html(manager.get(f"/day-notes/{file_id}/compile")), (PAYLOAD,))
    # Refused (a personnummer in the text): the page keeps the input, as text.
    refused = staff.post(f"/day-notes/{file_id}/notes",
                         data={"text": PAYLOAD + " 19121212-1212"})
    assert refused.status_code == 422
    assert_inert(html(refused), (PAYLOAD + " 19121212-1212",))
    refused = manager.post("/day-notes/", data={"fictional_name": PAYLOAD + " 19121212-1212"})
    assert refused.status_code == 422
    assert_inert(html(refused), (PAYLOAD + " 19121212-1212",))
    sheet = staff.get(f"/day-notes/{file_id}/sheet.pdf")
    assert sheet.mimetype == "application/pdf"
    assert_printed_as_text(sheet.data, name)
    assert_fetched_only_templates(fetches)


# --- markup that would fetch: nothing is fetched ------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, int]]:
    """A local port that notices any connection (the renderer must never make one)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.setblocking(False)
    yield srv, srv.getsockname()[1]
    srv.close()


def no_connection(srv: socket.socket) -> bool:
    try:
        conn, _ = srv.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


def fetching_markup(port: int) -> list[str]:
    return ['<img src="file:///etc/passwd">', '<link href="http://127.0.0.1:9/x">',
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">',
            f'<img src="http://127.0.0.1:{port}/pixel.png">']


def test_fetching_markup_in_a_deviation_report_fetches_nothing(
        app: Flask, as_user: Callable[[str], FlaskClient], fetches: list[Any],
        listener: tuple[socket.socket, int]) -> None:
    srv, port = listener
    markup = fetching_markup(port)
    # handed_to is chosen among the unit's managers and planners: the markup goes in the texts.
    data = VALID["deviation"][1](description=" ".join(markup),
                                 immediate_action=f"{markup[0]} {markup[3]}",
                                 fictional_name=markup[1])
    staff = as_user("staff")
    public_id = created_id(staff.post("/forms/deviation", data=data), "/submissions/")
    body = as_user("hemtjanst_manager").get(f"/submissions/{public_id}/pdf").data
    assert_printed_as_text(body, *markup)
    assert "root:" not in pdf_text(body)
    assert_fetched_only_templates(fetches)
    assert no_connection(srv)


def test_fetching_markup_in_a_checklist_pdf_fetches_nothing(
        app: Flask, as_user: Callable[[str], FlaskClient], fetches: list[Any],
        listener: tuple[socket.socket, int]) -> None:
    srv, port = listener
    markup = fetching_markup(port)
    data = VALID["checklist"][1](threat_picture="\n".join(markup), home_visits=markup[0],
                                 outings=markup[2])
    resp = as_user("secretary").post("/forms/checklist", data={**data, "as_pdf": "1"})
    assert resp.mimetype == "application/pdf"
    assert_printed_as_text(resp.data, *markup)
    assert_fetched_only_templates(fetches)
    assert no_connection(srv)
    # No data travels in the PDF (issue 11, H2): nothing embedded beside the printed text.
    assert PdfReader(io.BytesIO(resp.data)).attachments == {}


def test_the_locked_fetcher_is_what_stops_markup_that_does_reach_weasyprint(
        fetches: list[Any], listener: tuple[socket.socket, int]) -> None:
    """Defence in depth: were a template ever to print a field unescaped, the fetcher refuses."""
    srv, port = listener
    body = pdf.html_to_pdf("<p>x</p>" + "".join(fetching_markup(port)))
    refused = [url for fetcher in fetches for url in fetcher.refused]
    assert "file:///etc/passwd" in refused
    assert f"http://127.0.0.1:{port}/x.css" in refused
    assert "root:" not in pdf_text(body)
    assert no_connection(srv)
