"""Updates are applied once each, whatever their order (issue 27): with several instances
an older update may reach the database after a newer one of the same person was applied
(another instance held it), and it must still be applied, once; on both databases."""

from __future__ import annotations

from pathlib import Path

from bot.flow.engine import AGREE, Ask, Picked
from bot.i18n import I18n
from bot.interview import Applicant, Interview
from tests.backends import open_store

A = 101


async def test_an_older_update_arriving_late_is_applied_and_a_repeat_is_not(
    db_url: str, tmp_path: Path
) -> None:
    store = await open_store(db_url, tmp_path)
    try:
        interview = Interview(store, I18n.load())
        me = Applicant(A, A, "zh")
        first = await interview.begin(me, 10)
        assert first.intake is not None
        turn = await interview.apply(me, Picked("consent", AGREE), 20)
        assert isinstance(turn.outcome, Ask) and turn.outcome.step.id == "applying_for"
        # Update 15 was held by another instance and arrives now: applied, not dropped.
        late = await interview.apply(me, Picked("applying_for", "self"), 15)
        assert not late.duplicate
        assert isinstance(late.outcome, Ask) and late.outcome.step.id != "applying_for"
        # Each delivered again: applied once only.
        assert (await interview.apply(me, Picked("applying_for", "other"), 15)).duplicate
        assert (await interview.apply(me, Picked("consent", AGREE), 20)).duplicate
        store.db.views.changed(None)  # read what the database holds
        view = await store.intakes.load_for_applicant(A)
        assert view.draft is not None
        assert view.draft.state.answers["applying_for"] == "self"
        assert view.draft.last_update_id == 20  # the newest applied stays the newest
        # Withdrawing by an older update than the newest: done once; again, nothing.
        assert await interview.withdraw_draft(me, first.intake.id, 12) is True
        assert await interview.withdraw_draft(me, first.intake.id, 12) is None
        row = await store.db.fetchone("SELECT status FROM intakes WHERE id = ?", (first.intake.id,))
        assert row is not None and row["status"] == "withdrawn"
    finally:
        await store.close()


async def test_the_record_of_applied_updates_is_pruned_with_the_inbox(
    db_url: str, tmp_path: Path
) -> None:
    store = await open_store(db_url, tmp_path)
    try:
        interview = Interview(store, I18n.load())
        me = Applicant(A, A, "zh")
        await interview.begin(me, 10)
        await interview.apply(me, Picked("consent", AGREE), 11)
        assert await store.intakes.was_applied(A, 11)
        await store.inbox.prune("9999-01-01T00:00:00Z", "0000-01-01T00:00:00Z")
        assert not await store.intakes.was_applied(A, 11)
    finally:
        await store.close()
