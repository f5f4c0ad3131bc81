"""What the scheduled care of the data reads and writes: the draft expiry setting, idle
drafts, and previews nobody finished.

``bot/housekeeping.py`` decides when and what to tell people; this part only speaks SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.audit import record
from bot.store.backend import Backend
from bot.store.db import now_iso

DRAFT_DAYS_KEY = "draft_days"


@dataclass(frozen=True)
class IdleDraft:
    """A draft not answered since the cutoff, with what is needed to tell its applicant."""

    id: int
    chat_id: int
    lang: str | None  # the language the draft was started in
    chosen: str | None  # the language the applicant chose, if they did


class HousekeepingStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def draft_days(self) -> int | None:
        """The number of days an admin set drafts to wait (None: never set)."""
        row = await self._db.fetchone("SELECT value FROM settings WHERE key = ?", (DRAFT_DAYS_KEY,))
        return int(row["value"]) if row else None

    async def set_draft_days(self, actor: int, days: int) -> None:
        """Store the admin's number of days, with an audit row, in one transaction."""
        async with self._db.write() as tx:
            await tx.execute(
                "INSERT INTO settings (key, value, changed_by, changed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                (DRAFT_DAYS_KEY, str(days), actor, now_iso()),
            )
            await record(tx, actor, "settings.draft_days", None, {"days": days})

    async def idle_drafts(self, cutoff: str) -> list[IdleDraft]:
        """Drafts last changed before ``cutoff``."""
        rows = await self._db.fetchall(
            "SELECT i.id, i.chat_id, i.lang, u.lang AS chosen FROM intakes i"
            " LEFT JOIN users u ON u.user_id = i.applicant_id"
            " WHERE i.status = 'draft' AND i.updated_at < ?",
            (cutoff,),
        )
        return [IdleDraft(r["id"], r["chat_id"], r["lang"], r["chosen"]) for r in rows]

    async def drop_previews(self, started_before: str) -> int:
        """Forget previews started before ``started_before``; returns how many."""
        return await self._db.execute(
            "DELETE FROM previews WHERE started_at < ?", (started_before,)
        )
