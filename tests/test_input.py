"""Input validation (ASVS V5.1): a bound on every request and on every text field of every form,
choices and dates checked on the server (an invented choice or a malformed date is 422 at its
field), and odd numbers in the query or the form never crash a view."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import BOSAM, RESIDENCE, TRYGGHETSJOUREN, add_user, login, order_form
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from test_checklist import checklist_form
from test_disclosure_check import disclosure_form
from test_envelopes import inner_form, label_form
from test_messages import contract_form, fee_form, municipal_form
from test_routes_by_role import actualisation_form, created_id, deviation_form
from wtforms import (
    BooleanField,
    DateTimeField,
    Field,
    FieldList,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import Length

from portal.extensions import db
from portal.forms import FORMS
from portal.forms.base import iter_fields
from portal.models import AuditEvent, Submission
from portal.views.auth import LoginForm, ReauthForm
from portal.views.day_notes import FileForm, NoteForm
from portal.views.submissions import DoneForm

TEXT_MAX = 10_000  # no single text field of the routine needs more


# --- a valid post of every form, by a user who may send it --------------------------------------


def trygghetsjouren_form(**overrides: str) -> dict[str, str]:
    return {"purpose": "assignment_sent", "case_number": "0655588", **overrides}


def handover_form(**overrides: str) -> dict[str, str]:
    return {"purpose": "assignment", "case_number": "0655588", **overrides}


def intraservice_form(**overrides: str) -> dict[str, str]:
    """Trygghetsjouren's access for one named member of staff (§9.2)."""
    return {"purpose": "tj_access", "case_number": "0655588",
            "persons-0-full_name": "Jonas Jourledare", "persons-0-username": "jonjo01",
            "justification": "", **overrides}


# slug -> (username, valid post)
VALID: dict[str, tuple[str, Callable[..., dict[str, str]]]] = {
    "access-order": ("manager", order_form),
    "actualisation": ("secretary", actualisation_form),
    "checklist": ("secretary", checklist_form),
    "deviation": ("staff", deviation_form),
    "fee-handler": ("secretary", fee_form),
    "fee-handler-contract": ("bosam", contract_form),
    "fee-handler-contract-municipal": ("boende_chef", municipal_form),
    "trygghetsjouren": ("secretary", trygghetsjouren_form),
    "handover": ("secretary", handover_form),
    "intraservice": ("tj_lvs", intraservice_form),
    # issue 16, part B: the envelope sheets (free text only: no choice, no date)
    "inner-envelope": ("secretary", inner_form),
    "envelope-label": ("secretary", label_form),
    # issue 16, part A: the check before disclosing (choices, ticks and names; no date)
    "disclosure-check": ("secretary", disclosure_form),
}
#: Forms of free text only: no choice or date to invent.
TEXT_ONLY = ("inner-envelope", "envelope-label")
#: Forms with no date or time field (the messages by purpose have one field of free text; the
#: sheets and the check before disclosing none).
NO_DATE = ("trygghetsjouren", "handover", "intraservice", "disclosure-check", *TEXT_ONLY)


def add_bosam_user(app: Flask, password_hash: str) -> None:
    """A boendesekreterare on BoSam (§6.1): the only one who sends the contract message."""
    add_user(app, password_hash, "bosam", "Britt Boendesekreterare", "social_secretary", BOSAM)


def add_residence_manager(app: Flask, password_hash: str) -> None:
    """The unit manager of a municipal residence (§7.2): sends the municipal contract message."""
    add_user(app, password_hash, "boende_chef", "Bodil Boendechef", "unit_manager", RESIDENCE)


def add_trygghetsjouren_lvs(app: Flask, password_hash: str) -> None:
    """LVS at Trygghetsjouren (§9.2): orders access for its staff through Intraservice."""
    add_user(app, password_hash, "tj_lvs", "Tina Trygg", "lvs", TRYGGHETSJOUREN)


@pytest.fixture
def poster(app: Flask, password_hash: str) -> Callable[[str], FlaskClient]:
    """poster(slug) -> a client logged in as someone who may send that form."""
    add_bosam_user(app, password_hash)
    add_residence_manager(app, password_hash)
    add_trygghetsjouren_lvs(app, password_hash)
    clients: dict[str, FlaskClient] = {}

    def make(slug: str) -> FlaskClient:
        username = VALID[slug][0]
        if username not in clients:
            clients[username] = app.test_client()
            assert login(clients[username], username).status_code == 303
        return clients[username]

    return make


def accepted(resp: Any) -> bool:
    return resp.status_code in (200, 303) and "error-summary" not in resp.get_data(as_text=True)


def error_at(resp: Any, field_id: str) -> bool:
    return resp.status_code == 422 and f'id="{field_id}-error"' in resp.get_data(as_text=True)


def fields_of(app: Flask, form_class: type[FlaskForm]) -> list[Field]:
    """Every leaf field of a form (FieldList rows included), built as the view builds it."""
    with app.test_request_context():
        return [f for f in iter_fields(form_class(formdata=None))
                if not isinstance(f, FieldList | CSRFTokenField)]


def is_choice(f: Field) -> bool:
    return isinstance(f, SelectField | RadioField | SelectMultipleField)


def is_date(f: Field) -> bool:
    return isinstance(f, DateTimeField | TimeField)  # DateField is a DateTimeField


def is_text(f: Field) -> bool:
    return isinstance(f, StringField) and not is_choice(f)


def max_length(f: Field) -> int | None:
    limits = [v.max for v in f.validators if isinstance(v, Length) and v.max is not None
              and v.max >= 0]
    return min(limits) if limits else None


# --- the whole request ----------------------------------------------------------------------


def test_a_request_over_max_content_length_is_413_in_swedish(app: Flask, as_user) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit <= 10 * 1024 * 1024
    client = as_user("manager")
    resp = client.post("/forms/access-order",
                       data={"case_number": "0655588", "justification": "x" * (limit + 1)})
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert '<html lang="sv">' in page and "För stor" in page and "för stort" in page
    assert "Request Entity Too Large" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_too_large_post_is_413_before_csrf_and_login(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    body = b"password=" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = app.test_client().post("/login", data=body,
                                  content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413
    assert "för stort" in resp.get_data(as_text=True)


def test_a_too_large_upload_is_refused(app: Flask, as_user) -> None:
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    client = as_user("staff")
    big = io.BytesIO(b"%PDF-1.7\n" + b"0" * app.config["MAX_CONTENT_LENGTH"])
    # Encoded in memory: the test client would spool a body this large to a temporary file that
    # nothing closes (a ResourceWarning, an error under filterwarnings = error).
    boundary, body = encode_multipart({"file": FileStorage(big, filename="x.pdf")})
    resp = client.post("/forms/deviation", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 413


# --- every text field has a bound ----------------------------------------------------------------

OTHER_FORMS: dict[str, type[FlaskForm]] = {
    "login": LoginForm, "reauth": ReauthForm, "lvs done": DoneForm,
    "day-notes file": FileForm, "day-notes note": NoteForm,
}


def all_forms() -> dict[str, type[FlaskForm]]:
    return {**{slug: spec.form_class for slug, spec in FORMS.items()}, **OTHER_FORMS}


def test_every_text_field_of_every_form_has_a_max_length(app: Flask) -> None:
    """Text has Length(max=…); anything else is a choice, a date or time, or a tick box."""
    unbounded, unknown = [], []
    for name, form_class in all_forms().items():
        for f in fields_of(app, form_class):
            if is_choice(f) or is_date(f) or isinstance(f, BooleanField):
                continue
            if is_text(f):
                limit = max_length(f)
                if limit is None or not 0 < limit <= TEXT_MAX:
                    unbounded.append(f"{name}: {f.name}")
            else:
                unknown.append(f"{name}: {f.name} ({type(f).__name__})")
    assert not unbounded, f"text fields without Length(max=…): {unbounded}"
    assert not unknown, f"fields of a kind this test does not know: {unknown}"


def test_the_walk_sees_the_rows_of_a_field_list(app: Flask) -> None:
    names = {f.name for f in fields_of(app, FORMS["access-order"].form_class)}
    assert {"persons-0-full_name", "persons-0-email", "persons-0-action"} <= names
    names = {f.name for f in fields_of(app, FORMS["actualisation"].form_class)}
    assert "proposed_persons-0-username" in names


@pytest.mark.parametrize("slug", list(VALID))
def test_each_valid_form_is_accepted(poster: Callable[[str], FlaskClient], slug: str) -> None:
    """The starting point of the tests below: without the one change, the post passes."""
    resp = poster(slug).post(f"/forms/{slug}", data=VALID[slug][1]())
    assert accepted(resp), resp.get_data(as_text=True)[:3000]


@pytest.mark.parametrize("slug", list(VALID))
def test_one_character_over_the_limit_is_422_at_that_field(
        app: Flask, poster: Callable[[str], FlaskClient], slug: str) -> None:
    client, valid = poster(slug), VALID[slug][1]()
    wrong = []
    for f in fields_of(app, FORMS[slug].form_class):
        if not is_text(f):
            continue
        limit = max_length(f)
        assert limit is not None, f.name
        resp = client.post(f"/forms/{slug}", data={**valid, f.name: "a" * (limit + 1)})
        if not error_at(resp, f.id):
            wrong.append((f.name, resp.status_code))
    assert not wrong
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_every_form_has_the_fields_its_valid_post_names(app: Flask) -> None:
    for slug, (_user, build) in VALID.items():
        names = {f.name for f in fields_of(app, FORMS[slug].form_class)}
        extra = set(build()) - names
        assert not extra, (slug, extra)
        if slug.startswith("fee-handler-contract"):  # free text and a date only (§6.1, §7.2)
            assert not any(is_choice(f) for f in fields_of(app, FORMS[slug].form_class))
    assert set(VALID) == set(FORMS)


# --- choices and dates are checked on the server -------------------------------------------------


@pytest.mark.parametrize("slug", [s for s in VALID if not s.startswith("fee-handler-contract")
                                  and s not in TEXT_ONLY])
def test_an_invented_choice_is_422_at_that_field(
        app: Flask, poster: Callable[[str], FlaskClient], slug: str) -> None:
    client, valid = poster(slug), VALID[slug][1]()
    choices = [f for f in fields_of(app, FORMS[slug].form_class) if is_choice(f)]
    assert choices
    wrong = []
    for f in choices:
        for value in ("finns-inte", "<b>x</b>"):
            resp = client.post(f"/forms/{slug}", data={**valid, f.name: value})
            if not error_at(resp, f.id):
                wrong.append((f.name, value, resp.status_code))
    assert not wrong


def test_the_forms_said_to_have_no_date_have_none(app: Flask) -> None:
    """NO_DATE leaves forms out of the date tests: it may only name forms without a date field."""
    for slug in NO_DATE:
        assert not [f.name for f in fields_of(app, FORMS[slug].form_class) if is_date(f)], slug


@pytest.mark.parametrize("slug", [s for s in VALID if s not in NO_DATE])
def test_a_malformed_date_or_time_is_422_at_that_field(
        app: Flask, poster: Callable[[str], FlaskClient], slug: str) -> None:
    client, valid = poster(slug), VALID[slug][1]()
    dates = [f for f in fields_of(app, FORMS[slug].form_class) if is_date(f)]
    assert dates
    wrong = []
    for f in dates:
        bad = ("25:61", "7.45", "x") if isinstance(f, TimeField) else (
            "2026-02-30", "30/01/2026", "2026-1-5x", "i morgon")
        for value in bad:
            resp = client.post(f"/forms/{slug}", data={**valid, f.name: value})
            if not error_at(resp, f.id):
                wrong.append((f.name, value, resp.status_code))
    assert not wrong


def test_the_messages_of_a_bad_choice_and_a_bad_date_are_swedish(as_user) -> None:
    resp = as_user("manager").post("/forms/access-order", data=order_form(
        city_district="Atlantis", valid_from="2026-02-30"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for field_id in ("city_district", "valid_from"):
        message = re.search(rf'id="{field_id}-error">(.*?)</p>', page, re.S)
        assert message is not None
        assert "Not a valid" not in message.group(1)


# --- numbers in the query and the form never crash a view ----------------------------------------


def test_a_huge_page_number_of_the_audit_trail_is_not_an_error(as_user) -> None:
    client = as_user("admin")
    for page in ("9" * 30, "-5", "0", "x", "1e9"):
        resp = client.get(f"/audit?page={page}")
        assert resp.status_code == 200, page


def test_a_huge_version_when_marking_done_is_not_an_error(app: Flask, as_user) -> None:
    public_id = created_id(as_user("manager").post("/forms/access-order", data=order_form()),
                           "/submissions/")
    client = as_user("lvs")
    resp = client.post(f"/lvs/submissions/{public_id}/done",
                       data={"reply": "", "version": "9" * 5000})
    assert resp.status_code == 303  # back to the page with the error; nothing marked
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.status == "submitted"


def test_a_huge_row_number_to_remove_is_not_an_error(as_user) -> None:
    client = as_user("secretary")
    data = actualisation_form(**{"proposed_persons-1-full_name": "Bo Ek",
                                 "proposed_persons-1-username": "boek01",
                                 "remove_person": "9" * 5000})
    assert client.post("/forms/actualisation", data=data).status_code == 200
    client = as_user("manager")
    data = order_form(**{"persons-1-full_name": "Bo Ek", "persons-1-username": "boek01",
                         "remove_person": "9" * 5000})
    assert client.post("/forms/access-order", data=data).status_code == 200


def test_failed_validation_stores_and_audits_no_content(app: Flask, as_user) -> None:
    secret = "Hemlig Hemligsson"
    resp = as_user("secretary").post("/forms/actualisation", data=actualisation_form(
        full_name=secret, received_date="2026-02-30"))
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
        details = " ".join(str(e.detail) for e in db.session.scalars(select(AuditEvent)))
        assert secret not in details
