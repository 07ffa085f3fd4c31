"""Issue 14 item 2: Enter in a text field submits a form with its first submit button (HTML's
implicit submission), so on every form page that button is the one that reviews or shows the
result — never one that adds, removes or loads rows. And loading a case's grants for removal
says at the top that the rows were replaced, naming what the user had typed that is gone.

The browser half (Enter pressed in a real Chromium) is tests/test_browser_actions.py."""
from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from conftest import USERS, html, order_form
from flask import Flask
from sqlalchemy import select

from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS
from portal.models import Grant, Submission, Unit, User

# Buttons that only edit the form on the page; Enter must never run one of them.
EDITING = {"add_person", "remove_person", "load_grants", "edit"}


def submit_buttons(form_html: str) -> list[dict[str, str]]:
    """The submit buttons of one form, in tree order, with their attributes."""
    found = []
    for m in re.finditer(r"<button\b([^>]*)>|<input\b([^>]*)>", form_html):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1) or m.group(2)))
        kind = attrs.get("type", "submit" if m.group(1) is not None else "text")
        if kind == "submit":
            found.append(attrs)
    return found


def post_forms(page: str, action: str = "") -> list[str]:
    """The page's POST forms (whose action starts with `action`)."""
    return [m.group(0) for m in re.finditer(r'<form\b[^>]*method="post"[^>]*>.*?</form>', page,
                                            re.S)
            if re.search(rf'action="{re.escape(action)}', m.group(0).split(">", 1)[0])]


def check_default_first(page: str, what: str) -> None:
    for form in post_forms(page):
        buttons = submit_buttons(form)
        if not buttons:
            continue
        first = buttons[0]
        assert first.get("name") not in EDITING, f"{what}: Enter would press {first}"
        names = [b.get("name") for b in buttons]
        if "preview" in names:  # the form reviews before sending: Enter reviews
            assert first.get("name") == "preview", f"{what}: first button {first}"
        if len(buttons) > 1 and first.get("tabindex") == "-1":
            # The hidden default is a copy of a visible button: same name and value.
            copies = [b for b in buttons[1:]
                      if (b.get("name"), b.get("value")) == (first.get("name"), first.get("value"))]
            assert copies, f"{what}: the default button copies no visible button"
            assert first.get("aria-hidden") == "true"


def user_for(kind: object) -> str | None:
    """A fixture user who may fill the form in (BoSam's contract message has none)."""
    from portal.models import User as UserModel

    for username in USERS:
        user = db.session.scalar(select(UserModel).where(UserModel.username == username))
        if user is not None and kind.may_submit(user):  # type: ignore[attr-defined]
            return username
    return None


FILLED_SLUGS = sorted(FORMS)


@pytest.mark.parametrize("slug", FILLED_SLUGS)
def test_the_first_submit_button_of_every_form_page_reviews(app: Flask, as_user,
                                                             slug: str) -> None:
    with app.app_context():
        username = user_for(FORMS[slug])
    if username is None:  # BoSam's contract messages (§6.1): no fixture user is in BoSam
        assert FORMS[slug].unit_types is not None, slug
        return
    client = as_user(username)
    check_default_first(html(client.get(f"/forms/{slug}")), f"GET {slug}")
    # With errors (an empty post) and with two rows (the row buttons appear in every row).
    check_default_first(html(client.post(f"/forms/{slug}", data={})), f"422 {slug}")
    rows = html(client.post(f"/forms/{slug}", data={"add_person": "1"}))
    check_default_first(rows, f"rows {slug}")


def test_the_old_access_order_page_would_have_failed() -> None:
    """The check above catches the bug the issue names: a form whose first button loads rows."""
    old = ('<form method="post" action="/forms/access-order"><input name="case_number">'
           '<button type="submit" name="load_grants" value="1">Hämta</button>'
           '<button type="submit" name="preview" value="1">Granska</button></form>')
    with pytest.raises(AssertionError):
        check_default_first(old, "old")


def test_the_access_order_and_actualisation_pages_start_with_their_review_button(
        as_user) -> None:
    for user, slug, label in (("manager", "access-order", "Granska beställningen"),
                              ("secretary", "actualisation", "Granska begäran")):
        client = as_user(user)
        page = html(client.post(f"/forms/{slug}", data={"add_person": "1"}))
        (form,) = post_forms(page, f"/forms/{slug}")
        first, *rest = submit_buttons(form)
        assert (first.get("name"), first.get("tabindex"), first.get("aria-hidden")) == (
            "preview", "-1", "true")
        assert [b.get("name") for b in rest][-1] == "preview"  # the visible one, at the end
        assert label in form


def test_closing_a_case_reviews_on_enter_and_never_confirms(app: Flask, as_user) -> None:
    """cases/close: "Visa vad som avslutas" comes before "Bekräfta avslut", also once the
    preview is shown (Enter in the case number field shows the preview again)."""
    grant(app, "anna01", "Anna Andersson")
    client = as_user("manager")
    page = html(client.post("/cases/close", data={"case_number": "0655588", "event": "closed",
                                                  "preview": "1"}))
    (form,) = post_forms(page, "/cases/close")
    names = [b.get("name") for b in submit_buttons(form)]
    assert names == ["preview", "confirm"]


# --- loading the case's grants for removal says that the rows were replaced ----------------------

CASE = "0655588"


def grant(app: Flask, username: str, full_name: str) -> None:
    day = today()
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "Myndighet Centrum"))
        lvs = db.session.scalar(select(User).where(User.username == "lvs"))
        assert unit is not None and lvs is not None
        order = Submission(form="access_order", unit_id=unit.id, submitted_by_id=lvs.id,
                           case_number=CASE, status="done", data={})
        db.session.add(order)
        db.session.flush()
        db.session.add(Grant(
            case_number=CASE, username=username, full_name=full_name,
            email=f"{username}@goteborg.se", position="socialsekreterare", unit_id=unit.id,
            unit_name=unit.name, unit_type=unit.unit_type, valid_from=day - timedelta(days=5),
            valid_to=day + timedelta(days=100), granted_by_id=lvs.id, order_id=order.id))
        db.session.commit()


def load(client, rows: dict[str, str]):  # type: ignore[no-untyped-def]
    data = {k: v for k, v in order_form().items() if not k.startswith("persons-")}
    data.update(rows)
    data["load_grants"] = "1"
    return client.post("/forms/access-order", data=data)


def notice(page: str) -> str:
    match = re.search(r'<div class="notice" role="status" id="rows-notice">(.*?)</div>', page,
                      re.S)
    assert match, "no notice at the top"
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_loading_grants_says_the_rows_were_replaced_and_names_what_was_typed(
        app: Flask, as_user) -> None:
    grant(app, "anna01", "Anna Andersson")
    grant(app, "bengt02", "Bengt Berg")
    resp = load(as_user("manager"), {
        "persons-0-action": "add", "persons-0-full_name": "Karin Ny",
        "persons-0-username": "karin07", "persons-0-email": "karin@goteborg.se",
        # a row for someone who is among the loaded ones: not lost, now a removal row
        "persons-1-action": "remove", "persons-1-full_name": "Anna Andersson",
        "persons-1-username": "anna01",
        "persons-2-full_name": "", "persons-2-username": "", "persons-2-email": "",
    })
    assert resp.status_code == 200
    page = html(resp)
    said = notice(page)
    assert said.startswith("Raderna ersattes med 2 aktiva behörigheter för ärendet i din enhet, "
                           "som rader att ta bort.")
    assert "Det du hade fyllt i finns inte kvar: lägg till Karin Ny (karin07)." in said
    assert "Anna Andersson" not in said  # replaced by the same person's removal row
    # The notice is at the top, before the form.
    assert page.index('id="rows-notice"') < page.index('<form method="post"')


def test_loading_over_blank_rows_only_says_they_were_replaced(app: Flask, as_user) -> None:
    grant(app, "anna01", "Anna Andersson")
    said = notice(html(load(as_user("manager"), {"persons-0-full_name": ""})))
    assert said == ("Raderna ersattes med 1 aktiv behörighet för ärendet i din enhet, som en rad "
                    "att ta bort. Granska raden innan du skickar.")


def test_a_refused_load_replaces_nothing_and_says_nothing(app: Flask, as_user) -> None:
    page = html(load(as_user("manager"), {"persons-0-full_name": "Karin Ny",
                                          "persons-0-username": "karin07"}))
    assert 'id="rows-notice"' not in page
    assert 'value="karin07"' in page  # the typed row is still there
