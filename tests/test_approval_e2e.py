"""Supervisors in Telegram, end to end: /queue over two counties with who holds what,
/assign, decisions a second person approves (``INTAKE_APPROVAL``), declines that ask for
their confirmation, reopening a decided intake, and the largest amount
(``INTAKE_MAX_AMOUNT``). Forged and stale buttons change nothing.

The bot long-polls the fake Bot API over a real SQLite file, as in
tests/test_casework_e2e.py (whose helpers these tests share). An intake is put in its
county with one UPDATE after it is sent: routing by the flow's region question is tested in
tests/test_region_flow.py and tests/test_regions_e2e.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import wait_until, with_text
from tests.test_casework_e2e import (
    ANSWERS,
    APPROVE,
    CANCEL,
    CLAIM,
    COMPENSATED,
    DECLINE,
    FLOW,
    OPEN,
    OTHER_REASON,
    YES_APPROVE,
    arrives,
    audit_actions,
    intake_id,
    outbox_empty,
    refused,
    row_of,
    said,
    say,
    snapshot,
    submit,
    tap,
)

CW, CW_LOP, CW_ELSEWHERE, SUP, SUP_ELSEWHERE, BOTH = 2, 7, 8, 10, 11, 12
HOTAN, LOP, URUMQI = "653222", "653224", "650102"
CONFIRM, RETURN, REOPEN = "✅ Confirm the decision", "↩️ Return with a note", "🔓 Reopen"
YES_DECLINE = "❌ Yes, decline"
ASSIGN = "👥 Assign to a caseworker"
NAMES = {CW: "Wang", CW_LOP: "Aziz", CW_ELSEWHERE: "Li", SUP: "Chen", SUP_ELSEWHERE: "Zhao"}
NAMES[BOTH] = "Ma"


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """Approvals above 20,000 yuan need a supervisor; at most 50,000 yuan. Chen supervises
    two counties (Hotan and Lop), Zhao another (in Urumqi); Wang works in Hotan, Aziz in
    Lop, Li in Urumqi; Ma is a caseworker and a supervisor in Hotan."""
    running = Running(
        tg,
        make_settings(tg, tmp_path / "intake.db", approval="20000", max_amount=Decimal(50_000)),
    )
    await running.start()
    try:
        roles = running.store.roles
        await running.store.flows.publish(FLOW)
        await roles.grant(CW, "caseworker", regions=[HOTAN])
        await roles.grant(CW_LOP, "caseworker", regions=[LOP])
        await roles.grant(CW_ELSEWHERE, "caseworker", regions=[URUMQI])
        await roles.grant(SUP, "supervisor", regions=[HOTAN, LOP])
        await roles.grant(SUP_ELSEWHERE, "supervisor", regions=[URUMQI])
        await roles.grant(BOTH, "caseworker", regions=[HOTAN])
        await roles.grant(BOTH, "supervisor", regions=[HOTAN])
        for uid, name in NAMES.items():
            await running.services.casework.seen(uid, "en", name)  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


def staff(tg: FakeTelegram, uid: int) -> FakeUser:
    return tg.user(uid, first_name=NAMES[uid], language_code="en")


def money(r: Running, yuan: int, lang: str = "en") -> str:
    return r.services.i18n.tr(lang).money(Decimal(yuan))  # type: ignore[union-attr]


def applicant_of(tg: FakeTelegram, uid: int = 4, lang: str = "en") -> FakeUser:
    return tg.user(uid, language_code=lang, first_name="Zhang")


async def sent_in(r: Running, tg: FakeTelegram, region: str, uid: int = 4, lang: str = "en") -> str:
    """An application sent by ``uid`` and routed to ``region``; returns its reference."""
    ref = await submit(applicant_of(tg, uid, lang), lang=lang)
    await r.store.db.execute("UPDATE intakes SET region = ? WHERE ref = ?", (region, ref))
    return ref


async def claimed_by(r: Running, tg: FakeTelegram, uid: int, ref: str) -> None:
    person = staff(tg, uid)
    await say(person, f"/open {ref}", until=ANSWERS)
    await tap(person, CLAIM, until="Claimed by you")
    await outbox_empty(r)
    await tg.wait_idle()


async def proposal_id(r: Running, ref: str) -> int:
    row = await r.store.db.fetchone(
        "SELECT id FROM proposals WHERE intake_id = ? ORDER BY id DESC",
        (await intake_id(r, ref),),
    )
    assert row is not None
    return int(row["id"])


async def propose(r: Running, tg: FakeTelegram, uid: int, ref: str, yuan: int) -> None:
    person = staff(tg, uid)
    await say(person, f"/open {ref}", until=ANSWERS)
    await tap(person, APPROVE, until="Type the amount")
    await say(person, str(yuan), until="Approve")
    await tap(person, YES_APPROVE, until="was sent to a supervisor")


# --- /queue and /assign ---------------------------------------------------------------


async def test_a_supervisor_over_two_counties_assigns_an_intake(
    tg: FakeTelegram, r: Running
) -> None:
    sup, wang = staff(tg, SUP), staff(tg, CW)
    ref = await sent_in(r, tg, HOTAN)
    ref_lop = await sent_in(r, tg, LOP, uid=6)
    ref_elsewhere = await sent_in(r, tg, URUMQI, uid=14)

    queue = said(await say(sup, "/queue", until="Open applications"), "Open applications")
    assert ref in queue.text and ref_lop in queue.text and ref_elsewhere not in queue.text

    # The assignee must be a caseworker of the intake's region.
    for who in (CW_LOP, CW_ELSEWHERE, 4242):
        reply = said(
            await say(sup, f"/assign {ref} {who}", until="not a caseworker"), "not a caseworker"
        )
        assert "for this application's region" in reply.text
    said(await say(sup, "/assign", until="/assign followed by"), "for example")
    said(await say(sup, f"/assign {ref_elsewhere} {CW_ELSEWHERE}", until="not found"), "not found")
    said(await say(staff(tg, SUP_ELSEWHERE), f"/assign {ref} {CW}", until="not found"), "not found")
    said(await say(wang, f"/assign {ref} {CW}", until="only for supervisors"), "supervisors")

    done = said(await say(sup, f"/assign {ref} {CW}", until="is assigned to"), "is assigned to")
    assert f"<b>{ref}</b> is assigned to Wang" in done.text
    told = await arrives(wang, ref, "Chen assigned application")
    assert told.buttons == [OPEN]
    card = said(await tap(wang, OPEN, told, until=ANSWERS), ANSWERS)
    assert "Claimed by you" in card.text and APPROVE in card.buttons
    await arrives(applicant_of(tg), ref, "is now looking at your application")
    row = await row_of(r, ref)
    assert (row["status"], row["assignee"]) == ("in_review", CW)
    assert (await audit_actions(r, ref))[-1] == "intake.assigned"

    # Who holds what: the supervisor's queue names the holder.
    queue = said(await say(sup, "/queue", until="Open applications"), "Open applications")
    assert "held by Wang" in queue.text
    # A supervisor reads a card of their region but has no caseworker's actions on it.
    card = said(await say(sup, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "Claimed by Wang" in card.text and CLAIM not in card.buttons
    assert APPROVE not in card.buttons

    # With the card's button: only Lop's caseworker is offered for a Lop application.
    card = said(await say(sup, f"/open {ref_lop}", until=ANSWERS), ANSWERS)
    assert card.buttons[0] == ASSIGN
    pick = said(await tap(sup, ASSIGN, card, until="to which caseworker?"), "which caseworker")
    assert pick.buttons == ["Aziz", CANCEL]
    said(await tap(sup, "Aziz", pick, until="is assigned;"), "the caseworker has been told")
    await arrives(staff(tg, CW_LOP), ref_lop, "Chen assigned application")
    assert (await row_of(r, ref_lop))["assignee"] == CW_LOP
    # A forged pick of a caseworker of another region changes nothing.
    before = await snapshot(r)
    forged = f"s:at:{await intake_id(r, ref_lop)}:{CW_ELSEWHERE}"
    said(await tap_data_until(sup, forged, "not a caseworker"), "for this application's region")
    assert await snapshot(r) == before

    # Re-assigned to Ma: Ma is told, Wang hears it was taken over.
    said(await say(sup, f"/assign {ref} {BOTH}", until="is assigned to"), "to Ma")
    await arrives(staff(tg, BOTH), ref, "Chen assigned application")
    await arrives(wang, ref, "has been taken over by a colleague")


# --- approval by a second person ------------------------------------------------------


async def test_a_large_approval_is_confirmed_by_a_supervisor_before_the_applicant_hears(
    tg: FakeTelegram, r: Running
) -> None:
    sup, wang, applicant = staff(tg, SUP), staff(tg, CW), applicant_of(tg)
    ref = await sent_in(r, tg, HOTAN)
    await claimed_by(r, tg, CW, ref)
    heard = len(applicant.messages)

    await propose(r, tg, CW, ref, 30000)
    request = await arrives(sup, ref, "proposes to approve")
    assert f"Wang proposes to approve <b>{ref}</b> with <b>{money(r, 30000)}</b>." in request.text
    assert request.buttons == [CONFIRM, RETURN, OPEN]
    await arrives(staff(tg, BOTH), ref, "proposes to approve")  # Ma supervises Hotan too
    await outbox_empty(r)
    assert len(with_text(sup, ref, "proposes")) == 1
    assert applicant.messages[heard:] == []  # nothing yet
    row = await row_of(r, ref)
    assert (row["status"], row["amount_fen"]) == ("in_review", None)
    card = said(await say(wang, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "waiting for a supervisor" in card.text and APPROVE not in card.buttons

    confirm = request.button_data[CONFIRM]
    done = said(await tap(sup, CONFIRM, request, until="is made"), "is made")
    assert f"The decision on <b>{ref}</b> is made." in done.text
    told = await arrives(applicant, ref, "is approved")
    assert money(r, 30000) in told.text
    await arrives(wang, ref, "Chen confirmed your decision")
    row = await row_of(r, ref)
    assert (row["status"], row["amount_fen"]) == ("approved", 3_000_000)
    assert (await audit_actions(r, ref))[-2:] == ["intake.proposed", "intake.approved"]

    # Tapped again (or by Ma): already settled, nothing changes.
    await outbox_empty(r)
    before = await snapshot(r)
    said(await tap_data_until(sup, confirm, "already confirmed"), "already confirmed")
    ma_request = with_text(staff(tg, BOTH), ref, "proposes")[-1]
    said(await tap(staff(tg, BOTH), CONFIRM, ma_request, until="already"), "already confirmed")
    await outbox_empty(r)
    assert await snapshot(r) == before


async def test_below_the_threshold_no_supervisor_is_asked(tg: FakeTelegram, r: Running) -> None:
    wang = staff(tg, CW)
    ref = await sent_in(r, tg, HOTAN)
    await claimed_by(r, tg, CW, ref)
    await say(wang, f"/open {ref}", until=ANSWERS)
    await tap(wang, APPROVE, until="Type the amount")
    await say(wang, "20000", until="Approve")
    said(await tap(wang, YES_APPROVE, until="is approved with"), "The applicant has been told")
    await arrives(applicant_of(tg), ref, "is approved")
    await outbox_empty(r)
    assert not with_text(staff(tg, SUP), ref)
    assert (await row_of(r, ref))["status"] == "approved"


async def test_a_returned_proposal_goes_back_to_the_caseworker_with_the_note(
    tg: FakeTelegram, r: Running
) -> None:
    sup, ma, applicant = staff(tg, SUP), staff(tg, BOTH), applicant_of(tg)
    ref = await sent_in(r, tg, HOTAN)
    await claimed_by(r, tg, BOTH, ref)
    heard = len(applicant.messages)
    await propose(r, tg, BOTH, ref, 45000)
    request = await arrives(sup, ref, "Ma proposes to approve")
    await outbox_empty(r)
    assert not with_text(ma, ref, "proposes")  # not asked to approve their own

    # Ma, a supervisor too, cannot confirm their own proposal (a forged or replayed button).
    pid = await proposal_id(r, ref)
    before = await snapshot(r)
    said(
        await tap_data_until(ma, f"s:ok:{pid}:0", "another supervisor must approve it"),
        "You proposed this decision",
    )
    assert await snapshot(r) == before

    await tap(sup, RETURN, request, until="Type a note for the caseworker")
    said(
        await say(sup, "Check the medical bills first", until="was returned"),
        "returned to the caseworker with your note",
    )
    told = await arrives(ma, ref, "Chen returned your decision")
    assert "<i>Check the medical bills first</i>" in told.text and told.buttons == [OPEN]
    card = said(await tap(ma, OPEN, told, until=ANSWERS), ANSWERS)
    assert "Check the medical bills first" in card.text
    assert APPROVE in card.buttons and DECLINE in card.buttons  # open to a decision again
    await outbox_empty(r)
    assert applicant.messages[heard:] == []
    assert (await row_of(r, ref))["status"] == "in_review"

    # The old request is stale now: its buttons change nothing.
    before = await snapshot(r)
    said(await tap(sup, CONFIRM, request, until="already confirmed"), "or returned")
    assert await snapshot(r) == before


async def tap_data_until(person: FakeUser, data: str, needle: str) -> list:  # type: ignore[type-arg]
    start = len(person.messages)
    await person.tap_data(data)
    await wait_until(lambda: with_text(person.messages[start:], needle), what=needle)
    return person.messages[start:]


# --- declining, deliberately ----------------------------------------------------------


async def test_a_decline_asks_for_its_confirmation_and_cancelling_changes_nothing(
    tg: FakeTelegram, r: Running
) -> None:
    wang, applicant = staff(tg, CW), applicant_of(tg)
    ref = await sent_in(r, tg, HOTAN)
    await claimed_by(r, tg, CW, ref)
    heard = len(applicant.messages)
    before = await snapshot(r)

    await say(wang, f"/open {ref}", until=ANSWERS)
    await tap(wang, DECLINE, until="declined?")
    ask = said(await tap(wang, COMPENSATED, until=f"Decline <b>{ref}</b>?"), "Decline")
    assert f"Reason: {COMPENSATED}" in ask.text and ask.buttons == [YES_DECLINE, CANCEL]
    said(await tap(wang, CANCEL, ask, until="Cancelled."), "Cancelled.")
    await outbox_empty(r)
    assert await snapshot(r) == before and applicant.messages[heard:] == []

    # In the caseworker's own words, then confirmed.
    await tap(wang, DECLINE, until="declined?")
    await tap(wang, OTHER_REASON, until="reason for declining")
    ask = said(await say(wang, "Injured at work, not by a crime", until="Decline"), "Decline")
    assert "Reason: Injured at work, not by a crime" in ask.text
    said(await say(wang, "hello", until="Yes, decline, or Cancel"), "Please tap")
    confirm = ask.button_data[YES_DECLINE]
    said(await tap(wang, YES_DECLINE, ask, until="is declined"), "The applicant has been told")
    told = await arrives(applicant, ref, "was not approved")
    assert "Injured at work, not by a crime" in told.text
    assert (await row_of(r, ref))["status"] == "declined"
    # The same confirmation again: done once, said again.
    await outbox_empty(r)
    before = await snapshot(r)
    said(await tap_data_until(wang, confirm, "is declined"), "is declined")
    await outbox_empty(r)
    assert await snapshot(r) == before


# --- reopening ------------------------------------------------------------------------


async def test_a_supervisor_reopens_a_decided_intake_and_the_applicant_is_told(
    tg: FakeTelegram, r: Running
) -> None:
    sup, wang = staff(tg, SUP), staff(tg, CW)
    applicant = applicant_of(tg, lang="zh")
    ref = await sent_in(r, tg, HOTAN, lang="zh")
    await claimed_by(r, tg, CW, ref)
    await say(wang, f"/open {ref}", until=ANSWERS)
    await tap(wang, DECLINE, until="declined?")
    await tap(wang, COMPENSATED, until="Decline")
    await tap(wang, YES_DECLINE, until="is declined")
    await outbox_empty(r)

    # Not for another region's supervisor, nor for a caseworker.
    iid = await intake_id(r, ref)
    before = await snapshot(r)
    said(await tap_data_until(staff(tg, SUP_ELSEWHERE), f"s:ro:{iid}:0", "not found"), "not")
    assert (
        await refused(wang, f"s:ro:{iid}:0") == "This is only for supervisors of the procuratorate."
    )
    assert await snapshot(r) == before

    card = said(await say(sup, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert REOPEN in card.buttons
    await tap(sup, REOPEN, card, until=f"Type why <b>{ref}</b> is reopened")
    said(
        await say(sup, "The compensation was never paid", until="in review again"),
        "The applicant has been told why",
    )
    zh = r.services.i18n.tr("zh")  # type: ignore[union-attr]
    opened = zh.gettext(
        "Your application {ref} has been opened again and will be looked at once more."
    ).format(ref=f"<b>{ref}</b>")
    told = await arrives(applicant, opened)
    assert "The compensation was never paid" in told.text
    await arrives(wang, ref, "Chen reopened")
    row = await row_of(r, ref)
    assert (row["status"], row["decision_reason"]) == ("in_review", None)
    assert (await audit_actions(r, ref))[-1] == "intake.reopened"
    card = said(await say(wang, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "The compensation was never paid" in card.text and DECLINE in card.buttons


# --- the largest amount ---------------------------------------------------------------


async def test_an_amount_above_the_largest_is_refused_with_the_limit(
    tg: FakeTelegram, r: Running
) -> None:
    wang = staff(tg, CW)
    ref = await sent_in(r, tg, HOTAN)
    await claimed_by(r, tg, CW, ref)
    await say(wang, f"/open {ref}", until=ANSWERS)
    await tap(wang, APPROVE, until="Type the amount")
    replies = await say(wang, "60000", until="Type the amount")
    refusal = said(replies, "largest amount")
    assert f"({'<b>' + money(r, 50000) + '</b>'})" in refusal.text
    said(replies, f"Type the amount to approve for <b>{ref}</b>")  # asked again
    ask = said(await say(wang, "40000", until="Approve"), "Approve")
    assert money(r, 40000) in ask.text
    assert (await row_of(r, ref))["status"] == "in_review"


# --- forged buttons -------------------------------------------------------------------


async def test_forged_supervisor_buttons_change_nothing(tg: FakeTelegram, r: Running) -> None:
    ref = await sent_in(r, tg, HOTAN)
    await claimed_by(r, tg, CW, ref)
    await propose(r, tg, CW, ref, 30000)
    await arrives(staff(tg, SUP), ref, "proposes")
    await outbox_empty(r)
    pid, iid = await proposal_id(r, ref), await intake_id(r, ref)
    before = await snapshot(r)
    elsewhere = staff(tg, SUP_ELSEWHERE)
    for data in (f"s:ok:{pid}:0", f"s:rt:{pid}:0", f"s:ok:{pid + 100}:0"):
        said(await tap_data_until(elsewhere, data, "not found"), "was not found")
    for person in (staff(tg, CW), staff(tg, CW_LOP), applicant_of(tg)):
        assert await refused(person, f"s:ok:{pid}:0") == (
            "This is only for supervisors of the procuratorate."
        )
    assert await refused(staff(tg, SUP), "s:zz:1:0") == "That button is not valid any more."
    assert await refused(staff(tg, SUP), f"s:ok:{iid}") == "That button is not valid any more."
    await outbox_empty(r)
    assert await snapshot(r) == before
