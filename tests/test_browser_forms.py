"""Issue 14 item 9 in a real browser: a radio group is a named group of radios, not a bullet list;
the checklist's five dates can each be found by their own name; and "Ändra" on the checklist's
result goes back to the form with every answer in place. One page, one login."""
from __future__ import annotations

from typing import Any

from browser_support import browser, live_server, needs_browser, page, shot  # noqa: F401
from test_browser import axe_clean, login
from test_checklist import checklist_form

from portal.forms.checklist import FIELDS, INFO_ITEMS

pytestmark = needs_browser

FILL = """data => {
  for (const [name, value] of Object.entries(data)) {
    const inputs = document.querySelectorAll(`[name="${name}"]`);
    for (const input of inputs) {
      if (input.type === 'radio') { input.checked = input.value === value; }
      else if (input.type === 'checkbox') { input.checked = value === 'y'; }
      else { input.value = value; }
    }
  }
}"""


def test_radios_dates_and_change_in_the_browser(page: Any) -> None:
    login(page, "secretary")

    # The fee handler's choice: one group named by its legend, three radios, no list.
    page.goto("/forms/fee-handler")
    group = page.get_by_role("group", name="Meddelandet gäller", exact=True)
    assert group.count() == 1
    assert group.get_by_role("radio").count() == 3
    assert page.locator("#kind li, #kind ul").count() == 0
    lefts = [group.get_by_role("radio").nth(i).bounding_box()["x"] for i in range(3)]
    assert max(lefts) - min(lefts) < 1  # one under the other, no bullets
    axe_clean(page, "/forms/fee-handler")
    page.goto("/forms/trygghetsjouren")
    assert page.get_by_role("group", name="Meddelandet gäller", exact=True).get_by_role("radio").count() == 3

    # The checklist's dates: each found by its own name.
    page.goto("/forms/checklist")
    for item in INFO_ITEMS:
        label = str(FIELDS[f"{item}_date"].label)
        found = page.get_by_label(label, exact=True)
        assert found.count() == 1, label
        assert found.get_attribute("id") == f"{item}_date"
    assert page.get_by_label("Datum", exact=True).count() == 0

    # Fill it in, show it, then "Ändra": back at the form with every answer kept.
    data = checklist_form()
    page.evaluate(FILL, data)
    with page.expect_navigation():
        page.get_by_role("button", name="Visa checklistan").click()
    assert page.get_by_role("button", name="Ändra").count() == 1
    with page.expect_navigation():
        page.get_by_role("button", name="Ändra").click()
    assert page.get_by_role("button", name="Visa checklistan").count() == 1
    for name, value in data.items():
        first = page.locator(f'[name="{name}"]').first
        kind = first.get_attribute("type")
        if kind == "radio":
            assert page.locator(f'[name="{name}"][value="{value}"]').is_checked(), name
        elif kind == "checkbox":
            assert first.is_checked() == (value == "y"), name
        else:
            assert first.input_value() == value, name
    shot(page, "secretary-checklist-after-change")
