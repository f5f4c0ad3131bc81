"""A household's plan in Telegram: the caseworker builds and sends it, partners work on it.

Thin over ``bot.casework.plans``. The caseworker's buttons (``m:``) add a measure in three
taps (its kind from the needs the applicant chose, or typed; who does it; by when, or a
typed date) and send the plan; each partner's (``w:``) accept, report under way, done, or
not possible (with why, typed) on its own measures, several at once with "accept all".
The core checks the tapper's role, that they hold the intake or are the measure's partner,
and the measure's state, whatever the button says.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Bot, ForceReply, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes

from bot.casework import Casework, Conflict, Denied
from bot.casework.actions import CASEWORKER, PARTNER
from bot.casework.measure_terms import DUE_DAYS, MeasureState
from bot.casework.plans import DRAFT, DUE_WORDS, KIND_WORDS, PAGE_SIZE, WHY_WORDS, parse_due
from bot.flow.values import clean_text
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.store.pending import Pending
from telegram_channel.buttons.plan import (
    MEASURE_PATTERN,
    PLAN_PATTERN,
    MeasureOp,
    PlanOp,
    PlanTap,
    read_measure,
    read_plan,
)
from telegram_channel.sending import acknowledge, beside, edit_markup, send
from telegram_channel.staff_buttons import (
    bodies_keyboard,
    due_keyboard,
    kinds_keyboard,
    measures_keyboard,
    more_keyboard,
    plan_keyboard,
)

log = logging.getLogger(__name__)

ONLY_CASEWORKERS = N_("This is only for caseworkers of the procuratorate.")
ONLY_PARTNERS = N_("This is only for liaisons of the agriculture department.")
_CONFLICTS = {
    "not_found": N_("That was not found."),
    "wrong_status": N_("That measure has moved on already: nothing was changed."),
    "not_claimed": N_("Only the caseworker who holds this application can change its plan."),
    "claimed_by_other": N_("Only the caseworker who holds this application can change its plan."),
    "stale": N_("That step is over. Tap ➕ Add a measure to begin again."),
    "nothing_to_send": N_("Every measure of this plan was sent already."),
    "not_a_partner": N_("That body cannot take this household's measures."),
    "too_many": N_("This plan has as many measures as it can hold."),
}
_CHANGED = {
    MeasureState.ACCEPTED: N_("Accepted. The caseworker has been told."),
    MeasureState.IN_PROGRESS: N_("Noted as under way. The caseworker has been told."),
    MeasureState.DONE: N_("Thank you. The caseworker and the family have been told it is done."),
    MeasureState.NOT_POSSIBLE: N_(
        "The caseworker and the family have been told why it cannot be done."
    ),
}
_TO = {
    MeasureOp.ACCEPT: MeasureState.ACCEPTED,
    MeasureOp.UNDER_WAY: MeasureState.IN_PROGRESS,
    MeasureOp.DONE: MeasureState.DONE,
}
_OR_CANCEL = N_("Or send /cancel to stop.")


def _conflict(tr: Tr, code: str) -> str:
    return tr.gettext(_CONFLICTS.get(code, _CONFLICTS["not_found"]))


async def send_partner_page(bot: Bot, work: Casework, actor: int, tr: Tr, page: int) -> int:
    """A page of a partner's households with measures, each with its buttons; a More
    button when there are more. Returns how many households were shown."""
    cards, total = await work.plans.partner_page(actor, page, tr)
    legend = tr.gettext("👍 accept · ⏳ under way · ✅ done · ⛔ not possible")
    for card in cards:
        keys = measures_keyboard(tr, card.case.id, [(m.id, m.state) for m in card.measures])
        text = card.text + ("\n\n" + legend if keys is not None else "")
        await send(bot, actor, text, keys)
    if (page + 1) * PAGE_SIZE < total:
        shown = tr.gettext("{shown} of {total} households.").format(
            shown=tr.number(min(total, (page + 1) * PAGE_SIZE)), total=tr.number(total)
        )
        await send(bot, actor, shown, more_keyboard(tr, page + 1))
    return len(cards)


class PlanHandlers:
    def __init__(self, work: Casework) -> None:
        self.work = work
        self.plans = work.plans

    async def _who(self, update: Update) -> tuple[int, Tr] | None:
        user = update.effective_user
        if user is None:
            return None
        await self.work.seen(user.id, user.language_code, user.full_name)
        return user.id, await self.work.tr_for(user.id)

    # -- the caseworker's ------------------------------------------------------------

    async def _tapped(
        self, update: Update, tap: PlanTap | None, role: str, refusal: str
    ) -> tuple[int, Tr, Message | None] | None:
        """Who tapped a plan or measure button, in their language, and on which message;
        None (the tap answered) when the button is malformed or they lack ``role``."""
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return None
        if tap is None or tap.op is None:
            log.info("a malformed plan button was ignored")
            tr = await self.work.people.reader(user.id, user.language_code)
            await acknowledge(query, tr.gettext("That button is not valid any more."))
            return None
        who = await self._who(update)
        if who is None:
            return None
        actor, tr = who
        if not await self.work.people.has(actor, role):
            await acknowledge(query, tr.gettext(refusal))
            return None
        message = query.message if isinstance(query.message, Message) else None
        return actor, tr, message

    async def on_plan(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        tap = read_plan(query.data) if query is not None else None
        tapped = await self._tapped(update, tap, CASEWORKER, ONLY_CASEWORKERS)
        if tapped is None or tap is None or query is None:
            return
        actor, tr, message = tapped
        await beside(
            acknowledge(query),
            self._plan_tap(ctx.bot, actor, tr, tap.op, tap.target, tap.arg, message),
        )

    async def _plan_tap(
        self,
        bot: Bot,
        actor: int,
        tr: Tr,
        op: PlanOp | MeasureOp,
        intake_id: int,
        arg: int,
        message: Message | None,
    ) -> None:
        _ = tr.gettext
        p = self.plans
        try:
            match op:
                case PlanOp.VIEW:
                    await self.show_plan(bot, actor, tr, intake_id)
                case PlanOp.ADD:
                    await p.start(actor, intake_id)
                    kinds = [
                        (s.index, s.label, s.chosen)
                        for s in await p.suggestions(actor, intake_id, tr)
                    ]
                    text = _("What help? ⭐ marks what the applicant asked for.")
                    if not kinds:  # a flow of the admin's own that tags no needs
                        text = _(
                            "This interview names no kinds of help (no question is tagged needs): type the help. An admin can tag one (docs/flow-format.md)."
                        )
                    await send(bot, actor, text, kinds_keyboard(tr, intake_id, kinds))
                case PlanOp.KIND:
                    await p.pick_kind(actor, intake_id, arg)
                    await self._ask_body(bot, actor, tr, intake_id)
                case PlanOp.KIND_WORDS:
                    await p.ask_kind_words(actor, intake_id)
                    text = _("Type the help in a few words.") + "\n\n" + _(_OR_CANCEL)
                    await send(bot, actor, text, ForceReply(selective=True))
                case PlanOp.BODY:
                    await p.pick_body(actor, intake_id, arg, tr)
                    days = list(DUE_DAYS)
                    await send(bot, actor, _("By when?"), due_keyboard(tr, intake_id, days))
                case PlanOp.DUE:
                    await p.due_in(actor, intake_id, arg)
                    await edit_markup(message, None)
                    await self.show_plan(bot, actor, tr, intake_id, _("The measure was added."))
                case PlanOp.DUE_WORDS:
                    await p.ask_due_words(actor, intake_id)
                    text = _("Type the date, for example {date}.").format(
                        date=(dt.date.today() + dt.timedelta(days=45)).isoformat()
                    )
                    await send(
                        bot, actor, text + "\n\n" + _(_OR_CANCEL), ForceReply(selective=True)
                    )
                case PlanOp.SEND:
                    sent = await p.send(actor, intake_id)
                    await edit_markup(message, None)
                    said = tr.ngettext(
                        "{n} measure was sent to those responsible.",
                        "{n} measures were sent to those responsible.",
                        len(sent),
                    ).format(n=tr.number(len(sent)))
                    await self.show_plan(bot, actor, tr, intake_id, said)
                case _:
                    raise Conflict("not_found")
        except Denied:
            await send(bot, actor, _(ONLY_CASEWORKERS))
        except Conflict as err:
            await send(bot, actor, _conflict(tr, err.code))

    async def _ask_body(self, bot: Bot, actor: int, tr: Tr, intake_id: int) -> None:
        bodies = await self.plans.bodies(actor, intake_id, tr)
        await send(
            bot, actor, tr.gettext("Who will do it?"), bodies_keyboard(tr, intake_id, bodies)
        )

    async def show_plan(
        self, bot: Bot, actor: int, tr: Tr, intake_id: int, before: str = ""
    ) -> None:
        view = await self.plans.view(actor, intake_id, tr)
        text = self.plans.plan_text(tr, view)
        if before:
            text = before + "\n\n" + text
        keys = plan_keyboard(tr, intake_id, holds=view.holds, unsent=view.unsent)
        await send(bot, actor, text, keys)

    # -- the partner's ---------------------------------------------------------------

    async def on_measure(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        tap = read_measure(query.data) if query is not None else None
        tapped = await self._tapped(update, tap, PARTNER, ONLY_PARTNERS)
        if tapped is None or tap is None or query is None:
            return
        actor, tr, message = tapped
        await beside(
            acknowledge(query),
            self._measure_tap(ctx.bot, actor, tr, tap.op, tap.target, message),
        )

    async def _measure_tap(
        self,
        bot: Bot,
        actor: int,
        tr: Tr,
        op: PlanOp | MeasureOp,
        target: int,
        message: Message | None,
    ) -> None:
        _ = tr.gettext
        p = self.plans
        try:
            match op:
                case MeasureOp.PAGE:
                    await edit_markup(message, None)
                    await send_partner_page(bot, self.work, actor, tr, target)
                case MeasureOp.OPEN:
                    await self.show_card(bot, actor, tr, target)
                case MeasureOp.ACCEPT_ALL:
                    changed = await p.accept_all(actor, target)
                    await edit_markup(message, None)
                    await send(bot, actor, _(_CHANGED[MeasureState.ACCEPTED]))
                    await self.show_card(bot, actor, tr, changed[0].intake_id)
                case MeasureOp.NOT_POSSIBLE:
                    await p.ask_why(actor, target)
                    text = (
                        _(
                            "Type why this cannot be done, in words the family understands: they will read it, and so will the caseworker."
                        )
                        + "\n\n"
                        + _(_OR_CANCEL)
                    )
                    await send(bot, actor, text, ForceReply(selective=True))
                case MeasureOp.ACCEPT | MeasureOp.UNDER_WAY | MeasureOp.DONE:
                    to = _TO[op]
                    changed = await p.change(actor, [target], to)
                    await edit_markup(message, None)
                    await send(bot, actor, _(_CHANGED[to]))
                    await self.show_card(bot, actor, tr, changed[0].intake_id)
                case _:
                    raise Conflict("not_found")
        except Denied:
            await send(bot, actor, _(ONLY_PARTNERS))
        except Conflict as err:
            await send(bot, actor, _conflict(tr, err.code))

    async def show_card(self, bot: Bot, actor: int, tr: Tr, intake_id: int) -> None:
        card = await self.plans.partner_card(actor, intake_id, tr)
        keys = measures_keyboard(tr, intake_id, [(m.id, m.state) for m in card.measures])
        text = card.text
        if keys is not None:
            text += "\n\n" + tr.gettext("👍 accept · ⏳ under way · ✅ done · ⛔ not possible")
        await send(bot, actor, text, keys)

    # -- typed words -----------------------------------------------------------------

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        if pending.kind not in (DRAFT, KIND_WORDS, DUE_WORDS, WHY_WORDS):
            return False
        message = update.effective_message
        who = await self._who(update)
        if who is None or message is None:
            return False
        actor, tr = who
        _ = tr.gettext
        text = message.text or ""
        intake_id = pending.intake_id or 0
        bot = ctx.bot
        if not clean_text(text):  # nothing visible is nothing typed: the prompt stays
            await send(bot, actor, _("Please type it as a text message, or send /cancel."))
            return True
        try:
            match pending.kind:
                case str() as kind if kind == DRAFT:
                    await send(bot, actor, _("Please tap one of the buttons, or send /cancel."))
                case str() as kind if kind == KIND_WORDS:
                    await self.plans.kind_words(actor, intake_id, text)
                    await self._ask_body(bot, actor, tr, intake_id)
                case str() as kind if kind == DUE_WORDS:
                    due = parse_due(text, dt.date.today())
                    if due is None:
                        await send(
                            bot,
                            actor,
                            _("That is not a date from today on. Type it like {date}.").format(
                                date=(dt.date.today() + dt.timedelta(days=45)).isoformat()
                            ),
                        )
                        return True
                    await self.plans.add(actor, intake_id, due)
                    await self.show_plan(bot, actor, tr, intake_id, _("The measure was added."))
                case _:  # WHY_WORDS
                    changed = await self.plans.change(
                        actor, [pending.ref_id or 0], MeasureState.NOT_POSSIBLE, text
                    )
                    await send(bot, actor, _(_CHANGED[MeasureState.NOT_POSSIBLE]))
                    await self.show_card(bot, actor, tr, changed[0].intake_id)
        except Denied:
            await self.plans.forget_typing(actor)
            await send(
                bot, actor, _(ONLY_CASEWORKERS if pending.kind != WHY_WORDS else ONLY_PARTNERS)
            )
        except Conflict as err:
            await self.plans.forget_typing(actor)
            await send(bot, actor, _conflict(tr, err.code))
        return True


def build_handlers(work: Casework) -> tuple[list[BaseHandler], PlanHandlers]:
    h = PlanHandlers(work)
    return [
        CallbackQueryHandler(h.on_plan, pattern=PLAN_PATTERN),
        CallbackQueryHandler(h.on_measure, pattern=MEASURE_PATTERN),
    ], h
