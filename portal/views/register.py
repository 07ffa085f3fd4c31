"""The access register (behörighetsregister): who has access to which case until when.
LVS sees all; a unit manager sees their own unit (§4.1 self-check; portal/register.py). Filters by
case number and username (SPEC §6); a person's grants, and the removal orders when they leave or
change post (§2.1, 002; portal/cases.py). A case number or a username is not client data; a filter
that is not one (a personnummer typed by mistake) is refused at its field and not used."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from .. import cases, register, rules
from ..auth import roles_required
from ..clock import today
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import InputRequired, _l

bp = Blueprint("register", __name__)
# Grants per page: a large city's register holds thousands of active grants (bench/README.md).
PAGE = 100


@bp.app_context_processor
def _order_checks() -> dict[str, Any]:
    """The §2.5 checks' texts, for the access order's submission page (templates/submissions/)."""
    return {"order_checks": register.ORDER_CHECKS}


class FilterForm(FlaskForm):
    """The register's filters, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    case = StringField(_l("Ärendenummer"), validators=[Length(max=32)])
    username = StringField(_l("Användarnamn"), validators=[Length(max=64)])


class PersonForm(FlaskForm):
    """A person by username: GET shows their grants (no CSRF), POST removes them (CSRF)."""

    username = StringField(
        _l("Användarnamn"),
        validators=[InputRequired(_l("Ange användarnamnet.")), Length(max=64)],
    )


def _username_violations(value: str, field: str) -> list[rules.Violation]:
    return rules.check_username(value, field, current_app.config["USERNAME_PATTERN"])


def _filters(form: FilterForm) -> tuple[str | None, str | None]:
    """The valid filters; one that is not a case number or a username is shown as an error."""
    if not validate_input(form):
        return None, None
    case = (form.case.data or "").strip()
    username = (form.username.data or "").strip()
    if case:
        attach_violations(
            form, rules.check_case_number(case, "case", current_app.config["CASE_NUMBER_PATTERN"])
        )
    if username:
        attach_violations(form, _username_violations(username, "username"))
    return (
        case if case and not form.case.errors else None,
        username if username and not form.username.errors else None,
    )


@bp.route("/register")
@roles_required("lvs", "unit_manager")
def index() -> Any:
    day = today()
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    form = FilterForm(formdata=request.args)
    case, username = _filters(form)
    shown = register.page(current_user, day, number, PAGE, case=case, username=username)
    return render_template(
        "register/index.html",
        grants=shown.grants,
        more=shown.more,
        page=number,
        protections=shown.protections,
        horizon=day + timedelta(days=current_app.config["REMINDER_DAYS"]),
        day=day,
        form=form,
        errors=error_summary(form),
        filters={k: v for k, v in (("case", case), ("username", username)) if v},
    ), (422 if error_summary(form) else 200)


def _person_page(form: PersonForm, grants: list[Any] | None, status: int = 200) -> Any:
    return render_template(
        "register/person.html",
        form=form,
        grants=grants,
        errors=error_summary(form),
        is_lvs=current_user.has_role("lvs"),
    ), status


def _checked(form: PersonForm) -> str | None:
    """The username if the form holds a valid one; else None, with the errors at the field."""
    if not validate_input(form):
        return None
    username = (form.username.data or "").strip()
    attach_violations(form, _username_violations(username, "username"))
    return None if error_summary(form) else username


@bp.route("/register/person")
@roles_required("lvs", "unit_manager")
def person() -> Any:
    """A person's active grants (LVS: every unit's; a manager: their own unit's)."""
    if "username" not in request.args:
        return _person_page(PersonForm(formdata=None, meta={"csrf": False}), None)
    form = PersonForm(formdata=request.args, meta={"csrf": False})
    username = _checked(form)
    if username is None:
        return _person_page(form, None, 422)
    return _person_page(form, cases.person_grants(username, current_user, today()))


@bp.route("/register/person/remove", methods=["POST"])
@roles_required("lvs", "unit_manager")
def person_remove() -> Any:
    """Removal orders for every active grant of the person the user may remove, one per unit
    and case, into the LVS queue (§2.1, 002)."""
    form = PersonForm()
    username = _checked(form)
    if username is None:
        return _person_page(form, None, 422)
    intraservice = cases.by_intraservice(cases.person_grants(username, current_user, today()))
    if intraservice:
        flash(
            _(
                "Behörigheter i %(units)s tas bort av LVS på Trygghetsjouren genom ett ärende "
                "till Intraservice (§9.2).",
                units=", ".join(intraservice),
            )
        )
    try:
        orders = cases.remove_person(username, current_user, today())
    except cases.NothingToRemove:
        form.username.errors = [
            _("Inga aktiva behörigheter att ta bort (eller borttaget väntar redan hos LVS).")
        ]
        return _person_page(form, cases.person_grants(username, current_user, today()), 422)
    flash(
        ngettext(
            "%(num)d borttagsbeställning är skickad till LVS.",
            "%(num)d borttagsbeställningar är skickade till LVS.",
            len(orders),
        )
    )
    return redirect(url_for("register.person", username=username), 303)
