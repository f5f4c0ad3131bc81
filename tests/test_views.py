"""Kept applicant views (bot/store/views.py): an answer finds the view the previous one
saved without reading it back, and never a view that another write may have changed."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.flow.engine import State
from bot.store import Store
from bot.store.db import NOBODY
from bot.store.intakes import ApplicantView
from bot.store.outbox import OutMessage
from bot.store.views import Views
from tests.test_store import new_draft

A, B = 101, 202


# --- the bookkeeping on its own ------------------------------------------------------------


def test_a_kept_view_is_served_until_a_change_that_may_touch_it() -> None:
    views: Views[str] = Views()
    views.keep(A, views.reading(), "a")
    views.keep(B, views.reading(), "b")
    assert (views.get(A), views.get(B)) == ("a", "b")
    views.changed(B)  # only B's view
    assert (views.get(A), views.get(B)) == ("a", None)
    views.keep(B, views.reading(), "b2")
    views.changed(None)  # possibly anyone's
    assert (views.get(A), views.get(B)) == (None, None)


def test_a_read_overlapping_a_change_is_not_kept() -> None:
    views: Views[str] = Views()
    seen = views.reading()
    views.changed(A)  # committed while the read was under way: it may not show
    views.keep(A, seen, "old")
    assert views.get(A) is None
    seen = views.reading()
    views.changed(None)
    views.keep(A, seen, "old")
    assert views.get(A) is None
    seen = views.reading()
    views.changed(B)  # someone else's change does not matter
    views.keep(A, seen, "a")
    assert views.get(A) == "a"


def test_a_write_keeps_its_result_only_when_nothing_else_touched_the_view() -> None:
    views: Views[str] = Views()
    seen = views.reading()
    views.keep(A, seen, "v1")
    writing = views.writing(A, seen)
    assert views.get(A) is None  # nobody is served the old view while the write runs
    number = views.written(writing, applied=True)
    assert number is not None
    views.keep(A, number, "v2")
    assert views.get(A) == "v2"

    writing = views.writing(A, number)
    views.changed(None)  # e.g. a caseworker's write committed meanwhile
    assert views.written(writing, applied=True) is None

    seen = views.reading()
    writing = views.writing(A, seen)
    views.changed(A)  # another write of A's committed meanwhile
    assert views.written(writing, applied=True) is None

    seen = views.reading()
    views.changed(None)  # the base went stale before the write began
    assert views.written(views.writing(A, seen), applied=True) is None
    assert views.written(views.writing(A, views.reading()), applied=False) is None
    assert views.written(views.writing(A, 0), applied=True) is None  # no base view


def test_views_and_remembered_changes_are_bounded() -> None:
    views: Views[int] = Views(size=3, changes=2)
    seen = views.reading()
    for user in range(5):
        views.keep(user, seen, user)
    assert len(views) == 3
    assert [views.get(u) for u in range(5)] == [None, None, 2, 3, 4]
    for user in (10, 11, 12):  # 10's change is forgotten: it counts for everyone
        views.changed(user)
    assert [views.get(u) for u in range(5)] == [None] * 5
    views.keep(3, views.reading(), 3)
    assert views.get(3) == 3


def test_nothing_is_kept_while_a_write_may_still_land() -> None:
    views: Views[str] = Views()
    views.keep(A, views.reading(), "a")
    views.hold()
    assert views.get(A) is None
    views.keep(A, views.reading(), "a")
    assert views.get(A) is None
    views.release()
    views.keep(A, views.reading(), "a")
    assert views.get(A) == "a"


# --- through the store -------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "intake.db")
    try:
        yield s
    finally:
        await s.close()


class Reads:
    """Counts the reads that reach SQLite."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = store.db.fetchall

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(store.db, "fetchall", counted)


async def fresh(store: Store, user_id: int) -> ApplicantView:
    """What the database holds, read past every kept view."""
    store.db.views.changed(None)
    return await store.intakes.load_for_applicant(user_id)


def answers(n: int) -> State:
    return State(
        answers={"name": "张三", "household": n, "needs": ["money", "school"], "rate": 0.5},
        current="earners",
        path=["name", "household", "needs"],
    )


async def test_the_next_answer_finds_the_saved_view_without_a_read(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = await new_draft(store, A)
    reads = Reads(store, monkeypatch)
    view = await store.intakes.load_for_applicant(A)
    assert reads.count == 1
    assert await store.intakes.save_state(draft.id, answers(4), 11, view=view)
    kept = await store.intakes.load_for_applicant(A)
    assert reads.count == 1  # not read back
    assert kept.draft is not None and kept.draft.state.answers["household"] == 4
    on_disk = await fresh(store, A)
    assert reads.count == 2
    assert kept.draft == on_disk.draft  # exactly what a read gives
    assert (kept.chosen_lang, kept.last_update_id) == (on_disk.chosen_lang, 10)


async def test_a_kept_view_of_protected_answers_matches_a_read(store: Store) -> None:
    draft = await new_draft(store, A)
    view = await store.intakes.load_for_applicant(A)
    assert await store.intakes.save_state(draft.id, answers(3), 11, view=view)
    kept = await store.intakes.load_for_applicant(A)
    row = await store.db.fetchone("SELECT state FROM intakes WHERE id = ?", (draft.id,))
    assert row is not None and "张三".encode() not in row["state"]  # sealed at rest
    assert kept == await fresh(store, A)
    assert kept.draft is not None and kept.draft.state.answers["name"] == "张三"


async def test_other_applicants_writes_keep_the_view(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = await new_draft(store, A)
    view = await store.intakes.load_for_applicant(A)
    assert await store.intakes.save_state(mine.id, answers(4), 11, view=view)
    theirs = await new_draft(store, B)
    await store.intakes.record_consent(theirs, "consent", "0" * 64, "zh")
    await store.users.set_language(B, "ug")
    await store.outbox.add([OutMessage(B, "hello")])
    reads = Reads(store, monkeypatch)
    kept = await store.intakes.load_for_applicant(A)
    assert reads.count == 0
    assert kept.draft is not None and kept.draft.state.answers["household"] == 4


async def test_an_applicants_own_other_writes_are_read_again(store: Store) -> None:
    draft = await new_draft(store, A)
    await store.intakes.load_for_applicant(A)
    await store.users.set_language(A, "ug")
    assert (await store.intakes.load_for_applicant(A)).chosen_lang == "ug"
    view = await store.intakes.load_for_applicant(A)
    assert await store.intakes.withdraw(draft, A, update_id=12)
    after = await store.intakes.load_for_applicant(A)
    assert after.draft is None and after.last_update_id == 12
    assert view.draft is not None  # what was given out earlier is not changed under it


async def test_a_write_that_may_touch_anyone_drops_the_view(store: Store) -> None:
    draft = await new_draft(store, A)
    view = await store.intakes.load_for_applicant(A)
    assert await store.intakes.save_state(draft.id, answers(4), 11, view=view)
    expired = await store.intakes.expire_draft(draft.id, "9999", OutMessage(A, "closed"))
    assert expired
    assert (await store.intakes.load_for_applicant(A)).draft is None

    other = await new_draft(store, A, update_id=20)
    view = await store.intakes.load_for_applicant(A)
    assert view.draft is not None and view.draft.id == other.id
    # Any statement not said to touch one applicant only (a caseworker's, an admin's).
    await store.db.execute("UPDATE intakes SET lang = 'ug' WHERE id = ?", (other.id,))
    reread = await store.intakes.load_for_applicant(A)
    assert reread.draft is not None and reread.draft.lang == "ug"


async def test_a_refused_save_keeps_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    draft = await new_draft(store, A)
    view = await store.intakes.load_for_applicant(A)
    assert await store.intakes.save_state(draft.id, answers(4), 11, view=view)
    stale = view  # a second delivery of update 11, worked out from the older view
    assert not await store.intakes.save_state(draft.id, answers(9), 11, view=stale)
    reads = Reads(store, monkeypatch)
    now = await store.intakes.load_for_applicant(A)
    assert reads.count == 1
    assert now.draft is not None and now.draft.state.answers["household"] == 4
    # A save not told its view drops the kept one.
    assert await store.intakes.save_state(draft.id, answers(5), 12)
    now = await store.intakes.load_for_applicant(A)
    assert reads.count == 2
    assert now.draft is not None and now.draft.state.answers["household"] == 5


async def test_saves_in_a_shared_commit_keep_their_own_views(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts = [await new_draft(store, user) for user in range(1, 21)]
    views = [await store.intakes.load_for_applicant(user) for user in range(1, 21)]
    saved = await asyncio.gather(
        *(
            store.intakes.save_state(d.id, answers(i), 11, view=v)
            for i, (d, v) in enumerate(zip(drafts, views, strict=True))
        )
    )
    assert all(saved)
    reads = Reads(store, monkeypatch)
    kept = [await store.intakes.load_for_applicant(user) for user in range(1, 21)]
    assert reads.count == 0
    assert [v.draft.state.answers["household"] for v in kept if v.draft] == list(range(20))
    assert kept == [await fresh(store, user) for user in range(1, 21)]


async def test_a_cancelled_write_keeps_views_away_until_the_writer_moves_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = await new_draft(store, A)
    await store.intakes.load_for_applicant(A)
    write = asyncio.create_task(
        store.db.execute("UPDATE intakes SET lang = 'ug' WHERE id = ?", (draft.id,))
    )
    await asyncio.sleep(0)  # the statement is on the writer's thread
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write
    reads = Reads(store, monkeypatch)
    first = await store.intakes.load_for_applicant(A)
    second = await store.intakes.load_for_applicant(A)
    assert reads.count == 2  # it may land after either read: neither is kept
    assert second.draft is not None
    await store.db.execute("DELETE FROM outbox WHERE id = -1", touches=NOBODY)
    third = await store.intakes.load_for_applicant(A)
    assert third.draft is not None and third.draft.lang == "ug"
    assert await store.intakes.load_for_applicant(A) is third
    assert reads.count == 3
    assert first.draft is not None


async def test_a_write_in_a_shared_commit_drops_views_when_it_commits(store: Store) -> None:
    drafts = [await new_draft(store, user) for user in range(1, 11)]
    views = [await store.intakes.load_for_applicant(user) for user in range(1, 11)]
    await asyncio.gather(
        *(
            store.intakes.save_state(d.id, answers(i), 11, view=v)
            for i, (d, v) in enumerate(zip(drafts, views, strict=True))
        ),
        store.db.execute("UPDATE intakes SET lang = 'ug' WHERE id = ?", (drafts[0].id,)),
    )
    first = await store.intakes.load_for_applicant(1)
    assert first.draft is not None and first.draft.lang == "ug"
    assert first.draft.state.answers["household"] == 0


# --- through the interview ---------------------------------------------------------------


async def test_an_answer_after_the_draft_expired_is_not_applied_to_the_kept_view(
    tmp_path: Path,
) -> None:
    from bot.config import Settings
    from bot.flow.engine import AGREE, Ask, Picked
    from bot.housekeeping import Housekeeping
    from bot.i18n import I18n
    from bot.interview import Applicant, Interview

    settings = Settings(token="1:x", db_path=str(tmp_path / "intake.db"), draft_days=1)
    store = await Store.open(settings.db_path)
    try:
        i18n = I18n.load()
        interview = Interview(store, i18n)
        me = Applicant(A, A, "zh")
        first = await interview.begin(me, 10)
        assert first.intake is not None
        turn = await interview.apply(me, Picked("consent", AGREE), 11)
        assert isinstance(turn.outcome, Ask) and turn.outcome.step.id == "applying_for"
        assert store.db.views.get(A) is not None  # kept for the next answer
        # Three days on, the idle draft is closed (a write that may touch anyone's view).
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
        assert await Housekeeping(store, i18n, settings).expire_drafts(now=later) == 1
        late = await interview.apply(me, Picked("applying_for", "self"), 12)
        assert late.no_draft and late.outcome is None
        row = await store.db.fetchone(
            "SELECT status, state FROM intakes WHERE id = ?", (first.intake.id,)
        )
        assert row is not None and row["status"] == "expired" and b"self" not in row["state"]
    finally:
        await store.close()
