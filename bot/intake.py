"""The intake lifecycle after submit: claim, ask, decide, note, refer, and the partner's side.

Each action checks the actor's role in the database at the moment it runs and
lets the store check the intake's state inside the write transaction; the
notifications it causes are rendered here, in each reader's language, and
stored in the outbox with the change.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.config import Settings
from bot.flow.model import Flow
from bot.flow.values import clean_text, parse_number, strip_bidi
from bot.i18n import I18n, Tr
from bot.i18n_marks import N_
from bot.messages import answer_text, status_name
from bot.store import Store
from bot.store.casework import Case, Change, Conflict, Referral
from bot.store.db import now_iso
from bot.store.intakes import OPEN_STATUSES
from bot.store.outbox import OutMessage

log = logging.getLogger(__name__)

MAX_AMOUNT_YUAN = Decimal(10_000_000)
MAX_TYPED = 2000  # a question, note or report typed by staff

DECLINE_REASONS = (
    ("not_caused_by_case", N_("The hardship was not caused by the case")),
    ("compensated", N_("Compensation has already been received")),
    ("own_fault", N_("The applicant's own wrongdoing caused the case")),
    ("refused_compensation", N_("Compensation offered was refused")),
    ("other_office", N_("Another procuratorate handles this case")),
    ("no_information", N_("Not enough information after asking")),
)

DONE_OUTCOMES = (
    ("monitoring", N_("Enrolled in poverty-return monitoring (防止返贫监测)")),
    ("social_assistance", N_("Social assistance arranged (低保, temporary relief, medical aid)")),
    ("industry", N_("Farming or business support arranged")),
    ("training", N_("Skills training or a job arranged")),
    ("education", N_("Education support for the children arranged")),
)

_EVENTS = {
    "intake.started": N_("started"),
    "intake.submitted": N_("sent by the applicant"),
    "intake.claimed": N_("claimed"),
    "intake.taken_over": N_("taken over"),
    "intake.released": N_("released"),
    "intake.asked": N_("question to the applicant"),
    "intake.replied": N_("the applicant replied"),
    "intake.approved": N_("approved"),
    "intake.declined": N_("declined"),
    "intake.note": N_("note"),
    "intake.withdrawn": N_("withdrawn by the applicant"),
    "referral.sent": N_("referred to the agriculture department"),
    "referral.acknowledged": N_("referral acknowledged"),
    "referral.done": N_("referral done"),
    "referral.returned": N_("referral returned"),
    "clue.received": N_("clue received from a partner"),
    "deletion.requested": N_("the applicant asked to delete their data"),
    "deletion.refused": N_("deletion refused"),
    "intake.erased": N_("data erased at the applicant's request"),
    "intake.anonymised": N_("anonymised after the retention period"),
    "draft.expired": N_("closed: not finished in time"),
}

# Audit actions whose words are shown from the conversation instead.
_SHOWN_AS_MESSAGES = {"intake.started", "intake.asked", "intake.replied", "intake.note"}

REFERRAL_STATUS = {
    "sent": N_("sent, not yet acknowledged"),
    "acknowledged": N_("acknowledged, in progress"),
    "done": N_("done"),
    "returned": N_("returned"),
}


class Denied(Exception):
    """The actor does not hold the role the action needs."""


@dataclass(frozen=True)
class Card:
    """Everything a caseworker sees on one intake."""

    case: Case
    flow: Flow
    history: list[tuple[str, int | None, str, str]]  # (at, actor, kind, text)
    referrals: list[Referral]


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


class Casework:
    def __init__(self, store: Store, i18n: I18n, settings: Settings) -> None:
        self.store = store
        self.i18n = i18n
        self.settings = settings

    # -- languages and names ---------------------------------------------------------

    async def lang_of(self, user_id: int, fallback: str | None = None) -> str:
        row = await self.store.db.fetchone(
            "SELECT lang, tg_lang FROM users WHERE user_id = ?", (user_id,)
        )
        chosen, seen = (row["lang"], row["tg_lang"]) if row else (None, None)
        if chosen is None and seen is None and fallback:
            return self.i18n.pick(fallback, None)
        return self.i18n.pick(chosen, seen)

    async def tr_for(self, user_id: int, fallback: str | None = None) -> Tr:
        return self.i18n.tr(await self.lang_of(user_id, fallback))

    async def seen(self, user_id: int, telegram_lang: str | None, name: str | None) -> None:
        """Remember a staff member's Telegram language and name, for alerts and history.

        The name is kept only for people who hold a role: nobody else's is needed.
        """
        await self.store.db.execute(
            "INSERT INTO users (user_id, created_at, tg_lang) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET tg_lang = excluded.tg_lang",
            (user_id, now_iso(), telegram_lang),
            touches=user_id,
        )
        name = clean_text(name or "")[:64]  # shown on cards: no bidi controls in it
        if name and await self.store.roles.roles_of(user_id):
            await self.store.db.execute(
                "UPDATE users SET display_name = ? WHERE user_id = ?",
                (name, user_id),
                touches=user_id,
            )

    async def name_of(self, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        row = await self.store.db.fetchone(
            "SELECT display_name FROM users WHERE user_id = ?", (user_id,)
        )
        name = row["display_name"] if row and row["display_name"] else None
        return strip_bidi(name) if name else f"#{user_id}"

    # -- checks ----------------------------------------------------------------------

    async def require(self, actor: int, role: str) -> None:
        if not await self.store.roles.has(actor, role):
            raise Denied(role)

    async def open_case(self, actor: int, intake_id: int) -> Case:
        await self.require(actor, "caseworker")
        case = await self.store.cases.get(intake_id)
        if case is None or case.status == "draft":
            raise Conflict("not_found")
        return case

    async def claimed_case(self, actor: int, intake_id: int) -> Case:
        """An open intake this caseworker has claimed: what deciding on it requires."""
        case = await self.open_case(actor, intake_id)
        if case.status not in OPEN_STATUSES:
            raise Conflict("wrong_status", case)
        if case.assignee != actor:
            raise Conflict("not_claimed" if case.assignee is None else "claimed_by_other", case)
        return case

    # -- reading ---------------------------------------------------------------------

    async def queue(
        self, actor: int, page: int, size: int, mine: bool = False
    ) -> tuple[list[Case], int]:
        await self.require(actor, "caseworker")
        assignee = actor if mine else None
        total = await self.store.cases.queue_size(assignee)
        cases = await self.store.cases.queue(limit=size, offset=page * size, assignee=assignee)
        return cases, total

    async def card(self, actor: int, intake_id: int) -> Card:
        case = await self.open_case(actor, intake_id)
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        audit = await self.store.audit.for_intake(intake_id)
        talk = await self.store.cases.conversation(intake_id)
        history: list[tuple[str, int | None, str, str]] = [
            (a.at, a.actor, "event", a.action)
            for a in audit
            if a.action not in _SHOWN_AS_MESSAGES  # their text is in the conversation below
        ]
        history += [(m.at, m.author, m.kind, m.body) for m in talk]
        history.sort(key=lambda h: h[0])
        referrals = await self.store.cases.referrals(intake_id)
        return Card(case, flow, history, referrals)

    def event_name(self, tr: Tr, action: str) -> str:
        return tr.gettext(_EVENTS.get(action, action))

    def referral_status(self, tr: Tr, status: str) -> str:
        return tr.gettext(REFERRAL_STATUS.get(status, status))

    # -- notifications ---------------------------------------------------------------

    async def _to_applicant(self, case: Case, render: Any) -> list[OutMessage]:
        """A message to the person who sent the intake, in their language."""
        tr = await self.tr_for(case.applicant_id, case.lang)
        return [OutMessage(case.chat_id, render(tr))]

    async def _to_user(self, user_id: int, render: Any, buttons: Any = None) -> OutMessage:
        tr = await self.tr_for(user_id)
        return OutMessage(user_id, render(tr), buttons(tr) if buttons else [])

    def _ref(self, tr: Tr, case: Case) -> str:
        return "<b>" + tr.ltr(case.ref or "") + "</b>"

    # -- actions ---------------------------------------------------------------------

    async def claim(self, actor: int, intake_id: int, *, take_over: bool = False) -> Case:
        case = await self.open_case(actor, intake_id)
        if case.applicant_id == actor and not case.is_clue:
            raise Conflict("own_case", case)  # nobody decides their own application
        if case.assignee not in (None, actor) and not take_over:
            raise Conflict("claimed_by_other", case)
        notify: list[OutMessage] = []
        to = None
        if case.status == "submitted":
            to = "in_review"
            if not case.is_clue:
                notify += await self._to_applicant(
                    case,
                    lambda tr: tr.gettext(
                        "A caseworker is now looking at your application {ref}. You will hear from us here."
                    ).format(ref=self._ref(tr, case)),
                )
        previous = case.assignee
        if previous not in (None, actor):
            notify.append(
                await self._to_user(
                    previous,
                    lambda tr: tr.gettext(
                        "Application {ref} has been taken over by a colleague."
                    ).format(ref=self._ref(tr, case)),
                )
            )
        action = "intake.taken_over" if previous not in (None, actor) else "intake.claimed"
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action=action,
                allowed_from=OPEN_STATUSES,
                to=to,
                sets={"assignee": actor},
                detail={"from": previous} if previous not in (None, actor) else {},
                notify=notify,
                expect_assignee=(previous,),
            ),
        )

    async def release(self, actor: int, intake_id: int) -> Case:
        await self.open_case(actor, intake_id)
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.released",
                allowed_from=OPEN_STATUSES,
                need_assignee=actor,
                sets={"assignee": None},
            ),
        )

    async def ask(self, actor: int, intake_id: int, question: str) -> Case:
        case = await self.open_case(actor, intake_id)
        question = clean_text(question)[:MAX_TYPED]
        if case.is_clue:
            raise Conflict("is_clue", case)

        def render(tr: Tr) -> str:
            return (
                tr.gettext("About your application {ref}, the caseworker asks:").format(
                    ref=self._ref(tr, case)
                )
                + "\n\n<i>"
                + _esc(question)
                + "</i>\n\n"
                + tr.gettext("Please write your answer here as a message.")
            )

        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.asked",
                allowed_from=("in_review", "awaiting_applicant"),
                to="awaiting_applicant",
                need_assignee=actor,
                entry=("question", question),
                notify=await self._to_applicant(case, render),
                pending=(case.applicant_id, "reply"),
                clear_pending=actor,
            ),
        )

    async def reply(self, applicant: int, intake_id: int, text: str) -> Case:
        """The applicant answers a caseworker's question: it goes back to the caseworker."""
        case = await self.store.cases.get(intake_id)
        if case is None or case.applicant_id != applicant:
            raise Conflict("not_found")
        text = clean_text(text)[:4000]
        notify: list[OutMessage] = []
        if case.assignee is not None:
            notify.append(
                await self._to_user(
                    case.assignee,
                    lambda tr: (
                        tr.gettext("The applicant replied on {ref}:").format(
                            ref=self._ref(tr, case)
                        )
                        + "\n\n<i>"
                        + _esc(text)
                        + "</i>"
                    ),
                    lambda tr: [[("📂 " + tr.gettext("Open"), f"c:o:{case.id}:0")]],
                )
            )
        notify += await self._to_applicant(
            case,
            lambda tr: tr.gettext(
                "Thank you. Your answer was passed to the caseworker of application {ref}."
            ).format(ref=self._ref(tr, case)),
        )
        return await self.store.cases.change(
            intake_id,
            applicant,
            Change(
                action="intake.replied",
                allowed_from=("awaiting_applicant",),
                to="in_review",
                entry=("reply", text),
                notify=notify,
                clear_pending=applicant,
            ),
        )

    async def approve(self, actor: int, intake_id: int, amount_text: str) -> Case:
        case = await self.open_case(actor, intake_id)
        amount = parse_amount(amount_text)
        if amount is None:
            raise Conflict("bad_amount", case)
        fen = int(amount * 100)

        def render(tr: Tr) -> str:
            return (
                tr.gettext("Good news: your application {ref} is approved.").format(
                    ref=self._ref(tr, case)
                )
                + "\n\n"
                + tr.gettext("Assistance granted: {amount}").format(
                    amount="<b>" + tr.money(fen_to_yuan(fen)) + "</b>"
                )
                + "\n\n"
                + tr.gettext(
                    "The procuratorate will contact you about how you receive it. No one may ask you for a fee."
                )
            )

        notify = [] if case.is_clue else await self._to_applicant(case, render)
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.approved",
                allowed_from=("in_review", "awaiting_applicant"),
                to="approved",
                need_assignee=actor,
                sets={"amount_fen": fen, "decided_at": _now()},
                detail={"amount_fen": fen},
                notify=notify,
                clear_pending=actor,
            ),
        )

    async def decline(self, actor: int, intake_id: int, reason: str) -> Case:
        """``reason`` is a code from DECLINE_REASONS or the caseworker's own words."""
        case = await self.open_case(actor, intake_id)
        reason = clean_text(reason)[:MAX_TYPED]
        codes = dict(DECLINE_REASONS)

        def render(tr: Tr) -> str:
            said = tr.gettext(codes[reason]) if reason in codes else reason
            return (
                tr.gettext("Your application {ref} was not approved.").format(
                    ref=self._ref(tr, case)
                )
                + "\n\n"
                + tr.gettext("Reason: {reason}").format(reason=_esc(said))
                + "\n\n"
                + tr.gettext(
                    "Where to turn next: free legal aid, call 12348. For living costs, ask your village committee or the township office about subsistence allowance (低保) or temporary relief."
                )
            )

        notify = [] if case.is_clue else await self._to_applicant(case, render)
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.declined",
                allowed_from=("in_review", "awaiting_applicant"),
                to="declined",
                need_assignee=actor,
                sets={"decision_reason": reason, "decided_at": _now()},
                detail={"reason": reason if reason in codes else "other"},
                notify=notify,
                clear_pending=actor,
            ),
        )

    async def note(self, actor: int, intake_id: int, text: str) -> None:
        await self.open_case(actor, intake_id)
        await self.store.cases.add_note(intake_id, actor, "note", clean_text(text)[:MAX_TYPED], [])

    async def partners(self, actor: int) -> list[tuple[int, str]]:
        await self.require(actor, "caseworker")
        grants = await self.store.roles.grants("partner")
        return [(g.user_id, strip_bidi(g.label or await self.name_of(g.user_id))) for g in grants]

    async def refer(self, actor: int, intake_id: int, partner_id: int, request: str) -> Referral:
        case = await self.open_case(actor, intake_id)
        if not await self.store.roles.has(partner_id, "partner"):
            raise Conflict("not_a_partner", case)
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        request = clean_text(request)[:MAX_TYPED]
        partner_tr = await self.tr_for(partner_id)
        summary = self.partner_summary(partner_tr, case, flow)
        applicant_msgs = (
            []
            if case.is_clue
            else await self._to_applicant(
                case,
                lambda tr: tr.gettext(
                    "About your application {ref}: we have also asked the county agriculture and rural affairs department to help your family. They may contact you."
                ).format(ref=self._ref(tr, case)),
            )
        )

        def notify_for(referral_id: int) -> list[OutMessage]:
            _ = partner_tr.gettext
            text = (
                "<b>"
                + _("A referral from the procuratorate (clue transfer)")
                + "</b> "
                + self._ref(partner_tr, case)
                + "\n\n"
                + summary
            )
            if request:
                text += "\n\n" + _("What is asked:") + "\n<i>" + _esc(request) + "</i>"
            buttons = [
                [("👍 " + _("Acknowledge"), f"p:a:{referral_id}:0")],
                [("✅ " + _("Report what was done"), f"p:d:{referral_id}:0")],
                [("↩️ " + _("Return it"), f"p:r:{referral_id}:0")],
            ]
            return [OutMessage(partner_id, text, buttons), *applicant_msgs]

        return await self.store.cases.refer(intake_id, actor, partner_id, request, notify_for)

    def partner_summary(self, tr: Tr, case: Case, flow: Flow) -> str:
        """Only what the agriculture department needs: the steps tagged ``partner``."""
        lang = flow.language_for(tr.lang)
        lines = []
        if case.is_clue:
            for key, label in CLUE_FIELDS:
                if case.clue.get(key):
                    lines.append(
                        f"<b>{_esc(tr.gettext(label))}</b>: {_esc(strip_bidi(case.clue[key]))}"
                    )
            return "\n".join(lines)
        for step in flow.tagged("partner"):
            if step.id not in case.state.answers:
                continue
            value = answer_text(tr, flow, lang, step, case.state.answers[step.id], masked=False)
            lines.append(f"<b>{_esc(flow.pick(step.text, lang))}</b>\n{_esc(value)}")
        return "\n".join(lines)

    # -- the partner's side ----------------------------------------------------------

    async def referral_for_partner(self, actor: int, referral_id: int) -> tuple[Referral, Case]:
        await self.require(actor, "partner")
        ref = await self.store.cases.referral(referral_id)
        if ref is None or ref.partner_id != actor:
            raise Conflict("not_found")
        case = await self.store.cases.get(ref.intake_id)
        if case is None:
            raise Conflict("not_found")
        return ref, case

    async def _tell_caseworker(self, ref: Referral, case: Case, what: str, outcome: str | None):
        def render(tr: Tr) -> str:
            text = tr.gettext("Referral of {ref}: {what}").format(
                ref=self._ref(tr, case), what=tr.gettext(what)
            )
            if outcome:
                text += "\n\n<i>" + _esc(_outcome_text(tr, outcome)) + "</i>"
            return text

        return await self._to_user(ref.created_by, render)

    async def acknowledge(self, actor: int, referral_id: int) -> Referral:
        ref, case = await self.referral_for_partner(actor, referral_id)
        msg = await self._tell_caseworker(
            ref, case, N_("acknowledged by the agriculture department"), None
        )
        return await self.store.cases.update_referral(
            referral_id,
            actor,
            allowed_from=("sent",),
            to="acknowledged",
            outcome=None,
            notify_for=lambda r: [msg],
        )

    async def report_done(self, actor: int, referral_id: int, outcome: str) -> Referral:
        ref, case = await self.referral_for_partner(actor, referral_id)
        outcome = clean_text(outcome)[:MAX_TYPED]
        msg = await self._tell_caseworker(
            ref, case, N_("done by the agriculture department"), outcome
        )
        return await self.store.cases.update_referral(
            referral_id,
            actor,
            allowed_from=("sent", "acknowledged"),
            to="done",
            outcome=outcome,
            notify_for=lambda r: [msg],
        )

    async def return_referral(self, actor: int, referral_id: int, reason: str) -> Referral:
        ref, case = await self.referral_for_partner(actor, referral_id)
        reason = clean_text(reason)[:MAX_TYPED]
        msg = await self._tell_caseworker(
            ref, case, N_("returned by the agriculture department"), reason
        )
        return await self.store.cases.update_referral(
            referral_id,
            actor,
            allowed_from=("sent", "acknowledged"),
            to="returned",
            outcome=reason,
            notify_for=lambda r: [msg],
        )

    async def open_referrals(self, actor: int) -> list[tuple[Referral, Case]]:
        await self.require(actor, "partner")
        out = []
        for ref in await self.store.cases.referrals_for_partner(actor):
            case = await self.store.cases.get(ref.intake_id)
            if case is not None:
                out.append((ref, case))
        return out

    async def send_clue(self, actor: int, clue: dict[str, str]) -> str:
        """A partner's clue enters the review queue as an intake marked as a clue."""
        await self.require(actor, "partner")
        flow = await self.store.flows.active()
        lang = await self.lang_of(actor)
        clue = {k: clean_text(v)[:MAX_TYPED] for k, v in clue.items() if k in dict(CLUE_FIELDS)}

        def notify(ref: str) -> list[OutMessage]:
            return self.alerts_for_new(ref, is_clue=True)

        _, ref = await self.store.cases.add_clue(
            partner_id=actor,
            flow_id=flow.id,
            flow_version=flow.version,
            lang=lang,
            clue=clue,
            priority=0,
            notify=notify,
        )
        return ref

    def alerts_for_new(
        self, ref: str, *, is_clue: bool = False, priority: int = 0
    ) -> list[OutMessage]:
        """The new-intake alert for the caseworkers' group, when one is configured."""
        chat = self.settings.caseworker_chat
        if chat is None:
            return []
        tr = self.i18n.tr(None)
        if is_clue:
            text = tr.gettext("New clue from the agriculture department: {ref}").format(
                ref="<b>" + ref + "</b>"
            )
        else:
            text = tr.gettext("New application: {ref} (priority {priority})").format(
                ref="<b>" + ref + "</b>", priority=priority
            )
        return [OutMessage(chat, text + "\n" + tr.gettext("Send /queue to the bot to review it."))]

    # -- the applicant's right to erasure --------------------------------------------

    async def request_deletion(self, applicant: int, intake_id: int) -> Case:
        """The applicant asks to erase a sent intake: its caseworker (or the group) is told."""
        case = await self.store.cases.get(intake_id)
        if case is None or case.applicant_id != applicant or case.status == "draft":
            raise Conflict("not_found")
        notify: list[OutMessage] = []
        target = case.assignee
        if target is not None:
            notify.append(
                await self._to_user(
                    target,
                    lambda tr: tr.gettext(
                        "The applicant of {ref} asks to delete their data. Open it to erase the data or to refuse with a reason."
                    ).format(ref=self._ref(tr, case)),
                    lambda tr: [[("📂 " + tr.gettext("Open"), f"c:o:{case.id}:0")]],
                )
            )
        elif self.settings.caseworker_chat is not None:
            tr = self.i18n.tr(None)
            notify.append(
                OutMessage(
                    self.settings.caseworker_chat,
                    tr.gettext(
                        "The applicant of {ref} asks to delete their data. Open it to erase the data or to refuse with a reason."
                    ).format(ref=self._ref(tr, case)),
                )
            )
        if not await self.store.intakes.request_deletion(case, notify):
            raise Conflict("wrong_status", case)
        return case

    async def erase(self, actor: int, intake_id: int) -> Case:
        """A caseworker completes a deletion request: everything personal goes."""
        case = await self.open_case(actor, intake_id)
        if case.deletion_requested_at is None:
            raise Conflict("wrong_status", case)
        notify = await self._to_applicant(
            case,
            lambda tr: tr.gettext(
                "As you asked, your data in application {ref} has been deleted."
            ).format(ref=self._ref(tr, case)),
        )
        codes = tuple(code for code, _label in DECLINE_REASONS)
        if not await self.store.cases.anonymise(intake_id, actor, "intake.erased", notify, codes):
            raise Conflict("wrong_status", case)
        await self.store.db.checkpoint()
        return case

    async def refuse_deletion(self, actor: int, intake_id: int, reason: str) -> Case:
        case = await self.open_case(actor, intake_id)
        reason = clean_text(reason)[:MAX_TYPED]

        def render(tr: Tr) -> str:
            return (
                tr.gettext(
                    "Your request to delete the data of application {ref} was refused."
                ).format(ref=self._ref(tr, case))
                + "\n\n"
                + tr.gettext("Reason: {reason}").format(reason=_esc(reason))
            )

        notify = await self._to_applicant(case, render)
        if not await self.store.cases.refuse_deletion(intake_id, actor, notify):
            raise Conflict("wrong_status", case)
        return case

    def status_line(self, tr: Tr, status: str) -> str:
        return status_name(tr, status)


CLUE_FIELDS = (
    ("who", N_("Who")),
    ("where", N_("Where")),
    ("what", N_("What happened")),
)


def parse_amount(text: str) -> Decimal | None:
    """A yuan amount as typed ('3000', '3,000.50', '三千', '3000元'); None if not one."""
    value = parse_number(text)
    if value is None or value > MAX_AMOUNT_YUAN:
        return None
    value = value.quantize(Decimal("0.01"))
    # Checked after rounding to the fen: "0.001" is no amount to approve.
    return value if value > 0 else None


def _outcome_text(tr: Tr, outcome: str) -> str:
    codes = dict(DONE_OUTCOMES)
    return tr.gettext(codes[outcome]) if outcome in codes else strip_bidi(outcome)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _now() -> str:
    return now_iso()
