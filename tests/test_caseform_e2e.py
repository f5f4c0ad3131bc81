"""The card's *Printable form* button over the fake Bot API: the caseworker gets the Word
form of the intake as a document; a caseworker of another county tapping the same data
gets nothing of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import wait_until
from tests.test_caseform import text_of
from tests.test_export_e2e import KARAKAX, KERIYA, sent

A, B = 7001, 7002


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        await running.store.roles.grant(A, "caseworker", label="A", regions=[KARAKAX])
        await running.store.roles.grant(B, "caseworker", label="B", regions=[KERIYA])
        yield running
    finally:
        await running.stop()


def staff(tg: FakeTelegram, uid: int) -> FakeUser:
    return tg.user(uid, first_name=f"CW{uid}", language_code="zh-hans")


async def document(person: FakeUser, start: int) -> SentMessage:
    await wait_until(
        lambda: any(m.kind == "document" for m in person.messages[start:]),
        what=f"a document in chat {person.chat_id}; got {person.texts()[start:]}",
    )
    return next(m for m in person.messages[start:] if m.kind == "document")


async def test_the_button_on_the_card_sends_the_form(tg: FakeTelegram, r: Running) -> None:
    ref = await sent(r, KARAKAX, "Ayshem")
    a = staff(tg, A)
    await a.ask(f"/open {ref}")
    card = next(m for m in reversed(a.messages) if any("登记表" in b for b in m.buttons))
    start = len(a.messages)
    await a.tap_containing("登记表", card)
    doc = await document(a, start)
    assert doc.file_name == f"form-{ref}.docx"
    assert ref in (doc.text or "")
    text = text_of(doc.document_bytes or b"")
    assert "司法救助申请登记表" in text and ref in text and "Ayshem" in text
    [entry] = await r.store.audit.recent(5, action="intake.form_made")
    assert entry.actor == A and entry.detail == {}

    # The same button's data, tapped by a caseworker of another county: nothing.
    data = next(
        key["callback_data"]
        for row in (card.reply_markup or {})["inline_keyboard"]
        for key in row
        if "登记表" in key["text"]
    )
    b = staff(tg, B)
    b_start = len(b.messages)
    await b.tap_data(data)
    await tg.wait_idle(settle=0.3)
    assert not any(m.kind == "document" for m in b.messages[b_start:])
    assert all("Ayshem" not in t and ref not in t for t in b.texts()[b_start:])
    assert len(await r.store.audit.recent(5, action="intake.form_made")) == 1
