"""Date and time fields whose every message names the field (issue 14 item 9): "Ange mottaget
datum som ÅÅÅÅ-MM-DD.", never a bare "Inte ett giltigt datum" that leaves the user to guess which
of the form's dates is meant. Dates are ISO ``YYYY-MM-DD`` and times ``HH:MM`` (SPEC §6).

Each field is given one message, a msgid (``N_``) that says which date and the format; it is shown
both for a date that cannot be read and, when the field is required, for a missing one."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from wtforms import DateField, TimeField
from wtforms.validators import Optional

from ..i18n import InputRequired, _l


def _chain(message: str, required: bool, validators: Any) -> list[Any]:
    first = InputRequired(_l(message)) if required else Optional()
    return [first, *(validators or ())]


def _blank(valuelist: list[Any]) -> bool:
    return not valuelist or not " ".join(str(v) for v in valuelist).strip()


class IsoDateField(DateField):
    """A date as ``YYYY-MM-DD`` (``<input type="date">``); ``message`` names it."""

    def __init__(
        self,
        label: Any = None,
        message: str = "",
        *,
        required: bool = False,
        validators: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("render_kw", {"type": "date"})
        super().__init__(
            label, _chain(message, required, validators), format="%Y-%m-%d", **kwargs
        )
        self.message = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        if _blank(valuelist):  # missing: the validators say so (required) or let it be
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(gettext(self.message)) from error


class IsoTimeField(TimeField):
    """A time of day as ``HH:MM`` (``<input type="time">``); ``message`` names it."""

    def __init__(
        self,
        label: Any = None,
        message: str = "",
        *,
        required: bool = False,
        validators: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("render_kw", {"type": "time"})
        super().__init__(label, _chain(message, required, validators), format="%H:%M", **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        if _blank(valuelist):
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(gettext(self.message)) from error
