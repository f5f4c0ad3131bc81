"""Several instances on one database (issue 27): each notification is taken for sending by
one sender, a dead sender's claims lapse, and a single instance frees them at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Store
from bot.store.outbox import OutMessage
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


async def test_a_chat_is_applied_by_one_postgresql_instance_at_a_time(tmp_path: Path) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            order: list[str] = []
            chat = -1001234567890
            async with first.db.chat_lock(chat):  # type: ignore[attr-defined]
                waiting = asyncio.create_task(_apply(second, chat, order))
                await asyncio.sleep(0.3)
                order.append("first done")
                async with second.db.chat_lock(7):  # type: ignore[attr-defined]
                    order.append("another chat meanwhile")
            await asyncio.wait_for(waiting, 5)
            # the second instance waited for the chat; another chat did not wait
            assert order == ["first done", "another chat meanwhile", "second"]
        finally:
            await first.close()
            await second.close()


async def _apply(store: Store, chat: int, order: list[str]) -> None:
    async with store.db.chat_lock(chat):  # type: ignore[attr-defined]
        order.append("second")
