"""The audit trail (granskningslogg; SPEC §2, §6 `GET /audit`): an admin sees every event and the
state of the hash chain, checked in this request; a unit manager the events of their own unit's
cases (§4.1 self-check). Filters by case number, person (username), action and dates, in the query
string: a case number and a staff username are not client data, and nothing else goes in the URL.
A filter that is not valid is shown at its field, in Swedish, and not used. `GET /audit.csv`: the
same rows, in the same scope, as a file for Swedish Excel, itself an audit event. Labels, query
and file: portal/audit_trail.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from .. import audit_trail, rules
from ..audit_trail import Filters
from ..auth import roles_required
from ..clock import today
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import N_, _l

bp = Blueprint("audit", __name__)
PAGE = 100

MSG_FROM = N_("Ange från och med-datum som ÅÅÅÅ-MM-DD, till exempel 2026-12-01.")
MSG_TO = N_("Ange till och med-datum som ÅÅÅÅ-MM-DD, till exempel 2026-12-31.")
MSG_ORDER = N_("Till och med-datumet kan inte vara före från och med-datumet.")
MSG_ACTION = N_("Välj en händelse i listan.")
MSG_TOO_MANY = N_(
    "Utdraget skulle få %(rows)s rader; högst %(limit)s går att hämta. Välj en kortare tid, "
    "ett ärende eller en person."
)


class IsoDate(DateField):
    """A date as YYYY-MM-DD, with a message that names the field when it is not one."""

    def __init__(self, label: Any = None, message: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("validators", [Optional()])
        super().__init__(label, format="%Y-%m-%d", **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_(self.message)) from error


class FilterForm(FlaskForm):
    """The log's filters, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    case = StringField(_l("Ärendenummer"), validators=[Length(max=32)])
    username = StringField(_l("Person (användarnamn)"), validators=[Length(max=64)])
    action = SelectField(_l("Händelse"), choices=[], validate_choice=False)
    date_from = IsoDate(_l("Från och med"), message=MSG_FROM)
    date_to = IsoDate(_l("Till och med"), message=MSG_TO)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _("Alla händelser")), *audit_trail.action_choices()]


def _error(field: Any, message: str) -> None:
    field.errors = [*field.errors, message]


def _filters(form: FilterForm) -> Filters:
    """The valid filters; one that is not valid is an error at its field and is not used."""
    if not validate_input(form):
        return Filters()
    case = (form.case.data or "").strip()
    username = (form.username.data or "").strip()
    action = form.action.data or ""
    cfg = current_app.config
    if case:
        attach_violations(form, rules.check_case_number(case, "case", cfg["CASE_NUMBER_PATTERN"]))
    if username:
        attach_violations(form, rules.check_username(username, "username", cfg["USERNAME_PATTERN"]))
    if action and action not in audit_trail.ACTIONS:
        _error(form.action, _(MSG_ACTION))
    start = form.date_from.data if not form.date_from.errors else None
    end = form.date_to.data if not form.date_to.errors else None
    if start and end and end < start:
        _error(form.date_to, _(MSG_ORDER))
        end = None
    return Filters(
        case=case if case and not form.case.errors else None,
        username=username if username and not form.username.errors else None,
        action=action if action and not form.action.errors else None,
        date_from=start,
        date_to=end,
    )


def _page_number() -> int:
    # Bounded: an offset past what the database's integers hold is a 500, not an empty page.
    return min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)


def _page(form: FilterForm, filters: Filters, page: int) -> Any:
    entries, more = audit_trail.entries(current_user, filters, page, PAGE)
    all_units = audit_trail.may_see_all(current_user)
    chain = audit_trail.chain_state(current_app.config, PAGE) if all_units else None
    errors = error_summary(form)
    return render_template(
        "audit/index.html",
        entries=entries,
        more=more,
        page=page,
        form=form,
        errors=errors,
        filters=filters.query_args(),
        all_units=all_units,
        chain=chain,
    ), (422 if errors else 200)


@bp.route("/audit")
@roles_required("admin", "unit_manager")
def index() -> Any:
    form = FilterForm(formdata=request.args)
    return _page(form, _filters(form), _page_number())


@bp.route("/audit.csv")
@roles_required("admin", "unit_manager")
def export() -> Any:
    """The filtered log as a CSV file for the §4.1 self-check; the page with the error instead
    when a filter is wrong or the file would be too large."""
    form = FilterForm(formdata=request.args)
    filters = _filters(form)
    if error_summary(form):
        return _page(form, filters, 1)
    rows = audit_trail.count(current_user, filters)
    limit = int(current_app.config["AUDIT_EXPORT_MAX_ROWS"])
    if rows > limit:
        _error(form.date_from, _(MSG_TOO_MANY, rows=rows, limit=limit))
        return _page(form, filters, 1)
    body, written = audit_trail.csv_extract(current_user, filters)
    audit_trail.record_export(current_user, filters, written)
    # Swedish, says what it is, no personal data (the filters stay out of the name).
    name = f"loggutdrag-{today().isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
