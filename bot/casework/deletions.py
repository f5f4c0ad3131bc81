"""The applicant's right to erasure on a sent intake: asked for, then completed or refused.

A sent intake is part of a case file, so the applicant's /delete on it is a request; the
caseworker who holds it (or the caseworkers' group) is told, and completes it or refuses
it with a reason the applicant reads.
"""

from __future__ import annotations

from bot.casework.decisions import Decisions
from bot.casework.identity import People
from bot.casework.notices import Notices
from bot.casework.terms import DECLINE_REASONS, MAX_TYPED
from bot.flow.values import clean_text
from bot.store import Store
from bot.store.casework import Case, Conflict


class Deletions:
    def __init__(
        self, store: Store, people: People, notices: Notices, decisions: Decisions
    ) -> None:
        self.store = store
        self.people = people
        self.notices = notices
        self.decisions = decisions

    async def request_deletion(self, applicant: int, intake_id: int) -> Case:
        """The applicant asks to erase a sent intake: its caseworker (or the group) is told."""
        case = await self.store.cases.get(intake_id)
        if case is None or case.applicant_id != applicant or case.status == "draft":
            raise Conflict("not_found")
        notify = await self.notices.deletion_requested(case)
        if not await self.store.intakes.request_deletion(case, notify):
            raise Conflict("wrong_status", case)
        return case

    async def requested(self, actor: int, intake_id: int) -> Case:
        """An intake whose applicant asked for erasure, for a caseworker to answer."""
        case = await self.decisions.open_case(actor, intake_id)
        if case.deletion_requested_at is None:
            raise Conflict("wrong_status", case)
        return case

    async def erase(self, actor: int, intake_id: int) -> Case:
        """A caseworker completes a deletion request: everything personal goes."""
        case = await self.requested(actor, intake_id)
        notify = await self.notices.erased(case)
        codes = tuple(code for code, _label in DECLINE_REASONS)
        if not await self.store.cases.anonymise(intake_id, actor, "intake.erased", notify, codes):
            raise Conflict("wrong_status", case)
        await self.store.erase_files()  # the photos and voice notes it held go too
        await self.store.db.checkpoint()
        return case

    async def refuse_deletion(self, actor: int, intake_id: int, reason: str) -> Case:
        case = await self.decisions.open_case(actor, intake_id)
        reason = clean_text(reason)[:MAX_TYPED]
        notify = await self.notices.deletion_refused(case, reason)
        if not await self.store.cases.refuse_deletion(intake_id, actor, notify):
            raise Conflict("wrong_status", case)
        return case
