"""Regions: codes, the regions a role covers, and a database of the previous version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.regions import EVERYWHERE, NOWHERE, Scope, codes, is_code
from bot.store import Store


def test_a_prefix_covers_the_counties_under_it_and_no_other() -> None:
    xinjiang_hotan = Scope(frozenset({"6532"}))
    assert xinjiang_hotan.covers("653222")
    assert xinjiang_hotan.covers("6532")
    assert not xinjiang_hotan.covers("653101")
    assert not xinjiang_hotan.covers(None)
    assert EVERYWHERE.covers("110101") and EVERYWHERE.covers(None)
    assert not NOWHERE.covers("653222")


def test_codes_are_two_four_or_six_digits() -> None:
    assert [c for c in ("65", "6532", "653222") if is_code(c)] == ["65", "6532", "653222"]
    assert not any(is_code(c) for c in ("6", "653", "65322", "6532221", "65a2", "６５", ""))
    with pytest.raises(ValueError, match="653"):
        codes(["653222", "653"])


async def test_a_role_keeps_the_regions_it_was_granted(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "r.db")
    try:
        await store.roles.grant(7001, "caseworker", regions=["653222"])
        await store.roles.grant(7002, "caseworker")
        await store.roles.grant(7003, "supervisor", regions=["6532", "6531"])
        assert await store.roles.scope(7001, "caseworker") == Scope(frozenset({"653222"}))
        assert await store.roles.scope(7002, "caseworker") == EVERYWHERE
        assert await store.roles.scope(7001, "supervisor") == NOWHERE
        assert await store.roles.members("caseworker", "653222") == [7001, 7002]
        assert await store.roles.members("caseworker", "653101") == [7002]
        assert await store.roles.members("supervisor", "653101") == [7003]
        # Granting again without regions keeps them; with regions, replaces them.
        await store.roles.grant(7001, "caseworker", label="李")
        assert await store.roles.scope(7001, "caseworker") == Scope(frozenset({"653222"}))
        await store.roles.grant(7001, "caseworker", regions=["653101"])
        assert await store.roles.scope(7001, "caseworker") == Scope(frozenset({"653101"}))
        await store.roles.revoke(7001, "caseworker")
        assert await store.roles.scope(7001, "caseworker") == NOWHERE
        await store.roles.grant(7001, "caseworker")
        assert await store.roles.scope(7001, "caseworker") == EVERYWHERE  # nothing left over
        with pytest.raises(ValueError):
            await store.roles.grant(7004, "caseworker", regions=["65322"])
        assert await store.roles.scope(7004, "caseworker") == NOWHERE
    finally:
        await store.close()


async def test_a_database_of_the_previous_version_keeps_its_roles_and_puts_intakes_in_the_default_region(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    store = await Store.open(path)
    await store.close()
    # Back to the schema before regions, with a role and a sent intake, as a running
    # deployment would have them.
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DELETE FROM schema_migrations WHERE version >= 9; PRAGMA user_version = 8;"
            # What the migrations after regions added (the proposals awaiting approval).
            "DROP TABLE proposals; ALTER TABLE outbox DROP COLUMN proposal_id;"
            "DROP TABLE role_regions; DROP INDEX intakes_by_region;"
            "ALTER TABLE intakes DROP COLUMN region;"
            "CREATE TABLE roles_old (user_id INTEGER NOT NULL, role TEXT NOT NULL"
            " CHECK (role IN ('caseworker', 'partner', 'admin')), label TEXT,"
            " granted_by INTEGER, granted_at TEXT NOT NULL, PRIMARY KEY (user_id, role));"
            "DROP TABLE roles; ALTER TABLE roles_old RENAME TO roles;"
            "INSERT INTO roles VALUES (7001, 'caseworker', '李', NULL, '2026-01-01T00:00:00Z');"
            "INSERT INTO intakes (flow_id, flow_version, applicant_id, chat_id, lang, status,"
            " state, last_update_id, created_at, updated_at, submitted_at, ref) SELECT flow_id,"
            " version, 1, 1, 'zh', 'submitted', '{}', 1, '2026-01-01T00:00:00Z',"
            " '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'ACD-EFG' FROM flows LIMIT 1;"
        )
    store = await Store.open(path, default_region="653222")
    try:
        assert await store.roles.has(7001, "caseworker")
        assert await store.roles.scope(7001, "caseworker") == EVERYWHERE
        row = await store.db.fetchone("SELECT region FROM intakes WHERE ref = 'ACD-EFG'")
        assert row is not None and row["region"] == "653222"
    finally:
        await store.close()


def test_the_default_region_must_be_a_division_code() -> None:
    assert load_settings({"INTAKE_DEFAULT_REGION": "653222"}).default_region == "653222"
    assert load_settings({}).default_region == ""
    with pytest.raises(ConfigError, match="INTAKE_DEFAULT_REGION"):
        load_settings({"INTAKE_DEFAULT_REGION": "和田县"})


def test_an_intake_is_due_a_first_reply_in_7_days_then_a_result_in_90() -> None:
    import datetime as dt

    from bot.casework.deadlines import Deadline, due

    sent = "2026-01-01T09:00:00Z"
    at = dt.datetime(2026, 1, 7, 9, 0, tzinfo=dt.UTC)
    first = due("submitted", sent, at, first_reply_days=7, decision_days=90)
    assert first is not None and first.deadline is Deadline.FIRST_REPLY
    assert first.soon and not first.overdue and first.days_left(at) == 1
    later = due("submitted", sent, at + dt.timedelta(days=1), first_reply_days=7, decision_days=90)
    assert later is not None and later.overdue and not later.soon
    taken_up = due(
        "in_review", sent, at + dt.timedelta(days=1), first_reply_days=7, decision_days=90
    )
    assert taken_up is not None and taken_up.deadline is Deadline.DECISION
    assert not taken_up.overdue and not taken_up.soon
    assert due("approved", sent, at, first_reply_days=7, decision_days=90) is None
