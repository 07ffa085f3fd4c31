"""The command line of SPEC §6 (`flask --app portal …`), through Flask's CLI test runner."""
from __future__ import annotations

import stat
from pathlib import Path

import click
import pytest
from conftest import CsrfClient, login
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, Unit, User

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
        "users deactivate", "users unlock", "demo", "purge", "audit-verify", "backup",
        "rotate-keys", "keys status",
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
