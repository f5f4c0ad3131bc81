"""The agriculture department liaison's side: referrals received, and clues sent.

A referral arrives through the outbox with Acknowledge / Report done / Return
buttons carrying only the referral's id; the service checks that the person
tapping is that referral's partner before anything changes.
"""

from __future__ import annotations

import logging

from telegram import ForceReply, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.flow.values import clean_text, strip_bidi
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.intake import CLUE_FIELDS, DONE_OUTCOMES, Casework, Denied
from bot.messages import HTML
from bot.store.casework import Conflict
from bot.store.pending import Pending
from handlers.common import as_int, pack, reader, unpack
from telegram_channel.keyboards import Keyboard, button
from telegram_channel.sending import acknowledge, beside, edit_markup, send

log = logging.getLogger(__name__)

P = "p"
_CLUE_PROMPTS = {
    "who": N_("Who needs help? Type the name, and the family situation if you know it."),
    "where": N_("Where do they live? Type the county, township and village."),
    "what": N_("What happened? Type the case and the hardship it caused, as far as you know."),
}
_CONFLICTS = {
    "not_found": N_("That referral was not found."),
    "not_yours": N_("That referral was sent to another liaison."),
    "wrong_status": N_("That referral is already closed."),
}


def _conflict_text(code: str) -> str:
    return _CONFLICTS.get(code, _CONFLICTS["not_found"])


def _clue_prompt(key: str) -> str:
    return _CLUE_PROMPTS[key]


class PartnerHandlers:
    def __init__(self, work: Casework) -> None:
        self.work = work

    async def _who(self, update: Update) -> tuple[int, Tr] | None:
        user = update.effective_user
        if user is None:
            return None
        await self.work.seen(user.id, user.language_code, user.full_name)
        return user.id, await self.work.tr_for(user.id)

    async def _denied(self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr) -> None:
        await send(
            ctx.bot, chat_id, tr.gettext("This is only for liaisons of the agriculture department.")
        )

    async def referrals(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._who(update)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        try:
            items = await self.work.open_referrals(actor)
        except Denied:
            await self._denied(ctx, actor, tr)
            return
        if not items:
            await send(ctx.bot, actor, _("No open referrals. Thank you."))
            return
        for ref, case in items:
            flow = await self.work.store.flows.get(case.flow_id, case.flow_version)
            text = (
                "<b>"
                + tr.ltr(case.ref or "")
                + "</b> · "
                + HTML.esc(self.work.referral_status(tr, ref.status))
                + "\n\n"
                + self.work.partner_summary(tr, case, flow)
            )
            if ref.request:
                text += (
                    "\n\n"
                    + _("What is asked:")
                    + "\n<i>"
                    + HTML.esc(strip_bidi(ref.request))
                    + "</i>"
                )
            await send(ctx.bot, actor, text, self.referral_markup(tr, ref.id, ref.status))

    def referral_markup(self, tr: Tr, referral_id: int, status: str) -> Keyboard:
        _ = tr.gettext
        keys = []
        if status == "sent":
            keys.append([button("👍 " + _("Acknowledge"), pack(P, "a", referral_id, 0))])
        keys.append([button("✅ " + _("Report what was done"), pack(P, "d", referral_id, 0))])
        keys.append([button("↩️ " + _("Return it"), pack(P, "r", referral_id, 0))])
        return Keyboard(keys)

    async def clue(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._who(update)
        if who is None:
            return
        actor, tr = who
        if not await self.work.store.roles.has(actor, "partner"):
            await self._denied(ctx, actor, tr)
            return
        await self.work.store.pending.set(actor, "p_clue", data={})
        await send(
            ctx.bot,
            actor,
            tr.gettext("Send a clue to the procuratorate: three short questions.")
            + "\n\n"
            + tr.gettext(_clue_prompt("who"))
            + "\n\n"
            + HTML.i(tr.gettext("Or send /cancel to stop.")),
            ForceReply(selective=True),
        )

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        parts = unpack(query.data, P, 4)
        rid = as_int(parts[1]) if parts else None
        arg = as_int(parts[2]) if parts else None
        if parts is None or rid is None or arg is None:
            # Forged or from an older version: answered, and nothing written or checked.
            log.info("a malformed partner button was ignored")
            tr = await reader(self.work.store, self.work.i18n, user)
            await acknowledge(query, tr.gettext("That button is not valid any more."))
            return
        who = await self._who(update)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        if not await self.work.store.roles.has(actor, "partner"):
            await acknowledge(query, _("This is only for liaisons of the agriculture department."))
            return
        message = query.message if isinstance(query.message, Message) else None
        await beside(acknowledge(query), self._act(ctx, actor, tr, parts[0], rid, arg, message))

    async def _act(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        tr: Tr,
        op: str,
        rid: int,
        arg: int,
        message: Message | None,
    ) -> None:
        _ = tr.gettext
        try:
            if op == "a":
                await self.work.acknowledge(actor, rid)
                await edit_markup(message, self.referral_markup(tr, rid, "acknowledged"))
                await send(ctx.bot, actor, _("Acknowledged. The caseworker has been told."))
            elif op == "d":
                ref, _case = await self.work.referral_for_partner(actor, rid)
                if ref.status not in ("sent", "acknowledged"):
                    raise Conflict("wrong_status")
                keys = [
                    [button(_(label), pack(P, "o", rid, n))]
                    for n, (_code, label) in enumerate(DONE_OUTCOMES)
                ]
                keys.append([button("✍️ " + _("Something else (type it)"), pack(P, "t", rid, 0))])
                await send(
                    ctx.bot,
                    actor,
                    _("What was done for this household?"),
                    Keyboard(keys),
                )
            elif op == "o":
                if not 0 <= arg < len(DONE_OUTCOMES):
                    raise Conflict("not_found")
                await self.work.report_done(actor, rid, DONE_OUTCOMES[arg][0])
                await edit_markup(message, None)
                await send(
                    ctx.bot, actor, _("Thank you. The caseworker has been told what was done.")
                )
            elif op in ("t", "r"):
                ref, _case = await self.work.referral_for_partner(actor, rid)
                if ref.status not in ("sent", "acknowledged"):
                    raise Conflict("wrong_status")
                kind = "p_done" if op == "t" else "p_return"
                await self.work.store.pending.set(actor, kind, ref.intake_id, ref_id=rid)
                prompt = (
                    _("Type what was done for this household.")
                    if op == "t"
                    else _("Type why you return this referral (for example: not in our county).")
                )
                await send(
                    ctx.bot,
                    actor,
                    prompt + "\n\n" + HTML.i(_("Or send /cancel to stop.")),
                    ForceReply(selective=True),
                )
            else:
                raise Conflict("not_found")
        except Denied:
            await self._denied(ctx, actor, tr)
        except Conflict as err:
            await send(ctx.bot, actor, tr.gettext(_conflict_text(err.code)))

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        if not pending.kind.startswith("p_"):
            return False
        who = await self._who(update)
        message = update.effective_message
        if who is None or message is None:
            return False
        actor, tr = who
        _ = tr.gettext
        text = clean_text(message.text or "")  # nothing visible is nothing typed
        if not text:
            await send(ctx.bot, actor, _("Please type it as a text message, or send /cancel."))
            return True
        try:
            if pending.kind == "p_clue":
                collected = dict(pending.data)
                missing = [k for k, _label in CLUE_FIELDS if k not in collected]
                collected[missing[0]] = text
                rest = [k for k, _label in CLUE_FIELDS if k not in collected]
                if rest:
                    await self.work.store.pending.set(actor, "p_clue", data=collected)
                    await send(
                        ctx.bot,
                        actor,
                        tr.gettext(_clue_prompt(rest[0])),
                        ForceReply(selective=True),
                    )
                else:
                    ref = await self.work.send_clue(actor, collected)
                    await send(
                        ctx.bot,
                        actor,
                        _("Thank you. The clue was sent to the procuratorate as {ref}.").format(
                            ref="<b>" + tr.ltr(ref) + "</b>"
                        ),
                    )
            elif pending.kind == "p_done" and pending.ref_id is not None:
                await self.work.report_done(actor, pending.ref_id, text)
                await send(
                    ctx.bot, actor, _("Thank you. The caseworker has been told what was done.")
                )
            elif pending.kind == "p_return" and pending.ref_id is not None:
                await self.work.return_referral(actor, pending.ref_id, text)
                await send(ctx.bot, actor, _("The referral was returned to the caseworker."))
            else:
                return False
        except Denied:
            await self.work.store.pending.clear(actor)
            await self._denied(ctx, actor, tr)
        except Conflict as err:
            await self.work.store.pending.clear(actor)
            await send(ctx.bot, actor, tr.gettext(_conflict_text(err.code)))
        return True


def build_handlers(work: Casework) -> tuple[list[BaseHandler], PartnerHandlers]:
    h = PartnerHandlers(work)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("referrals", h.referrals, filters=private),
        CommandHandler("clue", h.clue, filters=private),
        CallbackQueryHandler(h.on_button, pattern=r"^p:"),
    ], h
