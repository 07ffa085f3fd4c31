"""The configuration and the language say what the portal does (issue 12, item 6): every setting
in portal/config.py is read, the ones a municipality changes change the behaviour, an unknown key in
instance/config.py is reported at start, and every rule message reaches the page through gettext
with its parameters (the sv catalogue has them all)."""

from __future__ import annotations

import importlib
import io
import logging
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import flask_babel
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from conftest import order_form
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from portal import ROOT, create_app, rules
from portal.config import ENV_KEYS, Defaults
from portal.forms.access_order import AccessOrderForm
from portal.forms.actualisation import ActualisationForm
from portal.rules import AccessOrderInput, PersonRow, Phrase, Violation

SETTINGS = sorted(k for k in vars(Defaults) if k.isupper())
# Extensions that read their own settings from app.config.
EXTENSIONS = ("flask_sqlalchemy", "flask_wtf", "flask_babel", "flask_limiter", "flask_login")
# Settings nothing in portal/, templates/ or pdf_templates/ reads, with the reason. Empty: keep it so.
NOT_READ: dict[str, str] = {}
# Environment variables that are no key of Defaults, with the reason.
ENV_ONLY = {
    "SECRET_KEY": "Flask's own setting; made once in instance/ when unset (config._secret_key)",
    "DATABASE_URL": "becomes SQLALCHEMY_DATABASE_URI (config.load_config)",
}


# --- every key is read ---------------------------------------------------------------------------


def _portal_sources() -> dict[Path, str]:
    """The code and templates that may read a setting; config.py itself only defines them."""
    out = {}
    for folder in ("portal", "templates", "pdf_templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".html", ".txt") and path != ROOT / "portal" / "config.py":
                out[path] = path.read_text(encoding="utf-8")
    return out


def _extension_sources() -> str:
    texts = []
    for name in EXTENSIONS:
        folder = Path(importlib.import_module(name).__file__ or "").parent
        texts += [p.read_text(encoding="utf-8") for p in folder.rglob("*.py")]
    return "\n".join(texts)


def _reads(text: str, key: str) -> bool:
    """`config["KEY"]`, `.get("KEY")`, `cfg['KEY']` in Python, `config.KEY` in a template."""
    return re.search(rf"""["']{key}["']|\bconfig\.{key}\b""", text) is not None


def test_every_setting_in_defaults_is_read_somewhere() -> None:
    sources = _portal_sources()
    extensions = _extension_sources()
    unread = [
        key
        for key in SETTINGS
        if key not in NOT_READ
        and not any(_reads(text, key) for text in sources.values())
        and key not in Flask.default_config  # Flask reads its own (SESSION_COOKIE_*, ...)
        and not re.search(rf"""["']{key}["']""", extensions)  # WTF_CSRF_TIME_LIMIT, ...
    ]
    assert unread == [], f"settings nothing reads: {unread}"
    assert set(NOT_READ) <= set(SETTINGS), "an allowlisted key is no setting any more"


def test_every_environment_variable_is_a_setting() -> None:
    assert [k for k in ENV_KEYS if k not in SETTINGS and k not in ENV_ONLY] == []


# --- the settings a municipality changes change the behaviour ----------------------------------


def _post(client: FlaskClient, url: str, data: dict[str, str]) -> Any:
    """Post as the browser does: with the page's CSRF token when the app asks for one."""
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return client.post(url, data={**data, **({"csrf_token": token.group(1)} if token else {})})


def _rows(page: str) -> int:
    return len(set(re.findall(r'name="persons-(\d+)-full_name"', page)))


def _person(i: int, username: str) -> dict[str, str]:
    return {
        f"persons-{i}-action": "add",
        f"persons-{i}-full_name": f"Person {username.capitalize()}",
        f"persons-{i}-username": username,
        f"persons-{i}-email": f"{username}@goteborg.se",
        f"persons-{i}-position": "socialsekreterare",
    }


def test_max_person_rows_is_the_forms_limit_on_rows(app: Flask) -> None:
    """Issue 12: the forms had max_entries=10 of their own while the page said MAX_PERSON_ROWS."""
    app.config["MAX_PERSON_ROWS"] = 3
    with app.test_request_context("/"):
        assert AccessOrderForm().persons.max_entries == 3
        assert ActualisationForm().proposed_persons.max_entries == 3


def test_max_person_rows_stops_the_add_row_button(app: Flask, as_user) -> None:
    app.config["MAX_PERSON_ROWS"] = 3
    manager = as_user("manager")
    data = order_form(**_person(1, "bengt02"), **_person(2, "cecilia03"))
    page = _post(manager, "/forms/access-order", {**data, "add_person": "1"}).get_data(as_text=True)
    assert _rows(page) == 3  # no fourth row: the form's limit is the config's
    assert 'name="add_person"' not in page
    assert "Högst 3 rader" in page

    app.config["MAX_PERSON_ROWS"] = 4
    page = _post(manager, "/forms/access-order", {**data, "add_person": "1"}).get_data(as_text=True)
    assert _rows(page) == 4
    assert "Högst 4 rader" in page


def _two_person_order(justification: str) -> dict[str, str]:
    return order_form(**_person(1, "bengt02"), justification=justification)


def test_justification_min_length_is_the_rules_minimum(app: Flask, as_user) -> None:
    app.config["PERSON_LIMITS"] = {**app.config["PERSON_LIMITS"], "myndighet": 1}
    manager = as_user("manager")
    thirty = "Ansvarig handläggare är borta."
    assert len(thirty) == 30
    assert _post(manager, "/forms/access-order", _two_person_order(thirty)).status_code == 303

    app.config["JUSTIFICATION_MIN_LENGTH"] = 40
    page = manager.get("/forms/access-order").get_data(as_text=True)
    assert "(minst 40 tecken)" in page  # the field's hint says what the rule asks
    resp = _post(manager, "/forms/access-order", _two_person_order(thirty + " Igen"))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "minst 40 tecken" in page and "högst 1 gäller" in page
    long = thirty + " Hela hösten."
    assert len(long) >= 40
    assert _post(manager, "/forms/access-order", _two_person_order(long)).status_code == 303


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_unit_type_labels_come_from_the_config(app: Flask, as_user) -> None:
    """Issue 12: the access order's PDF wrote its own labels ("Vård- och omsorgsboende, ..." where
    the page said the config's), and the blank one five fixed boxes."""
    app.config["UNIT_TYPES"] = {**app.config["UNIT_TYPES"], "myndighet": "Myndighetsenhet Test"}
    manager = as_user("manager")
    resp = _post(manager, "/forms/access-order", order_form())
    assert resp.status_code == 303
    public_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert "Myndighetsenhet Test" in manager.get(f"/submissions/{public_id}").get_data(as_text=True)
    assert "Myndighetsenhet Test" in _pdf_text(manager.get(f"/submissions/{public_id}/pdf").data)
    assert "Myndighetsenhet Test" in manager.get(f"/submissions/{public_id}/message").get_data(
        as_text=True
    )


def test_blank_paper_forms_follow_the_config(app: Flask) -> None:
    """Issue 12: the blank access order had five fixed unit-type boxes and ten rows, the blank
    actualisation "högst tre på myndighet" and three rows, whatever the config said."""
    from portal.render.pdf import blank_html

    app.config["UNIT_TYPES"] = {"myndighet": "Myndighet", "nytt": "Ny enhetstyp"}
    app.config["MAX_PERSON_ROWS"] = 4
    app.config["PERSON_LIMITS"] = {**app.config["PERSON_LIMITS"], "myndighet": 2}
    with app.app_context():
        order, actualisation = (blank_html(t) for t in ("access_order.html", "actualisation.html"))
    assert "Ny enhetstyp" in order and "BoSam" not in order
    assert re.findall(r'<td class="num">(\d+)</td>', order) == ["1", "2", "3", "4"]
    assert "högst 2 på myndighet" in actualisation
    assert re.findall(r'<td class="num">(\d+)</td>', actualisation) == ["1", "2"]


# --- unknown keys in instance/config.py warn ----------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_an_unknown_key_in_instance_config_warns_and_the_portal_starts(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    (instance / "config.py").write_text(
        'PERSON_LIMIT = {"myndighet": 2}\n'  # the typo: PERSON_LIMITS stays the default
        'PERSON_LIMITS = {"myndighet": 5}\n'
        "WTF_CSRF_SSL_STRICT = False\n"  # an extension's setting
        "TEMPLATES_AUTO_RELOAD = False\n"  # Flask's own
        "helper = 1\n"
    )
    (instance / "config.py").chmod(0o600)
    records = _Records()
    logger = logging.getLogger("portal.config")
    logger.addHandler(records)
    try:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "t" * 32},
            instance_path=str(instance),
        )
    finally:
        logger.removeHandler(records)
    assert app.config["PERSON_LIMITS"] == {"myndighet": 5}
    [warning] = records.messages
    assert "PERSON_LIMIT," in warning and "did you mean PERSON_LIMITS?" in warning


# --- rule messages through gettext --------------------------------------------------------------

TODAY = date(2027, 1, 15)


def _sample_violations() -> list[Violation]:
    """Every message of rules.py, from inputs that break each rule."""
    bad_rows = [
        PersonRow("add", "", "", "x", ""),
        PersonRow("add", "A B", "ab", "ab@x.se", "avgiftshandläggare"),
        PersonRow("remove", "A B", "ab", "ab@goteborg.se", ""),
        PersonRow("add", "C D", "cd", "cd@goteborg.se", "socialsekreterare"),
        PersonRow("add", "C D", "cd", "cd@goteborg.se", "socialsekreterare"),
        PersonRow("nothing", "E F", "éf", "", ""),
    ]
    order = AccessOrderInput(
        "19121212-1212",
        "Anna",
        "avgift",
        "",
        bad_rows,
        TODAY - timedelta(days=1),
        TODAY,
        True,
        TODAY + timedelta(days=200),
        "",
        "",
    )
    kw: dict[str, Any] = {
        "today": TODAY,
        "active_usernames": ["x", "y"],
        "person_limit": 1,
        "allowed_domains": ["goteborg.se", "educ.goteborg.se"],
        "case_number_pattern": r"\d{7}",
        "orderer_is_myndighet_manager": False,
        "fee_handler_usernames": ["cd"],
    }
    out = rules.check_access_order(order, **kw)
    out += rules.check_access_order(AccessOrderInput(**{**vars(order), "persons": []}), **kw)
    out += rules.check_access_order(
        AccessOrderInput(
            **{
                **vars(order),
                "case_number": "",
                "valid_from": None,
                "persons": [PersonRow("add", "G H", "gh", "gh@goteborg.se", "socialsekreterare")],
            }
        ),
        **{**kw, "pending_additions": ["z"], "allowed_domains": []},
    )
    out += rules.check_period(TODAY, TODAY + timedelta(days=400), TODAY)
    out += rules.check_period(TODAY, None, TODAY)
    out += rules.check_local_protection(True, None, "", TODAY, "myndighet", True)
    out += rules.check_local_protection(True, TODAY, "", TODAY, "myndighet", True)
    out += rules.check_subject("Ärende 0655588 Anna", "s", ["Anna"])
    out += rules.check_subject("Ärende 19121212-1212", "s")
    out += rules.check_free_text("19121212-1212 \u202e", "t")
    out += rules.check_note_text("19121212-1212", "t")
    out += rules.check_personnummer("", "p") + rules.check_personnummer("121212-1213", "p")
    out += rules.check_email_domain("", ["goteborg.se"], "e")
    out += rules.check_email_domain("a@x.se", [], "e")
    out += rules.check_email_domain("x", [], "e")
    out += rules.check_date_not_future(TODAY + timedelta(days=1), TODAY, "d")
    out += rules.check_reporter("anmälan", "", "")
    return out


def _msgids(item: Violation | Phrase) -> set[str]:
    nested = [p for p in item.params.values() if isinstance(p, Phrase)]
    return {item.msgid}.union(*(_msgids(p) for p in nested))


def test_every_rule_message_is_marked_for_extraction_and_in_the_catalogue() -> None:
    extracted = {m[1] for m in extract_from_file("python", str(ROOT / "portal" / "rules.py"))}
    produced = set().union(*(_msgids(v) for v in _sample_violations()))
    assert len(produced) >= 35
    assert produced <= extracted, produced - extracted  # no message built outside N_()
    with (ROOT / "portal" / "translations" / "sv" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = {m.id: m.string for m in read_po(f) if m.id}
    missing = {m for m in extracted if isinstance(m, str) and catalogue.get(m) != m}
    assert not missing, missing  # msgstr = msgid: the source language is Swedish


def test_a_violation_is_rendered_through_the_translation_it_is_given() -> None:
    [v] = rules.check_email_domain("a@x.se", ["a.se", "b.se", "c.se"], "e")
    assert (
        v.message == str(v) == "E-postadressen måste sluta på @a.se eller @b.se eller @c.se "
        "(stadens adress)."
    )
    english = {
        v.msgid: "The address must end in %(domains)s.",
        "%(first)s eller %(rest)s": "%(first)s or %(rest)s",
    }

    def translate(msgid: str, **params: Any) -> str:
        return english.get(msgid, msgid) % params if params else english.get(msgid, msgid)

    assert v.render(translate) == "The address must end in @a.se or @b.se or @c.se."


def _translations(mapping: dict[str, str]) -> Translations:
    catalog = Catalog(locale="sv")
    for msgid, msgstr in mapping.items():
        catalog.add(msgid, msgstr)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def test_a_rule_message_reaches_the_page_translated_with_its_parameters(
    app: Flask, as_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: rule messages were plain Swedish, never looked up in a catalogue."""
    app.config["PERSON_LIMITS"] = {**app.config["PERSON_LIMITS"], "myndighet": 1}
    [limit] = rules.check_person_limit([], ["a", "b"], [], 1, "")
    catalogue = _translations({limit.msgid: "TRANSLATED %(count)s > %(limit)s, %(needed)s chars"})
    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: catalogue)
    resp = _post(as_user("manager"), "/forms/access-order", _two_person_order(""))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "TRANSLATED 2 &gt; 1, 20 chars" in page
    assert "Efter beställningen" not in page


def test_loading_grants_for_removal_fills_at_most_max_person_rows(app: Flask, as_user) -> None:
    manager, lvs = as_user("manager"), as_user("lvs")
    resp = _post(manager, "/forms/access-order", order_form(**_person(1, "bengt02")))
    assert resp.status_code == 303
    public_id = resp.headers["Location"].rsplit("/", 1)[1]
    done = lvs.post(f"/lvs/submissions/{public_id}/done", data={"reply": "Klart.", "version": "1"})
    assert done.status_code == 303
    app.config["MAX_PERSON_ROWS"] = 1
    page = _post(manager, "/forms/access-order", {"case_number": "0655588", "load_grants": "1"})
    text = page.get_data(as_text=True)
    assert _rows(text) == 1
    assert "Ärendet har 2 aktiva behörigheter i din enhet; de första 1 är ifyllda." in text
