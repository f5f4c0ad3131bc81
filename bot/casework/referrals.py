"""Referrals made before the household's plan: the partner's side of them, kept workable.

Referring a household now adds a measure to its plan (``Plans.refer``), which the partner
works with the measure buttons. Databases from before keep their referral rows (one
message, one report): their partner still reads them in /referrals and may acknowledge,
report what was done, or return them, and the caseworker who referred is told each time
(bot/casework/notices.py). They are not moved into measures: a referral's report of what
was done has no place in a measure, and its sealed texts would have to be opened and
sealed again outside SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.casework.actions import PARTNER, REFERRAL_OPEN, Action, allowed_on_referral
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
