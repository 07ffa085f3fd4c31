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
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from .. import audit, register, rules
from ..clock import today, utcnow
from ..extensions import db
from ..i18n import N_, InputRequired, _l
from ..models import Grant, LocalProtection, Submission, Unit, User
from .base import FormSpec, RowList, edit_rows

DATE_MSG = N_("Ange datumet som ÅÅÅÅ-MM-DD.")
ACTIONS = [("add", "Lägg till"), ("remove", "Ta bort")]
NO_POSITION = N_("Välj befattning")


class PersonForm(Form):
    """One person row: add or remove one member of staff."""

    action = SelectField(_l("Åtgärd"), choices=ACTIONS, default="add")
    full_name = StringField(_l("Fullständigt namn"), validators=[Length(max=120)])
    username = StringField(_l("Användarnamn (staden-konto)"), validators=[Length(max=64)])
    email = StringField("E-postadress", validators=[Length(max=254)])
    # One of config POSITIONS (SPEC §3.1); rules.check_position says so in Swedish at the field,
    # so WTForms' own choice check is off.
    position = SelectField(_l("Befattning"), choices=[], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        positions = current_app.config["POSITIONS"]
        self.position.choices = [("", _(NO_POSITION))] + [(p, p) for p in positions]


class AccessOrderForm(FlaskForm):
    """The ordering unit and its type are not fields: they are the orderer's own unit, from the
    server's data (SPEC §3.1), shown on the page. A posted `unit_type` or `unit_name` is ignored."""

    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )
    city_district = SelectField(_l("Stadsområde"), choices=[])
    persons = RowList(FormField(PersonForm), min_entries=1)  # at most MAX_PERSON_ROWS
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
        for f in (self.valid_from, self.valid_to, self.local_protection_until):
            f.validators[0].message = _(DATE_MSG)  # type: ignore[attr-defined]
        for f in (self.valid_from, self.valid_to, self.local_protection_until):
            f.render_kw = {"type": "date"}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def to_data(form: AccessOrderForm, user: Any = None) -> dict[str, Any]:
    """The order as stored and shown. `unit_name` and `unit_type` are facts of the submission:
    the orderer's own unit (the logged-in user's, unless one is given), never form input."""
    if user is None:
        from flask_login import current_user

        user = current_user
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
        "unit_type": user.unit.unit_type,
        "unit_name": user.unit.name,
        "persons": persons,
        "valid_from": _iso(form.valid_from.data),
        "valid_to": _iso(form.valid_to.data),
        "local_protection": bool(form.local_protection.data),
        "local_protection_until": _iso(form.local_protection_until.data),
        "local_protection_reason": (form.local_protection_reason.data or "").strip(),
        "justification": (form.justification.data or "").strip(),
    }


def _input(data: dict[str, Any], unit_type: str, unit_name: str) -> rules.AccessOrderInput:
    return rules.AccessOrderInput(
        case_number=data["case_number"],
        city_district=data["city_district"] or "",
        unit_type=unit_type,
        unit_name=unit_name,
        persons=[rules.PersonRow(**p) for p in data["persons"]],
        valid_from=_date(data["valid_from"]),
        valid_to=_date(data["valid_to"]),
        local_protection=data["local_protection"],
        local_protection_until=_date(data["local_protection_until"]),
        local_protection_reason=data["local_protection_reason"],
        justification=data["justification"],
    )


def _usernames(data: dict[str, Any], action: str) -> list[str]:
    return [p["username"] for p in data.get("persons", []) if p.get("action") == action]


def person_limit(unit_type: str) -> int:
    """The unit type's most people per case (§2.1); an unknown type admits none."""
    limit = current_app.config["PERSON_LIMITS"].get(unit_type, 0)
    return limit if isinstance(limit, int) else 0


def check(data: dict[str, Any], user: User, day: date) -> list[rules.Violation]:
    """The routine's rules, with the ordering unit, the register, the pending orders and the fee
    handlers all from the server's data (SPEC §1.3, §3.1)."""
    cfg = current_app.config
    unit_type = user.unit.unit_type
    case = data["case_number"]
    found = rules.check_access_order(
        _input(data, unit_type, user.unit.name),
        today=day,
        active_usernames=register.holders(case, user.unit_id, day),
        pending_additions=register.pending_additions(case, user.unit_id),
        person_limit=person_limit(unit_type),
        min_justification=cfg["JUSTIFICATION_MIN_LENGTH"],
        positions=cfg["POSITIONS"],
        username_pattern=cfg["USERNAME_PATTERN"],
        allowed_domains=cfg["ALLOWED_EMAIL_DOMAINS"],
        case_number_pattern=cfg["CASE_NUMBER_PATTERN"],
        orderer_is_myndighet_manager=(unit_type == "myndighet" and user.has_role("unit_manager")),
        fee_handler_usernames=register.fee_handler_usernames(_usernames(data, "add")),
    )
    if any(v.code == "R-NO-FEE-HANDLER" for v in found):
        # An attempt to give a fee handler access is worth knowing about (§7.2); nothing else is
        # pending in the session, so the event is committed on its own (the order is not stored).
        audit.record(
            "access_order_refused",
            object_type="access_order",
            unit_id=user.unit_id,
            case_number=_valid_case(case),
            outcome="refused",
            detail="R-NO-FEE-HANDLER",
        )
        db.session.commit()
    return found


def _valid_case(case: str) -> str | None:
    """The case number for the audit log, only if it is one (never a mistyped personnummer)."""
    pattern = current_app.config["CASE_NUMBER_PATTERN"]
    return case if not rules.check_case_number(case, "case_number", pattern) else None


def flagged(data: dict[str, Any], user: User, day: date) -> bool:
    """Over the unit type's person limit (with a justification, or check refuses it), counting
    the register and the pending orders: LVS sees it flagged."""
    adds = _usernames(data, "add")
    if not adds:
        return False  # an order that only removes people can only lower the count
    case = data["case_number"]
    return rules.exceeds_person_limit(
        register.holders(case, user.unit_id, day),
        adds,
        _usernames(data, "remove"),
        person_limit(user.unit.unit_type),
        register.pending_additions(case, user.unit_id),
    )


def subject(data: dict[str, Any]) -> str:
    return rules.access_order_subject(data["case_number"], data["city_district"])


def prefill(form: AccessOrderForm, user: User) -> None:
    form.city_district.data = user.unit.city_district


NO_GRANTS_MSG = N_("Inga aktiva behörigheter för ärendet i din enhet.")


grants_to_remove = register.grants_to_remove


def load_grants(form: AccessOrderForm, user: User, day: date) -> None:
    """Removal order at case closure (§5.13, §7.7, §8.10: "Informera LVS Treserva om borttagning av
    alla behörigheter till ärendet"): replace the person rows with every grant of the case in the
    user's unit, each as a "remove" row. The manager submits it as an ordinary access order; when
    LVS marks it done, on_done revokes the grants. Posted, never a case number in a URL."""
    case = (form.case_number.data or "").strip()
    pattern = current_app.config["CASE_NUMBER_PATTERN"]
    problems = rules.check_case_number(case, "case_number", pattern)
    if problems:
        form.case_number.errors = list(dict.fromkeys(v.render(_) for v in problems))
        return
    grants = grants_to_remove(case, user.unit_id, day)
    if not grants:
        form.case_number.errors = [_(NO_GRANTS_MSG)]
        return
    limit = form.persons.max_entries or len(grants)
    positions = set(current_app.config["POSITIONS"])
    while form.persons.entries:
        form.persons.pop_entry()
    for g in grants[:limit]:
        form.persons.append_entry(
            {
                "action": "remove",
                "full_name": g.full_name,
                "username": g.username,
                "email": g.email,
                # An older grant's free-text position that is not in the list is left out:
                # a removal row needs none.
                "position": g.position if g.position in positions else "",
            }
        )
    if len(grants) > limit:
        form.form_errors.append(
            _(
                "Ärendet har %(count)s aktiva behörigheter i din enhet; de första %(limit)s är "
                "ifyllda. Skicka beställningen och hämta sedan resten i en ny.",
                count=len(grants),
                limit=limit,
            )
        )
    if not form.city_district.data:
        form.city_district.data = user.unit.city_district
    form.case_number.data = case


def handle_rows(form: AccessOrderForm) -> bool:
    """Add or remove a person row, or load the case's grants for removal, without JavaScript;
    True when the post was only that."""
    from flask import request
    from flask_login import current_user

    if "load_grants" in request.form:
        load_grants(form, current_user, today())
        return True
    return edit_rows(form.persons, request.form, form.persons.max_entries)


def fee_handler_rows(data: dict[str, Any], unit_type: str) -> set[int]:
    """Indexes of the rows that would give a fee handler access (§7.2), by the server's data: an
    addition ordered from an `avgift` unit, for a user of an `avgift` unit, or for the position
    avgiftshandläggare (rules.check_no_fee_handler decides)."""
    persons = data.get("persons", [])
    found = rules.check_no_fee_handler(
        unit_type, persons, register.fee_handler_usernames(_usernames(data, "add"))
    )
    rows: set[int] = set()
    for v in found:
        if v.field == "persons":  # the ordering unit itself: every addition
            rows |= {i for i, p in enumerate(persons) if p.get("action") == "add"}
        else:
            rows.add(int(v.field.split("-")[1]))
    return rows


def _justified(sub: Submission, data: dict[str, Any]) -> bool:
    """The order carries a justification for exceeding the limit (at least the configured length).

    A written justification is a sealed field (SPEC §3.1): the plain content no longer holds it,
    and it is shredded before on_done runs (submissions.mark_done). Then the order counts as
    justified if it was flagged when submitted, i.e. over the limit then, which check admits only
    with a justification long enough. One justified for a smaller excess than it has now is not
    told apart: it stays flagged, as it was."""
    if "justification" not in data:
        return sub.flagged
    text = data.get("justification") or ""
    return len(text.strip()) >= current_app.config["JUSTIFICATION_MIN_LENGTH"]


def review(sub: Submission, day: date | None = None) -> dict[str, Any]:
    """What marking this order done would do to the register now, for LVS to see before carrying
    it out in Treserva: the people the case would have in the unit, the unit type's limit, whether
    the order is justified, the rows (1-based) refused as fee handlers, and how many other orders
    of the case and unit wait."""
    data, unit = sub.data or {}, sub.unit
    count = rules.person_count(
        register.holders(sub.case_number or "", sub.unit_id, day or today()),
        _usernames(data, "add"),
        _usernames(data, "remove"),
    )
    limit = person_limit(unit.unit_type)
    return {
        "count": count,
        "limit": limit,
        "over": bool(_usernames(data, "add")) and count > limit,
        "justified": _justified(sub, data),
        "fee_rows": sorted(i + 1 for i in fee_handler_rows(data, unit.unit_type)),
        "waiting": len(register.pending_orders(sub.case_number or "", sub.unit_id, sub.id)),
    }


def on_done(sub: Submission, lvs_user: User, day: date) -> None:
    """LVS has carried the order out in Treserva: each row becomes a grant or a removal, in the
    unit that ordered it (the submission's unit, server data; never what the order says).

    Checked again here, in the grants' transaction, against the register as it is now:
    - a row that would give a fee handler access (§7.2) never becomes a grant: it is skipped, the
      order flagged and the refusal audited; so is local protection from any unit but Myndighet's
      managers (§1.3);
    - if the case now has more people than the unit type allows and the order has no
      justification (orders carried out in another sequence, or placed at the same moment), the
      grants are recorded all the same (the register must show everyone who has access in
      Treserva, or no removal order would ever find them) and the order is flagged, with an audit
      event, so that LVS and the unit manager see it."""
    data = sub.data or {}
    # One unit's orders are carried out one at a time (PostgreSQL: a row lock on the unit until
    # this transaction ends; SQLite writes one at a time anyway), so that two orders marked done
    # at the same moment cannot each count the register without the other's grants.
    db.session.execute(select(Unit.id).where(Unit.id == sub.unit_id).with_for_update())
    unit = sub.unit
    case = data["case_number"]
    refused = fee_handler_rows(data, unit.unit_type)
    justified = _justified(sub, data)
    now = utcnow()
    for i, p in enumerate(data.get("persons", [])):
        if i in refused:
            audit.submission_event(
                sub,
                "grant_refused",
                lvs_user,
                outcome="refused",
                detail=f"R-NO-FEE-HANDLER rad {i + 1}",
            )
            continue
        current = db.session.scalars(
            select(Grant).where(
                Grant.case_number == case,
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
                    case_number=case,
                    username=p["username"],
                    full_name=p["full_name"],
                    email=p["email"],
                    position=p["position"],
                    unit_id=sub.unit_id,
                    unit_name=unit.name,
                    unit_type=unit.unit_type,
                    valid_from=_date(data["valid_from"]) or day,
                    valid_to=_date(data["valid_to"]) or day,
                    granted_by_id=lvs_user.id,
                    order_id=sub.id,
                )
            )
    if data.get("local_protection") and data.get("local_protection_until"):
        # R-LOCAL-MAX again, by the server's data: only a Myndighet unit's manager (§1.3).
        if unit.unit_type == "myndighet" and sub.submitted_by.has_role("unit_manager"):
            db.session.add(
                LocalProtection(
                    case_number=case,
                    unit_id=sub.unit_id,
                    until=date.fromisoformat(data["local_protection_until"]),
                    order_id=sub.id,
                    recorded_by_id=lvs_user.id,
                )
            )
        else:
            sub.flagged = True
            audit.submission_event(
                sub, "local_protection_refused", lvs_user, outcome="refused", detail="R-LOCAL-MAX"
            )
    if refused:
        sub.flagged = True
    db.session.flush()
    persons = data.get("persons", [])
    added = [i for i, p in enumerate(persons) if p.get("action") == "add" and i not in refused]
    if not added or justified:
        return
    count = len({u.casefold() for u in register.holders(case, sub.unit_id, day)})
    limit = person_limit(unit.unit_type)
    if count > limit:
        sub.flagged = True
        audit.submission_event(
            sub, "person_limit_exceeded", lvs_user, outcome="flagged", detail=f"{count} > {limit}"
        )


SPEC = FormSpec(
    key="access_order",
    slug="access-order",
    title="Behörighetsbeställning",
    form_class=AccessOrderForm,
    submit_roles=frozenset({"unit_manager"}),
    process_roles=frozenset({"lvs"}),
    storage="plain",
    # The local-protection reason and the justification may describe the threat: encrypted, and
    # purged when LVS marks the order done; "local protection: yes, until" stays (SPEC §3.1).
    sealed_fields=("local_protection_reason", "justification"),
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
    extra={
        "done_flash": "Markerad som klar. Behörighetsregistret är uppdaterat.",
        # The order page shows LVS what marking it done would do (templates/submissions/
        # _access_order.html), before it is carried out in Treserva.
        "review": review,
    },
)
