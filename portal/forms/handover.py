"""Hand-overs between units (SPEC §3.6): render only, the case number only, nothing stored.

A hand-over is a Treserva message that tells the next unit in the case's life that something is
done, by the case number alone: Myndighet tells the performer that the assignment is sent (§5.9)
or updated with the checklist (§5.10, §6.1); BoSam (the boendesekreterare, or the koordinator
for relief) gives the residence's unit manager the case number to order access with (§6.1, §6.2);
the performer tells the social secretary that the assignment is received (§7.2).

Each purpose has its recipient (config HANDOVER_RECIPIENTS, named on top of the message and the
PDF), a subject of fixed words and the case number (R-PNR-SUBJECT), and a fixed text. The form has
no free text, and the message names the sender but not the sender's unit: which residence or
home-care unit took the case is indirect location data (§1.1). Who may send a purpose follows the
routine (``PURPOSES``); a purpose the user may not send is refused at its field, and a user who
may send none gets 403 (``may_submit``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import Length

from .. import rules
from ..i18n import N_, InputRequired, _l
from ..models import User
from .base import ByPurpose, CheckContext, Purpose
from .messages import case_subject_rules

MSG_NO_PURPOSE = N_("Välj vad överlämningen gäller.")
MSG_PURPOSE_NOT_YOURS = N_(
    "Den här överlämningen skickas inte från din roll eller enhet enligt rutinen (%(section)s)."
)


PURPOSES: tuple[Purpose, ...] = (
    Purpose(
        code="assignment",
        label="Uppdraget är skickat till utföraren (socialsekreterare, §5.9)",
        section="§5.9",
        # §5.9: "Socialsekreteraren behöver förmedla ärendenumret till utföraren i ett
        # meddelande i Treserva."
        roles=frozenset({"social_secretary"}),
        unit_types=frozenset({"myndighet"}),
        subject="Uppdrag skickat",
        text=(
            "Uppdraget är skickat till er i Treserva. Den enskilde har skyddade personuppgifter. "
            "Checklistan finns i uppdragsdokumentet: gå igenom uppdraget och checklistan och "
            "kontakta socialsekreteraren om något är otydligt (§5.9, §7.2, §8.2)."
        ),
    ),
    Purpose(
        code="assignment_updated",
        label="Uppdraget är uppdaterat med checklistan (socialsekreterare, §5.10)",
        section="§5.10",
        # §5.10: the social secretary recalls the assignment document, adds the checklist, sends
        # it again "och meddelar utföraren om att uppdraget är uppdaterat med checklistan"; also
        # at a prolonged decision (§5.10, §6.1).
        roles=frozenset({"social_secretary"}),
        unit_types=frozenset({"myndighet"}),
        subject="Uppdraget uppdaterat med checklistan",
        text=(
            "Uppdraget är uppdaterat med checklistan och skickat på nytt i Treserva. Gå igenom "
            "den uppdaterade checklistan i uppdragsdokumentet (§5.10, §5.12)."
        ),
    ),
    Purpose(
        code="case_number_to_residence",
        label="Ärendenumret till enhetschef på boendet (BoSam eller koordinator, §6.1, §6.2)",
        section="§6.1, §6.2",
        # §6.1: "Boendesekreterare skickar ärendenumret till enhetschef på boendet som därefter
        # beställer behörighet"; §6.2: the koordinator does the same for relief. The
        # boendesekreterare is a social_secretary of a BoSam unit; its unit manager stands in
        # (§6.1, absence).
        roles=frozenset({"social_secretary", "unit_manager"}),
        unit_types=frozenset({"bosam"}),
        subject="Ärendenummer för beställning av behörighet",
        text=(
            "Ärendet gäller en person med skyddade personuppgifter som erbjuds plats eller "
            "avlösning hos er (§6.1, §6.2). Beställ behörighet till ärendet i ett meddelande i "
            "Treserva till sändlistan '%(lvs_list)s' (§2.2)."
        ),
    ),
    Purpose(
        code="assignment_received",
        label="Uppdraget är mottaget (utförarens enhetschef, §7.2)",
        section="§7.2",
        # §7.2: "Enhetschef/uppdragsmottagare ansvarar för att ... meddela socialsekreterare
        # genom meddelandefunktion i Treserva att uppdraget är mottaget." The performer's unit
        # manager (uppdragsmottagare); the planner compiles day notes and registers deviations
        # and nothing else (SPEC §2), so does not send it.
        roles=frozenset({"unit_manager"}),
        unit_types=frozenset({"boende", "hemtjanst"}),
        subject="Uppdrag mottaget",
        text=(
            "Uppdraget är mottaget (§7.2). Vi går igenom uppdraget och checklistan och "
            "kontaktar dig om något är otydligt."
        ),
    ),
)
BY_CODE = {p.code: p for p in PURPOSES}


class HandoverForm(FlaskForm):
    """Överlämning i Treserva: bara ärendenumret (§5.9, §5.10, §6.1, §6.2, §7.2)."""

    purpose = RadioField(
        _l("Överlämningen gäller"),
        choices=[(p.code, p.label) for p in PURPOSES],
        # A purpose the user may not send is refused by the rule, in Swedish, at the field.
        validate_choice=False,
    )
    case_number = StringField(
        _l("Ärendenummer"), validators=[InputRequired(_l("Ange ärendenumret.")), Length(max=32)]
    )


def handover_data(form: HandoverForm, recipients: dict[str, str], lvs_list: str) -> dict[str, Any]:
    """The message's content: the case number and the purpose's fixed words, nothing posted
    besides."""
    purpose = BY_CODE.get(form.purpose.data or "")
    return {
        "purpose": purpose.code if purpose else "",
        "case_number": (form.case_number.data or "").strip(),
        "recipient": recipients.get(purpose.code, "") if purpose else "",
        "section": purpose.section if purpose else "",
        "heading": purpose.subject if purpose else "",
        "text": purpose.text % {"lvs_list": lvs_list} if purpose else "",
    }


def handover_subject(data: dict[str, Any]) -> str:
    """Fixed words and the case number, nothing else (§5.9: no personal data in the subject)."""
    purpose = BY_CODE.get(data.get("purpose") or "")
    opening = purpose.subject if purpose else "Överlämning"
    return f"{opening}, ärende {data['case_number']}"


def check_handover(data: dict[str, Any], user: User, pattern: str) -> list[rules.Violation]:
    """A purpose of the routine that this user sends, and a case number that is one."""
    out: list[rules.Violation] = []
    purpose = BY_CODE.get(data.get("purpose") or "")
    if purpose is None:
        out.append(rules.Violation("R-REQUIRED", "purpose", MSG_NO_PURPOSE))
    elif not purpose.allows(user):
        out.append(
            rules.Violation(
                "R-HANDOVER-SENDER", "purpose", MSG_PURPOSE_NOT_YOURS, {"section": purpose.section}
            )
        )
    return out + case_subject_rules(data, handover_subject(data), pattern)


class Handover(ByPurpose):
    """Överlämning mellan enheter: bara ärendenumret (§5.9, §5.10, §6.1, §6.2, §7.2)."""

    key = "handover"
    title = "Överlämning i Treserva"
    form_class = HandoverForm
    purposes = PURPOSES
    # The recipient is the purpose's (data["recipient"], shown by the result template).
    distribution_list = "handover"
    result_template = "forms/handover_result.html"
    # §5.9, §5.10, §7.2: the hand-over is a message in Treserva ("i ett meddelande i Treserva",
    # "genom meddelandefunktion i Treserva"); the recipient is the purpose's.
    treserva_step = N_(
        "Rutinen kräver att överlämningen skickas i Treserva: kopiera meddelandet och skicka det "
        "med Treservas meddelandefunktion till %(to)s (§5.9, §5.10, §6.1, §7.2)."
    )
    position = 80

    def to_data(self, form: HandoverForm, user: User) -> dict[str, Any]:
        self.offer(form, user)  # a page shown again offers only the user's own purposes
        config = current_app.config
        return handover_data(
            form, config["HANDOVER_RECIPIENTS"], config["DISTRIBUTION_LISTS"]["lvs"]
        )

    def check(self, data: dict[str, Any], ctx: CheckContext) -> list[rules.Violation]:
        return check_handover(data, ctx.user, ctx.config["CASE_NUMBER_PATTERN"])

    def subject(self, data: dict[str, Any]) -> str:
        return handover_subject(data)
