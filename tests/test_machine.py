"""The shape of the form machine (issue 12, STYLE.md), checked on the code itself: form modules are
handed what they use, services speak no HTTP, and a request commits once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from portal import forms
from portal.forms.base import FormKind, RenderOnlyForm, StoredForm

PORTAL = Path(__file__).resolve().parent.parent / "portal"
TEMPLATES = PORTAL.parent / "templates"
PDF_TEMPLATES = PORTAL.parent / "pdf_templates"


def modules(*parts: str) -> list[Path]:
    return sorted(p for part in parts for p in (PORTAL / part).glob("**/*.py") if p.is_file())


def imported_names(path: Path) -> set[str]:
    """Every name a module imports, as `module.name` (and `module` for a plain import)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def calls(path: Path, attribute: str) -> list[int]:
    """Line numbers of calls `….attribute(…)` or `attribute(…)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name == attribute:
                found.append(node.lineno)
    return found


@pytest.mark.parametrize("path", modules("forms"), ids=lambda p: p.name)
def test_no_form_module_reads_the_request_or_the_logged_in_user(path: Path) -> None:
    hidden = {"flask.request", "flask.session", "flask.g", "flask.has_request_context",
              "flask_login.current_user"}
    assert not imported_names(path) & hidden


@pytest.mark.parametrize("path", [p for p in modules(".") if "views" not in p.parts],
                         ids=lambda p: str(p.relative_to(PORTAL)))
def test_nothing_below_the_views_answers_with_http(path: Path) -> None:
    """Services and forms raise domain exceptions; only views (and the auth decorators, which
    are view wrappers) turn them into 403/404/409."""
    if path.name in {"auth.py", "web.py"}:
        return
    assert calls(path, "abort") == []


@pytest.mark.parametrize("path", modules("forms", "views") + [
    PORTAL / name for name in ("submissions.py", "register.py", "day_notes.py", "audit.py",
                               "crypto.py", "auth.py", "web.py", "retention.py")],
    ids=lambda p: str(p.relative_to(PORTAL)))
def test_services_hooks_and_views_never_commit(path: Path) -> None:
    """The request commits once (portal/transaction.py); a command or job commits through
    `transaction()`."""
    assert calls(path, "commit") == []


def test_every_form_has_its_templates_by_convention() -> None:
    for kind in forms.BY_KEY.values():
        assert (TEMPLATES / kind.page_template).is_file(), kind.key
        if kind.has_message:
            assert (TEMPLATES / kind.message_template).is_file(), kind.key
        else:  # only a render-only form may be printed and nothing else (issue 16)
            assert isinstance(kind, RenderOnlyForm), kind.key
        assert (PDF_TEMPLATES / kind.pdf_template).is_file(), kind.key
        if isinstance(kind, StoredForm):
            assert (TEMPLATES / "submissions" / f"_{kind.key}.html").is_file(), kind.key


def test_the_registry_holds_every_form_class_once() -> None:
    kinds = list(forms.BY_KEY.values())
    assert len({k.key for k in kinds}) == len({k.slug for k in kinds}) == len(kinds) >= 7
    assert all(isinstance(k, StoredForm | RenderOnlyForm) for k in kinds)
    assert {k.slug: k for k in kinds} == forms.FORMS
    assert forms.discover(forms.__path__).keys() == forms.BY_KEY.keys()


def test_two_forms_with_one_key_are_refused_at_start(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "twin_of_deviation.py").write_text(
        "from portal.forms.deviation import Deviation\n\n"
        "class Twin(Deviation):\n    key = 'deviation'\n", encoding="utf-8")
    monkeypatch.setattr(forms, "__path__", [*forms.__path__, str(tmp_path)])
    with pytest.raises(RuntimeError, match="two forms named 'deviation'"):
        forms.discover(forms.__path__)
    import sys

    sys.modules.pop("portal.forms.twin_of_deviation", None)


def test_a_form_kind_says_who_may_submit_it(app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        deviation, contract = forms.BY_KEY["deviation"], forms.BY_KEY["fee_handler_contract"]
        assert deviation.may_submit(users["staff"]) and not deviation.may_submit(users["lvs"])
        # A unit manager, but not of a BoSam unit (§6.1): the unit type decides.
        assert users["manager"].has_role("unit_manager")
        assert not contract.may_submit(users["manager"])
    assert isinstance(contract, FormKind) and contract.unit_types == frozenset({"bosam"})


def test_the_readme_traces_an_access_order_from_post_to_pdf_in_at_most_eight_modules() -> None:
    import re

    readme = (PORTAL.parent / "README.md").read_text(encoding="utf-8")
    trace = readme.split("An access order from POST to PDF", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(portal/[\w/]+\.py)`", trace)
    assert 0 < len(set(named)) <= 8
    assert all((PORTAL.parent / path).is_file() for path in named)
    for path, names in re.findall(r"`(portal/[\w/]+\.py)` ((?:`\w+`(?:,? (?:and )?)?)+)", trace):
        source = (PORTAL.parent / path).read_text(encoding="utf-8")
        for name in re.findall(r"`(\w+)`", names):
            assert re.search(rf"\b(def|class) {name}\b", source), (path, name)
