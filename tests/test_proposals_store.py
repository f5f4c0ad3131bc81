"""Decisions a second person approves, without Telegram: ``Casework`` over a real SQLite
file with ``INTAKE_APPROVAL`` set. A caseworker's decision above the threshold becomes a
proposal; a supervisor of the region who did not propose it confirms or returns it, once;
a supervisor reopens a decided intake; /assign gives an intake to a caseworker of its
region. What lands in the intake, the proposals, the audit trail and the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.casework import Action, Casework, Denied
from bot.config import Settings
from bot.i18n import I18n
from bot.messages import HTML
from bot.store import Store
from bot.store.casework import Case
from tests.backends import open_store
from tests.test_casework_store import FLOW, World, actions, conflict, outbox, submitted

CW, CW2, SUP, SUP_ELSEWHERE, CW_ELSEWHERE, BOTH = 2, 5, 10, 11, 8, 12
HOTAN, LOP, URUMQI = "653222", "653224", "650102"


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    settings = Settings(
        token="1:x",
        db_path=db_url,
        approval="20000",
        max_amount=Decimal(50_000),
    )
    store = await open_store(settings.db_path, tmp_path)
    try:
        await store.flows.publish(FLOW)
        await store.roles.grant(CW, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW2, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW_ELSEWHERE, "caseworker", regions=[URUMQI])
        await store.roles.grant(SUP, "supervisor", regions=[HOTAN, LOP])
        await store.roles.grant(SUP_ELSEWHERE, "supervisor", regions=[URUMQI])
        await store.roles.grant(BOTH, "caseworker", regions=[HOTAN])
        await store.roles.grant(BOTH, "supervisor", regions=[HOTAN])
        work = Casework(store, I18n.load(), settings, fmt=HTML)
        for staff in (CW, CW2, SUP, SUP_ELSEWHERE, CW_ELSEWHERE, BOTH):
            await work.seen(staff, "en", f"Staff {staff}")
        yield World(store, work)
    finally:
        await store.close()


async def in_region(w: World, region: str = HOTAN) -> Case:
    case = await submitted(w)
    # The region is set where routing by the flow would (tested in test_region_flow.py).
    await w.store.db.execute("UPDATE intakes SET region = ? WHERE id = ?", (region, case.id))
    return case


async def claimed(w: World, by: int = CW) -> Case:
    case = await in_region(w)
    return await w.work.claim(by, case.id)


async def test_an_approval_above_the_threshold_is_a_proposal_until_confirmed(
    world: World,
) -> None:
    w = world
    case = await claimed(w)
    queued = len(await outbox(w))
    proposed = await w.work.approve(CW, case.id, "30000")
    assert proposed.status == "in_review" and proposed.proposal_id is not None
    assert proposed.amount_fen is None and proposed.decided_at is None
    [p] = await w.store.proposals.for_intake(case.id)
    assert (p.kind, p.amount_fen, p.proposed_by, p.state) == ("approve", 3_000_000, CW, "pending")
    # One request, to the region's supervisor (BOTH supervises Hotan too); nothing to the applicant.
    sent = (await outbox(w))[queued:]
    assert sorted(chat for chat, _ in sent) == [SUP, BOTH]
    assert all("proposes to approve" in text for _, text in sent)
    # While it waits the caseworker neither decides again nor asks.
    assert await conflict(w.work.approve(CW, case.id, "1000")) == "proposed"
    assert await conflict(w.work.decline(CW, case.id, "compensated")) == "proposed"
    assert await conflict(w.work.ask(CW, case.id, "?")) == "proposed"

    # Another region's supervisor, a caseworker, the proposer: nothing changes.
    assert await conflict(w.work.confirm_decision(SUP_ELSEWHERE, p.id)) == "not_found"
    with pytest.raises(Denied):
        await w.work.confirm_decision(CW2, p.id)
    decided = await w.work.confirm_decision(SUP, p.id)
    assert (decided.status, decided.amount_fen, decided.proposal_id) == (
        "approved",
        3_000_000,
        None,
    )
    [p] = await w.store.proposals.for_intake(case.id)
    assert (p.state, p.settled_by) == ("confirmed", SUP)
    assert await conflict(w.work.confirm_decision(BOTH, p.id)) == "stale"  # once only
    assert (await actions(w, case.id))[-2:] == ["intake.proposed", "intake.approved"]
    approved = (await w.store.audit.recent(action="intake.approved"))[-1]
    assert approved.actor == SUP and approved.detail["proposed_by"] == CW
    told = [chat for chat, text in await outbox(w) if "is approved" in text]
    assert told == [case.applicant_id]


async def test_below_the_threshold_and_declines_need_no_supervisor(world: World) -> None:
    w = world
    case = await claimed(w)
    approved = await w.work.approve(CW, case.id, "20000")  # not above it
    assert (approved.status, approved.proposal_id) == ("approved", None)
    other = await claimed(w)
    declined = await w.work.decline(CW, other.id, "compensated")
    assert declined.status == "declined"
    assert await w.store.proposals.for_intake(other.id) == []


async def test_the_proposer_cannot_confirm_even_as_a_supervisor(world: World) -> None:
    w = world
    case = await claimed(w, by=BOTH)
    await w.work.approve(BOTH, case.id, "30000")
    [p] = await w.store.proposals.for_intake(case.id)
    sent = [chat for chat, text in await outbox(w) if "proposes" in text]
    assert sent == [SUP]  # not to the proposer
    assert await conflict(w.work.confirm_decision(BOTH, p.id)) == "own_proposal"
    assert await conflict(w.work.return_decision(BOTH, p.id, "no")) == "own_proposal"
    assert (await w.store.proposals.get(p.id)).state == "pending"  # type: ignore[union-attr]


async def test_a_returned_proposal_reopens_the_decision_with_the_note(world: World) -> None:
    w = world
    case = await claimed(w)
    await w.work.approve(CW, case.id, "45000")
    [p] = await w.store.proposals.for_intake(case.id)
    returned = await w.work.return_decision(SUP, p.id, "Check the medical bills first")
    assert (returned.status, returned.proposal_id, returned.amount_fen) == ("in_review", None, None)
    [p] = await w.store.proposals.for_intake(case.id)
    assert (p.state, p.note) == ("returned", "Check the medical bills first")
    talk = await w.store.cases.conversation(case.id)
    assert (talk[-1].kind, talk[-1].body, talk[-1].author) == (
        "note",
        "Check the medical bills first",
        SUP,
    )
    # The note is sealed at rest, in the proposal and in the conversation.
    raw = await w.store.db.fetchone("SELECT note FROM proposals WHERE id = ?", (p.id,))
    assert b"medical" not in bytes(raw["note"])  # type: ignore[index]
    assert await conflict(w.work.confirm_decision(SUP, p.id)) == "stale"
    told = [chat for chat, text in await outbox(w) if "returned your decision" in text]
    assert told == [CW]
    assert not [chat for chat, _ in await outbox(w) if chat == case.applicant_id][1:]
    # The caseworker decides again; a new proposal is a new one.
    again = await w.work.approve(CW, case.id, "25000")
    assert again.proposal_id not in (None, p.id)


async def test_all_makes_every_decision_a_proposal(tmp_path: Path) -> None:
    settings = Settings(token="1:x", db_path=str(tmp_path / "all.db"), approval="all")
    store = await Store.open(settings.db_path)
    try:
        await store.flows.publish(FLOW)
        await store.roles.grant(CW, "caseworker")
        await store.roles.grant(SUP, "supervisor")
        w = World(store, Casework(store, I18n.load(), settings, fmt=HTML))
        case = await w.work.claim(CW, (await submitted(w)).id)
        proposed = await w.work.decline(CW, case.id, "own words")
        assert proposed.status == "in_review" and proposed.proposal_id is not None
        decided = await w.work.confirm_decision(SUP, proposed.proposal_id)
        assert (decided.status, decided.decision_reason) == ("declined", "own words")
    finally:
        await store.close()


async def test_no_supervisor_for_the_region_refuses_the_proposal(world: World) -> None:
    w = world
    await w.store.roles.grant(CW, "caseworker", regions=[HOTAN, "654002"])
    case = await in_region(w, "654002")
    await w.work.claim(CW, case.id)
    assert await conflict(w.work.approve(CW, case.id, "30000")) == "no_supervisor"
    assert (await w.store.cases.get(case.id)).status == "in_review"  # type: ignore[union-attr]


async def test_the_largest_amount_is_checked_in_the_core(world: World) -> None:
    w = world
    case = await claimed(w)
    assert await conflict(w.work.approve(CW, case.id, "50000.01")) == "over_max"
    assert await w.store.proposals.for_intake(case.id) == []


async def test_a_supervisor_reopens_a_decided_intake_with_a_reason(world: World) -> None:
    w = world
    case = await claimed(w)
    await w.work.decline(CW, case.id, "compensated")
    assert await conflict(w.work.reopen(SUP_ELSEWHERE, case.id, "x")) == "not_found"
    with pytest.raises(Denied):
        await w.work.reopen(CW, case.id, "x")
    reopened = await w.work.reopen(SUP, case.id, "The compensation was never paid")
    assert (reopened.status, reopened.decision_reason, reopened.decided_at) == (
        "in_review",
        None,
        None,
    )
    assert (await actions(w, case.id))[-1] == "intake.reopened"
    told = [chat for chat, text in await outbox(w) if "opened again" in text]
    assert told == [case.applicant_id]
    assert await conflict(w.work.reopen(SUP, case.id, "again")) == "wrong_status"


async def test_assign_to_a_caseworker_of_the_region_only(world: World) -> None:
    w = world
    case = await in_region(w)
    ref = case.ref or ""
    assert await conflict(w.work.assign(SUP, ref, CW_ELSEWHERE)) == "not_a_caseworker_here"
    assert await conflict(w.work.assign(SUP, ref, 4242)) == "not_a_caseworker_here"
    assert await conflict(w.work.assign(SUP_ELSEWHERE, ref, CW)) == "not_found"
    with pytest.raises(Denied):
        await w.work.assign(CW, ref, CW2)
    assigned = await w.work.assign(SUP, ref.replace("-", " ").lower(), CW)
    assert (assigned.status, assigned.assignee) == ("in_review", CW)
    again = await w.work.assign(SUP, ref, CW2)  # re-assigned: both are told
    assert again.assignee == CW2
    sent = await outbox(w)
    assert [c for c, t in sent if "assigned application" in t] == [CW, CW2]
    assert [c for c, t in sent if "taken over" in t] == [CW]
    audit = [a for a in await w.store.audit.for_intake(case.id) if a.action == "intake.assigned"]
    assert [a.detail for a in audit] == [{"to": CW, "from": None}, {"to": CW2, "from": CW}]


async def test_what_the_card_offers_while_a_decision_waits(world: World) -> None:
    w = world
    case = await claimed(w)
    await w.work.approve(CW, case.id, "30000")
    card = await w.work.card(CW, case.id)
    assert Action.APPROVE not in card.actions and Action.ASK not in card.actions
    assert Action.RELEASE in card.actions
    sup = await w.work.card(SUP, case.id)  # a supervisor reads the card of their region
    assert sup.actions[:3] == (Action.ASSIGN, Action.CONFIRM_DECISION, Action.RETURN_DECISION)
    assert Action.CLAIM not in sup.actions and Action.NOTE not in sup.actions
    assert await conflict(w.work.card(SUP_ELSEWHERE, case.id)) == "not_found"
    decided = await w.work.confirm_decision(SUP, case.proposal_id or sup.case.proposal_id or 0)
    assert decided.status == "approved"
    assert (await w.work.card(SUP, case.id)).actions[:1] == (Action.REOPEN,)
