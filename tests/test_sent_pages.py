"""After "Skicka" the portal says it was sent, and every page with a message says whether the
routine wants that message in Treserva too, with the copy button before the text (issue 14, item 4).

- a flash on the submission page after every successful send of a stored form, in the form's own
  words, announced (role="status"), once;
- one sentence per form kind (``treserva_step``, a class attribute every form must set) on its
  preview, its sent page (for its sender) and its result page;
- the copy button precedes the message text in the HTML;
- the actualisation, which its sender cannot read once sent, makes the copy step unmissable on the
  preview: "Kopiera meddelandet nu", before the send button that points to it.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import PASSWORD, html, login, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from test_checklist import checklist_form
from test_disclosure_check import disclosure_form
from test_envelopes import inner_form, label_form

from portal.clock import today
from portal.extensions import db
from portal.forms import BY_KEY, FormKind, RenderOnlyForm, StoredForm
from portal.forms.base import ByPurpose
from portal.models import Unit, User, UserRole

CASE = "0655588"
LVS_LIST = "ÄVO Myndighet LVS admin sekretessbehörighet"
COPY_BUTTON = 'data-copy-target="message-text"'
MESSAGE_TEXT = '<pre id="message-text"'
STATUS_FLASH = re.compile(r'<div class="notice" role="status">(.*?)</div>', re.S)


def actualisation_form() -> dict[str, str]:
    return {
        "receiving_unit": "Myndighet Centrum",
        "recipient": "Sara Socialsekreterare",
        "recipient_position": "socialsekreterare",
        "activity": "ÄO",
        "personnummer": "19121212-1212",
        "full_name": "Tolvan Tolvansson",
        "concerns": "Ansökan om hemtjänst",
        "preliminary_case_type": "Hemtjänst",
        "kind": "ansökan",
        "received_date": today().isoformat(),
        "arrival_method": "telefon",
        "arrived_from": "den enskilde",
        "proposed_persons-0-full_name": "Anna Andersson",
        "proposed_persons-0-username": "anna01",
        "proposed_persons-0-position": "socialsekreterare",
        "text": "Behöver hjälp med inköp och städning.",
    }


def deviation_form() -> dict[str, str]:
    return {
        "event_date": today().isoformat(),
        "event_time": "07:45",
        "fictional_name": "Gunnel Gran",
        "category": "fall",
        "description": "Gunnel föll i badrummet vid morgonbesöket.",
        "immediate_action": "Hjälpte upp henne.",
        "handed_to": "Hugo Hemtjänstchef",
    }


# Every stored form: who sends it, where, a valid post, and the flash it is to get.
STORED: dict[str, tuple[str, str, Callable[[], dict[str, str]], str]] = {
    "access_order": ("manager", "/forms/access-order", order_form,
                     "Beställningen är skickad till LVS."),
    "actualisation": ("secretary", "/forms/actualisation", actualisation_form,
                      "Begäran om aktualisering är skickad till LVS."),
    "deviation": ("staff", "/forms/deviation", deviation_form,
                  "Avvikelserapporten är skickad till enhetschefer och planerare på din enhet."),
}

# A post each stored form refuses (422).
REFUSED = {
    "access_order": {"case_number": ""},
    "actualisation": {"personnummer": "19121212-1213"},  # wrong check digit
    "deviation": {"description": ""},
}

# Every render-only form: its sender (a conftest user or one made by `sender`), and a valid post.
RENDER_ONLY: dict[str, tuple[str, Callable[[], dict[str, str]]]] = {
    "checklist": ("secretary", checklist_form),
    "fee_handler": ("secretary", lambda: {
        "kind": "start", "case_number": CASE, "full_name": "Karin Ek",
        "postal_address": "Box 123, 405 30 Göteborg", "start_date": "2026-05-04",
        "safety_alarm": "y", "granted_time": "20 timmar per månad"}),
    "fee_handler_contract": ("bosam", lambda: {
        "case_number": CASE, "full_name": "Karin Ek", "postal_address": "Box 123, 405 30 Göteborg",
        "residence": "Vigårda privata äldreboende", "move_in_date": "2026-06-01"}),
    "fee_handler_contract_municipal": ("boende_chef", lambda: {
        "case_number": CASE, "full_name": "Karin Ek", "postal_address": "Box 123, 405 30 Göteborg",
        "move_in_date": "2026-06-01",
        "income": "Pension 14 200 kr/mån, bostadstillägg 3 100 kr/mån"}),
    "trygghetsjouren": ("secretary", lambda: {"purpose": "assignment_sent", "case_number": CASE}),
    "handover": ("secretary", lambda: {"purpose": "assignment", "case_number": CASE}),
    "intraservice": ("secretary", lambda: {"purpose": "samsa_removal", "case_number": CASE}),
    # Issue 16, part A: printed only, no message (FormKind.has_message).
    "disclosure_check": ("secretary", disclosure_form),
    # Issue 16, part B: the envelope sheets, printed only.
    "inner_envelope": ("secretary", inner_form),
    "envelope_label": ("secretary", label_form),
}
# Senders who are not conftest users: (unit name, unit type, role).
MADE_USERS = {
    "bosam": ("BoSam", "bosam", "social_secretary"),
    "boende_chef": ("Vigårda vård- och omsorgsboende", "boende", "unit_manager"),
}


@pytest.fixture
def sender(app: Flask, as_user: Any, password_hash: str) -> Callable[[str], FlaskClient]:
    def make(username: str) -> FlaskClient:
        if username not in MADE_USERS:
            return as_user(username)  # type: ignore[no-any-return]
        unit_name, unit_type, role = MADE_USERS[username]
        with app.app_context():
            unit = Unit(name=unit_name, unit_type=unit_type, city_district="Centrum")
            db.session.add(unit)
            db.session.flush()
            db.session.add(User(username=username, full_name="Britt Boendesekreterare",
                                email=f"{username}@goteborg.se", unit_id=unit.id,
                                password_hash=password_hash, role_rows=[UserRole(role=role)]))
            db.session.commit()
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 303
        return client

    return make


def sentence(kind: FormKind, to: str) -> str:
    """The form's sentence as the page shows it (the sv catalogue maps each msgid to itself)."""
    return kind.treserva_step % {"to": to}


def text_of(page: str) -> str:
    """The page's text with tags dropped and whitespace collapsed, entities decoded."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def copy_button_first(page: str) -> bool:
    return COPY_BUTTON in page and MESSAGE_TEXT in page and (
        page.index(COPY_BUTTON) < page.index(MESSAGE_TEXT))


def flashes(page: str) -> list[str]:
    return [text_of(m) for m in STATUS_FLASH.findall(page)]


# --- every form states its sentence ---------------------------------------------------------------


def test_every_registered_form_says_whether_its_message_goes_into_treserva() -> None:
    # No base class gives a default: a new form that does not say it fails here.
    for base in (FormKind, RenderOnlyForm, StoredForm, ByPurpose):
        assert "treserva_step" not in vars(base), base
    for key, kind in BY_KEY.items():
        step = getattr(type(kind), "treserva_step", None)
        assert isinstance(step, str) and step.strip(), f"{key} has no treserva_step"
        assert "Treserva" in step, key  # it says whether, so it names Treserva
        assert step % {"to": "X"}, key  # a msgid whose only parameter is %(to)s
        assert re.search(r"§\d", step), f"{key}: the sentence cites the routine"


def test_the_deviation_reporter_is_not_told_to_paste_anything_into_treserva() -> None:
    step = BY_KEY["deviation"].treserva_step
    assert "Du skickar inget i Treserva" in step
    assert "kopiera" not in step.lower() and "klistra" not in step.lower()


def test_only_forms_that_are_not_treserva_messages_say_so() -> None:
    # The routine: the checklist goes into the assignment document (§5.9), Intraservice tickets to
    # Intraservice's support (§3.6, §9.2); the others are messages in Treserva.
    assert "inte som meddelande" in BY_KEY["checklist"].treserva_step
    assert "skickas inte i Treserva" in BY_KEY["intraservice"].treserva_step
    for key in ("access_order", "actualisation", "fee_handler", "fee_handler_contract",
                "fee_handler_contract_municipal", "trygghetsjouren", "handover"):
        assert "Treservas meddelandefunktion" in BY_KEY[key].treserva_step, key


def test_the_cases_below_cover_every_form() -> None:
    assert set(STORED) == {k for k, v in BY_KEY.items() if isinstance(v, StoredForm)}
    assert set(RENDER_ONLY) == {k for k, v in BY_KEY.items() if isinstance(v, RenderOnlyForm)}


# --- the flash after a send ----------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(STORED))
def test_a_sent_form_is_said_sent_on_its_submission_page_once(
        app: Flask, as_user: Any, key: str) -> None:
    username, path, payload, words = STORED[key]
    client = as_user(username)
    public_id = submit_form(client, path, payload())
    page = html(client.get(f"/submissions/{public_id}"))
    assert flashes(page) == [words]
    assert BY_KEY[key].sent_flash == words  # the form's own words, from the form
    # Said once: the next view of the page does not repeat it.
    assert flashes(html(client.get(f"/submissions/{public_id}"))) == []


@pytest.mark.parametrize("key", sorted(STORED))
def test_a_refused_form_is_not_said_sent(app: Flask, as_user: Any, key: str) -> None:
    username, path, payload, words = STORED[key]
    client = as_user(username)
    resp = client.post(path, data={**payload(), **REFUSED[key]})
    assert resp.status_code == 422
    assert words not in html(resp)
    assert words not in html(client.get("/"))


# --- the preview ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(STORED))
def test_the_preview_says_whether_the_message_goes_into_treserva_with_the_copy_button_first(
        as_user: Any, key: str, app: Flask) -> None:
    username, path, payload, _ = STORED[key]
    resp = as_user(username).post(path, data={**payload(), "preview": "1"})
    page = html(resp)
    assert resp.status_code == 200 and "Granska innan du skickar" in page
    to = app.config["DISTRIBUTION_LISTS"][BY_KEY[key].distribution_list]
    assert sentence(BY_KEY[key], to) in text_of(page)
    assert copy_button_first(page)
    # The generic "paste it into Treserva's message function" is gone: the form's sentence says it.
    assert "Kopiera texten och klistra in den i Treservas meddelandefunktion" not in page


def test_the_actualisation_preview_makes_the_copy_step_unmissable(as_user: Any, app: Flask) -> None:
    page = html(as_user("secretary").post("/forms/actualisation",
                                          data={**actualisation_form(), "preview": "1"}))
    warning = "Kopiera meddelandet nu – du kan inte se texten efter att du skickat."
    assert warning in text_of(page)
    send = page.index('aria-describedby="copy-first"')  # the send button points to the warning
    assert page.index('id="copy-first"') < page.index(COPY_BUTTON) < page.index(MESSAGE_TEXT)
    assert page.index(MESSAGE_TEXT) < send
    assert re.search(r'<button type="submit" class="button" aria-describedby="copy-first">\s*'
                     r'Skicka\s*</button>', page)
    assert f"Till: {LVS_LIST}" in page  # the message to copy is the one for the LVS list


@pytest.mark.parametrize("key", ["access_order", "deviation"])
def test_forms_their_sender_reads_after_sending_have_no_copy_now_warning(
        as_user: Any, key: str) -> None:
    username, path, payload, _ = STORED[key]
    page = html(as_user(username).post(path, data={**payload(), "preview": "1"}))
    assert 'id="copy-first"' not in page and "Kopiera meddelandet nu" not in page


# --- the sent page -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["access_order", "deviation"])
def test_the_sent_page_tells_its_sender_with_the_copy_button_first(
        app: Flask, as_user: Any, key: str) -> None:
    username, path, payload, _ = STORED[key]
    client = as_user(username)
    public_id = submit_form(client, path, payload())
    page = html(client.get(f"/submissions/{public_id}"))
    to = app.config["DISTRIBUTION_LISTS"][BY_KEY[key].distribution_list]
    assert sentence(BY_KEY[key], to) in text_of(page)
    assert copy_button_first(page)


def test_the_sentence_is_for_the_sender_not_for_lvs_who_processes_it(
        app: Flask, as_user: Any) -> None:
    public_id = submit_form(as_user("manager"), "/forms/access-order", order_form())
    page = html(as_user("lvs").get(f"/submissions/{public_id}"))
    assert MESSAGE_TEXT in page and copy_button_first(page)
    assert sentence(BY_KEY["access_order"], LVS_LIST) not in text_of(page)


def test_the_actualisation_sent_page_reminds_its_sender_without_the_text(
        app: Flask, as_user: Any) -> None:
    client = as_user("secretary")
    public_id = submit_form(client, "/forms/actualisation", actualisation_form())
    page = html(client.get(f"/submissions/{public_id}"))
    assert "Tolvan" not in page and MESSAGE_TEXT not in page  # sealed: LVS only
    assert sentence(BY_KEY["actualisation"], LVS_LIST) in text_of(page)
    assert "Texten visas inte för dig efter att du skickat" in page


# --- the render-only result pages ----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(RENDER_ONLY))
def test_each_result_page_says_whether_the_message_goes_into_treserva_copy_button_first(
        app: Flask, sender: Callable[[str], FlaskClient], key: str) -> None:
    username, payload = RENDER_ONLY[key]
    kind = BY_KEY[key]
    resp = sender(username).post(f"/forms/{kind.slug}", data=payload())
    page = html(resp)
    assert resp.status_code == 200, page
    if not kind.has_message:  # printed only (issue 16): its sentence, and nothing to copy or send
        assert sentence(kind, "") in text_of(page)
        assert COPY_BUTTON not in page and MESSAGE_TEXT not in page and "Till:" not in page
        return
    to = (app.config["HANDOVER_RECIPIENTS"]["assignment"] if key == "handover"
          else app.config["DISTRIBUTION_LISTS"][kind.distribution_list])
    assert sentence(kind, to) in text_of(page)
    assert copy_button_first(page)
