"""Printed forms (spec §5): the access order (§3.1, routine §2.2) filled and blank, and the lock
that keeps rendering away from the network and from files outside the templates."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from portal.render import pdf

REPO = Path(__file__).resolve().parents[1]

NAMES = [
    "Anna Andersson",
    "Bengt Berg",
    "Cecilia Carlsson",
    "David Dahl",
    "Eva Ek",
    "Fredrik Fors",
    "Greta Gustafsson",
    "Hans Holm",
    "Ingrid Isaksson",
    "Johan Jönsson",
]


def make_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "case_number": "0655588",
        "city_district": "Hisingen",
        "unit_type": "myndighet",
        "unit_name": "Myndighet Hisingen 2",
        "persons": [
            {
                "action": "add" if i % 4 else "remove",
                "full_name": name,
                "username": f"{name.split()[0][:3].lower()}{100 + i}",
                "email": f"{name.split()[0].lower()}.{i}@goteborg.se",
                "position": "socialsekreterare",
            }
            for i, name in enumerate(NAMES)
        ],
        "valid_from": date(2026, 3, 10),
        "valid_to": "2027-03-09",
        "local_protection": True,
        "local_protection_until": date(2026, 6, 9),
        "local_protection_reason": "Akut hotbild, beslut från Skatteverket inväntas.",
        "justification": "Två socialsekreterare behövs under ansvarig handläggares frånvaro.",
    }
    order.update(changes)
    return order


META = {
    "created_at": "2026-03-10 09:14",
    "orderer": "Karin Kvist",
    "orderer_unit": "Myndighet Hisingen 2",
    "reference": "AO-7K3F",
    "status": "Inskickad",
    "distribution_list": "ÄVO Myndighet LVS admin sekretessbehörighet",
}


def text_of(data: bytes) -> str:
    """The PDF's text with every run of white space as one space (lines wrap anywhere)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


@pytest.fixture(scope="module")
def access_order_pdf() -> bytes:
    return pdf.render_pdf("access_order.html", data=make_order(), meta=META)


# --- the filled access order --------------------------------------------------------------------


def test_access_order_is_a_pdf_with_case_persons_header_and_page_numbers(
    access_order_pdf: bytes,
) -> None:
    assert access_order_pdf.startswith(b"%PDF")
    text = text_of(access_order_pdf)
    assert "0655588" in text
    assert "Hisingen" in text
    for name in NAMES:
        assert name in text
    assert "Sida 1 av" in text
    assert pdf.HEADER in text
    assert pdf.ROUTINE_VERSION in text
    assert "Lägg till" in text and "Ta bort" in text
    assert "max ett år i taget" in text.lower()
    assert "PIN-kod" in text
    assert "Skriv aldrig personnummer." in text


def test_access_order_title_names_form_and_case_number_only(access_order_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(access_order_pdf))
    assert reader.metadata is not None
    title = reader.metadata.title or ""
    assert title == "Behörighetsbeställning ärende 0655588"
    assert reader.metadata.author == "Göteborgs Stad"
    assert not any(name in title for name in NAMES)


def test_access_order_is_tagged_for_screen_readers_in_swedish(access_order_pdf: bytes) -> None:
    root = PdfReader(io.BytesIO(access_order_pdf)).root_object
    assert str(root["/Lang"]) == "sv"
    assert "/StructTreeRoot" in root
    mark_info = root["/MarkInfo"].get_object()
    assert isinstance(mark_info, DictionaryObject)
    assert mark_info["/Marked"]


def test_local_protection_part_only_when_requested() -> None:
    html = pdf.render_html(
        "access_order.html",
        data=make_order(
            local_protection=False,
            local_protection_until=None,
            local_protection_reason="",
            justification="",
        ),
        meta=META,
    )
    assert "Lokalt skydd" not in html
    assert "Motivering" not in html
    assert "Akut hotbild" not in html


def test_client_text_is_escaped_not_fetched() -> None:
    sneaky = make_order()
    sneaky["persons"][0]["full_name"] = '<img src="http://127.0.0.1:9/x.png">'
    html = pdf.render_html("access_order.html", data=sneaky, meta=META)
    assert '<img src="http://127.0.0.1:9/x.png">' not in html
    assert "&lt;img src=" in html


def test_protected_marking_is_printed_only_when_asked_for() -> None:
    plain = pdf.render_html("access_order.html", data=make_order(), meta=META)
    marked = pdf.render_html(
        "access_order.html", data=make_order(), meta=META, protected_marking=True
    )
    assert "SKYDDADE PERSONUPPGIFTER" not in plain
    # Under the title and in the running header of every page.
    assert marked.count("SKYDDADE PERSONUPPGIFTER") == 2


def test_context_always_has_header_version_and_generation_time() -> None:
    html = pdf.blank_html("access_order.html")
    assert pdf.HEADER in html
    assert pdf.ROUTINE_VERSION in html
    assert re.search(r"Skapad \d{4}-\d{2}-\d{2} \d{2}:\d{2}", html)
    assert '<html lang="sv">' in html


# --- the blank form --------------------------------------------------------------------------


def test_blank_access_order_has_the_routines_instructions_and_ten_rows() -> None:
    data = pdf.blank_pdf("access_order.html")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert 1 <= len(reader.pages) <= 2
    text = text_of(data)
    assert "ÄVO Myndighet LVS admin sekretessbehörighet" in text
    assert "Skriv aldrig personnummer." in text
    assert "max ett år i taget" in text
    assert "max tre månader" in text
    assert "Ange orsak" in text
    assert "Sida 1 av 2" in text or "Sida 1 av 1" in text
    html = pdf.blank_html("access_order.html")
    assert html.count('<td class="num">') == 10


def test_blank_pdf_is_rendered_once_and_served_from_memory() -> None:
    first = pdf.blank_pdf("access_order.html")
    second = pdf.blank_pdf("access_order.html")
    assert second == first
    assert second is first


def test_blank_pdf_is_rendered_anew_when_a_template_changes_in_development(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    with app.app_context():
        first = pdf.blank_pdf("access_order.html")
        monkeypatch.setattr(pdf, "_templates_fingerprint", lambda: (("changed", 1, 1),))
        again = pdf.blank_pdf("access_order.html")
    assert again is not first
    assert again.startswith(b"%PDF")


def test_blank_pdf_in_production_does_not_look_at_the_files_per_request(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with app.app_context():
        first = pdf.blank_pdf("access_order.html")

        def stat_templates() -> None:
            raise AssertionError("the template files are looked at on a request")

        monkeypatch.setattr(pdf, "_templates_fingerprint", stat_templates)
        assert pdf.blank_pdf("access_order.html") is first


def test_blank_pdf_follows_the_config_of_the_app(app: Flask) -> None:
    """Issue 12: the cached blank was kept per template only, so a second app (or a changed
    setting) got the first one's unit-type labels and rows. Kept per the settings the print
    templates read too."""
    with app.app_context():
        before = pdf.blank_pdf("access_order.html")
        app.config["UNIT_TYPES"] = {**app.config["UNIT_TYPES"], "myndighet": "Myndighetsenhet Test"}
        app.config["MAX_PERSON_ROWS"] = 3
        after = pdf.blank_pdf("access_order.html")
        assert pdf.blank_pdf("access_order.html") is after  # and that one is kept in turn
    assert "Myndighetsenhet Test" not in text_of(before)
    assert "Myndighetsenhet Test" in text_of(after)
    assert " 3 " in text_of(after) and " 4 " not in text_of(after).split("Befattning", 1)[1]


def test_blank_forms_name_the_configured_list_and_categories(app: Flask) -> None:
    """Issue 12 (item 6): the blank forms wrote the LVS list's name and the deviation categories
    themselves, whatever DISTRIBUTION_LISTS and DEVIATION_CATEGORIES said."""
    app.config["DISTRIBUTION_LISTS"] = {**app.config["DISTRIBUTION_LISTS"], "lvs": "LVS Testlista"}
    app.config["DEVIATION_CATEGORIES"] = {"fall": "Fall", "ny": "Ny kategori"}
    with app.app_context():
        order, actualisation, deviation = (
            pdf.blank_html(t) for t in ("access_order.html", "actualisation.html", "deviation.html")
        )
    assert "LVS Testlista" in order and "LVS Testlista" in actualisation
    assert "ÄVO Myndighet LVS" not in order + actualisation
    assert "Ny kategori" in deviation and "Läkemedel" not in deviation


@pytest.mark.parametrize("template", ["access_order.html", "actualisation.html", "deviation.html"])
def test_one_print_template_serves_the_blank_and_the_filled_form(template: str) -> None:
    """Issue 12: no blank_<form>.html beside the form's print. The blank one looks at no data
    (the environment is strict: a `data.x` the blank print printed would fail) and prints lines
    to write on, never the filled form's "—" for an empty value."""
    html = pdf.blank_html(template)
    assert 'class="write-line"' in html
    assert "None" not in html
    assert ">—<" not in html
    assert not (pdf.PDF_TEMPLATES / f"blank_{template}").exists()


# --- no network, no files outside the templates --------------------------------------------------

FORBIDDEN = [
    "file:///etc/passwd",
    "http://127.0.0.1:9/x.png",
    "https://example.org/logo.png",
    "ftp://127.0.0.1/x.png",
    "file://otherhost/etc/passwd",
    (pdf.PDF_TEMPLATES / "..").as_uri() + "/pyproject.toml",
    pdf.PDF_TEMPLATES.as_uri() + "/../pyproject.toml",
    pdf.PDF_TEMPLATES.as_uri() + "/",
    pdf.PDF_TEMPLATES.as_uri() + "/does-not-exist.css",
]


@pytest.mark.parametrize("url", FORBIDDEN)
def test_fetcher_refuses_anything_outside_the_templates(url: str) -> None:
    fetcher = pdf.make_url_fetcher()
    with pytest.raises(pdf.ForbiddenURLError):
        fetcher.fetch(url)
    assert fetcher.refused == [url]
    assert fetcher.served == []


def test_fetcher_serves_print_css_from_the_templates() -> None:
    fetcher = pdf.make_url_fetcher()
    url = (pdf.PDF_TEMPLATES / "print.css").as_uri()
    response = fetcher.fetch(url)
    try:
        assert b"@page" in response.read()
        assert response.content_type == "text/css"
    finally:
        response.close()
    assert fetcher.served == [url]


def test_fetcher_does_not_follow_a_symlink_out_of_an_allowed_folder(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    secret = tmp_path / "secret.css"
    secret.write_text("p { color: red }")
    (allowed / "innocent.css").symlink_to(secret)
    fetcher = pdf.make_url_fetcher(roots=[allowed])
    with pytest.raises(pdf.ForbiddenURLError):
        fetcher.fetch((allowed / "innocent.css").as_uri())


def test_rendering_fetches_nothing_outside_the_templates_and_still_succeeds() -> None:
    # A listening socket that would see any connection attempt the renderer made.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        html = pdf.blank_html("access_order.html").replace(
            "</body>",
            '<img src="file:///etc/passwd" alt="">'
            '<img src="http://127.0.0.1:9/x.png" alt="">'
            f'<img src="http://127.0.0.1:{port}/y.png" alt="">'
            '<link rel="stylesheet" href="file:///etc/passwd">'
            '<link rel="stylesheet" href="../pyproject.toml">'
            "</body>",
        )
        fetcher = pdf.make_url_fetcher()
        data = pdf.html_to_pdf(html, url_fetcher=fetcher)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert data.startswith(b"%PDF")
    assert "Behörighetsbeställning" in text_of(data)
    assert set(fetcher.refused) == {
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.png",
        f"http://127.0.0.1:{port}/y.png",
        (REPO / "pyproject.toml").as_uri(),
    }
    # The print stylesheet is parsed once per process (pdf.stylesheet()), not fetched per render.
    assert fetcher.served == []


def test_a_print_carries_what_it_prints_and_nothing_embedded(access_order_pdf: bytes) -> None:
    """Issue 11 H2, issue 12: no PDF embeds files any more (the attachment plumbing is gone)."""
    for data in (access_order_pdf, pdf.blank_pdf("access_order.html")):
        reader = PdfReader(io.BytesIO(data))
        assert reader.attachments == {}
        assert "/EmbeddedFiles" not in str(reader.root_object.get("/Names", {}))


# --- templates and start-up ------------------------------------------------------------------


def test_print_templates_use_no_flexbox_or_grid() -> None:
    pattern = re.compile(r"display\s*:\s*(inline-)?(flex|grid)", re.IGNORECASE)
    files = sorted(pdf.PDF_TEMPLATES.glob("*"))
    assert files
    for path in files:
        assert not pattern.search(path.read_text(encoding="utf-8")), path.name


def test_weasyprint_is_not_imported_at_start_up() -> None:
    code = "import sys, portal.render.pdf; sys.exit('weasyprint' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()


def test_gunicorns_master_readies_weasyprint_before_it_forks_the_workers() -> None:
    """bench/README.md, target 9: the first PDF of a worker costs what any other does, because
    the master (gunicorn.conf.py `when_ready`, called before the workers are forked) has
    imported WeasyPrint, made its fonts and parsed the stylesheet."""
    import runpy

    from portal.render import pdf

    root = Path(__file__).resolve().parent.parent
    when_ready = runpy.run_path(str(root / "gunicorn.conf.py"))["when_ready"]
    pdf._stylesheet_at_start.cache_clear()
    when_ready(None)
    assert "weasyprint" in sys.modules
    assert pdf._stylesheet_at_start.cache_info().currsize == 1
    assert pdf._font_config is not None
