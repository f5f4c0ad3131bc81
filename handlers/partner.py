"""A partner's side: /referrals, referrals from before the plans, and clues sent.

Referring a household now sends the partner a measure of its plan, worked with the
measure buttons (handlers/plans.py); /referrals lists those households, open and
finished, paged. A referral written before the plans still arrives (or is listed) with
Acknowledge / Report done / Return buttons carrying only the referral's id; the core
checks that the person tapping is that referral's partner before anything changes, and
says what comes next (bot/casework/desk.py). A clue is a short built-in interview (/clue).
"""

from __future__ import annotations

import logging

from telegram import ForceReply, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.casework import Action, Casework, Conflict, Denied
from bot.casework.actions import PARTNER
from bot.casework.desk import PARTNER_WAITS, Applied, Awaiting, Choices, Outcome, Refused, Waiting
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.messages import HTML
from bot.store.pending import Pending
from handlers.plans import send_partner_page
from telegram_channel import buttons
from telegram_channel.buttons import Pressed
from telegram_channel.buttons.staff import PARTNER_PATTERN
from telegram_channel.menu import CommandMenus
from telegram_channel.sending import acknowledge, beside, edit_markup, send
from telegram_channel.staff_buttons import choices_keyboard, referral_keyboard

log = logging.getLogger(__name__)

FMT = HTML  # what Telegram reads
_CONFLICTS = {
    "not_found": N_("That referral was not found."),
    "not_yours": N_("That referral was sent to another liaison."),
    "wrong_status": N_("That referral is already closed."),
}
_PROMPTS = {
    Awaiting.DONE_REPORT: N_("Type what was done for this household."),
    Awaiting.RETURN_REASON: N_(
        "Type why you return this referral (for example: not in our county)."
    ),
}
_DONE = {
    Action.ACKNOWLEDGE: N_("Acknowledged. The caseworker has been told."),
    Action.REPORT_DONE: N_("Thank you. The caseworker has been told what was done."),
    Action.RETURN: N_("The referral was returned to the caseworker."),
}


def _conflict_text(code: str) -> str:
    return _CONFLICTS.get(code, _CONFLICTS["not_found"])


class PartnerHandlers:
    def __init__(self, work: Casework, menus: CommandMenus) -> None:
        self.work = work
        self.desk = work.desk
        self.menus = menus

    async def _who(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> tuple[int, Tr] | None:
        user = update.effective_user
        if user is None:
            return None
        if await self.work.seen(user.id, user.language_code, user.full_name):
            await self.menus.refresh(ctx.bot, user.id)  # in the language now theirs
        return user.id, await self.work.tr_for(user.id)

    async def _denied(self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr) -> None:
        await send(
            ctx.bot, chat_id, tr.gettext("This is only for liaisons of the agriculture department.")
        )

    async def referrals(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._who(update, ctx)
        if who is None:
            return
        actor, tr = who
        try:
            items = await self.work.referrals.listing(actor, tr)
        except Denied:
            await self._denied(ctx, actor, tr)
            return
        for item in items:
            markup = referral_keyboard(tr, item.referral.id, item.actions)
            await send(ctx.bot, actor, item.text, markup)
        # Then the households whose plans have measures for this partner, open ones first.
        shown = await send_partner_page(ctx.bot, self.work, actor, tr, 0)
        if not items and not shown:
            await send(ctx.bot, actor, tr.gettext("No open referrals. Thank you."))

    async def clue(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._who(update, ctx)
        if who is None:
            return
        actor, tr = who
        try:
            waiting = await self.desk.begin_clue(actor, tr)
        except Denied:
            await self._denied(ctx, actor, tr)
            return
        await self._render(ctx, actor, tr, waiting)

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        pressed = buttons.decode(query.data)
        if pressed is None or pressed.prefix != buttons.PARTNER:
            # Forged or from an older version: answered, and nothing written or checked.
            log.info("a malformed partner button was ignored")
            tr = await self.work.people.reader(user.id, user.language_code)
            await acknowledge(query, tr.gettext("That button is not valid any more."))
            return
        who = await self._who(update, ctx)
        if who is None:
            return
        actor, tr = who
        if not await self.work.people.has(actor, PARTNER):
            await acknowledge(
                query, tr.gettext("This is only for liaisons of the agriculture department.")
            )
            return
        message = query.message if isinstance(query.message, Message) else None
        await beside(acknowledge(query), self._act(ctx, actor, tr, pressed, message))

    async def _act(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        tr: Tr,
        pressed: Pressed,
        message: Message | None,
    ) -> None:
        tap = pressed.tap
        try:
            if tap is None or tap.action is None or tap.step is None:
                raise Conflict("not_found")  # well-formed, but no button of this version
            outcome = await self.desk.tap(actor, tap.action, tap.step, pressed.target, pressed.arg)
            await self._render(ctx, actor, tr, outcome, message, pressed.target)
        except Denied:
            await self._denied(ctx, actor, tr)
        except Conflict as err:
            await send(ctx.bot, actor, tr.gettext(_conflict_text(err.code)))

    async def _render(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        tr: Tr,
        outcome: Outcome,
        message: Message | None = None,
        target: int = 0,
    ) -> None:
        """Say what the core did or waits for; a tapped message keeps only the buttons
        that still apply."""
        _ = tr.gettext
        match outcome:
            case Applied(action=Action.SEND_CLUE, case=case):
                ref = case.ref if case is not None else ""
                await send(
                    ctx.bot,
                    actor,
                    _("Thank you. The clue was sent to the procuratorate as {ref}.").format(
                        ref=FMT.b(tr.ltr(ref or ""))
                    ),
                )
            case Applied(action=action, referral=referral, offered=offered):
                if action is Action.ACKNOWLEDGE and referral is not None:
                    await edit_markup(message, referral_keyboard(tr, referral.id, offered))
                else:
                    await edit_markup(message, None)
                await send(ctx.bot, actor, _(_DONE[action]))
            case Waiting(awaiting=Awaiting.CLUE, question=question) if question is not None:
                text = question.text
                if question.first:
                    text += "\n\n" + FMT.i(_("Or send /cancel to stop."))
                await send(ctx.bot, actor, text, ForceReply(selective=True))
            case Waiting(awaiting=awaiting):
                text = _(_PROMPTS[awaiting]) + "\n\n" + FMT.i(_("Or send /cancel to stop."))
                await send(ctx.bot, actor, text, ForceReply(selective=True))
            case Choices() as choices:
                own = "✍️ " + _("Something else (type it)")
                keys = choices_keyboard(tr, choices, target, own)
                await send(ctx.bot, actor, _("What was done for this household?"), keys)
            case Refused():
                await send(ctx.bot, actor, _("Please type it as a text message, or send /cancel."))

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        if pending.kind not in PARTNER_WAITS:
            return False
        who = await self._who(update, ctx)
        message = update.effective_message
        if who is None or message is None:
            return False
        actor, tr = who
        try:
            outcome = await self.desk.typed(actor, tr, pending, message.text or "")
        except Denied:
            await self._denied(ctx, actor, tr)
        except Conflict as err:
            await send(ctx.bot, actor, tr.gettext(_conflict_text(err.code)))
        else:
            await self._render(ctx, actor, tr, outcome)
        return True


def build_handlers(
    work: Casework, menus: CommandMenus
) -> tuple[list[BaseHandler], PartnerHandlers]:
    h = PartnerHandlers(work, menus)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("referrals", h.referrals, filters=private),
        CommandHandler("clue", h.clue, filters=private),
        CallbackQueryHandler(h.on_button, pattern=PARTNER_PATTERN),
    ], h
