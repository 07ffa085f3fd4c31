"""Application logs (issue 4, item 6; SPEC §1.2: nothing identifying in a log line): every line
carries the request id, the user id and the action; no line ever carries a personnummer, a name, a
password or anything typed into a form — not even the traceback of a server error.

Everything is captured: the portal's own stderr handler (the "portal" logger does not propagate),
a handler of our own at DEBUG on the "portal" and root loggers, caplog, and the process's stdout and
stderr. Then a whole working day runs through every form path, valid and refused, with
Skatteverket's test personnummer 19121212-1212 and a client name no code prints by chance."""
from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD, order_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app, logs, submissions
from portal.clock import today
from portal.extensions import db
from portal.models import Submission, Unit, User, UserRole

PNR = "19121212-1212"
PNR_FORMS = ["19121212-1212", "191212121212", "121212-1212", "1212121212", "19121212+1212",
             "121212+1212", "121212 - 1212"]
CLIENT = "Xerxes Quarnström"
CLIENT_PARTS = ["Xerxes", "Quarnström", "Quarnstr"]  # "Quarnstr": also as JSON writes it (\u00f6)
ADDRESS = "Skatteverket, förmedlingsuppdrag, Box 7711, 403 99 Göteborg"
THREAT = "Hotbilden gäller Zebulon Krakowiak som söker henne"
NOTE = "Anteckning om Xerxes: promenad till Slottsskogen klockan tio"
FICTIONAL = "Gunnel Vindros"
STAFF = "Anna Wrangelsdotter"  # staff named in an access order: form content too
REPLY = "Lagt in i Treserva, meddelat Wrangelsdotter"
CONTENT = [CLIENT, *CLIENT_PARTS, ADDRESS, "Box 7711", THREAT, "Zebulon", "Krakowiak", NOTE,
           "Slottsskogen", FICTIONAL, "Vindros", STAFF, "Wrangelsdotter", PASSWORD]


# --- capturing everything ----------------------------------------------------------------------


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter(logs.FORMAT))
        self.addFilter(logs.RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@dataclass
class Captured:
    handler: ListHandler
    stream: io.StringIO  # what the portal's own handler writes to stderr
    caplog: pytest.LogCaptureFixture
    capfd: pytest.CaptureFixture[str]
    outside: list[str] = field(default_factory=list)

    def text(self) -> str:
        out, err = self.capfd.readouterr()
        self.outside += [out, err]
        return "\n".join([*self.handler.lines, self.stream.getvalue(), self.caplog.text,
                          *self.outside])


def portal_stderr_handler() -> logging.StreamHandler[Any]:
    """The handler portal/logs.py installs: stderr, with the request id filter."""
    for h in logging.getLogger("portal").handlers:
        if isinstance(h, logging.StreamHandler) and any(
                isinstance(f, logs.RequestContextFilter) for f in h.filters):
            return h
    raise AssertionError("portal/logs.py installed no stderr handler")


@pytest.fixture
def captured(app: Flask, caplog: pytest.LogCaptureFixture,
             capfd: pytest.CaptureFixture[str]) -> Iterator[Captured]:
    handler = ListHandler()
    stream = io.StringIO()
    portal_logger, root = logging.getLogger("portal"), logging.getLogger()
    # Alembic's env.py runs logging.config.fileConfig(), which disables every logger that exists
    # by then (disable_existing_loggers defaults to True): after the test database is migrated in
    # this process, "portal" and "portal.access" are silent. Switch them back on for the test.
    names = ["portal", *(n for n in logging.root.manager.loggerDict if n.startswith("portal."))]
    disabled = {n: logging.getLogger(n).disabled for n in names}
    for n in names:
        logging.getLogger(n).disabled = False
    levels = (portal_logger.level, root.level)
    own = portal_stderr_handler()
    old_stream = own.setStream(stream)  # type: ignore[arg-type]
    portal_logger.addHandler(handler)
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="portal")
    portal_logger.setLevel(logging.DEBUG)
    root.setLevel(logging.DEBUG)
    try:
        yield Captured(handler, stream, caplog, capfd)
    finally:
        portal_logger.removeHandler(handler)
        root.removeHandler(handler)
        portal_logger.setLevel(levels[0])
        root.setLevel(levels[1])
        if old_stream is not None:
            own.setStream(old_stream)
        for n, was in disabled.items():
            logging.getLogger(n).disabled = was


def assert_nothing_identifying(text: str) -> None:
    leaks = [s for s in [*PNR_FORMS, *CONTENT] if s.casefold() in text.casefold()]
    assert not leaks, f"the logs carry {leaks}"
    # Any personnummer shape at all, whatever digits (a leak of another number the test made).
    # (Request ids are hex and may hold a run of ten digits: they are not looked at.)
    without_ids = re.sub(r"req=[0-9a-f]+", "req=", text)
    assert not re.search(r"(?<!\d)(?:19|20)?\d{6}[-+]?\d{4}(?!\d)", without_ids)


# --- the working day -----------------------------------------------------------------------------


def ok(resp: Any, *codes: int) -> Any:
    assert resp.status_code in (codes or (200,)), (resp.status_code,
                                                  resp.get_data(as_text=True)[:500])
    return resp


def stored(resp: Any) -> str:
    ok(resp, 303)
    return resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def add_bosam(app: Flask, password_hash: str) -> None:
    with app.app_context():
        unit = Unit(name="BoSam", unit_type="bosam", city_district="Centrum")
        db.session.add(unit)
        db.session.flush()
        db.session.add(User(username="bosam", full_name="Britt Boendesekreterare",
                            email="bosam@goteborg.se", unit_id=unit.id, password_hash=password_hash,
                            role_rows=[UserRole(role="social_secretary")]))
        db.session.commit()


def access_order_path(manager: FlaskClient, lvs: FlaskClient) -> None:
    day = today()
    good = order_form(**{"persons-0-full_name": STAFF, "valid_from": day.isoformat(),
                         "valid_to": (day + timedelta(days=90)).isoformat()})
    ok(manager.get("/forms/access-order"))
    ok(manager.post("/forms/access-order", data={**good, "case_number": PNR}), 422)
    ok(manager.post("/forms/access-order", data={**good, "preview": "1"}))
    public_id = stored(manager.post("/forms/access-order", data=good))
    for suffix in ("", "/message", "/pdf", ".json"):
        ok(manager.get(f"/submissions/{public_id}{suffix}"))
    ok(lvs.get("/lvs/queue"))
    ok(lvs.get("/lvs/queue.json"))
    ok(lvs.get(f"/submissions/{public_id}"))
    ok(lvs.post(f"/lvs/submissions/{public_id}/done", data={"reply": f"Fel {PNR}", "version": "1"}),
       303)  # refused: a personnummer in the reply (flashed, nothing changed)
    ok(lvs.post(f"/lvs/submissions/{public_id}/done", data={"reply": REPLY, "version": "1"}), 303)
    ok(lvs.post(f"/lvs/submissions/{public_id}/done", data={"reply": REPLY, "version": "1"}), 409)
    ok(lvs.get("/register"))
    ok(manager.get("/register"))


def actualisation_path(secretary: FlaskClient, lvs: FlaskClient) -> None:
    data = {
        "receiving_unit": "Myndighet Centrum", "recipient": "Sara Socialsekreterare",
        "recipient_position": "socialsekreterare", "activity": "ÄO", "personnummer": PNR,
        "full_name": CLIENT, "concerns": "Ansökan om hemtjänst",
        "preliminary_case_type": "Hemtjänst", "kind": "anmälan",
        "received_date": today().isoformat(), "arrival_method": "telefon",
        "arrived_from": "granne", "reporter_name": "Zebulon Krakowiak",
        "reporter_contact": "031-7711", "proposed_persons-0-full_name": STAFF,
        "proposed_persons-0-username": "anna01",
        "proposed_persons-0-position": "socialsekreterare", "text": NOTE,
    }
    ok(secretary.get("/forms/actualisation"))
    ok(secretary.post("/forms/actualisation", data={**data, "personnummer": "19121212-1213"}), 422)
    ok(secretary.post("/forms/actualisation", data={**data, "received_date": "2999-01-01"}), 422)
    public_id = stored(secretary.post("/forms/actualisation", data=data))
    ok(secretary.get(f"/submissions/{public_id}"))
    for suffix in ("", "/message", "/pdf", ".json"):
        ok(lvs.get(f"/submissions/{public_id}{suffix}"))
    ok(lvs.post(f"/lvs/submissions/{public_id}/done",
                data={"reply": "Aktualiseringen är skapad.", "version": "1",
                      "case_number": "0655599"}), 303)
    ok(lvs.get(f"/submissions/{public_id}"))


def checklist_path(secretary: FlaskClient) -> None:
    from test_checklist import assignment_text, checklist_form, paste  # every section, as posted

    data = checklist_form(threat_picture=THREAT, fictional_name=FICTIONAL,
                          communication_note=f"Ring {CLIENT} på förmiddagen.")
    ok(secretary.get("/forms/checklist"))
    # The checklist is never stored; where it takes a personnummer it is printed, not refused.
    ok(secretary.post("/forms/checklist", data={**data, "post_note": f"Post till {PNR}"}), 200, 422)
    ok(secretary.post("/forms/checklist", data={**data, "next_follow_up": "not a date"}), 422)
    ok(secretary.post("/forms/checklist", data=data))
    ok(secretary.post("/forms/checklist", data={**data, "as_pdf": "1"}))
    ok(paste(secretary, assignment_text(secretary, data)))
    ok(paste(secretary, f"Hotbild {CLIENT} {PNR}"), 422)


def deviation_path(staff: FlaskClient, manager: FlaskClient) -> None:
    data = {"event_date": today().isoformat(), "event_time": "07:45", "unit": "Hemtjänst Hisingen",
            "fictional_name": FICTIONAL, "category": "fall",
            "description": f"{FICTIONAL} föll; Zebulon Krakowiak syntes utanför.",
            "immediate_action": NOTE, "handed_to": "Hugo Hemtjänstchef"}
    ok(staff.get("/forms/deviation"))
    ok(staff.post("/forms/deviation", data={**data, "description": f"Gäller {PNR}"}), 422)
    public_id = stored(staff.post("/forms/deviation", data=data))
    for suffix in ("", "/message", "/pdf", ".json"):
        ok(staff.get(f"/submissions/{public_id}{suffix}"))
        ok(manager.get(f"/submissions/{public_id}{suffix}"))
    ok(manager.post(f"/submissions/{public_id}/done", data={"reply": "", "version": "1"}), 303)


def message_paths(secretary: FlaskClient, bosam: FlaskClient) -> None:
    fee = {"kind": "start", "case_number": "0655588", "full_name": CLIENT,
           "postal_address": ADDRESS, "start_date": today().isoformat(), "safety_alarm": "y",
           "granted_time": "20 timmar per månad"}
    ok(secretary.get("/forms/fee-handler"))
    ok(secretary.post("/forms/fee-handler", data={**fee, "case_number": PNR}), 422)
    ok(secretary.post("/forms/fee-handler", data=fee))
    ok(secretary.post("/forms/fee-handler", data={**fee, "as_pdf": "1"}))
    contract = {"case_number": "0655588", "full_name": CLIENT, "postal_address": ADDRESS,
                "residence": "Vigårda privata äldreboende",
                "move_in_date": today().isoformat()}
    ok(bosam.get("/forms/fee-handler-contract"))
    ok(bosam.post("/forms/fee-handler-contract", data={**contract, "case_number": PNR}), 422)
    ok(bosam.post("/forms/fee-handler-contract", data=contract))
    ok(bosam.post("/forms/fee-handler-contract", data={**contract, "as_pdf": "1"}))
    tj = {"purpose": "assignment_sent", "case_number": "0655588", "city_district": "Centrum"}
    ok(secretary.post("/forms/trygghetsjouren", data={**tj, "case_number": PNR}), 422)
    ok(secretary.post("/forms/trygghetsjouren", data=tj))
    ok(secretary.post("/forms/trygghetsjouren", data={**tj, "as_pdf": "1"}))


def day_notes_path(manager: FlaskClient, staff: FlaskClient) -> None:
    ok(manager.post("/day-notes/", data={"fictional_name": FICTIONAL, "case_number": PNR}), 422)
    file_id = stored(manager.post("/day-notes/", data={"fictional_name": FICTIONAL,
                                                       "case_number": "0655588"}))
    ok(staff.get("/day-notes/"))
    ok(staff.post(f"/day-notes/{file_id}/notes", data={"text": f"{NOTE} {PNR}"}), 422)
    ok(staff.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}), 303)
    ok(staff.get(f"/day-notes/{file_id}"))
    ok(staff.get(f"/day-notes/{file_id}/sheet.pdf"))
    page = ok(manager.get(f"/day-notes/{file_id}/compile")).get_data(as_text=True)
    notes = re.findall(r'name="note" value="([^"]+)"', page)
    ok(manager.post(f"/day-notes/{file_id}/compile", data={"note": notes}), 303)


def probing_paths(client: FlaskClient) -> None:
    """A personnummer or name typed into a URL or a query string: the access log names the
    endpoint, never the path or the query."""
    for path in (f"/submissions/{PNR}", f"/forms/{PNR.replace('-', '')}",
                 f"/day-notes/{CLIENT}", f"/lvs/queue?pnr={PNR}&namn={CLIENT}",
                 f"/register?q={PNR}", f"/blank/{PNR}.pdf"):
        ok(client.get(path), 200, 403, 404)
    for name in ("access-order", "actualisation", "checklist", "deviation", "day-notes"):
        ok(client.get(f"/blank/{name}.pdf"))


def test_a_whole_day_of_every_form_logs_ids_and_actions_but_nothing_identifying(
        app: Flask, as_user, password_hash: str, captured: Captured) -> None:
    add_bosam(app, password_hash)
    bad_login = app.test_client().post("/login", data={"username": CLIENT, "password": PNR})
    assert bad_login.status_code in (200, 401, 422)
    clients = {u: as_user(u) for u in ("manager", "lvs", "secretary", "staff",
                                       "hemtjanst_manager", "bosam", "admin")}
    access_order_path(clients["manager"], clients["lvs"])
    actualisation_path(clients["secretary"], clients["lvs"])
    checklist_path(clients["secretary"])
    deviation_path(clients["staff"], clients["hemtjanst_manager"])
    message_paths(clients["secretary"], clients["bosam"])
    day_notes_path(clients["hemtjanst_manager"], clients["staff"])
    probing_paths(clients["secretary"])
    ok(clients["admin"].get("/audit"))

    text = captured.text()
    assert_nothing_identifying(text)

    # What the lines do say: request id, user id and the action (endpoint and status).
    access = [line for line in captured.handler.lines if " portal.access: " in line]
    assert len(access) > 60
    for line in access:
        assert re.search(r" req=[0-9a-f]{16} user=(\d+|-) portal\.access: [A-Z]+ [\w.-]+ \d{3}$",
                         line), line
    with app.app_context():
        ids = {u.username: u.id for u in db.session.scalars(select(User))}
    seen_users = {int(m) for m in re.findall(r" user=(\d+) ", "\n".join(access))}
    assert {ids[u] for u in clients} <= seen_users
    assert " forms.fill 303" in "\n".join(access)
    assert " lvs.done 409" in "\n".join(access)
    assert " submissions.as_json 200" in "\n".join(access)
    # The line the portal itself writes to stderr has the same shape.
    assert re.search(r" req=[0-9a-f]{16} user=\d+ portal\.access: POST forms\.fill 303",
                     captured.stream.getvalue())


def test_the_request_id_in_the_log_is_the_one_in_the_response(
        app: Flask, as_user, captured: Captured) -> None:
    resp = as_user("manager").get("/forms/access-order")
    rid = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    line = [ln for ln in captured.handler.lines if f"req={rid}" in ln]
    assert line and "GET forms.fill 200" in line[-1]


# --- a server error ------------------------------------------------------------------------------


@pytest.fixture
def errors_as_pages(app: Flask) -> Flask:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, and a log line
    return app


def test_a_server_error_while_storing_logs_a_traceback_without_form_content(
        errors_as_pages: Flask, as_user, captured: Captured,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A database error in the middle of a submit: SQLAlchemy's message would quote the SQL
    parameters — the form's content — into the traceback; it must not reach the log."""
    manager = as_user("manager")
    day = today()
    # The local protection's reason comes last in the stored JSON: SQLAlchemy quotes the end of a
    # long parameter, so without the defence it would be in the message.
    data = order_form(**{"persons-0-full_name": STAFF, "valid_from": day.isoformat(),
                         "valid_to": (day + timedelta(days=90)).isoformat(),
                         "local_protection": "y",
                         "local_protection_until": (day + timedelta(days=60)).isoformat(),
                         "local_protection_reason": THREAT,
                         "justification": f"{CLIENT} behöver fler"})
    first = stored(manager.post("/forms/access-order", data=data))
    # The next submission gets the same public id: the unique constraint fails inside the INSERT.
    monkeypatch.setattr(submissions, "new_public_id", lambda: first)
    resp = manager.post("/forms/access-order", data=data)
    assert resp.status_code == 500
    assert "Något gick fel" in resp.get_data(as_text=True)

    text = captured.text()
    errors = [r for r in captured.handler.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info, "Flask logs the exception with its traceback"
    assert "IntegrityError" in text  # the traceback is there, for the operator
    assert re.search(r"req=[0-9a-f]{16} user=\d+ portal: Exception on /forms/access-order \[POST\]",
                     text)
    assert_nothing_identifying(text)
    assert "anna01" not in text and "goteborg.se" not in text


def test_a_server_error_with_a_personnummer_in_the_exception_message_is_logged_without_it(
        errors_as_pages: Flask, as_user, captured: Captured,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's own messages quote the value they choke on (int('19121212-1212') says it back):
    whatever raised, the log shows where, not what was typed."""
    from portal.forms import BY_KEY

    kind = BY_KEY["actualisation"]
    real = kind.to_data

    def to_data(form: Any, user: Any) -> dict[str, Any]:
        data = real(form, user)
        int(data["personnummer"])  # ValueError quoting the value it was given
        return data

    monkeypatch.setattr(kind, "to_data", to_data)
    resp = as_user("secretary").post("/forms/actualisation", data={
        "receiving_unit": "Myndighet Centrum", "recipient": "Sara Socialsekreterare",
        "recipient_position": "socialsekreterare", "activity": "ÄO", "personnummer": PNR,
        "full_name": CLIENT, "concerns": "Ansökan om hemtjänst",
        "preliminary_case_type": "Hemtjänst", "kind": "ansökan",
        "received_date": today().isoformat(), "arrival_method": "telefon",
        "arrived_from": "den enskilde", "text": NOTE})
    assert resp.status_code == 500
    text = captured.text()
    assert "ValueError" in text and "to_data" in text  # type and place, for the operator
    assert_nothing_identifying(text)


def test_sql_statements_and_rows_are_not_logged_even_with_the_root_logger_at_debug(
        app: Flask, as_user, captured: Captured) -> None:
    """An operator who turns the root logger up to DEBUG gets no SQL: its parameters and the rows
    it returns are form content (an access order's staff, a reason for local protection).
    SQLAlchemy keeps its own loggers at WARNING unless told otherwise; nothing in the portal may."""
    # As in a server process: Alembic's logging config (run in this test process by the
    # migrations) has not touched SQLAlchemy's engine logger; then the app starts.
    sql = logging.getLogger("sqlalchemy.engine")
    before = sql.level
    sql.setLevel(logging.NOTSET)
    try:
        fresh = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "SECRET_KEY": app.config["SECRET_KEY"], "TESTING": True,
                            "WTF_CSRF_ENABLED": False},
                           instance_path=app.instance_path)
        client = fresh.test_client()
        assert client.post("/login", data={"username": "manager", "password": PASSWORD}
                           ).status_code == 303
        day = today()
        stored(client.post("/forms/access-order", data=order_form(**{
            "persons-0-full_name": STAFF, "valid_from": day.isoformat(),
            "valid_to": (day + timedelta(days=90)).isoformat(), "local_protection": "y",
            "local_protection_until": (day + timedelta(days=60)).isoformat(),
            "local_protection_reason": THREAT})))
        client.get("/register")
        with fresh.app_context():
            db.engine.dispose()
    finally:
        sql.setLevel(before)
    text = captured.text()
    assert "INSERT INTO" not in text and "SELECT" not in text
    assert_nothing_identifying(text)


def test_a_database_error_message_never_quotes_the_values(app: Flask) -> None:
    """hide_parameters (config.py): SQLAlchemy's error messages leave out the SQL parameters, so a
    traceback printed anywhere (a CLI command, a worker) does not carry form content either."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "manager"))
        assert user is not None
        rows = [Submission(public_id="samma-id", form="access_order", unit_id=user.unit_id,
                           submitted_by_id=user.id, case_number="0655588",
                           data={"local_protection_reason": THREAT, "name": CLIENT})
                for _ in range(2)]
        db.session.add(rows[0])
        db.session.commit()
        db.session.add(rows[1])
        with pytest.raises(IntegrityError) as caught:
            db.session.commit()
        db.session.rollback()
    message = str(caught.value)
    assert "INSERT INTO submissions" in message  # the statement, for the operator
    assert "hidden" in message
    assert_nothing_identifying(message)


# --- issue 11: no uploaded content reaches any log, whatever the level ---------------------------


MARK = "Qzmark"  # every field, the query string and the file name carry it, each in its own form


@pytest.fixture
def every_logger_at_debug(captured: Captured) -> Iterator[Captured]:
    """Every logger there is (werkzeug, sqlalchemy.*, flask, portal.*, …) at DEBUG and enabled."""
    names = [*logging.root.manager.loggerDict, "werkzeug", "sqlalchemy.engine.Engine",
             "sqlalchemy.pool", "flask_limiter"]
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).disabled) for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
        logging.getLogger(n).disabled = False
    try:
        yield captured
    finally:
        for n, (level, disabled) in saved.items():
            logging.getLogger(n).setLevel(level)
            logging.getLogger(n).disabled = disabled


def multipart(fields: dict[str, str], file_field: str, filename: str,
              content: bytes) -> tuple[bytes, str]:
    boundary = "----skydd" + "b" * 20
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                 f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                 + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_no_uploaded_content_reaches_any_log_through_a_real_server_at_debug(
        app: Flask, every_logger_at_debug: Captured) -> None:
    """A real HTTP server (werkzeug's, as `make run` serves) with every logger at DEBUG: a login,
    a stored deviation report and a refused one, each with a marker in every field, in the query
    string and in an uploaded file's name and content. The marker is in no log line: not in the
    server's request lines, not in the portal's, not in SQLAlchemy's statements or rows."""
    import http.cookiejar
    import threading
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server

    # The posts come through urllib, not the test client, and carry no CSRF token: without the
    # check they reach the form code, whose refusals are what may not be logged.
    app.config["WTF_CSRF_ENABLED"] = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def send(path: str, body: bytes | None = None, content_type: str = "") -> int:
        req = urllib.request.Request(base + path, data=body,  # noqa: S310 - http://127.0.0.1
                                     headers={"Content-Type": content_type} if body else {})
        try:
            with opener.open(req, timeout=30) as resp:
                resp.read()
                return int(resp.status)
        except urllib.error.HTTPError as error:
            error.read()
            return int(error.code)

    form = {"event_date": today().isoformat(), "event_time": "07:45",
            "unit": "Hemtjänst Hisingen", "fictional_name": f"{MARK}fictional",
            "category": "fall", "description": f"{MARK}description",
            "immediate_action": f"{MARK}action", "handed_to": "Hugo Hemtjänstchef"}
    refused = {k: f"{MARK}{k}" for k in [*form, "no_person", "csrf_token"]}
    try:
        login = {"username": f"{MARK}user", "password": f"{MARK}password"}
        body = "&".join(f"{k}={v}" for k, v in login.items()).encode()
        assert send(f"/login?next=/{MARK}next", body,
                    "application/x-www-form-urlencoded") in (200, 401, 422)  # refused
        body = f"username=staff&password={PASSWORD.replace(' ', '+')}".encode()
        assert send("/login", body, "application/x-www-form-urlencoded") == 200  # 303 followed
        body, ctype = multipart(form, "attachment", f"{MARK}filename.pdf", f"{MARK}content".encode())
        assert send(f"/forms/deviation?case={MARK}query", body, ctype) == 200  # 303 followed
        body, ctype = multipart(refused, "attachment", f"{MARK}file2.pdf", f"{MARK}c2".encode())
        assert send(f"/forms/deviation?q={MARK}query2", body, ctype) == 422
        assert send(f"/register?username={MARK}search&case={MARK}case") in (200, 403)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    with app.app_context():
        assert db.session.scalar(select(Submission).where(Submission.form == "deviation"))
    text = every_logger_at_debug.text()
    # No line carries a marker: no form value, query value, file name or file content ...
    assert MARK.casefold() not in text.casefold()
    # (At DEBUG, SQLAlchemy's pool names objects by address: hex runs that are not numbers.)
    assert_nothing_identifying(re.sub(r"0x[0-9a-f]+", "0x…", text))
    # ... though each path was logged (so the check above looked at something).
    assert '"POST /forms/deviation?… HTTP/1.1" 303' in text  # werkzeug's request line
    assert "POST forms.fill 422" in text  # the portal's access line
    assert "INSERT INTO submissions" in text  # SQLAlchemy's statements, at DEBUG


def test_rows_sqlalchemy_logs_at_debug_are_withheld(app: Flask,
                                                    every_logger_at_debug: Captured) -> None:
    """hide_parameters hides what is sent; at DEBUG SQLAlchemy also logs each row it returns."""
    from sqlalchemy import text as sql

    with app.app_context():
        assert db.session.execute(sql("SELECT :v AS v"), {"v": f"{MARK}row"}).all()
    text = every_logger_at_debug.text()
    assert "Row (withheld)" in text
    assert MARK.casefold() not in text.casefold()
