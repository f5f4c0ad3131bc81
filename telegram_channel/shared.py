"""A chat's updates in order and once across several instances of the bot on one
PostgreSQL database (webhook mode behind a load balancer, issue 27).

Each process already applies a chat's updates one at a time (``PerChatUpdateProcessor``).
Across processes, an update is applied holding the chat's advisory lock
(``PgDatabase.try_chat_lock``), and only after the chat's older updates still pending in
the shared inbox: Telegram sends a chat's updates in order, but two instances may take
them in either order. Older ones that a living instance holds are waited for (it applies
them in milliseconds); older ones whose instance died (no heartbeat for
``STALE_AFTER``, bot/store/inbox.py) or that are this instance's own are taken and
applied first, here, under the same lock (``catch_up``). An update no longer pending when
its turn comes (applied that way already) is not applied again; one a living instance
took over meanwhile is left to it. Only if a living instance holds an older update for
``ORDER_WAIT`` (it is stuck) does the newer one go on without it. The update is marked
done before the lock is given back, so the next one of the chat, on whichever instance,
finds it done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from bot.store.inbox import STALE_AFTER, InboxStore, Pending

#: Seconds a newer update waits for an older one of its chat held by another instance:
#: longer than an instance takes to be seen dead, so a dead one's updates come first.
ORDER_WAIT = STALE_AFTER + 10.0
_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.2


class SharedChats:
    def __init__(
        self,
        db: Any,
        inbox: InboxStore,
        catch_up: Callable[[list[Pending]], Awaitable[None]],
    ) -> None:
        self._db = db  # bot/store/pg.py's PgDatabase
        self._inbox = inbox
        #: Applies a chat's older updates, oldest first, and marks them done
        #: (telegram_channel/inbox.py, ``Inbox.catch_up``).
        self._catch_up = catch_up

    @asynccontextmanager
    async def hold(self, chat: int, update_id: int) -> AsyncIterator[bool]:
        """Yields whether the update is to be applied here."""
        loop = asyncio.get_running_loop()
        until = loop.time() + ORDER_WAIT
        pause = _FIRST_PAUSE
        while True:
            if await self._db.try_chat_lock(chat):
                try:
                    go = await self._ready(chat, update_id, loop.time() >= until)
                except BaseException:
                    await asyncio.shield(self._db.chat_unlock(chat))
                    raise
                if go is not None:
                    break
                await self._db.chat_unlock(chat)  # let the older one's instance have it
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
        try:
            yield go
            if go:
                await self._inbox.done(update_id)
        finally:
            await asyncio.shield(self._db.chat_unlock(chat))

    async def _ready(self, chat: int, update_id: int, waited: bool) -> bool | None:
        """Holding the chat's lock: True to apply the update now (its older ones applied
        first), False to leave it, None to wait for an older one another instance holds."""
        rows = await self._inbox.chat_pending(chat, update_id)
        if not rows or rows[-1].update_id != update_id or rows[-1].elsewhere:
            return False  # applied already, or another instance took it over
        older = rows[:-1]
        if any(row.elsewhere for row in older) and not waited:
            return None
        ours = [row.update_id for row in older if not row.elsewhere]
        if ours:
            await self._catch_up(await self._inbox.take(ours))
        return True
