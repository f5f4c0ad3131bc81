"""The inbox: what Telegram delivered is never lost, never applied twice, and one update
the bot cannot read holds up nobody else. Also webhook mode's front door: the secret
before anything is read, and no body larger than 1 MB.

The crash tests run ``intake-bot run`` as a real subprocess against the fake Telegram and
kill it with SIGKILL at a moment the fake's delays make certain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store import Store
from bot.store.inbox import Received
from telegram_channel.app import build_application, open_services, start_webhook, stop_app
from telegram_channel.guard import Watchdog
from tests.backends import open_store
from tests.conftest import TOKEN, Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import wait_until, with_text
from tests.test_reliability import (
    AGREE,
    FLOW,
    NAME,
    SEND,
    BotProcess,
    _command,
    _env,
    db_answers,
    shows,
)

ADMIN = 7000
POISON = "POISON-TEXT-Q9"  # what a poisoned update says: must never reach a log


def message(person: FakeUser, text: str, **fields: Any) -> dict[str, Any]:
    """A raw message update's payload from ``person`` (update_id added by the fake)."""
    body: dict[str, Any] = {
        "message_id": person.tg.message_id_for(person.chat_id),
        "date": int(time.time()),
        "chat": dict(person.chat),
        "from": dict(person.user),
        "text": text,
    }
    body.update(fields)
    return {"message": body}


# --- a poisoned update -------------------------------------------------------------------


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> Any:
    running = Running(
        tg, make_settings(tg, tmp_path / "intake.db", admin_ids=frozenset({ADMIN}), rate_limit=0)
    )
    await running.start()
    try:
        running.app.bot_data["sender"].idle = 0.1  # type: ignore[attr-defined]
        yield running
    finally:
        await running.stop()


async def test_a_poisoned_update_is_set_aside_and_nobody_else_waits(
    tg: FakeTelegram, r: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    admin = tg.user(ADMIN, language_code="en", first_name="Boss")
    await r.store.users.set_language(ADMIN, "en")
    a, b, c = (tg.user(n, language_code="en") for n in (31, 32, 33))
    dog: Watchdog = r.app.bot_data["watchdog"]  # type: ignore[attr-defined]
    polls = tg.call_count("getUpdates")
    # A date no clock reaches, and an entity that is not an object: PTB cannot read either.
    first = tg.queue_update(message(a, POISON, date=10**20), a.chat_id)
    second = tg.queue_update(message(b, POISON, entities=[1]), b.chat_id)
    await c.send("/start")
    started = time.monotonic()
    replies = await c.wait_reply(timeout=5)
    assert time.monotonic() - started < 3
    assert any(AGREE in m.buttons for m in replies), [str(m) for m in replies]

    # Set aside, counted, and the admins told (by update id only).
    letters = await r.store.inbox.dead_letters()
    assert [n for n, _ in letters] == [first["update_id"], second["update_id"]]
    assert all(POISON not in error for _, error in letters)
    await wait_until(lambda: len(with_text(admin, "cannot apply")) == 2, 10, "the alerts")
    alerts = with_text(admin, "cannot apply")
    assert f"update {first['update_id']}" in (alerts[0].text or "")
    assert "set aside so far: 2" in (alerts[1].text or "")
    assert all(POISON not in (m.text or "") for m in alerts)
    # Polling moved past them at once: no storm of getUpdates, and they are confirmed.
    await asyncio.sleep(0.5)
    assert tg.call_count("getUpdates") - polls < 30
    assert tg.pending_updates == []
    assert dog.stale_for() < 2
    # Nobody else heard anything, and no log line holds what they said.
    assert a.messages == [] and b.messages == []
    assert not [rec for rec in caplog.records if POISON in rec.getMessage()]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.CRITICAL]


async def test_the_watchdog_counts_a_batch_only_once_it_is_stored(
    tg: FakeTelegram, r: Running, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Polling that fetches updates it cannot store is not working, however fast Telegram
    answers: the watchdog says so, and the updates are not lost."""
    dog: Watchdog = r.app.bot_data["watchdog"]  # type: ignore[attr-defined]
    dog.after = 1.5
    ap = tg.user(41, language_code="en")
    await ap.ask("/start")
    other = sqlite3.connect(tmp_path / "intake.db", isolation_level=None, timeout=5)
    try:
        other.execute("BEGIN IMMEDIATE")  # the database cannot be written
        queued = await ap.send("/help")
        await asyncio.sleep(2.5)
        assert await dog.check() is True
        assert await r.store.inbox.state_of(queued["update_id"]) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    await ap.wait_reply(timeout=15)
    await wait_until(lambda: dog.stale_for() < 1, 15, "polling to count as working again")
    assert await dog.check() is False


# --- replay at start ---------------------------------------------------------------------


async def test_updates_left_pending_are_applied_at_start_in_order_and_once(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    ap = tg.user(51, language_code="en")
    store = await Store.open(db)
    try:
        await store.flows.publish(FLOW)
        raw = [
            {"update_id": 900 + n, **message(ap, text)}
            for n, text in enumerate(["/start", "/status", "/help"])
        ]
        for item in raw:
            item["message"]["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(item["message"]["text"])}
            ]
        assert await store.inbox.add(
            [Received(u["update_id"], ap.chat_id, json.dumps(u)) for u in raw]
        ) == {900, 901, 902}
        # Telegram sends one of them again: it is already in the inbox.
        assert await store.inbox.add([Received(901, ap.chat_id, json.dumps(raw[1]))]) == set()
    finally:
        await store.close()

    running = Running(tg, make_settings(tg, db, rate_limit=0))
    await running.start()
    try:
        replies = await ap.wait_reply(timeout=5, min_messages=3)
        texts = [m.text or "" for m in replies]
        # In the order they came: the consent question of /start; /status finds the draft
        # /start made; then the help.
        assert len(replies) == 3 and AGREE in replies[0].buttons, texts
        assert "not sent yet" in texts[1] and "/help — what each command does" in texts[2], texts
        assert [await running.store.inbox.state_of(n) for n in (900, 901, 902)] == ["done"] * 3
        count = len(ap.messages)
        await running.restart()
        await ap.expect_no_reply(0.5)
        assert len(ap.messages) == count
    finally:
        await running.stop()


async def test_housekeeping_forgets_applied_updates_after_days(tmp_path: Path, db_url: str) -> None:
    import datetime as dt

    from bot.config import Settings
    from bot.housekeeping import Housekeeping
    from bot.i18n import I18n

    store = await open_store(db_url, tmp_path)
    try:
        await store.inbox.add(
            [Received(n, 5, "{}") for n in (1, 2)] + [Received(3, 5, "{}", "ValueError: x")]
        )
        await store.inbox.done(1)
        keeper = Housekeeping(store, I18n.load(), Settings())
        now = dt.datetime.now(dt.UTC)
        assert await keeper.prune_inbox(now) == 0
        # Two days on, the applied one is forgotten; the pending one and the dead letter stay.
        assert await keeper.prune_inbox(now + dt.timedelta(days=3)) == 1
        assert [await store.inbox.state_of(n) for n in (1, 2, 3)] == [None, "pending", "dead"]
        assert await keeper.prune_inbox(now + dt.timedelta(days=31)) == 1
        assert await store.inbox.dead_count() == 0
    finally:
        await store.close()


# --- kill -9 -----------------------------------------------------------------------------


async def test_kill_9_loses_no_fetched_update(tg: FakeTelegram, tmp_path: Path) -> None:
    """Two answers while the reply to the first is slow; the bot is killed once Telegram
    counts both as delivered. After the restart both are applied and answered, once."""
    db = tmp_path / "intake.db"
    ap = tg.user(4, language_code="en", first_name="Aynur")
    first = BotProcess(tg, tmp_path, "first")
    second = BotProcess(tg, tmp_path, "second")
    try:
        await first.start()
        await ap.send("/start")
        await shows(ap, AGREE)
        await ap.tap(AGREE)
        await shows(ap, "For myself")
        await ap.tap("For myself")
        await shows(ap, "What is the name")
        tg.delay_next("sendMessage", 30, apply_first=True)  # the reply arrives, its answer not
        await ap.send(NAME)
        await shows(ap, "born")
        later = await ap.send("1975-03-08")
        # Fetched, and confirmed by the poll after: Telegram will not send it again.
        await wait_until(
            lambda: tg.deliveries.get(later["update_id"]) and not tg.pending_updates,
            10,
            "the second answer fetched and confirmed",
        )
        await asyncio.sleep(0.2)
        assert "sensitive" not in (ap.messages[-1].text or "")  # not answered yet
        first.kill()
        assert await first.wait(5) == -signal.SIGKILL

        await second.start()
        await shows(ap, "sensitive personal information")
        _, answers = db_answers(db, ap.id)
        assert answers["name"] == NAME and answers["birth_date"] == "1975-03-08"
        await asyncio.sleep(0.5)  # a second answer would come by now
        assert len(with_text(ap, "born")) == 1
        assert len(with_text(ap, "sensitive personal information")) == 1
        for proc in (first, second):
            assert NAME not in proc.log() and "Traceback" not in proc.log(), proc.log()
    finally:
        first.cleanup()
        second.cleanup()


async def test_kill_9_before_the_reply_shows_the_question_after_restart(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """The answer was committed, the bot died before its reply went out: after the restart
    the applicant sees the question they are at (not silence, which would make their next
    message the answer to a question they never saw)."""
    db = tmp_path / "intake.db"
    ap = tg.user(4, language_code="en", first_name="Aynur")
    first = BotProcess(tg, tmp_path, "first")
    second = BotProcess(tg, tmp_path, "second")
    try:
        await first.start()
        await ap.send("/start")
        await shows(ap, AGREE)
        await ap.tap(AGREE)
        await shows(ap, "For myself")
        await ap.tap("For myself")
        await shows(ap, "What is the name")
        tg.delay_next("sendMessage", 30, apply_first=False)  # the reply never arrives
        await ap.send(NAME)
        await wait_until(lambda: "name" in db_answers(db, ap.id)[1], 10, "the answer committed")
        await asyncio.sleep(0.2)
        assert not with_text(ap, "born")
        first.kill()
        assert await first.wait(5) == -signal.SIGKILL

        await second.start()
        await shows(ap, "born")
        await asyncio.sleep(0.5)
        assert len(with_text(ap, "born")) == 1
        await ap.send("1975-03-08")
        await shows(ap, "sensitive personal information")
        _, answers = db_answers(db, ap.id)
        assert answers["name"] == NAME and answers["birth_date"] == "1975-03-08"
    finally:
        first.cleanup()
        second.cleanup()


async def test_kill_9_after_an_approval_still_answers_the_caseworker(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    store = await Store.open(db)
    try:
        await store.flows.publish(FLOW)
        await store.roles.grant(2, "caseworker")
    finally:
        await store.close()
    ap = tg.user(4, language_code="en", first_name="Zhang")
    cw = tg.user(2, language_code="en", first_name="Wang")
    first = BotProcess(tg, tmp_path, "first")
    second = BotProcess(tg, tmp_path, "second")
    try:
        await first.start()
        await ap.send("/start")
        await shows(ap, AGREE)
        await ap.tap(AGREE)
        for question, answer in (
            ("Your name?", "Zhang San"),
            ("Which village?", "Red Star"),
            ("What happened?", "Hit by a car"),
            ("Which county?", "Hotan"),
        ):
            await shows(ap, question)
            await ap.send(answer)
        await shows(ap, "injured")
        await ap.tap("Yes")
        await shows(ap, SEND)
        await ap.tap(SEND)
        await wait_until(lambda: with_text(ap, "Your reference"), 10, "the receipt")
        with sqlite3.connect(db) as conn:
            [(ref,)] = conn.execute("SELECT ref FROM intakes").fetchall()
        await cw.send(f"/open {ref}")
        await cw.tap("🙋 Claim", wait=10)
        await wait_until(lambda: with_text(cw, "being reviewed"), 10, "the claimed card")
        await cw.tap_containing("Approve", wait=10)
        await shows(cw, "Type the amount")
        await cw.send("3000")
        await shows(cw, "✅ Yes, approve")
        # The approval commits; the caseworker's answer is held up, and the bot dies.
        tg.delay_next("editMessageReplyMarkup", 30, apply_first=False)
        await cw.tap("✅ Yes, approve")
        await wait_until(lambda: with_text(ap, "is approved"), 10, "the applicant's notice")
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT status FROM intakes").fetchall() == [("approved",)]
        await wait_until(lambda: not tg.pending_updates, 10, "the tap confirmed")
        await asyncio.sleep(0.3)
        assert not with_text(cw, "is approved with")
        first.kill()
        assert await first.wait(5) == -signal.SIGKILL

        await second.start()
        await wait_until(lambda: with_text(cw, "is approved with"), 10, "the caseworker's answer")
        await asyncio.sleep(0.5)
        assert len(with_text(cw, "is approved with")) == 1
        assert not with_text(cw, "no longer valid")
        assert len(with_text(ap, "is approved")) == 1
    finally:
        first.cleanup()
        second.cleanup()


# --- webhook mode ------------------------------------------------------------------------


def test_webhook_mode_without_a_secret_does_not_start(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        INTAKE_BOT_TOKEN=TOKEN,
        INTAKE_BOT_API_URL=f"http://127.0.0.1:{free_port()}/bot",
        INTAKE_WEBHOOK_URL="https://bot.example.org/hook",
        INTAKE_WEBHOOK_PORT=str(free_port()),
    )
    result = subprocess.run(
        _command(), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=20
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "but INTAKE_WEBHOOK_SECRET is not" in lines[0], result.stderr
    assert not (tmp_path / "intake.db").exists()  # refused before anything was opened


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SECRET = "hook-Secret_7"


@pytest.fixture
async def hook(tg: FakeTelegram, tmp_path: Path) -> Any:
    port = free_port()
    settings = make_settings(
        tg,
        tmp_path / "intake.db",
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_port=port,
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        rate_limit=0,
    )
    services = await open_services(settings)
    app = build_application(services, request_timeout=2)
    try:
        await start_webhook(app, settings)
        yield port, services
    finally:
        await stop_app(app)
        await services.store.close()


async def _raw_post(port: int, headers: dict[str, str], body: bytes) -> tuple[bytes, float]:
    """Send a request's head and ``body`` (maybe only the start of what Content-Length
    promises); return the status line and how long it took to come."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        started = time.monotonic()
        writer.write(head.encode() + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        return line, time.monotonic() - started
    finally:
        writer.close()


async def test_the_webhook_refuses_large_and_unsigned_bodies_before_reading_them(
    hook: Any,
) -> None:
    port, services = hook
    big = str(50_000_000)
    # The body never comes: only a refusal that does not wait for it can answer.
    for headers, status in (
        ({"Content-Length": big}, b" 403 "),
        ({"Content-Length": big, "X-Telegram-Bot-Api-Secret-Token": "nope"}, b" 403 "),
        ({"Content-Length": big, "X-Telegram-Bot-Api-Secret-Token": SECRET}, b" 413 "),
    ):
        line, took = await _raw_post(port, headers, b"{" + b" " * 1000)
        assert status in line, line
        assert took < 2
    # A body that does not say its size is cut off at 1 MB.
    chunk = b" " * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"
    headers = {"Transfer-Encoding": "chunked", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    line, _ = await _raw_post(port, headers, chunks)
    assert b" 413 " in line, line
    assert await services.store.db.fetchone("SELECT 1 FROM inbox") is None


async def test_a_webhook_body_that_cannot_be_read_is_never_logged(
    tg: FakeTelegram, hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    port, services = hook
    caplog.set_level(logging.DEBUG)
    person = tg.user(61, language_code="en")
    url = f"http://127.0.0.1:{port}/hook"
    signed = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(timeout=5) as client:
        poisoned = {"update_id": 77, **message(person, POISON, date=10**20)}
        assert (await client.post(url, json=poisoned, headers=signed)).status_code == 200
        for junk in (b"{" + POISON.encode(), json.dumps({"text": POISON}).encode()):
            response = await client.post(url, content=junk, headers=signed)
            assert response.status_code == 400
        fine = {"update_id": 78, **message(person, "/start")}
        fine["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
        assert (await client.post(url, json=fine, headers=signed)).status_code == 200
    await wait_until(lambda: person.messages, 10, "the answer to /start")
    assert [n for n, _ in await services.store.inbox.dead_letters()] == [77]
    assert not [rec for rec in caplog.records if POISON in rec.getMessage()]
    assert not [rec for rec in caplog.records if rec.exc_info and POISON in str(rec.exc_info[1])]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.CRITICAL]
