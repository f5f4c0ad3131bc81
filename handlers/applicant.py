"""The applicant's side of the chat: a thin adapter between Telegram and the interview.

One generic handler serves every step type: it turns the update into an
engine input, lets ``Interview`` apply and store it, and renders the
outcome. Nothing here decides anything about the interview.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Bot,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.flow import engine
from bot.flow.engine import Ask, Completed, Ended, Review
from bot.flow.model import Flow, Step
from bot.i18n import I18n, Tr
from bot.interview import Applicant, Interview, Turn
from bot.messages import (
    HTML,
    answer_text,
    answered_steps,
    note_text,
    question_text,
    refusal_text,
    review_texts,
    screening_text,
    short_label,
    status_name,
)
from bot.store import Intake
from handlers.common import as_int, fits, pack, unpack
from handlers.router import PendingRouter
from telegram_channel.keyboards import Keyboard, button, rows
from telegram_channel.sending import acknowledge, beside, edit_markup, edit_text, send

log = logging.getLogger(__name__)

# Button prefixes: a = a question, r = the review, x = withdraw confirmation.
Q, R, X = "a", "r", "x"
# ops on a question
CHOOSE, TOGGLE, DONE, SKIP, KEEP, AGREE, DECLINE, BACK = "c", "t", "d", "s", "k", "y", "n", "b"
# What the other buttons of a question mean to the engine; only the tapped one is built
# (building all six per tap was 3% of the bot's CPU in bench/).
_BUTTON_INPUTS: dict[str, Callable[[str], engine.Input]] = {
    AGREE: lambda step: engine.Picked(step, engine.AGREE),
    DECLINE: lambda step: engine.Picked(step, engine.DECLINE),
    DONE: engine.Done,
    SKIP: engine.Skip,
    KEEP: engine.Keep,
    BACK: engine.Back,
}
# ops on the review
SUBMIT, CHANGE, EDIT, CLOSE = "u", "m", "e", "z"

_UNSUPPORTED = (
    ("sticker", filters.Sticker.ALL),
    ("voice", filters.VOICE),
    ("video_note", filters.VIDEO_NOTE),
    ("video", filters.VIDEO),
    ("audio", filters.AUDIO),
    ("animation", filters.ANIMATION),
    ("location", filters.LOCATION),
    ("poll", filters.POLL),
)


def applicant_of(update: Update) -> Applicant | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Applicant(user.id, chat.id, user.language_code)


class ApplicantHandlers:
    def __init__(
        self, interview: Interview, i18n: I18n, router: PendingRouter | None = None
    ) -> None:
        self.interview = interview
        self.i18n = i18n
        # Typed answers the bot asked someone for (staff prompts, replies to a
        # caseworker's question) are handed to whoever asked, not to the interview.
        self.router = router
        # Set by the language handlers: asks someone whose language is unknown first.
        self.offer_language: (
            Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[bool]] | None
        ) = None

    # -- rendering -----------------------------------------------------------------------

    def _back_label(self, tr: Tr) -> str:
        return "⬅️ " + tr.gettext("Back")

    def question_markup(
        self, tr: Tr, flow: Flow, lang: str, intake_id: int, step: Step, ask: Ask
    ) -> Keyboard | ReplyKeyboardMarkup:
        _ = tr.gettext
        head = f"{Q}:{intake_id}:{flow.position(step.id)}:"  # pack(Q, intake_id, idx, op, arg)

        def data(op: str, arg: int | str = 0) -> str:
            return fits(f"{head}{op}:{arg}")

        if step.type == "phone":
            keys = [[KeyboardButton("📱 " + _("Share my phone number"), request_contact=True)]]
            extra = []
            if ask.has_previous:
                extra.append(KeyboardButton("↩️ " + _("Keep my answer")))
            if not step.required:
                extra.append(KeyboardButton("⏭ " + _("Skip")))
            extra.append(KeyboardButton(self._back_label(tr)))
            keys.append(extra)
            return ReplyKeyboardMarkup(keys, resize_keyboard=True, one_time_keyboard=True)

        buttons: list[list[Any]] = []
        if step.type == "consent":
            buttons.append([button("✅ " + _("I agree"), data(AGREE))])
            buttons.append([button(_("I do not agree"), data(DECLINE))])
        elif step.type == "choice":
            labels = [flow.pick(c.label, lang) for c in step.choices]
            per_row = 2 if all(len(label) <= 12 for label in labels) and len(labels) > 3 else 1
            buttons += rows(
                [button(label, data(CHOOSE, i)) for i, label in enumerate(labels)], per_row
            )
        elif step.type == "multi_choice":
            for i, c in enumerate(step.choices):
                mark = "✅ " if c.value in ask.state.pending else "▫️ "
                buttons.append([button(mark + flow.pick(c.label, lang), data(TOGGLE, i))])
            buttons.append([button("✔️ " + _("Done"), data(DONE))])
        elif step.type == "attachments":
            n = len(ask.state.pending)
            if n:
                buttons.append([button("✔️ " + _("Done ({n} received)").format(n=n), data(DONE))])
        nav = []
        if ask.has_previous and step.type not in ("consent", "multi_choice", "attachments"):
            nav.append(button("↩️ " + _("Keep my answer"), data(KEEP)))
        if not step.required and step.type != "consent":
            nav.append(button("⏭ " + _("Skip"), data(SKIP)))
        nav.append(button(self._back_label(tr), data(BACK)))
        buttons.append(nav)
        return Keyboard(buttons)

    def review_markup(self, tr: Tr, intake_id: int) -> Keyboard:
        _ = tr.gettext
        return Keyboard(
            [
                [button("📨 " + _("Send"), pack(R, intake_id, SUBMIT, 0))],
                [button("✏️ " + _("Change an answer"), pack(R, intake_id, CHANGE, 0))],
                [button(self._back_label(tr), pack(R, intake_id, BACK, 0))],
            ]
        )

    def change_markup(self, tr: Tr, turn: Turn, intake_id: int) -> Keyboard:
        assert turn.flow is not None and isinstance(turn.outcome, Review)
        flow = turn.flow
        steps = answered_steps(flow, turn.outcome.state)
        buttons = [
            button(
                f"{n}. " + short_label(flow.pick(s.text, turn.flow_lang)),
                pack(R, intake_id, EDIT, flow.position(s.id)),
            )
            for n, s in enumerate(steps, start=1)
        ]
        buttons.append(
            button("↩️ " + tr.gettext("Back to the summary"), pack(R, intake_id, CLOSE, 0))
        )
        return Keyboard(rows(buttons))

    async def render(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, turn: Turn) -> None:
        """Send what a turn means to the applicant."""
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        bot = ctx.bot
        tr = self.i18n.tr(turn.lang)
        _ = tr.gettext
        if turn.duplicate:
            again = await self._again(update, ctx)
            if again is None:
                return
            turn, tr = again, self.i18n.tr(again.lang)
            _ = tr.gettext
        if turn.open_intakes:
            await send(
                bot,
                chat_id,
                self.status_text(tr, list(turn.open_intakes))
                + "\n\n"
                + _("To apply for someone else, start a new application."),
                Keyboard([[button("➕ " + _("Start a new application"), pack(X, 0, "new"))]]),
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
                + _("If you change your mind, send /start."),
                ReplyKeyboardRemove(),
            )
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
        markup = self.question_markup(tr, flow, lang, intake.id, outcome.step, outcome)
        await say(bot, chat_id, text, markup)

    # -- commands ------------------------------------------------------------------------

    async def start(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        if self.offer_language is not None and await self.offer_language(update, ctx):
            return
        turn = await self.interview.begin(applicant, update.update_id)
        await self.render(update, ctx, turn)

    async def help(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = self.i18n.tr(await self._lang(applicant))
        await send(ctx.bot, applicant.chat_id, help_text(tr, await self._roles(applicant)))

    async def _roles(self, applicant: Applicant) -> set[str]:
        return await self.interview.store.roles.roles_of(applicant.user_id)

    async def _lang(self, applicant: Applicant) -> str:
        chosen = await self.interview.store.users.language(applicant.user_id)
        return self.i18n.pick(chosen, applicant.telegram_lang)

    async def status(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = self.i18n.tr(await self._lang(applicant))
        intakes = await self.interview.store.intakes.for_applicant(applicant.user_id)
        await send(ctx.bot, applicant.chat_id, self.status_text(tr, intakes))

    def status_text(self, tr: Tr, intakes: list[Intake]) -> str:
        _ = tr.gettext
        lines = []
        for it in intakes:
            if it.status == "draft":
                lines.append(
                    "• " + _("An application you have not sent yet. Send /start to go on.")
                )
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
        if not lines:
            return _("You have no applications yet. Send /start to begin.")
        return "<b>" + _("Your applications") + "</b>\n\n" + "\n\n".join(lines)

    async def cancel(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        if self.router and await self.router.cancel(update, ctx):
            return
        turn = await self.interview.show(applicant)
        tr = self.i18n.tr(turn.lang)
        _ = tr.gettext
        if turn.intake is not None and turn.intake.is_preview:
            await self.interview.end_preview(applicant)
            await send(
                ctx.bot,
                applicant.chat_id,
                _("The preview was stopped. Nothing was stored."),
                ReplyKeyboardRemove(),
            )
            return
        if turn.intake is None:
            await send(
                ctx.bot, applicant.chat_id, _("There is no application in progress to cancel.")
            )
            return
        markup = Keyboard(
            [
                [button(_("Yes, stop and delete my answers"), pack(X, turn.intake.id, "y"))],
                [button(_("No, go on"), pack(X, turn.intake.id, "n"))],
            ]
        )
        await send(
            ctx.bot,
            applicant.chat_id,
            _("Do you want to stop this application? Your answers so far will be deleted."),
            markup,
        )

    # -- answers -------------------------------------------------------------------------

    async def on_message(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Any message that is not a command: an answer to the current question."""
        applicant = applicant_of(update)
        message = update.effective_message
        if applicant is None or message is None:
            return
        if (
            message.reply_to_message is not None
            and self.router
            and await self.router.take(update, ctx)
        ):
            return
        given = await self._input_from(applicant, message)
        turn = await self.interview.apply(applicant, given, update.update_id)
        if turn.no_draft:
            if self.router and await self.router.take(update, ctx):
                return
            if await self.interview.store.roles.roles_of(applicant.user_id):
                tr = self.i18n.tr(turn.lang)
                await send(ctx.bot, applicant.chat_id, help_text(tr, await self._roles(applicant)))
                return
            # Someone who writes "hello" before /start wants to begin.
            intakes = await self.interview.store.intakes.for_applicant(applicant.user_id)
            if not intakes:
                turn = await self.interview.begin(applicant, update.update_id)
        await self._acknowledge_phone(update, ctx, turn, given)
        await self.render(update, ctx, turn)

    async def _acknowledge_phone(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, turn: Turn, given: engine.Input
    ) -> None:
        """After a phone answer, take the phone keyboard away (one message can't carry both)."""
        if turn.duplicate or turn.flow is None or turn.intake is None:
            return
        flow, state_before = turn.flow, turn.intake.state
        if state_before.current is None or not flow.has_step(state_before.current):
            return
        step = flow.step(state_before.current)
        if step.type != "phone":
            return
        out = turn.outcome
        if isinstance(out, Ask) and out.step.id == step.id:
            return  # still on the phone question: keep its keyboard
        tr = self.i18n.tr(turn.lang)
        text = "✔️"
        if isinstance(given, engine.Back):
            text = "⬅️"  # went back from the phone question: nothing was answered there
        elif out is not None and step.id in out.state.answers:
            value = answer_text(
                tr, flow, turn.flow_lang, step, out.state.answers[step.id], masked=True
            )
            text = "✔️ " + HTML.esc(value)
        await send(
            ctx.bot,
            update.effective_chat.id,  # type: ignore[union-attr]
            preview_mark(tr, turn, text),
            ReplyKeyboardRemove(),
        )

    async def _input_from(
        self, applicant: Applicant, message: Message
    ) -> engine.Input | Callable[[Flow, engine.State], engine.Input | None]:
        if message.contact is not None:
            return engine.SharedContact(message.contact.phone_number)
        if message.photo:
            best = message.photo[-1]
            return engine.Attached(
                {
                    "kind": "photo",
                    "file_id": best.file_id,
                    "unique": best.file_unique_id,
                    "size": best.file_size,
                }
            )
        if message.document is not None:
            doc = message.document
            return engine.Attached(
                {
                    "kind": "document",
                    "file_id": doc.file_id,
                    "unique": doc.file_unique_id,
                    "name": doc.file_name,
                    "mime": doc.mime_type,
                    "size": doc.file_size,
                }
            )
        if message.text is not None:
            text = message.text
            stripped = text.strip()
            if not stripped.startswith(("⬅️", "⏭", "↩️")):
                return engine.Typed(text)  # the common case: no language lookup needed
            # The phone question's keyboard sends its buttons as text.
            tr = self.i18n.tr(await self._lang(applicant))
            if stripped == self._back_label(tr):
                return engine.Back()
            if stripped == "⏭ " + tr.gettext("Skip"):
                return _on_current(engine.Skip)
            if stripped == "↩️ " + tr.gettext("Keep my answer"):
                return _on_current(engine.Keep)
            return engine.Typed(text)
        for kind, flt in _UNSUPPORTED:
            if flt.check_update(Update(0, message=message)):
                return engine.Unsupported(kind)
        return engine.Unsupported("file")

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        applicant = applicant_of(update)
        if query is None or applicant is None:
            return
        # The spinner on the button stops while the answer is worked out and stored.
        await beside(acknowledge(query), self._on_button_data(update, ctx, query.data or ""))

    async def _on_button_data(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, data: str
    ) -> None:
        if data.startswith(Q + ":"):
            await self._question_button(update, ctx, data)
        elif data.startswith(R + ":"):
            await self._review_button(update, ctx, data)
        elif data.startswith(X + ":"):
            await self._cancel_button(update, ctx, data)

    async def _question_button(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, data: str
    ) -> None:
        applicant = applicant_of(update)
        assert applicant is not None
        parts = unpack(data, Q, 5) or ["", "", "", ""]
        intake_id, idx, op, arg = as_int(parts[0]), as_int(parts[1]), parts[2], as_int(parts[3])
        if intake_id is None or idx is None or arg is None:
            await self.render(update, ctx, await self._stale(applicant))
            return

        def build(flow: Flow, state: engine.State) -> engine.Input | None:
            if not 0 <= idx < len(flow.steps):
                return None
            step = flow.steps[idx]
            if op in (CHOOSE, TOGGLE):
                if not 0 <= arg < len(step.choices):
                    return None
                return engine.Picked(step.id, step.choices[arg].value)
            make = _BUTTON_INPUTS.get(op)
            return None if make is None else make(step.id)

        turn = await self.interview.apply(applicant, build, update.update_id, intake_id=intake_id)
        if turn.duplicate:
            await self.render(update, ctx, turn)
            return
        out, flow = turn.outcome, turn.flow
        message = update.callback_query.message  # type: ignore[union-attr]
        msg = message if isinstance(message, Message) else None
        refused = out is None or getattr(out, "refusal", None) is not None
        if flow is not None and not refused and 0 <= idx < len(flow.steps):
            step = flow.steps[idx]
            if op == TOGGLE and isinstance(out, Ask) and out.step.id == step.id:
                # A toggle changes the marks on the same question, in place.
                tr = self.i18n.tr(turn.lang)
                markup = self.question_markup(tr, flow, turn.flow_lang, intake_id, step, out)
                text = question_text(tr, HTML, flow, turn.flow_lang, step, out.state)
                await edit_text(msg, preview_mark(tr, turn, text), markup)  # type: ignore[arg-type]
                return
            if msg is not None:
                await beside(self._close_question(turn, step, msg), self.render(update, ctx, turn))
                return
        await self.render(update, ctx, turn)

    async def _close_question(self, turn: Turn, step: Step, message: Message) -> None:
        """Show the answer on the question it answered, and take its buttons away."""
        out, flow = turn.outcome, turn.flow
        if flow is None or out is None:
            return
        state = out.state
        tr = self.i18n.tr(turn.lang)
        if step.id in state.answers and (state.current != step.id):
            value = answer_text(tr, flow, turn.flow_lang, step, state.answers[step.id], masked=True)
            text = question_text(tr, HTML, flow, turn.flow_lang, step, engine.State()).split(
                "\n\n"
            )[0]
            await edit_text(message, preview_mark(tr, turn, f"{text}\n\n✔️ {HTML.esc(value)}"), None)
        else:
            await edit_markup(message, None)

    async def _review_button(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, data: str
    ) -> None:
        applicant = applicant_of(update)
        assert applicant is not None
        parts = unpack(data, R, 4) or ["", "", ""]
        intake_id, op, arg = as_int(parts[0]), parts[1], as_int(parts[2])
        message = update.callback_query.message  # type: ignore[union-attr]
        msg = message if isinstance(message, Message) else None
        if intake_id is None or arg is None:
            await self.render(update, ctx, await self._stale(applicant))
            return
        if op in (CHANGE, CLOSE):
            # Only the buttons change: the list of answers to pick from, or back.
            turn = await self.interview.show(applicant)
            if (
                not isinstance(turn.outcome, Review)
                or turn.intake is None
                or turn.intake.id != intake_id
            ):
                await self.render(update, ctx, await self._stale(applicant))
                return
            tr = self.i18n.tr(turn.lang)
            if op == CHANGE:
                await edit_markup(msg, self.change_markup(tr, turn, intake_id))
            else:
                await edit_markup(msg, self.review_markup(tr, intake_id))
            return

        def build(flow: Flow, state: engine.State) -> engine.Input | None:
            if op == SUBMIT:
                return engine.Submit()
            if op == BACK:
                return engine.Back(None)
            if op == EDIT and 0 <= arg < len(flow.steps):
                return engine.Edit(flow.steps[arg].id)
            return None

        turn = await self.interview.apply(applicant, build, update.update_id, intake_id=intake_id)
        if turn.duplicate:
            await self.render(update, ctx, turn)
            return
        if getattr(turn.outcome, "refusal", None) is None:
            await beside(edit_markup(msg, None), self.render(update, ctx, turn))
            return
        await self.render(update, ctx, turn)

    async def _cancel_button(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, data: str
    ) -> None:
        applicant = applicant_of(update)
        assert applicant is not None
        parts = unpack(data, X, 3)
        intake_id = as_int(parts[0]) if parts else None
        message = update.callback_query.message  # type: ignore[union-attr]
        msg = message if isinstance(message, Message) else None
        tr = self.i18n.tr(await self._lang(applicant))
        _ = tr.gettext
        if parts is None or intake_id is None:
            await self.render(update, ctx, await self._stale(applicant))
            return
        if parts[1] == "new":
            # Another application while earlier ones are still open (for someone else).
            await edit_markup(msg, None)
            turn = await self.interview.begin(applicant, update.update_id, new=True)
            await self.render(update, ctx, turn)
            return
        if parts[1] == "y":
            done = await self.interview.withdraw_draft(applicant, intake_id, update.update_id)
            if done is None:
                return  # the same tap delivered again: it was answered the first time
            await edit_markup(msg, None)
            if done:
                await send(
                    ctx.bot,
                    applicant.chat_id,
                    _(
                        "Your application was stopped and your answers were deleted. Send /start if you want to begin again."
                    ),
                    ReplyKeyboardRemove(),
                )
            else:
                await send(
                    ctx.bot, applicant.chat_id, _("There is no application in progress to cancel.")
                )
            return
        await edit_markup(msg, None)
        await self.render(update, ctx, await self.interview.show(applicant))

    async def _again(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> Turn | None:
        """An update already applied: say nothing, unless it is applied again from the
        inbox after the bot stopped, maybe before its answer went out; then show the
        applicant where they are, so that their next message answers the question they see."""
        inbox = ctx.bot_data.get("inbox")
        applicant = applicant_of(update)
        if inbox is None or applicant is None or not inbox.replayed(update):
            return None
        turn = await self.interview.show(applicant)
        return None if turn.no_draft or turn.duplicate else turn

    async def _stale(self, applicant: Applicant) -> Turn:
        """A button that is not (or no longer) valid: show the current question with why."""
        turn = await self.interview.show(applicant)
        if turn.flow is None or turn.intake is None:
            return turn
        outcome = engine.refuse(turn.flow, turn.intake.state, "moved_on")
        return Turn(turn.lang, turn.flow_lang, turn.flow, outcome, turn.intake)

    async def on_edited(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = self.i18n.tr(await self._lang(applicant))
        await send(
            ctx.bot,
            applicant.chat_id,
            tr.gettext(
                "Editing a sent message does not change your answer. To change an answer, use Back, or Change an answer on the summary."
            ),
        )

    async def unknown_command(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = self.i18n.tr(await self._lang(applicant))
        await send(
            ctx.bot,
            applicant.chat_id,
            tr.gettext("I do not know that command.")
            + "\n\n"
            + help_text(tr, await self._roles(applicant)),
        )


def preview_mark(tr: Tr, turn: Turn, text: str) -> str:
    """Every message of a preview says so: an admin must never mistake it for real."""
    if turn.intake is None or not turn.intake.is_preview:
        return text
    return "🧪 <b>" + tr.gettext("Preview") + "</b> · " + text


def _on_current(
    kind: Callable[[str], engine.Input],
) -> Callable[[Flow, engine.State], engine.Input | None]:
    """An input for whatever question is current (a reply-keyboard button has no step id)."""

    def build(flow: Flow, state: engine.State) -> engine.Input | None:
        return kind(state.current) if state.current else None

    return build


def help_text(tr: Tr, roles: set[str] | frozenset[str] = frozenset()) -> str:
    _ = tr.gettext
    lines = [
        "<b>" + _("Judicial assistance: help for families in hardship because of a case") + "</b>",
        "",
        _(
            "I ask you some questions, one at a time. Your answers go to a caseworker of the procuratorate, who decides and tells you here."
        ),
        "",
        "/start — " + _("begin, or go on with your application"),
        "/status — " + _("see your applications and where they are"),
        "/cancel — " + _("stop the application in progress"),
        "/language — " + _("choose the language"),
        "/mydata — " + _("get a copy of everything we hold about you"),
        "/delete — " + _("delete your data"),
        "/help — " + _("this message"),
        "",
        _("Free legal advice: call 12348."),
    ]
    if "caseworker" in roles:
        lines += [
            "",
            "<b>" + _("For caseworkers") + "</b>",
            "/queue — " + _("open applications, most urgent first"),
            "/mine — " + _("applications you have claimed"),
            "/open ABC-DEF — " + _("an application by its reference"),
        ]
    if "partner" in roles:
        lines += [
            "",
            "<b>" + _("For agriculture department liaisons") + "</b>",
            "/referrals — " + _("referrals waiting for you"),
            "/clue — " + _("send a clue to the procuratorate"),
        ]
    if "admin" in roles:
        lines += [
            "",
            "<b>" + _("For admins") + "</b>",
            "/grant USER_ID ROLE — " + _("give a role: caseworker, partner or admin"),
            "/revoke USER_ID ROLE — " + _("take a role away"),
            "/roles — " + _("who has which role"),
        ]
    return "\n".join(lines)


def build_handlers(
    interview: Interview, i18n: I18n, router: PendingRouter | None = None
) -> tuple[list[BaseHandler], list[BaseHandler], ApplicantHandlers]:
    """The applicant's handlers, the fallbacks that must come after every audience's own,
    and the renderer (the admin's preview shows exactly what applicants see)."""
    h = ApplicantHandlers(interview, i18n, router)
    private = filters.ChatType.PRIVATE
    main: list[BaseHandler] = [
        CommandHandler("start", h.start, filters=private),
        CommandHandler("help", h.help, filters=private),
        CommandHandler("status", h.status, filters=private),
        CommandHandler("cancel", h.cancel, filters=private),
        CallbackQueryHandler(h.on_button, pattern=r"^[arx]:"),
    ]
    fallback: list[BaseHandler] = [
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, h.on_edited),
        MessageHandler(private & filters.COMMAND, h.unknown_command),
        MessageHandler(private & filters.UpdateType.MESSAGE, h.on_message),
    ]
    return main, fallback, h
