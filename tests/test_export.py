"""Exports (bot/export.py) on a real store, without Telegram: the workbook is read back with
openpyxl and the CSV with the stdlib csv module, as a reporting clerk's Excel would."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot import export
from bot.casework import Casework
from bot.casework.replies import Piece
from bot.config import Settings
from bot.export import BadFilter, Request, parse_words
from bot.flow.engine import Screening
from bot.i18n import I18n
from bot.messages import HTML
from bot.regions import EVERYWHERE, Scope
from bot.store import Store
from bot.store.exports import Filter
from tests.backends import open_store
from tests.helpers import old_referral, sent_intake

CW = 2
PARTNER = 3
HOTAN_COUNTY = "653221"
HOTAN_CITY = "653201"
i18n = I18n.load()


@dataclass
class World:
    store: Store
    work: Casework
    path: Path


@pytest.fixture
async def w(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url)
    store = await open_store(settings.db_path, tmp_path)
    try:
        await store.roles.grant(CW, "caseworker")
        await store.roles.grant(PARTNER, "partner")
        yield World(store, Casework(store, i18n, settings, fmt=HTML), tmp_path)
    finally:
        await store.close()


_people = count(5000)


async def sent(w: World, region: str, answers: dict[str, Any], **kw: Any) -> tuple[int, str]:
    """An application sent in ``region`` with ``answers``: its id and reference."""
    w.store.intakes.default_region = region
    screening = Screening(("crime_injury",), (), 3, ("minor",))
    return await sent_intake(w.store, answers, applicant=next(_people), screening=screening)


ANSWERS = {
    "name": "张三",
    "phone": "13800001234",
    "id_number": "11010519491231002X",
    "groups": ["minor", "disabled"],
    "help_wanted": ["payment", "legal"],
    "household_size": 4,
    "description": '=HYPERLINK("x")',
}


async def world(w: World) -> dict[str, tuple[int, str]]:
    ids = {
        "a": await sent(w, HOTAN_COUNTY, ANSWERS),
        "b": await sent(w, HOTAN_COUNTY, {"name": "李四", "help_wanted": ["job"]}),
        "c": await sent(w, HOTAN_CITY, {"name": "王五"}),
    }
    await w.work.claim(CW, ids["a"][0])
    await w.work.approve(CW, ids["a"][0], "3000")
    await w.work.claim(CW, ids["b"][0])
    # A referral from before the plan (an old database), then one made now: a measure.
    await old_referral(w.store, ids["b"][0], CW, PARTNER, "请核实防返贫监测")
    await w.work.refer(CW, ids["b"][0], PARTNER, "帮忙找工作")
    return ids


async def run(
    w: World, req: Request, lang: str = "zh", scope: Scope = EVERYWHERE, name: str = "out"
) -> tuple[Path, export.Made]:
    out = w.path / f"{name}.{req.format}"
    made = await export.export(w.store, i18n.tr(lang), req, out, scope=scope, actor=CW)
    return out, made


def rows(path: Path, sheet: int = 0) -> list[list[Any]]:
    book = openpyxl.load_workbook(path, read_only=True)
    ws = book.worksheets[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


async def test_the_workbook_has_the_intakes_referrals_and_history_sheets(w: World) -> None:
    ids = await world(w)
    out, made = await run(w, Request())
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["申请", "转交", "处理记录", "回访"]
    assert (made.intakes, made.referrals, made.measures) == (3, 1, 1)
    table = rows(out)
    head = table[0]
    assert head[:4] == ["编号", "提交日期", "决定日期", "状态"]
    assert "需要帮助的人或家里，有下面这些情况吗？" in head  # the question, in Chinese
    by_ref = {r[0]: dict(zip(head, r, strict=False)) for r in table[1:]}
    assert set(by_ref) == {ref for _id, ref in ids.values()}
    a = by_ref[ids["a"][1]]
    assert a["金额（元）"] == 3000
    assert a["地区代码"] == HOTAN_COUNTY
    assert a["最需要哪些帮助？"] == "救助金、免费法律帮助（法律援助）"
    assert a["需要帮助的人或家里，有下面这些情况吗？"].count("、") == 1
    assert a["家里一共有几口人？"] == 4
    assert "涉及未成年人" in a["优先原因（特殊群体）"]
    # Text an applicant typed that looks like a formula stays text.
    assert any(v == '=HYPERLINK("x")' for v in a.values())
    referrals = rows(out, 1)
    # The old referral, then the measure the referral made now, on the same sheet.
    assert referrals[1][0] == ids["b"][1] and referrals[1][3] == "请核实防返贫监测"
    assert referrals[2][0] == ids["b"][1] and referrals[2][3] == "帮忙找工作"
    assert referrals[2][2] == "待接受"
    history = rows(out, 2)
    assert {r[0] for r in history[1:]} >= {ids["a"][1], ids["b"][1]}


async def test_phone_and_id_number_are_only_in_when_asked(w: World) -> None:
    await world(w)
    out, _made = await run(w, Request())
    flat = [str(v) for r in rows(out) for v in r]
    assert "13800001234" not in flat and "11010519491231002X" not in flat
    assert "张三" in flat  # names stay: caseworkers need them
    out, made = await run(w, Request(with_sensitive=True), name="with")
    flat = [str(v) for r in rows(out) for v in r]
    assert "13800001234" in flat and "11010519491231002X" in flat
    assert made.sensitive


async def test_filters_by_date_region_and_status(w: World) -> None:
    ids = await world(w)
    today = dt.date.today().isoformat()
    req = Request(Filter(region=HOTAN_COUNTY, statuses=("approved",)))
    out, made = await run(w, req)
    assert made.intakes == 1
    assert [r[0] for r in rows(out)[1:]] == [ids["a"][1]]
    out, made = await run(w, Request(Filter(since="2000-01-01", until="2000-12-31")), name="o")
    assert made.intakes == 0 and len(rows(out)) == 1
    _out, made = await run(w, Request(Filter(since=today, until=today)), name="t")
    assert made.intakes == 3


async def test_a_county_caseworker_exports_their_county_only(w: World) -> None:
    ids = await world(w)
    scope = Scope(frozenset({HOTAN_CITY}))
    out, made = await run(w, Request(), scope=scope)
    assert made.intakes == 1
    assert [r[0] for r in rows(out)[1:]] == [ids["c"][1]]
    # Asking for another county's region inside one's own scope gives nothing.
    _out, made = await run(w, Request(Filter(region=HOTAN_COUNTY)), scope=scope, name="x")
    assert made.intakes == 0 and made.referrals == 0


async def test_the_csv_has_a_bom_and_opens_with_the_csv_module(w: World) -> None:
    ids = await world(w)
    out, made = await run(w, Request(format="csv"))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0][0] == "编号"
    assert {r[0] for r in table[1:]} == {ref for _id, ref in ids.values()}
    assert made.intakes == 3
    flat = [v for r in table for v in r]
    assert "13800001234" not in flat
    assert '\'=HYPERLINK("x")' in flat  # Excel would run it: kept text


async def test_the_export_is_audited_without_personal_data(w: World) -> None:
    await world(w)
    await run(w, Request(Filter(region=HOTAN_COUNTY), with_sensitive=True))
    [entry] = await w.store.audit.recent(5, action="export.made")
    assert entry.actor == CW
    assert entry.detail["filter"]["region"] == HOTAN_COUNTY
    assert entry.detail["intakes"] == 2 and entry.detail["sensitive"] is True
    assert "张三" not in str(entry.detail) and "13800001234" not in str(entry.detail)


async def test_headers_follow_the_readers_language(w: World) -> None:
    await world(w)
    out, _made = await run(w, Request(), lang="en")
    head = rows(out)[0]
    assert head[0] == "Reference"
    assert "What help is needed most?" in head
    out, _made = await run(w, Request(), lang="ug", name="ug")
    assert "ئەڭ ئېھتىياجلىق ياردەم قايسىلار؟" in rows(out)[0]


def test_the_words_of_export_are_read_in_any_order() -> None:
    req = parse_words(["653222", "2026-01-01", "approved", "2026-06-30", "csv"])
    assert req.filter == Filter("2026-01-01", "2026-06-30", "653222", ("approved",))
    assert req.format == "csv" and not req.with_sensitive
    assert parse_words(["sensitive"]).with_sensitive
    with pytest.raises(BadFilter):
        parse_words(["2026-13-01"])
    with pytest.raises(BadFilter):
        parse_words(["everything"])


def test_the_command_line_writes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from command_line.cli import main

    db = tmp_path / "intake.db"
    monkeypatch.setenv("INTAKE_DB", str(db))
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    async def seed() -> dict[str, tuple[int, str]]:
        settings = Settings(token="1:x", db_path=str(db))
        store = await Store.open(db)
        try:
            await store.roles.grant(CW, "caseworker")
            await store.roles.grant(PARTNER, "partner")
            return await world(World(store, Casework(store, i18n, settings, fmt=HTML), tmp_path))
        finally:
            await store.close()

    ids = asyncio.run(seed())
    out = tmp_path / "county.xlsx"
    argv = ["export", "--region", HOTAN_COUNTY, "--status", "approved", "--lang", "en"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "applications 1," in capsys.readouterr().out
    assert [r[0] for r in rows(out)[1:]] == [ids["a"][1]]
    assert rows(out)[0][0] == "Reference"
    flat = [str(v) for r in rows(out) for v in r]
    assert "13800001234" not in flat
    assert main(["export", "--with-sensitive", "--out", str(tmp_path / "all.csv")]) == 0
    data = (tmp_path / "all.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"13800001234" in data
    assert main(["export", "--from", "2026-13-01", "--out", str(tmp_path / "x.xlsx")]) != 0
    assert "not a date" in capsys.readouterr().err


async def test_one_column_per_question_across_versions_headed_by_the_newest_text(
    w: World,
) -> None:
    old = await sent(w, HOTAN_COUNTY, {"name": "张三", "help_wanted": ["job"]})
    source = await w.store.flows.source()
    renamed = source.replace("最需要哪些帮助？", "现在最需要哪些帮助？", 1)
    assert renamed != source
    await w.store.flows.publish(renamed)
    new = await sent(w, HOTAN_COUNTY, {"name": "李四", "help_wanted": ["loan"]})
    out, made = await run(w, Request())
    assert made.intakes == 2
    table = rows(out)
    head = table[0]
    assert "现在最需要哪些帮助？" in head and "最需要哪些帮助？" not in head
    col = head.index("现在最需要哪些帮助？")
    by_ref = {r[0]: r[col] for r in table[1:]}
    assert by_ref == {old[1]: "找工作", new[1]: "低息贷款"}


async def test_a_waiting_export_is_made_once_and_only_for_who_asked(w: World) -> None:
    asked = await w.store.exports.asked(CW, {"statuses": ["approved"]})
    assert await w.store.exports.asking(asked, PARTNER) is None  # someone else's
    assert await w.store.exports.asking(asked, CW) is not None
    await w.store.exports.made(CW, {"asked": asked})
    assert await w.store.exports.asking(asked, CW) is None  # already made


async def test_check_in_answers_are_exported_and_words_only_with_sensitive_data(
    w: World,
) -> None:
    """The workbook's check-in sheet: each check-in sent or stopped, with its due date,
    when it was asked and answered, and the answer; what the applicant added in their
    own words only in an export with sensitive data. The intakes table (the CSV's too)
    carries each intake's last answer."""
    ids = await world(w)
    a_id, a_ref = ids["a"]
    case = await w.store.cases.get(a_id)
    assert case is not None
    now = dt.datetime.now(dt.UTC)
    checkins = w.work.checkins
    assert await checkins.send_due(now + dt.timedelta(days=31)) == 1
    assert await checkins.send_due(now + dt.timedelta(days=91)) == 1
    first, second, third = await w.store.checkins.of_intake(a_id)
    await checkins.answer(case.applicant_id, first.id, "worse")
    await checkins.add_words(case.applicant_id, first.id, Piece("牛还是没买到"))
    await checkins.add_words(case.applicant_id, first.id, Piece("", {"kind": "voice"}))
    await checkins.answer(case.applicant_id, second.id, "better")
    await checkins.stop(case.applicant_id, second.id)  # the third is never asked
    today = now.date().isoformat()

    out, made = await run(w, Request())
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["申请", "转交", "处理记录", "回访"]
    assert made.checkins == 3
    table = rows(out, 3)
    assert table[0] == ["编号", "应回访日期", "回访日期", "回答日期", "回答", "申请人已叫停"]
    width = len(table[0])  # a row's empty cells at its end are not written
    assert [r + [None] * (width - len(r)) for r in table[1:]] == [
        [a_ref, first.due_at[:10], str(first.sent_at)[:10], today, "更难了", None],
        [a_ref, second.due_at[:10], str(second.sent_at)[:10], today, "好些了", None],
        [a_ref, third.due_at[:10], None, None, None, "是"],
    ]
    # Asked by the test clock: a month, then three months, after the decision.
    assert str(first.sent_at)[:10] == (now + dt.timedelta(days=31)).date().isoformat()
    flat = [str(v) for sheet in range(4) for r in rows(out, sheet) for v in r]
    assert not any("牛还是没买到" in v for v in flat)  # personal: not without asking
    head, *intakes = rows(out)
    by_ref = {r[0]: dict(zip(head, r, strict=False)) for r in intakes}
    assert by_ref[a_ref]["最近一次回访的回答"] == "好些了"
    assert by_ref[a_ref]["最近一次回访回答日期"] == today
    assert by_ref[ids["b"][1]]["最近一次回访的回答"] is None

    out, made = await run(w, Request(with_sensitive=True), name="with")
    table = rows(out, 3)
    assert table[0][-1] == "本人的话"
    assert [r[6] if len(r) > 6 else None for r in table[1:]] == [
        "牛还是没买到\n🎤 语音",
        None,
        None,
    ]
    audit = [a for a in await w.store.audit.recent(action="export.made")]
    assert audit[0].detail["checkins"] == 3

    # The CSV is one table: the intakes, with the last answer and when.
    out, _made = await run(w, Request(format="csv"), name="csv")
    with out.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    at = table[0].index("最近一次回访的回答")
    assert table[0][at + 1] == "最近一次回访回答日期"
    line = next(r for r in table[1:] if r[0] == a_ref)
    assert (line[at], line[at + 1]) == ("好些了", today)
