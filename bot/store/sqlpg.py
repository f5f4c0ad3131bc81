"""The store's SQL, as PostgreSQL takes it: the few differences of dialect, in one place.

The store modules write SQLite's SQL (``?`` parameters, ``INSERT OR IGNORE``, a row id
after an INSERT). ``translate`` turns a statement into psycopg's form once (cached: the
statements are constants); the SQLite functions the store calls (``julianday``,
``json_extract``, ``json_each``, ``date``, ``strftime``, ``group_concat``, two-argument
``MAX``) are defined in PostgreSQL by its first migration (migrations_pg/0001_init.sql),
so the statements themselves stay one text for both databases.

Rows come back as ``Row``: a tuple read by position or by column name, like sqlite3.Row.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

from psycopg.adapt import Loader

from bot.crypto import FORMAT
from bot.store.atrest import SEALED

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|%")
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_ON_CONFLICT = re.compile(r"\bON\s+CONFLICT\b", re.IGNORECASE)
TEXT_OID = 25
BYTEA_OID = 17
# The columns that hold sealed values are BYTEA. As in SQLite, where such a column also
# holds text (what erasure leaves: an empty request, a reason code), a value that is not
# sealed (its first byte is not FORMAT) is text, and is handed back as str. Such text goes
# in through PostgreSQL's bytea input, which reads a backslash as an escape: the store
# writes none there (only sealed values, codes and empty text).
_SEALED_NAMES = frozenset(column for _, column in SEALED)
# In SQLite ``settings.value`` holds text, or a sealed value (a BLOB) for the key check and
# the file store's key. PostgreSQL's column is TEXT, so a sealed value goes in as its bytea
# text form (``\x01...``, PostgreSQL's assignment cast) and is handed back as the bytes.
_SEALED_TEXT = "\\x01"


def _swap(m: re.Match[str]) -> str:
    token = m.group(0)
    if token == "?":
        return "%s"
    return token.replace("%", "%%")


@lru_cache(maxsize=2048)
def translate(sql: str, identities: frozenset[tuple[str, str]] = frozenset()) -> str:
    """``sql`` in psycopg's form: ``%s`` parameters (a literal ``%`` doubled), ``INSERT OR
    IGNORE`` as ``ON CONFLICT DO NOTHING``, and an INSERT into a table with a generated key
    (``identities``: (table, column)) returning that key, which is the row id SQLite gives."""
    out = _TOKEN.sub(_swap, sql)
    m = _INSERT.match(out)
    if m is None:
        return out
    if m.group(1):
        out = out[: m.start(1)] + out[m.end(1) :]
        if not _ON_CONFLICT.search(out):
            out += " ON CONFLICT DO NOTHING"
    if not _RETURNING.search(out):
        table = m.group(2).lower()
        for name, column in identities:
            if name == table:
                out += f" RETURNING {column}"
                break
    return out


def params_of(params: Any) -> tuple[Any, ...]:
    """SQLite stores True as 1: so do these columns (INTEGER, not boolean)."""
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class Row(tuple[Any, ...]):
    """A result row read by position or by column name, like sqlite3.Row."""

    __slots__ = ()
    _names: dict[str, int] = {}  # noqa: RUF012 (set on each subclass, see row_class)

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=512)
def row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_names": {n: i for i, n in enumerate(names)}})


def row_factory(cursor: Any) -> Any:
    """psycopg's row factory: ``Row``s; a sealed settings value back as its bytes."""
    description = cursor.description
    if description is None:
        return tuple
    cls = row_class(tuple(d.name for d in description))
    settings = [
        i for i, d in enumerate(description) if d.name == "value" and d.type_code == TEXT_OID
    ]
    sealed = [
        i for i, d in enumerate(description) if d.name in _SEALED_NAMES and d.type_code == BYTEA_OID
    ]
    if not settings and not sealed:
        return cls

    def make(values: Any) -> Row:
        values = list(values)
        for i in settings:
            v = values[i]
            if isinstance(v, str) and v.startswith(_SEALED_TEXT):
                values[i] = bytes.fromhex(v[2:])
        for i in sealed:
            v = values[i]
            if isinstance(v, bytes) and v[:1] != FORMAT:
                values[i] = v.decode()
        return cls(values)

    return make


class NumberLoader(Loader):
    """NUMERIC (what SUM and AVG of integers give) as SQLite gives it: an int when whole."""

    def load(self, data: Any) -> int | float:
        d = Decimal(bytes(data).decode("ascii"))
        return int(d) if d == d.to_integral_value() else float(d)
