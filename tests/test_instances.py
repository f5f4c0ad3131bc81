"""Several instances on one database (issue 27): each notification is taken for sending by
one sender, a dead sender's claims lapse, and a single instance frees them at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Store
from bot.store.inbox import Received
from bot.store.outbox import OutMessage
from telegram_channel.shared import SharedChats
from tests.backends import fresh_postgres, open_store


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


async def test_a_chats_updates_go_in_order_and_one_at_a_time_across_instances(
    tmp_path: Path,
) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            chat = -1001234567890
            await first.inbox.add(
                [Received(n, chat, "{}") for n in (10, 11)] + [Received(12, 7, "{}")]
            )
            order: list[str] = []

            async def apply(store: Store, update_id: int, chat_key: int = chat) -> None:
                async with SharedChats(store.db, store.inbox).hold(chat_key, update_id):
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
