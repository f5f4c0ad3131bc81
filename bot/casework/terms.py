"""The words of casework: reasons, outcomes, events and amounts, shared by every part.

Codes are stored (a decline reason, a partner's outcome); their labels are msgids,
translated when a reader sees them, so a stored code reads in anyone's language.
"""

from __future__ import annotations

from decimal import Decimal

from bot.flow.values import parse_number, strip_bidi
from bot.i18n import Tr
from bot.i18n_marks import N_

MAX_AMOUNT_YUAN = Decimal(10_000_000)
MAX_TYPED = 2000  # a question, note or report typed by staff
MAX_REPLY = 4000  # an applicant's reply (a person cannot send more than 4096)

DECLINE_REASONS = (
    ("not_caused_by_case", N_("The hardship was not caused by the case")),
    ("compensated", N_("Compensation has already been received")),
    ("own_fault", N_("The applicant's own wrongdoing caused the case")),
    ("refused_compensation", N_("Compensation offered was refused")),
    ("other_office", N_("Another procuratorate handles this case")),
    ("no_information", N_("Not enough information after asking")),
)

DONE_OUTCOMES = (
    ("monitoring", N_("Enrolled in poverty-return monitoring (防止返贫监测)")),
    ("social_assistance", N_("Social assistance arranged (低保, temporary relief, medical aid)")),
    ("industry", N_("Farming or business support arranged")),
    ("training", N_("Skills training or a job arranged")),
    ("education", N_("Education support for the children arranged")),
)

# The questions of a partner's clue (bot/flows/clue.yaml asks them), as the card labels them.
CLUE_FIELDS = (
    ("who", N_("Who")),
    ("where", N_("Where")),
    ("what", N_("What happened")),
)

EVENTS = {
    "intake.started": N_("started"),
    "intake.submitted": N_("sent by the applicant"),
    "intake.claimed": N_("claimed"),
    "intake.taken_over": N_("taken over"),
    "intake.released": N_("released"),
    "intake.asked": N_("question to the applicant"),
    "intake.replied": N_("the applicant replied"),
    "intake.question_closed": N_("question closed by the caseworker"),
    "intake.approved": N_("approved"),
    "intake.declined": N_("declined"),
    "intake.proposed": N_("decision proposed, waiting for a supervisor"),
    "intake.returned": N_("proposed decision returned by a supervisor"),
    "intake.reopened": N_("reopened by a supervisor"),
    "intake.assigned": N_("assigned by a supervisor"),
    "intake.note": N_("note"),
    "intake.correction": N_("the applicant asked for a correction"),
    "intake.corrected": N_("answers corrected"),
    "intake.withdrawn": N_("withdrawn by the applicant"),
    "referral.sent": N_("referred to the agriculture department"),
    "referral.acknowledged": N_("referral acknowledged"),
    "referral.done": N_("referral done"),
    "referral.returned": N_("referral returned"),
    "clue.received": N_("clue received from a partner"),
    "deletion.requested": N_("the applicant asked to delete their data"),
    "deletion.refused": N_("deletion refused"),
    "intake.erased": N_("data erased at the applicant's request"),
    "intake.anonymised": N_("anonymised after the retention period"),
    "draft.expired": N_("closed: not finished in time"),
    "checkin.sent": N_("check-in (return visit) sent to the applicant"),
    "checkin.stopped": N_("the applicant stopped the check-ins"),
    # a read, kept out of the card's history (READS) but named in an export's
    "intake.form_made": N_("printable case form made"),
    "measure.added": N_("plan: a measure added"),
    "measure.sent": N_("plan: measures sent to those responsible"),
    "measure.accepted": N_("plan: a measure accepted"),
    "measure.in_progress": N_("plan: a measure under way"),
    "measure.done": N_("plan: a measure done"),
    "measure.not_possible": N_("plan: a measure not possible"),
}

# Audit actions whose words are shown from the conversation instead.
SHOWN_AS_MESSAGES = frozenset(
    {
        "intake.started",
        "intake.asked",
        "intake.replied",
        "intake.reply_received",
        "intake.note",
        "intake.correction",
        "checkin.answered",
        "checkin.note",
    }
)
# Audit actions that record a read of personal data (the card opened, the ID number
# revealed): kept in the audit trail, not shown in the card's history.
READS = frozenset({"intake.viewed", "intake.id_revealed", "intake.form_made"})
# Conversation entries the applicant wrote (their author is shown as "applicant").
BY_APPLICANT = ("reply", "correction", "checkin", "checkin_note")

REFERRAL_STATUS = {
    "sent": N_("sent, not yet acknowledged"),
    "acknowledged": N_("acknowledged, in progress"),
    "done": N_("done"),
    "returned": N_("returned"),
}


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def parse_amount(text: str) -> Decimal | None:
    """A yuan amount as typed ('3000', '3,000.50', '三千', '3000元'); None if not one."""
    value = parse_number(text)
    if value is None or value > MAX_AMOUNT_YUAN:
        return None
    value = value.quantize(Decimal("0.01"))
    # Checked after rounding to the fen: "0.001" is no amount to approve.
    return value if value > 0 else None


def decline_text(tr: Tr, reason: str) -> str:
    """A decline reason as the reader says it: a code's label, else the caseworker's words."""
    codes = dict(DECLINE_REASONS)
    return tr.gettext(codes[reason]) if reason in codes else strip_bidi(reason)


def outcome_text(tr: Tr, outcome: str) -> str:
    """What a partner did (a code's label), or their words for it."""
    codes = dict(DONE_OUTCOMES)
    return tr.gettext(codes[outcome]) if outcome in codes else strip_bidi(outcome)


def event_name(tr: Tr, action: str) -> str:
    return tr.gettext(EVENTS.get(action, action))


def referral_status(tr: Tr, status: str) -> str:
    return tr.gettext(REFERRAL_STATUS.get(status, status))
