"""The card's *Printable form* button over the fake Bot API: the caseworker gets the Word
form of the intake as a document; a caseworker of another county tapping the same data
gets nothing of it."""

from __future__ import annotations

from tests.conftest import Running
from tests.fakebot import FakeTelegram
from tests.test_caseform import text_of
from tests.test_export_e2e import KARAKAX, KERIYA, A, B, document, r, sent, staff  # noqa: F401


async def test_the_button_on_the_card_sends_the_form(tg: FakeTelegram, r: Running) -> None:  # noqa: F811
    ref = await sent(r, KARAKAX, "Ayshem")
    a = staff(tg, A, "zh-hans")
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
    b = staff(tg, B, "zh-hans")
    b_start = len(b.messages)
    await b.tap_data(data)
    await tg.wait_idle(settle=0.3)
    assert not any(m.kind == "document" for m in b.messages[b_start:])
    assert all("Ayshem" not in t and ref not in t for t in b.texts()[b_start:])
    assert len(await r.store.audit.recent(5, action="intake.form_made")) == 1
