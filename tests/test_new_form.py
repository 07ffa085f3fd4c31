"""STYLE.md's promise, shown: a new stored form is one module and its templates, with no edit
elsewhere (issue 12). The form is tests/new_form/: forms/key_receipt.py and its four templates.

The test puts the module where `portal.forms` looks for forms (the package's path) and the
templates where the portal looks for page and print templates, exactly as if the files had been
added to portal/forms/, templates/ and pdf_templates/; then it walks the whole path over HTTP."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from conftest import html
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from portal import forms
from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, Submission
from portal.render import pdf as pdf_render

HERE = Path(__file__).parent / "new_form"
CASE = "0655588"
NAME = "Rosa Lind"


@pytest.fixture
def new_form(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[forms.FormKind]:
    monkeypatch.setattr(forms, "__path__", [*forms.__path__, str(HERE / "forms")])
    found = forms.discover(forms.__path__)
    kind = found["key_receipt"]
    # The registry found it beside every form of the portal, with nothing listed anywhere.
    assert set(found) == {*forms.BY_KEY, "key_receipt"}
    monkeypatch.setitem(forms.BY_KEY, kind.key, kind)
    monkeypatch.setitem(forms.FORMS, kind.slug, kind)
    monkeypatch.setattr(app, "jinja_loader", jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(HERE / "templates"), app.jinja_loader]))
    monkeypatch.setattr(app.jinja_env, "loader", app.jinja_loader)
    env = pdf_render._environment()
    monkeypatch.setattr(env, "loader", jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(HERE / "pdf_templates"), env.loader]))
    yield kind
    sys.modules.pop("portal.forms.key_receipt", None)
    importlib.invalidate_caches()


def pdf_text(body: bytes) -> str:
    import io

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_a_new_stored_form_is_one_module_and_its_templates(
        app: Flask, as_user, new_form: forms.FormKind) -> None:
    manager, lvs, staff = as_user("manager"), as_user("lvs"), as_user("staff")

    # Listed on the start page of those who may submit it, refused to others (403).
    assert "Kvittens av nycklar" in html(manager.get("/"))
    assert "Kvittens av nycklar" not in html(staff.get("/"))
    assert staff.get("/forms/key-receipt").status_code == 403
    page = html(manager.get("/forms/key-receipt"))
    assert today().isoformat() in page  # prefilled by the form's own prefill

    # The form's rule, at its field, input kept; nothing stored.
    resp = manager.post("/forms/key-receipt", data={
        "case_number": "19121212-1212", "fictional_name": NAME,
        "handed_over": today().isoformat()})
    assert resp.status_code == 422
    assert NAME in html(resp)
    with app.app_context():
        assert db.session.scalar(select(Submission).where(Submission.form == "key_receipt")) is None

    resp = manager.post("/forms/key-receipt", data={
        "case_number": CASE, "fictional_name": NAME, "handed_over": today().isoformat()})
    assert resp.status_code == 303
    public_id = resp.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.data is None and sub.data_enc  # encrypted, as it says

    # In LVS's queue, read by LVS (audited), as message, PDF and JSON.
    assert [i["id"] for i in lvs.get("/lvs/queue.json").get_json()] == [public_id]
    assert "Kvittens av nycklar" in html(lvs.get("/lvs/queue"))
    assert NAME in html(lvs.get(f"/submissions/{public_id}"))
    message = html(lvs.get(f"/submissions/{public_id}/message")).split("\n")
    assert message[:2] == [f"Till: {app.config['DISTRIBUTION_LISTS']['lvs']}",
                           f"Ämne: Kvittens av nycklar, ärende {CASE}"]
    assert NAME in pdf_text(lvs.get(f"/submissions/{public_id}/pdf").data)
    assert lvs.get(f"/submissions/{public_id}.json").get_json()["fictional_name"] == NAME
    blank = manager.get("/blank/key-receipt.pdf")
    assert blank.mimetype == "application/pdf" and NAME not in pdf_text(blank.data)

    # Done: its on_done purges the content; a tombstone and the audit trail stay.
    done = lvs.post(f"/lvs/submissions/{public_id}/done", data={"version": "1"})
    assert done.status_code == 303
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and (sub.status, sub.data, sub.data_enc) == ("purged", None, None)
        actions = set(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == public_id)))
    assert {"submission_created", "protected_content_read", "submission_processed"} <= actions
    assert lvs.get(f"/submissions/{public_id}/pdf").status_code == 410
