"""Delivers the outbox: notifications that must reach people even through outages.

Runs as a background task beside polling. A message leaves the outbox once
Telegram has accepted it, or once it went out and its answer was lost (Telegram
may have shown it: sending it again could show it twice); a flood wait (429)
waits as long as Telegram asks, a failure to reach Telegram or a 5xx backs off
and tries again, and a chat that blocked the bot is given up with a log line
(without its text).

After a crash, at least once: a message whose send was under way when the process died
(Telegram may have it, the row is still there) is sent again at the next start. The Bot API
has no idempotency key and no way to ask whether a message arrived, so the only other choice
would be to drop it, and a decision nobody hears of is worse than one heard twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.messages import split_message
from bot.store.outbox import LEASE, OutboxStore, OutMessage, Queued
from telegram_channel.keyboards import Button, Keyboard
from telegram_channel.sending import message_params
from telegram_channel.transport import AnswerLost, call, ok_of

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0


ButtonsFor = Callable[[Queued], Keyboard | None]


class OutboxSender:
    def __init__(
        self,
        outbox: OutboxStore,
        bot: Bot,
        *,
        idle: float = 2.0,
        buttons: ButtonsFor | None = None,
        lease: float = LEASE,
    ) -> None:
        self.outbox = outbox
        #: Seconds a claim on messages holds before another sender may take them.
        self.lease = lease
        self.bot = bot
        self.idle = idle
        # The buttons a notice gets from its kind (telegram_channel/staff_buttons.py).
        self.buttons = buttons
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def kick(self) -> None:
        """Something was queued: deliver it now rather than at the next idle check."""
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("outbox sender failed; trying again shortly")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle)

    async def deliver_due(self) -> int:
        """Try every message that is due once; returns how many were delivered."""
        delivered = 0
        loop = asyncio.get_running_loop()
        todo = await self.outbox.claim(lease=self.lease)
        claimed = loop.time()
        try:
            while todo:
                if loop.time() - claimed > self.lease / 2:
                    # Sending takes long (a group's 20 a minute): keep what is still ours
                    # before the lease ends and another instance's sender takes it.
                    kept = await self.outbox.keep([item.id for item in todo], self.lease)
                    todo = [item for item in todo if item.id in kept]
                    claimed = loop.time()
                    if not todo:
                        break
                if await self._deliver(todo[0]):
                    delivered += 1
                todo.pop(0)
        finally:
            if todo:  # stopped or failed midway: the rest is not left claimed
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.outbox.release([item.id for item in todo]))
        return delivered

    def _markup(self, item: Queued) -> Keyboard | None:
        """The buttons stored with a row (a deferred reply, or a row queued by an earlier
        version), else those its kind calls for."""
        if item.buttons:
            return Keyboard([[Button(label, data) for label, data in row] for row in item.buttons])
        return self.buttons(item) if self.buttons is not None else None

    async def _deliver(self, item: Queued) -> bool:
        # A long applicant reply forwarded to a caseworker can pass Telegram's limit.
        chunks = split_message(item.text)
        try:
            for n, chunk in enumerate(chunks, start=1):
                markup = self._markup(item) if n == len(chunks) else None
                params = message_params(chunk, markup, ParseMode.HTML, chat_id=item.chat_id)
                try:
                    await call(self.bot, "sendMessage", params, answer=ok_of)
                except AnswerLost as exc:
                    log.warning(
                        "notification %d (part %d) went out but its answer was lost (%s);"
                        " counted as sent",
                        item.id,
                        n,
                        type(exc).__name__,
                    )
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            await self.outbox.retry_later(item.id, seconds, "flood wait")
            return False
        except Forbidden:
            log.warning("notification %d undeliverable: chat blocked or gone", item.id)
            await self.outbox.delivered(item.id)
            return False
        except BadRequest as exc:
            log.error("notification %d refused by Telegram: %s", item.id, type(exc).__name__)
            await self.outbox.delivered(item.id)
            return False
        except (TimedOut, NetworkError) as exc:
            backoff = min(MAX_BACKOFF, 1.0 * 2**item.attempts)
            await self.outbox.retry_later(item.id, backoff, type(exc).__name__)
            return False
        await self.outbox.delivered(item.id)
        return True


async def defer_to_outbox(outbox: OutboxStore, chat_id: int, text: str, markup: object) -> None:
    """Queue a reply that could not be sent now; inline buttons go with it (a reply
    keyboard cannot be queued, and the question's own buttons still work)."""
    buttons = markup.pairs() if isinstance(markup, Keyboard) else []
    await outbox.add([OutMessage(chat_id, text, buttons)])
