"""Staff actions that take more than one tap: a small state machine over ``pending``.

Most actions are done with one tap (claim, release, erase, acknowledge). The others go on:
asking needs the question typed; approving needs an amount typed and then confirmed;
declining offers the common reasons or the caseworker's own words, and then a
confirmation too (a decision is deliberate); a supervisor returns a proposed decision
with a note typed, and reopens a decided intake with a reason typed; referring offers the
liaisons, then needs the request typed; a partner's report offers the usual outcomes or
their own words. What the core waits for is kept in the database (``pending``: a restart
between a prompt and its answer loses nothing), and every step re-checks the actor's role
and the record's state when it arrives, whatever button or message carried it.

A channel feeds it taps (an ``Action`` at a ``Step``, with the ids the button carried) and
typed words, and renders the ``Outcome`` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.casework.actions import Action, Step, allowed_on_referral
from bot.casework.clues import AWAITING_CLUE, Clues, Question
from bot.casework.decisions import Card, Decisions
from bot.casework.deletions import Deletions
from bot.casework.identity import Denied
from bot.casework.plans import OURSELVES, Plans
from bot.casework.referrals import Referrals
from bot.casework.replies import Piece
from bot.casework.supervision import Supervision
from bot.casework.terms import DECLINE_REASONS, DONE_OUTCOMES, parse_amount
from bot.flow.values import clean_text
from bot.i18n import Tr
from bot.store import Store
from bot.store.casework import Case, Conflict, Referral
from bot.store.measures import Measure
from bot.store.pending import Pending


class Awaiting(StrEnum):
    """What typed words the core waits for from someone (``pending.kind``, as stored)."""

    QUESTION = "cw_ask"  # the caseworker's question to the applicant
    AMOUNT = "cw_amount"  # the amount to approve
    CONFIRMATION = "cw_confirm"  # a tap on "Yes, approve" (the amount is held)
    DECLINE_REASON = "cw_decline"  # the caseworker's own reason to decline
    DECLINE_CONFIRMATION = "cw_confirm_decline"  # a tap on "Yes, decline" (the reason is held)
    RETURN_NOTE = "sv_return"  # why a supervisor returns a proposed decision
    REOPEN_REASON = "sv_reopen"  # why a supervisor reopens a decided intake
    NOTE = "cw_note"
    REFERRAL_REQUEST = "cw_refer"  # the measure asked of a partner, typed (the partner is held)
    KEEP_REASON = "cw_keep"  # why the applicant's data must be kept
    DONE_REPORT = "p_done"  # the partner's own words on what was done
    RETURN_REASON = "p_return"  # why the partner returns the referral
    CLUE = AWAITING_CLUE  # the next answer of a partner's clue
    REPLY = "reply"  # the applicant's answer to a caseworker's question (set by ``ask``)


CASEWORKER_WAITS = frozenset(
    {
        Awaiting.QUESTION,
        Awaiting.AMOUNT,
        Awaiting.CONFIRMATION,
        Awaiting.DECLINE_REASON,
        Awaiting.DECLINE_CONFIRMATION,
        Awaiting.NOTE,
        Awaiting.REFERRAL_REQUEST,
        Awaiting.KEEP_REASON,
    }
)
PARTNER_WAITS = frozenset({Awaiting.DONE_REPORT, Awaiting.RETURN_REASON, Awaiting.CLUE})
SUPERVISOR_WAITS = frozenset({Awaiting.RETURN_NOTE, Awaiting.REOPEN_REASON})


# --- outcomes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """The action is done (or was done already: a replayed confirmation)."""

    action: Action
    case: Case | None = None
    referral: Referral | None = None
    offered: tuple[Action, ...] = ()  # what the actor may do on the referral now
    measure: Measure | None = None  # the measure a referral made


@dataclass(frozen=True)
class Waiting:
    """Typed words are expected next (``awaiting``), about ``case``."""

    awaiting: Awaiting
    case: Case | None = None
    question: Question | None = None  # a clue's next question
    options: tuple[Option, ...] = ()  # taps that may answer instead (a referral's needs)


@dataclass(frozen=True)
class Option:
    arg: int  # what the button carries (an index, a partner's id)
    label: str
    translate: bool  # a msgid (a reason, an outcome), or a name shown as it is


@dataclass(frozen=True)
class Choices:
    """Pick one (``Step.PICK``), or give one's own words when ``own_words``."""

    action: Action
    options: tuple[Option, ...]
    case: Case | None = None
    own_words: bool = False
    cancel: bool = True


@dataclass(frozen=True)
class Proposed:
    """The decision was made a proposal: a supervisor confirms or returns it
    (``INTAKE_APPROVAL``); the applicant is told nothing yet."""

    action: Action
    case: Case


@dataclass(frozen=True)
class Confirming:
    """Asks to confirm ``action`` (``Step.CONFIRM``): the amount to approve, or the
    reason to decline."""

    action: Action
    case: Case
    amount: Decimal = Decimal(0)
    reason: str = ""  # a decline's reason: a code from DECLINE_REASONS or words


@dataclass(frozen=True)
class Refused:
    """The words typed were not taken; the same prompt still waits.

    ``empty``: nothing visible; ``bad_amount``: not an amount; ``over_max``: more than
    the largest amount (``limit``, in yuan); ``tap_confirm``, ``tap_confirm_decline``: a
    confirmation is waited for, not words."""

    code: str
    limit: Decimal | None = None
    case: Case | None = None  # the intake the prompt is about, to ask again


@dataclass(frozen=True)
class Stale:
    """A confirmation that no longer matches what was asked (nothing was done)."""

    action: Action


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class Attachments:
    """The card's files to send, each with the question it answers (``Card.files``)."""

    card: Card


@dataclass(frozen=True)
class Printable:
    """The card, for the printable case form (bot/caseform.py); making it was audited."""

    card: Card


@dataclass(frozen=True)
class Revealed:
    """The ID number the card masks (None: there is none to show); the read is audited."""

    case: Case
    id_number: str | None


Outcome = (
    Applied
    | Waiting
    | Choices
    | Confirming
    | Proposed
    | Refused
    | Stale
    | Cancelled
    | Attachments
    | Printable
    | Revealed
)


class Desk:
    def __init__(
        self,
        store: Store,
        decisions: Decisions,
        referrals: Referrals,
        deletions: Deletions,
        clues: Clues,
        supervision: Supervision,
        plans: Plans,
    ) -> None:
        self.store = store
        self.decisions = decisions
        self.referrals = referrals
        self.plans = plans
        self.deletions = deletions
        self.clues = clues
        self.supervision = supervision

    async def _wait(
        self, actor: int, awaiting: Awaiting, case: Case, ref_id: int | None = None
    ) -> Waiting:
        await self.store.pending.set(actor, awaiting, case.id, ref_id=ref_id)
        return Waiting(awaiting, case)

    # -- taps ------------------------------------------------------------------------

    async def tap(self, actor: int, action: Action, step: Step, target: int, arg: int) -> Outcome:
        """A button: ``action`` at ``step`` on intake (or referral) ``target``; ``arg`` is
        what a pick carries. Raises Denied or Conflict when it may not happen now."""
        d = self.decisions
        match action, step:
            case Action.CLAIM | Action.TAKE_OVER, Step.START:
                case = await d.claim(actor, target, take_over=action is Action.TAKE_OVER)
                return Applied(action, case)
            case Action.RELEASE, Step.START:
                return Applied(action, await d.release(actor, target))
            case Action.ASK, Step.START:
                return await self._wait(
                    actor, Awaiting.QUESTION, await d.claimed_case(actor, target)
                )
            case Action.APPROVE, Step.START:
                return await self._wait(actor, Awaiting.AMOUNT, await d.claimed_case(actor, target))
            case Action.APPROVE, Step.CONFIRM:
                return await self._confirm_approval(actor, target)
            case Action.DECLINE, Step.START:
                case = await d.claimed_case(actor, target)
                reasons = tuple(
                    Option(n, label, True) for n, (_code, label) in enumerate(DECLINE_REASONS)
                )
                return Choices(action, reasons, case, own_words=True)
            case Action.DECLINE, Step.PICK:
                if not 0 <= arg < len(DECLINE_REASONS):
                    raise Conflict("wrong_status")
                return await self._ask_decline(actor, target, DECLINE_REASONS[arg][0])
            case Action.DECLINE, Step.OWN_WORDS:
                case = await d.claimed_case(actor, target)
                return await self._wait(actor, Awaiting.DECLINE_REASON, case)
            case Action.DECLINE, Step.CONFIRM:
                return await self._confirm_decline(actor, target)
            case Action.NOTE, Step.START:
                return await self._wait(actor, Awaiting.NOTE, await d.open_case(actor, target))
            case Action.REFER, Step.START:
                # Referring adds a measure to the plan: only the intake's holder does it.
                case = await self.plans.held(actor, target)
                bodies = await self.plans.bodies(
                    actor, target, await self.plans.people.tr_for(actor)
                )
                options = tuple(
                    Option(uid, name, False) for uid, name in bodies if uid != OURSELVES
                )
                return Choices(action, options, case)
            case Action.REFER, Step.PICK:  # arg: the partner
                case = await self.plans.referable(actor, target, arg)
                await self.store.pending.set(actor, Awaiting.REFERRAL_REQUEST, case.id, ref_id=arg)
                tr = await self.plans.people.tr_for(actor)
                needs = await self.plans.asked_for(tr, case)
                options = tuple(Option(n.index, n.label, False) for n in needs)
                return Waiting(Awaiting.REFERRAL_REQUEST, case, options=options)
            case Action.REFER, Step.CONFIRM:  # arg: the need's index; the partner is held
                await self.plans.held(actor, target)  # the role and the intake, first
                held = await self.store.pending.get(actor)
                if (
                    held is None
                    or held.kind != Awaiting.REFERRAL_REQUEST
                    or held.intake_id != target
                ):
                    raise Conflict("refer_over")
                measure = await self.plans.refer(actor, target, held.ref_id or 0, need=arg)
                return Applied(
                    action, await self.decisions.open_case(actor, target), measure=measure
                )
            case Action.ERASE, Step.START:
                return Applied(action, await self.deletions.erase(actor, target))
            case Action.REFUSE_DELETION, Step.START:
                case = await self.deletions.requested(actor, target)
                return await self._wait(actor, Awaiting.KEEP_REASON, case)
            case Action.SHOW_ATTACHMENTS, Step.START:
                return Attachments(await d.card(actor, target))
            case Action.REVEAL_ID, Step.START:
                return Revealed(*await d.reveal_id(actor, target))
            case Action.PRINT_FORM, Step.START:
                return Printable(await d.printable(actor, target))
            case Action.CLOSE_QUESTION, Step.START:
                return Applied(action, await d.close_question(actor, target))
            case Action.ASSIGN, Step.START:
                case, people = await self.supervision.caseworkers(actor, target)
                options = tuple(Option(uid, name, False) for uid, name in people)
                return Choices(action, options, case)
            case Action.ASSIGN, Step.PICK:  # arg: the caseworker
                return Applied(action, await self.supervision.assign_to(actor, target, arg))
            case Action.CONFIRM_DECISION, Step.START:  # target: the proposal
                return Applied(action, await self.supervision.confirm(actor, target))
            case Action.RETURN_DECISION, Step.START:
                _proposal, case = await self.supervision.waiting(actor, target)
                return await self._wait(actor, Awaiting.RETURN_NOTE, case, ref_id=target)
            case Action.REOPEN, Step.START:
                case = await self.supervision.reopenable(actor, target)
                return await self._wait(actor, Awaiting.REOPEN_REASON, case)
            case _:
                return await self._partner_tap(actor, action, step, target, arg)

    async def _partner_tap(
        self, actor: int, action: Action, step: Step, rid: int, arg: int
    ) -> Outcome:
        r = self.referrals
        match action, step:
            case Action.ACKNOWLEDGE, Step.START:
                ref = await r.acknowledge(actor, rid)
                who = await r.people.actor(actor)
                return Applied(action, referral=ref, offered=allowed_on_referral(ref, who))
            case Action.REPORT_DONE, Step.START:
                await r.open_referral(actor, rid)
                outcomes = tuple(
                    Option(n, label, True) for n, (_code, label) in enumerate(DONE_OUTCOMES)
                )
                return Choices(action, outcomes, own_words=True, cancel=False)
            case Action.REPORT_DONE, Step.PICK:
                if not 0 <= arg < len(DONE_OUTCOMES):
                    raise Conflict("not_found")
                ref = await r.report_done(actor, rid, DONE_OUTCOMES[arg][0])
                return Applied(action, referral=ref)
            case Action.REPORT_DONE, Step.OWN_WORDS:
                ref, case = await r.open_referral(actor, rid)
                return await self._wait(actor, Awaiting.DONE_REPORT, case, ref_id=rid)
            case Action.RETURN, Step.START:
                ref, case = await r.open_referral(actor, rid)
                return await self._wait(actor, Awaiting.RETURN_REASON, case, ref_id=rid)
            case _:
                raise Conflict("wrong_status")

    async def _confirm_approval(self, actor: int, intake_id: int) -> Outcome:
        held = await self.store.pending.get(actor)
        if held is None or held.kind != Awaiting.CONFIRMATION or held.intake_id != intake_id:
            return await self._done_before(actor, intake_id, Action.APPROVE, "approved")
        amount = str(held.data.get("amount", ""))
        return self._decided(Action.APPROVE, await self.decisions.approve(actor, intake_id, amount))

    async def _ask_decline(self, actor: int, intake_id: int, reason: str) -> Confirming:
        """The reason is held until the caseworker confirms (or cancels: nothing changes)."""
        case = await self.decisions.claimed_case(actor, intake_id)
        if case.proposal_id is not None:
            raise Conflict("proposed", case)
        await self.store.pending.set(
            actor, Awaiting.DECLINE_CONFIRMATION, intake_id, data={"reason": reason}
        )
        return Confirming(Action.DECLINE, case, reason=reason)

    async def _confirm_decline(self, actor: int, intake_id: int) -> Outcome:
        held = await self.store.pending.get(actor)
        if (
            held is None
            or held.kind != Awaiting.DECLINE_CONFIRMATION
            or held.intake_id != intake_id
        ):
            return await self._done_before(actor, intake_id, Action.DECLINE, "declined")
        reason = str(held.data.get("reason", ""))
        return self._decided(Action.DECLINE, await self.decisions.decline(actor, intake_id, reason))

    async def _done_before(
        self, actor: int, intake_id: int, action: Action, status: str
    ) -> Outcome:
        """A confirmation with nothing held for it: the very decision was made already
        (tapped twice, or applied again from the inbox after a restart), or it is stale."""
        case = await self.decisions.open_case(actor, intake_id)
        if case.assignee != actor:
            return Stale(action)
        if case.status == status:
            return Applied(action, case)  # say what it did, change nothing
        proposals = await self.store.proposals.for_intake(intake_id)
        if case.proposal_id is not None and proposals and proposals[-1].proposed_by == actor:
            return Proposed(action, case)
        return Stale(action)

    @staticmethod
    def _decided(action: Action, case: Case) -> Outcome:
        return Proposed(action, case) if case.proposal_id is not None else Applied(action, case)

    async def cancel(self, actor: int) -> Cancelled:
        """Stop whatever the core waits for from ``actor``."""
        await self.store.pending.clear(actor)
        return Cancelled()

    # -- typed words -----------------------------------------------------------------

    async def typed(self, actor: int, tr: Tr, pending: Pending, text: str) -> Outcome:
        """Words typed while ``pending`` waits for them. On Denied or Conflict the prompt is
        dropped (asking again would only fail again) and the error goes to the caller."""
        if not clean_text(text):  # nothing visible is nothing typed
            return Refused("empty")
        try:
            return await self._typed(actor, tr, pending, clean_text(text))
        except (Denied, Conflict):
            await self.store.pending.clear(actor)
            raise

    async def _typed(self, actor: int, tr: Tr, pending: Pending, text: str) -> Outcome:
        d, r = self.decisions, self.referrals
        target = pending.intake_id or 0
        match pending.kind:
            case Awaiting.QUESTION:
                return Applied(Action.ASK, await d.ask(actor, target, text))
            case Awaiting.AMOUNT:
                amount = parse_amount(text)
                if amount is None:
                    return Refused("bad_amount")
                case = await d.claimed_case(actor, target)
                limit = d.settings.max_amount
                if amount > limit:
                    return Refused("over_max", limit=limit, case=case)
                await self.store.pending.set(
                    actor, Awaiting.CONFIRMATION, target, data={"amount": str(amount)}
                )
                return Confirming(Action.APPROVE, case, amount)
            case Awaiting.CONFIRMATION:
                return Refused("tap_confirm")
            case Awaiting.DECLINE_CONFIRMATION:
                return Refused("tap_confirm_decline")
            case Awaiting.DECLINE_REASON:
                return await self._ask_decline(actor, target, text)
            case Awaiting.RETURN_NOTE:
                case = await self.supervision.return_decision(actor, pending.ref_id or 0, text)
                return Applied(Action.RETURN_DECISION, case)
            case Awaiting.REOPEN_REASON:
                return Applied(Action.REOPEN, await self.supervision.reopen(actor, target, text))
            case Awaiting.NOTE:
                return Applied(Action.NOTE, await d.note(actor, target, text))
            case Awaiting.REFERRAL_REQUEST:
                measure = await self.plans.refer(actor, target, pending.ref_id or 0, words=text)
                return Applied(Action.REFER, await d.open_case(actor, target), measure=measure)
            case Awaiting.KEEP_REASON:
                case = await self.deletions.refuse_deletion(actor, target, text)
                return Applied(Action.REFUSE_DELETION, case)
            case Awaiting.DONE_REPORT:
                ref = await r.report_done(actor, pending.ref_id or 0, text)
                return Applied(Action.REPORT_DONE, referral=ref)
            case Awaiting.RETURN_REASON:
                ref = await r.return_referral(actor, pending.ref_id or 0, text)
                return Applied(Action.RETURN, referral=ref)
            case Awaiting.CLUE:
                asked = await self.clues.answer(actor, tr, pending.data, text)
                if isinstance(asked, Question):
                    return Waiting(Awaiting.CLUE, question=asked)
                case = await self._case_by_ref(asked)
                return Applied(Action.SEND_CLUE, case)
            case _:  # an applicant's reply goes to answer_question
                raise ValueError(f"not a prompt of staff: {pending.kind}")

    async def _case_by_ref(self, ref: str) -> Case | None:
        intake = await self.store.intakes.by_ref(ref)
        return None if intake is None else await self.store.cases.get(intake.id)

    async def begin_clue(self, actor: int, tr: Tr) -> Waiting:
        """/clue: the first question of a partner's clue."""
        return Waiting(Awaiting.CLUE, question=await self.clues.begin(actor, tr))

    async def answer_piece(
        self, applicant: int, pending: Pending, piece: Piece, update_id: int | None = None
    ) -> tuple[str, int] | None:
        """A message of the applicant's answer to a caseworker's question: the intake's
        reference and how many have arrived since the question; None when there is no
        question to answer any more (the prompt is dropped). Conflict("empty") for
        nothing visible."""
        if pending.intake_id is None:
            return None
        try:
            return await self.decisions.take_piece(applicant, pending.intake_id, piece, update_id)
        except Conflict as err:
            if err.code == "empty":
                raise
            await self.store.pending.clear(applicant)
            return None
