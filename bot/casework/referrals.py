"""Clue transfer to the agriculture department: referring a household, and the partner's side.

A referral names its partner; only that partner may acknowledge it, report what was done
or return it, and the caseworker who referred is told each time (bot/casework/notices.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.casework.actions import CASEWORKER, PARTNER, REFERRAL_OPEN, Action, allowed_on_referral
from bot.casework.decisions import Decisions
from bot.casework.identity import People
from bot.casework.notices import Kind, Notices, partner_summary
from bot.casework.terms import MAX_TYPED, referral_status
from bot.flow.values import clean_text, strip_bidi
from bot.i18n import Tr
from bot.messages import Fmt
from bot.store import Store
from bot.store.casework import Case, Conflict, Referral


@dataclass(frozen=True)
class Listed:
    """An open referral as its partner reads it in /referrals, and what they may do on it."""

    referral: Referral
    case: Case
    text: str
    actions: tuple[Action, ...]


class Referrals:
    def __init__(
        self, store: Store, people: People, notices: Notices, decisions: Decisions, fmt: Fmt
    ) -> None:
        self.store = store
        self.people = people
        self.notices = notices
        self.decisions = decisions
        self.fmt = fmt

    # -- the caseworker's side -------------------------------------------------------

    async def partners(self, actor: int, case: Case | None = None) -> list[tuple[int, str]]:
        """The liaisons a caseworker can refer to: (user id, department or name); for
        ``case``, those whose regions cover its region (a county's agriculture department
        gets that county's households)."""
        await self.people.require(actor, CASEWORKER)
        grants = await self.store.roles.grants(PARTNER)
        return [
            (g.user_id, strip_bidi(g.label or await self.people.name_of(g.user_id)))
            for g in grants
            if case is None or g.scope.covers(case.region)
        ]

    async def check_partner(self, actor: int, intake_id: int, partner_id: int) -> Case:
        """The intake to refer, when ``partner_id`` is (still) a partner."""
        case = await self.decisions.open_case(actor, intake_id)
        if case.is_test:
            raise Conflict("is_test", case)
        if not (await self.store.roles.scope(partner_id, PARTNER)).covers(case.region):
            raise Conflict("not_a_partner", case)
        return case

    async def refer(self, actor: int, intake_id: int, partner_id: int, request: str) -> Referral:
        case = await self.check_partner(actor, intake_id, partner_id)
        flow = await self.store.flows.get(case.flow_id, case.flow_version)
        request = clean_text(request)[:MAX_TYPED]
        to_partner = await self.notices.referral(partner_id, case, flow, request)
        to_applicant = [] if case.is_clue else await self.notices.referred(case)
        return await self.store.cases.refer(
            intake_id,
            actor,
            partner_id,
            request,
            lambda referral_id: [to_partner(referral_id), *to_applicant],
        )

    # -- the partner's side ----------------------------------------------------------

    async def referral_for_partner(self, actor: int, referral_id: int) -> tuple[Referral, Case]:
        await self.people.require(actor, PARTNER)
        ref = await self.store.cases.referral(referral_id)
        if ref is None or ref.partner_id != actor:
            raise Conflict("not_found")
        case = await self.store.cases.get(ref.intake_id)
        if case is None:
            raise Conflict("not_found")
        return ref, case

    async def open_referral(self, actor: int, referral_id: int) -> tuple[Referral, Case]:
        """A referral of this partner that is still theirs to act on."""
        ref, case = await self.referral_for_partner(actor, referral_id)
        if ref.status not in REFERRAL_OPEN:
            raise Conflict("wrong_status")
        return ref, case

    async def _update(
        self, actor: int, referral_id: int, to: str, outcome: str | None, kind: Kind
    ) -> Referral:
        ref, case = await self.referral_for_partner(actor, referral_id)
        told = await self.notices.referral_update(ref, case, kind, outcome)
        return await self.store.cases.update_referral(
            referral_id,
            actor,
            allowed_from=("sent",) if to == "acknowledged" else REFERRAL_OPEN,
            to=to,
            outcome=outcome,
            notify_for=lambda r: [told],
        )

    async def acknowledge(self, actor: int, referral_id: int) -> Referral:
        return await self._update(
            actor, referral_id, "acknowledged", None, Kind.REFERRAL_ACKNOWLEDGED
        )

    async def report_done(self, actor: int, referral_id: int, outcome: str) -> Referral:
        """``outcome``: a code from DONE_OUTCOMES or the partner's own words."""
        outcome = clean_text(outcome)[:MAX_TYPED]
        return await self._update(actor, referral_id, "done", outcome, Kind.REFERRAL_DONE)

    async def return_referral(self, actor: int, referral_id: int, reason: str) -> Referral:
        reason = clean_text(reason)[:MAX_TYPED]
        return await self._update(actor, referral_id, "returned", reason, Kind.REFERRAL_RETURNED)

    async def open_referrals(self, actor: int) -> list[tuple[Referral, Case]]:
        await self.people.require(actor, PARTNER)
        out = []
        for ref in await self.store.cases.referrals_for_partner(actor):
            case = await self.store.cases.get(ref.intake_id)
            if case is not None:
                out.append((ref, case))
        return out

    async def listing(self, actor: int, tr: Tr) -> list[Listed]:
        """/referrals: each open referral as its partner reads it."""
        fmt = self.fmt
        who = await self.people.actor(actor)
        out = []
        for ref, case in await self.open_referrals(actor):
            flow = await self.store.flows.get(case.flow_id, case.flow_version)
            text = (
                fmt.b(tr.ltr(case.ref or ""))
                + " · "
                + fmt.esc(referral_status(tr, ref.status))
                + "\n\n"
                + partner_summary(tr, fmt, case, flow)
            )
            if ref.request:
                text += (
                    "\n\n" + tr.gettext("What is asked:") + "\n" + fmt.i(strip_bidi(ref.request))
                )
            out.append(Listed(ref, case, text, allowed_on_referral(ref, who)))
        return out
