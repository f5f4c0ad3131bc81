"""Telegram's "/" command menu: the applicants' in every language, and each staff
member's own, with the commands of every role they hold.

What each reader may use comes from one table (bot/commands.py), which /help reads too.
The applicants' menu is set for all private chats, once per language the bot speaks and
once without a language (the default language, for phones set to another one); groups
get none: work is done in private chats (handlers/caseworker.py answers a staff command
sent in the caseworkers' group with the way there). A staff member's private
chat gets its own menu (``BotCommandScopeChat``), in the language the bot writes to them
in; it is set at every start, and again when a role is granted or revoked in the chat or
their language changes. Losing the last role deletes it, and the applicants' menu shows
again. Roles changed with ``intake-bot roles`` (the bot may not be running) reach the
menus at the next start: the start also takes back the menus of people revoked lately.

A menu is a convenience: when Telegram refuses one, a warning is logged (with no one's
id) and the bot goes on. Setting them never holds up the start: it runs beside serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat

from bot.commands import EVERYONE, Command
from bot.i18n import I18n, Tr
from bot.people import People

log = logging.getLogger(__name__)


def bot_commands(tr: Tr, commands: tuple[Command, ...] | list[Command]) -> list[BotCommand]:
    return [BotCommand(c.name, tr.gettext(c.about)) for c in commands]


class CommandMenus:
    def __init__(self, people: People, i18n: I18n) -> None:
        self.people = people
        self.i18n = i18n
        # One person's menu is read and written by one task at a time: a grant arriving
        # while the start sets menus must not be overwritten by what was read before it.
        # (Only staff and people an admin revoked get one: a handful.)
        self._locks: dict[int, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None

    # -- at start ------------------------------------------------------------------------

    def start(self, bot: Bot) -> None:
        """Set every menu in the background (``set_all``); ``stop`` ends it."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.set_all(bot), name="command menus")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def set_all(self, bot: Bot) -> None:
        """The applicants' menu in every language, then every staff member's own, then
        back to the applicants' menu for those revoked lately."""
        scope = BotCommandScopeAllPrivateChats()
        for lang in (*self.i18n.languages, None):
            commands = bot_commands(self.i18n.tr(lang), EVERYONE)
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=lang)
            except Exception as err:  # a menu is never worth stopping for
                log.warning(
                    "could not set the applicants' command menu (%s): %s",
                    lang or "default",
                    type(err).__name__,
                )
        try:
            staff = await self.people.staff()
            former = await self.people.former_staff()
        except Exception:
            log.exception("could not read who holds a role for the command menus")
            return
        for user_id in (*staff, *former):
            await self.refresh(bot, user_id)

    # -- one person ----------------------------------------------------------------------

    async def refresh(self, bot: Bot, user_id: int, *, staff_only: bool = False) -> None:
        """Make ``user_id``'s private chat offer what they may use now: their staff menu,
        or (no role left) the applicants' again. ``staff_only``: leave someone without a
        role alone (a language change: most who change it never had a staff menu)."""
        if staff_only and not await self.people.roles(user_id):
            return
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            try:
                menu = await self.people.menu(user_id)
                scope = BotCommandScopeChat(user_id)
                if menu is not None:
                    commands = bot_commands(self.i18n.tr(menu.lang), menu.commands)
                    await bot.set_my_commands(commands, scope=scope)
                elif not staff_only:
                    await bot.delete_my_commands(scope=scope)
            except Exception as err:  # e.g. someone who never opened a chat with the bot
                log.warning("could not set a staff member's command menu: %s", type(err).__name__)
