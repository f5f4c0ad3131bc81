"""The inbox: every update is committed here before Telegram may forget it.

With long polling, Telegram drops an update once a later ``getUpdates`` confirms its
offset, which python-telegram-bot does on the very next poll, milliseconds after the
fetch and long before the update was handled. With a webhook, Telegram drops it once the
bot answered 200. Either way the channel first commits the raw update here, and only then
lets the offset move on or answers 200 (telegram_channel/inbox.py). An update is then applied from
here and marked done after its handlers ran; whatever a crash left pending is applied at
the next start, before anything newer of its chat.

One row per update, keyed by Telegram's update id (not a "highest id seen": a skipped id
must not hide a lost update), so a re-delivered update, one Telegram sends again because
its offset was never confirmed, finds its row and is not applied twice. Done rows keep
their id and lose their body (``secure_delete`` overwrites it); they are pruned after
``KEEP_DONE``, longer than Telegram keeps an unconfirmed update (24 hours). An update that
cannot be read (a "poisoned" one) is a dead letter: kept, encrypted, with the error that
stopped it, counted, and never tried again.

The body is what people wrote: it is sealed with the database's cipher like the answers.

Several instances (PostgreSQL, webhook mode): the same table and methods. ``add`` is
``INSERT ... ON CONFLICT (update_id) DO NOTHING RETURNING update_id``, so of two instances
receiving the same update only one gets it as new. Whichever instance holds an update
applies it under the chat's advisory lock, after the chat's older ones
(telegram_channel/shared.py), so a chat's updates
are applied one at a time across instances, and once each: what an update changes records
it in ``applied`` in the same transaction (bot/store/intakes.py, ``record_applied``), so
an older update applied after a newer one is still applied, and a repeated one is not. Each
row names the instance that received it (``owner``), and each instance says every few
seconds that it is alive (``beat``, the ``instances`` table, by the database's clock). A
pending row whose instance went quiet for ``STALE_AFTER`` seconds (it died, or stopped)
is taken over by another (``take_over``: at its start, and by a periodic sweep; or by the
next update of its chat, ``chat_pending``), so what a dead instance held is applied by a
living one, in order, and not twice. On SQLite there is one process: rows name no owner,
it holds every pending row, and its per-chat locks (telegram_channel/app.py) keep the
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.crypto import open_text, seal_text
from bot.store.backend import Backend
from bot.store.db import NOBODY, now_iso

#: Days a done row keeps its update id, so that a re-delivery is recognised.
KEEP_DONE = 2
#: Days a dead letter is kept for someone to look at.
KEEP_DEAD = 30
#: Starts that may find an update still pending before it is set aside as a dead letter:
#: an update whose handling kills the process must not bring it down at every start.
MAX_ATTEMPTS = 3
#: Seconds without a heartbeat after which an instance's pending updates are taken over.
STALE_AFTER = 20.0
#: The database's clock in seconds since 1970, in SQL both databases take (PostgreSQL's
#: ``julianday`` is migrations_pg/0001_init.sql's): instances' own clocks may differ.
_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
#: Instances that said they are alive within STALE_AFTER seconds (one ``?``: STALE_AFTER).
_LIVE = f"SELECT id FROM instances WHERE seen_at > {_NOW} - ?"


@dataclass(frozen=True)
class Received:
    """One update as it came: its id, the chat it belongs to, the raw JSON text; and, for
    one that could not be read, why (it is stored as a dead letter)."""

    update_id: int
    chat_key: int
    body: str
    error: str | None = None


@dataclass(frozen=True)
class Pending:
    update_id: int
    chat_key: int
    body: str
    attempts: int


@dataclass(frozen=True)
class ChatPending:
    """A chat's pending update as the next one of the chat sees it (several instances)."""

    update_id: int
    #: Held by another instance that is alive: it applies the update itself.
    elsewhere: bool


class InboxStore:
    def __init__(self, db: Backend) -> None:
        self._db = db
        #: This instance's id when several share the database (telegram_channel/app.py);
        #: None when it is alone.
        self.owner: str | None = None

    def _seal(self, text: str) -> str | bytes:
        return seal_text(self._db.cipher, text)

    def _open(self, stored: str | bytes) -> str:
        return open_text(self._db.cipher, stored)

    async def add(self, batch: Sequence[Received]) -> set[int]:
        """Commit a batch in one write transaction; returns the ids that were new (the
        others were received before: not to be applied again)."""
        if not batch:
            return set()
        at = now_iso()
        rows: dict[int, tuple[object, ...]] = {}
        for item in batch:
            rows.setdefault(
                item.update_id,
                (
                    item.update_id,
                    item.chat_key,
                    self._seal(item.body),
                    at,
                    "pending" if item.error is None else "dead",
                    None if item.error is None else self._seal(item.error),
                    self.owner,
                ),
            )
        values = ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        params = [value for row in rows.values() for value in row]
        # One statement, one call to the writer's thread: the rows that went in are new.
        async with self._db.write(touches=NOBODY) as tx:
            inserted = await tx.fetchall(
                "INSERT INTO inbox (update_id, chat_key, body, received_at, state, error, owner)"
                f" VALUES {values} ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
                params,
            )
        new = {int(r[0]) for r in inserted}
        return new

    async def done(self, *update_ids: int) -> None:
        """The updates' handlers ran: forget their content, keep their ids for a while. A
        single statement, so that under load the marks share the writes' group commit."""
        if not update_ids:
            return
        marks = ",".join("?" * len(update_ids))
        await self._db.execute(
            "UPDATE inbox SET state = 'done', body = NULL, done_at = ?"
            f" WHERE update_id IN ({marks}) AND state = 'pending'",
            (now_iso(), *update_ids),
            touches=NOBODY,
        )

    async def dead(self, update_id: int, error: str) -> None:
        """Set a pending update aside: it is never applied."""
        await self._db.execute(
            "UPDATE inbox SET state = 'dead', error = ?, done_at = ?"
            " WHERE update_id = ? AND state = 'pending'",
            (self._seal(error), now_iso(), update_id),
            touches=NOBODY,
        )

    async def pending(self) -> list[Pending]:
        """What is to be applied here and no running instance holds: a previous run's
        (at a start), or a dead instance's (several instances), oldest first. Each is now
        this instance's and counts one more attempt."""
        async with self._db.write(touches=NOBODY) as tx:
            rows = await tx.fetchall(
                "UPDATE inbox SET owner = ?, attempts = attempts + 1"
                " WHERE state = 'pending' AND (owner IS NULL OR owner NOT IN (" + _LIVE + "))"
                " RETURNING update_id, chat_key, body, attempts",
                (self.owner, STALE_AFTER),
            )
        return sorted(
            (
                Pending(r["update_id"], r["chat_key"], self._open(r["body"]), r["attempts"])
                for r in rows
            ),
            key=lambda row: row.update_id,
        )

    async def chat_pending(self, chat_key: int, update_id: int) -> list[ChatPending]:
        """The chat's updates up to ``update_id`` that are still to be applied, oldest
        first (several instances, telegram_channel/shared.py): the update itself is not
        among them once it was applied."""
        rows = await self._db.fetchall(
            "SELECT update_id, owner IS NOT NULL AND owner != ? AND owner IN (" + _LIVE + ")"
            " AS elsewhere FROM inbox"
            " WHERE chat_key = ? AND update_id <= ? AND state = 'pending' ORDER BY update_id",
            (self.owner or "", STALE_AFTER, chat_key, update_id),
        )
        return [ChatPending(int(r["update_id"]), bool(r["elsewhere"])) for r in rows]

    async def take(self, update_ids: Sequence[int]) -> list[Pending]:
        """Make pending updates this instance's, unless a living other instance holds
        them (it took them meanwhile); those taken, oldest first."""
        if not update_ids:
            return []
        marks = ",".join("?" * len(update_ids))
        async with self._db.write(touches=NOBODY) as tx:
            rows = await tx.fetchall(
                "UPDATE inbox SET owner = ?, attempts = attempts + 1"
                f" WHERE update_id IN ({marks}) AND state = 'pending'"
                " AND (owner IS NULL OR owner = ? OR owner NOT IN (" + _LIVE + "))"
                " RETURNING update_id, chat_key, body, attempts",
                (self.owner, *update_ids, self.owner, STALE_AFTER),
            )
        return sorted(
            (
                Pending(r["update_id"], r["chat_key"], self._open(r["body"]), r["attempts"])
                for r in rows
            ),
            key=lambda row: row.update_id,
        )

    async def beat(self) -> None:
        """This instance is alive (several instances; every few seconds)."""
        await self._db.execute(
            f"INSERT INTO instances (id, seen_at) VALUES (?, {_NOW})"
            " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            (self.owner,),
            touches=NOBODY,
        )

    async def leave(self) -> None:
        """This instance stops: what it still holds is taken over at once, and instances
        that went quiet long ago are forgotten."""
        await self._db.execute(
            f"DELETE FROM instances WHERE id = ? OR seen_at < {_NOW} - 86400",
            (self.owner,),
            touches=NOBODY,
        )

    async def dead_count(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM inbox WHERE state = 'dead'")
        return int(row["n"]) if row else 0

    async def dead_letters(self) -> list[tuple[int, str]]:
        """(update id, error) of the dead letters, oldest first."""
        rows = await self._db.fetchall(
            "SELECT update_id, error FROM inbox WHERE state = 'dead' ORDER BY update_id"
        )
        return [(r["update_id"], self._open(r["error"] or "")) for r in rows]

    async def state_of(self, update_id: int) -> str | None:
        row = await self._db.fetchone("SELECT state FROM inbox WHERE update_id = ?", (update_id,))
        return row["state"] if row else None

    async def prune(self, done_before: str, dead_before: str) -> int:
        """Forget done rows received before ``done_before`` and dead letters received
        before ``dead_before`` (ISO times as ``now_iso`` writes them); and the record of
        updates applied before ``done_before`` (``intakes.claim_update``)."""
        async with self._db.write(touches=NOBODY) as tx:
            cursor = await tx.execute(
                "DELETE FROM inbox WHERE (state = 'done' AND received_at < ?)"
                " OR (state = 'dead' AND received_at < ?)",
                (done_before, dead_before),
            )
            # What was applied is remembered as long as a done update's id is.
            await tx.execute("DELETE FROM applied WHERE applied_at < ?", (done_before,))
        return int(cursor.rowcount)
