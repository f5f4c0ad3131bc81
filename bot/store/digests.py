"""The morning digests already sent: one a person a day, whatever restarts or overlaps.

A digest is queued in the outbox in the same transaction as the row that says it was
sent (``digests``, keyed by person and local day), so a run that finds the row has
nothing to send, and a crash leaves either both or neither.
"""

from __future__ import annotations

from bot.store.backend import Backend
from bot.store.db import NOBODY, now_iso
from bot.store.outbox import OutMessage, enqueue

# The settings row that holds the last day whose digest run went through to its end.
_RAN = "digest_ran"


class DigestStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def sent_on(self, day: str) -> set[int]:
        """Who has had the digest of ``day`` (YYYY-MM-DD, local) already."""
        rows = await self._db.fetchall("SELECT user_id FROM digests WHERE day = ?", (day,))
        return {int(r["user_id"]) for r in rows}

    async def send_once(self, user_id: int, day: str, message: OutMessage) -> bool:
        """Queue ``message`` as ``user_id``'s digest of ``day``, unless one was queued
        already; True if this call queued it."""
        async with self._db.write(touches=NOBODY) as tx:
            cursor = await tx.execute(
                "INSERT INTO digests (user_id, day, sent_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, day) DO NOTHING",
                (user_id, day, now_iso()),
            )
            if cursor.rowcount != 1:
                return False
            await enqueue(tx, [message])
        return True

    async def forget_before(self, day: str) -> int:
        """Drop the record of digests before ``day``: only today's guards against a
        second one."""
        return await self._db.execute("DELETE FROM digests WHERE day < ?", (day,), touches=NOBODY)

    async def ran_on(self) -> str | None:
        """The last day (YYYY-MM-DD, local) whose digests were all queued."""
        row = await self._db.fetchone("SELECT value FROM settings WHERE key = ?", (_RAN,))
        return None if row is None else str(row["value"])

    async def finished(self, day: str) -> None:
        """Every digest of ``day`` is queued: a catch-up that day has nothing to do."""
        await self._db.execute(
            "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " changed_at = excluded.changed_at",
            (_RAN, day, now_iso()),
            touches=NOBODY,
        )
