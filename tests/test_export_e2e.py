"""/export over the fake Bot API: the workbook comes back as a document, kept to the
caseworker's region, with phone and ID numbers only after the confirmation button (good
once, and only for the one who asked)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from itertools import count
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import sent_intake, wait_until

ADMIN, A, B, PARTNER = 1, 7001, 7002, 8001
KARAKAX, KERIYA = "653222", "653226"
PHONE, ID_NUMBER = "13800001234", "11010519491231002X"
_people = count(9000)


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db", admin_ids=frozenset({ADMIN})))
    await running.start()
    try:
        await running.store.roles.grant(A, "caseworker", label="A", regions=[KARAKAX])
        await running.store.roles.grant(B, "caseworker", label="B", regions=[KERIYA])
        yield running
    finally:
        await running.stop()


async def sent(r: Running, region: str, name: str) -> str:
    """An application sent in ``region``, as the interview leaves it; its reference."""
    r.store.intakes.default_region = region
    answers = {"name": name, "phone": PHONE, "id_number": ID_NUMBER}
    _id, ref = await sent_intake(r.store, answers, applicant=next(_people), lang="en")
    return ref


def staff(tg: FakeTelegram, uid: int, lang: str = "en") -> FakeUser:
    return tg.user(uid, first_name=f"CW{uid}", language_code=lang)


async def document(person: FakeUser, start: int) -> SentMessage:
    await wait_until(
        lambda: any(m.kind == "document" for m in person.messages[start:]),
        what=f"a document in chat {person.chat_id}; got {[m.text for m in person.messages]}",
    )
    return next(m for m in person.messages[start:] if m.kind == "document")


def cells(doc: SentMessage) -> list[list[Any]]:
    assert doc.document_bytes is not None
    book = openpyxl.load_workbook(io.BytesIO(doc.document_bytes), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


async def test_a_caseworker_gets_a_workbook_of_their_county_only(
    tg: FakeTelegram, r: Running
) -> None:
    mine = await sent(r, KARAKAX, "Ayshem")
    await sent(r, KERIYA, "Tursun")
    a = staff(tg, A)
    start = len(a.messages)
    await a.send("/export")
    doc = await document(a, start)
    assert doc.file_name is not None and doc.file_name.endswith(".xlsx")
    assert "1 application" in (doc.text or "")
    table = cells(doc)
    assert table[0][0] == "Reference"
    assert [row[0] for row in table[1:]] == [mine]
    flat = [str(v) for row in table for v in row]
    assert "Ayshem" in flat and "Tursun" not in flat
    assert PHONE not in flat and ID_NUMBER not in flat
    [entry] = await r.store.audit.recent(5, action="export.made")
    assert entry.actor == A and entry.detail["intakes"] == 1
    # The same as CSV, with filters as words: the other county's code finds nothing of it.
    start = len(a.messages)
    await a.send(f"/export csv {KERIYA} submitted")
    doc = await document(a, start)
    assert doc.file_name is not None and doc.file_name.endswith(".csv")
    data = doc.document_bytes or b""
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"Tursun" not in data and mine.encode() not in data


async def test_phone_and_id_numbers_need_the_confirmation_of_who_asked(
    tg: FakeTelegram, r: Running
) -> None:
    await sent(r, KARAKAX, "Ayshem")
    a = staff(tg, A)
    start = len(a.messages)
    await a.send("/export sensitive")
    await wait_until(
        lambda: any(m.buttons for m in a.messages[start:]), what="the confirmation button"
    )
    assert not any(m.kind == "document" for m in a.messages[start:])  # nothing yet
    asking = next(m for m in a.messages[start:] if m.buttons)
    assert "phone and ID numbers" in (asking.text or "")
    data = asking.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    # Someone else tapping the same data gets nothing.
    b = staff(tg, B)
    b_start = len(b.messages)
    tapped = await b.tap_data(data)
    await wait_until(
        lambda: "not yours" in str(b.callback_answer(tapped) or {}),
        what="B is refused",
    )
    assert b.messages[b_start:] == []  # answered in B's box only: nothing in the chat
    await a.tap_containing("Yes, with phone")
    doc = await document(a, start)
    flat = [str(v) for row in cells(doc) for v in row]
    assert PHONE in flat and ID_NUMBER in flat
    # The same button again makes nothing more.
    after = len(a.messages)
    again = await a.tap_data(data)
    await wait_until(
        lambda: "already made" in str(a.callback_answer(again) or {}), what="a second tap refused"
    )
    assert not any(m.kind == "document" for m in a.messages[after:])
    made = await r.store.audit.recent(5, action="export.made")
    assert len(made) == 1 and made[0].detail["sensitive"] is True


async def test_an_applicant_cannot_export_and_a_bad_word_is_explained(
    tg: FakeTelegram, r: Running
) -> None:
    await sent(r, KARAKAX, "Ayshem")
    person = tg.user(9999, language_code="en")
    start = len(person.messages)
    await person.send("/export")
    await wait_until(
        lambda: any("only for caseworkers" in (m.text or "") for m in person.messages[start:]),
        what="a refusal",
    )
    assert not any(m.kind == "document" for m in person.messages)
    a = staff(tg, A)
    start = len(a.messages)
    await a.send("/export everything")
    await wait_until(
        lambda: any("everything" in (m.text or "") for m in a.messages[start:]),
        what="the usage",
    )
    assert not any(m.kind == "document" for m in a.messages[start:])
