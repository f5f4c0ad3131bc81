"""The SQLite connection: pragmas, migrations, and how writes are serialised.

Two aiosqlite connections share one WAL database: a writer, guarded by an
asyncio lock so that the statements of one transaction never interleave with
another coroutine's, and a reader that sees only committed data and never
waits for the writer. Writes that are a single statement run in autocommit
(one awaited call); several statements run inside ``BEGIN IMMEDIATE`` so that
SQLite takes the write lock up front instead of failing to upgrade later.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import aiosqlite

from bot.crypto import Cipher

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the code."""


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration shipped in the package, in order."""
    out = []
    for entry in files("bot.store.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    out.sort()
    numbers = [n for n, _, _ in out]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..N without gaps: {numbers}")
    return out


class Transaction:
    """The statements of one write transaction (only valid inside ``Database.write``)."""

    def __init__(self, conn: aiosqlite.Connection, cipher: Cipher | None = None) -> None:
        self._conn = conn
        self.cipher = cipher
        self.enqueued = False  # set when the transaction queues outbox messages

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class Database:
    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        # Called after a commit that queued outbox messages (wakes the sender).
        self.on_outbox: Callable[[], None] | None = None
        # Protects sensitive answers and queued messages at rest (set by Store.open).
        self.cipher: Cipher | None = None

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        path = str(path)
        if path == ":memory:":
            raise ValueError("the database must be a file: readers and the writer share it")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await cls._connect(path)
        try:
            await migrate(writer)
            reader = await cls._connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @staticmethod
    async def _connect(path: str) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows are overwritten with zeros, so an erased draft leaves no trace.
        await conn.execute("PRAGMA secure_delete = ON")
        return conn

    async def close(self) -> None:
        await self._reader.close()
        async with self._lock:
            await self._writer.close()

    # -- reads -------------------------------------------------------------------------

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    # -- writes ------------------------------------------------------------------------

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in autocommit; returns the number of rows changed."""
        async with self._lock:
            cursor = await self._writer.execute(sql, params)
            return cursor.rowcount

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One INSERT in autocommit; returns the new row id."""
        async with self._lock:
            cursor = await self._writer.execute(sql, params)
            return int(cursor.lastrowid or 0)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            tx = Transaction(self._writer, self.cipher)
            try:
                yield tx
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
        if tx.enqueued and self.on_outbox is not None:
            self.on_outbox()

    async def checkpoint(self) -> None:
        """Fold the WAL back into the database file (after deleting personal data)."""
        async with self._lock:
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply the migrations the database has not seen; refuse a newer schema."""
    known = migrations()
    latest = known[-1][0] if known else 0
    current = await schema_version(conn)
    if current > latest:
        raise SchemaTooNew(
            f"the database schema is version {current}, newer than this program "
            f"knows ({latest}); upgrade intake-bot before using this database"
        )
    for number, name, sql in known:
        if number <= current:
            continue
        log.info("applying migration %s", name)
        # executescript cannot take parameters; number and name come from our own
        # file names (checked by _MIGRATION_NAME), never from input.
        try:
            await conn.executescript(
                "BEGIN IMMEDIATE;\n"
                f"{sql}\n"
                "INSERT INTO schema_migrations (version, name, applied_at) "
                f"VALUES ({number:d}, '{name}', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));\n"
                f"PRAGMA user_version = {number:d};\n"
                "COMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        current = number
    return current


def now_iso() -> str:
    """The current UTC time as stored: ISO 8601 to the second, sortable as text."""
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
