"""Staff buttons as Telegram shows them: each action's label, and the keyboards the
intake card, a referral and the notices of the outbox carry.

Which actions a person has comes from the core (``bot.casework.allowed``, and a notice's
kind); this module only draws them, in the reader's language, with the data from
telegram_channel/buttons.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.casework import Action, Kind, Step
from bot.casework.actions import referral_actions
from bot.casework.checkins import CHOICE_NAMES, Choice
from bot.casework.desk import Choices
from bot.i18n import I18n, Tr
from bot.i18n_marks import N_
from bot.store.outbox import Queued
from telegram_channel.buttons import Tap, encode
from telegram_channel.buttons.answer import done_data
from telegram_channel.buttons.checkin import OP_OF, CheckinOp, checkin_data
from telegram_channel.buttons.plan import MeasureOp, PlanOp, measure_data, plan_data
from telegram_channel.keyboards import Button, Keyboard, button

# action -> (emoji, label); "{n}" in a label is the number of files.
LABELS: dict[Action, tuple[str, str]] = {
    Action.CLAIM: ("🙋", N_("Claim")),
    Action.TAKE_OVER: ("🔁", N_("Take over")),
    Action.ASK: ("❓", N_("Ask the applicant")),
    Action.APPROVE: ("✅", N_("Approve")),
    Action.DECLINE: ("❌", N_("Decline")),
    Action.RELEASE: ("↩️", N_("Release")),
    Action.ERASE: ("🗑", N_("Erase the data")),
    Action.REFUSE_DELETION: ("", N_("Refuse deletion")),
    Action.REFER: ("🤝", N_("Refer to a partner")),
    Action.NOTE: ("📝", N_("Add a note")),
    Action.SHOW_ATTACHMENTS: ("📎", N_("Show attachments ({n})")),
    Action.REVEAL_ID: ("👁", N_("Show the ID number")),
    Action.CLOSE_QUESTION: ("⏹", N_("Stop waiting for the answer")),
    Action.PRINT_FORM: ("🖨", N_("Printable form (Word)")),
    Action.ACKNOWLEDGE: ("👍", N_("Acknowledge")),
    Action.REPORT_DONE: ("✅", N_("Report what was done")),
    Action.RETURN: ("↩️", N_("Return it")),
    Action.ASSIGN: ("👥", N_("Assign to a caseworker")),
    Action.CONFIRM_DECISION: ("✅", N_("Confirm the decision")),
    Action.RETURN_DECISION: ("↩️", N_("Return with a note")),
    Action.REOPEN: ("🔓", N_("Reopen")),
    Action.PLAN: ("🗂", N_("Household plan")),
}
# Actions shown on one row with the action before them.
_BESIDE = {
    Action.DECLINE: Action.APPROVE,
    Action.REFUSE_DELETION: Action.ERASE,
    Action.RETURN_DECISION: Action.CONFIRM_DECISION,
}
# A supervisor's buttons on a proposed decision carry the proposal, not the intake.
ON_PROPOSAL = (Action.CONFIRM_DECISION, Action.RETURN_DECISION)


def label(tr: Tr, action: Action, files: int = 0) -> str:
    emoji, text = LABELS[action]
    words = tr.gettext(text).format(n=files) if "{n}" in text else tr.gettext(text)
    return f"{emoji} {words}" if emoji else words


def action_rows(
    tr: Tr, actions: Sequence[Action], target: int, *, files: int = 0, proposal: int = 0
) -> list[list[Button]]:
    """One row per action, but an action and its counterpart (approve and decline) side
    by side."""
    rows: list[list[Button]] = []
    before: Action | None = None
    for action in actions:
        on = proposal if action in ON_PROPOSAL else target
        if action is Action.PLAN:  # the plan's own board (telegram_channel/buttons/plan.py)
            key = button(label(tr, action), plan_data(PlanOp.VIEW, target))
        else:
            key = button(label(tr, action, files), encode(Tap.of(action), on))
        if rows and before is not None and _BESIDE.get(action) == before:
            rows[-1].append(key)
        else:
            rows.append([key])
        before = action
    return rows


def card_keyboard(
    tr: Tr, intake_id: int, actions: Sequence[Action], files: int, proposal: int | None = None
) -> Keyboard:
    """Under an intake card: what the caseworker may do now, then the way back."""
    rows = action_rows(tr, actions, intake_id, files=files, proposal=proposal or 0)
    rows.append([button("📋 " + tr.gettext("Back to the queue"), encode(Tap.QUEUE, 0))])
    return Keyboard(rows)


def referral_keyboard(tr: Tr, referral_id: int, actions: Sequence[Action]) -> Keyboard:
    return Keyboard(action_rows(tr, actions, referral_id))


def choices_keyboard(tr: Tr, choices: Choices, target: int, own_words: str) -> Keyboard:
    """A list to pick from (reasons, liaisons, outcomes); then, where the core offers it,
    ``own_words`` (a label) to type instead, and Cancel."""
    pick = Tap.of(choices.action, Step.PICK)
    rows = [
        [button(tr.gettext(o.label) if o.translate else o.label, encode(pick, target, o.arg))]
        for o in choices.options
    ]
    if choices.own_words:
        rows.append([button(own_words, encode(Tap.of(choices.action, Step.OWN_WORDS), target))])
    if choices.cancel:
        rows.append([button(tr.gettext("Cancel"), encode(Tap.CANCEL, target))])
    return Keyboard(rows)


def open_button(tr: Tr, intake_id: int) -> Button:
    return button("📂 " + tr.gettext("Open"), encode(Tap.OPEN, intake_id))


def done_button(tr: Tr, intake_id: int) -> Button:
    """The applicant's Done, once their answer to a caseworker's question is all sent."""
    return button("✔️ " + tr.gettext("Done: send my answer"), done_data(intake_id))


def checkin_keyboard(tr: Tr, checkin_id: int) -> Keyboard:
    """Under a check-in: the four answers, then the one tap that stops check-ins."""

    def key(choice: Choice) -> Button:
        emoji, name = CHOICE_NAMES[choice]
        return button(f"{emoji} {tr.gettext(name)}", checkin_data(checkin_id, OP_OF[choice]))

    stop = "🔕 " + tr.gettext("Stop these questions")
    return Keyboard(
        [
            [key(Choice.BETTER), key(Choice.SAME)],
            [key(Choice.WORSE)],
            [key(Choice.TALK)],
            [button(stop, checkin_data(checkin_id, CheckinOp.STOP))],
        ]
    )


def after_checkin_keyboard(tr: Tr, checkin_id: int) -> Keyboard:
    """After an answer: nothing to add (Skip), or no more check-ins."""
    return Keyboard(
        [
            [button("⏭ " + tr.gettext("Skip"), checkin_data(checkin_id, CheckinOp.SKIP))],
            [
                button(
                    "🔕 " + tr.gettext("Stop these questions"),
                    checkin_data(checkin_id, CheckinOp.STOP),
                )
            ],
        ]
    )


class NoticeButtons:
    """The buttons a queued notice gets from its kind, in its reader's language."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    def __call__(self, item: Queued) -> Keyboard | None:
        try:
            kind = Kind(item.kind)
        except ValueError:  # none (an earlier version's row), or one this version lacks
            return None
        tr = self.i18n.tr(item.lang)
        if kind is Kind.PROPOSED and item.proposal_id is not None and item.intake_id is not None:
            decide = action_rows(tr, ON_PROPOSAL, item.intake_id, proposal=item.proposal_id)
            return Keyboard([*decide, [open_button(tr, item.intake_id)]])
        if (
            kind
            in (
                Kind.REPLY,
                Kind.DELETION_REQUESTED,
                Kind.CORRECTION,
                Kind.ASSIGNED,
                Kind.PROPOSAL_RETURNED,
                Kind.REOPENED,
                Kind.CHECKIN_ALERT,
            )
            and item.intake_id is not None
        ):
            return Keyboard([[open_button(tr, item.intake_id)]])
        if kind is Kind.MEASURE_CHANGED and item.intake_id is not None:
            view = button(
                "🗂 " + tr.gettext("Household plan"), plan_data(PlanOp.VIEW, item.intake_id)
            )
            return Keyboard([[view, open_button(tr, item.intake_id)]])
        if kind is Kind.MEASURES and item.intake_id is not None:
            return Keyboard(
                [
                    [
                        button(
                            "👍 " + tr.gettext("Accept all"),
                            measure_data(MeasureOp.ACCEPT_ALL, item.intake_id),
                        )
                    ],
                    [
                        button(
                            "📋 " + tr.gettext("Report on each"),
                            measure_data(MeasureOp.OPEN, item.intake_id),
                        )
                    ],
                ]
            )
        if kind is Kind.CHECKIN and item.checkin_id is not None:
            return checkin_keyboard(tr, item.checkin_id)
        if kind is Kind.QUESTION and item.intake_id is not None:
            # The applicant answers in as many messages as they like, then taps Done.
            return Keyboard([[done_button(tr, item.intake_id)]])
        if kind is Kind.REFERRAL and item.referral_id is not None:
            return referral_keyboard(tr, item.referral_id, referral_actions("sent"))
        if kind is Kind.DIGEST and item.opens:
            keys = [
                button("📂 " + ref, encode(Tap.OPEN, intake_id)) for intake_id, ref in item.opens
            ]
            return Keyboard([keys[i : i + 2] for i in range(0, len(keys), 2)])
        return None


# --- a household's plan ----------------------------------------------------------------


def plan_button(tr: Tr, intake_id: int) -> Keyboard:
    """The way from a referral made to the household's plan it is now part of."""
    return Keyboard(
        [[button("🗂 " + tr.gettext("Household plan"), plan_data(PlanOp.VIEW, intake_id))]]
    )


def plan_keyboard(tr: Tr, intake_id: int, *, holds: bool, unsent: int) -> Keyboard:
    """Under a plan: add a measure and send the plan (for the holder), then the card."""
    rows: list[list[Button]] = []
    if holds:
        rows.append([button("➕ " + tr.gettext("Add a measure"), plan_data(PlanOp.ADD, intake_id))])
    if holds and unsent:
        send_label = tr.ngettext(
            "Send {n} measure to those responsible",
            "Send {n} measures to those responsible",
            unsent,
        ).format(n=unsent)
        rows.append([button("📨 " + send_label, plan_data(PlanOp.SEND, intake_id))])
    rows.append([open_button(tr, intake_id)])
    return Keyboard(rows)


def kinds_keyboard(tr: Tr, intake_id: int, kinds: Sequence[tuple[int, str, bool]]) -> Keyboard:
    """The kinds of help to pick from: ``(index, label, asked for)``, those the applicant
    asked for marked; then typing one's own, and Cancel."""
    rows = [
        [button(("⭐ " if chosen else "") + name, plan_data(PlanOp.KIND, intake_id, index))]
        for index, name, chosen in kinds
    ]
    rows.append(
        [
            button(
                "✍️ " + tr.gettext("Something else (type it)"),
                plan_data(PlanOp.KIND_WORDS, intake_id),
            )
        ]
    )
    rows.append([button(tr.gettext("Cancel"), encode(Tap.CANCEL, intake_id))])
    return Keyboard(rows)


def bodies_keyboard(tr: Tr, intake_id: int, bodies: Sequence[tuple[int, str]]) -> Keyboard:
    rows = [[button(name, plan_data(PlanOp.BODY, intake_id, uid))] for uid, name in bodies]
    rows.append([button(tr.gettext("Cancel"), encode(Tap.CANCEL, intake_id))])
    return Keyboard(rows)


def due_keyboard(tr: Tr, intake_id: int, days: Sequence[int]) -> Keyboard:
    keys = [
        button(
            tr.ngettext("in {n} day", "in {n} days", d).format(n=tr.number(d)),
            plan_data(PlanOp.DUE, intake_id, d),
        )
        for d in days
    ]
    return Keyboard(
        [
            keys,
            [button("✍️ " + tr.gettext("Type a date"), plan_data(PlanOp.DUE_WORDS, intake_id))],
            [button(tr.gettext("Cancel"), encode(Tap.CANCEL, intake_id))],
        ]
    )


# A partner's buttons on one measure, numbered as the card numbers it, by its state.
_MEASURE_KEYS = (
    (MeasureOp.ACCEPT, "👍", ("proposed",)),
    (MeasureOp.UNDER_WAY, "⏳", ("proposed", "accepted")),
    (MeasureOp.DONE, "✅", ("proposed", "accepted", "in_progress")),
    (MeasureOp.NOT_POSSIBLE, "⛔", ("proposed", "accepted", "in_progress")),
)


def measures_keyboard(
    tr: Tr, intake_id: int, measures: Sequence[tuple[int, str]]
) -> Keyboard | None:
    """Under a partner's card: "accept all" while any is proposed, then one row per open
    measure ``(id, state)`` with the steps its state allows; None when all are closed."""
    rows: list[list[Button]] = []
    if any(state == "proposed" for _id, state in measures):
        rows.append(
            [
                button(
                    "👍 " + tr.gettext("Accept all"), measure_data(MeasureOp.ACCEPT_ALL, intake_id)
                )
            ]
        )
    for n, (measure_id, state) in enumerate(measures, 1):
        keys = [
            button(f"{emoji} {n}", measure_data(op, measure_id))
            for op, emoji, states in _MEASURE_KEYS
            if state in states
        ]
        if keys:
            rows.append(keys)
    return Keyboard(rows) if rows else None


def more_keyboard(tr: Tr, page: int) -> Keyboard:
    return Keyboard([[button("▶️ " + tr.gettext("More"), measure_data(MeasureOp.PAGE, page))]])
