"""The own Bot API client's send limiter: Telegram's flood limits, its flood waits retried.

The rules are those of python-telegram-bot's ``AIORateLimiter``, which the bot used before:
calls that name a chat share an overall rate (30 a second by default, ``INTAKE_SEND_RATE``),
each group chat has its own (20 a minute), paid broadcasts have theirs (1,000 a second),
and a ``RetryAfter`` pauses every call for the time Telegram asked, then the call is tried
again, up to ``max_retries`` times.

Why not ``AIORateLimiter`` itself: it wraps every call in three more coroutines and two
``asynccontextmanager`` blocks, and sets an ``asyncio.Event`` after each, whether or not
a limit applies; profiled in bench/, that cost more of the bot's CPU than the flow engine
(the figures are in bench/README.md). Here a call with nothing to wait for costs a few
comparisons; the buckets are still aiolimiter's (the same leaky bucket PTB uses). The
``stock`` client (telegram_channel/client.py) uses ``AIORateLimiter`` with the same limits.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

MAX_GROUP_BUCKETS = 512  # idle group buckets are dropped beyond this many


def _seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, dtm.timedelta) else float(wait)


class SendLimiter(BaseRateLimiter[int]):
    """``rate_limit_args`` (an int, as for ``AIORateLimiter``) is how many retries one call
    gets instead of ``max_retries``."""

    def __init__(
        self,
        overall_max_rate: float = FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1,
        group_max_rate: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60,
        max_retries: int = 0,
    ) -> None:
        self.overall: AsyncLimiter | None = (
            AsyncLimiter(overall_max_rate, overall_time_period)
            if overall_max_rate and overall_time_period
            else None
        )
        self.group_rate = group_max_rate if group_max_rate and group_time_period else 0
        self.group_period = group_time_period
        self.paid = AsyncLimiter(FloodLimit.PAID_MESSAGES_PER_SECOND, 1)
        self.max_retries = max_retries
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._paused_until = 0.0  # loop time before which no call leaves (a flood wait)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        retries = rate_limit_args or self.max_retries
        attempt = 0
        while True:
            if self._paused_until:
                await self._sit_out_pause()
            if data.get("allow_paid_broadcast"):
                await self.paid.acquire()
            else:
                chat_id = data.get("chat_id")
                if chat_id is not None:
                    await self._take_slots(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                # Telegram would refuse the other calls too: all of them wait, even when
                # this one is not tried again.
                wait = _seconds(exc) + 0.1
                loop = asyncio.get_running_loop()
                self._paused_until = max(self._paused_until, loop.time() + wait)
                await self._flood_wait(wait)
                if attempt >= retries:
                    log.error("flood wait still asked after %d retries (%s)", retries, endpoint)
                    raise
                attempt += 1
                log.info("flood wait: every call holds %.1f s (%s)", wait, endpoint)

    async def _take_slots(self, chat_id: object) -> None:
        """Wait for a call's slots: its group's (a group chat), then the overall one."""
        if self.group_rate:
            group = _group_of(chat_id)
            if group is not None:
                await self._group(group).acquire()
        if self.overall is not None:
            await self.overall.acquire()

    async def _flood_wait(self, wait: float) -> None:
        """Telegram asked for a flood wait of ``wait`` seconds (this process holds every
        call meanwhile already): for a limiter that shares it (telegram_channel/sendpace.py)."""

    async def _sit_out_pause(self) -> None:
        loop = asyncio.get_running_loop()
        while (left := self._paused_until - loop.time()) > 0:
            await asyncio.sleep(left)
        self._paused_until = 0.0

    def _group(self, group: int | str) -> AsyncLimiter:
        bucket = self._groups.get(group)
        if bucket is None:
            if len(self._groups) >= MAX_GROUP_BUCKETS:
                for key, idle in list(self._groups.items()):
                    if idle.has_capacity(idle.max_rate):
                        del self._groups[key]
            bucket = self._groups[group] = AsyncLimiter(self.group_rate, self.group_period)
        return bucket


def _group_of(chat_id: object) -> int | str | None:
    """A group or channel's id (negative, or an @username), as ``AIORateLimiter`` tells them;
    None for a private chat."""
    if isinstance(chat_id, int):
        return chat_id if chat_id < 0 else None
    try:
        number = int(chat_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return chat_id if isinstance(chat_id, str) else None
    return number if number < 0 else None
