"""Who is acting and how to speak to them: languages, staff names, roles.

Staff are told things through the outbox long after they last wrote, so the language
Telegram reported and, for people who hold a role, the name they go by are remembered
whenever they talk to the bot.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.casework.actions import Actor
from bot.flow.values import clean_text, strip_bidi
from bot.i18n import I18n, Tr
from bot.store import Store


class Denied(Exception):
    """The actor does not hold the role the action needs."""


class People:
    def __init__(self, store: Store, i18n: I18n) -> None:
        self.store = store
        self.i18n = i18n

    async def lang_of(self, user_id: int, fallback: str | None = None) -> str:
        """The language to write to ``user_id`` in: chosen, else Telegram's, else ``fallback``."""
        chosen, seen = await self.store.users.languages(user_id)
        if chosen is None and seen is None and fallback:
            return self.i18n.pick(fallback, None)
        return self.i18n.pick(chosen, seen)

    async def tr_for(self, user_id: int, fallback: str | None = None) -> Tr:
        return self.i18n.tr(await self.lang_of(user_id, fallback))

    async def reader(self, user_id: int, telegram_lang: str | None) -> Tr:
        """How to answer anyone at all: their chosen language, else the one their client
        sends now (nothing about them is written)."""
        chosen = await self.store.users.language(user_id)
        return self.i18n.tr(self.i18n.pick(chosen, telegram_lang))

    async def seen(self, user_id: int, telegram_lang: str | None, name: str | None) -> bool:
        """Remember a staff member's Telegram language and name, for alerts and history.

        The name is kept only for people who hold a role: nobody else's is needed. True
        when the language the bot writes to this staff member in changed with it (their
        command menu is in that language: the channel sets it again).
        """
        chosen, before = await self.store.users.languages(user_id)
        await self.store.users.saw(user_id, telegram_lang)
        roles = await self.store.roles.roles_of(user_id)
        name = clean_text(name or "")[:64]  # shown on cards: no bidi controls in it
        if name and roles:
            await self.store.users.set_display_name(user_id, name)
        was, now = self.i18n.pick(chosen, before), self.i18n.pick(chosen, telegram_lang)
        return bool(roles) and was != now

    async def name_of(self, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        name = await self.store.users.display_name(user_id)
        return strip_bidi(name) if name else f"#{user_id}"

    async def names_of(self, user_ids: Iterable[int | None]) -> dict[int | None, str]:
        return {uid: await self.name_of(uid) for uid in set(user_ids)}

    async def actor(self, user_id: int) -> Actor:
        scopes = await self.store.roles.scopes(user_id)
        return Actor(user_id, frozenset(scopes), scopes)

    async def has(self, user_id: int, role: str) -> bool:
        return await self.store.roles.has(user_id, role)

    async def require(self, user_id: int, role: str) -> None:
        if not await self.store.roles.has(user_id, role):
            raise Denied(role)
