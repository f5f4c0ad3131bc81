"""Return visits after a decision (回访), in the core, without Telegram: a test clock
(``now``) stands in for the months that pass.

- a decision (approve, and decline) schedules one check-in per offset of
  ``INTAKE_CHECKIN_DAYS``, in its own transaction; a test intake gets none;
- only what is due is sent, each once, whatever runs overlap; in the applicant's language;
- "worse" and "talk" alert the caseworker who holds the intake, else the region's
  caseworkers; the answer lands on the history (the audit row holds the choice only);
- a tap that is not the applicant's, or on a check-in already answered, changes nothing;
- stopping stops every later check-in; erasing the data removes those not answered;
- /stats counts the answers by choice, in the asker's regions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.casework import Casework, Conflict, Kind
from bot.casework.checkins import CHECKIN, Choice, due_times
from bot.casework.replies import Piece
from bot.config import ConfigError, Settings, load_settings
from bot.housekeeping import Housekeeping
from bot.i18n import I18n
from bot.messages import HTML
from bot.mydata import export_text
from bot.regions import Scope
from bot.stats import figures, render
from bot.store import Store
from bot.store.casework import Case
from tests.backends import open_store
from tests.helpers import sent_intake

HOTAN, YUTIAN = "653222", "653226"
CW, CW2, CW_YUTIAN, STRANGER = 11, 12, 21, 99
I18N = I18n.load()


@dataclass
class World:
    store: Store
    work: Casework


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url)
    store = await open_store(settings.db_path, tmp_path)
    try:
        await store.roles.grant(CW, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW2, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW_YUTIAN, "caseworker", regions=[YUTIAN])
        work = Casework(store, I18N, settings, fmt=HTML)
        for staff in (CW, CW2, CW_YUTIAN):
            await work.seen(staff, "en", f"Staff {staff}")
        yield World(store, work)
    finally:
        await store.close()


_applicants = iter(range(1000, 100000))


async def decided(
    w: World, *, decline: bool = False, lang: str = "zh", region: str = HOTAN
) -> Case:
    """A sent intake of ``region`` claimed by CW and decided now."""
    intake_id, _ref = await sent_intake(w.store, applicant=next(_applicants), lang=lang)
    await w.store.db.execute("UPDATE intakes SET region = ? WHERE id = ?", (region, intake_id))
    await w.work.claim(CW if region == HOTAN else CW_YUTIAN, intake_id)
    actor = CW if region == HOTAN else CW_YUTIAN
    if decline:
        await w.work.decline(actor, intake_id, "compensated")
    else:
        await w.work.approve(actor, intake_id, "3000")
    case = await w.store.cases.get(intake_id)
    assert case is not None
    return case


def later(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


async def queued(w: World, kind: Kind) -> list[dict[str, object]]:
    rows = await w.store.db.fetchall(
        "SELECT chat_id, kind, intake_id, checkin_id, lang FROM outbox WHERE kind = ? ORDER BY id",
        (kind.value,),
    )
    return [dict(r) for r in rows]


async def texts(w: World, kind: Kind) -> list[tuple[int, str]]:
    return [(q.chat_id, q.text) for q in await w.store.outbox.due(500) if q.kind == kind]


def test_check_in_days_come_from_the_settings() -> None:
    assert Settings(token="1:x").checkin_days == (30, 90, 180)
    assert load_settings({"INTAKE_CHECKIN_DAYS": "180, 7,30"}).checkin_days == (7, 30, 180)
    assert load_settings({"INTAKE_CHECKIN_DAYS": "off"}).checkin_days == ()
    with pytest.raises(ConfigError, match="30,90,180"):
        load_settings({"INTAKE_CHECKIN_DAYS": "a month"})
    start = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
    assert due_times(start, (90, 30)) == ("2026-01-31T08:00:00Z", "2026-04-01T08:00:00Z")


async def test_a_decision_schedules_check_ins_and_only_what_is_due_goes_once(
    world: World,
) -> None:
    w = world
    approved = await decided(w)
    declined = await decided(w, decline=True, lang="en")
    for case in (approved, declined):
        rows = await w.store.checkins.of_intake(case.id)
        assert [r.sent_at for r in rows] == [None, None, None]
        decided_at = dt.datetime.fromisoformat(str(case.decided_at).replace("Z", "+00:00"))
        first = dt.datetime.fromisoformat(rows[0].due_at.replace("Z", "+00:00"))
        assert dt.timedelta(days=30) - (first - decided_at) < dt.timedelta(seconds=5)

    assert await w.work.checkins.send_due(later(29)) == 0
    # Two runs at once, and again later: one check-in each, once.
    sent = await asyncio.gather(
        w.work.checkins.send_due(later(31)), w.work.checkins.send_due(later(31))
    )
    assert sum(sent) == 2
    assert await w.work.checkins.send_due(later(32)) == 0
    out = await queued(w, Kind.CHECKIN)
    assert [(o["chat_id"], o["lang"]) for o in out] == [
        (approved.applicant_id, "zh"),
        (declined.applicant_id, "en"),
    ]
    assert all(o["checkin_id"] for o in out)
    said = dict(await texts(w, Kind.CHECKIN))
    assert "帮助收到了吗" in said[approved.applicant_id]
    assert approved.ref in said[approved.applicant_id]
    assert "Did you find other help?" in said[declined.applicant_id]
    # The next ones at 90 and 180 days.
    assert await w.work.checkins.send_due(later(91)) == 2
    assert await w.work.checkins.send_due(later(181)) == 2
    assert await w.work.checkins.send_due(later(400)) == 0


async def test_a_test_intake_or_a_clue_gets_no_check_ins(world: World) -> None:
    w = world
    assert w.work.checkins.schedule_for(is_test=True, is_clue=False) == ()
    assert w.work.checkins.schedule_for(is_test=False, is_clue=True) == ()
    assert len(w.work.checkins.schedule_for(is_test=False, is_clue=False)) == 3


async def test_worse_alerts_the_holder_and_the_answer_lands_on_the_history(
    world: World,
) -> None:
    w = world
    case = await decided(w)
    await w.work.checkins.send_due(later(31))
    (first, *_rest) = await w.store.checkins.of_intake(case.id)

    # Someone else's tap, or a made-up answer, changes nothing.
    with pytest.raises(Conflict):
        await w.work.checkins.answer(STRANGER, first.id, "better")
    with pytest.raises(Conflict):
        await w.work.checkins.answer(case.applicant_id, first.id, "splendid")

    await w.work.checkins.answer(case.applicant_id, first.id, Choice.WORSE)
    alerts = await texts(w, Kind.CHECKIN_ALERT)
    assert [who for who, _text in alerts] == [CW]  # the holder, not their colleague
    assert case.ref in alerts[0][1] and "worse" in alerts[0][1]
    # The same check-in is not answered twice.
    with pytest.raises(Conflict):
        await w.work.checkins.answer(case.applicant_id, first.id, Choice.BETTER)

    # The bot waits for words, which go to the holder and to the history too.
    pending = await w.store.pending.get(case.applicant_id)
    assert pending is not None and pending.kind == CHECKIN and pending.ref_id == first.id
    await w.work.checkins.add_words(case.applicant_id, first.id, Piece("牛还是没买到"))
    await w.work.checkins.add_words(
        case.applicant_id, first.id, Piece("", {"kind": "voice", "file_id": "VOICE-1"})
    )
    assert await w.store.pending.get(case.applicant_id) is None
    alerts = await texts(w, Kind.CHECKIN_ALERT)
    assert len(alerts) == 3 and "牛还是没买到" in alerts[1][1]

    talk = [(m.kind, m.body) for m in await w.store.cases.conversation(case.id)]
    assert ("checkin", "worse") in talk
    assert ("checkin_note", "牛还是没买到") in talk
    assert any(k == "checkin_note" and "VOICE-1" in b for k, b in talk)
    audit = [a for a in await w.store.audit.for_intake(case.id) if a.action == "checkin.answered"]
    assert len(audit) == 1 and json.loads(json.dumps(audit[0].detail))["choice"] == "worse"
    assert "牛" not in json.dumps(audit[0].detail, ensure_ascii=False)

    card = await w.work.card(CW, case.id)
    assert any(kind == "checkin" for _at, _who, kind, _text in card.history)


async def test_talk_on_an_intake_nobody_holds_tells_the_regions_caseworkers(
    world: World,
) -> None:
    w = world
    case = await decided(w)
    await w.store.db.execute("UPDATE intakes SET assignee = NULL WHERE id = ?", (case.id,))
    await w.work.checkins.send_due(later(31))
    first = (await w.store.checkins.of_intake(case.id))[0]
    await w.work.checkins.answer(case.applicant_id, first.id, Choice.TALK)
    alerts = await texts(w, Kind.CHECKIN_ALERT)
    assert sorted(who for who, _text in alerts) == [CW, CW2]  # not Yutian's


async def test_better_tells_nobody_and_skip_stops_waiting(world: World) -> None:
    w = world
    case = await decided(w)
    await w.work.checkins.send_due(later(31))
    first = (await w.store.checkins.of_intake(case.id))[0]
    await w.work.checkins.answer(case.applicant_id, first.id, Choice.BETTER)
    assert await texts(w, Kind.CHECKIN_ALERT) == []
    # A message days later is not taken as words added to the answer.
    with pytest.raises(Conflict, match="stale"):
        await w.work.checkins.add_words(case.applicant_id, first.id, Piece("hi"), later(3))
    await w.work.checkins.skip(case.applicant_id)
    assert await w.store.pending.get(case.applicant_id) is None


async def test_mydata_lists_the_check_ins(world: World) -> None:
    w = world
    case = await decided(w, lang="en")
    await w.work.checkins.send_due(later(31))
    first = (await w.store.checkins.of_intake(case.id))[0]
    await w.work.checkins.answer(case.applicant_id, first.id, Choice.SAME)
    await w.work.checkins.add_words(case.applicant_id, first.id, Piece("The cow is fine"))
    text = await export_text(w.store, I18N.tr("en"), case.applicant_id)
    assert "Check-ins after the decision" in text
    assert "answered: 😐 The same" in text and text.count("planned") == 2
    assert "check-in, in your words: The cow is fine" in text


async def test_stopping_stops_every_later_check_in(world: World) -> None:
    w = world
    case = await decided(w)
    other = await decided(w)
    await w.work.checkins.send_due(later(31))
    first = (await w.store.checkins.of_intake(case.id))[0]
    with pytest.raises(Conflict):
        await w.work.checkins.stop(STRANGER, first.id)
    await w.work.checkins.stop(case.applicant_id, first.id)
    with pytest.raises(Conflict):  # the open one is closed too
        await w.work.checkins.answer(case.applicant_id, first.id, Choice.SAME)
    assert await w.work.checkins.send_due(later(400)) == 2  # the other intake's only
    assert {o["intake_id"] for o in await queued(w, Kind.CHECKIN)} == {case.id, other.id}
    assert sum(1 for o in await queued(w, Kind.CHECKIN) if o["intake_id"] == case.id) == 1
    events = [a.action for a in await w.store.audit.for_intake(case.id)]
    assert "checkin.stopped" in events


async def test_erasure_removes_the_check_ins_not_answered(world: World) -> None:
    w = world
    case = await decided(w)
    await w.work.checkins.send_due(later(31))
    first = (await w.store.checkins.of_intake(case.id))[0]
    await w.work.checkins.answer(case.applicant_id, first.id, Choice.SAME)
    await w.work.request_deletion(case.applicant_id, case.id)
    await w.work.erase(CW, case.id)
    left = await w.store.checkins.of_intake(case.id)
    assert [(c.answer, c.applicant_id) for c in left] == [("same", 0)]  # a figure, no one's
    assert await w.work.checkins.send_due(later(400)) == 0

    # Anonymised after the retention period (housekeeping): the same.
    kept = await decided(w)
    housekeeping = Housekeeping(w.store, I18N, w.work.settings)
    assert await housekeeping.anonymise_decided(later(w.work.settings.retain_days + 1)) == 1
    assert await w.store.checkins.of_intake(kept.id) == []


async def test_reopening_drops_the_check_ins_and_the_next_decision_schedules_anew(
    world: World,
) -> None:
    w = world
    case = await decided(w)
    await w.store.roles.grant(31, "supervisor", regions=[HOTAN])
    await w.work.reopen(31, case.id, "wrong amount")
    assert await w.store.checkins.of_intake(case.id) == []
    await w.work.claim(CW, case.id)
    await w.work.approve(CW, case.id, "100")
    assert len(await w.store.checkins.of_intake(case.id)) == 3

    # Stopped, reopened and decided again: still no more check-ins.
    await w.work.checkins.send_due(later(31))
    first = (await w.store.checkins.of_intake(case.id))[0]
    await w.work.checkins.stop(case.applicant_id, first.id)
    await w.work.reopen(31, case.id, "again")
    await w.work.approve(CW, case.id, "100")
    assert await w.work.checkins.send_due(later(400)) == 0


async def test_stats_count_check_in_answers_by_choice_in_the_askers_regions(
    world: World,
) -> None:
    w = world
    here = [await decided(w) for _ in range(3)]
    there = await decided(w, region=YUTIAN)
    await w.work.checkins.send_due(later(31))
    for case, choice in zip([*here, there], ["better", "better", "worse", "talk"], strict=True):
        first = (await w.store.checkins.of_intake(case.id))[0]
        await w.work.checkins.answer(case.applicant_id, first.id, choice)
    assert await w.store.checkins.counts() == {"better": 2, "worse": 1, "talk": 1}
    hotan = Scope(frozenset([HOTAN]))
    assert await w.store.checkins.counts(hotan) == {"better": 2, "worse": 1}
    text = render(I18N.tr("en"), HTML, await figures(w.store, hotan))
    assert "Check-in answers" in text and "Better: 2" in text and "talk" not in text
