"""Checking an uploaded flow file in a child process with a time and memory budget.

What an admin notices: a good file comes back as the same flow, a bad one with the same
problems on the same lines as ``intake-bot flow validate`` shows, and a file that is too
slow or too big to check ends with a plain message instead of a frozen bot. What the
operator notices: the bot's own loop keeps running meanwhile, and no checking process is
left behind.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.flow.loader import FlowError, default_flow_source, load_flow_file, load_flow_text
from bot.flow.sandbox import Budget, CheckStopped, FlowChecker
from tests.test_loader import ALIASES, FLOWS, alias_bomb

TOO_LONG = (
    "Checking this file took too long (more than {seconds} seconds), so it was stopped and"
    " nothing was published. Please make the file smaller or simpler and send it again."
)
TOO_BIG = (
    "Checking this file needed too much memory, so it was stopped and nothing was published."
    " Please make the file smaller or simpler and send it again."
)


def big_flow() -> str:
    """A valid flow of about 16,000 values: quick to check, but not in a few megabytes."""
    options = "".join(
        f"      - {{value: v{i}, label: {{zh: 选项{i}, en: Option {i}}}}}\n" for i in range(40)
    )
    steps = "".join(
        f"  - id: s{k}\n    type: choice\n    text: {{zh: 问题{k}, en: Question {k}}}\n"
        f"    choices:\n{options}"
        for k in range(50)
    )
    return "id: big\nlanguages: [zh, en]\ntitle: {zh: 大, en: Big}\nsteps:\n" + steps


def checking_processes() -> list[int]:
    """Children of this test process that run the flow check."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"bot.flow.sandbox" in cmdline:
            found.append(int(entry.name))
    return found


async def test_a_good_file_comes_back_as_the_same_flow() -> None:
    source = default_flow_source()
    assert await FlowChecker().check(source) == load_flow_text(source)


async def test_a_broken_file_comes_back_with_the_same_problems_on_the_same_lines() -> None:
    path = FLOWS / "broken_several.yaml"
    with pytest.raises(FlowError) as here:
        load_flow_file(path)
    with pytest.raises(FlowError) as there:
        await FlowChecker().check(path.read_text(encoding="utf-8"))
    assert [str(p) for p in there.value.problems] == [str(p) for p in here.value.problems]


async def test_the_alias_bomb_is_refused_in_the_child_at_its_line() -> None:
    with pytest.raises(FlowError) as caught:
        await FlowChecker().check(alias_bomb())
    assert [str(p) for p in caught.value.problems] == [f"line 5: {ALIASES}"]


async def test_a_check_over_its_time_is_stopped_while_the_loop_goes_on() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        with pytest.raises(CheckStopped) as caught:
            # Starting Python and reading this file take several times as long.
            await FlowChecker(Budget(seconds=0.1)).check(big_flow())
    finally:
        ticker.cancel()
    assert str(caught.value) == TOO_LONG.format(seconds="0.1")
    assert ticks >= 3  # the bot's loop ran on meanwhile
    assert checking_processes() == []


async def test_a_check_over_its_memory_is_stopped_with_its_own_message() -> None:
    checker = FlowChecker(Budget(memory_bytes=16 * 1024 * 1024))
    with pytest.raises(CheckStopped) as caught:
        await checker.check(big_flow())
    assert str(caught.value) == TOO_BIG
    assert checking_processes() == []
    # The same file within the normal budget is fine.
    assert (await FlowChecker().check(big_flow())).id == "big"


async def test_the_messages_are_translated() -> None:
    from bot.i18n import I18n

    zh = I18n.load().tr("zh").gettext
    with pytest.raises(CheckStopped) as caught:
        await FlowChecker(Budget(seconds=0.05)).check(big_flow())
    assert caught.value.render(zh) == zh(TOO_LONG).format(seconds="0.05")
    assert zh(TOO_LONG) != TOO_LONG
