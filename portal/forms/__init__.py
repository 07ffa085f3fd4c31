"""The registry of forms: each module describes one form of the routine (STYLE.md)."""
from __future__ import annotations

from . import access_order
from .base import FormSpec

FORMS: dict[str, FormSpec] = {spec.slug: spec for spec in (access_order.SPEC,)}
BY_KEY: dict[str, FormSpec] = {spec.key: spec for spec in FORMS.values()}
