"""Check-ins after the decision (回访) in Telegram, end to end.

A real ``Application`` long-polls the fake Bot API over a real SQLite file. The intake
is made through the store and decided through the core (what is tested starts with the
decision); then a test clock stands for the months that pass: the core's ``send_due``
is called with a ``now`` 31 days ahead (no sleeping), or the bot's own periodic job
runs once a check-in's time is set in the past. Check-ins go out through the outbox,
so the tests wait for the messages that reach each chat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from telegram_channel.app import CHECKIN_JOB
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import sent_intake, wait_until, with_text

HOTAN = "653222"
CW, CW2 = 11, 12
ASKS = "帮助收到了吗"  # in every check-in after an approval, in Chinese
WORSE, STOP, SKIP = "😟 更难了", "🔕 不要再问我了", "⏭ 跳过"


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        await running.store.roles.grant(CW, "caseworker", regions=[HOTAN])
        await running.store.roles.grant(CW2, "caseworker", regions=[HOTAN])
        for uid in (CW, CW2):
            tg.user(uid, first_name=f"Staff{uid}", language_code="en")
            await running.services.casework.seen(uid, "en", f"Staff{uid}")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


_applicants = iter(range(5000, 100000))


async def decided(r: Running, tg: FakeTelegram) -> tuple[FakeUser, str, int]:
    """A Chinese-speaking applicant's intake, sent in Hotan, claimed by CW and approved:
    the applicant, the reference and the intake's id."""
    uid = next(_applicants)
    person = tg.user(uid, first_name="Ayshem", language_code="zh-hans")
    store = r.store
    intake_id, ref = await sent_intake(store, applicant=uid)
    # As if sent long ago: the fake Telegram's update ids start again from 1.
    await store.db.execute(
        "UPDATE intakes SET region = ?, last_update_id = 0 WHERE id = ?", (HOTAN, intake_id)
    )
    work = r.services.casework  # type: ignore[union-attr]
    await work.claim(CW, intake_id)
    await work.approve(CW, intake_id, "3000")
    return person, ref, intake_id


def later(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


async def arrives(person: FakeUser, *needles: str) -> None:
    await wait_until(lambda: with_text(person, *needles), what=f"{needles} to {person.chat_id}")


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


async def test_a_check_in_arrives_in_chinese_and_worse_alerts_the_holder(
    tg: FakeTelegram, r: Running
) -> None:
    applicant, ref, intake_id = await decided(r, tg)
    checkins = r.services.casework.checkins  # type: ignore[union-attr]
    assert await checkins.send_due(later(29)) == 0
    assert await checkins.send_due(later(31)) == 1
    await arrives(applicant, ASKS)
    (asked,) = with_text(applicant, ASKS)
    assert ref in (asked.text or "") and "您好！" in (asked.text or "")
    assert asked.buttons == ["🙂 好些了", "😐 差不多", WORSE, "📞 我想找人说说", STOP]

    await applicant.tap(WORSE, asked)
    await arrives(applicant, "我们已经告诉检察院工作人员")
    holder = tg.user(CW)
    await arrives(holder, ref, "worse")
    (alert,) = with_text(holder, ref, "worse")
    assert alert.buttons == ["📂 Open"]
    assert not with_text(tg.user(CW2), ref)  # the holder only, not their colleague

    # A voice note after the answer: passed on, and the recording kept in our file store.
    await applicant.send_voice(data=b"OggS check-in recording")
    await arrives(applicant, "您发的内容已经和您的申请放在一起了")
    await arrives(holder, ref, "added to their check-in answer", "voice message")

    async def kept() -> bool:
        rows = await r.store.db.fetchall(
            "SELECT address FROM files WHERE intake_id = ? AND kind = 'voice'", (intake_id,)
        )
        return len(rows) == 1 and rows[0]["address"] is not None

    await wait_until(kept, what="the check-in's voice note in the file store")
    (row,) = await r.store.db.fetchall(
        "SELECT address FROM files WHERE intake_id = ?", (intake_id,)
    )
    assert r.store.files is not None
    assert await r.store.files.get(row["address"]) == b"OggS check-in recording"
    # The old buttons are gone; a replayed tap changes nothing.
    assert with_text(applicant, ASKS)[0].buttons == []
    talk = [m.kind for m in await r.store.cases.conversation(intake_id)]
    assert talk.count("checkin") == 1 and talk.count("checkin_note") == 1

    # On the card, in the history.
    card = await r.services.casework.card(CW, intake_id)  # type: ignore[union-attr]
    assert [k for _a, _w, k, _t in card.history if k.startswith("checkin")] == [
        "checkin",
        "checkin_note",
    ]


async def test_stopping_check_ins_stops_them(tg: FakeTelegram, r: Running) -> None:
    applicant, _ref, intake_id = await decided(r, tg)
    checkins = r.services.casework.checkins  # type: ignore[union-attr]
    assert await checkins.send_due(later(31)) == 1
    await arrives(applicant, ASKS)
    # Someone else's tap on its data (a forged button) answers nothing.
    (asked,) = with_text(applicant, ASKS)
    stranger = tg.user(4999, language_code="en")
    forged = await stranger.tap_data(str(asked.button_data[WORSE]))
    await wait_until(lambda: stranger.callback_answer(forged), what="the forged tap answered")
    assert "closed" in str(stranger.callback_answer(forged))
    assert not with_text(tg.user(CW), "worse")
    await applicant.tap(STOP)
    await arrives(applicant, "以后不再给您发这些问题了")
    assert await checkins.send_due(later(400)) == 0
    await outbox_empty(r)
    assert len(with_text(applicant, ASKS)) == 1
    rows = await r.store.checkins.of_intake(intake_id)
    assert [c.stopped for c in rows] == [True, True, True]


async def test_a_restart_between_scheduling_and_sending_loses_and_doubles_nothing(
    tg: FakeTelegram, r: Running
) -> None:
    applicant, _ref, intake_id = await decided(r, tg)
    await r.restart()  # the schedule is in the database, not in the job queue
    # The first check-in's time has come: the bot's own job sends it, once.
    await r.store.db.execute(
        "UPDATE checkins SET due_at = ? WHERE id = (SELECT MIN(id) FROM checkins"
        " WHERE intake_id = ?)",
        ("2000-01-01T00:00:00Z", intake_id),
    )
    (job,) = r.app.job_queue.get_jobs_by_name(CHECKIN_JOB)  # type: ignore[union-attr]
    await job.run(r.app)  # type: ignore[arg-type]
    await r.restart()  # queued, and perhaps not delivered yet: the outbox keeps it
    (job,) = r.app.job_queue.get_jobs_by_name(CHECKIN_JOB)  # type: ignore[union-attr]
    await job.run(r.app)  # type: ignore[arg-type]
    await arrives(applicant, ASKS)
    await outbox_empty(r)
    assert len(with_text(applicant, ASKS)) == 1
    # The next ones come at their time, each once.
    checkins = r.services.casework.checkins  # type: ignore[union-attr]
    assert await checkins.send_due(later(91)) == 1
    assert await checkins.send_due(later(91)) == 0
    await outbox_empty(r)
    assert len(with_text(applicant, ASKS)) == 2
