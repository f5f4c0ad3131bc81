"""The channel's side of the inbox: what Telegram delivers is on disk before Telegram
forgets it, is applied once, and one update that cannot be read stops nothing else.

``receive`` takes the raw updates of one ``getUpdates`` answer (or of one webhook call),
reads each on its own, and commits the batch to the inbox (bot/store/inbox.py) in one
write before returning it: with long polling, the offset that makes Telegram forget them
moves only when python-telegram-bot polls again with the ids ``receive`` returned; with a
webhook, Telegram hears 200 only after it returned. An update that cannot be read is a
dead letter: stored with its error, logged by its id and the error's type only, and
announced to every admin through the outbox. Such an update, and one received before (a
re-delivery), comes back as a bare ``Skipped`` update: PTB moves its offset past it, and
the update processor (telegram_channel/app.py) applies nothing for it.

``replay`` reads what a previous run left pending (with several instances: what a dead
instance left), for the processor to apply before anything newer of the same chat;
``catch_up`` applies a chat's older updates at once, holding the chat (several instances,
telegram_channel/shared.py); ``done`` marks an update applied once its handlers ran.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from telegram import Update

from bot import jsoncodec
from bot.i18n import Tr
from bot.store import Store
from bot.store.inbox import MAX_ATTEMPTS, Pending, Received
from bot.store.outbox import OutMessage
from telegram_channel.updates import decode

if TYPE_CHECKING:
    from telegram_channel.intake_bot import UpdateReader

log = logging.getLogger(__name__)


#: Most update ids in one done mark (SQLite's limit on parameters is far above).
MARKS_AT_ONCE = 500


class Skipped(Update):
    """An update PTB must see (its offset moves past it) that nothing applies: a dead
    letter, or one already in the inbox."""

    __slots__ = ()


class Unreadable(ValueError):
    """An answer from Telegram without an update id: nothing can be stored or skipped."""


def _chat_key(update: Update) -> int:
    """The key the update processor orders by: the chat, else the user."""
    chat = update.effective_chat
    if chat is not None:
        return int(chat.id)
    user = update.effective_user
    return int(user.id) if user is not None else 0


def _raw_chat_key(data: dict[str, Any]) -> int:
    """As ``_chat_key``, from an update that could not be read (best effort)."""
    for name, value in data.items():
        if name == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict):
                chat = holder.get("chat")
                if isinstance(chat, dict) and type(chat.get("id")) is int:
                    return int(chat["id"])
        for field in ("from", "user"):
            person = value.get(field)
            if isinstance(person, dict) and type(person.get("id")) is int:
                return int(person["id"])
    return 0


def update_id_of(item: object) -> int:
    if not isinstance(item, dict) or type(item.get("update_id")) is not int:
        raise Unreadable("an update without an update id")
    return int(item["update_id"])


class Inbox:
    def __init__(
        self,
        store: Store,
        reader_of: Callable[[int], Awaitable[Tr]] | None = None,
        *,
        read_update: UpdateReader = decode,
    ) -> None:
        self.store = store
        #: The translations an admin reads (``Casework.tr_for``); None: no alerts.
        self.reader_of = reader_of
        #: How an update is read: the Bot API client's reader (telegram_channel/client.py).
        self.read_update = read_update
        self._marks: list[int] = []  # updates applied, not yet marked done
        self._replayed: set[int] = set()  # updates of a previous run, not yet done
        self._marker: asyncio.Task[None] | None = None

    async def receive(self, items: Iterable[object], bot: Any) -> tuple[Update, ...]:
        """Read and commit one batch; returns what PTB is to see, in Telegram's order."""
        received: list[Received] = []
        updates: list[Update] = []
        for item in items:
            update_id = update_id_of(item)
            assert isinstance(item, dict)
            query = item.get("callback_query")
            tapped = query.get("message") if isinstance(query, dict) else None
            if isinstance(tapped, dict):
                # The keyboard of a tapped message is never read (telegram_channel/updates.py):
                # not stored either (a third or more of a tap's size), whichever the reader.
                tapped.pop("reply_markup", None)
            body = jsoncodec.dumps_text(item)
            try:
                update = self.read_update(item, bot)
            except Exception as exc:  # anything PTB cannot make an Update of
                error = f"{type(exc).__name__}: {exc}"[:300]
                received.append(Received(update_id, _raw_chat_key(item), body, error))
                updates.append(Skipped(update_id))
                continue
            received.append(Received(update_id, _chat_key(update), body))
            updates.append(update)
        new = await self.store.inbox.add(received)
        out: list[Update] = []
        for item, update in zip(received, updates, strict=True):
            if item.update_id not in new:
                out.append(update if isinstance(update, Skipped) else Skipped(item.update_id))
                continue
            new.discard(item.update_id)  # the same id twice in one answer: applied once
            if item.error is not None:
                await self._dead(item.update_id, item.error.split(":", 1)[0])
            out.append(update)
        return tuple(out)

    async def replay(self, bot: Any) -> list[Update]:
        """The updates a previous run left pending (or, with several instances, a dead
        instance's), oldest first, read again."""
        out = await self._read(await self.store.inbox.pending(), bot)
        if out:
            log.info("applying %d update(s) received before the last stop", len(out))
        return out

    async def catch_up(
        self, rows: list[Pending], bot: Any, apply: Callable[[Update], Awaitable[None]]
    ) -> None:
        """Apply a chat's older updates here and now, oldest first, and mark each done
        (several instances: telegram_channel/shared.py, holding the chat's lock)."""
        for update in await self._read(rows, bot):
            await apply(update)
            self._replayed.discard(update.update_id)
            await self.store.inbox.done(update.update_id)
        if rows:
            log.info("applied %d update(s) an instance left behind", len(rows))

    async def _read(self, rows: list[Pending], bot: Any) -> list[Update]:
        """Pending rows as updates; one found pending at ``MAX_ATTEMPTS`` starts is set
        aside (its handling may be what stopped the bot), as is one that cannot be read."""
        out: list[Update] = []
        last: dict[int, int] = {}  # chat -> its newest update read again
        for row in rows:
            if row.attempts > MAX_ATTEMPTS:
                await self.store.inbox.dead(row.update_id, "still not applied after restarts")
                await self._dead(row.update_id, "restarts")
                continue
            try:
                update = self.read_update(json.loads(row.body), bot)
            except Exception as exc:
                await self.store.inbox.dead(row.update_id, f"{type(exc).__name__}: {exc}"[:300])
                await self._dead(row.update_id, type(exc).__name__)
                continue
            out.append(update)
            last[row.chat_key] = row.update_id
        # Only a chat's last: the answer to a later one shows where the chat is anyway.
        self._replayed.update(last.values())
        return out

    def replayed(self, update: object) -> bool:
        """Whether this update is its chat's last one applied again from a previous run:
        its handlers may have done their work and stopped before answering, so a duplicate
        says where things are rather than nothing."""
        return isinstance(update, Update) and update.update_id in self._replayed

    def done(self, update: object) -> None:
        """Mark an update applied. The marks of updates that finish while one is being
        written go together in the next statement: under load that is one statement for a
        few dozen updates instead of one each, a visible part of an update's CPU. An update
        whose mark was not yet written when the bot died is applied again at the next
        start, where the core's duplicate checks recognise what it did."""
        if not isinstance(update, Update) or isinstance(update, Skipped):
            return
        self._replayed.discard(update.update_id)
        self._marks.append(update.update_id)
        if self._marker is None:
            self._marker = asyncio.create_task(self._mark())

    async def _mark(self) -> None:
        try:
            while self._marks:
                ids, self._marks = self._marks[:MARKS_AT_ONCE], self._marks[MARKS_AT_ONCE:]
                try:
                    await self.store.inbox.done(*ids)
                except Exception as exc:
                    log.warning("could not mark updates done: %s", type(exc).__name__)
        finally:
            self._marker = None

    async def flush(self) -> None:
        """Write the marks still waiting (before the database closes)."""
        while self._marker is not None:
            await asyncio.shield(self._marker)

    async def _dead(self, update_id: int, why: str) -> None:
        """Tell the log and the admins (by id only: the update is what someone wrote)."""
        log.error("update %d cannot be applied (%s): set aside as a dead letter", update_id, why)
        if self.reader_of is None:
            return
        try:
            count = await self.store.inbox.dead_count()
            messages = []
            for admin in await self.store.roles.members("admin"):
                tr = await self.reader_of(admin)
                text = tr.gettext(
                    "Telegram delivered an update the bot cannot apply (update {update_id}). It was set aside, and the bot goes on with the others. Updates set aside so far: {count}."
                ).format(update_id=tr.ltr(str(update_id)), count=tr.count(count))
                messages.append(OutMessage(admin, text))
            await self.store.outbox.add(messages)
        except Exception as exc:
            log.warning("could not alert the admins about a dead letter: %s", type(exc).__name__)
