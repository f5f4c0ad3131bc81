"""The intake card has what a decision needs, and an answer to a caseworker's question is
taken as people answer: end to end over the fake Bot API.

A relative applies for someone: the card says who applied, for whom and what they are to
each other, the person's age, the ID number masked (Reveal shows it to the caseworker in a
box, and the read is audited, as is every opening of the card), the income per head and
the office handling the case. The caseworker asks for papers; the applicant answers with
two photos and a few words, taps Done, and the caseworker is told once and finds all three
on the card, each file captioned with the reference and the question it answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.casework.facts import age_on
from bot.flow.values import mask
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import wait_until, with_text
from tests.test_casework_e2e import (
    ANSWERS,
    ASK,
    CLAIM,
    REF_IN_TEXT,
    arrives,
    has_text,
    intake_id,
    outbox_empty,
    row_of,
    said,
    say,
    showing,
    snapshot,
    tap,
)

FLOW = """
id: card-test
languages: [en, zh]
title: {en: Card test, zh: 卡片测试}
steps:
  - id: consent
    type: consent
    text: {en: May we use your answers?, zh: 可以使用你的回答吗？}
  - id: applying_for
    type: choice
    text: {en: Who are you applying for?, zh: 您是为谁申请？}
    choices:
      - {value: self, label: {en: For myself, zh: 为我自己}}
      - {value: relative, label: {en: For a family member, zh: 为家里人}}
  - id: relationship
    type: choice
    relevant: "applying_for == 'relative'"
    text: {en: What are you to them?, zh: 您是他的什么人？}
    choices:
      - {value: child, label: {en: Their son or daughter, zh: 儿子或女儿}}
      - {value: spouse, label: {en: Their husband or wife, zh: 丈夫或妻子}}
  - id: applicant_name
    type: text
    relevant: "applying_for == 'relative'"
    text: {en: What is your own name?, zh: 您自己叫什么名字？}
  - id: name
    type: text
    tags: [name]
    text: {en: The name of the person who needs help?, zh: 需要帮助的人叫什么名字？}
  - id: birth_date
    type: date
    text: {en: When were they born?, zh: 哪天出生的？}
  - id: id_number
    type: id_number
    sensitive: true
    text: {en: Their ID card number?, zh: 身份证号码？}
  - id: household_size
    type: number
    text: {en: How many people in the household?, zh: 家里几口人？}
  - id: monthly_income
    type: number
    integer: false
    text: {en: Household income a month?, zh: 每月收入多少元？}
  - id: authority
    type: choice
    text: {en: Which office handles the case?, zh: 哪里在办？}
    choices:
      - {value: police, label: {en: The police, zh: 公安}}
      - {value: court, label: {en: The court, zh: 法院}}
  - id: authority_name
    type: text
    text: {en: Which court?, zh: 哪个法院？}
  - id: papers
    type: attachments
    text: {en: Send photos of your papers., zh: 请发送材料照片。}
eligibility:
  - {id: any, when: "true", label: {en: Any, zh: 任何}}
"""

CW, STRANGER = 2, 9
ID_NUMBER = "430321197503080023"
BORN = dt.date(1975, 3, 8)
COURT = "Hotan County People's Court"
QUESTION = "Please send the hospital bill and the receipt"
REVEAL, STOP = "👁 Show the ID number", "⏹ Stop waiting for the answer"
DONE = "✔️ Done: send my answer"


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        await running.store.flows.publish(FLOW)
        await running.store.roles.grant(CW, "caseworker")
        await running.services.casework.seen(CW, "en", "Wang")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


async def submit(ap: FakeUser) -> str:
    """A son applies for his mother, with one photo of a paper; returns the reference."""
    await ap.send("/start")
    await showing(ap, lambda m: any(b.startswith("✅") for b in m.buttons), "the consent")
    await ap.tap_containing("✅")
    for question, how, answer in (
        ("Who are you applying for?", "tap", "For a family member"),
        ("What are you to them?", "tap", "Their son or daughter"),
        ("What is your own name?", "say", "Li Ming"),
        ("The name of the person", "say", "Li Hua"),
        ("When were they born?", "say", BORN.isoformat()),
        ("Their ID card number?", "say", ID_NUMBER),
        ("How many people", "say", "4"),
        ("Household income", "say", "5000"),
        ("Which office", "tap", "The court"),
        ("Which court?", "say", COURT),
    ):
        await showing(ap, has_text(question), question)
        await (ap.tap(answer) if how == "tap" else ap.send(answer))
    await showing(ap, has_text("Send photos of your papers."), "the papers question")
    await ap.send_photo()
    await showing(ap, lambda m: any(b.startswith("✔️") for b in m.buttons), "Done")
    await ap.tap_containing("✔️")
    await showing(ap, lambda m: any(b.startswith("📨") for b in m.buttons), "the summary")
    await ap.tap_containing("📨")
    await showing(ap, lambda m: bool(REF_IN_TEXT.search(m.text or "")), "the reference")
    return REF_IN_TEXT.findall(ap.messages[-1].text or "")[0]


async def audit_of(r: Running, ref: str, action: str) -> list[int | None]:
    """Who did ``action`` on the intake, once per row."""
    rows = await r.store.audit.for_intake(await intake_id(r, ref))
    return [a.actor for a in rows if a.action == action]


async def answered(person: FakeUser, update: dict[str, object]) -> dict[str, object]:
    await wait_until(lambda: person.callback_answer(update), what="the tap answered")
    return person.callback_answer(update) or {}


async def test_the_card_shows_who_for_whom_age_masked_id_income_per_head_and_authority(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4, language_code="en", first_name="Ming")
    cw = tg.user(CW, first_name="Wang", language_code="en")
    ref = await submit(ap)

    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    age = age_on(BORN, dt.date.today())
    masked = mask(ID_NUMBER)
    for shown in (
        f"<b>{ref}</b> · Li Hua",
        "Applied by: Li Ming (Their son or daughter)",
        "For: Li Hua",
        f"Age: {age}",
        f"ID number: {masked}",
        "Income per person: <b>CN¥1,250.00</b> a month (CN¥5,000.00 for 4 people)",
        f"Handled by: The court · {COURT}",
        f"<i>Their ID card number?</i>\n{masked}",
    ):
        assert shown in card.text, (shown, card.text)
    assert ID_NUMBER not in card.text  # masked in the answers too
    assert REVEAL in card.buttons
    # Opening the card is an audited read; reads are not in the card's history.
    assert await audit_of(r, ref, "intake.viewed") == [CW]
    assert "viewed" not in card.text

    # Reveal: in a box only the caseworker sees, and the read is audited.
    update = await cw.tap(REVEAL, card)
    shown_id = await answered(cw, update)
    assert shown_id.get("show_alert") is True
    assert shown_id.get("text") == f"ID number of {ref}: {ID_NUMBER}"
    assert await audit_of(r, ref, "intake.id_revealed") == [CW]
    assert not with_text(cw.messages, ID_NUMBER)  # nothing of it stays in the chat

    # A forged Reveal from someone who is no caseworker changes and reveals nothing.
    stranger = tg.user(STRANGER, language_code="en", first_name="Ma")
    before = await snapshot(r)
    forged = await stranger.tap_data(f"c:rv:{await intake_id(r, ref)}:0")
    refused = await answered(stranger, forged)
    assert refused.get("text") == "This is only for caseworkers of the procuratorate."
    await tg.wait_idle()
    assert await snapshot(r) == before
    assert not with_text(stranger.messages, ID_NUMBER)
    assert ID_NUMBER not in str(refused)
    # Nor from the applicant, who is no caseworker either.
    forged = await ap.tap_data(f"c:rv:{await intake_id(r, ref)}:0")
    assert ID_NUMBER not in str(await answered(ap, forged))
    assert await audit_of(r, ref, "intake.id_revealed") == [CW]


async def asked(r: Running, tg: FakeTelegram) -> tuple[str, FakeUser, FakeUser, SentMessage]:
    """A claimed intake whose caseworker asked the applicant for papers."""
    ap = tg.user(4, language_code="en", first_name="Ming")
    cw = tg.user(CW, first_name="Wang", language_code="en")
    ref = await submit(ap)
    await say(cw, f"/open {ref}", until=ANSWERS)
    await tap(cw, CLAIM, until="Claimed by you")
    await tap(cw, ASK, until="question for the applicant")
    await say(cw, QUESTION, until="Your question was sent")
    question = await arrives(ap, ref, "the caseworker asks")
    await outbox_empty(r)
    await tg.wait_idle()
    return ref, ap, cw, question


async def test_an_answer_in_two_photos_and_words_reaches_the_card_and_the_caseworker_once(
    tg: FakeTelegram, r: Running
) -> None:
    ref, ap, cw, question = await asked(r, tg)
    assert "several messages" in question.text and "tap Done" in question.text
    assert question.buttons == [DONE]

    # Done before anything was sent says what to do, and changes nothing.
    early = await answered(ap, await ap.tap(DONE, question))
    assert "Please send your answer first" in str(early.get("text"))
    assert (await row_of(r, ref))["status"] == "awaiting_applicant"

    # Two photos and a few words, in three messages: each is kept; one message counts them.
    await ap.send_photo()
    count = await arrives(ap, "Received for application", ": 1 message.")
    assert count.buttons == [DONE]
    await ap.send_photo(caption="the bill")
    await ap.send("The receipt is lost, the hospital can print it again")
    await wait_until(lambda: ": 3 messages." in (count.text or ""), what="the count")
    await tg.wait_idle()
    assert not with_text(ap.messages, "Please write your answer")  # no photo refused
    assert not with_text(ap.messages, "There is no application in progress")
    assert len(with_text(ap.messages, "Received for application")) == 1  # one message, edited
    assert not with_text(cw.messages, "The applicant replied")  # not before Done
    assert (await row_of(r, ref))["status"] == "awaiting_applicant"

    # Someone else's Done (forged) changes nothing and tells nobody.
    before = await snapshot(r)
    stranger = tg.user(STRANGER, language_code="en", first_name="Ma")
    await answered(stranger, await stranger.tap_data(f"y:{await intake_id(r, ref)}:d"))
    await tg.wait_idle()
    assert await snapshot(r) == before

    await ap.tap(DONE, count)
    told = await arrives(cw, ref, "The applicant replied on")
    assert "<i>The receipt is lost, the hospital can print it again</i>" in told.text
    assert "2 files sent: open the card and tap Show attachments." in told.text
    await arrives(ap, ref, "Your answer was passed to the caseworker")
    assert (await row_of(r, ref))["status"] == "in_review"
    assert await r.store.pending.get(ap.id) is None
    # Done again (or the other Done, under the question) tells nobody a second time.
    again = await answered(ap, await ap.tap_data(f"y:{await intake_id(r, ref)}:d"))
    assert again.get("text") == "This question is closed. What you sent is kept."
    await outbox_empty(r)
    await tg.wait_idle()
    assert len(with_text(cw.messages, "The applicant replied on")) == 1

    # All three are on the card, in order, after the question.
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    history = card.text[card.text.index("— History —") :]
    pieces = [
        f"question (Wang):\n<i>{QUESTION}</i>",
        "reply (applicant):\n<i>📷 photo</i>",
        "reply (applicant):\n<i>📷 photo: the bill</i>",
        "reply (applicant):\n<i>The receipt is lost, the hospital can print it again</i>",
    ]
    at = [history.find(p) for p in pieces]
    assert -1 not in at and at == sorted(at), (at, history)

    # Show attachments: the paper of the interview, then the two photos of the answer,
    # each captioned with the reference and the question it answers.
    files = "📎 Show attachments (3)"
    assert files in card.buttons
    before = len(cw.messages)
    await cw.tap(files, card)
    await wait_until(
        lambda: len([m for m in cw.messages[before:] if m.kind == "photo"]) == 3,
        what="three photos",
    )
    captions = [m.caption for m in cw.messages[before:] if m.kind == "photo"]
    assert captions == [
        f"{ref} · Send photos of your papers.",
        f"{ref} · {QUESTION}",
        f"{ref} · {QUESTION}\nthe bill",
    ]
    stored = await r.store.db.fetchall("SELECT body FROM messages WHERE kind = 'reply'")
    assert all(b"the bill" not in row["body"] for row in stored)  # sealed at rest


async def test_when_the_caseworker_stops_waiting_what_arrived_is_kept(
    tg: FakeTelegram, r: Running
) -> None:
    ref, ap, cw, _question = await asked(r, tg)
    await ap.send_voice()
    await arrives(ap, "Received for application", ": 1 message.")
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "reply (applicant):\n<i>🎤 voice message (0:03)</i>" in card.text
    done = await tap(cw, STOP, card, until="You stopped waiting")
    assert said(done, f"You stopped waiting for the answer on <b>{ref}</b>.")
    await arrives(ap, ref, "closed the question")
    assert (await row_of(r, ref))["status"] == "in_review"
    assert await r.store.pending.get(ap.id) is None

    # The voice message is kept, and goes back to the caseworker as one.
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    assert "🎤 voice message" in card.text
    before = len(cw.messages)
    await cw.tap("📎 Show attachments (2)", card)
    await wait_until(lambda: any(m.kind == "voice" for m in cw.messages[before:]), what="voice")
    [voice] = [m for m in cw.messages[before:] if m.kind == "voice"]
    assert voice.caption == f"{ref} · {QUESTION}"
    # The applicant's next message is no longer taken as an answer.
    await ap.send("one more thing")
    await arrives(ap, "There is no application in progress")
    assert len(with_text(ap.messages, "Received for application")) == 1
    assert [m.kind for m in await r.store.cases.conversation(await intake_id(r, ref))] == [
        "question",
        "reply",
    ]
