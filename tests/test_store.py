"""The store on both databases (tests/backends.py: a SQLite file in tmp_path, a fresh
PostgreSQL database): migrations, flow versions, drafts, submitted intakes and their audit
trail. The tests of SQLite's own settings (WAL, user_version) take ``db_path``."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from bot.dburl import is_postgres
from bot.flow.engine import Screening, State, start
from bot.flow.loader import FlowError, default_flow_source
from bot.store import FlowNotFound, Intake, SchemaTooNew, Store
from bot.store.db import migrations
from bot.store.intakes import REF_ALPHABET
from tests.backends import INTEGRITY_ERRORS, open_store

FLOWS = Path(__file__).parent / "flows"
EVERY_SOURCE = (FLOWS / "every_type.yaml").read_text(encoding="utf-8")
REF_RE = re.compile(rf"^[{REF_ALPHABET}]{{3}}-[{REF_ALPHABET}]{{3}}$")

ANSWERS = {"consent": True, "name": "张三", "household": 4, "earners": 0, "needs": ["money"]}
SCREENING = Screening(("no_income",), (), 5, ("medical",))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "intake.db"


@pytest.fixture
async def store(db_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(db_url, tmp_path)
    try:
        yield s
    finally:
        await s.close()


async def new_draft(store: Store, applicant: int = 1, update_id: int = 10) -> Intake:
    flow = await store.flows.active()
    intake = await store.intakes.create_draft(
        applicant_id=applicant,
        chat_id=applicant + 1000,
        lang="zh",
        flow=flow,
        state=start(flow).state,
        update_id=update_id,
    )
    assert intake is not None
    return intake


def answered(current: str | None = "household") -> State:
    return State(answers=dict(ANSWERS), current=current, path=list(ANSWERS))


# --- the database itself ---------------------------------------------------------------


async def test_migrations_are_recorded(store: Store) -> None:
    known = migrations()
    assert known[0][:2] == (1, "0001_init.sql")
    rows = await store.db.fetchall(
        "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
    )
    assert [(r["version"], r["name"]) for r in rows] == [(n, name) for n, name, _ in known]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["applied_at"])


async def test_sqlite_is_in_wal_mode_with_foreign_keys(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        await _sqlite_settings(store, db_path)
    finally:
        await store.close()


async def _sqlite_settings(store: Store, db_path: Path) -> None:
    assert db_path.is_file()  # the folder was created too
    known = migrations()
    version = await store.db.fetchone("PRAGMA user_version")
    assert version is not None and version[0] == known[-1][0]
    mode = await store.db.fetchone("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    fk = await store.db.fetchone("PRAGMA foreign_keys")
    assert fk is not None and fk[0] == 1


async def test_reopening_does_not_apply_migrations_again(db_path: Path) -> None:
    for _ in range(2):
        s = await Store.open(db_path)
        await s.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(
            migrations()
        )
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_database_from_newer_code_is_refused(db_url: str, tmp_path: Path) -> None:
    s = await open_store(db_url, tmp_path)
    await s.close()
    newer = migrations()[-1][0] + 1
    if is_postgres(db_url):
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (%s, 'from_the_future.sql', 'now')",
                (newer,),
            )
            with pytest.raises(SchemaTooNew, match="upgrade intake-bot"):
                await open_store(db_url, tmp_path)
            cur = await conn.execute("SELECT MAX(version) FROM schema_migrations")
            assert (await cur.fetchone()) == (newer,)  # left alone
        return
    db_path = Path(db_url)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade intake-bot"):
        await Store.open(db_path)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == newer  # left alone
    finally:
        conn.close()


async def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a file"):
        await Store.open(":memory:")


# --- flow versions ---------------------------------------------------------------------


async def test_the_default_flow_is_published_once_only(db_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        s = await open_store(db_url, tmp_path)
        try:
            assert await s.flows.ensure_default() is None  # already there
            versions = await s.flows.versions()
            assert [(v.flow_id, v.version, v.is_current, v.is_active) for v in versions] == [
                ("judicial-assistance", 1, True, True)
            ]
            assert versions[0].published_by is None
            active = await s.flows.active()
            assert (active.id, active.version) == ("judicial-assistance", 1)
            assert await s.flows.source() == default_flow_source()
        finally:
            await s.close()


async def test_an_empty_database_without_seeding_has_no_active_flow(
    db_url: str, tmp_path: Path
) -> None:
    s = await open_store(db_url, tmp_path, seed_default_flow=False)
    try:
        assert await s.flows.versions() == []
        with pytest.raises(FlowNotFound):
            await s.flows.active()
        seeded = await s.flows.ensure_default()
        assert seeded is not None and seeded.version == 1
    finally:
        await s.close()


async def test_publish_twice_makes_version_two_current_and_rollback_restores_one(
    store: Store,
) -> None:
    first = await store.flows.publish(EVERY_SOURCE, by=42)
    second = await store.flows.publish(EVERY_SOURCE.replace("Test flow", "Test flow v2"))
    assert (first.id, first.version, second.version) == ("every-type", 1, 2)
    versions = {(v.flow_id, v.version): v for v in await store.flows.versions()}
    assert versions[("every-type", 1)].is_current is False
    assert versions[("every-type", 1)].published_by == 42
    assert versions[("every-type", 2)].is_current is True
    assert versions[("every-type", 2)].is_active is True
    assert versions[("judicial-assistance", 1)].is_current is True  # its own id: untouched
    assert versions[("judicial-assistance", 1)].is_active is False
    assert (await store.flows.active()).title["en"] == "Test flow v2"
    assert await store.flows.current_version("every-type") == 2

    await store.flows.rollback("every-type", 1)
    versions = {(v.flow_id, v.version): v for v in await store.flows.versions()}
    assert versions[("every-type", 1)].is_current and versions[("every-type", 1)].is_active
    assert not versions[("every-type", 2)].is_current
    active = await store.flows.active()
    assert (active.id, active.version, active.title["en"]) == ("every-type", 1, "Test flow")
    assert await store.flows.source("every-type", 1) == EVERY_SOURCE
    assert "Test flow v2" in await store.flows.source("every-type", 2)
    actions = [e.action for e in await store.audit.recent(action="flow.rollback")]
    assert actions == ["flow.rollback"]


async def test_publishing_a_broken_file_stores_nothing(store: Store) -> None:
    broken = (FLOWS / "broken_several.yaml").read_text(encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        await store.flows.publish(broken)
    assert len(caught.value.problems) >= 5
    assert [(v.flow_id, v.version) for v in await store.flows.versions()] == [
        ("judicial-assistance", 1)
    ]


async def test_rollback_to_an_unknown_version_changes_nothing(store: Store) -> None:
    with pytest.raises(FlowNotFound):
        await store.flows.rollback("judicial-assistance", 7)
    with pytest.raises(FlowNotFound):
        await store.flows.rollback("no-such-flow", 1)
    with pytest.raises(FlowNotFound):
        await store.flows.get("judicial-assistance", 7)
    assert await store.flows.current_version("judicial-assistance") == 1


async def test_versions_count_the_intakes_on_each_version(store: Store) -> None:
    await new_draft(store, applicant=1)
    await new_draft(store, applicant=2)
    await store.flows.publish(default_flow_source())  # judicial-assistance v2
    await new_draft(store, applicant=3)
    counts = {v.version: v.intakes for v in await store.flows.versions()}
    assert counts == {1: 2, 2: 1}


async def test_an_intake_keeps_its_flow_version_after_a_new_one_is_published(
    store: Store,
) -> None:
    draft = await new_draft(store)
    assert draft.flow_version == 1
    newer = await store.flows.publish(
        default_flow_source().replace("国家司法救助申请", "国家司法救助申请（新）")
    )
    assert newer.version == 2
    view = await store.intakes.load_for_applicant(1)
    assert view.draft is not None and view.draft.flow_version == 1
    old = await store.flows.get(view.draft.flow_id, view.draft.flow_version)
    assert old.version == 1 and old.title["zh"] == "国家司法救助申请"
    ref = await store.intakes.submit(view.draft, answered(None), SCREENING, update_id=11)
    assert ref is not None
    submitted = await store.intakes.by_ref(ref)
    assert submitted is not None and submitted.flow_version == 1
    assert (await store.flows.active()).version == 2


# --- drafts ----------------------------------------------------------------------------


async def test_a_draft_is_created_and_its_state_saved_in_update_order(store: Store) -> None:
    draft = await new_draft(store, update_id=10)
    assert draft.status == "draft" and draft.ref is None and draft.last_update_id == 10
    view = await store.intakes.load_for_applicant(1)
    assert view.draft is not None and view.draft.id == draft.id
    assert view.draft.state == draft.state
    assert view.last_update_id == 10

    s11 = answered("household")
    assert await store.intakes.save_state(draft.id, s11, update_id=11) is True
    s12 = answered("earners")
    assert await store.intakes.save_state(draft.id, s12, update_id=12) is True
    # the same updates delivered again: refused, nothing changes
    assert await store.intakes.save_state(draft.id, answered("name"), update_id=12) is False
    assert await store.intakes.save_state(draft.id, answered("name"), update_id=11) is False
    assert await store.intakes.save_state(draft.id, answered("name"), update_id=10) is False
    got = await store.intakes.get(draft.id)
    assert got is not None
    assert got.state == s12 and got.last_update_id == 12
    row = await store.db.fetchone("SELECT current_step FROM intakes WHERE id = ?", (draft.id,))
    assert row is not None and row["current_step"] == "earners"


async def test_an_older_update_applied_late_is_applied_once(store: Store) -> None:
    """Several instances: an update another instance received late (an older id than the
    newest applied) is applied, not taken for a repeat; delivered again, it is refused."""
    draft = await new_draft(store, update_id=10)
    s12 = answered("earners")
    assert await store.intakes.save_state(draft.id, s12, update_id=12) is True
    s11 = answered("household")
    assert await store.intakes.save_state(draft.id, s11, update_id=11) is True
    assert await store.intakes.save_state(draft.id, answered("name"), update_id=11) is False
    got = await store.intakes.get(draft.id)
    assert got is not None
    # its answer is in; the newest id applied stays the newest
    assert got.state == s11 and got.last_update_id == 12
    assert await store.intakes.was_applied(1, 11) and await store.intakes.was_applied(1, 12)
    assert not await store.intakes.was_applied(1, 13)
    assert not await store.intakes.was_applied(2, 11)  # per person: the web chat's numbers
    # a submit that arrives late is applied once too
    ref = await store.intakes.submit(got, s11, SCREENING, update_id=5)
    assert ref is not None
    assert await store.intakes.submit(got, s11, SCREENING, update_id=5) is None


async def test_an_applicant_has_at_most_one_draft(store: Store) -> None:
    first = await new_draft(store, update_id=10)
    # the same /start delivered twice
    flow = await store.flows.active()
    again = await store.intakes.create_draft(
        applicant_id=1, chat_id=1001, lang="zh", flow=flow, state=State(), update_id=10
    )
    assert again is None
    # a later /start finds the draft in progress
    later = await store.intakes.create_draft(
        applicant_id=1, chat_id=1001, lang="en", flow=flow, state=State(), update_id=20
    )
    assert later is not None and later.id == first.id and later.lang == "zh"
    assert [i.id for i in await store.intakes.for_applicant(1)] == [first.id]
    # and the schema itself refuses a second one
    with pytest.raises(INTEGRITY_ERRORS):
        await store.db.execute(
            "INSERT INTO intakes (flow_id, flow_version, applicant_id, chat_id, lang, status,"
            " state, created_at, updated_at) VALUES ('judicial-assistance', 1, 1, 1, 'zh',"
            " 'draft', '{}', 'x', 'x')"
        )
    # someone else gets their own
    other = await new_draft(store, applicant=2, update_id=1)
    assert other.id != first.id


async def test_submit_gives_a_reference_and_writes_the_audit_trail(store: Store) -> None:
    draft = await new_draft(store, update_id=10)
    final = answered(None)
    ref = await store.intakes.submit(draft, final, SCREENING, update_id=11)
    assert ref is not None and REF_RE.match(ref), ref
    intake = await store.intakes.by_ref(ref.lower() + " ")  # as someone types it
    assert intake is not None and intake.id == draft.id
    assert intake.status == "submitted" and intake.ref == ref
    assert intake.state == final
    assert intake.screening == SCREENING
    assert intake.priority == 5
    assert intake.submitted_at is not None
    assert (await store.intakes.load_for_applicant(1)).draft is None
    audit = await store.audit.for_intake(draft.id)
    assert [e.action for e in audit] == ["intake.started", "intake.submitted"]
    assert audit[1].actor == 1
    assert audit[1].detail == {"ref": ref, "priority": 5}
    assert "张三" not in repr(audit)  # answers never go into the audit trail
    # the same Submit delivered again does nothing
    assert await store.intakes.submit(draft, final, SCREENING, update_id=11) is None
    assert await store.intakes.submit(draft, final, SCREENING, update_id=12) is None
    assert len(await store.audit.for_intake(draft.id)) == 2


async def test_references_are_unique_and_readable(store: Store) -> None:
    refs = set()
    for applicant in range(1, 21):
        draft = await new_draft(store, applicant=applicant)
        ref = await store.intakes.submit(draft, answered(None), SCREENING, update_id=11)
        assert ref is not None and REF_RE.match(ref)
        refs.add(ref)
    assert len(refs) == 20
    assert not set("".join(refs)) & set("0O1IL2Z5S8B")


async def test_withdrawing_a_draft_erases_its_answers(store: Store) -> None:
    draft = await new_draft(store, update_id=10)
    assert await store.intakes.save_state(draft.id, answered(), update_id=11)
    draft = await store.intakes.get(draft.id)
    assert draft is not None
    assert await store.intakes.withdraw(draft, actor=1, update_id=12) is True
    gone = await store.intakes.get(draft.id)
    assert gone is not None and gone.status == "withdrawn"
    assert gone.state == State()
    assert (await store.intakes.load_for_applicant(1)).draft is None
    assert [e.action for e in await store.audit.for_intake(draft.id)][-1] == "intake.withdrawn"
    # again: it is no longer a draft
    assert await store.intakes.withdraw(draft, actor=1, update_id=13) is False


async def test_withdrawing_a_submitted_intake_keeps_its_record(store: Store) -> None:
    draft = await new_draft(store, update_id=10)
    ref = await store.intakes.submit(draft, answered(None), SCREENING, update_id=11)
    assert ref is not None
    submitted = await store.intakes.by_ref(ref)
    assert submitted is not None
    assert await store.intakes.withdraw(submitted, actor=1, update_id=12) is True
    after = await store.intakes.by_ref(ref)
    assert after is not None and after.status == "withdrawn"
    assert after.state.answers == ANSWERS
    audit = await store.audit.for_intake(draft.id)
    assert audit[-1].action == "intake.withdrawn" and audit[-1].detail == {"from": "submitted"}


async def test_discarding_a_draft_deletes_the_row(store: Store) -> None:
    draft = await new_draft(store, update_id=10)
    assert await store.intakes.save_state(draft.id, answered(), update_id=11)
    assert await store.intakes.discard_draft(draft, 1, "consent_declined", update_id=12) is True
    assert await store.intakes.get(draft.id) is None
    assert await store.intakes.for_applicant(1) == []
    row = await store.db.fetchone("SELECT COUNT(*) AS n FROM intakes")
    assert row is not None and row["n"] == 0
    erased = await store.audit.recent(action="draft.erased")
    assert len(erased) == 1
    assert erased[0].intake_id is None and erased[0].detail == {"reason": "consent_declined"}
    # the audit rows of the erased draft no longer point at it
    assert await store.audit.for_intake(draft.id) == []
    # the same update again: nothing more happens
    assert await store.intakes.discard_draft(draft, 1, "consent_declined", update_id=12) is False
    assert len(await store.audit.recent(action="draft.erased")) == 1


async def test_everything_survives_closing_and_reopening(db_url: str, tmp_path: Path) -> None:
    s = await open_store(db_url, tmp_path)
    try:
        await s.flows.publish(EVERY_SOURCE.replace("Test flow", "Test flow v1"))
        await s.flows.publish(EVERY_SOURCE.replace("Test flow", "Test flow v2"))
        await s.flows.rollback("every-type", 1)
        draft = await new_draft(s, applicant=7, update_id=10)
        await s.intakes.save_state(draft.id, answered(), update_id=11)
        other = await new_draft(s, applicant=8, update_id=10)
        ref = await s.intakes.submit(other, answered(None), SCREENING, update_id=11)
        assert ref is not None
    finally:
        await s.close()

    s = await open_store(db_url, tmp_path)
    try:
        view = await s.intakes.load_for_applicant(7)
        assert view.draft is not None and view.draft.id == draft.id
        assert view.draft.state == answered() and view.draft.last_update_id == 11
        submitted = await s.intakes.by_ref(ref)
        assert submitted is not None and submitted.applicant_id == 8
        assert submitted.screening == SCREENING
        versions = await s.flows.versions()
        assert [(v.flow_id, v.version, v.is_current, v.intakes) for v in versions] == [
            ("every-type", 1, True, 2),
            ("every-type", 2, False, 0),
            ("judicial-assistance", 1, True, 0),
        ]
        active = await s.flows.active()
        assert (active.id, active.version, active.title["en"]) == ("every-type", 1, "Test flow v1")
        assert "Test flow v2" in await s.flows.source("every-type", 2)
    finally:
        await s.close()
