"""Issue 14 item 6, the deviation reserve report (routine §4.2, SPEC §3.4) as a first-time user met
it: the unit is the reporter's own, never a choice (any unit could be picked, LVS and
Systemförvaltning too, while the hint said it goes to your own manager); "Lämnad till" is chosen
among the unit's managers and planners, and a unit without any is told so at once, on the GET;
the preview does not tell staff without Treserva access to paste anything into Treserva; the
start pages list the waiting reports by category and fictional name, not by date alone."""
from __future__ import annotations

import re
from typing import Any

from conftest import html, submit_form
from flask import Flask
from sqlalchemy import select
from test_deviation import DESCRIPTION, FICTIONAL, report

from portal.extensions import db
from portal.models import AuditEvent, Submission

LVS_UNIT = "LVS Myndighet"


def _text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _events(app: Flask, action: str, public_id: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.object_id == public_id)))
        db.session.expunge_all()
        return rows


# --- the unit is the reporter's own --------------------------------------------------------------


def test_the_unit_is_shown_as_the_reporters_own_and_offers_no_choice(
        app: Flask, as_user: Any) -> None:
    page = html(as_user("staff").get("/forms/deviation"))
    assert 'name="unit"' not in page
    for other in (LVS_UNIT, "Systemförvaltning", "Myndighet Centrum", "Avgiftshandläggning"):
        assert f'value="{other}"' not in page and other not in page
    assert "Enhet: Hemtjänst Hisingen (din enhet, från din inloggning)." in _text(page)


def test_a_posted_unit_is_ignored_and_the_report_goes_to_the_reporters_unit(
        app: Flask, as_user: Any) -> None:
    """A black-box client that still posts `unit` is not refused: the value is ignored."""
    public_id = submit_form(as_user("staff"), "/forms/deviation", report(unit=LVS_UNIT))
    manager = as_user("hemtjanst_manager")
    data = manager.get(f"/submissions/{public_id}.json").get_json()
    assert data["unit"] == "Hemtjänst Hisingen"
    lines = html(manager.get(f"/submissions/{public_id}/message")).splitlines()
    assert lines[1] == "Ämne: Avvikelse – reservrapport, Hemtjänst Hisingen"
    assert "Enhet: Hemtjänst Hisingen" in lines and f"Enhet: {LVS_UNIT}" not in lines
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.unit.name == "Hemtjänst Hisingen"


def test_a_secretary_reports_for_her_own_unit_whatever_unit_is_posted(
        app: Flask, as_user: Any) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/deviation",
                            report(unit="Hemtjänst Hisingen", handed_to="Eva Enhetschef"))
    data = as_user("manager").get(f"/submissions/{public_id}.json").get_json()
    assert data["unit"] == "Myndighet Centrum"
    assert public_id not in html(as_user("hemtjanst_manager").get("/"))


def test_the_back_button_of_the_preview_keeps_everything_without_a_unit_field(
        app: Flask, as_user: Any) -> None:
    staff = as_user("staff")
    preview = html(staff.post("/forms/deviation", data=report(preview="1")))
    assert 'name="unit"' not in preview  # no hidden unit to post back either
    back = staff.post("/forms/deviation", data=report(edit="1"))
    assert back.status_code == 200 and FICTIONAL in html(back) and DESCRIPTION in html(back)


# --- "Lämnad till": the unit's managers and planners; a unit without any is told at once ---------


def test_handed_to_offers_exactly_the_units_managers_and_planners(
        app: Flask, as_user: Any) -> None:
    page = html(as_user("staff").get("/forms/deviation"))
    select_html = page.split('name="handed_to"', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option[^>]*value="([^"]*)"', select_html)
    assert offered == ["", "Hugo Hemtjänstchef", "Petra Planerare"]
    assert 'id="no-recipients"' not in page


def test_a_unit_without_managers_or_planners_is_told_on_the_get(app: Flask, as_user: Any) -> None:
    """Issue 14: the fee handler's unit has no manager or planner in the portal; it learnt that
    only after filling in the whole report and posting it."""
    app.config["SUPPORT_CONTACT"] = "Servicedesk, telefon 031-123 45 67"
    resp = as_user("fee").get("/forms/deviation")
    assert resp.status_code == 200
    page = html(resp)
    notice = page.split('id="no-recipients"', 1)[1].split("</section>", 1)[0]
    text = _text(notice)
    assert "Avgiftshandläggning har ingen enhetschef eller planerare i portalen" in text
    assert "Skriv ut en tom blankett" in text and "/blank/deviation.pdf" in notice
    assert "Be Servicedesk, telefon 031-123 45 67 att lägga in enhetens chef" in text
    # The notice comes before the form, and the field says whom to contact too.
    assert page.index('id="no-recipients"') < page.index('action="/forms/deviation"')
    assert "Servicedesk" in page.split('id="handed_to-hint"', 1)[1].split("</p>", 1)[0]


def test_posting_in_a_unit_without_recipients_says_so_not_choose_someone(
        app: Flask, as_user: Any) -> None:
    resp = as_user("fee").post("/forms/deviation", data=report(handed_to=""))
    assert resp.status_code == 422
    error = _text(html(resp).split('id="handed_to-error"', 1)[1].split("</p>", 1)[0])
    assert "ingen enhetschef eller planerare" in error and "IT-support" in error
    assert "Välj vem på enheten" not in error
    with app.app_context():
        assert db.session.scalar(select(Submission)) is None


def test_no_choice_where_there_are_recipients_asks_to_choose(app: Flask, as_user: Any) -> None:
    resp = as_user("staff").post("/forms/deviation", data=report(handed_to=""))
    assert resp.status_code == 422
    error = _text(html(resp).split('id="handed_to-error"', 1)[1].split("</p>", 1)[0])
    assert "Välj vem på enheten som ska registrera avvikelsen." in error


# --- the preview does not tell the reporter to paste into Treserva ------------------------------


def _no_paste_instruction(text: str) -> None:
    lowered = text.lower()
    assert "klistra in" not in lowered and "meddelandefunktion" not in lowered


def test_the_preview_and_the_sent_page_tell_the_reporter_to_do_nothing_in_treserva(
        app: Flask, as_user: Any) -> None:
    staff = as_user("staff")
    preview = _text(html(staff.post("/forms/deviation", data=report(preview="1"))))
    _no_paste_instruction(preview)
    assert "rapportören gör ingenting i Treserva" in preview
    assert "Till dig som tar emot den: registrera avvikelsen på personen" in preview
    public_id = submit_form(staff, "/forms/deviation", report())
    _no_paste_instruction(_text(html(staff.get(f"/submissions/{public_id}"))))
    form_page = _text(html(staff.get("/forms/deviation")))
    _no_paste_instruction(form_page)
    assert "gör du ingenting i Treserva och kopierar ingenting dit" in form_page


# --- the start page lists waiting reports by category and fictional name ------------------------


def _deviation_rows(page: str) -> list[str]:
    section = page.split('id="dev-title"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [_text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_start_page_lists_each_report_by_fictional_name_and_category(
        app: Flask, as_user: Any) -> None:
    staff = as_user("staff")
    named = submit_form(staff, "/forms/deviation", report())
    nobody = submit_form(staff, "/forms/deviation", report(
        fictional_name="", no_individual="y", category="annat",
        description="Larmet i trapphuset fungerade inte."))
    for role in ("hemtjanst_manager", "planner"):
        page = html(as_user(role).get("/"))
        rows = _deviation_rows(page)
        assert rows[0].startswith(f"{FICTIONAL} (fiktivt namn) Fall ")
        assert rows[1].startswith("Ingen enskild person Annat ")
        assert f"/submissions/{named}" in page and f"/submissions/{nobody}" in page
        assert DESCRIPTION not in page  # only the category and the name, not the content


def test_each_read_for_the_start_page_is_audited_as_the_recipients_read(
        app: Flask, as_user: Any) -> None:
    public_id = submit_form(as_user("staff"), "/forms/deviation", report())
    as_user("hemtjanst_manager").get("/")
    reads = _events(app, "protected_content_read", public_id)
    start_reads = [e for e in reads if e.detail == "startsidan: typ och fiktivt namn"]
    assert len(start_reads) == 1
    with app.app_context():
        from portal.models import User
        manager = db.session.scalar(select(User).where(User.username == "hemtjanst_manager"))
        assert manager is not None and start_reads[0].user_id == manager.id
    assert FICTIONAL not in (start_reads[0].detail or "")


def test_other_start_pages_read_no_report(app: Flask, as_user: Any) -> None:
    public_id = submit_form(as_user("staff"), "/forms/deviation", report())
    for role in ("staff", "manager", "lvs", "admin", "other_manager"):
        assert FICTIONAL not in html(as_user(role).get("/"))
    assert _events(app, "protected_content_read", public_id) == []


def test_a_report_that_cannot_be_read_does_not_break_the_start_page(
        app: Flask, as_user: Any) -> None:
    public_id = submit_form(as_user("staff"), "/forms/deviation", report())
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.data_enc is not None
        sub.data_enc = sub.data_enc[:-1] + bytes([sub.data_enc[-1] ^ 1])  # one bit changed
        db.session.commit()
    resp = as_user("hemtjanst_manager").get("/")
    assert resp.status_code == 200
    assert _deviation_rows(html(resp))[0].startswith("Innehållet kan inte läsas")
    assert len(_events(app, "protected_content_unreadable", public_id)) == 1
    assert _events(app, "protected_content_read", public_id) == []


def test_unregistered_without_a_reader_reads_nothing(app: Flask, as_user: Any) -> None:
    from portal.forms.deviation import unregistered

    public_id = submit_form(as_user("staff"), "/forms/deviation", report())
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        waiting = unregistered(sub.unit_id)
        assert [w.summary for w in waiting] == [None]
    assert _events(app, "protected_content_read", public_id) == []
