"""Kvittens av nycklar (a form made up for the tests): what a new stored form of the routine takes.

This module and the four templates beside it are all of it. tests/test_new_form.py puts the module
where portal.forms looks for forms and the templates where the portal looks for templates (as if
they had been added to portal/forms/ and templates/), and walks the whole path: fill in, refuse,
store encrypted, queue for LVS, read, message, PDF, JSON, mark done, purge."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from portal import rules
from portal.forms.base import CheckContext, DoneInput, StoredForm
from portal.i18n import N_, InputRequired
from portal.models import Submission, User


class KeyReceiptForm(FlaskForm):
    case_number = StringField("Ärendenummer", validators=[InputRequired("Ange ärendenumret."),
                                                          Length(max=32)])
    fictional_name = StringField("Fiktivt namn", validators=[Length(max=120)])
    handed_over = DateField("Lämnade den", validators=[Optional()], format="%Y-%m-%d")


class KeyReceipt(StoredForm):
    """Kvittens av nycklar: a unit manager tells LVS that keys were handed over."""

    key = "key_receipt"
    title = "Kvittens av nycklar"
    form_class = KeyReceiptForm
    submit_roles = frozenset({"unit_manager"})
    process_roles = frozenset({"lvs"})
    storage = "encrypted"
    distribution_list = "lvs"
    has_blank = True
    treserva_step = N_(
        "Rutinen kräver att kvittensen också skickas i Treserva: kopiera meddelandet och skicka "
        "det till sändlistan %(to)s."
    )
    sent_flash = N_("Kvittensen är skickad till LVS.")

    def prefill(self, form: KeyReceiptForm, user: User, day: date) -> None:
        form.handed_over.data = day

    def to_data(self, form: KeyReceiptForm, user: User) -> dict[str, Any]:
        day = form.handed_over.data
        return {
            "case_number": (form.case_number.data or "").strip(),
            "fictional_name": (form.fictional_name.data or "").strip(),
            "handed_over": day.isoformat() if day else None,
            "unit": user.unit.name,
        }

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        out = rules.check_case_number(
            data["case_number"], "case_number", ctx.config["CASE_NUMBER_PATTERN"]
        )
        if data["handed_over"]:
            out += rules.check_date_not_future(
                date.fromisoformat(data["handed_over"]), ctx.today, "handed_over"
            )
        return out

    def subject(self, data: dict[str, Any]) -> str:
        return f"Kvittens av nycklar, ärende {data['case_number']}"

    def on_done(self, sub: Submission, done: DoneInput) -> None:
        self.purge(sub, "purged")
