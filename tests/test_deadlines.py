"""Deadlines without Telegram: what is due when, the SQL that finds it, the words that say
it, and the morning digest (bot/casework/digest.py) over a real SQLite file: who is told
of what, once a day however often it runs, and what the message holds.

Two counties of Hotan prefecture (和田地区): 653222 (和田县) and 653226 (于田县).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.casework import Casework
from bot.casework.deadlines import DUE_SOON_DAYS, Deadline, due, due_text, due_where, overdue_where
from bot.config import Settings
from bot.i18n import I18n
from bot.messages import HTML, TELEGRAM_LIMIT
from bot.store import Store
from bot.store.intakes import OPEN_STATUSES
from bot.store.outbox import Queued
from tests.backends import open_store
from tests.helpers import sent_intake

I18N = I18n.load()
HOTAN, YUTIAN = "653222", "653226"
# Caseworkers of each county, a supervisor over the prefecture, one over Yutian only.
CW_HOTAN, CW_HOTAN2, CW_YUTIAN, SUP_BOTH, SUP_YUTIAN, PARTNER = 11, 12, 21, 31, 32, 41
STAFF = (CW_HOTAN, CW_HOTAN2, CW_YUTIAN, SUP_BOTH, SUP_YUTIAN, PARTNER)
# A morning in Shanghai: 08:30 local is 00:30 UTC.
MORNING = dt.datetime(2026, 3, 10, 0, 30, tzinfo=dt.UTC)
DAYS = {"first_reply_days": 7, "decision_days": 90}


def stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- what is due, and the SQL that finds it ---------------------------------------------


def test_due_counts_whole_days_and_an_hour_past_is_a_day_overdue() -> None:
    sent = "2026-03-01T00:30:00Z"
    at = dt.datetime(2026, 3, 8, 0, 30, tzinfo=dt.UTC)  # 7 days later: the first reply is due
    exactly = due("submitted", sent, at, **DAYS)
    assert exactly is not None and exactly.overdue and exactly.days == -1
    hour = due("submitted", sent, at + dt.timedelta(hours=1), **DAYS)
    assert hour is not None and hour.overdue and hour.days == -1
    three = due("submitted", sent, at + dt.timedelta(days=3, hours=2), **DAYS)
    assert three is not None and three.days == -3
    soon = due("submitted", sent, at - dt.timedelta(days=1, hours=12), **DAYS)
    assert soon is not None and soon.soon and not soon.overdue and soon.days == 1
    within = due("submitted", sent, at - dt.timedelta(hours=5), **DAYS)
    assert within is not None and within.soon and within.days == 0
    far = due("in_review", sent, at, **DAYS)
    assert far is not None and far.deadline is Deadline.DECISION and not far.soon


@dataclass
class World:
    store: Store
    work: Casework
    settings: Settings


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url)
    store = await open_store(settings.db_path, tmp_path)
    w = World(store, Casework(store, I18N, settings, fmt=HTML), settings)
    try:
        await store.roles.grant(CW_HOTAN, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW_HOTAN2, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW_YUTIAN, "caseworker", regions=[YUTIAN])
        await store.roles.grant(SUP_BOTH, "supervisor", regions=["6532"])
        await store.roles.grant(SUP_YUTIAN, "supervisor", regions=[YUTIAN])
        await store.roles.grant(PARTNER, "partner")
        for staff in STAFF:
            await w.work.seen(staff, "en", f"Staff {staff}")
        yield w
    finally:
        await w.store.close()  # the one a test reopened, if it did


_applicants = iter(range(1000, 100000))


async def intake(
    w: World,
    region: str | None,
    sent: dt.datetime,
    *,
    status: str = "submitted",
    assignee: int | None = None,
    is_test: bool = False,
) -> tuple[int, str]:
    """A sent intake of ``region``, sent at ``sent``, as the review left it: its id and
    reference. Region, time, status and assignee are set in the database (test setup)."""
    intake_id, ref = await sent_intake(w.store, applicant=next(_applicants), is_test=is_test)
    await w.store.db.execute(
        "UPDATE intakes SET region = ?, submitted_at = ?, status = ?, assignee = ? WHERE id = ?",
        (region, stamp(sent), status, assignee, intake_id),
    )
    return intake_id, ref


async def test_the_sql_finds_what_due_says_is_overdue_or_due_soon(world: World) -> None:
    """Every status and a range of ages around both deadlines: the SQL conditions agree with
    ``due``, row by row."""
    now = MORNING
    ages = [0, 4.9, 5.1, 6.9, 7, 7.1, 30, 87.9, 88.1, 89.9, 90, 91, 400]
    ids = {}
    for age in ages:
        ids[age], _ = await intake(world, HOTAN, now - dt.timedelta(days=age))
    for status in (*OPEN_STATUSES, "approved", "declined", "withdrawn"):
        await world.store.db.execute("UPDATE intakes SET status = ?", (status,))
        for name, where, wanted in (
            ("overdue", overdue_where(now, **DAYS), lambda d: d.overdue),
            ("due", due_where(now, **DAYS), lambda d: d.overdue or d.soon),
        ):
            found = {c.id for c in await world.store.cases.due(where)}
            expected = set()
            for age, intake_id in ids.items():
                d = due(status, stamp(now - dt.timedelta(days=age)), now, **DAYS)
                if d is not None and wanted(d):
                    expected.add(intake_id)
            assert found == expected, (status, name)
    # The one day that sits exactly DUE_SOON_DAYS before the first reply is in; a day more is not.
    await world.store.db.execute("UPDATE intakes SET status = 'submitted'")
    found = {c.id for c in await world.store.cases.due(due_where(now, **DAYS))}
    assert DUE_SOON_DAYS == 2 and ids[5.1] in found and ids[4.9] not in found


async def test_test_intakes_are_never_due(world: World) -> None:
    old = MORNING - dt.timedelta(days=30)
    await intake(world, HOTAN, old, is_test=True)
    assert await world.store.cases.due(due_where(MORNING, **DAYS)) == []


@pytest.mark.parametrize(
    ("lang", "overdue", "soon", "within"),
    [
        (
            "en",
            "⚠️ overdue 3 days · first reply",
            "⏳ due in 1 day · decision",
            "⏳ due within a day",
        ),
        ("zh", "⚠️ 已超期3天 · 程序性回复", "⏳ 1天后到期 · 结果答复", "⏳ 一天内到期"),
        (
            "ug",
            "⚠️ مۆھلىتىدىن \u200e3\u200e كۈن ئۆتتى · دەسلەپكى جاۋاب",
            "⏳ \u200e1\u200e كۈندىن كېيىن مۆھلىتى توشىدۇ · نەتىجە جاۋابى",
            "⏳ بىر كۈن ئىچىدە مۆھلىتى توشىدۇ",
        ),
    ],
)
def test_what_is_due_reads_in_the_readers_language(
    lang: str, overdue: str, soon: str, within: str
) -> None:
    tr = I18N.tr(lang)
    sent = "2026-03-01T00:30:00Z"
    late = due("submitted", sent, dt.datetime(2026, 3, 11, 2, 0, tzinfo=dt.UTC), **DAYS)
    assert late is not None and due_text(tr, late) == overdue
    near = due("in_review", sent, dt.datetime(2026, 5, 28, 12, 0, tzinfo=dt.UTC), **DAYS)
    assert near is not None and due_text(tr, near) == soon
    closest = due("submitted", sent, dt.datetime(2026, 3, 7, 20, 0, tzinfo=dt.UTC), **DAYS)
    assert closest is not None and due_text(tr, closest).startswith(within)
    one = due("submitted", sent, dt.datetime(2026, 3, 9, 2, 0, tzinfo=dt.UTC), **DAYS)
    assert one is not None and one.days == -1
    if lang == "en":
        assert due_text(tr, one) == "⚠️ overdue 1 day · first reply"  # the singular


# --- the morning digest -----------------------------------------------------------------


async def digests(w: World) -> dict[int, list[Queued]]:
    """The digests queued, by the person they go to."""
    out: dict[int, list[Queued]] = {}
    for q in await w.store.outbox.due(limit=1000):
        if q.kind == "digest":
            out.setdefault(q.chat_id, []).append(q)
    return out


def refs_in(q: Queued) -> list[str]:
    return re.findall(r"<b>\u200e?([A-Z0-9]{3}-[A-Z0-9]{3})\u200e?</b>", q.text)


async def test_each_person_is_told_what_is_theirs_and_nobody_else_anything(
    world: World,
) -> None:
    # Held by a Hotan caseworker: its result is 5 days overdue.
    held, held_ref = await intake(
        world,
        HOTAN,
        MORNING - dt.timedelta(days=95),
        status="in_review",
        assignee=CW_HOTAN,
    )
    # In Yutian, claimed by nobody: its first reply is 2 days overdue.
    loose, loose_ref = await intake(world, YUTIAN, MORNING - dt.timedelta(days=9))
    # Fresh, decided, or a test: nobody hears of them.
    await intake(world, HOTAN, MORNING - dt.timedelta(days=1))
    await intake(world, HOTAN, MORNING - dt.timedelta(days=100), status="approved")
    await intake(world, HOTAN, MORNING - dt.timedelta(days=100), is_test=True)

    assert await world.work.digests.morning(MORNING) == 4
    got = await digests(world)
    assert {uid: [refs_in(q) for q in qs] for uid, qs in got.items()} == {
        CW_HOTAN: [[held_ref]],  # its holder; not the other Hotan caseworker
        CW_YUTIAN: [[loose_ref]],  # nobody holds it: the caseworkers of its county
        SUP_BOTH: [[held_ref, loose_ref]],  # the longest overdue first
        SUP_YUTIAN: [[loose_ref]],
    }
    supervisor = got[SUP_BOTH][0]
    assert "⚠️ overdue 5 days · decision · claimed by Staff 11" in supervisor.text
    assert "⚠️ overdue 2 days · first reply · not claimed yet" in supervisor.text
    assert "⚠️ 2 overdue" in supervisor.text
    assert "/queue" not in supervisor.text  # a supervisor only: the queue is not theirs
    assert "/queue" in got[CW_YUTIAN][0].text
    # Each line can be opened: its intake's id and reference, for the channel's buttons.
    assert supervisor.opens == ((held, held_ref), (loose, loose_ref))
    assert got[CW_HOTAN][0].opens == ((held, held_ref),)
    assert "Deadlines on Mar 10, 2026" in supervisor.text  # the local date, in Babel's form


async def test_a_digest_goes_out_once_a_day_through_restarts_and_overlapping_runs(
    world: World, tmp_path: Path
) -> None:
    await intake(world, YUTIAN, MORNING - dt.timedelta(days=9))
    # Two runs at once (the daily job and a catch-up after a start): one digest each.
    sent = await asyncio.gather(
        world.work.digests.morning(MORNING), world.work.digests.morning(MORNING)
    )
    assert sum(sent) == 3
    assert {uid: len(qs) for uid, qs in (await digests(world)).items()} == {
        CW_YUTIAN: 1,
        SUP_BOTH: 1,
        SUP_YUTIAN: 1,
    }
    # Delivered (the outbox row is gone), then the bot restarts the same morning.
    for q in await world.store.outbox.due(limit=1000):
        await world.store.outbox.delivered(q.id)
    await world.store.close()
    world.store = await open_store(world.settings.db_path, tmp_path)
    world.work = Casework(world.store, I18N, world.settings, fmt=HTML)
    assert await world.work.digests.catch_up(MORNING + dt.timedelta(hours=2)) == 0
    assert await world.work.digests.morning(MORNING + dt.timedelta(hours=14)) == 0
    assert await digests(world) == {}
    # The next morning (local), what is still due is told again.
    assert await world.work.digests.morning(MORNING + dt.timedelta(days=1)) == 3


async def test_the_day_and_the_catch_up_follow_the_deployments_clock(world: World) -> None:
    digests_ = world.work.digests
    # 23:30 UTC on 9 March is 07:30 on 10 March in Shanghai: before the digest's time.
    early = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)
    assert digests_.day(early) == dt.date(2026, 3, 10)
    assert not digests_.past_time(early) and digests_.past_time(MORNING)
    await intake(world, YUTIAN, MORNING - dt.timedelta(days=9))
    assert await digests_.catch_up(early) == 0  # a start before 08:30 leaves it to the job
    assert await digests_.catch_up(MORNING) == 3  # a start after it: the missed digests
    # Something falls due for a Hotan caseworker in the afternoon; the bot restarts. The
    # morning's run went through: nobody is written to before the next morning.
    await intake(world, HOTAN, MORNING - dt.timedelta(days=9))
    assert await digests_.catch_up(MORNING + dt.timedelta(hours=6)) == 0
    assert await digests_.catch_up(MORNING + dt.timedelta(days=1)) == 5


async def test_a_run_that_stopped_half_way_is_finished_by_the_catch_up(world: World) -> None:
    await intake(world, YUTIAN, MORNING - dt.timedelta(days=9))
    digests_ = world.work.digests
    readers = await digests_.readers(await digests_.due_now(MORNING))
    # The run queued one digest, then the bot stopped before the others.
    first = await digests_.message(readers[CW_YUTIAN], digests_.day(MORNING))
    assert await world.store.digests.send_once(CW_YUTIAN, "2026-03-10", first)
    assert await digests_.catch_up(MORNING + dt.timedelta(hours=1)) == 2
    assert sorted(await digests(world)) == [CW_YUTIAN, SUP_BOTH, SUP_YUTIAN]


async def test_people_with_nothing_due_get_nothing(world: World) -> None:
    await intake(world, HOTAN, MORNING - dt.timedelta(days=2))
    assert await world.work.digests.morning(MORNING) == 0
    assert await digests(world) == {}


async def test_a_long_list_is_cut_with_how_many_more_and_fits_one_message(world: World) -> None:
    await world.work.seen(CW_YUTIAN, "zh", "Staff 21")
    await world.store.users.set_display_name(CW_YUTIAN, "阿" * 64)
    for n in range(40):
        await intake(
            world,
            YUTIAN,
            MORNING - dt.timedelta(days=100 + n),
            status="in_review",
            assignee=CW_YUTIAN,
        )
    for n in range(3):  # due soon: the first reply within 2 days
        await intake(world, YUTIAN, MORNING - dt.timedelta(days=5, hours=n))
    assert await world.work.digests.morning(MORNING) == 3
    got = await digests(world)
    mine = got[CW_YUTIAN][0]
    assert len(refs_in(mine)) == 15 and len(mine.opens) == 15
    assert "⚠️ 40件已超期 · ⏳ 3件即将到期" in mine.text
    assert "……另有28件" in mine.text
    # The supervisor's lines name the holder (a long name): still under one message.
    sup = got[SUP_YUTIAN][0]
    assert len(sup.text) < TELEGRAM_LIMIT and refs_in(sup) == [r for _, r in sup.opens]
    more = 43 - len(sup.opens)
    assert f"…and {more} more" in sup.text
