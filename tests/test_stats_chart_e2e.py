"""/stats over the fake Bot API: after the text, a caseworker gets the chart of their own
regions' figures as a picture; ``intake-bot stats --chart`` writes the same as a file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from command_line.cli import main as cli_main
from tests.conftest import Running
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import wait_until
from tests.test_charts import PNG_SIGNATURE, png_size
from tests.test_export_e2e import KARAKAX, KERIYA, A, B, r, sent, staff  # noqa: F401


async def photo(person: FakeUser, start: int) -> SentMessage:
    await wait_until(
        lambda: any(m.kind == "photo" for m in person.messages[start:]),
        what=f"a photo in chat {person.chat_id}; got {[m.text for m in person.messages]}",
        timeout=30,
    )
    return next(m for m in person.messages[start:] if m.kind == "photo")


async def test_a_caseworker_gets_the_chart_after_the_text(tg: FakeTelegram, r: Running) -> None:  # noqa: F811
    await sent(r, KARAKAX, "Ayshem")
    await sent(r, KARAKAX, "Tursun")
    a = staff(tg, A, "zh-hans")
    start = len(a.messages)
    await a.send("/stats")
    picture = await photo(a, start)
    before = a.messages[start : a.messages.index(picture)]
    assert before and (before[0].text or "").startswith("<b>统计</b>")  # the text first
    data = picture.document_bytes or b""
    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data)[0] >= 1000
    assert picture.text == "统计"


async def test_no_chart_where_nothing_was_sent(tg: FakeTelegram, r: Running) -> None:  # noqa: F811
    await sent(r, KARAKAX, "Ayshem")  # another county's: B sees none of it
    b = staff(tg, B, "en")
    replies = await b.ask("/stats")
    assert "Applications sent: 0" in "\n".join(m.text or "" for m in replies)
    await b.expect_no_reply(1.0)
    assert not any(m.kind == "photo" for m in b.messages)


async def test_the_command_line_writes_the_chart(
    tg: FakeTelegram,
    r: Running,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sent(r, KARAKAX, "Ayshem")
    monkeypatch.setenv("INTAKE_DB", r.settings.db_path)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no developer's intake-bot.toml
    out = tmp_path / "chart.png"
    code = await asyncio.to_thread(
        cli_main, ["stats", "--lang", "ug", "--region", KARAKAX, "--chart", str(out)]
    )
    assert code == 0
    assert out.read_bytes().startswith(PNG_SIGNATURE)
