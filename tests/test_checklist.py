"""Checklista vid ärenden med skyddade personuppgifter (routine §5.3, §5.5, §5.9, §5.12; SPEC §3.3)
the whole way: the social secretary fills it in with the client, gets the text for the assignment
document and the PDF for the locked file, and at the next follow-up pastes the text from the
assignment document back to start the next version. Nothing of its content is ever stored, and it
never travels as a data file; only who made which version, and when. (The findings of issue 11 on
the checklist, H2 and L7, have their regression tests in test_trust_checklist.py.)"""
from __future__ import annotations

import io
import re
import sqlite3
from datetime import date, timedelta
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import USERS
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS, RenderOnlyForm, checklist
from portal.models import AuditEvent
from portal.render import pdf
from portal.rules import add_months

THREAT = "Tidigare partner har hotat den enskilde vid upprepade tillfällen och söker henne."
FICTIONAL = "Greta Solvik"
PHONE_CODE = "Blåklint 47"
SECRET_TEXTS = (THREAT, FICTIONAL, PHONE_CODE)
SECRETARY = USERS["secretary"][0]
IMPORT = "/forms/checklist/import"


def checklist_form(**overrides: str | None) -> dict[str, str]:
    """Every section filled in, as the browser posts it (checked boxes send "y")."""
    day = today()
    data: dict[str, str | None] = {
        "case_number": "0655588",
        "protection_kind": "skyddad_folkbokforing",
        "skatteverket_decision_date": (day - timedelta(days=30)).isoformat(),
        "threat_picture": THREAT,
        "protected_from_relatives": "y",
        "protected_from_former_partner": "y",
        "protected_from_note": "Tidigare partner och dennes bror.",
        "children_in_household": "no",
        "children_note": "Vuxna barn, bor inte hos den enskilde.",
        "fictional_name_agreed": "yes",
        "fictional_name": FICTIONAL,
        "post_route": "forwarding_service",
        "post_note": "Fakturor via förmedlingsuppdraget.",
        "digital_mailbox": "yes",
        "email_agreed": "yes",
        "email_client_wants": "y",
        "email_risks_explained": "y",
        "email_encrypted": "y",
        "phone_call_back": "y",
        "phone_code": PHONE_CODE,
        "visit_identity_check": "y",
        "communication_note": "Ring helst förmiddagar.",
        "legal_representative": "god_man",
        "legal_representative_informed": "y",
        "consent_performer": "y",
        "consent_health_care": "y",
        "consent_relatives": "y",
        "consent_others": "y",
        "consent_others_text": "God man",
        "myndighet_contact": "Ansvarig socialsekreterare Sara, ersättare förste socialsekreterare.",
        "performer_communication": "Meddelanden i Treserva med ärendenummer; telefon vid brådska.",
        "home_visits": "Personal presenterar sig med fiktivt namn; öppna inte för okända.",
        "outings": "Inga promenader i bostadsområdet utan överenskommelse.",
        "photography": "Ingen fotografering.",
        "acute_situations": "Ring 112; uppgifter får lämnas ut till ambulans och polis.",
        "key_handling": "Nyckel registreras med fiktivt namn i nyckelskåpet.",
        "safety_alarm": "y",
        "safety_alarm_by_phone": "y",
        "chilled_food": "y",
        "food_delivery_note": "Levereras till hemtjänstlokalen, personal tar med.",
        "private_funds": "y",
        "private_funds_note": "Inköp av dagligvaror enligt rutinen.",
        "samsa": "removal_requested",
        "practice_note": "Inga gruppdiskussioner om ärendet.\nTala i enrum med berörd personal.",
        "next_follow_up": (day + timedelta(days=90)).isoformat(),
        "copy_offered": "y",
        "version": "1",
        "version_date": day.isoformat(),
        "filled_in_by": SECRETARY,
    }
    for item in checklist.INFO_ITEMS:
        data[item] = "y"
        data[f"{item}_date"] = day.isoformat()
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def make_pdf(client: FlaskClient, form: dict[str, str]) -> bytes:
    resp = client.post("/forms/checklist", data={**form, "as_pdf": "1"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "application/pdf"
    return resp.data


def assignment_text(client: FlaskClient, form: dict[str, str]) -> str:
    """The text the result page gives to copy into the assignment document (as the browser shows
    the <pre>, so as it is copied)."""
    resp = client.post("/forms/checklist", data=form)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    found = re.search(r'<pre id="message-text" class="message-text">(.*?)</pre>',
                      resp.get_data(as_text=True), re.S)
    assert found
    return unescape(found.group(1))


def paste(client: FlaskClient, text: str) -> Any:
    """Paste a text copied from the assignment document into the import (field `text`)."""
    return client.post(IMPORT, data={"text": text})


class _FormValues(HTMLParser):
    """What a browser would post from the checklist form (action /forms/checklist) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = a.get("action", "").endswith("/forms/checklist")
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("name") != "csrf_token":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "y")
            elif kind != "submit":
                self.values[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data


def form_values(html: str) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(html)
    # Browsers drop the newline that WTForms writes right after <textarea>.
    return {k: re.sub(r"^\r?\n", "", v) for k, v in parser.values.items() if v != ""}


def table_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) or 0
            for t in db.metadata.sorted_tables}


# --- filling in -----------------------------------------------------------------------------


def test_the_form_has_every_section_and_starts_at_version_one(as_user: Any) -> None:
    resp = as_user("secretary").get("/forms/checklist")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for legend in ("Typ av skydd", "Hotbild", "Information till den enskilde", "Fiktivt namn",
                   "Kommunikation med den enskilde", "Legal företrädare",
                   "Samtycke att lämna uppgifter till",
                   "Kontakt mellan Myndighet och utförare", "Skyddet i praktiken",
                   "Uppföljning och version"):
        assert f"<legend>{legend}</legend>" in html
    for name in checklist.SCHEMA:
        assert f'name="{name}"' in html, name
    values = form_values(html)
    assert values["version"] == "1"
    assert values["version_date"] == today().isoformat()
    assert values["filled_in_by"] == SECRETARY
    assert f'action="{IMPORT}"' in html and 'enctype="multipart/form-data"' not in html
    assert '<textarea id="import-text" name="text"' in html
    assert '<label for="import-text">Text från uppdragsdokumentet</label>' in html


def test_the_schema_is_the_form(app: Flask) -> None:
    with app.test_request_context():
        form = checklist.ChecklistForm(formdata=None)
        assert [f.name for f in form if f.name != "csrf_token"] == list(checklist.SCHEMA)
    # Templates read data.<name>: a name like "keys" would give the dict's method instead.
    assert not [name for name in checklist.SCHEMA if hasattr(dict, name)]


def test_a_filled_checklist_gives_the_text_for_the_assignment_document(as_user: Any) -> None:
    resp = as_user("secretary").post("/forms/checklist", data=checklist_form())
    assert resp.status_code == 200, resp.get_data(as_text=True)[:3000]
    html = resp.get_data(as_text=True)
    assert "Uppdragsdokument (klistras in)" in html
    assert "Checklista skyddade personuppgifter, version 1" in html
    assert "Inget av innehållet har sparats i portalen" in html
    for text in (THREAT, FICTIONAL, PHONE_CODE, "* Typ av skydd: Skyddad folkbokföring",
                 "* Vilka andra: God man", "aldrig via LarmAppen: Ja",
                 "* Post skickas: Via Skatteverkets förmedlingsuppdrag",
                 "LVS för SAMSA har ombetts ta bort uppgifterna", "* Matleverans som kyld mat: Ja",
                 "* Rutinen §8.8, underleverantörer används inte. Inga serviceinsatser eller "
                 "andra insatser utförs av underleverantörer; samtliga insatser utförs av "
                 "hemtjänstens egen personal.",
                 "* Legal företrädare: God man",
                 "* Företrädaren känner till skyddet och checklistans överenskommelser: Ja",
                 "* Nycklar: Nyckel registreras med fiktivt namn i nyckelskåpet.",
                 "* Övriga överenskommelser: Inga gruppdiskussioner om ärendet.\n"
                 "| Tala i enrum med berörd personal.",
                 "* BÖRJAN PÅ CHECKLISTAN", "* SLUT PÅ CHECKLISTAN"):
        assert text in html.replace("&#39;", "'"), text
    # The PDF button re-posts exactly what is shown.
    reposted = form_values(html)
    expected = checklist_form()
    assert {k: reposted.get(k) for k in expected} == expected


def test_the_heading_never_names_the_client(app: Flask) -> None:
    data = {**{k: "" for k in checklist.SCHEMA}, "version": 3, "fictional_name": FICTIONAL}
    assert checklist.subject(data) == "Checklista skyddade personuppgifter, version 3"


def test_bad_input_is_refused_with_every_error_at_its_field_and_input_kept(
    as_user: Any,
) -> None:
    form = checklist_form(protection_kind=None, fictional_name="", email_encrypted=None,
                          info_handling_date=None, safety_alarm_by_phone=None,
                          version="noll", next_follow_up="nästa vecka")
    resp = as_user("secretary").post("/forms/checklist", data=form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for fid in ("protection_kind", "fictional_name", "email_encrypted", "info_handling_date",
                "safety_alarm_by_phone", "version", "next_follow_up"):
        assert f'href="#{fid}"' in html, fid
    assert "Ange datum för nästa uppföljning som ÅÅÅÅ-MM-DD." in html  # names its date
    assert "aldrig via LarmAppen (§9.4)" in html
    assert THREAT in html and PHONE_CODE in html  # all input kept


# --- lokalt skydd: at most three months (§1.3) ----------------------------------------------


def test_local_protection_over_three_months_is_refused(as_user: Any) -> None:
    client = as_user("secretary")
    limit = add_months(today(), 3)
    too_long = checklist_form(protection_kind="lokalt_skydd",
                              local_protection_until=(limit + timedelta(days=1)).isoformat(),
                              next_follow_up=(today() + timedelta(days=30)).isoformat())
    resp = client.post("/forms/checklist", data=too_long)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Lokalt skydd gäller högst tre månader (§1.3)" in html
    assert limit.isoformat() in html
    ok = {**too_long, "local_protection_until": limit.isoformat()}
    assert client.post("/forms/checklist", data=ok).status_code == 200
    missing = {**too_long, "local_protection_until": ""}
    assert client.post("/forms/checklist", data=missing).status_code == 422


def test_local_protection_date_is_dropped_for_other_kinds(app: Flask) -> None:
    with app.test_request_context(method="POST", data=checklist_form(
            local_protection_until=(today() + timedelta(days=400)).isoformat())):
        form = checklist.ChecklistForm()
        data = checklist.to_data(form)
    assert data["local_protection_until"] is None
    assert checklist.check_checklist(data, today()) == []


# --- the rules, on plain values ---------------------------------------------------------------


def _data(**changes: Any) -> dict[str, Any]:
    day = today()
    data: dict[str, Any] = {
        "case_number": "", "protection_kind": "sekretessmarkering",
        "local_protection_until": None, "skatteverket_decision_date": None,
        "threat_picture": "Ingen känd hotbild som ska dokumenteras.",
        "children_in_household": "no", "fictional_name_agreed": "no", "fictional_name": "",
        "post_route": "forwarding_service", "digital_mailbox": "no", "email_agreed": "no",
        "legal_representative": "none", "samsa": "not_registered", "next_follow_up": (day + timedelta(days=60)).isoformat(),
        "version": 1, "version_date": day.isoformat(), "filled_in_by": SECRETARY,
    }
    data.update(changes)
    return data


def codes(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v.code, v.field) for v in checklist.check_checklist(data, today())}


def test_a_minimal_checklist_passes() -> None:
    assert codes(_data()) == set()


@pytest.mark.parametrize("changes, expected", [
    ({"email_agreed": "yes"}, {("R-CHECKLIST-EMAIL", "email_client_wants"),
                               ("R-CHECKLIST-EMAIL", "email_risks_explained"),
                               ("R-CHECKLIST-EMAIL", "email_encrypted")}),
    ({"info_handling": True}, {("R-REQUIRED", "info_handling_date")}),
    ({"info_documented_date": "2020-01-01"}, {("R-REQUIRED", "info_documented")}),
    ({"safety_alarm": True}, {("R-CHECKLIST-ALARM", "safety_alarm_by_phone")}),
    ({"protection_kind": "skyddad_folkbokforing", "post_route": "own_address"},
     {("R-CHECKLIST-POST", "post_route")}),
    ({"fictional_name_agreed": "yes"}, {("R-REQUIRED", "fictional_name")}),
    ({"fictional_name": "Greta 19450101-1234"}, {("R-NOTE-PNR", "fictional_name")}),
    ({"consent_others": True}, {("R-REQUIRED", "consent_others_text")}),
    ({"legal_representative": ""}, {("R-REQUIRED", "legal_representative")}),
    ({"legal_representative": "advokat"}, {("R-REQUIRED", "legal_representative")}),
    ({"legal_representative_informed": True},
     {("R-CHECKLIST-REPRESENTATIVE", "legal_representative_informed")}),
    ({"version": 0}, {("R-REQUIRED", "version")}),
    ({"version": None}, {("R-REQUIRED", "version")}),
    ({"threat_picture": "  "}, {("R-REQUIRED", "threat_picture")}),
    ({"protection_kind": "fingerade"}, {("R-REQUIRED", "protection_kind")}),
    ({"samsa": ""}, {("R-REQUIRED", "samsa")}),
    ({"next_follow_up": None}, {("R-REQUIRED", "next_follow_up")}),
    ({"next_follow_up": date.today().replace(year=2000).isoformat()},
     {("R-CHECKLIST-FOLLOWUP", "next_follow_up")}),
    ({"case_number": "19450101-1234"}, {("R-PNR-SUBJECT", "case_number"),
                                        ("R-CASE-NUMBER", "case_number")}),
])
def test_each_rule_of_the_checklist(changes: dict[str, Any],
                                    expected: set[tuple[str, str]]) -> None:
    assert codes(_data(**changes)) == expected


def test_dates_in_the_future_are_refused() -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()
    found = codes(_data(skatteverket_decision_date=tomorrow, version_date=tomorrow,
                        info_handling=True, info_handling_date=tomorrow))
    assert found == {("R-DATE-PAST", "skatteverket_decision_date"),
                     ("R-DATE-PAST", "version_date"), ("R-DATE-PAST", "info_handling_date")}


def test_follow_up_of_local_protection_no_later_than_it_ends() -> None:
    until = today() + timedelta(days=20)
    data = _data(protection_kind="lokalt_skydd", local_protection_until=until.isoformat())
    assert codes(data) == {("R-CHECKLIST-FOLLOWUP", "next_follow_up")}
    data["next_follow_up"] = until.isoformat()
    assert codes(data) == set()


def test_each_rule_message_is_a_msgid_with_its_values_as_parameters() -> None:
    """Issue 12 item 6: the checklist's messages go through gettext, the values as parameters."""
    until = today() + timedelta(days=20)
    late = _data(protection_kind="lokalt_skydd", local_protection_until=until.isoformat(),
                 next_follow_up=(until + timedelta(days=1)).isoformat())
    too_long = _data(protection_kind="lokalt_skydd",
                     local_protection_until=(add_months(today(), 3) + timedelta(days=1)).isoformat())
    found = [v for data in (late, too_long) for v in checklist.check_checklist(data, today())]
    assert {(v.code, v.msgid.count("%(date)s"), tuple(v.params)) for v in found} >= {
        ("R-CHECKLIST-FOLLOWUP", 1, ("date",)), ("R-LOCAL-MAX", 1, ("date",))}
    # Another catalogue gets the msgid and fills in the date itself.
    other = {v.render(lambda msgid, **p: ("[en] " + msgid) % p) for v in found}
    assert f"[en] Följ upp senast när det lokala skyddet upphör ({until.isoformat()}, §1.3)." in other
    # No message has a value written into its msgid: every one is a constant of the catalogue.
    everything = [v for data in ({}, late, too_long, _data(email_agreed="yes", safety_alarm=True))
                  for v in checklist.check_checklist(data, today())]
    assert len(everything) > 15
    assert not [v.msgid for v in everything if re.search(r"\d{4}-\d{2}-\d{2}", v.msgid)]


def test_each_sections_rules_speak_of_its_own_fields() -> None:
    """The rules are cut by section (portal/forms/checklist/checks.py): each function names only
    fields of one section of the schema."""
    section_of = {f.name: s.title for s in checklist.SECTIONS for f in s.fields}
    samples = [{}, _data(email_agreed="yes", safety_alarm=True, consent_others=True,
                         info_handling_date="2020-01-01", fictional_name_agreed="yes"),
               _data(protection_kind="lokalt_skydd", next_follow_up=None, version=0)]
    for rule in checklist.SECTION_RULES:
        fields = {v.field for data in samples for v in rule(data, today())}
        assert fields, rule.__name__
        assert len({section_of[name] for name in fields}) == 1, (rule.__name__, fields)


def test_one_schema_makes_the_form_the_text_and_the_print(app: Flask) -> None:
    """Each field is written once (portal/forms/checklist/schema.py); the form, the
    assignment-document text and the print are made from it."""
    names = [f.name for s in checklist.SECTIONS for f in s.fields]
    assert names == list(checklist.SCHEMA) == list(checklist.FIELDS)
    assert [name for _, lines in checklist.TEXT_LAYOUT for _, name in lines] == names
    labels = [label for _, lines in checklist.TEXT_LAYOUT for label, _ in lines]
    assert len({" ".join(label.casefold().split()) for label in labels}) == len(labels)
    assert not [label for label in labels if ":" in label]  # the text's separator
    with app.test_request_context():
        blank = pdf.blank_html("checklist.html")
        data = checklist.to_data(checklist.ChecklistForm(formdata=None))
        filled = pdf.render_html("checklist.html", data=data,
                                 meta={"orderer": "", "orderer_unit": "", "created_at": ""})
    for section in checklist.SECTIONS:
        assert f">{section.title}</h2>" in blank and f">{section.title}</h2>" in filled
        for f in section.fields:
            if not f.tick_date:  # the date of a tick prints in the tick's row
                assert escape(f.text) in blank and escape(f.text) in filled, f.name
            for _, label in f.choices:
                assert escape(label) in blank, label


# --- the PDF for the locked file ------------------------------------------------------------


def test_the_pdf_is_marked_readable_for_the_locked_file_and_carries_no_data(as_user: Any) -> None:
    resp = as_user("secretary").post("/forms/checklist", data={**checklist_form(), "as_pdf": "1"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    # To print, not to keep as a file; named in Swedish by its version and day (issue 14 item 10).
    assert disposition == f'inline; filename="checklista-v1-{today().isoformat()}.pdf"'
    assert resp.headers["Cache-Control"] == "no-store"
    text = text_of(resp.data)
    assert "SKYDDADE PERSONUPPGIFTER" in text
    assert "Checklista vid ärenden med skyddade personuppgifter" in text
    for value in (FICTIONAL, PHONE_CODE, "God man", "LarmAppen", SECRETARY, "Sida 1 av"):
        assert value in text, value
    assert "Tidigare partner har hotat den enskilde" in text
    assert "nästa version utgår från texten i uppdragsdokumentet" in text
    reader = PdfReader(io.BytesIO(resp.data))
    assert reader.metadata is not None
    assert reader.metadata.title == "Checklista skyddade personuppgifter, version 1, ärende 0655588"
    assert reader.attachments == {}


def test_the_blank_checklist_has_tick_boxes_lines_and_the_marking(as_user: Any) -> None:
    resp = as_user("staff").get("/blank/checklist.pdf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    text = text_of(resp.data)
    assert "SKYDDADE PERSONUPPGIFTER" in text
    assert "Checklista vid ärenden med skyddade personuppgifter" in text
    for words in ("Skyddad folkbokföring", "Sekretessmarkering", "Lokalt skydd", "Hotbild",
                  "Fiktivt namn", "telefonkod", "LarmAppen", "kyld mat", "SAMSA",
                  "Nästa uppföljning", "Skriv aldrig personnummer"):
        assert words in text, words
    html = pdf.blank_html("checklist.html")
    assert html.count('class="tick-box"') >= 30
    assert html.count('class="write-line"') >= 8
    # Five pages since issue 14 item 10 gave every text room to write by hand (the threat
    # picture 56 mm, every other text three or four ruled lines).
    assert len(PdfReader(io.BytesIO(resp.data)).pages) <= 5


# --- the next version, from the text in the assignment document (§5.12) -------------------


def test_import_restores_every_field_and_raises_the_version(as_user: Any) -> None:
    client = as_user("secretary")
    original = checklist_form()
    first = assignment_text(client, original)

    resp = paste(client, first)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    html = resp.get_data(as_text=True)
    assert "Checklistan version 1 är inläst" in html
    assert "har inte lästs in" not in html
    restored = form_values(html)
    assert restored["version"] == "2"
    assert {k: v for k, v in restored.items() if k != "version"} == {
        k: v for k, v in original.items() if k != "version"}

    # The restored form is the next version as it stands: valid, and it round-trips again.
    second = assignment_text(client, restored)
    again = form_values(paste(client, second).get_data(as_text=True))
    assert again["version"] == "3"
    assert {k: v for k, v in again.items() if k != "version"} == {
        k: v for k, v in original.items() if k != "version"}


def test_import_reads_a_text_that_treserva_wrapped_and_reindented(as_user: Any) -> None:
    client = as_user("secretary")
    original = checklist_form(threat_picture=THREAT + "\n\nHon har bytt telefonnummer två gånger.")
    text = assignment_text(client, original)
    pasted = []
    for line in text.split("\n"):
        while len(line) > 40 and " " in line[:40]:  # a hard wrap at 40 columns
            cut = line.rindex(" ", 0, 40)
            pasted.append("\t" + line[:cut] + "  ")
            line = line[cut + 1:]
        pasted.append("    " + line.replace(" ", "\u00a0", 1) + " ")
    resp = paste(client, "\r\n".join(pasted))
    assert resp.status_code == 200
    values = form_values(resp.get_data(as_text=True))
    assert values.pop("version") == "2"
    assert values == {k: v for k, v in original.items() if k != "version"}


def test_import_lists_the_lines_it_could_not_read(as_user: Any) -> None:
    client = as_user("secretary")
    text = assignment_text(client, checklist_form())
    text = text.replace("* E-post får användas: Ja", "* E-post får användas: Kanske")
    text = text.replace("* SAMSA:", "Någon skrev här\n* SAMSA:")
    resp = paste(client, text)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    lines = text.split("\n")
    email = lines.index("* E-post får användas: Kanske") + 1
    assert f"Rad {email} (E-post får användas): svaret går inte att läsa" in html
    assert html.count("<li>Rad ") == 1
    values = form_values(html)
    assert "email_agreed" not in values  # not guessed
    # An unmarked line continues the line above (that is how a wrapped line comes back).
    assert values["private_funds_note"] == "Inköp av dagligvaror enligt rutinen. Någon skrev här"


def _only_error(resp: Any, message: str) -> None:
    """422, the message at the text field, and no other error on the page."""
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert '<p class="error-message" id="import-text-error" role="alert">' in html
    assert message.replace("'", "&#39;") in html
    assert html.count('class="error-message"') == 1
    assert "error-summary" not in html


def test_a_text_without_a_checklist_is_refused(as_user: Any) -> None:
    client = as_user("secretary")
    _only_error(paste(client, "Uppdragsdokument\nHemtjänst två gånger per dag."),
                "Texten innehåller ingen checklista från Skyddsportalen.")
    resp = paste(client, "Hemtjänst två gånger per dag.")
    assert "Hemtjänst två gånger per dag." in resp.get_data(as_text=True)  # input kept


def test_empty_and_missing_texts_are_refused(as_user: Any) -> None:
    client = as_user("secretary")
    message = "Klistra in checklistans text från uppdragsdokumentet."
    _only_error(paste(client, ""), message)
    _only_error(paste(client, " \r\n\t "), message)
    _only_error(client.post(IMPORT, data={}), message)


def test_texts_over_64_kilobytes_are_refused(as_user: Any) -> None:
    client = as_user("secretary")
    message = "Texten är längre än 64 kB."
    text = assignment_text(client, checklist_form())
    _only_error(paste(client, text + "x" * (64 * 1024 - len(text.encode()) + 1)), message)
    assert paste(client, text + "x" * (64 * 1024 - len(text.encode()) - 1)).status_code == 200
    huge = "* Hotbild: " + "x" * (700 * 1024)  # over Werkzeug's form memory limit as well
    _only_error(paste(client, huge), message)


# --- nothing stored, only audited -----------------------------------------------------------


def _db_files(app: Flask) -> list[Path]:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    path = Path(uri.removeprefix("sqlite:///"))
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def test_nothing_of_the_content_reaches_the_database(app: Flask, as_user: Any) -> None:
    client = as_user("secretary")
    with app.app_context():
        before = table_counts()
    text = assignment_text(client, checklist_form())
    make_pdf(client, checklist_form())
    assert paste(client, text).status_code == 200
    assert paste(client, "garbage").status_code == 422
    with app.app_context():
        after = table_counts()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.seq > before[
            "audit_events"]).order_by(AuditEvent.seq)).all()
        db.session.remove()
        db.engine.dispose()  # checkpoint the WAL into the file we search
    # Issue 16, part E: the one thing kept is the follow-up reminder, a case number and a date
    # (tests/test_follow_ups.py searches it for content); nothing else changes.
    kept = ("audit_events", "follow_ups")
    assert {t: n for t, n in after.items() if t not in kept} == \
        {t: n for t, n in before.items() if t not in kept}
    assert after["follow_ups"] == before["follow_ups"] + 1
    actions = [(e.action, e.outcome, e.detail) for e in events]
    assert ("message_rendered", "ok", None) in actions
    assert ("pdf_rendered", "ok", None) in actions
    assert ("checklist_imported", "ok", "version 1, 0 lines not read") in actions
    assert ("checklist_imported", "refused", "no_checklist") in actions
    for e in events:
        assert e.username == "secretary"
        assert e.case_number in (None, "0655588")
        for text in SECRET_TEXTS:
            assert text not in (e.detail or "")
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:"):
        return  # PostgreSQL: the row counts above; the file search is for SQLite
    raw = b"".join(path.read_bytes() for path in _db_files(app))
    assert SECRETARY.encode("utf-8") in raw  # the search does find what is stored
    for text in SECRET_TEXTS:
        assert text.encode("utf-8") not in raw, text
    with sqlite3.connect(_db_files(app)[0]) as conn:  # and as SQL sees it
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert not any(isinstance(v, str) and FICTIONAL in v for v in row)


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "manager", "hemtjanst_manager", "lvs", "admin", "fee"])
def test_only_social_secretaries_may_use_the_checklist(as_user: Any, role: str) -> None:
    client = as_user(role)
    assert client.get("/forms/checklist").status_code == 403
    assert client.post("/forms/checklist", data=checklist_form()).status_code == 403
    assert client.post("/forms/checklist", data={**checklist_form(), "as_pdf": "1"}).status_code \
        == 403
    assert paste(client, "* Version: 1").status_code == 403


def test_anonymous_users_are_sent_to_login(client: FlaskClient) -> None:
    for resp in (client.get("/forms/checklist"), paste(client, "* Version: 1")):
        assert resp.status_code == 302
        assert resp.headers["Location"].split("?")[0].endswith("/login")


def test_the_checklist_is_registered_as_render_only() -> None:
    kind = FORMS["checklist"]
    assert isinstance(kind, RenderOnlyForm) and kind.storage == "none"
    assert kind.submit_roles == frozenset({"social_secretary"})
    assert kind.distribution_list == "assignment_document"
    assert kind.pdf_disposition == "inline"
    # One print template, blank and filled: no blank_checklist.html beside it.
    assert kind.has_blank and kind.pdf_template == "checklist.html"
    assert sorted(p.name for p in pdf.PDF_TEMPLATES.glob("*checklist*")) == ["checklist.html"]
    assert not hasattr(kind, "pdf_attachments")  # the PDF carries no data (H2)


# --- issue 13, "wrong today" item 6 (routine §5.7, §7.3, §8.8, §9.6, `004`) -----------------

SUBCONTRACTORS = ("Rutinen §8.8, underleverantörer används inte. Inga serviceinsatser eller andra "
                  "insatser utförs av underleverantörer; samtliga insatser utförs av hemtjänstens "
                  "egen personal.")
#: The assignment text's line for "no subcontractors" while it was a tick (before issue 13).
OLD_SUBCONTRACTORS_TICK = "* Inga underleverantörer, alla insatser utförs av egen personal: "


def test_no_subcontractors_is_the_routines_rule_not_a_tick(app: Flask, as_user: Any) -> None:
    """§8.8 is what the performer must do, not an agreement that could be left unticked: the
    checklist states it, on the page, in the text for the assignment document and in the print,
    blank and filled, whatever is posted."""
    assert [s.text for s in checklist.STATEMENTS] == [SUBCONTRACTORS]
    assert not [f for f in checklist.FIELDS if "subcontract" in f]
    client = as_user("secretary")
    page = client.get("/forms/checklist").get_data(as_text=True)
    assert "no_subcontractors" not in page
    assert "Samtliga insatser utförs av hemtjänstens egen personal." in page
    # A browser of the old page that posts the tick unticked (or ticked) changes nothing.
    for posted in ({}, {"no_subcontractors": "y"}):
        text = assignment_text(client, {**checklist_form(), **posted})
        assert text.count(f"* {SUBCONTRACTORS}") == 1
        assert OLD_SUBCONTRACTORS_TICK not in text
    filled = text_of(make_pdf(client, checklist_form()))
    blank = text_of(client.get("/blank/checklist.pdf").data)
    for printed in (filled, blank):
        assert f"Gäller alltid. {SUBCONTRACTORS}" in printed


def test_a_text_of_an_earlier_version_with_the_tick_reads_without_a_problem(as_user: Any) -> None:
    """A version written while "no subcontractors" was a tick (its line, "Ja" or "Nej") is read:
    the retired line is skipped, never listed as unknown; the new legal representative's lines,
    which it lacks, are listed as missing and left for the user."""
    client = as_user("secretary")
    text = assignment_text(client, checklist_form())
    old = (text.replace(f"* {SUBCONTRACTORS}\n", "")
               .replace("* Privata medel", f"{OLD_SUBCONTRACTORS_TICK}Nej\n* Privata medel", 1))
    old = re.sub(r"\n\* LEGAL FÖRETRÄDARE\n(\* .*\n){2}", "\n", old)
    assert OLD_SUBCONTRACTORS_TICK in old and "Legal företrädare" not in old
    parsed = checklist.parse_text(old)
    assert [(p.template, p.label) for p in parsed.problems] == [
        (checklist.MSG_ABSENT, "Legal företrädare"),
        (checklist.MSG_ABSENT,
         "Företrädaren känner till skyddet och checklistans överenskommelser")]
    html = paste(client, old).get_data(as_text=True)
    assert "känns inte igen" not in html
    values = form_values(html)
    assert "legal_representative" not in values  # never guessed
    assert values["private_funds"] == "y" and values["samsa"] == "removal_requested"
    # A statement someone changed in Treserva is not the routine's rule: listed, not read.
    changed = text.replace("samtliga insatser utförs", "de flesta insatser utförs")
    assert [p.template for p in checklist.parse_text(changed).problems] == [checklist.MSG_UNKNOWN]


def test_the_checklist_records_the_legal_representative_and_never_a_name(as_user: Any) -> None:
    """§9.6: out of hours Trygghetsjouren cannot see the checklist and reconciles it with the
    client or the legal representative. The checklist records which kind of representative there
    is and whether they know the agreements: choices and a tick, no free text, so no name or
    contact details of that third party."""
    section = next(s for s in checklist.SECTIONS if s.text == "LEGAL FÖRETRÄDARE")
    assert [(f.name, f.widget) for f in section.fields] == [
        ("legal_representative", "choice"), ("legal_representative_informed", "bool")]
    assert [label for _, label in section.fields[0].choices] == [
        "Ingen", "God man", "Förvaltare", "Ombud med fullmakt"]
    client = as_user("secretary")
    page = client.get("/forms/checklist").get_data(as_text=True)
    assert "(§9.6)" in page
    resp = client.post("/forms/checklist", data=checklist_form(legal_representative=None))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'href="#legal_representative"' in html
    assert "Svara på om den enskilde har en legal företrädare (§9.6)." in html
    resp = client.post("/forms/checklist", data=checklist_form(legal_representative="none"))
    assert resp.status_code == 422
    assert 'href="#legal_representative_informed"' in resp.get_data(as_text=True)
    text = assignment_text(client, checklist_form(legal_representative="forvaltare"))
    assert "* LEGAL FÖRETRÄDARE\n* Legal företrädare: Förvaltare\n" in text
    printed = text_of(make_pdf(client, checklist_form(legal_representative="forvaltare")))
    assert "Legal företrädare" in printed and "Förvaltare" in printed
    parsed = checklist.parse_text(text)
    assert parsed.problems == [] and list(parsed.data) == list(checklist.SCHEMA)
    with client.application.test_request_context():
        filled = pdf.render_html("checklist.html", data=parsed.data,
                                 meta={"orderer": "", "orderer_unit": "", "created_at": ""})
    crossed = re.findall(r'class="tick-box"[^>]*>X</span> ([^<]+)</span>', filled)
    assert "Förvaltare" in crossed and "God man" not in crossed


SIGN_LINES = ("Genomgången med den enskilde, datum", "Socialsekreterarens underskrift",
              "Avstämd av utföraren med den enskilde, datum",
              "Enhetschef/uppdragsmottagare, underskrift",
              "Ändringar meddelade socialsekreteraren, datum", "Kopia erbjuden den enskilde, datum")


def test_the_filled_checklist_has_the_signature_and_review_lines_of_the_blank(
    as_user: Any,
) -> None:
    """§5.3, §7.3: the printed checklist is signed after the review with the client, and the
    performer (enhetschef/uppdragsmottagare) reconciles it with the client and offers a copy. The
    filled print had none of these lines; blank and filled now come from one block."""
    client = as_user("secretary")
    filled = text_of(make_pdf(client, checklist_form()))
    blank = text_of(client.get("/blank/checklist.pdf").data)
    for printed in (filled, blank):
        assert "Genomgång och underskrifter (§5.3, §7.3)" in printed
        for label in SIGN_LINES:
            assert label in printed, label
    html = pdf.blank_html("checklist.html")
    with client.application.test_request_context():
        data = checklist.to_data(checklist.ChecklistForm(formdata=None))
        filled_html = pdf.render_html("checklist.html", data=data,
                                      meta={"orderer": "", "orderer_unit": "", "created_at": ""})
    block = re.compile(r"<h2[^>]*>Genomgång och underskrifter.*?</table>", re.S)
    found_blank, found_filled = block.search(html), block.search(filled_html)
    assert found_blank and found_filled
    assert found_blank.group(0) == found_filled.group(0)
    assert found_filled.group(0).count('class="write-line"') == len(SIGN_LINES)


def test_chilled_food_is_cited_to_its_source(as_user: Any) -> None:
    """Chilled food comes from the city's page on sekretessmarkering and skyddad folkbokföring
    (`004`, "Verkställighet matdistribution"), not from §5.9; §5.7 says why it is no insats."""
    hint = str(checklist.FIELDS["chilled_food"].hint)
    assert "Verkställighet matdistribution" in hint and "§5.7" in hint
    assert "§5.9" not in hint
    page = as_user("secretary").get("/forms/checklist").get_data(as_text=True)
    assert "avsnittet Verkställighet matdistribution" in page
