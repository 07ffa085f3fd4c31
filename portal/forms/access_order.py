"""Behörighetsbeställning (§2.2): a unit manager orders access to a protected case for named staff.

Holds no client data (case number, staff, period), so it is stored plain and kept as the order behind
each row of the access register."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from .. import rules
from ..extensions import db
from ..i18n import N_, InputRequired, _l
from ..models import Grant, LocalProtection, Submission, Unit, User, utcnow
from .base import FormSpec, edit_rows

DATE_MSG = N_("Ange datumet som ÅÅÅÅ-MM-DD.")
ACTIONS = [("add", "Lägg till"), ("remove", "Ta bort")]


class PersonForm(Form):
    """One person row: add or remove one member of staff."""

    action = SelectField(_l("Åtgärd"), choices=ACTIONS, default="add")
    full_name = StringField(_l("Fullständigt namn"), validators=[Length(max=120)])
    username = StringField(_l("Användarnamn (staden-konto)"), validators=[Length(max=64)])
    email = StringField("E-postadress", validators=[Length(max=254)])
    position = StringField("Befattning", validators=[Length(max=64)])


class AccessOrderForm(FlaskForm):
    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    city_district = SelectField(_l("Stadsområde"), choices=[])
    unit_type = SelectField("Enhetstyp", choices=[])
    unit_name = StringField(
        "Enhet", validators=[InputRequired(_l("Ange den beställande enheten.")), Length(max=120)]
    )
    persons = FieldList(FormField(PersonForm), min_entries=1, max_entries=10)
    valid_from = DateField(_l("Giltig från"), validators=[Optional()], format="%Y-%m-%d")
    valid_to = DateField(_l("Giltig till och med"), validators=[Optional()], format="%Y-%m-%d")
    local_protection = BooleanField(_l("Lokalt skydd"))
    local_protection_until = DateField(
        _l("Lokalt skydd till och med"), validators=[Optional()], format="%Y-%m-%d"
    )
    local_protection_reason = TextAreaField(
        _l("Orsak till lokalt skydd"), validators=[Length(max=1000)]
    )
    justification = TextAreaField(
        _l("Motivering om fler personer än gränsen"), validators=[Length(max=1000)]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = current_app.config
        self.city_district.choices = [(d, d) for d in cfg["CITY_DISTRICTS"]]
        self.unit_type.choices = list(cfg["UNIT_TYPES"].items())
        for f in (self.valid_from, self.valid_to, self.local_protection_until):
            f.validators[0].message = _(DATE_MSG)  # type: ignore[attr-defined]
        for f in (self.valid_from, self.valid_to, self.local_protection_until):
            f.render_kw = {"type": "date"}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def to_data(form: AccessOrderForm) -> dict[str, Any]:
    persons = []
    for entry in form.persons.entries:
        row = {
            k: (entry.form[k].data or "").strip()
            for k in ("full_name", "username", "email", "position")
        }
        if not any(row.values()):
            continue  # a blank row the user added and left empty
        persons.append({"action": entry.form.action.data or "add", **row})
    return {
        "case_number": (form.case_number.data or "").strip(),
        "city_district": form.city_district.data,
        "unit_type": form.unit_type.data,
        "unit_name": (form.unit_name.data or "").strip(),
        "persons": persons,
        "valid_from": _iso(form.valid_from.data),
        "valid_to": _iso(form.valid_to.data),
        "local_protection": bool(form.local_protection.data),
        "local_protection_until": _iso(form.local_protection_until.data),
        "local_protection_reason": (form.local_protection_reason.data or "").strip(),
        "justification": (form.justification.data or "").strip(),
    }


def _input(data: dict[str, Any]) -> rules.AccessOrderInput:
    return rules.AccessOrderInput(
        case_number=data["case_number"],
        city_district=data["city_district"] or "",
        unit_type=data["unit_type"] or "",
        unit_name=data["unit_name"],
        persons=[rules.PersonRow(**p) for p in data["persons"]],
        valid_from=_date(data["valid_from"]),
        valid_to=_date(data["valid_to"]),
        local_protection=data["local_protection"],
        local_protection_until=_date(data["local_protection_until"]),
        local_protection_reason=data["local_protection_reason"],
        justification=data["justification"],
    )


def active_usernames(case_number: str, unit_id: int, day: date) -> list[str]:
    """Who the access register says has access to this case for the ordering unit today.

    Grants belong to the unit that ordered them (its id, not the typed unit name, so that
    spelling and letter case cannot split one unit's count)."""
    return list(
        db.session.scalars(
            select(Grant.username).where(
                Grant.case_number == case_number,
                Grant.unit_id == unit_id,
                Grant.revoked_at.is_(None),
                Grant.valid_from <= day,
                Grant.valid_to >= day,
            )
        )
    )


def _fee_handler_usernames() -> list[str]:
    return list(
        db.session.scalars(select(User.username).join(Unit).where(Unit.unit_type == "avgift"))
    )


def check(data: dict[str, Any], user: User, day: date) -> list[rules.Violation]:
    cfg = current_app.config
    return rules.check_access_order(
        _input(data),
        today=day,
        active_usernames=active_usernames(data["case_number"], user.unit_id, day),
        person_limit=cfg["PERSON_LIMITS"].get(data["unit_type"], 0),
        allowed_domains=cfg["ALLOWED_EMAIL_DOMAINS"],
        case_number_pattern=cfg["CASE_NUMBER_PATTERN"],
        orderer_is_myndighet_manager=(
            user.unit.unit_type == "myndighet" and user.has_role("unit_manager")
        ),
        fee_handler_usernames=_fee_handler_usernames(),
    )


def flagged(data: dict[str, Any], user: User, day: date) -> bool:
    """Over the unit type's person limit (with a justification): LVS sees it flagged."""
    adds = [p["username"] for p in data["persons"] if p["action"] == "add"]
    removes = [p["username"] for p in data["persons"] if p["action"] == "remove"]
    if not adds:
        return False  # an order that only removes people can only lower the count
    return rules.exceeds_person_limit(
        active_usernames(data["case_number"], user.unit_id, day),
        adds,
        removes,
        current_app.config["PERSON_LIMITS"].get(data["unit_type"], 0),
    )


def subject(data: dict[str, Any]) -> str:
    return rules.access_order_subject(data["case_number"], data["city_district"])


def prefill(form: AccessOrderForm, user: User) -> None:
    form.unit_name.data = user.unit.name
    form.unit_type.data = user.unit.unit_type
    form.city_district.data = user.unit.city_district


NO_GRANTS_MSG = N_("Inga aktiva behörigheter för ärendet i din enhet.")


def grants_to_remove(case_number: str, unit_id: int, day: date) -> list[Grant]:
    """Every grant of the case for the unit that is not revoked and not yet over: those that still
    run and those that start later. When a case closes, all of them go (§5.13, §7.7, §8.10)."""
    grants = db.session.scalars(
        select(Grant)
        .where(
            Grant.case_number == case_number,
            Grant.unit_id == unit_id,
            Grant.revoked_at.is_(None),
            Grant.valid_to >= day,
        )
        .order_by(Grant.valid_from, Grant.id)
    ).all()
    seen: set[str] = set()
    unique = []
    for g in grants:  # one row per person, however many grants the register holds for them
        if g.username.lower() not in seen:
            seen.add(g.username.lower())
            unique.append(g)
    return unique


def load_grants(form: AccessOrderForm, user: User, day: date) -> None:
    """Removal order at case closure (§5.13, §7.7, §8.10: "Informera LVS Treserva om borttagning av
    alla behörigheter till ärendet"): replace the person rows with every grant of the case in the
    user's unit, each as a "remove" row. The manager submits it as an ordinary access order; when
    LVS marks it done, on_done revokes the grants. Posted, never a case number in a URL."""
    case = (form.case_number.data or "").strip()
    pattern = current_app.config["CASE_NUMBER_PATTERN"]
    problems = rules.check_case_number(case, "case_number", pattern)
    if problems:
        form.case_number.errors = list(dict.fromkeys(v.message for v in problems))
        return
    grants = grants_to_remove(case, user.unit_id, day)
    if not grants:
        form.case_number.errors = [_(NO_GRANTS_MSG)]
        return
    limit = form.persons.max_entries or len(grants)
    while form.persons.entries:
        form.persons.pop_entry()
    for g in grants[:limit]:
        form.persons.append_entry(
            {
                "action": "remove",
                "full_name": g.full_name,
                "username": g.username,
                "email": g.email,
                "position": g.position,
            }
        )
    if len(grants) > limit:
        form.form_errors.append(
            f"Ärendet har {len(grants)} aktiva behörigheter i din enhet; de första {limit} är "
            "ifyllda. Skicka beställningen och hämta sedan resten i en ny."
        )
    # on_done matches grants by the order's unit name: use the one the grants were given under.
    form.unit_name.data = grants[0].unit_name
    form.unit_type.data = grants[0].unit_type
    if not form.city_district.data:
        form.city_district.data = user.unit.city_district
    form.case_number.data = case


def handle_rows(form: AccessOrderForm) -> bool:
    """Add or remove a person row, or load the case's grants for removal, without JavaScript;
    True when the post was only that."""
    from flask import request
    from flask_login import current_user

    from .base import today

    if "load_grants" in request.form:
        load_grants(form, current_user, today())
        return True
    return edit_rows(form.persons, request.form, form.persons.max_entries or 10)


def on_done(sub: Submission, lvs_user: User, day: date) -> None:
    """LVS has carried the order out in Treserva: each row becomes a grant or a removal."""
    data = sub.data or {}
    now = utcnow()
    for p in data.get("persons", []):
        current = db.session.scalars(
            select(Grant).where(
                Grant.case_number == data["case_number"],
                func.lower(Grant.username) == p["username"].lower(),
                Grant.unit_id == sub.unit_id,
                Grant.revoked_at.is_(None),
            )
        ).all()
        for g in current:  # a new grant replaces the old one; a removal ends it
            g.revoked_at, g.revoked_by_id, g.revoke_order_id = now, lvs_user.id, sub.id
        if p["action"] == "add":
            db.session.add(
                Grant(
                    case_number=data["case_number"],
                    username=p["username"],
                    full_name=p["full_name"],
                    email=p["email"],
                    position=p["position"],
                    unit_id=sub.unit_id,
                    unit_name=data["unit_name"],
                    unit_type=data["unit_type"],
                    valid_from=_date(data["valid_from"]) or day,
                    valid_to=_date(data["valid_to"]) or day,
                    granted_by_id=lvs_user.id,
                    order_id=sub.id,
                )
            )
    if data.get("local_protection") and data.get("local_protection_until"):
        db.session.add(
            LocalProtection(
                case_number=data["case_number"],
                unit_id=sub.unit_id,
                until=date.fromisoformat(data["local_protection_until"]),
                order_id=sub.id,
                recorded_by_id=lvs_user.id,
            )
        )


SPEC = FormSpec(
    key="access_order",
    slug="access-order",
    title="Behörighetsbeställning",
    form_class=AccessOrderForm,
    submit_roles=frozenset({"unit_manager"}),
    process_roles=frozenset({"lvs"}),
    storage="plain",
    distribution_list="lvs",
    to_data=to_data,
    check=check,
    subject=subject,
    page_template="forms/access_order.html",
    message_template="messages/access_order.txt",
    pdf_template="access_order.html",
    blank_template="blank_access_order.html",
    case_number=lambda data: data["case_number"],
    flagged=flagged,
    on_done=on_done,
    prefill=prefill,
    handle_rows=handle_rows,
    extra={"done_flash": "Markerad som klar. Behörighetsregistret är uppdaterat."},
)
