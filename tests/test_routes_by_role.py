"""Who may reach what (SPEC §2 deny by default, §6 HTTP contract): one table, every route by every
role. Anonymous users are sent to /login, a role that may not gets 403, and a submission that is not
yours to see is 404 — as if it did not exist."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from conftest import PASSWORD, USERS, _seed, _truncate_pg, login
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app, submissions
from portal.extensions import db
from portal.forms import FORMS
from portal.forms.base import today
from portal.models import Submission, User

LOGIN = "login"  # 302 to /login

ROLES = ("anonymous", "staff", "secretary", "manager", "other_manager", "lvs", "admin")

# method, path ({id}: an access order submitted by `manager`, Myndighet Centrum), then one
# expected status per role in the order of ROLES.
TABLE: list[tuple[str, str, tuple[Any, ...]]] = [
    # route                              anon   staff secr  mgr  other lvs  admin
    ("GET", "/",                         (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "/forms/access-order",       (LOGIN, 403, 403, 200, 200, 403, 403)),
    ("GET", "/submissions/{id}",         (LOGIN, 404, 404, 200, 404, 200, 404)),
    ("GET", "/submissions/{id}/pdf",     (LOGIN, 404, 404, 200, 404, 200, 404)),
    ("GET", "/submissions/{id}/message", (LOGIN, 404, 404, 200, 404, 200, 404)),
    ("GET", "/submissions/{id}.json",    (LOGIN, 404, 404, 200, 404, 200, 404)),
    ("GET", "/lvs/queue",                (LOGIN, 403, 403, 403, 403, 200, 403)),
    ("GET", "/lvs/queue.json",           (LOGIN, 403, 403, 403, 403, 200, 403)),
    ("POST", "/lvs/submissions/{id}/done", (LOGIN, 403, 403, 403, 403, 303, 403)),
    ("GET", "/register",                 (LOGIN, 403, 403, 200, 200, 200, 403)),
    ("GET", "/audit",                    (LOGIN, 403, 403, 200, 200, 403, 200)),
    ("GET", "/blank/access-order.pdf",   (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "/healthz",                  (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/login",                    (200, 302, 302, 302, 302, 302, 302)),
]

CASES = [
    pytest.param(method, path, role, expected[i], id=f"{method} {path} as {role}")
    for method, path, expected in TABLE
    for i, role in enumerate(ROLES)
]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """A cheap argon2 hash for this module: the real login path, fewer CPU seconds."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


def order_by_manager(app: Flask) -> str:
    """An access order submitted by `manager` (Myndighet Centrum), through the submission service."""
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
        return submissions.create(FORMS["access-order"], data, manager).public_id


class Portal:
    """One app for the whole table: the routes only read, except LVS marking the order done once
    (its row comes after every row that reads the order, and reading a done order is allowed
    to the same roles). Built like conftest's `app`, once, with one logged-in client per role."""

    def __init__(self, app: Flask, public_id: str) -> None:
        self.app, self.public_id = app, public_id
        self.clients: dict[str, FlaskClient] = {}

    def client(self, role: str) -> FlaskClient:
        if role == "anonymous":
            return self.app.test_client()
        if role not in self.clients:
            c = self.app.test_client()
            assert login(c, role).status_code == 303
            self.clients[role] = c
        return self.clients[role]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path | None,
           migrated_pg: str | None, password_hash: str) -> Iterator[Portal]:
    tmp = tmp_path_factory.mktemp("routes")
    if migrated_pg:
        uri = migrated_pg
    else:
        assert migrated_sqlite is not None
        shutil.copy(migrated_sqlite, tmp / "portal.db")
        uri = f"sqlite:///{tmp / 'portal.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "test-secret-" + "x" * 20,
                      "WTF_CSRF_ENABLED": False, "TESTING": True},
                     instance_path=str(tmp / "instance"))
    with app.app_context():
        if migrated_pg:
            _truncate_pg()
        _seed(password_hash)
    yield Portal(app, order_by_manager(app))
    with app.app_context():
        db.session.remove()
        if migrated_pg:
            _truncate_pg()
        db.engine.dispose()


def test_the_table_names_every_role_of_the_fixtures() -> None:
    assert set(ROLES) - {"anonymous"} <= set(USERS)
    assert all(len(expected) == len(ROLES) for _, _, expected in TABLE)


@pytest.mark.parametrize("method, path, role, expected", CASES)
def test_route_by_role(portal: Portal, method: str, path: str, role: str, expected: Any) -> None:
    client = portal.client(role)
    url = path.format(id=portal.public_id)
    data = {"reply": "", "version": "1"} if method == "POST" else None
    resp = client.open(url, method=method, data=data)
    if expected == LOGIN:
        assert resp.status_code == 302, resp.status
        assert resp.headers["Location"].split("?")[0].endswith("/login")
    else:
        assert resp.status_code == expected, resp.status
        if expected == 302:  # a logged-in user asking for /login goes to the start page
            assert resp.headers["Location"].split("?")[0] in ("/", "http://localhost/")


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
