"""The caseworker's side: the queue, the intake card, and the actions on it.

Thin over ``bot.intake.Casework``: every button names an intake by id only,
and the service re-checks the caseworker's role and the intake's state when
the button arrives, so a stale or forged button changes nothing.
"""

from __future__ import annotations

import logging

from telegram import ForceReply, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.cards import card_texts, queue_line, staff_status
from bot.flow.values import clean_text
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.intake import DECLINE_REASONS, Casework, Denied, fen_to_yuan, parse_amount
from bot.messages import HTML
from bot.store.casework import Case, Conflict
from bot.store.pending import Pending
from handlers.common import as_int, pack, reader, unpack
from telegram_channel.keyboards import Keyboard, button, rows
from telegram_channel.sending import acknowledge, beside, edit_markup, send

log = logging.getLogger(__name__)

PAGE = 8
P = "c"
CONFLICTS = {
    "not_found": N_("That application was not found."),
    "wrong_status": N_("This application is no longer open for that action."),
    "claimed_by_other": N_(
        "Another caseworker has claimed this application. Take it over first if you must act on it."
    ),
    "not_claimed": N_("Claim this application first."),
    "bad_amount": N_("Please type an amount in yuan, for example 3000."),
    "is_clue": N_("This is a clue from a partner: there is no applicant to ask."),
    "not_a_partner": N_("That person is no longer a partner."),
    "own_case": N_("This is your own application: another caseworker must handle it."),
}


def conflict_text(code: str) -> str:
    """The (untranslated) message for a conflict code; a name, so extraction skips the keys."""
    return CONFLICTS.get(code, CONFLICTS["wrong_status"])


class CaseworkerHandlers:
    def __init__(self, work: Casework) -> None:
        self.work = work

    # -- helpers ---------------------------------------------------------------------

    async def _actor(self, update: Update) -> tuple[int, int, Tr] | None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        # Remember the language and name first: alerts and history use them later.
        await self.work.seen(user.id, user.language_code, user.full_name)
        tr = await self.work.tr_for(user.id)
        return user.id, chat.id, tr

    async def _denied(self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr) -> None:
        await send(
            ctx.bot, chat_id, tr.gettext("This is only for caseworkers of the procuratorate.")
        )

    async def _conflict(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, err: Conflict
    ) -> None:
        _ = tr.gettext
        text = tr.gettext(conflict_text(err.code))
        markup = None
        if err.code == "wrong_status" and err.intake is not None:
            text += " " + _("Its status: {status}.").format(
                status=HTML.esc(staff_status(tr, err.intake.status))
            )
        if err.code == "claimed_by_other" and err.intake is not None:
            markup = Keyboard([[button("🔁 " + _("Take over"), pack(P, "to", err.intake.id, 0))]])
        await send(ctx.bot, chat_id, text, markup)

    def card_markup(self, tr: Tr, case: Case, actor: int, files: int) -> Keyboard:
        _ = tr.gettext
        i = case.id

        def b(label: str, op: str, arg: int = 0):  # type: ignore[no-untyped-def]
            return button(label, pack(P, op, i, arg))

        keys = []
        open_ = case.status in ("submitted", "in_review", "awaiting_applicant")
        if open_:
            if case.assignee is None:
                keys.append([b("🙋 " + _("Claim"), "cl")])
            elif case.assignee != actor:
                keys.append([b("🔁 " + _("Take over"), "to")])
            else:
                if not case.is_clue:
                    keys.append([b("❓ " + _("Ask the applicant"), "as")])
                keys.append([b("✅ " + _("Approve"), "ap"), b("❌ " + _("Decline"), "dc")])
                keys.append([b("↩️ " + _("Release"), "rl")])
        if case.deletion_requested_at and not case.anonymised_at:
            keys.append([b("🗑 " + _("Erase the data"), "er"), b(_("Refuse deletion"), "en")])
        if case.status not in ("withdrawn", "expired") and not case.anonymised_at:
            keys.append([b("🤝 " + _("Refer to agriculture dept."), "rf")])
        keys.append([b("📝 " + _("Add a note"), "nt")])
        if files:
            keys.append([b("📎 " + _("Show attachments ({n})").format(n=files), "at")])
        keys.append([button("📋 " + _("Back to the queue"), pack(P, "q", 0, 0))])
        return Keyboard(keys)

    async def show_card(
        self, ctx: ContextTypes.DEFAULT_TYPE, actor: int, chat_id: int, tr: Tr, intake_id: int
    ) -> None:
        try:
            card = await self.work.card(actor, intake_id)
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        except Conflict as err:
            await self._conflict(ctx, chat_id, tr, err)
            return
        texts = await card_texts(tr, self.work, card, actor)
        files = sum(
            len(card.case.state.answers.get(s.id) or [])
            for s in card.flow.steps
            if s.type == "attachments"
        )
        for text in texts[:-1]:
            await send(ctx.bot, chat_id, text)
        await send(ctx.bot, chat_id, texts[-1], self.card_markup(tr, card.case, actor, files))

    async def show_queue(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        chat_id: int,
        tr: Tr,
        page: int,
        mine: bool,
    ) -> None:
        _ = tr.gettext
        try:
            cases, total = await self.work.queue(actor, page, PAGE, mine=mine)
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        if total == 0:
            text = (
                _("Nothing claimed by you is open.")
                if mine
                else _("The queue is empty: no open applications.")
            )
            await send(ctx.bot, chat_id, text)
            return
        pages = (total + PAGE - 1) // PAGE
        title = _("My applications") if mine else _("Open applications")
        lines = [
            "<b>"
            + title
            + "</b> · "
            + tr.ngettext("{n} open", "{n} open", total).format(n=total)
            + " · "
            + _("page {page} of {pages}").format(page=page + 1, pages=pages)
        ]
        buttons = []
        for n, case in enumerate(cases, start=page * PAGE + 1):
            flow = await self.work.store.flows.get(case.flow_id, case.flow_version)
            lines.append(queue_line(tr, n, case, flow, actor))
            buttons.append(button(f"{n}. {case.ref}", pack(P, "o", case.id, 0)))
        keys = rows(buttons, 2)
        nav = []
        op = "m" if mine else "q"
        if page > 0:
            nav.append(button("◀️ " + _("Previous"), pack(P, op, page - 1, 0)))
        if page + 1 < pages:
            nav.append(button(_("Next") + " ▶️", pack(P, op, page + 1, 0)))
        if nav:
            keys.append(nav)
        await send(ctx.bot, chat_id, "\n\n".join(lines), Keyboard(keys))

    # -- commands --------------------------------------------------------------------

    async def queue(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._actor(update)
        if who is None:
            return
        actor, chat_id, tr = who
        await self.show_queue(ctx, actor, chat_id, tr, 0, mine=False)

    async def mine(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._actor(update)
        if who is None:
            return
        actor, chat_id, tr = who
        await self.show_queue(ctx, actor, chat_id, tr, 0, mine=True)

    async def open_ref(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/open ABC-DEF: a card by its reference, as read out on the phone."""
        who = await self._actor(update)
        if who is None:
            return
        actor, chat_id, tr = who
        if not await self.work.store.roles.has(actor, "caseworker"):
            await self._denied(ctx, chat_id, tr)
            return
        ref = " ".join(ctx.args or []).strip().upper()
        if len(ref) == 6 and "-" not in ref:
            ref = ref[:3] + "-" + ref[3:]
        intake = await self.work.store.intakes.by_ref(ref) if ref else None
        if intake is None:
            await send(
                ctx.bot,
                chat_id,
                tr.gettext(
                    "No application has that reference. Send /open followed by a reference like ABC-DEF."
                ),
            )
            return
        await self.show_card(ctx, actor, chat_id, tr, intake.id)

    # -- buttons ---------------------------------------------------------------------

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        parts = unpack(query.data, P, 4)
        target = as_int(parts[1]) if parts else None
        arg = as_int(parts[2]) if parts else None
        if parts is None or target is None or arg is None:
            # Forged or from an older version: answered, and nothing written or checked.
            log.info("a malformed caseworker button was ignored")
            tr = await reader(self.work.store, self.work.i18n, user)
            await acknowledge(query, tr.gettext("That button is not valid any more."))
            return
        who = await self._actor(update)
        if who is None:
            return
        actor, chat_id, tr = who
        _ = tr.gettext
        op = parts[0]
        if not await self.work.store.roles.has(actor, "caseworker"):
            await acknowledge(query, _("This is only for caseworkers of the procuratorate."))
            return
        message = query.message if isinstance(query.message, Message) else None

        async def act() -> None:
            try:
                await self._dispatch(ctx, actor, chat_id, tr, op, target, arg, message)
            except Denied:
                await self._denied(ctx, chat_id, tr)
            except Conflict as err:
                await self._conflict(ctx, chat_id, tr, err)

        await beside(acknowledge(query), act())

    async def _dispatch(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        chat_id: int,
        tr: Tr,
        op: str,
        target: int,
        arg: int,
        message: Message | None,
    ) -> None:
        _ = tr.gettext
        work = self.work
        pending = work.store.pending
        if op in ("q", "m"):
            await self.show_queue(ctx, actor, chat_id, tr, max(0, target), mine=op == "m")
        elif op == "o":
            await self.show_card(ctx, actor, chat_id, tr, target)
        elif op in ("cl", "to"):
            case = await work.claim(actor, target, take_over=op == "to")
            await edit_markup(message, None)
            await send(ctx.bot, chat_id, _("You have claimed {ref}.").format(ref=_ref(tr, case)))
            await self.show_card(ctx, actor, chat_id, tr, target)
        elif op == "rl":
            case = await work.release(actor, target)
            await edit_markup(message, None)
            await send(
                ctx.bot,
                chat_id,
                _("You released {ref}; it is back in the queue.").format(ref=_ref(tr, case)),
            )
        elif op == "as":
            case = await self.work.claimed_case(actor, target)
            await pending.set(actor, "cw_ask", target)
            await self._prompt(
                ctx,
                chat_id,
                tr,
                _(
                    "Type your question for the applicant of {ref}. They will get it in their chat."
                ).format(ref=_ref(tr, case)),
                target,
            )
        elif op == "ap":
            case = await self.work.claimed_case(actor, target)
            await pending.set(actor, "cw_amount", target)
            await self._prompt(
                ctx,
                chat_id,
                tr,
                _("Type the amount to approve for {ref}, in yuan (for example 3000).").format(
                    ref=_ref(tr, case)
                ),
                target,
            )
        elif op == "ac":
            held = await pending.get(actor)
            if held is None or held.kind != "cw_confirm" or held.intake_id != target:
                case = await work.open_case(actor, target)
                if case.status != "approved" or case.assignee != actor:
                    await send(
                        ctx.bot,
                        chat_id,
                        _("That confirmation is no longer valid. Tap Approve again."),
                    )
                    return
                # This very approval was applied already (tapped twice, or applied again
                # from the inbox after a restart): say what it did, change nothing.
            else:
                case = await work.approve(actor, target, str(held.data.get("amount", "")))
            await edit_markup(message, None)
            await send(
                ctx.bot,
                chat_id,
                _("{ref} is approved with {amount}. The applicant has been told.").format(
                    ref=_ref(tr, case), amount=tr.money(fen_to_yuan(case.amount_fen or 0))
                ),
            )
        elif op == "dc":
            case = await self.work.claimed_case(actor, target)
            keys = [
                [button(_(label), pack(P, "dr", target, n))]
                for n, (_code, label) in enumerate(DECLINE_REASONS)
            ]
            keys.append([button("✍️ " + _("Another reason (type it)"), pack(P, "do", target, 0))])
            keys.append([button(_("Cancel"), pack(P, "x", target, 0))])
            await send(
                ctx.bot,
                chat_id,
                _("Why is {ref} declined? The applicant will read this reason.").format(
                    ref=_ref(tr, case)
                ),
                Keyboard(keys),
            )
        elif op == "dr":
            if not 0 <= arg < len(DECLINE_REASONS):
                raise Conflict("wrong_status")
            case = await work.decline(actor, target, DECLINE_REASONS[arg][0])
            await edit_markup(message, None)
            await send(
                ctx.bot,
                chat_id,
                _(
                    "{ref} is declined. The applicant has been told, with where to turn next."
                ).format(ref=_ref(tr, case)),
            )
        elif op == "do":
            case = await self.work.claimed_case(actor, target)
            await edit_markup(message, None)
            await pending.set(actor, "cw_decline", target)
            await self._prompt(
                ctx,
                chat_id,
                tr,
                _(
                    "Type the reason for declining {ref}, in words the applicant understands."
                ).format(ref=_ref(tr, case)),
                target,
            )
        elif op == "nt":
            case = await work.open_case(actor, target)
            await pending.set(actor, "cw_note", target)
            await self._prompt(
                ctx,
                chat_id,
                tr,
                _("Type a note for {ref}. Only caseworkers see notes.").format(ref=_ref(tr, case)),
                target,
            )
        elif op == "rf":
            case = await work.open_case(actor, target)
            partners = await work.partners(actor)
            if not partners:
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "No agriculture department liaison is set up yet. An admin can add one with /grant USER_ID partner."
                    ),
                )
                return
            keys = [[button(name, pack(P, "rp", target, uid))] for uid, name in partners]
            keys.append([button(_("Cancel"), pack(P, "x", target, 0))])
            await send(
                ctx.bot,
                chat_id,
                _("Refer {ref} to which liaison of the agriculture department?").format(
                    ref=_ref(tr, case)
                ),
                Keyboard(keys),
            )
        elif op == "rp":
            case = await work.open_case(actor, target)
            if not await work.store.roles.has(arg, "partner"):
                raise Conflict("not_a_partner", case)
            await edit_markup(message, None)
            await pending.set(actor, "cw_refer", target, ref_id=arg)
            await self._prompt(
                ctx,
                chat_id,
                tr,
                _(
                    "What do you ask them to do for this household? Type it (for example: check for poverty-return monitoring, arrange skills training)."
                ),
                target,
            )
        elif op == "er":
            case = await work.erase(actor, target)
            await edit_markup(message, None)
            await send(
                ctx.bot,
                chat_id,
                _("The data of {ref} was erased; the applicant has been told.").format(
                    ref=_ref(tr, case)
                ),
            )
        elif op == "en":
            case = await work.open_case(actor, target)
            if case.deletion_requested_at is None:
                raise Conflict("wrong_status", case)
            await pending.set(actor, "cw_keep", target)
            await self._prompt(
                ctx,
                chat_id,
                tr,
                _(
                    "Type why the data of {ref} must be kept (for example, the case is still open). The applicant will read it."
                ).format(ref=_ref(tr, case)),
                target,
            )
        elif op == "at":
            await self._send_attachments(ctx, actor, chat_id, tr, target)
        elif op == "x":
            await pending.clear(actor)
            await edit_markup(message, None)
            await send(ctx.bot, chat_id, _("Cancelled."))
        else:
            raise Conflict("wrong_status")

    async def _prompt(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, text: str, intake_id: int
    ) -> None:
        await send(
            ctx.bot,
            chat_id,
            text + "\n\n" + HTML.i(tr.gettext("Or send /cancel to stop.")),
            ForceReply(selective=True),
        )

    async def _send_attachments(
        self, ctx: ContextTypes.DEFAULT_TYPE, actor: int, chat_id: int, tr: Tr, intake_id: int
    ) -> None:
        card = await self.work.card(actor, intake_id)
        sent = 0
        for step in card.flow.steps:
            if step.type != "attachments":
                continue
            for ref in card.case.state.answers.get(step.id) or []:
                try:
                    if ref.get("kind") == "photo":
                        await ctx.bot.send_photo(chat_id, ref["file_id"])
                    else:
                        await ctx.bot.send_document(chat_id, ref["file_id"])
                    sent += 1
                except (BadRequest, TelegramError, KeyError):
                    log.warning("an attachment could not be sent again")
        if not sent:
            await send(ctx.bot, chat_id, tr.gettext("There are no attachments to show."))

    # -- typed answers to the bot's prompts -------------------------------------------

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """A text message that answers this caseworker's pending prompt; False if not ours."""
        if pending.kind == "reply":
            return await self._applicant_reply(update, ctx, pending)
        if not pending.kind.startswith("cw_"):
            return False
        who = await self._actor(update)
        message = update.effective_message
        if who is None or message is None or pending.intake_id is None:
            return False
        actor, chat_id, tr = who
        _ = tr.gettext
        text = clean_text(message.text or "")  # nothing visible is nothing typed
        if not text:
            await send(ctx.bot, chat_id, _("Please type it as a text message, or send /cancel."))
            return True
        work, target = self.work, pending.intake_id
        try:
            if pending.kind == "cw_ask":
                case = await work.ask(actor, target, text)
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "Your question was sent to the applicant of {ref}. Their answer will come to you here."
                    ).format(ref=_ref(tr, case)),
                )
            elif pending.kind == "cw_amount":
                amount = parse_amount(text)
                if amount is None:
                    await send(ctx.bot, chat_id, tr.gettext(conflict_text("bad_amount")))
                    return True
                case = await self.work.claimed_case(actor, target)
                await work.store.pending.set(
                    actor, "cw_confirm", target, data={"amount": str(amount)}
                )
                keys = Keyboard(
                    [
                        [button("✅ " + _("Yes, approve"), pack(P, "ac", target, 0))],
                        [button(_("Cancel"), pack(P, "x", target, 0))],
                    ]
                )
                await send(
                    ctx.bot,
                    chat_id,
                    _("Approve {ref} with {amount}?").format(
                        ref=_ref(tr, case), amount="<b>" + tr.money(amount) + "</b>"
                    ),
                    keys,
                )
            elif pending.kind == "cw_decline":
                case = await work.decline(actor, target, text)
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "{ref} is declined. The applicant has been told, with where to turn next."
                    ).format(ref=_ref(tr, case)),
                )
            elif pending.kind == "cw_note":
                await work.note(actor, target, text)
                await send(ctx.bot, chat_id, _("Note saved."))
            elif pending.kind == "cw_refer":
                partner = pending.ref_id or 0
                await work.refer(actor, target, partner, text)
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "The referral was sent. You will be told when the liaison acknowledges it and when it is done."
                    ),
                )
            elif pending.kind == "cw_keep":
                case = await work.refuse_deletion(actor, target, text)
                await send(
                    ctx.bot,
                    chat_id,
                    _("The applicant of {ref} was told why their data is kept.").format(
                        ref=_ref(tr, case)
                    ),
                )
            elif pending.kind == "cw_confirm":
                await send(ctx.bot, chat_id, _("Please tap Yes, approve, or Cancel."))
            else:
                return False
        except Denied:
            await work.store.pending.clear(actor)
            await self._denied(ctx, chat_id, tr)
        except Conflict as err:
            await work.store.pending.clear(actor)
            await self._conflict(ctx, chat_id, tr, err)
        return True

    async def _applicant_reply(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """The applicant's answer to a caseworker's question goes back on the intake."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or pending.intake_id is None:
            return False
        if not clean_text(message.text or ""):
            # In their language: applicants have no language remembered for staff (seen).
            tr = await reader(self.work.store, self.work.i18n, user)
            await send(ctx.bot, user.id, tr.gettext("Please write your answer as a text message."))
            return True
        try:
            await self.work.reply(user.id, pending.intake_id, message.text or "")
        except Conflict:
            await self.work.store.pending.clear(user.id)
            return False
        return True


def _ref(tr: Tr, case: Case) -> str:
    return "<b>" + tr.ltr(case.ref or "") + "</b>"


def build_handlers(work: Casework) -> tuple[list[BaseHandler], CaseworkerHandlers]:
    h = CaseworkerHandlers(work)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("queue", h.queue, filters=private),
        CommandHandler("mine", h.mine, filters=private),
        CommandHandler("open", h.open_ref, filters=private),
        CallbackQueryHandler(h.on_button, pattern=r"^c:"),
    ], h
