"""The bot's send limiter: Telegram's flood limits and flood waits, without Telegram."""

from __future__ import annotations

import asyncio
import datetime as dtm
from typing import Any

import pytest
from telegram.error import RetryAfter

from telegram_channel.sendlimit import SendLimiter


class Calls:
    """A Bot API stand-in: records when each call got through, and can ask for flood waits."""

    def __init__(self, flood_waits: int = 0, wait: float = 0.05) -> None:
        self.flood_waits = flood_waits
        self.wait = wait
        self.through: list[tuple[str, float]] = []
        self.refused: list[float] = []

    async def __call__(self, name: str) -> dict[str, Any]:
        now = asyncio.get_running_loop().time()
        if self.flood_waits:
            self.flood_waits -= 1
            self.refused.append(now)
            raise RetryAfter(dtm.timedelta(seconds=self.wait))
        self.through.append((name, now))
        return {"sent": name}


async def send(
    limiter: SendLimiter, calls: Calls, name: str, retries: int | None = None, **data: Any
) -> Any:
    return await limiter.process_request(calls, (name,), {}, "sendMessage", data, retries)


async def test_with_no_limit_a_call_goes_straight_through() -> None:
    limiter = SendLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    calls = Calls()
    results = await asyncio.gather(*(send(limiter, calls, str(i), chat_id=i) for i in range(50)))
    assert results == [{"sent": str(i)} for i in range(50)]
    assert len(calls.through) == 50


async def test_a_flood_wait_holds_every_call_then_the_call_is_sent_again() -> None:
    limiter = SendLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    calls = Calls(flood_waits=1, wait=0.2)
    first = asyncio.create_task(send(limiter, calls, "first", chat_id=1))
    await asyncio.sleep(0.01)
    assert first.done() is False and len(calls.refused) == 1
    # Another chat's message during the wait: Telegram would refuse it too, so it waits.
    second = await send(limiter, calls, "second", chat_id=2)
    assert await first == {"sent": "first"}
    assert second == {"sent": "second"}
    refused_at = calls.refused[0]
    assert [name for name, _ in calls.through] in (["first", "second"], ["second", "first"])
    for _, at in calls.through:
        assert at - refused_at >= 0.2  # retry_after, plus the 0.1 s margin PTB also keeps


async def test_flood_waits_are_retried_max_retries_times_then_raised() -> None:
    limiter = SendLimiter(overall_max_rate=0, group_max_rate=0, max_retries=2)
    calls = Calls(flood_waits=3, wait=0.01)
    with pytest.raises(RetryAfter):
        await send(limiter, calls, "x", chat_id=1)
    assert len(calls.refused) == 3 and calls.through == []
    # rate_limit_args gives one call more retries than the default.
    calls = Calls(flood_waits=3, wait=0.01)
    assert await send(limiter, calls, "y", retries=3, chat_id=1) == {"sent": "y"}
    assert len(calls.refused) == 3


async def test_no_retries_means_the_flood_wait_is_raised_at_once_but_still_kept() -> None:
    limiter = SendLimiter(overall_max_rate=0, group_max_rate=0, max_retries=0)
    calls = Calls(flood_waits=1, wait=0.15)
    with pytest.raises(RetryAfter):
        await send(limiter, calls, "x", chat_id=1)
    assert await send(limiter, calls, "y", chat_id=1) == {"sent": "y"}
    assert calls.through[0][1] - calls.refused[0] >= 0.15


async def test_the_overall_rate_holds_messages_but_not_calls_without_a_chat() -> None:
    limiter = SendLimiter(overall_max_rate=5, overall_time_period=1, group_max_rate=0)
    calls = Calls()
    messages = [asyncio.create_task(send(limiter, calls, f"m{i}", chat_id=i)) for i in range(8)]
    await asyncio.sleep(0.05)
    assert sum(t.done() for t in messages) == 5  # a burst of the rate, then one at a time
    # getMe, getUpdates, answers to taps have no chat_id: never held.
    others = await asyncio.gather(*(send(limiter, calls, f"o{i}") for i in range(20)))
    assert len(others) == 20 and sum(t.done() for t in messages) == 5
    start = asyncio.get_running_loop().time()
    await asyncio.gather(*messages)
    assert asyncio.get_running_loop().time() - start >= 0.35  # 3 more at 5 a second


async def test_each_group_has_its_own_rate_and_private_chats_have_none() -> None:
    limiter = SendLimiter(overall_max_rate=0, group_max_rate=2, group_time_period=60)
    calls = Calls()
    await send(limiter, calls, "g1", chat_id=-100)
    await send(limiter, calls, "g2", chat_id="-100")  # the same group, as a string
    third = asyncio.create_task(send(limiter, calls, "g3", chat_id=-100))
    await send(limiter, calls, "other group", chat_id=-200)
    await send(limiter, calls, "channel", chat_id="@news")
    for i in range(10):
        await send(limiter, calls, f"private {i}", chat_id=i + 1)
    await asyncio.sleep(0.05)
    assert third.done() is False  # the third in a minute waits for the group's bucket
    assert len(calls.through) == 14
    third.cancel()


async def test_paid_broadcasts_have_their_own_rate() -> None:
    limiter = SendLimiter(overall_max_rate=1, overall_time_period=1, group_max_rate=0)
    calls = Calls()
    await send(limiter, calls, "m1", chat_id=1)
    held = asyncio.create_task(send(limiter, calls, "m2", chat_id=2))
    paid = await asyncio.wait_for(
        asyncio.gather(
            *(
                send(limiter, calls, f"p{i}", chat_id=3, allow_paid_broadcast=True)
                for i in range(50)
            )
        ),
        5,
    )
    assert len(paid) == 50 and held.done() is False
    held.cancel()
