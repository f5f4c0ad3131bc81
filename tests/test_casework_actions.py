"""The domain names its actions and notices; the Telegram wire only draws them.

- which actions the core offers a caseworker or a partner, by the record's state and
  the roles the database gives them now (``allowed``, ``allowed_on_referral``);
- button data: every named tap fits Telegram's 64 bytes and reads back as itself, and
  nothing a client sends makes ``decode`` raise;
- notices are queued with their kind and the intake (and referral) they name, and the
  outbox sender draws their buttons from that, in the reader's language; a notice queued
  by an earlier version keeps the buttons it was stored with;
- the core renders for the channel's markup: for a plain-text channel, no tags at all;
- a partner's clue runs through the flow engine, in the partner's language, also when it
  was half typed before an upgrade.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cards import card_texts
from bot.casework import Action, Actor, Casework, Denied, Kind, allowed, allowed_on_referral
from bot.casework.decisions import normal_ref
from bot.casework.desk import Applied, Awaiting, Waiting
from bot.config import Settings
from bot.flow.engine import Screening
from bot.i18n import I18n
from bot.messages import HTML, PLAIN
from bot.store import Store
from bot.store.casework import Case
from bot.store.outbox import OutMessage
from telegram_channel.buttons import MAX_CALLBACK_BYTES, Tap, decode, encode
from telegram_channel.buttons.plan import (
    MeasureOp,
    PlanOp,
    measure_data,
    plan_data,
    read_measure,
    read_plan,
)
from telegram_channel.staff_buttons import NoticeButtons
from tests.backends import open_store
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram
from tests.helpers import old_referral, sent_intake, wait_until, with_text

FLOW = """
id: actions-test
languages: [en, zh]
title: {en: Actions test, zh: 操作测试}
steps:
  - id: consent
    type: consent
    text: {en: May we use your answers to help you?, zh: 我们可以用你的回答来帮助你吗？}
  - id: name
    type: text
    tags: [name, partner]
    text: {en: Your name?, zh: 你的姓名？}
"""

CW, CW2, PARTNER, OTHER_PARTNER, STRANGER = 2, 5, 3, 8, 9
GROUP = -100444
I18N = I18n.load()


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
        await store.roles.grant(PARTNER, "partner", label="Hotan County Bureau")
        await store.roles.grant(OTHER_PARTNER, "partner")
        work = Casework(store, I18N, settings, fmt=HTML)
        for staff in (CW, CW2, PARTNER):
            await work.seen(staff, "en", f"Staff {staff}")
        yield World(store, work)
    finally:
        await store.close()


_applicants = iter(range(1000, 100000))


async def submitted(w: World, name: str = "Zhang San") -> Case:
    answers = {"consent": True, "name": name}
    intake_id, _ref = await sent_intake(
        w.store, answers, applicant=next(_applicants), lang="en", screening=Screening((), (), 1, ())
    )
    case = await w.store.cases.get(intake_id)
    assert case is not None
    return case


async def offered(w: World, actor: int, intake_id: int) -> tuple[Action, ...]:
    return (await w.work.card(actor, intake_id)).actions


# --- the actions the core offers --------------------------------------------------------


async def test_the_actions_offered_follow_the_state_and_the_roles(world: World) -> None:
    w = world
    case = await submitted(w)
    # Whoever may read the card may print its form, until the personal data is erased.
    # Referring adds a measure to the household's plan: only its holder is offered it.
    assert await offered(w, CW, case.id) == (
        Action.CLAIM,
        Action.NOTE,
        Action.PRINT_FORM,
    )
    await w.work.claim(CW, case.id)
    assert await offered(w, CW, case.id) == (
        Action.ASK,
        Action.APPROVE,
        Action.DECLINE,
        Action.RELEASE,
        Action.REFER,
        Action.NOTE,
        Action.PRINT_FORM,
    )
    assert await offered(w, CW2, case.id) == (
        Action.TAKE_OVER,
        Action.NOTE,
        Action.PRINT_FORM,
    )

    # Decided, then the applicant asks to delete: erase or refuse; the holder still
    # refers and builds the plan, and everyone notes.
    await w.work.decline(CW, case.id, "compensated")
    await w.work.request_deletion(case.applicant_id, case.id)
    assert await offered(w, CW2, case.id) == (
        Action.ERASE,
        Action.REFUSE_DELETION,
        Action.NOTE,
        Action.PRINT_FORM,
    )
    assert await offered(w, CW, case.id) == (
        Action.ERASE,
        Action.REFUSE_DELETION,
        Action.REFER,
        Action.PLAN,
        Action.NOTE,
        Action.PRINT_FORM,
    )
    # Erased: nothing personal is left to share, nor to erase.
    await w.work.erase(CW, case.id)
    assert await offered(w, CW, case.id) == (Action.NOTE,)

    # A clue has no applicant to ask; someone who lost the role is offered nothing.
    ref = await w.work.send_clue(PARTNER, {"who": "Li Si", "where": "Red Star", "what": "hurt"})
    clue = await w.store.intakes.by_ref(ref)
    assert clue is not None
    claimed = await w.work.claim(CW, clue.id)
    assert allowed(claimed, Actor(CW, frozenset({"caseworker"})))[:3] == (
        Action.APPROVE,
        Action.DECLINE,
        Action.RELEASE,
    )
    assert allowed(claimed, Actor(CW, frozenset())) == ()
    assert allowed(claimed, Actor(CW, frozenset({"partner", "admin"}))) == ()


async def test_only_an_old_referrals_partner_is_offered_its_actions(world: World) -> None:
    """A referral kept from before the household's plan is still worked by its partner."""
    w = world
    case = await submitted(w)
    referral = await old_referral(w.store, case.id, CW, PARTNER, "Please visit")
    partner = Actor(PARTNER, frozenset({"partner"}))
    assert allowed_on_referral(referral, partner) == (
        Action.ACKNOWLEDGE,
        Action.REPORT_DONE,
        Action.RETURN,
    )
    assert allowed_on_referral(referral, Actor(OTHER_PARTNER, frozenset({"partner"}))) == ()
    assert allowed_on_referral(referral, Actor(PARTNER, frozenset({"caseworker"}))) == ()
    acknowledged = await w.work.acknowledge(PARTNER, referral.id)
    assert allowed_on_referral(acknowledged, partner) == (Action.REPORT_DONE, Action.RETURN)
    done = await w.work.report_done(PARTNER, referral.id, "monitoring")
    assert allowed_on_referral(done, partner) == ()


# --- button data ------------------------------------------------------------------------


def test_every_tap_fits_and_reads_back_as_itself() -> None:
    big = 10**18 - 1  # the largest id a button carries (SQLite's ids are smaller)
    for tap in Tap:
        data = encode(tap, big, big)
        assert len(data.encode()) <= MAX_CALLBACK_BYTES, (tap, data)
        pressed = decode(data)
        assert pressed is not None and pressed.tap is tap, (tap, data)
        assert (pressed.target, pressed.arg) == (big, big)
    # Each action has its button, found by name; the plan's are on its own board.
    for action in Action:
        if action not in (Action.SEND_CLUE, Action.PLAN):
            assert Tap.of(action).action is action
    for op in PlanOp:
        tap = read_plan(plan_data(op, big, big))
        assert tap is not None and (tap.op, tap.target, tap.arg) == (op, big, big)
    for mop in MeasureOp:
        tap = read_measure(measure_data(mop, big, big))
        assert tap is not None and (tap.op, tap.target, tap.arg) == (mop, big, big)
    codes = [(t.prefix, t.code) for t in Tap]
    assert len(codes) == len(set(codes))


async def test_every_staff_button_reaches_a_step_of_the_core_that_checks_the_role(
    world: World,
) -> None:
    """No button of the codec falls through the core's state machine unhandled: each
    one, tapped by someone without the role, is refused for the role."""
    w = world
    case = await submitted(w)
    await w.work.claim(CW, case.id)
    await w.work.refer(CW, case.id, PARTNER, "Please visit")
    referral = await old_referral(w.store, case.id, CW, PARTNER, "Please visit")
    before = await w.store.outbox.pending_count()
    for tap in Tap:
        if tap.action is None or tap.step is None:
            continue  # the channel's own views: the queue, a card, cancel
        target = referral.id if tap.prefix == "p" else case.id
        with pytest.raises(Denied):
            await w.work.desk.tap(STRANGER, tap.action, tap.step, target, 0)
    assert await w.store.pending.get(STRANGER) is None
    assert await w.store.outbox.pending_count() == before


@given(st.text(max_size=80))
def test_decoding_never_raises_whatever_a_client_sends(data: str) -> None:
    pressed = decode(data)
    if pressed is not None:
        assert data.startswith(("c:", "p:")) and len(data) <= MAX_CALLBACK_BYTES


@given(
    st.sampled_from(["c", "p", "x"]),
    st.text(alphabet="acdelmnopqrstwxz", max_size=3),
    st.text(alphabet="-0123456789²፩٣", max_size=21),
    st.text(alphabet="-0123456789²፩٣", max_size=21),
)
def test_only_ascii_ids_an_id_column_holds_are_read(
    prefix: str, code: str, target: str, arg: str
) -> None:
    pressed = decode(f"{prefix}:{code}:{target}:{arg}")
    if pressed is not None:
        assert prefix in ("c", "p")
        for given, read in ((target, pressed.target), (arg, pressed.arg)):
            digits = given.removeprefix("-")
            assert digits.isascii() and digits.isdigit() and len(digits) <= 18, given
            assert read == int(given)


# --- notices ----------------------------------------------------------------------------


async def test_notices_carry_their_kind_and_the_records_they_name(world: World) -> None:
    w = world
    case = await submitted(w)
    await w.work.claim(CW, case.id)
    await w.work.ask(CW, case.id, "Do you have the bill?")
    await w.work.reply(case.applicant_id, case.id, "Yes")
    # Referring sends the partner a measure of the plan; accepting it tells the holder.
    measure = await w.work.refer(CW, case.id, PARTNER, "Please visit")
    await w.work.plans.accept_all(PARTNER, case.id)
    # A referral from before the plan (an old database) keeps its own notices.
    referral = await old_referral(w.store, case.id, CW, PARTNER, "Please visit")
    await w.work.acknowledge(PARTNER, referral.id)
    await w.work.approve(CW, case.id, "3000")
    await w.work.request_deletion(case.applicant_id, case.id)
    queued = await w.store.outbox.due(limit=100)
    assert [(q.chat_id, q.kind, q.intake_id, q.referral_id) for q in queued] == [
        (case.chat_id, Kind.STATUS_CHANGED, case.id, None),  # a caseworker is looking
        (case.chat_id, Kind.QUESTION, case.id, None),
        (CW, Kind.REPLY, case.id, None),
        (case.chat_id, Kind.REPLY_PASSED, case.id, None),
        (PARTNER, Kind.MEASURES, case.id, None),
        (case.chat_id, Kind.REFERRED, case.id, None),
        (CW, Kind.MEASURE_CHANGED, case.id, None),
        (PARTNER, Kind.REFERRAL, case.id, referral.id),
        (CW, Kind.REFERRAL_ACKNOWLEDGED, case.id, referral.id),
        (case.chat_id, Kind.STATUS_CHANGED, case.id, None),  # approved
        (CW, Kind.DELETION_REQUESTED, case.id, None),
    ]
    assert all(q.buttons == [] and q.lang == "en" for q in queued)
    # The partner's card names the measure; the applicant hears who may contact them.
    assert "Please visit" in queued[4].text and "Hotan County Bureau" in queued[5].text
    assert measure.partner_id == PARTNER and measure.sent_at is not None

    # The channel draws the buttons from the kind: the applicant's Done on the question,
    # Open on the reply and on the request to delete, the partner's measure buttons on
    # the measures sent, the plan on a change, an old referral's three actions, none on
    # the others.
    draw = NoticeButtons(I18N)
    keyboards = [draw(q) for q in queued]
    assert [k.pairs() if k else None for k in keyboards] == [
        None,
        [[("✔️ Done: send my answer", f"y:{case.id}:d")]],
        [[("📂 Open", f"c:o:{case.id}:0")]],
        None,
        [
            [("👍 Accept all", f"w:A:{case.id}:0")],
            [("📋 Report on each", f"w:o:{case.id}:0")],
        ],
        None,
        [[("🗂 Household plan", f"m:v:{case.id}:0"), ("📂 Open", f"c:o:{case.id}:0")]],
        [
            [("👍 Acknowledge", f"p:a:{referral.id}:0")],
            [("✅ Report what was done", f"p:d:{referral.id}:0")],
            [("↩️ Return it", f"p:r:{referral.id}:0")],
        ],
        None,
        None,
        [[("📂 Open", f"c:o:{case.id}:0")]],
    ]

    # Nobody holds an intake whose applicant asks to delete: the group is told, without
    # a button (a card must never open in a group).
    unclaimed = await submitted(w, name="Li Si")
    await w.work.request_deletion(unclaimed.applicant_id, unclaimed.id)
    [alert] = [q for q in await w.store.outbox.due(limit=100) if q.chat_id == GROUP]
    assert (alert.kind, alert.intake_id) == (Kind.DELETION_REQUESTED_UNCLAIMED, unclaimed.id)
    assert draw(alert) is None


async def test_a_notice_is_drawn_in_its_readers_language_and_an_old_one_keeps_its_buttons(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    r = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await r.start()
    try:
        reader = tg.user(CW, language_code="zh-hans", first_name="王")
        zh = I18N.tr("zh")
        await r.store.outbox.add(
            [
                # As an earlier version queued it: its buttons stored, no kind.
                OutMessage(CW, "old notice X-1", [[("📂 打开", "c:o:41:0")]]),
                OutMessage(CW, "new notice X-2", kind=Kind.REPLY, intake_id=42, lang="zh"),
                OutMessage(CW, "new notice X-3", kind=Kind.REFERRAL, referral_id=7, lang="zh"),
            ]
        )
        await wait_until(lambda: len(with_text(reader, "notice X-")) == 3, 10, "three notices")
        old, reply, referral = (with_text(reader, f"X-{n}")[0] for n in (1, 2, 3))
        assert old.button_data == {"📂 打开": "c:o:41:0"}
        assert reply.button_data == {"📂 " + zh.gettext("Open"): "c:o:42:0"}
        assert list(referral.button_data.values()) == ["p:a:7:0", "p:d:7:0", "p:r:7:0"]
        assert referral.buttons[0] == "👍 " + zh.gettext("Acknowledge") != "👍 Acknowledge"
    finally:
        await r.stop()


# --- markup is the channel's ------------------------------------------------------------


async def test_the_core_writes_plain_text_for_a_plain_channel(tmp_path: Path) -> None:
    settings = Settings(token="1:x", db_path=str(tmp_path / "intake.db"), caseworker_chat=GROUP)
    store = await Store.open(settings.db_path)
    try:
        await store.flows.publish(FLOW)
        await store.roles.grant(CW, "caseworker")
        work = Casework(store, I18N, settings, fmt=PLAIN)
        w = World(store, work)
        case = await submitted(w, name="Zhang <San> & Co")
        await work.claim(CW, case.id)
        await work.ask(CW, case.id, "Bring the <hospital> bill & receipt")
        await work.reply(case.applicant_id, case.id, "ok")
        await work.approve(CW, case.id, "3000")
        texts = [q.text for q in await store.outbox.due(limit=100)]
        assert any("Bring the <hospital> bill & receipt" in t for t in texts), texts
        assert any(f"application {case.ref} is approved" in t for t in texts), texts
        assert any("CN¥3,000.00" in t for t in texts)
        card = "\n".join(card_texts(I18N.tr("en"), PLAIN, await work.card(CW, case.id), CW))
        assert f"{case.ref} · Zhang <San> & Co" in card
        assert "— Answers —" in card and "Your name?\nZhang <San> & Co" in card
        for tag in ("<b>", "</b>", "<i>", "</i>", "&lt;", "&amp;"):
            assert all(tag not in t for t in texts), (tag, texts)
            assert tag not in card, (tag, card)
    finally:
        await store.close()


# --- a partner's clue through the flow engine -------------------------------------------


@pytest.mark.parametrize(
    ("lang", "first", "then"),
    [
        ("zh", "向检察院移送线索：只有三个简短的问题。", "他们住在哪里？请写县、乡镇和村。"),
        ("ug", "تەپتىش مەھكىمىسىگە يىپ ئۇچى يوللاش: ئۈچ قىسقا سوئال.", "ناھىيە، يېزا-بازار"),
        ("en", "Send a clue to the procuratorate: three short questions.", "Where do they live?"),
    ],
)
async def test_a_clue_is_asked_by_the_flow_engine_in_the_partners_language(
    world: World, lang: str, first: str, then: str
) -> None:
    w = world
    tr = I18N.tr(lang)
    desk = w.work.desk
    start = await desk.begin_clue(PARTNER, tr)
    assert start.question is not None and start.question.first
    assert start.question.text.startswith(first + "\n\n")
    held = await w.store.pending.get(PARTNER)
    assert held is not None and held.kind == Awaiting.CLUE
    after = await desk.typed(PARTNER, tr, held, "  Li Si, widow \u202e ")
    assert isinstance(after, Waiting) and after.question is not None
    assert then in after.question.text and not after.question.first
    for answer in ("Red Star village", "Hit by a car"):
        held = await w.store.pending.get(PARTNER)
        assert held is not None
        after = await desk.typed(PARTNER, tr, held, answer)
    assert isinstance(after, Applied) and after.action is Action.SEND_CLUE
    assert after.case is not None and after.case.is_clue
    assert after.case.clue == {
        "who": "Li Si, widow",
        "where": "Red Star village",
        "what": "Hit by a car",
    }
    assert await w.store.pending.get(PARTNER) is None


async def test_a_clue_half_typed_before_an_upgrade_goes_on_where_it_was(world: World) -> None:
    w = world
    tr = I18N.tr("en")
    # What the earlier version kept: the answers so far, by field.
    await w.store.pending.set(PARTNER, "p_clue", data={"who": "Li Si"})
    held = await w.store.pending.get(PARTNER)
    assert held is not None
    after = await w.work.desk.typed(PARTNER, tr, held, "Red Star village")
    assert isinstance(after, Waiting) and after.question is not None
    assert after.question.text.startswith("What happened?")
    held = await w.store.pending.get(PARTNER)
    assert held is not None
    done = await w.work.desk.typed(PARTNER, tr, held, "Hit by a car")
    assert isinstance(done, Applied) and done.case is not None
    assert done.case.clue == {"who": "Li Si", "where": "Red Star village", "what": "Hit by a car"}


def test_a_reference_is_found_however_it_was_typed_or_read_out() -> None:
    """/open and /correct take a reference as people write it down from a phone call."""
    for typed in ("ABC-DEF", "abc-def", "abcdef", " abc def ", "ABC DEF", "abc - def"):
        assert normal_ref(typed) == "ABC-DEF", typed
    assert normal_ref("") == "" and normal_ref("   ") == ""
    assert normal_ref("ABCDEFG") == "ABCDEFG"  # no reference: found nowhere, never guessed
