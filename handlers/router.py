"""Typed answers the bot asked staff (or an applicant) for, routed to whoever asked.

A caseworker typing an amount, a liaison typing what was done, an applicant
answering a caseworker's question: each is a plain text message, so the
applicant's interview handler asks this router first whenever the message is
not an interview answer (no draft in progress, or a reply to a bot prompt).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import I18n
from bot.store import Store
from bot.store.pending import Pending
from handlers.common import reader
from telegram_channel.sending import send

Taker = Callable[[Update, ContextTypes.DEFAULT_TYPE, Pending], Awaitable[bool]]


class PendingRouter:
    def __init__(self, store: Store, i18n: I18n, takers: Sequence[Taker]) -> None:
        self.store = store
        self.i18n = i18n
        self.takers = list(takers)

    async def take(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> bool:
        """Hand a message to the prompt that waits for it; False if none does."""
        user = update.effective_user
        if user is None:
            return False
        pending = await self.store.pending.get(user.id)
        if pending is None:
            return False
        for taker in self.takers:
            if await taker(update, ctx, pending):
                return True
        return False

    async def cancel(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> bool:
        """/cancel while the bot waits for a typed answer: stop waiting."""
        user = update.effective_user
        if user is None:
            return False
        pending = await self.store.pending.get(user.id)
        if pending is None or pending.kind == "reply":
            return False
        await self.store.pending.clear(user.id)
        tr = await reader(self.store, self.i18n, user)
        await send(ctx.bot, user.id, tr.gettext("Cancelled."))
        return True
