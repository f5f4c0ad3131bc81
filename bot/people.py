"""Who someone is to the bot: the language they read, their roles, what the bot waits for.

Every channel asks these before it says anything to a person, so they are answered
here, once, rather than by each handler reading the store: the language chosen in the
bot wins over the one their phone reports (a shared family phone is often set to a
language its user does not read best), and a role is read from the database at the
moment it is needed, so a revoked one stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands import Command, for_roles
from bot.i18n import I18n, Tr, resolve
from bot.store import Store
from bot.store.pending import Pending

__all__ = ["Menu", "Pending", "People"]

# A typed answer the bot waits for that /cancel does not stop: the applicant's reply to a
# caseworker's question waits for as long as the question is open.
_NOT_CANCELLED = ("reply",)
# How many of the latest revocations the start looks at for menus to take back.
_REVOKED_CHECKED = 200


@dataclass(frozen=True)
class Menu:
    """The commands a staff member's own chat offers, in the language to write them in."""

    lang: str
    commands: tuple[Command, ...]


class People:
    def __init__(self, store: Store, i18n: I18n) -> None:
        self.store = store
        self.i18n = i18n

    # -- language --------------------------------------------------------------------

    async def lang(self, user_id: int, telegram_lang: str | None) -> str:
        """The interface language to speak to this person in."""
        return self.i18n.pick(await self.store.users.language(user_id), telegram_lang)

    async def tr(self, user_id: int, telegram_lang: str | None) -> Tr:
        return self.i18n.tr(await self.lang(user_id, telegram_lang))

    async def needs_language(self, user_id: int, telegram_lang: str | None) -> bool:
        """Neither chosen nor to be guessed from the phone: ask before anything else."""
        if resolve(telegram_lang) is not None:
            return False
        return await self.store.users.language(user_id) is None

    async def choose_language(self, user_id: int, lang: str) -> bool:
        """Keep ``lang`` as this person's language; False for one the bot does not speak."""
        if lang not in self.i18n.languages:
            return False
        await self.store.users.set_language(user_id, lang)
        return True

    # -- roles -----------------------------------------------------------------------

    async def roles(self, user_id: int) -> set[str]:
        return await self.store.roles.roles_of(user_id)

    # -- the command menu ------------------------------------------------------------

    async def menu(self, user_id: int) -> Menu | None:
        """The menu this person's own chat needs: for staff, the commands of every role
        they hold, in their language (chosen, else the one their Telegram last reported,
        else the default); None for everyone else, whom the applicants' menu serves."""
        roles = await self.store.roles.roles_of(user_id)
        if not roles:
            return None
        chosen, seen = await self.store.users.languages(user_id)
        return Menu(self.i18n.pick(chosen, seen), tuple(for_roles(roles)))

    async def staff_seen(self, user_id: int, telegram_lang: str | None) -> bool:
        """Remember the language a staff member's Telegram reports now (their menu and
        notices are written in it unless they chose one). True when the language the bot
        writes to them in changed with it: their menu must follow."""
        chosen, before = await self.store.users.languages(user_id)
        if before == telegram_lang:
            return False
        await self.store.users.saw(user_id, telegram_lang)
        return self.i18n.pick(chosen, before) != self.i18n.pick(chosen, telegram_lang)

    async def staff(self) -> list[int]:
        """Everyone who holds a role now, INTAKE_ADMIN_IDS included."""
        return sorted({g.user_id for g in await self.store.roles.grants()})

    async def former_staff(self) -> list[int]:
        """People whose last role was taken away lately, perhaps from the command line
        while the bot was not running: their chat may still offer staff commands."""
        entries = await self.store.audit.recent(_REVOKED_CHECKED, action="role.revoked")
        ids = {int(e.detail["user"]) for e in entries if isinstance(e.detail.get("user"), int)}
        return sorted([u for u in ids if not await self.store.roles.roles_of(u)])

    # -- typed answers the bot waits for ---------------------------------------------

    async def waiting_for(self, user_id: int) -> Pending | None:
        """The typed answer the bot asked this person for, if any."""
        return await self.store.pending.get(user_id)

    async def stop_waiting(self, user_id: int) -> bool:
        """/cancel: stop waiting for a typed answer; False when there was none to stop."""
        pending = await self.store.pending.get(user_id)
        if pending is None or pending.kind in _NOT_CANCELLED:
            return False
        await self.store.pending.clear(user_id)
        return True
