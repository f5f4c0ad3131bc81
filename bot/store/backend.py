"""Which database a deployment uses, and what the store asks of either.

``INTAKE_DB`` is a file path or ``sqlite:///path`` (SQLite, bot/store/db.py: the default,
right for one county on one machine) or ``postgresql://user@host/db`` (bot/store/pg.py:
a database the IT department already runs and backs up). The store modules speak to
``Backend`` only; each database implements it, and ``open_database`` picks one by URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.crypto import Cipher
from bot.dburl import is_postgres, sqlite_path
from bot.store.db import Database, Guard, Touches
from bot.store.views import Views

__all__ = ["Backend", "Ran", "Tx", "is_postgres", "open_database", "sqlite_path"]


class Ran(Protocol):
    """What a statement in a transaction did."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...


class Tx(Protocol):
    """The statements of one write transaction."""

    cipher: Cipher | None
    enqueued: bool

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any | None: ...

    async def serialize(self, what: str) -> None:
        """Until the transaction ends, no other one that serializes ``what`` runs (a
        read-then-write such as numbering a flow's versions, across instances)."""


class Backend(Protocol):
    """A database the store runs on: reads of committed data, committed single statements,
    write transactions, the applicant views it keeps, and what happens after a commit."""

    dialect: str  # "sqlite" or "postgresql": for a statement that cannot be one text
    path: str
    cipher: Cipher | None
    views: Views[Any]
    on_outbox: Callable[[], None] | None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any | None: ...

    async def execute(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        touches: Touches = None,
        guard: Guard | None = None,
    ) -> int: ...

    async def insert(
        self, sql: str, params: Sequence[Any] = (), *, touches: Touches = None
    ) -> int: ...

    def write(self, *, touches: Touches = None) -> AbstractAsyncContextManager[Any]: ...

    def exclusive(self, job: str) -> AbstractAsyncContextManager[bool]: ...

    async def checkpoint(self) -> None: ...

    async def compact(self) -> None: ...

    async def close(self) -> None: ...


async def open_database(url: str) -> Backend:
    """The database ``url`` names, opened and migrated."""
    if is_postgres(url):
        from bot.store.pg import PgDatabase  # psycopg is an optional extra

        return await PgDatabase.open(url)
    return await Database.open(sqlite_path(url))
