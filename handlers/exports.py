"""/export in the chat: the applications of a period and region as an Excel (or CSV) file,
sent back as a document.

Thin over ``bot.export``: the core reads the actor's role and regions from the database
when the export is asked for and again when it is made. Phone and ID numbers go in only
after a confirmation button, whose data is the id of the waiting request (re-read, and
good once, for the person who asked). The file is built in a temporary folder, its rows
written in a worker thread, so the bot goes on answering others meanwhile.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.export import BadFilter, Exports, NotAllowed, Request, filename, parse_words
from bot.i18n import Tr
from bot.people import People
from telegram_channel.buttons.exports import PATTERN, export_data, read_export
from telegram_channel.keyboards import Keyboard, button
from telegram_channel.sending import acknowledge, edit_markup, send

log = logging.getLogger(__name__)

# What Telegram's Bot API takes from a bot as a document (a local Bot API server takes
# more; a file over this is left to the command line, which has no such limit).
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def _only(tr: Tr) -> str:
    return tr.gettext("This is only for caseworkers and admins.")  # and supervisors: as /stats


def _usage(tr: Tr) -> str:
    return tr.gettext(
        "Send /export, optionally followed by dates (from, to), a region code, statuses, csv, and sensitive for phone and ID numbers. For example: /export 2026-01-01 2026-06-30 653222 approved"
    )


class ExportHandlers:
    def __init__(self, people: People, exports: Exports) -> None:
        self.people = people
        self.exports = exports

    async def export(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None:
            return
        tr = await self.people.tr(user.id, user.language_code)
        _ = tr.gettext
        try:
            await self.exports.scope(user.id)
            req = parse_words(ctx.args or [])
            if req.with_sensitive:
                asked = await self.exports.ask(user.id, req)
                keyboard = Keyboard(
                    [[button(_("Yes, with phone and ID numbers"), export_data(asked))]]
                )
                await send(
                    ctx.bot,
                    user.id,
                    _(
                        "The file will hold applicants' phone and ID numbers (personal data). Keep it safe and delete it when done. Make it with them?"
                    ),
                    keyboard,
                )
                return
        except NotAllowed:
            await send(ctx.bot, user.id, _only(tr))
            return
        except BadFilter as bad:
            await send(
                ctx.bot,
                user.id,
                tr.sentences(
                    _("I did not understand “{word}”.").format(word=tr.ltr(bad.word[:40])),
                    _usage(tr),
                ),
                parse_mode=None,
            )
            return
        await self._make(ctx, user.id, tr, req)

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """*Yes, with phone and ID numbers*: the request is re-read, the role and regions
        too; anyone else's tap, or a second one, is answered in the tapper's box only."""
        query = update.callback_query
        user = update.effective_user
        if query is None or user is None:
            return
        tr = await self.people.tr(user.id, user.language_code)
        asked = read_export(query.data)
        try:
            req = await self.exports.confirmed(user.id, asked) if asked is not None else None
        except NotAllowed:
            await acknowledge(query, _only(tr), alert=True)
            return
        if req is None or asked is None:
            text = tr.gettext("That export was already made, or is not yours.")
            await acknowledge(query, text, alert=True)
            return
        await acknowledge(query)
        await edit_markup(query.message if isinstance(query.message, Message) else None, None)
        await self._make(ctx, user.id, tr, req, asked)

    async def _make(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        chat_id: int,
        tr: Tr,
        req: Request,
        asked: int | None = None,
    ) -> None:
        _ = tr.gettext
        await send(ctx.bot, chat_id, _("Making the file…"))
        with tempfile.TemporaryDirectory(prefix="intake-export-") as folder:
            out = Path(folder) / filename(req)
            try:
                made = await self.exports.make(chat_id, tr, req, out, asked)
            except NotAllowed:
                await send(ctx.bot, chat_id, _only(tr))
                return
            caption = tr.ngettext("{n} application", "{n} applications", made.intakes).format(
                n=tr.count(made.intakes)
            )
            size = out.stat().st_size
            if size > MAX_DOCUMENT_BYTES:
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "The file is too large to send here ({size} MB; Telegram takes up to 50 MB). Choose a shorter period or one region, or make it from the command line: intake-bot export."
                    ).format(size=tr.number(round(size / 2**20))),
                )
                return
            try:
                with out.open("rb") as f:
                    await ctx.bot.send_document(
                        chat_id,
                        document=f,
                        filename=out.name,
                        caption=caption,
                        disable_content_type_detection=True,
                        write_timeout=300,  # tens of MB up to Telegram
                    )
            except TelegramError:
                log.warning("an export could not be sent", exc_info=True)
                await send(
                    ctx.bot, chat_id, _("The file could not be sent. Please try again later.")
                )


def build_handlers(people: People, exports: Exports) -> list[BaseHandler]:
    h = ExportHandlers(people, exports)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("export", h.export, filters=private),
        CallbackQueryHandler(h.on_button, pattern=PATTERN),
    ]
