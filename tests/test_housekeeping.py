"""Idle drafts expire and unfinished previews go, without Telegram: ``bot.housekeeping`` over a
real SQLite file. Times are set by making the bot's clock say so, never by editing rows."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.flow.engine import Screening, State
from bot.flow.loader import default_flow_source
from bot.housekeeping import Housekeeping
from bot.i18n import I18n
from bot.store import Store
from bot.store import db as store_db
from bot.store.outbox import OutMessage
from tests.backends import open_store

ADMIN, CW, STRANGER = 1, 2, 9
T0 = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


def _clocked() -> list[Any]:
    """The bot's modules that take the time from ``bot.store.db.now_iso``."""
    real = store_db.now_iso
    return [
        module
        for name, module in sorted(sys.modules.items())
        if name.split(".")[0] == "bot" and getattr(module, "now_iso", None) is real
    ]


_CLOCKED = _clocked()


@dataclass
class World:
    store: Store
    hk: Housekeeping
    monkeypatch: pytest.MonkeyPatch

    def at(self, when: dt.datetime) -> None:
        """From now on the bot stores times as if it were ``when``."""
        stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for module in _CLOCKED:
            self.monkeypatch.setattr(module, "now_iso", lambda: stamp)


@pytest.fixture
async def w(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url, admin_ids=frozenset({ADMIN}), draft_days=7)
    store = await open_store(settings.db_path, tmp_path, admin_ids=settings.admin_ids)
    try:
        await store.roles.grant(CW, "caseworker")
        yield World(store, Housekeeping(store, I18n.load(), settings), monkeypatch)
    finally:
        await store.close()


_people = count(5000)


async def draft(w: World, when: dt.datetime, lang: str = "en", **answers: Any) -> Any:
    """A draft started (and last answered) at ``when``."""
    w.at(when)
    applicant = next(_people)
    flow = await w.store.flows.active()
    answers = answers or {"consent": True, "name": "Zhang San"}
    made = await w.store.intakes.create_draft(
        applicant_id=applicant,
        chat_id=applicant,
        lang=lang,
        flow=flow,
        state=State(answers=dict(answers), path=list(answers), current="birth_date"),
        update_id=1,
    )
    assert made is not None
    return made


async def status_and_answers(w: World, intake_id: int) -> tuple[str, dict[str, Any]]:
    intake = await w.store.intakes.get(intake_id)
    assert intake is not None
    return intake.status, intake.state.answers


async def outbox(w: World) -> list[tuple[int, str]]:
    far = T0 + dt.timedelta(days=3650)  # everything queued is due by then
    w.at(far)
    return [(q.chat_id, q.text) for q in await w.store.outbox.due()]


# --- the number of days -------------------------------------------------------------------


async def test_draft_days_come_from_settings_until_an_admin_sets_them(w: World) -> None:
    assert await w.hk.draft_days() == 7
    await w.hk.set_draft_days(ADMIN, 3)
    assert await w.hk.draft_days() == 3
    await w.hk.set_draft_days(ADMIN, 14)
    assert await w.hk.draft_days() == 14
    changes = await w.store.audit.recent(action="settings.draft_days")
    assert [(a.actor, a.detail) for a in changes] == [(ADMIN, {"days": 14}), (ADMIN, {"days": 3})]


async def test_the_consent_text_says_the_days_a_draft_really_waits(w: World) -> None:
    """The flow's consent names {settings.draft_days}: it shows INTAKE_DRAFT_DAYS until an
    admin's /expiry, then that, in every language, and another instance catches up on
    its next expiry round."""

    async def consent(lang: str) -> str:
        flow = await w.store.flows.active()
        return flow.pick(flow.step("consent").text, lang)

    await w.hk.refresh_flow_values()
    assert "after 7 days without activity" in await consent("en")
    await w.hk.set_draft_days(ADMIN, 45)
    assert "after 45 days without activity" in await consent("en")
    assert "45天不再填写" in await consent("zh")
    assert "45 كۈنگىچە" in await consent("ug")
    # Set through another instance (straight into the database): the next round sees it.
    await w.store.housekeeping.set_draft_days(ADMIN, 20)
    await w.hk.expire_drafts()
    assert "after 20 days without activity" in await consent("en")


async def test_only_an_admin_may_set_draft_days(w: World) -> None:
    for who in (CW, STRANGER):
        with pytest.raises(PermissionError):
            await w.hk.set_draft_days(who, 1)
    assert await w.hk.draft_days() == 7
    assert await w.store.audit.recent(action="settings.draft_days") == []
    # An admin granted in the database (not only INTAKE_ADMIN_IDS) may.
    await w.store.roles.grant(CW, "admin", by=ADMIN)
    await w.hk.set_draft_days(CW, 2)
    assert await w.hk.draft_days() == 2


# --- drafts ---------------------------------------------------------------------------------


async def test_idle_drafts_expire_with_a_message_and_fresh_ones_stay(w: World) -> None:
    await w.hk.set_draft_days(ADMIN, 3)
    idle = await draft(w, T0, name="Idle Person")
    zh_idle = await draft(w, T0, lang="zh", name="王五")
    fresh = await draft(w, T0 + dt.timedelta(days=2, hours=12), name="Fresh Person")
    # A sent intake as old as the idle draft is not a draft: it never expires.
    old = await draft(w, T0, name="Sent Person")
    state = State(answers={"name": "Sent Person"}, path=["name"])
    assert await w.store.intakes.submit(old, state, Screening((), (), 0, ()), 2)

    now = T0 + dt.timedelta(days=3, hours=1)  # idle for 3 days and an hour
    w.at(now)
    assert await w.hk.expire_drafts(now=now) == 2

    for gone in (idle, zh_idle):
        status, answers = await status_and_answers(w, gone.id)
        assert (status, answers) == ("expired", {})
        [entry] = [
            a for a in await w.store.audit.for_intake(gone.id) if a.action == "draft.expired"
        ]
        assert entry.actor is None and entry.detail == {}
    assert await status_and_answers(w, fresh.id) == ("draft", {"name": "Fresh Person"})
    assert (await status_and_answers(w, old.id))[0] == "submitted"
    # Nothing the idle ones wrote is left anywhere in their rows.
    row = await w.store.db.fetchone(
        "SELECT state, current_step FROM intakes WHERE id = ?", (idle.id,)
    )
    assert b"Idle Person" not in row["state"] and row["current_step"] is None

    zh = I18n.load().tr("zh")
    told = dict(await outbox(w))
    assert told[idle.chat_id] == (
        "Your application was not finished for 3 days, so it was closed and your answers were"
        " deleted. Send /start to begin again."
    )
    assert told[zh_idle.chat_id] == zh.ngettext(
        "Your application was not finished for {n} day, so it was closed and your answers were deleted. Send /start to begin again.",
        "Your application was not finished for {n} days, so it was closed and your answers were deleted. Send /start to begin again.",
        3,
    ).format(n=3)
    assert fresh.chat_id not in told and old.chat_id not in told

    # Running again changes nothing and tells nobody twice.
    w.at(now)
    assert await w.hk.expire_drafts(now=now) == 0
    assert len(await outbox(w)) == 2


async def test_an_applicant_who_chose_a_language_is_told_in_it(w: World) -> None:
    await w.hk.set_draft_days(ADMIN, 1)
    idle = await draft(w, T0, lang="en")
    await w.store.users.set_language(idle.applicant_id, "zh")
    now = T0 + dt.timedelta(days=2)
    assert await w.hk.expire_drafts(now=now) == 1
    zh = I18n.load().tr("zh")
    [(chat, text)] = await outbox(w)
    assert chat == idle.chat_id
    assert text == zh.ngettext(
        "Your application was not finished for {n} day, so it was closed and your answers were deleted. Send /start to begin again.",
        "Your application was not finished for {n} days, so it was closed and your answers were deleted. Send /start to begin again.",
        1,
    ).format(n=1)


async def test_the_number_of_days_decides_what_is_idle(w: World) -> None:
    a_week_ago = await draft(w, T0)
    now = T0 + dt.timedelta(days=5)
    assert await w.hk.expire_drafts(now=now) == 0  # 7 days from the settings
    await w.hk.set_draft_days(ADMIN, 4)
    assert await w.hk.expire_drafts(now=now) == 1
    assert (await status_and_answers(w, a_week_ago.id))[0] == "expired"


async def test_idle_counts_from_the_last_answer_not_from_the_start(w: World) -> None:
    await w.hk.set_draft_days(ADMIN, 3)
    busy = await draft(w, T0)
    now = T0 + dt.timedelta(days=4)
    w.at(now)  # they answer right now
    state = State(answers={"consent": True, "name": "Zhang San", "birth_date": "1975-03-08"})
    assert await w.store.intakes.save_state(busy.id, state, update_id=5)
    assert await w.hk.expire_drafts(now=now) == 0
    assert (await status_and_answers(w, busy.id))[0] == "draft"
    # And the store re-checks in its write: a draft answered after the housekeeping read it
    # (here: after the cutoff it was given) is left alone.
    cutoff = (T0 + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not await w.store.intakes.expire_draft(busy.id, cutoff, OutMessage(busy.chat_id, "x"))
    assert await status_and_answers(w, busy.id) == ("draft", state.answers)
    assert await outbox(w) == []


# --- previews ---------------------------------------------------------------------------------


async def test_previews_older_than_a_day_are_removed(w: World) -> None:
    w.at(T0)
    upload = await w.store.flows.upload(ADMIN, default_flow_source())
    await w.store.intakes.start_preview(ADMIN, upload, State())
    w.at(T0 + dt.timedelta(hours=30))
    await w.store.intakes.start_preview(CW, upload, State())

    now = T0 + dt.timedelta(hours=30)
    await w.hk.expire_drafts(now=now)
    assert (await w.store.intakes.load_for_applicant(ADMIN)).draft is None
    kept = (await w.store.intakes.load_for_applicant(CW)).draft
    assert kept is not None and kept.is_preview
    # Previews are not intakes: nothing was expired, nobody was told.
    row = await w.store.db.fetchone("SELECT COUNT(*) AS n FROM intakes")
    assert row["n"] == 0
    assert await outbox(w) == []

    await w.hk.expire_drafts(now=now + dt.timedelta(days=1, seconds=1))
    assert (await w.store.intakes.load_for_applicant(CW)).draft is None
