"""A supervisor's part of casework: assigning intakes, confirming or returning the
decisions caseworkers propose (``INTAKE_APPROVAL``), and reopening decided ones.

Decisions on assistance are approved by someone other than the caseworker who prepares
them: a proposal is confirmed or returned by a supervisor of the intake's region who did
not propose it. Every action checks the supervisor's role and region in the database
when it runs, and the store checks the proposal's and the intake's state inside the
write transaction, so a stale or forged button changes nothing.
"""

from __future__ import annotations

from bot.casework.actions import CASEWORKER, DECIDED, SUPERVISOR
from bot.casework.decisions import Decisions, normal_ref
from bot.casework.identity import People
from bot.casework.notices import Notices
from bot.casework.terms import MAX_TYPED
from bot.flow.values import clean_text
from bot.store import Store
from bot.store.casework import Case, Change, Conflict
from bot.store.intakes import OPEN_STATUSES
from bot.store.proposals import Proposal


class Supervision:
    def __init__(
        self, store: Store, people: People, notices: Notices, decisions: Decisions
    ) -> None:
        self.store = store
        self.people = people
        self.notices = notices
        self.decisions = decisions

    async def supervised_case(self, actor: int, intake_id: int) -> Case:
        """An intake of the supervisor's regions (another region's: "not found")."""
        return await self.decisions.open_case(actor, intake_id, (SUPERVISOR,))

    async def waiting(self, actor: int, proposal_id: int) -> tuple[Proposal, Case]:
        """A proposal still waiting, on an intake of the supervisor's regions, that
        someone else made."""
        await self.decisions.scope(actor, (SUPERVISOR,))
        proposal = await self.store.proposals.get(proposal_id)
        if proposal is None:
            raise Conflict("not_found")
        case = await self.supervised_case(actor, proposal.intake_id)
        if proposal.state != "pending":
            raise Conflict("stale", case)
        if proposal.proposed_by == actor:
            raise Conflict("own_proposal", case)
        return proposal, case

    async def confirm(self, actor: int, proposal_id: int) -> Case:
        """The proposed decision is made, as proposed; only now is the applicant told."""
        proposal, case = await self.waiting(actor, proposal_id)
        if proposal.kind == "approve":
            change = await self.decisions.approval(case, proposal.amount_fen or 0, None)
        else:
            change = await self.decisions.declining(case, proposal.reason or "", None)
        change.detail = {**change.detail, "proposed_by": proposal.proposed_by}
        change.notify = [
            *change.notify,
            await self.notices.proposal_confirmed(case, proposal.proposed_by, actor),
        ]
        decided, _settled = await self.store.proposals.settle(
            proposal_id, actor, change, confirm=True
        )
        return decided

    async def return_decision(self, actor: int, proposal_id: int, note: str) -> Case:
        """Back to the caseworker with a note (kept on the card): the intake is open to
        their decision again, and the applicant is told nothing."""
        proposal, case = await self.waiting(actor, proposal_id)
        note = clean_text(note)[:MAX_TYPED]
        change = Change(
            action="intake.returned",
            allowed_from=OPEN_STATUSES,
            entry=("note", note),
            detail={"proposal": proposal_id},
            notify=[await self.notices.proposal_returned(case, proposal.proposed_by, actor, note)],
            clear_pending=actor,
        )
        returned, _settled = await self.store.proposals.settle(
            proposal_id, actor, change, confirm=False, note=note
        )
        return returned

    async def reopenable(self, actor: int, intake_id: int) -> Case:
        case = await self.supervised_case(actor, intake_id)
        if case.status not in DECIDED or case.anonymised_at or case.is_test:
            raise Conflict("wrong_status", case)
        return case

    async def reopen(self, actor: int, intake_id: int, reason: str) -> Case:
        """A decided intake back in review, with the reason on the card and told to the
        applicant in their language; the decision stays in the history."""
        case = await self.reopenable(actor, intake_id)
        reason = clean_text(reason)[:MAX_TYPED]
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.reopened",
                allowed_from=DECIDED,
                to="in_review",
                sets={"decided_at": None, "amount_fen": None, "decision_reason": None},
                detail={"from": case.status},
                entry=("note", reason),
                notify=await self.notices.reopened(case, reason, actor),
                clear_pending=actor,
            ),
        )

    async def caseworkers(self, actor: int, intake_id: int) -> tuple[Case, list[tuple[int, str]]]:
        """The caseworkers an open intake may be assigned to (they cover its region), by
        name, for a supervisor's pick."""
        case = await self.supervised_case(actor, intake_id)
        if case.status not in OPEN_STATUSES:
            raise Conflict("wrong_status", case)
        out = [
            (g.user_id, await self.people.name_of(g.user_id))
            for g in await self.store.roles.grants(CASEWORKER)
            if g.scope.covers(case.region) and g.user_id != case.applicant_id
        ]
        return case, out

    async def assign(self, actor: int, ref: str, to: int) -> Case:
        """/assign REF USER_ID: the intake to a caseworker who covers its region."""
        await self.decisions.scope(actor, (SUPERVISOR,))
        intake_id = await self.decisions.find(actor, normal_ref(ref)) if ref.strip() else None
        if intake_id is None:
            raise Conflict("not_found")
        return await self.assign_to(actor, intake_id, to)

    async def assign_to(self, actor: int, intake_id: int, to: int) -> Case:
        """The intake to caseworker ``to``, who must cover its region; they are told, and
        whoever held it before hears it was taken over."""
        case = await self.supervised_case(actor, intake_id)
        if case.status not in OPEN_STATUSES:
            raise Conflict("wrong_status", case)
        if not (await self.store.roles.scope(to, CASEWORKER)).covers(case.region):
            raise Conflict("not_a_caseworker_here", case)
        if case.applicant_id == to and not case.is_clue:
            raise Conflict("own_case", case)
        previous = case.assignee
        notify = [] if previous == to else [await self.notices.assigned(case, to, actor)]
        status = None
        if case.status == "submitted":
            status = "in_review"
            if not case.is_clue:
                notify += await self.notices.in_review(case)
        if previous is not None and previous != to:
            notify.append(await self.notices.taken_over(case, previous))
        return await self.store.cases.change(
            intake_id,
            actor,
            Change(
                action="intake.assigned",
                allowed_from=OPEN_STATUSES,
                to=status,
                sets={"assignee": to},
                detail={"to": to, "from": previous},
                notify=notify,
                expect_assignee=(previous,),
            ),
        )
