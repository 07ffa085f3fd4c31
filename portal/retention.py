"""Every purge rule in one place (SPEC §1.1: keep client data only while a step needs it).

Each rule is a function `(now) -> int` (how many it purged) registered in RULES. `run_all` applies
them in one transaction each and writes one audit event per rule with its count; `flask purge` and
the scheduler call it. Every rule is idempotent (it selects only what is still to purge), so two
instances running it at once purge nothing twice."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from . import audit
from .extensions import db
from .models import utcnow

Rule = Callable[[datetime], int]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def run_all(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts: dict[str, int] = {}
    for name, fn in RULES.items():
        try:
            counts[name] = fn(now)
            audit.record("purge", object_type="retention", object_id=name, detail=f"antal: {counts[name]}")
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return counts


# --- rules: each form's purge rule below, in the form's order (SPEC §3) -------------------------
