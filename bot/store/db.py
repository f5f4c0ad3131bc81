"""The SQLite connection: pragmas, migrations, and how writes are serialised and committed.

Two aiosqlite connections share one WAL database: a writer, guarded by an
asyncio lock so that the statements of one write never interleave with
another coroutine's, and a reader that sees only committed data and never
waits for the writer.

Commits are durable (``synchronous = FULL``): the WAL is flushed to disk before a write
returns, so an answer the bot has replied to survives a power cut, not only a crash of the
bot. A flush per write cost a good part of the bot's CPU per update, so writes
that queue up while one is under way share a commit (group commit): a write that finds
others waiting opens a transaction (``BEGIN IMMEDIATE``, so that SQLite takes the write
lock up front), the writes queued behind it add their statements to it, and one
``COMMIT`` ends them all. Under load that makes an update cheaper than it was with one
unflushed commit per write (the figures are in bench/README.md). No write returns before its
commit; a write that fails is undone alone (each write in a shared transaction is a
savepoint, a single statement is undone by SQLite), and an error that ends the whole
transaction fails every write in it. A write that finds no one waiting runs on its own as
before: a single statement in autocommit (one awaited call), several inside
``BEGIN IMMEDIATE``.

Single statements (``execute``, ``insert``: an answer's save) that find the writer busy
do not each wait for it: they queue, and one runner takes them all to the writer's thread
in one call, inside the shared transaction (``_run_queue``). Each call to that thread
wakes it and then the event loop; with a hundred saves queued in a burst, that was more
of the bot's CPU than the statements themselves. Each statement still
returns its own result after the commit, and fails alone unless the transaction ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import aiosqlite

from bot.crypto import Cipher
from bot.store.views import Views

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the code."""


class _Nobody:
    def __repr__(self) -> str:
        return "NOBODY"


# Whose kept applicant view a write may change (bot/store/views.py): one applicant's
# (their user id), no one's (NOBODY: the outbox, consents, the audit log), or possibly
# anyone's (None, the default: every kept view is dropped when it commits).
NOBODY: Final = _Nobody()
Touches = int | _Nobody | None


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

    async def serialize(self, what: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` holds the database's one writer lock."""


class _Batch:
    """Writes that share one open transaction and its commit."""

    def __init__(self) -> None:
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.enqueued = False
        self.touched: list[Touches] = []  # told to the views when it commits or fails
        # Queued statements that ran in it, and what each returns once it is committed.
        self.ran: list[tuple[asyncio.Future[Ran], Ran]] = []


Ran = tuple[int, int]  # what a statement did: (rows changed, last row id)


class _Queued:
    """A single statement waiting for its turn in a shared transaction."""

    __slots__ = ("done", "guard", "params", "sql", "touches")

    def __init__(
        self, sql: str, params: Sequence[Any], touches: Touches, guard: Guard | None = None
    ) -> None:
        self.sql = sql
        self.params = params
        self.touches = touches
        self.guard = guard
        self.done: asyncio.Future[Ran] = asyncio.get_running_loop().create_future()


#: A statement that must change one row for the statement it guards to run (``execute``).
Guard = tuple[str, Sequence[Any]]


def _guarded(raw: sqlite3.Connection, item: _Queued) -> Ran:
    """On the writer's thread, inside a transaction: the guard, then the statement if the
    guard changed one row; the guard's change undone unless the statement changed one."""
    if item.guard is None:
        cursor = raw.execute(item.sql, item.params)
        return cursor.rowcount, cursor.lastrowid or 0
    raw.execute("SAVEPOINT guard")
    try:
        if raw.execute(*item.guard).rowcount != 1:
            ran: Ran = (0, 0)
        else:
            cursor = raw.execute(item.sql, item.params)
            ran = (cursor.rowcount, cursor.lastrowid or 0)
            if cursor.rowcount != 1:
                raw.execute("ROLLBACK TO guard")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK TO guard")
            raw.execute("RELEASE guard")
        raise
    raw.execute("RELEASE guard")
    return ran


def _alone_guarded(raw: sqlite3.Connection, item: _Queued) -> Ran:
    """``_guarded`` as a write of its own: in one transaction, committed."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        ran = _guarded(raw, item)
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return ran


def _run_queued(conn: aiosqlite.Connection, queued: list[_Queued]) -> list[Ran | Exception]:
    """On the writer's thread: the queued statements one after the other, inside the open
    transaction. Stops after an error that ended the transaction; the rest go to the next."""
    raw: sqlite3.Connection = conn._conn
    out: list[Ran | Exception] = []
    for item in queued:
        try:
            ran = _guarded(raw, item)
        except Exception as exc:  # handed back to the statement's caller
            out.append(exc)
            if not raw.in_transaction:
                break
            continue
        out.append(ran)
    return out


class Database:
    dialect = "sqlite"  # bot/store/backend.py: what a statement that differs may ask

    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._queued = 0  # writes waiting for the lock
        self._batch: _Batch | None = None  # the open shared transaction
        self._committer: asyncio.Task[None] | None = None  # held: the loop keeps weak refs
        # Single statements that found the writer busy, run together in one call to its
        # thread (_run_queued) by a runner task when the writer is theirs.
        self._queue: list[_Queued] = []
        self._runner: asyncio.Task[None] | None = None  # the one that will take _queue
        self._runners: set[asyncio.Task[None]] = set()  # held until they finish
        # Called after a commit that queued outbox messages (wakes the sender).
        self.on_outbox: Callable[[], None] | None = None
        # Protects sensitive answers and queued messages at rest (set by Store.open).
        self.cipher: Cipher | None = None
        # Applicants' views kept between answers, dropped by the writes that touch them.
        self.views: Views[Any] = Views()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        path = str(path)
        if path == ":memory:":
            raise ValueError("the database must be a file: readers and the writer share it")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _private(path)
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
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = FULL")
            # Deleted rows are overwritten with zeros, so an erased draft leaves no trace.
            await conn.execute("PRAGMA secure_delete = ON")
        except BaseException:
            # Each connection has a thread of its own that keeps the process alive until
            # it is closed: a file that is not a database must end the bot, not hang it.
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        await self._reader.close()
        while self._runners:  # the statements queued before close run, and commit below
            await asyncio.gather(*self._runners, return_exceptions=True)
        async with self._lock:
            await self._settle(self._batch)
            await self._writer.close()
        # aiosqlite's worker threads end just after close() returns: wait for them, so that
        # a closed database leaves no thread behind (the command line ends a failed run
        # with os._exit when a thread is still alive, and must not see one still ending).
        for conn in (self._reader, self._writer):
            thread = getattr(conn, "_thread", None)
            if isinstance(thread, threading.Thread) and thread.is_alive():
                thread.join(timeout=1.0)

    # -- reads -------------------------------------------------------------------------

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    # -- writes ------------------------------------------------------------------------

    async def execute(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        touches: Touches = None,
        guard: Guard | None = None,
    ) -> int:
        """One statement, committed; returns the number of rows changed. With ``guard``
        the statement runs only if the guard changes one row, and the guard's change stays
        only if the statement changes one (a duplicate check and the write it guards), in
        the same single call to the writer's thread as a statement alone."""
        changed, _ = await self._statement(sql, params, touches, guard)
        return changed

    async def insert(self, sql: str, params: Sequence[Any] = (), *, touches: Touches = None) -> int:
        """One INSERT, committed; returns the new row id."""
        _, row_id = await self._statement(sql, params, touches)
        return row_id

    async def _statement(
        self, sql: str, params: Sequence[Any], touches: Touches, guard: Guard | None = None
    ) -> Ran:
        if self._queue or self._lock.locked() or self._shared():
            return await self._enqueue(sql, params, touches, guard)
        async with self._turn():  # free: taken at once
            return await self._alone(sql, params, touches, guard)

    async def _alone(
        self, sql: str, params: Sequence[Any], touches: Touches, guard: Guard | None = None
    ) -> Ran:
        """A single statement with the writer to itself: autocommit, one call to the thread.
        The caller holds the lock."""
        try:
            if guard is None:
                cursor = await self._writer.execute(sql, params)
                ran: Ran = (cursor.rowcount, int(cursor.lastrowid or 0))
            else:
                item = _Queued(sql, params, touches, guard)
                ran = await self._writer._execute(_alone_guarded, self._writer._conn, item)
        except BaseException as exc:
            self._ended(touches, exc)
            raise
        self._ended(touches)
        return ran

    async def _enqueue(
        self, sql: str, params: Sequence[Any], touches: Touches, guard: Guard | None = None
    ) -> Ran:
        """Wait for the writer beside the other single statements waiting, and run with
        them in one call to its thread: in a 500-applicant burst a hundred answers' saves
        queue up, and each call to the thread costs the event loop a wake-up of that
        thread and one of its own (handing the call over alone was a visible share of
        the bot's CPU; the figures are in bench/README.md)."""
        item = _Queued(sql, params, touches, guard)
        self._queue.append(item)
        if self._runner is None:
            self._runner = runner = asyncio.create_task(self._run_queue())
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)
        return await item.done  # a caller cancelled before its turn is not run

    async def _run_queue(self) -> None:
        async with self._turn():
            todo = [item for item in self._queue if not item.done.cancelled()]
            self._queue = []
            self._runner = None  # statements from now on wait for the next runner
            if len(todo) == 1 and self._batch is None and not self._queued:
                # Alone after all (the write it waited for has ended): as a lone write,
                # not BEGIN, the statement and COMMIT.
                item = todo[0]
                try:
                    ran = await self._alone(item.sql, item.params, item.touches, item.guard)
                except BaseException as exc:
                    _settle_all(todo, exc)
                    if not isinstance(exc, Exception):
                        raise
                    return
                if not item.done.done():
                    item.done.set_result(ran)
                return
            while todo:
                try:
                    batch = self._batch or await self._open()
                except BaseException as exc:
                    _settle_all(todo, exc)  # the callers get the error
                    if not isinstance(exc, Exception):
                        raise
                    return
                batch.touched.extend(item.touches for item in todo)
                try:
                    results = await self._writer._execute(_run_queued, self._writer, todo)
                except BaseException as exc:
                    # Which of them ran is unknown: their views are dropped when the
                    # transaction ends (touched above), and none is kept meanwhile.
                    self.views.hold()
                    self._check(batch)
                    _settle_all(todo, exc)
                    if not isinstance(exc, Exception):
                        raise
                    return
                for item, result in zip(todo, results, strict=False):  # results stop early
                    if isinstance(result, Exception):
                        if not item.done.done():
                            item.done.set_exception(result)  # SQLite undid the statement
                    else:
                        batch.ran.append((item.done, result))
                todo = todo[len(results) :]
                self._check(batch)  # did an error end the transaction? then all failed

    @asynccontextmanager
    async def write(self, *, touches: Touches = None) -> AsyncIterator[Transaction]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self._turn():
            tx = Transaction(self._writer, self.cipher)
            if not self._shared():
                try:
                    await self._writer.execute("BEGIN IMMEDIATE")
                    try:
                        yield tx
                    except BaseException:
                        if self._writer.in_transaction:  # not already ended by SQLite
                            await self._writer.execute("ROLLBACK")
                        raise
                    await self._writer.execute("COMMIT")
                except BaseException as exc:
                    self._ended(touches, exc)
                    raise
                self._ended(touches)
                batch = None
            else:
                batch = self._batch or await self._open()
                batch.touched.append(touches)
                await self._writer.execute("SAVEPOINT write")
                try:
                    yield tx
                except BaseException:
                    if self._check(batch):
                        await self._writer.execute("ROLLBACK TO write")
                        await self._writer.execute("RELEASE write")
                    raise
                await self._writer.execute("RELEASE write")
                batch.enqueued = batch.enqueued or tx.enqueued
        if batch is not None:
            await asyncio.shield(batch.committed)
        elif tx.enqueued and self.on_outbox is not None:
            self.on_outbox()

    def _ended(self, touches: Touches, exc: BaseException | None = None) -> None:
        """A write on its own is over: its commit (if any) is visible now. One that was
        interrupted (cancelled) may still land, after this, on the writer's thread: keep
        no view until the writer has finished a later write."""
        if exc is not None and not isinstance(exc, Exception):
            self.views.hold()
            return
        self.views.release()
        if not isinstance(touches, _Nobody):
            self.views.changed(touches)

    def _told(self, batch: _Batch, exc: BaseException | None = None) -> None:
        """A shared transaction committed or failed: tell the views what it touched."""
        touched, batch.touched = batch.touched, []
        for touches in touched:
            self._ended(touches, exc)

    # -- group commit (see the module's docstring) --------------------------------------

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        self._queued += 1
        try:
            await self._lock.acquire()
        finally:
            self._queued -= 1
        try:
            yield
        finally:
            self._lock.release()

    def _shared(self) -> bool:
        """Whether this write goes into a shared transaction: one is open, or others wait."""
        return self._batch is not None or self._queued > 0

    async def _open(self) -> _Batch:
        """Begin a shared transaction; its commit queues behind the writes waiting now."""
        await self._writer.execute("BEGIN IMMEDIATE")
        self._batch = batch = _Batch()
        self._committer = asyncio.create_task(self._commit(batch))
        return batch

    def _check(self, batch: _Batch) -> bool:
        """After an error in a shared transaction: False, and every write in it failed, if
        SQLite ended the transaction (a full disk, an I/O error, RAISE(ROLLBACK))."""
        if self._writer.in_transaction:
            return True
        self._fail(batch, sqlite3.OperationalError("the shared transaction was rolled back"))
        return False

    def _fail(self, batch: _Batch, exc: BaseException) -> None:
        if self._batch is batch:
            self._batch = None
        self._told(batch, exc)
        if not batch.committed.done():
            batch.committed.set_exception(exc)
            batch.committed.exception()  # retrieved: the writes waiting on it raise it
        ran, batch.ran = batch.ran, []
        for done, _ in ran:
            if not done.done():
                done.set_exception(exc)

    async def _commit(self, batch: _Batch) -> None:
        async with self._lock:
            await self._settle(batch)

    async def _settle(self, batch: _Batch | None) -> None:
        """Commit ``batch`` if it is still the open transaction (the caller holds the lock)."""
        if batch is None or self._batch is not batch:
            return  # already committed, or failed
        self._batch = None
        try:
            await self._writer.execute("COMMIT")
        except BaseException as exc:
            if self._writer.in_transaction:
                with contextlib.suppress(Exception):
                    await self._writer.execute("ROLLBACK")
            self._fail(batch, exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._told(batch)
        batch.committed.set_result(None)
        ran, batch.ran = batch.ran, []
        for done, result in ran:
            if not done.done():
                done.set_result(result)
        if batch.enqueued and self.on_outbox is not None:
            self.on_outbox()

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """Whether this instance runs ``job`` now: always (one process holds a SQLite
        database, bot/instance.py); PostgreSQL's says so to one instance of several."""
        yield True

    async def checkpoint(self) -> None:
        """Fold the WAL back into the database file (after deleting personal data)."""
        async with self._lock:
            await self._settle(self._batch)
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def compact(self) -> None:
        """After personal data was rewritten in place (encrypted at start, bot/store/atrest.py):
        fold the WAL into the file and empty it, then rebuild the file (VACUUM) and fold
        that in too, so that neither the file nor its WAL keeps a page with the old bytes."""
        async with self._lock:
            await self._settle(self._batch)
            # Each read to its end: VACUUM refuses to run beside an unfinished statement.
            await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            await self._writer.execute_fetchall("VACUUM")
            await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")


def _private(path: str) -> None:
    """Make the database file readable and writable by the bot's own user only (0600): it
    holds personal data. A new one is created so, and SQLite gives the -wal and -shm it
    creates the database file's mode; files left wider by an earlier version are narrowed."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # an empty file is an empty database
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
            if mode & 0o077:
                os.chmod(name, mode & 0o700)
        except FileNotFoundError:
            continue
        except PermissionError:  # not its owner: say so, and go on with what it is
            log.warning("could not make %s private to the bot's user (mode 0600)", name)


def _settle_all(queued: list[_Queued], exc: BaseException) -> None:
    for item in queued:
        if item.done.done():
            continue
        if isinstance(exc, Exception):
            item.done.set_exception(exc)
        else:
            item.done.cancel()


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


_stamp: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """The current UTC time as stored: ISO 8601 to the second, sortable as text.

    Kept for the second it names: most writes stamp a row, and under load many fall
    in the same second (formatting it each time showed in the event loop's profile;
    the figures are in bench/README.md).
    """
    global _stamp
    second = int(time.time())
    if second != _stamp[0]:
        at = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _stamp = (second, at)
    return _stamp[1]
