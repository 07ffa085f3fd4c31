"""Issue 14 item 3: an action that deletes for good is never one click away. The submission page
of an actualisation request ("Markera som klar och radera innehållet") and of a deviation report
("Registrerad i Treserva"), and the page of a fictional file ("Stäng akten"), link to a
confirmation page that says what is deleted and holds the real form; the POST that does it is
unchanged (SPEC §6: same path, same fields, same answers). The confirmation page is checked as
the action is (deny by default, 404 for what is not yours), is never cached, reads no content
and has "Avbryt" back."""
from __future__ import annotations

import html as html_lib
import re
from typing import Any

from conftest import html, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, FictionalFile, Submission

PNR = "19121212-1212"
NAME = "Tolvan Tolvansson"
FICTIONAL = "Gunnel Gran"
DESCRIPTION = "Gunnel föll i badrummet vid morgonbesöket."


def actualisation() -> dict[str, str]:
    return {
        "receiving_unit": "Myndighet Centrum", "recipient": "Sara Socialsekreterare",
        "recipient_position": "socialsekreterare", "activity": "ÄO", "personnummer": PNR,
        "full_name": NAME, "concerns": "Ansökan om hemtjänst",
        "preliminary_case_type": "Hemtjänst", "kind": "ansökan",
        "received_date": today().isoformat(), "arrival_method": "telefon",
        "arrived_from": "den enskilde", "reporter_name": "", "reporter_contact": "",
        "proposed_persons-0-full_name": "Anna Andersson",
        "proposed_persons-0-username": "anna01",
        "proposed_persons-0-position": "socialsekreterare",
        "text": "Behöver hjälp med inköp och städning.",
    }


def deviation() -> dict[str, str]:
    return {
        "event_date": today().isoformat(), "event_time": "07:45", "unit": "Hemtjänst Hisingen",
        "fictional_name": FICTIONAL, "category": "fall", "description": DESCRIPTION,
        "immediate_action": "Hjälpte upp henne och ringde sjuksköterskan.",
        "handed_to": "Hugo Hemtjänstchef",
    }


def sub_row(app: Flask, public_id: str) -> Submission:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        db.session.expunge(sub)
        return sub


def events(app: Flask, action: str, object_id: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent.id).where(
            AuditEvent.action == action, AuditEvent.object_id == object_id)).all())


def forms_posting_to(page: str, path: str) -> list[str]:
    """Every <form> of the page whose action is `path`, as HTML."""
    return [m.group(0) for m in re.finditer(r"<form\b[^>]*>.*?</form>", page, re.S)
            if re.search(rf'\baction="{re.escape(path)}"', m.group(0).split(">", 1)[0])]


def text_of(page: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def check_confirm_page(resp: Any, show: str, post_to: str, deleted: str) -> str:
    """The confirmation page: 200, never cached, says what is deleted, holds the one real form
    (CSRF token, the submission's version) and "Avbryt" back to `show`."""
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    page = html(resp)
    assert deleted in text_of(page)
    (form,) = forms_posting_to(page, post_to)
    assert 'method="post"' in form and 'name="csrf_token"' in form
    assert re.search(rf'<a [^>]*href="{re.escape(show)}"[^>]*>\s*Avbryt\s*</a>', form)
    return page


# --- actualisation request: LVS marks it done and its content is purged -------------------------


def test_actualisation_done_goes_through_a_confirmation_page(app: Flask, as_user) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/actualisation", actualisation())
    lvs = as_user("lvs")
    show, done, lvs_done = (f"/submissions/{public_id}", f"/submissions/{public_id}/done",
                            f"/lvs/submissions/{public_id}/done")
    page = html(lvs.get(show))
    assert PNR in page  # LVS reads it on its page …
    assert not forms_posting_to(page, lvs_done) and not forms_posting_to(page, done)
    assert re.search(rf'<a [^>]*href="{re.escape(done)}"[^>]*>\s*Markera som klar och radera '
                     r"innehållet", page)  # … whose button only leads to the confirmation
    reads = events(app, "protected_content_read", public_id)

    confirm = check_confirm_page(
        lvs.get(done), show, lvs_done,
        "Innehållet i begäran – personnummer, namn och all annan text – raderas ur portalen och "
        "kan inte återskapas")
    assert PNR not in confirm and NAME not in confirm  # no content on the confirmation page
    assert events(app, "protected_content_read", public_id) == reads  # and none read for it
    (form,) = forms_posting_to(confirm, lvs_done)
    assert 'name="case_number"' in form and 'name="version" value="1"' in form
    assert "Markera som klar och radera innehållet" in form
    assert sub_row(app, public_id).status == "submitted"  # the page changed nothing

    # The real POST, as the page's form sends it, does what it always did.
    resp = lvs.post(lvs_done, data={"version": "1", "case_number": "0655588",
                                    "from_confirm": "1"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/lvs/queue")
    sub = sub_row(app, public_id)
    assert sub.status == "purged" and sub.data_enc is None and sub.case_number == "0655588"
    # Once done there is nothing to confirm: back to its page, which says it is purged.
    again = lvs.get(done)
    assert again.status_code == 303 and again.headers["Location"].endswith(show)


def test_a_bad_case_number_from_the_confirmation_page_comes_back_to_it(app: Flask,
                                                                        as_user) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/actualisation", actualisation())
    lvs = as_user("lvs")
    path = f"/lvs/submissions/{public_id}/done"
    resp = lvs.post(path, data={"version": "1", "case_number": "abc", "from_confirm": "1"})
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/submissions/{public_id}/done")
    page = html(lvs.get(resp.headers["Location"]))
    assert 'role="status"' in page and 'name="case_number"' in page  # the error, at the field
    # A direct post (SPEC §6, no marker) is answered as before: back to the submission.
    resp = lvs.post(path, data={"version": "1", "case_number": "abc"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(public_id)
    assert sub_row(app, public_id).status == "submitted"


def test_only_lvs_reaches_the_actualisation_confirmation(app: Flask, as_user) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/actualisation", actualisation())
    path = f"/submissions/{public_id}/done"
    before = events(app, "submission_denied", None)
    # The secretary and her unit's manager see that it exists, but do not process it: 404.
    for role in ("secretary", "manager", "other_manager", "staff", "admin"):
        assert as_user(role).get(path).status_code == 404, role
    assert events(app, "submission_denied", None) == before + 5  # each attempt audited
    resp = app.test_client().get(path)  # anonymous: to the login page
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert sub_row(app, public_id).status == "submitted"


# --- deviation report: a manager of the unit registers it and its content is purged -------------


def test_deviation_registered_goes_through_a_confirmation_page(app: Flask, as_user) -> None:
    public_id = submit_form(as_user("staff"), "/forms/deviation", deviation())
    show, done = f"/submissions/{public_id}", f"/submissions/{public_id}/done"
    for role in ("hemtjanst_manager", "planner"):  # the unit's managers and planners
        client = as_user(role)
        page = html(client.get(show))
        assert DESCRIPTION in page and not forms_posting_to(page, done)
        assert re.search(rf'<a [^>]*href="{re.escape(done)}"[^>]*>\s*Registrerad i Treserva', page)
        confirm = check_confirm_page(
            client.get(done), show, done,
            "Innehållet i reservrapporten raderas och kan inte återskapas. Kvar finns bara att "
            "rapporten fanns")
        assert DESCRIPTION not in confirm and FICTIONAL not in confirm
    assert sub_row(app, public_id).status == "submitted"

    resp = as_user("planner").post(done, data={"version": "1"})
    assert resp.status_code == 303
    sub = sub_row(app, public_id)
    assert sub.status == "purged" and sub.data_enc is None


def test_others_get_404_for_the_deviation_confirmation(app: Flask, as_user) -> None:
    public_id = submit_form(as_user("staff"), "/forms/deviation", deviation())
    path = f"/submissions/{public_id}/done"
    before = events(app, "submission_denied", None)
    # The reporter reads her report but does not register it; other units and LVS never see it.
    for role in ("staff", "other_manager", "manager", "lvs", "admin", "secretary"):
        assert as_user(role).get(path).status_code == 404, role
    assert events(app, "submission_denied", None) == before + 6  # each attempt audited
    assert as_user("lvs").get("/submissions/no-such-id-000000000000/done").status_code == 404


def test_an_access_order_has_no_confirmation_step(app: Flask, as_user) -> None:
    """Marking an access order done updates the register and keeps the order: its button stays
    on its page with LVS's checks beside the review, posted directly as before."""
    from conftest import order_form

    public_id = submit_form(as_user("manager"), "/forms/access-order", order_form())
    lvs = as_user("lvs")
    page = html(lvs.get(f"/submissions/{public_id}"))
    assert forms_posting_to(page, f"/lvs/submissions/{public_id}/done")
    assert lvs.get(f"/submissions/{public_id}/done").status_code == 404


# --- a fictional file: "Stäng akten" --------------------------------------------------------------


def new_file(client: FlaskClient) -> str:
    resp = client.post("/day-notes/", data={"fictional_name": FICTIONAL, "case_number": "0655588"})
    assert resp.status_code == 303, html(resp)
    return resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def closed(app: Flask, file_id: str) -> bool:
    with app.app_context():
        file = db.session.scalar(select(FictionalFile).where(FictionalFile.public_id == file_id))
        assert file is not None
        return file.closed_at is not None


def test_closing_a_fictional_file_goes_through_a_confirmation_page(app: Flask, as_user) -> None:
    manager = as_user("hemtjanst_manager")
    file_id = new_file(manager)
    note = "Handlade mat, allt väl."
    assert as_user("staff").post(f"/day-notes/{file_id}/notes", data={"text": note}
                                 ).status_code == 303
    show, close = f"/day-notes/{file_id}", f"/day-notes/{file_id}/close"
    page = html(manager.get(show))
    assert not forms_posting_to(page, close)
    assert re.search(rf'<a [^>]*href="{re.escape(close)}"[^>]*>\s*Stäng akten', page)

    resp = manager.get(close)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    confirm = html(resp)
    words = text_of(confirm)
    assert "Akten kan inte öppnas igen" in words and "Inget av det kan återskapas" in words
    assert "1 anteckning är inte sammanställd i journalen." in words
    assert note not in confirm and "0655588" not in confirm  # no note text, no case number
    (form,) = forms_posting_to(confirm, close)
    assert 'name="csrf_token"' in form and ">Stäng akten</button>" in form
    assert re.search(rf'<a [^>]*href="{re.escape(show)}"[^>]*>\s*Avbryt\s*</a>', form)
    assert not closed(app, file_id)  # the page changed nothing

    assert manager.post(close).status_code == 303  # the POST as before
    assert closed(app, file_id)
    again = manager.get(close)  # nothing left to confirm
    assert again.status_code == 303 and again.headers["Location"].endswith(show)


def test_only_the_files_unit_manager_reaches_the_close_confirmation(app: Flask, as_user) -> None:
    file_id = new_file(as_user("hemtjanst_manager"))
    path = f"/day-notes/{file_id}/close"
    for role, status in (("staff", 403), ("planner", 403), ("lvs", 403), ("admin", 403),
                         ("manager", 404), ("other_manager", 404)):
        assert as_user(role).get(path).status_code == status, role
    assert as_user("hemtjanst_manager").get("/day-notes/no-such-file-0000000000/close"
                                            ).status_code == 404
    assert not closed(app, file_id)
