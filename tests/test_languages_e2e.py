"""Each reader meets only their own language, from /start to the decision.

Three applicants walk the whole default interview — one reading Simplified Chinese, one
Uyghur, one English — and a caseworker reading English decides each. Every message each
applicant receives is checked for the other languages' words; the caseworker's card is in
English whatever the applicant's language; amounts read the way each locale writes them.

The walk is driven by the interview's own state (the current step from the database), not by
labels, so it answers whatever the flow asks, in the reader's script.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.flow.loader import default_flow_source, load_flow_text
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import wait_until, with_text

FLOW = load_flow_text(default_flow_source())
CW = 70
REF = re.compile(r"[A-Z0-9]{3}-[A-Z0-9]{3}")

TYPED = {
    "zh": {"text": "王小梅", "village": "红星村"},
    "ug": {"text": "ئايگۈل", "village": "قىزىلباغ"},
    "en": {"text": "Aygul", "village": "Red Star"},
}
NUMBERS = {"household_size": "4", "earners": "0", "monthly_income": "500"}

# What any message may contain besides the reader's own language.
NEUTRAL = re.compile(
    r"</?\w+>"  # markup
    r"|/[a-z_]+"  # commands
    r"|[A-Z0-9]{3}-[A-Z0-9]{3}"  # references
    r"|\{\w+\}|https?://\S+"
)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
ARABIC = re.compile(r"[\u0600-\u06FF]")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db", rate_limit=0))
    await running.start()
    await running.store.roles.grant(CW, "caseworker")
    try:
        yield running
    finally:
        await running.stop()


async def _current(r: Running, person: FakeUser) -> str | None:
    view = await r.store.intakes.load_for_applicant(person.id)
    assert view.draft is not None, "the interview ended early"
    return view.draft.state.current


async def walk(r: Running, person: FakeUser, lang: str) -> str:
    """Answer every question of the default flow in ``lang``; returns the reference."""
    await person.send("/start")
    await person.wait_reply()
    for _ in range(80):
        draft = (await r.store.intakes.load_for_applicant(person.id)).draft
        assert draft is not None
        step_id = draft.state.current
        if step_id is None:  # the review
            await person.tap_data(f"r:{draft.id}:u:0")

            async def sent() -> list[str]:
                return [i.ref for i in await r.store.intakes.for_applicant(person.id) if i.ref]

            await wait_until(sent, 5, "the submission")
            ref = (await sent())[0]
            await wait_until(lambda r=ref: with_text(person, r), 5, "the reference")
            await person.wait_reply()
            return ref
        step = FLOW.step(step_id)
        idx = FLOW.position(step_id)
        data = f"a:{draft.id}:{idx}"
        if step.type == "consent":
            await person.tap_data(f"{data}:y:0")
        elif step.type == "choice":
            await person.tap_data(f"{data}:c:0")
        elif step.type == "multi_choice":
            await person.tap_data(f"{data}:t:0")
            await person.wait_reply()
            await person.tap_data(f"{data}:d:0")
        elif step.type == "attachments" or not step.required:
            await person.tap_data(f"{data}:s:0")
        elif step.type == "date":
            await person.send("1980-05-17")
        elif step.type == "number":
            await person.send(NUMBERS.get(step_id, "3"))
        elif step.type == "phone":
            await person.send("13812345678")
        else:
            typed = TYPED[lang]["village"] if "region" in step.tags else TYPED[lang]["text"]
            await person.send(typed)
        await person.wait_reply()
        assert await _current(r, person) != step_id, f"{step_id} was not accepted"
    raise AssertionError("the interview did not end")


def foreign_words(message: SentMessage, lang: str) -> list[str]:
    """Words in a message that are not in the reader's language."""
    text = NEUTRAL.sub(" ", message.text or "") + " " + " ".join(message.buttons)
    words = LATIN_WORD.findall(text)
    if lang == "en":
        # English keeps official Chinese names in brackets for caseworkers, e.g. (低保).
        return ARABIC.findall(text)
    # Chinese and Uyghur texts keep official Chinese names in brackets, e.g. (低保).
    return words if lang == "ug" else words + ARABIC.findall(text)


async def decide(r: Running, tg: FakeTelegram, ref: str) -> SentMessage:
    """The English-reading caseworker opens, claims and approves ¥3,000; returns the card."""
    cw = tg.user(CW, language_code="en", first_name="Wang")
    await cw.send(f"/open {ref}")
    replies = await cw.wait_reply()
    card = [m for m in replies if "🙋 Claim" in m.buttons][-1]
    await cw.tap("🙋 Claim", card)
    await cw.wait_reply()
    # The card with the decision buttons may come a moment after the claim's reply on a busy
    # machine: tap() waits for it to be shown.
    await cw.tap("✅ Approve")
    await cw.wait_reply()
    await cw.send("3000")
    await cw.wait_reply()
    await cw.tap("✅ Yes, approve")
    await cw.wait_reply()
    return card


@pytest.mark.parametrize(
    ("lang", "code", "amount"),
    [("zh", "zh-hans", "¥3,000.00"), ("ug", "ug", "3,000.00"), ("en", "en", "CN¥3,000.00")],
)
async def test_each_reader_sees_only_their_language(
    r: Running, tg: FakeTelegram, lang: str, code: str, amount: str
) -> None:
    person = tg.user(7000 + len(lang) + ord(code[0]), language_code=code, first_name="A")
    ref = await walk(r, person, lang)
    assert REF.fullmatch(ref)

    card = await decide(r, tg, ref)
    # The caseworker reads English, whatever the applicant's language: questions included.
    assert FLOW.step("what_happened").text["en"] in card.text
    assert "Status: received, waiting for review" in card.text
    assert not HAN.findall(FLOW.step("what_happened").text["en"])

    approved = await _arrives(person, ref, amount)
    # Every message this applicant got, from /start to the decision, is in their language.
    leaks = {m.message_id: foreign_words(m, lang) for m in person.messages}
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, [m.text for m in person.messages if m.message_id in leaks][:3]
    if lang == "ug":
        # Right-to-left text keeps the reference and the amount in reading order.
        assert "\u200e" + ref + "\u200e" in approved.text
        assert all(ARABIC.search(m.text) for m in _worded(person.messages))
    if lang == "zh":
        assert all(HAN.search(m.text) for m in _worded(person.messages))


def _worded(messages: list[SentMessage]) -> list[SentMessage]:
    """Messages with words in them (not just "✔️ 138••••••78")."""
    return [m for m in messages if m.text and re.search(r"[^\W\d_]", NEUTRAL.sub("", m.text))]


async def _arrives(person: FakeUser, ref: str, amount: str) -> SentMessage:
    def approved() -> list[SentMessage]:
        return [m for m in person.messages if ref in (m.text or "") and amount in (m.text or "")]

    await wait_until(approved, 10, f"the approval with {amount}")
    return approved()[-1]
