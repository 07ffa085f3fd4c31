"""The main menu, and the start page's "what you may do" and blank paper forms: one list per user
and request, built from the routes' own roles (``roles_required`` records them on the view as
``allowed_roles``) and the form registry's ``may_submit``, so that the menu, the start page and
the routes cannot disagree (issue 14, item 8). Deny by default: a page whose view declares no
roles, or that does not exist (a page another part adds later), is not listed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app, request, url_for
from flask_babel import gettext

from . import paper_kit
from .forms import FORMS
from .forms.base import FormKind, StoredForm
from .i18n import N_

if TYPE_CHECKING:
    from .models import User


@dataclass(frozen=True)
class Link:
    """One entry: its short label in the menu, its longer text on the start page (what it does),
    where it goes, and ``aria-current``: "page" on the page itself, "true" on a page below it."""

    label: str
    task: str
    url: str
    current: str | None = None


@dataclass(frozen=True)
class Blank:
    """A blank paper form at ``/blank/<name>.pdf``."""

    title: str
    url: str


@dataclass(frozen=True)
class Menu:
    start: Link
    #: The pages the user's role opens, in the menu's order.
    pages: list[Link]
    #: The forms the user may fill in (``FormKind.may_submit``), in the registry's order.
    forms: list[Link]
    #: The blank paper forms for the user's work (start page, ``#blanketter``).
    blanks: list[Blank]
    #: The start page's section of blanks, linked from the menu when there are any.
    blanks_link: Link | None

    @property
    def main(self) -> list[Link]:
        """The menu's first row: the start page, the pages, the blanks."""
        tail = [self.blanks_link] if self.blanks_link else []
        return [self.start, *self.pages, *tail]

    @property
    def links(self) -> list[Link]:
        """Every link of the menu, in its order."""
        return [*self.main, *self.forms]

    @property
    def tasks(self) -> list[Link]:
        """The start page's list of what the user may do: the forms, then the pages."""
        return [*self.forms, *self.pages]


def _day_notes_task(user: User) -> str | None:
    """Staff and unit managers write (on paper unless DAY_NOTES_DIGITAL, §7.1); a planner only
    compiles notes written in the portal (§8.6), so on paper it has no task there."""
    digital = current_app.config["DAY_NOTES_DIGITAL"]
    if user.has_role("staff", "unit_manager"):
        if digital:
            return str(gettext("Skriv daganteckningar (fiktiva akter, §7.5, §8.6)"))
        return str(
            gettext("Daganteckningar: blankett med det fiktiva namnet (fiktiva akter, §7.1, §7.5)")
        )
    return str(gettext("Sammanställ daganteckningar (fiktiva akter, §8.6)")) if digital else None


def _handled_task(user: User) -> str:
    days = current_app.config.get("LVS_HANDLED_DAYS", 30)
    return str(gettext("Se vad LVS har hanterat de senaste %(days)s dagarna", days=days))


@dataclass(frozen=True)
class Page:
    """A page of the menu: its view's endpoint, its short label, its text on the start page (a
    msgid, or a function of the user giving the text, None: not this user's task), and the
    endpoints below it."""

    endpoint: str
    label: str
    task: str | Callable[[User], str | None]
    below: str | None = None


#: The menu's pages, in its order. Who sees each is decided by the page's own view.
PAGES: tuple[Page, ...] = (
    Page("lvs.queue", N_("LVS-kö"), N_("Hantera LVS-kön")),
    Page("lvs.handled", N_("Hanterade"), _handled_task),
    Page("register.index", N_("Behörighetsregister"), N_("Se behörighetsregistret")),
    Page(
        "register.person",
        N_("Person som slutar"),
        N_("Person som slutar eller byter tjänst: ta bort behörigheterna (§2.1)"),
        below="register.person_",
    ),
    Page(
        "cases.close",
        N_("Avsluta ärende"),
        N_("Avsluta ärende eller skydd: ta bort alla behörigheter (§5.13, §7.7, §8.10)"),
    ),
    Page("day_notes.index", N_("Daganteckningar"), _day_notes_task, below="day_notes."),
    Page("audit.index", N_("Granskningslogg"), N_("Se granskningsloggen")),
    # issue 15, part AD: user and unit administration (admin)
    Page(
        "admin.users",
        N_("Användare"),
        N_("Administrera användare: skapa, ge enhet och roller, avaktivera, lås upp"),
        below="admin.user",
    ),
    Page("admin.units", N_("Enheter"), N_("Administrera enheter"), below="admin.unit"),
)

#: Short menu labels of the routine's forms (the start page shows the full title). A form not
#: named here is shown by its title: a new form needs no edit here.
MENU_TITLES: dict[str, str] = {
    "access_order": N_("Beställ behörighet"),
    "actualisation": N_("Begär aktualisering"),
    "checklist": N_("Checklista"),
    "disclosure_check": N_("Kontroll före utskick"),  # issue 16, part A
    "deviation": N_("Rapportera avvikelse"),
    "fee_handler": N_("Avgiftshandläggare: hemtjänst"),
    "fee_handler_contract": N_("Avgiftshandläggare: privat boende"),
    "fee_handler_contract_municipal": N_("Avgiftshandläggare: vård- och omsorgsboende"),
    "trygghetsjouren": N_("Trygghetsjouren"),
    "handover": N_("Överlämning"),
    "intraservice": N_("Intraservice"),
    # Issue 16, part B (envelopes, §3.1, §3.8).
    "inner_envelope": N_("Innerkuvert (förmedling)"),
    "envelope_label": N_("Kuvertetikett"),
}

def admits(endpoint: str, user: User) -> bool:
    """Whether the view at ``endpoint`` admits ``user`` by role (``roles_required``); a view
    without declared roles, or none at all, admits nobody here."""
    view = current_app.view_functions.get(endpoint)
    roles: frozenset[str] = getattr(view, "allowed_roles", frozenset())
    return bool(roles) and bool(user.has_role(*roles))


def _current(endpoint: str, below: str | None = None, **args: str) -> str | None:
    here = request.endpoint or ""
    view_args = request.view_args or {}
    if here == endpoint and all(view_args.get(k) == v for k, v in args.items()):
        return "page"
    if below and here.startswith(below):
        return "true"
    return None


def _serves_blank(kind: FormKind, user: User) -> bool:
    """A form's blank is for those who fill the form in or process it."""
    if kind.may_submit(user):
        return True
    return isinstance(kind, StoredForm) and bool(user.has_role(*kind.process_roles))


def _blanks(user: User) -> list[Blank]:
    found = [
        Blank(kind.title, url_for("blank.pdf", name=kind.slug))
        for kind in FORMS.values()
        if kind.has_blank and _serves_blank(kind, user)
    ]
    # Paper sheets that are no form kind (issue 16, part C: portal/paper_kit.py), for the roles
    # and unit types each serves.
    found += [
        Blank(gettext(sheet.title), url_for("blank.pdf", name=sheet.slug))
        for sheet in paper_kit.sheets_for(user)
    ]
    return found


def build(user: User) -> Menu:
    forms = [
        Link(
            label=gettext(MENU_TITLES[kind.key]) if kind.key in MENU_TITLES else kind.title,
            task=kind.title,
            url=url_for("forms.fill", slug=kind.slug),
            current=_current("forms.fill", slug=kind.slug),
        )
        for kind in FORMS.values()
        if kind.may_submit(user)
    ]
    pages = []
    for page in PAGES:
        if not admits(page.endpoint, user):
            continue
        task = gettext(page.task) if isinstance(page.task, str) else page.task(user)
        if task is None:
            continue
        pages.append(
            Link(
                label=gettext(page.label),
                task=task,
                url=url_for(page.endpoint),
                current=_current(page.endpoint, page.below),
            )
        )
    blanks = _blanks(user)
    blanks_link = (
        Link(
            label=gettext("Tomma blanketter"),
            task=gettext("Tomma blanketter att skriva ut"),
            url=url_for("main.start", _anchor="blanketter"),
        )
        if blanks
        else None
    )
    start = Link(
        label=gettext("Start"),
        task=gettext("Start"),
        url=url_for("main.start"),
        current=_current("main.start"),
    )
    return Menu(start=start, pages=pages, forms=forms, blanks=blanks, blanks_link=blanks_link)


MENU_KEY = "portal.main_menu"


def main_menu() -> Menu | None:
    """The logged-in user's menu, built once per request (templates call it: the site header and
    the start page); None when nobody is logged in."""
    from flask_login import current_user

    if not current_user.is_authenticated:
        return None
    # Kept with the request itself, not in ``g``: an app context can outlive one request (tests).
    menu: Menu | None = request.environ.get(MENU_KEY)
    if menu is None:
        menu = request.environ[MENU_KEY] = build(current_user)
    return menu
