"""People the bot knows: their chosen language, the language Telegram reports and, for staff,
the name colleagues see; and, briefly, those whose data was erased."""

from __future__ import annotations

from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, now_iso


async def forget_user(tx: Tx, user_id: int) -> None:
    """Erasure: delete the person's row (their Telegram id, language, last update) when
    nothing of theirs is left: no intake, and no role (staff keep theirs).

    The newest update applied for them is kept under a keyed hash of the id (``erased``),
    never the id itself, for two days: an update Telegram delivers again (it does for a
    day) is still recognised as applied (``UserStore.erased_update``)."""
    row = await tx.fetchone(
        "SELECT last_update_id FROM users WHERE user_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM intakes WHERE applicant_id = ?) AND NOT EXISTS"
        " (SELECT 1 FROM roles WHERE user_id = ?)",
        (user_id, user_id, user_id),
    )
    if row is None:
        return
    await tx.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM applied WHERE user_id = ?", (user_id,))
    # A web applicant's resume code and sessions go with them (bot/store/web.py).
    await tx.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM web_people WHERE user_id = ?", (user_id,))
    if tx.cipher is not None and row["last_update_id"]:
        await tx.execute(
            "INSERT INTO erased (tag, last_update_id, erased_at) VALUES (?, ?, ?)"
            " ON CONFLICT (tag) DO UPDATE SET erased_at = excluded.erased_at,"
            " last_update_id = MAX(erased.last_update_id, excluded.last_update_id)",
            (tx.cipher.pseudonym(user_id), int(row["last_update_id"]), now_iso()),
        )


class UserStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def language(self, user_id: int) -> str | None:
        row = await self._db.fetchone("SELECT lang FROM users WHERE user_id = ?", (user_id,))
        return None if row is None else row["lang"]

    async def languages(self, user_id: int) -> tuple[str | None, str | None]:
        """(chosen, Telegram's last seen) language of a person; None where not known."""
        row = await self._db.fetchone(
            "SELECT lang, tg_lang FROM users WHERE user_id = ?", (user_id,)
        )
        return (row["lang"], row["tg_lang"]) if row else (None, None)

    async def saw(self, user_id: int, telegram_lang: str | None) -> None:
        """Remember the language Telegram reports for this person now."""
        await self._db.execute(
            "INSERT INTO users (user_id, created_at, tg_lang) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET tg_lang = excluded.tg_lang",
            (user_id, now_iso(), telegram_lang),
            touches=user_id,
        )

    async def set_display_name(self, user_id: int, name: str) -> None:
        """How colleagues see a staff member (on cards and in the history)."""
        await self._db.execute(
            "UPDATE users SET display_name = ? WHERE user_id = ?",
            (name, user_id),
            touches=user_id,
        )

    async def display_name(self, user_id: int) -> str | None:
        row = await self._db.fetchone(
            "SELECT display_name FROM users WHERE user_id = ?", (user_id,)
        )
        return row["display_name"] if row and row["display_name"] else None

    async def set_language(self, user_id: int, lang: str) -> None:
        await self._db.execute(
            "INSERT INTO users (user_id, lang, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET lang = excluded.lang",
            (user_id, lang, now_iso()),
            touches=user_id,
        )

    async def erased_update(self, user_id: int) -> int:
        """The newest update applied for this person before their data was erased (0: none
        known, or longer ago than ``forget_erased`` keeps)."""
        cipher = self._db.cipher
        if cipher is None:
            return 0
        row = await self._db.fetchone(
            "SELECT last_update_id FROM erased WHERE tag = ?", (cipher.pseudonym(user_id),)
        )
        return 0 if row is None else int(row["last_update_id"])

    async def forget_erased(self, before: str) -> int:
        """Drop what ``forget_user`` kept, for erasures before ``before``."""
        return await self._db.execute(
            "DELETE FROM erased WHERE erased_at < ?", (before,), touches=NOBODY
        )
