"""The review of an intake: reading the queue and the card, claiming, asking, deciding.

Each action checks the actor's role in the database at the moment it runs and lets the
store check the intake's state inside the write transaction (``Change``), so a stale or
replayed button, or two caseworkers at once, can never decide an intake twice. The
notices a change causes (bot/casework/notices.py) are stored in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.casework.actions import CASEWORKER, DECIDABLE, Action, allowed
from bot.casework.identity import People
from bot.casework.notices import Notices
from bot.casework.terms import (
    BY_APPLICANT,
    DECLINE_REASONS,
    MAX_REPLY,
    MAX_TYPED,
    SHOWN_AS_MESSAGES,
    parse_amount,
)
from bot.flow.model import Flow
from bot.flow.values import clean_text, parse_id_number, parse_phone, strip_bidi
from bot.store import Store
from bot.store.casework import Case, Change, Conflict, Referral
from bot.store.db import now_iso
from bot.store.intakes import OPEN_STATUSES
from bot.store.outbox import OutMessage

# The pending prompt, conversation entry and audit suffix of a correction request.
CORRECTION = "correction"
# Sent applications whose answers may still be corrected (not withdrawn, not expired).
CORRECTABLE = ("submitted", "in_review", "awaiting_applicant", "approved", "declined")


@dataclass(frozen=True)
class Card:
    """Everything a caseworker sees on one intake, and what they may do on it now."""

    case: Case
    flow: Flow
    history: list[tuple[str, int | None, str, str]]  # (at, actor, kind, text)
    referrals: list[Referral]
    actions: tuple[Action, ...] = ()
    files: tuple[dict[str, str], ...] = ()  # the attachments, as the channel stored them
    names: dict[int | None, str] = field(default_factory=dict)  # staff, as colleagues see them
    partners: dict[int, str] = field(default_factory=dict)  # a referral's partner, by label


@dataclass(frozen=True)
class QueuePage:
    entries: list[tuple[Case, Flow]]
    total: int


def normal_ref(typed: str) -> str:
    """A reference as people type it or read it out on the phone ("abc def", "ABCDEF",
    "abc-def"), in the form it is stored ("ABC-DEF"); "" for nothing typed."""
    ref = "".join(typed.split()).upper()
    if len(ref) == 6 and "-" not in ref:
        ref = ref[:3] + "-" + ref[3:]
    return ref


class Decisions:
    def __init__(self, store: Store, people: People, notices: Notices) -> None:
        self.store = store
        self.people = people
        self.notices = notices

    # -- checks ----------------------------------------------------------------------

    async def open_case(self, actor: int, intake_id: int) -> Case:
        """A sent intake of the caseworker's regions; a draft is nobody's business yet,
        and another county's intake is answered as if it did not exist."""
        await self.people.require(actor, CASEWORKER)
        case = await self.store.cases.get(intake_id)
        if case is None or case.status == "draft":
            raise Conflict("not_found")
        if not (await self.store.roles.scope(actor, CASEWORKER)).covers(case.region):
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
        await self.people.require(actor, CASEWORKER)
        assignee = actor if mine else None
        scope = await self.store.roles.scope(actor, CASEWORKER)
        total = await self.store.cases.queue_size(assignee, scope)
        cases = await self.store.cases.queue(
            limit=size, offset=page * size, assignee=assignee, scope=scope
        )
        return cases, total

    async def queue_page(self, actor: int, page: int, size: int, mine: bool = False) -> QueuePage:
        """A page of the queue, each intake with the flow it was answered on."""
        cases, total = await self.queue(actor, page, size, mine)
        flows = [await self.store.flows.get(c.flow_id, c.flow_version) for c in cases]
        return QueuePage(list(zip(cases, flows, strict=True)), total)

    async def find(self, actor: int, ref: str) -> int | None:
        """The id of the intake with reference ``ref`` (as read out on the phone)."""
        await self.people.require(actor, CASEWORKER)
        ref = normal_ref(ref)
        intake = await self.store.intakes.by_ref(ref) if ref else None
        if intake is None:
            return None
        case = await self.store.cases.get(intake.id)
        scope = await self.store.roles.scope(actor, CASEWORKER)
        return intake.id if case is not None and scope.covers(case.region) else None

    async def card(self, actor: int, intake_id: int) -> Card:
        case = await self.open_case(actor, intake_id)
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        audit = await self.store.audit.for_intake(intake_id)
        talk = await self.store.cases.conversation(intake_id)
        history: list[tuple[str, int | None, str, str]] = [
            (a.at, a.actor, "event", a.action)
            for a in audit
            if a.action not in SHOWN_AS_MESSAGES  # their text is in the conversation below
        ]
        history += [(m.at, m.author, m.kind, m.body) for m in talk]
        history.sort(key=lambda h: h[0])
        referrals = await self.store.cases.referrals(intake_id)
        files = tuple(
            ref
            for step in flow.steps
            if step.type == "attachments"
            for ref in case.state.answers.get(step.id) or []
        )
        # The department as the caseworker picked it from the list, else the liaison's name.
        labels = {g.user_id: g.label for g in await self.store.roles.grants("partner") if g.label}
        partners = {
            r.partner_id: strip_bidi(
                labels.get(r.partner_id) or await self.people.name_of(r.partner_id)
            )
            for r in referrals
        }
        authors = [who for _at, who, kind, _text in history if kind not in ("event", *BY_APPLICANT)]
        names = await self.people.names_of([case.assignee, *authors])
        actor_now = await self.people.actor(actor)
        return Card(
            case,
            flow,
            history,
            referrals,
            allowed(case, actor_now, files=len(files)),
            files,
            names,
            partners,
        )

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
                notify += await self.notices.in_review(case)
        previous = case.assignee
        taken = previous not in (None, actor)
        if previous is not None and taken:
            notify.append(await self.notices.taken_over(case, previous))
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.taken_over" if taken else "intake.claimed",
                allowed_from=OPEN_STATUSES,
                to=to,
                sets={"assignee": actor},
                detail={"from": previous} if taken else {},
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
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.asked",
                allowed_from=DECIDABLE,
                to="awaiting_applicant",
                need_assignee=actor,
                entry=("question", question),
                notify=await self.notices.question(case, question),
                pending=(case.applicant_id, "reply"),
                clear_pending=actor,
            ),
        )

    async def reply(self, applicant: int, intake_id: int, text: str) -> Case:
        """The applicant answers a caseworker's question: it goes back to the caseworker."""
        case = await self.store.cases.get(intake_id)
        if case is None or case.applicant_id != applicant:
            raise Conflict("not_found")
        text = clean_text(text)[:MAX_REPLY]
        return await self.store.cases.change(
            intake_id,
            applicant,
            Change(
                action="intake.replied",
                allowed_from=("awaiting_applicant",),
                to="in_review",
                entry=("reply", text),
                notify=await self.notices.reply(case, text),
                clear_pending=applicant,
            ),
        )

    async def approve(self, actor: int, intake_id: int, amount_text: str) -> Case:
        case = await self.open_case(actor, intake_id)
        amount = parse_amount(amount_text)
        if amount is None:
            raise Conflict("bad_amount", case)
        fen = int(amount * 100)
        notify = [] if case.is_clue else await self.notices.approved(case, fen)
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.approved",
                allowed_from=DECIDABLE,
                to="approved",
                need_assignee=actor,
                sets={"amount_fen": fen, "decided_at": now_iso()},
                detail={"amount_fen": fen},
                notify=notify,
                clear_pending=actor,
            ),
        )

    async def decline(self, actor: int, intake_id: int, reason: str) -> Case:
        """``reason`` is a code from DECLINE_REASONS or the caseworker's own words."""
        case = await self.open_case(actor, intake_id)
        reason = clean_text(reason)[:MAX_TYPED]
        coded = reason in dict(DECLINE_REASONS)
        notify = [] if case.is_clue else await self.notices.declined(case, reason)
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.declined",
                allowed_from=DECIDABLE,
                to="declined",
                need_assignee=actor,
                sets={"decision_reason": reason, "decided_at": now_iso()},
                detail={"reason": reason if coded else "other"},
                notify=notify,
                clear_pending=actor,
            ),
        )

    # -- the applicant's right to have their answers corrected --------------------------

    async def correctable(self, applicant: int) -> list[Case]:
        """The applicant's sent applications they may ask to have corrected: any that is
        still held (not erased); a draft they change themselves, with Back or Change."""
        out = []
        for intake in await self.store.intakes.for_applicant(applicant):
            case = await self.store.cases.get(intake.id)
            if (
                case is not None
                and case.ref
                and case.status in CORRECTABLE
                and case.anonymised_at is None
                and not case.is_test
            ):
                out.append(case)
        return out

    async def ask_correction(self, applicant: int, intake_id: int) -> Case:
        """/correct: the bot now waits for the applicant's words about ``intake_id``."""
        case = await self._correctable(applicant, intake_id)
        await self.store.pending.set(applicant, CORRECTION, intake_id)
        return case

    async def request_correction(self, applicant: int, intake_id: int, text: str) -> Case:
        """The applicant's words on what to correct: kept on the case (sealed, like every
        message of the conversation), audited, and sent to the caseworker who holds it
        (the caseworkers' group while nobody does). A caseworker makes the correction."""
        case = await self._correctable(applicant, intake_id)
        text = clean_text(text)[:MAX_REPLY]
        await self.store.cases.add_note(
            intake_id, applicant, CORRECTION, text, await self.notices.correction(case, text)
        )
        return case

    async def correct_answers(self, actor: int, intake_id: int, changes: dict[str, str]) -> Case:
        """A caseworker writes into the answers the correction the applicant asked for:
        a phone or ID number read as the interview reads them, text cleaned as typed
        text is. What the intake is found by follows (bot/lookup.py)."""
        case = await self.open_case(actor, intake_id)
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        if case.is_clue or not all(flow.has_step(k) for k in changes):
            raise Conflict("wrong_status", case)
        read: dict[str, str] = {}
        for step_id, typed in changes.items():
            kind = flow.step(step_id).type
            value = (
                parse_phone(typed)
                if kind == "phone"
                else parse_id_number(typed)[0]
                if kind == "id_number"
                else clean_text(typed)[:MAX_TYPED]
                if kind == "text"
                else None
            )
            if not value:
                raise Conflict("wrong_status", case)
            read[step_id] = value
        if not await self.store.intakes.correct_answers(intake_id, actor, read, CORRECTABLE):
            raise Conflict("wrong_status", case)
        return await self.open_case(actor, intake_id)

    async def _correctable(self, applicant: int, intake_id: int) -> Case:
        for case in await self.correctable(applicant):
            if case.id == intake_id:
                return case
        raise Conflict("not_found")

    async def note(self, actor: int, intake_id: int, text: str) -> Case:
        case = await self.open_case(actor, intake_id)
        await self.store.cases.add_note(intake_id, actor, "note", clean_text(text)[:MAX_TYPED], [])
        return case
