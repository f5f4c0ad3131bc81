"""The review of submitted intakes without Telegram: ``bot.casework.Casework`` over a real SQLite
file. State-machine conflicts, roles checked at the moment of each action, the amount parser,
the queue's order and paging, and what lands in the audit trail and the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from bot.casework import Casework, Denied, parse_amount
from bot.casework.measure_terms import MeasureState
from bot.config import Settings
from bot.flow.engine import Screening
from bot.i18n import I18n
from bot.messages import HTML
from bot.store import Store
from bot.store.casework import Case, Conflict
from tests.backends import open_store
from tests.helpers import old_referral, sent_intake

FLOW = """
id: store-test
languages: [en, zh]
title: {en: Store test, zh: 存储测试}
steps:
  - id: consent
    type: consent
    text: {en: May we use your answers to help you?, zh: 我们可以用你的回答来帮助你吗？}
  - id: name
    type: text
    tags: [name, partner]
    text: {en: Your name?, zh: 你的姓名？}
  - id: village
    type: text
    tags: [region, partner]
    text: {en: Which village?, zh: 哪个村？}
  - id: phone
    type: phone
    sensitive: true
    tags: [partner]
    text: {en: Your phone?, zh: 你的电话？}
  - id: case_number
    type: text
    text: {en: Case number?, zh: 案件编号？}
priority:
  - {id: rural, when: "true", points: 3, label: {en: Rural household, zh: 农村家庭}}
"""

CW, CW2, PARTNER, STRANGER = 2, 5, 3, 9
I18N = I18n.load()
GROUP = -100555


@dataclass
class World:
    store: Store
    work: Casework


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url, caseworker_chat=GROUP)
    store = await open_store(settings.db_path, tmp_path)
    try:
        await store.flows.publish(FLOW)
        await store.roles.grant(CW, "caseworker")
        await store.roles.grant(CW2, "caseworker")
        await store.roles.grant(PARTNER, "partner", label="和田县农业农村局")
        work = Casework(store, I18n.load(), settings, fmt=HTML)
        for staff in (CW, CW2, PARTNER):  # they have talked to the bot: their language is known
            await work.seen(staff, "en", f"Staff {staff}")
        yield World(store, work)
    finally:
        await store.close()


_applicants = iter(range(1000, 100000))


async def submitted(
    w: World,
    *,
    priority: int = 3,
    name: str = "Zhang San",
    submitted_at: str | None = None,
    lang: str = "en",
) -> Case:
    """A submitted intake, as the interview leaves it."""
    answers = {
        "consent": True,
        "name": name,
        "village": "Red Star",
        "phone": "13800001234",
        "case_number": "(2024)新3221刑初17号",
    }
    intake_id, _ref = await sent_intake(
        w.store,
        answers,
        applicant=next(_applicants),
        lang=lang,
        screening=Screening((), (), priority, ("rural",)),
    )
    if submitted_at is not None:
        await w.store.db.execute(
            "UPDATE intakes SET submitted_at = ? WHERE id = ?", (submitted_at, intake_id)
        )
    case = await w.store.cases.get(intake_id)
    assert case is not None
    return case


async def outbox(w: World) -> list[tuple[int, str]]:
    """What is queued to be sent, as the sender reads it (texts are sealed at rest)."""
    return [(q.chat_id, q.text) for q in await w.store.outbox.due(limit=1000)]


async def actions(w: World, intake_id: int) -> list[str]:
    return [a.action for a in await w.store.audit.for_intake(intake_id)]


async def conflict(coro) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as err:
        await coro
    return err.value.code


# --- parse_amount -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("3000", Decimal("3000.00")),
        ("3,000.50", Decimal("3000.50")),
        ("三千", Decimal("3000.00")),
        ("3000元", Decimal("3000.00")),
        (" 12.345 ", Decimal("12.34")),  # to the fen (banker's rounding)
        ("10000000", Decimal("10000000.00")),  # the upper limit itself
        ("0", None),
        ("-5", None),
        ("abc", None),
        ("", None),
        ("99999999999", None),
        ("0.001", None),  # rounds to nothing: not an amount to approve
        ("1e5", None),
    ],
)
def test_parse_amount(typed: str, expected: Decimal | None) -> None:
    assert parse_amount(typed) == expected


# --- roles ------------------------------------------------------------------------------


async def test_every_action_needs_the_role_at_the_moment_it_runs(world: World) -> None:
    w = world
    case = await submitted(w)
    for call in (
        w.work.queue(STRANGER, 0, 8),
        w.work.card(STRANGER, case.id),
        w.work.claim(STRANGER, case.id),
        w.work.claim(PARTNER, case.id),
        w.work.release(STRANGER, case.id),
        w.work.ask(STRANGER, case.id, "?"),
        w.work.approve(STRANGER, case.id, "3000"),
        w.work.decline(STRANGER, case.id, "compensated"),
        w.work.note(STRANGER, case.id, "x"),
        w.work.refer(STRANGER, case.id, PARTNER, "help"),
        w.work.plans.referable(STRANGER, case.id, PARTNER),
        w.work.send_clue(STRANGER, {"who": "a", "where": "b", "what": "c"}),
        w.work.send_clue(CW, {"who": "a", "where": "b", "what": "c"}),
        w.work.open_referrals(CW),
    ):
        with pytest.raises(Denied):
            await call

    await w.work.claim(CW, case.id)
    assert await w.store.roles.revoke(CW, "caseworker")
    with pytest.raises(Denied):  # revoked: the claim it holds does not help
        await w.work.approve(CW, case.id, "3000")
    after = await w.store.cases.get(case.id)
    assert after is not None and after.status == "in_review" and after.amount_fen is None
    assert (await actions(w, case.id)).count("intake.approved") == 0


# --- the state machine ------------------------------------------------------------------


async def test_conflicts_of_the_state_machine(world: World) -> None:
    w = world
    case = await submitted(w)
    assert await conflict(w.work.approve(CW, case.id, "3000")) == "not_claimed"
    assert await conflict(w.work.decline(CW, case.id, "compensated")) == "not_claimed"
    assert await conflict(w.work.ask(CW, case.id, "Bill?")) == "not_claimed"
    assert await conflict(w.work.release(CW, case.id)) == "not_claimed"
    assert await conflict(w.work.card(CW, 424242)) == "not_found"

    claimed = await w.work.claim(CW, case.id)
    assert claimed.status == "in_review" and claimed.assignee == CW
    assert await conflict(w.work.approve(CW, case.id, "zero")) == "bad_amount"
    assert await conflict(w.work.approve(CW2, case.id, "3000")) == "claimed_by_other"
    assert await conflict(w.work.decline(CW2, case.id, "compensated")) == "claimed_by_other"
    assert await conflict(w.work.ask(CW2, case.id, "Bill?")) == "claimed_by_other"
    assert await conflict(w.work.release(CW2, case.id)) == "claimed_by_other"
    assert await conflict(w.work.claim(CW2, case.id)) == "claimed_by_other"

    declined = await w.work.decline(CW, case.id, "compensated")
    assert declined.status == "declined" and declined.decision_reason == "compensated"
    assert await conflict(w.work.approve(CW, case.id, "3000")) == "wrong_status"
    assert await conflict(w.work.decline(CW, case.id, "other words")) == "wrong_status"
    assert await conflict(w.work.ask(CW, case.id, "Bill?")) == "wrong_status"
    assert await conflict(w.work.claim(CW, case.id)) == "wrong_status"
    assert await conflict(w.work.claim(CW2, case.id, take_over=True)) == "wrong_status"

    stored = await w.store.cases.get(case.id)
    assert stored is not None
    assert (stored.status, stored.assignee, stored.amount_fen) == ("declined", CW, None)
    assert await actions(w, case.id) == [
        "intake.started",
        "intake.submitted",
        "intake.claimed",
        "intake.declined",
    ]


async def test_ask_reply_and_approve_in_fen_with_every_step_audited(world: World) -> None:
    w = world
    case = await submitted(w)
    await w.work.claim(CW, case.id)
    asked = await w.work.ask(CW, case.id, "  Do you have the <hospital> bill?  ")
    assert asked.status == "awaiting_applicant"
    held = await w.store.pending.get(case.applicant_id)
    assert held is not None and (held.kind, held.intake_id) == ("reply", case.id)
    # Someone else cannot answer for the applicant.
    assert await conflict(w.work.reply(STRANGER, case.id, "no")) == "not_found"

    replied = await w.work.reply(case.applicant_id, case.id, "Yes, 5000 yuan")
    assert replied.status == "in_review"
    assert await w.store.pending.get(case.applicant_id) is None
    assert await conflict(w.work.reply(case.applicant_id, case.id, "again")) == "wrong_status"

    approved = await w.work.approve(CW, case.id, "3,000.50")
    assert (approved.status, approved.amount_fen) == ("approved", 300050)
    assert approved.decided_at is not None

    talk = await w.store.cases.conversation(case.id)
    assert [(e.kind, e.body) for e in talk] == [
        ("question", "Do you have the <hospital> bill?"),
        ("reply", "Yes, 5000 yuan"),
    ]
    assert await actions(w, case.id) == [
        "intake.started",
        "intake.submitted",
        "intake.claimed",
        "intake.asked",
        "intake.reply_received",  # each piece of the answer as it arrives
        "intake.replied",  # Done: the caseworker is told
        "intake.approved",
    ]
    audit = await w.store.audit.for_intake(case.id)
    assert audit[-1].detail == {"amount_fen": 300050}
    assert all("5000" not in str(a.detail) and "hospital" not in str(a.detail) for a in audit)

    sent = await outbox(w)
    to_applicant = [text for chat, text in sent if chat == case.applicant_id]
    to_cw = [text for chat, text in sent if chat == CW]
    assert all(case.ref in text for text in to_applicant), (case.ref, to_applicant)
    assert any("&lt;hospital&gt;" in text for text in to_applicant)  # escaped for HTML
    assert any("CN¥3,000.50" in text for text in to_applicant)
    assert any("Yes, 5000 yuan" in text and case.ref in text for text in to_cw)


async def test_take_over_is_explicit_audited_and_told(world: World) -> None:
    w = world
    case = await submitted(w)
    await w.work.claim(CW, case.id)
    taken = await w.work.claim(CW2, case.id, take_over=True)
    assert taken.assignee == CW2
    audit = await w.store.audit.for_intake(case.id)
    assert (audit[-1].action, audit[-1].actor, audit[-1].detail) == (
        "intake.taken_over",
        CW2,
        {"from": CW},
    )
    assert any(chat == CW and "taken over" in text for chat, text in await outbox(w))
    assert await conflict(w.work.approve(CW, case.id, "3000")) == "claimed_by_other"
    assert (await w.work.approve(CW2, case.id, "3000")).status == "approved"


async def test_two_caseworkers_claiming_at_once_one_wins(world: World) -> None:
    w = world
    case = await submitted(w)
    results = await asyncio.gather(
        w.work.claim(CW, case.id), w.work.claim(CW2, case.id), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Case)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "claimed_by_other"
    stored = await w.store.cases.get(case.id)
    assert stored is not None and stored.assignee == won[0].assignee
    # No silent take-over: one claim, no taken_over row.
    assert (await actions(w, case.id)).count("intake.claimed") == 1
    assert "intake.taken_over" not in await actions(w, case.id)


async def test_two_approvals_at_once_decide_once(world: World) -> None:
    w = world
    case = await submitted(w)
    await w.work.claim(CW, case.id)
    before = len(await outbox(w))
    results = await asyncio.gather(
        w.work.approve(CW, case.id, "3000"),
        w.work.approve(CW, case.id, "4000"),
        w.work.decline(CW, case.id, "compensated"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Case) for r in results) == 1, results
    assert all(r.code == "wrong_status" for r in results if isinstance(r, Conflict))
    decided = [a for a in await actions(w, case.id) if a in ("intake.approved", "intake.declined")]
    assert len(decided) == 1
    assert len(await outbox(w)) == before + 1


async def test_a_clue_cannot_be_asked_and_tells_no_applicant(world: World) -> None:
    w = world
    ref = await w.work.send_clue(
        PARTNER, {"who": "Li Si", "where": "Red Star", "what": "injured", "evil": "x"}
    )
    row = await w.store.db.fetchone("SELECT id FROM intakes WHERE ref = ?", (ref,))
    assert row is not None
    clue = await w.store.cases.get(row["id"])
    assert clue is not None and clue.is_clue and clue.status == "submitted"
    assert clue.clue == {"who": "Li Si", "where": "Red Star", "what": "injured"}
    assert await actions(w, clue.id) == ["clue.received"]
    [(chat, alert)] = await outbox(w)
    tr = w.work.i18n.tr(None)  # the group has no reader: the default language
    assert (chat, alert) == (
        GROUP,
        tr.gettext("New clue from the agriculture department: {ref}").format(ref=f"<b>{ref}</b>")
        + "\n"
        + tr.gettext("Send /queue to the bot to review it."),
    )

    await w.work.claim(CW, clue.id)
    assert await conflict(w.work.ask(CW, clue.id, "Who are you?")) == "is_clue"
    await w.work.approve(CW, clue.id, "1000")
    # Nothing is sent to the partner as if they were an applicant.
    assert all(chat != PARTNER for chat, _text in await outbox(w))


async def test_referring_sends_the_partner_a_measure_with_the_least_data_it_needs(
    world: World,
) -> None:
    """The card's "refer" adds a measure to the household's plan and sends it to that
    partner at once: the partner reads the fields tagged ``partner`` and what is asked,
    never the rest; it works the measure step by step, and the holder hears of each."""
    w = world
    case = await submitted(w, name="Wang Wu")
    # Only the caseworker who holds the intake refers (it is part of the plan): not
    # before it is claimed, nor by a colleague.
    assert await conflict(w.work.refer(CW, case.id, PARTNER, "help")) == "wrong_status"
    await w.work.claim(CW, case.id)
    assert await conflict(w.work.refer(CW2, case.id, PARTNER, "help")) == "claimed_by_other"
    assert await conflict(w.work.refer(CW, case.id, STRANGER, "help")) == "not_a_partner"
    assert await conflict(w.work.refer(CW, case.id, PARTNER, " \u200b ")) == "empty"
    m = await w.work.refer(CW, case.id, PARTNER, "Check poverty-return monitoring")
    assert (m.state, m.partner_id, m.kind, m.kind_text) == (
        "proposed",
        PARTNER,
        None,
        "Check poverty-return monitoring",
    )
    assert m.sent_at is not None and m.due_on > dt.date.today().isoformat()
    assert await w.store.cases.referrals(case.id) == []  # no referral row any more
    partner_msgs = [text for chat, text in await outbox(w) if chat == PARTNER]
    assert len(partner_msgs) == 1
    text = partner_msgs[0]
    for shown in ("Wang Wu", "Red Star", "13800001234", "Check poverty-return monitoring"):
        assert shown in text
    assert "刑初" not in text  # the case number is not tagged partner

    # Only the measure's partner, forward only.
    await w.store.roles.grant(7, "partner")
    assert await conflict(w.work.plans.change(7, [m.id], MeasureState.ACCEPTED)) == "not_found"
    with pytest.raises(Denied):
        await w.work.plans.change(CW, [m.id], MeasureState.ACCEPTED)
    [accepted] = await w.work.plans.change(PARTNER, [m.id], MeasureState.ACCEPTED)
    assert accepted.state == "accepted"
    assert (
        await conflict(w.work.plans.change(PARTNER, [m.id], MeasureState.ACCEPTED))
        == "wrong_status"
    )
    [done] = await w.work.plans.change(PARTNER, [m.id], MeasureState.DONE)
    assert done.state == "done" and done.closed_at is not None
    assert await conflict(w.work.plans.ask_why(PARTNER, m.id)) == "wrong_status"
    assert (
        await conflict(w.work.plans.change(PARTNER, [m.id], MeasureState.NOT_POSSIBLE, "no"))
        == "wrong_status"
    )
    assert await actions(w, case.id) == [
        "intake.started",
        "intake.submitted",
        "intake.claimed",
        "measure.added",
        "measure.sent",
        "measure.accepted",
        "measure.done",
    ]
    to_cw = [text for chat, text in await outbox(w) if chat == CW]
    assert len(to_cw) == 2 and all(case.ref in t for t in to_cw)
    assert "poverty-return monitoring" in to_cw[1] and "done" in to_cw[1]


async def test_an_old_referral_keeps_its_steps(world: World) -> None:
    """A referral from before the plan (an old database) is still worked by its partner,
    in order, and the caseworker who referred hears of each step."""
    w = world
    case = await submitted(w, name="Wang Wu")
    ref = await old_referral(w.store, case.id, CW, PARTNER, "Check poverty-return monitoring")
    assert ref.status == "sent"
    listed = await w.work.referrals.listing(PARTNER, I18N.tr("en"))
    assert [item.referral.id for item in listed] == [ref.id]
    assert "Wang Wu" in listed[0].text and "Check poverty-return monitoring" in listed[0].text

    # Only the referral's partner, in the right order.
    await w.store.roles.grant(7, "partner")
    assert await conflict(w.work.acknowledge(7, ref.id)) == "not_found"
    with pytest.raises(Denied):
        await w.work.acknowledge(CW, ref.id)
    assert (await w.work.acknowledge(PARTNER, ref.id)).status == "acknowledged"
    assert await conflict(w.work.acknowledge(PARTNER, ref.id)) == "wrong_status"
    done = await w.work.report_done(PARTNER, ref.id, "monitoring")
    assert (done.status, done.outcome) == ("done", "monitoring")
    assert await conflict(w.work.report_done(PARTNER, ref.id, "again")) == "wrong_status"
    assert await conflict(w.work.return_referral(PARTNER, ref.id, "no")) == "wrong_status"
    assert await actions(w, case.id) == [
        "intake.started",
        "intake.submitted",
        "referral.sent",
        "referral.acknowledged",
        "referral.done",
    ]
    to_cw = [text for chat, text in await outbox(w) if chat == CW]
    assert len(to_cw) == 2 and all(case.ref in t for t in to_cw)
    assert "poverty-return monitoring" in to_cw[1]
    assert await w.work.referrals.listing(PARTNER, I18N.tr("en")) == []  # closed


# --- the queue --------------------------------------------------------------------------


async def test_queue_orders_by_priority_then_age_and_pages(world: World) -> None:
    w = world
    old_low = await submitted(w, priority=1, submitted_at="2024-01-01T08:00:00Z")
    new_high = await submitted(w, priority=9, submitted_at="2024-03-01T08:00:00Z")
    old_high = await submitted(w, priority=9, submitted_at="2024-02-01T08:00:00Z")
    mid = await submitted(w, priority=5, submitted_at="2024-02-15T08:00:00Z")
    decided = await submitted(w, priority=20)
    await w.work.claim(CW, decided.id)
    await w.work.decline(CW, decided.id, "compensated")

    cases, total = await w.work.queue(CW, 0, 10)
    assert total == 4
    assert [c.id for c in cases] == [old_high.id, new_high.id, mid.id, old_low.id]

    page0, total0 = await w.work.queue(CW, 0, 3)
    page1, total1 = await w.work.queue(CW, 1, 3)
    assert total0 == total1 == 4
    assert [c.id for c in page0] == [old_high.id, new_high.id, mid.id]
    assert [c.id for c in page1] == [old_low.id]
    assert await w.work.queue(CW, 2, 3) == ([], 4)

    # Waiting for the applicant is still open; "mine" is what I claimed.
    await w.work.claim(CW, mid.id)
    await w.work.ask(CW, mid.id, "Bill?")
    await w.work.claim(CW2, old_low.id)
    mine, n_mine = await w.work.queue(CW, 0, 10, mine=True)
    assert n_mine == 1 and [c.id for c in mine] == [mid.id]
    assert (await w.work.queue(CW, 0, 10))[1] == 4


async def test_nobody_decides_their_own_application(world: World) -> None:
    case = await submitted(world)
    await world.store.roles.grant(case.applicant_id, "caseworker")
    with pytest.raises(Conflict) as err:
        await world.work.claim(case.applicant_id, case.id)
    assert err.value.code == "own_case"
    with pytest.raises(Conflict):
        await world.work.claim(case.applicant_id, case.id, take_over=True)
    assert (await world.store.cases.get(case.id)).assignee is None  # type: ignore[union-attr]
    # A colleague can.
    claimed = await world.work.claim(CW, case.id)
    assert claimed.assignee == CW


async def test_a_reply_delivered_again_is_kept_once(world: World) -> None:
    case = await submitted(world)
    await world.store.db.execute(
        "UPDATE intakes SET status = 'awaiting_applicant' WHERE id = ?", (case.id,)
    )
    row = await world.store.db.fetchone("SELECT applicant_id FROM intakes WHERE id = ?", (case.id,))
    assert row is not None
    for _ in range(2):  # the same Telegram update, applied again after a restart
        ref = await world.store.cases.add_reply(
            case.id, row["applicant_id"], "my words", "text", update_id=4242
        )
        assert ref == case.ref
    await world.store.cases.add_reply(case.id, row["applicant_id"], "more", "text", update_id=4243)
    kept = await world.store.db.fetchone(
        "SELECT COUNT(*) AS n FROM messages WHERE intake_id = ? AND kind = 'reply'", (case.id,)
    )
    assert kept is not None and kept["n"] == 2
