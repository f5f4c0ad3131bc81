"""Two ``intake-bot run`` processes in webhook mode on one PostgreSQL database, behind a
round robin of Telegram's webhook calls (what nginx's upstream does, README "Several
instances"): many applicants at once, one process killed mid-burst and started again.
Every answer is applied once and in order, every submission has one reference, and every
caseworkers' alert is sent once (issue 27)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import httpx

from bot.dburl import is_postgres
from tests.backends import deployment, fresh_postgres, open_store
from tests.conftest import TOKEN
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import wait_until, with_text
from tests.test_inbox import free_port
from tests.test_reliability import AGREE, FLOW, GROUP, QUESTIONS, SEND, BotProcess

APPLICANTS = 100
UPDATES = 8  # each: /start, agree, four answers, Yes, Send
SECRET = "several-instances-27"
ANSWERED = ("name", "village", "story", "county")


class RoundRobin:
    """Takes the updates the fake Telegram holds and posts each to the next instance's
    webhook; one that does not answer 200 is posted to the other (nginx's
    ``proxy_next_upstream``), and again until one takes it, as Telegram retries."""

    def __init__(self, tg: FakeTelegram, ports: list[int]) -> None:
        self.tg = tg
        self.urls = [f"http://127.0.0.1:{port}/hook" for port in ports]
        self.turn = 0
        self.posted = 0

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                batch, self.tg._pending = self.tg._pending, []
                for queued in batch:
                    await self._post(client, queued.update)
                    self.tg._max_delivered_id = max(self.tg._max_delivered_id, queued.update_id)
                    self.tg._touch(queued.chat_id)
                await asyncio.sleep(0.01)

    async def _post(self, client: httpx.AsyncClient, update: dict[str, object]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        while True:
            url = self.urls[self.turn % len(self.urls)]
            self.turn += 1
            with contextlib.suppress(httpx.HTTPError):
                if (await client.post(url, json=update, headers=headers)).status_code == 200:
                    self.posted += 1
                    return
            await asyncio.sleep(0.05)


async def _listening(port: int, proc: BotProcess) -> None:
    async def up() -> bool:
        assert proc.proc is not None and proc.proc.poll() is None, proc.log()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_until(up, 30, "the instance's webhook")


def quiet_after(person: FakeUser, seen: int) -> bool:
    """New messages came, and the bot has applied everything the person sent."""
    return len(person.messages) > seen and person.tg._quiet_for(0.3, person.chat_id)


async def _applicant(person: FakeUser, n: int) -> None:
    """Answers whatever the bot shows last, as a person does; when nothing comes (the
    instance that held their answer died), /start brings the question back."""
    typed = {step: f"{step} {n}" for step in ANSWERED}
    lost = 0  # /start sent on something unknown: after the sending, its receipt was lost
    while True:
        seen = len(person.messages)
        last = person.messages[-1] if person.messages else None
        text = (last.text or "") if last else ""
        if last is None:
            await person.send("/start")
        elif with_text(person, "Your reference") or "You sent" in text:
            return
        elif AGREE in last.buttons:
            await person.tap(AGREE, last)
        elif SEND in last.buttons:
            await person.tap(SEND, last)
        elif QUESTIONS["hurt"] in text:
            await person.tap("Yes", last)
        else:
            step = next((s for s in ANSWERED if QUESTIONS[s] in text), None)
            if step is None:
                lost += 1
                if lost > 2:
                    return  # sent: the database is checked below
                await person.send("/start")
            else:
                # Typed quickly one after the other: the round robin hands consecutive
                # answers to different instances, which must apply them in order.
                for later in ANSWERED[ANSWERED.index(step) :]:
                    await person.send(typed[later])
        try:
            await wait_until(lambda: quiet_after(person, seen), 20, "an answer")  # noqa: B023
        except AssertionError:
            await person.send("/start")
            await wait_until(lambda: len(person.messages) > seen, 30, "an answer")  # noqa: B023


async def test_two_instances_behind_a_round_robin_apply_everything_once(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with fresh_postgres() as url:
        assert is_postgres(url)
        store = await open_store(url, tmp_path)
        try:
            await store.flows.publish(FLOW)
        finally:
            await store.close()
        ports = [free_port(), free_port()]
        procs = [BotProcess(tg, tmp_path, f"instance{i}") for i in range(2)]
        restarted = BotProcess(tg, tmp_path, "instance0-again")
        for proc, port in zip([*procs, restarted], [*ports, ports[0]], strict=True):
            proc.env.update(
                INTAKE_DB=url,
                INTAKE_WEBHOOK_URL="https://intake.example/hook",
                INTAKE_WEBHOOK_PORT=str(port),
                INTAKE_WEBHOOK_LISTEN="127.0.0.1",
                INTAKE_WEBHOOK_SECRET=SECRET,
                INTAKE_CASEWORKER_CHAT=str(GROUP),
                INTAKE_BOT_TOKEN=TOKEN,
                # A hundred alerts to one group at Telegram's 20 a minute would take five
                # minutes: the shared send pace has its own test (tests/test_sendpace.py).
                INTAKE_SEND_RATE="0",
            )
            for name, value in deployment(url, tmp_path).items():
                proc.env["INTAKE_" + name.upper()] = value
        balancer = RoundRobin(tg, ports)
        pushing = asyncio.create_task(balancer.run())
        group = tg.group(GROUP)
        people = [tg.user(1000 + n, language_code="en") for n in range(APPLICANTS)]
        try:
            for proc in procs:
                await proc.start_process()
            for proc, port in zip(procs, ports, strict=True):
                await _listening(port, proc)
            talking = [asyncio.create_task(_applicant(p, n)) for n, p in enumerate(people)]
            await wait_until(lambda: balancer.posted >= APPLICANTS * 4, 60, "the burst")
            assert balancer.posted < APPLICANTS * UPDATES  # mid-burst
            procs[0].kill()  # no goodbye
            assert await procs[0].wait(10) == -signal.SIGKILL
            await restarted.start_process()  # as systemd's Restart=always does
            await _listening(ports[0], restarted)
            await asyncio.wait_for(asyncio.gather(*talking), 300)

            store = await open_store(url, tmp_path)
            try:
                refs = []
                for n, person in enumerate(people):
                    intakes = await store.intakes.for_applicant(person.id)
                    assert len(intakes) == 1, (n, [i.status for i in intakes])
                    [intake] = intakes
                    assert intake.status == "submitted" and intake.ref, n
                    refs.append(intake.ref)
                    answers = intake.state.answers
                    for step in ANSWERED:  # each answer where it was asked, once
                        assert answers[step] == f"{step} {n}", (n, step, answers)
                    assert answers["hurt"] == "yes"
                    assert len(with_text(person, "Your reference")) <= 1
                assert len(set(refs)) == APPLICANTS
                await wait_until(  # the caseworkers' alert: once each
                    lambda: all(with_text(group, ref) for ref in refs), 60, "the group's alerts"
                )
                await asyncio.sleep(1.0)  # a second sender would have doubled one by now
                for ref in refs:
                    assert len(with_text(group, ref)) == 1, ref
                assert await store.outbox.pending_count() == 0
                assert await store.inbox.dead_count() == 0
            finally:
                await store.close()
            for proc in [*procs, restarted]:
                assert "bot started (webhook" in proc.log(), proc.log()
                assert "Traceback" not in proc.log(), proc.log()
        finally:
            pushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pushing
            for proc in [*procs, restarted]:
                proc.cleanup()
