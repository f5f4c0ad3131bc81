"""Caseworkers, partners and admins in Telegram, end to end, as the people involved notice it.

A real ``Application`` long-polls the fake Bot API (``tests.fakebot``) over a real SQLite file.
Applicants answer a tiny flow published for these tests; a caseworker reviews, asks, refers
and decides; the agriculture department's liaison acknowledges and reports; strangers replay
buttons. Notifications go through the outbox and its sender, so the tests wait for them (a
short poll, never a blind sleep) and then look at the chats and at the database.

Staff here read English (``language_code="en"``), so labels are the msgids; the applicant of
the locale test reads Chinese and only the amount and the reference are asserted for them, and
the caseworkers' group (no reader) is compared with the default language's catalog.

Every step waits for the message it asserts (``until=``): a handler that sends several
messages may pause between them for longer than the fake's quiet period on a busy machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.casework.terms import READS
from bot.flow import engine
from bot.flow.engine import Screening, State
from bot.store.casework import Conflict
from bot.trial import save_trial
from command_line.cli import main as cli_main
from tests.conftest import Running, make_settings
from tests.fakebot import DEFAULT_SETTLE, FakeTelegram, FakeUser, SentMessage
from tests.helpers import old_referral, wait_until, with_text

FLOW = """
id: casework-test
languages: [en, zh]
title: {en: Casework test, zh: 办案测试}
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
  - id: hurt
    type: choice
    text: {en: Were you injured by a crime?, zh: 你是否因犯罪受伤？}
    choices:
      - {value: "yes", label: {en: "Yes", zh: 是}}
      - {value: "no", label: {en: "No", zh: 否}}
  - id: papers
    type: attachments
    max_files: 3
    text: {en: Send photos of your papers., zh: 请发送材料照片。}
eligibility:
  - {id: injured, when: "hurt == 'yes'", label: {en: Injured by a crime, zh: 因犯罪受伤}}
exclusions:
  - {id: not_injured, when: "hurt == 'no'", label: {en: Not injured, zh: 未受伤}}
priority:
  - {id: rural, when: "true", points: 3, label: {en: Rural household, zh: 农村家庭}}
  - {id: injury, when: "hurt == 'yes'", points: 2, label: {en: Injury, zh: 受伤}}
"""

ADMIN, CW, PARTNER, CW2, STRANGER = 1, 2, 3, 5, 9
GROUP = -100777
BUREAU = "Hotan County Agriculture Bureau"
CASE_NO = "CASE-2024-0417"

# Labels as an English-reading caseworker sees them.
CLAIM, TAKE_OVER, ASK = "🙋 Claim", "🔁 Take over", "❓ Ask the applicant"
APPROVE, DECLINE, RELEASE = "✅ Approve", "❌ Decline", "↩️ Release"
REFER, NOTE, TO_QUEUE = "🤝 Refer to a partner", "📝 Add a note", "📋 Back to the queue"
YES_APPROVE, OPEN, CANCEL = "✅ Yes, approve", "📂 Open", "Cancel"
YES_DECLINE = "❌ Yes, decline"
SHOW_FILES = "📎 Show attachments (1)"
PRINT_FORM = "🖨 Printable form (Word)"
ANSWER_DONE = "✔️ Done: send my answer"  # the applicant's, once their answer is all sent
ACK, REPORT, RETURN = "👍 Acknowledge", "✅ Report what was done", "↩️ Return it"
# A partner's buttons on the measures of a household's plan, and the way to the plan.
ACCEPT_ALL, REPORT_EACH = "👍 Accept all", "📋 Report on each"
PLAN = "🗂 Household plan"
MONITORING = "Enrolled in poverty-return monitoring (防止返贫监测)"
COMPENSATED = "Compensation has already been received"
OTHER_REASON = "✍️ Another reason (type it)"
ONLY_CASEWORKERS = "This is only for caseworkers of the procuratorate."
ONLY_PARTNERS = "This is only for liaisons of the agriculture department."
CLAIMED_BY_OTHER = (
    "Another caseworker has claimed this application. Take it over first if you must act on it."
)

# Once the expected message is there, the rest of an answer is waited for this long.
QUICK = 0.05
ANSWERS = "— Answers —"  # on every intake card

REF_IN_TEXT = re.compile(r"<b>([A-Z0-9]{3}-[A-Z0-9]{3})</b>")


# --- the bot and helpers ----------------------------------------------------------------


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """The bot with an admin from INTAKE_ADMIN_IDS, a caseworkers' group, the test flow,
    a caseworker (Wang) and a partner (the county bureau)."""
    running = Running(
        tg,
        make_settings(
            tg, tmp_path / "intake.db", admin_ids=frozenset({ADMIN}), caseworker_chat=GROUP
        ),
    )
    await running.start()
    try:
        await running.store.flows.publish(FLOW)
        await running.store.roles.grant(CW, "caseworker")
        await running.store.roles.grant(PARTNER, "partner", label=BUREAU)
        # Staff who have talked to the bot before: their Telegram language (en) is known, so
        # what reaches them first through the outbox is in English too.
        await running.services.casework.seen(CW, "en", "Wang")  # type: ignore[union-attr]
        await running.services.casework.seen(PARTNER, "en", "Liu")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


def cw_of(tg: FakeTelegram) -> FakeUser:
    return tg.user(CW, first_name="Wang", language_code="en")


def partner_of(tg: FakeTelegram) -> FakeUser:
    return tg.user(PARTNER, first_name="Liu", language_code="en")


async def arrives(chat: Any, *needles: str, timeout: float = 8.0) -> SentMessage:
    """Wait for a message (e.g. one delivered by the outbox) containing all ``needles``."""
    await wait_until(
        lambda: with_text(chat, *needles),
        timeout,
        f"a message with {needles} in chat {chat.chat_id}; got {[m.text for m in chat.messages]}",
    )
    return with_text(chat, *needles)[-1]


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


def group_alert(r: Running, msgid: str, ref: str, priority: int | None = None) -> str:
    """The caseworkers' group alert, in the default language (a group has no reader's one)."""
    tr = r.services.i18n.tr(None)  # type: ignore[union-attr]
    head = tr.gettext(msgid).format(ref=f"<b>{ref}</b>", priority=priority)
    return head + "\n" + tr.gettext("Send /queue to the bot to review it.")


async def answer(
    person: FakeUser, action: Awaitable[Any], until: str | None = None, timeout: float = 8.0
) -> list[SentMessage]:
    """Do ``action`` and return the bot's answer in this chat.

    With ``until``, wait for a new message containing it first: a handler that sends several
    messages may pause between them longer than the fake's quiet period on a busy machine.
    """
    start = len(person.messages)
    await action
    if until is not None:
        await wait_until(
            lambda: with_text(person.messages[start:], until),
            timeout,
            f"{until!r} in chat {person.chat_id}; got {[m.text for m in person.messages[start:]]}",
        )
    replies = await person.wait_reply(timeout, settle=QUICK if until else DEFAULT_SETTLE)
    return replies + [m for m in person.messages[start:] if all(m is not x for x in replies)]


async def tap(
    person: FakeUser, label: str, message: SentMessage | None = None, until: str | None = None
) -> list[SentMessage]:
    return await answer(person, person.tap(label, message), until)


async def say(person: FakeUser, text: str, until: str | None = None) -> list[SentMessage]:
    """Type a message or a command."""
    return await answer(person, person.send(text), until)


async def tap_data(person: FakeUser, data: str, until: str | None = None) -> list[SentMessage]:
    """A callback with made-up (replayed, stale or forged) data."""
    return await answer(person, person.tap_data(data), until)


async def refused(person: FakeUser, data: str) -> str:
    """Tap ``data``; the bot only answers the callback query. Returns that answer's text."""
    update = await person.tap_data(data)
    await wait_until(lambda: person.callback_answer(update), what=f"an answer to {data}")
    return str((person.callback_answer(update) or {}).get("text"))


def said(replies: list[SentMessage], text: str) -> SentMessage:
    """The reply containing ``text`` (one of several: edits come back too)."""
    found = with_text(replies, text)
    assert found, f"no reply with {text!r}: {[str(m) for m in replies]}"
    return found[-1]


def texts(replies: list[SentMessage]) -> list[str]:
    return [m.text or "" for m in replies]


def last_with_button(person: FakeUser, label: str) -> SentMessage:
    found = [m for m in person.messages if label in m.buttons]
    assert found, f"no message with {label!r}: {[str(m) for m in person.messages]}"
    return found[-1]


# The test flow's questions, to know which one the applicant is being asked.
ASKED = {
    "en": {
        "name": "Your name?",
        "case_number": "Case number?",
        "hurt": "Were you injured by a crime?",
        "papers": "Send photos of your papers.",
    },
    "zh": {
        "name": "你的姓名？",
        "case_number": "案件编号？",
        "hurt": "你是否因犯罪受伤？",
        "papers": "请发送材料照片。",
    },
}


async def showing(person: FakeUser, check: Callable[[SentMessage], bool], what: str) -> None:
    """Wait until the newest message in the chat passes ``check``."""
    await wait_until(
        lambda: person.messages and check(person.messages[-1]),
        what=f"{what} in chat {person.chat_id}; newest: {person.messages[-1:]}",
    )


def has_button(prefix: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(b.startswith(prefix) for b in m.buttons)


def has_text(needle: str) -> Callable[[SentMessage], bool]:
    return lambda m: needle in (m.text or "")


async def submit(
    ap: FakeUser,
    name: str = "Zhang San",
    village: str = "Red Star",
    case_no: str = CASE_NO,
    hurt: bool = True,
    lang: str = "en",
) -> str:
    """The applicant answers the test flow (with one photo) and sends it; returns the ref.

    Buttons are found by their emoji, questions by the flow's own texts in ``lang``.
    """
    q = ASKED[lang]
    await ap.send("/start")
    await showing(ap, has_button("✅"), "the consent question")
    await ap.tap_containing("✅")
    await showing(ap, has_text(q["name"]), "the name question")
    await ap.send(name)
    await showing(ap, lambda m: not has_text(q["name"])(m), "the village question")
    await ap.send(village)
    await wait_until(
        lambda: [b for b in ap.current_reply_keyboard() if b.get("request_contact")],
        what="the contact-sharing button",
    )
    share = [b["text"] for b in ap.current_reply_keyboard() if b.get("request_contact")]
    await ap.press(share[0])
    await showing(ap, has_text(q["case_number"]), "the case number question")
    await ap.send(case_no)
    await showing(ap, has_text(q["hurt"]), "the injury question")
    choices = [b for b in ap.messages[-1].buttons if not b.startswith("⬅️")]
    await ap.tap(choices[0] if hurt else choices[1])
    await showing(ap, has_text(q["papers"]), "the papers question")
    await ap.send_photo()
    await showing(ap, has_button("✔️"), "the Done button")
    await ap.tap_containing("✔️")
    await showing(ap, has_button("📨"), "the summary")
    await ap.tap_containing("📨")
    await showing(ap, lambda m: bool(REF_IN_TEXT.search(m.text or "")), "the reference")
    await ap.wait_reply()
    return REF_IN_TEXT.findall(ap.messages[-1].text or "")[0]


async def intake_id(r: Running, ref: str) -> int:
    row = await r.store.db.fetchone("SELECT id FROM intakes WHERE ref = ?", (ref,))
    assert row is not None, ref
    return int(row["id"])


async def row_of(r: Running, ref: str) -> dict[str, Any]:
    """The intake's row; its reason and clue as the store reads them (sealed at rest)."""
    row = await r.store.db.fetchone(
        "SELECT id, status, assignee, amount_fen, is_clue FROM intakes WHERE ref = ?", (ref,)
    )
    assert row is not None, ref
    case = await r.store.cases.get(row["id"])
    assert case is not None
    return {**dict(row), "decision_reason": case.decision_reason, "clue": case.clue}


async def audit_actions(r: Running, ref: str) -> list[str]:
    """The changes audited on the intake (reads, such as opening its card, left out)."""
    rows = await r.store.audit.for_intake(await intake_id(r, ref))
    return [a.action for a in rows if a.action not in READS]


async def snapshot(r: Running) -> dict[str, Any]:
    """Everything a button could change: intakes, referrals, audit, pending prompts."""
    db = r.store.db
    return {
        "intakes": [
            tuple(x)
            for x in await db.fetchall(
                "SELECT id, status, assignee, amount_fen, decision_reason, decided_at"
                " FROM intakes ORDER BY id"
            )
        ],
        "referrals": [
            tuple(x)
            for x in await db.fetchall("SELECT id, status, outcome FROM referrals ORDER BY id")
        ],
        # Reads (a card opened, an ID number shown) are audited but change nothing.
        "audit": (
            await db.fetchone(
                "SELECT COUNT(*) AS n FROM audit WHERE action NOT IN ("
                + ",".join("?" * len(READS))
                + ")",
                tuple(sorted(READS)),
            )
        )["n"],  # type: ignore[index]
        "messages": (await db.fetchone("SELECT COUNT(*) AS n FROM messages"))["n"],  # type: ignore[index]
        "pending": [tuple(x) for x in await db.fetchall("SELECT user_id, kind FROM pending")],
        "roles": [tuple(x) for x in await db.fetchall("SELECT user_id, role FROM roles")],
    }


async def claimed_intake(r: Running, tg: FakeTelegram, applicant: int = 4, **kw: Any) -> str:
    """An intake submitted by ``applicant`` and claimed by the caseworker, through the bot;
    returns once the bot is idle again."""
    ap = tg.user(applicant, language_code="en", first_name="Zhang")
    ref = await submit(ap, **kw)
    cw = cw_of(tg)
    await say(cw, f"/open {ref}", until="— Answers —")
    await tap(cw, CLAIM, until="Claimed by you")
    await arrives(ap, ref, "is now looking at your application")
    await outbox_empty(r)
    await tg.wait_idle()
    return ref


async def test_an_applicant_asks_for_a_correction_after_sending(
    tg: FakeTelegram, r: Running
) -> None:
    """/mydata promises correction: /correct takes the applicant's words to the caseworker
    who holds the application, keeps them on it (sealed at rest) and in its history."""
    stranger = tg.user(44, language_code="en", first_name="Ma")
    [none] = await say(stranger, "/correct")
    assert none.text.startswith("You have no sent application to correct.")

    ref = await claimed_intake(r, tg)
    ap, cw, group = tg.user(4), cw_of(tg), tg.group(GROUP)
    asked = said(await say(ap, "/correct", until="What is wrong"), "What is wrong")
    assert asked.text.startswith(f"What is wrong in application <b>{ref}</b>, and what is right?")
    words = "My village is Red Flag, not Red Star"
    thanks = said(await say(ap, words, until="Thank you"), "Thank you")
    assert thanks.text == (
        f"Thank you. Your correction was passed to the caseworker of application <b>{ref}</b>."
        " It is kept with the application."
    )
    told = await arrives(cw, ref, "asks for a correction")
    assert told.text == (f"The applicant of <b>{ref}</b> asks for a correction:\n\n<i>{words}</i>")
    assert told.buttons == [OPEN]
    card = said(await tap(cw, OPEN, told, until=ANSWERS), ANSWERS)
    assert f"correction asked for (applicant):\n<i>{words}</i>" in card.text
    assert "intake.correction" in await audit_actions(r, ref)
    stored = await r.store.db.fetchall("SELECT body FROM messages WHERE kind = 'correction'")
    [body] = [row["body"] for row in stored]
    assert isinstance(body, bytes) and words.encode() not in body  # sealed like every message
    assert await r.store.pending.get(ap.id) is None  # the next message is not taken for it

    # Nobody holds a second one: the group hears of it, without the applicant's words.
    other = tg.user(6, language_code="en", first_name="Li")
    second = await submit(other, name="Li Si")
    await say(other, "/correct", until="What is wrong")
    await say(other, "The case number is 2024-0418", until="Thank you")
    tr = r.services.i18n.tr(None)  # type: ignore[union-attr]  # a group reads the default
    expected = tr.gettext(
        "The applicant of {ref} asks for a correction. Open it to read what they wrote."
    ).format(ref=f"<b>{second}</b>")
    alert = await arrives(group, expected)
    assert "2024-0418" not in alert.text


async def test_a_test_intake_from_try_save_is_marked_and_tells_nobody(
    tg: FakeTelegram, r: Running
) -> None:
    """``intake-bot try --save`` stores a test intake: a caseworker can open and practise on
    it, but the card and their list say it is a test, no applicant is told anything, and
    it is never sent to the agriculture department."""
    flow = await r.store.flows.active()
    out: Any = engine.start(flow)
    for given in (
        engine.Picked("consent", engine.AGREE),
        engine.Typed("Test Person"),
        engine.Typed("Test Village"),
        engine.Typed("13800000000"),
        engine.Typed("T-1"),
        engine.Picked("hurt", "yes"),
        engine.Attached({"kind": "photo", "file_id": "test-file", "unique": "t"}),
        engine.Done("papers"),
        engine.Submit(),
    ):
        out = engine.answer(flow, out.state, given)
    assert isinstance(out, engine.Completed)
    ref = (await save_trial(r.store, flow, None, "en", out)).ref
    cw = cw_of(tg)

    empty = "The queue is empty: no open applications."
    assert texts(await say(cw, "/queue", until=empty)) == [empty]  # never among real ones
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert card.text.splitlines()[1] == ("🧪 <b>Test application (intake-bot try --save).</b>"), (
        card.text
    )
    assert "Nobody applied: nobody is told what is done on it." in card.text
    assert REFER not in card.buttons and card.buttons[0] == CLAIM

    card = said(await tap(cw, CLAIM, card, until="Claimed by you"), "Claimed by you")
    mine = said(await say(cw, "/mine", until="My applications"), "My applications")
    assert f"<b>{ref}</b> · 🧪 test" in mine.text
    await tap(cw, APPROVE, card, until="Type the amount")
    confirm = said(await say(cw, "3000", until="CN¥3,000.00"), "CN¥3,000.00")
    await tap(cw, YES_APPROVE, confirm, until=f"<b>{ref}</b> is approved with CN¥3,000.00")
    assert (await row_of(r, ref))["status"] == "approved"
    await outbox_empty(r)
    await tg.wait_idle()
    # Nothing went to anyone but the caseworker: no applicant, no group, no partner.
    sent_to = {c["chat_id"] for c in tg.calls_to("sendMessage")}
    assert sent_to == {CW}, sent_to
    # A referral, even through a replayed button, is refused: no measure is made.
    with pytest.raises(Conflict) as refused_referral:
        await r.services.casework.refer(  # type: ignore[union-attr]
            CW, await intake_id(r, ref), PARTNER, "Please visit"
        )
    assert refused_referral.value.code == "wrong_status"
    assert await r.store.db.fetchall("SELECT id FROM measures") == []


# --- 1. the happy path ------------------------------------------------------------------


async def test_list_open_claim_ask_reply_refer_partner_done_approve(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    cw, partner = cw_of(tg), partner_of(tg)
    group = tg.group(GROUP)

    # The applicant sends the intake: "received" names the reference, the group is alerted.
    ref = await submit(ap)
    assert "Your reference" in ap.last().text
    alert = await arrives(group, ref)
    assert alert.text == group_alert(r, "New application: {ref} (priority {priority})", ref, 5)
    assert (await row_of(r, ref))["status"] == "submitted"

    # /queue: reference, age, priority and reasons, status, region.
    queue = said(await say(cw, "/queue", until="Open applications"), "Open applications")
    assert "1 open" in queue.text
    assert f"1. <b>{ref}</b> · today · ★5" in queue.text
    assert "received, waiting for review · Red Star" in queue.text
    assert "Rural household, Injury" in queue.text
    assert queue.buttons == [f"1. {ref}"]

    # Opening it shows the whole card, the phone unmasked for the caseworker.
    card = said(await tap(cw, f"1. {ref}", until=ANSWERS), ANSWERS)
    for shown in (
        f"<b>{ref}</b> · Zhang San",
        "Status: received, waiting for review · sent today",
        "Not claimed yet",
        "<b>Priority 5</b>: Rural household (+3), Injury (+2)",
        "<b>Pre-screen: may qualify</b>",
        "What fits the rules:",
        "• Injured by a crime",
        "people at the procuratorate decide",
        "<i>Your phone?</i>\n13800000004",
        f"<i>Case number?</i>\n{CASE_NO}",
        "<i>Were you injured by a crime?</i>\nYes",
        "— History —",
        "sent by the applicant",
    ):
        assert shown in card.text, (shown, card.text)
    assert "••" not in card.text and "What speaks against it" not in card.text
    # Referring adds a measure to the household's plan: only once it is claimed.
    assert card.buttons == [CLAIM, NOTE, SHOW_FILES, PRINT_FORM, TO_QUEUE]

    # The attachment comes back as the same photo, uploaded from our file store.
    case = await r.store.cases.get(await intake_id(r, ref))
    assert case is not None
    stored = case.state.answers["papers"]
    assert [f["kind"] for f in stored] == ["photo"]
    original = tg.file_bytes(stored[0]["file_id"])
    photos_before = len(tg.calls_to("sendPhoto"))
    await cw.tap(SHOW_FILES)
    await wait_until(lambda: cw.messages[-1].kind == "photo", what="the photo again")
    resent = await cw.wait_reply()
    sends = tg.calls_to("sendPhoto")[photos_before:]
    assert [(p["chat_id"], p["photo"].data) for p in sends] == [(CW, original)]
    assert [m.kind for m in resent] == ["photo"] and resent[0].file_bytes == original

    # Claim: the applicant hears it is in review.
    replies = await tap(cw, CLAIM, card, until="Claimed by you")
    assert said(replies, f"You have claimed <b>{ref}</b>.")
    card = said(replies, "Claimed by you")
    assert "Status: being reviewed" in card.text
    assert card.buttons[:4] == [ASK, APPROVE, DECLINE, RELEASE]
    await arrives(ap, ref, "A caseworker is now looking at your application")
    row = await row_of(r, ref)
    assert (row["status"], row["assignee"]) == ("in_review", CW)

    # Ask: the applicant gets the question; the intake waits for them.
    said(await tap(cw, ASK, until=f"question for the applicant of <b>{ref}</b>"), ref)
    await say(cw, "Do you have the hospital bill?", until="Your question was sent")
    question = await arrives(ap, ref, "the caseworker asks")
    assert "<i>Do you have the hospital bill?</i>" in question.text
    assert (await row_of(r, ref))["status"] == "awaiting_applicant"
    mine = said(await say(cw, "/mine", until="My applications"), "My applications")
    assert f"<b>{ref}</b>" in mine.text and "waiting for the applicant" in mine.text
    assert "claimed by you" in mine.text

    # The applicant's answer goes back to the caseworker once they tap Done; back in review.
    await ap.send("Yes, the bill is 5000 yuan")
    count = await arrives(ap, "Received for application", ": 1 message.")
    await ap.tap(ANSWER_DONE, count)
    thanks = await arrives(ap, ref, "Your answer was passed to the caseworker")
    assert "Yes, the bill" not in thanks.text
    back = await arrives(cw, ref, "The applicant replied on")
    assert "<i>Yes, the bill is 5000 yuan</i>" in back.text and back.buttons == [OPEN]
    assert (await row_of(r, ref))["status"] == "in_review"
    assert await r.store.pending.get(ap.id) is None

    # A note, only for caseworkers.
    card = said(await tap(cw, OPEN, back, until=ANSWERS), ANSWERS)
    assert "reply (applicant):\n<i>Yes, the bill is 5000 yuan</i>" in card.text
    assert "question (Wang):\n<i>Do you have the hospital bill?</i>" in card.text
    assert "<i>Yes, the bill is 5000 yuan</i>" in card.text
    await tap(cw, NOTE, card, until="Only caseworkers see notes.")
    assert texts(await say(cw, "Called the village committee", until="Note saved.")) == [
        "Note saved."
    ]

    # Refer to the agriculture department's liaison, with what is asked: a measure of the
    # household's plan, sent to that partner at once.
    menu = said(await tap(cw, REFER, card, until="to which partner"), "to which partner")
    assert menu.buttons == [BUREAU, CANCEL]
    await tap(cw, BUREAU, menu, until="What do you ask them to do")
    sent = said(
        await say(cw, "Please check poverty-return monitoring", until="was sent, due"),
        "was sent, due",
    )
    assert f"The measure for <b>{ref}</b> was sent" in sent.text and sent.buttons == [PLAN]
    measures = await arrives(partner, ref, "New measures for a household from the procuratorate")
    for shown in ("Zhang San", "Red Star", "13800000004", "Please check poverty-return monitoring"):
        assert shown in measures.text
    assert CASE_NO not in measures.text and "5000" not in measures.text
    assert "village committee" not in measures.text  # notes stay inside
    assert measures.buttons == [ACCEPT_ALL, REPORT_EACH]
    await arrives(ap, ref, f"we have also asked <b>{BUREAU}</b> to help your family")
    assert await r.store.db.fetchall("SELECT id FROM referrals") == []
    [m_row] = await r.store.db.fetchall("SELECT * FROM measures")
    assert (m_row["partner_id"], m_row["state"], m_row["kind"]) == (PARTNER, "proposed", None)
    assert m_row["sent_at"] is not None

    # The partner accepts, then reports it done from /referrals; the caseworker hears both,
    # the applicant hears it is done.
    await tap(partner, ACCEPT_ALL, measures, until="Accepted. The caseworker has been told.")
    told = await arrives(cw, ref, "a partner reported", "accepted")
    assert "Please check poverty-return monitoring" in told.text
    listed = said(await say(partner, "/referrals", until=ref), ref)
    assert f"<b>{ref}</b>" in listed.text and "👍 accepted" in listed.text
    assert "Zhang San" in listed.text and CASE_NO not in listed.text
    assert listed.buttons == ["⏳ 1", "✅ 1", "⛔ 1"]
    await tap(partner, "✅ 1", listed, until="have been told it is done")
    await arrives(cw, ref, "a partner reported", "✅ done")
    news = await arrives(ap, ref, "News about the help for your application")
    assert "Please check poverty-return monitoring" in news.text and "done" in news.text
    done = await r.store.measures.get(m_row["id"])  # the words are sealed at rest
    assert done is not None and (done.state, done.kind_text) == (
        "done",
        "Please check poverty-return monitoring",
    )
    # /referrals still lists the household, finished, with nothing left to tap.
    finished = said(await say(partner, "/referrals", until=ref), ref)
    assert "✅ done" in finished.text and finished.buttons == []
    # Its Accept all went with the tap; replayed, it does nothing more.
    assert measures.buttons == []
    moved = "That measure has moved on already: nothing was changed."
    replay = f"w:A:{m_row['intake_id']}:0"
    assert texts(await tap_data(partner, replay, until=moved)) == [moved]

    # The card shows the plan's measure and every step of the history.
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "— Household plan —" in card.text, card.text
    assert f"Please check poverty-return monitoring · {BUREAU} · by " in card.text
    assert "✅ done" in card.text
    for event in (
        "sent by the applicant",
        "claimed",
        "question (Wang):\n<i>Do you have the hospital bill?</i>",
        "reply (applicant):\n<i>Yes, the bill is 5000 yuan</i>",
        "plan: a measure added",
        "plan: measures sent to those responsible",
        "plan: a measure accepted",
        "plan: a measure done",
        "note (Wang):\n<i>Called the village committee</i>",
    ):
        assert event in card.text, (event, card.text)
    # Each question, reply and note is shown once, with its words, not twice.
    assert card.text.count("Do you have the hospital bill?") == 1
    assert "question to the applicant" not in card.text

    # Approve with an amount, confirmed; the applicant reads it in their locale.
    await tap(cw, APPROVE, card, until="Type the amount")
    replies = await say(cw, "3000", until="CN¥3,000.00")
    confirm = said(replies, "CN¥3,000.00")
    assert confirm.text == f"Approve <b>{ref}</b> with <b>CN¥3,000.00</b>?"
    assert confirm.buttons == [YES_APPROVE, CANCEL]
    await tap(cw, YES_APPROVE, confirm, until=f"<b>{ref}</b> is approved with CN¥3,000.00")
    approved = await arrives(ap, ref, "is approved")
    assert "<b>CN¥3,000.00</b>" in approved.text
    row = await row_of(r, ref)
    assert (row["status"], row["amount_fen"]) == ("approved", 300000)

    # Every notification to the applicant named the reference.
    seen = texts(ap.messages)
    after_submit = seen[next(i for i, t in enumerate(seen) if "Your reference" in t) :]
    assert len(after_submit) >= 6
    assert all(ref in text for text in after_submit), after_submit

    # The decided intake leaves the open queue; the audit trail has every step.
    empty = "The queue is empty: no open applications."
    assert texts(await say(cw, "/queue", until=empty)) == [empty]
    nothing = "Nothing claimed by you is open."
    assert texts(await say(cw, "/mine", until=nothing)) == [nothing]
    assert await audit_actions(r, ref) == [
        "intake.started",
        "intake.submitted",
        "intake.claimed",
        "intake.asked",
        "intake.reply_received",
        "intake.replied",
        "intake.note",
        "measure.added",
        "measure.sent",
        "measure.accepted",
        "measure.done",
        "intake.approved",
    ]
    await outbox_empty(r)


# --- 2. declining -----------------------------------------------------------------------


async def test_decline_with_a_common_reason_and_with_a_typed_one(
    tg: FakeTelegram, r: Running
) -> None:
    cw, partner = cw_of(tg), partner_of(tg)
    first = tg.user(4, language_code="en", first_name="Zhang")
    second = tg.user(6, language_code="en", first_name="Ma")

    # Not injured: the card shows the exclusion with its label.
    ref1 = await submit(first, hurt=False)
    card = said(await say(cw, f"/open {ref1}", until=ANSWERS), ANSWERS)
    assert "<b>Pre-screen: unlikely to qualify</b>" in card.text
    assert "What speaks against it:" in card.text and "• Not injured" in card.text
    assert "<b>Priority 3</b>: Rural household (+3)" in card.text
    await tap(cw, CLAIM, card, until="Claimed by you")
    menu = said(await tap(cw, DECLINE, until="declined?"), "declined?")
    assert f"Why is <b>{ref1}</b> declined?" in menu.text
    assert COMPENSATED in menu.buttons and OTHER_REASON in menu.buttons
    # Deliberate: the reason picked, then confirmed.
    ask = said(await tap(cw, COMPENSATED, menu, until=f"Decline <b>{ref1}</b>?"), "Decline")
    await tap(cw, YES_DECLINE, ask, until=f"<b>{ref1}</b> is declined.")
    told = await arrives(first, ref1, "was not approved")
    assert f"Reason: {COMPENSATED}" in told.text and "12348" in told.text
    row = await row_of(r, ref1)
    assert (row["status"], row["decision_reason"], row["amount_fen"]) == (
        "declined",
        "compensated",
        None,
    )

    # A reason in the caseworker's own words reaches the applicant as typed (escaped).
    ref2 = await submit(second, name="Ma Li", village="Blue Lake")
    await say(cw, f"/open {ref2}", until=ANSWERS)
    await tap(cw, CLAIM, until="Claimed by you")
    await tap(cw, DECLINE, until="declined?")
    await tap(cw, OTHER_REASON, until=f"reason for declining <b>{ref2}</b>")
    words = "The injury happened at work, not by a crime <see the labour bureau>"
    await say(cw, words, until=f"Decline <b>{ref2}</b>?")
    await tap(cw, YES_DECLINE, until=f"<b>{ref2}</b> is declined.")
    told = await arrives(second, ref2, "was not approved")
    assert "Reason: The injury happened at work, not by a crime &lt;see the labour bureau&gt;" in (
        told.text
    )
    assert "12348" in told.text
    row = await row_of(r, ref2)
    assert (row["status"], row["decision_reason"]) == ("declined", words)

    audits = {a.intake_id: a for a in await r.store.audit.recent(action="intake.declined")}
    assert audits[row["id"]].detail == {"reason": "other"}  # the words stay out of the audit
    assert audits[await intake_id(r, ref1)].detail == {"reason": "compensated"}
    empty = "The queue is empty: no open applications."
    assert texts(await say(cw, "/queue", until=empty)) == [empty]
    card = said(await say(cw, f"/open {ref1}", until=ANSWERS), ANSWERS)
    assert f"Declined: {COMPENSATED}" in card.text and "Status: not approved" in card.text
    assert CLAIM not in card.buttons and APPROVE not in card.buttons

    # A declined household can still be referred; the partner may say it is not possible.
    await tap(cw, REFER, card, until="to which partner")
    await tap(cw, BUREAU, until="What do you ask them to do")
    await say(cw, "Can you help with living costs?", until="was sent, due")
    measures = await arrives(partner, ref1, "Can you help with living costs?")
    await tap(partner, REPORT_EACH, measures, until="What is asked of you")
    await tap(partner, "⛔ 1", until="Type why this cannot be done")
    await say(partner, "Not in our county", until="have been told why it cannot be done")
    told = await arrives(cw, ref1, "a partner reported", "not possible")
    assert "<i>Not in our county</i>" in told.text
    row = await r.store.db.fetchone("SELECT id FROM measures")
    returned = await r.store.measures.get(row["id"])  # type: ignore[index]
    assert returned is not None
    assert (returned.state, returned.reason) == ("not_possible", "Not in our county")
    assert (await audit_actions(r, ref1))[-3:] == [
        "measure.added",
        "measure.sent",
        "measure.not_possible",
    ]


async def test_an_old_referral_is_still_worked_by_its_partner(tg: FakeTelegram, r: Running) -> None:
    """A database from before the household's plan keeps its referrals (one message, one
    report): their partner acknowledges, reports what was done or returns them with the
    old buttons and in /referrals, and the caseworker who referred hears of each."""
    cw, partner = cw_of(tg), partner_of(tg)
    ref = await claimed_intake(r, tg)
    iid = await intake_id(r, ref)
    old = await old_referral(r.store, iid, CW, PARTNER, "Please check poverty-return monitoring")
    referral = await arrives(partner, "Please check poverty-return monitoring")
    assert referral.buttons == [ACK, REPORT, RETURN]

    await tap(partner, ACK, referral, until="Acknowledged. The caseworker has been told.")
    await wait_until(lambda: referral.buttons == [REPORT, RETURN], what="Acknowledge removed")
    await arrives(cw, ref, "acknowledged by the agriculture department")
    listed = said(await say(partner, "/referrals", until=ref), ref)
    assert f"<b>{ref}</b> · acknowledged, in progress" in listed.text
    assert "Zhang San" in listed.text and CASE_NO not in listed.text
    assert listed.buttons == [REPORT, RETURN]
    outcomes = said(await tap(partner, REPORT, referral, until="What was done"), "What was done")
    assert MONITORING in outcomes.buttons
    await tap(partner, MONITORING, outcomes, until="The caseworker has been told what was done")
    told = await arrives(cw, ref, "done by the agriculture department")
    assert MONITORING in told.text
    done = await r.store.cases.referral(old.id)  # outcomes are sealed at rest
    assert done is not None and (done.status, done.outcome) == ("done", "monitoring")
    no_more = "No open referrals. Thank you."
    assert texts(await say(partner, "/referrals", until=no_more)) == [no_more]
    # The closed referral's old buttons do nothing more.
    closed = "That referral is already closed."
    assert texts(await tap(partner, REPORT, referral, until=closed)) == [closed]
    # The card still shows it, with its outcome, and its history.
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert f"{BUREAU}: done" in card.text and MONITORING in card.text
    for event in (
        "referred to the agriculture department",
        "referral acknowledged",
        "referral done",
    ):
        assert event in card.text, (event, card.text)

    # Another old referral is returned with a reason.
    second = await old_referral(r.store, iid, CW, PARTNER, "Can you help with living costs?")
    referral = await arrives(partner, "Can you help with living costs?")
    await tap(partner, RETURN, referral, until="Type why you return this referral")
    await say(partner, "Not in our county", until="The referral was returned to the caseworker.")
    told = await arrives(cw, ref, "returned by the agriculture department")
    assert "<i>Not in our county</i>" in told.text
    returned = await r.store.cases.referral(second.id)
    assert returned is not None
    assert (returned.status, returned.outcome) == ("returned", "Not in our county")
    assert (await audit_actions(r, ref))[-2:] == ["referral.sent", "referral.returned"]


# --- 3. strangers, forged buttons, revoked roles ----------------------------------------


async def test_a_stranger_sees_nothing_and_replayed_buttons_change_nothing(
    tg: FakeTelegram, r: Running
) -> None:
    cw, partner = cw_of(tg), partner_of(tg)
    ap = tg.user(4, language_code="en", first_name="Zhang")
    ref = await claimed_intake(r, tg)
    iid = await intake_id(r, ref)
    # A referral (a measure now, and an old one), so the partner's buttons have something
    # to act on.
    await tap(cw, REFER, until="to which partner")
    await tap(cw, BUREAU, until="What do you ask them to do")
    await say(cw, "Please help", until="was sent, due")
    await arrives(partner, ref, "New measures for a household")
    mid = (await r.store.db.fetchone("SELECT id FROM measures"))["id"]  # type: ignore[index]
    rid = (await old_referral(r.store, iid, CW, PARTNER, "Please visit")).id
    await arrives(partner, "Please visit")
    await outbox_empty(r)
    await tg.wait_idle()
    before = await snapshot(r)
    seen = {who.chat_id: len(who.messages) for who in (cw, partner, ap)}
    photos = len(tg.calls_to("sendPhoto")) + len(tg.calls_to("sendDocument"))

    stranger = tg.user(STRANGER, language_code="en", first_name="Nosy")
    secrets = (ref, "Zhang San", "Red Star", "13800000004", CASE_NO, BUREAU)

    def reveals_nothing(said_to_them: list[str]) -> None:
        for text in said_to_them:
            for secret in secrets:
                assert secret not in text, (secret, text)

    for command in ("/queue", "/mine", f"/open {ref}"):
        replies = await say(stranger, command, until=ONLY_CASEWORKERS)
        assert texts(replies) == [ONLY_CASEWORKERS], command
    assert texts(await say(stranger, "/referrals", until=ONLY_PARTNERS)) == [ONLY_PARTNERS]

    answers: list[str] = []
    for data in (
        f"c:cl:{iid}:0",
        f"c:to:{iid}:0",
        f"c:rl:{iid}:0",
        f"c:as:{iid}:0",
        f"c:ap:{iid}:0",
        f"c:ac:{iid}:0",
        f"c:dc:{iid}:0",
        f"c:dr:{iid}:0",
        f"c:do:{iid}:0",
        f"c:nt:{iid}:0",
        f"c:o:{iid}:0",
        f"c:at:{iid}:0",
        f"c:rf:{iid}:0",
        f"c:rp:{iid}:{PARTNER}",
        f"c:rn:{iid}:0",
        f"c:x:{iid}:0",
        "c:q:0:0",
        "c:m:0:0",
        f"p:a:{rid}:0",
        f"p:d:{rid}:0",
        f"p:o:{rid}:0",
        f"p:t:{rid}:0",
        f"p:r:{rid}:0",
        f"m:v:{iid}:0",
        f"m:a:{iid}:0",
        f"w:A:{iid}:0",
        f"w:o:{iid}:0",
        f"w:a:{mid}:0",
        f"w:d:{mid}:0",
        f"w:n:{mid}:0",
    ):
        answer_text = await refused(stranger, data)
        assert answer_text == (ONLY_CASEWORKERS if data[0] in "cm" else ONLY_PARTNERS), data
        answers.append(answer_text)
    await stranger.expect_no_reply()
    reveals_nothing(answers + texts(stranger.messages))

    # A caseworker is not a partner, and a partner is not a caseworker.
    assert await refused(cw, f"p:a:{rid}:0") == ONLY_PARTNERS
    assert await refused(cw, f"w:a:{mid}:0") == ONLY_PARTNERS
    assert await refused(partner, f"c:rn:{iid}:0") == ONLY_CASEWORKERS
    assert await refused(partner, f"c:ac:{iid}:0") == ONLY_CASEWORKERS
    assert await refused(partner, f"c:o:{iid}:0") == ONLY_CASEWORKERS
    # Another liaison cannot act on this referral, nor learn about it.
    other = tg.user(8, language_code="en", first_name="Other")
    await r.store.roles.grant(8, "partner", label="Another County")
    not_found = "That referral was not found."
    for data in (f"p:a:{rid}:0", f"p:d:{rid}:0", f"p:o:{rid}:0", f"p:r:{rid}:0"):
        assert texts(await tap_data(other, data, until=not_found)) == [not_found], data
    # Nor on the measure sent to this one.
    gone = "That was not found."
    for data in (f"w:a:{mid}:0", f"w:d:{mid}:0", f"w:n:{mid}:0", f"w:o:{iid}:0"):
        assert texts(await tap_data(other, data, until=gone)) == [gone], data
    reveals_nothing(texts(other.messages))

    await tg.wait_idle()
    await outbox_empty(r)
    # Only the grant of the second liaison (and its audit row) is new.
    expected = {**before, "roles": [*before["roles"], (8, "partner")], "audit": before["audit"] + 1}
    assert await snapshot(r) == expected
    assert {who.chat_id: len(who.messages) for who in (cw, partner, ap)} == seen
    assert len(tg.calls_to("sendPhoto")) + len(tg.calls_to("sendDocument")) == photos
    assert await r.store.pending.get(STRANGER) is None
    assert await r.store.pending.get(8) is None


async def test_forged_buttons_are_answered_harmlessly(tg: FakeTelegram, r: Running) -> None:
    cw, partner = cw_of(tg), partner_of(tg)
    ref = await claimed_intake(r, tg)
    iid = await intake_id(r, ref)
    before = await snapshot(r)

    for person, data in (
        (cw, "c:zz:abc:1"),
        (cw, "c:o:1"),
        (cw, "c:o:1:2:3"),
        (cw, f"c:o:{iid}:x"),
        (cw, "c:o:99999999999999999999999:0"),
        (partner, "p:zz:abc:1"),
        (partner, "p:a:-1"),
    ):
        assert await refused(person, data) == "That button is not valid any more.", data
    await cw.expect_no_reply()
    await partner.expect_no_reply()

    # Somebody's unsent draft is not an application to anyone.
    drafter = tg.user(6, language_code="en", first_name="Ma")
    await drafter.send("/start")
    await showing(drafter, has_button("✅"), "the consent question")
    await drafter.tap_containing("✅")
    await showing(drafter, has_text(ASKED["en"]["name"]), "the name question")
    await drafter.send("Ma Li")
    await showing(drafter, lambda m: not has_text(ASKED["en"]["name"])(m), "the next question")
    await drafter.wait_reply()
    draft = (await r.store.intakes.load_for_applicant(6)).draft
    assert draft is not None and draft.state.answers["name"] == "Ma Li"
    not_found = "That application was not found."
    for op in ("o", "cl", "nt", "rf", "at", "ap"):
        replies = await tap_data(cw, f"c:{op}:{draft.id}:0", until=not_found)
        assert texts(replies) == [not_found], op
    before = await snapshot(r)

    # Well-formed but meaningless: a plain refusal, nothing else.
    not_open = "This application is no longer open for that action."
    assert texts(await tap_data(cw, f"c:zz:{iid}:0", until=not_open)) == [not_open]
    assert texts(await tap_data(cw, "c:o:424242:0", until=not_found)) == [not_found]
    assert texts(await tap_data(cw, f"c:dr:{iid}:99", until=not_open)) == [not_open]
    no_partner = "That person is no longer a partner."
    assert texts(await tap_data(cw, f"c:rp:{iid}:{STRANGER}", until=no_partner)) == [no_partner]
    no_referral = "That referral was not found."
    assert texts(await tap_data(partner, "p:a:424242:0", until=no_referral)) == [no_referral]
    await outbox_empty(r)
    assert await snapshot(r) == before


async def test_a_revoked_caseworker_is_stopped_at_once(tg: FakeTelegram, r: Running) -> None:
    admin = tg.user(ADMIN, language_code="en", first_name="Admin")
    ap = tg.user(4, language_code="en", first_name="Zhang")
    ref = await submit(ap)
    zhao = tg.user(CW2, language_code="en", first_name="Zhao")
    await say(admin, f"/grant {CW2} caseworker", until=f"{CW2} is now caseworker.")
    card = said(await say(zhao, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert CLAIM in card.buttons

    await say(admin, f"/revoke {CW2} caseworker", until=f"{CW2} is no longer caseworker.")
    before = await snapshot(r)
    for label in (CLAIM, NOTE, SHOW_FILES):
        data = card.button_data[label]
        assert data is not None
        assert await refused(zhao, data) == ONLY_CASEWORKERS, label
    await zhao.expect_no_reply()
    assert texts(await say(zhao, "/queue", until=ONLY_CASEWORKERS)) == [ONLY_CASEWORKERS]
    assert await snapshot(r) == before
    assert (await row_of(r, ref))["assignee"] is None

    # A prompt already open when the role went is refused when the answer comes.
    await say(admin, f"/grant {CW2} caseworker", until="is now caseworker")
    card = said(await say(zhao, f"/open {ref}", until=ANSWERS), ANSWERS)
    await tap(zhao, CLAIM, card, until="Claimed by you")
    await tap(zhao, APPROVE, until="Type the amount")
    await say(admin, f"/revoke {CW2} caseworker", until="is no longer caseworker")
    assert texts(await say(zhao, "3000", until=ONLY_CASEWORKERS)) == [ONLY_CASEWORKERS]
    assert (await row_of(r, ref))["status"] == "in_review"
    assert await r.store.pending.get(CW2) is None


# --- 4. one decision, one owner ---------------------------------------------------------


async def test_replaying_the_confirmation_approves_once_in_the_applicants_locale(
    tg: FakeTelegram, r: Running
) -> None:
    cw = cw_of(tg)
    ap = tg.user(4, language_code="zh-hans", first_name="张")
    ref = await submit(ap, name="张三", village="红星村", lang="zh")
    iid = await intake_id(r, ref)
    await say(cw, f"/open {ref}", until=ANSWERS)
    await tap(cw, CLAIM, until="Claimed by you")
    await tap(cw, APPROVE, until="Type the amount")
    confirm = said(await say(cw, "三千", until="CN¥3,000.00"), "CN¥3,000.00")  # reads English

    # Three taps on the confirmation (a double tap, a replayed update): approved once, and
    # each tap answered with what was done (the caseworker may not have seen the first).
    await cw.tap(YES_APPROVE, confirm)
    await cw.tap_data(f"c:ac:{iid}:0", message_id=confirm.message_id)
    await cw.tap_data(f"c:ac:{iid}:0", message_id=confirm.message_id)
    await wait_until(
        lambda: len(with_text(cw, f"<b>{ref}</b> is approved with")) == 3,
        what="three answers",
    )
    await cw.wait_reply()
    assert not with_text(cw, "That confirmation is no longer valid."), texts(cw.messages)
    # Approve again from an old card: the intake is no longer open.
    not_open = "This application is no longer open for that action. Its status: approved."
    assert texts(await tap_data(cw, f"c:ap:{iid}:0", until=not_open)) == [not_open]

    await arrives(ap, ref, "¥3,000.00")
    await outbox_empty(r)
    await tg.wait_idle()
    approved = with_text(ap, "¥3,000.00")
    assert len(approved) == 1 and ref in approved[0].text
    assert "CN¥" not in approved[0].text  # the applicant's locale: zh
    assert (await audit_actions(r, ref)).count("intake.approved") == 1
    assert (await row_of(r, ref))["amount_fen"] == 300000


async def test_a_second_caseworker_must_take_over_explicitly(tg: FakeTelegram, r: Running) -> None:
    cw = cw_of(tg)
    ap = tg.user(4, language_code="en", first_name="Zhang")
    zhao = tg.user(CW2, language_code="en", first_name="Zhao")
    await r.store.roles.grant(CW2, "caseworker")
    ref = await claimed_intake(r, tg)
    iid = await intake_id(r, ref)
    wang_card = last_with_button(cw, APPROVE)

    queue = said(await say(zhao, "/queue", until=ref), ref)
    assert f"<b>{ref}</b>" in queue.text and "claimed by a colleague" in queue.text
    card = said(await say(zhao, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "Claimed by Wang" in card.text
    assert card.buttons == [TAKE_OVER, NOTE, SHOW_FILES, PRINT_FORM, TO_QUEUE]

    before = await snapshot(r)
    for op in ("ap", "dr", "as", "do", "cl", "rl"):
        replies = await tap_data(zhao, f"c:{op}:{iid}:0", until=CLAIMED_BY_OTHER)
        assert texts(replies) == [CLAIMED_BY_OTHER], op
        assert replies[-1].buttons == [TAKE_OVER]
    assert await snapshot(r) == before
    assert await r.store.pending.get(CW2) is None

    # Taking over is explicit, audited, and the first caseworker is told.
    replies = await tap(zhao, TAKE_OVER, until="Claimed by you")
    assert said(replies, f"You have claimed <b>{ref}</b>.")
    row = await row_of(r, ref)
    assert (row["status"], row["assignee"]) == ("in_review", CW2)
    [taken] = [a for a in await r.store.audit.for_intake(iid) if a.action == "intake.taken_over"]
    assert (taken.actor, taken.detail) == (CW2, {"from": CW})
    await arrives(cw, ref, "has been taken over by a colleague")
    assert len(with_text(ap, "is now looking at your application")) == 1  # told once

    # Wang's old card no longer decides.
    assert texts(await tap(cw, APPROVE, wang_card, until=CLAIMED_BY_OTHER)) == [CLAIMED_BY_OTHER]
    replies = await tap_data(cw, f"c:dr:{iid}:0", until=CLAIMED_BY_OTHER)
    assert texts(replies) == [CLAIMED_BY_OTHER]
    assert (await row_of(r, ref))["status"] == "in_review"

    # Zhao decides.
    await tap(zhao, DECLINE, until="declined?")
    await tap(zhao, COMPENSATED, until="Decline")
    await tap(zhao, YES_DECLINE, until="is declined")
    await arrives(ap, ref, "was not approved")
    assert (await row_of(r, ref))["status"] == "declined"
    history = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS).text
    assert "taken over" in history and "Claimed by Zhao" in history


async def test_two_caseworkers_claiming_at_once_one_wins_then_release(
    tg: FakeTelegram, r: Running
) -> None:
    cw = cw_of(tg)
    zhao = tg.user(CW2, language_code="en", first_name="Zhao")
    await r.store.roles.grant(CW2, "caseworker")
    ref = await submit(tg.user(4, language_code="en", first_name="Zhang"))
    iid = await intake_id(r, ref)
    await say(cw, f"/open {ref}", until=ANSWERS)
    await say(zhao, f"/open {ref}", until=ANSWERS)

    await cw.tap(CLAIM)
    await zhao.tap(CLAIM)

    def outcome() -> tuple[list[FakeUser], list[FakeUser]]:
        won = [p for p in (cw, zhao) if with_text(p, "Claimed by you")]
        lost = [p for p in (cw, zhao) if with_text(p, CLAIMED_BY_OTHER)]
        return won, lost

    await wait_until(lambda: sum(map(len, outcome())) >= 2, what="both taps answered")
    await cw.wait_reply()
    await zhao.wait_reply()
    won, lost = outcome()
    assert len(won) == 1 and len(lost) == 1, [texts(p.messages) for p in (cw, zhao)]
    winner, loser = won[0], lost[0]
    assert (await row_of(r, ref))["assignee"] == winner.id
    assert (await audit_actions(r, ref)).count("intake.claimed") == 1
    assert "intake.taken_over" not in await audit_actions(r, ref)

    # Releasing puts it back for anyone to claim, without a take-over.
    await tap(winner, RELEASE, until=f"You released <b>{ref}</b>; it is back in the queue.")
    assert (await row_of(r, ref))["assignee"] is None
    await tap_data(loser, f"c:cl:{iid}:0", until=f"You have claimed <b>{ref}</b>.")
    assert (await row_of(r, ref))["assignee"] == loser.id
    assert (await audit_actions(r, ref))[-2:] == ["intake.released", "intake.claimed"]
    assert "intake.taken_over" not in await audit_actions(r, ref)


async def test_the_queue_pages_by_priority_then_age(tg: FakeTelegram, r: Running) -> None:
    """Ten intakes (stored directly: the interview is not under test here)."""
    cw = cw_of(tg)
    flow = await r.store.flows.active()
    refs: dict[int, str] = {}
    for n in range(10):
        answers = {"consent": True, "name": f"Person {n}", "village": f"Village {n}"}
        draft = await r.store.intakes.create_draft(
            applicant_id=500 + n,
            chat_id=500 + n,
            lang="en",
            flow=flow,
            state=State(answers=answers),
            update_id=1,
        )
        assert draft is not None
        ref = await r.store.intakes.submit(
            draft, State(answers=answers), Screening((), (), n % 3, ("rural",)), update_id=2
        )
        assert ref is not None
        refs[n] = ref
        day = f"2024-01-{10 + n:02d}T08:00:00Z"  # n = 0 is the oldest
        await r.store.db.execute(
            "UPDATE intakes SET submitted_at = ? WHERE id = ?", (day, draft.id)
        )
    order = [refs[n] for n in sorted(refs, key=lambda n: (-(n % 3), n))]

    first = said(await say(cw, "/queue", until="page 1 of 2"), "page 1 of 2")
    assert "10 open · page 1 of 2" in first.text
    assert first.buttons == [f"{i}. {ref}" for i, ref in enumerate(order[:8], 1)] + ["Next ▶️"]
    positions = [first.text.index(f"<b>{ref}</b>") for ref in order[:8]]
    assert positions == sorted(positions)
    assert " days · ★2" in first.text and "Rural household" in first.text
    second = said(await tap(cw, "Next ▶️", first, until="page 2 of 2"), "page 2 of 2")
    assert second.buttons == ["9. " + order[8], "10. " + order[9], "◀️ Previous"]
    again = said(await tap(cw, "◀️ Previous", second, until="page 1 of 2"), "page 1 of 2")
    assert again.text == first.text


# --- 5. clues from partners -------------------------------------------------------------


async def test_a_partners_clue_enters_the_queue_as_a_clue(tg: FakeTelegram, r: Running) -> None:
    cw, partner = cw_of(tg), partner_of(tg)
    group = tg.group(GROUP)

    await say(partner, "/clue", until="Who needs help?")
    await say(partner, "Li Si, widow, two children", until="Where do they live?")
    await say(partner, "Hotan County, Red Star village", until="What happened?")
    sent = "The clue was sent to the procuratorate"
    done = said(await say(partner, "Husband killed by a hit-and-run driver", until=sent), sent)
    ref = REF_IN_TEXT.findall(done.text)[0]
    alert = await arrives(group, ref)
    assert alert.text == group_alert(r, "New clue from the agriculture department: {ref}", ref)

    row = await row_of(r, ref)
    assert (row["status"], row["is_clue"]) == ("submitted", 1)
    assert await r.store.pending.get(PARTNER) is None
    queue = said(await say(cw, "/queue", until=ref), ref)
    assert f"<b>{ref}</b> · 🔎 clue · today" in queue.text
    assert "Hotan County, Red Star village" in queue.text
    card = said(await tap(cw, f"1. {ref}", until=ANSWERS), ANSWERS)
    assert "clue from the agriculture department" in card.text
    assert "Li Si, widow, two children" in card.text and "hit-and-run" in card.text
    card = said(await tap(cw, CLAIM, card, until="Claimed by you"), "Claimed by you")
    assert ASK not in card.buttons and APPROVE in card.buttons
    assert await audit_actions(r, ref) == ["clue.received", "intake.claimed"]
    # There is no applicant to ask (even with a replayed Ask button).
    await tap_data(cw, f"c:as:{row['id']}:0", until="Type your question")
    no_applicant = "This is a clue from a partner: there is no applicant to ask."
    assert texts(await say(cw, "Who are you?", until=no_applicant)) == [no_applicant]
    assert (await row_of(r, ref))["status"] == "in_review"
    # The partner was not told "a caseworker is looking at your application".
    await outbox_empty(r)
    assert not with_text(partner, "is now looking at your application")

    # Nobody else can send a clue.
    stranger = tg.user(STRANGER, language_code="en")
    for person in (stranger, cw):
        assert texts(await say(person, "/clue", until=ONLY_PARTNERS)) == [ONLY_PARTNERS]
        assert await r.store.pending.get(person.id) is None
    clues = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM intakes WHERE is_clue = 1")
    assert clues is not None and clues["n"] == 1


# --- 5b. what people type: nothing visible, and bidi controls ---------------------------

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = "\u200b\u3164 \u2800\u00ad\u202e\ufeff"  # looks like an empty message
TYPE_IT = "Please type it as a text message, or send /cancel."


def with_bidi(people: list[FakeUser]) -> list[tuple[int, str]]:
    """Messages the bot sent these people that hold a bidi control (readers of English
    here: the bot adds its own marks only for right-to-left readers)."""
    return [
        (who.chat_id, m.text or "")
        for who in people
        for m in who.messages
        if any(ch in BIDI for ch in m.text or "")
    ]


async def test_invisible_answers_are_refused_and_bidi_controls_reach_nobody(
    tg: FakeTelegram, r: Running
) -> None:
    cw, partner = cw_of(tg), partner_of(tg)
    # A name of nothing visible is no name: refused like an empty answer, asked again.
    drafter = tg.user(6, language_code="en", first_name="Ma")
    await drafter.send("/start")
    await showing(drafter, has_button("✅"), "the consent question")
    await drafter.tap_containing("✅")
    await showing(drafter, has_text(ASKED["en"]["name"]), "the name question")
    refusal = said(await say(drafter, INVISIBLE, until="Please type an answer."), "Please type")
    assert ASKED["en"]["name"] in refusal.text
    draft = (await r.store.intakes.load_for_applicant(6)).draft
    assert draft is not None and "name" not in draft.state.answers

    # An override turning a name around is dropped; a Uyghur village stays as written.
    village = "قەشقەر يېڭىشەھەر"
    ref = await claimed_intake(r, tg, name="\u202enaS gnahZ\u202c", village=village)
    iid = await intake_id(r, ref)
    ap = tg.user(4, language_code="en", first_name="Zhang")
    case = await r.store.cases.get(iid)
    assert case is not None
    assert (case.state.answers["name"], case.state.answers["village"]) == ("naS gnahZ", village)
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert (
        f"<b>{ref}</b> · naS gnahZ" in card.text
        and f"<i>Which village?</i>\n{village}" in card.text
    )

    # The caseworker's note: nothing visible is refused and the prompt stays.
    await tap(cw, NOTE, card, until="Only caseworkers see notes.")
    assert texts(await say(cw, INVISIBLE, until=TYPE_IT)) == [TYPE_IT]
    held = await r.store.pending.get(CW)
    assert held is not None and held.kind == "cw_note"
    await say(cw, "\u2067Called\u2069 the village", until="Note saved.")
    # A question to the applicant reaches them without the controls typed into it.
    await tap(cw, ASK, card, until="question for the applicant")
    assert texts(await say(cw, "\u200b\u3164", until=TYPE_IT)) == [TYPE_IT]
    await say(cw, "\u202eBring the bill\u202c", until="Your question was sent")
    question = await arrives(ap, ref, "the caseworker asks")
    assert "<i>Bring the bill</i>" in question.text
    # The applicant's reply: nothing visible is refused, the question still waits.
    await ap.send(INVISIBLE)
    await arrives(ap, "Please write your answer as a text message.")
    assert (await row_of(r, ref))["status"] == "awaiting_applicant"
    await ap.send("\u202eok, tomorrow\u202c")
    await ap.tap(ANSWER_DONE, await arrives(ap, "Received for application", ": 1 message."))
    back = await arrives(cw, ref, "The applicant replied on")
    assert "<i>ok, tomorrow</i>" in back.text
    # A referral's request, and the partner's reason it cannot be done.
    await tap(cw, REFER, card, until="to which partner")
    await tap(cw, BUREAU, until="What do you ask them to do")
    assert texts(await say(cw, INVISIBLE, until=TYPE_IT)) == [TYPE_IT]
    await say(cw, "\u2066Please help\u2069", until="was sent, due")
    measures = await arrives(partner, ref, "New measures for a household")
    assert "<b>Please help</b>" in measures.text and "naS gnahZ" in measures.text
    await tap(partner, REPORT_EACH, measures, until="What is asked of you")
    await tap(partner, "⛔ 1", until="Type why this cannot be done")
    assert texts(await say(partner, INVISIBLE, until=TYPE_IT)) == [TYPE_IT]
    await say(partner, "\u202eNot our county", until="why it cannot be done")
    row = await r.store.db.fetchone("SELECT id FROM measures")
    assert row is not None
    returned = await r.store.measures.get(row["id"])  # reasons are sealed at rest
    assert returned is not None and returned.kind_text == "Please help"
    assert returned.reason == "Not our county"
    notes = await r.store.cases.conversation(iid)
    assert [e.body for e in notes] == ["Called the village", "Bring the bill", "ok, tomorrow"]

    # A staff member's Telegram name with an override is remembered without it.
    await r.store.roles.grant(CW2, "caseworker")
    zhao = tg.user(CW2, first_name="\u202eoahZ", language_code="en")
    await say(zhao, "/mine", until="Nothing claimed by you is open.")
    row = await r.store.db.fetchone("SELECT display_name FROM users WHERE user_id = ?", (CW2,))
    assert row is not None and row["display_name"] == "oahZ"
    # What was stored before, controls and all, is shown without them.
    await r.store.db.execute(
        "UPDATE users SET display_name = ? WHERE user_id = ?", ("\u202eoahZ", CW2)
    )
    stored = await r.store.intakes.get(iid)
    assert stored is not None
    legacy = stored.state.to_dict()  # as the previous version kept it: plain JSON text
    legacy["answers"]["name"] = "\u202enaS gnahZ\u202c"
    await r.store.db.execute("UPDATE intakes SET state = ? WHERE id = ?", (json.dumps(legacy), iid))
    await r.store.cases.add_note(iid, CW, "note", "\u2067old\u2069 note", [])
    await r.services.casework.claim(CW2, iid, take_over=True)  # type: ignore[union-attr]
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "Claimed by oahZ" in card.text and f"<b>{ref}</b> · naS gnahZ" in card.text
    assert "<i>old note</i>" in card.text
    queue = said(await say(cw, "/queue", until=ref), ref)
    assert village in queue.text
    await outbox_empty(r)
    await tg.wait_idle()
    assert with_bidi([cw, partner, ap, zhao, drafter]) == []


async def test_the_amount_prompt_refuses_odd_digits_and_huge_answers_at_once(
    tg: FakeTelegram, r: Running
) -> None:
    """The approve amount is read by the applicants' number parser: "፩" raised nothing
    here but a wall of spaces cost seconds; both are now plain refusals, and
    Arabic-Indic digits are an amount like any other."""
    cw = cw_of(tg)
    ref = await claimed_intake(r, tg)
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    await tap(cw, APPROVE, card, until="Type the amount")
    bad = "Please type an amount in yuan, for example 3000."
    for typed in ("፩", "3000" + " " * 4000 + "元x", "元" * 4000):
        assert texts(await say(cw, typed, until=bad)) == [bad]
    assert texts(await say(cw, INVISIBLE, until=TYPE_IT)) == [TYPE_IT]
    confirm = said(await say(cw, "٣٠٠٠ يۈەن", until="CN¥3,000.00"), "CN¥3,000.00")
    assert confirm.text == f"Approve <b>{ref}</b> with <b>CN¥3,000.00</b>?"
    assert (await row_of(r, ref))["status"] == "in_review"


# --- 6. the outbox through outages ------------------------------------------------------


def sends_to(tg: FakeTelegram, chat_id: int, needle: str) -> int:
    """How often the bot tried to send ``chat_id`` a message containing ``needle``."""
    return sum(
        1
        for p in tg.calls_to("sendMessage")
        if p.get("chat_id") == chat_id and needle in str(p.get("text", ""))
    )


async def test_notifications_survive_errors_and_flood_waits_exactly_once(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    ref = await claimed_intake(r, tg)  # returns with the bot idle: the faults hit the outbox
    work = r.services.casework  # type: ignore[union-attr]
    # Look for due messages often (production: every 2 s); back-off and flood waits still apply.
    r.app.bot_data["sender"].idle = 0.1  # type: ignore[attr-defined]

    # The decision is taken while Telegram fails: two 502s, then a flood wait. (Taken on the
    # service, so that no reply to the caseworker's chat uses up the injected failures.)
    tg.fail_next("sendMessage", status=502, count=2)
    tg.fail_next("sendMessage", status=429, count=1, retry_after=1)
    await work.approve(CW, await intake_id(r, ref), "3000")
    assert await r.store.outbox.pending_count() >= 1  # stored before any attempt succeeded
    await arrives(ap, ref, "is approved", timeout=20)
    await outbox_empty(r)
    await tg.wait_idle()
    assert len(with_text(ap, ref, "is approved")) == 1
    assert sends_to(tg, ap.id, "is approved") == 4  # 502, 502, 429, then delivered


async def test_a_message_pending_through_a_restart_is_delivered(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    ref = await claimed_intake(r, tg)
    tg.fail_next("sendMessage", status=503, count=1)
    await r.services.casework.decline(CW, await intake_id(r, ref), "compensated")  # type: ignore[union-attr]

    async def failed_once() -> bool:
        row = await r.store.db.fetchone("SELECT attempts FROM outbox")
        return row is not None and row["attempts"] >= 1

    await wait_until(failed_once, what="a failed attempt")
    await r.restart()  # the bot goes down with the message still owed
    await arrives(ap, ref, "was not approved", timeout=20)
    await outbox_empty(r)
    await tg.wait_idle()
    assert len(with_text(ap, ref, "was not approved")) == 1
    assert sends_to(tg, ap.id, "was not approved") == 2


async def test_a_blocked_applicant_does_not_wedge_the_sender(tg: FakeTelegram, r: Running) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    cw, partner = cw_of(tg), partner_of(tg)
    ref = await claimed_intake(r, tg)
    iid = await intake_id(r, ref)
    work = r.services.casework  # type: ignore[union-attr]

    ap.block()
    await work.approve(CW, iid, "3000")  # the applicant's notice cannot be delivered
    await work.refer(CW, iid, PARTNER, "Please visit the family")
    measures = await arrives(partner, ref, "Please visit the family")
    await outbox_empty(r)
    await tg.wait_idle()
    assert not with_text(ap, "is approved")
    assert sends_to(tg, ap.id, "is approved") == 1  # given up at once, not retried forever
    assert sends_to(tg, ap.id, "we have also asked") == 1

    # Later messages keep flowing.
    await tap(partner, ACCEPT_ALL, measures, until="Accepted")
    await arrives(cw, ref, "a partner reported", "accepted")
    await outbox_empty(r)


# --- 7. roles from the command line -----------------------------------------------------


def test_roles_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTAKE_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("INTAKE_ADMIN_IDS", "77")
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.delenv("INTAKE_CASEWORKER_CHAT", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("roles", "list")
    assert code == 0 and "77" in out and "caseworker" not in out
    code, out, _ = run("roles", "grant", "1001", "caseworker")
    assert code == 0 and "1001: caseworker granted" in out
    code, out, _ = run("roles", "grant", "1002", "partner", "--label", BUREAU)
    assert code == 0 and "1002: partner granted" in out
    code, out, _ = run("roles", "grant", "1001", "caseworker")
    assert code == 0 and "already held" in out

    code, out, _ = run("roles", "list")
    assert code == 0
    lines = [line.split() for line in out.splitlines()]
    assert ["1001", "caseworker"] in lines
    assert ["1002", "partner", *BUREAU.split()] in lines
    assert ["77", "admin", "(INTAKE_ADMIN_IDS)"] in lines
    # A partner's kind of body (for the households' plans), kept when granted again.
    code, out, _ = run("roles", "grant", "1002", "partner", "--kind", "civil_affairs")
    assert code == 0 and "already held" in out
    code, out, _ = run("roles", "grant", "1002", "partner")
    code, out, _ = run("roles", "list")
    assert ["1002", "partner", *BUREAU.split(), "(civil_affairs)"] in [
        line.split() for line in out.splitlines()
    ]
    with pytest.raises(SystemExit):
        run("roles", "grant", "1002", "partner", "--kind", "bank")  # not a kind

    code, out, _ = run("roles", "revoke", "1001", "caseworker")
    assert code == 0 and "1001: caseworker revoked" in out
    code, _, err = run("roles", "revoke", "1001", "caseworker")
    assert code == 1 and "does not have the role caseworker" in err
    code, out, _ = run("roles", "list")
    assert "caseworker" not in out and "1002" in out
    with pytest.raises(SystemExit):
        run("roles", "grant", "1003", "judge")  # not a role: argparse refuses
    with pytest.raises(SystemExit):
        run("roles", "grant", "someone", "caseworker")


# --- 8. roles in the chat ---------------------------------------------------------------


async def test_admins_grant_revoke_and_list_roles_in_the_chat(tg: FakeTelegram, r: Running) -> None:
    admin = tg.user(ADMIN, language_code="en", first_name="Admin")
    zhao = tg.user(CW2, language_code="en", first_name="Zhao")
    cw = cw_of(tg)

    async def reply(person: FakeUser, command: str, expected: str) -> None:
        """``command`` is answered with exactly one message: ``expected``."""
        assert texts(await say(person, command, until=expected)) == [expected], command

    await reply(zhao, "/queue", ONLY_CASEWORKERS)
    await reply(admin, f"/grant {CW2} caseworker", f"{CW2} is now caseworker.")
    assert await r.store.roles.has(CW2, "caseworker")
    await reply(zhao, "/queue", "The queue is empty: no open applications.")
    await reply(
        admin, f"/grant {CW2} caseworker", f"{CW2} already was caseworker; details updated."
    )
    await reply(admin, "/grant 12 partner Yutian County Bureau", "12 is now partner.")
    roles = said(await say(admin, "/roles", until="<b>Roles</b>"), "<b>Roles</b>").text
    for line in (
        f"• {CW} · caseworker",
        f"• {CW2} · caseworker",
        f"• {PARTNER} · partner · {BUREAU}",
        "• 12 · partner · Yutian County Bureau",
        f"• {ADMIN} · admin · (from INTAKE_ADMIN_IDS)",
    ):
        assert line in roles, (line, roles)
    for bad in ("/grant", "/grant x caseworker", f"/grant {CW2} judge"):
        await say(admin, bad, until="Usage: /grant USER_ID ROLE")
    await say(admin, "/revoke 5", until="Usage: /revoke USER_ID ROLE")

    await reply(admin, f"/revoke {CW2} caseworker", f"{CW2} is no longer caseworker.")
    await reply(admin, f"/revoke {CW2} caseworker", f"{CW2} did not have the role caseworker.")
    await reply(zhao, "/queue", ONLY_CASEWORKERS)

    # Everyone else, a caseworker included, is refused and changes nothing.
    before = await snapshot(r)
    for person in (cw, zhao, tg.user(STRANGER, language_code="en")):
        for command in (f"/grant {person.id} admin", f"/revoke {CW} caseworker", "/roles"):
            await reply(person, command, "This is only for admins.")
    assert await snapshot(r) == before
    granted = await r.store.audit.recent(action="role.granted")
    assert {(a.actor, a.detail["user"], a.detail["role"]) for a in granted} >= {
        (ADMIN, CW2, "caseworker"),
        (ADMIN, 12, "partner"),
    }
    [revoked] = await r.store.audit.recent(action="role.revoked")
    assert (revoked.actor, revoked.detail) == (ADMIN, {"user": CW2, "role": "caseworker"})
