"""Moving a deployment from SQLite to PostgreSQL (``intake-bot db copy``).

Every table is copied row for row, in one PostgreSQL transaction: a copy that fails
leaves the target as empty as it found it. Sealed values are copied as the bytes they
are, so the same key (INTAKE_SECRET_KEY, or the key file's key given as it) opens them
there; the key itself is never read. Generated keys go on after the highest id copied,
and each table's count is checked against the source's before the copy commits.

The source is read in one read transaction, a snapshot: stop the bot first all the same,
or what it writes after the snapshot stays behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from bot.store.db import Database, migrations
from bot.store.pg import PgDatabase

BATCH = 500


class CopyError(RuntimeError):
    """The copy cannot be made (a non-empty target, a source in an older format)."""


async def copy_to_postgres(
    source: str, target: str, *, say: Callable[[str], None] = print
) -> dict[str, int]:
    """Copy the SQLite database ``source`` into the empty PostgreSQL database ``target``;
    the rows of each table, as copied and verified."""
    if not Path(source).is_file():
        raise CopyError(f"there is no database at {source}")
    # Brought to this version's schema first, as any command of this version would.
    await (await Database.open(source)).close()
    pg = await PgDatabase.open(target)
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
            src.execute("BEGIN")  # one snapshot for every table
            return await _copy(src, pg, say)
    finally:
        await pg.close()


async def _copy(
    src: sqlite3.Connection, pg: PgDatabase, say: Callable[[str], None]
) -> dict[str, int]:
    version = int(src.execute("PRAGMA user_version").fetchone()[0])
    if version != migrations()[-1][0]:
        raise CopyError(f"the source's schema is version {version}, not this program's")
    check = src.execute("SELECT value FROM settings WHERE key = 'key_check'").fetchone()
    if check is not None and not isinstance(check[0], bytes):
        raise CopyError(
            "the source is in an earlier format: start this version of the bot on it once "
            "(it seals its data again), stop it, then copy"
        )
    tables = _in_order(src)
    theirs = {str(r["table_name"]) for r in await pg.fetchall(_TABLES)}
    missing = [t for t in tables if t not in theirs]
    if missing:
        raise CopyError(f"the target has no table {', '.join(missing)}")
    for table in sorted(theirs - {"schema_migrations"}):
        if await pg.fetchone(f'SELECT 1 FROM "{table}" LIMIT 1') is not None:
            raise CopyError(
                f"the target is not empty (table {table} has rows): copy into a new database"
            )
    counts: dict[str, int] = {}
    async with pg.write() as tx:
        for table in tables:
            columns = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]
            if table == "flows":  # SQLite's rowid is a column there (buttons carry it)
                columns.append("rowid")
            names = ", ".join(f'"{c}"' for c in columns)
            insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
            rows = src.execute(f'SELECT {names} FROM "{table}"')
            while batch := rows.fetchmany(BATCH):
                await tx.executemany(insert, batch)
        for table, column in await _identities(tx):
            await tx.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),"
                f' COALESCE(MAX("{column}"), 0) + 1, false) FROM "{table}"'
            )
        for table in tables:
            want = int(src.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
            row = await tx.fetchone(f'SELECT COUNT(*) AS n FROM "{table}"')
            got = int(row["n"]) if row is not None else -1
            if got != want:
                raise CopyError(f"table {table}: {want} rows in the source, {got} copied")
            counts[table] = got
    for table, n in counts.items():
        say(f"{table:<20} {n:>9}")
    return counts


_TABLES = (
    "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
)


async def _identities(tx: Any) -> list[tuple[str, str]]:
    rows = await tx.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    return [(str(r["table_name"]), str(r["column_name"])) for r in rows]


def _in_order(src: sqlite3.Connection) -> list[str]:
    """The source's tables (not the migrations' record), each after those it refers to."""
    names = [
        str(r[0])
        for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"
        )
    ]
    refers = {
        t: {str(r[2]) for r in src.execute(f'PRAGMA foreign_key_list("{t}")')} - {t} for t in names
    }
    out: list[str] = []
    while len(out) < len(names):
        ready = [t for t in names if t not in out and refers[t] <= set(out)]
        if not ready:
            raise CopyError("the source's tables refer to each other in a circle")
        out += ready
    return out
