"""One household, one plan (一户一策) in Telegram, end to end.

A real ``Application`` long-polls the fake Bot API over a real SQLite file. The intake is
made through the store and approved through the core; from there on, everything is done
with the buttons people see: the caseworker builds a plan of three measures for two
partners from the card, sends it, each partner sees only its own measures and works on
them, and the caseworker and the applicant (/status) see where each stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.casework.measure_terms import MeasureState
from bot.flow.engine import Screening, State
from bot.flow.loader import default_flow_source
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import wait_until, with_text

HOTAN = "653222"
CW, AGRI, HR = 11, 21, 22
AGRI_NAME, HR_NAME = "Hotan Agriculture Bureau", "Hotan HR Bureau"
MONITORING = "Enrol in poverty-return monitoring"
WHY = "No places left in this year's loan scheme"


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        store = running.store
        await store.roles.grant(CW, "caseworker", regions=[HOTAN])
        await store.roles.grant(
            AGRI, "partner", label=AGRI_NAME, regions=[HOTAN], kind="agriculture"
        )
        await store.roles.grant(
            HR, "partner", label=HR_NAME, regions=[HOTAN], kind="human_resources"
        )
        work = running.services.casework  # type: ignore[union-attr]
        for uid in (CW, AGRI, HR):
            tg.user(uid, first_name=f"Staff{uid}", language_code="en")
            await work.seen(uid, "en", f"Staff{uid}")
        yield running
    finally:
        await running.stop()


async def approved(r: Running, tg: FakeTelegram, uid: int = 5001) -> tuple[FakeUser, str, int]:
    """An English-speaking applicant's intake in Hotan asking for training, a loan and
    schooling help, claimed by CW and approved: the applicant, the reference, the id."""
    person = tg.user(uid, first_name="Ayshem", language_code="en")
    store = r.store
    answers = {
        "name": "Ayshem Tursun",
        "phone": "13912345678",
        "help_wanted": ["training", "loan", "education"],
    }
    draft = await store.intakes.create_draft(
        applicant_id=uid,
        chat_id=uid,
        lang="en",
        flow=await store.flows.active(),
        state=State(answers=dict(answers)),
        update_id=1,
    )
    assert draft is not None
    ref = await store.intakes.submit(
        draft, State(answers=dict(answers)), Screening((), (), 0, ()), update_id=2
    )
    assert ref is not None
    await store.db.execute(
        "UPDATE intakes SET region = ?, last_update_id = 0 WHERE id = ?", (HOTAN, draft.id)
    )
    work = r.services.casework  # type: ignore[union-attr]
    await work.claim(CW, draft.id)
    await work.approve(CW, draft.id, "3000")
    return person, ref, draft.id


async def arrives(chat: FakeUser, *needles: str, after: int = 0) -> SentMessage:
    await wait_until(
        lambda: with_text(chat.messages[after:], *needles),
        what=f"{needles} in chat {chat.chat_id}: {[m.text for m in chat.messages[after:]]}",
    )
    return with_text(chat.messages[after:], *needles)[-1]


async def with_button(chat: FakeUser, label: str, after: int = 0) -> SentMessage:
    def found() -> list[SentMessage]:
        return [m for m in chat.messages[after:] if label in m.buttons]

    await wait_until(found, what=f"a message with the button {label!r} in chat {chat.chat_id}")
    return found()[-1]


async def tap_then(
    person: FakeUser, label: str, *needles: str, on: SentMessage | None = None
) -> SentMessage:
    start = len(person.messages)
    await person.tap(label, on)
    return await arrives(person, *needles, after=start)


async def say_then(person: FakeUser, text: str, *needles: str) -> SentMessage:
    start = len(person.messages)
    await person.send(text)
    return await arrives(person, *needles, after=start)


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


async def states(r: Running, intake_id: int) -> list[tuple[int | None, str]]:
    return [(m.partner_id, m.state) for m in await r.store.measures.of_intake(intake_id)]


async def test_a_plan_of_three_measures_for_two_partners(tg: FakeTelegram, r: Running) -> None:
    applicant, ref, intake_id = await approved(r, tg)
    cw, agri, hr = tg.user(CW), tg.user(AGRI), tg.user(HR)

    # The caseworker who holds the approved intake opens its plan from the card.
    start = len(cw.messages)
    await cw.send(f"/open {ref}")
    card = await with_button(cw, "🗂 Household plan", after=start)
    plan = await tap_then(cw, "🗂 Household plan", f"Plan for {ref}", on=card)
    assert "No measures yet" in (plan.text or "")
    assert "approved" in (plan.text or "") and "3,000" in (plan.text or "")

    # 1: skills training (the applicant asked for it: starred), by the agriculture bureau, 30 days.
    kinds = await tap_then(cw, "➕ Add a measure", "What help?", on=plan)
    assert kinds.buttons[:3] == [
        "⭐ Skills training",
        "⭐ A low-interest loan",
        "⭐ Help with children's schooling",
    ]
    assert "An assistance payment (救助金)" in kinds.buttons  # the others, not starred
    bodies = await tap_then(cw, "⭐ Skills training", "Who will do it?", on=kinds)
    assert bodies.buttons == [
        "This procuratorate",
        f"{AGRI_NAME} (agriculture and rural affairs)",
        f"{HR_NAME} (human resources and social security)",
        "Cancel",
    ]
    due = await tap_then(cw, f"{AGRI_NAME} (agriculture and rural affairs)", "By when?", on=bodies)
    assert due.buttons[:3] == ["in 30 days", "in 60 days", "in 90 days"]
    plan = await tap_then(cw, "in 30 days", "The measure was added.", on=due)
    assert "Skills training" in (plan.text or "") and "not sent yet" in (plan.text or "")

    # 2: in the caseworker's own words, the same bureau, a typed date.
    kinds = await tap_then(cw, "➕ Add a measure", "What help?", on=plan)
    await tap_then(cw, "✍️ Something else (type it)", "Type the help", on=kinds)
    bodies = await say_then(cw, MONITORING, "Who will do it?")
    due = await tap_then(cw, f"{AGRI_NAME} (agriculture and rural affairs)", "By when?", on=bodies)
    await tap_then(cw, "✍️ Type a date", "Type the date", on=due)
    await say_then(cw, "yesterday", "That is not a date from today on")
    when = dt.date.today() + dt.timedelta(days=45)
    plan = await say_then(cw, when.isoformat(), "The measure was added.")

    # 3: a low-interest loan, by the human resources bureau, 60 days.
    kinds = await tap_then(cw, "➕ Add a measure", "What help?", on=plan)
    bodies = await tap_then(cw, "⭐ A low-interest loan", "Who will do it?", on=kinds)
    due = await tap_then(
        cw, f"{HR_NAME} (human resources and social security)", "By when?", on=bodies
    )
    plan = await tap_then(cw, "in 60 days", "The measure was added.", on=due)
    assert await states(r, intake_id) == [(AGRI, "proposed"), (AGRI, "proposed"), (HR, "proposed")]
    assert not with_text(agri, ref) and not with_text(hr, ref)  # nothing sent yet

    await tap_then(cw, "📨 Send 3 measures to those responsible", "3 measures were sent", on=plan)

    # Each partner gets one card with the decision, its own measures only, and who to call.
    to_agri = await arrives(agri, ref, "New measures for a household")
    to_hr = await arrives(hr, ref, "New measures for a household")
    for text in (to_agri.text or "", to_hr.text or ""):
        assert "approved" in text and "3,000" in text
        assert "13912345678" in text  # whose phone to call
    assert "Skills training" in (to_agri.text or "") and MONITORING in (to_agri.text or "")
    assert "A low-interest loan" not in (to_agri.text or "").split("What is asked of you:")[1]
    assert "A low-interest loan" in (to_hr.text or "").split("What is asked of you:")[1]
    assert "Skills training" not in (to_hr.text or "").split("What is asked of you:")[1]
    assert to_agri.buttons == ["👍 Accept all", "📋 Report on each"]

    # The agriculture bureau accepts both with one tap; HR accepts its one from /referrals.
    card_agri = await tap_then(agri, "👍 Accept all", "👍 accept · ⏳ under way", on=to_agri)
    assert card_agri.buttons == ["⏳ 1", "✅ 1", "⛔ 1", "⏳ 2", "✅ 2", "⛔ 2"]
    listed = await say_then(hr, "/referrals", ref, "What is asked of you:")
    assert "Skills training" not in (listed.text or "").split("What is asked of you:")[1]
    assert listed.buttons == ["👍 Accept all", "👍 1", "⏳ 1", "✅ 1", "⛔ 1"]
    await tap_then(hr, "👍 1", "Accepted. The caseworker has been told.", on=listed)
    assert await states(r, intake_id) == [(AGRI, "accepted"), (AGRI, "accepted"), (HR, "accepted")]

    # HR cannot touch the bureau's measures, whatever data its client sends.
    training, monitoring, _loan = (m.id for m in await r.store.measures.of_intake(intake_id))
    start = len(hr.messages)
    await hr.tap_data(f"w:d:{training}:0")
    await arrives(hr, "That was not found.", after=start)
    assert (await r.store.measures.get(training)).state == "accepted"  # type: ignore[union-attr]

    # The bureau: training done; the monitoring not possible, with why.
    start = len(agri.messages)
    await tap_then(agri, "✅ 1", "the family have been told it is done", on=card_agri)
    card_agri = await arrives(agri, "👍 accept · ⏳ under way", after=start)
    assert card_agri.buttons == ["⏳ 2", "✅ 2", "⛔ 2"]
    asked = await tap_then(agri, "⛔ 2", "Type why this cannot be done", on=card_agri)
    assert "in words the family understands: they will read it" in (asked.text or "")
    await say_then(agri, WHY, "told why it cannot be done")
    assert await states(r, intake_id) == [(AGRI, "done"), (AGRI, "not_possible"), (HR, "accepted")]
    # A measure not possible is never marked done after (a replayed or forged tap).
    start = len(agri.messages)
    await agri.tap_data(f"w:d:{monitoring}:0")
    await arrives(agri, "moved on already", after=start)
    assert (await r.store.measures.get(monitoring)).state == "not_possible"  # type: ignore[union-attr]
    reason = await r.store.db.fetchone("SELECT reason FROM measures WHERE id = ?", (monitoring,))
    assert reason is not None and isinstance(reason["reason"], bytes)  # sealed at rest
    assert WHY.encode() not in reason["reason"]

    # The caseworker heard each change, and sees the states in the plan.
    await arrives(cw, f"Plan for <b>{ref}</b>: a partner reported", "done")
    await arrives(cw, "not possible", WHY)
    start = len(cw.messages)
    await cw.send(f"/open {ref}")
    card = await with_button(cw, "🗂 Household plan", after=start)
    plan = await tap_then(cw, "🗂 Household plan", f"Plan for {ref}", on=card)
    text = plan.text or ""
    assert "✅ done" in text and "⛔ not possible" in text and "👍 accepted" in text
    assert WHY in text and AGRI_NAME in text and HR_NAME in text

    # The applicant was told of done and not possible, and reads the plan in /status.
    await arrives(applicant, "News about the help for your application", "Skills training", "done")
    told = await arrives(applicant, "could not be done")
    assert f"Why: <i>{WHY}</i>" in (told.text or "")  # written for them, as asked
    status = await say_then(applicant, "/status", "The help planned for your family")
    text = status.text or ""
    assert f"Skills training</b> — {AGRI_NAME}: done" in text
    assert f"{MONITORING}</b> — {AGRI_NAME}: could not be done\n   Why: <i>{WHY}</i>" in text
    due_60 = r.services.i18n.tr("en").date(dt.date.today() + dt.timedelta(days=60))  # type: ignore[union-attr]
    assert f"A low-interest loan</b> — {HR_NAME}: they have agreed to do it, by {due_60}" in text
    await outbox_empty(r)


async def test_referrals_pages_a_partners_households_and_cancel_drops_a_draft(
    tg: FakeTelegram, r: Running
) -> None:
    """Six households with measures for the bureau: /referrals shows five, open ones first,
    then More shows the sixth; Cancel while adding a measure leaves the plan as it was."""
    work = r.services.casework  # type: ignore[union-attr]
    plans, tr = work.plans, r.services.i18n.tr("en")  # type: ignore[union-attr]
    refs = []
    for n in range(6):
        _person, ref, intake_id = await approved(r, tg, uid=6000 + n)
        await plans.start(CW, intake_id)
        await plans.pick_kind(CW, intake_id, 3)
        await plans.pick_body(CW, intake_id, AGRI, tr)
        await plans.due_in(CW, intake_id, 30)
        await plans.send(CW, intake_id)
        refs.append((ref, intake_id))
    # The first household's measure is done: it comes last.
    (first,) = await r.store.measures.of_intake(refs[0][1])
    await plans.change(AGRI, [first.id], MeasureState.DONE)
    await outbox_empty(r)

    agri = tg.user(AGRI)
    start = len(agri.messages)
    await agri.send("/referrals")
    more = await with_button(agri, "▶️ More", after=start)
    assert "5 of 6 households." in (more.text or "")
    shown = [
        m.text or "" for m in agri.messages[start:] if "What is asked of you:" in (m.text or "")
    ]
    assert len(shown) == 5 and not any(refs[0][0] in t for t in shown)
    last = await tap_then(agri, "▶️ More", refs[0][0], "What is asked of you:", on=more)
    assert "✅ done" in (last.text or "") and last.buttons == []  # finished: nothing to tap

    # The caseworker starts a measure and cancels: nothing is added.
    cw = tg.user(CW)
    _ref, intake_id = refs[1]
    start = len(cw.messages)
    await cw.tap_data(f"m:a:{intake_id}:0")
    kinds = await arrives(cw, "What help?", after=start)
    await tap_then(cw, "Cancel", "Cancelled", on=kinds)
    assert len(await r.store.measures.of_intake(intake_id)) == 1
    assert await r.store.pending.get(CW) is None


async def test_refer_from_the_card_sends_a_measure_of_a_need_the_applicant_chose(
    tg: FakeTelegram, r: Running
) -> None:
    """The card's "refer": pick the partner, then tap one of the needs the applicant
    chose (or type one); the measure is in the plan at once and its partner works it with
    the measure buttons; the applicant hears who may contact them."""
    applicant, ref, intake_id = await approved(r, tg)
    cw, hr = tg.user(CW), tg.user(HR)
    start = len(cw.messages)
    await cw.send(f"/open {ref}")
    card = await with_button(cw, "🤝 Refer to a partner", after=start)
    menu = await tap_then(cw, "🤝 Refer to a partner", "to which partner", on=card)
    assert menu.buttons == [
        f"{AGRI_NAME} (agriculture and rural affairs)",
        f"{HR_NAME} (human resources and social security)",
        "Cancel",
    ]
    needs = await tap_then(
        cw, f"{HR_NAME} (human resources and social security)", "What do you ask them", on=menu
    )
    assert "Tap what the applicant asked for, or type it" in (needs.text or "")
    assert needs.buttons == [
        "⭐ Skills training",
        "⭐ A low-interest loan",
        "⭐ Help with children's schooling",
        "Cancel",
    ]
    sent = await tap_then(cw, "⭐ A low-interest loan", "was sent, due", on=needs)
    due = dt.date.today() + dt.timedelta(days=30)
    assert f"due {due:%b} {due.day}, {due.year}." in (sent.text or "")
    assert sent.buttons == ["🗂 Household plan"]
    assert needs.buttons == []  # the needs went with the tap
    [m] = await r.store.measures.of_intake(intake_id)
    assert (m.kind, m.partner_id, m.state, m.due_on) == ("loan", HR, "proposed", due.isoformat())
    assert await r.store.cases.referrals(intake_id) == []

    to_hr = await arrives(hr, ref, "New measures for a household")
    assert "A low-interest loan" in (to_hr.text or "").split("What is asked of you:")[1]
    assert to_hr.buttons == ["👍 Accept all", "📋 Report on each"]
    await arrives(applicant, ref, f"we have also asked <b>{HR_NAME}</b> to help your family")
    # A replayed need (the prompt is gone) adds nothing.
    stale = "That referral is over"
    start = len(cw.messages)
    await cw.tap_data(f"c:rn:{intake_id}:3")
    await arrives(cw, stale, after=start)
    assert len(await r.store.measures.of_intake(intake_id)) == 1

    # The partner works it like any measure; the plan shows where it stands.
    card_hr = await tap_then(hr, "👍 Accept all", "👍 accept · ⏳ under way", on=to_hr)
    await tap_then(hr, "✅ 1", "have been told it is done", on=card_hr)
    plan = await tap_then(cw, "🗂 Household plan", f"Plan for {ref}", on=sent)
    assert f"<b>A low-interest loan</b> · {HR_NAME} · by " in (plan.text or "")
    assert "✅ done" in (plan.text or "")
    await outbox_empty(r)


async def test_a_flow_without_needs_says_so_and_takes_typed_help(
    tg: FakeTelegram, r: Running
) -> None:
    """An admin's own interview that tags no needs: the plan says so and takes the help
    typed, and the card's refer asks for it typed."""
    own = default_flow_source().replace("id: judicial-assistance", "id: our-own", 1)
    own = own.replace("tags: [stats, partner, needs]", "tags: [stats, partner]")
    await r.store.flows.publish(own)
    _applicant, ref, intake_id = await approved(r, tg)
    cw = tg.user(CW)
    start = len(cw.messages)
    await cw.send(f"/open {ref}")
    card = await with_button(cw, "🗂 Household plan", after=start)
    plan = await tap_then(cw, "🗂 Household plan", f"Plan for {ref}", on=card)
    kinds = await tap_then(cw, "➕ Add a measure", "names no kinds of help", on=plan)
    assert kinds.buttons == ["✍️ Something else (type it)", "Cancel"]
    await tap_then(cw, "Cancel", "Cancelled", on=kinds)
    menu = await tap_then(cw, "🤝 Refer to a partner", "to which partner", on=card)
    await tap_then(cw, f"{AGRI_NAME} (agriculture and rural affairs)", "Type it", on=menu)
    await say_then(cw, "Find seedlings for the orchard", "was sent, due")
    [m] = await r.store.measures.of_intake(intake_id)
    assert (m.kind, m.kind_text, m.partner_id) == (None, "Find seedlings for the orchard", AGRI)
