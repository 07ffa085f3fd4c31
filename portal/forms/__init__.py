"""The registry of forms: each module describes one form of the routine (STYLE.md)."""

from __future__ import annotations

from . import access_order, actualisation, checklist, deviation
from . import messages as render_only_messages  # §3.6: render-only messages
from .base import FormSpec

FORMS: dict[str, FormSpec] = {
    spec.slug: spec
    for spec in (access_order.SPEC, actualisation.SPEC, checklist.SPEC, deviation.SPEC)
}
FORMS.update({spec.slug: spec for spec in render_only_messages.SPECS})
BY_KEY: dict[str, FormSpec] = {spec.key: spec for spec in FORMS.values()}
