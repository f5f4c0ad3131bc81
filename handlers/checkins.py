"""The applicant answers a check-in after the decision: one tap, then words if they like.

Thin over ``bot.casework.checkins``: a tap is an answer (better, the same, worse, talk),
Skip, or Stop; the core checks that the tapper is the intake's applicant and that the
check-in is open. After an answer the bot waits for words or a voice note (kept in the
conversation, and the recording downloaded into our own file store, as an answer to a
caseworker's question is), through the pending prompt; Skip ends the wait.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes

from bot.casework import Casework, Conflict
from bot.casework.checkins import ALERTS, CHECKIN
from bot.store.pending import Pending
from handlers.answering import piece_of
from telegram_channel.buttons.checkin import CHOSEN, PATTERN, CheckinOp, read_checkin
from telegram_channel.downloads import fetcher
from telegram_channel.sending import acknowledge, beside, edit_markup, send
from telegram_channel.staff_buttons import after_checkin_keyboard


class CheckinHandlers:
    def __init__(self, work: Casework) -> None:
        self.work = work

    async def on_tap(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        tr = await self.work.people.reader(user.id, user.language_code)
        _ = tr.gettext
        message = query.message if isinstance(query.message, Message) else None
        tap = read_checkin(query.data)
        if tap is None or tap.op is None:
            await acknowledge(query, _("That button is not valid any more."))
            return
        checkins = self.work.checkins
        try:
            if tap.op is CheckinOp.STOP:
                await checkins.stop(user.id, tap.checkin_id)
                await beside(acknowledge(query), edit_markup(message, None))
                await send(
                    ctx.bot,
                    user.id,
                    _(
                        "All right. We will not send you these questions again. You can still write to us here at any time."
                    ),
                )
                return
            if tap.op is CheckinOp.SKIP:
                await checkins.skip(user.id)
                await beside(acknowledge(query), edit_markup(message, None))
                await send(ctx.bot, user.id, _("Thank you."))
                return
            choice = CHOSEN[tap.op]
            await checkins.answer(user.id, tap.checkin_id, choice)
        except Conflict:
            await beside(
                acknowledge(query, _("This question is closed. Thank you.")),
                edit_markup(message, None),
            )
            return
        await beside(acknowledge(query), edit_markup(message, None))
        words = [_("Thank you for telling us.")]
        if choice in ALERTS:
            words.append(_("We have told the caseworker. They will contact you."))
        words.append(
            _("If you want, write a few words or send a voice message now. If not, tap Skip.")
        )
        await send(ctx.bot, user.id, "\n\n".join(words), after_checkin_keyboard(tr, tap.checkin_id))

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """Words or a voice note after a check-in's answer; False when not waited for."""
        message, user = update.effective_message, update.effective_user
        if pending.kind != CHECKIN or pending.ref_id is None or message is None or user is None:
            return False
        tr = await self.work.people.reader(user.id, user.language_code)
        piece = piece_of(message)
        if piece is None:
            await send(
                ctx.bot,
                user.id,
                tr.gettext("Please write a few words or send a voice message. Or tap Skip."),
            )
            return True
        try:
            await self.work.checkins.add_words(user.id, pending.ref_id, piece)
        except Conflict as err:
            if err.code == "empty":
                return True
            await self.work.checkins.skip(user.id)  # long after the answer, or erased since
            return False
        await send(
            ctx.bot, user.id, tr.gettext("Thank you. What you sent is kept with your application.")
        )
        if piece.file is not None and pending.intake_id is not None:
            # Kept in the conversation: now the recording itself, in our store.
            await self.work.evidence.keep(pending.intake_id, piece.file, fetcher(ctx.bot))
        return True


def build_handlers(work: Casework) -> tuple[list[BaseHandler], CheckinHandlers]:
    h = CheckinHandlers(work)
    return [CallbackQueryHandler(h.on_tap, pattern=PATTERN)], h
