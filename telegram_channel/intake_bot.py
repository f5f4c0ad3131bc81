"""The bot object: PTB's ExtBot with the inbox behind getUpdates and the outbox behind replies.

``IntakeBot.get_updates`` commits each answer to the inbox (telegram_channel/inbox.py)
before it returns it, so that the offset the next poll confirms never names an update that
is only in memory; and marks polling as working (for the watchdog) only then. Updates are
read by the reader the Bot API client came with (telegram_channel/client.py): our
``updates.decode``, or PTB's ``Update.de_json``. On our own connection the long poll goes
out as the bot's other calls do (``BotApiRequest.post_json``); on any other, through
``Bot._post`` as PTB sends it. After a poll that brought updates the next one waits
``POLL_GAP``, so that under load updates come in batches.

A reply the senders (telegram_channel/sending.py) could not get through after their
retries goes to ``reply_fallback``: the outbox, set when the Application is built.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from telegram import Bot, Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.ext import ExtBot

from telegram_channel.transport import BotApiRequest
from telegram_channel.updates import decode

if TYPE_CHECKING:
    from telegram_channel.inbox import Inbox
    from telegram_channel.keyboards import Markup

log = logging.getLogger(__name__)

UpdateReader = Callable[[JSONDict, Bot], Update]
"""Makes one update of getUpdates' answer (or of a webhook call) into PTB's ``Update``."""

ReplyFallback = Callable[[int, str, "Markup"], Awaitable[None]]
"""Takes a reply (chat, text, markup) that could not be sent now, to be sent later."""


def _json_value(value: object) -> object:
    """As PTB sends a getUpdates parameter: a timedelta as seconds, whole ones as an int."""
    if isinstance(value, dtm.timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    return value


class IntakeBot(ExtBot[None]):
    """PTB's ExtBot, reading getUpdates' answers with its update reader into the inbox."""

    __slots__ = ("_batch_at", "_failures", "_inbox", "_polled", "_read_update", "_reply_fallback")

    #: Seconds from a getUpdates that brought updates to the next one. Each poll costs the
    #: bot about as much CPU as a reply, and with no gap a busy bot on a fast link polls
    #: every other update; a few milliseconds gather several updates per poll, for a wait
    #: no longer than the gap, only for updates that arrive just after a batch (the figures
    #: are in bench/README.md). Idle polls wait for nothing.
    POLL_GAP = 0.005
    #: Longest wait, in seconds, before fetching again answers that could not be stored.
    MAX_BACKOFF = 30.0

    def __init__(self, *args: Any, read_update: UpdateReader = decode, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_at = -math.inf
        self._failures = 0
        self._inbox: Inbox | None = None
        self._polled: Callable[[], None] | None = None
        self._read_update = read_update
        self._reply_fallback: ReplyFallback | None = None

    @property
    def read_update(self) -> UpdateReader:
        """How this bot makes an ``Update`` of the Bot API's JSON."""
        return self._read_update

    @property
    def reply_fallback(self) -> ReplyFallback | None:
        """Where a reply goes that could not be sent after the senders' retries (None: the
        error is raised to the handler)."""
        return self._reply_fallback

    def defer_failed_replies(self, fallback: ReplyFallback) -> None:
        """Send replies that cannot get through now to ``fallback`` (the outbox, whose
        sender keeps trying), so that an outage delays a reply and loses none."""
        self._reply_fallback = fallback

    def use_inbox(self, inbox: Inbox, polled: Callable[[], None] | None = None) -> None:
        """Commit each answer of getUpdates to ``inbox`` before returning it (without one,
        updates are only read, as PTB would); call ``polled`` once one was read and
        stored: polling works (the watchdog's mark)."""
        self._inbox = inbox
        self._polled = polled

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: int | dtm.timedelta | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        early = self._batch_at + self.POLL_GAP - time.monotonic()
        if early > 0:
            await asyncio.sleep(early)
        # As Bot.get_updates: the long poll's wait comes on top of the read timeout.
        if isinstance(read_timeout, DefaultValue):
            waited = self._request[0].read_timeout or 0
        else:
            waited = read_timeout or 0
        if isinstance(timeout, dtm.timedelta):
            waited += timeout.total_seconds()
        elif timeout:
            waited += timeout
        data: JSONDict = {
            "timeout": timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        request = self._request[0]
        if isinstance(request, BotApiRequest) and all(
            isinstance(t, DefaultValue) for t in (write_timeout, connect_timeout, pool_timeout)
        ):
            # The long poll as the bot's other calls go: JSON straight to the connection,
            # not through Bot._post's RequestData.
            data.update(api_kwargs or {})
            params = {k: _json_value(v) for k, v in data.items() if v is not None}
            result = await request.post_json(
                f"{self.base_url}/getUpdates", params, read_timeout=waited
            )
        else:
            result = await self._post(
                "getUpdates",
                data,
                read_timeout=waited,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
            )
        if self._inbox is None:
            updates = tuple(self._read_update(item, self) for item in result)
        else:
            try:
                updates = await self._inbox.receive(result, self)
            except Exception as exc:
                # Not stored, so not returned: the offset stays, and Telegram sends them
                # again. PTB would poll again at once; wait, longer each time, instead.
                self._failures += 1
                wait = min(self.MAX_BACKOFF, 0.5 * 2**self._failures)
                log.error(
                    "could not store the updates Telegram sent (%s); fetching them again in %.0f s",
                    type(exc).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
                return ()
            self._failures = 0
        self._batch_at = time.monotonic() if updates else -math.inf
        for update in updates:
            self.insert_callback_data(update)
        if self._polled is not None:
            self._polled()
        return updates
