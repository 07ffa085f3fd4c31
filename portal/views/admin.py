"""User and unit administration for the admin (systemförvaltare; SPEC §2, §6; issue 15):
/admin/users and /admin/units. Thin: parse the form, call portal/accounts.py (the same rules and
changes as `flask users …` and `flask units …`), redirect. Deny by default (admin only), CSRF on
every POST (Flask-WTF), no-store on every page (portal/web.py). A refusal answers 422 with each
error at its field and the input kept; nothing is changed and the refusal is audited.

Giving or taking roles, creating a user (with roles) and setting a password ask for the admin's
password again when it was given more than REAUTH_MINUTES ago (auth.reauth, ASVS V3.7.1)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import Length

from .. import accounts, audit, transaction
from ..auth import roles_required
from ..forms.base import attach_violations, error_summary, validate_input
from ..i18n import _l
from ..models import ROLES, Unit, User
from ..passwords import PASSWORD_MAX_LENGTH
from .auth import reauth_redirect, recently_authenticated

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: The roles as the admin reads them (SPEC §2).
ROLE_LABELS = {
    "staff": _l("Medarbetare"),
    "social_secretary": _l("Socialsekreterare"),
    "unit_manager": _l("Enhetschef"),
    "planner": _l("Planerare"),
    "lvs": _l("LVS (lokalt verksamhetsstöd)"),
    "admin": _l("Systemförvaltare"),
}


def _role_choices() -> list[tuple[str, str]]:
    return [(r, str(ROLE_LABELS[r])) for r in ROLES]


def _unit_choices(blank: str) -> list[tuple[str, str]]:
    return [("", blank), *((u.public_id, u.name) for u in accounts.units_by_name())]


class RoleBoxes(SelectMultipleField):
    """Roles as checkboxes in a fieldset (templates/admin/_roles.html), by keyboard too."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _password_field(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )


class UserFilterForm(FlaskForm):
    """The list's filters, from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Namn eller användarnamn"), validators=[Length(max=120)])
    unit = SelectField(_l("Enhet"), choices=[], validate_choice=False)
    role = SelectField(_l("Roll"), choices=[], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit.choices = _unit_choices(_("Alla enheter"))
        self.role.choices = [("", _("Alla roller")), *_role_choices()]


class DetailsForm(FlaskForm):
    full_name = StringField(
        _l("Namn"), validators=[Length(max=accounts.FULL_NAME_MAX)], render_kw={"autocomplete": "off"}
    )
    email = StringField(
        _l("E-postadress"),
        validators=[Length(max=254)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "type": "email"},
    )
    unit = SelectField(_l("Enhet"), choices=[], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit.choices = _unit_choices(_("Ingen enhet (väntar på behörighet)"))


class NewUserForm(DetailsForm):
    username = StringField(
        _l("Användarnamn"),
        validators=[Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    roles = RoleBoxes(_l("Roller"), choices=_role_choices, validate_choice=False)
    password = _password_field(_l("Lösenord (bara för reservkonton)"))
    password_repeat = _password_field(_l("Lösenordet igen"))


class RolesForm(FlaskForm):
    roles = RoleBoxes(_l("Roller"), choices=_role_choices, validate_choice=False)


class PasswordForm(FlaskForm):
    password = _password_field(_l("Nytt lösenord"))
    password_repeat = _password_field(_l("Det nya lösenordet igen"))


class ActionForm(FlaskForm):
    """Deactivate, reactivate, unlock: a button and its CSRF token."""


class UnitForm(FlaskForm):
    name = StringField(
        _l("Enhetens namn"),
        validators=[Length(max=accounts.UNIT_NAME_MAX)],
        render_kw={"autocomplete": "off"},
    )
    unit_type = SelectField(_l("Enhetstyp"), choices=[], validate_choice=False)
    district = SelectField(_l("Stadsområde"), choices=[], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from flask import current_app

        super().__init__(*args, **kwargs)
        cfg = current_app.config
        self.unit_type.choices = [("", _("Välj enhetstyp")), *cfg["UNIT_TYPES"].items()]
        self.district.choices = [("", _("Välj stadsområde")), *((d, d) for d in cfg["CITY_DISTRICTS"])]


# --- helpers -------------------------------------------------------------------------------------


def _refused(form: FlaskForm, refused: accounts.Refused) -> None:
    """Nothing the request did is kept; the refusal's audit event is (the request commits it);
    the errors go to their fields."""
    transaction.rollback()
    accounts.record_refusal(refused)
    attach_violations(form, refused.violations)


def _user_or_404(public_id: str) -> User:
    user = accounts.user_by_public_id(public_id)
    if user is None:
        abort(404)
    return user


def _unit_or_404(public_id: str) -> Unit:
    unit = accounts.unit_by_public_id(public_id)
    if unit is None:
        abort(404)
    return unit


def _chosen_unit(value: str | None) -> tuple[Unit | None, str | None]:
    """The unit a select names by public id, and what was chosen (None: no unit)."""
    if not value:
        return None, None
    return accounts.unit_by_public_id(value), value


def _needs_reauth(what: str, user: User | None = None) -> Any:
    """303 to /reauth and back, audited as a refusal when it was a POST (its input is not kept:
    the admin gives the password, then does it again)."""
    if request.method == "POST":
        audit.record(
            "user_refused",
            object_type="user",
            object_id=user.public_id if user is not None else None,
            outcome="refused",
            detail=f"{what}: lösenordet måste anges igen",
        )
    return reauth_redirect()


def _page(template: str, status: int = 200, **context: Any) -> Any:
    forms = [f for f in context.values() if isinstance(f, FlaskForm)]
    errors = [e for f in forms for e in error_summary(f)]
    return render_template(
        template, errors=errors, role_labels=ROLE_LABELS, accounts=accounts, **context
    ), status


# --- users ---------------------------------------------------------------------------------------


@bp.route("/users")
@roles_required("admin")
def users() -> Any:
    form = UserFilterForm(request.args)
    found: list[User] = []
    valid = validate_input(form)
    unit, _chosen = _chosen_unit(form.unit.data)
    role = form.role.data if form.role.data in ROLES else ""
    if valid:
        found = accounts.users_matching(form.q.data or "", unit, role)
    filtered = bool(form.q.data or unit or role)
    waiting = [u for u in found if accounts.is_waiting(u)]
    return _page(
        "admin/users.html",
        200 if valid else 422,
        form=form,
        users=found,
        waiting=waiting,
        filtered=filtered,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new() -> Any:
    if not recently_authenticated():
        return _needs_reauth("ny användare")
    form = NewUserForm()
    if not form.validate_on_submit() or not validate_input(form):
        return _page("admin/user_new.html", 422 if form.is_submitted() else 200, form=form)
    unit, chosen = _chosen_unit(form.unit.data)
    password = form.password.data or None
    try:
        user = accounts.create_user(
            form.username.data or "",
            form.full_name.data or "",
            form.email.data or "",
            unit,
            form.roles.data or [],
            password,
            unit_name=chosen,
            password_repeat=form.password_repeat.data or "",
        )
    except accounts.Refused as refused:
        _refused(form, refused)
        return _page("admin/user_new.html", 422, form=form)
    flash(_("Användaren %(username)s är skapad.", username=user.username))
    return redirect(url_for("admin.user", public_id=user.public_id), 303)


def _user_page(
    user: User, status: int = 200, details: DetailsForm | None = None, refusal: str | None = None
) -> Any:
    if details is None:
        unit = accounts.unit_of(user)
        details = DetailsForm(
            formdata=None,
            data={
                "full_name": user.full_name,
                "email": user.email,
                "unit": unit.public_id if unit is not None else "",
            },
        )
    return _page(
        "admin/user.html",
        status,
        user=user,
        form=details,
        action=ActionForm(),
        is_self=user.id == current_user.id,
        refusal=refusal,
    )


@bp.route("/users/<public_id>", methods=["GET", "POST"])
@roles_required("admin")
def user(public_id: str) -> Any:
    """A user's page: name, e-mail and unit (no re-authentication: no role changes here)."""
    target = _user_or_404(public_id)
    if request.method == "GET":
        return _user_page(target)
    form = DetailsForm()
    if not form.validate_on_submit() or not validate_input(form):
        return _user_page(target, 422, form)
    unit, chosen = _chosen_unit(form.unit.data)
    try:
        change = accounts.update_user(
            target, form.full_name.data or "", form.email.data or "", unit, unit_name=chosen
        )
    except accounts.Refused as refused:
        _refused(form, refused)
        return _user_page(_user_or_404(public_id), 422, form)
    flash(_("Uppgifterna är sparade.") if change.fields else _("Inget ändrades."))
    return redirect(url_for("admin.user", public_id=public_id), 303)


@bp.route("/users/<public_id>/roles", methods=["GET", "POST"])
@roles_required("admin")
def user_roles(public_id: str) -> Any:
    target = _user_or_404(public_id)
    if not recently_authenticated():
        return _needs_reauth("roller", target)
    form = RolesForm(data={"roles": sorted(target.roles)} if request.method == "GET" else None)
    if not form.validate_on_submit():
        return _page(
            "admin/user_roles.html", 422 if form.is_submitted() else 200, form=form, user=target
        )
    try:
        changed = accounts.set_roles(target, form.roles.data or [], actor=current_user)
    except accounts.Refused as refused:
        _refused(form, refused)
        return _page("admin/user_roles.html", 422, form=form, user=_user_or_404(public_id))
    if changed and target.id == current_user.id:
        login_user(target)  # this session goes on under the new session version
    flash(
        _("Rollerna är sparade. Användarens inloggningar är avslutade.")
        if changed
        else _("Inget ändrades.")
    )
    return redirect(url_for("admin.user", public_id=public_id), 303)


@bp.route("/users/<public_id>/password", methods=["GET", "POST"])
@roles_required("admin")
def user_password(public_id: str) -> Any:
    target = _user_or_404(public_id)
    if not recently_authenticated():
        return _needs_reauth("lösenord", target)
    form = PasswordForm()
    if not form.validate_on_submit() or not validate_input(form):
        return _page(
            "admin/user_password.html", 422 if form.is_submitted() else 200, form=form, user=target
        )
    try:
        accounts.set_password(
            target, form.password.data or "", form.password_repeat.data or ""
        )
    except accounts.Refused as refused:
        _refused(form, refused)
        return _page("admin/user_password.html", 422, form=form, user=_user_or_404(public_id))
    if target.id == current_user.id:
        login_user(target)  # the admin's own: this session goes on, the others end
    flash(_("Lösenordet är bytt. Användarens inloggningar är avslutade."))
    return redirect(url_for("admin.user", public_id=public_id), 303)


@bp.route("/users/<public_id>/deactivate", methods=["POST"])
@roles_required("admin")
def user_deactivate(public_id: str) -> Any:
    target = _user_or_404(public_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        accounts.deactivate(target, actor=current_user)
    except accounts.Refused as refused:
        transaction.rollback()
        accounts.record_refusal(refused)
        return _user_page(_user_or_404(public_id), 409, refusal=refused.violations[0].render(_))
    flash(_("Användaren är avaktiverad. Alla dess inloggningar är avslutade."))
    return redirect(url_for("admin.user", public_id=public_id), 303)


@bp.route("/users/<public_id>/reactivate", methods=["POST"])
@roles_required("admin")
def user_reactivate(public_id: str) -> Any:
    target = _user_or_404(public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    accounts.reactivate(target)
    flash(_("Användaren är aktiv igen och kan logga in."))
    return redirect(url_for("admin.user", public_id=public_id), 303)


@bp.route("/users/<public_id>/unlock", methods=["POST"])
@roles_required("admin")
def user_unlock(public_id: str) -> Any:
    target = _user_or_404(public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    accounts.unlock(target)
    flash(_("Inloggningen är upplåst: ingen adress behöver vänta längre."))
    return redirect(url_for("admin.user", public_id=public_id), 303)


# --- units ---------------------------------------------------------------------------------------


@bp.route("/units")
@roles_required("admin")
def units() -> Any:
    return _page(
        "admin/units.html",
        units=accounts.units_by_name(),
        counts=accounts.user_counts(),
        unit_types=_unit_types(),
    )


def _unit_types() -> dict[str, str]:
    from flask import current_app

    return dict(current_app.config["UNIT_TYPES"])


@bp.route("/units/new", methods=["GET", "POST"])
@roles_required("admin")
def unit_new() -> Any:
    form = UnitForm()
    if not form.validate_on_submit() or not validate_input(form):
        return _page("admin/unit.html", 422 if form.is_submitted() else 200, form=form, unit=None)
    try:
        unit = accounts.create_unit(
            form.name.data or "", form.unit_type.data or "", form.district.data or ""
        )
    except accounts.Refused as refused:
        _refused(form, refused)
        return _page("admin/unit.html", 422, form=form, unit=None)
    flash(_("Enheten %(name)s är skapad.", name=unit.name))
    return redirect(url_for("admin.units"), 303)


@bp.route("/units/<public_id>", methods=["GET", "POST"])
@roles_required("admin")
def unit(public_id: str) -> Any:
    target = _unit_or_404(public_id)
    if request.method == "GET":
        form = UnitForm(
            formdata=None,
            data={
                "name": target.name,
                "unit_type": target.unit_type,
                "district": target.city_district,
            },
        )
        return _page("admin/unit.html", form=form, unit=target)
    form = UnitForm()
    if not form.validate_on_submit() or not validate_input(form):
        return _page("admin/unit.html", 422, form=form, unit=target)
    try:
        change = accounts.update_unit(
            target, form.name.data or "", form.unit_type.data or "", form.district.data or ""
        )
    except accounts.Refused as refused:
        _refused(form, refused)
        return _page("admin/unit.html", 422, form=form, unit=_unit_or_404(public_id))
    flash(_("Enheten är sparad.") if change.fields else _("Inget ändrades."))
    return redirect(url_for("admin.units"), 303)
