"""Choosing the language of the bot: /language, and an offer on the first /start.

The choice is stored and wins over Telegram's language_code, since a shared
family phone is often set to a language its user does not read best.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.i18n import I18n, language_name
from bot.interview import Applicant, Interview, Turn
from bot.people import People
from telegram_channel.buttons.language import PATTERN, language_data, read_language
from telegram_channel.keyboards import Keyboard, button, rows
from telegram_channel.menu import CommandMenus
from telegram_channel.sending import acknowledge, edit_markup, send

log = logging.getLogger(__name__)

Render = Callable[[Update, ContextTypes.DEFAULT_TYPE, Turn], Awaitable[None]]


class LanguageHandlers:
    def __init__(
        self,
        interview: Interview,
        people: People,
        i18n: I18n,
        render: Render,
        menus: CommandMenus,
    ) -> None:
        self.interview = interview
        self.people = people
        self.i18n = i18n
        self.render = render
        # A staff member's "/" menu is in their language: it follows their choice.
        self.menus = menus

    def picker(self, then_start: bool) -> Keyboard:
        return Keyboard(
            rows(
                [
                    button(language_name(lang), language_data(lang, then_start=then_start))
                    for lang in self.i18n.languages
                ]
            )
        )

    def prompt(self) -> str:
        """'Choose your language' in every language, since we do not know which they read."""
        return "\n".join(
            self.i18n.tr(lang).gettext("Please choose your language.")
            for lang in self.i18n.languages
        )

    async def command(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None:
            return
        await send(ctx.bot, user.id, self.prompt(), self.picker(then_start=False))

    async def offer_if_unknown(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> bool:
        """On /start from someone whose language we neither know nor can guess: ask first."""
        user = update.effective_user
        if user is None or not await self.people.needs_language(user.id, user.language_code):
            return False
        await send(ctx.bot, user.id, self.prompt(), self.picker(then_start=True))
        return True

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        tap = read_language(query.data)
        await acknowledge(query)
        if tap is None or not await self.people.choose_language(user.id, tap.lang):
            return
        lang, then_start = tap.lang, tap.then_start
        message = query.message if isinstance(query.message, Message) else None
        await edit_markup(message, None)
        tr = self.i18n.tr(lang)
        await send(
            ctx.bot,
            user.id,
            tr.gettext("From now on I write to you in {language}.").format(
                language=language_name(lang)
            ),
        )
        await self.menus.refresh(ctx.bot, user.id, staff_only=True)
        applicant = Applicant(user.id, user.id, user.language_code)
        if then_start:
            await self.render(update, ctx, await self.interview.begin(applicant, update.update_id))
            return
        turn = await self.interview.show(applicant)
        if not turn.no_draft:
            await self.render(update, ctx, turn)


def build_handlers(
    interview: Interview, people: People, i18n: I18n, render: Render, menus: CommandMenus
) -> tuple[list[BaseHandler], LanguageHandlers]:
    h = LanguageHandlers(interview, people, i18n, render, menus)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("language", h.command, filters=private),
        CallbackQueryHandler(h.on_button, pattern=PATTERN),
    ], h
