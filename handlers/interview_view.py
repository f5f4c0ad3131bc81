"""How the interview looks in the chat: turns of the core as messages, keyboards and edits.

``handlers/applicant.py`` reads the update and calls the core; what the applicant then
reads is put together here, from the core's texts (``bot.messages``) and from what a
question offers (``bot.asking``), which the terminal ``try`` command draws too. Nothing
here decides anything about the interview: it only says, in Telegram's terms, what the
core decided. The admin's preview goes through the same view, so it shows exactly what
applicants see.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.asking import (
    REVIEW_MOVES,
    Move,
    Offer,
    answered,
    left_step,
    move_name,
    offer,
    stays_open,
)
from bot.commands import sections
from bot.flow import engine
from bot.flow.engine import Ask, Completed, Ended, Review
from bot.flow.model import Flow, Step
from bot.i18n import I18n, Tr
from bot.interview import Stopping, Turn
from bot.messages import (
    HTML,
    answer_text,
    answered_steps,
    brief_text,
    hotlines_text,
    note_text,
    other_ways_to_apply,
    question_text,
    refusal_text,
    review_texts,
    screening_text,
    short_label,
    status_name,
)
from bot.store import Intake
from telegram_channel.buttons.interview import (
    MOVE_OPS,
    REVIEW_OPS,
    QuestionOp,
    ReviewOp,
    StopOp,
    question_data,
    review_data,
    stop_data,
)
from telegram_channel.keyboards import Keyboard, button, rows
from telegram_channel.sending import edit_markup, edit_text, send

# Before each move's name on its button, an emoji that reads without words.
_MARKS = {
    Move.AGREE: "✅ ",
    Move.DECLINE: "",
    Move.DONE: "✔️ ",
    Move.KEEP: "↩️ ",
    Move.SKIP: "⏭ ",
    Move.BACK: "⬅️ ",
    Move.SEND: "📨 ",
    Move.CHANGE: "✏️ ",
    Move.FIRST_PART: "✂️ ",
    Move.ALL_PARTS: "🧩 ",
}
# The moves of a reply keyboard (the phone question's), which come back as typed text.
_TYPED_MOVES = (Move.BACK, Move.SKIP, Move.KEEP)
_TYPED_MARKS = tuple(_MARKS[m].strip() for m in _TYPED_MOVES)
# Short labels share a row two by two, from four choices on; long ones get a row each.
_SHORT_LABEL = 12
# How much of an answer the question it answered shows (the whole is on the review).
_SHOWN_ANSWER = 1000


def move_label(tr: Tr, move: str) -> str:
    return _MARKS[move] + move_name(tr, move)


def may_be_move(text: str) -> bool:
    """Whether ``text`` may be a reply-keyboard button's; when not (nearly every answer),
    the reader's language need not be looked up for ``typed_move``."""
    return text.strip().startswith(_TYPED_MARKS)


def typed_move(tr: Tr, text: str) -> str | None:
    """The move whose reply-keyboard button sent ``text``, if it is one."""
    stripped = text.strip()
    for move in _TYPED_MOVES:
        if stripped == move_label(tr, move):
            return move
    return None


def preview_mark(tr: Tr, turn: Turn, text: str) -> str:
    """Every message of a preview says so: an admin must never mistake it for real."""
    if turn.intake is None or not turn.intake.is_preview:
        return text
    return "🧪 <b>" + tr.gettext("Preview") + "</b> · " + text


class InterviewView:
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    # -- keyboards -----------------------------------------------------------------------

    def question_markup(
        self, tr: Tr, flow: Flow, lang: str, intake_id: int, ask: Ask
    ) -> Keyboard | ReplyKeyboardMarkup:
        offered = offer(flow, lang, ask)
        if offered.share_phone:
            return self._phone_keyboard(tr, offered)
        data = question_data(intake_id, flow.position(ask.step.id))
        buttons: list[list[Any]] = []
        if offered.several:
            for i, c in enumerate(offered.choices):
                mark = "✅ " if c.chosen else "▫️ "
                buttons.append([button(mark + c.label, data(QuestionOp.TOGGLE, i))])
        elif offered.choices:
            labels = [c.label for c in offered.choices]
            short = all(len(label) <= _SHORT_LABEL for label in labels) and len(labels) > 3
            buttons += rows(
                [button(label, data(QuestionOp.CHOOSE, i)) for i, label in enumerate(labels)],
                2 if short else 1,
            )
        for move in offered.answers:
            label = move_label(tr, move)
            if move == Move.DONE and offered.received:
                label = "✔️ " + tr.gettext("Done ({n} received)").format(n=offered.received)
            elif move == Move.FIRST_PART:
                label = "✂️ " + tr.ngettext(
                    "Keep the first {n} character",
                    "Keep the first {n} characters",
                    offered.limit,
                ).format(n=tr.number(offered.limit))
            elif move == Move.ALL_PARTS:
                label = "🧩 " + tr.ngettext(
                    "Keep all of it, in {n} part", "Keep all of it, in {n} parts", offered.parts
                ).format(n=tr.number(offered.parts))
            buttons.append([button(label, data(MOVE_OPS[move]))])
        buttons.append(
            [button(move_label(tr, move), data(MOVE_OPS[move])) for move in offered.navigation]
        )
        return Keyboard(buttons)

    def _phone_keyboard(self, tr: Tr, offered: Offer) -> ReplyKeyboardMarkup:
        """The phone question's keyboard: Telegram shares a phone's number only from a
        reply keyboard, whose other buttons then come back as text (``typed_move``)."""
        share = KeyboardButton("📱 " + tr.gettext("Share my phone number"), request_contact=True)
        moves = [KeyboardButton(move_label(tr, move)) for move in offered.navigation]
        return ReplyKeyboardMarkup([[share], moves], resize_keyboard=True, one_time_keyboard=True)

    def review_markup(self, tr: Tr, intake_id: int) -> Keyboard:
        return Keyboard(
            [
                [button(move_label(tr, move), review_data(intake_id, REVIEW_OPS[move]))]
                for move in REVIEW_MOVES
            ]
        )

    def change_markup(self, tr: Tr, turn: Turn, intake_id: int) -> Keyboard:
        """The answers to pick one to change, in place of the review's buttons."""
        assert turn.flow is not None and isinstance(turn.outcome, Review)
        flow = turn.flow
        steps = answered_steps(flow, turn.outcome.state)
        buttons = [
            button(
                f"{n}. " + short_label(flow.pick(s.text, turn.flow_lang)),
                review_data(intake_id, ReviewOp.EDIT, flow.position(s.id)),
            )
            for n, s in enumerate(steps, start=1)
        ]
        buttons.append(
            button(
                "↩️ " + tr.gettext("Back to the summary"),
                review_data(intake_id, ReviewOp.CLOSE),
            )
        )
        return Keyboard(rows(buttons))

    # -- a turn --------------------------------------------------------------------------

    async def show(self, bot: Bot, chat_id: int, turn: Turn) -> None:
        """Send what a turn means to the applicant (a duplicate is dealt with before)."""
        tr = self.i18n.tr(turn.lang)
        _ = tr.gettext
        if turn.help_for is not None:
            await send(bot, chat_id, help_text(tr, turn.help_for))
            return
        if turn.open_intakes:
            await send(
                bot,
                chat_id,
                status_text(tr, list(turn.open_intakes))
                + "\n\n"
                + _("To apply for someone else, start a new application."),
                Keyboard(
                    [[button("➕ " + _("Start a new application"), stop_data(0, StopOp.NEW))]]
                ),
            )
            return
        if turn.no_draft:
            await send(
                bot,
                chat_id,
                _(
                    "There is no application in progress. Send /start to begin one, or /status to see your applications."
                ),
            )
            return
        flow, outcome, intake = turn.flow, turn.outcome, turn.intake
        assert flow is not None and outcome is not None and intake is not None
        lang = turn.flow_lang
        if intake.is_preview:

            async def say(bot: Bot, chat_id: int, text: str, markup: Any = None) -> Any:
                return await send(bot, chat_id, preview_mark(tr, turn, text), markup)

            if isinstance(outcome, Completed):
                await say(
                    bot,
                    chat_id,
                    _(
                        "The preview is finished; nothing was stored. This is what the caseworker would see:"
                    )
                    + "\n\n"
                    + screening_text(tr, HTML, flow, lang, outcome.screening),
                    ReplyKeyboardRemove(),
                )
                return
        else:
            say = send
        if isinstance(outcome, Completed):
            await say(
                bot,
                chat_id,
                _("Thank you. Your application has been sent.")
                + "\n\n"
                + _("Your reference: {ref}").format(ref="<b>" + tr.ltr(turn.ref or "") + "</b>")
                + "\n\n"
                + _(
                    "A caseworker of the procuratorate will look at it and tell you here what happens next. Send /status at any time to see where it is."
                ),
                ReplyKeyboardRemove(),
            )
            return
        if isinstance(outcome, Ended):
            await say(
                bot,
                chat_id,
                refusal_text(tr, flow, lang, engine.Refusal("declined"))
                + "\n\n"
                + HTML.esc(other_ways_to_apply(tr))
                + "\n\n"
                + _("If you change your mind, send /start."),
                ReplyKeyboardRemove(),
            )
            return
        if (
            turn.sent_kind is not None
            and isinstance(outcome, Ask | Review)
            and not outcome.notes
            and (outcome.refusal is not None or stays_open(turn.intake.state.current, outcome))
        ):
            # A photo, a file, a sticker: a short answer; the question stays above it.
            markup = None
            if isinstance(outcome, Ask) and outcome.step.type == "attachments":
                markup = self.question_markup(tr, flow, lang, intake.id, outcome)
            await say(bot, chat_id, brief_text(tr, HTML, flow, lang, outcome), markup)
            return
        if turn.resumed:
            await say(bot, chat_id, _("Welcome back. Let us continue where you stopped."))
        for note in outcome.notes:
            await say(bot, chat_id, note_text(HTML, flow, lang, note))
        if isinstance(outcome, Review):
            chunks = review_texts(tr, HTML, flow, lang, outcome.state)
            if outcome.refusal is not None:
                chunks[0] = (
                    "⚠️ "
                    + HTML.esc(refusal_text(tr, flow, lang, outcome.refusal))
                    + "\n\n"
                    + chunks[0]
                )
            for chunk in chunks[:-1]:
                await say(bot, chat_id, chunk)
            await say(bot, chat_id, chunks[-1], self.review_markup(tr, intake.id))
            return
        assert isinstance(outcome, Ask)
        text = question_text(tr, HTML, flow, lang, outcome.step, outcome.state, outcome.refusal)
        markup = self.question_markup(tr, flow, lang, intake.id, outcome)
        await say(bot, chat_id, text, markup)

    # -- edits of earlier messages -------------------------------------------------------

    async def refresh_question(self, message: Message | None, turn: Turn) -> None:
        """The question still open (a choice marked or unmarked), shown again in place."""
        flow, out, intake = turn.flow, turn.outcome, turn.intake
        assert flow is not None and isinstance(out, Ask) and intake is not None
        tr = self.i18n.tr(turn.lang)
        markup = self.question_markup(tr, flow, turn.flow_lang, intake.id, out)
        text = question_text(tr, HTML, flow, turn.flow_lang, out.step, out.state)
        await edit_text(message, preview_mark(tr, turn, text), markup)  # type: ignore[arg-type]

    async def close_question(self, turn: Turn, step: Step, message: Message) -> None:
        """Show the answer on the question it answered, and take its buttons away."""
        out, flow = turn.outcome, turn.flow
        if flow is None or out is None:
            return
        state = out.state
        tr = self.i18n.tr(turn.lang)
        if answered(step, state):
            value = answer_text(tr, flow, turn.flow_lang, step, state.answers[step.id], masked=True)
            # A long story (kept in parts) is read whole on the review; here, its start.
            if len(value) > _SHOWN_ANSWER:
                value = value[: _SHOWN_ANSWER - 1] + "…"
            text = question_text(tr, HTML, flow, turn.flow_lang, step, engine.State()).split(
                "\n\n"
            )[0]
            await edit_text(message, preview_mark(tr, turn, f"{text}\n\n✔️ {HTML.esc(value)}"), None)
        else:
            await edit_markup(message, None)

    async def drop_buttons(self, message: Message | None) -> None:
        """Take the buttons off a message that was answered (the review, a confirmation)."""
        await edit_markup(message, None)

    async def review_buttons(
        self, message: Message | None, turn: Turn, intake_id: int, *, changing: bool
    ) -> None:
        """Only the review's buttons change: the answers to pick from, or its own again."""
        tr = self.i18n.tr(turn.lang)
        if changing:
            await edit_markup(message, self.change_markup(tr, turn, intake_id))
        else:
            await edit_markup(message, self.review_markup(tr, intake_id))

    async def leave_phone_question(
        self, bot: Bot, chat_id: int, turn: Turn, given: engine.Input
    ) -> None:
        """After the phone question is left, take its keyboard away (one message cannot
        carry both that and the next question's buttons), saying what was answered."""
        if turn.duplicate or turn.flow is None or turn.intake is None:
            return
        flow, out = turn.flow, turn.outcome
        step = left_step(flow, turn.intake.state, out)
        if step is None or step.type != "phone":
            return
        tr = self.i18n.tr(turn.lang)
        text = "✔️"
        if isinstance(given, engine.Back):
            text = "⬅️"  # went back from the phone question: nothing was answered there
        elif out is not None and step.id in out.state.answers:
            value = answer_text(
                tr, flow, turn.flow_lang, step, out.state.answers[step.id], masked=True
            )
            text = "✔️ " + HTML.esc(value)
        await send(bot, chat_id, preview_mark(tr, turn, text), ReplyKeyboardRemove())

    # -- outside the questions -----------------------------------------------------------

    async def stopping(self, bot: Bot, chat_id: int, stop: Stopping) -> None:
        """What /cancel did, or the question whether to stop the draft."""
        _ = self.i18n.tr(stop.lang).gettext
        if stop.preview_ended:
            await send(
                bot,
                chat_id,
                _("The preview was stopped. Nothing was stored."),
                ReplyKeyboardRemove(),
            )
            return
        if stop.draft_id is None:
            await send(bot, chat_id, _("There is no application in progress to cancel."))
            return
        markup = Keyboard(
            [
                [
                    button(
                        _("Yes, stop and delete my answers"), stop_data(stop.draft_id, StopOp.YES)
                    )
                ],
                [button(_("No, go on"), stop_data(stop.draft_id, StopOp.NO))],
            ]
        )
        await send(
            bot,
            chat_id,
            _("Do you want to stop this application? Your answers so far will be deleted."),
            markup,
        )

    async def stopped(
        self, bot: Bot, chat_id: int, tr: Tr, message: Message | None, done: bool
    ) -> None:
        """After "Yes, stop": the draft was withdrawn, or there was none to withdraw."""
        _ = tr.gettext
        await edit_markup(message, None)
        if done:
            await send(
                bot,
                chat_id,
                _(
                    "Your application was stopped and your answers were deleted. Send /start if you want to begin again."
                ),
                ReplyKeyboardRemove(),
            )
        else:
            await send(bot, chat_id, _("There is no application in progress to cancel."))

    async def status(
        self,
        bot: Bot,
        chat_id: int,
        tr: Tr,
        intakes: list[Intake],
        plans: dict[int, list[str]] | None = None,
    ) -> None:
        await send(bot, chat_id, status_text(tr, intakes, plans))

    async def help(self, bot: Bot, chat_id: int, tr: Tr, roles: set[str]) -> None:
        await send(bot, chat_id, help_text(tr, roles))

    async def edited(self, bot: Bot, chat_id: int, tr: Tr) -> None:
        await send(
            bot,
            chat_id,
            tr.gettext(
                "Editing a sent message does not change your answer. To change an answer, use Back, or Change an answer on the summary."
            ),
        )

    async def unknown_command(self, bot: Bot, chat_id: int, tr: Tr, roles: set[str]) -> None:
        await send(
            bot,
            chat_id,
            tr.gettext("I do not know that command.") + "\n\n" + help_text(tr, roles),
        )


def status_text(tr: Tr, intakes: list[Intake], plans: dict[int, list[str]] | None = None) -> str:
    """The applicant's applications, each with its plan of help when there is one
    (``plans``: lines already in the markup, by intake id)."""
    _ = tr.gettext
    lines = []
    for it in intakes:
        if it.status == "draft":
            lines.append("• " + _("An application you have not sent yet. Send /start to go on."))
        elif it.ref:
            when = tr.date(it.submitted_at or it.created_at)
            lines.append(
                "• <b>"
                + tr.ltr(it.ref)
                + "</b> — "
                + HTML.esc(status_name(tr, it.status))
                + "\n   "
                + _("sent on {date}").format(date=when)
            )
            measures = (plans or {}).get(it.id)
            if measures:
                lines[-1] += "\n   " + _("The help planned for your family:")
                lines[-1] += "".join("\n   – " + m for m in measures)
    if not lines:
        return _("You have no applications yet. Send /start to begin.")
    return "<b>" + _("Your applications") + "</b>\n\n" + "\n\n".join(lines)


def help_text(tr: Tr, roles: set[str] | frozenset[str] = frozenset()) -> str:
    """What the bot is for, then exactly the commands this reader may use, from the same
    table as the "/" menu (bot/commands.py): everyone's, then each role's they hold."""
    _ = tr.gettext
    lines = [
        "<b>" + _("Judicial assistance: help for families in hardship because of a case") + "</b>",
        "",
        _(
            "I ask you some questions, one at a time. Your answers go to a caseworker of the procuratorate, who decides and tells you here."
        ),
    ]
    for title, commands in sections(roles):
        lines.append("")
        if title is not None:
            lines.append("<b>" + HTML.esc(_(title)) + "</b>")
        for c in commands:
            name = f"/{c.name} {c.usage}" if c.usage else f"/{c.name}"
            lines.append(name + " — " + HTML.esc(_(c.about)))
        if title is None:
            lines += ["", HTML.esc(hotlines_text(tr))]
    return "\n".join(lines)
