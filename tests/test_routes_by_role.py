"""Who may reach what (SPEC §2 deny by default, §6 HTTP contract): one table, every route of the
app by every role. Anonymous users are sent to /login, a role that may not gets 403, and an object
that is not yours to see (another unit's submission or fictional file) is 404 — as if it did not
exist. A test walks app.url_map and fails when a route has no row in the table."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import USERS, CsrfClient, _seed, _truncate_pg, login, order_form, store
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import create_app, follow_ups
from portal.clock import today
from portal.extensions import db
from portal.forms import FORMS
from portal.models import (
    AuditEvent,
    DayNote,
    FictionalFile,
    FollowUp,
    Grant,
    Submission,
    Unit,
    User,
    UserRole,
)
from portal.views.blank import blanks

LOGIN = "login"  # 302 to /login
L = LOGIN

ROLES = ("anonymous", "staff", "secretary", "manager", "hemtjanst_manager", "planner",
         "other_manager", "lvs", "admin")

PNR = "19121212-1212"  # Skatteverket's test number


# --- valid posts, as the browser sends them --------------------------------------------------


def actualisation_form(**overrides: Any) -> dict[str, str]:
    """A valid actualisation request (§2.4) from `secretary` (Myndighet Centrum)."""
    data = {
        "receiving_unit": "Myndighet Centrum", "recipient": "Sara Socialsekreterare",
        "recipient_position": "socialsekreterare", "activity": "ÄO", "personnummer": PNR,
        "full_name": "Tolvan Tolvansson", "concerns": "Ansökan om hemtjänst",
        "preliminary_case_type": "Hemtjänst", "kind": "ansökan",
        "received_date": today().isoformat(), "arrival_method": "telefon",
        "arrived_from": "den enskilde", "reporter_name": "", "reporter_contact": "",
        "proposed_persons-0-full_name": "Anna Andersson",
        "proposed_persons-0-username": "anna01",
        "proposed_persons-0-position": "socialsekreterare",
        "text": "Behöver hjälp med inköp och städning.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def deviation_form(**overrides: Any) -> dict[str, str]:
    """A valid deviation reserve report (§4.2) from `staff` (Hemtjänst Hisingen)."""
    data = {
        # No "unit": the report's unit is the reporter's own, from the login (issue 14 item 6).
        "event_date": today().isoformat(), "event_time": "07:45",
        "fictional_name": "Gunnel Gran", "category": "fall",
        "description": "Gunnel föll i badrummet vid morgonbesöket.",
        "immediate_action": "Hjälpte upp henne.", "handed_to": "Hugo Hemtjänstchef",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def created_id(resp: Any, prefix: str) -> str:
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    location = resp.headers["Location"]
    assert location.startswith(prefix), location
    return location[len(prefix):].split("/")[0]


# --- the table -------------------------------------------------------------------------------

# {order} an access order by `manager` (Myndighet Centrum, plain, LVS processes it);
# {actualisation} an actualisation request by `secretary` (Myndighet Centrum, encrypted, LVS);
# {deviation} a deviation report by `staff` (Hemtjänst Hisingen, encrypted, the unit's managers);
# {file} a fictional file of Hemtjänst Hisingen with one note by `staff`.
# {new_…}: a fresh one made for that one request (the request changes it: done, closed).
# Optional 4th item: the form data posted.
Row = tuple[Any, ...]
TABLE: list[Row] = [
    # route                                        anon staf secr mgr  hmgr plan othr lvs  admin
    ("GET", "/",                                  (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/healthz",                           (200, 200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/login",                             (200, 302, 302, 302, 302, 302, 302, 302, 302)),
    ("POST", "/login",                            (422, 302, 302, 302, 302, 302, 302, 302, 302), {}),
    ("POST", "/logout",                           (L,   303, 303, 303, 303, 303, 303, 303, 303), {}),
    ("GET", "/reauth",                            (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/reauth",                           (L,   422, 422, 422, 422, 422, 422, 422, 422), {}),
    # Issue 15, part O: sign-in with the city account is not configured here: no such page
    # (tests/test_sso.py runs them against a real provider).
    ("GET", "/login/sso",                         (404, 404, 404, 404, 404, 404, 404, 404, 404)),
    ("GET", "/login/sso/callback",                (404, 404, 404, 404, 404, 404, 404, 404, 404)),
    # forms: GET the page; POST an empty form (422 where the role may, else 403)
    ("GET", "/forms/access-order",                (L,   403, 403, 200, 200, 403, 200, 403, 403)),
    ("POST", "/forms/access-order",               (L,   403, 403, 422, 422, 403, 422, 403, 403), {}),
    ("GET", "/forms/actualisation",               (L,   403, 200, 403, 403, 403, 403, 403, 403)),
    ("POST", "/forms/actualisation",              (L,   403, 422, 403, 403, 403, 403, 403, 403), {}),
    ("GET", "/forms/checklist",                   (L,   403, 200, 403, 403, 403, 403, 403, 403)),
    ("POST", "/forms/checklist",                  (L,   403, 422, 403, 403, 403, 403, 403, 403), {}),
    ("POST", "/forms/checklist/import",           (L,   403, 422, 403, 403, 403, 403, 403, 403), {}),
    ("GET", "/forms/deviation",                   (L,   200, 200, 200, 200, 403, 200, 403, 403)),
    ("POST", "/forms/deviation",                  (L,   422, 422, 422, 422, 403, 422, 403, 403), {}),
    ("GET", "/forms/fee-handler",                 (L,   403, 200, 403, 403, 403, 403, 403, 403)),
    ("POST", "/forms/fee-handler",                (L,   403, 422, 403, 403, 403, 403, 403, 403), {}),
    # BoSam units only (§6.1); no fixture user is in one (test_messages has a BoSam user).
    ("GET", "/forms/fee-handler-contract",        (L,   403, 403, 403, 403, 403, 403, 403, 403)),
    ("POST", "/forms/fee-handler-contract",       (L,   403, 403, 403, 403, 403, 403, 403, 403), {}),
    # municipal residences (boende) only (§7.2); no fixture user is in one (test_messages has one).
    ("GET", "/forms/fee-handler-contract-municipal",
                                                  (L,   403, 403, 403, 403, 403, 403, 403, 403)),
    ("POST", "/forms/fee-handler-contract-municipal",
                                                  (L,   403, 403, 403, 403, 403, 403, 403, 403), {}),
    ("GET", "/forms/trygghetsjouren",             (L,   403, 200, 200, 200, 403, 200, 403, 403)),
    ("POST", "/forms/trygghetsjouren",            (L,   403, 422, 422, 422, 403, 422, 403, 403), {}),
    # hand-overs (§3.6), by purpose: the social secretary (Myndighet), a home-care unit manager
    # (uppdrag mottaget, §7.2); BoSam's purpose has no fixture user. Not the planner (SPEC §2).
    ("GET", "/forms/handover",                    (L,   403, 200, 403, 200, 403, 403, 403, 403)),
    ("POST", "/forms/handover",                   (L,   403, 422, 403, 422, 403, 403, 403, 403), {}),
    # Intraservice tickets (§3.6): SAMSA removal by the social secretary or LVS at Myndighet;
    # Trygghetsjouren's access (§9.2) has no fixture user.
    ("GET", "/forms/intraservice",                (L,   403, 200, 403, 403, 403, 403, 200, 403)),
    ("POST", "/forms/intraservice",               (L,   403, 422, 403, 403, 403, 403, 422, 403), {}),
    # Issue 16, part A: the check before disclosing (§3.9), social secretaries and unit managers.
    ("GET", "/forms/disclosure-check",            (L,   403, 200, 200, 200, 403, 200, 403, 403)),
    ("POST", "/forms/disclosure-check",           (L,   403, 422, 422, 422, 403, 422, 403, 403), {}),
    # Issue 16, part B: the envelope sheets (§3.1, §3.8), social secretaries, unit managers, LVS.
    ("GET", "/forms/inner-envelope",              (L,   403, 200, 200, 200, 403, 200, 200, 403)),
    ("POST", "/forms/inner-envelope",             (L,   403, 422, 422, 422, 403, 422, 422, 403), {}),
    ("GET", "/forms/envelope-label",              (L,   403, 200, 200, 200, 403, 200, 200, 403)),
    ("POST", "/forms/envelope-label",             (L,   403, 422, 422, 422, 403, 422, 422, 403), {}),
    ("GET", "/forms/no-such-form",                (L,   404, 404, 404, 404, 404, 404, 404, 404)),
    # an access order of Myndighet Centrum (plain): its orderer, its unit's managers and LVS
    ("GET", "/submissions/{order}",               (L,   404, 404, 200, 404, 404, 404, 200, 404)),
    ("GET", "/submissions/{order}/pdf",           (L,   404, 404, 200, 404, 404, 404, 200, 404)),
    ("GET", "/submissions/{order}/message",       (L,   404, 404, 200, 404, 404, 404, 200, 404)),
    ("GET", "/submissions/{order}.json",          (L,   404, 404, 200, 404, 404, 404, 200, 404)),
    ("POST", "/submissions/{new_order}/done",     (L,   404, 404, 404, 404, 404, 404, 303, 404), {}),
    # the confirmation step before marking done (issue 14 item 3): only where marking done
    # deletes the content for good; an access order's button is on its page (404 for LVS too)
    ("GET", "/submissions/{new_order}/done",      (L,   404, 404, 404, 404, 404, 404, 404, 404)),
    ("POST", "/lvs/submissions/{new_order}/done", (L,   403, 403, 403, 403, 403, 403, 303, 403), {}),
    # an actualisation request (encrypted): the secretary and her managers see that it exists
    # (sealed: the content itself is 403), only LVS reads it
    ("GET", "/submissions/{actualisation}",       (L,   404, 200, 200, 404, 404, 404, 200, 404)),
    ("GET", "/submissions/{actualisation}/pdf",   (L,   404, 403, 403, 404, 404, 404, 200, 404)),
    ("GET", "/submissions/{actualisation}/message",
                                                  (L,   404, 403, 403, 404, 404, 404, 200, 404)),
    ("GET", "/submissions/{actualisation}.json",  (L,   404, 200, 200, 404, 404, 404, 200, 404)),
    ("POST", "/submissions/{new_actualisation}/done",
                                                  (L,   404, 404, 404, 404, 404, 404, 303, 404), {}),
    ("GET", "/submissions/{new_actualisation}/done",
                                                  (L,   404, 404, 404, 404, 404, 404, 200, 404)),
    ("POST", "/lvs/submissions/{new_actualisation}/done",
                                                  (L,   403, 403, 403, 403, 403, 403, 303, 403), {}),
    # a deviation report of Hemtjänst Hisingen (encrypted): the reporter until it is registered,
    # the managers and planners of that unit (SPEC §2, §3.4); nobody else, not LVS
    ("GET", "/submissions/{deviation}",           (L,   200, 404, 404, 200, 200, 404, 404, 404)),
    ("GET", "/submissions/{deviation}/pdf",       (L,   200, 404, 404, 200, 200, 404, 404, 404)),
    ("GET", "/submissions/{deviation}/message",   (L,   200, 404, 404, 200, 200, 404, 404, 404)),
    ("GET", "/submissions/{deviation}.json",      (L,   200, 404, 404, 200, 200, 404, 404, 404)),
    ("POST", "/submissions/{new_deviation}/done", (L,   404, 404, 404, 303, 303, 404, 404, 404), {}),
    ("GET", "/submissions/{new_deviation}/done",  (L,   404, 404, 404, 200, 200, 404, 404, 404)),
    ("POST", "/lvs/submissions/{new_deviation}/done",
                                                  (L,   403, 403, 403, 403, 403, 403, 404, 403), {}),
    ("GET", "/submissions/no-such-id-000000000000",
                                                  (L,   404, 404, 404, 404, 404, 404, 404, 404)),
    # LVS
    ("GET", "/lvs/queue",                         (L,   403, 403, 403, 403, 403, 403, 200, 403)),
    ("GET", "/lvs/queue.json",                    (L,   403, 403, 403, 403, 403, 403, 200, 403)),
    # what LVS handled in the last 30 days (issue 14 item 11)
    ("GET", "/lvs/handled",                       (L,   403, 403, 403, 403, 403, 403, 200, 403)),
    ("GET", "/register",                          (L,   403, 403, 200, 200, 403, 200, 200, 403)),
    ("GET", "/audit",                             (L,   403, 403, 200, 200, 403, 200, 403, 200)),
    ("GET", "/audit?page=2",                      (L,   403, 403, 200, 200, 403, 200, 403, 200)),
    ("GET", "/audit.csv",                         (L,   403, 403, 200, 200, 403, 200, 403, 200)),
    # blank paper forms: every logged-in user
    ("GET", "/blank/access-order.pdf",            (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/actualisation.pdf",           (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/checklist.pdf",               (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/deviation.pdf",               (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/day-notes.pdf",               (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    # issue 16, part C: the paper kit's sheets (portal/paper_kit.py), blank for everyone
    ("GET", "/blank/action-plan.pdf",             (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/key-receipt.pdf",             (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/file-record.pdf",             (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/out-of-hours-short-term.pdf", (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/out-of-hours-home-care.pdf",  (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/out-of-hours-alarm.pdf",      (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/disclosure-check.pdf",        (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    # issue 16, part B: the envelope sheets' blanks
    ("GET", "/blank/inner-envelope.pdf",          (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/envelope-label.pdf",          (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/access-order.pdf?fillable=1", (L,   200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/blank/no-such-form.pdf",            (L,   404, 404, 404, 404, 404, 404, 404, 404)),
    # day notes (digital, DAY_NOTES_DIGITAL on): staff write, managers open and close files,
    # managers and planners compile, all of the file's unit; another unit's managers 404
    ("GET", "/day-notes/",                        (L,   200, 403, 200, 200, 200, 200, 403, 403)),
    ("POST", "/day-notes/",                       (L,   403, 403, 303, 303, 403, 303, 403, 403),
     {"fictional_name": "Kalle Katt"}),
    ("GET", "/day-notes/{file}",                  (L,   200, 403, 404, 200, 200, 404, 403, 403)),
    ("POST", "/day-notes/{file}/notes",           (L,   303, 403, 404, 303, 403, 404, 403, 403),
     {"text": "Handlade mat, allt väl."}),
    ("GET", "/day-notes/{file}/compile",          (L,   403, 403, 404, 200, 200, 404, 403, 403)),
    ("POST", "/day-notes/{file}/compile",         (L,   403, 403, 404, 303, 303, 404, 403, 403), {}),
    ("POST", "/day-notes/{new_file}/close",       (L,   403, 403, 404, 303, 403, 404, 403, 403), {}),
    ("GET", "/day-notes/{new_file}/close",        (L,   403, 403, 404, 200, 403, 404, 403, 403)),
    ("GET", "/day-notes/{file}/sheet.pdf",        (L,   200, 403, 404, 200, 403, 404, 403, 403)),
    # issue 16, part C: a kit sheet prefilled with the file's fictional name: the roles (and unit
    # types) the sheet is prefilled for (403 else), of the file's unit (404 else); a sheet never
    # prefilled is 404
    ("GET", "/day-notes/{file}/kit/key-receipt.pdf",
                                                  (L,   403, 403, 403, 200, 200, 403, 403, 403)),
    ("GET", "/day-notes/{file}/kit/action-plan.pdf",
                                                  (L,   403, 403, 404, 200, 403, 404, 403, 403)),
    ("GET", "/day-notes/{file}/kit/file-record.pdf",
                                                  (L,   403, 403, 404, 200, 200, 404, 403, 403)),
    ("GET", "/day-notes/{file}/kit/day-notes.pdf",
                                                  (L,   200, 403, 404, 200, 403, 404, 403, 403)),
    ("GET", "/day-notes/{file}/kit/out-of-hours-alarm.pdf",
                                                  (L,   404, 403, 404, 404, 404, 404, 403, 403)),
    ("GET", "/day-notes/no-such-file-0000000000", (L,   404, 403, 404, 404, 404, 404, 403, 403)),
    # closing a case (§3.7): a unit manager (own unit) or LVS (every unit); empty posts 422
    ("GET", "/cases/close",                       (L,   403, 403, 200, 200, 403, 200, 200, 403)),
    ("POST", "/cases/close",                      (L,   403, 403, 422, 422, 403, 422, 422, 403), {}),
    # follow-ups on the start page (issue 16, part E): the owner only; {new_follow_up} one of
    # `secretary`'s, another user's or an unknown id 404
    ("POST", "/follow-ups/{new_follow_up}/done",  (L,   403, 303, 404, 404, 403, 404, 403, 403), {}),
    ("POST", "/follow-ups/no-such-follow-up-0000/done",
                                                  (L,   403, 404, 404, 404, 403, 404, 403, 403), {}),
    # a person's grants, and the removal orders when they leave (§3.7, §2.1, 002)
    ("GET", "/register/person",                   (L,   403, 403, 200, 200, 403, 200, 200, 403)),
    ("GET", "/register/person?username=anna01",   (L,   403, 403, 200, 200, 403, 200, 200, 403)),
    ("GET", "/register?case=0655588&username=anna01",
                                                  (L,   403, 403, 200, 200, 403, 200, 200, 403)),
    ("POST", "/register/person/remove",           (L,   403, 403, 422, 422, 403, 422, 422, 403), {}),
    # the self-check of access (§4.1; issue 16, part D): a unit manager records it (empty: 422);
    # the register as a PDF for the self-check file, as /register
    ("POST", "/register/self-check",              (L,   403, 403, 422, 422, 403, 422, 403, 403), {}),
    ("GET", "/register.pdf",                      (L,   403, 403, 200, 200, 403, 200, 200, 403)),
    # user and unit administration (issue 15): the admin only; {user} a seeded user, {new_user}
    # a fresh one the admin made (the request changes it), {unit} a seeded unit; empty posts 422
    ("GET", "/admin/users",                       (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("GET", "/admin/users?q=a&role=lvs",          (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("GET", "/admin/users/new",                   (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/admin/users/new",                  (L,   403, 403, 403, 403, 403, 403, 403, 422), {}),
    ("GET", "/admin/users/{user}",                (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/admin/users/{user}",               (L,   403, 403, 403, 403, 403, 403, 403, 422), {}),
    ("GET", "/admin/users/{user}/roles",          (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/admin/users/{new_user}/roles",     (L,   403, 403, 403, 403, 403, 403, 403, 303),
     {"roles": "planner"}),
    ("GET", "/admin/users/{user}/password",       (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/admin/users/{new_user}/password",  (L,   403, 403, 403, 403, 403, 403, 403, 422), {}),
    ("POST", "/admin/users/{new_user}/deactivate",
                                                  (L,   403, 403, 403, 403, 403, 403, 403, 303), {}),
    ("POST", "/admin/users/{new_user}/reactivate",
                                                  (L,   403, 403, 403, 403, 403, 403, 403, 303), {}),
    ("POST", "/admin/users/{user}/unlock",        (L,   403, 403, 403, 403, 403, 403, 403, 303), {}),
    ("GET", "/admin/users/no-such-user-0000000",  (L,   403, 403, 403, 403, 403, 403, 403, 404)),
    ("GET", "/admin/units",                       (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("GET", "/admin/units/new",                   (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/admin/units/new",                  (L,   403, 403, 403, 403, 403, 403, 403, 422), {}),
    ("GET", "/admin/units/{unit}",                (L,   403, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/admin/units/{unit}",               (L,   403, 403, 403, 403, 403, 403, 403, 422), {}),
]


def _row(row: Row) -> tuple[str, str, tuple[Any, ...], dict[str, str] | None]:
    method, path, expected, *rest = row
    return method, path, expected, (rest[0] if rest else None)


CASES = [
    pytest.param(method, path, role, expected[i], data, id=f"{method} {path} as {role}")
    for method, path, expected, data in map(_row, TABLE)
    for i, role in enumerate(ROLES)
]


def order_by_manager(app: Flask) -> str:
    """An access order by `manager` (Myndighet Centrum), through the submission service."""
    day = today()
    data = {
        "case_number": "0655588", "city_district": "Centrum", "unit_type": "myndighet",
        "unit_name": "Myndighet Centrum",
        "persons": [{"action": "add", "full_name": "Anna Andersson", "username": "anna01",
                     "email": "anna.andersson@goteborg.se", "position": "socialsekreterare"}],
        "valid_from": day.isoformat(), "valid_to": (day + timedelta(days=90)).isoformat(),
        "local_protection": False,
        "local_protection_until": None, "local_protection_reason": "", "justification": "",
    }
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.username == "manager"))
        return store("access_order", data, manager).public_id


class Portal:
    """One app for the whole table, with one logged-in client per role. The shared objects are
    only read; a request that changes its object (marks it done, closes it) gets a fresh one."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.clients: dict[str, FlaskClient] = {}
        self.serial = 0
        self.ids = {name: self.make(name)
                    for name in ("order", "actualisation", "deviation", "file", "user", "unit")}

    def client(self, role: str) -> FlaskClient:
        if role == "anonymous":
            return self.app.test_client()
        if role not in self.clients:
            c = self.app.test_client()
            assert login(c, role).status_code == 303
            self.clients[role] = c
        return self.clients[role]

    def make(self, kind: str) -> str:
        """A new object of `kind`, made the way its owner makes it: through the form."""
        self.serial += 1
        if kind == "order":  # a case number of its own, so that no order counts another's grants
            resp = self.client("manager").post(
                "/forms/access-order", data=order_form(case_number=f"07{self.serial:05d}"))
            return created_id(resp, "/submissions/")
        if kind == "actualisation":
            resp = self.client("secretary").post("/forms/actualisation", data=actualisation_form())
            return created_id(resp, "/submissions/")
        if kind == "deviation":
            resp = self.client("staff").post("/forms/deviation", data=deviation_form())
            return created_id(resp, "/submissions/")
        if kind == "file":
            resp = self.client("hemtjanst_manager").post(
                "/day-notes/", data={"fictional_name": f"Gunnel Gran {self.serial}"})
            file_id = created_id(resp, "/day-notes/")
            resp = self.client("staff").post(f"/day-notes/{file_id}/notes",
                                             data={"text": "Hjälpte till med frukosten."})
            assert resp.status_code == 303
            return file_id
        if kind == "user":  # a user the admin makes, in a unit, with a role (issue 15)
            resp = self.client("admin").post("/admin/users/new", data={
                "username": f"ny{self.serial}", "full_name": f"Ny Användare {self.serial}",
                "email": f"ny{self.serial}@goteborg.se", "roles": "staff",
                "unit": self.public_id(Unit, Unit.name == "Systemförvaltning")})
            return created_id(resp, "/admin/users/")
        if kind == "unit":
            return self.public_id(Unit, Unit.name == "Myndighet Nordost")
        if kind == "follow_up":  # issue 16, part E: `secretary`'s, as the checklist leaves it
            case = f"06{self.serial:05d}"
            with self.app.app_context():
                owner = db.session.scalar(select(User).where(User.username == "secretary"))
                follow_ups.remember(owner, case, "checklist", today() + timedelta(days=30), today())
                db.session.commit()
            return self.public_id(FollowUp, FollowUp.case_number == case)
        raise ValueError(kind)

    def public_id(self, model: Any, *where: Any) -> str:
        with self.app.app_context():
            return str(db.session.scalar(select(model.public_id).where(*where)))

    def url(self, path: str) -> str:
        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            return self.make(name[4:]) if name.startswith("new_") else self.ids[name]

        return re.sub(r"\{(\w+)\}", fill, path)

    def request(self, method: str, path: str, role: str, data: dict[str, str] | None) -> Any:
        resp = self.client(role).open(self.url(path), method=method, data=data)
        if path == "/logout":  # every session of the user is over: log in again next time
            self.clients.pop(role, None)
        return resp


def make_portal(tmp: Path, migrated_sqlite: Path | None, migrated_pg: str | None,
                password_hash: str, **config: Any) -> Iterator[Portal]:
    """Built like conftest's `app`, once per module. The clients log in once and the table takes
    a while, so re-authentication is set out of the way here (tests/test_reauth.py tests it)."""
    if migrated_pg:
        uri = migrated_pg
    else:
        assert migrated_sqlite is not None
        shutil.copy(migrated_sqlite, tmp / "portal.db")
        uri = f"sqlite:///{tmp / 'portal.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "test-secret-" + "x" * 20,
                      "TESTING": True, "REAUTH_MINUTES": 24 * 60,
                      # the table walks the digital day notes (off by default, SPEC §3.5)
                      "DAY_NOTES_DIGITAL": True, **config},
                     instance_path=str(tmp / "instance"))
    app.test_client_class = CsrfClient
    with app.app_context():
        if migrated_pg:
            _truncate_pg()
        _seed(password_hash)
    yield Portal(app)
    with app.app_context():
        db.session.remove()
        if migrated_pg:
            _truncate_pg()
        db.engine.dispose()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path | None,
           migrated_pg: str | None, password_hash: str) -> Iterator[Portal]:
    yield from make_portal(tmp_path_factory.mktemp("routes"), migrated_sqlite, migrated_pg,
                           password_hash)


def check_status(resp: Any, expected: Any) -> None:
    if expected == LOGIN:
        assert resp.status_code == 302, resp.status
        assert resp.headers["Location"].split("?")[0].endswith("/login")
    else:
        assert resp.status_code == expected, resp.status
        if expected == 302:  # a logged-in user asking for /login goes to the start page
            assert resp.headers["Location"].split("?")[0] in ("/", "http://localhost/")


# --- the table covers the app -------------------------------------------------------------------


def test_the_table_names_every_role_of_the_fixtures() -> None:
    assert set(ROLES) - {"anonymous"} <= set(USERS)
    assert all(len(expected) == len(ROLES) for _, _, expected, _ in map(_row, TABLE))


def _covered(app: Flask) -> set[tuple[str, str]]:
    adapter = app.url_map.bind("localhost")
    out = set()
    for method, path, _, _ in map(_row, TABLE):
        concrete = re.sub(r"\{\w+\}", "x" * 22, path.split("?")[0])
        rule, _args = adapter.match(concrete, method=method, return_rule=True)
        out.add((rule.rule, method))
    return out


def missing_rows(app: Flask) -> list[tuple[str, str]]:
    """(rule, method) of every route of `app` (static files aside) that no row of TABLE reaches."""
    covered = _covered(app)
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules() if rule.endpoint != "static"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if (rule.rule, method) not in covered
    )


def test_every_route_of_the_app_is_in_the_table(app: Flask) -> None:
    """Deny by default is only as good as its test: a new route without a row fails here."""
    assert not missing_rows(app), f"routes without a row in TABLE: {missing_rows(app)}"


def test_a_new_route_without_a_row_is_found(app: Flask) -> None:
    app.add_url_rule("/forms/<slug>/secret", "secret", lambda slug: "", methods=["GET", "PUT"])
    app.add_url_rule("/day-notes/", "day_notes_delete", lambda: "", methods=["DELETE"])
    assert missing_rows(app) == [("/day-notes/", "DELETE"), ("/forms/<slug>/secret", "GET"),
                                 ("/forms/<slug>/secret", "PUT")]


def test_every_form_blank_and_stored_form_type_has_its_rows() -> None:
    paths = {(m, p) for m, p, _, _ in map(_row, TABLE)}
    for slug in FORMS:
        assert ("GET", f"/forms/{slug}") in paths and ("POST", f"/forms/{slug}") in paths, slug
    for name in blanks():
        assert ("GET", f"/blank/{name}.pdf") in paths, name
    stored = {spec.key for spec in FORMS.values() if spec.storage != "none"}
    assert stored == {"access_order", "actualisation", "deviation"}
    for key in ("order", "actualisation", "deviation"):
        for suffix in ("", "/pdf", "/message", ".json"):
            assert ("GET", f"/submissions/{{{key}}}{suffix}") in paths
        assert ("POST", f"/submissions/{{new_{key}}}/done") in paths
        assert ("POST", f"/lvs/submissions/{{new_{key}}}/done") in paths


@pytest.mark.parametrize("method, path, role, expected, data", CASES)
def test_route_by_role(portal: Portal, method: str, path: str, role: str, expected: Any,
                       data: dict[str, str] | None) -> None:
    check_status(portal.request(method, path, role, data), expected)


# --- objects: another unit's is 404, ids are not guessable ----------------------------------------


def test_unknown_public_id_is_404(app: Flask) -> None:
    order_by_manager(app)
    for role in ("manager", "lvs"):
        client = app.test_client()
        login(client, role)
        for suffix in ("", "/pdf", "/message", ".json"):
            assert client.get(f"/submissions/does-not-exist-0000000{suffix}").status_code == 404
        assert client.post("/lvs/submissions/does-not-exist-0000000/done",
                           data={"reply": ""}).status_code == (404 if role == "lvs" else 403)


def test_public_ids_are_random_and_not_the_database_id(app: Flask) -> None:
    ids = [order_by_manager(app) for _ in range(3)]
    assert len(set(ids)) == 3
    with app.app_context():
        rows = db.session.scalars(select(Submission).order_by(Submission.id)).all()
        assert [r.public_id for r in rows] == ids
        for row in rows:
            assert len(row.public_id) >= 20
            assert row.public_id != str(row.id)
            assert not row.public_id.isdigit()
    client = app.test_client()
    login(client, "manager")
    with app.app_context():
        first = db.session.scalar(select(Submission.id).order_by(Submission.id))
    assert client.get(f"/submissions/{first}").status_code == 404
    assert client.get(f"/submissions/{ids[0]}").status_code == 200


def _file_with_note(client: FlaskClient) -> str:
    file_id = created_id(client.post("/day-notes/", data={"fictional_name": "Gunnel Gran"}),
                         "/day-notes/")
    assert client.post(f"/day-notes/{file_id}/notes", data={"text": "Allt väl."}).status_code == 303
    return file_id


def test_fictional_file_ids_are_random_and_not_the_database_id(app: Flask, as_user) -> None:
    client = as_user("hemtjanst_manager")
    ids = [_file_with_note(client) for _ in range(3)]
    assert len(set(ids)) == 3
    with app.app_context():
        files = db.session.scalars(select(FictionalFile).order_by(FictionalFile.id)).all()
        notes = db.session.scalars(select(DayNote)).all()
        for row in [*files, *notes]:
            assert len(row.public_id) >= 20 and not row.public_id.isdigit()
            assert row.public_id != str(row.id)
        first = files[0].id
    for path in (f"/day-notes/{first}", f"/day-notes/{first}/sheet.pdf",
                 f"/day-notes/{first}/compile"):
        assert client.get(path).status_code == 404
    assert client.get(f"/day-notes/{ids[0]}").status_code == 200


def test_another_units_fictional_file_is_404_and_nothing_changes(app: Flask, as_user) -> None:
    file_id = _file_with_note(as_user("hemtjanst_manager"))
    other = as_user("other_manager")
    for path in ("", "/sheet.pdf", "/compile"):
        assert other.get(f"/day-notes/{file_id}{path}").status_code == 404
    assert other.post(f"/day-notes/{file_id}/notes", data={"text": "Inbrytning"}).status_code == 404
    assert other.post(f"/day-notes/{file_id}/compile", data={}).status_code == 404
    assert other.post(f"/day-notes/{file_id}/close", data={}).status_code == 404
    assert "Gunnel" not in other.get("/day-notes/").get_data(as_text=True)
    with app.app_context():
        file = db.session.scalar(select(FictionalFile).where(FictionalFile.public_id == file_id))
        assert file is not None and file.closed_at is None
        notes = db.session.scalars(select(DayNote).where(DayNote.file_id == file.id)).all()
        assert len(notes) == 1 and notes[0].compiled_at is None


def test_another_units_submissions_are_404_and_not_processed(app: Flask, as_user) -> None:
    deviation = created_id(as_user("staff").post("/forms/deviation", data=deviation_form()),
                           "/submissions/")
    other = as_user("other_manager")
    for suffix in ("", "/pdf", "/message", ".json"):
        assert other.get(f"/submissions/{deviation}{suffix}").status_code == 404
    assert other.post(f"/submissions/{deviation}/done", data={}).status_code == 404
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == deviation))
        assert sub is not None and sub.status == "submitted" and sub.data_enc is not None


def test_an_admin_reads_protected_content_only_when_also_lvs(app: Flask, password_hash: str,
                                                             as_user) -> None:
    """SPEC §2: the systemförvaltare cannot read protected content unless also `lvs`."""
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "Systemförvaltning"))
        assert unit is not None
        db.session.add(User(username="admin_lvs", full_name="Alva Admin-LVS",
                            email="admin_lvs@goteborg.se", unit_id=unit.id,
                            password_hash=password_hash,
                            role_rows=[UserRole(role="admin"), UserRole(role="lvs")]))
        db.session.commit()
    public_id = created_id(as_user("secretary").post("/forms/actualisation",
                                                     data=actualisation_form()), "/submissions/")
    admin, both = as_user("admin"), as_user("admin_lvs")
    for suffix in ("", "/pdf", "/message", ".json"):
        assert admin.get(f"/submissions/{public_id}{suffix}").status_code == 404
        assert both.get(f"/submissions/{public_id}{suffix}").status_code == 200
    assert PNR not in admin.get("/audit").get_data(as_text=True)
    assert PNR in both.get(f"/submissions/{public_id}").get_data(as_text=True)
    assert PNR in both.get(f"/submissions/{public_id}/message").get_data(as_text=True)
    assert both.get(f"/submissions/{public_id}.json").get_json()["personnummer"] == PNR
    assert admin.get("/lvs/queue").status_code == 403
    assert both.get("/lvs/queue").status_code == 200


# --- the planner (SPEC §2): the unit's day notes and deviation reports, nothing else ------------

PLANNER, UNIT_MANAGER = ROLES.index("planner"), ROLES.index("hemtjanst_manager")
# What every logged-in user may do: the start page, signing in and out, the blank paper forms.
EVERY_USER = {("GET", "/"), ("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"),
              ("POST", "/logout"), ("GET", "/reauth"), ("POST", "/reauth")}
# SPEC §2: "compile the unit's day notes and register its deviation reports (§4.2, §8.6)".
PLANNER_TASKS = {
    ("GET", "/submissions/{deviation}"), ("GET", "/submissions/{deviation}/pdf"),
    ("GET", "/submissions/{deviation}/message"), ("GET", "/submissions/{deviation}.json"),
    ("POST", "/submissions/{new_deviation}/done"), ("GET", "/submissions/{new_deviation}/done"),
    ("GET", "/day-notes/"), ("GET", "/day-notes/{file}"),
    ("GET", "/day-notes/{file}/compile"), ("POST", "/day-notes/{file}/compile"),
    # issue 16, part C: the key receipt the planner prepares (§8.4: "vanligen enhetschef eller
    # planerare") and the record of who handled the file (2021 §5.7), with the fictional name
    ("GET", "/day-notes/{file}/kit/key-receipt.pdf"),
    ("GET", "/day-notes/{file}/kit/file-record.pdf"),
}


def _admitted(code: Any) -> bool:
    """The role got past the door: a page, a redirect after doing it, or its input refused."""
    return code != LOGIN and code not in (403, 404)


def test_the_planner_column_admits_the_planners_tasks_and_nothing_else() -> None:
    rows = {(method, path): expected for method, path, expected, _ in map(_row, TABLE)}
    assert set(rows) >= PLANNER_TASKS
    for (method, path), expected in rows.items():
        task = (method, path) in PLANNER_TASKS | EVERY_USER or path.startswith("/blank/")
        if not task:
            assert not _admitted(expected[PLANNER]), f"a planner may {method} {path}"
        elif "no-such" not in path:
            assert _admitted(expected[PLANNER]), f"a planner may not {method} {path}"
        # never more than the unit manager of the same unit
        assert not _admitted(expected[PLANNER]) or _admitted(expected[UNIT_MANAGER]), path


def test_a_planner_gets_none_of_a_managers_other_powers(app: Flask, as_user) -> None:
    """Access orders, the register, a person's removal, closing a case, the audit trail, opening
    or closing a fictional file, writing notes, LVS: each refused (403, audited), nothing done."""
    manager, lvs, planner = as_user("hemtjanst_manager"), as_user("lvs"), as_user("planner")
    order = created_id(manager.post("/forms/access-order", data=order_form(
        city_district="Hisingen", **{"persons-0-username": "anna01"})), "/submissions/")
    assert lvs.post(f"/lvs/submissions/{order}/done", data={}).status_code == 303
    file_id = _file_with_note(manager)
    with app.app_context():
        before = [db.session.scalar(select(func.count()).select_from(m))
                  for m in (Submission, Grant, FictionalFile, DayNote)]
    attempts = [
        ("GET", "/forms/access-order", None),
        ("POST", "/forms/access-order", order_form(
            city_district="Hisingen", **{"persons-0-action": "remove"})),
        ("GET", "/register?case=0655588", None),
        ("GET", "/register/person?username=anna01", None),
        ("POST", "/register/person/remove", {"username": "anna01"}),
        ("GET", "/cases/close", None),
        ("POST", "/cases/close", {"case_number": "0655588", "event": "closed", "confirm": "y"}),
        ("GET", "/audit", None),
        ("GET", "/lvs/queue", None),
        ("POST", "/day-notes/", {"fictional_name": "Kalle Katt"}),
        ("POST", f"/day-notes/{file_id}/notes", {"text": "Allt väl."}),
        ("POST", f"/day-notes/{file_id}/close", {}),
    ]
    for method, path, data in attempts:
        assert planner.open(path, method=method, data=data).status_code == 403, (method, path)
    with app.app_context():
        after = [db.session.scalar(select(func.count()).select_from(m))
                 for m in (Submission, Grant, FictionalFile, DayNote)]
        assert after == before
        grant = db.session.scalar(select(Grant).where(Grant.username == "anna01"))
        assert grant is not None and grant.revoked_at is None
        file = db.session.scalar(select(FictionalFile).where(FictionalFile.public_id == file_id))
        assert file is not None and file.closed_at is None
        denied = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.username == "planner", AuditEvent.outcome == "denied"))
        assert denied == len(attempts)


def test_a_planners_start_page_shows_their_units_tasks_only(app: Flask, password_hash: str,
                                                            as_user) -> None:
    created_id(as_user("staff").post("/forms/deviation", data=deviation_form()), "/submissions/")
    manager = as_user("hemtjanst_manager")
    file_id = created_id(manager.post("/day-notes/", data={"fictional_name": "Gunnel Gran"}),
                         "/day-notes/")
    assert as_user("staff").post(f"/day-notes/{file_id}/notes",
                                 data={"text": "Allt väl."}).status_code == 303
    page = as_user("planner").get("/").get_data(as_text=True)
    assert "Avvikelser att registrera i Treserva" in page and "Stina Medarbetare" in page
    assert "Daganteckningar att sammanställa" in page and "Gunnel Gran" in page
    assert f'href="/day-notes/{file_id}/compile"' in page
    assert "Som planerare" in page
    for other in ("snart upphör", "Väntar på LVS", 'href="/forms/', 'href="/register',
                  'href="/audit', 'href="/lvs/', 'href="/cases/'):
        assert other not in page, other
    # A planner of another unit sees none of it.
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "Myndighet Nordost"))
        assert unit is not None
        db.session.add(User(username="nordost_planner", full_name="Nora Planerare",
                            email="nordost_planner@goteborg.se", unit_id=unit.id,
                            password_hash=password_hash, role_rows=[UserRole(role="planner")]))
        db.session.commit()
    page = as_user("nordost_planner").get("/").get_data(as_text=True)
    assert "Gunnel Gran" not in page and "Stina Medarbetare" not in page
    assert "Inga avvikelser väntar." in page
