"""The audit log page and its CSV extract (issue 14 item 5; SPEC §2: an admin the whole log, a
unit manager their own unit's; the routine's §4.1 self-check): Swedish labels for every code the
portal writes, full names, the filters and their errors, the CSV for Swedish Excel with formula
cells escaped, the reader's scope, the chain's state for admins, and no chain numbers (whose gaps
would look like deleted rows) for a unit manager."""
from __future__ import annotations

import ast
import csv
import html as html_lib
import io
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import field_error, login, order_form, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from test_audit import tamper, triggers_dropped

from portal import ROOT, audit, audit_trail
from portal.audit_trail import ACTIONS, OUTCOMES
from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, Unit, User, UserRole
from portal.views import audit_log

Client = Callable[[str], FlaskClient]

# --- every code the code base writes has a Swedish label ------------------------------------------
#
# The writers are found, not listed: audit.record's `action` (argument 0), then every function that
# passes one of its own parameters on as the action of a writer (submission_event, record_event,
# log_view, day_notes._record, cli._user_event, transaction.denial, views/submissions._load, …),
# to a fixed point. At every call of a writer the action is a string, a conditional of strings, or
# the caller's own parameter; anything else fails the test, so a new event cannot slip past.

# The one indirection that is not a parameter: the 403 handler (web.py) writes the `action` a
# Denied exception carries (transaction.py), which the Denied(...) calls and its default give.
INDIRECT = {("web.py", "e.action"): ("transaction.py", "Denied")}
# An action a form's method returns (issue 16: the form machine writes what a render-only form's
# ``rendered_action`` says, base.py's "pdf_rendered"/"message_rendered" or a form's own, such as
# the check before disclosing): every string any method of that name returns.
RETURNED = {("forms.py", "kind.rendered_action(as_pdf)"): "rendered_action"}


def _trees(package: Path) -> dict[Path, ast.Module]:
    files = sorted(package.rglob("*.py"))
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in files}


def _params(fn: ast.FunctionDef) -> list[str]:
    names = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    return names[1:] if names and names[0] in ("self", "cls") else names


def _default(fn: ast.FunctionDef, name: str) -> ast.expr | None:
    positional = [*fn.args.posonlyargs, *fn.args.args]
    defaults = dict(zip([a.arg for a in positional][-len(fn.args.defaults) or len(positional):],
                        fn.args.defaults, strict=False)) if fn.args.defaults else {}
    for arg, value in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
        if value is not None:
            defaults[arg.arg] = value
    return defaults.get(name)


def _strings(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return None if a is None or b is None else a + b
    return None


def _returned(trees: Iterable[ast.Module], method: str) -> list[str]:
    """Every string a function or method called ``method`` returns, in any of ``trees``."""
    return [code for tree in trees for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef) and fn.name == method
            for node in ast.walk(fn) if isinstance(node, ast.Return)
            for code in _strings(node.value) or []]


def _imports(tree: ast.Module) -> set[str]:
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for alias in node.names}


def _functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef]]:
    """(name callers use, function): a class's __init__ is called by the class's name."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    out.append((node.name, item))
        if isinstance(node, ast.FunctionDef) and node.name != "__init__":
            out.append((node.name, node))
    return out


def written_codes(package: Path = ROOT / "portal",
                  migrations: Path = ROOT / "migrations" / "versions",
                  ) -> tuple[set[str], set[str], list[str]]:
    """(actions, outcomes, unresolved action arguments) of the code base."""
    trees = _trees(package)
    functions = {path: _functions(tree) for path, tree in trees.items()}
    writers: dict[tuple[Path, str], tuple[int, str]] = {
        (package / "audit.py", "record"): (0, "action")}
    actions: set[str] = set()
    unresolved: list[str] = []

    def add_writer(path: Path, name: str, param: str) -> bool:
        fn = next(f for n, f in functions[path] if n == name)
        if (path, name) in writers:
            return False
        writers[(path, name)] = (_params(fn).index(param), param)
        actions.update(_strings(_default(fn, param)) or [])
        return True

    changed = True
    while changed:
        changed = False
        unresolved.clear()
        for path, tree in trees.items():
            local_names = {n for n, _ in functions[path]} | _imports(tree)
            for name, fn in functions[path]:
                for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
                    func = call.func
                    callee = func.attr if isinstance(func, ast.Attribute) else (
                        func.id if isinstance(func, ast.Name) else None)
                    for (wpath, wname), (index, keyword) in list(writers.items()):
                        if callee != wname:
                            continue
                        if isinstance(func, ast.Name) and wname not in local_names:
                            continue
                        if isinstance(func, ast.Name) and wpath != path and any(
                                n == wname for n, _ in functions[path]):
                            continue  # the module's own function of that name
                        arg = next((k.value for k in call.keywords if k.arg == keyword), None)
                        if arg is None and len(call.args) > index:
                            arg = call.args[index]
                        if arg is None:
                            continue  # the writer's default, collected with the writer
                        codes = _strings(arg)
                        if codes is not None:
                            actions.update(codes)
                        elif isinstance(arg, ast.Name) and arg.id in _params(fn):
                            changed |= add_writer(path, name, arg.id)
                        elif (path.name, ast.unparse(arg)) in RETURNED:
                            method = RETURNED[(path.name, ast.unparse(arg))]
                            actions.update(_returned(trees.values(), method))
                        elif (path.name, ast.unparse(arg)) in INDIRECT:
                            module, cls = INDIRECT[(path.name, ast.unparse(arg))]
                            changed |= add_writer(package / module, cls, "action")
                        else:
                            unresolved.append(f"{path.name}: {ast.unparse(call)}")
    # Migrations write their events with keyword `action=` (0004: audit_chain_keyed, …).
    old = [ast.parse(p.read_text(encoding="utf-8")) for p in sorted(migrations.glob("*.py"))]
    for node in (n for tree in old for n in ast.walk(tree)):
        if isinstance(node, ast.keyword) and node.arg == "action":
            actions.update(_strings(node.value) or [])
    return actions, _outcomes([*trees.values(), *old]), unresolved


def _outcomes(trees: list[ast.Module]) -> set[str]:
    """Every outcome written: `outcome=` arguments and defaults, "outcome" dict entries, and what
    is assigned to a variable named outcome (in portal/ and the migrations)."""
    out: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "outcome":
                out.update(_strings(node.value) or [])
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "outcome":
                        out.update(_strings(value) or [])
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    pairs = (zip(target.elts, node.value.elts, strict=False)
                             if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                             else [(target, node.value)])
                    for t, v in pairs:
                        if isinstance(t, ast.Name) and t.id == "outcome":
                            out.update(_strings(v) or [])
            elif isinstance(node, ast.FunctionDef) and "outcome" in [
                    *_params(node), *(a.arg for a in node.args.kwonlyargs)]:
                out.update(_strings(_default(node, "outcome")) or [])
    return out


def test_every_action_and_outcome_the_code_writes_has_a_swedish_label() -> None:
    actions, outcomes, unresolved = written_codes()
    assert not unresolved, f"an action that is neither a string nor a parameter: {unresolved}"
    # The search finds the writers behind each indirection (not a vacuous pass).
    assert {"login", "submission_viewed", "access_denied", "submission_denied", "day_notes_denied",
            "password_set", "pdf_rendered", "message_rendered", "audit_chain_keyed",
            "audit_log_exported", "day_note_added", "disclosure_checked"} <= actions
    assert {"ok", "denied", "refused", "failed", "locked", "flagged"} <= outcomes
    assert sorted(actions - set(ACTIONS)) == [], "add a label in portal/audit_trail.py"
    assert sorted(outcomes - set(OUTCOMES)) == [], "add a label in portal/audit_trail.py"


def test_a_new_event_behind_a_helper_and_a_computed_one_are_found(tmp_path: Path) -> None:
    package = tmp_path / "portal"
    package.mkdir()
    (tmp_path / "versions").mkdir()
    (package / "audit.py").write_text(
        'def record(action, *, user=None, outcome="ok"):\n    pass\n')
    (package / "thing.py").write_text(
        "from . import audit\n\n"
        "def _note(what, user, outcome='flagged_new'):\n"
        "    audit.record(what, user=user, outcome=outcome)\n\n"
        "def f(user):\n    _note('brand_new_event', user)\n\n"
        "def g(user, x):\n    audit.record(x.name, user=user)\n")
    actions, outcomes, unresolved = written_codes(package, tmp_path / "versions")
    assert actions == {"brand_new_event"} and "brand_new_event" not in ACTIONS
    assert outcomes == {"ok", "flagged_new"}
    assert unresolved == ["thing.py: audit.record(x.name, user=user)"]


def test_an_unknown_code_in_an_old_row_is_shown_in_swedish_words(app: Flask) -> None:
    with app.test_request_context():
        assert audit_trail.action_label("removed_long_ago") == "Okänd händelse (removed_long_ago)"
        assert audit_trail.outcome_label("weird") == "Okänt utfall (weird)"


# --- helpers ------------------------------------------------------------------------------------


def rows_of(page: str) -> list[list[str]]:
    """The log table's body rows as cell texts."""
    table = re.search(r'<table class="audit-log">(.*?)</table>', page, re.S)
    if table is None:
        return []
    body = table.group(1).split("</thead>", 1)[1]
    return [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def header_of(page: str) -> list[str]:
    head = re.search(r'<table class="audit-log">\s*<thead>(.*?)</thead>', page, re.S)
    assert head is not None
    return [html_lib.unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1))]


def record_at(app: Flask, monkeypatch: pytest.MonkeyPatch, when: datetime, action: str,
              **fields: object) -> None:
    """An event written through audit.record (a valid chain) at a given instant."""
    with monkeypatch.context() as patch, app.app_context():
        patch.setattr(audit, "utcnow", lambda: when)
        user = fields.pop("username", None)
        who = db.session.scalar(select(User).where(User.username == user)) if user else None
        audit.record(action, user=who, **fields)  # type: ignore[arg-type]
        db.session.commit()


def unit_id(app: Flask, name: str) -> int:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == name))
        assert unit is not None
        return unit.id


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # the BOM: Swedish Excel reads UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:]), delimiter=";"))


# --- labels and names on the page ---------------------------------------------------------------


def test_the_page_speaks_swedish_with_full_names(app: Flask, as_user: Client) -> None:
    anon = app.test_client()
    assert login(anon, "manager", "fel lösenord").status_code == 422
    manager = as_user("manager")
    submit_form(manager, "/forms/access-order", order_form())
    assert manager.get("/lvs/queue").status_code == 403
    page = as_user("admin").get("/audit").get_data(as_text=True)
    rows = rows_of(page)
    assert rows
    cells = {cell for row in rows for cell in row}
    codes = set(ACTIONS) | set(OUTCOMES)
    assert not cells & codes, cells & codes
    for label in ("Blankett skickad", "Inloggning", "Misslyckad inloggning",
                  "Nekad åtkomst till sida", "Genomfört", "Nekad", "Misslyckades"):
        assert label in cells, label
    assert any(cell.startswith("Behörighetsbeställning ") for cell in cells)  # and its id
    assert "Eva Enhetschef (manager)" in cells
    assert header_of(page)[:3] == ["Nr i kedjan", "Tid", "Person"]


def test_a_deleted_user_shows_the_recorded_username_never_another_persons_name(
        app: Flask, as_user: Client, password_hash: str) -> None:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "Myndighet Centrum"))
        assert unit is not None
        gone = User(username="slutat01", full_name="Sigrid Slutat", email="s@goteborg.se",
                    unit_id=unit.id, password_hash=password_hash,
                    role_rows=[UserRole(role="staff")])
        db.session.add(gone)
        db.session.flush()
        audit.record("login", user=gone, unit_id=unit.id)
        db.session.commit()
        gone_id = gone.id
        db.session.execute(delete(UserRole).where(UserRole.user_id == gone_id))
        db.session.execute(delete(User).where(User.id == gone_id))
        db.session.commit()
        # SQLite gives the freed id to the next account: that person did not log in then.
        db.session.add(User(username="ny01", full_name="Nils Nyanställd", email="n@goteborg.se",
                            unit_id=unit.id, password_hash=password_hash,
                            role_rows=[UserRole(role="staff")]))
        db.session.commit()
    cells = [row for row in rows_of(as_user("admin").get("/audit").get_data(as_text=True))
             if "slutat01" in row[2] or "Nils" in row[2]]
    assert [row[2] for row in cells] == ["slutat01"]


# --- filters ------------------------------------------------------------------------------------


@pytest.fixture
def spread(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events on three Swedish days, two cases, two people, two units."""
    centrum, nordost = unit_id(app, "Myndighet Centrum"), unit_id(app, "Myndighet Nordost")
    at = [datetime(2026, 11, 1, 8, 0, tzinfo=UTC), datetime(2026, 11, 15, 12, 0, tzinfo=UTC),
          datetime(2026, 11, 30, 22, 30, tzinfo=UTC)]  # the last: 23:30 on 30 Nov in Stockholm
    record_at(app, monkeypatch, at[0], "submission_viewed", username="manager", unit_id=centrum,
              case_number="0655588", object_type="access_order", object_id="a" * 32)
    record_at(app, monkeypatch, at[1], "pdf_fetched", username="lvs", unit_id=centrum,
              case_number="0655599", object_type="access_order", object_id="b" * 32)
    record_at(app, monkeypatch, at[2], "submission_viewed", username="lvs", unit_id=centrum,
              case_number="0655588", object_type="access_order", object_id="c" * 32)
    record_at(app, monkeypatch, at[2], "submission_viewed", username="other_manager",
              unit_id=nordost, case_number="0655577", object_type="access_order",
              object_id="d" * 32)


def shown(client: FlaskClient, query: str) -> list[tuple[str, str]]:
    """(time, case) of the rows the manager's filtered page shows, login events aside."""
    resp = client.get(f"/audit?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return [(row[0], row[4]) for row in rows_of(resp.get_data(as_text=True)) if row[4]]


def test_each_filter_narrows_the_page(spread: None, as_user: Client) -> None:
    manager = as_user("manager")
    everything = shown(manager, "")
    assert everything == [("2026-11-30 23:30", "0655588"), ("2026-11-15 13:00", "0655599"),
                          ("2026-11-01 09:00", "0655588")]  # Nordost's event is not the unit's
    assert shown(manager, "case=0655588") == [everything[0], everything[2]]
    assert shown(manager, "username=lvs") == everything[:2]
    assert shown(manager, "action=pdf_fetched") == [everything[1]]
    assert shown(manager, "date_from=2026-11-10&date_to=2026-11-20") == [everything[1]]
    # Days are Swedish calendar days: 23:30 on 30 Nov is in the 30th, not in the 29th.
    assert shown(manager, "date_from=2026-11-30") == [everything[0]]
    assert shown(manager, "date_to=2026-11-29") == everything[1:]
    assert shown(manager, "case=0655588&username=lvs&date_to=2026-11-30") == [everything[0]]
    page = manager.get("/audit?case=0655599").get_data(as_text=True)
    assert [row[1] for row in rows_of(page)] == ["Lena LVS (lvs)"]
    assert 'value="0655599"' in page  # the filter is kept in its field
    assert 'href="/audit.csv?case=0655599"' in page


@pytest.mark.parametrize(("query", "field_id", "message", "rows"), [
    ("date_from=2026-13-01", "date_from", "Ange från och med-datum som ÅÅÅÅ-MM-DD", 3),
    ("date_to=1.12.2026", "date_to", "Ange till och med-datum som ÅÅÅÅ-MM-DD", 3),
    # the valid "from" still applies; the "to" before it does not
    ("date_from=2026-11-20&date_to=2026-11-10", "date_to", "kan inte vara före", 1),
    ("case=19121212-1212", "case", "Skriv aldrig personnummer", 3),
    ("username=Ева", "username", "Skriv användarnamnet", 3),
    ("action=no_such_action", "action", "Välj en händelse i listan.", 3),
])
def test_a_bad_filter_is_shown_at_its_field_in_swedish_and_not_used(
        spread: None, as_user: Client, query: str, field_id: str, message: str,
        rows: int) -> None:
    resp = as_user("manager").get(f"/audit?{query}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in field_error(page, field_id)
    assert "Not a valid" not in page and "Filtret innehåller fel" in page
    assert len([r for r in rows_of(page) if r[4]]) == rows  # the bad filter narrowed nothing


def test_pagination_keeps_the_filters(spread: None, app: Flask, as_user: Client,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_log, "PAGE", 1)
    manager = as_user("manager")
    first = manager.get("/audit?case=0655588&date_from=2026-11-01").get_data(as_text=True)
    older = re.search(r'<a href="([^"]+)">Äldre</a>', first)
    assert older is not None
    link = html_lib.unescape(older.group(1))
    assert link.startswith("/audit?") and "page=2" in link
    assert "case=0655588" in link and "date_from=2026-11-01" in link
    second = manager.get(link).get_data(as_text=True)
    assert [r[4] for r in rows_of(second)] == ["0655588"]
    newer = re.search(r'<a href="([^"]+)">Nyare</a>', second)
    assert newer is not None and "case=0655588" in html_lib.unescape(newer.group(1))


# --- the CSV extract ----------------------------------------------------------------------------


def test_cells_that_a_spreadsheet_would_run_are_escaped() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert audit_trail.cell(f"{start}1+1") == f"'{start}1+1"
    assert audit_trail.cell("0655588") == "0655588"
    assert audit_trail.cell("Eva Enhetschef") == "Eva Enhetschef"
    assert audit_trail.cell(None) == ""


def test_the_csv_is_for_swedish_excel_escaped_and_audited(
        app: Flask, as_user: Client, password_hash: str, monkeypatch: pytest.MonkeyPatch) -> None:
    centrum = unit_id(app, "Myndighet Centrum")
    with app.app_context():
        db.session.add(User(username="formel", full_name="=HYPERLINK(\"http://x\";\"klick\")",
                            email="f@goteborg.se", unit_id=centrum, password_hash=password_hash,
                            role_rows=[UserRole(role="staff")]))
        db.session.commit()
    record_at(app, monkeypatch, datetime(2026, 11, 2, 9, 0, tzinfo=UTC), "submission_viewed",
              username="formel", unit_id=centrum, case_number="=1+1", object_id="+SUM(A1)")
    resp = as_user("admin").get("/audit.csv")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv" and resp.mimetype_params.get("charset") == "utf-8"
    day = today().isoformat()
    assert resp.headers["Content-Disposition"] == f'attachment; filename="loggutdrag-{day}.csv"'
    assert resp.headers["Cache-Control"] == "no-store"
    table = read_csv(resp.data)
    assert table[0] == ["Nr i kedjan", "Tid", "Namn", "Användarnamn", "Händelse", "Utfall",
                        "Ärende", "Objekt", "Objektets id"]
    row = next(r for r in table[1:] if r[3] == "formel")
    assert row[2] == "'=HYPERLINK(\"http://x\";\"klick\")"  # quoted by csv, the ; inside kept
    assert row[6] == "'=1+1" and row[8] == "'+SUM(A1)"
    assert row[1] == "2026-11-02 10:00" and row[4] == "Blankett visad" and row[5] == "Genomfört"
    assert all(not c.startswith(audit_trail.FORMULA_START) for r in table for c in r)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
        assert event is not None and event.action == "audit_log_exported"
        assert event.username == "admin" and event.detail is not None
        assert event.detail.startswith(f"rader: {len(table) - 1}")


def test_a_managers_csv_holds_their_units_rows_without_chain_numbers(
        spread: None, as_user: Client) -> None:
    resp = as_user("manager").get("/audit.csv?date_from=2026-11-01&date_to=2026-11-30")
    assert resp.status_code == 200
    table = read_csv(resp.data)
    assert table[0][:3] == ["Tid", "Namn", "Användarnamn"] and "Nr i kedjan" not in table[0]
    assert [r[5] for r in table[1:]] == ["0655588", "0655599", "0655588"]
    text = resp.data.decode("utf-8")
    assert "0655577" not in text and "other_manager" not in text and "Olle" not in text
    other = read_csv(as_user("other_manager").get("/audit.csv").data)
    assert "0655577" in {r[5] for r in other[1:]}
    assert not {"0655588", "0655599"} & {r[5] for r in other[1:]}


@pytest.mark.parametrize("who", ["staff", "planner", "secretary", "lvs"])
def test_the_csv_is_refused_to_other_roles(app: Flask, as_user: Client, who: str) -> None:
    resp = as_user(who).get("/audit.csv")
    assert resp.status_code == 403
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "audit_log_exported"))


def test_an_anonymous_csv_request_goes_to_the_login(client: FlaskClient) -> None:
    resp = client.get("/audit.csv")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_too_large_extract_is_refused_at_the_date_field(app: Flask, spread: None,
                                                          as_user: Client) -> None:
    app.config["AUDIT_EXPORT_MAX_ROWS"] = 2
    resp = as_user("manager").get("/audit.csv?case=0655588&date_from=2026-11-01")
    assert resp.status_code == 200 and len(read_csv(resp.data)) == 3  # header and 2 rows
    resp = as_user("manager").get("/audit.csv")
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert "Utdraget skulle få" in field_error(resp.get_data(as_text=True), "date_from")
    resp = as_user("manager").get("/audit.csv?date_from=2026-02-30")
    assert resp.status_code == 422 and "Ange från och med-datum" in field_error(
        resp.get_data(as_text=True), "date_from")


# --- the chain's state (admins) -----------------------------------------------------------------


def some_events(app: Flask, n: int = 8) -> None:
    with app.app_context():
        centrum = db.session.scalar(select(Unit.id).where(Unit.name == "Myndighet Centrum"))
        for i in range(n):
            audit.record("submission_viewed", object_type="access_order", object_id=f"ref{i:03d}",
                         unit_id=centrum, case_number="0655588")
        db.session.commit()


def chain_text(page: str) -> str:
    section = re.search(r'<section class="chain-state[^"]*"[^>]*>(.*?)</section>', page, re.S)
    assert section is not None
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", section.group(1))).split())


def test_an_admin_sees_the_chain_whole_then_where_it_breaks(app: Flask, as_user: Client) -> None:
    some_events(app)
    admin = as_user("admin")
    text = chain_text(admin.get("/audit").get_data(as_text=True))
    assert "Kedjan är hel." in text and "Alla 9 händelser kontrollerades nu." in text
    with triggers_dropped(app):
        tamper(app, "UPDATE audit_events SET case_number = '0655599' WHERE seq = :seq", 4)
        page = admin.get("/audit").get_data(as_text=True)  # the next request knows: no cache
    text = chain_text(page)
    assert "Kedjan är bruten vid händelse 4." in text and "MAC stämmer inte" in text
    assert "Kedjan är hel" not in text
    link = re.search(r'<a href="([^"]+)">Visa händelserna där kedjan bryts</a>', page)
    assert link is not None and html_lib.unescape(link.group(1)) == "/audit?page=1#h-4"
    assert '<tr id="h-4" class="chain-break">' in page


def test_the_page_checks_the_newest_events_it_is_set_to(app: Flask, as_user: Client) -> None:
    some_events(app, 20)
    app.config["AUDIT_PAGE_VERIFY_NEWEST"] = 5
    admin = as_user("admin")  # its login is event 21
    text = chain_text(admin.get("/audit").get_data(as_text=True))
    assert "Händelse 17–21 (de senaste) kontrollerades nu" in text
    with triggers_dropped(app):
        tamper(app, "UPDATE audit_events SET detail = 'ändrad' WHERE seq = :seq", 19)
        text = chain_text(admin.get("/audit").get_data(as_text=True))
    assert "Kedjan är bruten vid händelse 19." in text


def test_a_manager_sees_no_chain_and_no_chain_numbers(app: Flask, as_user: Client) -> None:
    """The unit sees a subset of the global chain: numbers with gaps would look like deletions."""
    some_events(app, 3)
    submit_form(as_user("other_manager"), "/forms/access-order", order_form(
        case_number="0655599", city_district="Nordost"))
    some_events(app, 3)
    page = as_user("manager").get("/audit").get_data(as_text=True)
    assert "chain-state" not in page and "Kedjan" not in page
    assert "Nr i kedjan" not in page and 'id="h-' not in page
    assert header_of(page)[0] == "Tid"
    rows = rows_of(page)
    assert len(rows) == 6  # the unit's six; the logins have no unit
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[0])
        assert not any(re.fullmatch(r"\d{1,6}", cell) for cell in row), row
    assert "0655599" not in page

