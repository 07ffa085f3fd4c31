"""People who leave or change post (routine §2.1, 002; SPEC §3.7), the register's filters (SPEC
§6), and what LVS sees and ticks when it processes an order (§2.5): the whole way through the
pages."""
from __future__ import annotations

import re
from typing import Any

from conftest import count, html
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_cases import CASE, PNR, active, granted

from portal.extensions import db
from portal.models import AuditEvent, Submission

OTHER = "0655599"


def shared_person(as_user: Any) -> None:
    """anna01 holds access to two cases in Myndighet Centrum and one in Hemtjänst Hisingen."""
    granted(as_user, "manager", ("Anna Andersson", "anna01"), ("Bengt Berg", "bengt02"))
    granted(as_user, "manager", ("Anna Andersson", "anna01"), case=OTHER)
    granted(as_user, "hemtjanst_manager", ("Anna Andersson", "anna01"))


def leaving_orders(app: Flask) -> list[tuple[str, str | None, list[str]]]:
    with app.app_context():
        subs = db.session.scalars(select(Submission).where(
            Submission.status == "submitted").order_by(Submission.id))
        return sorted((s.unit.name, s.case_number, [p["username"] for p in s.data["persons"]])
                      for s in subs if s.data and s.data.get("leaving"))


def version_of(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found is not None
    return found.group(1)


# --- a person's grants -----------------------------------------------------------------------


def test_lvs_sees_a_persons_grants_in_every_unit_and_a_manager_in_their_own(
        app: Flask, as_user) -> None:
    shared_person(as_user)
    page = html(as_user("lvs").get("/register/person?username=ANNA01"))  # letter case ignored
    assert page.count("<td>Anna Andersson</td>") == 3
    assert "Hemtjänst Hisingen" in page and OTHER in page
    page = html(as_user("hemtjanst_manager").get("/register/person?username=anna01"))
    assert page.count("<td>Anna Andersson</td>") == 1 and OTHER not in page
    page = html(as_user("other_manager").get("/register/person?username=anna01"))
    assert "Personen har inga aktiva behörigheter" in page
    assert 'action="/register/person/remove"' not in page


def test_removing_a_person_makes_one_order_per_unit_and_case(app: Flask, as_user) -> None:
    shared_person(as_user)
    lvs = as_user("lvs")
    resp = lvs.post("/register/person/remove", data={"username": "anna01"})
    assert resp.status_code == 303
    assert leaving_orders(app) == [
        ("Hemtjänst Hisingen", CASE, ["anna01"]),
        ("Myndighet Centrum", CASE, ["anna01"]),
        ("Myndighet Centrum", OTHER, ["anna01"]),
    ]
    assert "3 borttagsbeställningar är skickade till LVS." in html(lvs.get(resp.headers["Location"]))
    assert html(lvs.get("/lvs/queue")).count("<strong>Slutar</strong>") == 3
    listed = lvs.get("/lvs/queue.json").get_json()
    assert [(i["closing"], i["leaving"]) for i in listed] == [(False, True)] * 3
    # asked again before LVS has acted: nothing is ordered twice
    resp = lvs.post("/register/person/remove", data={"username": "anna01"})
    assert resp.status_code == 422 and 'id="username-error"' in html(resp)
    assert len(leaving_orders(app)) == 3
    # LVS carries them out: anna01 has no access left; bengt02 keeps his
    with app.app_context():
        ids = list(db.session.scalars(select(Submission.public_id).where(
            Submission.status == "submitted")))
    for public_id in ids:
        shown = html(lvs.get(f"/submissions/{public_id}"))
        assert "Personen slutar eller byter tjänst" in shown
        assert lvs.post(f"/lvs/submissions/{public_id}/done",
                        data={"version": version_of(shown)}).status_code == 303
    assert active(app) == [("Myndighet Centrum", "bengt02")]


def test_a_manager_removes_a_person_only_from_their_own_unit(app: Flask, as_user) -> None:
    shared_person(as_user)
    resp = as_user("hemtjanst_manager").post("/register/person/remove",
                                             data={"username": "anna01"})
    assert resp.status_code == 303
    assert leaving_orders(app) == [("Hemtjänst Hisingen", CASE, ["anna01"])]
    resp = as_user("other_manager").post("/register/person/remove", data={"username": "anna01"})
    assert resp.status_code == 422
    assert len(leaving_orders(app)) == 1


def test_a_username_that_is_not_one_is_refused_at_the_field(app: Flask, as_user) -> None:
    c = as_user("lvs")
    resp = c.get("/register/person?username=" + PNR.replace("-", "+"))
    assert resp.status_code == 422 and 'id="username-error"' in html(resp)
    resp = c.post("/register/person/remove", data={"username": ""})
    assert resp.status_code == 422 and 'id="username-error"' in html(resp)
    assert count(app, Submission) == 0


def test_only_managers_and_lvs_reach_a_persons_grants(app: Flask, as_user) -> None:
    for username in ("staff", "secretary", "planner", "admin"):
        c: FlaskClient = as_user(username)
        assert c.get("/register/person?username=anna01").status_code == 403
        assert c.post("/register/person/remove", data={"username": "anna01"}).status_code == 403
    assert count(app, AuditEvent, AuditEvent.action == "access_denied") == 8
    resp = as_user("lvs").post("/register/person/remove", data={"username": "anna01"},
                               csrf=False)
    assert resp.status_code == 400


# --- the register's filters ------------------------------------------------------------------


def test_the_register_filters_by_case_and_by_username(app: Flask, as_user) -> None:
    shared_person(as_user)
    lvs = as_user("lvs")
    page = html(lvs.get(f"/register?case={OTHER}"))
    assert page.count("<td>Anna Andersson</td>") == 1 and "Bengt Berg" not in page
    page = html(lvs.get("/register?username=bengt02"))
    assert "Bengt Berg" in page and "Anna Andersson" not in page
    page = html(lvs.get(f"/register?case={CASE}&username=anna01"))
    assert page.count("<td>Anna Andersson</td>") == 2 and OTHER not in page
    page = html(as_user("manager").get(f"/register?case={CASE}"))
    assert "Hemtjänst Hisingen" not in page and page.count("<td>Anna Andersson</td>") == 1


def test_a_personnummer_as_the_case_filter_is_refused_and_not_used(app: Flask, as_user) -> None:
    shared_person(as_user)
    resp = as_user("lvs").get(f"/register?case={PNR}")
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="case-error"' in page and page.count("<td>Anna Andersson</td>") == 3


def test_the_register_pages_keep_the_filter(app: Flask, as_user, monkeypatch) -> None:
    from portal.views import register as register_views

    monkeypatch.setattr(register_views, "PAGE", 1)
    shared_person(as_user)
    page = html(as_user("lvs").get("/register?username=anna01"))
    assert "/register?page=2&amp;username=anna01" in page


# --- LVS processing an order (§2.5) ----------------------------------------------------------


def test_lvs_sees_every_grant_of_the_case_in_every_unit_and_ticks_the_checks(
        app: Flask, as_user) -> None:
    granted(as_user, "hemtjanst_manager", ("Hanna Hem", "hanna05"))
    granted(as_user, "manager", ("Anna Andersson", "anna01"), case=OTHER)
    from conftest import order_form, submit_form

    public_id = submit_form(as_user("manager"), "/forms/access-order", order_form())
    lvs = as_user("lvs")
    page = html(lvs.get(f"/submissions/{public_id}"))
    assert "Alla aktiva behörigheter till ärendet, i alla enheter" in page
    assert "hanna05" in page and "Hemtjänst Hisingen" in page
    assert OTHER not in page  # another case's grants are not shown
    assert 'name="checks" value="others_with_access"' in page
    assert 'name="checks" value="linked_persons"' in page
    # the orderer does not process: no register of other units, no checks
    mine = html(as_user("manager").get(f"/submissions/{public_id}"))
    assert "hanna05" not in mine and 'name="checks"' not in mine
    resp = lvs.post(f"/lvs/submissions/{public_id}/done", data={
        "version": version_of(page), "checks": ["others_with_access", "linked_persons", "bogus"]})
    assert resp.status_code == 303
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and sub.data["checks"] == ["linked_persons", "others_with_access"]
    shown = html(as_user("manager").get(f"/submissions/{public_id}"))
    assert "LVS kontroller (§2.5)" in shown
    assert "Kontrollerat om personen har kopplingar till andra i systemet" in shown
    assert "Undersökt om ärendet hanteras i annan förvaltning" not in shown


def test_an_order_done_without_ticks_keeps_no_checks(app: Flask, as_user) -> None:
    from conftest import order_form, submit_form

    public_id = submit_form(as_user("manager"), "/forms/access-order", order_form())
    assert as_user("lvs").post(f"/lvs/submissions/{public_id}/done",
                               data={"version": "1"}).status_code == 303
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None and "checks" not in sub.data


def test_markup_in_a_filter_or_username_is_refused_and_shown_as_text(app: Flask, as_user) -> None:
    c = as_user("lvs")
    for path in ("/register/person?username=%3Cscript%3Ex%3C/script%3E",
                 "/register?username=%3Cscript%3Ex%3C/script%3E&case=%3Cb%3E1"):
        resp = c.get(path)
        assert resp.status_code == 422
        page = html(resp)
        assert "<script>x</script>" not in page and "<b>1" not in page
        assert "&lt;script&gt;x&lt;/script&gt;" in page
