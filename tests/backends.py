"""The storage tests on both databases: SQLite (a file in tmp_path) and PostgreSQL (a
fresh database on the server of ``INTAKE_TEST_POSTGRES``, by default the one .ci/run
makes sure answers on 127.0.0.1:5432, dropped after the test).

A test that takes ``db_url`` runs once per database (``--db-backend sqlite`` or
``postgresql`` runs it on one only). When no PostgreSQL server answers, its PostgreSQL
runs fail, saying so: they are never skipped.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.dburl import is_postgres
from bot.store import Store

BACKENDS = ("sqlite", "postgresql")
SERVER = os.environ.get("INTAKE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# A generated key (bot/crypto.py): PostgreSQL has no folder for a key file beside it.
TEST_KEY = "k" * 43 + "="


def url_of(database: str, server: str = SERVER) -> str:
    """The URL of ``database`` on the test server."""
    return server.rsplit("/", 1)[0] + "/" + database


@asynccontextmanager
async def fresh_postgres(server: str = SERVER) -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped afterwards. No server: the test
    fails (in CI as anywhere), it is not skipped."""
    name = "intake_test_" + uuid.uuid4().hex[:12]
    try:
        admin = await psycopg.AsyncConnection.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"no PostgreSQL answers at {server} ({exc}): start one (.ci/run does), set "
            "INTAKE_TEST_POSTGRES, or run the storage tests with --db-backend sqlite"
        )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url_of(name, server)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def db_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """Where this test's database is: a file, or a fresh PostgreSQL database."""
    if db_backend == "sqlite":
        yield str(tmp_path / "data" / "intake.db")
        return
    async with fresh_postgres() as url:
        yield url


async def open_store(url: str | Path, tmp_path: Path, **kwargs: Any) -> Store:
    """``Store.open`` as a deployment on that database would: PostgreSQL's key and files
    are given (INTAKE_SECRET_KEY, INTAKE_FILES), SQLite's are beside the file."""
    url = str(url)
    if is_postgres(url):
        kwargs.setdefault("secret", TEST_KEY)
        kwargs.setdefault("files_dir", tmp_path / "files")
    return await Store.open(url, **kwargs)


# What a statement the schema refuses raises, on either database.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


async def stored_bytes(store: Store) -> bytes:
    """What the database holds, to look for personal data in the clear: SQLite's file and
    its WAL as they are on disk; on PostgreSQL, every value of every table (bytea as its
    bytes, the rest as text)."""
    url = store.db.path
    if not is_postgres(url):
        wal = Path(url + "-wal")
        return Path(url).read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    tables = await store.db.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    out = bytearray()
    for t in tables:
        for row in await store.db.fetchall(f'SELECT * FROM "{t["table_name"]}"'):
            for value in row:
                out += value if isinstance(value, bytes) else str(value).encode()
    return bytes(out)


def deployment(url: str, tmp_path: Path) -> dict[str, Any]:
    """The settings a bot on ``url`` needs besides it: on PostgreSQL the key and the
    files' folder (INTAKE_SECRET_KEY, INTAKE_FILES), which SQLite keeps beside its file."""
    if not is_postgres(url):
        return {}
    return {"secret_key": TEST_KEY, "files": str(tmp_path / "files")}
