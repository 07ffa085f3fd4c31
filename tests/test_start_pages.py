"""Each role's start page says what waits for them."""
from __future__ import annotations

from datetime import timedelta

from conftest import order_form
from freezegun import freeze_time

from portal.clock import today


def test_lvs_start_page_counts_the_queue_and_names_the_oldest_age(app, as_user):  # type: ignore[no-untyped-def]
    day = today()
    with freeze_time(day - timedelta(days=4)):
        assert as_user("manager").post("/forms/access-order", data=order_form(
            valid_from=(day + timedelta(days=1)).isoformat(),
            valid_to=(day + timedelta(days=90)).isoformat())).status_code == 303
    assert as_user("manager").post("/forms/access-order", data=order_form()).status_code == 303
    page = as_user("lvs").get("/").get_data(as_text=True)
    assert "2 beställningar väntar i kön." in page  # a queue item is not an ärende (issue 14)
    assert "Den äldsta har väntat i 4 dagar." in page


def test_lvs_start_page_with_an_empty_queue(app, as_user):  # type: ignore[no-untyped-def]
    page = as_user("lvs").get("/").get_data(as_text=True)
    assert "Kön är tom." in page and "äldsta" not in page
