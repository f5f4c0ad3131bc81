"""A chat's updates in order and one at a time across several instances of the bot on one
PostgreSQL database (webhook mode behind a load balancer, issue 27).

Each process already applies a chat's updates one at a time (``PerChatUpdateProcessor``).
Across processes, an update is applied holding the chat's advisory lock
(``PgDatabase.try_chat_lock``), and only once no older update of the chat is pending in the
shared inbox: Telegram sends a chat's updates in order, but two instances may take them in
either order. An older one still pending after ``ORDER_WAIT`` is taken to belong to an
instance that died (it is applied when an instance starts): the newer one goes on. The
update is marked done before the lock is given back, so the next one of the chat, on
whichever instance, finds it done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.store.inbox import InboxStore

#: Seconds a newer update waits for an older one of its chat held by another instance.
ORDER_WAIT = 10.0
_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.2


class SharedChats:
    def __init__(self, db: Any, inbox: InboxStore) -> None:
        self._db = db  # bot/store/pg.py's PgDatabase
        self._inbox = inbox

    @asynccontextmanager
    async def hold(self, chat: int, update_id: int) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        until = loop.time() + ORDER_WAIT
        pause = _FIRST_PAUSE
        while True:
            if await self._db.try_chat_lock(chat):
                if loop.time() >= until or not await self._inbox.older_pending(chat, update_id):
                    break
                await self._db.chat_unlock(chat)  # let the older one's instance have it
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
        try:
            yield
            await self._inbox.done(update_id)
        finally:
            await asyncio.shield(self._db.chat_unlock(chat))
