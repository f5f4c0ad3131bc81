"""The PostgreSQL database: the same interface as the SQLite one (bot/store/db.py).

Chosen by the database URL (``INTAKE_DB=postgresql://user@host/db``, bot/store/backend.py).
psycopg 3 with its pool: reads take a connection of the pool and see committed data; writes
take one too, one write at a time behind an asyncio lock, each in an explicit transaction
(``BEGIN`` ... ``COMMIT``; a single statement in autocommit), so that a write's
read-then-change sees what the writes before it left, as with SQLite's single writer. Commits are durable: PostgreSQL's
``synchronous_commit`` is on (its default), and the connection says so rather than inherit
a server setting. There is no group commit: PostgreSQL flushes its WAL for the writes that
commit together itself.

The statements are the store's SQLite SQL, translated in one place (bot/store/sqlpg.py).
Numbered migrations of their own (bot/store/migrations_pg), one per SQLite migration, so
that both record the same schema version; a schema newer than the code is refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from bot.crypto import Cipher
from bot.instance import AlreadyRunning
from bot.store.db import NOBODY, Guard, SchemaTooNew, Touches, _Nobody, migrations
from bot.store.sqlpg import NumberLoader, Row, params_of, row_factory, translate
from bot.store.views import Views

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
POOL_SIZE = 4
_MIGRATING = 27001  # advisory lock keys: migrations, and the running bot
_RUN_LOCK = 27002
_JOB_LOCKS = 27_000_000_000  # + a job name's CRC: one run of each job at a time
_TX_LOCKS = 28_000_000_000  # + a name's CRC: PgTransaction.serialize

__all__ = ["NOBODY", "PgDatabase", "PgTransaction", "pg_migrations"]


def pg_migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every PostgreSQL migration, in order: one for each of
    SQLite's, by number (a test holds them to that)."""
    out = []
    for entry in files("bot.store.migrations_pg").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    out.sort()
    numbers = [n for n, _, _ in out]
    if numbers != [n for n, _, _ in migrations()]:
        raise RuntimeError(f"PostgreSQL migrations are not those of SQLite by number: {numbers}")
    return out


@dataclass(frozen=True)
class Ran:
    """What a statement did, read like an sqlite3 cursor: rows changed, the new row's id."""

    rowcount: int
    lastrowid: int | None


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("numeric", NumberLoader)
    await conn.execute("SET synchronous_commit = on")


class PgTransaction:
    """The statements of one write transaction (only valid inside ``PgDatabase.write``)."""

    def __init__(
        self, db: PgDatabase, conn: psycopg.AsyncConnection[Any], cipher: Cipher | None
    ) -> None:
        self._db = db
        self._conn = conn
        self.cipher = cipher
        self.enqueued = False  # set when the transaction queues outbox messages

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Ran:
        return await self._db._run(self._conn, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._conn.cursor() as cur:
            await cur.executemany(translate(sql), [params_of(r) for r in rows])

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._db._rows(self._conn, sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def serialize(self, what: str) -> None:
        """A transaction's advisory lock: given back when the transaction ends."""
        key = _TX_LOCKS + zlib.crc32(what.encode())
        await self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


class PgDatabase:
    """PostgreSQL behind the interface of bot/store/db.py's Database."""

    dialect = "postgresql"

    def __init__(
        self, url: str, pool: AsyncConnectionPool[Any], identities: frozenset[tuple[str, str]]
    ) -> None:
        self.path = url
        self._pool = pool
        self._holder: psycopg.AsyncConnection[Any] | None = None  # holds the run lock
        self._locker: psycopg.AsyncConnection[Any] | None = None  # holds the chats' locks
        self._locker_lock = asyncio.Lock()
        self._identities = identities
        self._lock = asyncio.Lock()
        self.on_outbox: Callable[[], None] | None = None
        self.cipher: Cipher | None = None
        self.views: Views[Any] = Views()

    @classmethod
    async def open(cls, url: str) -> PgDatabase:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await migrate(conn)
            identities = await _identities(conn)
        # Every statement takes a connection of the pool. One that a restart of the server
        # broke fails its statement once and is then replaced (the pool drops it when it is
        # given back): checking each before use would cost a round trip per statement.
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "row_factory": row_factory},
            configure=_configure,
            open=False,
        )
        await pool.open(wait=True)
        return cls(url, pool, identities)

    async def close(self) -> None:
        async with self._lock:
            if self._holder is not None:
                await self._holder.close()
            if self._locker is not None:
                await self._locker.close()
            await self._pool.close()

    # -- statements --------------------------------------------------------------------

    async def _run(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Sequence[Any]
    ) -> Ran:
        async with conn.cursor() as cur:
            await cur.execute(translate(sql, self._identities), params_of(params))
            last = None
            if cur.description is not None and _returns_key(sql):
                rows = await cur.fetchall()
                if rows:
                    last = int(rows[-1][0])
            return Ran(cur.rowcount, last)

    async def _rows(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Sequence[Any]
    ) -> list[Row]:
        async with conn.cursor() as cur:
            await cur.execute(translate(sql), params_of(params))
            if cur.description is None:
                return []
            return list(await cur.fetchall())

    # -- reads -------------------------------------------------------------------------

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._pool.connection() as conn:
            return await self._rows(conn, sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
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
        """One statement, committed; returns the number of rows changed. With ``guard``,
        as bot/store/db.py's: in one transaction, the statement only if the guard changed
        one row, and the guard's change kept only if the statement changed one."""
        if guard is None:
            return (await self._alone(sql, params, touches)).rowcount
        changed = 0
        async with self.write(touches=touches) as tx:
            if (await tx.execute(*guard)).rowcount == 1:
                changed = (await tx.execute(sql, params)).rowcount
                if changed != 1:
                    raise psycopg.Rollback()
        return changed

    async def insert(self, sql: str, params: Sequence[Any] = (), *, touches: Touches = None) -> int:
        """One INSERT, committed; returns the new row id."""
        return int((await self._alone(sql, params, touches)).lastrowid or 0)

    async def _alone(self, sql: str, params: Sequence[Any], touches: Touches) -> Ran:
        """A single statement is its own transaction (autocommit): one round trip."""
        async with self._lock, self._pool.connection() as conn:
            try:
                ran = await self._run(conn, sql, params)
            except BaseException as exc:
                self._ended(touches, exc)
                raise
            self._ended(touches)
        return ran

    @asynccontextmanager
    async def write(self, *, touches: Touches = None) -> AsyncIterator[PgTransaction]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self._lock, self._pool.connection() as conn:
            tx = PgTransaction(self, conn, self.cipher)
            try:
                async with conn.transaction():
                    yield tx
            except BaseException as exc:
                self._ended(touches, exc)
                raise
            self._ended(touches)
        if tx.enqueued and self.on_outbox is not None:
            self.on_outbox()

    def _ended(self, touches: Touches, exc: BaseException | None = None) -> None:
        """As bot/store/db.py's: a committed write drops the applicant views it touched."""
        if exc is not None and not isinstance(exc, Exception):
            self.views.hold()
            return
        self.views.release()
        if not isinstance(touches, _Nobody):
            self.views.changed(touches)

    async def hold_run_lock(self) -> None:
        """What bot/instance.py's lock file is for SQLite: one running bot per database in
        long polling (it has one consumer; in webhook mode several instances may run and
        none takes it). A session lock of a connection of its own, so a killed bot leaves
        none behind."""
        holder = await psycopg.AsyncConnection.connect(self.path, autocommit=True)
        cur = await holder.execute("SELECT pg_try_advisory_lock(%s)", (_RUN_LOCK,))
        row = await cur.fetchone()
        if row is None or not row[0]:
            await holder.close()
            raise AlreadyRunning(
                "another intake-bot is already running on this PostgreSQL database: stop it"
                " first. Long polling has one consumer (Telegram gives each update to one"
                " getUpdates); to run several instances, use webhook mode"
                " (INTAKE_WEBHOOK_URL) behind a load balancer"
            )
        self._holder = holder

    async def try_chat_lock(self, chat: int) -> bool:
        """Take ``chat``'s lock against the other instances on this database, if free
        (telegram_channel/shared.py holds it while one of its updates is applied). Session
        advisory locks, all on one connection of their own: taking and giving back one is
        a statement of microseconds, and the applying itself uses the pool."""
        return await self._chat_locks(("SELECT pg_try_advisory_lock(%s, %s)", chat))

    async def chat_unlock(self, chat: int) -> None:
        await self._chat_locks(("SELECT pg_advisory_unlock(%s, %s)", chat))

    async def _chat_locks(self, call: tuple[str, int]) -> bool:
        sql, chat = call
        async with self._locker_lock:
            if self._locker is None or self._locker.closed:
                self._locker = await psycopg.AsyncConnection.connect(self.path, autocommit=True)
            cur = await self._locker.execute(sql, _halves(chat))
            row = await cur.fetchone()
            return bool(row and row[0])

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """Whether this instance runs ``job`` now (housekeeping, the digests, the
        check-ins): of several instances on this database one at a time does, the others
        skip the run (``pg_try_advisory_lock``, held on a pooled connection for the run;
        a dead instance's lock goes with its connection)."""
        key = _JOB_LOCKS + zlib.crc32(job.encode())
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cur.fetchone()
            if row is None or not row[0]:
                yield False
                return
            try:
                yield True
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    async def checkpoint(self) -> None:
        """After personal data was erased: VACUUM, so that the old versions of the erased
        rows are pruned and no query (nor a snapshot taken later) can read them. Unlike
        SQLite's secure_delete, PostgreSQL does not zero their bytes on disk at once: they
        are overwritten as the pages are reused, and its WAL is recycled after checkpoints
        (the README's PostgreSQL section says so)."""
        async with self._lock, self._pool.connection() as conn:
            await conn.execute("VACUUM")

    async def compact(self) -> None:
        """As ``checkpoint``: VACUUM (a PostgreSQL database never held data in an earlier
        format, which is what SQLite's compact is for)."""
        await self.checkpoint()


def _halves(key: int) -> tuple[int, int]:
    """A chat's id (a bigint) as the two int4 keys of an advisory lock: a key space apart
    from the one-bigint locks (the run lock, the jobs')."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF

    def int4(half: int) -> int:
        return half - (1 << 32) if half >= 1 << 31 else half

    return int4(unsigned >> 32), int4(unsigned & 0xFFFFFFFF)


def _returns_key(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "INSERT"


async def _identities(conn: psycopg.AsyncConnection[Any]) -> frozenset[tuple[str, str]]:
    """(table, column) of each generated key: an INSERT into the table returns it."""
    cur = await conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    return frozenset((str(r[0]), str(r[1])) for r in await cur.fetchall())


async def schema_version(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        return 0
    cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: psycopg.AsyncConnection[Any]) -> int:
    """Apply the migrations the database has not seen, each in its transaction, recorded in
    ``schema_migrations``; refuse a schema newer than the code. An advisory lock keeps two
    processes starting at once from migrating together."""
    known = pg_migrations()
    latest = known[-1][0] if known else 0
    await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATING,))
    try:
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
            async with conn.transaction():
                await conn.execute(sql.encode())  # type: ignore[call-overload]
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                    " VALUES (%s, %s, to_char(now() AT TIME ZONE 'UTC',"
                    ' \'YYYY-MM-DD"T"HH24:MI:SS"Z"\'))',
                    (number, name),
                )
            current = number
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATING,))
    return current
