"""The applicant's rights in the chat: /mydata (see and copy) and /delete (erase).

A draft is erased at once after a confirmation; a sent intake is part of a
case file, so erasing it is a request a caseworker completes or refuses with
a reason, and the applicant is told either way.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.casework import Casework
from bot.casework.decisions import CORRECTION, normal_ref
from bot.flow.values import clean_text
from bot.i18n import Tr
from bot.interview import Applicant, Interview
from bot.mydata import MyData
from bot.people import Pending, People
from bot.store.casework import Conflict
from telegram_channel.buttons.deletion import PATTERN, DeletionOp, deletion_data, read_deletion
from telegram_channel.keyboards import Keyboard, button
from telegram_channel.sending import acknowledge, edit_markup, send

log = logging.getLogger(__name__)


class PrivacyHandlers:
    def __init__(
        self, interview: Interview, people: People, mydata: MyData, work: Casework
    ) -> None:
        self.interview = interview
        self.people = people
        self.personal_data = mydata
        self.work = work

    async def _tr(self, update: Update) -> tuple[int, Tr] | None:
        user = update.effective_user
        if user is None:
            return None
        return user.id, await self.people.tr(user.id, user.language_code)

    async def mydata(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._tr(update)
        if who is None:
            return
        user_id, tr = who
        text = await self.personal_data.export(tr, user_id)
        await ctx.bot.send_document(
            user_id,
            document=text.encode("utf-8"),
            filename="my-data.txt",
            caption=tr.gettext(
                "This file holds everything we keep about you. To change an answer before sending, use /start; to have a sent answer corrected, /correct; to delete, /delete."
            ),
        )

    async def delete(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._tr(update)
        if who is None:
            return
        user_id, tr = who
        _ = tr.gettext
        deletable = await self.personal_data.deletable(user_id)
        if deletable.draft_id is not None:
            draft_id = deletable.draft_id
            keys = Keyboard(
                [
                    [
                        button(
                            "🗑 " + _("Yes, delete my answers"),
                            deletion_data(draft_id, DeletionOp.ERASE_DRAFT),
                        )
                    ],
                    [button(_("No, keep them"), deletion_data(draft_id, DeletionOp.KEEP))],
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
        if not deletable.sent:
            await send(ctx.bot, user_id, _("We hold no application from you. Nothing to delete."))
            return
        keys = [
            [
                button(
                    "🗑 " + _("Ask to delete {ref}").format(ref=case.ref),
                    deletion_data(case.id, DeletionOp.REQUEST),
                )
            ]
            for case in deletable.requestable
        ]
        text = _(
            "A sent application is part of a case file, so a caseworker completes its deletion (or tells you why it must be kept). You will be told here."
        )
        if not keys:
            text += "\n\n" + _("Your request is already with a caseworker.")
        await send(ctx.bot, user_id, text, Keyboard(keys) if keys else None)

    async def correct(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/correct [REF]: ask for a correction of a sent application; the bot then waits
        for the applicant's words (``on_typed``), which go to the caseworker."""
        who = await self._tr(update)
        if who is None:
            return
        user_id, tr = who
        _ = tr.gettext
        cases = await self.work.correctable(user_id)
        if not cases:
            await send(
                ctx.bot,
                user_id,
                _(
                    "You have no sent application to correct. Before sending, you change an answer yourself: with Back, or Change an answer on the summary."
                ),
            )
            return
        asked = normal_ref(" ".join(ctx.args or []))
        chosen = [c for c in cases if asked and c.ref == asked]
        if not chosen and len(cases) == 1 and not asked:
            chosen = cases
        if not chosen:
            refs = "\n".join("• /correct " + tr.ltr(c.ref or "") for c in cases)
            await send(ctx.bot, user_id, _("Which application? Send one of these:") + "\n" + refs)
            return
        case = await self.work.ask_correction(user_id, chosen[0].id)
        await send(
            ctx.bot,
            user_id,
            _(
                "What is wrong in application {ref}, and what is right? Write it in one message. A caseworker will correct it and may contact you. Send /cancel to stop."
            ).format(ref="<b>" + tr.ltr(case.ref or "") + "</b>"),
        )

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """The applicant's words after /correct; False for any other prompt."""
        if pending.kind != CORRECTION or pending.intake_id is None:
            return False
        who = await self._tr(update)
        message = update.effective_message
        if who is None or message is None:
            return False
        user_id, tr = who
        _ = tr.gettext
        if not clean_text(message.text or ""):
            await send(ctx.bot, user_id, _("Please write it as a text message."))
            return True
        try:
            case = await self.work.request_correction(
                user_id, pending.intake_id, message.text or ""
            )
        except Conflict:
            await self.people.stop_waiting(user_id)
            await send(ctx.bot, user_id, _("That application can no longer be corrected."))
            return True
        await send(
            ctx.bot,
            user_id,
            _(
                "Thank you. Your correction was passed to the caseworker of application {ref}. It is kept with the application."
            ).format(ref="<b>" + tr.ltr(case.ref or "") + "</b>"),
        )
        return True

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        who = await self._tr(update)
        if query is None or who is None:
            return
        user_id, tr = who
        _ = tr.gettext
        await acknowledge(query)
        tap = read_deletion(query.data)
        message = query.message if isinstance(query.message, Message) else None
        await edit_markup(message, None)
        if tap is None:
            return
        intake_id = tap.intake_id
        if tap.op is DeletionOp.ERASE_DRAFT:
            if await self.personal_data.erase_draft(user_id, intake_id, update.update_id):
                await send(
                    ctx.bot, user_id, _("Your unfinished application and its answers were deleted.")
                )
            else:
                await send(ctx.bot, user_id, _("There is no unfinished application to delete."))
        elif tap.op is DeletionOp.REQUEST:
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


def build_handlers(
    interview: Interview, people: People, mydata: MyData, work: Casework
) -> tuple[list[BaseHandler], PrivacyHandlers]:
    """The handlers, and the handlers' object (its ``on_typed`` takes a correction's words
    from the router of typed answers)."""
    h = PrivacyHandlers(interview, people, mydata, work)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("mydata", h.mydata, filters=private),
        CommandHandler("delete", h.delete, filters=private),
        CommandHandler("correct", h.correct, filters=private),
        CallbackQueryHandler(h.on_button, pattern=PATTERN),
    ], h
