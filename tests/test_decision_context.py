"""Issue 14 item 11: context where a decision is made. A flagged access order shows LVS, on its
page, why it is flagged and who already has access to the case in every unit; LVS has a list of
what it handled in the last 30 days (GET /lvs/handled); the login's lockout message says for how
long and whom to contact, the same words whether the name exists, is wrong or waits."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD, html, login, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_cases import CASE, granted, row
from test_trust_login import WRONG, client_at

from portal.clock import today, utcnow
from portal.extensions import db
from portal.models import Submission

OTHER_CASE = "0655599"
JUSTIFICATION = "Tre vikarier under sommaren, ansvarig är sjukskriven."


def _text(page: str) -> str:
    """The page's text with tags dropped and white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _flag_context(page: str) -> str:
    found = re.search(r'<div class="flag-context" id="flag-context">(.*?)</div>', page, re.S)
    assert found, "no flag context on the page"
    return _text(found.group(1))


# --- a flagged order shows who already has access ------------------------------------------------


def _over_the_limit(as_user: Any) -> str:
    """Myndighet Centrum holds the case with three people (its limit), Hemtjänst Hisingen with
    one; the manager orders a fourth with a justification: flagged for LVS."""
    granted(as_user, "manager", ("Anna Andersson", "anna01"), ("Bengt Berg", "bengt02"),
            ("Cecilia Ceder", "cecilia03"))
    granted(as_user, "hemtjanst_manager", ("Dora Dahl", "dora04"))
    data = order_form(justification=JUSTIFICATION)
    for key in [k for k in data if k.startswith("persons-")]:
        del data[key]
    data.update(row(0, "Erik Ek", "erik05"))
    return submit_form(as_user("manager"), "/forms/access-order", data)


def test_a_flagged_order_shows_lvs_who_already_has_access_in_every_unit(
        app: Flask, as_user: Any) -> None:
    public_id = _over_the_limit(as_user)
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.flagged
    shown = _flag_context(html(as_user("lvs").get(f"/submissions/{public_id}")))
    until = (today() + timedelta(days=180)).isoformat()
    for name, username, unit in [("Anna Andersson", "anna01", "Myndighet Centrum"),
                                 ("Bengt Berg", "bengt02", "Myndighet Centrum"),
                                 ("Cecilia Ceder", "cecilia03", "Myndighet Centrum"),
                                 ("Dora Dahl", "dora04", "Hemtjänst Hisingen")]:
        assert f"{name} ({username}), {unit}, till och med {until}" in shown
    assert "Erik Ek" not in shown  # the one ordered is not one who has access
    assert "4 personer ha behörighet till ärendet i enheten; gränsen är 3" in shown


def test_the_flag_context_is_for_lvs_deciding_only(app: Flask, as_user: Any) -> None:
    public_id = _over_the_limit(as_user)
    # The orderer sees the order, not the register of every unit.
    page = html(as_user("manager").get(f"/submissions/{public_id}"))
    assert 'id="flag-context"' not in page and "Dora Dahl" not in page
    # Once LVS has acted the decision is made: the page shows the facts, not the context.
    lvs = as_user("lvs")
    assert lvs.post(f"/lvs/submissions/{public_id}/done", data={"version": "1"}).status_code == 303
    assert 'id="flag-context"' not in html(lvs.get(f"/submissions/{public_id}"))


def test_an_order_that_is_not_flagged_has_no_flag_context(app: Flask, as_user: Any) -> None:
    public_id = submit_form(as_user("manager"), "/forms/access-order", order_form())
    page = html(as_user("lvs").get(f"/submissions/{public_id}"))
    assert 'id="flag-context"' not in page
    assert "Alla aktiva behörigheter till ärendet, i alla enheter" in page  # the §2.5 check stays


def test_a_flagged_order_for_a_case_nobody_holds_says_so(app: Flask, as_user: Any) -> None:
    """Local protection again for a case (§1.3) is flagged even where no grant exists."""
    until = (today() + timedelta(days=30)).isoformat()
    protection = {"local_protection": "y", "local_protection_until": until,
                  "local_protection_reason": "Akut hotbild, Skatteverkets beslut inväntas."}
    granted(as_user, "manager", ("Anna Andersson", "anna01"), case=OTHER_CASE, **protection)
    lvs = as_user("lvs")
    # The register loses anna01 (a removal), then the case gets local protection again.
    removal = order_form(case_number=OTHER_CASE, **{"persons-0-action": "remove",
                                                    "persons-0-full_name": "Anna Andersson",
                                                    "persons-0-username": "anna01",
                                                    "persons-0-email": "anna01@goteborg.se"})
    removed = submit_form(as_user("manager"), "/forms/access-order", removal)
    assert lvs.post(f"/lvs/submissions/{removed}/done", data={"version": "1"}).status_code == 303
    again = submit_form(as_user("manager"), "/forms/access-order",
                        order_form(case_number=OTHER_CASE, **protection))
    shown = _flag_context(html(lvs.get(f"/submissions/{again}")))
    assert "Ärendet har haft lokalt skydd tidigare." in shown
    assert "Ingen har aktiv behörighet till ärendet i någon enhet." in shown


# --- what LVS handled --------------------------------------------------------------------------


def _done_by(lvs: FlaskClient, public_id: str, **extra: str) -> None:
    resp = lvs.post(f"/lvs/submissions/{public_id}/done", data={"version": "1", **extra})
    assert resp.status_code == 303, html(resp)


def _set_processed(app: Flask, public_id: str, days_ago: float) -> None:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        sub.processed_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [_text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_lvs_lists_what_it_handled_in_the_last_30_days_newest_first(
        app: Flask, as_user: Any) -> None:
    from test_actualisation import NAME
    from test_actualisation import form as actualisation_form

    manager, lvs = as_user("manager"), as_user("lvs")
    older = submit_form(manager, "/forms/access-order", order_form())
    _done_by(lvs, older)
    _set_processed(app, older, 29)
    too_old = submit_form(manager, "/forms/access-order", order_form(case_number=OTHER_CASE))
    _done_by(as_user("lvs2"), too_old)
    _set_processed(app, too_old, 31)
    waiting = submit_form(manager, "/forms/access-order", order_form(case_number="0655577"))
    actualisation = submit_form(as_user("secretary"), "/forms/actualisation",
                                actualisation_form())
    _done_by(lvs, actualisation, case_number="0712345")

    page = html(lvs.get("/lvs/handled"))
    rows = _rows(page)
    assert len(rows) == 2
    # Newest first: the actualisation, a tombstone with the case number LVS created.
    assert rows[0].startswith("Begäran om aktualisering av skyddad person")
    assert "0712345" in rows[0] and "Lena LVS" in rows[0] and "Myndighet Centrum" in rows[0]
    assert "innehållet raderat" in rows[0]
    assert "Behörighetsbeställning" in rows[1] and CASE in rows[1]
    assert "Klar" in rows[1] and "1 tillagd" in rows[1] and "Lena LVS" in rows[1]
    for absent in (too_old, waiting, OTHER_CASE, "0655577"):
        assert absent not in page
    assert actualisation in page and older in page  # each links to its page
    # No content of the purged request: no personnummer, no name.
    assert "19121212" not in page and NAME not in page


def test_the_handled_list_leaves_out_deviation_reports_and_shows_no_content(
        app: Flask, as_user: Any) -> None:
    from test_deviation import report

    public_id = submit_form(as_user("staff"), "/forms/deviation", report())
    manager = as_user("hemtjanst_manager")
    assert manager.post(f"/submissions/{public_id}/done", data={"version": "1"}).status_code == 303
    page = html(as_user("lvs").get("/lvs/handled"))
    assert public_id not in page and "LVS har inte hanterat något de senaste 30 dagarna" in page


def test_the_handled_list_is_paginated(app: Flask, as_user: Any) -> None:
    app.config["LVS_HANDLED_PAGE"] = 2
    manager, lvs = as_user("manager"), as_user("lvs")
    ids = []
    for n in range(5):
        public_id = submit_form(manager, "/forms/access-order",
                                order_form(case_number=f"065560{n}"))
        _done_by(lvs, public_id)
        _set_processed(app, public_id, 5 - n)  # the last one is the newest
        ids.append(public_id)
    first, second, third = (html(lvs.get(f"/lvs/handled?page={n}")) for n in (1, 2, 3))
    assert [len(_rows(p)) for p in (first, second, third)] == [2, 2, 1]
    assert ids[4] in first and ids[3] in first and ids[0] in third
    assert "/lvs/handled?page=2" in first and "/lvs/handled?page=1" in second
    assert "/lvs/handled?page=4" not in third
    assert lvs.get("/lvs/handled?page=999").status_code == 200
    assert lvs.get("/lvs/handled?page=-3").status_code == 200
    assert lvs.get("/lvs/handled?page=x").status_code == 200


@pytest.mark.parametrize("role", ["manager", "staff", "admin", "planner", "secretary"])
def test_only_lvs_sees_the_handled_list(app: Flask, as_user: Any, role: str) -> None:
    assert as_user(role).get("/lvs/handled").status_code == 403


def test_the_lvs_queue_links_to_the_handled_list(app: Flask, as_user: Any) -> None:
    assert 'href="/lvs/handled"' in html(as_user("lvs").get("/lvs/queue"))


# --- the lockout message -----------------------------------------------------------------------


def _answer(client: FlaskClient, username: str, password: str) -> tuple[int, str]:
    resp = login(client, username, password)
    return resp.status_code, _text(html(resp))


def test_the_lockout_message_says_for_how_long_and_whom_to_contact(app: Flask) -> None:
    app.config.update(LOGIN_LOCKOUT=timedelta(minutes=3), LOGIN_LOCKOUT_MAX=timedelta(hours=2),
                      SUPPORT_CONTACT="Servicedesk, telefon 031-123 45 67")
    status, text = _answer(client_at(app, "10.14.0.1"), "manager", WRONG)
    assert status == 422
    assert "Efter 5 misslyckade försök från samma dator får du vänta 3 minuter" in text
    assert "som längst 120 minuter" in text
    assert "kontakta Servicedesk, telefon 031-123 45 67" in text


def test_the_lockout_message_tells_nothing_about_the_name(app: Flask) -> None:
    """The same words, whether the name exists, the password is wrong or this address waits
    (SECURITY.md; tests/test_trust_login.py M6): it states the rule, not this name's state."""
    guesser = client_at(app, "10.14.0.2")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(guesser, "manager", WRONG).status_code == 422
    answers = {
        "locked": _answer(guesser, "manager", PASSWORD),
        "wrong": _answer(client_at(app, "10.14.0.3"), "manager", WRONG),
        "unknown": _answer(client_at(app, "10.14.0.4"), "finns_inte", WRONG),
    }
    assert answers["locked"] == answers["wrong"] == answers["unknown"]
    assert "vänta 1 minut" in answers["wrong"][1] and "kontakta" in answers["wrong"][1]


def test_too_many_failures_from_one_address_says_how_long_and_whom_to_contact(
        app: Flask) -> None:
    app.config.update(LOGIN_RATE_PER_ADDRESS="2 per 15 minutes", SUPPORT_CONTACT="Servicedesk")
    browser = client_at(app, "10.14.0.5")
    codes = [login(browser, f"finns_inte_{n}", WRONG).status_code for n in range(3)]
    assert codes == [422, 422, 429]
    text = _text(html(login(browser, "finns_inte_x", WRONG)))
    assert "Vänta upp till 15 minuter" in text and "kontakta Servicedesk" in text


def test_reauthentication_while_locked_says_how_long(app: Flask, as_user: Any) -> None:
    client = client_at(app, "10.14.0.6")
    assert login(client, "lvs").status_code == 303
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/reauth", data={"password": WRONG})
    resp = client.post("/reauth", data={"password": PASSWORD})
    assert resp.status_code == 429
    text = _text(html(resp))
    assert "Försök igen om 1 minut" in text and "kontakta IT-support eller systemförvaltaren" in text
