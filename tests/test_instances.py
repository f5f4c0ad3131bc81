"""Several instances on one database (issue 27): each notification is taken for sending by
one sender, a dead sender's claims lapse, and a single instance frees them at start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from telegram import Bot

from bot.store import Store
from bot.store.casework import OPEN_STATUSES, Change, Conflict
from bot.store.inbox import Pending, Received
from bot.store.outbox import OutMessage
from telegram_channel.app import one_at_a_time
from telegram_channel.outbox import OutboxSender
from telegram_channel.shared import SharedChats
from tests.backends import fresh_postgres, open_store
from tests.helpers import sent_intake


async def test_two_senders_take_each_notification_once(db_url: str, tmp_path: Path) -> None:
    first = await open_store(db_url, tmp_path)
    second = await open_store(db_url, tmp_path)
    try:
        await first.outbox.add([OutMessage(chat_id=n, text=f"notice {n}") for n in range(1, 8)])
        taken_first = await first.outbox.claim(limit=3)
        taken_second = await second.outbox.claim(limit=10)
        assert [q.chat_id for q in taken_first] == [1, 2, 3]  # oldest first
        assert [q.chat_id for q in taken_second] == [4, 5, 6, 7]
        assert await first.outbox.claim() == [] and await second.outbox.claim() == []
        # One is sent, one put off (a flood wait), one left by a sender that died: only
        # the dead sender's claim comes back, and only once its lease is over.
        await first.outbox.delivered(taken_first[0].id)
        await first.outbox.retry_later(taken_first[1].id, 3600, "flood wait")
        assert await second.outbox.claim() == []
        await first.db.execute(
            "UPDATE outbox SET claimed_until = '2000-01-01T00:00:00Z' WHERE id = ?",
            (taken_first[2].id,),
        )
        assert [q.chat_id for q in await second.outbox.claim()] == [3]
        # A single instance starting frees every claim of its earlier run.
        await second.outbox.release()
        assert [q.chat_id for q in await first.outbox.claim()] == [3, 4, 5, 6, 7]
        assert await first.outbox.pending_count() == 6
    finally:
        await first.close()
        await second.close()


async def test_a_job_runs_on_one_instance_at_a_time(db_url: str, tmp_path: Path) -> None:
    first = await open_store(db_url, tmp_path)
    second = await open_store(db_url, tmp_path)
    try:
        async with first.db.exclusive("housekeeping") as mine:
            assert mine
            async with second.db.exclusive("check-ins") as other_job:
                assert other_job  # another job is not held up
            async with second.db.exclusive("housekeeping") as also:
                # One process holds a SQLite database: there is no other instance.
                assert also is (first.db.dialect == "sqlite")
        async with second.db.exclusive("housekeeping") as after:
            assert after  # free again once the run is over
    finally:
        await first.close()
        await second.close()


async def _instances(url: str, tmp_path: Path, *names: str) -> list[Store]:
    """Stores as the instances of those names hold them, each said alive."""
    stores = []
    for name in names:
        store = await open_store(url, tmp_path)
        store.inbox.owner = name
        await store.inbox.beat()
        stores.append(store)
    return stores


async def _died(store: Store, name: str) -> None:
    """The instance ``name`` last said it was alive an hour ago."""
    await store.db.execute("UPDATE instances SET seen_at = seen_at - 3600 WHERE id = ?", (name,))


async def test_a_chats_updates_go_in_order_and_one_at_a_time_across_instances(
    tmp_path: Path,
) -> None:
    async with fresh_postgres() as url:
        first, second = await _instances(url, tmp_path, "a", "b")
        try:
            chat = -1001234567890
            await first.inbox.add([Received(10, chat, "{}")])
            await second.inbox.add([Received(11, chat, "{}"), Received(12, 7, "{}")])
            order: list[str] = []

            async def nothing_left(rows: list[Pending]) -> None:
                assert rows == [], "a living instance's update is never taken from it"

            async def apply(store: Store, update_id: int, chat_key: int = chat) -> None:
                shared = SharedChats(store.db, store.inbox, nothing_left)
                async with shared.hold(chat_key, update_id) as go:
                    assert go
                    order.append(f"{update_id} begins")
                    await asyncio.sleep(0.2)
                    order.append(f"{update_id} ends")

            # The newer update reaches the second instance first: it waits for the older.
            newer = asyncio.create_task(apply(second, 11))
            await asyncio.sleep(0.1)
            other_chat = asyncio.create_task(apply(second, 12, 7))
            await apply(first, 10)
            await asyncio.gather(newer, other_chat)
            assert order.index("10 ends") < order.index("11 begins")
            assert order.index("12 begins") < order.index("10 ends")  # another chat: no wait
            assert [await first.inbox.state_of(n) for n in (10, 11, 12)] == ["done"] * 3
        finally:
            await first.close()
            await second.close()


async def test_a_dead_instances_update_is_applied_first_by_the_next_of_its_chat(
    tmp_path: Path,
) -> None:
    async with fresh_postgres() as url:
        dead, alive = await _instances(url, tmp_path, "a", "b")
        try:
            chat = 4242
            await dead.inbox.add([Received(20, chat, '{"n": 20}'), Received(21, chat, "{}")])
            await alive.inbox.add([Received(22, chat, "{}")])
            await _died(alive, "a")
            order: list[int] = []

            async def catch_up(rows: list[Pending]) -> None:
                for row in rows:  # as Inbox.catch_up: applied, then marked done
                    order.append(row.update_id)
                    await alive.inbox.done(row.update_id)

            shared = SharedChats(alive.db, alive.inbox, catch_up)
            async with shared.hold(chat, 22) as go:
                assert go
                order.append(22)
            assert order == [20, 21, 22]
            assert [await alive.inbox.state_of(n) for n in (20, 21, 22)] == ["done"] * 3
            # The dead instance's update comes round again (its queue, a sweep): not twice.
            async with shared.hold(chat, 21) as again:
                assert again is False
        finally:
            await dead.close()
            await alive.close()


async def test_an_update_another_living_instance_took_over_is_left_to_it(
    tmp_path: Path,
) -> None:
    async with fresh_postgres() as url:
        first, second = await _instances(url, tmp_path, "a", "b")
        try:
            await first.inbox.add([Received(30, 5, "{}")])
            await _died(second, "a")  # a stalled: b's sweep takes its update
            assert [row.update_id for row in await second.inbox.pending()] == [30]
            await first.inbox.beat()  # a wakes up and comes to that update

            async def never(rows: list[Pending]) -> None:
                raise AssertionError(rows)

            async with SharedChats(first.db, first.inbox, never).hold(5, 30) as go:
                assert go is False
            assert await first.inbox.state_of(30) == "pending"  # b's to apply
        finally:
            await first.close()
            await second.close()


async def test_a_start_or_a_sweep_takes_only_what_no_living_instance_holds(
    tmp_path: Path,
) -> None:
    async with fresh_postgres() as url:
        living, dead, sweeper = await _instances(url, tmp_path, "a", "c", "b")
        try:
            await living.inbox.add([Received(40, 1, "{}")])
            await dead.inbox.add([Received(41, 2, "{}"), Received(43, 2, "{}")])
            await _died(sweeper, "c")
            sweeper.inbox.owner = None  # a row from before several instances: nobody's
            await sweeper.inbox.add([Received(42, 3, "{}")])
            sweeper.inbox.owner = "b"
            taken = await sweeper.inbox.pending()
            assert [(row.update_id, row.attempts) for row in taken] == [(41, 1), (42, 1), (43, 1)]
            assert await sweeper.inbox.pending() == []  # now b's, and b is alive
            assert [row.update_id for row in await living.inbox.pending()] == []
            await sweeper.inbox.leave()  # b stops: what it holds is free at once
            assert [row.update_id for row in await living.inbox.pending()] == [41, 42, 43]
        finally:
            for store in (living, dead, sweeper):
                await store.close()


async def test_instances_starting_and_numbering_at_once_do_not_collide(
    db_url: str, tmp_path: Path
) -> None:
    """What is numbered from the highest stored so far (a flow's versions, web applicants)
    is numbered one writer at a time: two instances starting on a new database store one
    default flow, and people starting the web chat on two instances at once all get in."""
    first = await open_store(db_url, tmp_path)
    second = await open_store(db_url, tmp_path)
    try:
        await first.db.execute("DELETE FROM flows")
        made = await asyncio.gather(first.flows.ensure_default(), second.flows.ensure_default())
        assert sum(flow is not None for flow in made) == 1
        assert [(v.version, v.is_current) for v in await first.flows.versions()] == [(1, True)]
        people = await asyncio.gather(
            *(
                store.web.new_person(f"code-{n}-{i}", "zh")
                for n in range(20)
                for i, store in enumerate((first, second))
            )
        )
        assert None not in people and len(set(people)) == 40
    finally:
        await first.close()
        await second.close()


class SlowBot(Bot):
    """A Bot API whose every send takes ``pause`` seconds (Telegram's pace for one group
    chat, made short), recording who sent what."""

    def __init__(self, name: str, sent: list[tuple[str, str]], pause: float) -> None:
        super().__init__("1:x")
        self._name, self._sent, self._pause = name, sent, pause

    async def _post(self, endpoint: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(self._pause)
        self._sent.append((self._name, str((data or {}).get("text"))))
        return True


async def test_a_sender_slower_than_its_lease_keeps_its_claim_and_sends_each_once(
    tmp_path: Path,
) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            await first.outbox.add([OutMessage(-100, f"alert {n}") for n in range(6)])
            sent: list[tuple[str, str]] = []
            slow = OutboxSender(first.outbox, SlowBot("a", sent, 0.3), lease=0.8)
            other = OutboxSender(second.outbox, SlowBot("b", sent, 0.3), lease=0.8)
            sending = asyncio.create_task(slow.deliver_due())
            for _ in range(20):  # the other instance looks for work all the while
                await asyncio.sleep(0.1)
                await other.deliver_due()
            assert await sending == 6
            # Six sends of 0.3 s by the first: twice its lease of 0.8 s, renewed on the way.
            assert sent == [("a", f"alert {n}") for n in range(6)]
            assert await first.outbox.pending_count() == 0
        finally:
            await first.close()
            await second.close()


async def test_a_claim_taken_over_after_its_lease_is_not_kept(db_url: str, tmp_path: Path) -> None:
    first = await open_store(db_url, tmp_path)
    second = await open_store(db_url, tmp_path)
    try:
        await first.outbox.add([OutMessage(n, f"notice {n}") for n in (1, 2, 3)])
        taken = [q.id for q in await first.outbox.claim()]
        assert await first.outbox.keep(taken) == set(taken)  # renewed while still its own
        await first.db.execute("UPDATE outbox SET claimed_until = '2000-01-01T00:00:00Z'")
        assert len(await second.outbox.claim()) == 3  # the first stalled past its lease
        assert await first.outbox.keep(taken) == set()  # so it sends none of them
        assert await second.outbox.keep(taken) == set(taken)
    finally:
        await first.close()
        await second.close()


async def test_two_caseworkers_on_two_instances_cannot_both_claim_one_intake(
    db_url: str, tmp_path: Path
) -> None:
    """A claim reads the intake, checks nobody holds it, and writes: on two instances at
    the same moment, one claim wins and the other is told a colleague has it."""
    first = await open_store(db_url, tmp_path)
    second = await open_store(db_url, tmp_path)
    try:
        intakes = [(await sent_intake(first, applicant=500 + n))[0] for n in range(15)]

        async def claim(store: Store, actor: int, intake_id: int) -> int | str:
            change = Change(
                action="intake.claimed",
                allowed_from=OPEN_STATUSES,
                to="in_review",
                sets={"assignee": actor},
                expect_assignee=(None,),
            )
            try:
                await store.cases.change(intake_id, actor, change)
            except Conflict as err:
                return err.code
            return actor

        for intake_id in intakes:
            outcomes = await asyncio.gather(
                claim(first, 7001, intake_id), claim(second, 7002, intake_id)
            )
            assert sorted(map(str, outcomes)) in (
                ["7001", "claimed_by_other"],
                ["7002", "claimed_by_other"],
            ), outcomes
            case = await first.cases.get(intake_id)
            assert case is not None and str(case.assignee) in map(str, outcomes)
    finally:
        await first.close()
        await second.close()


async def test_a_job_of_one_instance_at_a_time_is_skipped_while_another_runs_it(
    tmp_path: Path,
) -> None:
    """The retries of failed downloads (``one_at_a_time``): of two instances on one
    database, one runs each round; a failing run is logged and the next round goes on."""
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            runs: list[str] = []

            async def retry(context: Any) -> None:
                runs.append(context.name)
                if context.name == "broken":
                    raise RuntimeError("unreachable")

            def context(store: Store, name: str) -> Any:
                services = SimpleNamespace(store=store)
                app = SimpleNamespace(bot_data={"services": services})
                return SimpleNamespace(application=app, name=name)

            job = one_at_a_time("downloads", retry)
            async with first.db.exclusive("downloads") as mine:
                assert mine
                await job(context(second, "skipped"))  # the first instance is at it
            await job(context(second, "second"))
            await job(context(first, "broken"))
            await job(context(first, "after"))
            assert runs == ["second", "broken", "after"]
        finally:
            await first.close()
            await second.close()
