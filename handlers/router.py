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

from bot.people import Pending, People
from telegram_channel.sending import send

Taker = Callable[[Update, ContextTypes.DEFAULT_TYPE, Pending], Awaitable[bool]]


class PendingRouter:
    def __init__(self, people: People, takers: Sequence[Taker]) -> None:
        self.people = people
        self.takers = list(takers)

    async def take(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> bool:
        """Hand a message to the prompt that waits for it; False if none does."""
        user = update.effective_user
        if user is None:
            return False
        pending = await self.people.waiting_for(user.id)
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
        if not await self.people.stop_waiting(user.id):
            return False
        tr = await self.people.tr(user.id, user.language_code)
        await send(ctx.bot, user.id, tr.gettext("Cancelled."))
        return True
