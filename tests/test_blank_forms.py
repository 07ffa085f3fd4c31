"""Blank paper forms (spec §5, §6: GET /blank/<form>.pdf): every form kind with a blank is served
from its own print template, found through the registry, and the day-note sheet beside them."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from pypdf import PdfReader

from portal.forms import FORMS
from portal.render import pdf
from portal.views.blank import blank_filename, blanks


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def test_the_blanks_are_the_registrys_forms_with_a_blank_and_the_day_note_sheet() -> None:
    expected = {kind.slug: kind.pdf_template for kind in FORMS.values() if kind.has_blank}
    assert set(expected) == {"access-order", "actualisation", "checklist", "deviation",
                             # issue 16, part B: the envelope sheets
                             "inner-envelope", "envelope-label",
                             # issue 16, part A: the cover sheet of the check before disclosing
                             "disclosure-check"}
    # The paper kit's sheets, which are no form kind (issue 16, part C: portal/paper_kit.py).
    kit = {"day-notes": "day_notes.html", "action-plan": "action_plan.html",
           "key-receipt": "key_receipt.html", "file-record": "file_record.html",
           "out-of-hours-short-term": "out_of_hours_short_term.html",
           "out-of-hours-home-care": "out_of_hours_home_care.html",
           "out-of-hours-alarm": "out_of_hours_alarm.html"}
    assert blanks() == {**expected, **kit}
    # A form's blank is its one print template (pdf_templates/<key>.html), not a blank_ copy.
    assert all(template == f"{slug.replace('-', '_')}.html" for slug, template in blanks().items())


def test_every_blank_is_served_from_its_print_template_with_no_data(
    app: Flask, as_user: Any
) -> None:
    staff = as_user("staff")
    for name, template in blanks().items():
        resp = staff.get(f"/blank/{name}.pdf")
        assert resp.status_code == 200, name
        assert resp.mimetype == "application/pdf"
        # Swedish, ASCII, no date (issue 14 item 10): blankett-behorighetsbestallning.pdf …
        filename = blank_filename(name)
        assert resp.headers["Content-Disposition"] == f'inline; filename="{filename}"'
        assert re.fullmatch(r"blankett-[a-z]+(-[a-z]+)*\.pdf", filename), filename
        with app.app_context():
            assert resp.data == pdf.blank_pdf(template), name
        assert "Sida 1 av" in _text(resp.data)


def test_the_fillable_variant_is_named_as_such_and_a_form_without_a_blank_is_404(
    as_user: Any,
) -> None:
    staff = as_user("staff")
    resp = staff.get("/blank/deviation.pdf?fillable=1")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert (
        resp.headers["Content-Disposition"]
        == 'inline; filename="blankett-reservrapport-avvikelse-ifyllbar.pdf"'
    )
    without = [kind.slug for kind in FORMS.values() if not kind.has_blank]
    assert without  # the render-only messages have no paper form
    for slug in without:
        assert staff.get(f"/blank/{slug}.pdf").status_code == 404, slug


def test_no_print_template_is_a_blank_copy_of_another() -> None:
    """Issue 12 item 5: blank and filled PDFs of every form from one template."""
    assert sorted(p.name for p in pdf.PDF_TEMPLATES.glob("blank_*")) == []
