"""The review of an intake: reading the queue and the card, claiming, asking, deciding.

Each action checks the actor's role in the database at the moment it runs and lets the
store check the intake's state inside the write transaction (``Change``), so a stale or
replayed button, or two caseworkers at once, can never decide an intake twice. The
notices a change causes (bot/casework/notices.py) are stored in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.casework.actions import CASEWORKER, DECIDABLE, SUPERVISOR, Action, allowed
from bot.casework.checkins import Checkins
from bot.casework.deadlines import Due, due
from bot.casework.facts import id_number_of
from bot.casework.identity import Denied, People
from bot.casework.notices import Notices
from bot.casework.replies import Piece, decode, encode, since_question
from bot.casework.terms import (
    BY_APPLICANT,
    DECLINE_REASONS,
    MAX_REPLY,
    MAX_TYPED,
    READS,
    SHOWN_AS_MESSAGES,
    parse_amount,
)
from bot.config import Settings
from bot.evidence import refs_in
from bot.flow.model import Flow
from bot.flow.values import clean_text, parse_id_number, parse_phone, strip_bidi
from bot.regions import Scope
from bot.store import Store
from bot.store.casework import Case, Change, Conflict, Referral
from bot.store.db import now_iso
from bot.store.intakes import OPEN_STATUSES
from bot.store.measures import Measure
from bot.store.outbox import OutMessage

# The pending prompt, conversation entry and audit suffix of a correction request.
CORRECTION = "correction"
# Who may read the queue and the cards of their regions: supervisors read, caseworkers act.
READERS = (CASEWORKER, SUPERVISOR)
# Sent applications whose answers may still be corrected (not withdrawn, not expired).
CORRECTABLE = ("submitted", "in_review", "awaiting_applicant", "approved", "declined")


@dataclass(frozen=True)
class Filed:
    """A file on an intake, with the question it answers: a step of the interview
    (``step_id``), or a caseworker's question (``question``, as they typed it)."""

    file: dict[str, Any]  # as the channel stored it (kind, file id, name)
    step_id: str | None = None
    question: str = ""


@dataclass(frozen=True)
class Card:
    """Everything a caseworker sees on one intake, and what they may do on it now."""

    case: Case
    flow: Flow
    history: list[tuple[str, int | None, str, str]]  # (at, actor, kind, text)
    referrals: list[Referral]
    actions: tuple[Action, ...] = ()
    files: tuple[Filed, ...] = ()  # the attachments, then files sent in answers, in order
    names: dict[int | None, str] = field(default_factory=dict)  # staff, as colleagues see them
    partners: dict[int, str] = field(default_factory=dict)  # a referral's partner, by label
    # Machine transcriptions of voice answers, by the file's unique id (when an engine is set).
    transcripts: dict[str, str] = field(default_factory=dict)
    # The household's plan: each measure with its kind, body, due date and state.
    measures: tuple[Measure, ...] = ()


@dataclass(frozen=True)
class QueuePage:
    entries: list[tuple[Case, Flow]]
    total: int
    # The intakes on the page that are overdue or due soon, by id (bot/casework/deadlines.py).
    due: dict[int, Due] = field(default_factory=dict)
    # Who holds each intake, for a supervisor (who assigns); caseworkers see "a colleague".
    names: dict[int | None, str] = field(default_factory=dict)


def normal_ref(typed: str) -> str:
    """A reference as people type it or read it out on the phone ("abc def", "ABCDEF",
    "abc-def"), in the form it is stored ("ABC-DEF"); "" for nothing typed."""
    ref = "".join(typed.split()).upper()
    if len(ref) == 6 and "-" not in ref:
        ref = ref[:3] + "-" + ref[3:]
    return ref


class Decisions:
    def __init__(
        self, store: Store, people: People, notices: Notices, settings: Settings | None = None
    ) -> None:
        self.store = store
        self.people = people
        self.notices = notices
        self.settings = settings or notices.settings
        # Return visits a decision schedules (set by ``Casework``; none without it).
        self.checkins: Checkins | None = None

    def checkin_times(self, case: Case) -> tuple[str, ...]:
        """The check-ins a decision on ``case`` made now schedules."""
        if self.checkins is None:
            return ()
        return self.checkins.schedule_for(is_test=case.is_test, is_clue=case.is_clue)

    # -- checks ----------------------------------------------------------------------

    async def scope(self, actor: int, roles: tuple[str, ...]) -> Scope:
        """The regions ``actor`` covers in any of ``roles``; Denied without any of them."""
        scopes = await self.store.roles.scopes(actor)
        held = [scopes[r] for r in roles if r in scopes]
        if not held:
            raise Denied(roles[0])
        out = held[0]
        for more in held[1:]:
            out = out | more
        return out

    async def open_case(
        self, actor: int, intake_id: int, roles: tuple[str, ...] = (CASEWORKER,)
    ) -> Case:
        """A sent intake of the regions ``actor`` covers in ``roles`` (a caseworker's, to
        act on it; a supervisor's too, to read it); a draft is nobody's business yet, and
        another county's intake is answered as if it did not exist."""
        scope = await self.scope(actor, roles)
        case = await self.store.cases.get(intake_id)
        if case is None or case.status == "draft":
            raise Conflict("not_found")
        if not scope.covers(case.region):
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
        assignee = actor if mine else None
        scope = await self.scope(actor, (CASEWORKER,) if mine else READERS)
        total = await self.store.cases.queue_size(assignee, scope)
        cases = await self.store.cases.queue(
            limit=size, offset=page * size, assignee=assignee, scope=scope
        )
        return cases, total

    async def queue_page(self, actor: int, page: int, size: int, mine: bool = False) -> QueuePage:
        """A page of the queue, each intake with the flow it was answered on."""
        cases, total = await self.queue(actor, page, size, mine)
        flows = [await self.store.flows.get(c.flow_id, c.flow_version) for c in cases]
        names = await self.holders(actor, cases)
        return QueuePage(list(zip(cases, flows, strict=True)), total, self.due_of(cases), names)

    async def holders(self, actor: int, cases: list[Case]) -> dict[int | None, str]:
        """Who holds each of ``cases``, for a supervisor (who assigns); empty for others,
        whose queue says "a colleague"."""
        if not await self.people.has(actor, SUPERVISOR):
            return {}
        return await self.people.names_of([c.assignee for c in cases if c.assignee])

    def due_of(self, cases: list[Case], now: dt.datetime | None = None) -> dict[int, Due]:
        """Those of ``cases`` past a deadline or due soon, and how (the queue's marks)."""
        now = now or dt.datetime.now(dt.UTC)
        s = self.notices.settings
        out = {}
        for case in cases:
            found = due(
                case.status,
                case.submitted_at,
                now,
                first_reply_days=s.first_reply_days,
                decision_days=s.decision_days,
            )
            if found is not None and (found.overdue or found.soon):
                out[case.id] = found
        return out

    async def find(self, actor: int, ref: str) -> int | None:
        """The id of the intake with reference ``ref`` (as read out on the phone)."""
        scope = await self.scope(actor, READERS)
        ref = normal_ref(ref)
        intake = await self.store.intakes.by_ref(ref) if ref else None
        if intake is None:
            return None
        case = await self.store.cases.get(intake.id)
        return intake.id if case is not None and scope.covers(case.region) else None

    async def card(self, actor: int, intake_id: int) -> Card:
        """The card; reading it is audited (``intake.viewed``), like every read of the
        personal data it shows."""
        case = await self.open_case(actor, intake_id, READERS)
        await self.store.audit.read(actor, intake_id, "intake.viewed")
        return await self._card_of(case, actor)

    async def printable(self, actor: int | None, intake_id: int) -> Card:
        """What the printable case form holds (bot/caseform.py): the card, for someone
        who may read it (``actor``), or for the command line, which reads the whole
        database (None). Making it is audited (``intake.form_made``, no personal data in
        the entry), as it puts the applicant's particulars on paper."""
        if actor is not None:
            case = await self.open_case(actor, intake_id, READERS)
        else:
            found = await self.store.cases.get(intake_id)
            if found is None or found.status == "draft":
                raise Conflict("not_found")
            case = found
        if case.anonymised_at:
            raise Conflict("wrong_status", case)  # nothing of theirs left to print
        await self.store.audit.read(actor, intake_id, "intake.form_made")
        return await self._card_of(case, actor)

    async def _card_of(self, case: Case, actor: int | None) -> Card:
        intake_id = case.id
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        audit = await self.store.audit.for_intake(intake_id)
        talk = await self.store.cases.conversation(intake_id)
        history: list[tuple[str, int | None, str, str]] = [
            (a.at, a.actor, "event", a.action)
            for a in audit
            # Their text is in the conversation below; reads are in the audit trail only.
            if a.action not in SHOWN_AS_MESSAGES and a.action not in READS
        ]
        history += [(m.at, m.author, m.kind, m.body) for m in talk]
        history.sort(key=lambda h: h[0])
        referrals = await self.store.cases.referrals(intake_id)
        # The attachments and voice answers (played from our store), in the flow's order.
        files = [
            Filed(ref, step_id=step.id)
            for step in flow.steps
            if step.type in ("attachments", "text")
            for ref in refs_in(case.state.answers.get(step.id))
        ]
        question = ""
        for m in talk:  # files sent in answers, each with the question it answers
            if m.kind == "question":
                question = m.body
            elif m.kind == "reply":
                piece = decode(m.body)
                if piece.file is not None:
                    files.append(Filed(piece.file, question=question))
        # The department as the caseworker picked it from the list, else the liaison's name.
        labels = {g.user_id: g.label for g in await self.store.roles.grants("partner") if g.label}
        partners = {
            r.partner_id: strip_bidi(
                labels.get(r.partner_id) or await self.people.name_of(r.partner_id)
            )
            for r in referrals
        }
        measures = await self.store.measures.of_intake(intake_id)
        for m in measures:
            if m.partner_id is not None and m.partner_id not in partners:
                partners[m.partner_id] = strip_bidi(
                    labels.get(m.partner_id) or await self.people.name_of(m.partner_id)
                )
        authors = [who for _at, who, kind, _text in history if kind not in ("event", *BY_APPLICANT)]
        names = await self.people.names_of([case.assignee, *authors])
        offered: tuple[Action, ...] = ()
        if actor is not None:
            offered = allowed(
                case,
                await self.people.actor(actor),
                files=len(files),
                id_number=id_number_of(case, flow) is not None,
            )
        transcripts = {}
        for filed in files:
            unique = str(filed.file.get("unique") or "")
            row = await self.store.file_records.find(intake_id, unique) if unique else None
            if row is not None and row.transcript:
                transcripts[unique] = row.transcript
        return Card(
            case,
            flow,
            history,
            referrals,
            offered,
            tuple(files),
            names,
            partners,
            transcripts,
            measures=tuple(measures),
        )

    async def reveal_id(self, actor: int, intake_id: int) -> tuple[Case, str | None]:
        """The ID number the card masks, for a caseworker; each reveal is audited."""
        case = await self.open_case(actor, intake_id)
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        number = None if case.anonymised_at else id_number_of(case, flow)
        if number is not None:
            await self.store.audit.read(actor, intake_id, "intake.id_revealed")
        return case, number

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
                unproposed=True,
                to="awaiting_applicant",
                need_assignee=actor,
                entry=("question", question),
                notify=await self.notices.question(case, question),
                pending=(case.applicant_id, "reply"),
                clear_pending=actor,
            ),
        )

    async def take_piece(
        self, applicant: int, intake_id: int, piece: Piece, update_id: int | None = None
    ) -> tuple[str, int]:
        """One message of the applicant's answer to an open question, kept at once (once
        per ``update_id``): the intake's reference, and how many have arrived since the
        question. The caseworker is told on Done."""
        if piece.file is None:
            piece = Piece(clean_text(piece.text)[:MAX_REPLY])
            if not piece.text:
                raise Conflict("empty")
        elif piece.text:
            caption = clean_text(piece.text)[:MAX_REPLY]
            piece = Piece(caption, piece.file | {"caption": caption})
        ref = await self.store.cases.add_reply(
            intake_id, applicant, encode(piece), piece.kind, update_id
        )
        return ref, len(await self._answer_pieces(intake_id))

    async def finish_reply(self, applicant: int, intake_id: int) -> Case:
        """Done: what the applicant sent since the question goes to the caseworker, in
        one notice, and the intake is back in review."""
        case = await self.store.cases.get(intake_id)
        if case is None or case.applicant_id != applicant:
            raise Conflict("not_found")
        if case.status != "awaiting_applicant":
            raise Conflict("wrong_status", case)
        answer = since_question(
            [(m.kind, m.body) for m in await self.store.cases.conversation(intake_id)]
        )
        if not answer.pieces:
            raise Conflict("nothing_yet", case)
        return await self.store.cases.change(
            intake_id,
            applicant,
            Change(
                action="intake.replied",
                allowed_from=("awaiting_applicant",),
                to="in_review",
                detail={"pieces": len(answer.pieces), "files": len(answer.files)},
                notify=await self.notices.reply(case, answer),
                clear_pending=applicant,
            ),
        )

    async def reply(self, applicant: int, intake_id: int, text: str) -> Case:
        """A whole answer in words: one piece, and Done."""
        await self.take_piece(applicant, intake_id, Piece(text))
        return await self.finish_reply(applicant, intake_id)

    async def close_question(self, actor: int, intake_id: int) -> Case:
        """The caseworker stops waiting for the applicant's answer; what arrived is kept
        on the card, and the applicant is told their question is closed."""
        case = await self.open_case(actor, intake_id)
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.question_closed",
                allowed_from=("awaiting_applicant",),
                to="in_review",
                need_assignee=actor,
                notify=await self.notices.question_closed(case),
            ),
        )

    async def _answer_pieces(self, intake_id: int) -> list[Piece]:
        talk = await self.store.cases.conversation(intake_id)
        return since_question([(m.kind, m.body) for m in talk]).pieces

    def needs_second(self, kind: str, fen: int = 0) -> bool:
        """Whether a second person must approve this decision (``INTAKE_APPROVAL``)."""
        above = self.settings.approval_above
        if above is None:
            return False
        if above == 0:
            return True  # every decision, approve or decline
        return kind == "approve" and Decimal(fen) / 100 > above

    async def approve(self, actor: int, intake_id: int, amount_text: str) -> Case:
        """Approve with an amount; where a second person must approve, a proposal (the
        returned case then has ``proposal_id``)."""
        case = await self.open_case(actor, intake_id)
        amount = parse_amount(amount_text)
        if amount is None:
            raise Conflict("bad_amount", case)
        if amount > self.settings.max_amount:
            raise Conflict("over_max", case)
        fen = int(amount * 100)
        if self.needs_second("approve", fen) and not case.is_test:
            return await self._propose(actor, case, "approve", fen=fen)
        return await self.store.cases.change(
            intake_id, actor, await self.approval(case, fen, actor)
        )

    async def approval(self, case: Case, fen: int, actor: int | None) -> Change:
        """The change that approves ``case`` with ``fen`` (by its caseworker when ``actor``
        is given, else confirmed by a supervisor)."""
        notify = [] if case.is_clue else await self.notices.approved(case, fen)
        return Change(
            action="intake.approved",
            allowed_from=DECIDABLE,
            to="approved",
            need_assignee=actor,
            sets={"amount_fen": fen, "decided_at": now_iso()},
            detail={"amount_fen": fen},
            notify=notify,
            clear_pending=actor,
            unproposed=actor is not None,
            checkins=self.checkin_times(case),
        )

    async def decline(self, actor: int, intake_id: int, reason: str) -> Case:
        """``reason`` is a code from DECLINE_REASONS or the caseworker's own words; where
        a second person must approve, a proposal (the case then has ``proposal_id``)."""
        case = await self.open_case(actor, intake_id)
        reason = clean_text(reason)[:MAX_TYPED]
        if self.needs_second("decline") and not case.is_test:
            return await self._propose(actor, case, "decline", reason=reason)
        return await self.store.cases.change(
            intake_id, actor, await self.declining(case, reason, actor)
        )

    async def declining(self, case: Case, reason: str, actor: int | None) -> Change:
        coded = reason in dict(DECLINE_REASONS)
        notify = [] if case.is_clue else await self.notices.declined(case, reason)
        return Change(
            action="intake.declined",
            allowed_from=DECIDABLE,
            to="declined",
            need_assignee=actor,
            sets={"decision_reason": reason, "decided_at": now_iso()},
            detail={"reason": reason if coded else "other"},
            notify=notify,
            clear_pending=actor,
            unproposed=actor is not None,
            checkins=self.checkin_times(case),
        )

    async def _propose(
        self, actor: int, case: Case, kind: str, *, fen: int | None = None, reason: str = ""
    ) -> Case:
        """The decision as a proposal, sent to each supervisor of the intake's region
        (but the caseworker, who cannot approve their own); refused when there is none."""
        # Those who can open it: an intake without a region is only for those who cover all.
        supervisors = [
            g.user_id
            for g in await self.store.roles.grants(SUPERVISOR)
            if g.scope.covers(case.region) and g.user_id != actor
        ]
        if not supervisors:
            raise Conflict("no_supervisor", case)
        coded = reason in dict(DECLINE_REASONS)
        detail: dict[str, object] = {"kind": kind}
        if fen is not None:
            detail["amount_fen"] = fen
        if kind == "decline":
            detail["reason"] = reason if coded else "other"
        notices = await self.notices.proposed(case, supervisors, actor, kind, fen, reason)
        proposed, _proposal = await self.store.proposals.propose(
            case.id,
            actor,
            Change(
                action="intake.proposed",
                allowed_from=DECIDABLE,
                need_assignee=actor,
                detail=detail,
                clear_pending=actor,
            ),
            kind=kind,
            amount_fen=fen,
            reason=reason if kind == "decline" else None,
            notify_for=notices,
        )
        return proposed

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
