"""Layout in a real browser (issue 14, items 1 and 7): every page state a role can reach, at 375 and
1280 px, fits the window (a wide table scrolls inside its own named, focusable box; long words
wrap) and is clean of serious and critical axe findings; and a label's value sits level with its
label however the label wraps.

The page states are data (`PAGES`): a page added by a later change is one line there. One browser
context per viewport; each role logs in once per viewport, and its pages are visited in a row."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from browser_support import browser, live_server, log_in, needs_browser  # noqa: F401
from conftest import order_form, submit_form
from flask import Flask
from test_checklist import checklist_form

from portal.clock import today

pytestmark = needs_browser
VIEWPORTS = {"375px": {"width": 375, "height": 800}, "1280px": {"width": 1280, "height": 900}}

# Long text without a break: it must wrap, never widen the page (item 7).
LONG_WORD = "Trygghetslarmsnyckelskåpskodbytesrutinsdokumentationsanteckningen"
CASE, OTHER_CASE, NEW_CASE = "0655588", "0655599", "0655577"


@functools.cache
def axe_script() -> str:
    """axe-core's source as axe-playwright-python ships it, read once."""
    from axe_playwright_python.sync_playwright import Axe

    return str(Axe().axe_script)


# --- the data the pages show -----------------------------------------------------------------


def actualisation_form(**overrides: str) -> dict[str, str]:
    """An actualisation request with every field filled, and long enough to wrap (§2.4)."""
    data = {
        "receiving_unit": "Myndighet Centrum, äldreomsorgens myndighetsutövning",
        "recipient": "Sara Socialsekreterare", "recipient_position": "förste socialsekreterare",
        "activity": "ÄO myndighetsutövning",
        "personnummer": "19121212-1212", "full_name": "Tolvan Tolvansson",
        "concerns": "Ansökan om hemtjänst med inköp, städning, tvätt och ledsagning två gånger "
                    "i veckan samt trygghetslarm",
        "preliminary_case_type": "Hemtjänst enligt socialtjänstlagen 4 kap. 1 §",
        "kind": "anmälan", "received_date": today().isoformat(), "arrival_method": "telefon",
        "arrived_from": "Anhörig som ringde till mottagningen på förmiddagen",
        "reporter_name": "Karin Anhörigsson", "reporter_contact": "via mottagningen",
        "proposed_persons-0-full_name": "Anna Andersson",
        "proposed_persons-0-username": "anna01",
        "proposed_persons-0-position": "socialsekreterare",
        "text": f"Behöver hjälp med inköp och städning. {LONG_WORD}.",
    }
    data.update(overrides)
    return data


def deviation_form() -> dict[str, str]:
    """A deviation reserve report from `staff` (Hemtjänst Hisingen, §4.2)."""
    return {
        "event_date": today().isoformat(), "event_time": "07:45", "unit": "Hemtjänst Hisingen",
        "fictional_name": "Gunnel Gran", "category": "fall",
        "description": f"Gunnel föll i badrummet vid morgonbesöket. {LONG_WORD}.",
        "immediate_action": "Hjälpte upp henne och ringde sjuksköterskan.",
        "handed_to": "Hugo Hemtjänstchef",
    }


def persons(*usernames: str) -> dict[str, str]:
    rows: dict[str, str] = {}
    for i, username in enumerate(usernames):
        rows.update({
            f"persons-{i}-action": "add", f"persons-{i}-full_name": f"{username.title()} Testsson",
            f"persons-{i}-username": username, f"persons-{i}-email": f"{username}@goteborg.se",
            f"persons-{i}-position": "socialsekreterare",
        })
    return rows


def order(case: str, *usernames: str, **extra: str) -> dict[str, str]:
    data = {k: v for k, v in order_form(case_number=case).items() if not k.startswith("persons-")}
    return {**data, **persons(*usernames), **extra}


def seed(app: Flask, as_user: Callable[[str], Any]) -> dict[str, str]:
    """Through the portal's own HTTP paths: six grants in the register (two orders done by LVS), a
    flagged order waiting for LVS, an actualisation request, a deviation report, a fictional file
    with a note. Returns the public ids the page paths name."""
    manager, lvs = as_user("manager"), as_user("lvs")
    ids: dict[str, str] = {}
    for case, names in ((CASE, ("anna01", "bengt02", "cecilia03")),
                        (OTHER_CASE, ("david04", "erika05", "fredrik06"))):
        done_id = submit_form(manager, "/forms/access-order", order(case, *names))
        resp = lvs.post(f"/lvs/submissions/{done_id}/done", data={"version": "1", "reply": "Klart."})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
        ids["order"] = done_id
    # Over the unit type's limit with a justification: flagged, LVS sees who holds the case.
    ids["waiting_order"] = submit_form(manager, "/forms/access-order", order(
        CASE, "gunilla07", justification=f"Vikarie under sommaren, ordinarie är ledig. {LONG_WORD}"))
    ids["actualisation"] = submit_form(as_user("secretary"), "/forms/actualisation",
                                       actualisation_form())
    ids["deviation"] = submit_form(as_user("staff"), "/forms/deviation", deviation_form())
    resp = as_user("hemtjanst_manager").post(
        "/day-notes/", data={"fictional_name": "Gunnel Gran", "case_number": CASE})
    assert resp.status_code == 303
    ids["file"] = resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    resp = as_user("staff").post(f"/day-notes/{ids['file']}/notes",
                                 data={"text": f"Promenad till parken. {LONG_WORD}."})
    assert resp.status_code == 303
    return ids


# --- the page states -------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """A page as `user` sees it at `path` ({name} is a public id from `seed`), answering
    `status`. With `post`, these fields are posted to `path` as its form would post them, with
    the session's CSRF token: a form with errors, a confirmation, a result, a preview."""

    user: str | None
    path: str
    post: dict[str, str] | None = None
    status: int = 200
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.user or 'anonym'} {self.label or self.path}"


PAGES: list[State] = [
    # no login
    State(None, "/login"),
    State(None, "/login", post={"username": "", "password": ""}, status=422,
          label="login with errors"),
    # start page of every role
    *(State(user, "/") for user in ("staff", "secretary", "manager", "hemtjanst_manager",
                                    "planner", "lvs", "admin", "fee")),
    # staff: the deviation report, its confirmation and its page; a page that does not exist
    State("staff", "/forms/deviation"),
    State("staff", "/forms/deviation", post={**deviation_form(), "preview": "1"},
          label="deviation confirm"),
    State("staff", "/submissions/{deviation}", label="deviation as its reporter"),
    State("staff", "/submissions/no-such-id-000000000000", status=404, label="error 404"),
    # social secretary: every form of hers
    State("secretary", "/forms/actualisation"),
    State("secretary", "/forms/actualisation", post={**actualisation_form(), "preview": "1"},
          label="actualisation confirm"),
    State("secretary", "/submissions/{actualisation}", label="actualisation as its sender"),
    State("secretary", "/forms/checklist"),
    State("secretary", "/forms/checklist", post={}, status=422, label="checklist with errors"),
    State("secretary", "/forms/checklist", post=checklist_form(), label="checklist result"),
    State("secretary", "/forms/fee-handler"),
    State("secretary", "/forms/trygghetsjouren"),
    State("secretary", "/forms/trygghetsjouren",
          post={"purpose": "assignment_sent", "case_number": CASE}, label="trygghetsjouren result"),
    State("secretary", "/forms/handover"),
    State("secretary", "/forms/handover", post={"purpose": "assignment", "case_number": CASE},
          label="handover result"),
    State("secretary", "/forms/intraservice"),
    # unit manager (Myndighet Centrum)
    State("manager", "/forms/access-order"),
    State("manager", "/forms/access-order", post={"preview": "1"}, status=422,
          label="access order with errors"),
    State("manager", "/forms/access-order", post={**order(NEW_CASE, "hanna08"), "preview": "1"},
          label="access order confirm"),
    State("manager", "/submissions/{order}", label="access order as its orderer"),
    State("manager", "/register", label="register (6 rows)"),
    State("manager", "/register/person?username=anna01", label="register/person"),
    State("manager", "/cases/close", post={"case_number": CASE, "event": "closed", "preview": "1"},
          label="cases/close preview"),
    State("manager", "/audit"),
    # home-care unit manager and planner (Hemtjänst Hisingen)
    State("hemtjanst_manager", "/submissions/{deviation}", label="deviation as its manager"),
    State("hemtjanst_manager", "/submissions/{deviation}/done", label="deviation: confirm done"),
    State("hemtjanst_manager", "/forms/handover", label="handover (home-care manager)"),
    State("hemtjanst_manager", "/day-notes/"),
    State("hemtjanst_manager", "/day-notes/{file}", label="day-note file as manager"),
    State("hemtjanst_manager", "/day-notes/{file}/compile", label="day-note compile"),
    State("hemtjanst_manager", "/day-notes/{file}/close", label="day-note file: confirm close"),
    # LVS
    State("lvs", "/lvs/queue"),
    State("lvs", "/lvs/handled"),
    State("lvs", "/submissions/{waiting_order}", label="flagged access order as LVS"),
    State("lvs", "/submissions/{actualisation}", label="actualisation as LVS"),
    State("lvs", "/submissions/{actualisation}/done", label="actualisation: confirm done"),
    State("lvs", "/register", label="register (LVS)"),
    State("lvs", "/reauth"),
    # admin
    State("admin", "/audit", label="audit log (admin)"),
]

# Said to a page to measure it: the width it needs, and every table not in a named scroll box.
MEASURE = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
  innerWidth: window.innerWidth,
  unboxed: [...document.querySelectorAll('table')].filter(t => {
    const box = t.parentElement;
    return !(box && box.matches('.table-scroll[role=region][tabindex="0"]')
             && (box.getAttribute('aria-label') || box.getAttribute('aria-labelledby')));
  }).length,
})"""

# The innermost elements that reach past the window's right edge (outside a table's scroll box).
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const wide = e => !e.closest('.table-scroll')
    && (e.getBoundingClientRect().right > width + 1
        || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'));
  return [...document.querySelectorAll('body *')]
    .filter(e => wide(e) && ![...e.children].some(wide)).slice(0, 3)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
              + (e.className ? '.' + String(e.className).split(' ').join('.') : ''));
}"""

# axe-core's serious and critical findings (axe_script() is loaded into the page first).
AXE = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => [v.id, v.impact, v.help, v.nodes.slice(0, 3).map(n => n.target.join(' '))]))"""

# Posts `fields` to `action` with the CSRF token of the page open now (the session's token: every
# page of a logged-in user has one in its log-out form), as the form at `action` would.
POST = """([action, fields]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = action;
  const token = document.querySelector('input[name=csrf_token]');
  const all = Object.assign(token ? {csrf_token: token.value} : {}, fields);
  for (const [name, value] of Object.entries(all)) {
    const input = document.createElement('input');
    input.type = 'hidden'; input.name = name; input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""




def open_state(page: Any, state: State, ids: dict[str, str]) -> int:
    path = state.path.format(**ids)
    if state.post is None:
        return int(page.goto(path).status)
    if not page.locator("input[name=csrf_token]").count():
        page.goto(path)
    with page.expect_navigation() as nav:
        page.evaluate(POST, [path, state.post])
    return int(nav.value.status)


def check_state(page: Any, state: State, ids: dict[str, str], viewport: str) -> list[str]:
    where = f"{state.name} at {viewport}"
    status = open_state(page, state, ids)
    if status != state.status:
        return [f"{where}: answered {status}, expected {state.status}"]
    problems = []
    size = page.evaluate(MEASURE)
    if size["scrollWidth"] > min(size["innerWidth"], size["clientWidth"]):
        problems.append(f"{where}: the page is {size['scrollWidth']} px wide in a "
                        f"{size['clientWidth']} px window (too wide: {page.evaluate(TOO_WIDE)})")
    if size["unboxed"]:
        problems.append(f"{where}: {size['unboxed']} table(s) outside a named, focusable "
                        "div.table-scroll")
    page.evaluate(axe_script())
    bad = page.evaluate(AXE)
    if bad:
        problems.append(f"{where}: axe {bad}")
    return problems


@pytest.fixture
def seeded(app: Flask, as_user: Callable[[str], Any]) -> dict[str, str]:
    return seed(app, as_user)


@pytest.fixture
def context_at(browser: Any, live_server: str) -> Iterator[Callable[[str], Any]]:  # noqa: F811
    contexts: list[Any] = []

    def make(viewport: str) -> Any:
        context = browser.new_context(base_url=live_server, locale="sv-SE",
                                      viewport=VIEWPORTS[viewport])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


def test_every_page_fits_375_and_1280_px_and_is_clean_of_serious_axe_findings(
        seeded: dict[str, str], context_at: Callable[[str], Any]) -> None:
    problems: list[str] = []
    by_user: dict[str | None, list[State]] = {}
    for state in PAGES:
        by_user.setdefault(state.user, []).append(state)
    for viewport in VIEWPORTS:
        page = context_at(viewport)
        for user, states in by_user.items():
            if user is None:
                page.context.clear_cookies()
            else:
                log_in(page, user)
            for state in states:
                problems += check_state(page, state, seeded, viewport)
    assert not problems, "\n".join(problems)


# --- item 1: a value beside its own label ----------------------------------------------------

# Each dt of a .facts list with its dd and the next dt: where they are on the page.
PAIRS = """() => [...document.querySelectorAll('dl.facts')].flatMap(dl => {
  const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left}; };
  const dts = [...dl.querySelectorAll('dt')];
  return dts.map((dt, i) => {
    const dd = dt.nextElementSibling;
    return {label: dt.textContent.trim(), dt: box(dt),
            dd: dd && dd.tagName === 'DD' ? box(dd) : null,
            nextDt: i + 1 < dts.length ? box(dts[i + 1]) : null};
  });
})"""


def misplaced(pairs: list[dict[str, Any]], may_stack: bool) -> list[str]:
    """The labels whose value is neither level with them (±2 px) nor, where stacking is allowed,
    right under them and above the next label."""
    bad = []
    for pair in pairs:
        dt, dd, next_dt = pair["dt"], pair["dd"], pair["nextDt"]
        assert dd is not None, f"{pair['label']}: no value"
        level = abs(dd["top"] - dt["top"]) <= 2
        stacked = (abs(dd["left"] - dt["left"]) <= 2 and dd["top"] >= dt["bottom"] - 2
                   and (next_dt is None or dd["bottom"] <= next_dt["top"] + 2))
        if not (level or (may_stack and stacked)):
            bad.append(f"{pair['label']}: label at {dt['top']:.0f}, value at {dd['top']:.0f}")
    return bad


def test_lvs_reads_each_value_of_the_actualisation_beside_its_own_label(
        seeded: dict[str, str], context_at: Callable[[str], Any]) -> None:
    for viewport in ("1280px", "375px"):
        page = context_at(viewport)
        log_in(page, "lvs")
        page.goto(f"/submissions/{seeded['actualisation']}")
        pairs = page.evaluate(PAIRS)
        labels = [p["label"] for p in pairs]
        assert "7. Preliminär ärendetyp" in labels and "Anmälare/sökande" in labels, labels
        assert pairs[-1]["dd"] is not None
        bad = misplaced(pairs, may_stack=viewport == "375px")
        assert not bad, f"at {viewport}: " + "; ".join(bad)
        if viewport == "1280px":  # side by side at full width: the value right of its label
            assert all(p["dd"]["left"] > p["dt"]["left"] + 50 for p in pairs)
