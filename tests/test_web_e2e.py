"""A web applicant and a caseworker in Telegram, end to end: the bot runs against the fake
Bot API (tests/conftest.py) and the web chat on the same services, as ``intake-bot run``
serves both when INTAKE_WEB_PORT is set.

The applicant answers the built-in interview in the browser and sends it; the caseworkers'
group is alerted; the caseworker opens the card in Telegram and sees it came by the web
chat, claims it and asks a question; the question waits on the applicant's page (never
sent to Telegram), the answer typed there, with a recording, reaches the caseworker in
Telegram, who plays the recording from the bot's file store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from bot.channels import WEB_BASE
from telegram_channel.app import serve
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram
from tests.helpers import wait_until
from tests.test_casework_e2e import arrives, said, say, tap
from tests.test_web import csrf_of, form_of, free_port, start, wait_serving, walk
from web_channel.app import build_web_app

CW, GROUP = 2, -100777
ANSWERS = "— Answers —"


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(
        tg,
        make_settings(tg, tmp_path / "intake.db", caseworker_chat=GROUP, web_rate_limit=0),
    )
    await running.start()
    try:
        await running.store.roles.grant(CW, "caseworker")
        await running.services.casework.seen(CW, "en", "Wang")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


async def test_a_web_application_reaches_the_caseworker_and_their_question_the_page(
    tg: FakeTelegram, r: Running
) -> None:
    cw = tg.user(CW, first_name="Wang", language_code="en")
    group = tg.group(GROUP)
    assert r.services is not None
    async with TestClient(TestServer(build_web_app(r.services))) as web:
        _, page = await start(web, "zh-CN")
        review = await walk(web, page, "zh", [])
        sent = await web.post("/answer", data={**form_of(review).hidden, "move": "send"})
        ref = sent.url.query["sent"]

        await arrives(group, ref)
        queue = said(await say(cw, "/queue", until="Open applications"), "Open applications")
        assert f"<b>{ref}</b>" in queue.text
        card = said(await tap(cw, f"1. {ref}", until=ANSWERS), ANSWERS)
        assert f"<b>{ref}</b>" in card.text and "🌐 web chat" in card.text.split("\n")[0]

        said(await tap(cw, "🙋 Claim", card, until="Claimed by you"), "Claimed by you")
        await tap(cw, "❓ Ask the applicant", until="question for the applicant")
        await say(cw, "户口本能拍照吗？", until="Your question was sent")

        async def on_the_page() -> bool:
            return "户口本能拍照吗？" in await (await web.get("/status")).text()

        await wait_until(on_the_page, what="the question on the applicant's page")
        status = await (await web.get("/status")).text()
        # Words, and a recording made on the phone: the caseworker reads the words and
        # plays the recording, uploaded to them from the bot's own file store.
        recording = b"OggS\x00WEB-RECORDING" * 20
        reply = FormData()
        reply.add_field("csrf", csrf_of(status))
        reply.add_field("text", "可以，明天拍")
        reply.add_field("file", recording, filename="rec.ogg", content_type="audio/ogg")
        r = await web.post("/reply", data=reply)
        assert "done=answer_sent" in str(r.url)
        back = await arrives(cw, ref, "The applicant replied on")
        assert "可以，明天拍" in back.text and "1 file sent" in back.text
        card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
        show = [b for b in card.buttons if b.startswith("📎")]
        assert show == ["📎 Show attachments (1)"]
        before = len(cw.messages)
        await cw.tap(show[0], card)
        await wait_until(
            lambda: any(m.kind == "voice" for m in cw.messages[before:]), what="the recording"
        )
        [voice] = [m for m in cw.messages[before:] if m.kind == "voice"]
        assert voice.file_bytes == recording

    # Nothing was ever sent to Telegram for the web applicant.
    assert not [c for c in tg.calls if int(c.params.get("chat_id") or 0) >= WEB_BASE]


async def test_run_serves_the_web_chat_when_its_port_is_set(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    settings = make_settings(tg, tmp_path / "intake.db", web_port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    try:
        async with aiohttp.ClientSession() as http:
            await wait_serving(http, port)
            li = tg.user(4, language_code="en")
            replies = await li.ask("/start", timeout=10)
            assert any("✅ I agree" in m.buttons for m in replies)
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        stop.set()
        if not task.done():
            task.cancel()
