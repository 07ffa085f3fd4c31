"""Issue 14 items 9 and 12, what a first-time user stumbled on in the forms and their words: radio
groups as bullet lists, five checklist dates all called "Datum", no way back from the checklist's
result, date errors that do not say which date, R-REPORTER when nothing was chosen, "Inget har
skickats" on a form that is never sent, small note boxes, and the words ("sammanställda",
"frivilligt", "Ta bort raden", a queue item is not an "ärende", times with their offset)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import html, order_form
from flask import Flask
from sqlalchemy import select
from test_checklist import checklist_form
from test_day_notes import add_note, create_file, note_ids
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DateTimeField, TimeField

from portal.clock import today
from portal.extensions import db
from portal.forms import BY_KEY
from portal.forms.base import iter_fields
from portal.forms.checklist import INFO_ITEMS
from portal.forms.fields import IsoDateField, IsoTimeField
from portal.models import AuditEvent, Submission

ROOT = Path(__file__).resolve().parent.parent


def errors_at(page: str, field_id: str) -> str:
    """The error message shown at a field (its -error paragraph), without the hidden "Fel:"."""
    found = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>(.*?)</p>', page, re.S)
    assert found is not None, f"no error at {field_id}"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).replace("Fel:", "").split())


def summary_text(page: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert found is not None, "no error summary"
    return found.group(0)


# --- item 9: radio groups are fieldsets, not bullet lists ----------------------------------------


@pytest.mark.parametrize("user, path, name, legend", [
    ("secretary", "/forms/fee-handler", "kind", "Meddelandet gäller"),
    ("secretary", "/forms/trygghetsjouren", "purpose", "Meddelandet gäller"),
    ("manager", "/forms/trygghetsjouren", "purpose", "Meddelandet gäller"),
])
def test_radio_groups_are_a_fieldset_with_a_legend_not_a_bullet_list(
    as_user: Any, user: str, path: str, name: str, legend: str
) -> None:
    page = html(as_user(user).get(path))
    group = re.search(rf'<fieldset class="field radios[^"]*" id="{name}"[^>]*>(.*?)</fieldset>',
                      page, re.S)
    assert group is not None, page
    assert f"<legend>{legend}</legend>" in group.group(1)
    radios = re.findall(rf'<input[^>]*name="{name}"[^>]*type="radio"|<input[^>]*type="radio"'
                        rf'[^>]*name="{name}"', group.group(1))
    assert len(radios) >= 2
    assert "<ul" not in page.split("<main", 1)[1].split("</form>", 1)[0]  # no list in the form
    assert f'<ul id="{name}"' not in page


def test_an_unanswered_radio_group_shows_its_error_in_the_group(as_user: Any) -> None:
    resp = as_user("secretary").post("/forms/fee-handler", data={"kind": "nonsense"})
    assert resp.status_code == 422
    page = html(resp)
    group = re.search(r'<fieldset class="field radios\s+field--error" id="kind"'
                      r' aria-describedby="kind-hint kind-error">(.*?)</fieldset>', page, re.S)
    assert group is not None and 'id="kind-error"' in group.group(1)
    assert 'href="#kind"' in summary_text(page)  # the summary leads to the group


# --- item 9: each checklist date has its own name ------------------------------------------------


def test_the_checklist_dates_each_have_their_own_label(as_user: Any) -> None:
    page = html(as_user("secretary").get("/forms/checklist"))
    labels = {
        item: " ".join(re.sub(r"<[^>]+>", "", m.group(1)).split())
        for item in INFO_ITEMS
        if (m := re.search(rf'<label for="{item}_date">(.*?)</label>', page, re.S))
    }
    assert set(labels) == set(INFO_ITEMS)
    assert len(set(labels.values())) == len(INFO_ITEMS), labels  # five different names
    assert all(label != "Datum" and label.startswith("Datum") for label in labels.values())


# --- item 9: "Ändra" on the checklist's result ---------------------------------------------------


def _hidden_fields(page: str) -> list[tuple[str, str]]:
    form = re.search(r'<form method="post" action="/forms/checklist">(.*?)</form>', page, re.S)
    assert form is not None
    return [
        (m.group(1), m.group(2).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&"))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1))
    ]


def test_change_on_the_checklist_result_returns_to_the_form_with_everything_kept(
    app: Flask, as_user: Any
) -> None:
    secretary = as_user("secretary")
    posted = checklist_form()
    result = secretary.post("/forms/checklist", data=posted)
    assert result.status_code == 200
    page = html(result)
    assert re.search(r'<button type="submit" name="edit" value="1"[^>]*>Ändra</button>', page)
    with app.app_context():
        events = db.session.scalar(select(db.func.count()).select_from(AuditEvent))

    back = secretary.post("/forms/checklist",
                          data=MultiDict([*_hidden_fields(page), ("edit", "1")]))
    assert back.status_code == 200
    form_page = html(back)
    assert '<form method="post" action="/forms/checklist" novalidate>' in form_page
    assert "error-summary" not in form_page  # shown, not checked
    for name, value in posted.items():
        if not value:
            continue
        if value == "y":
            assert re.search(rf'<input[^>]*checked[^>]*name="{name}"|<input[^>]*name="{name}"'
                             rf'[^>]*checked', form_page), name
        elif name in ("protection_kind", "children_in_household", "fictional_name_agreed",
                      "post_route", "digital_mailbox", "email_agreed", "legal_representative",
                      "samsa"):
            assert re.search(rf'<input[^>]*checked[^>]*name="{name}"[^>]*value="{value}"'
                             rf'|<input[^>]*name="{name}"[^>]*value="{value}"[^>]*checked'
                             rf'|<input[^>]*checked[^>]*value="{value}"[^>]*name="{name}"',
                             form_page), name
        else:
            shown = value.replace("&", "&amp;").replace('"', "&#34;").replace("'", "&#39;")
            assert shown in form_page, name
    with app.app_context():  # going back renders nothing: no audit event of a checklist made
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == events


# --- item 9: every date and time error names its field -------------------------------------------


def _date_and_time_fields(app: Flask) -> list[tuple[str, Any]]:
    out = []
    with app.test_request_context():
        for key, kind in BY_KEY.items():
            form = kind.form_class(formdata=None)
            out += [(f"{key}.{f.name}", f) for f in iter_fields(form)
                    if isinstance(f, DateField | TimeField | DateTimeField)]
    return out


def test_every_date_and_time_field_of_every_form_names_itself_in_its_message(app: Flask) -> None:
    fields = _date_and_time_fields(app)
    assert len(fields) >= 15
    messages = []
    for name, f in fields:
        assert isinstance(f, IsoDateField | IsoTimeField), f"{name}: not a portal date field"
        fmt = "TT:MM" if isinstance(f, IsoTimeField) else "ÅÅÅÅ-MM-DD"
        assert f.message.startswith("Ange ") and f.message.endswith(f"som {fmt}."), name
        messages.append(f.message)
    assert "Ange datumet som ÅÅÅÅ-MM-DD." not in messages


@pytest.mark.parametrize("user, path, data, field_id, message", [
    ("secretary", "/forms/actualisation", {"received_date": "2026-13-40"}, "received_date",
     "Ange mottaget datum som ÅÅÅÅ-MM-DD."),
    ("secretary", "/forms/actualisation", {"received_date": ""}, "received_date",
     "Ange mottaget datum som ÅÅÅÅ-MM-DD."),
    ("manager", "/forms/access-order", {"valid_to": "31/12/2026"}, "valid_to",
     "Ange slutdatum för behörigheten som ÅÅÅÅ-MM-DD."),
    ("secretary", "/forms/fee-handler", {"kind": "change", "change_date": "i morgon"},
     "change_date", "Ange från vilket datum tiden ändras, som ÅÅÅÅ-MM-DD."),
    ("secretary", "/forms/checklist", {"info_no_anonymity_date": "igår"},
     "info_no_anonymity_date", "Ange datum för informationen om anonymitet som ÅÅÅÅ-MM-DD."),
    ("secretary", "/forms/checklist", {"info_handling": "y"}, "info_handling_date",
     "Ange datum för informationen om hur ärenden hanteras som ÅÅÅÅ-MM-DD."),
    ("staff", "/forms/deviation", {"event_date": "1 maj", "event_time": "25:61"}, "event_date",
     "Ange datum för händelsen som ÅÅÅÅ-MM-DD."),
    ("staff", "/forms/deviation", {"event_date": "1 maj", "event_time": "25:61"}, "event_time",
     "Ange klockslag för händelsen som TT:MM."),
])
def test_a_date_error_says_which_date_and_the_format(
    as_user: Any, user: str, path: str, data: dict[str, str], field_id: str, message: str
) -> None:
    resp = as_user(user).post(path, data=data)
    assert resp.status_code == 422
    page = html(resp)
    assert errors_at(page, field_id) == message  # once, at its field
    assert message in summary_text(page)
    assert "Inte ett giltigt datum" not in page and "Inte ett giltigt tidsvärde" not in page
    assert "Ange datumet som" not in page


# --- item 9: no R-REPORTER when nothing was chosen -------------------------------------------


REPORTER_ANMALAN = "det krävs vid en anmälan"
REPORTER_OTHER = "eftersom den inte kom från den enskilde"


@pytest.mark.parametrize("data, expected", [
    ({}, None),  # nothing chosen: only "must be answered", at those fields
    ({"kind": "ansökan"}, None),
    ({"kind": "ansökan", "arrived_from": "den enskilde"}, None),
    ({"kind": "ansökan", "arrived_from": "dotter"}, REPORTER_OTHER),
    ({"arrived_from": "dotter"}, REPORTER_OTHER),
    ({"kind": "anmälan"}, REPORTER_ANMALAN),
    ({"kind": "anmälan", "arrived_from": "den enskilde"}, REPORTER_ANMALAN),
])
def test_the_reporter_is_asked_for_only_when_the_routine_asks(
    as_user: Any, data: dict[str, str], expected: str | None
) -> None:
    resp = as_user("secretary").post("/forms/actualisation", data=data)
    assert resp.status_code == 422
    page = html(resp)
    if expected is None:
        assert 'id="reporter_name-error"' not in page
        assert REPORTER_OTHER not in page and REPORTER_ANMALAN not in page
    else:
        assert expected in errors_at(page, "reporter_name")
    if "arrived_from" not in data:
        assert errors_at(page, "arrived_from") == "Ankom ifrån måste fyllas i."


# --- item 9: a render-only form's summary does not say "Inget har skickats" ---------------------


def test_the_checklist_error_summary_does_not_say_nothing_was_sent(as_user: Any) -> None:
    resp = as_user("secretary").post("/forms/checklist", data={"version": "1"})
    assert resp.status_code == 422
    summary = summary_text(html(resp))
    assert "Inget har skickats" not in summary
    assert "allt du skrivit finns kvar" in summary


@pytest.mark.parametrize("user, path", [
    ("secretary", "/forms/fee-handler"),
    ("secretary", "/forms/trygghetsjouren"),
    ("secretary", "/forms/handover"),
])
def test_no_render_only_form_says_nothing_was_sent(as_user: Any, user: str, path: str) -> None:
    resp = as_user(user).post(path, data={"case_number": ""})
    assert resp.status_code == 422
    assert "Inget har skickats" not in summary_text(html(resp))


def test_every_render_only_form_page_asks_for_the_render_only_summary() -> None:
    """A new render-only form's page must say it too (its template, by the form's key)."""
    for kind in BY_KEY.values():
        source = (ROOT / "templates" / kind.page_template).read_text(encoding="utf-8")
        if kind.storage == "none":
            assert "error_summary(errors, render_only=true)" in source, kind.key
        else:
            assert "render_only=true" not in source, kind.key


def test_a_stored_form_still_says_nothing_was_sent(as_user: Any) -> None:
    resp = as_user("manager").post("/forms/access-order", data={"case_number": ""})
    assert resp.status_code == 422
    assert "Inget har skickats." in summary_text(html(resp))


# --- item 9: room to write notes -----------------------------------------------------------------


def test_a_day_note_and_a_deviation_description_get_a_big_text_box(as_user: Any) -> None:
    file_id = create_file(as_user("hemtjanst_manager"))
    page = html(as_user("staff").get(f"/day-notes/{file_id}"))
    note = re.search(r'<textarea[^>]*id="text"[^>]*>', page)
    assert note is not None and 'rows="8"' in note.group(0) and "note-text" in note.group(0)
    page = html(as_user("staff").get("/forms/deviation"))
    description = re.search(r'<textarea[^>]*id="description"[^>]*>', page)
    assert description is not None and 'rows="8"' in description.group(0)
    css = (ROOT / "static" / "css" / "portal.css").read_text(encoding="utf-8")
    assert re.search(r"textarea\.note-text \{[^}]*min-height", css)


# --- item 12: words ------------------------------------------------------------------------------


def test_compiled_notes_are_marked_sammanstallda(app: Flask, as_user: Any) -> None:
    manager, staff = as_user("hemtjanst_manager"), as_user("staff")
    file_id = create_file(manager)
    add_note(staff, file_id)
    add_note(staff, file_id, "Gunnel åt frukost och läste tidningen.")
    ids = note_ids(html(manager.get(f"/day-notes/{file_id}/compile")))
    resp = manager.post(f"/day-notes/{file_id}/compile", data={"note": ids},
                        follow_redirects=True)
    page = html(resp)
    assert "Markerade som sammanställda i journalen: 2 anteckningar." in page
    assert "markerade som sammanställd " not in page


SOURCES = [
    *(ROOT / "templates").rglob("*.html"),
    *(ROOT / "templates").rglob("*.txt"),
    *(ROOT / "portal").rglob("*.py"),
    *(ROOT / "static" / "js").rglob("*.js"),
]


def test_optional_is_called_frivilligt_everywhere() -> None:
    other_words = re.compile(r"valfri|ej obligatorisk|inte obligatorisk|\(frivillig\)", re.I)
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in SOURCES
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if other_words.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("user, path", [
    ("manager", "/forms/access-order"),
    ("secretary", "/forms/actualisation"),
])
def test_the_row_button_removes_the_row_and_says_which(as_user: Any, user: str,
                                                       path: str) -> None:
    client = as_user(user)
    data = order_form() if path.endswith("access-order") else {"receiving_unit": "Myndighet Centrum"}
    page = html(client.post(path, data={**data, "add_person": "1"}))
    buttons = re.findall(r'<button type="submit" name="remove_person"[^>]*>[^<]*</button>', page)
    assert len(buttons) == 2
    for number, button in enumerate(buttons, 1):
        assert button.endswith(">Ta bort raden</button>")
        assert f'aria-label="Ta bort raden för person {number}"' in button
    assert "Ta bort person" not in page


def test_the_queue_speaks_of_orders_not_cases(app: Flask, as_user: Any) -> None:
    assert as_user("manager").post("/forms/access-order", data=order_form()).status_code == 303
    start = html(as_user("lvs").get("/"))
    assert "1 beställning väntar i kön." in start and "ärende väntar" not in start
    queue = html(as_user("lvs").get("/lvs/queue"))
    assert '<th scope="col">Ärendenummer</th>' in queue


ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")


def test_queue_json_and_a_submissions_json_give_times_with_their_offset(
    app: Flask, as_user: Any
) -> None:
    resp = as_user("manager").post("/forms/access-order", data=order_form())
    public_id = resp.headers["Location"].rsplit("/", 1)[1]
    [item] = as_user("lvs").get("/lvs/queue.json").get_json()
    assert ISO_WITH_OFFSET.fullmatch(item["created_at"]), item["created_at"]
    with app.app_context():
        stored = _utc(db.session.scalar(select(Submission.created_at)))
    sent = datetime.fromisoformat(item["created_at"])
    assert sent.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # Stockholm time
    assert abs((sent - stored).total_seconds()) < 1  # the same instant
    lvs = as_user("lvs")
    exported = lvs.get(f"/submissions/{public_id}.json").get_json()["submission"]
    assert ISO_WITH_OFFSET.fullmatch(exported["created_at"])
    assert exported["created_at"] == item["created_at"]
    assert exported["processed_at"] is None
    assert today().isoformat() == exported["created_at"][:10]


def _utc(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite reads it back naive
