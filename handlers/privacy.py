"""The applicant's rights in the chat: /mydata (see and copy) and /delete (erase).

A draft is erased at once after a confirmation; a sent intake is part of a
case file, so erasing it is a request a caseworker completes or refuses with
a reason, and the applicant is told either way.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.i18n import I18n, Tr
from bot.intake import Casework
from bot.interview import Applicant, Interview
from bot.mydata import export_text
from bot.store.casework import Conflict
from handlers.common import as_int, pack, reader, unpack
from telegram_channel.keyboards import Keyboard, button
from telegram_channel.sending import acknowledge, edit_markup, send

log = logging.getLogger(__name__)

D = "d"


class PrivacyHandlers:
    def __init__(self, interview: Interview, work: Casework, i18n: I18n) -> None:
        self.interview = interview
        self.work = work
        self.i18n = i18n

    async def _tr(self, update: Update) -> tuple[int, Tr] | None:
        user = update.effective_user
        if user is None:
            return None
        return user.id, await reader(self.interview.store, self.i18n, user)

    async def mydata(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._tr(update)
        if who is None:
            return
        user_id, tr = who
        text = await export_text(self.interview.store, tr, user_id)
        await ctx.bot.send_document(
            user_id,
            document=text.encode("utf-8"),
            filename="my-data.txt",
            caption=tr.gettext(
                "This file holds everything we keep about you. To change an answer before sending, use /start; to delete, /delete."
            ),
        )

    async def delete(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._tr(update)
        if who is None:
            return
        user_id, tr = who
        _ = tr.gettext
        store = self.interview.store
        view = await store.intakes.load_for_applicant(user_id)
        draft = view.draft
        if draft is not None and not draft.is_preview:
            keys = Keyboard(
                [
                    [button("🗑 " + _("Yes, delete my answers"), pack(D, draft.id, "y"))],
                    [button(_("No, keep them"), pack(D, draft.id, "n"))],
                ]
            )
            await send(
                ctx.bot,
                user_id,
                _(
                    "Delete your unfinished application and all its answers now? This cannot be undone."
                ),
                keys,
            )
            return
        sent = []
        for intake in await store.intakes.for_applicant(user_id):
            c = await store.cases.get(intake.id)
            if c is not None and c.ref and c.anonymised_at is None:
                sent.append(c)
        if not sent:
            await send(ctx.bot, user_id, _("We hold no application from you. Nothing to delete."))
            return
        keys = []
        for case in sent:
            if case.deletion_requested_at is None:
                keys.append(
                    [
                        button(
                            "🗑 " + _("Ask to delete {ref}").format(ref=case.ref),
                            pack(D, case.id, "r"),
                        )
                    ]
                )
        text = _(
            "A sent application is part of a case file, so a caseworker completes its deletion (or tells you why it must be kept). You will be told here."
        )
        if not keys:
            text += "\n\n" + _("Your request is already with a caseworker.")
        await send(ctx.bot, user_id, text, Keyboard(keys) if keys else None)

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        who = await self._tr(update)
        if query is None or who is None:
            return
        user_id, tr = who
        _ = tr.gettext
        await acknowledge(query)
        parts = unpack(query.data, D, 3)
        intake_id = as_int(parts[0]) if parts else None
        message = query.message if isinstance(query.message, Message) else None
        await edit_markup(message, None)
        if parts is None or intake_id is None:
            return
        store = self.interview.store
        if parts[1] == "y":
            view = await store.intakes.load_for_applicant(user_id)
            draft = view.draft
            erased = (
                draft is not None
                and not draft.is_preview
                and draft.id == intake_id
                and await store.intakes.discard_draft(
                    draft, user_id, "applicant_deleted", update.update_id
                )
            )
            if erased:
                await store.db.checkpoint()
                await send(
                    ctx.bot, user_id, _("Your unfinished application and its answers were deleted.")
                )
            else:
                await send(ctx.bot, user_id, _("There is no unfinished application to delete."))
        elif parts[1] == "r":
            try:
                case = await self.work.request_deletion(user_id, intake_id)
            except Conflict:
                await send(
                    ctx.bot,
                    user_id,
                    _("That request cannot be made (it may already be with a caseworker)."),
                )
                return
            await send(
                ctx.bot,
                user_id,
                _(
                    "Your request to delete {ref} was passed to a caseworker. You will be told here."
                ).format(ref="<b>" + tr.ltr(case.ref or "") + "</b>"),
            )
        else:
            turn = await self.interview.show(Applicant(user_id, user_id, None))
            if turn.no_draft:
                await send(ctx.bot, user_id, _("Nothing was deleted."))


def build_handlers(interview: Interview, work: Casework, i18n: I18n) -> list[BaseHandler]:
    h = PrivacyHandlers(interview, work, i18n)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("mydata", h.mydata, filters=private),
        CommandHandler("delete", h.delete, filters=private),
        CallbackQueryHandler(h.on_button, pattern=r"^d:"),
    ]
