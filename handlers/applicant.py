"""The applicant's updates: a message or a tap read, applied through the interview, shown.

One generic handler serves every step type: it turns the update into an engine input
(``telegram_channel/buttons/interview.py`` reads the buttons), lets ``bot.interview.Interview``
apply and store it, and hands the ``Turn`` it gets back to the view
(``handlers/interview_view.py``). Nothing here decides anything about the interview, and
nothing here is text for the applicant.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.asking import Move, stays_open
from bot.flow import engine
from bot.flow.model import Flow
from bot.i18n import I18n, Tr
from bot.interview import Applicant, Interview, Turn
from bot.people import People
from handlers.interview_view import InterviewView, may_be_move, typed_move
from handlers.router import PendingRouter
from telegram_channel.buttons import interview as buttons
from telegram_channel.buttons.interview import (
    PATTERN,
    QuestionOp,
    QuestionTap,
    ReviewOp,
    ReviewTap,
    StopOp,
    StopTap,
)
from telegram_channel.downloads import fetcher, seconds
from telegram_channel.sending import acknowledge, beside

log = logging.getLogger(__name__)

# Messages the interview cannot take, by the kind its refusal names.
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

Given = engine.Input | Callable[[Flow, engine.State], engine.Input | None]


def applicant_of(update: Update) -> Applicant | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Applicant(user.id, chat.id, user.language_code)


def _message_of(update: Update) -> Message | None:
    """The message a tapped button is on, when it can still be edited."""
    query = update.callback_query
    message = query.message if query is not None else None
    return message if isinstance(message, Message) else None


class ApplicantHandlers:
    def __init__(
        self,
        interview: Interview,
        people: People,
        i18n: I18n,
        router: PendingRouter | None = None,
    ) -> None:
        self.interview = interview
        self.people = people
        self.i18n = i18n
        self.view = InterviewView(i18n)
        # Typed answers the bot asked someone for (staff prompts, replies to a
        # caseworker's question) are handed to whoever asked, not to the interview.
        self.router = router
        # Set by the language handlers: asks someone whose language is unknown first.
        self.offer_language: (
            Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[bool]] | None
        ) = None
        # Set by the application: each sent intake's plan of help, in plain words.
        self.plan_lines: Callable[[Tr, int], Awaitable[list[str]]] | None = None

    async def render(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, turn: Turn) -> None:
        """Show a turn to the applicant; an update already applied shows nothing, unless it
        is applied again from the inbox after the bot stopped, maybe before its reply went
        out: then where the applicant is now (``Interview.again``)."""
        if turn.duplicate:
            inbox = ctx.bot_data.get("inbox")
            applicant = applicant_of(update)
            if inbox is None or applicant is None or not inbox.replayed(update):
                return
            again = await self.interview.again(applicant)
            if again is None:
                return
            turn = again
        await self.view.show(ctx.bot, update.effective_chat.id, turn)  # type: ignore[union-attr]

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
        tr = await self.people.tr(applicant.user_id, applicant.telegram_lang)
        roles = await self.people.roles(applicant.user_id)
        await self.view.help(ctx.bot, applicant.chat_id, tr, roles)

    async def status(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = await self.people.tr(applicant.user_id, applicant.telegram_lang)
        intakes = await self.interview.applications(applicant)
        plans: dict[int, list[str]] = {}
        if self.plan_lines is not None:
            for it in intakes:
                if it.ref and it.status != "draft":
                    plans[it.id] = await self.plan_lines(tr, it.id)
        await self.view.status(ctx.bot, applicant.chat_id, tr, intakes, plans)

    async def cancel(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        if self.router and await self.router.cancel(update, ctx):
            return
        stop = await self.interview.cancel(applicant)
        await self.view.stopping(ctx.bot, applicant.chat_id, stop)

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
            turn = await self.interview.unprompted(applicant, update.update_id, turn.lang)
        await self.view.leave_phone_question(ctx.bot, applicant.chat_id, turn, given)
        await self.render(update, ctx, turn)
        # The answer is stored and answered: now the file itself, into our store (before
        # this update counts as handled: after a crash it is applied again, and kept then).
        await self.interview.keep_file(turn, given, fetcher(ctx.bot), applicant)

    async def _input_from(self, applicant: Applicant, message: Message) -> Given:
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
        if message.voice is not None:
            voice = message.voice
            return engine.Attached(
                {
                    "kind": "voice",
                    "file_id": voice.file_id,
                    "unique": voice.file_unique_id,
                    "duration": seconds(voice.duration),
                    "size": voice.file_size,
                }
            )
        if message.text is not None:
            text = message.text
            if not may_be_move(text):
                return engine.Typed(text)  # the common case: no language lookup needed
            # The phone question's keyboard sends its buttons as text.
            tr = await self.people.tr(applicant.user_id, applicant.telegram_lang)
            move = typed_move(tr, text)
            if move == Move.BACK:
                return engine.Back()
            if move == Move.SKIP:
                return _on_current(engine.Skip)
            if move == Move.KEEP:
                return _on_current(engine.Keep)
            return engine.Typed(text)
        for kind, flt in _UNSUPPORTED:
            if flt.check_update(Update(0, message=message)):
                return engine.Unsupported(kind)
        return engine.Unsupported("file")

    # -- buttons -------------------------------------------------------------------------

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
        applicant = applicant_of(update)
        assert applicant is not None
        tap = buttons.read(data)
        if tap is None:
            await self.render(update, ctx, await self.interview.stale(applicant))
        elif isinstance(tap, QuestionTap):
            await self._question_button(update, ctx, applicant, tap)
        elif isinstance(tap, ReviewTap):
            await self._review_button(update, ctx, applicant, tap)
        else:
            await self._stop_button(update, ctx, applicant, tap)

    async def _question_button(
        self,
        update: Update,
        ctx: ContextTypes.DEFAULT_TYPE,
        applicant: Applicant,
        tap: QuestionTap,
    ) -> None:
        turn = await self.interview.apply(
            applicant, tap.input, update.update_id, intake_id=tap.intake_id
        )
        if turn.duplicate:
            await self.render(update, ctx, turn)
            return
        out, flow = turn.outcome, turn.flow
        msg = _message_of(update)
        refused = out is None or getattr(out, "refusal", None) is not None
        if flow is not None and not refused and 0 <= tap.position < len(flow.steps):
            step = flow.steps[tap.position]
            if tap.op == QuestionOp.TOGGLE and stays_open(step.id, out):
                # A toggle changes the marks on the same question, in place.
                await self.view.refresh_question(msg, turn)
                return
            if msg is not None:
                await beside(
                    self.view.close_question(turn, step, msg), self.render(update, ctx, turn)
                )
                return
        await self.render(update, ctx, turn)

    async def _review_button(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, applicant: Applicant, tap: ReviewTap
    ) -> None:
        msg = _message_of(update)
        if tap.op in (ReviewOp.CHANGE, ReviewOp.CLOSE):
            turn = await self.interview.at_review(applicant, tap.intake_id)
            if turn is None:
                await self.render(update, ctx, await self.interview.stale(applicant))
                return
            await self.view.review_buttons(
                msg, turn, tap.intake_id, changing=tap.op == ReviewOp.CHANGE
            )
            return
        turn = await self.interview.apply(
            applicant, tap.input, update.update_id, intake_id=tap.intake_id
        )
        if turn.duplicate:
            await self.render(update, ctx, turn)
            return
        if getattr(turn.outcome, "refusal", None) is None:
            await beside(self.view.drop_buttons(msg), self.render(update, ctx, turn))
            return
        await self.render(update, ctx, turn)

    async def _stop_button(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, applicant: Applicant, tap: StopTap
    ) -> None:
        msg = _message_of(update)
        if tap.op == StopOp.NEW:
            # Another application while earlier ones are still open (for someone else).
            await self.view.drop_buttons(msg)
            turn = await self.interview.begin(applicant, update.update_id, new=True)
            await self.render(update, ctx, turn)
            return
        if tap.op == StopOp.YES:
            tr = await self.people.tr(applicant.user_id, applicant.telegram_lang)
            done = await self.interview.withdraw_draft(applicant, tap.intake_id, update.update_id)
            if done is None:
                return  # the same tap delivered again: it was answered the first time
            await self.view.stopped(ctx.bot, applicant.chat_id, tr, msg, done)
            return
        await self.view.drop_buttons(msg)
        await self.render(update, ctx, await self.interview.show(applicant))

    # -- anything else -------------------------------------------------------------------

    async def on_edited(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = await self.people.tr(applicant.user_id, applicant.telegram_lang)
        await self.view.edited(ctx.bot, applicant.chat_id, tr)

    async def unknown_command(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        applicant = applicant_of(update)
        if applicant is None:
            return
        tr = await self.people.tr(applicant.user_id, applicant.telegram_lang)
        roles = await self.people.roles(applicant.user_id)
        await self.view.unknown_command(ctx.bot, applicant.chat_id, tr, roles)
        # Mid-interview, the help would leave the question far above it: ask it again,
        # so the next message answers what the applicant sees last.
        turn = await self.interview.show(applicant)
        if not turn.no_draft:
            await self.view.show(ctx.bot, applicant.chat_id, turn)


def _on_current(
    kind: Callable[[str], engine.Input],
) -> Callable[[Flow, engine.State], engine.Input | None]:
    """An input for whatever question is current (a reply-keyboard button has no step id)."""

    def build(flow: Flow, state: engine.State) -> engine.Input | None:
        return kind(state.current) if state.current else None

    return build


def build_handlers(
    interview: Interview, people: People, i18n: I18n, router: PendingRouter | None = None
) -> tuple[list[BaseHandler], list[BaseHandler], ApplicantHandlers]:
    """The applicant's handlers, the fallbacks that must come after every audience's own,
    and the handlers themselves (their ``render`` shows a turn: the admin's preview and the
    language choice show exactly what applicants see)."""
    h = ApplicantHandlers(interview, people, i18n, router)
    private = filters.ChatType.PRIVATE
    main: list[BaseHandler] = [
        CommandHandler("start", h.start, filters=private),
        CommandHandler("help", h.help, filters=private),
        CommandHandler("status", h.status, filters=private),
        CommandHandler("cancel", h.cancel, filters=private),
        CallbackQueryHandler(h.on_button, pattern=PATTERN),
    ]
    fallback: list[BaseHandler] = [
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, h.on_edited),
        MessageHandler(private & filters.COMMAND, h.unknown_command),
        MessageHandler(private & filters.UpdateType.MESSAGE, h.on_message),
    ]
    return main, fallback, h
