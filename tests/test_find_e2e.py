"""Finding applications in Telegram, end to end: /find by the last 4 digits of a phone, by ID
number, by name and by reference, in the caseworker's regions only, with nothing of what
it is found by kept in the clear; several matches listed in pages; /queue with filters in
the reader's language and in English, decided applications included.

The applicant answers a small flow over the fake Bot API; the other intakes are stored
directly (the interview is not under test there), each put in its county with SQL
(routing by the flow's region question is tested in tests/test_regions_e2e.py).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.flow.engine import Screening
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import sent_intake
from tests.test_casework_e2e import (
    ANSWERS,
    REF_IN_TEXT,
    has_button,
    has_text,
    said,
    say,
    showing,
    tap,
    tap_data,
)

FLOW = """
id: find-test
languages: [zh, en]
title: {zh: 查找测试, en: Find test}
steps:
  - id: consent
    type: consent
    text: {zh: 我们可以用你的回答来帮助你吗？, en: May we use your answers to help you?}
  - id: name
    type: text
    tags: [name]
    text: {zh: 你的姓名？, en: Your name?}
  - id: county
    type: choice
    text: {zh: 你住在哪个县？, en: Which county do you live in?}
    choices:
      - {value: "653222", label: {zh: 和田县, en: Hotan County}}
      - {value: "653225", label: {zh: 策勒县, en: Qira County}}
  - id: id_number
    type: id_number
    sensitive: true
    text: {zh: 你的身份证号？, en: Your ID number?}
  - id: phone
    type: phone
    sensitive: true
    text: {zh: 你的电话？, en: Your phone?}
priority:
  - {id: minor, when: "false", points: 3, label: {zh: 涉及未成年人, en: Involves a minor}}
  - {id: veteran, when: "false", points: 3, label: {zh: 涉及退役军人, en: Involves a retired soldier}}
"""

CW, CW_QIRA, CW_ZH, APPLICANT = 2, 3, 4, 700
SUPERVISOR_HOTAN, SUPERVISOR_QIRA = 5, 6
NAME, ID_NUMBER, PHONE = "Li Dashan", "11010519491231002X", "13912345678"
HOTAN, QIRA = "653222", "653225"
NOTHING = "Nothing was found in your regions."


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """Caseworkers of Hotan County (en), of Qira County (en) and of everywhere (zh)."""
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        await running.store.flows.publish(FLOW)
        await running.store.roles.grant(CW, "caseworker", regions=[HOTAN])
        await running.store.roles.grant(CW_QIRA, "caseworker", regions=[QIRA])
        await running.store.roles.grant(CW_ZH, "caseworker")
        for staff, lang in ((CW, "en"), (CW_QIRA, "en"), (CW_ZH, "zh-hans")):
            await running.services.casework.seen(staff, lang, f"Staff {staff}")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


def staff(tg: FakeTelegram, user_id: int) -> FakeUser:
    lang = "zh-hans" if user_id == CW_ZH else "en"
    return tg.user(user_id, first_name=f"Staff{user_id}", language_code=lang)


async def in_region(r: Running, intake_id: int, region: str) -> None:
    await r.store.db.execute("UPDATE intakes SET region = ? WHERE id = ?", (region, intake_id))


async def apply_in_chat(tg: FakeTelegram, r: Running) -> str:
    """The applicant answers the flow in Chinese and sends it; its reference."""
    ap = tg.user(APPLICANT, first_name="Applicant", language_code="zh-hans")
    await ap.send("/start")
    await showing(ap, has_button("✅"), "the consent question")
    await ap.tap_containing("✅")
    await showing(ap, has_text("你的姓名？"), "the name question")
    await ap.send(NAME)
    await showing(ap, has_button("和田县"), "the county question")
    await ap.tap("和田县")
    await showing(ap, has_text("你的身份证号？"), "the ID number question")
    await ap.send(ID_NUMBER)
    await showing(ap, has_text("你的电话？"), "the phone question")
    await ap.send(PHONE)
    await showing(ap, has_button("📨"), "the summary")
    await ap.tap_containing("📨")
    await showing(ap, lambda m: bool(REF_IN_TEXT.search(m.text or "")), "the reference")
    ref = REF_IN_TEXT.findall(ap.messages[-1].text or "")[0]
    row = await r.store.db.fetchone("SELECT id FROM intakes WHERE ref = ?", (ref,))
    assert row is not None
    await in_region(r, int(row["id"]), HOTAN)
    return ref


_applicants = iter(range(1000, 100000))


async def stored(
    r: Running,
    name: str,
    phone: str,
    region: str = HOTAN,
    groups: tuple[str, ...] = (),
    status: str = "submitted",
    sent: str | None = None,
) -> str:
    """An intake stored directly; ``status`` and ``sent`` set as a test's setup."""
    answers = {"consent": True, "name": name, "county": region, "phone": phone}
    screening = Screening((), (), 3 * len(groups), groups)
    intake_id, ref = await sent_intake(
        r.store, answers, applicant=next(_applicants), screening=screening
    )
    await in_region(r, intake_id, region)
    decided = "2026-01-02T00:00:00Z" if status in ("approved", "declined") else None
    await r.store.db.execute(
        "UPDATE intakes SET status = ?, decided_at = ?, submitted_at = COALESCE(?, submitted_at)"
        " WHERE id = ?",
        (status, decided, sent, intake_id),
    )
    return ref


def everything_stored(path: Path) -> bytes:
    """The database file and its WAL, as bytes, and every row of every table as text."""
    raw = path.read_bytes()
    wal = Path(str(path) + "-wal")
    if wal.exists():
        raw += wal.read_bytes()
    with sqlite3.connect(path) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):  # table names from sqlite_master
                for value in row:
                    raw += value if isinstance(value, bytes) else str(value).encode()
    return raw


async def test_found_by_last_digits_id_number_name_and_reference_only_in_ones_region(
    tg: FakeTelegram, r: Running
) -> None:
    ref = await apply_in_chat(tg, r)
    cw, other = staff(tg, CW), staff(tg, CW_QIRA)

    for typed in (
        "5678",
        ID_NUMBER.lower(),
        "ＬＩ　ＤＡＳＨＡＮ",
        "li dashan",
        ref.lower().replace("-", " "),
    ):
        card = said(await say(cw, f"/find {typed}", until=ANSWERS), ANSWERS)
        assert card.text.startswith(f"<b>{ref}</b> · {NAME}"), (typed, card.text)
    # Another county's caseworker finds nothing, by any of them.
    for typed in ("5678", ID_NUMBER, NAME, ref):
        assert NOTHING in said(await say(other, f"/find {typed}", until=NOTHING), NOTHING).text
    how = said(await say(cw, "/find", until="Send /find followed by"), "Send /find")
    assert "a phone number or its last 4 digits" in how.text
    # A supervisor finds in the regions they supervise, and only there.
    await r.store.roles.grant(SUPERVISOR_HOTAN, "supervisor", regions=["6532"])
    await r.store.roles.grant(SUPERVISOR_QIRA, "supervisor", regions=[QIRA])
    for who in (SUPERVISOR_HOTAN, SUPERVISOR_QIRA):
        await r.services.casework.seen(who, "en", f"Supervisor {who}")  # type: ignore[union-attr]
    boss = tg.user(SUPERVISOR_HOTAN, language_code="en")
    card = said(await say(boss, "/find 5678", until=ANSWERS), ANSWERS)
    assert card.text.startswith(f"<b>{ref}</b> · {NAME}")
    elsewhere = tg.user(SUPERVISOR_QIRA, language_code="en")
    assert NOTHING in said(await say(elsewhere, "/find 5678", until=NOTHING), NOTHING).text

    # Neither the phone, nor the ID number, nor the name is kept in the clear anywhere.
    await tg.wait_idle()
    kept = everything_stored(Path(r.settings.db_path))
    for secret in (PHONE, ID_NUMBER, NAME, "lidashan", "LI DASHAN"):
        assert secret.encode() not in kept, secret
    rows = await r.store.db.fetchall("SELECT kind FROM lookup ORDER BY kind")
    assert [row["kind"] for row in rows] == ["id", "name", "phone", "phone4"]


async def test_several_matches_are_listed_in_pages_whose_buttons_carry_only_ids(
    tg: FakeTelegram, r: Running
) -> None:
    refs = [await stored(r, f"张{n}", f"1370{n:03d}5678") for n in range(10)]
    await stored(r, "王五", "13700001111")  # ends otherwise: not found
    cw, other = staff(tg, CW), staff(tg, CW_QIRA)

    first = said(await say(cw, "/find 5678", until="page 1 of 2"), "page 1 of 2")
    assert first.text.startswith("<b>Found</b> · 10 applications · page 1 of 2"), first.text
    assert len([b for b in first.buttons if re.match(r"\d+\. ", b)]) == 8
    for data in first.button_data.values():
        assert data is not None and len(data.encode()) <= 64 and "5678" not in data
    nxt = first.button_data["Next ▶️"]
    assert nxt is not None and re.fullmatch(r"c:l:\d+:1", nxt), nxt
    second = said(await tap(cw, "Next ▶️", first, until="page 2 of 2"), "page 2 of 2")
    shown = {b.split(". ", 1)[1] for m in (first, second) for b in m.buttons if ". " in b}
    assert shown == set(refs)
    again = said(await tap(cw, "◀️ Previous", second, until="page 1 of 2"), "page 1 of 2")
    assert again.text == first.text
    # The page button is read again for whoever taps it: another caseworker's list is not theirs.
    gone = "That list is no longer kept. Send /queue or /find again."
    said(await tap_data(other, nxt, until=gone), gone)
    # A made-up list id finds nothing either.
    said(await tap_data(cw, "c:l:999999:0", until=gone), gone)


async def test_queue_filters_in_the_readers_words_and_english(tg: FakeTelegram, r: Running) -> None:
    open_hotan = await stored(r, "甲", "13700000001", groups=("veteran",))
    open_qira = await stored(r, "乙", "13700000002", region=QIRA)
    approved = await stored(r, "丙", "13700000003", status="approved")
    declined = await stored(r, "丁", "13700000004", status="declined")
    late = await stored(r, "戊", "13700000005", groups=("minor",), sent="2024-01-01T08:00:00Z")
    cw, zh = staff(tg, CW), staff(tg, CW_ZH)

    def listed(text: str) -> set[str]:
        return set(REF_IN_TEXT.findall(text))

    cases = [
        (cw, f"/queue {QIRA}", "No application is on this list.", set()),  # not Hotan's
        (cw, "/queue", "Open applications", {open_hotan, late}),
        (cw, f"/queue {HOTAN}", "page 1 of 1", {open_hotan, late}),
        (cw, "/queue decided", "page 1 of 1", {approved, declined}),
        (cw, "/queue approved", "page 1 of 1", {approved}),
        (cw, "/queue overdue", "page 1 of 1", {late}),
        (cw, "/queue veteran", "page 1 of 1", {open_hotan}),
        (cw, "/queue Qira County", "No application is on this list.", set()),
        (zh, "/queue 策勒县", "第1页", {open_qira}),
        (zh, "/queue 和田县 超期", "第1页", {late}),
        (zh, "/queue 已办结", "第1页", {approved, declined}),
        (zh, "/queue 不予救助", "第1页", {declined}),
        (zh, "/queue 退役军人", "第1页", {open_hotan}),
        (zh, "/queue 未成年人 overdue", "第1页", {late}),
        (zh, "/queue open", "第1页", {open_hotan, open_qira, late}),
    ]
    for person, command, until, want in cases:
        message = said(await say(person, command, until=until), until)
        assert listed(message.text or "") == want, (command, message.text)
    titled = said(await say(zh, "/queue 和田县 超期", until="第1页"), "第1页")
    assert titled.text.startswith("<b>申请</b> · 和田县（653222）、超期 · 1份申请"), titled.text

    unknown = said(await say(zh, "/queue 火星", until="无法识别"), "无法识别")
    text = unknown.text or ""
    assert text.startswith("无法识别的筛选词：火星。"), text
    for word in (
        "待办（open）",
        "已办结（decided）",
        "超期（overdue）",
        "地区：和田县（653222）、策勒县（653225）；或任意行政区划代码（2位、4位或6位）",
        "涉及退役军人（veteran）",
    ):
        assert word in text, (word, text)
    english = said(await say(cw, "/queue mars", until="Not a filter"), "Not a filter")
    assert "open, new, in review (review), waiting" in (english.text or ""), english.text


async def test_a_stranger_cannot_find(tg: FakeTelegram, r: Running) -> None:
    await stored(r, "张三", PHONE)
    stranger = tg.user(9, first_name="Stranger", language_code="en")
    only = "This is only for caseworkers of the procuratorate."
    said(await say(stranger, "/find 5678", until=only), only)
    said(await say(stranger, "/queue decided", until=only), only)
