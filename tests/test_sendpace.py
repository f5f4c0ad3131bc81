"""Several instances on one PostgreSQL database send at the bot's rate together (issue 27):
two limiters on two stores of one database are two instances; their calls, counted
together, keep the rate, and a flood wait Telegram gave one holds the other's calls."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from telegram_channel.app import build_application, open_services
from telegram_channel.sendlimit import SendLimiter
from telegram_channel.sendpace import SharedSendLimiter
from tests.backends import TEST_KEY, fresh_postgres, open_store
from tests.test_sendlimit import Calls, send

RATE = 10  # calls a second, for the bot: small, so that the test is quick
EACH = 15  # calls each instance sends at once


def most_in_a_window(times: list[float], window: float) -> int:
    """The most calls that went out within ``window`` seconds of one another."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times))


def beyond_the_rate(times: list[float], burst: int, rate: float) -> int:
    """The most calls any stretch of time held beyond what the rate allows, the burst
    included: from the i-th call to the j-th, j - i + 1 calls in t_j - t_i seconds, of
    which ``burst`` + ``rate`` * (t_j - t_i) are allowed (aiolimiter's bucket, the same)."""
    times = sorted(times)
    return max(
        j - i + 1 - burst - rate * (times[j] - times[i])
        for i in range(len(times))
        for j in range(i, len(times))
    )


async def test_two_instances_send_at_the_bots_rate_together(tmp_path: Path) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            calls = Calls()  # Telegram, which sees the calls of both
            limiters = [
                SharedSendLimiter(s.send_pace, overall_max_rate=RATE, group_max_rate=0)
                for s in (first, second)
            ]
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.gather(
                *(
                    send(limiter, calls, f"{n}.{i}", chat_id=1000 * n + i)
                    for n, limiter in enumerate(limiters)
                    for i in range(EACH)
                )
            )
            took = loop.time() - start
            times = [at for _, at in calls.through]
            assert len(times) == 2 * EACH
            # A burst of the rate, then one call every 1/RATE s for the two together: 20
            # more calls take 2 s (each alone at RATE would have been done in 0.5 s).
            assert took >= (2 * EACH - RATE) / RATE - 0.05
            # Over any stretch, no more than the burst and the rate (two instances pacing
            # themselves would have sent 15 calls beyond it). Slack of two calls: a busy
            # machine that answers a reservation or wakes a sleeper late sends that call
            # late, and the stretch from it to a later call then looks too short.
            assert beyond_the_rate(times, RATE, RATE) <= 2
            # After the burst, no half second holds much more than its share of the rate.
            later = [t for t in times if t - start > 0.05]
            assert most_in_a_window(later, 0.5) <= RATE // 2 + 2
        finally:
            await first.close()
            await second.close()


async def test_each_group_keeps_its_rate_across_instances(tmp_path: Path) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            calls = Calls()
            limiters = [
                SharedSendLimiter(
                    s.send_pace, overall_max_rate=0, group_max_rate=2, group_time_period=60
                )
                for s in (first, second)
            ]
            await send(limiters[0], calls, "g1", chat_id=-100)
            await send(limiters[1], calls, "g2", chat_id="-100")  # the same group, elsewhere
            third = asyncio.create_task(send(limiters[1], calls, "g3", chat_id=-100))
            await send(limiters[0], calls, "other group", chat_id=-200)
            await send(limiters[1], calls, "private", chat_id=5)
            await asyncio.sleep(0.2)
            assert third.done() is False  # the group's third in a minute, on either instance
            assert [name for name, _ in calls.through] == ["g1", "g2", "other group", "private"]
            third.cancel()
        finally:
            await first.close()
            await second.close()


@pytest.mark.parametrize("rate", [RATE, 0])  # 0: no rate, the flood waits still shared
async def test_a_flood_wait_seen_by_one_instance_holds_the_others_calls(
    tmp_path: Path, rate: int
) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            refused = Calls(flood_waits=1, wait=0.6)
            other = Calls()
            limiter = SharedSendLimiter(
                first.send_pace, overall_max_rate=rate, group_max_rate=0, max_retries=1
            )
            elsewhere = SharedSendLimiter(second.send_pace, overall_max_rate=rate, group_max_rate=0)
            retried = asyncio.create_task(send(limiter, refused, "first", chat_id=1))
            while not refused.refused:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # the flood wait is in the database by now
            assert await send(elsewhere, other, "second", chat_id=2) == {"sent": "second"}
            assert await retried == {"sent": "first"}
            refused_at = refused.refused[0]
            assert other.through[0][1] - refused_at >= 0.6  # retry_after (and PTB's margin)
            assert refused.through[0][1] - refused_at >= 0.6
            # Once it is over, the other instance sends at once again.
            loop = asyncio.get_running_loop()
            before = loop.time()
            await send(elsewhere, other, "third", chat_id=3)
            assert loop.time() - before < 0.2
        finally:
            await first.close()
            await second.close()


async def test_without_its_database_an_instance_paces_its_sends_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with fresh_postgres() as url:
        store = await open_store(url, tmp_path)
        limiter = SharedSendLimiter(store.send_pace, overall_max_rate=RATE, group_max_rate=0)
        await store.close()  # the database is gone: no reservation answers
        calls = Calls()
        loop = asyncio.get_running_loop()
        start = loop.time()
        with caplog.at_level(logging.INFO, logger="telegram_channel.sendpace"):
            sent = await asyncio.gather(
                *(send(limiter, calls, str(i), chat_id=i + 1) for i in range(RATE + 5))
            )
        assert sent == [{"sent": str(i)} for i in range(RATE + 5)]  # none lost
        assert loop.time() - start >= 5 / RATE - 0.05  # still paced, by its own bucket
        said = [r for r in caplog.records if r.name == "telegram_channel.sendpace"]
        assert len(said) == 1 and "paces its sends alone" in said[0].getMessage()


async def test_only_several_instances_pace_through_the_database(tmp_path: Path) -> None:
    async with fresh_postgres() as url:
        settings: dict[str, Any] = {
            "token": "1:x",
            "db_path": url,
            "secret_key": TEST_KEY,
            "files": str(tmp_path / "files"),
        }
        for webhook, shared in (("", False), ("https://bot.example/hook", True)):
            services = await open_services(
                Settings(webhook_url=webhook, webhook_secret="s" * 20, **settings)
            )
            try:
                limiter = build_application(services).bot.rate_limiter
                assert isinstance(limiter, SharedSendLimiter) is shared
                assert isinstance(limiter, SendLimiter)
            finally:
                await services.store.close()


async def test_a_flood_wait_is_kept_until_its_end_whatever_the_burst(tmp_path: Path) -> None:
    """The burst a rate allows is never taken out of a flood wait."""
    async with fresh_postgres() as url:
        store = await open_store(url, tmp_path)
        try:
            await store.send_pace.pause(1.0)
            slot = await store.send_pace.reserve("all", 1 / RATE, 1.0)
            assert 0.9 < slot.wait <= 1.0 and 0.9 < slot.paused <= 1.0
            # A shorter flood wait asked later does not cut the longer one short.
            await store.send_pace.pause(0.1)
            assert await store.send_pace.paused() > 0.8
        finally:
            await store.close()


async def test_the_hourly_housekeeping_forgets_limits_long_past(tmp_path: Path) -> None:
    """A group chat written to once leaves no row behind for ever: one whose last slot is
    an hour past goes, and pacing goes on as before."""
    async with fresh_postgres() as url:
        store = await open_store(url, tmp_path)
        try:
            for key in ("all", "group:-100", "group:-200"):
                await store.send_pace.reserve(key, 1 / RATE, 1.0)
            await store.db.execute(
                "UPDATE send_pace SET next_at = next_at - 7200 WHERE key = 'group:-100'"
            )
            assert await store.send_pace.forget_past() == 1
            rows = await store.db.fetchall("SELECT key FROM send_pace ORDER BY key")
            assert [r["key"] for r in rows] == ["all", "group:-200"]
            assert (await store.send_pace.reserve("group:-100", 1 / RATE, 1.0)).wait <= 0
        finally:
            await store.close()
