"""Typed answers the bot is waiting for: an amount, a reason, a reply to a question.

Kept in the database rather than in memory so that a restart between the
bot's prompt and the person's answer loses nothing. What was collected so far (a
partner's clue being typed, an amount) is sealed like the answers (bot/crypto.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.crypto import open_json, seal_json
from bot.store.backend import Backend
from bot.store.db import NOBODY, now_iso


@dataclass(frozen=True)
class Pending:
    user_id: int
    kind: str
    intake_id: int | None
    ref_id: int | None
    data: dict[str, Any]


class PendingStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def get(self, user_id: int) -> Pending | None:
        row = await self._db.fetchone(
            "SELECT user_id, kind, intake_id, ref_id, data FROM pending WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return Pending(
            row["user_id"],
            row["kind"],
            row["intake_id"],
            row["ref_id"],
            open_json(self._db.cipher, row["data"]) if row["data"] else {},
        )

    async def set(
        self,
        user_id: int,
        kind: str,
        intake_id: int | None = None,
        ref_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO pending (user_id, kind, intake_id, ref_id, data, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind,"
            " intake_id = excluded.intake_id, ref_id = excluded.ref_id, data = excluded.data,"
            " created_at = excluded.created_at",
            (
                user_id,
                kind,
                intake_id,
                ref_id,
                seal_json(self._db.cipher, data or {}),
                now_iso(),
            ),
            touches=NOBODY,
        )

    async def clear(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM pending WHERE user_id = ?", (user_id,), touches=NOBODY)
