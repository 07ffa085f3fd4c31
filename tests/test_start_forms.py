"""The start page lists exactly the forms a user may fill in: one rule, FormKind.may_submit (the
role, and the unit type where a form is limited to some, e.g. BoSam's contract message §6.1),
the same the form's own page applies."""
from __future__ import annotations

import re

import pytest
from conftest import USERS, html
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.forms import FORMS
from portal.models import Unit, User, UserRole


def listed(page: str) -> set[str]:
    return set(re.findall(r'href="/forms/([a-z-]+)"', page))


def allowed(app: Flask, username: str) -> set[str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return {slug for slug, kind in FORMS.items() if kind.may_submit(user)}


def add_bosam_manager(app: Flask, password_hash: str) -> None:
    with app.app_context():
        unit = Unit(name="BoSam", unit_type="bosam", city_district="Centrum")
        db.session.add(unit)
        db.session.flush()
        db.session.add(User(username="bosam_chef", full_name="Bo Samuelsson",
                            email="bosam_chef@goteborg.se", unit_id=unit.id,
                            password_hash=password_hash,
                            role_rows=[UserRole(role="unit_manager")]))
        db.session.commit()


@pytest.mark.parametrize("username", sorted(USERS))
def test_the_start_page_lists_the_forms_the_user_may_submit(app: Flask, as_user,
                                                            username: str) -> None:
    client = as_user(username)
    shown = listed(html(client.get("/")))
    assert shown == allowed(app, username)
    for slug in set(FORMS) - shown:  # what is not listed, the form's page refuses
        assert client.get(f"/forms/{slug}").status_code == 403, slug


def test_a_form_for_bosam_is_listed_for_a_bosam_manager_only(app: Flask, as_user,
                                                              password_hash: str) -> None:
    add_bosam_manager(app, password_hash)
    assert "fee-handler-contract" in listed(html(as_user("bosam_chef").get("/")))
    assert "fee-handler-contract" not in listed(html(as_user("manager").get("/")))
    assert listed(html(as_user("bosam_chef").get("/"))) == allowed(app, "bosam_chef")
