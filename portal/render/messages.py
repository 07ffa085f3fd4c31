"""Pre-formatted messages for Treserva's message function: distribution list, subject, body (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template

from ..forms.base import FormKind


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str

    def as_text(self) -> str:
        """SPEC §6: line 1 `Till: <list>`, line 2 `Ämne: <subject>`, a blank line, the body."""
        return f"Till: {self.to}\nÄmne: {self.subject}\n\n{self.body.strip()}\n"


def render_message(kind: FormKind, data: dict[str, Any], meta: dict[str, Any]) -> Message:
    """The form's message (templates/messages/<key>.txt) to its distribution list."""
    lists = current_app.config["DISTRIBUTION_LISTS"]
    body = render_template(kind.message_template, data=data, meta=meta)
    return Message(to=lists[kind.distribution_list], subject=kind.subject(data), body=body)
