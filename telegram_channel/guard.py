"""Guards in front of every handler: per-user rate limiting, and a watch on polling.

A person (or a script) sending faster than anyone answers questions gets one
polite message and is ignored until they slow down, so one chat cannot take
the bot's time from everyone else. Limits live in memory on purpose: they
only matter for seconds, and the table forgets people who went quiet.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.people import People
from telegram_channel.sending import send

log = logging.getLogger(__name__)


class RateLimit:
    def __init__(self, people: People, *, limit: int, per: float) -> None:
        self.people = people
        self.limit = limit
        self.per = per
        self._hits: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}
        self._calls = 0

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        hits = self._hits.get(user_id)
        if hits is None:
            hits = self._hits[user_id] = deque()
        while hits and now - hits[0] > self.per:
            hits.popleft()
        self._calls += 1
        if self._calls % 1000 == 0:
            self._forget(now)
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _forget(self, now: float) -> None:
        """Drop people who have been quiet: memory must not grow with the number of users."""
        for uid in [u for u, h in self._hits.items() if not h or now - h[-1] > self.per]:
            del self._hits[uid]
        for uid in [u for u, t in self._warned.items() if now - t > self.per]:
            del self._warned[uid]

    async def __call__(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None or self.limit <= 0 or self.allow(user.id):
            return
        now = time.monotonic()
        if now - self._warned.get(user.id, -1e9) > self.per:
            self._warned[user.id] = now
            log.warning("rate limit reached by a user")
            tr = await self.people.tr(user.id, user.language_code)
            chat = update.effective_chat
            if chat is not None and chat.type == "private":
                await send(
                    ctx.bot,
                    chat.id,
                    tr.gettext(
                        "You are sending messages very fast. Please wait a moment, then go on."
                    ),
                )
        raise ApplicationHandlerStop

    def handler(self) -> TypeHandler:
        return TypeHandler(Update, self)


class Watchdog:
    """Logs loudly when long polling has not succeeded for a while.

    Success is a batch of updates read and committed to the inbox (``IntakeBot`` calls
    ``progressed``), not an HTTP answer: a bot that fetches the same update again and
    again, unable to read or store it, is not working, however fast Telegram answers.
    """

    def __init__(self, *, after: float = 120.0) -> None:
        self.after = after
        self.last_ok = time.monotonic()
        self._last_alarm = 0.0

    def progressed(self) -> None:
        """A poll's updates were read and stored: polling works."""
        self.last_ok = time.monotonic()

    def stale_for(self) -> float:
        return time.monotonic() - self.last_ok

    async def check(self, context: object = None) -> bool:
        stale = self.stale_for()
        if stale < self.after:
            return False
        now = time.monotonic()
        if now - self._last_alarm >= self.after:
            self._last_alarm = now
            log.error(
                "polling has not succeeded for %d seconds: is Telegram reachable, "
                "and is the token valid?",
                int(stale),
            )
        return True
