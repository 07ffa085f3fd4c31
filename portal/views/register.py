"""The access register (behörighetsregister): who has access to which case until when.
LVS sees all; a unit manager sees their own unit (§4.1 self-check; portal/register.py). Filters by
case number and username (SPEC §6); a person's grants, and the removal orders when they leave or
change post (§2.1, 002; portal/cases.py). A case number or a username is not client data; a filter
that is not one (a personnummer typed by mistake) is refused at its field and not used.
Issue 16, part D: a unit manager records the §4.1 self-check here ("Egenkontroll genomförd"), and
the register prints as a PDF for the self-check file (portal/self_check.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from .. import cases, register, rules, self_check
from ..auth import roles_required
from ..clock import local, today
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import InputRequired, _l
from ..render import file_names

bp = Blueprint("register", __name__)
# Grants per page: a large city's register holds thousands of active grants (bench/README.md).
PAGE = 100
# Grants in one printed register (issue 16, part D): a unit's register is far smaller; LVS's
# whole register of a large city is not one printout, but a filter's is. WeasyPrint takes about
# 50 ms a row on the 2-core build machine under load 5 (2000 rows: 100 s, 107 pages), so 800
# rows (about 43 pages) stay inside gunicorn's 60 s timeout.
PDF_MAX_ROWS = 800


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


class SelfCheckForm(FlaskForm):
    """Egenkontroll genomförd (§4.1): what the unit manager checked. Both perspectives of access
    are required; the rules and the log review are recorded when done."""

    per_case = BooleanField(
        _l(self_check.CHECKS["per_case"]),
        validators=[
            InputRequired(
                _l("Kontrollera behörigheterna per ärende innan du registrerar egenkontrollen.")
            )
        ],
    )
    per_employee = BooleanField(
        _l(self_check.CHECKS["per_employee"]),
        validators=[
            InputRequired(
                _l(
                    "Kontrollera behörigheterna per medarbetare innan du registrerar egenkontrollen."
                )
            )
        ],
    )
    rules_followed = BooleanField(_l(self_check.CHECKS["rules_followed"]))
    logs_reviewed = BooleanField(_l(self_check.CHECKS["logs_reviewed"]))


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


def _register_page(
    form: FilterForm,
    check_form: SelfCheckForm | None = None,
    number: int = 1,
    case_error: str | None = None,
) -> Any:
    """The register page: the grants and protections the filters keep, and for a unit manager
    the self-check section (its form, with errors after a refused post, and the earlier ones).
    `case_error`: a message at the case filter (the register too long to print)."""
    day = today()
    case, username = _filters(form)
    if case_error:
        form.case.errors = [*form.case.errors, case_error]
    shown = register.page(current_user, day, number, PAGE, case=case, username=username)
    manager = current_user.has_role("unit_manager")
    if manager and check_form is None:
        check_form = SelfCheckForm(formdata=None)
    errors = error_summary(form) + (error_summary(check_form) if check_form else [])
    return render_template(
        "register/index.html",
        grants=shown.grants,
        more=shown.more,
        page=number,
        protections=shown.protections,
        horizon=day + timedelta(days=current_app.config["REMINDER_DAYS"]),
        day=day,
        form=form,
        errors=errors,
        filters={k: v for k, v in (("case", case), ("username", username)) if v},
        check_form=check_form if manager else None,
        self_checks=self_check.history(current_user.unit_id) if manager else [],
        self_check_history=self_check.HISTORY,
        self_check_labels=self_check.SHORT,
        self_check_codes=self_check.checked,
        local=local,
    ), (422 if errors else 200)


@bp.route("/register")
@roles_required("lvs", "unit_manager")
def index() -> Any:
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    return _register_page(FilterForm(formdata=request.args), number=number)


@bp.route("/register/self-check", methods=["POST"])
@roles_required("unit_manager")
def record_self_check() -> Any:
    """Egenkontroll genomförd (§4.1): kept with who, when, what was checked and the register's
    counts; both perspectives required, else the page again (422) with the errors at the ticks."""
    check_form = SelfCheckForm()
    validate_input(check_form)
    ticks = {name: bool(check_form[name].data) for name in self_check.CHECKS}
    if error_summary(check_form) or self_check.missing(ticks):
        self_check.refused(current_user, self_check.missing(ticks))
        return _register_page(FilterForm(formdata=None), check_form)
    self_check.save(current_user, ticks, today())
    flash(_("Egenkontrollen är registrerad."))
    return redirect(url_for("register.index", _anchor="egenkontroll"), 303)


@bp.route("/register.pdf")
@roles_required("lvs", "unit_manager")
def print_pdf() -> Any:
    """The register as a PDF for the self-check file (§4.1): as /register shows it to the user,
    with the same filters (a wrong one: the page with the error), every row and the last
    self-check. Printed inline; the file name says what and when, never who."""
    form = FilterForm(formdata=request.args)
    case, username = _filters(form)
    if error_summary(form):
        return _register_page(form)
    try:
        body = self_check.print_register(current_user, today(), case, username, PDF_MAX_ROWS)
    except self_check.TooLong:
        message = _(
            "Registret har fler än %(limit)d behörigheter: välj ett ärende eller en person "
            "för att skriva ut.",
            limit=PDF_MAX_ROWS,
        )
        return _register_page(form, case_error=message)
    name = file_names.dated("Behörighetsregister", today())
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": file_names.disposition("inline", name),
            "Cache-Control": "no-store",
        },
    )


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
