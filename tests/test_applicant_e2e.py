"""The applicant's interview in Telegram, end to end, as a person would notice it.

A real ``Application`` long-polls the fake Bot API (``tests.fakebot``) and stores in a real
SQLite file (the ``bot`` fixture of ``conftest.py``); the tests play people who tap buttons,
type answers, share their phone, send photos, stickers and voice notes, and then look at what
the bot said and at what the database holds. Nothing is mocked.

Two flows are used: the embedded default (``bot/flows/judicial-assistance.yaml``), walked once
from /start to submit in English, and ``tests/flows/e2e_flow.yaml``, a small flow with every
step type that the other tests publish first (the newest published flow is the one new
intakes use).
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.flow.loader import default_flow_source, load_flow_text
from bot.flow.model import Flow
from tests.backends import deployment
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage

DEFAULT = load_flow_text(default_flow_source())
OWN_SOURCE = (Path(__file__).parent / "flows" / "e2e_flow.yaml").read_text(encoding="utf-8")
OWN = load_flow_text(OWN_SOURCE)

# Button labels as the English reader sees them (handlers/applicant.py + the en catalog).
AGREE, DECLINE = "✅ I agree", "I do not agree"
BACK, DONE, SKIP, KEEP = "⬅️ Back", "✔️ Done", "⏭ Skip", "↩️ Keep my answer"
SEND, CHANGE, TO_SUMMARY = "📨 Send", "✏️ Change an answer", "↩️ Back to the summary"
SHARE = "📱 Share my phone number"
CANCEL_YES, CANCEL_NO = "Yes, stop and delete my answers", "No, go on"
OFF, ON = "▫️ ", "✅ "

REF = re.compile(r"\b[A-Z0-9]{3}-[A-Z0-9]{3}\b")
PDF = b"%PDF-1.4 court judgment \x00\x01 end"


# --- helpers ----------------------------------------------------------------------------


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path, db_url: str) -> AsyncIterator[Running]:
    """The conftest bot without the per-person rate limit: these people answer a whole
    interview within seconds, far faster than anyone does on a phone. On each database."""
    settings = make_settings(tg, db_url, rate_limit=0, **deployment(db_url, tmp_path))
    running = Running(tg, settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def question(flow: Flow, step_id: str, lang: str = "en") -> str:
    """A step's question as the bot shows it: bold, HTML-escaped."""
    return f"<b>{html.escape(flow.pick(flow.step(step_id).text, lang), quote=False)}</b>"


def describe(replies: list[SentMessage]) -> list[str]:
    return [str(m)[:300] for m in replies]


def asks(replies: list[SentMessage], flow: Flow, step_id: str, lang: str = "en") -> SentMessage:
    """The bot's answer ends with the question of ``step_id``; returns that message."""
    assert replies, "the bot said nothing"
    last = replies[-1]
    assert question(flow, step_id, lang) in (last.text or ""), (
        f"expected the question {step_id!r} last, got {describe(replies)}"
    )
    return last


def refuses(
    replies: list[SentMessage], why: str, flow: Flow, step_id: str, lang: str = "en"
) -> SentMessage:
    """The bot says ``why`` and asks ``step_id`` again, in one message."""
    last = asks(replies, flow, step_id, lang)
    assert (last.text or "").startswith("⚠️ " + html.escape(why, quote=False)), (
        f"expected the refusal {why!r}, got {describe(replies)}"
    )
    return last


def brief(
    replies: list[SentMessage], why: str, flow: Flow, step_id: str, lang: str = "en"
) -> SentMessage:
    """A photo, a file or a sticker where it does not fit: one short message saying why
    and naming the question above, which is not sent again."""
    [only] = replies
    text = only.text or ""
    label = " ".join(flow.step(step_id).text[lang].split())
    label = label if len(label) <= 40 else label[:39] + "…"
    assert text == (
        "⚠️ "
        + html.escape(why, quote=False)
        + "\nPlease answer the question above: <b>"
        + html.escape(label, quote=False)
        + "</b>"
    ), describe(replies)
    return only


async def tap(person: FakeUser, text: str, message: SentMessage | None = None) -> list[SentMessage]:
    await person.tap(text, message)
    return await person.wait_reply()


async def intakes(bot: Running, person: FakeUser) -> list[Any]:
    return await bot.store.intakes.for_applicant(person.id)


async def answers(bot: Running, person: FakeUser) -> dict[str, Any]:
    draft = (await bot.store.intakes.load_for_applicant(person.id)).draft
    assert draft is not None, "no draft in the database"
    return draft.state.answers


async def actions(bot: Running, intake_id: int) -> list[str]:
    """The audit trail of an intake, as action names in order."""
    return [entry.action for entry in await bot.store.audit.for_intake(intake_id)]


async def current_step(bot: Running, person: FakeUser) -> str | None:
    draft = (await bot.store.intakes.load_for_applicant(person.id)).draft
    assert draft is not None, "no draft in the database"
    return draft.state.current


_TAG = re.compile(r"<[^>]+>")


def visible(message: SentMessage) -> str:
    """What a reader sees of a message: its text without markup, and its buttons."""
    parts = [html.unescape(_TAG.sub("", message.text or ""))]
    parts += message.buttons + message.reply_buttons
    return "\n".join(parts)


async def use_own_flow(bot: Running) -> None:
    await bot.store.flows.publish(OWN_SOURCE)


# The own flow answered in a plain way, step by step: (step, what the person does).
OWN_PATH: list[tuple[str, Any]] = [
    ("consent", ("tap", AGREE)),
    ("nickname", ("say", "Lao Wang")),
    ("size", ("say", "3")),
    ("earners", ("say", "1")),
    ("income", ("say", "1200.50")),
    ("event_date", ("say", "2024-03-05")),
    ("phone", ("say", "139 1234 5678")),
    ("pet", ("tap", "A cat")),
    ("pet_name", ("say", "Mimi")),
    ("needs", ("taps", [OFF + "Money", OFF + "Food", DONE])),
    ("extras", ("tap", DONE)),
    ("papers", ("document", "paper.pdf")),
    ("comment", ("tap", SKIP)),
]


async def answer_own(person: FakeUser, step_id: str) -> list[SentMessage]:
    """Answer ``step_id`` of the own flow the plain way; returns the bot's answer."""
    action = dict(OWN_PATH)[step_id]
    kind, arg = action
    if kind == "tap":
        return await tap(person, arg)
    if kind == "say":
        return await person.ask(arg)
    if kind == "taps":
        for text in arg[:-1]:
            await tap(person, text)
        return await tap(person, arg[-1])
    assert kind == "document"
    await person.send_document(arg, PDF)
    await person.wait_reply()
    await person.tap_containing(DONE)
    return await person.wait_reply()


async def start_own(person: FakeUser, until: str) -> list[SentMessage]:
    """/start on the own flow and answer plainly until the question ``until`` is asked."""
    replies = await person.ask("/start")
    for step_id, _ in OWN_PATH:
        if step_id == until:
            break
        replies = await answer_own(person, step_id)
    if until == "review":
        assert "Please check your answers before sending:" in (replies[-1].text or ""), describe(
            replies
        )
    else:
        asks(replies, OWN, until)
    return replies


# --- the default flow, walked once in English --------------------------------------------


async def test_default_flow_in_english_from_start_to_submit(tg: FakeTelegram, bot: Running) -> None:
    """A crime-injury victim, not compensated, disabled, no earners, urgent medical need."""
    li = tg.user(3001, first_name="Li", language_code="en")
    F = DEFAULT

    # /start: the welcome note, then the consent question.
    replies = await li.ask("/start")
    assert replies[0].text == html.escape(F.pick(F.step("welcome").text, "en"), quote=False)
    consent = asks(replies, F, "consent")
    assert consent.buttons == [AGREE, DECLINE, BACK]
    [draft] = await intakes(bot, li)
    assert (draft.status, draft.flow_id, draft.lang) == ("draft", "judicial-assistance", "en")

    # Words where a button is wanted are refused, and the question is asked again.
    consent = refuses(
        await li.ask("ok"), "Please tap one of the buttons under the question.", F, "consent"
    )

    replies = await tap(li, AGREE)
    assert replies[0] is consent  # the answered question shows the answer, without buttons
    assert consent.buttons == [] and consent.text.endswith("✔️ Agreed")
    who = asks(replies, F, "applying_for")
    assert who.buttons == [
        "For myself",
        "For a family member",
        "For a villager (I am a village official or helper)",
        BACK,
    ]
    assert (await answers(bot, li)) == {"consent": True}

    replies = await tap(li, "For myself")
    assert who.text == question(F, "applying_for") + "\n\n✔️ For myself" and who.buttons == []
    name_q = asks(replies, F, "name")  # relationship and helper_role are not relevant
    assert name_q.buttons == [BACK]

    # Stickers and voice messages are not text: refused with the reason in a short line
    # that points to the question above, which is not sent again each time.
    await li.send_sticker()
    brief(await li.wait_reply(), "This question cannot take a sticker.", F, "name")
    await li.send_voice()
    brief(await li.wait_reply(), "This question cannot take a voice message.", F, "name")
    asks(await li.ask("Li Hua"), F, "birth_date")

    refuses(
        await li.ask("the eighth of March"),
        "Please send a date like 2024-03-05 (year-month-day).",
        F,
        "birth_date",
    )
    refuses(
        await li.ask("1899-12-31"),
        "That date is too early: it must be Jan 1, 1900 or later.",
        F,
        "birth_date",
    )
    refused = (await li.ask("2999-01-01"))[-1]
    assert refused.text.startswith("⚠️ That date is too late: it must be ")
    replies = await li.ask("1975-03-08")
    asks(replies, F, "sensitive_consent")  # an adult: no guardian questions
    replies = await tap(li, AGREE)
    asks(replies, F, "id_number")
    # The ID number's check digit catches a typo while the card is at hand.
    refuses(
        await li.ask("430321197503080024"),
        "That ID card number does not add up: a digit is probably wrong or two are swapped.",
        F,
        "id_number",
    )
    replies = await li.ask("430321 19750308 0023")
    asks(replies, F, "county")
    asks(await li.ask("Xiangtan County"), F, "township")
    asks(await li.ask("Huashi"), F, "village")
    rural = asks(await li.ask("Shuangfeng"), F, "rural")

    # A choice may also be typed; the old question keeps its buttons, and tapping one of
    # them later says the question has moved on and shows the current one.
    asks(await li.ask("Yes"), F, "what_happened")
    assert "No" in rural.buttons
    replies = await tap(li, "No", rural)
    refuses(
        replies,
        "That button belongs to an earlier question. Here is the current one.",
        F,
        "what_happened",
    )
    assert (await answers(bot, li))["rural"] == "yes"
    # A forged button (an intake that is not theirs) changes nothing either.
    before = await answers(bot, li)
    await li.tap_data("a:999999:0:c:0")
    refuses(
        await li.wait_reply(),
        "That button belongs to an earlier question. Here is the current one.",
        F,
        "what_happened",
    )
    assert await answers(bot, li) == before
    assert await current_step(bot, li) == "what_happened"

    asks(await tap(li, "Injured by a crime"), F, "injury")
    asks(await tap(li, "A serious injury (重伤), or a serious lasting disability"), F, "authority")
    asks(await tap(li, "The court"), F, "authority_name")
    asks(await li.ask("Xiangtan County People's Court"), F, "case_stage")
    replies = await tap(li, "The court has given its judgment")
    case_number = asks(replies, F, "case_number")
    assert case_number.buttons == [SKIP, BACK]  # optional text: Skip
    asks(await tap(li, SKIP), F, "own_fault")
    asks(await tap(li, "No"), F, "compensation")
    asks(await tap(li, "None at all"), F, "no_compensation_reason")
    hardship = asks(await tap(li, "The other side has no money to pay"), F, "hardship")

    # multi_choice: a tap marks the choice in place, a second tap removes the mark.
    assert hardship.buttons[0] == OFF + "High medical costs" and hardship.buttons[-2:] == [
        DONE,
        BACK,
    ]
    [edited] = await tap(li, OFF + "High medical costs")
    assert edited is hardship and hardship.buttons[0] == ON + "High medical costs"
    await tap(li, OFF + "Debts")
    assert (
        ON + "Debts" in hardship.buttons
        and "Chosen so far: High medical costs, Debts" in hardship.text
    )
    await tap(li, ON + "Debts")
    assert OFF + "Debts" in hardship.buttons and ON + "Debts" not in hardship.buttons
    assert ON + "High medical costs" in hardship.buttons
    replies = await tap(li, DONE)
    assert hardship.text.endswith("✔️ High medical costs") and hardship.buttons == []
    asks(replies, F, "hardship_caused_by_case")
    asks(await tap(li, "Yes"), F, "medical_urgent")
    asks(await tap(li, "Yes"), F, "household_size")
    assert (await answers(bot, li))["hardship"] == ["medical"]

    # Numbers: not a number, out of range, then a failed constraint with the flow's message.
    refuses(await li.ask("four"), "Please send a number, for example 3.", F, "household_size")
    refuses(
        await li.ask("0"), "That number is too small: it must be at least 1.", F, "household_size"
    )
    refuses(
        await li.ask("31"), "That number is too large: it must be at most 30.", F, "household_size"
    )
    refuses(
        await li.ask("2.5"),
        "Please send a whole number, without a decimal point.",
        F,
        "household_size",
    )
    asks(await li.ask("4"), F, "earners")
    refuses(
        await li.ask("5"), "That is more than the number of people in the household.", F, "earners"
    )
    asks(await li.ask("0"), F, "monthly_income")
    groups = asks(await li.ask("350.5"), F, "groups")
    assert groups.buttons[-3:] == [DONE, SKIP, BACK]  # optional: Done with none, or Skip
    await tap(li, OFF + "A person with a disability")
    assert ON + "A person with a disability" in groups.buttons
    asks(await tap(li, DONE), F, "social_assistance")
    asks(await tap(li, DONE), F, "work_ability")  # optional multi_choice: nothing chosen
    asks(await tap(li, "No, not at all"), F, "help_wanted")
    await tap(li, OFF + "An assistance payment (救助金)")
    await tap(li, OFF + "Help with medical costs")
    phone_q = asks(await tap(li, DONE), F, "phone")

    # Phone: a reply keyboard with the contact-sharing button; a bad number is refused.
    assert phone_q.reply_keyboard[0] == {"text": SHARE, "request_contact": True}
    assert BACK in phone_q.reply_buttons
    refused = refuses(
        await li.ask("12345"),
        "That does not look like a phone number. Please send it like 13812345678.",
        F,
        "phone",
    )
    assert refused.reply_keyboard[0].get("request_contact") is True
    await li.press(SHARE)
    replies = await li.wait_reply()
    assert li.phone_number == "+8613800003001"
    assert replies[0].text == "✔️ 138••••••01" and replies[0].removes_keyboard
    docs = asks(replies, F, "documents")
    assert li.current_reply_keyboard() == []
    assert docs.buttons == [SKIP, BACK]  # no Done before a file arrived
    assert (await answers(bot, li))["phone"] == "13800003001"

    # An attachment: a photo, then Done.
    photo = await li.send_photo()
    [received] = await li.wait_reply()  # a short receipt, not the whole question again
    assert received.text == "✔️ 1 file received.\nSend more, or tap Done."
    assert received.buttons == ["✔️ Done (1 received)", SKIP, BACK]
    await li.tap_containing(DONE)
    asks(await li.wait_reply(), F, "description")
    stored = (await answers(bot, li))["documents"]
    assert [d["file_id"] for d in stored] == [photo["message"]["photo"][-1]["file_id"]]
    assert stored[0]["kind"] == "photo"

    # Free text with characters that mean something in HTML reaches the review intact.
    replies = await li.ask("My son & I can't work <since March>")
    review = replies[-1]
    summary = "\n".join(m.text or "" for m in replies)
    assert summary.startswith("<b>Please check your answers before sending:</b>")
    for shown in (
        "1. Who are you applying for?",
        "→ <b>For myself</b>",
        "→ <b>Li Hua</b>",
        "→ <b>Mar 8, 1975</b>",
        "→ <b>Injured by a crime</b>",
        "→ <b>(no answer)</b>",  # the skipped case number
        "→ <b>None at all</b>",
        "→ <b>High medical costs</b>",
        "→ <b>4</b>",
        "→ <b>0</b>",
        "→ <b>350.5</b>",
        "→ <b>A person with a disability</b>",
        "→ <b>(none)</b>",  # social assistance: nothing chosen
        "→ <b>An assistance payment (救助金), Help with medical costs</b>",
        "→ <b>13800003001</b>",  # their own phone, whole: a typo in it can be seen
        "→ <b>1 file</b>",
        "→ <b>My son &amp; I can't work &lt;since March&gt;</b>",
    ):
        assert shown in summary, f"{shown!r} missing from the review: {summary}"
    assert "••" not in summary
    assert html.escape(F.step("relationship").text["en"], quote=False) not in summary
    assert review.buttons == [SEND, CHANGE, BACK]

    # Send: a reference, kept in the database with the screening and an audit row.
    replies = await tap(li, SEND)
    assert review.buttons == []
    thanks = replies[-1]
    assert thanks.text.startswith("Thank you. Your application has been sent.")
    found = REF.search(thanks.text)
    assert found, thanks.text
    ref = found.group(0)
    assert f"Your reference: <b>{ref}</b>" in thanks.text

    [intake] = await intakes(bot, li)
    assert intake.status == "submitted" and intake.ref == ref and intake.submitted_at
    assert intake.state.answers["name"] == "Li Hua"
    assert intake.state.answers["household_size"] == 4 and intake.state.answers["earners"] == 0
    assert intake.state.answers["monthly_income"] == 350.5
    assert intake.state.answers["groups"] == ["disabled"]
    assert intake.state.answers["social_assistance"] == []
    assert intake.state.answers["help_wanted"] == ["payment", "medical"]
    assert intake.state.answers["description"] == "My son & I can't work <since March>"
    assert intake.state.answers["case_number"] is None
    assert "relationship" not in intake.state.answers
    assert intake.state.answers["id_number"] == "430321197503080023"
    assert intake.state.answers["authority"] == "court"
    screening = intake.screening
    assert screening is not None
    # A serious injury, the offender cannot pay: it fits; the disability counts for priority.
    assert screening.eligibility == ("serious_injury",)
    assert screening.exclusions == () and screening.verdict == "likely"
    assert set(screening.priority_reasons) == {"urgent_medical", "disability", "no_income"}
    assert screening.priority == intake.priority == 5 + 3 + 3
    audit = await bot.store.audit.for_intake(intake.id)
    submitted = [a for a in audit if a.action == "intake.submitted"]
    assert len(submitted) == 1 and submitted[0].detail["ref"] == ref
    assert submitted[0].actor == li.id
    assert "Li Hua" not in str([a.detail for a in audit])  # no answers in the audit trail

    # The old Send button does nothing twice: it says there is nothing in progress.
    assert review.button_data == {}  # the review lost its buttons when it was sent
    await li.tap_data(f"r:{intake.id}:u:0", review.message_id)
    [said] = await li.wait_reply()
    assert "There is no application in progress." in said.text
    assert (await actions(bot, intake.id)).count("intake.submitted") == 1

    # /status: the reference and the status in plain words.
    [status] = await li.ask("/status")
    assert f"<b>{ref}</b> — received, waiting for review" in status.text
    assert "sent on " in status.text


# --- the same start in Chinese ------------------------------------------------------------

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_COMMAND = re.compile(r"/[a-z]+")


def english_in(message: SentMessage) -> list[str]:
    return _LATIN_WORD.findall(_COMMAND.sub("", visible(message)))


async def test_default_flow_start_in_chinese(tg: FakeTelegram, bot: Running) -> None:
    wang = tg.user(3002, first_name="王", language_code="zh-hans")
    F = DEFAULT

    replies = await wang.ask("/start")
    assert replies[0].text == html.escape(F.pick(F.step("welcome").text, "zh"), quote=False)
    consent = asks(replies, F, "consent", "zh")
    assert consent.buttons == ["✅ 我同意", "我不同意", "⬅️ 返回"]
    replies = await tap(wang, "✅ 我同意")
    assert consent.text.endswith("✔️ 已同意")
    who = asks(replies, F, "applying_for", "zh")
    assert "您是为谁申请？" in who.text
    assert who.buttons == ["为我自己", "为家里人", "替村民申请（村干部、帮扶干部）", "⬅️ 返回"]
    replies = await tap(wang, "为我自己")
    asks(replies, F, "name", "zh")
    await wang.send_sticker()
    refuses(await wang.wait_reply(), "这个问题不能用表情贴纸回答。", F, "name", "zh")
    refuses(await wang.ask("x" * 51), "太长了：最多50个字，您写了51个字。", F, "name", "zh")
    asks(await wang.ask("王小明"), F, "birth_date", "zh")
    await wang.ask("/help")
    [draft] = await intakes(bot, wang)
    assert draft.lang == "zh"

    seen = wang.messages
    assert len(seen) >= 8
    leaks = {m.message_id: english_in(m) for m in seen if english_in(m)}
    assert leaks == {}, f"English on a Chinese reader's screen: {leaks}"


# --- the own test flow: every step type ---------------------------------------------------


async def test_own_flow_every_step_type_refusals_and_submit(tg: FakeTelegram, bot: Running) -> None:
    await use_own_flow(bot)
    zhao = tg.user(3003, first_name="Zhao", language_code="en")
    F = OWN

    replies = await zhao.ask("/start")
    assert replies[0].text == "Hello, this is the test flow."
    asks(replies, F, "consent")
    [draft] = await intakes(bot, zhao)
    assert draft.flow_id == "e2e-test"
    refuses(
        await tap(zhao, BACK),
        "This is the first question; there is nothing before it.",
        F,
        "consent",
    )
    asks(await tap(zhao, AGREE), F, "nickname")

    # text, max_length 20
    refuses(
        await zhao.ask("x" * 21),
        "That is too long: at most 20 characters, yours has 21.",
        F,
        "nickname",
    )
    await zhao.send_voice()
    brief(await zhao.wait_reply(), "This question cannot take a voice message.", F, "nickname")
    # Three photos (an album): three short lines, never the question three times.
    for _ in range(3):
        await zhao.send_photo()
        brief(await zhao.wait_reply(), "This question cannot take a photo.", F, "nickname")
    asks(await zhao.ask("  Lao Wang  "), F, "size")

    # number, min 1 max 10 (the default walk tries the other number refusals)
    refuses(await zhao.ask("abc"), "Please send a number, for example 3.", F, "size")
    await zhao.send_contact()
    brief(await zhao.wait_reply(), "This question cannot take a contact.", F, "size")
    refuses(await zhao.ask("11"), "That number is too large: it must be at most 10.", F, "size")
    asks(await zhao.ask("3"), F, "earners")
    refuses(await zhao.ask("4"), "There cannot be more earners than people.", F, "earners")
    asks(await zhao.ask("0"), F, "income")

    # number with integer: false
    refuses(await zhao.ask("-1"), "That number is too small: it must be at least 0.", F, "income")
    asks(await zhao.ask("1200.50"), F, "event_date")

    # date with min and max
    refuses(
        await zhao.ask("1999-12-31"),
        "That date is too early: it must be Jan 1, 2000 or later.",
        F,
        "event_date",
    )
    assert (await zhao.ask("2999-01-01"))[-1].text.startswith(
        "⚠️ That date is too late: it must be "
    )
    phone_q = asks(await zhao.ask("2024/3/5"), F, "phone")

    # phone, typed; its Back is on the reply keyboard
    assert phone_q.reply_buttons == [SHARE, BACK]
    await zhao.press(BACK)
    replies = await zhao.wait_reply()
    # The keyboard goes away with a plain arrow: no check mark, as nothing was answered.
    assert replies[0].text == "⬅️" and replies[0].removes_keyboard
    event_date = asks(replies, F, "event_date")
    assert "Your answer before: Mar 5, 2024" in event_date.text
    assert zhao.current_reply_keyboard() == []
    phone_q = asks(await tap(zhao, KEEP), F, "phone")
    refuses(
        await zhao.ask("call me"),
        "That does not look like a phone number. Please send it like 13812345678.",
        F,
        "phone",
    )
    replies = await zhao.ask("139 1234 5678")
    assert replies[0].text == "✔️ 139••••••78" and replies[0].removes_keyboard
    pet = asks(replies, F, "pet")

    # choice, then a relevant text and a relevant note
    assert pet.buttons == ["A cat", "A dog", "No pet", BACK]
    refuses(
        await zhao.ask("a parrot"), "Please tap one of the buttons under the question.", F, "pet"
    )
    asks(await tap(zhao, "A dog"), F, "pet_name")
    replies = await zhao.ask("Wangcai")
    assert "Cats are welcome here." not in [m.text for m in replies]  # the note is for cats
    needs = asks(replies, F, "needs")

    # multi_choice, required
    refuses(await tap(zhao, DONE), "Please choose at least one, then tap Done.", F, "needs")
    needs = zhao.last()
    await tap(zhao, OFF + "Advice", needs)
    await tap(zhao, OFF + "Food", needs)
    assert needs.buttons[:3] == [OFF + "Money", ON + "Advice", ON + "Food"]
    extras = asks(await tap(zhao, DONE, needs), F, "extras")

    # multi_choice, optional: Done with nothing chosen
    assert extras.buttons == [OFF + "Tea", OFF + "Cake", DONE, SKIP, BACK]
    papers = asks(await tap(zhao, DONE), F, "papers")

    # attachments: words are refused, a document is taken, Done appears
    assert papers.buttons == [BACK]
    refuses(
        await zhao.ask("here they are"), "Please send a photo or a file, or tap Done.", F, "papers"
    )
    sent = await zhao.send_document("judgment.pdf", PDF)
    [received] = await zhao.wait_reply()
    assert received.text == "✔️ 1 file received.\nSend more, or tap Done."
    assert received.buttons == ["✔️ Done (1 received)", BACK]
    comment = asks(await tap(zhao, "✔️ Done (1 received)"), F, "comment")

    # optional text, skipped
    assert comment.buttons == [SKIP, BACK]
    replies = await tap(zhao, SKIP)
    review = replies[-1]
    summary = "\n".join(m.text or "" for m in replies)
    assert "Please check your answers before sending:" in summary
    for shown in (
        "→ <b>Lao Wang</b>",
        "→ <b>3</b>",
        "→ <b>0</b>",
        "→ <b>1,200.5</b>",
        "→ <b>Mar 5, 2024</b>",
        "→ <b>13912345678</b>",
        "→ <b>A dog</b>",
        "→ <b>Wangcai</b>",
        "→ <b>Advice, Food</b>",
        "→ <b>(none)</b>",
        "→ <b>1 file</b>",
        "→ <b>(no answer)</b>",
    ):
        assert shown in summary, f"{shown!r} missing from the review: {summary}"
    assert "••" not in summary

    await tap(zhao, SEND, review)
    [intake] = await intakes(bot, zhao)
    assert intake.status == "submitted" and REF.fullmatch(intake.ref or "")
    document = sent["message"]["document"]
    assert intake.state.answers == {
        "consent": True,
        "nickname": "Lao Wang",
        "size": 3,
        "earners": 0,
        "income": 1200.5,
        "event_date": "2024-03-05",
        "phone": "13912345678",
        "pet": "dog",
        "pet_name": "Wangcai",
        "needs": ["advice", "food"],
        "extras": [],
        "papers": [
            {
                "kind": "document",
                "file_id": document["file_id"],
                "unique": document["file_unique_id"],
                "name": "judgment.pdf",
                "mime": "application/pdf",
                "size": len(PDF),
            }
        ],
        "comment": None,
    }
    assert intake.screening is not None
    assert intake.screening.eligibility == ("no_income",)
    assert intake.screening.exclusions == ("has_dog",)
    assert intake.screening.priority == 4


async def test_consent_declined_keeps_nothing(tg: FakeTelegram, bot: Running) -> None:
    await use_own_flow(bot)
    ma = tg.user(3004, language_code="en")
    await ma.ask("/start")
    before = len(ma.messages)
    tg.duplicate_next_update()  # the tap arrives twice: answered once
    await ma.tap(DECLINE)
    replies = await ma.wait_reply()
    await tg.wait_idle()
    assert len(ma.messages) == before + 1, describe(ma.messages[before:])
    assert replies[-1].text == (
        "You did not agree, so nothing was saved.\n\n"
        "You can still apply without this chat: in person at the service hall of your county"
        " procuratorate, or by phone on 12309.\n\n"
        "If you change your mind, send /start."
    )
    assert await intakes(bot, ma) == []
    assert (await bot.store.intakes.load_for_applicant(ma.id)).draft is None
    # Changing their mind: /start begins again.
    asks(await ma.ask("/start"), OWN, "consent")


async def test_a_reader_whose_language_the_flow_lacks_gets_its_first_language(
    tg: FakeTelegram, bot: Running
) -> None:
    await use_own_flow(bot)
    alim = tg.user(3005, language_code="ug")
    replies = await alim.ask("/start")
    assert replies[0].text == "Hello, this is the test flow."  # en: the flow's first language
    consent = asks(replies, OWN, "consent")
    assert consent.buttons[0] == "✅ قوشۇلىمەن"  # the interface itself in Uyghur


# --- back, keep, change ------------------------------------------------------------------


async def test_back_keep_and_a_changed_answer_drops_what_no_longer_applies(
    tg: FakeTelegram, bot: Running
) -> None:
    await use_own_flow(bot)
    sun = tg.user(3006, language_code="en")
    F = OWN
    await start_own(sun, "earners")

    # Back shows the previous question with its previous answer and a Keep button.
    earners = sun.last()
    replies = await tap(sun, BACK)
    assert earners.buttons == []  # the question left behind loses its buttons
    size = asks(replies, F, "size")
    assert "Your answer before: 3" in size.text
    assert size.buttons == [KEEP, BACK]
    assert await current_step(bot, sun) == "size"
    asks(await tap(sun, KEEP), F, "earners")
    assert (await answers(bot, sun))["size"] == 3

    for step_id in ("earners", "income", "event_date", "phone", "pet"):
        await answer_own(sun, step_id)
    replies = await answer_own(sun, "pet_name")
    assert "Cats are welcome here." in [m.text for m in replies]
    asks(replies, F, "needs")
    assert (await answers(bot, sun))["pet_name"] == "Mimi"

    # Back twice: the pet's name, then the pet, each with the answer given.
    pet_name = asks(await tap(sun, BACK), F, "pet_name")
    assert "Your answer before: Mimi" in pet_name.text and pet_name.buttons == [KEEP, BACK]
    pet = asks(await tap(sun, BACK), F, "pet")
    assert "Your answer before: A cat" in pet.text
    assert pet.buttons == ["A cat", "A dog", "No pet", KEEP, BACK]

    # Back once more, to the phone: Keep is on its reply keyboard.
    phone = asks(await tap(sun, BACK), F, "phone")
    assert phone.reply_buttons == [SHARE, KEEP, BACK]
    assert "Your answer before: 139••••••78" in phone.text
    await sun.press(KEEP)
    replies = await sun.wait_reply()
    assert replies[0].text == "✔️ 139••••••78" and replies[0].removes_keyboard
    asks(replies, F, "pet")

    # No pet after all: the pet's name is no longer asked, and the stored one is dropped.
    replies = await tap(sun, "No pet")
    assert "Cats are welcome here." not in [m.text for m in replies]
    asks(replies, F, "needs")
    stored = await answers(bot, sun)
    assert stored["pet"] == "none" and "pet_name" not in stored
    # Back from here skips the irrelevant question too.
    asks(await tap(sun, BACK), F, "pet")
    asks(await tap(sun, KEEP), F, "needs")
    for step_id in ("needs", "extras", "papers"):
        await answer_own(sun, step_id)
    replies = await answer_own(sun, "comment")
    summary = "\n".join(m.text or "" for m in replies)
    assert "→ <b>No pet</b>" in summary
    assert html.escape(F.step("pet_name").text["en"]) not in summary and "Mimi" not in summary


async def test_review_change_an_answer(tg: FakeTelegram, bot: Running) -> None:
    await use_own_flow(bot)
    qian = tg.user(3007, language_code="en")
    replies = await start_own(qian, "review")
    review = replies[-1]
    assert "→ <b>Lao Wang</b>" in "\n".join(m.text or "" for m in replies)
    [draft] = await intakes(bot, qian)

    # Back from the review: the last question, with Keep; a forged Send there submits nothing.
    replies = await tap(qian, BACK, review)
    assert review.buttons == []
    comment = asks(replies, OWN, "comment")
    assert "Your answer before: (no answer)" in comment.text
    assert comment.buttons == [KEEP, SKIP, BACK]
    await qian.tap_data(f"r:{draft.id}:u:0", review.message_id)
    refuses(
        await qian.wait_reply(),
        "That button belongs to an earlier question. Here is the current one.",
        OWN,
        "comment",
    )
    [draft] = await intakes(bot, qian)
    assert draft.status == "draft" and draft.ref is None
    replies = await tap(qian, KEEP, comment)
    review = replies[-1]
    assert review.buttons == [SEND, CHANGE, BACK]

    [same] = await tap(qian, CHANGE)
    assert same is review
    picks = review.buttons
    assert picks[0] == "1. What should we call you?" and picks[-1] == TO_SUMMARY
    assert "2. How many people live with you?" in picks
    [same] = await tap(qian, TO_SUMMARY)
    assert review.buttons == [SEND, CHANGE, BACK]
    await tap(qian, CHANGE)

    replies = await tap(qian, "1. What should we call you?")
    nickname = asks(replies, OWN, "nickname")
    assert "Your answer before: Lao Wang" in nickname.text and KEEP in nickname.buttons
    replies = await qian.ask("Xiao Qian")
    summary = "\n".join(m.text or "" for m in replies)
    assert "Please check your answers before sending:" in summary
    assert "→ <b>Xiao Qian</b>" in summary and "Lao Wang" not in summary
    assert replies[-1].buttons == [SEND, CHANGE, BACK]
    assert (await answers(bot, qian))["nickname"] == "Xiao Qian"
    assert await current_step(bot, qian) is None  # on the review

    # Changing the household size so that the earners no longer fit asks the earners again.
    await tap(qian, CHANGE)
    await tap(qian, "2. How many people live with you?")
    replies = await qian.ask("1")
    # earners (1) still fits a household of 1: straight back to the review
    assert "→ <b>Xiao Qian</b>" in "\n".join(m.text or "" for m in replies)
    # Send delivered twice: one reference, and no word about "nothing in progress".
    before = len(qian.messages)
    tg.duplicate_next_update()
    await qian.tap(SEND)
    await qian.wait_reply()
    await tg.wait_idle()
    [thanks] = qian.messages[before:]
    assert thanks.text.startswith("Thank you. Your application has been sent.")
    [intake] = await intakes(bot, qian)
    assert intake.status == "submitted"
    assert intake.state.answers["nickname"] == "Xiao Qian" and intake.state.answers["size"] == 1


# --- cancel ------------------------------------------------------------------------------


async def test_cancel_asks_first_then_withdraws_or_goes_on(tg: FakeTelegram, bot: Running) -> None:
    await use_own_flow(bot)
    zhou = tg.user(3008, language_code="en")
    await start_own(zhou, "earners")
    earners = zhou.last()

    [confirm] = await zhou.ask("/cancel")
    assert (
        confirm.text == "Do you want to stop this application? Your answers so far will be deleted."
    )
    assert confirm.buttons == [CANCEL_YES, CANCEL_NO]
    replies = await tap(zhou, CANCEL_NO)
    assert confirm.buttons == []
    asks(replies, OWN, "earners")
    assert (await answers(bot, zhou))["size"] == 3

    [confirm] = await zhou.ask("/cancel")
    before = len(zhou.messages)
    tg.duplicate_next_update()  # and the tap on Yes arrives twice: answered once
    await zhou.tap(CANCEL_YES)
    replies = await zhou.wait_reply()
    await tg.wait_idle()
    assert len(zhou.messages) == before + 1, describe(zhou.messages[before:])
    assert confirm.buttons == []
    assert replies[-1].text == (
        "Your application was stopped and your answers were deleted. "
        "Send /start if you want to begin again."
    )
    [intake] = await intakes(bot, zhou)
    assert intake.status == "withdrawn" and intake.state.answers == {}
    assert (await bot.store.intakes.load_for_applicant(zhou.id)).draft is None
    assert "intake.withdrawn" in await actions(bot, intake.id)

    # The old question's button, an answer, another /cancel: each is answered, none ignored.
    [said] = await tap(zhou, BACK, earners)
    assert said.text.startswith("There is no application in progress.")
    [said] = await zhou.ask("2")
    assert said.text.startswith("There is no application in progress.")
    [said] = await zhou.ask("/cancel")
    assert said.text == "There is no application in progress to cancel."
    # A new /start begins a fresh draft.
    asks(await zhou.ask("/start"), OWN, "consent")
    assert len(await intakes(bot, zhou)) == 2


# --- durability ---------------------------------------------------------------------------


async def _sending(tg: FakeTelegram, person: FakeUser, text: str, timeout: float = 5.0) -> None:
    """Wait until the bot has *started* a sendMessage to ``person`` containing ``text``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for method, params in tg.calls:
            if (
                method == "sendMessage"
                and str(params.get("chat_id")) == str(person.chat_id)
                and text in str(params.get("text"))
            ):
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the bot never started sending {text!r}")


async def test_an_answer_is_stored_before_the_next_question_is_sent(
    tg: FakeTelegram, bot: Running
) -> None:
    await use_own_flow(bot)
    wu = tg.user(3009, language_code="en")
    await start_own(wu, "size")
    # Hold the next sendMessage inside the fake: while it is on its way, the answer that
    # caused it must already be in the database.
    tg.delay_next("sendMessage", 0.5, apply_first=False)
    await wu.send("3")
    await _sending(tg, wu, question(OWN, "earners"))
    assert wu.messages[-1].text is not None and question(OWN, "earners") not in wu.messages[-1].text
    assert (await answers(bot, wu))["size"] == 3
    assert await current_step(bot, wu) == "earners"
    asks(await wu.wait_reply(), OWN, "earners")


async def test_a_slow_telegram_does_not_hold_back_the_next_question(
    tg: FakeTelegram, bot: Running
) -> None:
    """Acknowledging a tap and closing the answered question go side by side with the next
    question: on a slow link the applicant waits one round trip for it, not three."""
    li = tg.user(3019, language_code="en")
    F = DEFAULT
    await li.ask("/start")
    consent = asks(await li.ask("ok"), F, "consent")
    tg.delay_next("answerCallbackQuery", 1.0, apply_first=False)
    tg.delay_next("editMessageText", 1.0, apply_first=False)
    tapped = await li.tap(AGREE, consent)
    await _sending(tg, li, question(F, "applying_for"))
    # The next question is on its way while Telegram still holds the other two calls.
    assert li.callback_answer(tapped) is None
    assert consent.buttons == [AGREE, DECLINE, BACK] and consent.edits == 0
    replies = await li.wait_reply()
    assert replies[0] is consent and consent.buttons == [] and "✔️" in (consent.text or "")
    asks(replies, F, "applying_for")
    assert li.callback_answer(tapped) is not None


async def test_restart_mid_flow_the_applicant_just_goes_on(tg: FakeTelegram, bot: Running) -> None:
    zheng = tg.user(3010, language_code="en")
    F = DEFAULT
    await zheng.ask("/start")
    await tap(zheng, AGREE)
    await tap(zheng, "For a family member")
    asks(await tap(zheng, "Their son or daughter"), F, "applicant_name")
    asks(await zheng.ask("Zheng Xiao"), F, "name")

    await bot.restart()  # a new Application on the same database
    asks(await zheng.ask("Zheng Da"), F, "birth_date")

    # Down while the applicant answers: the answer waits and is taken when it comes back.
    await bot.stop()
    await zheng.send("1950-06-01")
    await bot.start()
    asks(await zheng.wait_reply(), F, "sensitive_consent")

    stored = await answers(bot, zheng)
    assert stored == {
        "consent": True,
        "applying_for": "relative",
        "relationship": "child",
        "applicant_name": "Zheng Xiao",
        "name": "Zheng Da",
        "birth_date": "1950-06-01",
    }
    # /start after all that: welcome back, and the question they were on.
    replies = await zheng.ask("/start")
    assert replies[0].text == "Welcome back. Let us continue where you stopped."
    asks(replies, F, "sensitive_consent")
    assert len(await intakes(bot, zheng)) == 1


async def test_a_duplicated_update_is_applied_once(tg: FakeTelegram, bot: Running) -> None:
    await use_own_flow(bot)
    feng = tg.user(3011, language_code="en")

    # /start twice (Telegram re-delivering after a crash): one draft, one welcome.
    tg.duplicate_next_update()
    await feng.send("/start")
    await feng.wait_reply()
    await tg.wait_idle()
    assert len(await intakes(bot, feng)) == 1
    assert [m.text for m in feng.messages].count("Hello, this is the test flow.") == 1
    assert len(feng.messages) == 2, "\n".join(str(m)[:120] for m in feng.messages)

    await tap(feng, AGREE)
    await feng.ask("Feng")
    # An answer twice: stored once, the next question shown once.
    tg.duplicate_next_update()
    await feng.send("3")
    asks(await feng.wait_reply(), OWN, "earners")
    await tg.wait_idle()
    earners_q = question(OWN, "earners")
    assert [earners_q in (m.text or "") for m in feng.messages].count(True) == 1
    stored = await answers(bot, feng)
    assert stored["size"] == 3 and "earners" not in stored
    draft = (await bot.store.intakes.load_for_applicant(feng.id)).draft
    assert draft is not None and draft.state.path.count("size") == 1

    for step_id in ("earners", "income", "event_date", "phone", "pet", "pet_name"):
        await answer_own(feng, step_id)
    needs = feng.last()
    # A toggle twice would undo itself: it must count once.
    tg.duplicate_next_update()
    await feng.tap(OFF + "Money")
    await feng.wait_reply()
    await tg.wait_idle()
    assert ON + "Money" in needs.buttons
    draft = (await bot.store.intakes.load_for_applicant(feng.id)).draft
    assert draft is not None and draft.state.pending == ["money"]

    # /start on a draft in progress, twice: one welcome back.
    before = len(feng.messages)
    tg.duplicate_next_update()
    await feng.send("/start")
    await feng.wait_reply()
    await tg.wait_idle()
    new = [m.text for m in feng.messages[before:]]
    assert new.count("Welcome back. Let us continue where you stopped.") == 1, new


# --- ordering and isolation ---------------------------------------------------------------


async def test_two_applicants_interleave_and_one_applicant_is_answered_in_order(
    tg: FakeTelegram, bot: Running
) -> None:
    await use_own_flow(bot)
    an = tg.user(3012, language_code="en")
    bo = tg.user(3013, language_code="zh-hans")
    await an.ask("/start")
    await bo.ask("/start")
    await tap(an, AGREE)
    await tap(bo, "✅ 我同意")
    await an.send("Anna")
    await bo.send("小博")
    asks(await an.wait_reply(), OWN, "size")
    asks(await bo.wait_reply(), OWN, "size", "zh")
    assert (await answers(bot, an))["nickname"] == "Anna"
    assert (await answers(bot, bo))["nickname"] == "小博"

    # Two answers back to back: applied in the order they were sent.
    await an.send("3")
    await an.send("2")
    replies = await an.wait_reply(min_messages=2)
    asks(replies[:1], OWN, "earners")
    asks(replies, OWN, "income")
    stored = await answers(bot, an)
    assert (stored["size"], stored["earners"]) == (3, 2)

    # One applicant's slow answer does not hold up another's.
    tg.delay_next("sendMessage", 1.5, apply_first=False)
    await an.send("100")
    await _sending(tg, an, question(OWN, "event_date"))
    started = asyncio.get_running_loop().time()
    await bo.send("5")
    asks(await bo.wait_reply(timeout=1.2), OWN, "earners", "zh")
    assert asyncio.get_running_loop().time() - started < 1.2
    asks(await an.wait_reply(), OWN, "event_date")

    # A button of someone else's intake does nothing to it.
    theirs = (await bot.store.intakes.load_for_applicant(an.id)).draft
    assert theirs is not None
    before = theirs.state.to_dict()
    await bo.tap_data(f"a:{theirs.id}:{OWN.position('event_date')}:b:0")
    refuses(await bo.wait_reply(), "这是前面问题的按钮。下面是现在的问题。", OWN, "earners", "zh")
    after = (await bot.store.intakes.load_for_applicant(an.id)).draft
    assert after is not None and after.state.to_dict() == before


# --- an answer too long --------------------------------------------------------------------


async def test_an_answer_too_long_is_kept_to_keep_its_first_part_or_all_of_it_in_parts(
    tg: FakeTelegram, bot: Running
) -> None:
    """A story longer than its question takes is not refused outright: the bot keeps it
    and offers to keep its first part, or all of it in parts; nothing typed is lost."""
    await use_own_flow(bot)
    wu = tg.user(3031, language_code="en")
    asks(await wu.ask("/start"), OWN, "consent")
    asks(await tap(wu, AGREE), OWN, "nickname")
    story = "Lao Wang of the east village"  # 28 characters; the nickname takes 20
    [offer] = await wu.ask(story)
    refuses([offer], "That is too long: at most 20 characters, yours has 28.", OWN, "nickname")
    assert "What you wrote is kept." in offer.text
    first, parts = "✂️ Keep the first 20 characters", "🧩 Keep all of it, in 2 parts"
    assert offer.buttons == [first, parts, BACK]
    assert (await current_step(bot, wu)) == "nickname"

    asks(await tap(wu, first, offer), OWN, "size")
    assert (await answers(bot, wu))["nickname"] == "Lao Wang of the"  # cut at a word
    assert offer.text.endswith("✔️ Lao Wang of the") and offer.buttons == []

    # Back, the same story again, and all of it this time: in two parts, every word kept.
    again = asks(await tap(wu, BACK), OWN, "nickname")
    [offer] = await wu.ask(story)
    assert offer is not again and offer.buttons == [first, parts, KEEP, BACK]
    asks(await tap(wu, parts, offer), OWN, "size")
    assert (await answers(bot, wu))["nickname"] == "Lao Wang of the\n\neast village"


# --- commands and messages outside the interview -----------------------------------------


async def test_help_unknown_command_hello_and_an_edited_message(
    tg: FakeTelegram, bot: Running
) -> None:
    await use_own_flow(bot)
    he = tg.user(3014, language_code="en")

    [helped] = await he.ask("/help")
    assert "/start — begin, or go on with your application" in helped.text
    assert "/status — see your applications and where they are" in helped.text
    assert "/cancel — stop the application in progress" in helped.text
    assert await intakes(bot, he) == []
    [status] = await he.ask("/status")
    assert status.text == "You have no applications yet. Send /start to begin."

    # "hello" before /start begins the interview.
    replies = await he.ask("hello")
    assert replies[0].text == "Hello, this is the test flow."
    asks(replies, OWN, "consent")
    assert len(await intakes(bot, he)) == 1
    await tap(he, AGREE)

    # An unknown command mid-interview: the help, then the question they are on again.
    unknown, again = await he.ask("/frobnicate")
    assert unknown.text.startswith("I do not know that command.")
    assert "/start — begin, or go on with your application" in unknown.text
    asks([again], OWN, "nickname")
    assert again.buttons == [BACK]

    # Editing an answer already sent does not change it, and the bot says so.
    answer = await he.send("Old Name")
    asks(await he.wait_reply(), OWN, "size")
    edited = dict(answer["message"], text="New Name", edit_date=answer["message"]["date"] + 5)
    tg.queue_update({"edited_message": edited}, he.chat_id)
    [explained] = await he.wait_reply()
    assert explained.text == (
        "Editing a sent message does not change your answer. To change an answer, use Back, "
        "or Change an answer on the summary."
    )
    assert (await answers(bot, he))["nickname"] == "Old Name"
    [draft] = await intakes(bot, he)
    assert draft.status == "draft"
    [status] = await he.ask("/status")
    assert "An application you have not sent yet. Send /start to go on." in status.text
