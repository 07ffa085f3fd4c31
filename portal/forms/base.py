"""The one machine every form runs through, and the classes a form describes itself with.

A form of the routine is one module in ``portal/forms/`` (or a package, like ``checklist/``) that
defines a subclass of ``StoredForm`` (stored, queued, processed, purged) or ``RenderOnlyForm``
(checked and shown as a message or PDF, never stored), plus its templates, named after its
``key`` by convention:

- ``templates/forms/<key>.html``: the page with the form;
- ``templates/messages/<key>.txt``: the message for the distribution list (subject from
  ``subject()``);
- ``pdf_templates/<key>.html``: the print, blank (``data`` is None) and filled from one file;
- ``templates/submissions/_<key>.html``: a stored form's content on its submission page.

``portal.forms`` finds every such class when it is imported (no list to edit). A form class is
handed everything it uses: no form module reads ``request`` or ``current_user``, and no hook
commits; the request commits once (portal/transaction.py). Modelled on Open Forms' plugin
registry and Indico's ``BaseField``: class attributes documented with ``#:``, methods to
override."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from flask import current_app
from flask_babel import gettext
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, FieldList, FormField
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import Length

from .. import crypto, rules
from ..clock import utcnow
from ..i18n import N_
from ..render import file_names
from ..rules import Violation

if TYPE_CHECKING:
    from ..models import Submission, User


@dataclass(frozen=True)
class CheckContext:
    """What a form's rules are handed besides its data: who submits it, today's date in
    Stockholm, and the settings (portal/config.py)."""

    user: User
    today: date
    config: Mapping[str, Any]


@dataclass(frozen=True)
class DoneInput:
    """What the processor gave when marking a submission done: who, on which Swedish date, the
    reply to the submitter (kept only where the form keeps one) and, where the form asks for it,
    the case number created in Treserva (validated by the processing form)."""

    user: User
    today: date
    reply: str = ""
    case_number: str = ""
    #: The checks the processor ticked (an access order: register.ORDER_CHECKS, §2.5).
    checks: frozenset[str] = frozenset()


class FormKind:
    """One form of the routine. Subclass ``StoredForm`` or ``RenderOnlyForm``, set the
    attributes, override what differs."""

    #: Code name, e.g. ``"access_order"``: the ``form`` column of a submission, and the name of
    #: every template of the form (see the module's docstring).
    key: ClassVar[str]
    #: The Swedish title, on the start page, the form's page and the PDF.
    title: ClassVar[str]
    #: The WTForms class of the page. Its fields' names are the form's HTML names (SPEC §6).
    form_class: ClassVar[type[FlaskForm]]
    #: Who may fill it in (SPEC §2 roles); ``may_submit`` says it for a user.
    submit_roles: ClassVar[frozenset[str]]
    #: Only users of these unit types may fill it in (BoSam's contract message, §6.1); None: any.
    unit_types: ClassVar[frozenset[str] | None] = None
    #: Key of config DISTRIBUTION_LISTS: where its message goes in Treserva.
    distribution_list: ClassVar[str]
    #: Whether a valid post makes a message to copy (``distribution_list``, ``subject()`` and
    #: ``templates/messages/<key>.txt``). False only for a render-only form that is printed and
    #: nothing else (the check before disclosing, issue 16): it names no list, and its result
    #: page shows no message and no "Till:" line.
    has_message: ClassVar[bool] = True
    #: One plain sentence (a msgid, N_) for the one who sends it: whether the routine wants the
    #: message in Treserva too, and where (``%(to)s``: the message's list or recipient). Shown
    #: beside the copy button on the preview, sent and result pages (issue 14 item 4). No
    #: default: every form must say it (tests/test_sent_pages.py).
    treserva_step: ClassVar[str]
    #: "none": checked and shown, never stored; "plain" or "encrypted": stored (SPEC §1.1).
    storage: ClassVar[Literal["none", "plain", "encrypted"]]
    #: Fields meant to hold a personnummer (checked by R-PNR-VALID instead): exempt from
    #: R-NOTE-PNR, which every other text field gets (issue 11 M3, M4). HTML names.
    pnr_fields: ClassVar[frozenset[str]] = frozenset()
    #: A blank paper version at ``/blank/<slug>.pdf`` (its print template with no data).
    has_blank: ClassVar[bool] = False
    #: Its place in the start page's list of forms.
    position: ClassVar[int] = 100
    #: The Swedish words its PDFs are named by (render/file_names.py, issue 14 item 10); None:
    #: the title's.
    pdf_words: ClassVar[str | None] = None

    @property
    def slug(self) -> str:
        """The URL name: ``/forms/<slug>``, ``/blank/<slug>.pdf``."""
        return self.key.replace("_", "-")

    @property
    def page_template(self) -> str:
        return f"forms/{self.key}.html"

    @property
    def message_template(self) -> str:
        return f"messages/{self.key}.txt"

    @property
    def pdf_template(self) -> str:
        return f"{self.key}.html"

    def pdf_filename(self, data: Mapping[str, Any], day: date) -> str:
        """Its filled PDF's file name: what it is and ``day`` (the day it was sent or made), never
        a case number or personal data (issue 14 item 10)."""
        return file_names.dated(self.pdf_words or self.title, day)

    def blank_filename(self, fillable: bool = False) -> str:
        """Its blank paper form's file name (``/blank/<slug>.pdf``)."""
        return file_names.blank(self.pdf_words or self.title, fillable)

    def may_submit(self, user: User) -> bool:
        """Whether ``user`` may fill it in: one of ``submit_roles``, in one of ``unit_types``."""
        if not user.has_role(*self.submit_roles):
            return False
        return self.unit_types is None or user.unit.unit_type in self.unit_types

    def new_form(self, user: User, day: date) -> FlaskForm:
        """The form of a GET, prefilled (``prefill``)."""
        form = self.form_class()
        self.prefill(form, user, day)
        return form

    def prefill(self, form: Any, user: User, day: date) -> None:
        """Fill in what the server knows (the user's unit, name, today) on a new form."""

    def edit_rows(self, form: Any, formdata: MultiDict[str, Any], user: User, day: date) -> bool:
        """A post that only edits the form (adds or removes a row, loads rows): do it on ``form``
        and return True; the page is shown again, nothing is checked or stored."""
        return False

    def to_data(self, form: Any, user: User) -> dict[str, Any]:
        """The valid form's content as stored and shown: plain JSON values, keyed by the form's
        field names; facts of the submission (the orderer's unit) from ``user``, never input."""
        raise NotImplementedError

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[Violation]:
        """The routine's rules on the data (portal/rules.py does the deciding). R-NOTE-PNR on every
        text field is added by the machine (``free_text_violations``)."""
        return []

    def subject(self, data: dict[str, Any]) -> str:
        """The message's subject line: never a name or a personnummer (§2.2, §5.9)."""
        raise NotImplementedError

    def case_number(self, data: dict[str, Any]) -> str | None:
        """The Treserva case number the audit log and the submission may keep."""
        value = data.get("case_number")
        return value if isinstance(value, str) and value else None

    def remember(self, data: dict[str, Any], user: User, day: date) -> None:
        """After a valid post that was sent (stored) or rendered: what the form keeps for ``user``
        besides, never client data — a follow-up's case number and date (issue 16,
        portal/follow_ups.py). Flushes at most; the request commits."""


class RenderOnlyForm(FormKind):
    """A form that is checked and shown, as a message to copy or a PDF, and never stored (SPEC
    §3.6): only the fact that it was rendered is audited."""

    storage: ClassVar[Literal["none"]] = "none"
    #: The page that shows the result of a valid post.
    result_template: ClassVar[str] = "forms/result.html"
    #: How its PDF is served: "attachment" (saved) or "inline" (shown to print).
    pdf_disposition: ClassVar[Literal["attachment", "inline"]] = "attachment"

    def rendered_action(self, as_pdf: bool) -> str:
        """The audit log's action for one render: that it was rendered, as a PDF or a message;
        a form whose render is a step of the routine says so (the check before disclosing)."""
        return "pdf_rendered" if as_pdf else "message_rendered"


@dataclass(frozen=True)
class Purpose:
    """One purpose of a form with a ``purpose`` field (a hand-over, a ticket): its code and label,
    the routine's §, who sends it (these roles, in units of these types) and its fixed words."""

    code: str
    label: str
    section: str
    roles: frozenset[str]
    unit_types: frozenset[str]
    subject: str
    text: str = ""

    def allows(self, user: User) -> bool:
        return user.has_role(*self.roles) and user.unit.unit_type in self.unit_types


class ByPurpose(RenderOnlyForm):
    """A render-only form whose field ``purpose`` chooses one of ``purposes``, each sent by its
    own roles and unit types (the routine's): the page offers a user only theirs, a purpose the
    user may not send is refused at its field (the form's check), and a user who may send none
    gets 403 (``may_submit``). ``submit_roles`` is every role that sends one of them."""

    #: The purposes, in the page's order.
    purposes: ClassVar[tuple[Purpose, ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "purposes" in vars(cls):
            cls.submit_roles = frozenset(r for p in cls.purposes for r in p.roles)

    def purpose(self, code: str | None) -> Purpose | None:
        return next((p for p in self.purposes if p.code == code), None)

    def purposes_for(self, user: User) -> list[Purpose]:
        """The purposes ``user`` sends, per the routine."""
        return [p for p in self.purposes if p.allows(user)]

    def offer(self, form: Any, user: User) -> None:
        """Only the user's own purposes are offered on the page (also when it is shown again)."""
        form.purpose.choices = [(p.code, p.label) for p in self.purposes_for(user)]

    def may_submit(self, user: User) -> bool:
        return bool(self.purposes_for(user))

    def prefill(self, form: Any, user: User, day: date) -> None:
        self.offer(form, user)
        own = self.purposes_for(user)
        if own:
            form.purpose.data = own[0].code


class StoredForm(FormKind):
    """A form that is stored (encrypted where it holds client data), queued for whoever
    processes it, marked done by them and purged when its step is done."""

    storage: ClassVar[Literal["plain", "encrypted"]]
    #: Who processes it (works the queue).
    process_roles: ClassVar[frozenset[str]]
    #: "all": every holder of a process role (LVS); "unit": only those in the submission's unit
    #: (a unit's managers register its deviation reports).
    process_scope: ClassVar[Literal["all", "unit"]] = "all"
    #: A plain form's fields that may hold protected text (issue 11 M4): kept encrypted under the
    #: submission's data key and purged when it is marked done (portal/submissions.py).
    sealed_fields: ClassVar[tuple[str, ...]] = ()
    #: An encrypted form's submitter reads their own submission's content (a deviation report
    #: until it is registered); otherwise only the processor does.
    submitter_reads: ClassVar[bool] = False
    #: Whether the processor may write a reply to the submitter (kept only on a plain form).
    wants_reply: ClassVar[bool] = True
    #: Whether marking it done asks for the case number created in Treserva (kept on the
    #: tombstone; the actualisation, §2.5).
    asks_case_number: ClassVar[bool] = False
    #: The button that marks it done, the hint above it and the message after it.
    done_label: ClassVar[str] = N_("Markera som klar")
    done_hint: ClassVar[str] = N_(
        "Markera som klar när behörigheterna är lagda eller borttagna i Treserva. Varje rad "
        "förs in i behörighetsregistret."
    )
    done_flash: ClassVar[str] = N_("Markerad som klar.")
    #: What marking it done deletes for good, in words (a msgid, N_): set, the submission page
    #: links to a confirmation page that says it and holds the real button (issue 14 item 3);
    #: None, the button is on the submission page. The done POST is the same either way (SPEC §6).
    done_confirm: ClassVar[str | None] = None
    #: The message after a successful send, on the submission page (issue 14 item 4): who has
    #: it now, in the form's own words.
    sent_flash: ClassVar[str] = N_("Blanketten är skickad.")
    #: What others than the reader see of encrypted content that is still there; ``%(days)s`` is
    #: RETENTION_ACTUALISATION_DAYS. None: the general sentence. The texts are msgids (N_),
    #: translated where they are shown.
    sealed_text: ClassVar[str | None] = None
    #: The form's own words for a status (else submissions.STATUS_LABELS).
    status_labels: ClassVar[Mapping[str, str]] = {}

    @property
    def keeps_reply(self) -> bool:
        """Whether the processor's reply to the submitter is kept (and asked for). Only on a plain
        form: an encrypted one's reply would outlive its purged content in plain text on the
        tombstone (issue 11 M3), so none is kept; a form may also say it wants none."""
        return self.storage == "plain" and self.wants_reply

    def may_process(self, user: User, sub: Submission) -> bool:
        """Whether ``user`` processes ``sub``: a process role, and in its unit where the form is
        processed per unit."""
        if not user.has_role(*self.process_roles):
            return False
        return self.process_scope == "all" or user.unit_id == sub.unit_id

    def flagged(self, data: dict[str, Any], ctx: CheckContext) -> bool:
        """Whether the processor is to see it flagged (over a limit, with a justification)."""
        return False

    def review(self, sub: Submission, day: date) -> dict[str, Any] | None:
        """What the processor should see before marking it done (templates/submissions/)."""
        return None

    def on_done(self, sub: Submission, done: DoneInput) -> None:
        """The processor marked it done: carry out what that means (grants, ``purge``). Flushes
        at most; never commits (the request does)."""

    def purge(self, sub: Submission, status: str) -> None:
        """The content goes, a tombstone stays (id, form, who, when, unit, case number): on
        done ("purged") or at the end of its retention ("expired", portal/retention.py). The
        data key goes with it (crypto-shredding), and any reply, which could name the person."""
        sub.data = None
        crypto.shred(sub, "data_enc")
        sub.reply = None
        sub.purged_at = utcnow()
        sub.status = status


# --- rows of a form (FieldList) ------------------------------------------------------------------

ROW_INDEX_DIGITS = 3  # no form has more than 999 rows


def row_index(raw: str) -> int | None:
    """A row number as the portal writes it, ASCII digits, at most three; else None (L2: "²" is
    str.isdigit() but int() refuses it, and int() of 5000 digits raises)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= ROW_INDEX_DIGITS:
        return int(raw)
    return None


class RowList(FieldList):
    """FieldList for every list of rows in portal/forms: a posted key whose row number is not one
    the portal writes (persons-²-full_name, persons-<5000 digits>-email) is ignored, where
    WTForms' own reading answered 500 (issue 11 L2).

    At most `max_entries` rows: by default the config's MAX_PERSON_ROWS (every list of rows is a
    list of people), read when the form is built, so that the form, the page's "Högst n rader" and
    its add-row button (templates/forms/access_order.html) have one source."""

    def __init__(
        self,
        unbound_field: Any,
        label: str | None = None,
        validators: Any = None,
        min_entries: int = 0,
        max_entries: int | None = None,
        separator: str = "-",
        **kwargs: Any,
    ) -> None:
        if max_entries is None:
            max_entries = int(current_app.config["MAX_PERSON_ROWS"])
        super().__init__(
            unbound_field,
            label,
            validators,
            min_entries=min_entries,
            max_entries=max_entries,
            separator=separator,
            **kwargs,
        )
        self.limit: int = max_entries
        # The separators FieldList builds the rows' names with (WTForms keeps them private).
        self.row_separator = separator
        self.field_separator: str = unbound_field.kwargs.get("separator", "-")
        self.type = "FieldList"  # what the templates know it by (_macros.html)

    def _extract_indices(self, prefix: str, formdata: Any) -> Iterator[int]:
        start = prefix + self.row_separator
        for key in formdata:
            if isinstance(key, str) and key.startswith(start):
                index = row_index(key[len(start) :].split(self.field_separator, 1)[0])
                if index is not None:
                    yield index


def edit_rows(rows: FieldList, formdata: Any, limit: int) -> bool:
    """Add a row (`add_person`) or remove row i (`remove_person=i`) without JavaScript; True when
    the post was only that. At most `limit` rows, at least one; a bad index changes nothing."""
    if "add_person" in formdata:
        if len(rows.entries) < limit:
            rows.append_entry()
        return True
    if "remove_person" in formdata:
        index = row_index(formdata["remove_person"])
        if index is not None and len(rows.entries) > 1 and index < len(rows.entries):
            kept = [e.data for i, e in enumerate(rows.entries) if i != index]
            while rows.entries:
                rows.pop_entry()
            for row in kept:
                rows.append_entry(row)
        return True
    return False


def iter_fields(form: Any) -> Iterator[Field]:
    """Every leaf field, FieldList rows included, with its HTML name (persons-0-email)."""
    for f in form:
        if isinstance(f, FieldList):
            yield f
            for entry in f.entries:
                yield from iter_fields(entry.form) if isinstance(entry, FormField) else [entry]
        elif isinstance(f, FormField):
            yield from iter_fields(f.form)
        else:
            yield f


def attach_violations(form: Any, violations: list[Violation]) -> None:
    """Put each rule violation at its field, unless the field already shows a format error. The
    message is translated here, where it reaches the page (rules.Violation.render)."""
    by_name = {f.name: f for f in iter_fields(form)}
    for v in violations:
        message = v.render(gettext)
        target = by_name.get(v.field)
        if target is None:
            target = by_name.get(v.field.split("-")[0])  # a row-level rule falls back to the list
        if target is None:
            form.form_errors.append(message)
            continue
        if not isinstance(target.errors, list):
            target.errors = list(target.errors)
        if message not in target.errors and (isinstance(target, FieldList) or not target.errors):
            target.errors.append(message)


def error_summary(form: Any) -> list[tuple[str, str]]:
    """(field id, message) pairs for the summary at the top of the page."""
    out: list[tuple[str, str]] = [("", m) for m in form.form_errors]
    for f in iter_fields(form):
        # A FieldList's errors also hold its rows' error lists: those are shown at the rows.
        errors: list[object] = list(f.errors)
        out.extend((f.id, m) for m in errors if isinstance(m, str))
    return out


# --- the checks every form gets (issue 11 H1, M3, M4) ---------------------------------------------

EARLIEST_YEAR = 1900
MSG_EARLY_DATE = N_("Datumet kan inte vara före år 1900.")


def _over_limit(f: Field) -> bool:
    """The field's input is longer than its Length(max=…)."""
    if not isinstance(f.data, str):
        return False
    validators: list[object] = list(f.validators)
    # Length(max=-1) means no limit.
    return any(isinstance(v, Length) and 0 <= v.max < len(f.data) for v in validators)


def _leaves(form: Any) -> Iterator[Field]:
    """Every field that holds a value: no lists, no CSRF token."""
    return (f for f in iter_fields(form) if not isinstance(f, FieldList | CSRFTokenField))


def _add_error(f: Field, message: str) -> None:
    if not isinstance(f.errors, list):
        f.errors = list(f.errors)
    f.errors.append(message)


def validate_input(form: Any) -> bool:
    """Format validation, one mechanism for every form: the form's own validators, then at each
    field without an error yet: no bidi control characters in any text (SPEC §4, issue 11 M3),
    no date before 1900. Errors go to their fields; input is kept.

    Returns False when some field's input is over its Length limit (H1): the caller answers with
    the format errors and runs no rule on the input, so the rules only ever see bounded text."""
    form.validate()
    for f in _leaves(form):
        if f.errors:
            continue
        if isinstance(f.data, str) and rules.contains_bidi_control(f.data):
            _add_error(f, gettext(rules.MSG_BIDI))
        elif isinstance(f.data, date) and f.data.year < EARLIEST_YEAR:
            _add_error(f, gettext(MSG_EARLY_DATE))
    return not any(_over_limit(f) for f in _leaves(form))


def free_text_violations(form: Any, pnr_fields: frozenset[str] = frozenset()) -> list[Violation]:
    """R-NOTE-PNR at every field of the form that holds text (free text, and any choice posted
    as text), but those meant to hold a personnummer (`pnr_fields`) and those with an error
    already (over a limit: never looked at). Only after validate_input said the input is usable."""
    return [
        v
        for f in _leaves(form)
        if isinstance(f.data, str) and not f.errors and f.name not in pnr_fields
        for v in rules.check_free_text(f.data, f.name)
    ]
