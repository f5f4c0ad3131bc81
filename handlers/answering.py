"""The applicant answers a caseworker's question: words, photos, files, voice, then Done.

Thin over ``bot.casework``: each message is one piece of the answer, kept by the core the
moment it arrives (``Desk.answer_piece``); Done (``Decisions.finish_reply``) sends it all
to the caseworker in one notice. The applicant sees one short message that counts what
arrived, edited as more comes, with the Done button under it; the question itself came
with one (telegram_channel/staff_buttons.py, ``NoticeButtons``).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes

from bot.casework import Casework, Conflict
from bot.casework.desk import Awaiting
from bot.casework.replies import Piece
from bot.i18n import Tr
from bot.messages import HTML
from bot.store.pending import Pending
from telegram_channel.buttons.answer import PATTERN, read_done
from telegram_channel.downloads import fetcher, seconds
from telegram_channel.keyboards import Keyboard
from telegram_channel.sending import acknowledge, beside, edit_markup, message_params, send
from telegram_channel.staff_buttons import done_button
from telegram_channel.transport import call, ok_of

log = logging.getLogger(__name__)


def piece_of(message: Message) -> Piece | None:
    """The piece of an answer a message carries; None for what cannot be kept (a
    sticker, a location, a poll)."""
    words = message.caption or ""
    if message.photo:
        best = message.photo[-1]
        return Piece(
            words,
            {
                "kind": "photo",
                "file_id": best.file_id,
                "unique": best.file_unique_id,
                "size": best.file_size,
            },
        )
    media: list[tuple[str, Any]] = [
        ("document", message.document),
        ("voice", message.voice),
        ("audio", message.audio),
        ("video", message.video),
    ]
    for kind, item in media:
        if item is not None:
            file: dict[str, Any] = {
                "kind": kind,
                "file_id": item.file_id,
                "unique": item.file_unique_id,
                "size": item.file_size,
            }
            name = getattr(item, "file_name", None)
            if name:
                file["name"] = name
            duration = seconds(getattr(item, "duration", None))
            if duration is not None:
                file["duration"] = duration
            return Piece(words, file)
    if message.text is not None:
        return Piece(message.text)
    return None


class AnswerHandlers:
    def __init__(self, work: Casework) -> None:
        self.work = work
        # The message that counts what arrived, per applicant: (intake, message id). Only
        # a convenience: after a restart the count is sent anew.
        self.counters: dict[int, tuple[int, int]] = {}

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """A message while a caseworker's question waits for this applicant: a piece of
        the answer. False when it is not (no question open any more)."""
        message, user = update.effective_message, update.effective_user
        if pending.kind != Awaiting.REPLY or message is None or user is None:
            return False
        if pending.intake_id is None:
            return False
        # In their language: applicants have no language remembered for staff (seen).
        tr = await self.work.people.reader(user.id, user.language_code)
        piece = piece_of(message)
        if piece is None:
            await send(
                ctx.bot,
                user.id,
                tr.gettext(
                    "I can keep words, photos, files and voice messages. Please send your answer as one of those."
                ),
            )
            return True
        try:
            taken = await self.work.desk.answer_piece(user.id, pending, piece, update.update_id)
        except Conflict:  # nothing visible
            await send(ctx.bot, user.id, tr.gettext("Please write your answer as a text message."))
            return True
        if taken is None:
            self.counters.pop(user.id, None)
            return False
        await self._count(ctx, user.id, tr, pending.intake_id, *taken)
        if piece.file is not None:  # kept in the conversation: now the file, in our store
            await self.work.evidence.keep(pending.intake_id, piece.file, fetcher(ctx.bot))
        return True

    async def _count(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        chat_id: int,
        tr: Tr,
        intake_id: int,
        ref: str,
        count: int,
    ) -> None:
        """One message says how much arrived, with Done under it: sent with the first
        piece, edited with the next ones."""
        text = tr.ngettext(
            "Received for application {ref}: {n} message. You can send more. When you have sent everything, tap Done.",
            "Received for application {ref}: {n} messages. You can send more. When you have sent everything, tap Done.",
            count,
        ).format(ref=HTML.b(tr.ltr(ref)), n=tr.count(count))
        markup = Keyboard([[done_button(tr, intake_id)]])
        known = self.counters.get(chat_id)
        if known is not None and known[0] == intake_id and count > 1:
            params = message_params(text, markup, "HTML", chat_id=chat_id, message_id=known[1])
            try:
                await call(ctx.bot, "editMessageText", params, answer=ok_of)
                return
            except Exception as exc:  # gone, or too old: a new one instead
                log.info("could not edit the count of an answer (%s)", type(exc).__name__)
        sent = await send(ctx.bot, chat_id, text, markup)
        if sent is not None:
            self.counters[chat_id] = (intake_id, sent)

    async def on_done(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Done: the answer goes to the caseworker (the core tells them, and thanks the
        applicant, through the outbox). A stale, replayed or forged Done changes nothing."""
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        tr = await self.work.people.reader(user.id, user.language_code)
        _ = tr.gettext
        message = query.message if isinstance(query.message, Message) else None
        intake_id = read_done(query.data)
        if intake_id is None:
            await acknowledge(query, _("That button is not valid any more."))
            return
        try:
            await self.work.finish_reply(user.id, intake_id)
        except Conflict as err:
            if err.code == "nothing_yet":
                await acknowledge(
                    query,
                    _(
                        "Please send your answer first: words, photos, files or a voice message. Then tap Done."
                    ),
                    alert=True,
                )
                return
            await beside(
                acknowledge(query, _("This question is closed. What you sent is kept.")),
                edit_markup(message, None),
            )
            return
        counter = self.counters.pop(user.id, None)
        await beside(acknowledge(query), edit_markup(message, None))
        if counter is not None and (message is None or counter[1] != message.message_id):
            # Done was tapped under the question: the count's Done goes too.
            params = {"chat_id": user.id, "message_id": counter[1]}
            try:
                await call(ctx.bot, "editMessageReplyMarkup", params, answer=ok_of)
            except Exception as exc:
                log.info("could not take Done off the count (%s)", type(exc).__name__)


def build_handlers(work: Casework) -> tuple[list[BaseHandler], AnswerHandlers]:
    h = AnswerHandlers(work)
    return [CallbackQueryHandler(h.on_done, pattern=PATTERN)], h
