"""Deadlines in Telegram, end to end: the morning digest and the queue's marks, as the
caseworkers and supervisors of two counties notice them.

A real ``Application`` long-polls the fake Bot API over a real SQLite file. Intakes are
made through the store and then set back in time, put in a county and claimed with SQL
(test setup only): an interview takes a minute of real time per intake, and what is
tested here starts once an intake is old. The digest is run by the bot's own daily job
(``Job.run``, at a moment the test chooses); it is sent through the outbox, so the tests
wait for its messages, and then look at every chat the bot wrote to.

Hotan prefecture (和田地区): county 653222 (和田县) and county 653226 (于田县). A caseworker
reads English, one Chinese and one Uyghur; so do the two supervisors between them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from telegram_channel.app import DIGEST_JOB
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import sent_intake, wait_until, with_text

HOTAN, YUTIAN = "653222", "653226"
CW_HOTAN, CW_HOTAN2, CW_YUTIAN, SUP_BOTH, SUP_YUTIAN = 11, 12, 21, 31, 32
READS = {CW_HOTAN: "en", CW_HOTAN2: "ug", CW_YUTIAN: "zh", SUP_BOTH: "en", SUP_YUTIAN: "ug"}
DIGEST_MARK = "⏰ "  # every digest begins with it, in every language
REF = re.compile(r"\b[A-Z0-9]{3}-[A-Z0-9]{3}\b")


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """The bot, with caseworkers in each county, a supervisor over both (the prefecture's
    prefix) and one over Yutian only; each has talked to the bot (their language is known).
    The digest goes out at 07:15 in Urumqi time."""
    settings = make_settings(
        tg, tmp_path / "intake.db", digest_time=dt.time(7, 15), timezone="Asia/Urumqi"
    )
    running = Running(tg, settings)
    await running.start()
    try:
        roles = running.store.roles
        await roles.grant(CW_HOTAN, "caseworker", regions=[HOTAN])
        await roles.grant(CW_HOTAN2, "caseworker", regions=[HOTAN])
        await roles.grant(CW_YUTIAN, "caseworker", regions=[YUTIAN])
        await roles.grant(SUP_BOTH, "supervisor", regions=["6532"])
        await roles.grant(SUP_YUTIAN, "supervisor", regions=[YUTIAN])
        for uid, lang in READS.items():
            tg.user(uid, first_name=f"Staff{uid}", language_code=lang)
            await running.services.casework.seen(uid, lang, f"Staff{uid}")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


_applicants = iter(range(5000, 100000))


async def intake(
    r: Running,
    region: str,
    age: dt.timedelta,
    *,
    status: str = "submitted",
    assignee: int | None = None,
) -> str:
    """A sent intake of ``region``, sent ``age`` ago, in ``status`` and held by
    ``assignee``; its reference."""
    store = r.store
    intake_id, ref = await sent_intake(store, applicant=next(_applicants))
    sent = (dt.datetime.now(dt.UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    await store.db.execute(
        "UPDATE intakes SET region = ?, submitted_at = ?, status = ?, assignee = ? WHERE id = ?",
        (region, sent, status, assignee, intake_id),
    )
    return ref


def digests_sent(tg: FakeTelegram) -> dict[int, list[str]]:
    """Every digest the bot sent, by chat: what reached whom."""
    out: dict[int, list[str]] = {}
    for params in tg.calls_to("sendMessage"):
        text = str(params.get("text", ""))
        if text.startswith(DIGEST_MARK):
            out.setdefault(int(params["chat_id"]), []).append(text)
    return out


def digest_of(person: FakeUser) -> SentMessage:
    found = [m for m in person.messages if (m.text or "").startswith(DIGEST_MARK)]
    assert len(found) == 1, [m.text for m in found]
    return found[0]


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


async def run_digest_job(r: Running) -> None:
    """The bot's daily digest job, run now (as the scheduler runs it at its time)."""
    jobs = r.app.job_queue.get_jobs_by_name(DIGEST_JOB)  # type: ignore[union-attr]
    daily = [j for j in jobs if j.job.trigger.__class__.__name__ == "CronTrigger"]
    assert len(daily) == 1, jobs
    await daily[0].run(r.app)  # type: ignore[arg-type]


async def test_the_morning_digest_reaches_who_can_act_and_nobody_else(
    tg: FakeTelegram, r: Running
) -> None:
    # Held by a Hotan caseworker for 95 days: its result is 5 days overdue.
    held = await intake(r, HOTAN, dt.timedelta(days=95), status="in_review", assignee=CW_HOTAN)
    # Sent in Yutian 9 days ago and claimed by nobody: its first reply is 2 days overdue.
    loose = await intake(r, YUTIAN, dt.timedelta(days=9))
    # Sent in Yutian 5½ days ago: the first reply is due in a day and a half.
    near = await intake(r, YUTIAN, dt.timedelta(days=5, hours=12))
    # Sent yesterday in Hotan: nothing is due.
    fresh = await intake(r, HOTAN, dt.timedelta(days=1))

    await run_digest_job(r)
    await outbox_empty(r)

    sent = digests_sent(tg)
    # One message a person; nobody with nothing due (the second Hotan caseworker) is written to.
    assert sorted(sent) == [CW_HOTAN, CW_YUTIAN, SUP_BOTH, SUP_YUTIAN]
    assert all(len(texts) == 1 for texts in sent.values())
    refs = {uid: REF.findall(texts[0]) for uid, texts in sent.items()}
    assert refs == {
        CW_HOTAN: [held],  # its holder
        CW_YUTIAN: [loose, near],  # nobody holds them: the caseworkers of their county
        SUP_BOTH: [held, loose, near],  # the supervisor of both counties: all, oldest first
        SUP_YUTIAN: [loose, near],  # the supervisor of Yutian: not Hotan's
    }
    assert fresh not in str(sent)

    # Each in the reader's language, with counts and what is due.
    hotan = digest_of(tg.user(CW_HOTAN))
    assert "⚠️ 1 overdue" in (hotan.text or "")
    assert f"1. <b>{held}</b> · ⚠️ overdue 5 days · decision" in (hotan.text or "")
    yutian = digest_of(tg.user(CW_YUTIAN))
    assert "⚠️ 1件已超期 · ⏳ 1件即将到期" in (yutian.text or "")
    assert f"<b>{loose}</b> · ⚠️ 已超期2天 · 程序性回复 · 尚未认领" in (yutian.text or "")
    assert f"<b>{near}</b> · ⏳ 1天后到期 · 程序性回复 · 尚未认领" in (yutian.text or "")
    both = digest_of(tg.user(SUP_BOTH))
    assert f"<b>{held}</b> · ⚠️ overdue 5 days · decision · claimed by Staff{CW_HOTAN}" in (
        both.text or ""
    )
    uyghur = digest_of(tg.user(SUP_YUTIAN))
    assert "مۆھلىتىدىن \u200e2\u200e كۈن ئۆتتى" in (uyghur.text or "")

    # Every line opens: a button per intake, which opens its card for its caseworker.
    assert both.buttons == [f"📂 {held}", f"📂 {loose}", f"📂 {near}"]
    assert hotan.buttons == [f"📂 {held}"]
    caseworker = tg.user(CW_HOTAN)
    before = len(caseworker.messages)
    await caseworker.tap(f"📂 {held}", hotan)
    await wait_until(
        lambda: with_text(caseworker.messages[before:], held, "Status:"), what="the card"
    )


async def test_a_digest_is_sent_once_a_day_even_across_a_restart(
    tg: FakeTelegram, r: Running
) -> None:
    loose = await intake(r, YUTIAN, dt.timedelta(days=9))
    await run_digest_job(r)
    await outbox_empty(r)
    first = digests_sent(tg)
    assert sorted(first) == [CW_YUTIAN, SUP_BOTH, SUP_YUTIAN]

    # The job again, and after a restart the job and the catch-up at start: nothing more.
    await run_digest_job(r)
    await r.restart()
    await run_digest_job(r)
    assert await r.services.casework.digests.catch_up() == 0  # type: ignore[union-attr]
    await outbox_empty(r)
    assert digests_sent(tg) == first
    assert loose in first[CW_YUTIAN][0]


async def test_the_digest_job_runs_daily_at_the_deployments_time(r: Running) -> None:
    jobs = r.app.job_queue.get_jobs_by_name(DIGEST_JOB)  # type: ignore[union-attr]
    daily = [j for j in jobs if j.job.trigger.__class__.__name__ == "CronTrigger"]
    assert len(daily) == 1
    at = daily[0].next_t
    assert at is not None
    local = at.astimezone(ZoneInfo("Asia/Urumqi"))
    assert local.time() == dt.time(7, 15)
    assert local - dt.datetime.now(ZoneInfo("Asia/Urumqi")) <= dt.timedelta(days=1)


async def test_the_queue_marks_overdue_and_due_soon_in_the_readers_language(
    tg: FakeTelegram, r: Running
) -> None:
    held = await intake(r, HOTAN, dt.timedelta(days=95), status="in_review", assignee=CW_HOTAN)
    await intake(r, HOTAN, dt.timedelta(days=1))  # nothing due: no mark
    loose = await intake(r, YUTIAN, dt.timedelta(days=9))
    near = await intake(r, YUTIAN, dt.timedelta(days=5, hours=12))

    english = tg.user(CW_HOTAN)
    await english.send("/queue")
    await wait_until(lambda: with_text(english, held, "Open applications"), what="the queue")
    queue = with_text(english, "Open applications")[-1].text or ""
    assert queue.count("⚠️") == 1 and "⏳" not in queue
    assert f"<b>{held}</b>" in queue and "⚠️ overdue 5 days · decision" in queue

    chinese = tg.user(CW_YUTIAN)
    await chinese.send("/queue")
    await wait_until(lambda: with_text(chinese, loose, near), what="the queue in Chinese")
    queue = with_text(chinese, loose, near)[-1].text or ""
    assert "⚠️ 已超期2天 · 程序性回复" in queue
    assert "⏳ 1天后到期 · 程序性回复" in queue
    assert held not in queue  # another county's

    uyghur = tg.user(CW_HOTAN2)
    await uyghur.send("/queue")
    await wait_until(lambda: with_text(uyghur, held), what="the queue in Uyghur")
    queue = with_text(uyghur, held)[-1].text or ""
    assert "⚠️ مۆھلىتىدىن \u200e5\u200e كۈن ئۆتتى · نەتىجە جاۋابى" in queue
