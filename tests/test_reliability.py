"""Reliability: Telegram failing, the process dying, SQLite busy, polling stalling.

The issue's promise is "nothing lost": a 429, a 5xx or a timeout from the Bot API delays a
reply or a notification and never loses (or doubles) it; a crash loses no committed answer;
a duplicated update is applied once; SQLite being busy never reaches a person; and when
polling stops working somebody reads about it in the log.

Faults are injected in the offline fake Bot API (``tests.fakebot``) that a real PTB
``Application`` talks to. "Exactly once" is checked by counting the messages that actually
arrived in a chat. What the bot repeats: a call that failed before it went out, or that
Telegram answered with an error (429, 5xx). What it does not: a call that went out and
whose answer was lost (too late, cut off, unreadable), since Telegram may have applied it
and the Bot API has no idempotency key; timeouts are therefore injected with
``apply_first=True`` (Telegram applied the call and answered too late), and
``test_a_late_answer_from_telegram_is_not_sent_again`` shows the message arriving once.

The crash tests run ``intake-bot run`` as a real subprocess against a fake Telegram served
from this process, and kill it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import AIORateLimiter, TypeHandler

from bot.store import Store
from bot.store.outbox import OutMessage
from telegram_channel.guard import Watchdog
from telegram_channel.sendlimit import SendLimiter
from tests.conftest import TOKEN, Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import bot_api_client_of, wait_until, with_text

FLOW = """
id: reliability-test
languages: [en, zh]
title: {en: Reliability test, zh: 可靠性测试}
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
  - id: story
    type: text
    text: {en: What happened?, zh: 发生了什么？}
  - id: county
    type: text
    text: {en: Which county?, zh: 哪个县？}
  - id: hurt
    type: choice
    text: {en: Were you injured by a crime?, zh: 你是否因犯罪受伤？}
    choices:
      - {value: "yes", label: {en: "Yes", zh: 是}}
      - {value: "no", label: {en: "No", zh: 否}}
eligibility:
  - {id: injured, when: "hurt == 'yes'", label: {en: Injured by a crime, zh: 因犯罪受伤}}
priority:
  - {id: injury, when: "hurt == 'yes'", points: 2, label: {en: Injury, zh: 受伤}}
"""

QUESTIONS = {
    "consent": "May we use your answers to help you?",
    "name": "Your name?",
    "village": "Which village?",
    "story": "What happened?",
    "county": "Which county?",
    "hurt": "Were you injured by a crime?",
}
AGREE, SEND = "✅ I agree", "📨 Send"
APOLOGY = "Sorry, something went wrong on our side"
CW, GROUP = 2, -100555
QUICK = 0.05
# Timeouts injected into the fake last longer than the request timeout of the bot under test
# (Running builds it with request_timeout=2): the client gives up, the call is dropped.
TIMEOUT_DELAY = 2.6


# --- helpers ----------------------------------------------------------------------------


def attempts(tg: FakeTelegram, chat_id: int, needle: str) -> int:
    """How often the bot called sendMessage for ``chat_id`` with ``needle`` in the text."""
    return sum(
        1
        for p in tg.calls_to("sendMessage")
        if p.get("chat_id") == chat_id and needle in str(p.get("text", ""))
    )


async def outbox_empty(r: Running, timeout: float = 15.0) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, timeout, "an empty outbox")


async def answers_of(r: Running, user_id: int) -> dict[str, Any]:
    intakes = await r.store.intakes.for_applicant(user_id)
    assert intakes, f"no intake of {user_id}"
    return dict(intakes[-1].state.answers)


def no_apology(person: FakeUser) -> None:
    texts = [m.text or "" for m in person.messages]
    assert not any(APOLOGY in t for t in texts), texts


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """The bot on the test flow, with a caseworkers' group and a caseworker; no per-person
    rate limit (these people answer faster than anyone can type)."""
    running = Running(
        tg,
        make_settings(tg, tmp_path / "intake.db", caseworker_chat=GROUP, rate_limit=0),
    )
    await running.start()
    try:
        await running.store.flows.publish(FLOW)
        await running.store.roles.grant(CW, "caseworker")
        # Look for due outbox messages often (production: every 2 s); back-off still applies.
        running.app.bot_data["sender"].idle = 0.1  # type: ignore[attr-defined]
        yield running
    finally:
        await running.stop()


async def begin(person: FakeUser) -> None:
    """/start and the consent: the name question is the last thing the person sees."""
    await person.ask("/start", settle=QUICK)
    await person.tap(AGREE)
    replies = await person.wait_reply(settle=QUICK)
    assert QUESTIONS["name"] in (replies[-1].text or ""), [str(m) for m in replies]


# --- 1. faults while people talk to the bot ---------------------------------------------


async def test_replies_survive_429_502_and_late_answers_exactly_once(
    tg: FakeTelegram, r: Running
) -> None:
    # The send limiter of the Bot API client the bot runs on: both wait out flood waits.
    shipped = {"own": SendLimiter, "stock": AIORateLimiter}[r.settings.bot_api_client]
    assert isinstance(r.app.bot.rate_limiter, shipped)  # type: ignore[attr-defined]
    ap = tg.user(4, language_code="en", first_name="Zhang")
    await begin(ap)

    # A flood wait: the send limiter waits retry_after, then sends.
    tg.fail_next("sendMessage", status=429, retry_after=1)
    await ap.send("Zhang San")
    await ap.wait_reply(timeout=10)
    # A burst of bad gateways: the bot backs off and tries again.
    tg.fail_next("sendMessage", status=502, count=2)
    await ap.send("Red Star")
    await ap.wait_reply(timeout=10)
    # Telegram showing the message but answering too late: the request times out, and is
    # not sent again (it may have been shown, and here it was).
    tg.delay_next("sendMessage", TIMEOUT_DELAY, apply_first=True)
    await ap.send("Hit by a car")
    await ap.wait_reply(timeout=12)
    # All three at once on one reply.
    tg.fail_next("sendMessage", status=502, count=1)
    tg.fail_next("sendMessage", status=429, retry_after=1)
    await ap.send("Hotan")
    await wait_until(lambda: with_text(ap, QUESTIONS["hurt"]), 12, "the last question")

    for step in ("village", "story", "county", "hurt"):
        assert len(with_text(ap, QUESTIONS[step])) == 1, (step, [str(m) for m in ap.messages])
    # The faults really happened: each of these questions needed more than one try.
    assert attempts(tg, ap.id, QUESTIONS["village"]) == 2  # 429, then sent
    assert attempts(tg, ap.id, QUESTIONS["story"]) == 3  # 502, 502, then sent
    assert attempts(tg, ap.id, QUESTIONS["county"]) == 1  # shown, answered too late
    assert attempts(tg, ap.id, QUESTIONS["hurt"]) == 3
    assert await answers_of(r, ap.id) == {
        "consent": True,
        "name": "Zhang San",
        "village": "Red Star",
        "story": "Hit by a car",
        "county": "Hotan",
    }
    no_apology(ap)
    assert await r.store.outbox.pending_count() == 0


async def test_notifications_survive_faults_exactly_once(tg: FakeTelegram, r: Running) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    cw = tg.user(CW, language_code="en", first_name="Wang")
    group = tg.group(GROUP)
    await begin(ap)
    for text in ("Zhang San", "Red Star", "Hit by a car", "Hotan"):
        await ap.ask(text, settle=QUICK)
    await ap.tap("Yes")
    await ap.wait_reply(settle=QUICK)

    # Sending: the reply to the applicant and the alert to the group both meet the faults.
    tg.fail_next("sendMessage", status=502, count=2)
    tg.fail_next("sendMessage", status=429, retry_after=1)
    tg.delay_next("sendMessage", TIMEOUT_DELAY, apply_first=True)
    await ap.tap(SEND)
    await wait_until(lambda: with_text(ap, "Your reference"), 15, "the applicant's receipt")
    [intake] = await r.store.intakes.for_applicant(ap.id)
    ref = intake.ref
    assert ref
    await wait_until(lambda: with_text(group, ref), 15, "the group's alert")
    await outbox_empty(r)

    # The caseworker claims and asks; the applicant's notices go through the outbox.
    await cw.ask(f"/open {ref}", settle=QUICK)
    tg.delay_next("sendMessage", TIMEOUT_DELAY, apply_first=True)
    tg.fail_next("sendMessage", status=503, count=1)
    await cw.tap("🙋 Claim")
    await wait_until(
        lambda: with_text(ap, "is now looking at your application"), 15, "the claim notice"
    )
    await wait_until(lambda: with_text(cw, "You have claimed"), 15, "the caseworker's reply")
    # The claim ends with the case's card; the faults below are meant for the decision.
    await wait_until(lambda: with_text(cw, "being reviewed"), 15, "the claimed case's card")
    tg.fail_next("sendMessage", status=429, retry_after=1)
    tg.fail_next("sendMessage", status=502, count=2)
    await r.services.casework.decline(CW, intake.id, "compensated")  # type: ignore[union-attr]
    await wait_until(lambda: with_text(ap, "was not approved"), 15, "the decision notice")
    await outbox_empty(r)
    await asyncio.sleep(0.3)  # a duplicate would be sent by now

    assert len(with_text(ap, "Your reference")) == 1
    assert len(with_text(group, ref)) == 1
    assert len(with_text(ap, "is now looking at your application")) == 1
    assert len(with_text(cw, "You have claimed")) == 1
    assert len(with_text(ap, "was not approved")) == 1
    assert attempts(tg, ap.id, "was not approved") == 4  # 429, 502, 502, delivered
    no_apology(ap)
    no_apology(cw)
    assert await r.store.outbox.pending_count() == 0


async def test_a_longer_outage_defers_the_reply_to_the_outbox(tg: FakeTelegram, r: Running) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    await begin(ap)
    tg.fail_next("sendMessage", status=502, count=6)  # more than the handler's own retries
    await ap.send("Zhang San")

    async def queued() -> bool:
        return await r.store.outbox.pending_count() == 1

    await wait_until(queued, 10, "the reply handed to the outbox")
    await wait_until(lambda: with_text(ap, QUESTIONS["village"]), 15, "the deferred reply")
    await outbox_empty(r)
    await asyncio.sleep(0.3)
    [arrived] = with_text(ap, QUESTIONS["village"])
    assert "⬅️ Back" in arrived.buttons  # the question's buttons came with it
    assert attempts(tg, ap.id, QUESTIONS["village"]) == 7  # 4 in the handler, 3 from the outbox
    assert (await answers_of(r, ap.id))["name"] == "Zhang San"
    no_apology(ap)
    # The interview goes on from the deferred question.
    replies = await ap.ask("Red Star", settle=QUICK)
    assert QUESTIONS["story"] in (replies[-1].text or "")


async def test_a_late_answer_from_telegram_is_not_sent_again(
    tg: FakeTelegram, r: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram applied the call but its answer came after the client's timeout. The Bot API
    has no idempotency key, so the bot cannot know whether it was shown: it counts it as
    sent, and the applicant gets the question once."""
    caplog.set_level(logging.WARNING)
    ap = tg.user(4, language_code="en", first_name="Zhang")
    await begin(ap)
    tg.delay_next("sendMessage", TIMEOUT_DELAY, apply_first=True)
    await ap.send("Zhang San")
    await wait_until(lambda: with_text(ap, QUESTIONS["village"]), 12, "the reply")
    await wait_until(lambda: tg._inflight == 0, 5, "the delayed call to end")
    await asyncio.sleep(2.5)  # past the handler's retries and the outbox's first try
    assert len(with_text(ap, QUESTIONS["village"])) == 1, [str(m) for m in ap.messages]
    assert attempts(tg, ap.id, QUESTIONS["village"]) == 1
    assert (await answers_of(r, ap.id))["name"] == "Zhang San"
    assert await r.store.outbox.pending_count() == 0
    no_apology(ap)
    assert any("answer was lost" in rec.getMessage() for rec in caplog.records)
    assert not any(QUESTIONS["village"] in rec.getMessage() for rec in caplog.records)
    # The interview goes on from there.
    replies = await ap.ask("Red Star", settle=QUICK)
    assert QUESTIONS["story"] in (replies[-1].text or "")


@pytest.mark.parametrize("how", ["chunked-split", "trailers", "junk-after", "two-lengths"])
async def test_answers_framed_any_way_reach_the_applicant_once(
    tg: FakeTelegram, r: Running, how: str
) -> None:
    """Telegram's answer chunked with the read split before its last CRLF, chunked with a
    trailer, followed by stray bytes, or with two Content-Length headers: the question
    was shown once, and the interview goes on."""
    ap = tg.user(4, language_code="en", first_name="Zhang")
    await begin(ap)
    tg.frame_next("sendMessage", how)
    await ap.send("Zhang San")
    await wait_until(lambda: with_text(ap, QUESTIONS["village"]), 10, "the reply")
    await asyncio.sleep(1.5)  # past the handler's first retry
    assert len(with_text(ap, QUESTIONS["village"])) == 1, [str(m) for m in ap.messages]
    assert attempts(tg, ap.id, QUESTIONS["village"]) == 1
    assert await r.store.outbox.pending_count() == 0
    replies = await ap.ask("Red Star", settle=QUICK)
    assert QUESTIONS["story"] in (replies[-1].text or "")
    no_apology(ap)


async def test_a_notification_whose_answer_was_lost_leaves_the_outbox_once(
    tg: FakeTelegram, r: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    ap = tg.user(4, language_code="en", first_name="Zhang")
    tg.frame_next("sendMessage", "two-lengths")
    await r.store.outbox.add([OutMessage(ap.id, "Your application Q-77 was approved.", [])])
    await wait_until(lambda: with_text(ap, "Q-77"), 10, "the notification")
    await outbox_empty(r)
    await asyncio.sleep(1.5)  # past the outbox's first back-off
    assert len(with_text(ap, "Q-77")) == 1
    assert attempts(tg, ap.id, "Q-77") == 1
    lost = [rec.getMessage() for rec in caplog.records if "answer was lost" in rec.getMessage()]
    assert lost and not any("Q-77" in line for line in lost)


# --- 2. duplicated updates --------------------------------------------------------------


async def test_duplicated_updates_are_applied_once(tg: FakeTelegram, r: Running) -> None:
    seen: list[int] = []

    async def record(update: Update, _ctx: object) -> None:
        seen.append(update.update_id)

    r.app.add_handler(TypeHandler(Update, record), group=-2)  # type: ignore[attr-defined]
    ap = tg.user(4, language_code="en", first_name="Zhang")
    await ap.ask("/start", settle=QUICK)
    duplicated = []
    tg.duplicate_next_update()
    duplicated.append((await ap.tap(AGREE))["update_id"])
    await ap.wait_reply(settle=0.3)
    tg.duplicate_next_update()
    duplicated.append((await ap.send("Zhang San"))["update_id"])
    await ap.wait_reply(settle=0.3)
    tg.duplicate_next_update()
    duplicated.append((await ap.send("Red Star"))["update_id"])
    await ap.wait_reply(settle=0.3)
    await tg.wait_idle(settle=0.3)

    # Each of these updates reached the bot twice, and its handlers once: the second
    # delivery found it in the inbox ...
    for update_id in duplicated:
        assert tg.deliveries[update_id] == 2, (update_id, tg.deliveries)
        assert seen.count(update_id) == 1, (update_id, seen)
    # ... and applied once: a second "Zhang San" would have answered the village question.
    assert await answers_of(r, ap.id) == {
        "consent": True,
        "name": "Zhang San",
        "village": "Red Star",
    }
    for step in ("name", "village", "story"):
        assert len(with_text(ap, QUESTIONS[step])) == 1, (step, [str(m) for m in ap.messages])
    consents = await r.store.intakes.consents((await r.store.intakes.for_applicant(ap.id))[0].id)
    assert [c["step_id"] for c in consents] == ["consent"]
    started = await r.store.audit.recent(action="intake.started")
    assert len(started) == 1


# --- 3. SQLite busy ---------------------------------------------------------------------


async def test_sqlite_busy_never_reaches_the_applicant(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    ap = tg.user(4, language_code="en", first_name="Zhang")
    await begin(ap)
    other = sqlite3.connect(tmp_path / "intake.db", isolation_level=None, timeout=5)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        held_at = time.monotonic()
        await ap.send("Zhang San")
        await asyncio.sleep(1.0)
        assert not with_text(ap, QUESTIONS["village"]), "answered while the database was locked"
        other.execute("COMMIT")
        released = time.monotonic() - held_at
    finally:
        other.close()
    replies = await ap.wait_reply(timeout=10)
    assert QUESTIONS["village"] in (replies[-1].text or "")
    assert released >= 1.0
    assert (await answers_of(r, ap.id))["name"] == "Zhang San"
    no_apology(ap)


# --- 4. the watchdog --------------------------------------------------------------------


async def test_the_watchdog_logs_when_polling_has_not_succeeded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dog = Watchdog(after=0.5)
    caplog.set_level(logging.ERROR, logger="telegram_channel.guard")
    assert await dog.check() is False  # fresh
    assert not caplog.records

    dog.last_ok = time.monotonic() - 5
    assert await dog.check() is True
    [record] = [r for r in caplog.records if r.name == "telegram_channel.guard"]
    assert record.levelno == logging.ERROR
    assert "polling has not succeeded for 5 seconds" in record.getMessage()
    # Loud, not a flood: a second check right away does not log again ...
    assert await dog.check() is True
    assert len(caplog.records) == 1
    # ... and polling working again silences it.
    dog.progressed()
    assert await dog.check() is False
    assert len(caplog.records) == 1


async def test_the_watchdog_sees_failing_polls_of_the_real_bot(
    tg: FakeTelegram, r: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="telegram_channel.guard")
    dog: Watchdog = r.app.bot_data["watchdog"]  # type: ignore[attr-defined]
    dog.after = 0.5
    assert await dog.check() is False
    tg.fail_next("getUpdates", status=502, count=10_000)
    try:
        await wait_until(lambda: dog.stale_for() > 0.8, 10, "polling to go stale")
        assert await dog.check() is True
        assert any("polling has not succeeded" in rec.getMessage() for rec in caplog.records)
    finally:
        tg._faults.clear()
    # Telegram answers again: the next successful poll is seen.
    await wait_until(lambda: dog.stale_for() < 0.5, 10, "polling to succeed again")
    assert await dog.check() is False


# --- 5. the real process: kill -9, SIGTERM, no token ------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).parent / "intake-bot"
    if script.exists():
        return [str(script), "run"]
    return [sys.executable, "-m", "command_line.cli", "run"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(
        INTAKE_DB=str(tmp_path / "intake.db"),
        INTAKE_RATE_LIMIT="0",
        INTAKE_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class BotProcess:
    """``intake-bot run`` as a child process; its stderr goes to a file for later checks."""

    def __init__(self, tg: FakeTelegram, tmp_path: Path, name: str) -> None:
        self.tg = tg
        self.log_path = tmp_path / f"{name}.log"
        self.env = _env(
            tmp_path,
            INTAKE_BOT_TOKEN=TOKEN,
            INTAKE_BOT_API_URL=tg.base_url,
            INTAKE_BOT_API_CLIENT=bot_api_client_of(tg),
        )
        self.cwd = tmp_path
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        polls = self.tg.call_count("getUpdates")
        await self.start_process()
        await wait_until(
            lambda: self.tg.call_count("getUpdates") > polls or self.proc.poll() is not None,  # type: ignore[union-attr]
            15,
            "the bot process to poll",
        )
        assert self.proc.poll() is None, self.log()

    async def start_process(self) -> None:
        """Start it, without waiting for anything (a webhook instance does not poll)."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                _command(),
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    async def wait(self, timeout: float) -> int:
        assert self.proc is not None
        await wait_until(lambda: self.proc.poll() is not None, timeout, "the process to exit")  # type: ignore[union-attr]
        return int(self.proc.returncode)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)


def db_answers(db: Path, user_id: int) -> tuple[str | None, dict[str, Any]]:
    """(current step, answers) of the person's newest intake, read with plain sqlite3 and
    opened with the key file the bot made beside it (the state is sealed at rest)."""
    import json

    from bot.crypto import Cipher, generated_key, key_file_for

    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        row = conn.execute(
            "SELECT state FROM intakes WHERE applicant_id = ? ORDER BY id DESC LIMIT 1",
            (user_id,),
        ).fetchone()
    assert row is not None, "no intake in the database"
    key = generated_key(key_file_for(str(db)).read_text(encoding="ascii"))
    assert key is not None
    state = json.loads(Cipher(key).open_bytes(row[0]))
    return state.get("current"), dict(state.get("answers") or {})


async def shows(person: FakeUser, needle: str, since: int = 0, timeout: float = 20) -> SentMessage:
    """Wait until the newest message (or its buttons), one of those after the first
    ``since``, shows ``needle``; returns it. Waits long: a bot started again after a kill
    is slow to answer on a machine busy with other tests."""

    def newest() -> SentMessage | None:
        if len(person.messages) <= since:
            return None
        last = person.messages[-1]
        return last if needle in (last.text or "") or needle in last.buttons else None

    await wait_until(newest, timeout, f"{needle!r} in chat {person.chat_id}: {person.texts()[-3:]}")
    found = newest()
    assert found is not None
    return found


NAME = "Aynur Tursun-Q7"  # distinctive, so the logs can be searched for it


async def test_kill_9_mid_interview_loses_no_committed_answer(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    ap = tg.user(4, language_code="en", first_name="Aynur")
    first = BotProcess(tg, tmp_path, "first")
    second = BotProcess(tg, tmp_path, "second")
    third = BotProcess(tg, tmp_path, "third")
    try:
        await first.start()
        await ap.send("/start")
        await shows(ap, AGREE)
        await ap.tap(AGREE)
        await shows(ap, "For myself")
        await ap.tap("For myself")
        await shows(ap, "What is the name")
        await ap.send(NAME)
        await shows(ap, "born")
        await ap.send("1975-03-08")
        seen = await shows(ap, "sensitive personal information")
        assert seen.buttons[0] == AGREE
        committed = db_answers(db, ap.id)[1]
        assert {"consent", "applying_for", "name", "birth_date"} <= committed.keys()

        first.kill()  # no goodbye, no flush
        assert await first.wait(5) == -signal.SIGKILL
        await second.start()
        # The applicant taps the button on the question they see: it is still the current one.
        await ap.tap(AGREE, seen)
        await shows(ap, "ID card number")
        await ap.send("430321197503080023")
        await shows(ap, "Which county")
        current, answers = db_answers(db, ap.id)
        assert current == "county"
        assert answers["id_number"] == "430321197503080023"
        for step, value in committed.items():
            assert answers[step] == value, step
        assert answers["sensitive_consent"] is True

        # Killed again with an answer in flight: committed whole or not at all.
        await ap.send("Xiangtan County")
        second.kill()
        assert await second.wait(5) == -signal.SIGKILL
        await third.start()
        await tg.wait_idle(timeout=10, settle=0.3)  # an unconfirmed update comes again first
        current, answers = db_answers(db, ap.id)
        assert current in ("county", "township")
        assert ("county" in answers) == (current == "township")
        before = len(ap.messages)
        await ap.send("/start")
        await shows(ap, "Which township" if current == "township" else "Which county", before)
        assert "Welcome back" in (ap.messages[-2].text or "")
        assert db_answers(db, ap.id) == (current, answers)
        for step, value in committed.items():
            assert answers[step] == value, step

        # The logs of all three runs carry no token and no answer.
        for proc in (first, second, third):
            text = proc.log()
            assert TOKEN not in text and TOKEN.split(":")[1] not in text
            assert NAME not in text and "Xiangtan" not in text
            assert "430321197503080023" not in text
            assert "Traceback" not in text, text
    finally:
        for proc in (first, second, third):
            proc.cleanup()


async def test_sigterm_stops_the_bot_cleanly(tg: FakeTelegram, tmp_path: Path) -> None:
    proc = BotProcess(tg, tmp_path, "term")
    try:
        await proc.start()
        ap = tg.user(4, language_code="en")
        await ap.ask("/start", timeout=10)
        proc.kill(signal.SIGTERM)
        assert await proc.wait(8) == 0, proc.log()
        log = proc.log()
        assert "stopping" in log and "Traceback" not in log, log
    finally:
        proc.cleanup()
    # The database was closed properly: it opens, and the draft is there.
    store = await Store.open(tmp_path / "intake.db")
    try:
        assert (await store.intakes.load_for_applicant(4)).draft is not None
    finally:
        await store.close()


def test_a_missing_token_is_one_line_and_a_failure(tmp_path: Path) -> None:
    result = subprocess.run(
        _command(),
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "INTAKE_BOT_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr
