"""The send limiter of an instance among several on one PostgreSQL database (issue 27).

``SendLimiter`` (telegram_channel/sendlimit.py) paces one process. With several instances
in webhook mode Telegram's limits are still the bot's: two instances at 30 a second send
60 together, and a flood wait Telegram asked of one holds for the other too. Here every
call that names a chat reserves its slots in the database first (bot/store/sendpace.py:
one statement per limit, the overall one and, for a group chat, the group's), then waits
as long as the reservation says; a ``RetryAfter`` is written there as the bot's pause,
which every instance's next reservations wait out. Calls without a chat (answers to taps)
are not paced, as in ``SendLimiter``, but hold during a flood wait this instance knows of
(its own, or one a reservation reported).

Only for several instances: a reservation is a round trip to the database per call (two
for a group chat), which one process pacing itself in memory does not need. When the
database does not answer a reservation, the call is paced by this instance's own buckets
instead of being lost, and the database is tried again a few seconds later.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.constants import FloodLimit

from bot.store.sendpace import SendPaceStore
from telegram_channel.sendlimit import SendLimiter, _group_of

log = logging.getLogger(__name__)

RESERVE_TIMEOUT = 2.0  # seconds a reservation may take before the call is paced alone
RETRY_DATABASE = 5.0  # seconds of pacing alone before the database is asked again
OVERALL = "all"
#: Without a send rate: seconds between looks for a flood wait another instance was given.
PAUSE_LOOK_EVERY = 1.0


class SharedSendLimiter(SendLimiter):
    """``SendLimiter``'s limits and retries, counted for every instance on ``pace``'s
    database together."""

    def __init__(
        self,
        pace: SendPaceStore,
        overall_max_rate: float = FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1,
        group_max_rate: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60,
        max_retries: int = 0,
    ) -> None:
        super().__init__(
            overall_max_rate, overall_time_period, group_max_rate, group_time_period, max_retries
        )
        self.pace = pace
        self._overall_interval = overall_time_period / overall_max_rate if self.overall else 0.0
        self._overall_period = float(overall_time_period)
        self._group_interval = group_time_period / group_max_rate if self.group_rate else 0.0
        self._alone_until = 0.0  # loop time before which the database is not asked again
        self._alone = False  # pacing alone since the database last failed (logged once)
        self._pause_looked = -PAUSE_LOOK_EVERY  # loop time of the last look at the pause

    async def _take_slots(self, chat_id: object) -> None:
        """Wait for this call's slots: the group's (a group chat), then the overall one, so
        that the overall slot is taken when the group lets the call go. Without limits, the
        bot's flood wait only."""
        group = _group_of(chat_id) if self._group_interval else None
        if group is not None:
            key = f"group:{group}"
            if not await self._reserved(key, self._group_interval, self.group_period):
                await self._group(group).acquire()
        if self._overall_interval:
            if not await self._reserved(OVERALL, self._overall_interval, self._overall_period):
                assert self.overall is not None
                await self.overall.acquire()
        elif group is None:
            # No rate to keep: only another instance's flood wait to learn of, which a
            # look now and then finds (not a round trip per message).
            now = asyncio.get_running_loop().time()
            if now >= self._pause_looked + PAUSE_LOOK_EVERY:
                self._pause_looked = now
                await self._reserved(None, 0.0, 0.0)
        if self._paused_until:  # a flood wait learnt while this call waited
            await self._sit_out_pause()

    async def _reserved(self, key: str | None, interval: float, burst: float) -> bool:
        """Reserve ``key``'s slot (None: only learn of a flood wait) and wait for it. False
        when the database did not answer: the caller paces the call alone."""
        loop = asyncio.get_running_loop()
        if self._alone_until and loop.time() < self._alone_until:
            return False
        try:
            async with asyncio.timeout(RESERVE_TIMEOUT):
                if key is None:
                    wait, paused = 0.0, await self.pace.paused()
                else:
                    slot = await self.pace.reserve(key, interval, burst)
                    wait, paused = slot.wait, slot.paused
        except Exception as exc:  # unreachable, timed out, refused: the message still goes
            self._failed(exc)
            return False
        if self._alone:
            self._alone = False
            self._alone_until = 0.0
            log.info("send pace: shared through the database again")
        if paused > 0:  # calls without a chat hold too, as for a flood wait of our own
            self._paused_until = max(self._paused_until, loop.time() + paused)
        if wait > 0:
            await asyncio.sleep(wait)
        return True

    async def _flood_wait(self, wait: float) -> None:
        """Tell the other instances of the flood wait (this one keeps it in memory anyway)."""
        loop = asyncio.get_running_loop()
        if self._alone_until and loop.time() < self._alone_until:
            return
        try:
            async with asyncio.timeout(RESERVE_TIMEOUT):
                await self.pace.pause(wait)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """Pace alone for a while; said once per outage, naming the error's kind only."""
        self._alone_until = asyncio.get_running_loop().time() + RETRY_DATABASE
        if not self._alone:
            self._alone = True
            log.warning(
                "send pace: the database did not answer (%s); this instance paces its"
                " sends alone until it does",
                type(exc).__name__,
            )
