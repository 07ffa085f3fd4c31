"""The registry of forms: every ``StoredForm`` and ``RenderOnlyForm`` subclass defined in a module
(or package) of ``portal/forms/``, found when this package is imported. Adding a form is adding a
module and its templates (STYLE.md); nothing here lists them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType

from .base import FormKind, RenderOnlyForm, StoredForm

__all__ = ["BY_KEY", "FORMS", "FormKind", "RenderOnlyForm", "StoredForm", "discover", "kind_of"]


def kinds_in(module: ModuleType) -> list[FormKind]:
    """One instance of every form class a module (or a package's modules) defines."""
    own = module.__name__
    return [
        obj()
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, FormKind)
        and obj not in (FormKind, RenderOnlyForm, StoredForm)
        and "key" in vars(obj)
        and (obj.__module__ == own or obj.__module__.startswith(own + "."))
    ]


def discover(paths: Iterable[str], package: str = __name__) -> dict[str, FormKind]:
    """Import every module under ``paths`` (as ``package.<name>``) and collect its forms by key.
    Two forms with one key, or one slug, is a mistake caught at start."""
    found: dict[str, FormKind] = {}
    slugs: set[str] = set()
    for info in sorted(pkgutil.iter_modules(list(paths)), key=lambda m: m.name):
        if info.name == "base":
            continue
        for kind in kinds_in(importlib.import_module(f"{package}.{info.name}")):
            if kind.key in found or kind.slug in slugs:
                raise RuntimeError(f"two forms named {kind.key!r}")
            found[kind.key] = kind
            slugs.add(kind.slug)
    return dict(sorted(found.items(), key=lambda item: (item[1].position, item[1].title)))


BY_KEY: dict[str, FormKind] = discover(__path__)
"""Every form by its key (the ``form`` column of a submission)."""
FORMS: dict[str, FormKind] = {kind.slug: kind for kind in BY_KEY.values()}
"""Every form by its URL name."""


def kind_of(key: str) -> FormKind:
    """The form a submission was made with."""
    return BY_KEY[key]


def stored(key: str) -> StoredForm:
    """The stored form a submission was made with (only stored forms make submissions)."""
    kind = BY_KEY[key]
    if not isinstance(kind, StoredForm):
        raise TypeError(f"{key} is not a stored form")
    return kind


def register(kind: FormKind) -> None:
    """Add a form found elsewhere (a test's form)."""
    BY_KEY[kind.key] = kind
    FORMS[kind.slug] = kind


def unregister(kind: FormKind) -> None:
    BY_KEY.pop(kind.key, None)
    FORMS.pop(kind.slug, None)
