"""The command line of SPEC §6 (`flask --app portal …`), through Flask's CLI test runner."""
from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import click
import pytest
from conftest import CsrfClient, login
from flask import Flask
from sqlalchemy import func, select

from portal import cli, create_app, day_notes
from portal.cli import DEMO_CASE, DEMO_FICTIONAL_NAME, DEMO_NOTES
from portal.clock import aware, today, utcnow
from portal.extensions import db
from portal.models import (
    ROLES,
    AuditEvent,
    DayNote,
    FictionalFile,
    Grant,
    LocalProtection,
    Submission,
    Unit,
    User,
)

NEW_PASSWORD = "ett långt nytt lösenord 7"


def run(app: Flask, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args), input=input)


def output(result: object) -> str:
    out = getattr(result, "output", "") or ""
    try:
        out += getattr(result, "stderr", "") or ""
    except ValueError:  # older Click: stderr not captured separately
        pass
    return out


def fresh_app(tmp_path: Path, make_instance: bool = True) -> Flask:
    """An app on an empty SQLite file; its instance folder made first unless told otherwise."""
    instance = tmp_path / "fresh-instance"
    if make_instance:
        instance.mkdir()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
                      "SECRET_KEY": "cli-secret-" + "x" * 20, "TESTING": True},
                     instance_path=str(instance))
    app.test_client_class = CsrfClient
    return app


# --- units -------------------------------------------------------------------------------------


def test_units_create(app: Flask) -> None:
    result = run(app, "units", "create", "Boende Majorna", "--type", "boende",
                 "--district", "Sydväst")
    assert result.exit_code == 0, output(result)
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "Boende Majorna"))
        assert unit is not None
        assert (unit.unit_type, unit.city_district) == ("boende", "Sydväst")
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit_created"))


@pytest.mark.parametrize("args", [
    ["--type", "sjukhus", "--district", "Centrum"],    # unknown unit type
    ["--type", "boende", "--district", "Stockholm"],   # unknown district
])
def test_units_create_refuses_a_bad_type_or_district(app: Flask, args: list[str]) -> None:
    result = run(app, "units", "create", "Felaktig enhet", *args)
    assert result.exit_code != 0
    assert "okän" in output(result)
    with app.app_context():
        assert db.session.scalar(select(Unit).where(Unit.name == "Felaktig enhet")) is None


def test_units_create_refuses_a_duplicate(app: Flask) -> None:
    result = run(app, "units", "create", "Myndighet Centrum", "--type", "myndighet",
                 "--district", "Centrum")
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)
                                 .where(Unit.name == "Myndighet Centrum")) == 1


# --- users -------------------------------------------------------------------------------------


def create_user(app: Flask, password: str, username: str = "nyenhetschef"):  # type: ignore[no-untyped-def]
    return run(app, "users", "create", username, "--full-name", "Nina Ny",
               "--email", f"{username}@goteborg.se", "--unit", "Myndighet Centrum",
               "--role", "unit_manager", "--role", "lvs", "--password-stdin",
               input=password + "\n")


def test_users_create_reads_the_password_from_stdin_and_the_user_can_log_in(app: Flask) -> None:
    result = create_user(app, NEW_PASSWORD)
    assert result.exit_code == 0, output(result)
    assert NEW_PASSWORD not in output(result)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "nyenhetschef"))
        assert user is not None
        assert user.roles == {"unit_manager", "lvs"}
        assert user.unit.name == "Myndighet Centrum"
        assert NEW_PASSWORD not in user.password_hash
        detail = " ".join(e.detail or "" for e in db.session.scalars(select(AuditEvent)))
        assert NEW_PASSWORD not in detail
    client = app.test_client()
    assert login(client, "nyenhetschef", NEW_PASSWORD).status_code == 303
    assert client.get("/lvs/queue").status_code == 200
    assert client.get("/forms/access-order").status_code == 200


def test_users_create_refuses_a_short_password(app: Flask) -> None:
    result = create_user(app, "kort123")
    assert result.exit_code != 0
    assert "minst" in output(result)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "nyenhetschef")) is None


def test_users_create_refuses_an_unknown_role_or_unit(app: Flask) -> None:
    bad_role = run(app, "users", "create", "x1", "--full-name", "X", "--email", "x1@goteborg.se",
                   "--unit", "Myndighet Centrum", "--role", "kung", "--password-stdin",
                   input=NEW_PASSWORD + "\n")
    bad_unit = run(app, "users", "create", "x2", "--full-name", "X", "--email", "x2@goteborg.se",
                   "--unit", "Finns inte", "--role", "staff", "--password-stdin",
                   input=NEW_PASSWORD + "\n")
    assert bad_role.exit_code != 0 and bad_unit.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username.in_(["x1", "x2"]))) is None


# --- demo --------------------------------------------------------------------------------------


def test_demo_writes_credentials_mode_0600_and_they_work(tmp_path: Path) -> None:
    app = fresh_app(tmp_path, make_instance=False)  # demo makes the instance folder itself
    assert run(app, "init-db").exit_code == 0
    result = run(app, "demo")
    assert result.exit_code == 0, output(result)
    path = Path(app.instance_path) / "demo-credentials.txt"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().strip().splitlines()[1:]
    roles = {line.split("\t")[2] for line in lines}
    assert {"staff", "social_secretary", "unit_manager", "lvs", "admin"} <= roles
    username, password = lines[0].split("\t")[:2]
    assert login(app.test_client(), username, password).status_code == 303
    with app.app_context():
        db.engine.dispose()


def test_demo_refuses_in_production(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)
    assert run(app, "init-db").exit_code == 0
    app.config["PRODUCTION"] = True
    result = run(app, "demo")
    assert result.exit_code != 0
    assert not (Path(app.instance_path) / "demo-credentials.txt").exists()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.engine.dispose()


def test_demo_refuses_in_production_on_the_seeded_app(app: Flask) -> None:
    app.config["PRODUCTION"] = True
    result = run(app, "demo")
    assert result.exit_code != 0
    assert "produktion" in output(result)
    assert not (Path(app.instance_path) / "demo-credentials.txt").exists()


# --- init-db, purge ----------------------------------------------------------------------------


def test_init_db_runs_twice_on_a_fresh_database(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)
    first = run(app, "init-db")
    assert first.exit_code == 0, output(first)
    second = run(app, "init-db")
    assert second.exit_code == 0, output(second)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 0  # schema is there
        db.engine.dispose()


def test_purge_runs_and_exits_0(app: Flask) -> None:
    result = run(app, "purge")
    assert result.exit_code == 0, output(result)


# --- the command line as a whole ---------------------------------------------------------------


def command_paths(app: Flask) -> list[str]:
    """Every portal command as typed after `flask --app portal`: "purge", "users unlock", …"""
    paths = []
    for name, command in app.cli.commands.items():
        if isinstance(command, click.Group):
            paths += [f"{name} {sub}" for sub in command.commands]
        else:
            paths.append(name)
    return paths


def test_every_command_is_registered_at_start(app: Flask) -> None:
    assert sorted(command_paths(app)) == sorted([
        "init-db", "units create", "users create", "users set-password", "users set-roles",
        "users deactivate", "users unlock", "demo", "purge", "scheduler", "audit-verify", "backup",
        "rotate-keys", "keys status",
        "notices",  # issue 15, part N
    ])


def test_the_readme_command_table_lists_every_command(app: Flask) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    missing = [path for path in command_paths(app)
               if not any(row.startswith(f"| `{path}`") or row.startswith(f"| `{path} ")
                          for row in rows)]
    assert not missing, f"README.md's command table lacks {missing}"


def test_every_command_has_help(app: Flask) -> None:
    for path in command_paths(app):
        result = run(app, *path.split(), "--help")
        assert result.exit_code == 0, output(result)
        assert "Usage:" in result.output
        command = app.cli.commands[path.split()[0]]
        if isinstance(command, click.Group):
            command = command.commands[path.split()[1]]
        assert command.help, f"{path} has no help text"


# --- the planner role (issue 13) ---------------------------------------------------------------


def test_users_create_and_set_roles_accept_the_planner_role(app: Flask) -> None:
    result = run(app, "users", "create", "nyplanerare", "--full-name", "Pia Planerare",
                 "--email", "nyplanerare@goteborg.se", "--unit", "Hemtjänst Hisingen",
                 "--role", "planner", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, output(result)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "nyplanerare"))
        assert user is not None and user.roles == {"planner"}
    client = app.test_client()
    assert login(client, "nyplanerare", NEW_PASSWORD).status_code == 303
    assert client.get("/").status_code == 200
    assert client.get("/forms/access-order").status_code == 403
    result = run(app, "users", "set-roles", "staff", "--role", "planner", "--role", "staff")
    assert result.exit_code == 0, output(result)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff"))
        assert user is not None and user.roles == {"planner", "staff"}


# --- demo data: every flow of issue 13 can be tried at once ------------------------------------


def demo_app(tmp_path: Path) -> tuple[Flask, dict[str, str]]:
    """A fresh app after `init-db` and `demo`; the demo's passwords by username."""
    app = fresh_app(tmp_path)
    assert run(app, "init-db").exit_code == 0
    result = run(app, "demo")
    assert result.exit_code == 0, output(result)
    lines = (Path(app.instance_path) / "demo-credentials.txt").read_text().splitlines()[1:]
    return app, {line.split("\t")[0]: line.split("\t")[1] for line in lines}


def test_demo_has_a_case_two_units_share_with_local_protection_and_a_planner(
        tmp_path: Path) -> None:
    app, passwords = demo_app(tmp_path)
    with app.app_context():
        planner = db.session.scalar(select(User).where(User.username == "planerare"))
        assert planner is not None and planner.roles == {"planner"}
        assert planner.unit.name == "Hemtjänst Hisingen"
        grants = db.session.scalars(select(Grant).where(Grant.case_number == DEMO_CASE,
                                                        Grant.revoked_at.is_(None))).all()
        units = {g.unit_name for g in grants}
        assert {"Myndighet Centrum", "Hemtjänst Hisingen"} <= units
        assert "planerare" in {g.username for g in grants}
        protection = db.session.scalar(select(LocalProtection).where(
            LocalProtection.case_number == DEMO_CASE))
        assert protection is not None and protection.unit.name == "Myndighet Centrum"
        assert today() < protection.until <= today() + timedelta(days=92)  # §1.3: 3 months
        # The orders LVS carried out are done, their sealed reason purged (SPEC §3.1).
        orders = db.session.scalars(select(Submission).where(
            Submission.form == "access_order")).all()
        assert len(orders) == 2 and all(o.status == "done" and o.data_enc is None
                                        for o in orders)
        db.engine.dispose()
    # The planner logs in with the printed password and sees their tasks, nothing of a manager's.
    client = app.test_client()
    assert login(client, "planerare", passwords["planerare"]).status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert "Avvikelser att registrera i Treserva" in page
    assert DEMO_FICTIONAL_NAME in page  # the fictional file's uncompiled notes
    assert "snart upphör" not in page
    for path in ("/register", "/audit", "/forms/access-order", "/cases/close"):
        assert client.get(path).status_code == 403, path
    with app.app_context():
        db.engine.dispose()


def test_demo_day_notes_are_encrypted_and_two_are_older_than_six_weeks(tmp_path: Path) -> None:
    app, _ = demo_app(tmp_path)
    with app.app_context():
        file = db.session.scalar(select(FictionalFile).where(
            FictionalFile.fictional_name == DEMO_FICTIONAL_NAME))
        assert file is not None
        assert (file.unit.name, file.case_number, file.closed_at) == (
            "Hemtjänst Hisingen", DEMO_CASE, None)
        notes = db.session.scalars(select(DayNote).where(DayNote.file_id == file.id)).all()
        assert len(notes) == len(DEMO_NOTES)
        now = utcnow()
        ages = sorted((now - aware(n.written_at)).days for n in notes)
        warn = app.config["DAY_NOTES_WARN_DAYS"]  # six weeks (issue 13)
        assert sum(age >= warn for age in ages) == 2  # the warning shows
        assert max(ages) < 59  # and none is purged (two months, §8.6)
        texts = {t for _, _, t in DEMO_NOTES}
        for note in notes:
            assert note.text_enc is not None and note.compiled_at is None
            assert b"Gunnel" not in note.text_enc and note.data_key_id is not None
            assert day_notes.note_text(note) in texts
        db.engine.dispose()
    # The server's purge (it runs on a schedule) keeps them: younger than two months.
    assert run(app, "purge").exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DayNote)) == len(DEMO_NOTES)
        db.engine.dispose()


def test_demo_has_a_deviation_report_waiting_encrypted(tmp_path: Path) -> None:
    app, passwords = demo_app(tmp_path)
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.form == "deviation"))
        assert sub is not None and sub.status == "submitted"
        assert sub.unit.name == "Hemtjänst Hisingen" and sub.data is None
        assert sub.data_enc is not None and b"Gunnel" not in sub.data_enc
        public_id = sub.public_id
        db.engine.dispose()
    client = app.test_client()
    assert login(client, "hemtjanstchef", passwords["hemtjanstchef"]).status_code == 303
    page = client.get(f"/submissions/{public_id}").get_data(as_text=True)
    assert DEMO_FICTIONAL_NAME in page
    with app.app_context():
        db.engine.dispose()


def test_demo_turns_digital_day_notes_on_for_the_served_app(tmp_path: Path) -> None:
    app, _ = demo_app(tmp_path)
    config = Path(app.instance_path) / "config.py"
    assert "DAY_NOTES_DIGITAL = True" in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # the portal starts over it
    assert app.config["DAY_NOTES_DIGITAL"] is False  # the default; the demo's app started before
    served = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
                         "SECRET_KEY": "cli-secret-" + "x" * 20},
                        instance_path=app.instance_path)
    assert served.config["DAY_NOTES_DIGITAL"] is True
    with app.app_context():
        db.engine.dispose()
    with served.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("before, after", [
    ("DAY_NOTES_DIGITAL = False\n", "DAY_NOTES_DIGITAL = False\n"),  # the operator's choice stays
    ("REMINDER_DAYS = 20", "REMINDER_DAYS = 20\n\n# flask demo"),   # appended after their lines
])
def test_demo_keeps_an_existing_instance_config(tmp_path: Path, before: str, after: str) -> None:
    app = fresh_app(tmp_path)
    config = Path(app.instance_path) / "config.py"
    config.write_text(before)
    assert run(app, "init-db").exit_code == 0
    result = run(app, "demo")
    assert result.exit_code == 0, output(result)
    text = config.read_text()
    assert text.startswith(after)
    assert text.count("DAY_NOTES_DIGITAL") == 1
    with app.app_context():
        db.engine.dispose()


def test_demo_refuses_a_second_run_and_changes_nothing(tmp_path: Path) -> None:
    app, _ = demo_app(tmp_path)
    credentials = Path(app.instance_path) / "demo-credentials.txt"
    config = Path(app.instance_path) / "config.py"
    kept = credentials.read_text(), config.read_text()
    with app.app_context():
        counts = [db.session.scalar(select(func.count()).select_from(m))
                  for m in (User, Unit, Grant, LocalProtection, FictionalFile, DayNote, Submission)]
    again = run(app, "demo")
    assert again.exit_code != 0 and "finns redan" in output(again)
    assert (credentials.read_text(), config.read_text()) == kept
    with app.app_context():
        assert counts == [db.session.scalar(select(func.count()).select_from(m))
                          for m in (User, Unit, Grant, LocalProtection, FictionalFile, DayNote,
                                    Submission)]
        db.engine.dispose()


def test_demo_data_that_breaks_a_rule_is_refused_and_nothing_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo goes through the forms' rules: a note with a personnummer in it (R-NOTE-PNR)
    stops the demo, and its one transaction leaves no user, grant or file behind."""
    monkeypatch.setattr(cli, "DEMO_NOTES", [(1, "medarbetare", "Gunnel, 19121212-1212, mådde bra.")])
    app = fresh_app(tmp_path)
    assert run(app, "init-db").exit_code == 0
    result = run(app, "demo")
    assert result.exit_code != 0 and "R-NOTE-PNR" in output(result)
    assert not (Path(app.instance_path) / "demo-credentials.txt").exists()
    with app.app_context():
        for model in (User, Grant, FictionalFile, DayNote, Submission):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
        db.engine.dispose()


def test_the_demo_as_served_lets_each_flow_of_issue_13_be_tried(tmp_path: Path) -> None:
    """`make run` serves the demo's instance: closing the shared case (LVS sees both units),
    a person who leaves, the planner compiling the notes, the deviation waiting."""
    app, passwords = demo_app(tmp_path)
    with app.app_context():
        db.engine.dispose()
    served = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
                         "SECRET_KEY": "cli-secret-" + "x" * 20, "TESTING": True},
                        instance_path=app.instance_path)
    served.test_client_class = CsrfClient

    def client(username: str):  # type: ignore[no-untyped-def]
        c = served.test_client()
        assert login(c, username, passwords[username]).status_code == 303
        return c

    lvs = client("lvs").post("/cases/close", data={"case_number": DEMO_CASE, "event": "closed",
                                                   "preview": "y"})
    assert lvs.status_code == 200
    page = lvs.get_data(as_text=True)
    assert "Myndighet Centrum" in page and "Hemtjänst Hisingen" in page
    manager = client("hemtjanstchef")
    person = manager.get("/register/person?username=planerare")
    assert person.status_code == 200 and DEMO_CASE in person.get_data(as_text=True)
    assert DEMO_CASE in manager.get(f"/register?case={DEMO_CASE}").get_data(as_text=True)
    with served.app_context():
        file_id = db.session.scalar(select(FictionalFile.public_id))
    planner = client("planerare")
    start = planner.get("/").get_data(as_text=True)
    assert DEMO_FICTIONAL_NAME in start and "day-notes-purge" in start  # the six-week warning
    compile_page = planner.get(f"/day-notes/{file_id}/compile")
    assert compile_page.status_code == 200
    assert DEMO_NOTES[0][2] in compile_page.get_data(as_text=True)
    staff = client("medarbetare")
    assert staff.post(f"/day-notes/{file_id}/notes",
                      data={"text": "Allt väl vid lunch."}).status_code == 303  # digital: on
    with served.app_context():
        db.engine.dispose()


def test_the_demo_gives_every_role_something_to_try_at_once(tmp_path: Path) -> None:
    """Issue 14 item 13: one `flask demo` gives a user for every role of SPEC §2; staff with
    their unit manager and planner in one unit; a fictional file with notes there; one case that
    two units share; and something waiting in LVS's queue (an actualisation request, encrypted),
    which the social secretary sees among what she sent."""
    app, passwords = demo_app(tmp_path)
    with app.app_context():
        users = list(db.session.scalars(select(User)))
        assert set(ROLES) <= {role for u in users for role in u.roles}

        def units_of(role: str) -> set[int]:
            return {u.unit_id for u in users if role in u.roles}

        shared = units_of("staff") & units_of("unit_manager") & units_of("planner")
        assert shared, "no unit with staff, its unit manager and a planner"
        file = db.session.scalar(select(FictionalFile).where(FictionalFile.unit_id.in_(shared)))
        assert file is not None and file.fictional_name == DEMO_FICTIONAL_NAME
        assert db.session.scalar(select(func.count()).select_from(DayNote).where(
            DayNote.file_id == file.id)) == len(DEMO_NOTES)
        units = set(db.session.scalars(select(Grant.unit_name).where(
            Grant.case_number == DEMO_CASE, Grant.revoked_at.is_(None))))
        assert len(units) >= 2
        waiting = db.session.scalar(select(Submission).where(Submission.form == "actualisation"))
        assert waiting is not None and waiting.status == "submitted"
        assert waiting.data is None and waiting.data_enc is not None
        assert b"Tolvan" not in waiting.data_enc and b"19121212" not in waiting.data_enc
        assert waiting.submitted_by.username == "socialsekreterare"
        public_id = waiting.public_id
        db.engine.dispose()
    lvs = app.test_client()
    assert login(lvs, "lvs", passwords["lvs"]).status_code == 303
    assert [item["id"] for item in lvs.get("/lvs/queue.json").get_json()] == [public_id]
    secretary = app.test_client()
    assert login(secretary, "socialsekreterare", passwords["socialsekreterare"]).status_code == 303
    assert f"/submissions/{public_id}" in secretary.get("/").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
