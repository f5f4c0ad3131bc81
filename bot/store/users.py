"""People the bot knows: their chosen language."""

from __future__ import annotations

from bot.store.db import Database, now_iso


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
