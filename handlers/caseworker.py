"""The caseworker's side: the queue, the intake card, and the actions on it.

Thin over ``bot.casework``: a button names an action and an intake by id only
(telegram_channel/buttons/); the core re-checks the caseworker's role and the
intake's state when it arrives and says what comes next (bot/casework/desk.py),
which is rendered here. A stale or forged button changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram import CallbackQuery, ForceReply, InputFile, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import caseform
from bot.cards import attachment_caption, card_texts, queue_line, staff_status
from bot.casework import (
    Action,
    Card,
    Case,
    Casework,
    Conflict,
    Denied,
    Page,
    Step,
    UnknownFilter,
    fen_to_yuan,
)
from bot.casework.actions import CASEWORKER, SUPERVISOR
from bot.casework.desk import (
    CASEWORKER_WAITS,
    Applied,
    Attachments,
    Awaiting,
    Cancelled,
    Choices,
    Confirming,
    Outcome,
    Printable,
    Proposed,
    Refused,
    Revealed,
    Stale,
    Waiting,
)
from bot.casework.filters import Vocabulary, described
from bot.casework.terms import decline_text
from bot.commands import BY_ROLE
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.messages import HTML
from bot.store.measures import Measure
from bot.store.pending import Pending
from telegram_channel import buttons
from telegram_channel.buttons import Pressed, Tap, encode
from telegram_channel.buttons.staff import CASEWORKER_PATTERN
from telegram_channel.keyboards import Keyboard, button, rows
from telegram_channel.menu import CommandMenus
from telegram_channel.sending import acknowledge, beside, edit_markup, send
from telegram_channel.staff_buttons import (
    action_rows,
    card_keyboard,
    choices_keyboard,
    plan_button,
)

log = logging.getLogger(__name__)

PAGE = 8
FMT = HTML  # what Telegram reads
CONFLICTS = {
    "not_found": N_("That application was not found."),
    "wrong_status": N_("This application is no longer open for that action."),
    "claimed_by_other": N_(
        "Another caseworker has claimed this application. Take it over first if you must act on it."
    ),
    "not_claimed": N_("Claim this application first."),
    "bad_amount": N_("Please type an amount in yuan, for example 3000."),
    "is_clue": N_("This is a clue from a partner: there is no applicant to ask."),
    "is_test": N_("This is a test application: it is not sent to partner bodies."),
    "not_a_partner": N_("That person is no longer a partner."),
    "own_case": N_("This is your own application: another caseworker must handle it."),
    "proposed": N_("A decision on this application is waiting for a supervisor."),
    "no_supervisor": N_(
        "This decision needs the approval of a supervisor other than you, and none covers this region yet. Ask an admin to add one with /grant USER_ID supervisor."
    ),
    "stale": N_("This decision was already confirmed or returned."),
    "refer_over": N_("That referral is over. Tap 🤝 Refer to a partner to begin again."),
    "too_many": N_("This plan has as many measures as it can hold."),
    "own_proposal": N_("You proposed this decision: another supervisor must approve it."),
    "not_a_caseworker_here": N_(
        "That person is not a caseworker for this application's region. Check the user id with /roles."
    ),
    "over_max": N_("That is more than the largest amount that can be approved ({limit})."),
    "list_gone": N_("That list is no longer kept. Send /queue or /find again."),
}

# The prompts for typed words, by what the core waits for; "{ref}" is the intake's.
PROMPTS = {
    Awaiting.QUESTION: N_(
        "Type your question for the applicant of {ref}. They will get it in their chat."
    ),
    Awaiting.AMOUNT: N_("Type the amount to approve for {ref}, in yuan (for example 3000)."),
    Awaiting.DECLINE_REASON: N_(
        "Type the reason for declining {ref}, in words the applicant understands."
    ),
    Awaiting.NOTE: N_("Type a note for {ref}. Only caseworkers see notes."),
    Awaiting.REFERRAL_REQUEST: N_(
        "What do you ask them to do for this household? Type it (for example: check for poverty-return monitoring, arrange skills training)."
    ),
    Awaiting.KEEP_REASON: N_(
        "Type why the data of {ref} must be kept (for example, the case is still open). The applicant will read it."
    ),
    Awaiting.RETURN_NOTE: N_(
        "Type a note for the caseworker: why is the decision on {ref} returned? The applicant does not see it."
    ),
    Awaiting.REOPEN_REASON: N_("Type why {ref} is reopened. The applicant will read it."),
}
# What was done, as the caseworker who did it is told; "{ref}" is the intake's.
DONE = {
    Action.CLAIM: N_("You have claimed {ref}."),
    Action.TAKE_OVER: N_("You have claimed {ref}."),
    Action.RELEASE: N_("You released {ref}; it is back in the queue."),
    Action.DECLINE: N_("{ref} is declined. The applicant has been told, with where to turn next."),
    Action.ERASE: N_("The data of {ref} was erased; the applicant has been told."),
    Action.ASK: N_(
        "Your question was sent to the applicant of {ref}. Their answer will come to you here."
    ),
    Action.NOTE: N_("Note saved."),
    Action.REFUSE_DELETION: N_("The applicant of {ref} was told why their data is kept."),
    Action.CLOSE_QUESTION: N_(
        "You stopped waiting for the answer on {ref}. What the applicant sent is kept on the card."
    ),
    Action.ASSIGN: N_("{ref} is assigned; the caseworker has been told."),
    Action.CONFIRM_DECISION: N_(
        "The decision on {ref} is made. The applicant and the caseworker have been told."
    ),
    Action.RETURN_DECISION: N_(
        "The decision on {ref} was returned to the caseworker with your note."
    ),
    Action.REOPEN: N_("{ref} is in review again. The applicant has been told why."),
}
# How a file kept on an intake is sent, uploaded from our store, by its kind (a photo as a
# photo, a voice note as one the caseworker can play).
_RESEND = {
    "photo": "send_photo",
    "voice": "send_voice",
    "audio": "send_audio",
    "video": "send_video",
}
# The name an upload gets when the applicant's file had none.
_FILE_NAMES = {"photo": "photo.jpg", "voice": "voice.ogg", "audio": "audio", "video": "video.mp4"}
REFUSED = {
    "empty": N_("Please type it as a text message, or send /cancel."),
    "bad_amount": CONFLICTS["bad_amount"],
    "tap_confirm": N_("Please tap Yes, approve, or Cancel."),
    "tap_confirm_decline": N_("Please tap Yes, decline, or Cancel."),
}


FIND_HOW = N_(
    "Send /find followed by a name, a phone number or its last 4 digits, an ID number or a reference like ABC-DEF."
)
NOTHING_FOUND = N_("Nothing was found in your regions.")


def unknown_filter_text(tr: Tr, words: Sequence[str], vocabulary: Vocabulary) -> str:
    """What /queue takes, for words it does not: each kind of filter, in the reader's
    words with the English ones beside them."""
    _ = tr.gettext

    def both(word: str, english: str) -> str:
        if word == english:
            return word
        return _("{word} ({english})").format(word=word, english=english)

    named = [
        _("{name} ({code})").format(name=FMT.esc(label), code=tr.ltr(code))
        for label, code in vocabulary.shown_regions
    ]
    if named:
        regions = _("{regions}; or any division code (2, 4 or 6 digits)").format(
            regions=tr.join(named)
        )
    else:
        regions = _("a division code (2, 4 or 6 digits), such as {code}").format(
            code=tr.ltr("653222")
        )
    lines = [
        _("Not a filter I know: {words}.").format(words=FMT.esc(" ".join(words))),
        _("/queue takes these words (several narrow the list):"),
        "• " + tr.labelled(_("status"), tr.join(both(w, k) for w, k in vocabulary.shown_statuses)),
        "• " + tr.labelled(_("deadline"), both(vocabulary.shown_overdue, "overdue")),
        "• " + tr.labelled(_("region"), regions),
    ]
    if vocabulary.shown_groups:
        groups = tr.join(both(FMT.esc(label), rule) for label, rule in vocabulary.shown_groups)
        lines.append("• " + tr.labelled(_("special group"), groups))
    return "\n".join(lines)


def conflict_text(code: str) -> str:
    """The (untranslated) message for a conflict code; a name, so extraction skips the keys."""
    return CONFLICTS.get(code, CONFLICTS["wrong_status"])


def _ref(tr: Tr, case: Case | None) -> str:
    return FMT.b(tr.ltr(case.ref or "")) if case is not None else ""


class CaseworkerHandlers:
    def __init__(self, work: Casework, menus: CommandMenus) -> None:
        self.work = work
        self.desk = work.desk
        self.menus = menus

    # -- helpers (the supervisor's handlers use actor, conflict and render_outcome too) ----

    async def actor(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE
    ) -> tuple[int, int, Tr] | None:
        """(user, chat, their language) of whoever acts; their language and name are
        remembered first, since the alerts and the history use them later."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        # Remember the language and name first: alerts and history use them later.
        if await self.work.seen(user.id, user.language_code, user.full_name):
            await self.menus.refresh(ctx.bot, user.id)  # in the language now theirs
        tr = await self.work.tr_for(user.id)
        return user.id, chat.id, tr

    async def _denied(self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr) -> None:
        await send(
            ctx.bot, chat_id, tr.gettext("This is only for caseworkers of the procuratorate.")
        )

    async def conflict(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, err: Conflict
    ) -> None:
        """Why the core refused an action, in the reader's words, with what they can do."""
        _ = tr.gettext
        text = tr.gettext(conflict_text(err.code))
        if err.code == "over_max":
            text = text.format(limit=FMT.b(tr.money(self.work.settings.max_amount)))
        markup = None
        if err.code == "wrong_status" and err.intake is not None:
            text = tr.sentences(
                text,
                _("Its status: {status}.").format(
                    status=FMT.esc(staff_status(tr, err.intake.status))
                ),
            )
        if err.code == "claimed_by_other" and err.intake is not None:
            markup = Keyboard(action_rows(tr, [Action.TAKE_OVER], err.intake.id))
        await send(ctx.bot, chat_id, text, markup)

    async def show_card(
        self, ctx: ContextTypes.DEFAULT_TYPE, actor: int, chat_id: int, tr: Tr, intake_id: int
    ) -> None:
        try:
            card = await self.work.card(actor, intake_id)
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        except Conflict as err:
            await self.conflict(ctx, chat_id, tr, err)
            return
        texts = card_texts(tr, FMT, card, actor)
        for text in texts[:-1]:
            await send(ctx.bot, chat_id, text)
        markup = card_keyboard(
            tr, card.case.id, card.actions, len(card.files), card.case.proposal_id
        )
        await send(ctx.bot, chat_id, texts[-1], markup)

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
            shown = await self.work.decisions.queue_page(actor, page, PAGE, mine=mine)
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        total = shown.total
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
            FMT.b(title)
            + " · "
            + tr.ngettext("{n} open", "{n} open", total).format(n=total)
            + " · "
            + _("page {page} of {pages}").format(page=page + 1, pages=pages)
        ]
        keys = []
        for n, (case, flow) in enumerate(shown.entries, start=page * PAGE + 1):
            lines.append(
                queue_line(tr, FMT, n, case, flow, actor, shown.due.get(case.id), shown.names)
            )
            keys.append(button(f"{n}. {case.ref}", encode(Tap.OPEN, case.id)))
        keyboard = rows(keys, 2)
        nav = []
        tap = Tap.MINE if mine else Tap.QUEUE
        if page > 0:
            nav.append(button("◀️ " + _("Previous"), encode(tap, page - 1)))
        if page + 1 < pages:
            nav.append(button(_("Next") + " ▶️", encode(tap, page + 1)))
        if nav:
            keyboard.append(nav)
        await send(ctx.bot, chat_id, "\n\n".join(lines), Keyboard(keyboard))

    # -- commands --------------------------------------------------------------------

    async def queue(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        words = " ".join(ctx.args or [])
        if not words:
            await self.show_queue(ctx, actor, chat_id, tr, 0, mine=False)
            return
        try:
            page = await self.work.finding.queue(actor, tr, words, PAGE)
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        except UnknownFilter as err:
            await send(ctx.bot, chat_id, unknown_filter_text(tr, err.words, err.vocabulary))
            return
        await self.show_listing(ctx, actor, chat_id, tr, page)

    async def find(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/find TEXT: by reference, name, phone number or its last 4 digits, ID number."""
        who = await self.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        try:
            page = await self.work.find(actor, " ".join(ctx.args or []), PAGE)
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        if page is None:
            await send(ctx.bot, chat_id, tr.gettext(FIND_HOW))
        elif page.total == 0:
            await send(
                ctx.bot, chat_id, tr.sentences(tr.gettext(NOTHING_FOUND), tr.gettext(FIND_HOW))
            )
        elif page.total == 1:
            await self.show_card(ctx, actor, chat_id, tr, page.entries[0][0].id)
        else:
            await self.show_listing(ctx, actor, chat_id, tr, page)

    async def show_listing(
        self, ctx: ContextTypes.DEFAULT_TYPE, actor: int, chat_id: int, tr: Tr, page: Page
    ) -> None:
        """A page of search results or of a filtered queue, with Previous/Next buttons
        carrying the kept list's id and a page number only."""
        _ = tr.gettext
        listing = page.listing
        if listing.search:
            head = [
                FMT.b(_("Found")),
                tr.ngettext("{n} application", "{n} applications", page.total).format(
                    n=tr.count(page.total)
                ),
            ]
        else:
            vocabulary = await self.work.finding.vocabulary(tr)
            head = [FMT.b(_("Applications")), FMT.esc(tr.join(described(tr, vocabulary, listing)))]
            if page.total == 0:
                await send(
                    ctx.bot,
                    chat_id,
                    " · ".join(head) + "\n\n" + _("No application is on this list."),
                )
                return
            head.append(
                tr.ngettext("{n} application", "{n} applications", page.total).format(
                    n=tr.count(page.total)
                )
            )
        head.append(_("page {page} of {pages}").format(page=page.page + 1, pages=page.pages))
        lines = [" · ".join(head)]
        keys = []
        cases = [case for case, _flow in page.entries]
        due = self.work.decisions.due_of(cases)
        names = await self.work.decisions.holders(actor, cases)
        for n, (case, flow) in enumerate(page.entries, start=page.page * page.size + 1):
            lines.append(queue_line(tr, FMT, n, case, flow, actor, due.get(case.id), names))
            keys.append(button(f"{n}. {case.ref}", encode(Tap.OPEN, case.id)))
        keyboard = rows(keys, 2)
        nav = []
        if page.page > 0:
            nav.append(
                button("◀️ " + _("Previous"), encode(Tap.LIST, page.listing_id, page.page - 1))
            )
        if page.page + 1 < page.pages:
            nav.append(button(_("Next") + " ▶️", encode(Tap.LIST, page.listing_id, page.page + 1)))
        if nav:
            keyboard.append(nav)
        await send(ctx.bot, chat_id, "\n\n".join(lines), Keyboard(keyboard))

    async def mine(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        await self.show_queue(ctx, actor, chat_id, tr, 0, mine=True)

    async def open_ref(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """/open ABC-DEF: a card by its reference, as read out on the phone."""
        who = await self.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        try:
            intake_id = await self.work.decisions.find(actor, " ".join(ctx.args or []))
        except Denied:
            await self._denied(ctx, chat_id, tr)
            return
        if intake_id is None:
            await send(
                ctx.bot,
                chat_id,
                tr.gettext(
                    "No application has that reference. Send /open followed by a reference like ABC-DEF."
                ),
            )
            return
        await self.show_card(ctx, actor, chat_id, tr, intake_id)

    async def in_group(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """A staff command sent in a group, such as the caseworkers' group. The group gets
        alerts only: cards and queues carry applicants' names, phones and stories, which
        every member of a group would read, so they are shown in a private chat with the
        bot. Say so and where, rather than stay silent."""
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        if message is None or user is None or chat is None:
            return
        first = (message.text or "").split(maxsplit=1)[:1] or [""]
        word, _at, addressee = first[0].lower().partition("@")
        ours = addressee in ("", (ctx.bot.username or "").lower())
        if not ours or word[1:] not in IN_GROUP:
            return  # another bot's command, or not one of staff's: not ours to answer
        tr = await self.work.people.reader(user.id, user.language_code)
        await send(
            ctx.bot,
            chat.id,
            tr.gettext(
                "Applications are shown only in a private chat with me, so that people's details stay out of the group. Open @{bot} and send {command} there."
            ).format(bot=FMT.esc(ctx.bot.username or ""), command=FMT.esc(word)),
        )

    # -- buttons ---------------------------------------------------------------------

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        pressed = buttons.decode(query.data)
        if pressed is None or pressed.prefix != buttons.CASEWORKER:
            # Forged or from an older version: answered, and nothing written or checked.
            log.info("a malformed caseworker button was ignored")
            tr = await self.work.people.reader(user.id, user.language_code)
            await acknowledge(query, tr.gettext("That button is not valid any more."))
            return
        who = await self.actor(update, ctx)
        if who is None:
            return
        actor, chat_id, tr = who
        roles = (await self.work.people.actor(actor)).roles
        if CASEWORKER not in roles and SUPERVISOR not in roles:  # supervisors read cards
            await acknowledge(
                query, tr.gettext("This is only for caseworkers of the procuratorate.")
            )
            return
        message = query.message if isinstance(query.message, Message) else None
        if pressed.tap is Tap.REVEAL:
            await self._reveal(query, actor, tr, pressed.target)
            return

        async def act() -> None:
            try:
                await self._dispatch(ctx, actor, chat_id, tr, pressed, message)
            except Denied:
                await self._denied(ctx, chat_id, tr)
            except Conflict as err:
                await self.conflict(ctx, chat_id, tr, err)

        await beside(acknowledge(query), act())

    async def _reveal(self, query: CallbackQuery, actor: int, tr: Tr, intake_id: int) -> None:
        """The ID number in a box only the caseworker who tapped sees, and that stays
        nowhere in the chat; the core audits the read."""
        _ = tr.gettext
        try:
            outcome = await self.desk.tap(actor, Action.REVEAL_ID, Step.START, intake_id, 0)
        except Denied:
            await acknowledge(query, _("This is only for caseworkers of the procuratorate."))
            return
        except Conflict as err:
            await acknowledge(query, _(conflict_text(err.code)))
            return
        if not isinstance(outcome, Revealed) or outcome.id_number is None:
            await acknowledge(query, _("There is no ID number on this application."))
            return
        label = _("ID number of {ref}").format(ref=tr.ltr(outcome.case.ref or ""))
        text = tr.labelled(label, outcome.id_number)
        await acknowledge(query, text, alert=True)

    async def _dispatch(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        chat_id: int,
        tr: Tr,
        pressed: Pressed,
        message: Message | None,
    ) -> None:
        """Views are the channel's own; every action goes to the core's desk."""
        tap, target = pressed.tap, pressed.target
        if tap is Tap.QUEUE or tap is Tap.MINE:
            await self.show_queue(ctx, actor, chat_id, tr, max(0, target), mine=tap is Tap.MINE)
        elif tap is Tap.OPEN:
            await self.show_card(ctx, actor, chat_id, tr, target)
        elif tap is Tap.LIST:
            page = await self.work.finding.page(actor, target, pressed.arg, PAGE)
            await self.show_listing(ctx, actor, chat_id, tr, page)
        elif tap is Tap.CANCEL:
            await self.render_outcome(
                ctx, actor, chat_id, tr, await self.desk.cancel(actor), message
            )
        elif tap is not None and tap.action is not None and tap.step is not None:
            outcome = await self.desk.tap(actor, tap.action, tap.step, target, pressed.arg)
            await self.render_outcome(ctx, actor, chat_id, tr, outcome, message, tap)
        else:
            raise Conflict("wrong_status")  # well-formed, but no button of this version

    async def render_outcome(
        self,
        ctx: ContextTypes.DEFAULT_TYPE,
        actor: int,
        chat_id: int,
        tr: Tr,
        outcome: Outcome,
        message: Message | None = None,
        tapped: Tap | None = None,
    ) -> None:
        """Say what the core did or waits for. ``message``: the one whose button was
        tapped; its buttons go once they no longer apply."""
        _ = tr.gettext
        match outcome:
            case Applied(action=Action.REFER, case=Case() as case, measure=Measure() as measure):
                await edit_markup(message, None)
                text = _(
                    "The measure for {ref} was sent, due {date}. You will be told when the partner accepts it and when it is done."
                ).format(ref=_ref(tr, case), date=tr.date(measure.due_on))
                await send(ctx.bot, chat_id, text, plan_button(tr, case.id))
            case Applied(action=Action.APPROVE, case=Case() as case):
                await edit_markup(message, None)
                amount = tr.money(fen_to_yuan(case.amount_fen or 0))
                await send(
                    ctx.bot,
                    chat_id,
                    _("{ref} is approved with {amount}. The applicant has been told.").format(
                        ref=_ref(tr, case), amount=amount
                    ),
                )
            case Applied(action=action, case=case):
                await edit_markup(message, None)
                await send(ctx.bot, chat_id, _(DONE[action]).format(ref=_ref(tr, case)))
                if action in (Action.CLAIM, Action.TAKE_OVER) and case is not None:
                    await self.show_card(ctx, actor, chat_id, tr, case.id)
            case Proposed(case=case):
                await edit_markup(message, None)
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "Your decision on {ref} was sent to a supervisor for approval. The applicant will be told once it is confirmed."
                    ).format(ref=_ref(tr, case)),
                )
            case Waiting(awaiting=Awaiting.REFERRAL_REQUEST, case=Case() as case, options=options):
                await edit_markup(message, None)
                if not options:
                    prompt = _(PROMPTS[Awaiting.REFERRAL_REQUEST]).format(ref=_ref(tr, case))
                    await self._prompt(ctx, chat_id, tr, prompt)
                    return
                text = tr.sentences(
                    _("What do you ask them to do for {ref}?").format(ref=_ref(tr, case)),
                    _("Tap what the applicant asked for, or type it in a few words."),
                )
                keys = Keyboard(
                    [
                        [button("⭐ " + o.label, encode(Tap.REFER_NEED, case.id, o.arg))]
                        for o in options
                    ]
                    + [[button(_("Cancel"), encode(Tap.CANCEL, case.id))]]
                )
                await send(ctx.bot, chat_id, text, keys)
            case Waiting(awaiting=awaiting, case=case):
                if tapped is not None and tapped.step in (Step.PICK, Step.OWN_WORDS):
                    await edit_markup(message, None)
                await self._prompt(
                    ctx, chat_id, tr, _(PROMPTS[awaiting]).format(ref=_ref(tr, case))
                )
            case Choices(action=Action.REFER, options=()):
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "No partner body's liaison is set up yet. An admin can add one with /grant USER_ID partner."
                    ),
                )
            case Choices(action=Action.ASSIGN, options=()):
                await send(
                    ctx.bot,
                    chat_id,
                    _(
                        "No caseworker covers this application's region yet. An admin can add one with /grant USER_ID caseworker."
                    ),
                )
            case Choices(action=Action.ASSIGN, case=Case() as case) as choices:
                text = _("Assign {ref} to which caseworker?").format(ref=_ref(tr, case))
                await send(ctx.bot, chat_id, text, choices_keyboard(tr, choices, case.id, ""))
            case Choices(case=Case() as case) as choices:
                text = (
                    _("Why is {ref} declined? The applicant will read this reason.")
                    if choices.action is Action.DECLINE
                    else _("Refer {ref} to which partner?")
                ).format(ref=_ref(tr, case))
                own = "✍️ " + _("Another reason (type it)")
                await send(ctx.bot, chat_id, text, choices_keyboard(tr, choices, case.id, own))
            case Confirming(action=Action.DECLINE, case=case, reason=reason):
                await edit_markup(message, None)
                keys = Keyboard(
                    [
                        [button("❌ " + _("Yes, decline"), encode(Tap.CONFIRM_DECLINE, case.id))],
                        [button(_("Cancel"), encode(Tap.CANCEL, case.id))],
                    ]
                )
                text = tr.sentences(
                    _("Decline {ref}?").format(ref=_ref(tr, case)),
                    _("Reason: {reason}").format(reason=FMT.esc(decline_text(tr, reason))),
                )
                await send(ctx.bot, chat_id, text, keys)
            case Confirming(case=case, amount=amount):
                keys = Keyboard(
                    [
                        [button("✅ " + _("Yes, approve"), encode(Tap.CONFIRM_APPROVAL, case.id))],
                        [button(_("Cancel"), encode(Tap.CANCEL, case.id))],
                    ]
                )
                text = _("Approve {ref} with {amount}?").format(
                    ref=_ref(tr, case), amount=FMT.b(tr.money(amount))
                )
                await send(ctx.bot, chat_id, text, keys)
            case Refused(code="over_max", limit=limit, case=case):
                await send(
                    ctx.bot,
                    chat_id,
                    _(CONFLICTS["over_max"]).format(limit=FMT.b(tr.money(limit or 0))),
                )
                await self._prompt(
                    ctx, chat_id, tr, _(PROMPTS[Awaiting.AMOUNT]).format(ref=_ref(tr, case))
                )
            case Refused(code=code):
                await send(ctx.bot, chat_id, _(REFUSED[code]))
            case Stale(action=Action.DECLINE):
                await send(
                    ctx.bot, chat_id, _("That confirmation is no longer valid. Tap Decline again.")
                )
            case Stale():
                await send(
                    ctx.bot, chat_id, _("That confirmation is no longer valid. Tap Approve again.")
                )
            case Cancelled():
                await edit_markup(message, None)
                await send(ctx.bot, chat_id, _("Cancelled."))
            case Attachments(card=card):
                await self._send_attachments(ctx, chat_id, tr, card)
            case Printable(card=card):
                await self._send_form(ctx, chat_id, tr, card)
            case Revealed():
                pass  # shown in the tap's answer (``_reveal``)

    async def _prompt(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, text: str
    ) -> None:
        await send(
            ctx.bot,
            chat_id,
            text + "\n\n" + FMT.i(tr.gettext("Or send /cancel to stop.")),
            ForceReply(selective=True),
        )

    async def _send_form(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, card: Card
    ) -> None:
        """The printable case form (bot/caseform.py) as a Word document, made in a worker
        thread; the core has checked who asked and audited it."""
        data = await asyncio.to_thread(caseform.docx, tr, card)
        try:
            await ctx.bot.send_document(
                chat_id,
                InputFile(data, filename=caseform.filename(card)),
                caption=tr.gettext("Printable form of {ref}").format(
                    ref=tr.ltr(card.case.ref or "")
                ),
                disable_content_type_detection=True,
            )
        except TelegramError:
            log.warning("a case form could not be sent", exc_info=True)
            await send(
                ctx.bot, chat_id, tr.gettext("The file could not be sent. Please try again later.")
            )

    async def _send_attachments(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, card: Card
    ) -> None:
        """Each file, uploaded from our store (never Telegram's copy, which may be gone),
        captioned with the reference and the question it answers."""
        sent = waiting = lost = 0
        for filed in card.files:
            ref = filed.file
            data = await self.work.evidence.content(card.case.id, ref)
            if data is None:
                row = await self.work.evidence.row(card.case.id, ref)
                if row is not None and row.lost:
                    lost += 1
                else:
                    waiting += 1
                continue
            caption = attachment_caption(tr, card, filed)
            kind = str(ref.get("kind"))
            how = _RESEND.get(kind, "send_document")
            name = str(ref.get("name") or _FILE_NAMES.get(kind, "file"))
            try:
                await getattr(ctx.bot, how)(
                    chat_id, InputFile(data, filename=name), caption=caption
                )
                sent += 1
            except (BadRequest, TelegramError):
                log.warning("an attachment could not be sent")
        if lost:
            await send(
                ctx.bot,
                chat_id,
                tr.ngettext(
                    "{n} file could not be fetched from Telegram (too big for a bot, or no longer there). Ask the applicant to send it again.",
                    "{n} files could not be fetched from Telegram (too big for a bot, or no longer there). Ask the applicant to send them again.",
                    lost,
                ).format(n=tr.count(lost)),
            )
        if waiting:
            await send(
                ctx.bot,
                chat_id,
                tr.ngettext(
                    "{n} file has not arrived from Telegram yet. The bot keeps trying; show the attachments again later.",
                    "{n} files have not arrived from Telegram yet. The bot keeps trying; show the attachments again later.",
                    waiting,
                ).format(n=tr.count(waiting)),
            )
        elif not sent and not lost:
            await send(ctx.bot, chat_id, tr.gettext("There are no attachments to show."))

    # -- typed answers to the bot's prompts -------------------------------------------

    async def on_typed(
        self, update: Update, ctx: ContextTypes.DEFAULT_TYPE, pending: Pending
    ) -> bool:
        """A text message that answers this caseworker's pending prompt; False if not ours."""
        if pending.kind not in CASEWORKER_WAITS:
            return False
        who = await self.actor(update, ctx)
        message = update.effective_message
        if who is None or message is None or pending.intake_id is None:
            return False
        actor, chat_id, tr = who
        try:
            outcome = await self.desk.typed(actor, tr, pending, message.text or "")
        except Denied:
            await self._denied(ctx, chat_id, tr)
        except Conflict as err:
            await self.conflict(ctx, chat_id, tr, err)
        else:
            await self.render_outcome(ctx, actor, chat_id, tr, outcome)
        return True


def build_handlers(
    work: Casework, menus: CommandMenus
) -> tuple[list[BaseHandler], CaseworkerHandlers]:
    h = CaseworkerHandlers(work, menus)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("queue", h.queue, filters=private),
        CommandHandler("mine", h.mine, filters=private),
        CommandHandler("open", h.open_ref, filters=private),
        CommandHandler("find", h.find, filters=private),
        CallbackQueryHandler(h.on_button, pattern=CASEWORKER_PATTERN),
        # Staff commands (and /help) in a group: answered with the way to a private chat.
        MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, h.in_group),
    ], h


#: The commands answered in a group with the way to a private chat: every staff command.
IN_GROUP = frozenset({c.name for cmds in BY_ROLE.values() for c in cmds} | {"help"})
