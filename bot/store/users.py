"""People the bot knows: their chosen language."""

from __future__ import annotations

from bot.store.db import Database, Transaction, now_iso


async def forget_user(tx: Transaction, user_id: int) -> None:
    """Erasure: delete the person's row (their Telegram id, language, last update) when
    nothing of theirs is left: no intake, and no role (staff keep theirs)."""
    await tx.execute(
        "DELETE FROM users WHERE user_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM intakes WHERE applicant_id = ?) AND NOT EXISTS"
        " (SELECT 1 FROM roles WHERE user_id = ?)",
        (user_id, user_id, user_id),
    )


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def language(self, user_id: int) -> str | None:
        row = await self._db.fetchone("SELECT lang FROM users WHERE user_id = ?", (user_id,))
        return None if row is None else row["lang"]

    async def set_language(self, user_id: int, lang: str) -> None:
        await self._db.execute(
            "INSERT INTO users (user_id, lang, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET lang = excluded.lang",
            (user_id, lang, now_iso()),
            touches=user_id,
        )
