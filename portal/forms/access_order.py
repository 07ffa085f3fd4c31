"""Behörighetsbeställning (§2.2): a unit manager orders access to a protected case for named staff.

Holds no client data (case number, staff, period), so it is stored plain and kept as the order behind
each row of the access register."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from .. import audit, follow_ups, register, rules
from ..clock import local_date
from ..extensions import db
from ..i18n import N_, InputRequired, _l
from ..models import LocalProtection, Submission, User
from ..render import pdf
from .base import CheckContext, DoneInput, RowList, StoredForm, edit_rows
from .fields import IsoDateField

# The blank paper order offers no unit type whose access goes by Intraservice (§9.2): the print
# template leaves these keys of config UNIT_TYPES out (pdf_templates/access_order.html).
pdf.add_template_global("intraservice_unit_types", rules.INTRASERVICE_ACCESS_UNIT_TYPES)

ACTIONS = [("add", "Lägg till"), ("remove", "Ta bort")]
NO_POSITION = N_("Välj befattning")


class PersonForm(Form):
    """One person row: add or remove one member of staff."""

    action = SelectField(_l("Åtgärd"), choices=ACTIONS, default="add")
    full_name = StringField(_l("Fullständigt namn"), validators=[Length(max=120)])
    username = StringField(_l("Användarnamn (staden-konto)"), validators=[Length(max=64)])
    email = StringField(_l("E-postadress"), validators=[Length(max=254)])
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
    valid_from = IsoDateField(
        _l("Giltig från"), N_("Ange startdatum för behörigheten som ÅÅÅÅ-MM-DD.")
    )
    valid_to = IsoDateField(
        _l("Giltig till och med"), N_("Ange slutdatum för behörigheten som ÅÅÅÅ-MM-DD.")
    )
    local_protection = BooleanField(_l("Lokalt skydd"))
    local_protection_until = IsoDateField(
        _l("Lokalt skydd till och med"),
        N_("Ange slutdatum för det lokala skyddet som ÅÅÅÅ-MM-DD."),
    )
    local_protection_reason = TextAreaField(
        _l("Orsak till lokalt skydd"), validators=[Length(max=1000)]
    )
    justification = TextAreaField(
        _l("Motivering om fler personer än gränsen"), validators=[Length(max=1000)]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What a post that only edited the form did, said at the top of the page (role=status):
        #: rows replaced by the case's grants (load_grants; issue 14 item 2).
        self.notices: list[str] = []
        cfg = current_app.config
        self.city_district.choices = [(d, d) for d in cfg["CITY_DISTRICTS"]]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


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


def _valid_case(case: str, pattern: str) -> str | None:
    """The case number for the audit log, only if it is one (never a mistyped personnummer)."""
    return case if not rules.check_case_number(case, "case_number", pattern) else None


NO_GRANTS_MSG = N_("Inga aktiva behörigheter för ärendet i din enhet.")


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
    grants = register.grants_to_remove(case, user.unit_id, day)
    if not grants:
        form.case_number.errors = [_(NO_GRANTS_MSG)]
        return
    limit = form.persons.limit
    positions = set(current_app.config["POSITIONS"])
    typed = _typed_rows(form)
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
    _say_replaced(form, typed, grants[:limit])


def _typed_rows(form: AccessOrderForm) -> list[dict[str, str]]:
    """The person rows the user had filled in (a blank row is nothing to lose)."""
    rows = []
    for entry in form.persons.entries:
        row = {k: (entry.form[k].data or "").strip() for k in ("full_name", "username", "email")}
        if any(row.values()):
            rows.append({"action": entry.form.action.data or "add", **row})
    return rows


def _row_words(row: dict[str, str]) -> str:
    """A typed row in words: "lägg till Anna Andersson (anna01)"."""
    action = _(dict(ACTIONS).get(row["action"], "Lägg till")).lower()
    ident = row["username"] or row["email"]
    return " ".join(p for p in (action, row["full_name"], f"({ident})" if ident else "") if p)


def _say_replaced(form: AccessOrderForm, typed: list[dict[str, str]], loaded: list[Any]) -> None:
    """Loading replaces the rows: say so at the top of the page, and name each row the user had
    filled in that is not among the loaded ones, so that nothing typed goes unseen (issue 14)."""
    form.notices.append(
        ngettext(
            "Raderna ersattes med %(num)s aktiv behörighet för ärendet i din enhet, som en rad att "
            "ta bort. Granska raden innan du skickar.",
            "Raderna ersattes med %(num)s aktiva behörigheter för ärendet i din enhet, som rader "
            "att ta bort. Granska raderna innan du skickar.",
            len(loaded),
        )
    )
    kept = {("remove", g.username.lower()) for g in loaded}
    lost = [_row_words(r) for r in typed if (r["action"], r["username"].lower()) not in kept]
    if lost:
        form.notices.append(
            _(
                "Det du hade fyllt i finns inte kvar: %(rows)s. Skriv in det igen om det ska med.",
                rows="; ".join(lost),
            )
        )


def earlier_local_protections(case: str, order_id: int | None = None) -> list[LocalProtection]:
    """Every local protection the register has recorded for the case, in any unit, running or
    over, latest end first; `order_id` leaves out the one this order recorded. Local protection is
    the case's, for three months pending Skatteverket (§1.3): a new one for a case that already
    had one is a renewal, which LVS sees flagged with these periods."""
    query = select(LocalProtection).where(LocalProtection.case_number == case)
    if order_id is not None:
        query = query.where(LocalProtection.order_id != order_id)
    return list(
        db.session.scalars(
            query.order_by(LocalProtection.until.desc(), LocalProtection.id.desc()).options(
                joinedload(LocalProtection.unit)
            )
        )
    )


def earlier_periods(sub: Submission, data: dict[str, Any]) -> list[dict[str, str]]:
    """For LVS, when the order asks for local protection: the case's earlier ones (unit, the
    Swedish date LVS recorded it, its last day), latest first; none otherwise."""
    if not data.get("local_protection") or not sub.case_number:
        return []
    return [
        {
            "unit": p.unit.name,
            "recorded": local_date(p.recorded_at).isoformat(),
            "until": p.until.isoformat(),
        }
        for p in earlier_local_protections(sub.case_number, sub.id)
    ]


# Refusals of an access order worth an audit event of their own (the order is not stored).
AUDITED_REFUSALS = ("R-TJ-INTRASERVICE", "R-NO-FEE-HANDLER")


class AccessOrder(StoredForm):
    """Behörighetsbeställning (§2.2): stored plain, processed by LVS, kept as the order behind
    each row of the access register."""

    key = "access_order"
    title = "Behörighetsbeställning"
    form_class = AccessOrderForm
    submit_roles = frozenset({"unit_manager"})
    process_roles = frozenset({"lvs"})
    storage = "plain"
    # The local-protection reason and the justification may describe the threat: encrypted, and
    # purged when LVS marks the order done; "local protection: yes, until" stays (SPEC §3.1).
    sealed_fields = ("local_protection_reason", "justification")
    distribution_list = "lvs"
    has_blank = True
    position = 10
    done_flash = N_("Markerad som klar. Behörighetsregistret är uppdaterat.")
    # §2.2: the manager orders access "i ett meddelande i Treserva" to the LVS list.
    treserva_step = N_(
        "Rutinen kräver att beställningen också skickas i Treserva: kopiera meddelandet och "
        "skicka det med Treservas meddelandefunktion till sändlistan %(to)s (§2.2)."
    )
    sent_flash = N_("Beställningen är skickad till LVS.")

    def prefill(self, form: AccessOrderForm, user: User, day: date) -> None:
        form.city_district.data = user.unit.city_district

    def edit_rows(
        self, form: AccessOrderForm, formdata: MultiDict[str, Any], user: User, day: date
    ) -> bool:
        """Add or remove a person row, or load the case's grants for removal, without
        JavaScript; True when the post was only that."""
        if "load_grants" in formdata:
            load_grants(form, user, day)
            return True
        return edit_rows(form.persons, formdata, form.persons.limit)

    def to_data(self, form: AccessOrderForm, user: User) -> dict[str, Any]:
        """The order as stored and shown. `unit_name` and `unit_type` are facts of the submission:
        the orderer's own unit, never form input."""
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

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        """The routine's rules, with the ordering unit, the register, the pending orders and the fee
        handlers all from the server's data (SPEC §1.3, §3.1)."""
        cfg, user, day = ctx.config, ctx.user, ctx.today
        unit_type = user.unit.unit_type
        case = data["case_number"]
        found = rules.check_access_order(
            _input(data, unit_type, user.unit.name),
            today=day,
            active_usernames=register.holders(case, user.unit_id, day),
            pending_additions=register.pending_additions(case, user.unit_id),
            person_limit=register.person_limit(unit_type),
            min_justification=cfg["JUSTIFICATION_MIN_LENGTH"],
            positions=cfg["POSITIONS"],
            username_pattern=cfg["USERNAME_PATTERN"],
            allowed_domains=cfg["ALLOWED_EMAIL_DOMAINS"],
            case_number_pattern=cfg["CASE_NUMBER_PATTERN"],
            orderer_is_myndighet_manager=(
                unit_type == "myndighet" and user.has_role("unit_manager")
            ),
            fee_handler_usernames=register.fee_handler_usernames(register.usernames(data, "add")),
        )
        for code in AUDITED_REFUSALS:
            if not any(v.code == code for v in found):
                continue
            # An attempt to give a fee handler access (§7.2), or an order from Trygghetsjouren
            # that belongs with Intraservice (§9.2), is worth knowing about: the event commits
            # with the request, which stores nothing else (the order is refused).
            audit.record(
                "access_order_refused",
                user=user,
                object_type="access_order",
                unit_id=user.unit_id,
                case_number=_valid_case(case, cfg["CASE_NUMBER_PATTERN"]),
                outcome="refused",
                detail=code,
            )
        return found

    def subject(self, data: dict[str, Any]) -> str:
        return rules.access_order_subject(data["case_number"], data["city_district"])

    def remember(self, data: dict[str, Any], user: User, day: date) -> None:
        """Issue 16, part E: a local protection's end (§1.3: followed up by the unit manager) is
        remembered for the orderer as the case number and the until date, nothing else."""
        if data.get("local_protection"):
            follow_ups.remember(
                user,
                data.get("case_number"),
                follow_ups.LOCAL_PROTECTION,
                _date(data.get("local_protection_until")),
                day,
            )

    def flagged(self, data: dict[str, Any], ctx: CheckContext) -> bool:
        """Over the unit type's person limit (with a justification, or check refuses it), counting
        the register and the pending orders, or local protection for a case that already had
        one (§1.3: three months, not renewed in steps for ever): LVS sees it flagged."""
        if data.get("local_protection") and earlier_local_protections(data["case_number"]):
            return True
        user, day = ctx.user, ctx.today
        adds = register.usernames(data, "add")
        if not adds:
            return False  # an order that only removes people can only lower the count
        case = data["case_number"]
        return rules.exceeds_person_limit(
            register.holders(case, user.unit_id, day),
            adds,
            register.usernames(data, "remove"),
            register.person_limit(user.unit.unit_type),
            register.pending_additions(case, user.unit_id),
        )

    def review(self, sub: Submission, day: date) -> dict[str, Any]:
        """What marking this order done would do to the register now, for LVS to see before carrying
        it out in Treserva: the people the case would have in the unit, the unit type's limit, whether
        the order is justified, the rows (1-based) refused as fee handlers, and how many other orders
        of the case and unit wait."""
        data, unit = sub.data or {}, sub.unit
        count = rules.person_count(
            register.holders(sub.case_number or "", sub.unit_id, day),
            register.usernames(data, "add"),
            register.usernames(data, "remove"),
        )
        limit = register.person_limit(unit.unit_type)
        return {
            # §2.5: every active grant of the case in every unit, and the checks to tick.
            "case_grants": register.case_grants(sub.case_number or "", None, day),
            "checks": register.ORDER_CHECKS,
            "count": count,
            "limit": limit,
            "over": bool(register.usernames(data, "add")) and count > limit,
            "justified": register.order_justified(sub, data),
            "fee_rows": sorted(i + 1 for i in register.fee_handler_rows(data, unit.unit_type)),
            "waiting": len(register.pending_orders(sub.case_number or "", sub.unit_id, sub.id)),
            "earlier_protections": earlier_periods(sub, data),
        }

    def on_done(self, sub: Submission, done: DoneInput) -> None:
        """LVS has carried the order out in Treserva: each row becomes a grant or a removal
        (portal/register.py, checked again there against the register as it is now)."""
        register.apply_order(sub, done.user, done.today)
        if done.checks:  # the §2.5 checks LVS ticked, kept with the order (no client data)
            sub.data = {**(sub.data or {}), "checks": sorted(done.checks)}
