"""How the database commits: durably, and writes that queue up share one commit (group
commit). On a real database file; the writer's statements are watched with SQLite's trace
callback."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import db as store_db
from bot.store.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "intake.db")
    await database.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    try:
        yield database
    finally:
        await database.close()


async def watch(db: Database) -> list[str]:
    """The statements the writer runs from now on."""
    seen: list[str] = []
    await db._writer.set_trace_callback(seen.append)
    return seen


async def stored(db: Database) -> dict[str, int]:
    return {r["k"]: r["v"] for r in await db.fetchall("SELECT k, v FROM t")}


async def test_commits_reach_the_disk_before_a_write_returns(db: Database) -> None:
    for conn in (db._writer, db._reader):
        rows = list(await conn.execute_fetchall("PRAGMA synchronous"))
        assert rows[0][0] == 2  # FULL: the WAL is flushed at every commit


async def test_a_lone_write_commits_on_its_own(db: Database) -> None:
    seen = await watch(db)
    assert await db.execute("INSERT INTO t VALUES (?, ?)", ("a", 1)) == 1
    assert seen == ["INSERT INTO t VALUES ('a', 1)"]  # autocommit: one call, as before
    async with db.write() as tx:
        await tx.execute("INSERT INTO t VALUES (?, ?)", ("b", 2))
    assert seen[1:] == ["BEGIN IMMEDIATE", "INSERT INTO t VALUES ('b', 2)", "COMMIT"]
    assert await stored(db) == {"a": 1, "b": 2}


async def test_writes_that_queue_up_share_a_commit_and_each_returns_committed(
    db: Database,
) -> None:
    seen = await watch(db)

    async def one(i: int) -> None:
        if i % 5 == 0:
            async with db.write() as tx:
                await tx.execute("INSERT INTO t VALUES (?, ?)", (f"w{i}", i))
                await tx.execute("UPDATE t SET v = v + 1 WHERE k = ?", (f"w{i}",))
        else:
            assert await db.insert("INSERT INTO t VALUES (?, ?)", (f"s{i}", i)) > 0
        # Returned: the reader, which sees only committed data, sees it.
        row = await db.fetchone("SELECT v FROM t WHERE k IN (?, ?)", (f"w{i}", f"s{i}"))
        assert row is not None and row[0] == i + (1 if i % 5 == 0 else 0)

    await asyncio.gather(*(one(i) for i in range(50)))
    assert len(await stored(db)) == 50
    commits = seen.count("COMMIT")
    assert 1 <= commits <= 5, seen  # 50 writes, a handful of flushes
    assert seen.count("BEGIN IMMEDIATE") == commits


async def test_a_failing_write_is_undone_alone(db: Database) -> None:
    await db.execute("INSERT INTO t VALUES (?, ?)", ("taken", 0))

    async def block_that_fails() -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO t VALUES (?, ?)", ("half", 1))
            raise RuntimeError("the caller changed its mind")

    results = await asyncio.gather(
        db.execute("INSERT INTO t VALUES (?, ?)", ("x", 1)),
        db.execute("INSERT INTO t VALUES (?, ?)", ("taken", 2)),  # primary key taken
        block_that_fails(),
        db.execute("INSERT INTO t VALUES (?, ?)", ("y", 3)),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[3] == 1
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert isinstance(results[2], RuntimeError)
    assert await stored(db) == {"taken": 0, "x": 1, "y": 3}


async def test_an_error_that_ends_the_transaction_fails_every_write_in_it(db: Database) -> None:
    await db.execute(
        "CREATE TRIGGER no_bombs BEFORE INSERT ON t WHEN NEW.k = 'bomb'"
        " BEGIN SELECT RAISE(ROLLBACK, 'no bombs'); END"
    )
    results = await asyncio.gather(
        db.execute("INSERT INTO t VALUES (?, ?)", ("first", 1)),
        db.execute("INSERT INTO t VALUES (?, ?)", ("second", 2)),
        db.execute("INSERT INTO t VALUES (?, ?)", ("bomb", 3)),
        db.execute("INSERT INTO t VALUES (?, ?)", ("after", 4)),
        return_exceptions=True,
    )
    kept = await stored(db)
    # The first ran alone (nobody queued yet) and was committed; "second" shared the
    # transaction the bomb rolled back, and was told so; "after" began a new one.
    assert results[0] == 1 and kept["first"] == 1
    assert isinstance(results[1], sqlite3.OperationalError) and "second" not in kept
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert results[3] == 1 and kept["after"] == 4
    assert await db.execute("INSERT INTO t VALUES (?, ?)", ("later", 5)) == 1


def count_thread_calls(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call the writer makes to its thread (each wakes it and, when it is done, the
    event loop): what the single statements that queue up share."""
    calls: list[str] = []
    original = db._writer._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(db._writer, "_execute", counted)
    return calls


async def test_single_statements_that_queue_up_go_to_the_thread_together(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.execute("INSERT INTO t VALUES (?, ?)", ("n", 0))
    calls = count_thread_calls(db, monkeypatch)
    seen = await watch(db)
    calls.clear()
    async with db.write() as tx:  # the writer is busy: the statements below queue up
        await tx.execute("INSERT INTO t VALUES (?, ?)", ("busy", 0))
        queued = [
            asyncio.ensure_future(db.insert("INSERT INTO t VALUES (?, ?)", (f"s{i}", i)))
            for i in range(40)
        ] + [asyncio.ensure_future(db.execute("UPDATE t SET v = 7 WHERE k = ?", ("n",)))]
        await asyncio.sleep(0)
    returned = await asyncio.gather(*queued)
    row_ids = returned[:40]
    assert len(set(row_ids)) == 40 and all(r > 0 for r in row_ids)  # each its own row id
    assert returned[40] == 1  # and its own count of rows changed
    stored_now = await stored(db)
    assert stored_now["n"] == 7 and all(stored_now[f"s{i}"] == i for i in range(40))
    # The write (BEGIN, INSERT, COMMIT: 3 calls), then the 41 statements: BEGIN, one call
    # with all of them, COMMIT.
    assert calls.count("_run_queued") == 1, calls
    assert len(calls) == 6, calls
    assert seen.count("COMMIT") == 2


async def test_a_statement_that_waited_only_for_a_lone_write_runs_alone_too(db: Database) -> None:
    seen = await watch(db)
    first = asyncio.ensure_future(db.execute("INSERT INTO t VALUES (?, ?)", ("a", 1)))
    await asyncio.sleep(0)  # the first has the writer
    second = asyncio.ensure_future(db.execute("INSERT INTO t VALUES (?, ?)", ("b", 2)))
    assert await first == 1 and await second == 1
    # No transaction around one statement: one call to the thread, as for the first.
    assert seen == ["INSERT INTO t VALUES ('a', 1)", "INSERT INTO t VALUES ('b', 2)"]


async def test_a_statement_whose_caller_gave_up_before_its_turn_is_not_run(db: Database) -> None:
    async with db.write() as tx:
        await tx.execute("INSERT INTO t VALUES (?, ?)", ("busy", 0))
        kept = asyncio.ensure_future(db.execute("INSERT INTO t VALUES (?, ?)", ("kept", 1)))
        dropped = asyncio.ensure_future(db.execute("INSERT INTO t VALUES (?, ?)", ("gone", 2)))
        await asyncio.sleep(0)
        dropped.cancel()
    assert await kept == 1
    assert dropped.cancelled()
    assert await stored(db) == {"busy": 0, "kept": 1}


async def test_when_the_thread_call_fails_every_queued_statement_hears_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = db._writer._execute
    broken = True

    async def flaky(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if broken and fn is store_db._run_queued:
            raise sqlite3.OperationalError("disk I/O error")
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(db._writer, "_execute", flaky)
    async with db.write() as tx:
        await tx.execute("INSERT INTO t VALUES (?, ?)", ("busy", 0))
        queued = [
            asyncio.ensure_future(db.execute("INSERT INTO t VALUES (?, ?)", (f"q{i}", i)))
            for i in range(5)
        ]
        await asyncio.sleep(0)
    results = await asyncio.wait_for(asyncio.gather(*queued, return_exceptions=True), 5)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    broken = False
    assert await db.execute("INSERT INTO t VALUES (?, ?)", ("later", 1)) == 1
    assert await stored(db) == {"busy": 0, "later": 1}


async def test_closing_commits_what_is_waiting(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    db = await Database.open(path)
    await db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    writes = [
        asyncio.ensure_future(db.execute("INSERT INTO t VALUES (?, ?)", (str(i), i)))
        for i in range(10)
    ]
    await asyncio.sleep(0)  # all ten queue up
    await db.close()
    assert await asyncio.gather(*writes) == [1] * 10
    again = await Database.open(path)
    try:
        assert len(await stored(again)) == 10
    finally:
        await again.close()


def test_the_time_stamped_on_rows_follows_the_clock_second_by_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1_700_000_000.2]
    monkeypatch.setattr(store_db.time, "time", lambda: clock[0])
    assert store_db.now_iso() == "2023-11-14T22:13:20Z"
    clock[0] = 1_700_000_000.9
    assert store_db.now_iso() == "2023-11-14T22:13:20Z"
    clock[0] = 1_700_000_001.0
    assert store_db.now_iso() == "2023-11-14T22:13:21Z"
    clock[0] = 1_700_086_400.5  # a day later
    assert store_db.now_iso() == "2023-11-15T22:13:20Z"
