"""The supervisor's side: /assign, and the buttons on a proposed decision or a decided
intake (confirm, return with a note, reopen with a reason).

Thin over ``bot.casework`` (bot/casework/supervision.py re-checks the role, the region
and the state in the database); the queue, the card and what the core answers are drawn
by the caseworker's handlers, which supervisors share for reading.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.casework import Casework, Conflict, Denied
from bot.casework.actions import SUPERVISOR
from bot.casework.desk import SUPERVISOR_WAITS
from bot.i18n import Tr
from bot.store.pending import Pending
from handlers.caseworker import FMT, CaseworkerHandlers
from telegram_channel import buttons
from telegram_channel.buttons import as_int
from telegram_channel.buttons.staff import SUPERVISOR_PATTERN
from telegram_channel.keyboards import Keyboard
from telegram_channel.sending import acknowledge, beside, send
from telegram_channel.staff_buttons import open_button

log = logging.getLogger(__name__)


def _only_text(tr: Tr) -> str:
    return tr.gettext("This is only for supervisors of the procuratorate.")


class SupervisorHandlers:
    def __init__(self, work: Casework, cw: CaseworkerHandlers) -> None:
        self.work = work
        self.cw = cw

    async def _only(self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr) -> None:
        await send(ctx.bot, chat_id, _only_text(tr))

    async def assign(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/assign REF USER_ID: the intake to a caseworker of its region, who is told."""
        who = await self.cw.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        args = ctx.args or []
        to = as_int(args[-1]) if len(args) >= 2 else None
        if not await self.work.people.has(actor, SUPERVISOR):
            await self._only(ctx, chat_id, tr)
            return
        if to is None:
            await send(
                ctx.bot,
                chat_id,
                tr.gettext(
                    "Send /assign followed by a reference and a caseworker's user id, for example /assign ABC-DEF 123456789."
                ),
            )
            return
        try:
            case = await self.work.assign(actor, " ".join(args[:-1]), to)
        except Denied:
            await self._only(ctx, chat_id, tr)
            return
        except Conflict as err:
            await self.cw.conflict(ctx, chat_id, tr, err)
            return
        name = await self.work.name_of(to)
        await send(
            ctx.bot,
            chat_id,
            tr.gettext("{ref} is assigned to {name}; they have been told.").format(
                ref=FMT.b(tr.ltr(case.ref or "")), name=FMT.esc(name)
            ),
            Keyboard([[open_button(tr, case.id)]]),
        )

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        pressed = buttons.decode(query.data)
        if pressed is None or pressed.prefix != buttons.SUPERVISOR or pressed.tap is None:
            log.info("a malformed supervisor button was ignored")
            tr = await self.work.people.reader(user.id, user.language_code)
            await acknowledge(query, tr.gettext("That button is not valid any more."))
            return
        who = await self.cw.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        if not await self.work.people.has(actor, SUPERVISOR):
            await acknowledge(query, _only_text(tr))
            return
        message = query.message if isinstance(query.message, Message) else None
        tap = pressed.tap

        async def act() -> None:
            try:
                assert tap.action is not None and tap.step is not None
                outcome = await self.work.desk.tap(
                    actor, tap.action, tap.step, pressed.target, pressed.arg
                )
                await self.cw.render_outcome(ctx, actor, chat_id, tr, outcome, message, tap)
            except Denied:
                await self._only(ctx, chat_id, tr)
            except Conflict as err:
                await self.cw.conflict(ctx, chat_id, tr, err)

        await beside(acknowledge(query), act())

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """A note returning a decision, or the reason to reopen: words the core waits for."""
        if pending.kind not in SUPERVISOR_WAITS:
            return False
        who = await self.cw.actor(update, ctx)
        message = update.effective_message
        if who is None or message is None:
            return False
        actor, chat_id, tr = who
        try:
            outcome = await self.work.desk.typed(actor, tr, pending, message.text or "")
        except Denied:
            await self._only(ctx, chat_id, tr)
        except Conflict as err:
            await self.cw.conflict(ctx, chat_id, tr, err)
        else:
            await self.cw.render_outcome(ctx, actor, chat_id, tr, outcome)
        return True


def build_handlers(
    work: Casework, cw: CaseworkerHandlers
) -> tuple[list[BaseHandler], SupervisorHandlers]:
    h = SupervisorHandlers(work, cw)
    return [
        CommandHandler("assign", h.assign, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(h.on_button, pattern=SUPERVISOR_PATTERN),
    ], h
