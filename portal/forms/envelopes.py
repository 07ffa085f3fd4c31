"""Envelopes (issue 16 item 2; SPEC §3.8): two print-only sheets, nothing stored.

- The inner envelope for Skatteverket's förmedlingsuppdrag (routine §3.1): a letter to a person
  with protected personal data goes in a sealed inner envelope with the full personnummer on it
  and the sender's own address on the back; that goes in an outer envelope to Skatteverket's
  forwarding address (förmedlingsadress), with nothing else on it. Skatteverket may have given a
  special forwarding address for the person: then that is used (§3.1, `001` §3.1).
- The "SKYDDADE PERSONUPPGIFTER" envelope label for a written request for data (§3.8): the
  envelope says SKYDDADE PERSONUPPGIFTER with the name and address of the one who is to receive
  the request; inside, with the request, a slip saying who asks and where the data is to be sent.

Each is an A4 sheet of pieces to cut out, framed by crop marks (pdf_templates/inner_envelope.html,
envelope_label.html; print.css ``.cut-*``), with the routine's steps outside the pieces; blank,
the same pieces with lines to write on. A valid post gives the PDF inline, to print: the values
are typed, checked, printed and forgotten. The audit log gets that a sheet was made (who, when),
never what it said; the file name is the sheet's words and the day (render/file_names.py).

The personnummer is printed once, on the inner envelope's front, in the long form ÅÅÅÅMMDD-NNNN
(R-PNR-VALID, like the actualisation's): never in the sheet's header, footer, title or file name.
Every other field gets R-NOTE-PNR (the machine), so that a personnummer cannot slip onto the
outer envelope or the back.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from flask import current_app
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from .. import rules
from ..i18n import N_, DataRequired, _l
from ..models import User
from .actualisation import normalise_personnummer
from .base import CheckContext, RenderOnlyForm

#: An address on a piece: at most this many lines of at most this many characters, so that it
#: fits its piece on the sheet at its type size (tests/test_envelopes.py checks the largest).
ADDRESS_LINES = 5
ADDRESS_LINE_CHARS = 40
NAME_CHARS = 50
#: The most an address field takes as typed (spaces and blank lines included).
ADDRESS_MAX_CHARS = 2 * ADDRESS_LINES * (ADDRESS_LINE_CHARS + 2)

MSG_TOO_MANY_LINES = N_("Högst %(n)s rader.")
MSG_LINE_TOO_LONG = N_("Högst %(n)s tecken på varje rad, så att adressen får plats på kuvertet.")


class AddressLines:
    """An address as it is written on an envelope: at most ``ADDRESS_LINES`` lines of at most
    ``ADDRESS_LINE_CHARS`` characters (blank lines at the ends are dropped, as on the print)."""

    def __call__(self, form: Any, field: Any) -> None:
        if not isinstance(field.data, str):
            return
        lines = address_lines(field.data)
        if len(lines) > ADDRESS_LINES:
            raise ValidationError(_(MSG_TOO_MANY_LINES, n=ADDRESS_LINES))
        if any(len(line) > ADDRESS_LINE_CHARS for line in lines):
            raise ValidationError(_(MSG_LINE_TOO_LONG, n=ADDRESS_LINE_CHARS))


def address_lines(text: str) -> list[str]:
    """The lines of an address as printed: each stripped, empty ones dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def address_text(value: Any) -> str:
    """An address as kept in ``data`` for the print: its lines joined by ``\\n``."""
    return "\n".join(address_lines(value)) if isinstance(value, str) else ""


def _one_line(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _address_field(label: Any, required: Any) -> TextAreaField:
    # Length: an oversized post is refused before any rule reads it (issue 11 H1); room for
    # spaces and blank lines around the lines that AddressLines counts.
    return TextAreaField(
        label,
        validators=[
            Length(max=ADDRESS_MAX_CHARS),
            DataRequired(required),
            AddressLines(),
        ],
        render_kw={"rows": ADDRESS_LINES, "autocomplete": "off", "spellcheck": "false"},
    )


def _name_field(label: Any, required: Any) -> StringField:
    return StringField(
        label,
        validators=[Length(max=NAME_CHARS), DataRequired(required)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class EnvelopeSheet(RenderOnlyForm):
    """What the two sheets share: print only (no message to copy, no list), a blank paper
    version, the PDF shown inline to print, for those who send letters and requests about a
    protected person: social secretaries, unit managers and LVS."""

    submit_roles = frozenset({"social_secretary", "unit_manager", "lvs"})
    has_message = False
    has_blank = True
    pdf_disposition: ClassVar[Literal["attachment", "inline"]] = "inline"
    result_template = "forms/envelope_result.html"
    #: The limits of an address, for the page's hints.
    address_lines: ClassVar[int] = ADDRESS_LINES
    line_chars: ClassVar[int] = ADDRESS_LINE_CHARS

    def subject(self, data: dict[str, Any]) -> str:
        """No message: the sheet's title, fixed words, were one ever asked for."""
        return self.title

    def rendered_action(self, as_pdf: bool) -> str:
        """The sheet printed; a post without as_pdf (the page's one button sends it) is only
        checked, and nothing is made."""
        return "pdf_rendered" if as_pdf else "sheet_checked"

    def case_number(self, data: dict[str, Any]) -> str | None:
        return None  # the sheets have none, and the audit log keeps nothing of them


# --- the inner envelope (§3.1) ---------------------------------------------------------------


class InnerEnvelopeForm(FlaskForm):
    """Innerkuvert för Skatteverkets förmedlingsuppdrag (§3.1)."""

    personnummer = StringField(
        _l("Personnummer eller samordningsnummer"), validators=[Length(max=20)]
    )
    return_address = _address_field(
        _l("Din egen adress (avsändare, på innerkuvertets baksida)"),
        _l("Skriv din egen adress, som står på innerkuvertets baksida."),
    )
    forwarding_address = _address_field(
        _l("Förmedlingsadress (på ytterkuvertet)"),
        _l("Skriv Skatteverkets förmedlingsadress, som står på ytterkuvertet."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.personnummer.render_kw = {
            "autocomplete": "off",
            "inputmode": "numeric",
            "spellcheck": "false",
        }


class InnerEnvelope(EnvelopeSheet):
    """Innerkuvert för Skatteverkets förmedlingsuppdrag (§3.1): the full personnummer on the
    inner envelope, the own address on its back, the forwarding address alone on the outer."""

    key = "inner_envelope"
    title = "Innerkuvert för Skatteverkets förmedlingsuppdrag"
    form_class = InnerEnvelopeForm
    pnr_fields = frozenset({"personnummer"})  # R-PNR-VALID checks it, not R-NOTE-PNR
    treserva_step = N_(
        "Arket skickas inte i Treserva: skriv ut det, klipp ut bitarna och skicka brevet med "
        "post via Skatteverkets förmedlingsuppdrag (§3.1)."
    )
    position = 100
    pdf_words = "innerkuvert"

    def prefill(self, form: Any, user: User, day: date) -> None:
        """The user's unit as the sender, and Skatteverket's forwarding address (config
        FORWARDING_ADDRESS)."""
        form.return_address.data = f"{user.unit.name}\nGöteborgs Stad"
        form.forwarding_address.data = current_app.config["FORWARDING_ADDRESS"]

    def to_data(self, form: Any, user: User) -> dict[str, Any]:
        pnr = _one_line(form.personnummer.data)
        valid = not rules.check_personnummer(pnr, "personnummer")
        return {
            "personnummer": normalise_personnummer(pnr) if valid else pnr,
            "return_address": address_text(form.return_address.data),
            "forwarding_address": address_text(form.forwarding_address.data),
        }

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return rules.check_personnummer(data["personnummer"], "personnummer")


# --- the envelope label for a written request (§3.8) ------------------------------------------


class EnvelopeLabelForm(FlaskForm):
    """Kuvertetikett: SKYDDADE PERSONUPPGIFTER (§3.8)."""

    recipient_name = _name_field(
        _l("Mottagarens namn"), _l("Skriv namnet på den som ska ta emot begäran.")
    )
    recipient_address = _address_field(
        _l("Mottagarens adress"), _l("Skriv adressen till den som ska ta emot begäran.")
    )
    requester_name = _name_field(
        _l("Den som begär uppgifterna"), _l("Skriv namnet på den som begär in uppgifterna.")
    )
    reply_to = _address_field(
        _l("Uppgifterna skickas till"), _l("Skriv vart uppgifterna ska skickas.")
    )


class EnvelopeLabel(EnvelopeSheet):
    """Kuvertetikett för en skriftlig begäran om uppgifter (§3.8): SKYDDADE PERSONUPPGIFTER with
    the recipient's name and address, and the slip saying who asks and where the data goes."""

    key = "envelope_label"
    title = "Kuvertetikett: SKYDDADE PERSONUPPGIFTER"
    form_class = EnvelopeLabelForm
    treserva_step = N_(
        "Etiketten skickas inte i Treserva: skriv ut arket, lägg den skriftliga begäran och "
        "lappen i kuvertet, sätt etiketten på kuvertet och skicka det med post (§3.8)."
    )
    position = 101
    pdf_words = "kuvertetikett"

    def prefill(self, form: Any, user: User, day: date) -> None:
        """The user asks, and the data goes to the user's unit (§3.8 step 1)."""
        form.requester_name.data = user.full_name
        form.reply_to.data = f"{user.unit.name}\nGöteborgs Stad"

    def to_data(self, form: Any, user: User) -> dict[str, Any]:
        return {
            "recipient_name": _one_line(form.recipient_name.data),
            "recipient_address": address_text(form.recipient_address.data),
            "requester_name": _one_line(form.requester_name.data),
            "reply_to": address_text(form.reply_to.data),
        }
