"""The confirmation page: the message exactly as it will be sent, before anything is stored."""
from __future__ import annotations

from conftest import order_form
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Submission


def count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Submission)) or 0


def test_preview_shows_the_message_and_stores_nothing(app, as_user):  # type: ignore[no-untyped-def]
    client = as_user("manager")
    resp = client.post("/forms/access-order", data={**order_form(), "preview": "1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Granska innan du skickar" in page
    assert "Ämne: Behörighetsbeställning ärende 0655588, Centrum" in page
    # Every value rides along hidden, so "Skicka" posts exactly what was shown.
    assert 'name="persons-0-username" value="anna01"' in page
    assert count(app) == 0


def test_confirming_stores_and_edit_goes_back_with_every_value(app, as_user):  # type: ignore[no-untyped-def]
    client = as_user("manager")
    back = client.post("/forms/access-order", data={**order_form(), "edit": "1"})
    assert back.status_code == 200 and 'value="anna01"' in back.get_data(as_text=True)
    assert count(app) == 0
    sent = client.post("/forms/access-order", data=order_form())
    assert sent.status_code == 303 and count(app) == 1


def test_an_invalid_preview_is_refused_like_a_submit(app, as_user):  # type: ignore[no-untyped-def]
    resp = as_user("manager").post(
        "/forms/access-order", data={**order_form(case_number="19121212-1212"), "preview": "1"})
    assert resp.status_code == 422
    assert "Granska innan du skickar" not in resp.get_data(as_text=True)
    assert count(app) == 0
